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

/// Runs the emitted SQL (lake views at as-of + every rendered query) in DuckDB and
/// compares its items, grouped by KPI, department, person and month, with lvyue's.
const CROSS_RUN: &str = r#"
import sys, glob, os, duckdb
sql_dir, items_path = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(open(os.path.join(sql_dir, "00_views.duckdb.sql")).read())
parts = []
for f in sorted(glob.glob(os.path.join(sql_dir, "*.sql"))):
    if f.endswith("00_views.duckdb.sql"):
        continue
    q = open(f).read()
    name = os.path.basename(f)[:-4]
    con.execute(f"CREATE OR REPLACE VIEW q_{name} AS {q}")
    parts.append(f"SELECT kpi, coalesce(department, '') AS dept, coalesce(staff_id, '') AS staff, CAST(period_year AS INTEGER) AS y, CAST(period_month AS INTEGER) AS m, CAST(num AS DOUBLE) AS num, CAST(den AS DOUBLE) AS den FROM q_{name}")
con.execute("CREATE OR REPLACE VIEW duck AS " + " UNION ALL ".join(parts))
con.execute(f"CREATE OR REPLACE VIEW lv AS SELECT kpi, coalesce(department, '') AS dept, coalesce(staff_id, '') AS staff, period_year AS y, period_month AS m, num, den FROM read_parquet('{items_path}')")
agg = "SELECT kpi, dept, staff, y, m, count(*) AS n, round(sum(num), 6) AS num, round(coalesce(sum(den), 0), 6) AS den FROM {} GROUP BY ALL"
# lvyue's items are filtered to the period's reported months; compare those months.
d = con.execute(f"SELECT * FROM ({agg.format('duck')}) WHERE (y, m) IN (SELECT DISTINCT y, m FROM lv)").fetchall()
l = con.execute(agg.format('lv')).fetchall()
d, l = sorted(d), sorted(l)
print("groups", len(l))
diff = sorted(set(d) ^ set(l))
print("mismatches", len(diff))
for x in diff[:20]:
    print("  duckdb" if x in d else "  lvyue ", x)
"#;

/// Runs a cross-check script on emitted SQL and lvyue's output; asserts it found no
/// mismatch and returns how many groups or rows it compared (its first line's number).
fn cross_run(w: &Workdir, script: &str, sql_dir: &str, output: &str) -> usize {
    let run = Command::new("python3")
        .args([
            "-c",
            script,
            w.path(sql_dir).to_str().unwrap(),
            w.path(output).to_str().unwrap(),
        ])
        .output()
        .expect("python3 is needed for the DuckDB cross-check");
    let text = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{sql_dir}: {}", stderr(&run));
    assert!(
        text.contains("mismatches 0"),
        "{sql_dir}: DuckDB and lvyue differ:\n{text}"
    );
    text.lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .expect("a count on the first line")
}

/// Writes the benchmark generator's company of `orders` orders into `dir`.
fn generate(w: &Workdir, orders: &str, dir: &str, seed: &str) {
    let gen = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/gen_exports.py");
    let out = Command::new("python3")
        .args([
            gen.to_str().unwrap(),
            orders,
            w.path(dir).to_str().unwrap(),
            seed,
        ])
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn duckdb_runs_the_same_kpi_sql_and_gets_the_same_items() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    for (period, as_of) in [
        ("2025", "2025-07-01 00:00:00"),
        ("2025-06", "2025-06-04 11:00:00"),
    ] {
        let out = format!("out-{period}");
        let sql = format!("sql-{period}");
        w.ok(&[
            "metrics",
            "--lake",
            "lake",
            "--period",
            period,
            "--as-of",
            as_of,
            "--out",
            &out,
            "--emit-sql",
            &sql,
        ]);
        let groups = cross_run(&w, CROSS_RUN, &sql, &format!("{out}/metric_items.parquet"));
        assert!(groups > 5, "{period}: only {groups} groups compared");
    }
}

#[test]
fn duckdb_agrees_on_generated_data_too() {
    // The fixtures were made to fit the rules; the benchmark generator's random company
    // was not (ties, overlapping steps, partial data), so it probes the SQL differently.
    let w = Workdir::new();
    generate(&w, "3000", "gen", "11");
    w.ok(&["ingest", "gen", "--lake", "lake"]);
    w.ok(&[
        "metrics",
        "--lake",
        "lake",
        "--period",
        "2025",
        "--as-of",
        "2025-09-15 12:00:00",
        "--out",
        "o",
        "--emit-sql",
        "sql",
    ]);
    let groups = cross_run(&w, CROSS_RUN, "sql", "o/metric_items.parquet");
    assert!(groups > 100, "only {groups} groups compared");
}

/// Runs the emitted rule SQL in DuckDB and compares its violations with lvyue's.
const RULES_CROSS_RUN: &str = r#"
import sys, glob, os, duckdb
sql_dir, violations = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(open(os.path.join(sql_dir, "00_views.duckdb.sql")).read())
parts = []
for f in sorted(glob.glob(os.path.join(sql_dir, "R*.sql"))):
    rule = os.path.basename(f).split("_")[0]
    con.execute(f"CREATE OR REPLACE VIEW v_{rule} AS {open(f).read()}")
    parts.append(f"SELECT '{rule}' AS rule_id, department, coalesce(staff_id, '') AS staff_id, order_id, coalesce(entity_id, '') AS entity_id, strftime(\"at\", '%Y-%m-%d %H:%M:%S') AS at FROM v_{rule}")
duck = set(con.execute(" UNION ALL ".join(parts)).fetchall())
lv = set(con.execute(f"SELECT rule_id, department, coalesce(staff_id, ''), order_id, coalesce(entity_id, ''), strftime(\"at\", '%Y-%m-%d %H:%M:%S') FROM read_parquet('{violations}')").fetchall())
periods = {r[0][:7] for r in con.execute(f"SELECT DISTINCT period FROM read_parquet('{violations}')").fetchall()}
duck = {d for d in duck if d[5][:7] in periods or not periods}
print("violations", len(lv))
diff = sorted(duck ^ lv)
print("mismatches", len(diff))
for x in diff[:20]:
    print("  duckdb" if x in duck else "  lvyue ", x)
"#;

#[test]
fn duckdb_runs_the_same_rule_sql_and_finds_the_same_violations() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "fx",
    ]);
    generate(&w, "2000", "gen", "5");
    w.ok(&["ingest", "gen", "--lake", "gl"]);
    for (lake, as_of, least) in [
        ("fx", "2025-07-01 00:00:00", 37),
        ("gl", "2025-09-15 12:00:00", 100),
    ] {
        let (out, sql) = (format!("a-{lake}"), format!("s-{lake}"));
        w.ok(&[
            "audit",
            "--lake",
            lake,
            "--period",
            "2025",
            "--as-of",
            as_of,
            "--out",
            &out,
            "--emit-sql",
            &sql,
        ]);
        let n = cross_run(
            &w,
            RULES_CROSS_RUN,
            &sql,
            &format!("{out}/violations.parquet"),
        );
        assert!(n >= least, "{lake}: only {n} violations compared");
    }
}
