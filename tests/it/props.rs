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
