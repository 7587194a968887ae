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

/// Whether a run reads a lake file: unpartitioned files always; partitions from the
/// look-back start up to the as-of month, except those whose earliest row (the
/// manifest's statistics) is after as-of — they hold only rows that do not exist yet.
fn in_window(
    f: &crate::lake::manifest::DataFile,
    first_month: (i32, u32),
    last_month: (i32, u32),
    as_of_text: &str,
) -> bool {
    let months = f
        .year
        .zip(f.month)
        .is_none_or(|p| first_month <= p && p <= last_month);
    let started = f.min_time.as_deref().is_none_or(|t| t <= as_of_text);
    months && started
}

/// Tables are staged as Parquet scans: each query reads only the columns it needs, so
/// a year's run holds far less at once (1M orders: 4.3 GB instead of 7.8 GB, same
/// time; docs/performance.md). `LVYUE_STAGE=eager` reads every table into memory once
/// instead — a measuring knob for the benchmarks, not a user setting.
fn scan_mode() -> bool {
    std::env::var("LVYUE_STAGE").map_or(true, |v| v != "eager")
}

fn scan_files(
    lake: &Lake,
    t: &crate::ingest::contract::Table,
    files: &[crate::lake::manifest::DataFile],
) -> Result<LazyFrame> {
    let paths = files
        .iter()
        .map(|f| PlRefPath::try_from_path(&lake.root.join(&f.path)))
        .collect::<PolarsResult<Vec<_>>>()
        .context(|| format!("paths of {}", t.name))?;
    let args = ScanArgsParquet {
        schema: Some(std::sync::Arc::new(crate::lake::schema(t))),
        hive_options: HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        ..Default::default()
    };
    LazyFrame::scan_parquet_sources(ScanSources::Paths(paths.into_iter().collect()), args)
        .context(|| format!("scanning {}", t.name))
}

/// The staged tables and the functions the queries may call.
pub struct Staged {
    tables: Vec<(String, LazyFrame)>,
    /// Lake files read, relative to the lake root (for tracing and the pruning test).
    pub files_read: Vec<String>,
    registry: Option<std::sync::Arc<dyn polars::sql::FunctionRegistry>>,
}

impl Staged {
    /// A fresh SQL context over the staged tables: each query gets its own, so the
    /// names of one query's CTEs never reach another.
    pub fn context(&self) -> SQLContext {
        let ctx = match &self.registry {
            Some(r) => SQLContext::new().with_function_registry(r.clone()),
            None => SQLContext::new(),
        };
        for (name, lf) in &self.tables {
            ctx.register(name, lf.clone());
        }
        ctx
    }
}

/// Stages the lake at `as_of`: one table per contract table, plus `activity_ranks`, and
/// the business-clock function when the policy uses it.
pub fn stage(
    lake: &Lake,
    first_month: (i32, u32),
    as_of: NaiveDateTime,
    registry: Option<std::sync::Arc<dyn polars::sql::FunctionRegistry>>,
) -> Result<Staged> {
    let mut tables = Vec::new();
    let mut files_read = Vec::new();
    let as_of_text = as_of.format("%Y-%m-%d %H:%M:%S").to_string();
    let us = micros_of(as_of);
    let last = (as_of.year(), as_of.month());
    for t in TABLES {
        // Files of months after the as-of month hold only rows that do not exist yet;
        // files before the look-back window are not read (policy `lookback_months`).
        let files: Vec<_> = lake
            .manifest
            .table_files(t.name)
            .iter()
            .filter(|f| in_window(f, first_month, last, &as_of_text))
            .cloned()
            .collect();
        files_read.extend(files.iter().map(|f| f.path.clone()));
        let mut lf = if scan_mode() && !files.is_empty() {
            scan_files(lake, t, &files)?
        } else {
            lake.read_files(t, &files, None)?.lazy()
        };
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
        tables.push((t.name.to_string(), lf));
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
    tables.push(("activity_ranks".to_string(), ranks.lazy()));
    let mut staged = Staged {
        tables,
        files_read,
        registry,
    };
    // Shared models (queries/models/), computed once over the staged tables.
    for m in crate::queries::models() {
        let sql = crate::queries::for_polars(m.sql);
        let df = super::run_query(staged.context(), &sql)
            .and_then(|lf| lf.collect())
            .context(|| format!("running queries/{}", m.file))?;
        staged.tables.push((m.get("id").to_string(), df.lazy()));
    }
    Ok(staged)
}

/// The same as-of view of the lake as DuckDB SQL: one `CREATE OR REPLACE VIEW` per
/// table over exactly the Parquet files lvyue reads, plus `activity_ranks`. Running it
/// and then the rendered `queries/` files in DuckDB reproduces lvyue's items — the
/// cross-check of the SQL's portability (`lvyue metrics --emit-sql`).
pub fn duckdb_views(lake: &Lake, first_month: (i32, u32), as_of: NaiveDateTime) -> String {
    let ts = format!("TIMESTAMP '{}'", as_of.format("%Y-%m-%d %H:%M:%S"));
    let last = (as_of.year(), as_of.month());
    let as_of_text = as_of.format("%Y-%m-%d %H:%M:%S").to_string();
    // Absolute paths, so the views work from any working folder.
    let root = lake
        .root
        .canonicalize()
        .unwrap_or_else(|_| lake.root.clone());
    let mut out = String::from("-- lvyue: the lake as of the audit's cut-off, for DuckDB\n");
    for t in TABLES {
        let files: Vec<String> = lake
            .manifest
            .table_files(t.name)
            .iter()
            .filter(|f| in_window(f, first_month, last, &as_of_text))
            .map(|f| {
                format!(
                    "'{}'",
                    root.join(&f.path).display().to_string().replace('\'', "''")
                )
            })
            .collect();
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let name = c.name;
                if t.name == "orders" && name == "status" {
                    format!("CASE WHEN status = 'cancelled' AND cancelled_at > {ts} THEN 'active' ELSE status END AS status")
                } else if c.ty == ColType::Timestamp && Some(name) != t.time_column {
                    format!("CASE WHEN {name} > {ts} THEN NULL ELSE {name} END AS {name}")
                } else {
                    name.to_string()
                }
            })
            .collect();
        let body = if files.is_empty() {
            // No data yet: an empty view with the lake's column types.
            let typed: Vec<String> = t
                .columns
                .iter()
                .map(|c| {
                    let ty = match c.ty {
                        ColType::Timestamp => "TIMESTAMP",
                        ColType::Date => "DATE",
                        ColType::Money => "DECIMAL(18,2)",
                        ColType::Int | ColType::Score => "BIGINT",
                        ColType::Bool => "BOOLEAN",
                        _ => "VARCHAR",
                    };
                    format!("CAST(NULL AS {ty}) AS {}", c.name)
                })
                .collect();
            format!("SELECT {} WHERE FALSE", typed.join(", "))
        } else {
            let filter = t
                .time_column
                .map(|tc| format!("\nWHERE {tc} <= {ts}"))
                .unwrap_or_default();
            format!(
                "SELECT {}\nFROM read_parquet([{}]){filter}",
                cols.join(",\n       "),
                files.join(", ")
            )
        };
        out.push_str(&format!(
            "CREATE OR REPLACE VIEW {} AS\n{body};\n\n",
            t.name
        ));
    }
    let ranks: Vec<String> = ACTIVITIES
        .iter()
        .enumerate()
        .map(|(i, a)| format!("('{a}', {i})"))
        .collect();
    out.push_str(&format!(
        "CREATE OR REPLACE VIEW activity_ranks AS\nSELECT * FROM (VALUES {}) AS r(activity, activity_rank);\n",
        ranks.join(", ")
    ));
    for m in crate::queries::models() {
        out.push_str(&format!(
            "\nCREATE OR REPLACE VIEW {} AS\n{};\n",
            m.get("id"),
            m.sql.trim_end()
        ));
    }
    out
}
