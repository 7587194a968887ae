//! Report stage: the files people open. So far the spreadsheets — the HR bonus feed
//! and the violations register (a sheet per department) — written with
//! rust_xlsxwriter; every text cell is written as text, so a value starting with `=`,
//! `+`, `-` or `@` can never run as a formula.

pub mod xlsx;
