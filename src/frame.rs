//! Small helpers for reading frames row by row where a stage needs plain Rust values
//! (notices, waivers, staff look-ups): one place for the cast-and-collect dance and
//! for reading a date back from that text.

use polars::prelude::*;

use crate::error::{PolarsContext, Result};

/// A column as text per row (`None` for null), whatever its type.
pub fn texts(df: &DataFrame, name: &str) -> Result<Vec<Option<String>>> {
    Ok(df
        .column(name)
        .context(|| format!("column {name}"))?
        .cast(&DataType::String)
        .context(|| format!("column {name} as text"))?
        .str()
        .context(|| format!("column {name} as text"))?
        .iter()
        .map(|x| x.map(str::to_string))
        .collect())
}

/// The calendar date at the start of a date or timestamp text (`2025-05-16…`).
pub fn date_of(text: &Option<String>) -> Option<chrono::NaiveDate> {
    text.as_deref()
        .and_then(|d| chrono::NaiveDate::parse_from_str(d.get(..10)?, "%Y-%m-%d").ok())
}
