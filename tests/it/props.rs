//! Property tests on generated companies: every rate's numerator lies between 0 and its
//! denominator, the months add up to the year, and neither the order of rows nor how
//! they are split into files changes any figure.

use std::collections::BTreeMap;
use std::fmt::Write;

use proptest::prelude::*;

use crate::util::*;

/// One generated order: signing minute (from 2025-04-01 00:00), optional step offsets in
/// hours, whether it ships and is delivered, cancelled, surveyed.
#[derive(Debug, Clone)]
struct GenOrder {
    signed_min: u32,
    entered_h: Option<u32>,
    submitted_h: Option<u32>,
    confirmed_h: Option<u32>,
    decided_h: Option<u32>,
    short: bool,
    delivered_h: Option<u32>,
    qty: u32,
    shipped_qty: u32,
    promise_days: u32,
    cancelled: bool,
    survey: Option<u32>,
    count_diff: i32,
}

fn order() -> impl Strategy<Value = GenOrder> {
    (
        (
            0u32..85 * 24 * 60,
            proptest::option::of(0u32..40),
            proptest::option::of(0u32..40),
            proptest::option::of(0u32..60),
        ),
        (
            proptest::option::of(0u32..90),
            any::<bool>(),
            proptest::option::of(10u32..400),
            1u32..4,
            0u32..5,
        ),
        (
            1u32..15,
            prop::bool::weighted(0.1),
            proptest::option::of(1u32..=5),
            -2i32..=2,
        ),
    )
        .prop_map(
            |(
                (signed_min, entered_h, submitted_h, confirmed_h),
                (decided_h, short, delivered_h, qty, shipped_qty),
                (promise_days, cancelled, survey, count_diff),
            )| GenOrder {
                signed_min,
                entered_h,
                submitted_h,
                confirmed_h,
                decided_h,
                short,
                delivered_h,
                qty,
                shipped_qty,
                promise_days,
                cancelled,
                survey,
                count_diff,
            },
        )
}

fn ts(base_min: u32, plus_h: u32) -> String {
    let t = chrono::NaiveDate::from_ymd_opt(2025, 4, 1)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        + chrono::Duration::minutes(base_min as i64)
        + chrono::Duration::hours(plus_h as i64);
    t.format("%Y-%m-%d %H:%M:%S").to_string()
}

/// The exports of a generated company, one CSV text per table (header + rows).
fn exports(orders: &[GenOrder]) -> BTreeMap<&'static str, (String, Vec<String>)> {
    let mut t: BTreeMap<&'static str, (String, Vec<String>)> = BTreeMap::new();
    let mut add = |table: &'static str, header: &str, row: String| {
        t.entry(table)
            .or_insert_with(|| (header.to_string(), Vec::new()))
            .1
            .push(row);
    };
    add("staff", "staff_id,department", "S1,sales".into());
    add("staff", "staff_id,department", "C1,cs".into());
    add("staff", "staff_id,department", "W1,warehouse".into());
    for (i, o) in orders.iter().enumerate() {
        let id = format!("G{i:03}");
        let s = o.signed_min;
        let promised = {
            let d = chrono::NaiveDate::from_ymd_opt(2025, 4, 1).unwrap()
                + chrono::Duration::minutes(s as i64)
                + chrono::Duration::days(o.promise_days as i64);
            d.format("%Y-%m-%d").to_string()
        };
        let (status, cancelled_at) = if o.cancelled {
            ("cancelled", ts(s, 1))
        } else {
            ("active", String::new())
        };
        add(
            "orders",
            "order_id,signed_at,entered_at,customer_id,sales_rep_id,promised_date,amount,status,cancelled_at",
            format!("{id},{},{},C{i},S1,{promised},{}.50,{status},{cancelled_at}", ts(s, 0), o.entered_h.map(|h| ts(s, h)).unwrap_or_default(), 10 + i),
        );
        add(
            "order_lines",
            "order_id,line_no,sku,product_name,quantity",
            format!("{id},1,SKU-A,A,{}", o.qty),
        );
        let mut e = 0;
        let mut ev = |act: &str, h: Option<u32>, actor: &str, sku: &str| {
            if let Some(h) = h {
                e += 1;
                add(
                    "order_events",
                    "event_id,order_id,activity,occurred_at,actor_id,sku",
                    format!("{id}-E{e},{id},{act},{},{actor},{sku}", ts(s, h)),
                );
            }
        };
        ev("submitted_to_cs", o.submitted_h, "S1", "");
        ev("customer_confirmed", o.confirmed_h, "C1", "");
        ev(
            if o.short {
                "stock_short"
            } else {
                "stock_locked"
            },
            o.decided_h,
            "W1",
            "SKU-A",
        );
        if let Some(d) = o.delivered_h {
            add(
                "shipments",
                "shipment_id,order_id,carrier,shipped_at,delivered_at",
                format!("{id}-S,{id},X,{},{}", ts(s, d.saturating_sub(5)), ts(s, d)),
            );
            add(
                "shipment_lines",
                "shipment_id,sku,quantity",
                format!("{id}-S,SKU-A,{}", o.shipped_qty),
            );
        }
        if let Some(score) = o.survey {
            add(
                "surveys",
                "survey_id,order_id,responded_at,score",
                format!("{id}-V,{id},{},{score}", ts(s, 100)),
            );
        }
        add(
            "inventory_counts",
            "count_id,counted_at,warehouse,sku,system_quantity,counted_quantity,unit_cost,counter_id",
            format!("{id}-C,{},WH,SKU-A,50,{},2.00,W1", ts(s, 3), 50 + o.count_diff),
        );
    }
    t
}

/// Writes the exports into `dir`; with `split`, each table's rows go reversed into two
/// files whose names sort the other way round.
fn write_exports(
    w: &Workdir,
    dir: &str,
    t: &BTreeMap<&'static str, (String, Vec<String>)>,
    split: bool,
) {
    for (table, (header, rows)) in t {
        if split {
            let mut rows = rows.clone();
            rows.reverse();
            let (a, b) = rows.split_at(rows.len() / 2);
            for (name, part) in [("b", a), ("a", b)] {
                let mut text = format!("{header}\n");
                for r in part {
                    writeln!(text, "{r}").unwrap();
                }
                w.write(&format!("{dir}/{name}_{table}.csv"), &text);
            }
        } else {
            let mut text = format!("{header}\n");
            for r in rows {
                writeln!(text, "{r}").unwrap();
            }
            w.write(&format!("{dir}/{table}.csv"), &text);
        }
    }
}

fn metrics_csv(w: &Workdir, exports_dir: &str, tag: &str) -> String {
    let lake = format!("lake-{tag}");
    w.ok(&["ingest", exports_dir, "--lake", &lake]);
    let out = format!("out-{tag}");
    w.ok(&[
        "metrics",
        "--lake",
        &lake,
        "--period",
        "2025",
        "--as-of",
        "2025-07-01 00:00:00",
        "--out",
        &out,
    ]);
    std::fs::read_to_string(w.path(&format!("{out}/metrics.csv"))).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn rates_are_bounded_months_add_up_and_row_order_does_not_matter(orders in prop::collection::vec(order(), 1..12)) {
        let w = Workdir::new();
        let t = exports(&orders);
        write_exports(&w, "one", &t, false);
        write_exports(&w, "split", &t, true);
        let a = metrics_csv(&w, "one", "one");
        let b = metrics_csv(&w, "split", "split");
        prop_assert_eq!(&a, &b, "row order or file split changed a figure");

        let volumes = ["K5", "K5_amount", "K5_cancelled", "K5_amount_cancelled"];
        let mut months: BTreeMap<(String, String, String), (f64, f64)> = BTreeMap::new();
        let mut years: BTreeMap<(String, String, String), (f64, f64)> = BTreeMap::new();
        for line in a.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (period, kind, scope, kpi) = (f[0], f[1], f[2], f[3]);
            let num: f64 = f[4].parse().unwrap();
            let den: f64 = if f[5].is_empty() { 0.0 } else { f[5].parse().unwrap() };
            let share = !volumes.contains(&kpi) && !["K3_mean", "K4_value", "S_complaints_per_100"].contains(&kpi);
            if share {
                prop_assert!(num >= 0.0 && num <= den, "{line}");
            }
            let key = (kind.to_string(), scope.to_string(), kpi.to_string());
            let slot = if period.len() == 4 { years.entry(key).or_default() } else { months.entry(key).or_default() };
            slot.0 += num;
            slot.1 += den;
        }
        for (key, (num, den)) in &years {
            let m = months.get(key).copied().unwrap_or_default();
            prop_assert!((m.0 - num).abs() < 1e-6 && (m.1 - den).abs() < 1e-6, "{key:?}: months {m:?} year {num} {den}");
        }
    }
}

/// The text of the CTE `name` of a query file (its policy placeholders filled in).
fn cte(sql: &str, name: &str) -> String {
    use sqlparser::ast::Statement;
    let sql = sql
        .replace("{as_of}", "TIMESTAMP '2026-01-01 00:00:00'")
        .replace("{update_days}", "7");
    let mut stmts =
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect, &sql).unwrap();
    let Some(Statement::Query(q)) = stmts.pop() else {
        panic!("not a query")
    };
    q.with
        .unwrap()
        .cte_tables
        .into_iter()
        .find(|c| c.alias.name.value == name)
        .unwrap_or_else(|| panic!("no CTE {name}"))
        .query
        .to_string()
}

fn query_sql(file: &str) -> &'static str {
    lvyue::queries::rules()
        .into_iter()
        .chain(lvyue::queries::models())
        .find(|q| q.file == file)
        .unwrap_or_else(|| panic!("no {file}"))
        .sql
}

/// Runs `sql` over `tables` and returns its rows as sorted text lines.
fn rows_of(tables: &[(&str, &DataFrame)], sql: &str, cols: &[&str]) -> Vec<String> {
    let mut ctx = polars::sql::SQLContext::new();
    for (name, df) in tables {
        ctx.register(name, (*df).clone().lazy());
    }
    let df = ctx.execute(sql).unwrap().collect().unwrap();
    let texts: Vec<Vec<Option<String>>> = cols
        .iter()
        .map(|c| lvyue::frame::texts(&df, c).unwrap())
        .collect();
    let mut out: Vec<String> = (0..df.height())
        .map(|i| {
            texts
                .iter()
                .map(|t| t[i].clone().unwrap_or_else(|| "∅".into()))
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    out.sort();
    out
}

fn datetimes(name: &str, minutes: Vec<i64>) -> Column {
    Column::new(
        name.into(),
        minutes.iter().map(|m| m * 60_000_000).collect::<Vec<i64>>(),
    )
    .cast(&DataType::Datetime(TimeUnit::Microseconds, None))
    .unwrap()
}

use polars::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// R16's gaps are written as a self-join (MAX of the earlier points) instead of
    /// LAG: polars runs the join several times faster. On points drawn from a few
    /// minutes — so instants tie often, between updates and with the interval's ends —
    /// the query's CTE gives exactly the gaps LAG gives.
    #[test]
    fn r16_gaps_equal_the_lag_window(orders in prop::collection::vec((0i64..6, 0i64..6, prop::collection::vec(0i64..6, 0..6)), 1..5)) {
        // Per order: its signing (is_end 0), its end (is_end 1) and its updates (is_end
        // 0, tie-broken by event id), all within six minutes.
        let mut rows: Vec<(String, i64, i32, String)> = Vec::new();
        for (k, (signed, end, updates)) in orders.iter().enumerate() {
            let o = format!("O{k}");
            rows.push((o.clone(), *signed, 0, String::new()));
            rows.push((o.clone(), *end, 1, String::new()));
            for (u, at) in updates.iter().enumerate() {
                rows.push((o.clone(), *at, 0, format!("E{k}-{u}")));
            }
        }
        let n = rows.len();
        let df = DataFrame::new(n, vec![
            Column::new("order_id".into(), rows.iter().map(|r| r.0.clone()).collect::<Vec<_>>()),
            datetimes("point_at", rows.iter().map(|r| r.1).collect()),
            Column::new("is_end".into(), rows.iter().map(|r| r.2).collect::<Vec<_>>()),
            Column::new("tie".into(), rows.iter().map(|r| r.3.clone()).collect::<Vec<_>>()),
        ]).unwrap();
        let cols = ["order_id", "gap_end", "is_end", "gap_start"];
        let lag = rows_of(&[("points", &df)], "SELECT * FROM (SELECT p.order_id, p.point_at AS gap_end, p.is_end, \
            LAG(p.point_at) OVER (PARTITION BY p.order_id ORDER BY p.point_at, p.is_end) AS gap_start \
            FROM points p) g WHERE gap_start IS NOT NULL", &cols);
        let join = rows_of(&[("points", &df)], &cte(query_sql("rules/R16_progress_updates.sql"), "gaps"), &cols);
        prop_assert_eq!(join, lag);
    }

    /// R13's cumulative shipped quantity and order_sku_done's cumulative delivered
    /// quantity are self-joins instead of running SUM windows; on lines with shared
    /// instants they give the window's sums.
    #[test]
    fn cumulative_quantities_equal_the_running_sum_window(lines in prop::collection::vec((0u8..3, 0u8..3, 0i64..4, 1i64..5), 1..30)) {
        // One line per shipment and sku (the table's key): drop repeats.
        let mut seen = std::collections::BTreeSet::new();
        let lines: Vec<_> = lines.into_iter().enumerate()
            .map(|(i, (o, sku, at, q))| (o, format!("SH{o}-{}", i % 5), sku, at, q))
            .filter(|l| seen.insert((l.1.clone(), l.2)))
            .collect();
        let n = lines.len();
        let ship_lines = DataFrame::new(n, vec![
            Column::new("shipment_id".into(), lines.iter().map(|l| l.1.clone()).collect::<Vec<_>>()),
            Column::new("order_id".into(), lines.iter().map(|l| format!("O{}", l.0)).collect::<Vec<_>>()),
            datetimes("shipped_at", lines.iter().map(|l| l.3).collect()),
            Column::new("handled_by".into(), vec!["L1"; n]),
            Column::new("sku".into(), lines.iter().map(|l| format!("K{}", l.2)).collect::<Vec<_>>()),
            Column::new("quantity".into(), lines.iter().map(|l| l.4).collect::<Vec<_>>()),
        ]).unwrap();
        // A shipment's lines share its instant: take the first line's.
        let ship_lines = ship_lines.lazy()
            .with_column(col("shipped_at").first().over([col("shipment_id")]).unwrap())
            .collect().unwrap();
        let window = "SELECT shipment_id, sku, SUM(quantity) OVER (PARTITION BY order_id, sku \
            ORDER BY shipped_at, shipment_id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum_qty \
            FROM ship_lines";
        let cols = ["shipment_id", "sku", "cum_qty"];
        let expected = rows_of(&[("ship_lines", &ship_lines)], window, &cols);
        let r13 = rows_of(&[("ship_lines", &ship_lines)], &cte(query_sql("rules/R13_preship.sql"), "lines"), &cols);
        prop_assert_eq!(&r13, &expected);
        let delivered = ship_lines.clone().lazy()
            .rename(["shipped_at"], ["delivered_at"], true)
            .collect().unwrap();
        let by_model = rows_of(
            &[("delivered_lines", &delivered)],
            &cte(query_sql("models/order_sku_done.sql"), "delivered"),
            &cols,
        );
        prop_assert_eq!(by_model, expected);
    }
}
