//! Small helpers for reading frames row by row where a stage needs plain Rust values
//! (notices, waivers, staff look-ups): one place for the cast-and-collect dance.

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
