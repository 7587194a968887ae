//! The lake: a folder of hive-partitioned Parquet files, one folder per contract table
//! (`<lake>/<table>/year=YYYY/month=M/part-NNNNNN.parquet`, unpadded partition values;
//! tables without an own time column unpartitioned), a manifest, and a quarantine.
//! Physical types are chosen so polars, DuckDB and Spark read the same values:
//! timestamps naive microsecond local wall-clock time, dates as Date, money as
//! Decimal(18,2), whole numbers as Int64, plain UTF-8 strings.
//!
//! Only one process writes at a time (an OS file lock on `<lake>/_lock`), and every
//! opener first recovers an interrupted transaction ([`txn::recover`]).

pub mod manifest;
pub mod status;
pub mod txn;
pub mod write;

use std::fs;
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use polars::prelude::*;

use crate::error::{Error, IoContext, PolarsContext, Result};
use crate::ingest::contract::{ColType, Table};
use manifest::{DataFile, Manifest};

pub const QUARANTINE_DIR: &str = "_quarantine";
const LOCK_FILE: &str = "_lock";

/// The Parquet key-value metadata key that records the lake's time zone in every file.
pub const TZ_METADATA_KEY: &str = "lvyue.time_zone";

/// The lake's column type for a contract type.
pub fn dtype(ty: ColType) -> DataType {
    match ty {
        ColType::Str | ColType::Department | ColType::Activity | ColType::Code(_) => {
            DataType::String
        }
        ColType::Timestamp => DataType::Datetime(TimeUnit::Microseconds, None),
        ColType::Date => DataType::Date,
        ColType::Money => DataType::Decimal(18, 2),
        ColType::Int | ColType::Score => DataType::Int64,
        ColType::Bool => DataType::Boolean,
    }
}

/// The lake schema of a table: every contract column, in contract order.
pub fn schema(t: &Table) -> Schema {
    t.columns
        .iter()
        .map(|c| Field::new(c.name.into(), dtype(c.ty)))
        .collect()
}

/// Relative folder of a table partition.
pub fn partition_dir(table: &str, part: Option<(i32, u32)>) -> String {
    match part {
        Some((y, m)) => format!("{table}/year={y}/month={m}"),
        None => table.to_string(),
    }
}

/// An open, locked lake.
pub struct Lake {
    pub root: PathBuf,
    pub tz: Tz,
    pub manifest: Manifest,
    /// What recovery did on opening, if anything.
    pub recovered: Option<String>,
    _lock: fs::File,
}

impl Lake {
    /// Opens (or with `create`, creates) the lake at `root`. With `tz`, the lake must
    /// use that zone; a new lake records it.
    pub fn open(root: &Path, tz: Tz, create: bool) -> Result<Lake> {
        let lake_err = |why: String| Error::Lake {
            path: root.to_path_buf(),
            why,
        };
        if !root.exists() {
            if !create {
                return Err(lake_err("does not exist".into()));
            }
            fs::create_dir_all(root).at(root)?;
        }
        let lock_path = root.join(LOCK_FILE);
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .at(&lock_path)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(lake_err("another lvyue process is writing to it".into()))
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(Error::Io {
                    path: lock_path,
                    source: e,
                })
            }
        }
        let recovered = txn::recover(root)?;
        let mpath = root.join(txn::MANIFEST_FILE);
        let manifest = if mpath.exists() {
            Manifest::load(&mpath)?
        } else if create {
            Manifest::new(tz.name())
        } else {
            return Err(lake_err("is not an lvyue lake (no _manifest.json)".into()));
        };
        let lake_tz: Tz = manifest.time_zone.parse().map_err(|_| {
            lake_err(format!(
                "unknown time zone {:?} in manifest",
                manifest.time_zone
            ))
        })?;
        if create && lake_tz != tz {
            return Err(lake_err(format!(
                "its timestamps are local to {lake_tz}, the policy says {tz}; use a policy with the lake's zone or a new lake"
            )));
        }
        Ok(Lake {
            root: root.to_path_buf(),
            tz: lake_tz,
            manifest,
            recovered,
            _lock: lock,
        })
    }

    /// Reads the given files of a table (only `columns`, when given) into one frame.
    pub fn read_files(
        &self,
        t: &Table,
        files: &[DataFile],
        columns: Option<&[&str]>,
    ) -> Result<DataFrame> {
        let mut out: Option<DataFrame> = None;
        for f in files {
            let p = self.root.join(&f.path);
            let file = fs::File::open(&p).at(&p)?;
            let mut r = ParquetReader::new(file);
            if let Some(cols) = columns {
                r = r.with_columns(Some(cols.iter().map(|c| c.to_string()).collect()));
            }
            let df = r.finish().context(|| format!("reading {}", p.display()))?;
            out = Some(match out {
                None => df,
                Some(acc) => acc
                    .vstack(&df)
                    .context(|| format!("appending {}", p.display()))?,
            });
        }
        Ok(match out {
            // One chunk per column: sorts, joins and row look-ups on a frame stacked from
            // many files otherwise pay a chunk search per element.
            Some(mut df) => {
                df.rechunk_mut();
                df
            }
            None => {
                let s = schema(t);
                match columns {
                    None => DataFrame::empty_with_schema(&s),
                    Some(cols) => {
                        let sub: Schema = cols.iter().filter_map(|c| s.get_field(c)).collect();
                        DataFrame::empty_with_schema(&sub)
                    }
                }
            }
        })
    }

    /// Reads a whole table, sorted by its key (the lake's canonical row order).
    pub fn read_table(&self, t: &Table) -> Result<DataFrame> {
        let df = self.read_files(t, self.manifest.table_files(t.name), None)?;
        df.sort(t.key.iter().copied(), SortMultipleOptions::default())
            .context(|| format!("sorting {}", t.name))
    }
}

/// The lake schema of every table as Markdown, the body of `docs/lake.md`'s table
/// section (a test keeps the document equal to it).
pub fn schema_markdown() -> String {
    use crate::ingest::contract::TABLES;
    let mut out = String::new();
    for t in TABLES {
        let layout = match t.time_column {
            Some(tc) => format!("partitioned by the local year and month of `{tc}`: `{}/year=YYYY/month=M/part-NNNNNN.parquet`", t.name),
            None => format!("unpartitioned: `{}/part-NNNNNN.parquet`", t.name),
        };
        out.push_str(&format!(
            "### {} ({})\nKey: `{}`; {layout}.\n\n| column | type | required | Chinese headers accepted |\n|---|---|---|---|\n",
            t.name,
            t.labels.join(" / "),
            t.key.join("`, `"),
        ));
        for c in t.columns {
            let ty = match dtype(c.ty) {
                DataType::Datetime(_, _) => "timestamp[us], naive local".to_string(),
                DataType::Decimal(p, s) => format!("decimal({p},{s})"),
                DataType::String => match c.ty {
                    ColType::Department => "string (department code)".into(),
                    ColType::Activity => "string (activity code)".into(),
                    ColType::Code(codes) => format!("string ({})", codes.join(" / ")),
                    _ => "string".into(),
                },
                DataType::Int64 if c.ty == ColType::Score => "int64 (1–5)".into(),
                other => other.to_string().to_lowercase(),
            };
            out.push_str(&format!(
                "| `{}` | {ty} | {} | {} |\n",
                c.name,
                if c.required { "yes" } else { "" },
                c.labels.join(", ")
            ));
        }
        out.push('\n');
    }
    out
}
