//! Sealing: publish a month, change an input, rerun → an amendment v2 beside it with
//! the diff of every changed score and coefficient; v1 stays byte-identical.

use crate::util::*;

#[test]
fn a_sealed_month_is_amended_never_overwritten() {
    let w = Workdir::new();
    w.ok(&["run", "--out", "out"]);
    let sealed = w.ok(&["publish", "--period", "2025-05"]);
    assert!(sealed.starts_with("sealed 2025-05 v1: "), "{sealed}");
    let v1 = lake_files(&w.path("out/2025-05"));
    let has = |name: &str| v1.iter().any(|(p, _)| p == name);
    assert!(has("SEAL.json") && has("report.html"));
    assert!(std::fs::metadata(w.path("out/2025-05/bonus_feed.csv"))
        .unwrap()
        .permissions()
        .readonly());
    // Publishing again with nothing new is refused.
    let again = w.run(&["publish", "--period", "2025-05"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("already published"),
        "{}",
        stderr(&again)
    );

    // Late input: the committee waives sales' R01 violation of May (SO-2505-27).
    w.write(
        "waivers.csv",
        "rule_id,item_id,reason,approver,date\nR01,SO-2505-27,system outage that morning,监督组 张,2025-06-10\n",
    );
    let out = w.ok(&["run", "--out", "out", "--waivers", "waivers.csv"]);
    assert!(
        out.lines().any(|l| l.starts_with("2025-05 ")
            && l.contains("amendment v2 with 3 changed figures")),
        "{out}"
    );
    // v1 is untouched, byte for byte.
    assert_eq!(lake_files(&w.path("out/2025-05")), v1);
    // The diff, worked by hand from fixtures/README.md (May: sales deductions R01 0.5 +
    // R21 for R01 recurred 2 + R21 for R02 overdue 2 = 4.5). With SO-2505-27 waived, the
    // R01 violation no longer counts, and neither does the recurrence it caused: April's
    // R01 notice, answered 05-06 before its deadline, is simply rectified. Left: R21 for
    // R02, 2 points → score 100 − 2 = 98.00, coefficient still 1.20 (band ≥ 95). Rep S01
    // loses the 0.50 R01 deduction (no score either way: insufficient sample).
    let diff = std::fs::read_to_string(w.path("out/2025-05.v2/amendment.csv")).unwrap();
    assert_eq!(
        diff,
        "amends_version,scope,staff_or_department,department,field,before,after\n\
         1,department,sales,sales,score,95.50,98.00\n\
         1,department,sales,sales,deductions,4.50,2.00\n\
         1,staff,S01,sales,deductions,0.50,0.00\n"
    );
    let feed = std::fs::read_to_string(w.path("out/2025-05.v2/bonus_feed.csv")).unwrap();
    assert!(
        feed.lines()
            .any(|l| l.starts_with("2025-05,department,,sales,98.00,1.20,")
                && l.contains(",v2 as-of ")),
        "{feed}"
    );
    let report = std::fs::read_to_string(w.path("out/2025-05.v2/report.html")).unwrap();
    assert!(report.contains("<table data-table=\"amendment\">"));
    assert!(report.contains("<td class=\"n\">95.50</td><td class=\"n\">98.00</td>"));
    // Unsealed periods are simply rewritten: no amendment for April.
    assert!(!w.path("out/2025-04.v2").exists());

    // Publish v2; the same inputs again change nothing → no v3.
    let sealed = w.ok(&["publish", "--period", "2025-05"]);
    assert!(sealed.starts_with("sealed 2025-05 v2: "), "{sealed}");
    let out = w.ok(&["run", "--out", "out", "--waivers", "waivers.csv"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("2025-05 ") && l.contains("unchanged against sealed v2")),
        "{out}"
    );
    assert!(!w.path("out/2025-05.v3").exists());
    let check = w.ok(&["publish", "--period", "2025-05", "--check"]);
    assert_eq!(check, "2025-05: 2 sealed version(s) match their seals\n");

    // Tampering with a sealed file stops both the check and the next run.
    let feed_path = w.path("out/2025-05/bonus_feed.csv");
    let mut perm = std::fs::metadata(&feed_path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perm.set_readonly(false);
    std::fs::set_permissions(&feed_path, perm).unwrap();
    std::fs::write(&feed_path, "period,score\n2025-05,100\n").unwrap();
    for args in [
        vec!["publish", "--period", "2025-05", "--check"],
        vec!["run", "--out", "out"],
    ] {
        let o = w.run(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(
            stderr(&o).contains("bonus_feed.csv: does not match the SHA-256 sealed in v1"),
            "{}",
            stderr(&o)
        );
    }
}
