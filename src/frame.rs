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

/// The frame with every text column copied into buffers of its own.
///
/// A polars string column is a list of views into shared byte buffers: a few rows
/// filtered or joined out of a scan still hold the whole scan's buffers. Results kept
/// across shards (violations, pass rates) are unshared here, or each shard's scans
/// would stay in memory until the audit ends.
pub fn unshare_strings(df: DataFrame) -> PolarsResult<DataFrame> {
    let height = df.height();
    let columns = df
        .into_columns()
        .into_iter()
        .map(|c| {
            if c.dtype() != &DataType::String {
                return Ok(c);
            }
            let ca = c.str()?;
            let own = ca.downcast_iter().map(|a| a.clone().gc());
            Ok(StringChunked::from_chunk_iter(c.name().clone(), own).into_column())
        })
        .collect::<PolarsResult<Vec<Column>>>()?;
    DataFrame::new(height, columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes of string data the frame's text columns keep alive.
    fn buffer_bytes(df: &DataFrame) -> usize {
        df.columns()
            .iter()
            .filter(|c| c.dtype() == &DataType::String)
            .flat_map(|c| {
                c.str()
                    .unwrap()
                    .downcast_iter()
                    .map(|a| a.total_buffer_len())
                    .collect::<Vec<_>>()
            })
            .sum()
    }

    #[test]
    fn a_few_rows_kept_from_a_big_frame_hold_only_their_own_text() {
        // 100 000 ids of 13 bytes (longer than the 12 a view holds inline), as a scan
        // gives them; two rows filtered out still point into the 1.3 MB buffer.
        let ids: Vec<String> = (0..100_000).map(|i| format!("SH{i:09}-1")).collect();
        let big = DataFrame::new(
            ids.len(),
            vec![
                Column::new("entity_id".into(), ids),
                Column::new("n".into(), (0..100_000i64).collect::<Vec<_>>()),
            ],
        )
        .unwrap();
        let mask = BooleanChunked::from_iter_values(
            "m".into(),
            (0..100_000).map(|i| i == 7 || i == 99_999),
        );
        let kept = big.filter(&mask).unwrap();
        assert!(buffer_bytes(&kept) >= 1_300_000, "{}", buffer_bytes(&kept));
        let own = unshare_strings(kept.clone()).unwrap();
        assert_eq!(buffer_bytes(&own), 26);
        assert!(own.equals_missing(&kept));
        assert_eq!(
            texts(&own, "entity_id").unwrap(),
            vec![Some("SH000000007-1".into()), Some("SH000099999-1".into())]
        );
    }
}
