//! The lake manifest (`<lake>/_manifest.json`): which Parquet files make up each table,
//! every source file ever ingested with its content hash and reconciliation counts, the
//! ingest transactions and the quarantine files. It is replaced atomically at commit, so
//! it always describes one consistent state of the lake; lvyue reads tables through it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};

/// Bumped when the lake layout changes incompatibly.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// IANA zone the lake's naive timestamps are local to.
    pub time_zone: String,
    /// Number the next transaction gets; part files are named after their transaction.
    pub next_txn: u64,
    pub tables: BTreeMap<String, TableState>,
    pub sources: Vec<SourceRecord>,
    pub ingests: Vec<IngestRecord>,
    pub quarantine: Vec<QuarantineFile>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TableState {
    pub files: Vec<DataFile>,
    /// Optional columns some source of this table had (a check needing a column no
    /// source ever had is skipped, not failed).
    pub columns_present: BTreeSet<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DataFile {
    /// Path relative to the lake root, with `/` separators.
    pub path: String,
    pub year: Option<i32>,
    pub month: Option<u32>,
    pub rows: u64,
    /// Range of the table's own time column in this file, local `YYYY-MM-DD HH:MM:SS`.
    pub min_time: Option<String>,
    pub max_time: Option<String>,
    pub txn: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SourceRecord {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    pub table: String,
    pub format: String,
    /// Encoding or sheet used.
    pub detail: String,
    pub rows_read: u64,
    pub rows_stored: u64,
    pub rows_quarantined: u64,
    /// Stored rows whose key was already in the lake (or earlier in the same ingest):
    /// a corrected re-export replaced them.
    pub rows_replaced: u64,
    /// Stored rows naming an order that the lake does not have (yet).
    pub unknown_order_refs: u64,
    pub absent_columns: Vec<String>,
    pub ignored_headers: Vec<String>,
    pub txn: u64,
    pub ingested_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct IngestRecord {
    pub txn: u64,
    pub at: String,
    pub sources: u64,
    pub skipped_unchanged: u64,
    pub rows_stored: u64,
    pub rows_quarantined: u64,
    pub rows_replaced: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct QuarantineFile {
    pub path: String,
    pub txn: u64,
    pub rows: u64,
    pub by_table: BTreeMap<String, u64>,
    pub by_reason: BTreeMap<String, u64>,
}

impl Manifest {
    pub fn new(time_zone: &str) -> Manifest {
        Manifest {
            format: FORMAT_VERSION,
            time_zone: time_zone.to_string(),
            next_txn: 1,
            tables: BTreeMap::new(),
            sources: Vec::new(),
            ingests: Vec::new(),
            quarantine: Vec::new(),
        }
    }

    pub fn load(path: &Path) -> Result<Manifest> {
        let text = std::fs::read_to_string(path).at(path)?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| Error::Lake {
            path: path.to_path_buf(),
            why: format!(
                "manifest is damaged: line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        })?;
        if m.format != FORMAT_VERSION {
            return Err(Error::Lake {
                path: path.to_path_buf(),
                why: format!(
                    "lake format {} is not the supported {FORMAT_VERSION}",
                    m.format
                ),
            });
        }
        Ok(m)
    }

    pub fn to_json(&self) -> String {
        // Pretty and key-sorted: a manifest diff is readable in review.
        serde_json::to_string_pretty(self).expect("manifest serialises") + "\n"
    }

    /// The earlier ingest of a file with this content and table, if any.
    pub fn source_with_hash(&self, sha256: &str) -> Option<&SourceRecord> {
        self.sources.iter().find(|s| s.sha256 == sha256)
    }

    pub fn table_files(&self, table: &str) -> &[DataFile] {
        self.tables.get(table).map_or(&[], |t| t.files.as_slice())
    }
}
