//! Shards: metrics and audit run shard by shard (disjoint order-id ranges) give the
//! same figures, violations, pass rates and notices as the whole lake at once, and the
//! same items in their documented order.

use polars::prelude::*;

use crate::util::*;

fn items(path: &std::path::Path) -> DataFrame {
    let df = ParquetReader::new(std::fs::File::open(path).unwrap())
        .finish()
        .unwrap();
    assert!(df.height() > 0, "{}: no items", path.display());
    df
}

fn sorted(df: &DataFrame) -> DataFrame {
    df.sort(
        [
            "kpi",
            "department",
            "item_id",
            "staff_id",
            "period_year",
            "period_month",
        ],
        SortMultipleOptions::default().with_nulls_last(false),
    )
    .unwrap()
}

fn shards_of(json: &std::path::Path) -> u64 {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    v["shards"].as_u64().unwrap()
}

#[test]
fn sharded_runs_equal_the_whole_lake() {
    let w = Workdir::new();
    w.ok(&[
        "ingest",
        fixtures().join("exports").to_str().unwrap(),
        "--lake",
        "lake",
    ]);
    for period in ["2025", "2025-05"] {
        let run = |out: &str, per_shard: &str| {
            for cmd in ["metrics", "audit"] {
                let o = w.run_env(
                    &[cmd, "--lake", "lake", "--period", period, "--out", out],
                    &[("LVYUE_SHARD_ORDERS", per_shard)],
                );
                assert!(o.status.success(), "{cmd} {period}: {}", stderr(&o));
            }
        };
        let (whole, split) = (format!("whole-{period}"), format!("split-{period}"));
        run(&whole, "1000000");
        // 86 orders (fewer in a month's window), about 20 per shard.
        run(&split, "20");
        let p = |d: &str, f: &str| w.path(&format!("{d}/{f}"));
        assert_eq!(shards_of(&p(&whole, "metrics.json")), 1);
        assert_eq!(shards_of(&p(&whole, "audit.json")), 1);
        let n = shards_of(&p(&split, "metrics.json"));
        assert!(n >= 3, "{period}: {n} shards");
        assert_eq!(shards_of(&p(&split, "audit.json")), n);
        for f in [
            "metrics.csv",
            "violations.csv",
            "rule_pass_rates.csv",
            "notices.csv",
        ] {
            assert_eq!(
                std::fs::read_to_string(p(&whole, f)).unwrap(),
                std::fs::read_to_string(p(&split, f)).unwrap(),
                "{period}: {f} differs between one shard and {n}"
            );
        }
        let (a, b) = (
            items(&p(&whole, "metric_items.parquet")),
            items(&p(&split, "metric_items.parquet")),
        );
        // One shard: the items come sorted by KPI, department and item id already.
        assert!(
            a.equals_missing(&sorted(&a)),
            "{period}: whole-lake items out of order"
        );
        assert!(
            sorted(&a).equals_missing(&sorted(&b)),
            "{period}: the shards' items are not the whole lake's"
        );
    }
}
