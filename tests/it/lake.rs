//! The lake: status report, atomic commits under injected faults and real kills.

use std::path::Path;
use std::time::Duration;

use crate::util::*;

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let dest = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &dest);
        } else {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
}

fn same_tables(a: &Path, b: &Path) -> bool {
    lake_tables(a)
        .iter()
        .zip(lake_tables(b))
        .all(|((_, x), (_, y))| x.equals_missing(&y))
}

/// The data files (not the manifest) of a lake, by path and content.
fn data_files(lake: &Path) -> Vec<(String, Vec<u8>)> {
    lake_files(lake)
        .into_iter()
        .filter(|(p, _)| !p.starts_with('_'))
        .collect()
}

#[test]
fn status_reports_partitions_rows_ranges_and_quarantine() {
    let w = Workdir::new();
    let fx = fixtures();
    w.ok(&[
        "ingest",
        fx.join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    w.ok(&[
        "ingest",
        fx.join("bad/required_empty.csv").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    let out = w.ok(&["lake", "status", "--lake", "lake"]);
    let line = |t: &str| {
        out.lines()
            .find(|l| l.starts_with(&format!("{t} ")))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    // orders: April–June, 86 + the 2 good rows of required_empty.csv (signed 2025-04-01).
    assert_eq!(
        &line("orders")[..8],
        [
            "orders",
            "3",
            "88",
            "2025-04-01",
            "10:00:00",
            "2025-06-20",
            "10:00:00",
            "1"
        ]
    );
    assert_eq!(&line("staff")[..3], ["staff", "(none)", "14"]);
    assert_eq!(
        &line("inventory_counts")[..8],
        [
            "inventory_counts",
            "3",
            "30",
            "2025-04-28",
            "17:00:00",
            "2025-06-30",
            "17:00:00",
            "0"
        ]
    );
    assert!(out.contains("       1  required value empty"), "{out}");
    let out = w.run(&["lake", "status", "--lake", "nowhere"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("lake nowhere: does not exist"),
        "{}",
        stderr(&out)
    );
}

/// A corrected orders export that moves one order to another month.
fn write_fix(w: &Workdir) {
    w.write(
        "fix.csv",
        "order_id,signed_at,customer_id,sales_rep_id,promised_date,amount\n\
         SO-2504-01,2025-04-01 10:00:00,C-001,S01,2025-04-07,120.00\n\
         SO-2504-30,2025-05-02 09:00:00,C-005,S02,2025-05-09,118.00\n\
         SO-2507-01,2025-07-01 09:00:00,C-004,S01,2025-07-09,59.00\n",
    );
}

#[test]
fn an_injected_crash_leaves_the_lake_before_or_after_never_half() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "a",
    ]);
    write_fix(&w);
    copy_dir(&w.path("a"), &w.path("b"));
    w.ok(&["ingest", "fix.csv", "--lake", "b"]);
    assert!(!same_tables(&w.path("a"), &w.path("b")));
    for (point, after) in [
        ("before-commit", false),
        ("after-commit", true),
        ("mid-apply", true),
    ] {
        let lake = format!("crash-{point}");
        copy_dir(&w.path("a"), &w.path(&lake));
        let out = w.run_env(
            &["ingest", "fix.csv", "--lake", &lake],
            &[("LVYUE_FAULT", point)],
        );
        assert!(!out.status.success(), "{point}: the fault did not fire");
        assert!(stderr(&out).contains(&format!("injected fault at {point}")));
        let status = w.ok(&["lake", "status", "--lake", &lake]);
        let _ = status;
        let want = if after { "b" } else { "a" };
        assert!(
            same_tables(&w.path(&lake), &w.path(want)),
            "{point}: lake is not as {want}"
        );
        assert_eq!(
            data_files(&w.path(&lake)),
            data_files(&w.path(want)),
            "{point}: files"
        );
        assert!(!w.path(&lake).join("_txn").exists());
        // After recovery the lake takes the same ingest normally.
        w.ok(&["ingest", "fix.csv", "--lake", &lake]);
        assert!(same_tables(&w.path(&lake), &w.path("b")), "{point}: retry");
    }
}

#[test]
fn killing_the_process_at_any_moment_leaves_the_lake_before_or_after() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports/staff.csv").to_str().unwrap(),
        "--lake",
        "a",
    ]);
    // A large enough events export that a kill can land mid-ingest.
    let mut csv = String::from("event_id,order_id,activity,occurred_at,actor_id\n");
    for i in 0..60_000 {
        let month = 4 + i % 3;
        csv.push_str(&format!(
            "K{i},SO-{i},packed,2025-0{month}-{:02} 10:00:00,W01\n",
            1 + i % 28
        ));
    }
    w.write("big.csv", &csv);
    copy_dir(&w.path("a"), &w.path("b"));
    let started = std::time::Instant::now();
    w.ok(&["ingest", "big.csv", "--lake", "b"]);
    // Kill at fractions of an uninterrupted run, densest near its end where the commit is.
    let full = started.elapsed().as_secs_f64() * 1000.0;
    let delays: Vec<u64> = [
        0.05, 0.3, 0.6, 0.8, 0.9, 0.94, 0.97, 0.99, 1.0, 1.01, 1.03, 1.5,
    ]
    .iter()
    .map(|f| (full * f) as u64)
    .collect();
    let bin = assert_cmd::cargo::cargo_bin!("lvyue");
    let mut outcomes = (0, 0);
    for (k, ms) in delays.iter().enumerate() {
        let lake = w.path(&format!("kill{k}"));
        copy_dir(&w.path("a"), &lake);
        let mut child = std::process::Command::new(bin)
            .current_dir(w.dir.path())
            .args(["ingest", "big.csv", "--lake", lake.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(*ms));
        let _ = child.kill();
        let _ = child.wait();
        w.ok(&["lake", "status", "--lake", lake.to_str().unwrap()]);
        if same_tables(&lake, &w.path("a")) {
            assert_eq!(
                data_files(&lake),
                data_files(&w.path("a")),
                "kill after {ms} ms"
            );
            outcomes.0 += 1;
        } else {
            assert!(
                same_tables(&lake, &w.path("b")),
                "kill after {ms} ms: half-written lake"
            );
            assert_eq!(
                data_files(&lake),
                data_files(&w.path("b")),
                "kill after {ms} ms"
            );
            outcomes.1 += 1;
        }
    }
    eprintln!("run {full:.0} ms; kills leaving the lake before/after: {outcomes:?}");
}

#[test]
fn a_second_writer_is_refused_while_the_lake_is_locked() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports/staff.csv").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    let _held = lvyue::lake::Lake::open(&w.path("lake"), chrono_tz::Asia::Shanghai, false).unwrap();
    let out = w.run(&[
        "ingest",
        fixtures().join("exports/surveys.csv").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("another lvyue process is writing to it"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn docs_lake_md_lists_the_schema_the_code_writes() {
    let doc_path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/lake.md");
    let doc = std::fs::read_to_string(&doc_path).unwrap();
    let (head, _) = doc
        .split_once("<!-- schema -->\n")
        .expect("docs/lake.md has a schema marker");
    let want = format!("{head}<!-- schema -->\n{}", lvyue::lake::schema_markdown());
    if std::env::var("LVYUE_BLESS").is_ok() {
        std::fs::write(&doc_path, &want).unwrap();
    }
    assert_eq!(doc, want, "docs/lake.md is stale: rerun with LVYUE_BLESS=1");
}
