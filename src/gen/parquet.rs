//! `gen --format parquet`: each generated CSV rewritten as typed Parquet, the way a
//! source system with a columnar export would deliver it. Columns get the contract's
//! types (naive local timestamps, Decimal(18,2) money, dates, integers, booleans) by the
//! same cell parser `ingest` uses, so ingesting the Parquet gives the lake the CSV
//! gives. A table is split into parts of at most [`PART_ROWS`] rows: `ingest` reads a
//! Parquet export whole, so parts keep its memory bounded at 10M orders
//! (`LVYUE_PART_ROWS` lowers it, so the tests make several parts of small exports).

use std::path::Path;

use polars::prelude::*;
use rayon::prelude::*;

use crate::error::{Error, IoContext, PolarsContext, Result};
use crate::ingest::contract::{self, Table};
use crate::ingest::parse::parse_value;
use crate::ingest::Builder;

/// Rows per Parquet part.
pub const PART_ROWS: usize = 1 << 20;

/// Rewrites `csv` (a generated export of table `name`) as `name-0001.parquet`, … next to
/// it, then removes the CSV.
pub fn convert(csv: &Path, name: &str) -> Result<()> {
    let table = contract::table(name)
        .ok_or_else(|| Error::Usage(format!("{name}: not a table of the contract")))?;
    let dir = csv.parent().unwrap_or(Path::new("."));
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(csv)
        .map_err(|e| Error::Io {
            path: csv.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Io {
            path: csv.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?
        .iter()
        .map(str::to_string)
        .collect();
    let mut part = 0;
    let mut records = rdr.into_records();
    let rows = crate::knob("LVYUE_PART_ROWS", PART_ROWS);
    // Rows parsed by one worker at a time (the parts are the same whatever the count).
    let slice = rows.div_ceil(8);
    loop {
        let mut batch = Vec::with_capacity(rows);
        for rec in records.by_ref().take(rows) {
            batch.push(rec.map_err(|e| Error::Io {
                path: csv.to_path_buf(),
                source: std::io::Error::other(e.to_string()),
            })?);
        }
        // An empty table still gets one (empty) part, so its schema is delivered.
        if batch.is_empty() && part > 0 {
            break;
        }
        let frames = batch
            .par_chunks(slice)
            .map(|rows| frame(table, &headers, rows))
            .collect::<Result<Vec<_>>>()?;
        let mut df = match frames.into_iter().reduce(|mut a, b| {
            a.extend(&b).expect("same schema");
            a
        }) {
            Some(df) => df,
            None => frame(table, &headers, &[])?,
        };
        part += 1;
        let path = dir.join(format!("{name}-{part:04}.parquet"));
        crate::lake::write::write_parquet_file(&mut df, &path, Vec::new())?;
        if batch.len() < rows {
            break;
        }
    }
    std::fs::remove_file(csv).at(csv)
}

/// Typed columns of `rows`, in the CSV's column order.
fn frame(
    table: &'static Table,
    headers: &[String],
    rows: &[csv::StringRecord],
) -> Result<DataFrame> {
    let cols: Vec<&contract::Column> = headers
        .iter()
        .map(|h| {
            table.columns.iter().find(|c| c.name == h).ok_or_else(|| {
                Error::Usage(format!("{}: column {h} is not in the contract", table.name))
            })
        })
        .collect::<Result<_>>()?;
    let mut builders: Vec<Builder> = cols
        .iter()
        .map(|c| Builder::new(c.ty, rows.len()))
        .collect();
    let tz = chrono_tz::Asia::Shanghai;
    for rec in rows {
        for (i, c) in cols.iter().enumerate() {
            let raw = rec.get(i).unwrap_or("");
            let v = parse_value(raw, c.ty, tz).map_err(|why| {
                Error::Usage(format!("generated {}.{}: {why}", table.name, c.name))
            })?;
            builders[i].push(&v);
        }
    }
    let columns = builders
        .into_iter()
        .zip(&cols)
        .map(|(b, c)| b.finish(c.name).map(Column::from))
        .collect::<Result<Vec<_>>>()?;
    DataFrame::new(rows.len(), columns).context(|| format!("building {}", table.name))
}
