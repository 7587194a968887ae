//! Test helpers: a temporary work folder, running the binary, reading the lake back.

use std::path::{Path, PathBuf};
use std::process::Output;

use lvyue::ingest::contract::{self, TABLES};
use lvyue::lake::Lake;
use polars::prelude::*;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

pub struct Workdir {
    pub dir: tempfile::TempDir,
}

impl Workdir {
    pub fn new() -> Workdir {
        Workdir {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    /// Runs `lvyue` with `args` in this folder, with extra environment variables.
    pub fn run_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin!("lvyue"));
        cmd.current_dir(self.dir.path()).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("run lvyue")
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_env(args, &[])
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "lvyue {args:?} failed: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every table of the lake, sorted by key, as frames (opening recovers, like the CLI).
pub fn lake_tables(lake: &Path) -> Vec<(String, DataFrame)> {
    let l = Lake::open(lake, chrono_tz::Asia::Shanghai, false).expect("open lake");
    TABLES
        .iter()
        .map(|t| (t.name.to_string(), l.read_table(t).expect("read table")))
        .collect()
}

pub fn table(lake: &Path, name: &str) -> DataFrame {
    let l = Lake::open(lake, chrono_tz::Asia::Shanghai, false).expect("open lake");
    l.read_table(contract::table(name).unwrap()).unwrap()
}

pub fn quarantine(lake: &Path) -> DataFrame {
    let mut out: Option<DataFrame> = None;
    let dir = lake.join("_quarantine");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    for p in files {
        let df = ParquetReader::new(std::fs::File::open(&p).unwrap())
            .finish()
            .unwrap();
        out = Some(match out {
            None => df,
            Some(a) => a.vstack(&df).unwrap(),
        });
    }
    out.expect("quarantine files")
}

/// The string values of a column.
pub fn strs(df: &DataFrame, col: &str) -> Vec<String> {
    let s = df.column(col).unwrap().cast(&DataType::String).unwrap();
    s.str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or("").to_string())
        .collect()
}

/// Relative path and content hash of every file in the lake (the lock file aside).
pub fn lake_files(lake: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, d: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.file_name().unwrap() != "_lock" {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = Vec::new();
    if lake.exists() {
        walk(lake, lake, &mut out);
    }
    out.sort();
    out
}
