//! lvyue (履约): audits online order fulfillment against a company regulation.
//!
//! The crate reads as the pipeline: [`ingest`] turns export files into typed rows and
//! commits them to the [`lake`] (partitioned Parquet); later stages compute KPIs and
//! rule violations from the lake. [`cli`] is what the user typed, [`run`] resolves it
//! into stage options, [`policy`] holds the company's values, [`error`] the one error
//! type.

pub mod cli;
pub mod error;
pub mod ingest;
pub mod lake;
pub mod policy;
pub mod run;
