//! Atomic commits. An ingest stages every new file under `<lake>/_txn/`, then writes
//! `_txn/COMMIT` (the list of moves and deletions) by an atomic rename: that rename is
//! the commit point. Applying moves the staged files into place, deletes the files they
//! supersede and renames the staged manifest over `_manifest.json`. Every step of the
//! apply is idempotent, so [`recover`] — run under the lake lock before any command
//! touches the lake — finishes a committed transaction that was interrupted and throws
//! away one that was not. A killed ingest therefore leaves the lake as it was before or
//! as it is after, never half.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::manifest::Manifest;
use crate::error::{Error, IoContext, Result};

pub const TXN_DIR: &str = "_txn";
const COMMIT_FILE: &str = "COMMIT";
const STAGED_MANIFEST: &str = "manifest.json";
pub const MANIFEST_FILE: &str = "_manifest.json";

/// Fault injection for the crash tests: `LVYUE_FAULT=<point>` aborts the process there,
/// as a kill would (no destructors, no clean-up).
pub fn fault_point(point: &str) {
    if std::env::var("LVYUE_FAULT").is_ok_and(|v| v == point) {
        eprintln!("lvyue: injected fault at {point}");
        std::process::abort();
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CommitPlan {
    txn: u64,
    /// (staged path under `_txn/`, final path), relative, `/`-separated.
    moves: Vec<(String, String)>,
    /// Files the transaction supersedes, relative to the lake root.
    deletes: Vec<String>,
}

/// A transaction being prepared.
pub struct Txn {
    root: PathBuf,
    pub id: u64,
    moves: Vec<(String, String)>,
    deletes: Vec<String>,
}

fn sync_dir(dir: &Path) -> Result<()> {
    // Directory fsync makes the renames durable; not all platforms allow opening a dir.
    if let Ok(f) = fs::File::open(dir) {
        f.sync_all().at(dir)?;
    }
    Ok(())
}

impl Txn {
    pub fn begin(root: &Path, id: u64) -> Result<Txn> {
        let dir = root.join(TXN_DIR);
        fs::create_dir_all(dir.join("files")).at(&dir)?;
        Ok(Txn {
            root: root.to_path_buf(),
            id,
            moves: Vec::new(),
            deletes: Vec::new(),
        })
    }

    /// Where to write a file that will appear at `final_rel` once committed.
    pub fn stage(&mut self, final_rel: &str) -> Result<PathBuf> {
        let p = self.path_for(final_rel)?;
        self.moves
            .push((format!("files/{final_rel}"), final_rel.to_string()));
        Ok(p)
    }

    /// Where [`Txn::stage`] will want the file for `final_rel` (its folder created), for
    /// files written in parallel and staged afterwards.
    pub fn path_for(&self, final_rel: &str) -> Result<PathBuf> {
        let p = self.root.join(TXN_DIR).join("files").join(final_rel);
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).at(parent)?;
        }
        Ok(p)
    }

    pub fn delete(&mut self, rel: &str) {
        self.deletes.push(rel.to_string());
    }

    /// Makes the transaction durable and visible. On return the lake is in its new state.
    pub fn commit(self, manifest: &Manifest) -> Result<()> {
        let dir = self.root.join(TXN_DIR);
        for (staged, _) in &self.moves {
            let p = dir.join(staged);
            fs::File::open(&p).and_then(|f| f.sync_all()).at(&p)?;
        }
        let mpath = dir.join(STAGED_MANIFEST);
        write_synced(&mpath, manifest.to_json().as_bytes())?;
        let plan = CommitPlan {
            txn: self.id,
            moves: self.moves,
            deletes: self.deletes,
        };
        let body = serde_json::to_vec_pretty(&plan).expect("plan serialises");
        fault_point("before-commit");
        let tmp = dir.join("COMMIT.tmp");
        write_synced(&tmp, &body)?;
        fs::rename(&tmp, dir.join(COMMIT_FILE)).at(&dir)?;
        sync_dir(&dir)?;
        fault_point("after-commit");
        apply(&self.root, &plan)
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut f = fs::File::create(path).at(path)?;
    f.write_all(bytes).at(path)?;
    f.sync_all().at(path)
}

fn apply(root: &Path, plan: &CommitPlan) -> Result<()> {
    let dir = root.join(TXN_DIR);
    for (i, (staged, fin)) in plan.moves.iter().enumerate() {
        let from = dir.join(staged);
        let to = root.join(fin);
        if from.exists() {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent).at(parent)?;
            }
            fs::rename(&from, &to).at(&to)?;
        }
        if i == 0 {
            fault_point("mid-apply");
        }
    }
    for rel in &plan.deletes {
        let p = root.join(rel);
        match fs::remove_file(&p) {
            Ok(()) => remove_empty_parents(root, &p),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Io { path: p, source: e }),
        }
    }
    let staged_manifest = dir.join(STAGED_MANIFEST);
    if staged_manifest.exists() {
        fs::rename(&staged_manifest, root.join(MANIFEST_FILE)).at(root)?;
    }
    sync_dir(root)?;
    fs::remove_dir_all(&dir).at(&dir)
}

/// Removes partition folders left empty by a delete, up to the table folder.
fn remove_empty_parents(root: &Path, file: &Path) {
    let mut p = file.parent();
    while let Some(d) = p {
        if d == root || d.parent() == Some(root) || fs::remove_dir(d).is_err() {
            break;
        }
        p = d.parent();
    }
}

/// Finishes or discards an interrupted transaction. Returns what it did, if anything.
pub fn recover(root: &Path) -> Result<Option<String>> {
    let dir = root.join(TXN_DIR);
    if !dir.exists() {
        return Ok(None);
    }
    let commit = dir.join(COMMIT_FILE);
    if commit.exists() {
        let text = fs::read(&commit).at(&commit)?;
        let plan: CommitPlan = serde_json::from_slice(&text).map_err(|e| Error::Lake {
            path: commit.clone(),
            why: format!("commit record is damaged: {e}"),
        })?;
        apply(root, &plan)?;
        Ok(Some(format!(
            "finished interrupted transaction {} (it had committed)",
            plan.txn
        )))
    } else {
        fs::remove_dir_all(&dir).at(&dir)?;
        Ok(Some(
            "discarded an interrupted transaction that had not committed".to_string(),
        ))
    }
}
