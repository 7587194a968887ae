//! `lvyue gen`: deterministic (same seed → byte-identical files, whatever the thread
//! count), in the contract's shape (the exports ingest with nothing quarantined), and
//! with a break of every rule that the audit finds.

use std::collections::BTreeSet;

use polars::prelude::{DataType, ParquetReader, SerReader, TimeUnit};

use crate::util::*;

fn gen_as(w: &Workdir, out: &str, seed: &str, threads: &str, format: &str) {
    let o = w.run_env(
        &[
            "gen", "--orders", "6000", "--start", "2025-04", "--months", "3", "--seed", seed,
            "--dirty", "0.2", "--out", out, "--format", format,
        ],
        &[("RAYON_NUM_THREADS", threads), ("LVYUE_PART_ROWS", "20000")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
}

fn gen(w: &Workdir, out: &str, seed: &str, threads: &str) {
    gen_as(w, out, seed, threads, "csv");
}

fn files(w: &Workdir, d: &str) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(w.path(d))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn parquet_exports_are_typed_parts_that_ingest_to_the_same_lake() {
    let w = Workdir::new();
    gen(&w, "csv", "7", "2");
    gen_as(&w, "pq1", "7", "1", "parquet");
    gen_as(&w, "pq2", "7", "2", "parquet");
    let (p1, p2) = (files(&w, "pq1"), files(&w, "pq2"));
    assert!(
        p1 == p2,
        "same seed, different thread counts: identical bytes"
    );
    let names: Vec<&str> = p1.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.iter().all(|n| n.ends_with(".parquet")), "{names:?}");
    // ~90k events in parts of 20 000 rows: the last part holds the remainder.
    let events: Vec<&&str> = names
        .iter()
        .filter(|n| n.starts_with("order_events-"))
        .collect();
    assert!(events.len() >= 4, "{events:?}");
    assert!(names.contains(&"staff-0001.parquet") && names.contains(&"orders-0001.parquet"));
    let typed = ParquetReader::new(std::fs::File::open(w.path("pq1/orders-0001.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(typed.height(), 6000);
    assert_eq!(
        typed.column("signed_at").unwrap().dtype(),
        &DataType::Datetime(TimeUnit::Microseconds, None)
    );
    assert!(matches!(
        typed.column("amount").unwrap().dtype(),
        DataType::Decimal(..)
    ));

    w.ok(&["ingest", "csv", "--lake", "lake-csv"]);
    let out = w.ok(&["ingest", "pq1", "--lake", "lake-pq"]);
    assert!(
        out.lines()
            .filter(|l| l.contains(": read "))
            .all(|l| l.contains(" + quarantined 0;")),
        "{out}"
    );
    let (a, b) = (
        lake_tables(&w.path("lake-csv")),
        lake_tables(&w.path("lake-pq")),
    );
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        assert!(x.height() > 0, "{name}: empty");
        assert!(
            x.equals_missing(y),
            "{name}: the Parquet exports ingest differently"
        );
    }
}

#[test]
fn the_generator_is_deterministic_and_breaks_every_rule() {
    let w = Workdir::new();
    gen(&w, "a", "7", "1");
    gen(&w, "b", "7", "2");
    gen(&w, "c", "8", "2");
    let (a, b, c) = (files(&w, "a"), files(&w, "b"), files(&w, "c"));
    assert_eq!(a.len(), 12, "every contract table");
    assert!(
        a == b,
        "same seed, different thread counts: identical bytes"
    );
    assert!(a != c, "another seed, other data");

    // The exports are in the contract's shape: nothing quarantined.
    let ingest = w.ok(&["ingest", "a", "--lake", "lake"]);
    assert!(
        ingest
            .lines()
            .filter(|l| l.contains(": read "))
            .all(|l| l.contains(" + quarantined 0;")),
        "{ingest}"
    );
    // Audited month by month (each re-checking the notices before it), every rule
    // R01–R21 finds violations; R21 from the notices nobody answered.
    let mut found = BTreeSet::new();
    for p in ["2025-04", "2025-05", "2025-06"] {
        w.ok(&[
            "audit",
            "--lake",
            "lake",
            "--period",
            p,
            "--out",
            &format!("out/{p}"),
        ]);
        let v = std::fs::read_to_string(w.path(&format!("out/{p}/violations.csv"))).unwrap();
        found.extend(v.lines().skip(1).map(|l| l[..3].to_string()));
    }
    let all: BTreeSet<String> = (1..=21).map(|r| format!("R{r:02}")).collect();
    assert_eq!(found, all);
}

/// A month's audit judges only the orders that can have an item in the month: on
/// generated months full of breaks, on either clock, it finds exactly the violations,
/// pass rates and notices of judging every order of its window.
#[test]
fn judging_only_the_orders_in_reach_changes_no_result() {
    let w = Workdir::new();
    let o = w.run(&[
        "gen", "--orders", "4000", "--start", "2025-03", "--months", "4", "--seed", "11",
        "--dirty", "0.2", "--out", "g",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    w.ok(&["ingest", "g", "--lake", "lake"]);
    w.write("business.toml", "[sla]\nclock = \"business\"\n");
    // Each audit records notices in its lake's ledger: one copy per way of judging.
    for copy in ["pruned", "sharded", "whole", "pruned-b", "whole-b"] {
        let o = std::process::Command::new("cp")
            .args(["-r", "lake", copy])
            .current_dir(w.path(""))
            .output()
            .unwrap();
        assert!(o.status.success());
    }
    let audit = |lake: &str, period: &str, prune: &str, policy: &[&str]| -> serde_json::Value {
        let out = format!("out-{lake}-{period}");
        let mut args = vec!["audit", "--lake", lake, "--period", period, "--out", &out];
        args.extend_from_slice(policy);
        // "sharded": the kept orders in shards of 300, each read into memory apart.
        let per_shard = if lake == "sharded" { "300" } else { "1000000" };
        let o = w.run_env(
            &args,
            &[("LVYUE_PRUNE", prune), ("LVYUE_SHARD_ORDERS", per_shard)],
        );
        assert!(o.status.success(), "{lake} {period}: {}", stderr(&o));
        serde_json::from_str(
            &std::fs::read_to_string(w.path(&format!("{out}/audit.json"))).unwrap(),
        )
        .unwrap()
    };
    let same = |a: &str, b: &str, period: &str| {
        for f in ["violations.csv", "rule_pass_rates.csv", "notices.csv"] {
            let read = |l: &str| {
                std::fs::read_to_string(w.path(&format!("out-{l}-{period}/{f}"))).unwrap()
            };
            let (x, y) = (read(a), read(b));
            assert!(x.lines().count() > 1, "{period} {f}: nothing found");
            assert!(x == y, "{period} {f}: judging fewer orders changed it");
        }
    };
    for period in ["2025-05", "2025-06"] {
        let p = audit("pruned", period, "on", &[]);
        let sharded = audit("sharded", period, "on", &[]);
        let whole = audit("whole", period, "off", &[]);
        same("pruned", "whole", period);
        same("sharded", "whole", period);
        assert!(sharded["shards"].as_u64().unwrap() >= 3, "{sharded}");
        assert_eq!(whole["orders_judged"], serde_json::Value::Null);
        assert_eq!(p["orders_in_window"], whole["orders_in_window"]);
        if period == "2025-06" {
            // Four months of orders in the window, about one of them still in reach.
            let (n, of) = (
                p["orders_judged"].as_u64().unwrap(),
                p["orders_in_window"].as_u64().unwrap(),
            );
            assert_eq!(of, 4000);
            assert!(n > 0 && n * 2 < of, "{n} of {of} judged");
        }
    }
    // Working hours reach further back; same results again.
    let policy = ["--policy", "business.toml"];
    let p = audit("pruned-b", "2025-06", "on", &policy);
    audit("whole-b", "2025-06", "off", &policy);
    same("pruned-b", "whole-b", "2025-06");
    assert!(p["orders_judged"].as_u64().is_some());
}
