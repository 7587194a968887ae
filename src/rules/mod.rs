//! Rules stage: the lake → the `violations` table and each rule's pass rate.
//!
//! Each rule is a SQL file of `queries/rules/` (dbt's "singular test"): its CTE `checked`
//! holds every item the rule judged (department, person, order, entity, `at`, whether
//! violated, evidence) and its result is the violating items — zero rows means the rule
//! holds. lvyue runs it over the same as-of view of the lake as the KPIs, adds the rule's
//! id, clause and severity from the file's header, the period (`at`'s month) and the
//! notice id, and counts checked and passed items per department and month.

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use polars::prelude::*;

use crate::error::{Error, IoContext, PolarsContext, Result};
use crate::lake::Lake;
use crate::metrics::{self, stage, Period};
use crate::policy::{Clock, Policy};
use crate::queries::{self, Query};

pub mod notices;
pub mod reach;

/// Column names of the `violations` table: the spec's, in its order, then the waiver
/// columns.
pub const VIOLATION_COLUMNS: &[&str] = &[
    "rule_id",
    "clause",
    "severity",
    "department",
    "staff_id",
    "order_id",
    "entity_id",
    "at",
    "period",
    "evidence",
    "notice_id",
    "waived",
    "waiver_reason",
];

/// A committee waiver: the violation of `rule_id` about `item_id` (its entity id, or its
/// order id when it has none) stays in the register, marked waived, and counts for no one.
#[derive(Debug, Clone, PartialEq)]
pub struct Waiver {
    pub rule_id: String,
    pub item_id: String,
    pub reason: String,
    pub approver: String,
    pub date: String,
}

/// Reads a waivers CSV (`rule_id,item_id,reason,approver,date`); every field required.
pub fn load_waivers(path: &Path) -> Result<Vec<Waiver>> {
    let text = std::fs::read_to_string(path).at(path)?;
    let bad = |line: u64, why: String| Error::Unreadable {
        path: path.to_path_buf(),
        line,
        column: 0,
        why,
    };
    let mut rdr = csv::Reader::from_reader(text.trim_start_matches('\u{FEFF}').as_bytes());
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| bad(1, e.to_string()))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let want = ["rule_id", "item_id", "reason", "approver", "date"];
    if headers != want {
        return Err(bad(1, format!("expected the header {}", want.join(","))));
    }
    let mut out = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| bad(e.position().map_or(0, |p| p.line()), e.to_string()))?;
        let line = rec.position().map_or(0, |p| p.line());
        let f: Vec<String> = rec.iter().map(|v| v.trim().to_string()).collect();
        if f.len() != 5 || f.iter().any(String::is_empty) {
            return Err(bad(
                line,
                "every waiver needs rule_id, item_id, reason, approver and date".into(),
            ));
        }
        if find(&f[0]).is_none() {
            return Err(bad(line, format!("no rule {:?}", f[0])));
        }
        out.push(Waiver {
            rule_id: f[0].to_ascii_uppercase(),
            item_id: f[1].clone(),
            reason: f[2].clone(),
            approver: f[3].clone(),
            date: f[4].clone(),
        });
    }
    Ok(out)
}

/// Blanks `staff_id` where the person was not in the violation's department on the day
/// of `at`: the person named always belongs to the failed check's department. R04 is the
/// exception the spec names: its point is a reviewer who was *not* in cs.
fn only_department_members(lake: &Lake, v: DataFrame) -> Result<DataFrame> {
    let dept_on = crate::assess::department_lookup(lake)?;
    let text = crate::frame::texts;
    let date = crate::frame::date_of;
    let (rules, vdepts, people, ats) = (
        text(&v, "rule_id")?,
        text(&v, "department")?,
        text(&v, "staff_id")?,
        text(&v, "at")?,
    );
    let kept: Vec<Option<String>> = (0..v.height())
        .map(|i| {
            let person = people[i].clone()?;
            if rules[i].as_deref() == Some("R04") {
                return Some(person);
            }
            let day = date(&ats[i])?;
            (dept_on(&person, day).as_deref() == vdepts[i].as_deref()).then_some(person)
        })
        .collect();
    let mut v = v;
    v.with_column(Column::new("staff_id".into(), kept))
        .context(|| "staff departments".into())?;
    Ok(v)
}

/// Marks the waived violations (`waived`, `waiver_reason`: "reason (approver, date)").
fn apply_waivers(v: DataFrame, waivers: &[Waiver]) -> Result<DataFrame> {
    let text = |name: &str| crate::frame::texts(&v, name);
    let (rules, orders, entities) = (text("rule_id")?, text("order_id")?, text("entity_id")?);
    let mut waived = Vec::with_capacity(v.height());
    let mut reasons: Vec<Option<String>> = Vec::with_capacity(v.height());
    for i in 0..v.height() {
        let item = entities[i]
            .clone()
            .or_else(|| orders[i].clone())
            .unwrap_or_default();
        let w = waivers
            .iter()
            .find(|w| Some(w.rule_id.as_str()) == rules[i].as_deref() && w.item_id == item);
        waived.push(w.is_some());
        reasons.push(w.map(|w| format!("{} ({}, {})", w.reason, w.approver, w.date)));
    }
    let mut v = v;
    v.with_column(Column::new("waived".into(), waived))
        .context(|| "waivers".into())?;
    v.with_column(Column::new("waiver_reason".into(), reasons))
        .context(|| "waivers".into())?;
    Ok(v)
}

/// The result of an audit.
pub struct Audit {
    pub period: Period,
    pub as_of: NaiveDateTime,
    /// The `violations` table, sorted by rule, period, department, order and entity
    /// (then time, person and evidence).
    pub violations: DataFrame,
    /// Per rule, department and month: items checked and passed.
    pub pass_rates: DataFrame,
    pub policy_fingerprint: String,
    /// Every notice re-checked at as-of.
    pub notice_checks: Vec<notices::Check>,
    /// Notice versions this audit adds to the ledger (written by [`record_notices`]).
    pub new_notices: Vec<notices::Notice>,
    /// Rules skipped because their exports lack an optional column they need: (rule id,
    /// the missing `table.column`s).
    pub skipped: Vec<(String, Vec<String>)>,
    /// Order-id shards the rules ran in (1 unless the lake is large; results do not
    /// depend on it).
    pub shards: usize,
    /// The window's orders and how many of them the rules judged.
    pub orders: OrdersJudged,
}

/// How many orders a run judged: a month's audit leaves out those of its window that
/// can have no item in the month (see `reach`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OrdersJudged {
    /// Rows of `orders` in the partitions read.
    pub in_window: u64,
    /// Orders judged when some were left out (ids from every table, so it may count
    /// orders whose `orders` row lies before the window); `None`: all were judged.
    pub judged: Option<u64>,
}

/// The optional columns a rule needs (its `needs` header) that the lake's exports of
/// that table never had. A table no export has filled at all is not "missing a column":
/// the company may simply not have that process (no production, no returns).
pub fn missing_columns(lake: &Lake, q: &Query) -> Vec<String> {
    q.list("needs")
        .into_iter()
        .filter(|need| {
            let Some((table, column)) = need.split_once('.') else {
                return false;
            };
            match lake.manifest.tables.get(table) {
                Some(state) if !state.columns_present.is_empty() => {
                    !state.columns_present.contains(column)
                }
                _ => false,
            }
        })
        .map(str::to_string)
        .collect()
}

/// The catalogue: every rule file.
pub fn catalogue() -> Vec<Query> {
    queries::rules()
}

/// Looks a rule up by id (`R06`), case-insensitively.
pub fn find(id: &str) -> Option<Query> {
    catalogue()
        .into_iter()
        .find(|q| q.get("id").eq_ignore_ascii_case(id))
}

/// Runs every rule at `as_of` and keeps the items of `period`'s reported months.
pub fn audit(
    lake: &Lake,
    policy: &Policy,
    period: Period,
    as_of: NaiveDateTime,
    waivers: &[Waiver],
) -> Result<Audit> {
    let registry = (policy.sla.clock == Clock::Business)
        .then(|| metrics::clock::registry(policy.calendar.clone()));
    let first_month = period.lookback_start(policy.lookback_months);
    let staged = stage::stage(lake, first_month, as_of, registry)?;
    let params = metrics::sql_params(policy, as_of);
    let months: Vec<(i32, u32)> = metrics::reported_months(lake, as_of);
    let in_months: Vec<(i32, u32)> = months
        .into_iter()
        .filter(|(y, m)| match period {
            Period::Month(py, pm) => py == *y && pm == *m,
            Period::Year(py) => py == *y,
        })
        .collect();
    let in_period: Vec<String> = in_months
        .iter()
        .map(|(y, m)| format!("{y}-{m:02}"))
        .collect();
    // The same months as numbers (202506), as the pass rates count them.
    let in_numbers: Vec<i32> = in_months.iter().map(|(y, m)| y * 100 + *m as i32).collect();
    let mut violations: Vec<DataFrame> = Vec::new();
    let mut rates: Vec<DataFrame> = Vec::new();
    let mut skipped = Vec::new();
    let runnable: Vec<Query> = catalogue()
        .into_iter()
        .filter(|q| {
            let missing = missing_columns(lake, q);
            if missing.is_empty() {
                true
            } else {
                skipped.push((q.get("id").to_string(), missing));
                false
            }
        })
        .collect();
    let (sql_rules, rust_rules): (Vec<Query>, Vec<Query>) =
        runnable.into_iter().partition(|q| q.get("rust").is_empty());
    // LVYUE_TIMING=1 prints each rule's time (for benches/ and profiling).
    let timing = std::env::var_os("LVYUE_TIMING").is_some();
    // A rule's violations and its pass rates; the rules of a shard run `in_turn`.
    type RuleResult = Result<(DataFrame, DataFrame)>;
    // Each shard's rules, then the next shard's: a shard's plans are what fits in memory.
    // A month's window holds four months of orders, most of them done with before the
    // month: only the orders that can still have an item in it are judged (reach.rs). A
    // year's window is mostly the year itself, so it is judged whole. `LVYUE_PRUNE=off`
    // judges every order of the window (the tests compare the two).
    let started = std::time::Instant::now();
    let names = queries::named(&sql_rules);
    let named = |c: &str| names.contains(c);
    let pruned = match period {
        Period::Month(..) if !std::env::var("LVYUE_PRUNE").is_ok_and(|v| v == "off") => {
            let from = period.first_day().and_time(chrono::NaiveTime::MIN);
            let cutoffs = reach::cutoffs(&sql_rules, policy, &params, from)?;
            staged.keep_orders(&cutoffs, &named)?
        }
        _ => None,
    };
    let orders = OrdersJudged {
        in_window: staged.orders_in_window(),
        judged: pruned.as_ref().map(|(_, n)| *n),
    };
    let judged = match pruned {
        Some((s, _)) => s,
        None => staged.held_if_sharded(&named),
    };
    if timing {
        eprintln!(
            "orders: {orders:?}, {:.1} s, {} MB resident",
            started.elapsed().as_secs_f64(),
            crate::resident_mb()
        );
    }
    let shards = judged.shards()?;
    let mut cost = Vec::new();
    for shard in &shards {
        let part = judged.shard(shard)?;
        if timing {
            shard.trace("staged", started);
        }
        let run_one = |q: &Query| -> RuleResult {
            let t = std::time::Instant::now();
            let sql = queries::for_polars(&metrics::render_for_clock(q, policy, &params)?);
            let (lf, checked) = metrics::run_query_capturing(part.context(), &sql, Some("checked"))
                .context(|| format!("running queries/{}", q.file))?;
            let found = metrics::collect(lf).context(|| format!("running queries/{}", q.file))?;
            let shaped = shape_violations(found, q, &in_period)
                .and_then(crate::frame::unshare_strings)
                .context(|| format!("queries/{} returned unexpected columns", q.file))?;
            let checked = checked
                .ok_or_else(|| Error::Usage(format!("queries/{}: no CTE named checked", q.file)))?;
            let rate = pass_rates(checked, q, &in_numbers)
                .and_then(crate::frame::unshare_strings)
                .context(|| format!("queries/{}: pass rates", q.file))?;
            if timing {
                eprintln!(
                    "shard {}/{} {}: {:.2} s",
                    shard.index + 1,
                    shard.count,
                    q.file,
                    t.elapsed().as_secs_f64()
                );
            }
            Ok((shaped, rate))
        };
        for r in crate::in_turn_longest_first(&sql_rules, &mut cost, run_one) {
            let (v, rate) = r?;
            violations.push(v);
            rates.push(rate);
        }
        if timing {
            shard.trace("done", started);
        }
    }
    let stack = |frames: Vec<DataFrame>| -> Result<DataFrame> {
        let mut it = frames.into_iter();
        let mut acc = it.next().expect("at least one rule");
        for f in it {
            acc.vstack_mut(&f).context(|| "stacking".into())?;
        }
        acc.rechunk_mut();
        Ok(acc)
    };
    // Shards give each rule's violations in pieces: back in one order.
    let violations = sort_violations(stack(violations)?).context(|| "sorting violations".into())?;
    let mut rates = vec![merge_pass_rates(stack(rates)?).context(|| "pass rates".into())?];
    let found = apply_waivers(only_department_members(lake, violations)?, waivers)?;

    // Notices from this audit's unwaived violations, and the re-check of every notice.
    let ledger = notices::load(&lake.root)?;
    let facts = notice_facts(&found)?;
    let new_notices = notices::new_versions(&ledger, &facts, &in_period, as_of, policy);
    let mut all = ledger;
    all.extend(new_notices.iter().cloned());
    let responses = responses(&staged)?;
    let broken: Vec<(String, String, String)> = facts
        .iter()
        .map(|f| (f.department.clone(), f.rule_id.clone(), f.at.clone()))
        .collect();
    let checks = notices::recheck(&notices::latest(&all), &responses, &broken, as_of);
    let ctx = staged.context();
    ctx.register("notice_checks", notice_checks_frame(&checks)?.lazy());
    let mut violations = vec![found];
    for q in rust_rules {
        let (lf, checked) = metrics::run_query_capturing(ctx.clone(), q.sql, Some("checked"))
            .context(|| format!("running queries/{}", q.file))?;
        let rows = metrics::collect(lf).context(|| format!("running queries/{}", q.file))?;
        let shaped = shape_violations(rows, &q, &in_period)
            .and_then(sort_violations)
            .context(|| format!("queries/{} returned unexpected columns", q.file))?;
        violations.push(apply_waivers(shaped, waivers)?);
        if let Some(c) = checked {
            rates.push(
                pass_rates(c, &q, &in_numbers)
                    .context(|| format!("queries/{}: pass rates", q.file))?,
            );
        }
    }
    Ok(Audit {
        period,
        as_of,
        violations: stack(violations)?,
        pass_rates: stack(rates)?,
        policy_fingerprint: policy.fingerprint.clone(),
        notice_checks: checks,
        new_notices,
        skipped,
        shards: shards.len(),
        orders,
    })
}

/// Appends the audit's new notice versions to the lake's ledger.
pub fn record_notices(lake: &Lake, audit: &Audit) -> Result<Option<PathBuf>> {
    notices::append(&lake.root, &audit.new_notices)
}

/// The unwaived violations as notices see them.
fn notice_facts(v: &DataFrame) -> Result<Vec<notices::Found>> {
    let text = |name: &str| -> Result<Vec<String>> {
        Ok(crate::frame::texts(v, name)?
            .into_iter()
            .map(Option::unwrap_or_default)
            .collect())
    };
    let cols: Vec<Vec<String>> = [
        "notice_id",
        "department",
        "rule_id",
        "period",
        "severity",
        "order_id",
        "entity_id",
        "at",
        "waived",
    ]
    .iter()
    .map(|c| text(c))
    .collect::<Result<_>>()?;
    Ok((0..v.height())
        .filter(|&i| cols[8][i] != "true")
        .map(|i| notices::Found {
            notice_id: cols[0][i].clone(),
            department: cols[1][i].clone(),
            rule_id: cols[2][i].clone(),
            period: cols[3][i].clone(),
            severity: cols[4][i].clone(),
            item: format!("{}/{}", cols[5][i], cols[6][i]),
            at: cols[7][i].chars().take(19).collect(),
        })
        .collect())
}

/// (notice id, rectified_at) of every response the lake has at as-of.
fn responses(staged: &stage::Staged) -> Result<Vec<(String, String)>> {
    let df = staged
        .context()
        .execute("SELECT notice_id, rectified_at FROM rectification_responses")
        .and_then(metrics::collect)
        .context(|| "reading rectification_responses".into())?;
    let ids = df
        .column("notice_id")
        .context(|| "notice_id".into())?
        .str()
        .context(|| "notice_id".into())?
        .clone();
    let ats = df
        .column("rectified_at")
        .context(|| "rectified_at".into())?
        .cast(&DataType::String)
        .context(|| "rectified_at".into())?;
    let ats = ats.str().context(|| "rectified_at".into())?;
    Ok(ids
        .iter()
        .zip(ats.iter())
        .filter_map(|(i, a)| Some((i?.to_string(), a?.chars().take(19).collect())))
        .collect())
}

/// The re-check results as the `notice_checks` table R21 selects from (open notices are
/// not judged yet and are left out).
fn notice_checks_frame(checks: &[notices::Check]) -> Result<DataFrame> {
    let judged: Vec<&notices::Check> = checks.iter().filter(|c| c.status != "open").collect();
    let micros = |s: &str| {
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
            .ok()
            .map(|d| d.and_utc().timestamp_micros())
    };
    let at: Int64Chunked = judged
        .iter()
        .map(|c| micros(c.at.as_deref().unwrap_or(&c.notice.deadline)))
        .collect();
    let cols = vec![
        Column::new(
            "notice_id".into(),
            judged
                .iter()
                .map(|c| c.notice.notice_id.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "department".into(),
            judged
                .iter()
                .map(|c| c.notice.department.clone())
                .collect::<Vec<_>>(),
        ),
        at.with_name("at".into())
            .into_datetime(TimeUnit::Microseconds, None)
            .into_column(),
        Column::new(
            "violated".into(),
            judged
                .iter()
                .map(|c| i32::from(c.status != "rectified"))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "evidence".into(),
            judged
                .iter()
                .map(|c| match c.status {
                    "overdue" => format!(
                        "{} v{} ({} violations) not answered by its deadline {}",
                        c.notice.notice_id,
                        c.notice.version,
                        c.notice.violations,
                        c.notice.deadline
                    ),
                    "recurred" => format!(
                        "{} rectified {}, {} broken again {}",
                        c.notice.notice_id,
                        c.rectified_at.as_deref().unwrap_or(""),
                        c.notice.rule_id,
                        c.at.as_deref().unwrap_or("")
                    ),
                    _ => format!(
                        "{} rectified {}",
                        c.notice.notice_id,
                        c.rectified_at.as_deref().unwrap_or("")
                    ),
                })
                .collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(judged.len(), cols).context(|| "notice checks".into())
}

fn period_expr() -> Expr {
    // `at` is a naive local timestamp: its calendar month is the period.
    col("at").dt().strftime("%Y-%m")
}

/// Drops the `.000000` that engines append to whole-second timestamps cast to text.
fn tidy_evidence(df: DataFrame) -> PolarsResult<DataFrame> {
    let tidy: StringChunked = df
        .column("evidence")?
        .cast(&DataType::String)?
        .str()?
        .iter()
        .map(|v| v.map(|s| s.replace(".000000", "")))
        .collect();
    let mut df = df;
    df.with_column(tidy.with_name("evidence".into()).into_column())?;
    Ok(df)
}

fn shape_violations(df: DataFrame, q: &Query, months: &[String]) -> PolarsResult<DataFrame> {
    let months = Series::new("m".into(), months.to_vec());
    let rule = q.get("id").to_string();
    tidy_evidence(df)?
        .lazy()
        .with_column(period_expr().alias("period"))
        .filter(col("period").is_in(lit(months).implode(true), false))
        .select([
            lit(rule.clone()).alias("rule_id"),
            lit(q.get("clause").to_string()).alias("clause"),
            lit(q.get("severity").to_string()).alias("severity"),
            col("department").cast(DataType::String),
            col("staff_id").cast(DataType::String),
            col("order_id").cast(DataType::String),
            col("entity_id").cast(DataType::String),
            col("at").cast(DataType::Datetime(TimeUnit::Microseconds, None)),
            col("period"),
            col("evidence").cast(DataType::String),
            concat_str(
                [lit("N"), col("period"), col("department"), lit(rule)],
                "-",
                false,
            )
            .alias("notice_id"),
        ])
        .collect()
}

/// The order of the violations table: rule, period, department, order, entity, then
/// time, person and evidence — every column that can differ, so the bytes do not
/// depend on the order the engine or the shards produced the rows in.
fn sort_violations(v: DataFrame) -> PolarsResult<DataFrame> {
    v.lazy()
        .sort(
            [
                "rule_id",
                "period",
                "department",
                "order_id",
                "entity_id",
                "at",
                "staff_id",
                "evidence",
            ],
            SortMultipleOptions::default()
                .with_nulls_last(false)
                .with_maintain_order(true),
        )
        .collect()
}

/// Adds up the shards' pass-rate counts per rule, month and department.
fn merge_pass_rates(rates: DataFrame) -> PolarsResult<DataFrame> {
    rates
        .lazy()
        .group_by([col("period"), col("rule_id"), col("department")])
        .agg([col("checked").sum(), col("passed").sum()])
        .select([
            col("period"),
            col("rule_id"),
            col("department"),
            col("checked"),
            col("passed"),
            (col("passed").cast(DataType::Float64) / col("checked").cast(DataType::Float64))
                .alias("rate"),
        ])
        .sort(
            ["rule_id", "period", "department"],
            SortMultipleOptions::default(),
        )
        .collect()
}

/// Items checked and passed per month of `months` (as numbers, 202506) and department.
fn pass_rates(checked: DataFrame, q: &Query, months: &[i32]) -> PolarsResult<DataFrame> {
    // Items are counted under their month as a number, and only the counts' few rows
    // get it as text: formatting every checked item's timestamp was 5 % of a 10M
    // month's audit (docs/performance.md, "eighth pass").
    let at = || col("at");
    let number = at().dt().year() * lit(100) + at().dt().month().cast(DataType::Int32);
    let counts = checked
        .lazy()
        .with_column(number.alias("period"))
        .filter(col("period").is_in(lit(Series::new("m".into(), months)).implode(true), false))
        .group_by([col("period"), col("department")])
        .agg([
            len().cast(DataType::Int64).alias("checked"),
            (lit(1) - col("violated").cast(DataType::Int64))
                .sum()
                .alias("passed"),
        ])
        .collect()?;
    let text: StringChunked = counts
        .column("period")?
        .i32()?
        .iter()
        .map(|n| n.map(|n| Period::Month(n / 100, (n % 100) as u32).label()))
        .collect();
    let mut counts = counts;
    counts.with_column(text.with_name("period".into()).into_column())?;
    counts
        .lazy()
        .select([
            col("period"),
            lit(q.get("id").to_string()).alias("rule_id"),
            col("department").cast(DataType::String),
            col("checked"),
            col("passed"),
            (col("passed").cast(DataType::Float64) / col("checked").cast(DataType::Float64))
                .alias("rate"),
        ])
        .sort(["period", "department"], SortMultipleOptions::default())
        .collect()
}

/// Writes `violations.csv` / `.parquet`, `rule_pass_rates.csv` / `.parquet` and
/// `audit.json` (period, as-of, policy fingerprint) into `out`.
pub fn write(a: &Audit, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).at(out)?;
    let kv = vec![
        ("lvyue.period".to_string(), a.period.label()),
        (
            "lvyue.as_of".to_string(),
            a.as_of.format("%Y-%m-%d %H:%M:%S").to_string(),
        ),
        (
            "lvyue.policy_fingerprint".to_string(),
            a.policy_fingerprint.clone(),
        ),
    ];
    let mut written = Vec::new();
    for (name, df) in [
        ("violations", &a.violations),
        ("rule_pass_rates", &a.pass_rates),
    ] {
        let csv_path = out.join(format!("{name}.csv"));
        write_frame_csv(df, &csv_path)?;
        written.push(csv_path);
        let pq = out.join(format!("{name}.parquet"));
        crate::lake::write::write_parquet_file(&mut df.clone(), &pq, kv.clone())?;
        written.push(pq);
    }
    written.push(crate::report::xlsx::violations_register(
        &a.violations,
        a.as_of,
        &out.join("violations.xlsx"),
    )?);
    let notices_path = out.join("notices.csv");
    let io = |e: csv::Error| Error::Io {
        path: notices_path.clone(),
        source: e.into(),
    };
    let mut w = csv::Writer::from_path(&notices_path).map_err(io)?;
    w.write_record([
        "notice_id",
        "version",
        "department",
        "rule_id",
        "period",
        "severity",
        "issued_at",
        "deadline",
        "violations",
        "status",
        "rectified_at",
        "items",
    ])
    .map_err(io)?;
    for c in &a.notice_checks {
        let n = &c.notice;
        w.write_record([
            n.notice_id.as_str(),
            &n.version.to_string(),
            &n.department,
            &n.rule_id,
            &n.period,
            &n.severity,
            &n.issued_at,
            &n.deadline,
            &n.violations.to_string(),
            c.status,
            c.rectified_at.as_deref().unwrap_or(""),
            &n.items.join(" "),
        ])
        .map_err(io)?;
    }
    w.flush().at(&notices_path)?;
    written.push(notices_path);
    let meta = out.join("audit.json");
    let body = serde_json::json!({
        "period": a.period.label(),
        "as_of": a.as_of.format("%Y-%m-%d %H:%M:%S").to_string(),
        "policy_fingerprint": a.policy_fingerprint,
        "violations": a.violations.height(),
        "shards": a.shards,
        "orders_in_window": a.orders.in_window,
        "orders_judged": a.orders.judged,
        "skipped_checks": a.skipped.iter().map(|(r, m)| serde_json::json!({"rule": r, "missing_columns": m})).collect::<Vec<_>>(),
    });
    std::fs::write(
        &meta,
        serde_json::to_string_pretty(&body).expect("json") + "\n",
    )
    .at(&meta)?;
    written.push(meta);
    Ok(written)
}

/// Writes a frame as CSV (UTF-8, header, empty for null, timestamps `YYYY-MM-DD HH:MM:SS`).
fn write_frame_csv(df: &DataFrame, path: &Path) -> Result<()> {
    let io = |e: csv::Error| Error::Io {
        path: path.to_path_buf(),
        source: e.into(),
    };
    let mut w = csv::Writer::from_path(path).map_err(io)?;
    w.write_record(df.get_column_names().iter().map(|n| n.as_str()))
        .map_err(io)?;
    let mut cols: Vec<Vec<String>> = Vec::with_capacity(df.width());
    for c in df.columns() {
        let is_ts = matches!(c.dtype(), DataType::Datetime(_, _));
        let text = c
            .cast(&DataType::String)
            .context(|| format!("formatting {}", c.name()))?;
        let text = text.str().context(|| format!("formatting {}", c.name()))?;
        cols.push(
            text.iter()
                .map(|v| match v {
                    None => String::new(),
                    Some(s) if is_ts => s.chars().take(19).collect(),
                    Some(s) => s.to_string(),
                })
                .collect(),
        );
    }
    for i in 0..df.height() {
        w.write_record(cols.iter().map(|c| c[i].as_str()))
            .map_err(io)?;
    }
    w.flush().at(path)
}
