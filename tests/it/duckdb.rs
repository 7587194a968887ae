//! Cross-check: DuckDB (Python package) reads the lake as lvyue wrote it, with hive
//! partitioning and no session settings, and sees the same values and months.

use std::process::Command;

use crate::util::*;

const SCRIPT: &str = r#"
import sys, duckdb
lake = sys.argv[1]
q = f"""
select order_id, strftime(signed_at, '%Y-%m-%d %H:%M:%S') as signed_at,
       coalesce(strftime(entered_at, '%Y-%m-%d %H:%M:%S'), '') as entered_at,
       strftime(promised_date, '%Y-%m-%d') as promised_date,
       cast(amount as varchar) as amount, needs_production, status, year, month
from read_parquet('{lake}/orders/**/*.parquet', hive_partitioning=true)
order by order_id
"""
for r in duckdb.sql(q).fetchall():
    print("|".join(str(x) for x in r))
bad = duckdb.sql(f"""
select count(*) from read_parquet('{lake}/order_events/**/*.parquet', hive_partitioning=true)
where cast(year as bigint) <> year(occurred_at) or cast(month as bigint) <> month(occurred_at)
""").fetchall()[0][0]
print("misfiled events", bad)
print("types", duckdb.sql(f"""select typeof(signed_at), typeof(amount), typeof(promised_date), typeof(needs_production)
from read_parquet('{lake}/orders/**/*.parquet', hive_partitioning=true) limit 1""").fetchall()[0])
"#;

#[test]
fn duckdb_reads_the_same_values_and_months() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports-messy").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    let out = Command::new("python3")
        .args(["-c", SCRIPT, w.path("lake").to_str().unwrap()])
        .output()
        .expect("python3 is needed for the DuckDB cross-check");
    assert!(
        out.status.success(),
        "DuckDB cross-check failed (is the duckdb Python package installed? .ci/run installs it): {}",
        stderr(&out)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let orders = table(&w.path("lake"), "orders");
    let ts = |v: &String| v.trim_end_matches(".000000").to_string();
    let mut expected = Vec::new();
    for i in 0..orders.height() {
        let signed = ts(&strs(&orders, "signed_at")[i]);
        expected.push(format!(
            "{}|{}|{}|{}|{}|{}|{}|{}|{}",
            strs(&orders, "order_id")[i],
            signed,
            ts(&strs(&orders, "entered_at")[i]),
            strs(&orders, "promised_date")[i],
            strs(&orders, "amount")[i],
            if strs(&orders, "needs_production")[i] == "true" {
                "True"
            } else {
                "False"
            },
            strs(&orders, "status")[i],
            &signed[..4],
            signed[5..7].trim_start_matches('0'),
        ));
    }
    assert_eq!(lines[..orders.height()].to_vec(), expected);
    assert_eq!(lines[orders.height()], "misfiled events 0");
    assert_eq!(
        lines[orders.height() + 1],
        "types ('TIMESTAMP', 'DECIMAL(18,2)', 'DATE', 'BOOLEAN')"
    );
    // A spot check against the case book: SO-2504-24 was cancelled.
    assert!(lines.iter().any(|l| l.starts_with("SO-2504-24|2025-04-21 10:00:00|2025-04-21 12:00:00|2025-04-27|118.00|False|cancelled|2025|4")), "{text}");
}
