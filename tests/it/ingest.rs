//! Ingest stage: formats, header recognition, quarantine, reconciliation, upserts.

use crate::util::*;

fn ingest(w: &Workdir, input: &str, lake: &str) -> String {
    let fx = fixtures().join(input);
    w.ok(&["ingest", fx.to_str().unwrap(), "--lake", lake])
}

#[test]
fn messy_exports_give_the_same_lake_as_clean_ones() {
    let w = Workdir::new();
    let out = ingest(&w, "exports", "clean");
    assert!(
        out.contains(
            "orders.csv: orders [csv, UTF-8] ingested: read 86 = stored 86 + quarantined 0"
        ),
        "{out}"
    );
    let out = ingest(&w, "exports-messy", "messy");
    assert!(
        out.contains("订单导出.csv: orders [csv, GB18030] ingested: read 86 = stored 86"),
        "{out}"
    );
    assert!(
        out.contains("訂單明細.csv: order_lines [csv, UTF-8 with BOM]"),
        "{out}"
    );
    assert!(
        out.contains("人员.xlsx: staff [xlsx, sheet 人员] ingested: read 14 = stored 14"),
        "{out}"
    );
    assert!(
        out.contains("surveys.jsonl: surveys [jsonl, UTF-8] ingested: read 25 = stored 25"),
        "{out}"
    );
    let clean = lake_tables(&w.path("clean"));
    let messy = lake_tables(&w.path("messy"));
    // Row counts from the case book: 30 + 30 + 26 orders; 83 orders shipped, two of them
    // in two parts; three orders with a second line; 14 staff rows (S03 has two stints).
    let expected = [
        ("staff", 14),
        ("orders", 86),
        ("order_lines", 89),
        ("shipments", 85),
        ("shipment_lines", 88),
        ("inventory_counts", 30),
        ("purchase_orders", 11),
        ("production_jobs", 3),
        ("service_cases", 8),
        ("surveys", 25),
        ("rectification_responses", 2),
    ];
    for (name, n) in expected {
        let df = &clean.iter().find(|(t, _)| t == name).unwrap().1;
        assert_eq!(df.height(), n, "{name}");
    }
    for ((t, a), (_, b)) in clean.iter().zip(&messy) {
        assert!(a.height() > 0, "{t} is empty");
        assert_eq!(a.schema(), b.schema(), "{t}: schema");
        assert!(a.equals_missing(b), "{t}: rows differ\n{a}\n{b}");
    }
}

#[test]
fn values_are_parsed_into_lake_types() {
    let w = Workdir::new();
    ingest(&w, "exports-messy", "lake");
    let orders = table(&w.path("lake"), "orders");
    let ids = strs(&orders, "order_id");
    let i = ids.iter().position(|x| x == "SO-2504-01").unwrap();
    // signed 2025-04-01T10:00:00+08:00 in the messy export, entered 2025-04-01T04:00:00Z.
    assert_eq!(strs(&orders, "signed_at")[i], "2025-04-01 10:00:00.000000");
    assert_eq!(strs(&orders, "entered_at")[i], "2025-04-01 12:00:00.000000");
    assert_eq!(strs(&orders, "promised_date")[i], "2025-04-07");
    assert_eq!(strs(&orders, "amount")[i], "118.00");
    assert_eq!(strs(&orders, "needs_production")[i], "false");
    let j = ids.iter().position(|x| x == "SO-2504-22").unwrap();
    assert_eq!(strs(&orders, "needs_production")[j], "true");
    // The XLSX staff sheet: Chinese department names and real date cells.
    let staff = table(&w.path("lake"), "staff");
    let sid = strs(&staff, "staff_id");
    let s03: Vec<(String, String, String)> = (0..staff.height())
        .filter(|&i| sid[i] == "S03")
        .map(|i| {
            (
                strs(&staff, "department")[i].clone(),
                strs(&staff, "valid_from")[i].clone(),
                strs(&staff, "valid_to")[i].clone(),
            )
        })
        .collect();
    let mut s03 = s03;
    s03.sort();
    assert_eq!(
        s03,
        vec![
            ("cs".to_string(), "2025-05-16".to_string(), "".to_string()),
            (
                "sales".to_string(),
                "".to_string(),
                "2025-05-15".to_string()
            ),
        ]
    );
}

#[test]
fn every_bad_row_is_quarantined_with_its_reason_and_position() {
    let w = Workdir::new();
    let out = ingest(&w, "bad", "lake");
    // Reconciliation line per file: read = stored + quarantined.
    for line in [
        "bad_score_and_json.jsonl: surveys [jsonl, UTF-8] ingested: read 3 = stored 1 + quarantined 2",
        "duplicate_key.csv: surveys [csv, UTF-8] ingested: read 3 = stored 2 + quarantined 1",
        "malformed_row.csv: shipments [csv, UTF-8] ingested: read 2 = stored 1 + quarantined 1",
        "required_empty.csv: orders [csv, UTF-8] ingested: read 3 = stored 2 + quarantined 1",
        "unknown_activity.csv: order_events [csv, UTF-8] ingested: read 2 = stored 1 + quarantined 1",
        "unknown_department.csv: staff [csv, UTF-8] ingested: read 3 = stored 2 + quarantined 1",
        "unparseable_money.csv: orders [csv, UTF-8] ingested: read 2 = stored 1 + quarantined 1",
        "unparseable_timestamp.csv: order_events [csv, UTF-8] ingested: read 3 = stored 2 + quarantined 1",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    let q = quarantine(&w.path("lake"));
    let file: Vec<String> = strs(&q, "source_file")
        .iter()
        .map(|p| p.rsplit('/').next().unwrap().to_string())
        .collect();
    let rows: Vec<(String, String, String, String, String)> = (0..q.height())
        .map(|i| {
            (
                file[i].clone(),
                strs(&q, "line")[i].clone(),
                strs(&q, "column")[i].clone(),
                strs(&q, "raw_value")[i].clone(),
                strs(&q, "reason")[i].clone(),
            )
        })
        .collect();
    let want = [
        (
            "bad_score_and_json.jsonl",
            "2",
            "score",
            "6",
            "unparseable value",
        ),
        ("bad_score_and_json.jsonl", "3", "", "", "malformed row"),
        (
            "duplicate_key.csv",
            "4",
            "survey_id",
            "BAD-SV1",
            "duplicate key",
        ),
        ("malformed_row.csv", "3", "", "", "malformed row"),
        (
            "required_empty.csv",
            "3",
            "customer_id",
            "",
            "required value empty",
        ),
        (
            "unknown_activity.csv",
            "3",
            "activity",
            "shipped",
            "unknown activity",
        ),
        (
            "unknown_department.csv",
            "3",
            "department",
            "市场部",
            "unknown department",
        ),
        (
            "unparseable_money.csv",
            "3",
            "订单金额",
            "¥12.345",
            "unparseable value",
        ),
        (
            "unparseable_timestamp.csv",
            "3",
            "occurred_at",
            "2025-04-31 13:00:00",
            "unparseable value",
        ),
    ];
    let got: Vec<_> = rows
        .iter()
        .map(|r| {
            (
                r.0.as_str(),
                r.1.as_str(),
                r.2.as_str(),
                r.3.as_str(),
                r.4.as_str(),
            )
        })
        .collect();
    assert_eq!(got, want);
    let detail = strs(&q, "detail");
    assert!(
        detail
            .iter()
            .any(|d| d == "line 4: same survey_id as line 2 of this file"),
        "{detail:?}"
    );
    assert!(
        detail
            .iter()
            .any(|d| d.contains("more than two decimal places")),
        "{detail:?}"
    );
    assert!(
        detail
            .iter()
            .any(|d| d == "line 3: row has 5 fields, the header has 4"),
        "{detail:?}"
    );
    // The whole raw record is kept, so nothing is lost.
    let rec = strs(&q, "record");
    assert!(
        rec.iter().any(|r| r.contains("\"activity\":\"shipped\"")),
        "{rec:?}"
    );
    // BAD-01 came in the same ingest (required_empty.csv), so no row names an unknown order.
    assert!(out.contains("duplicate_key.csv: surveys [csv, UTF-8] ingested: read 3 = stored 2 + quarantined 1; replaced 0; unknown orders 0"), "{out}");
    // Alone, the surveys name an order the lake does not have: stored, and counted.
    let out = ingest(&w, "bad/duplicate_key.csv", "alone");
    assert!(
        out.contains("read 3 = stored 2 + quarantined 1; replaced 0; unknown orders 2"),
        "{out}"
    );
}

#[test]
fn unreadable_files_fail_with_file_line_and_column_and_leave_the_lake_alone() {
    let w = Workdir::new();
    ingest(&w, "bad/required_empty.csv", "lake");
    let before = lake_files(&w.path("lake"));
    let cases = [
        (
            "junk.csv",
            "junk.csv: line 2, column 133: binary data (a NUL byte), not a text export",
        ),
        (
            "truncated.xlsx",
            "truncated.xlsx: not a readable XLSX workbook",
        ),
        (
            "no_table.csv",
            "no_table.csv: line 1: the header matches no table of the data contract",
        ),
    ];
    for (f, msg) in cases {
        let p = fixtures().join("unreadable").join(f);
        // A good file beside the bad one is not committed either: the run fails whole.
        let good = fixtures().join("bad/duplicate_key.csv");
        let out = w.run(&[
            "ingest",
            good.to_str().unwrap(),
            p.to_str().unwrap(),
            "--lake",
            "lake",
        ]);
        assert_eq!(out.status.code(), Some(2), "{f}");
        assert!(stderr(&out).contains(msg), "{f}: {}", stderr(&out));
        assert_eq!(lake_files(&w.path("lake")), before, "{f} changed the lake");
    }
}

#[test]
fn reingesting_the_same_files_changes_nothing() {
    let w = Workdir::new();
    ingest(&w, "exports", "lake");
    let before = lake_files(&w.path("lake"));
    let out = ingest(&w, "exports", "lake");
    assert!(
        out.contains("orders.csv: orders [csv, UTF-8] unchanged (already ingested in txn 1)"),
        "{out}"
    );
    assert!(out.contains("nothing new: the lake is unchanged"), "{out}");
    assert_eq!(lake_files(&w.path("lake")), before);
    // The messy copy of the staff file has other bytes but the same rows: it is ingested,
    // every row replaces its twin, and the table is unchanged.
    let out = ingest(&w, "exports-messy/人员.xlsx", "lake");
    assert!(
        out.contains("read 14 = stored 14 + quarantined 0; replaced 14"),
        "{out}"
    );
    let staff_files = |files: &[(String, Vec<u8>)]| -> usize {
        files
            .iter()
            .filter(|(p, _)| p.starts_with("staff/"))
            .count()
    };
    assert_eq!(staff_files(&lake_files(&w.path("lake"))), 1);
    assert_eq!(table(&w.path("lake"), "staff").height(), 14);
}

#[test]
fn a_corrected_reexport_replaces_rows_by_key_even_across_months() {
    let w = Workdir::new();
    ingest(&w, "exports", "lake");
    // SO-2504-30 corrected: signed in May, not April; SO-2504-01's amount corrected.
    w.write(
        "fix/orders_fix.csv",
        "order_id,signed_at,customer_id,sales_rep_id,promised_date,amount\n\
         SO-2504-01,2025-04-01 10:00:00,C-001,S01,2025-04-07,120.00\n\
         SO-2504-30,2025-05-02 09:00:00,C-005,S02,2025-05-09,118.00\n",
    );
    let out = w.ok(&["ingest", "fix/orders_fix.csv", "--lake", "lake"]);
    assert!(
        out.contains("read 2 = stored 2 + quarantined 0; replaced 2"),
        "{out}"
    );
    let orders = table(&w.path("lake"), "orders");
    assert_eq!(orders.height(), 86);
    let ids = strs(&orders, "order_id");
    let i = ids.iter().position(|x| x == "SO-2504-01").unwrap();
    assert_eq!(strs(&orders, "amount")[i], "120.00");
    let files = lake_files(&w.path("lake"));
    let in_part = |part: &str, id: &str| -> bool {
        files.iter().any(|(p, bytes)| {
            p.starts_with(part) && bytes.windows(id.len()).any(|x| x == id.as_bytes())
        })
    };
    assert!(!in_part("orders/year=2025/month=4/", "SO-2504-30"));
    assert!(in_part("orders/year=2025/month=5/", "SO-2504-30"));
    // One file per partition: the superseded ones were deleted at commit.
    let april: Vec<_> = files
        .iter()
        .filter(|(p, _)| p.starts_with("orders/year=2025/month=4/"))
        .collect();
    assert_eq!(april.len(), 1);
    let manifest = std::fs::read_to_string(w.path("lake/_manifest.json")).unwrap();
    assert!(manifest.contains("\"rows_replaced\": 2"), "{manifest}");
}

#[test]
fn header_mapping_file_and_forced_table() {
    let w = Workdir::new();
    w.write("m.toml", "[any]\n\"Order No.\" = \"order_id\"\n[surveys]\n\"Stars\" = \"score\"\n\"Answered\" = \"responded_at\"\n");
    w.write(
        "s.csv",
        "Survey,Order No.,Answered,Stars\nQ1,SO-1,2025-04-06 10:00,5\n",
    );
    // "Survey" is mapped nowhere, so survey_id is missing: the error names the closest table.
    let out = w.run(&["ingest", "s.csv", "--lake", "lake", "--mapping", "m.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("s.csv: line 1: the header matches no table of the data contract (closest: surveys, missing required columns survey_id)"),
        "{}",
        stderr(&out)
    );
    let out = w.run(&[
        "ingest",
        "s.csv",
        "--lake",
        "lake",
        "--mapping",
        "m.toml",
        "--table",
        "surveys",
    ]);
    assert!(
        stderr(&out).contains("as table surveys: missing required columns survey_id"),
        "{}",
        stderr(&out)
    );
    w.write("m2.toml", "[surveys]\n\"Survey\" = \"survey_id\"\n\"Order No.\" = \"order_id\"\n\"Stars\" = \"score\"\n\"Answered\" = \"responded_at\"\n");
    let out = w.ok(&["ingest", "s.csv", "--lake", "lake2", "--mapping", "m2.toml"]);
    assert!(
        out.contains("s.csv: surveys [csv, UTF-8] ingested: read 1 = stored 1 + quarantined 0"),
        "{out}"
    );
    let out = w.run(&["ingest", "s.csv", "--lake", "lake3", "--table", "invoices"]);
    assert!(
        stderr(&out).contains("--table \"invoices\" is not a table"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn parquet_exports_are_read_too() {
    let w = Workdir::new();
    ingest(&w, "exports", "lake");
    // The lake's own orders files, as Parquet exports, give the same table again.
    let dir = w.path("lake/orders");
    let out = w.ok(&["ingest", dir.to_str().unwrap(), "--lake", "again"]);
    assert!(
        out.contains("[parquet, Parquet] ingested: read 30 = stored 30"),
        "{out}"
    );
    let a = table(&w.path("lake"), "orders");
    let b = table(&w.path("again"), "orders");
    assert!(a.equals_missing(&b));
}

#[test]
fn a_lake_keeps_its_time_zone() {
    let w = Workdir::new();
    ingest(&w, "bad/required_empty.csv", "lake");
    w.write("berlin.toml", "time_zone = \"Europe/Berlin\"\n");
    let f = fixtures().join("bad/duplicate_key.csv");
    let out = w.run(&[
        "ingest",
        f.to_str().unwrap(),
        "--lake",
        "lake",
        "--policy",
        "berlin.toml",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("local to Asia/Shanghai, the policy says Europe/Berlin"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn spilling_to_disk_and_parsing_in_chunks_change_nothing_in_the_lake() {
    // A generated company (with its planted bad rows) plus, in the same ingest, a
    // corrected re-export of three orders (new amounts): ingested with the default
    // buffer and chunks, and with spills of 500 rows and cells parsed 7 rows at a time
    // in parallel, the lakes, the quarantine and the summaries are the same.
    let w = Workdir::new();
    w.ok(&[
        "gen", "--orders", "3000", "--start", "2025-04", "--months", "2", "--seed", "5", "--out",
        "g",
    ]);
    let orders = std::fs::read_to_string(w.path("g/orders.csv")).unwrap();
    let mut fix = String::from(orders.lines().next().unwrap());
    fix.push('\n');
    for line in orders.lines().skip(100).take(3) {
        let mut f: Vec<&str> = line.split(',').collect();
        f[10] = "999.99";
        fix.push_str(&f.join(","));
        fix.push('\n');
    }
    w.write("z/orders-fix.csv", &fix);
    // Two rows to quarantine, chunks apart: an amount that is not money, and the first
    // order again at the end of the file (a duplicate key).
    let mut lines: Vec<String> = orders.lines().map(str::to_string).collect();
    let mut f: Vec<String> = lines[2000].split(',').map(str::to_string).collect();
    f[10] = "12.3x".into();
    lines[2000] = f.join(",");
    lines.push(lines[1].clone());
    w.write("g/orders.csv", &(lines.join("\n") + "\n"));
    let run = |lake: &str, spill: &str, chunk: &str| -> (String, String) {
        let o = w.run_env(
            &["ingest", "g", "z", "--lake", lake],
            &[
                ("LVYUE_SPILL_ROWS", spill),
                ("LVYUE_PARSE_ROWS", chunk),
                ("LVYUE_TIMING", "1"),
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let err = stderr(&o);
        (String::from_utf8(o.stdout).unwrap(), err)
    };
    let (whole, whole_err) = run("whole", "100000000", "100000000");
    let (spilled, spilled_err) = run("spilled", "500", "7");
    // (spills, spill files, lake files written beside the parse)
    let spills = |err: &str| -> (usize, usize, usize) {
        let l = err
            .lines()
            .find_map(|l| {
                l.strip_prefix("ingest: ")?
                    .strip_suffix(" lake files written beside the parse")
            })
            .unwrap_or_else(|| panic!("{err}"));
        let n: Vec<usize> = l
            .split(", ")
            .map(|p| p.split(' ').next().unwrap().parse().unwrap())
            .collect();
        (n[0], n[1], n[2])
    };
    // The lake held no rows, so every table's rows went straight into its lake files
    // (one per partition) and no spill file was written: one spill per export (a file's
    // last rows are spilled as it ends) when everything fits the buffer, many more with
    // a 500-row buffer (~48,000 event rows alone make ~100).
    let files = |lake: &str| -> Vec<(String, Vec<u8>)> {
        lake_files(&w.path(lake))
            .into_iter()
            .filter(|(p, _)| !p.starts_with('_') && p.ends_with(".parquet"))
            .map(|(p, bytes)| {
                (
                    p.rsplit_once('/').map_or("", |(dir, _)| dir).to_string(),
                    bytes,
                )
            })
            .collect()
    };
    let partitions = files("whole").len();
    let tables = files("whole")
        .iter()
        .map(|(dir, _)| dir.split('/').next().unwrap().to_string())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    // Twelve tables, and orders in two files.
    assert_eq!(tables, 12);
    assert_eq!(
        spills(&whole_err),
        (tables + 1, 0, partitions),
        "{whole_err}"
    );
    let (n, spill_files, direct) = spills(&spilled_err);
    assert!(
        n > 100 && spill_files == 0 && direct == partitions,
        "{spilled_err}"
    );
    let strip = |s: &str| s.replace("whole", "LAKE").replace("spilled", "LAKE");
    assert_eq!(strip(&whole), strip(&spilled));
    assert!(
        whole.contains("orders-fix.csv: orders [csv, UTF-8] ingested: read 3 = stored 3 + quarantined 0; replaced 3;"),
        "{whole}"
    );
    // The same rows in two ingests: the correction now replaces stored rows, so its
    // partition is merged at the commit, from the lake file and a spill file. Every
    // partition's file has the same bytes in all three lakes, however its rows came:
    // written in pieces of 500 rows, rewritten without the three replaced rows, merged.
    w.ok(&["ingest", "g", "--lake", "twice"]);
    let o = w.run_env(
        &["ingest", "z", "--lake", "twice"],
        &[("LVYUE_TIMING", "1")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // The three corrected orders fall in two months: a spill file each.
    assert_eq!(spills(&stderr(&o)), (1, 2, 0));
    let sorted = |lake: &str| {
        let mut f = files(lake);
        f.sort();
        f
    };
    let whole_files = sorted("whole");
    assert!(
        whole_files == sorted("spilled"),
        "spilled lake files differ"
    );
    assert!(
        whole_files == sorted("twice"),
        "lake files of two ingests differ"
    );
    let (a, b) = (
        lake_tables(&w.path("whole")),
        lake_tables(&w.path("spilled")),
    );
    assert_eq!(a.len(), b.len());
    for ((ta, da), (tb, db)) in a.iter().zip(&b) {
        assert_eq!(ta, tb);
        assert!(da.equals_missing(db), "{ta} differs");
    }
    assert!(
        whole.contains(
            "orders.csv: orders [csv, UTF-8] ingested: read 3001 = stored 2999 + quarantined 2;"
        ),
        "{whole}"
    );
    let amounts = table(&w.path("spilled"), "orders");
    assert_eq!(amounts.height(), 2999);
    let (qa, qb) = (quarantine(&w.path("whole")), quarantine(&w.path("spilled")));
    let reasons = lvyue::frame::texts(&qb, "reason").unwrap();
    assert_eq!(
        reasons,
        vec![
            Some("unparseable value".into()),
            Some("duplicate key".into())
        ]
    );
    assert!(qa.equals_missing(&qb), "quarantines differ");
}

#[test]
fn keys_in_order_skip_the_lookup_and_every_duplicate_and_correction_is_still_found() {
    // The first file's keys ascend, so they are stored without a lookup, until SV03 comes
    // back out of order (a lookup finds its first row). SV02 twice in a row is a
    // duplicate found by order alone. A second file of the same table in the same
    // ingest corrects SV02; a later ingest corrects SV05 in the lake. Cells parsed one
    // row per piece (every row a piece boundary) or all in one piece: the same result.
    let head = "survey_id,order_id,responded_at,score\n";
    let row =
        |id: &str, hour: u32, score: u32| format!("{id},SO-1,2025-04-06 {hour:02}:00:00,{score}\n");
    let first: String = [
        row("SV01", 10, 5), // line 2
        row("SV02", 11, 4), // line 3
        row("SV02", 12, 3), // line 4: duplicate of line 3
        row("SV03", 13, 5), // line 5
        row("SV04", 14, 2), // line 6
        row("SV03", 15, 1), // line 7: duplicate of line 5, out of order
        row("SV05", 16, 4), // line 8
    ]
    .concat();
    let fix = [row("SV02", 17, 1), row("SV06", 18, 5)].concat();
    let later = row("SV05", 19, 2);
    for (lake, rows) in [("one-row-pieces", "2"), ("one-piece", "100000")] {
        let w = Workdir::new();
        w.write("in/a/surveys.csv", &(head.to_string() + &first));
        w.write("in/b/surveys-fix.csv", &(head.to_string() + &fix));
        let o = w.run_env(
            &["ingest", "in", "--lake", lake],
            &[("LVYUE_PARSE_ROWS", rows)],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        for line in [
            "surveys.csv: surveys [csv, UTF-8] ingested: read 7 = stored 5 + quarantined 2",
            "surveys-fix.csv: surveys [csv, UTF-8] ingested: read 2 = stored 2 + quarantined 0; replaced 1",
        ] {
            assert!(out.contains(line), "{lake}: missing {line:?} in\n{out}");
        }
        let q = quarantine(&w.path(lake));
        assert_eq!(strs(&q, "line"), ["4", "7"], "{lake}");
        assert_eq!(strs(&q, "raw_value"), ["SV02", "SV03"], "{lake}");
        let detail = strs(&q, "detail");
        assert!(
            detail[0].ends_with("same survey_id as line 3 of this file"),
            "{detail:?}"
        );
        assert!(
            detail[1].ends_with("same survey_id as line 5 of this file"),
            "{detail:?}"
        );

        w.write("next/surveys.csv", &(head.to_string() + &later));
        let out = w.ok(&["ingest", "next", "--lake", lake]);
        assert!(
            out.contains("read 1 = stored 1 + quarantined 0; replaced 1"),
            "{lake}: {out}"
        );
        let s = table(&w.path(lake), "surveys");
        let got: Vec<(String, String)> = strs(&s, "survey_id")
            .into_iter()
            .zip(strs(&s, "score"))
            .collect();
        let want = [
            ("SV01", "5"),
            ("SV02", "1"),
            ("SV03", "5"),
            ("SV04", "2"),
            ("SV05", "2"),
            ("SV06", "5"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(got, want, "{lake}");
    }
}

#[test]
fn a_correction_moving_rows_to_another_month_in_the_same_ingest_leaves_no_copy_behind() {
    use polars::prelude::{ParquetReader, SerReader};
    // Into an empty lake rows go straight into their partitions' lake files as they are
    // parsed. The second file moves SV02 from April and SV04 from June to May, where
    // they still come in key order: April's file is rewritten without SV02, June's
    // (now empty) is not written at all, and May's is kept as written.
    let w = Workdir::new();
    let head = "survey_id,order_id,responded_at,score\n";
    w.write(
        "in/a/surveys.csv",
        &format!(
            "{head}SV01,SO-1,2025-05-06 10:00:00,5\nSV02,SO-1,2025-04-06 10:00:00,4\n\
             SV03,SO-1,2025-04-07 10:00:00,3\nSV04,SO-1,2025-06-01 10:00:00,2\n"
        ),
    );
    w.write(
        "in/b/surveys-fix.csv",
        &format!("{head}SV02,SO-1,2025-05-07 10:00:00,1\nSV04,SO-1,2025-05-08 10:00:00,1\n"),
    );
    let o = w.run_env(
        &["ingest", "in", "--lake", "lake"],
        &[("LVYUE_TIMING", "1")],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("ingest: 2 spills, 0 spill files, 3 lake files written beside the parse"),
        "{}",
        stderr(&o)
    );
    let ids = |month: u32| -> Vec<String> {
        let files: Vec<_> = lake_files(&w.path("lake"))
            .into_iter()
            .filter(|(p, _)| p.starts_with(&format!("surveys/year=2025/month={month}/")))
            .collect();
        files
            .iter()
            .flat_map(|(_, bytes)| {
                let df = ParquetReader::new(std::io::Cursor::new(bytes))
                    .finish()
                    .unwrap();
                strs(&df, "survey_id")
            })
            .collect()
    };
    assert_eq!(ids(4), ["SV03"]);
    assert_eq!(ids(5), ["SV01", "SV02", "SV04"]);
    assert!(ids(6).is_empty());
    let manifest = std::fs::read_to_string(w.path("lake/_manifest.json")).unwrap();
    assert!(!manifest.contains("month=6"), "{manifest}");
    let s = table(&w.path("lake"), "surveys");
    assert_eq!(strs(&s, "score"), ["5", "1", "3", "1"]);
}

#[test]
fn a_csv_found_not_to_be_utf8_after_rows_were_stored_is_read_again_as_gb18030() {
    // A new export is hashed and checked for UTF-8 as its rows are read. Here the first
    // 1.4 MB are ASCII (more than one read block) and only the last row holds GB18030
    // text, so thousands of rows, a quarantined one and several spills are done with
    // before the bytes show the encoding. They are dropped and the file read again as
    // GB18030: the lake, quarantine and summary are those of the same rows in UTF-8.
    let w = Workdir::new();
    let header = "order_id,signed_at,entered_at,customer_id,customer_name,customer_contact,\
                  sales_rep_id,channel,delivery_place,promised_date,amount,currency,\
                  needs_production,status,cancelled_at";
    let mut text = format!("{header}\n");
    for i in 0..9000 {
        let d = 1 + i % 20;
        let amount = if i == 100 { "12.3x" } else { "118.00" };
        text.push_str(&format!(
            "SO-{i:05},2025-04-{d:02} 10:00:00,2025-04-{d:02} 12:00:00,C-{i},Customer {i},\
             138-0000-{i:04},S01,JD,Shanghai road {i},2025-04-{:02},{amount},CNY,false,active,\n",
            d + 5
        ));
    }
    text.push_str(
        "SO-09000,2025-04-30 10:00:00,,C-9000,张三,,S02,京东,上海市,2025-05-06,99.50,CNY,true,,\n",
    );
    assert!(text.len() > 1_300_000);
    let (gb, _, bad) = encoding_rs::GB18030.encode(&text);
    assert!(!bad);
    w.write("u/orders.csv", &text);
    std::fs::create_dir_all(w.path("b")).unwrap();
    std::fs::write(w.path("b/orders.csv"), &gb).unwrap();
    let run = |dir: &str, lake: &str| -> String {
        let o = w.run_env(
            &["ingest", dir, "--lake", lake],
            &[("LVYUE_SPILL_ROWS", "500"), ("LVYUE_PARSE_ROWS", "64")],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    let out_u = run("u", "lu");
    let out_b = run("b", "lb");
    assert!(
        out_u.contains("orders [csv, UTF-8] ingested: read 9001 = stored 9000 + quarantined 1;"),
        "{out_u}"
    );
    assert!(
        out_b.contains("orders [csv, GB18030] ingested: read 9001 = stored 9000 + quarantined 1;"),
        "{out_b}"
    );
    let (u, b) = (
        table(&w.path("lu"), "orders"),
        table(&w.path("lb"), "orders"),
    );
    assert_eq!(u.height(), 9000);
    assert!(u.equals_missing(&b), "the two lakes differ");
    assert_eq!(strs(&b, "customer_name")[8999], "张三");
    // The hash recorded on the way is the file's SHA-256, in the manifest and on the
    // quarantined row; the rows dropped from the first reading left no quarantine.
    let sha = |bytes: &[u8]| -> String {
        use sha2::Digest;
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    for (lake, bytes) in [("lu", text.as_bytes()), ("lb", &gb[..])] {
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(w.path(lake).join("_manifest.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(m["sources"][0]["sha256"], sha(bytes), "{lake}");
        assert_eq!(m["sources"][0]["bytes"], bytes.len(), "{lake}");
        let q = quarantine(&w.path(lake));
        assert_eq!(q.height(), 1, "{lake}");
        assert_eq!(strs(&q, "source_sha256"), vec![sha(bytes)], "{lake}");
        assert_eq!(strs(&q, "line"), vec!["102"], "{lake}");
    }
    // Ingested again, each is known by its hash and skipped.
    assert!(run("u", "lu").contains("unchanged (already ingested in txn 1)"));
    assert!(run("b", "lb").contains("unchanged (already ingested in txn 1)"));
}

#[test]
fn a_quarantined_row_names_the_line_it_starts_on_whatever_the_line_ends() {
    // Windows systems end lines with CRLF; a blank line and a quoted cell holding a line
    // break move later rows down. Each bad row is named by the line its first character
    // is on, read as UTF-8 (streamed) or as GB18030 (decoded whole).
    let text = "survey_id,order_id,responded_at,score\r\n\
                SV01,SO-1,2025-04-06 10:00:00,5\r\n\
                SV02,SO-1,2025-04-06 11:00:00,9\r\n\
                \r\n\
                \"问卷\r\n03\",SO-1,2025-04-06 12:00:00,4\r\n\
                SV04,SO-1,not a time,4\r\n\
                SV05,\"SO-1\",2025-04-06 13:00:00,\r\n";
    let w = Workdir::new();
    w.write("u/surveys.csv", text);
    let (gb, _, bad) = encoding_rs::GB18030.encode(text);
    assert!(!bad);
    std::fs::create_dir_all(w.path("b")).unwrap();
    std::fs::write(w.path("b/surveys.csv"), &gb).unwrap();
    for (dir, lake, enc) in [("u", "lu", "UTF-8"), ("b", "lb", "GB18030")] {
        let out = w.ok(&["ingest", dir, "--lake", lake]);
        let want = format!(
            "surveys.csv: surveys [csv, {enc}] ingested: read 5 = stored 2 + quarantined 3"
        );
        assert!(out.contains(&want), "{lake}: missing {want:?} in\n{out}");
        let q = quarantine(&w.path(lake));
        assert_eq!(strs(&q, "line"), ["3", "7", "8"], "{lake}");
        assert_eq!(strs(&q, "raw_value"), ["9", "not a time", ""], "{lake}");
        let s = table(&w.path(lake), "surveys");
        assert_eq!(strs(&s, "survey_id"), ["SV01", "问卷\r\n03"], "{lake}");
    }
}
