//! The main job: `lvyue run` on the bundled company, twice.

use crate::util::*;

#[test]
fn the_main_job_runs_every_month_then_the_year_and_reruns_as_a_no_op() {
    let w = Workdir::new();
    let out = w.ok(&["run", "--out", "out"]);
    // Months in order, each at its own end, then the year at the end of June.
    let lines: Vec<&str> = out.lines().filter(|l| l.contains(" as of ")).collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("2025-04  as of 2025-05-01 00:00:00"),
        "{out}"
    );
    assert!(
        lines[3].starts_with("2025     as of 2025-07-01 00:00:00"),
        "{out}"
    );
    for p in ["2025-04", "2025-05", "2025-06", "2025"] {
        for f in [
            "metrics.csv",
            "violations.csv",
            "rule_pass_rates.csv",
            "notices.csv",
        ] {
            assert!(w.path(&format!("out/{p}/{f}")).exists(), "{p}/{f}");
        }
    }
    // The monthly cycle lets May's audit re-check April's notices: the recurrence of R01.
    let may = std::fs::read_to_string(w.path("out/2025-05/notices.csv")).unwrap();
    assert!(
        may.lines()
            .any(|l| l.starts_with("N-2025-04-sales-R01,1,") && l.contains(",recurred,")),
        "{may}"
    );
    // The same figures as a metrics run of its own (README's K1 for June: 24 / 25).
    let june = std::fs::read_to_string(w.path("out/2025-06/metrics.csv")).unwrap();
    assert!(
        june.lines()
            .any(|l| l.starts_with("2025-06,company,all,K1,24,25,")),
        "{june}"
    );
    let ledger = |w: &Workdir| std::fs::read_dir(w.path("lake/_notices")).unwrap().count();
    let before = ledger(&w);
    let again = w.ok(&["run", "--out", "out"]);
    assert!(
        again.contains("unchanged (already ingested in txn 1)"),
        "{again}"
    );
    assert_eq!(ledger(&w), before, "a rerun issues no new notice versions");
}

#[test]
fn may_scorecards_equal_the_hand_worked_values() {
    let w = Workdir::new();
    w.ok(&["run", "--out", "out"]);
    let text = std::fs::read_to_string(w.path("out/2025-05/scorecards.csv")).unwrap();
    let dept = |d: &str| -> Vec<String> {
        text.lines()
            .find(|l| l.starts_with(&format!("2025-05,department,,{d},")))
            .unwrap_or_else(|| panic!("no {d} row in\n{text}"))
            .split(',')
            .take(8)
            .map(str::to_string)
            .collect()
    };
    // fixtures/README.md, "Assessment, May 2025": score, coefficient, base, deductions.
    let want = [
        ("sales", "95.50", "1.20", "100.00", "4.50"),
        ("cs", "86.00", "1.00", "100.00", "14.00"),
        ("warehouse", "89.00", "1.00", "100.00", "11.00"),
        ("logistics", "86.62", "1.00", "98.62", "12.00"),
        ("purchasing", "", "", "", "2.00"),
        ("qc", "", "", "", "2.00"),
        ("production", "", "", "", "0.00"),
        ("finance", "100.00", "1.20", "100.00", "0.00"),
    ];
    for (d, score, coef, base, ded) in want {
        let row = dept(d);
        assert_eq!(
            (&row[4][..], &row[5][..], &row[6][..], &row[7][..]),
            (score, coef, base, ded),
            "{d}"
        );
    }
    // The HR feed: the same rows, UTF-8 with a BOM, no customer data.
    let feed = std::fs::read(w.path("out/2025-05/bonus_feed.csv")).unwrap();
    assert!(
        feed.starts_with("\u{FEFF}period,scope,staff_id,department,score,coefficient".as_bytes())
    );
    let feed = String::from_utf8(feed).unwrap();
    for customer in ["张伟", "138-0000-0001", "浦东新区"] {
        assert!(
            !feed.contains(customer),
            "customer data in the bonus feed: {customer}"
        );
    }
}

/// The cells of an XLSX sheet as text (numbers with two decimals).
fn sheet(path: &std::path::Path, name: &str) -> Vec<Vec<String>> {
    use calamine::{open_workbook_auto, Data, Reader};
    let mut wb = open_workbook_auto(path).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::Float(f) => format!("{f:.2}"),
                    Data::Int(i) => format!("{i}.00"),
                    Data::Empty => String::new(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_xlsx_files_read_back_to_the_csv_values() {
    let w = Workdir::new();
    w.ok(&["run", "--out", "out"]);
    let csv_text = std::fs::read_to_string(w.path("out/2025-05/bonus_feed.csv")).unwrap();
    let csv_rows: Vec<Vec<String>> =
        csv::Reader::from_reader(csv_text.trim_start_matches('\u{FEFF}').as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_string).collect())
            .collect();
    let xlsx = sheet(&w.path("out/2025-05/bonus_feed.xlsx"), "bonus_feed");
    assert_eq!(xlsx[0][..4], ["period", "scope", "staff_id", "department"]);
    assert_eq!(xlsx.len() - 1, csv_rows.len());
    for (x, c) in xlsx[1..].iter().zip(&csv_rows) {
        // Same cells; the XLSX keeps numbers as numbers (two decimals here).
        assert_eq!(x, c, "bonus feed row");
    }
    // The register: a sheet per department, as many rows as violations.csv.
    let v = std::fs::read_to_string(w.path("out/2025-05/violations.csv")).unwrap();
    let total = v.lines().count() - 1;
    let mut seen = 0;
    for d in ["cs", "logistics", "purchasing", "qc", "sales", "warehouse"] {
        let rows = sheet(&w.path("out/2025-05/violations.xlsx"), d);
        assert_eq!(rows[0][0], "rule_id");
        seen += rows.len() - 1;
    }
    assert_eq!(seen, total);
    let sales = sheet(&w.path("out/2025-05/violations.xlsx"), "sales");
    assert!(
        sales
            .iter()
            .any(|r| r[0] == "R01" && r[3] == "SO-2505-27" && r[5] == "S01"),
        "{sales:?}"
    );
}

#[test]
fn formula_like_values_stay_text() {
    let w = Workdir::new();
    w.write(
        "e/staff.csv",
        "staff_id,department\n=HYPERLINK(\"http://x\"),sales\n",
    );
    w.write(
        "e/orders.csv",
        "order_id,signed_at,customer_id,sales_rep_id,promised_date,amount\nO1,2025-05-10 09:00,C1,\"=HYPERLINK(\"\"http://x\"\")\",2025-05-20,10\n",
    );
    w.ok(&["run", "e", "--out", "out"]);
    let feed = std::fs::read_to_string(w.path("out/2025-05/bonus_feed.csv")).unwrap();
    assert!(feed.contains("'=HYPERLINK"), "{feed}");
    assert!(
        !feed
            .lines()
            .any(|l| l.split(',').any(|c| c.starts_with('='))),
        "{feed}"
    );
    let xlsx = sheet(&w.path("out/2025-05/bonus_feed.xlsx"), "bonus_feed");
    assert!(
        xlsx.iter().any(|r| r[2] == "=HYPERLINK(\"http://x\")"),
        "{xlsx:?}"
    );
}

#[test]
fn no_customer_data_reaches_the_outputs() {
    let w = Workdir::new();
    w.ok(&["run", "--out", "out"]);
    // Every customer name, contact and delivery place of the fixtures.
    let orders = std::fs::read_to_string(fixtures().join("exports/orders.csv")).unwrap();
    let mut personal: Vec<String> = Vec::new();
    for rec in csv::Reader::from_reader(orders.as_bytes()).records() {
        let r = rec.unwrap();
        for i in [4, 5, 8] {
            if !r[i].is_empty() {
                personal.push(r[i].to_string());
            }
        }
    }
    personal.sort();
    personal.dedup();
    assert!(personal.len() >= 10, "{personal:?}");
    fn walk(d: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out)
            } else {
                out.push(p)
            }
        }
    }
    let mut files = Vec::new();
    walk(&w.path("out"), &mut files);
    assert!(files.len() > 20, "{files:?}");
    for f in files {
        let bytes = std::fs::read(&f).unwrap();
        for p in &personal {
            let found = bytes.windows(p.len()).any(|x| x == p.as_bytes());
            assert!(!found, "{} contains customer data {p:?}", f.display());
        }
    }
}
