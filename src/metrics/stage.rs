//! The lake as seen at as-of, registered as SQL tables for the KPI and rule queries.
//!
//! The spec's as-of reading, applied once here so no query repeats it: a row whose own
//! time is after as-of does not exist yet; any other timestamp after as-of is empty; an
//! order whose cancellation lies after as-of is still active. Partitions that start after
//! the as-of month are not read at all. `activity_ranks` gives each activity its
//! tie-break rank (the contract's activity order).

use chrono::{Datelike, NaiveDateTime};
use polars::prelude::*;
use polars::sql::SQLContext;

use crate::error::{PolarsContext, Result};
use crate::ingest::contract::{ColType, ACTIVITIES, TABLES};
use crate::ingest::parse::micros_of;
use crate::lake::Lake;

/// Builds the SQL context: one table per contract table, plus `activity_ranks`.
pub fn context(lake: &Lake, as_of: NaiveDateTime) -> Result<SQLContext> {
    let ctx = SQLContext::new();
    let us = micros_of(as_of);
    let last = (as_of.year(), as_of.month());
    for t in TABLES {
        // Files of months after the as-of month hold only rows that do not exist yet.
        let files: Vec<_> = lake
            .manifest
            .table_files(t.name)
            .iter()
            .filter(|f| f.year.zip(f.month).is_none_or(|p| p <= last))
            .cloned()
            .collect();
        let df = lake.read_files(t, &files, None)?;
        let mut lf = df.lazy();
        if let Some(tc) = t.time_column {
            lf = lf.filter(col(tc).cast(DataType::Int64).lt_eq(lit(us)));
        }
        let ts_dtype = DataType::Datetime(TimeUnit::Microseconds, None);
        let mut exprs: Vec<Expr> = Vec::new();
        for c in t.columns {
            if c.ty == ColType::Timestamp && Some(c.name) != t.time_column {
                exprs.push(
                    when(col(c.name).cast(DataType::Int64).gt(lit(us)))
                        .then(lit(NULL).cast(ts_dtype.clone()))
                        .otherwise(col(c.name))
                        .alias(c.name),
                );
            }
        }
        if t.name == "orders" {
            // Cancelled after as-of: not cancelled yet. Uses the raw cancelled_at, so
            // this runs before the column is emptied.
            exprs.push(
                when(
                    col("status")
                        .eq(lit("cancelled"))
                        .and(col("cancelled_at").cast(DataType::Int64).gt(lit(us))),
                )
                .then(lit("active"))
                .otherwise(col("status"))
                .alias("status"),
            );
        }
        if !exprs.is_empty() {
            lf = lf.with_columns(exprs);
        }
        ctx.register(t.name, lf);
    }
    let ranks = DataFrame::new(
        ACTIVITIES.len(),
        vec![
            Column::new("activity".into(), ACTIVITIES.to_vec()),
            Column::new(
                "activity_rank".into(),
                (0..ACTIVITIES.len() as i64).collect::<Vec<_>>(),
            ),
        ],
    )
    .context(|| "activity ranks".into())?;
    ctx.register("activity_ranks", ranks.lazy());
    Ok(ctx)
}
