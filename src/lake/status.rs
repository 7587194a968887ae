//! `lvyue lake status`: what the lake holds, read from its manifest alone (no data is
//! loaded): per table its partitions, rows, time range, quarantined rows and last
//! ingest; then the quarantine by reason and the most recent source files.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::manifest::Manifest;
use crate::ingest::contract::TABLES;

/// Renders the status report as text.
pub fn render(m: &Manifest) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "lake format {}, time zone {}, {} ingest(s)",
        m.format,
        m.time_zone,
        m.ingests.len()
    );
    let mut quarantined: BTreeMap<&str, u64> = BTreeMap::new();
    for q in &m.quarantine {
        for (t, n) in &q.by_table {
            *quarantined.entry(t.as_str()).or_insert(0) += n;
        }
    }
    let _ = writeln!(
        out,
        "{:<24} {:>10} {:>10} {:>19}  {:>19}  {:>11}  last ingest",
        "table", "partitions", "rows", "from", "to", "quarantined"
    );
    for t in TABLES {
        let files = m.table_files(t.name);
        let rows: u64 = files.iter().map(|f| f.rows).sum();
        let parts = files
            .iter()
            .map(|f| (f.year, f.month))
            .collect::<std::collections::BTreeSet<_>>()
            .len();
        let from = files
            .iter()
            .filter_map(|f| f.min_time.as_deref())
            .min()
            .unwrap_or("-");
        let to = files
            .iter()
            .filter_map(|f| f.max_time.as_deref())
            .max()
            .unwrap_or("-");
        let last = m
            .sources
            .iter()
            .filter(|s| s.table == t.name)
            .max_by_key(|s| s.txn)
            .map(|s| {
                let at = m
                    .ingests
                    .iter()
                    .find(|i| i.txn == s.txn)
                    .map_or("", |i| i.at.as_str());
                format!("txn {} {at}", s.txn)
            })
            .unwrap_or_else(|| "-".into());
        let parts = if t.time_column.is_none() && !files.is_empty() {
            "(none)".to_string()
        } else {
            parts.to_string()
        };
        let _ = writeln!(
            out,
            "{:<24} {:>10} {:>10} {:>19}  {:>19}  {:>11}  {}",
            t.name,
            parts,
            rows,
            from,
            to,
            quarantined.get(t.name).copied().unwrap_or(0),
            last
        );
    }
    let mut reasons: BTreeMap<&str, u64> = BTreeMap::new();
    for q in &m.quarantine {
        for (r, n) in &q.by_reason {
            *reasons.entry(r.as_str()).or_insert(0) += n;
        }
    }
    if !reasons.is_empty() {
        let _ = writeln!(
            out,
            "\nquarantined rows by reason (see _quarantine/*.parquet):"
        );
        for (r, n) in reasons {
            let _ = writeln!(out, "  {n:>8}  {r}");
        }
    }
    out
}
