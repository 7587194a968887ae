//! Metrics stage: the hand-worked K1–K5 values of fixtures/README.md, per month and
//! year, for the company, the departments and a few people.

use std::collections::BTreeMap;

use crate::util::*;

/// (period, scope_kind, scope, kpi)
type Key = (String, String, String, String);
/// (numerator, denominator) as written
type Fraction = (String, String);
/// kpi, scope kind, scope, and the fractions for April, May, June and the year
type Expected = (
    &'static str,
    &'static str,
    &'static str,
    [(&'static str, &'static str); 4],
);

/// (period, scope_kind, scope, kpi) → (numerator, denominator) from a metrics.csv.
fn read_metrics(path: &std::path::Path) -> (String, BTreeMap<Key, Fraction>) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap().to_string();
    let rows = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                (
                    f[0].to_string(),
                    f[1].to_string(),
                    f[2].to_string(),
                    f[3].to_string(),
                ),
                (f[4].to_string(), f[5].to_string()),
            )
        })
        .collect();
    (header, rows)
}

/// The README's tables: kpi, scope kind, scope, then (numerator, denominator) for
/// April, May, June and the year.
const EXPECTED: &[Expected] = &[
    (
        "K1",
        "company",
        "all",
        [("28", "29"), ("30", "30"), ("24", "25"), ("82", "84")],
    ),
    (
        "K1",
        "department",
        "sales",
        [("28", "29"), ("29", "30"), ("24", "25"), ("81", "84")],
    ),
    (
        "K1",
        "department",
        "cs",
        [("29", "29"), ("30", "30"), ("24", "25"), ("83", "84")],
    ),
    (
        "K1",
        "department",
        "warehouse",
        [("27", "29"), ("30", "30"), ("24", "25"), ("81", "84")],
    ),
    (
        "K2",
        "company",
        "all",
        [("27", "28"), ("31", "31"), ("23", "25"), ("81", "84")],
    ),
    (
        "K2",
        "department",
        "logistics",
        [("27", "28"), ("31", "31"), ("23", "25"), ("81", "84")],
    ),
    (
        "K2_original",
        "company",
        "all",
        [("25", "28"), ("30", "31"), ("23", "25"), ("78", "84")],
    ),
    (
        "K2_otif_line",
        "company",
        "all",
        [("29", "30"), ("32", "32"), ("23", "25"), ("84", "87")],
    ),
    (
        "K3",
        "company",
        "all",
        [("6", "8"), ("7", "9"), ("6", "8"), ("19", "25")],
    ),
    // Every surveyed order went through sales, warehouse and logistics too.
    (
        "K3",
        "department",
        "sales",
        [("6", "8"), ("7", "9"), ("6", "8"), ("19", "25")],
    ),
    (
        "K3",
        "department",
        "warehouse",
        [("6", "8"), ("7", "9"), ("6", "8"), ("19", "25")],
    ),
    (
        "K3",
        "department",
        "logistics",
        [("6", "8"), ("7", "9"), ("6", "8"), ("19", "25")],
    ),
    (
        "K3",
        "department",
        "cs",
        [("6", "8"), ("7", "9"), ("6", "8"), ("19", "25")],
    ),
    (
        "K3_mean",
        "company",
        "all",
        [("32", "8"), ("35", "9"), ("33", "8"), ("100", "25")],
    ),
    (
        "K4",
        "company",
        "all",
        [("9", "10"), ("8", "10"), ("10", "10"), ("27", "30")],
    ),
    (
        "K4",
        "department",
        "warehouse",
        [("9", "10"), ("8", "10"), ("10", "10"), ("27", "30")],
    ),
    (
        "K4_value",
        "company",
        "all",
        [
            ("12624", "12660"),
            ("12585", "12660"),
            ("11940", "11940"),
            ("37149", "37260"),
        ],
    ),
    (
        "K5",
        "company",
        "all",
        [("29", ""), ("30", ""), ("25", ""), ("84", "")],
    ),
    (
        "K5_amount",
        "company",
        "all",
        [("3700", ""), ("3603.5", ""), ("2946", ""), ("10249.5", "")],
    ),
    (
        "K5_cancelled",
        "company",
        "all",
        [("1", ""), ("0", ""), ("1", ""), ("2", "")],
    ),
    (
        "K5_amount_cancelled",
        "company",
        "all",
        [("118", ""), ("0", ""), ("118", ""), ("236", "")],
    ),
    // Supporting indicators.
    (
        "S_tracking_relay",
        "company",
        "all",
        [("29", "29"), ("29", "32"), ("24", "24"), ("82", "85")],
    ),
    (
        "S_tracking_relay",
        "department",
        "cs",
        [("29", "29"), ("29", "32"), ("24", "24"), ("82", "85")],
    ),
    (
        "S_case_close",
        "department",
        "cs",
        [("0", "0"), ("6", "7"), ("0", "1"), ("6", "8")],
    ),
    (
        "S_po_placed",
        "department",
        "purchasing",
        [("9", "10"), ("0", "0"), ("1", "1"), ("10", "11")],
    ),
    (
        "S_supplier_on_time",
        "company",
        "all",
        [("10", "10"), ("0", "0"), ("1", "1"), ("11", "11")],
    ),
    (
        "S_qc_first_pass",
        "department",
        "qc",
        [("2", "2"), ("0", "0"), ("1", "1"), ("3", "3")],
    ),
    (
        "S_complaints_per_100",
        "company",
        "all",
        [("0", "29"), ("4", "30"), ("1", "24"), ("5", "83")],
    ),
    // People: the counters' K4 and S03's steps across the department move.
    (
        "K4",
        "staff",
        "W01",
        [("5", "5"), ("3", "5"), ("5", "5"), ("13", "15")],
    ),
    (
        "K4",
        "staff",
        "W02",
        [("4", "5"), ("5", "5"), ("5", "5"), ("14", "15")],
    ),
];

const PERIODS: [&str; 4] = ["2025-04", "2025-05", "2025-06", "2025"];

#[test]
fn fixture_kpis_equal_the_hand_worked_values() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    // The year run (default as-of: the end of 2025) and one run per month (default
    // as-of: the end of that month) must both give the README's numbers.
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025", "--out", "year",
    ]);
    let (header, year) = read_metrics(&w.path("year/metrics.csv"));
    assert_eq!(
        header,
        "period,scope_kind,scope,kpi,numerator,denominator,rate,ci_low,ci_high,sample_ok"
    );
    let mut monthly = BTreeMap::new();
    for p in &PERIODS[..3] {
        w.ok(&["metrics", "--lake", "lake", "--period", p, "--out", p]);
        monthly.extend(read_metrics(&w.path(&format!("{p}/metrics.csv"))).1);
    }
    for (kpi, kind, scope, values) in EXPECTED {
        for (period, (num, den)) in PERIODS.iter().zip(values) {
            let key = (
                period.to_string(),
                kind.to_string(),
                scope.to_string(),
                kpi.to_string(),
            );
            let want = (num.to_string(), den.to_string());
            assert_eq!(year.get(&key), Some(&want), "year run: {key:?}");
            if period.len() == 7 {
                assert_eq!(monthly.get(&key), Some(&want), "month run: {key:?}");
            }
        }
    }
    // sample_ok: ten counts a month are under min_sample = 20; the year's thirty are not.
    let line = |p: &str| {
        std::fs::read_to_string(w.path("year/metrics.csv"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with(&format!("{p},company,all,K4,")))
            .unwrap()
            .to_string()
    };
    assert!(line("2025-04").ends_with(",false"), "{}", line("2025-04"));
    assert!(line("2025").ends_with(",true"), "{}", line("2025"));
    // S03 was in sales in April (5 orders as rep) and in cs from 05-16 (one confirmation).
    let s03 = |p: &str| {
        year.get(&(p.into(), "staff".into(), "S03".into(), "K1".into()))
            .cloned()
    };
    assert_eq!(s03("2025-04"), Some(("5".into(), "5".into())));
    assert_eq!(s03("2025-05"), Some(("1".into(), "1".into())));
    assert_eq!(s03("2025-06"), None);
    let meta = std::fs::read_to_string(w.path("year/metrics.json")).unwrap();
    assert!(
        meta.contains("\"as_of\": \"2026-01-01 00:00:00\""),
        "{meta}"
    );
    assert!(
        meta.contains(&format!(
            "\"policy_fingerprint\": \"{}\"",
            lvyue::policy::Policy::default().fingerprint
        )),
        "{meta}"
    );
}

#[test]
fn as_of_hides_what_happened_later_and_censors_undue_items() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    // At 2025-06-04 09:00 SO-2506-02's K1 deadline (06-04 10:00) has not passed: it is not
    // judged yet. Decided June orders so far: 01, 03, 04 (06-02/03 signings, decision at
    // 9 h), 05 and 06 (decision at 17 h and 16 h on 06-04 → after 09:00, not yet).
    w.ok(&[
        "metrics",
        "--lake",
        "lake",
        "--period",
        "2025-06",
        "--as-of",
        "2025-06-04 09:00:00",
        "--out",
        "early",
    ]);
    let (_, m) = read_metrics(&w.path("early/metrics.csv"));
    let k1 = m
        .get(&(
            "2025-06".into(),
            "company".into(),
            "all".into(),
            "K1".into(),
        ))
        .cloned();
    assert_eq!(k1, Some(("3".into(), "3".into())));
    // One hour after the deadline it is judged, late.
    w.ok(&[
        "metrics",
        "--lake",
        "lake",
        "--period",
        "2025-06",
        "--as-of",
        "2025-06-04T11:00:00+08:00",
        "--out",
        "later",
    ]);
    let (_, m) = read_metrics(&w.path("later/metrics.csv"));
    let k1 = m
        .get(&(
            "2025-06".into(),
            "company".into(),
            "all".into(),
            "K1".into(),
        ))
        .cloned();
    assert_eq!(k1, Some(("3".into(), "4".into())));
    let out = w.run(&[
        "metrics", "--lake", "lake", "--period", "2025-13", "--out", "x",
    ]);
    assert!(
        stderr(&out).contains("--period: expected a month such as 2025-05"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn due_basis_original_changes_k2_only() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    w.write("p.toml", "[delivery]\ndue_basis = \"original\"\n");
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025", "--policy", "p.toml", "--out", "o",
    ]);
    let (_, m) = read_metrics(&w.path("o/metrics.csv"));
    let get = |p: &str, k: &str| {
        m.get(&(p.into(), "company".into(), "all".into(), k.into()))
            .cloned()
            .unwrap()
    };
    // Under the original basis SO-2504-25 is due 05-01 (May) and late.
    assert_eq!(get("2025", "K2"), ("78".into(), "84".into()));
    assert_eq!(get("2025-05", "K2"), ("30".into(), "31".into()));
    assert_eq!(get("2025", "K2_original"), ("78".into(), "84".into()));
    assert_eq!(get("2025", "K1"), ("82".into(), "84".into()));
}

#[test]
fn business_clock_skips_weekend_holidays_and_counts_the_make_up_day() {
    let w = Workdir::new();
    // Signed Friday 2025-04-25 17:00. 48 working hours later (09:00–18:00): Fri 1 h,
    // Sun 04-27 (make-up working day) 9, Mon–Wed 27, Labour Day 05-01…05 off, Tue 05-06
    // 9 = 46, Wed 05-07 2 → deadline 2025-05-07 11:00 (worked by hand).
    w.write(
        "e/orders.csv",
        "order_id,signed_at,customer_id,sales_rep_id,promised_date,amount\n\
         BC-1,2025-04-25 17:00,C1,S01,2025-05-20,100\n\
         BC-2,2025-04-25 17:00,C1,S01,2025-05-20,100\n",
    );
    w.write(
        "e/order_events.csv",
        "event_id,order_id,activity,occurred_at,actor_id\n\
         E1,BC-1,stock_locked,2025-05-07 11:00,W01\n\
         E2,BC-2,stock_locked,2025-05-07 11:01,W01\n",
    );
    w.ok(&["ingest", "e", "--lake", "lake"]);
    w.write("business.toml", "[sla]\nclock = \"business\"\n");
    w.ok(&[
        "metrics",
        "--lake",
        "lake",
        "--period",
        "2025-05",
        "--policy",
        "business.toml",
        "--out",
        "b",
    ]);
    let (_, m) = read_metrics(&w.path("b/metrics.csv"));
    let k1 = |m: &BTreeMap<Key, Fraction>| {
        m.get(&(
            "2025-05".into(),
            "company".into(),
            "all".into(),
            "K1".into(),
        ))
        .cloned()
    };
    assert_eq!(
        k1(&m),
        Some(("1".into(), "2".into())),
        "business clock: BC-1 on time at the boundary, BC-2 a minute late"
    );
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025-05", "--out", "c",
    ]);
    let (_, m) = read_metrics(&w.path("c/metrics.csv"));
    assert_eq!(
        k1(&m),
        Some(("0".into(), "2".into())),
        "calendar clock: 12 days is late"
    );
}

#[test]
fn a_monthly_run_reads_only_the_partitions_of_its_window() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    w.write("lb1.toml", "lookback_months = 1\n");
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025-06", "--policy", "lb1.toml", "--out", "june",
    ]);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(w.path("june/metrics.json")).unwrap())
            .unwrap();
    let files: Vec<&str> = meta["files_read"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let orders: Vec<&str> = files
        .iter()
        .copied()
        .filter(|f| f.starts_with("orders/"))
        .collect();
    assert_eq!(
        orders,
        [
            "orders/year=2025/month=5/part-000001.parquet",
            "orders/year=2025/month=6/part-000001.parquet"
        ]
    );
    assert!(!files.iter().any(|f| f.contains("month=4")), "{files:?}");
    // Unpartitioned tables are always read.
    assert!(
        files.contains(&"order_lines/part-000001.parquet"),
        "{files:?}"
    );
    // Every June item starts in May or June, so June's figures are the same as with the
    // default three-month window.
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025-06", "--out", "june3",
    ]);
    let a = std::fs::read_to_string(w.path("june/metrics.csv")).unwrap();
    let b = std::fs::read_to_string(w.path("june3/metrics.csv")).unwrap();
    assert_eq!(a, b);
    // April's run, as-of the end of April, does not read May or June at all.
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025-04", "--out", "april",
    ]);
    let meta = std::fs::read_to_string(w.path("april/metrics.json")).unwrap();
    assert!(
        !meta.contains("month=5") && !meta.contains("month=6"),
        "{meta}"
    );
}

#[test]
fn departments_follow_staff_validity_and_ties_follow_activity_rank() {
    let w = Workdir::new();
    w.write(
        "e/staff.csv",
        "staff_id,department,valid_from,valid_to\n\
         S03,sales,,2025-05-15\n\
         S03,cs,2025-05-16,\n\
         W1,warehouse,,\n\
         W2,warehouse,,\n",
    );
    w.write(
        "e/orders.csv",
        "order_id,signed_at,customer_id,sales_rep_id,promised_date,amount\n\
         TA,2025-05-10 09:00,C1,S01,2025-05-30,10\n\
         TB,2025-05-20 09:00,C2,S01,2025-05-30,10\n",
    );
    // TA's only confirmation is by S03 while still in sales; TB's by S03 in cs.
    // TB's two stock events share an instant: stock_locked (rank 8) by W1 comes before
    // stock_short (rank 9) by W2 although W2's event id sorts first.
    w.write(
        "e/order_events.csv",
        "event_id,order_id,activity,occurred_at,actor_id,sku\n\
         A1,TA,customer_confirmed,2025-05-10 10:00,S03,\n\
         A2,TA,stock_locked,2025-05-10 11:00,W1,X\n\
         B0,TB,stock_short,2025-05-20 11:00,W2,X\n\
         B1,TB,customer_confirmed,2025-05-20 10:00,S03,\n\
         B2,TB,stock_locked,2025-05-20 11:00,W1,X\n",
    );
    w.write(
        "e/surveys.csv",
        "survey_id,order_id,responded_at,score\nVA,TA,2025-05-25 09:00,5\nVB,TB,2025-05-26 09:00,2\n",
    );
    w.ok(&["ingest", "e", "--lake", "lake"]);
    w.ok(&[
        "metrics", "--lake", "lake", "--period", "2025-05", "--out", "o",
    ]);
    let (_, m) = read_metrics(&w.path("o/metrics.csv"));
    let get = |kind: &str, scope: &str, kpi: &str| {
        m.get(&("2025-05".into(), kind.into(), scope.into(), kpi.into()))
            .cloned()
    };
    assert_eq!(get("company", "all", "K3"), Some(("1".into(), "2".into())));
    assert_eq!(
        get("department", "cs", "K3"),
        Some(("0".into(), "1".into())),
        "only TB was touched by cs"
    );
    // Warehouse view items: TA (W1) and TB (W1, by rank), none for W2.
    assert_eq!(get("staff", "W1", "K1"), Some(("2".into(), "2".into())));
    assert_eq!(get("staff", "W2", "K1"), None);
    // No order was submitted to cs, so there are no cs-view items and S03 has no K1.
    assert_eq!(get("staff", "S03", "K1"), None);
}

#[test]
fn sql_only_writes_the_sql_and_computes_nothing() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    for (cmd, first) in [("metrics", "K1.sql"), ("audit", "R01_entry_late.sql")] {
        let out = w.ok(&[
            cmd,
            "--lake",
            "lake",
            "--period",
            "2025-05",
            "--out",
            "out",
            "--emit-sql",
            cmd,
            "--sql-only",
        ]);
        assert!(out.starts_with("wrote "), "{out}");
        assert!(w.path(&format!("{cmd}/00_views.duckdb.sql")).exists());
        let names: Vec<String> = std::fs::read_dir(w.path(cmd))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().any(|n| n.ends_with(first)), "{names:?}");
    }
    assert!(!w.path("out").exists(), "nothing computed, nothing written");
    // --sql-only without --emit-sql is a usage error.
    let o = w.run(&[
        "metrics",
        "--lake",
        "lake",
        "--period",
        "2025-05",
        "--sql-only",
    ]);
    assert_eq!(o.status.code(), Some(2));
}
