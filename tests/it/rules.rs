//! Rules stage: the violation set per rule on the fixtures equals fixtures/README.md;
//! every rule file has its fixture case; the catalogue commands; --fail-on.

use std::collections::BTreeMap;

use crate::util::*;

/// Per rule: the violations the case book plants, as (order, entity, staff, period).
fn expected(
) -> BTreeMap<&'static str, Vec<(&'static str, &'static str, &'static str, &'static str)>> {
    BTreeMap::from([
        // R21 needs notices issued by an earlier audit: one run issues them, so none is
        // overdue or recurred yet. `notices_move_through_their_states…` is its case.
        ("R21", vec![]),
        (
            "R01",
            vec![
                ("SO-2504-02", "", "S02", "2025-04"),
                ("SO-2505-27", "", "S01", "2025-05"),
            ],
        ),
        ("R02", vec![("SO-2504-04", "", "S01", "2025-04")]),
        ("R03", vec![("SO-2504-05", "", "", "2025-04")]),
        (
            "R04",
            vec![
                ("SO-2504-07", "E-2504-07-04", "S01", "2025-04"),
                ("SO-2505-04", "E-2505-04-04", "S03", "2025-05"),
            ],
        ),
        ("R05", vec![("SO-2504-08", "SH-2504-08-1", "", "2025-04")]),
        (
            "R06",
            vec![
                ("SO-2504-10", "SH-2504-10-1", "", "2025-04"),
                ("SO-2505-07", "SH-2505-07-1", "", "2025-05"),
            ],
        ),
        (
            "R07",
            vec![
                ("SO-2504-12", "E-2504-12-08", "W02", "2025-04"),
                ("SO-2504-14", "E-2504-14-08", "W02", "2025-04"),
            ],
        ),
        ("R08", vec![("SO-2504-15", "", "", "2025-04")]),
        ("R09", vec![("SO-2504-17", "PO-2504-17", "P01", "2025-04")]),
        (
            "R10",
            vec![
                ("SO-2504-19", "PO-2504-19", "", "2025-04"),
                ("SO-2504-21", "PO-2504-21", "", "2025-04"),
            ],
        ),
        ("R11", vec![("SO-2504-22", "JOB-2504-22", "Q01", "2025-04")]),
        (
            "R12",
            vec![
                ("SO-2505-02", "SH-2505-02-1", "", "2025-05"),
                ("SO-2505-03", "SH-2505-03-1", "", "2025-05"),
            ],
        ),
        (
            "R13",
            vec![
                ("SO-2505-05", "SH-2505-05-1", "L02", "2025-05"),
                ("SO-2505-07", "SH-2505-07-1", "L02", "2025-05"),
                ("SO-2505-08", "SH-2505-08-1", "L01", "2025-05"),
            ],
        ),
        (
            "R14",
            vec![
                ("SO-2505-10", "SH-2505-10-1", "L01", "2025-05"),
                ("SO-2505-11", "SH-2505-11-1", "L02", "2025-05"),
                ("SO-2505-12", "SH-2505-12-1", "", "2025-05"),
            ],
        ),
        (
            "R15",
            vec![
                ("SO-2505-14", "E-2505-14-15", "", "2025-05"),
                ("SO-2505-16", "E-2505-16-15", "", "2025-05"),
            ],
        ),
        (
            "R16",
            vec![
                ("SO-2505-17", "", "", "2025-05"),
                ("SO-2506-02", "", "", "2025-06"),
            ],
        ),
        (
            "R17",
            vec![
                ("SO-2505-19", "SH-2505-19-1", "L02", "2025-05"),
                ("SO-2505-21", "SH-2505-21-1", "L02", "2025-05"),
            ],
        ),
        (
            "R18",
            vec![
                ("SO-2505-23", "CS-02", "C02", "2025-05"),
                ("SO-2505-24", "CS-03", "C01", "2025-05"),
                ("SO-2506-12", "CS-08", "C02", "2025-06"),
            ],
        ),
        (
            "R19",
            vec![
                ("SO-2505-26", "CS-05", "C01", "2025-05"),
                ("SO-2506-12", "CS-08", "C02", "2025-06"),
            ],
        ),
        (
            "R20",
            vec![
                ("SO-2505-27", "CS-06", "", "2025-05"),
                ("SO-2505-22", "CS-07", "", "2025-06"),
            ],
        ),
    ])
}

#[test]
fn the_fixture_violations_are_exactly_the_planted_ones() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    let out = w.ok(&[
        "audit",
        "--lake",
        "lake",
        "--period",
        "2025",
        "--as-of",
        "2025-07-01 00:00:00",
        "--out",
        "a",
    ]);
    assert!(out.contains("violations"), "{out}");
    let text = std::fs::read_to_string(w.path("a/violations.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next().unwrap(), "rule_id,clause,severity,department,staff_id,order_id,entity_id,at,period,evidence,notice_id,waived,waiver_reason");
    let mut got: BTreeMap<String, Vec<(String, String, String, String)>> = BTreeMap::new();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    for rec in rdr.records() {
        let r = rec.unwrap();
        got.entry(r[0].to_string()).or_default().push((
            r[5].to_string(),
            r[6].to_string(),
            r[4].to_string(),
            r[8].to_string(),
        ));
        // notice id from period, department and rule.
        assert_eq!(&r[10], format!("N-{}-{}-{}", &r[8], &r[3], &r[0]).as_str());
    }
    for (rule, want) in expected() {
        let mut want: Vec<(String, String, String, String)> = want
            .into_iter()
            .map(|(o, e, s, p)| (o.to_string(), e.to_string(), s.to_string(), p.to_string()))
            .collect();
        want.sort();
        let mut have = got.remove(rule).unwrap_or_default();
        have.sort();
        assert_eq!(have, want, "{rule}");
    }
    assert!(got.is_empty(), "unexpected violations: {got:?}");
    // Evidence is readable, and R01's boundary case (entered at exactly 24 h) passes.
    assert!(
        text.contains("\"entered 2025-04-03 11:00:00, deadline 2025-04-03 10:00:00\""),
        "{text}"
    );
    let rates = std::fs::read_to_string(w.path("a/rule_pass_rates.csv")).unwrap();
    assert!(rates.contains("2025-04,R01,sales,30,29,"), "{rates}");
    assert!(rates.contains("2025-04,R04,cs,28,27,"), "{rates}");
}

#[test]
fn every_rule_file_is_in_the_catalogue_and_has_a_fixture_case() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/rules");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".sql"))
        .collect();
    on_disk.sort();
    let compiled: Vec<String> = lvyue::rules::catalogue()
        .iter()
        .map(|q| q.file.trim_start_matches("rules/").to_string())
        .collect();
    assert_eq!(
        on_disk, compiled,
        "queries/rules/*.sql and the compiled catalogue differ"
    );
    let cases = expected();
    for q in lvyue::rules::catalogue() {
        assert!(
            cases.contains_key(q.get("id")),
            "{} has no fixture case in tests/it/rules.rs",
            q.get("id")
        );
    }
}

#[test]
fn catalogue_commands_and_fail_on() {
    let w = Workdir::new();
    let out = w.ok(&["rules", "list"]);
    assert!(
        out.contains("R04  C2.2.1           cs         major    四眼原則"),
        "{out}"
    );
    let out = w.ok(&["rules", "list", "--lang", "en"]);
    assert!(
        out.contains("R01  C2.1.1           sales      minor    Order entered"),
        "{out}"
    );
    let out = w.ok(&["rules", "show", "r05"]);
    assert!(
        out.starts_with("-- queries/rules/R05_confirm_before_ship.sql\n-- id: R05"),
        "{out}"
    );
    let out = w.run(&["rules", "show", "R99"]);
    assert_eq!(out.status.code(), Some(2));
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    // April has a critical violation (R11, JOB-2504-22): --fail-on critical exits 1.
    let out = w.run(&[
        "audit",
        "--lake",
        "lake",
        "--period",
        "2025-04",
        "--out",
        "a",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // May has major and minor ones but no critical: --fail-on critical exits 0, major 1.
    let out = w.run(&[
        "audit",
        "--lake",
        "lake",
        "--period",
        "2025-05",
        "--out",
        "b",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = w.run(&[
        "audit",
        "--lake",
        "lake",
        "--period",
        "2025-05",
        "--out",
        "c",
        "--fail-on",
        "major",
    ]);
    assert_eq!(out.status.code(), Some(1));
    // Without --fail-on an audit that ran exits 0 whatever it found.
    let out = w.run(&[
        "audit", "--lake", "lake", "--period", "2025-05", "--out", "d",
    ]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_waived_violation_stays_marked_and_counts_for_no_one() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    w.write(
        "waivers.csv",
        "rule_id,item_id,reason,approver,date\nR11,JOB-2504-22,QC report filed late; goods were inspected,监督组 张,2025-05-08\n",
    );
    let out = w.run(&[
        "audit",
        "--lake",
        "lake",
        "--period",
        "2025-04",
        "--out",
        "a",
        "--waivers",
        "waivers.csv",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "the only critical violation is waived: {}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(w.path("a/violations.csv")).unwrap();
    let r11: Vec<&str> = text.lines().filter(|l| l.starts_with("R11,")).collect();
    assert_eq!(r11.len(), 1);
    assert!(
        r11[0].ends_with(
            ",true,\"QC report filed late; goods were inspected (监督组 张, 2025-05-08)\""
        ),
        "{}",
        r11[0]
    );
    assert!(
        text.lines()
            .filter(|l| l.starts_with("R01,"))
            .all(|l| l.contains(",false,")),
        "{text}"
    );
    w.write(
        "bad.csv",
        "rule_id,item_id,reason,approver,date\nR99,X,r,a,2025-05-01\n",
    );
    let out = w.run(&[
        "audit",
        "--lake",
        "lake",
        "--period",
        "2025-04",
        "--out",
        "b",
        "--waivers",
        "bad.csv",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.csv: line 2: no rule \"R99\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_violation_names_only_a_member_of_its_department() {
    let w = Workdir::new();
    w.write(
        "e/staff.csv",
        "staff_id,department\nL1,logistics\nW1,warehouse\n",
    );
    w.write(
        "e/orders.csv",
        "order_id,signed_at,customer_id,sales_rep_id,promised_date,amount\nO1,2025-05-10 09:00,C1,S1,2025-05-20,10\n",
    );
    w.write(
        "e/shipments.csv",
        "shipment_id,order_id,carrier,tracking_no,shipped_at,handled_by\n\
         SH1,O1,X,,2025-05-11 10:00,W1\n\
         SH2,O1,X,,2025-05-11 11:00,L1\n",
    );
    w.ok(&["ingest", "e", "--lake", "lake"]);
    w.ok(&[
        "audit", "--lake", "lake", "--period", "2025-05", "--out", "a",
    ]);
    let text = std::fs::read_to_string(w.path("a/violations.csv")).unwrap();
    let r14: Vec<(String, String)> = csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .filter(|r| &r[0] == "R14" && r[9].contains("no tracking number"))
        .map(|r| (r[6].to_string(), r[4].to_string()))
        .collect();
    // W1 shipped SH1 but is in the warehouse, not logistics: the row names no one.
    assert_eq!(
        r14,
        [
            ("SH1".to_string(), String::new()),
            ("SH2".to_string(), "L1".to_string())
        ]
    );
}

#[test]
fn notices_move_through_their_states_and_the_ledger_only_grows() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    // April, audited at the end of April: eleven notices issued 2025-05-01, all open.
    w.ok(&[
        "audit", "--lake", "lake", "--period", "2025-04", "--out", "apr",
    ]);
    let ledger1 = std::fs::read(w.path("lake/_notices/ledger-000001.jsonl")).unwrap();
    let apr = std::fs::read_to_string(w.path("apr/notices.csv")).unwrap();
    assert_eq!(apr.lines().count() - 1, 11, "{apr}");
    assert!(apr.lines().skip(1).all(|l| l.contains(",open,")), "{apr}");
    assert!(apr.contains("N-2025-04-warehouse-R07,1,warehouse,R07,2025-04,major,2025-05-01 00:00:00,2025-05-08 00:00:00,2,open,"), "{apr}");
    // R21's boundary: cs answers its R03 notice exactly at the deadline — rectified.
    w.write(
        "answers/rectification_responses.csv",
        "notice_id,rectified_at,responder_id\nN-2025-04-cs-R03,2025-05-08 00:00:00,C01\n",
    );
    w.ok(&["ingest", "answers", "--lake", "lake"]);
    // May: the sales notice was answered on 05-06 (before its deadline 05-16) and R01 was
    // broken again on 05-13 → recurred; the warehouse R07 notice was answered on 05-20,
    // after its deadline 05-08 → overdue; the rest were never answered → overdue.
    w.ok(&[
        "audit", "--lake", "lake", "--period", "2025-05", "--out", "may",
    ]);
    let may = std::fs::read_to_string(w.path("may/notices.csv")).unwrap();
    let status = |id: &str| {
        may.lines()
            .find(|l| l.starts_with(id))
            .map(|l| l.split(',').nth(9).unwrap().to_string())
    };
    assert_eq!(status("N-2025-04-sales-R01").as_deref(), Some("recurred"));
    assert_eq!(
        status("N-2025-04-warehouse-R07").as_deref(),
        Some("overdue")
    );
    assert_eq!(status("N-2025-04-qc-R11").as_deref(), Some("overdue"));
    assert_eq!(status("N-2025-04-cs-R03").as_deref(), Some("rectified"));
    assert_eq!(status("N-2025-05-sales-R01").as_deref(), Some("open"));
    let v = std::fs::read_to_string(w.path("may/violations.csv")).unwrap();
    let r21: Vec<&str> = v.lines().filter(|l| l.starts_with("R21,")).collect();
    assert_eq!(
        r21.len(),
        10,
        "nine overdue April notices and one recurrence: {r21:?}"
    );
    assert!(
        r21.iter()
            .any(|l| l.contains(",N-2025-04-sales-R01,2025-05-13 10:00:00,2025-05,")),
        "{r21:?}"
    );
    // April's versions are untouched; May only added its own.
    assert_eq!(
        std::fs::read(w.path("lake/_notices/ledger-000001.jsonl")).unwrap(),
        ledger1
    );
    let ledger2 = std::fs::read_to_string(w.path("lake/_notices/ledger-000002.jsonl")).unwrap();
    assert!(
        ledger2
            .lines()
            .all(|l| l.contains("\"period\":\"2025-05\"")),
        "{ledger2}"
    );
    // Auditing May again changes nothing.
    w.ok(&[
        "audit", "--lake", "lake", "--period", "2025-05", "--out", "may2",
    ]);
    assert!(!w.path("lake/_notices/ledger-000003.jsonl").exists());
    // A late export adds an April R01 violation: a rerun of April records version 2 of
    // the sales notice beside version 1, never over it.
    w.write(
        "late/orders.csv",
        "order_id,signed_at,entered_at,customer_id,customer_name,customer_contact,delivery_place,sales_rep_id,promised_date,amount\nSO-2504-99,2025-04-28 10:00,2025-04-30 10:00,C-009,周梅,135-0000-0009,南京市1号,S01,2025-05-05,59\n",
    );
    w.ok(&["ingest", "late", "--lake", "lake"]);
    w.ok(&[
        "audit", "--lake", "lake", "--period", "2025-04", "--out", "apr2",
    ]);
    let ledger3 = std::fs::read_to_string(w.path("lake/_notices/ledger-000003.jsonl")).unwrap();
    assert_eq!(ledger3.lines().count(), 1, "{ledger3}");
    assert!(
        ledger3.contains("\"notice_id\":\"N-2025-04-sales-R01\",\"version\":2"),
        "{ledger3}"
    );
    assert!(
        ledger3.contains("\"issued_at\":\"2025-05-01 00:00:00\""),
        "the issue date stays: {ledger3}"
    );
    assert_eq!(
        std::fs::read(w.path("lake/_notices/ledger-000001.jsonl")).unwrap(),
        ledger1
    );
}

#[test]
fn a_rule_whose_column_no_export_has_is_skipped_and_listed() {
    let w = Workdir::new();
    w.write(
        "e/orders.csv",
        "order_id,signed_at,entered_at,customer_id,customer_name,customer_contact,delivery_place,sales_rep_id,promised_date,amount\n\
         O1,2025-05-10 09:00,2025-05-10 10:00,C1,张,1,上海,S1,2025-05-20,10\n",
    );
    w.write(
        "e/order_lines.csv",
        "order_id,line_no,sku,product_name,spec,quantity\nO1,1,A,杯,大,2\n",
    );
    w.write(
        "e/shipments.csv",
        "shipment_id,order_id,carrier,tracking_no,shipped_at\nSH1,O1,X,T1,2025-05-11 10:00\n",
    );
    // No label columns at all: R12 cannot be judged, rather than failing every line.
    w.write(
        "e/shipment_lines.csv",
        "shipment_id,sku,quantity\nSH1,A,2\n",
    );
    w.ok(&["ingest", "e", "--lake", "lake"]);
    let out = w.ok(&[
        "audit", "--lake", "lake", "--period", "2025-05", "--out", "a",
    ]);
    assert!(out.contains("skipped R12: the exports have no shipment_lines.label_order_id, shipment_lines.label_product_name, shipment_lines.label_spec, shipment_lines.label_quantity"), "{out}");
    // Without delivered_at, R08, R16 and R17 are skipped too.
    assert!(out.contains("skipped R17: the exports have no shipments.delivered_at, shipments.acceptance_signed_at"), "{out}");
    let v = std::fs::read_to_string(w.path("a/violations.csv")).unwrap();
    assert!(
        !v.lines()
            .any(|l| l.starts_with("R12,") || l.starts_with("R17,")),
        "{v}"
    );
    let meta = std::fs::read_to_string(w.path("a/audit.json")).unwrap();
    assert!(meta.contains("\"rule\": \"R12\""), "{meta}");
    // R06 still runs: no export of production jobs at all is not a missing column.
    assert!(v.lines().any(|l| l.starts_with("R06,")), "{v}");
}
