//! Rectification notices (C10.1.3): one per department, rule and month with violations,
//! kept in an append-only ledger in the lake (`<lake>/_notices/ledger-NNNNNN.jsonl`, one
//! file per audit that changed something, written by rename). A rerun never rewrites or
//! drops an issued notice: when a month's violations change, the notice gets a new
//! version. Every audit re-checks every notice at its as-of — `open`, `rectified` (a
//! response at or before the deadline), `overdue` (none by the deadline) or `recurred`
//! (the same rule broken again by the department after the rectification) — and the
//! overdue and recurred ones are R21's violations.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Duration, NaiveDateTime};
use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::policy::Policy;

pub const LEDGER_DIR: &str = "_notices";
const TS: &str = "%Y-%m-%d %H:%M:%S";

/// One version of a notice, as the ledger keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notice {
    pub notice_id: String,
    pub version: u32,
    pub department: String,
    pub rule_id: String,
    pub period: String,
    pub severity: String,
    /// The as-of of the audit that first issued the notice.
    pub issued_at: String,
    pub deadline: String,
    pub violations: u32,
    /// The violations attached: `order/entity` per violation, sorted.
    pub items: Vec<String>,
    /// The as-of of the audit that recorded this version.
    pub recorded_at: String,
}

/// A violation as notices see it.
#[derive(Debug, Clone)]
pub struct Found {
    pub notice_id: String,
    pub department: String,
    pub rule_id: String,
    pub period: String,
    pub severity: String,
    pub item: String,
    pub at: String,
}

/// A notice's state at an audit's as-of.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub notice: Notice,
    pub status: &'static str,
    pub rectified_at: Option<String>,
    /// When the rule was broken again after the rectification (recurred), or the deadline
    /// (overdue): R21's `at`.
    pub at: Option<String>,
}

pub fn ledger_dir(lake_root: &Path) -> PathBuf {
    lake_root.join(LEDGER_DIR)
}

/// Every version in the ledger, in the order recorded.
pub fn load(lake_root: &Path) -> Result<Vec<Notice>> {
    let dir = ledger_dir(lake_root);
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .at(&dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).at(&f)?;
        for (i, line) in text.lines().enumerate() {
            out.push(serde_json::from_str(line).map_err(|e| Error::Unreadable {
                path: f.clone(),
                line: i as u64 + 1,
                column: e.column() as u64,
                why: format!("damaged notice ledger: {e}"),
            })?);
        }
    }
    Ok(out)
}

/// The latest version of each notice.
pub fn latest(ledger: &[Notice]) -> BTreeMap<String, Notice> {
    let mut m: BTreeMap<String, Notice> = BTreeMap::new();
    for n in ledger {
        if m.get(&n.notice_id).is_none_or(|p| p.version < n.version) {
            m.insert(n.notice_id.clone(), n.clone());
        }
    }
    m
}

/// The versions this audit adds: new notices for (department, rule, month) with
/// violations, and a new version of a notice whose violations changed — also when they
/// are gone (0 violations), so nothing issued ever disappears.
pub fn new_versions(
    ledger: &[Notice],
    found: &[Found],
    audited_periods: &[String],
    as_of: NaiveDateTime,
    policy: &Policy,
) -> Vec<Notice> {
    let now = as_of.format(TS).to_string();
    let mut grouped: BTreeMap<String, (Found, Vec<String>)> = BTreeMap::new();
    for f in found {
        grouped
            .entry(f.notice_id.clone())
            .or_insert_with(|| (f.clone(), Vec::new()))
            .1
            .push(f.item.clone());
    }
    let current = latest(ledger);
    let mut out = Vec::new();
    for (id, (f, mut items)) in grouped {
        items.sort();
        match current.get(&id) {
            Some(prev) if prev.items == items => {}
            Some(prev) => out.push(Notice {
                version: prev.version + 1,
                violations: items.len() as u32,
                items,
                recorded_at: now.clone(),
                ..prev.clone()
            }),
            None => {
                let days = match f.severity.as_str() {
                    "critical" => policy.deadline_days.critical,
                    "major" => policy.deadline_days.major,
                    _ => policy.deadline_days.minor,
                };
                out.push(Notice {
                    notice_id: id,
                    version: 1,
                    department: f.department,
                    rule_id: f.rule_id,
                    period: f.period,
                    severity: f.severity,
                    issued_at: now.clone(),
                    deadline: (as_of + Duration::days(days as i64)).format(TS).to_string(),
                    violations: items.len() as u32,
                    items,
                    recorded_at: now.clone(),
                })
            }
        }
    }
    let found_ids: std::collections::BTreeSet<&str> =
        found.iter().map(|f| f.notice_id.as_str()).collect();
    for (id, prev) in &current {
        if audited_periods.contains(&prev.period)
            && !found_ids.contains(id.as_str())
            && prev.violations > 0
        {
            out.push(Notice {
                version: prev.version + 1,
                violations: 0,
                items: Vec::new(),
                recorded_at: now.clone(),
                ..prev.clone()
            });
        }
    }
    out
}

/// Re-checks every notice at `as_of`. `responses`: (notice id, rectified_at);
/// `broken`: (department, rule, at) of every violation this audit found.
pub fn recheck(
    notices: &BTreeMap<String, Notice>,
    responses: &[(String, String)],
    broken: &[(String, String, String)],
    as_of: NaiveDateTime,
) -> Vec<Check> {
    let now = as_of.format(TS).to_string();
    notices
        .values()
        .filter(|n| n.violations > 0)
        .map(|n| {
            let rectified = responses
                .iter()
                // A response answers a notice issued before it, by the deadline.
                .filter(|(id, at)| *id == n.notice_id && *at >= n.issued_at && *at <= n.deadline)
                .map(|(_, at)| at.clone())
                .min();
            let (status, at) = match &rectified {
                Some(r) => {
                    let again = broken
                        .iter()
                        .filter(|(d, rule, at)| *d == n.department && *rule == n.rule_id && at > r)
                        .map(|(_, _, at)| at.clone())
                        .min();
                    match again {
                        Some(a) => ("recurred", Some(a)),
                        None => ("rectified", None),
                    }
                }
                None if n.deadline < now => ("overdue", Some(n.deadline.clone())),
                None => ("open", None),
            };
            Check {
                notice: n.clone(),
                status,
                rectified_at: rectified,
                at,
            }
        })
        .collect()
}

/// Appends `versions` to the ledger as one new file, written to a temporary name and
/// renamed, so a crash leaves the ledger as it was or with the whole file.
pub fn append(lake_root: &Path, versions: &[Notice]) -> Result<Option<PathBuf>> {
    if versions.is_empty() {
        return Ok(None);
    }
    let dir = ledger_dir(lake_root);
    std::fs::create_dir_all(&dir).at(&dir)?;
    let seq = std::fs::read_dir(&dir)
        .at(&dir)?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "jsonl"))
        .count()
        + 1;
    let path = dir.join(format!("ledger-{seq:06}.jsonl"));
    let tmp = dir.join(format!(".ledger-{seq:06}.tmp"));
    let body: String = versions
        .iter()
        .map(|n| serde_json::to_string(n).expect("notice serialises") + "\n")
        .collect();
    std::fs::write(&tmp, body).at(&tmp)?;
    std::fs::rename(&tmp, &path).at(&path)?;
    Ok(Some(path))
}
