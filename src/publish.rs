//! Sealing published periods (C10.2: "a published month is sealed").
//!
//! A period's outputs live in `<out>/<period>/` (version 1) and amendments beside it in
//! `<out>/<period>.v2/`, `.v3/` …. A version is a draft until `lvyue publish` writes its
//! `SEAL.json` (every file with its SHA-256) and makes its files read-only; after
//! that lvyue never writes into it again. A run whose period is sealed writes the next
//! version as a draft instead, with `amendment.csv`: every score and coefficient that
//! changed against the latest sealed version (what HR already received). A run that
//! changes nothing against it writes no amendment. Outputs are built in a staging
//! folder and moved into place whole, so a failed run leaves the last good draft.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::report::Change;

pub const SEAL_FILE: &str = "SEAL.json";
pub const AMENDMENT_FILE: &str = "amendment.csv";
/// Outputs whose content decides whether a rerun changed anything. The report and
/// spreadsheets are derived from these (and carry the version number themselves).
const SUBSTANCE: &[&str] = &[
    "metrics.csv",
    "violations.csv",
    "rule_pass_rates.csv",
    "scorecards.csv",
];

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SealedFile {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Seal {
    pub period: String,
    pub version: u32,
    pub sealed_at: String,
    pub files: Vec<SealedFile>,
}

/// The folder of version `v` of a period.
pub fn version_dir(out: &Path, label: &str, v: u32) -> PathBuf {
    if v <= 1 {
        out.join(label)
    } else {
        out.join(format!("{label}.v{v}"))
    }
}

/// Versions of a period that exist, in order, each with its seal if sealed.
fn versions(out: &Path, label: &str) -> Result<Vec<(u32, Option<Seal>)>> {
    let mut found = Vec::new();
    let mut v = 1;
    while version_dir(out, label, v).is_dir() {
        let seal_path = version_dir(out, label, v).join(SEAL_FILE);
        let seal = if seal_path.exists() {
            let text = std::fs::read_to_string(&seal_path).at(&seal_path)?;
            Some(
                serde_json::from_str::<Seal>(&text).map_err(|e| Error::Seal {
                    path: seal_path.clone(),
                    why: format!("unreadable seal: {e}"),
                })?,
            )
        } else {
            None
        };
        found.push((v, seal));
        v += 1;
    }
    Ok(found)
}

/// Where a run writes a period's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub version: u32,
    pub dir: PathBuf,
    /// The latest sealed version this run would amend, and its folder.
    pub amends: Option<(u32, PathBuf)>,
}

/// The draft a run writes for `label`: version 1 while nothing is sealed, else the
/// version after the latest sealed one. Every sealed version is verified first: a seal
/// that no longer matches its files stops the run.
pub fn target(out: &Path, label: &str) -> Result<Target> {
    let all = versions(out, label)?;
    for (v, seal) in &all {
        if let Some(s) = seal {
            verify(&version_dir(out, label, *v), s)?;
        }
    }
    let sealed = all
        .iter()
        .rev()
        .find_map(|(v, s)| s.as_ref().map(|s| (*v, s)));
    match sealed {
        None => Ok(Target {
            version: 1,
            dir: version_dir(out, label, 1),
            amends: None,
        }),
        Some((v, _)) => {
            let dir = version_dir(out, label, v);
            Ok(Target {
                version: v + 1,
                dir: version_dir(out, label, v + 1),
                amends: Some((v, dir)),
            })
        }
    }
}

/// A staging folder beside the outputs for one period.
pub fn staging_dir(out: &Path, label: &str) -> PathBuf {
    out.join(format!(".staging-{label}"))
}

/// What happened to a run's staged outputs.
#[derive(Debug, Clone, PartialEq)]
pub enum Delivered {
    Draft(PathBuf),
    Amendment {
        dir: PathBuf,
        changes: usize,
    },
    /// The period is sealed and the rerun changed nothing: no new version.
    Unchanged {
        sealed: u32,
    },
}

/// The score changes of `staged` against the amended version (by scorecard).
pub fn changes(amended: &Path, staged: &Path) -> Result<Vec<Change>> {
    let before = read_scorecards(&amended.join("scorecards.csv"))?;
    let after = read_scorecards(&staged.join("scorecards.csv"))?;
    let mut out = Vec::new();
    let keys: std::collections::BTreeSet<&(String, String, String)> =
        before.keys().chain(after.keys()).collect();
    for k in keys {
        let (b, a) = (before.get(k), after.get(k));
        for field in ["score", "coefficient", "base", "deductions"] {
            let get = |row: Option<&CardRow>| {
                row.map(|r| r.get(field).cloned().unwrap_or_default())
                    .unwrap_or_else(|| "—".into())
            };
            let (bv, av) = (get(b), get(a));
            if bv != av {
                out.push(Change {
                    scope_kind: k.0.clone(),
                    scope: k.1.clone(),
                    department: k.2.clone(),
                    field: field.to_string(),
                    before: bv,
                    after: av,
                });
            }
        }
    }
    Ok(out)
}

/// A scorecards.csv row by column name.
type CardRow = BTreeMap<String, String>;

/// scorecards.csv keyed by (scope kind, staff id or department, department).
fn read_scorecards(path: &Path) -> Result<BTreeMap<(String, String, String), CardRow>> {
    let mut r = csv::Reader::from_path(path).map_err(|e| Error::Seal {
        path: path.to_path_buf(),
        why: e.to_string(),
    })?;
    let headers = r
        .headers()
        .map_err(|e| Error::Seal {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?
        .clone();
    let mut out = BTreeMap::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| Error::Seal {
            path: path.to_path_buf(),
            why: e.to_string(),
        })?;
        let row: BTreeMap<String, String> = headers
            .iter()
            .zip(rec.iter())
            .map(|(h, v)| (h.to_string(), v.to_string()))
            .collect();
        let g = |k: &str| row.get(k).cloned().unwrap_or_default();
        let scope = if g("scope") == "staff" {
            g("staff_id")
        } else {
            g("department")
        };
        out.insert((g("scope"), scope, g("department")), row);
    }
    Ok(out)
}

/// scorecards.csv without its version column: two versions with the same scores
/// compare equal.
fn substance(dir: &Path, name: &str) -> Result<Vec<u8>> {
    let p = dir.join(name);
    let bytes = std::fs::read(&p).at(&p)?;
    if name != "scorecards.csv" {
        return Ok(bytes);
    }
    let text = String::from_utf8_lossy(&bytes);
    Ok(text
        .lines()
        .map(|l| l.rsplit_once(',').map_or(l, |(head, _)| head))
        .collect::<Vec<_>>()
        .join("\n")
        .into_bytes())
}

/// Moves a run's staged outputs to the target: replaces the draft, writes an
/// amendment with its diff, or, when a sealed period did not change, drops them.
pub fn deliver(staged: &Path, t: &Target, changes: &[Change]) -> Result<Delivered> {
    if let Some((v, amended)) = &t.amends {
        let mut same = changes.is_empty();
        for name in SUBSTANCE {
            if !same {
                break;
            }
            same = substance(amended, name)? == substance(staged, name)?;
        }
        if same {
            std::fs::remove_dir_all(staged).at(staged)?;
            // A draft amendment left by an earlier run no longer applies.
            if t.dir.is_dir() {
                std::fs::remove_dir_all(&t.dir).at(&t.dir)?;
            }
            return Ok(Delivered::Unchanged { sealed: *v });
        }
    }
    if t.dir.is_dir() {
        if t.dir.join(SEAL_FILE).exists() {
            return Err(Error::Seal {
                path: t.dir.clone(),
                why: "is sealed; refusing to overwrite it".into(),
            });
        }
        std::fs::remove_dir_all(&t.dir).at(&t.dir)?;
    }
    std::fs::rename(staged, &t.dir).at(&t.dir)?;
    Ok(match t.amends {
        Some(_) => Delivered::Amendment {
            dir: t.dir.clone(),
            changes: changes.len(),
        },
        None => Delivered::Draft(t.dir.clone()),
    })
}

/// Writes `amendment.csv` (the diff against the amended version) into `dir`.
pub fn write_changes(dir: &Path, amended: u32, changes: &[Change]) -> Result<PathBuf> {
    let path = dir.join(AMENDMENT_FILE);
    let header = [
        "amends_version",
        "scope",
        "staff_or_department",
        "department",
        "field",
        "before",
        "after",
    ];
    let rows = changes.iter().map(|c| {
        vec![
            amended.to_string(),
            c.scope_kind.clone(),
            c.scope.clone(),
            c.department.clone(),
            c.field.clone(),
            c.before.clone(),
            c.after.clone(),
        ]
    });
    crate::assess::write_csv(&path, false, &header, rows)?;
    Ok(path)
}

fn files_of(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).at(&d)? {
            let p = e.at(&d)?.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_none_or(|n| n != SEAL_FILE) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn hash_file(p: &Path) -> Result<(String, u64)> {
    let bytes = std::fs::read(p).at(p)?;
    let digest = Sha256::digest(&bytes);
    let hex = digest.iter().map(|b| format!("{b:02x}")).collect();
    Ok((hex, bytes.len() as u64))
}

fn rel(dir: &Path, p: &Path) -> String {
    p.strip_prefix(dir)
        .unwrap_or(p)
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Checks a sealed folder against its seal: same files, same hashes.
pub fn verify(dir: &Path, seal: &Seal) -> Result<()> {
    let present: Vec<String> = files_of(dir)?.iter().map(|p| rel(dir, p)).collect();
    let sealed: Vec<String> = seal.files.iter().map(|f| f.path.clone()).collect();
    if present != sealed {
        let extra: Vec<&String> = present.iter().filter(|p| !sealed.contains(p)).collect();
        let missing: Vec<&String> = sealed.iter().filter(|p| !present.contains(p)).collect();
        return Err(Error::Seal {
            path: dir.to_path_buf(),
            why: format!(
                "sealed v{} changed: files added {extra:?}, removed {missing:?}",
                seal.version
            ),
        });
    }
    for f in &seal.files {
        let (h, _) = hash_file(&dir.join(&f.path))?;
        if h != f.sha256 {
            return Err(Error::Seal {
                path: dir.join(&f.path),
                why: format!("does not match the SHA-256 sealed in v{}", seal.version),
            });
        }
    }
    Ok(())
}

/// Seals the latest draft version of `label`. `sealed_at` is recorded, not used.
pub fn publish(out: &Path, label: &str, sealed_at: &str) -> Result<(u32, PathBuf, usize)> {
    let all = versions(out, label)?;
    let Some((v, seal)) = all.last() else {
        return Err(Error::Usage(format!(
            "nothing to publish: {} does not exist (run `lvyue run` first)",
            version_dir(out, label, 1).display()
        )));
    };
    if seal.is_some() {
        return Err(Error::Usage(format!(
            "{label} v{v} is already published and no amendment is pending"
        )));
    }
    let dir = version_dir(out, label, *v);
    let mut files = Vec::new();
    for p in files_of(&dir)? {
        let (sha256, bytes) = hash_file(&p)?;
        files.push(SealedFile {
            path: rel(&dir, &p),
            sha256,
            bytes,
        });
    }
    let seal = Seal {
        period: label.to_string(),
        version: *v,
        sealed_at: sealed_at.to_string(),
        files,
    };
    let path = dir.join(SEAL_FILE);
    let body = serde_json::to_string_pretty(&seal).map_err(|e| Error::Seal {
        path: path.clone(),
        why: e.to_string(),
    })?;
    std::fs::write(&path, body + "\n").at(&path)?;
    // Read-only files tell people and tools the version is final; the seal's hashes
    // are what lvyue itself trusts.
    for f in files_of(&dir)?.into_iter().chain([path.clone()]) {
        let mut perm = std::fs::metadata(&f).at(&f)?.permissions();
        perm.set_readonly(true);
        std::fs::set_permissions(&f, perm).at(&f)?;
    }
    Ok((*v, dir, seal.files.len()))
}

/// Verifies every sealed version of `label`; returns how many were checked.
pub fn check(out: &Path, label: &str) -> Result<u32> {
    let mut n = 0;
    for (v, seal) in versions(out, label)? {
        if let Some(s) = seal {
            verify(&version_dir(out, label, v), &s)?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_live_beside_the_first() {
        let out = Path::new("out");
        assert_eq!(version_dir(out, "2025-05", 1), Path::new("out/2025-05"));
        assert_eq!(version_dir(out, "2025-05", 3), Path::new("out/2025-05.v3"));
    }
}
