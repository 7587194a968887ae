//! Metrics stage: the lake → the `metrics` table (K1–K5 per company, department and
//! person, per month and year).
//!
//! Each KPI is a SQL file of `queries/metrics/` that returns *items* — one row per
//! order, survey, count… judged as passing (`num`) out of `den`, with the month it
//! belongs to, the department view and the person it is attributed to. The SQL runs on
//! polars over the lake as seen at `as_of` ([`stage`]); this module then pools the
//! items: company rows from items without a department, department rows from items with
//! one, person rows from department items with a person; a year pools its months'
//! numerators and denominators. Rates get a 95% Wilson interval; `sample_ok` says
//! whether the period had `{min_sample}` items.

pub mod clock;
pub mod keys;
pub mod stage;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use polars::prelude::*;

use crate::error::{Error, IoContext, PolarsContext, Result};
use crate::lake::Lake;
use crate::policy::{Clock, DueBasis, Policy};
use crate::queries::{self, Query};

/// Column names of the `metrics` table, in the spec's order.
pub const METRICS_COLUMNS: &[&str] = &[
    "period",
    "scope_kind",
    "scope",
    "kpi",
    "numerator",
    "denominator",
    "rate",
    "ci_low",
    "ci_high",
    "sample_ok",
];

/// KPI codes that are volumes: no denominator, no interval.
const VOLUMES: &[&str] = &["K5", "K5_amount", "K5_cancelled", "K5_amount_cancelled"];
/// KPI codes whose rate is not a share of items: no interval.
const NOT_PROPORTIONS: &[&str] = &["K3_mean", "K4_value", "S_complaints_per_100"];
/// KPI codes reported per 100 (rate = 100 × numerator / denominator).
const PER_100: &[&str] = &["S_complaints_per_100"];

/// A calendar month or year in the company zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Month(i32, u32),
    Year(i32),
}

impl Period {
    /// Parses `2025-05` or `2025`.
    pub fn parse(s: &str) -> std::result::Result<Period, String> {
        let bad =
            || format!("expected a month such as 2025-05 or a year such as 2025, found {s:?}");
        match s.split_once('-') {
            None => s
                .parse::<i32>()
                .ok()
                .filter(|y| (1900..=9999).contains(y))
                .map(Period::Year)
                .ok_or_else(bad),
            Some((y, m)) => {
                let y: i32 = y.parse().map_err(|_| bad())?;
                let m: u32 = m.parse().map_err(|_| bad())?;
                if (1..=12).contains(&m) && (1900..=9999).contains(&y) {
                    Ok(Period::Month(y, m))
                } else {
                    Err(bad())
                }
            }
        }
    }

    pub fn first_day(&self) -> NaiveDate {
        let (y, m) = match *self {
            Period::Month(y, m) => (y, m),
            Period::Year(y) => (y, 1),
        };
        NaiveDate::from_ymd_opt(y, m, 1).expect("valid first day")
    }

    /// The first instant after the period: the default as-of.
    pub fn end(&self) -> NaiveDateTime {
        let next = match *self {
            Period::Month(y, 12) => NaiveDate::from_ymd_opt(y + 1, 1, 1),
            Period::Month(y, m) => NaiveDate::from_ymd_opt(y, m + 1, 1),
            Period::Year(y) => NaiveDate::from_ymd_opt(y + 1, 1, 1),
        };
        next.expect("valid date")
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
    }

    pub fn label(&self) -> String {
        match *self {
            Period::Month(y, m) => format!("{y}-{m:02}"),
            Period::Year(y) => format!("{y}"),
        }
    }

    /// Whether the month or year labelled `label` covers `month` (a `2025-05` label):
    /// the month itself, or any month of the year.
    pub fn label_covers(label: &str, month: &str) -> bool {
        month == label || month.starts_with(&format!("{label}-"))
    }

    /// The first month a run reads: `lookback` months before the period starts.
    pub fn lookback_start(&self, lookback: u32) -> (i32, u32) {
        let d = self.first_day();
        let idx = d.year() * 12 + d.month0() as i32 - lookback as i32;
        (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1)
    }

    fn contains_month(&self, y: i32, m: u32) -> bool {
        match *self {
            Period::Month(py, pm) => py == y && pm == m,
            Period::Year(py) => py == y,
        }
    }
}

/// One row of the `metrics` table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct MetricRow {
    pub period: String,
    pub scope_kind: String,
    pub scope: String,
    pub kpi: String,
    pub numerator: f64,
    pub denominator: Option<f64>,
    pub rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub sample_ok: bool,
    /// Number of items behind the row (for `sample_ok`; not an output column).
    pub items: u64,
}

/// The result of a metrics run.
pub struct Metrics {
    pub period: Period,
    pub as_of: NaiveDateTime,
    pub rows: Vec<MetricRow>,
    /// Every judged item, for tracing a figure back to its rows.
    pub items: Items,
    pub policy_fingerprint: String,
    /// Lake files the run read (relative paths), recorded in `metrics.json`.
    pub files_read: Vec<String>,
    /// Order-id shards the queries ran in (recorded in `metrics.json`).
    pub shards: usize,
}

/// The SQL literal values of the policy, by placeholder name.
pub fn sql_params(policy: &Policy, as_of: NaiveDateTime) -> BTreeMap<&'static str, String> {
    let mut p = BTreeMap::new();
    for (k, v) in &policy.sla.limits {
        p.insert(*k, v.to_string());
    }
    p.insert(
        "as_of",
        format!("TIMESTAMP '{}'", as_of.format("%Y-%m-%d %H:%M:%S")),
    );
    p.insert(
        "due_basis",
        match policy.due_basis {
            DueBasis::Agreed => "agreed",
            DueBasis::Original => "original",
        }
        .to_string(),
    );
    p.insert("satisfied_min", policy.satisfied_min.to_string());
    p.insert(
        "satisfaction_by_touch",
        if policy.satisfaction_by_touch {
            "TRUE"
        } else {
            "FALSE"
        }
        .to_string(),
    );
    p.insert("abs_tolerance", policy.abs_tolerance.to_string());
    // A float literal with a decimal point in every engine (0 → 0.0).
    p.insert("pct_tolerance", format!("{:?}", policy.pct_tolerance));
    p
}

/// Runs every KPI query at `as_of` and pools the items for `period`.
pub fn compute(
    lake: &Lake,
    policy: &Policy,
    period: Period,
    as_of: NaiveDateTime,
) -> Result<Metrics> {
    let registry =
        (policy.sla.clock == Clock::Business).then(|| clock::registry(policy.calendar.clone()));
    let first_month = period.lookback_start(policy.lookback_months);
    // LVYUE_TIMING=1 prints where a run spends its time (for benches/ and profiling).
    let timing = std::env::var_os("LVYUE_TIMING").is_some();
    let started = std::time::Instant::now();
    let staged = stage::stage(lake, first_month, as_of, registry)?;
    if timing {
        eprintln!("stage: {:.2} s", started.elapsed().as_secs_f64());
    }
    let params = sql_params(policy, as_of);
    let in_period: Vec<(i32, u32)> = reported_months(lake, as_of)
        .into_iter()
        .filter(|(y, m)| period.contains_month(*y, *m))
        .collect();
    let shards = staged.shards()?;
    let mut items = Items::new(
        shards.len() > 1,
        output_metadata(period, as_of, &policy.fingerprint),
    )?;
    let mut acc = Sums::new();
    let catalogue = queries::metrics();
    let mut cost = Vec::new();
    for shard in &shards {
        let part = staged.shard(shard)?;
        if timing {
            shard.trace("staged", started);
        }
        // Each query's items are sorted and pooled by the worker that ran it, beside the
        // other worker's query: done after both, on one thread, this took a fifth of a
        // 1M run (docs/performance.md, "seventh pass").
        let run_one = |q: &Query| -> Result<Done> {
            let t = std::time::Instant::now();
            let sql = queries::for_polars(&render_for_clock(q, policy, &params)?);
            let df = run_query(part.context(), &sql)
                .and_then(|lf| collect(normalise_items(lf, &in_period)))
                .context(|| format!("running queries/{}", q.file))?;
            let ran = t.elapsed();
            let n = df.height();
            let by_code =
                sort_items(df).context(|| format!("sorting the items of queries/{}", q.file))?;
            let sums = part_sums(&by_code).context(|| format!("summing queries/{}", q.file))?;
            let parts = by_code
                .into_iter()
                .map(|(code, items)| ItemPart { code, items })
                .collect();
            if timing {
                eprintln!(
                    "{}: {:.2} s ({:.2} s after the query), {n} items",
                    q.file,
                    t.elapsed().as_secs_f64(),
                    (t.elapsed() - ran).as_secs_f64()
                );
            }
            Ok(Done { sums, parts })
        };
        // Sums and items in the catalogue's order, whichever query finished first.
        for done in crate::in_turn_longest_first(&catalogue, &mut cost, run_one) {
            let done = done?;
            add_sums(&done.sums, period, &mut acc);
            items.add(done.parts);
        }
        items.shard_done()?;
    }
    if timing {
        eprintln!("queries done: {:.2} s", started.elapsed().as_secs_f64());
    }
    let writing = items.finish()?;
    if timing && shards.len() > 1 {
        eprintln!(
            "items written: {:.2} s ({:.2} s busy writing)",
            started.elapsed().as_secs_f64(),
            writing.as_secs_f64()
        );
    }
    let rows = finish_rows(acc, period, &in_period, policy.min_sample)?;
    Ok(Metrics {
        period,
        as_of,
        rows,
        items,
        policy_fingerprint: policy.fingerprint.clone(),
        files_read: staged.files_read,
        shards: shards.len(),
    })
}

/// A run's items, one part per shard, query and KPI code, each sorted by department
/// and item id. With one shard they are held until `metrics::write` writes them, by
/// KPI, department and item id. With shards (a year of 10M orders has about 200M
/// items), each shard's items are handed, once its queries are done, to a thread that
/// writes them into the item file in a scratch folder, by shard, KPI, department and
/// item id, while the next shard runs; `metrics::write` then links the file into place.
pub struct Items {
    parts: Vec<ItemPart>,
    codes: std::collections::BTreeSet<String>,
    sink: Option<Sink>,
    /// The item file's Parquet metadata (the sink's file has it already).
    kv: Vec<(String, String)>,
}

/// One shard's items of one KPI code from one query.
struct ItemPart {
    code: String,
    items: DataFrame,
}

/// What a query's worker hands back: its items' sums and its sorted item parts.
struct Done {
    sums: Vec<Sum>,
    parts: Vec<ItemPart>,
}

/// The item file of a sharded run, written shard by shard on its own thread into a
/// scratch folder that is removed when the run ends or fails.
struct Sink {
    dir: PathBuf,
    file: PathBuf,
    /// One shard's parts, by code in code order; dropped to tell the writer it is done.
    tx: Option<std::sync::mpsc::SyncSender<Vec<Vec<DataFrame>>>>,
    writer: Option<std::thread::JoinHandle<Result<std::time::Duration>>>,
}

impl Sink {
    fn new(kv: Vec<(String, String)>) -> Result<Sink> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("lvyue-items-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).at(&dir)?;
        let file = dir.join("metric_items.parquet");
        let mut writer = item_writer(&file, kv)?;
        // One shard waiting while another is written: a shard's items are about 17M
        // rows at 10M orders, so no more are held.
        let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<Vec<DataFrame>>>(0);
        // polars work, so the stack lvyue gives its other polars threads.
        let writer = std::thread::Builder::new()
            .stack_size(crate::WORKER_STACK)
            .spawn(move || -> Result<std::time::Duration> {
                let mut busy = std::time::Duration::ZERO;
                for codes in rx {
                    let t = std::time::Instant::now();
                    for parts in codes {
                        write_rows(&mut writer, &merged(parts)?)?;
                    }
                    busy += t.elapsed();
                }
                writer.finish()?;
                Ok(busy)
            })
            .at(&dir)?;
        Ok(Sink {
            dir,
            file,
            tx: Some(tx),
            writer: Some(writer),
        })
    }

    /// Waits for the writer; its error, if it stopped on one.
    fn finish(&mut self) -> Result<std::time::Duration> {
        self.tx.take();
        match self.writer.take() {
            Some(w) => w.join().expect("the item writer does not panic"),
            None => Ok(std::time::Duration::ZERO),
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        // The writer first, so the folder is not removed under a file being written.
        let _ = self.finish();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Items {
    fn new(sharded: bool, kv: Vec<(String, String)>) -> Result<Items> {
        Ok(Items {
            parts: Vec::new(),
            codes: Default::default(),
            sink: if sharded {
                Some(Sink::new(kv.clone())?)
            } else {
                None
            },
            kv,
        })
    }

    fn add(&mut self, parts: Vec<ItemPart>) {
        for p in parts {
            self.codes.insert(p.code.clone());
            self.parts.push(p);
        }
    }

    /// With shards, hands the parts held so far (one shard's) to the writer, by code.
    fn shard_done(&mut self) -> Result<()> {
        let Some(sink) = &self.sink else {
            return Ok(());
        };
        let by_code = self.by_code().collect();
        self.parts.clear();
        if let Some(Ok(())) = sink.tx.as_ref().map(|tx| tx.send(by_code)) {
            return Ok(());
        }
        // The writer stopped, which it does only on an error: that error says why.
        let file = sink.file.clone();
        self.finish()?;
        Err(Error::Io {
            path: file,
            source: std::io::Error::other("the item writer stopped before the last shard"),
        })
    }

    /// The parts held, one list per code in code order (codes without parts left out).
    /// Frames are shared, not copied.
    fn by_code(&self) -> impl Iterator<Item = Vec<DataFrame>> + '_ {
        self.codes.iter().filter_map(|code| {
            let parts: Vec<DataFrame> = self
                .parts
                .iter()
                .filter(|p| &p.code == code)
                .map(|p| p.items.clone())
                .collect();
            (!parts.is_empty()).then_some(parts)
        })
    }

    /// Waits until every item is written (with shards); the writer's busy time.
    fn finish(&mut self) -> Result<std::time::Duration> {
        match &mut self.sink {
            Some(sink) => sink.finish(),
            None => Ok(std::time::Duration::ZERO),
        }
    }

    /// Writes every item to `path` as one Parquet file. With shards the file is already
    /// written and is linked (or copied) into place; with one shard the items are
    /// written now, ordered by KPI, department and item id, one KPI at a time: the
    /// next one is merged (K1's views) on a second thread while this one is encoded.
    fn write(&self, path: &Path) -> Result<()> {
        if let Some(sink) = &self.sink {
            match std::fs::remove_file(path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e).at(path),
                _ => {}
            }
            if std::fs::hard_link(&sink.file, path).is_err() {
                std::fs::copy(&sink.file, path).at(path)?;
            }
            return Ok(());
        }
        let mut writer = item_writer(path, self.kv.clone())?;
        let mut writing = std::time::Duration::ZERO;
        let reading = std::thread::scope(|s| -> Result<std::time::Duration> {
            let (tx, rx) = std::sync::mpsc::sync_channel::<Result<DataFrame>>(1);
            // polars work, so the stack lvyue gives its other polars threads.
            let reading_thread = std::thread::Builder::new().stack_size(crate::WORKER_STACK);
            let reader = reading_thread.spawn_scoped(s, move || {
                let mut reading = std::time::Duration::ZERO;
                let mut t = std::time::Instant::now();
                for parts in self.by_code() {
                    let got = merged(parts);
                    reading += t.elapsed();
                    // The writer stops at its first error and drops its end.
                    if tx.send(got).is_err() {
                        return reading;
                    }
                    t = std::time::Instant::now();
                }
                reading
            });
            let reader = reader.at(path)?;
            for df in rx {
                let t = std::time::Instant::now();
                write_rows(&mut writer, &df?)?;
                writing += t.elapsed();
            }
            Ok(reader.join().expect("the item reader does not panic"))
        })?;
        writer.finish()?;
        if std::env::var_os("LVYUE_TIMING").is_some() {
            eprintln!(
                "items: merged in {:.2} s, written in {:.2} s (beside each other)",
                reading.as_secs_f64(),
                writing.as_secs_f64()
            );
        }
        Ok(())
    }
}

/// A Parquet writer of items, with the run's metadata: zstd level 1, as the lake (at
/// the default level 3 compressing the 197M items of a 10M year took about 3.5 % of the
/// run's CPU on the writer's thread beside the queries), and text dictionaries built as
/// the lake's are.
fn item_writer(path: &Path, kv: Vec<(String, String)>) -> Result<crate::lake::write::ParquetFile> {
    crate::lake::write::ParquetFile::create(path, &item_schema(), kv, None)
}

/// Rows per row group of the item file. polars 0.55 writes a column chunk of more than
/// one page with each page's null count summed twice over, so a row group of 256Ki rows
/// (two pages) whose text column was half empty said "all empty", and DuckDB, trusting
/// the count, read K4's departments and staff as NULL. A row group of 64Ki rows is one
/// page, as in the lake, whose counts were always right (docs/decisions.md, eighth part).
const ITEM_ROW_GROUP: usize = 1 << 16;

/// Appends `df` in row groups of at most [`ITEM_ROW_GROUP`] rows.
fn write_rows(writer: &mut crate::lake::write::ParquetFile, df: &DataFrame) -> Result<()> {
    let mut offset = 0;
    while offset < df.height() {
        let piece = df.slice(offset as i64, ITEM_ROW_GROUP);
        offset += piece.height();
        writer.write_group(piece)?;
    }
    Ok(())
}

/// One code's parts of one shard as one frame sorted by department and item id: a part
/// as it is when one query made it (every code but K1), else the parts merged.
fn merged(mut parts: Vec<DataFrame>) -> Result<DataFrame> {
    let what = || "merging the items of a KPI".to_string();
    if parts.len() <= 1 {
        return Ok(parts
            .pop()
            .unwrap_or_else(|| DataFrame::empty_with_schema(&item_schema())));
    }
    let mut all = parts.remove(0);
    for f in &parts {
        all.vstack_mut(f).context(what)?;
    }
    let mut sorted = sort_items(all).context(what)?;
    Ok(sorted.pop().map(|(_, df)| df).unwrap_or_default())
}

/// A query's items split by KPI code (in code order), each sorted by department (empty
/// first), then item id (empty first); items without a code are left out, as they
/// count in no figure. Each code's rows are grouped by department in one pass, and
/// each group's ids sorted as numbers ([`id_key`]); one gather per code then builds
/// its frame. polars' `partition_by` on the two text columns, its text sort and their
/// gathers took three quarters of the time a query's worker spent after the query
/// (docs/performance.md, "tenth pass"). An id of more than 15 bytes sends the
/// query's items to [`sort_items_by_text`].
fn sort_items(df: DataFrame) -> PolarsResult<Vec<(String, DataFrame)>> {
    let Some(mut groups) = keyed_groups(&df)? else {
        return sort_items_by_text(df);
    };
    groups.sort_by(|a, b| a.0.cmp(&b.0));
    // A code's KPI is one text, and its department one text per group: they are made
    // as runs of one value, not gathered row by row (gathering the text columns was
    // a twentieth of a 1M-order run's CPU).
    let mut df = df.drop_many(["kpi", "department"]);
    // A gather from the engine's many small chunks looks up each row's chunk; one
    // chunk is cheaper to gather from, even counting the copy that makes it.
    df.rechunk_mut_par();
    let mut out: Vec<(String, DataFrame)> = Vec::new();
    let mut code_rows: Vec<IdxSize> = Vec::new();
    let mut departments: Vec<(Option<String>, usize)> = Vec::new();
    let mut groups = groups.into_iter().peekable();
    while let Some(((code, department), mut rows)) = groups.next() {
        // The row number breaks ties, so equal ids keep their order, as a stable sort
        // would; the pairs are then distinct, so an unstable sort gives the same order.
        rows.sort_unstable();
        code_rows.extend(rows.iter().map(|(_, i)| *i));
        departments.push((department, rows.len()));
        if groups.peek().is_none_or(|next| next.0 .0 != code) {
            let order = IdxCa::from_vec("order".into(), std::mem::take(&mut code_rows));
            let mut part = df.take(&order)?;
            let runs = std::mem::take(&mut departments);
            part.insert_column(0, text_runs("kpi", &[(Some(code.clone()), order.len())]))?;
            part.insert_column(2, text_runs("department", &runs))?;
            out.push((code, part));
        }
    }
    Ok(out)
}

/// A text column of runs of one value each.
fn text_runs(name: &str, runs: &[(Option<String>, usize)]) -> Column {
    let rows = runs.iter().map(|r| r.1).sum();
    let mut text = polars_arrow::array::MutableBinaryViewArray::<str>::with_capacity(rows);
    for (value, len) in runs {
        // polars-arrow 0.55's `extend_constant` adds no rows for a missing value.
        match value {
            Some(v) => text.extend_constant(*len, Some(v.as_str())),
            None => text.extend_null(*len),
        }
    }
    StringChunked::with_chunk(name.into(), text.freeze()).into_column()
}

/// One code and department's rows: each row's [`id_key`] and row number.
type Group = ((String, Option<String>), Vec<(u128, IdxSize)>);

/// A query's rows with a code, grouped by code and department in order of first
/// appearance; `None` if an id is too long for [`id_key`].
fn keyed_groups(df: &DataFrame) -> PolarsResult<Option<Vec<Group>>> {
    let kpi = df.column("kpi")?.str()?;
    let dept = df.column("department")?.str()?;
    let ids = df.column("item_id")?.str()?;
    let mut groups: Vec<Group> = Vec::new();
    // Neighbours mostly share a code and department: the last group is tried first.
    let mut last: Option<usize> = None;
    let rows = kpi.iter().zip(dept.iter()).zip(ids.iter()).enumerate();
    for (i, ((k, d), id)) in rows {
        let Some(k) = k else { continue };
        let Some(key) = id_key(id) else {
            return Ok(None);
        };
        let same = |g: &Group| g.0 .0 == k && g.0 .1.as_deref() == d;
        let g = match last {
            Some(g) if same(&groups[g]) => g,
            _ => match groups.iter().position(same) {
                Some(g) => g,
                None => {
                    groups.push(((k.to_string(), d.map(str::to_string)), Vec::new()));
                    groups.len() - 1
                }
            },
        };
        last = Some(g);
        groups[g].1.push((key, i as IdxSize));
    }
    Ok(Some(groups))
}

/// An item id as a number that sorts as its text does: its bytes, padded with zeros to
/// 15, then its length plus one, so a prefix sorts before a longer id and an empty id
/// (1) after a missing one (0). `None` for an id of more than 15 bytes.
fn id_key(id: Option<&str>) -> Option<u128> {
    let Some(id) = id else { return Some(0) };
    let bytes = id.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..bytes.len()].copy_from_slice(bytes);
    buf[15] = bytes.len() as u8 + 1;
    Some(u128::from_be_bytes(buf))
}

/// [`sort_items`] for ids too long for [`id_key`]: polars partitions by code and
/// department and sorts each part's ids as text.
fn sort_items_by_text(df: DataFrame) -> PolarsResult<Vec<(String, DataFrame)>> {
    let text = |p: &DataFrame, name: &str| -> PolarsResult<Option<String>> {
        Ok(p.column(name)?.str()?.get(0).map(str::to_string))
    };
    let mut keyed = Vec::new();
    for p in df.partition_by(["kpi", "department"], true)? {
        if let Some(code) = text(&p, "kpi")? {
            keyed.push(((code, text(&p, "department")?), p));
        }
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, DataFrame)> = Vec::new();
    for ((code, _), p) in keyed {
        let order = p.column("item_id")?.str()?.arg_sort(
            SortOptions::default()
                .with_nulls_last(false)
                .with_multithreaded(true),
        );
        let sorted = p.take(&order)?;
        match out.last_mut() {
            Some((last, acc)) if *last == code => {
                acc.vstack_mut(&sorted)?;
            }
            _ => out.push((code, sorted)),
        }
    }
    Ok(out)
}

/// The columns of an item, as every query's output is cast to.
fn item_schema() -> Schema {
    Schema::from_iter([
        Field::new("kpi".into(), DataType::String),
        Field::new("item_id".into(), DataType::String),
        Field::new("department".into(), DataType::String),
        Field::new("staff_id".into(), DataType::String),
        Field::new("period_year".into(), DataType::Int32),
        Field::new("period_month".into(), DataType::Int32),
        Field::new("num".into(), DataType::Float64),
        Field::new("den".into(), DataType::Float64),
    ])
}

/// Runs a lazy query on polars' streaming engine: it processes the Parquet scans in
/// morsels on every core and holds far less at once than the in-memory engine (1M
/// orders, a year's audit: 4.4 → 2.7 GB, 37 → 29 s; docs/performance.md). Row order is
/// not kept, so every result that reaches an output is sorted on a total key and sums
/// are kept in fixed point.
pub fn collect(lf: LazyFrame) -> PolarsResult<DataFrame> {
    // One plan has one sink, so the result is a single frame.
    lf.collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

/// Runs a query with its CTEs executed one by one, each registered as a table before
/// the next. polars runs a CTE body in an isolated context that loses user-defined
/// functions (the business clock); at top level they are kept. The result is the same
/// as running the query whole.
pub fn run_query(ctx: polars::sql::SQLContext, sql: &str) -> PolarsResult<LazyFrame> {
    Ok(run_query_capturing(ctx, sql, None)?.0)
}

/// [`run_query`], also returning the materialised CTE named `capture` (a rule's
/// `checked` population, for its pass rate).
pub fn run_query_capturing(
    mut ctx: polars::sql::SQLContext,
    sql: &str,
    capture: Option<&str>,
) -> PolarsResult<(LazyFrame, Option<DataFrame>)> {
    use sqlparser::ast::Statement;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::parser::Parser;
    let mut stmts =
        Parser::parse_sql(&GenericDialect, sql).map_err(|e| polars_err!(SQLSyntax: "{e}"))?;
    let Some(Statement::Query(mut q)) = stmts.pop() else {
        polars_bail!(SQLSyntax: "expected one SELECT query");
    };
    let mut captured = None;
    let mut result = None;
    let timing = std::env::var_os("LVYUE_TIMING_CTE").is_some();
    let report = |name: &str, t: std::time::Instant, df: &DataFrame| {
        if timing {
            eprintln!(
                "  cte {name}: {:.2} s, {} rows",
                t.elapsed().as_secs_f64(),
                df.height()
            );
        }
    };
    if let Some(with) = q.with.take() {
        let last = with.cte_tables.len().saturating_sub(1);
        for (i, cte) in with.cte_tables.into_iter().enumerate() {
            // Materialised once: a CTE referenced several times is not recomputed.
            let t = std::time::Instant::now();
            let name = cte.alias.name.value.as_str();
            if i == last
                && capture == Some(name)
                && q.to_string() == format!("SELECT * FROM {name} WHERE violated = 1")
            {
                if let Some((lean, violating)) = split_checked(&cte.query) {
                    let df = collect(ctx.execute(&lean.to_string())?)?;
                    report(&format!("{name} (without evidence)"), t, &df);
                    captured = Some(df);
                    result = Some(ctx.execute(&violating.to_string())?);
                    continue;
                }
            }
            let df = collect(ctx.execute(&cte.query.to_string())?)?;
            report(name, t, &df);
            if capture == Some(name) {
                captured = Some(df.clone());
            }
            ctx.register(name, df.lazy());
        }
    }
    match result {
        Some(lf) => Ok((lf, captured)),
        None => Ok((ctx.execute(&q.to_string())?, captured)),
    }
}

/// A rule's `checked` CTE split in two, when its result is `SELECT * FROM checked WHERE
/// violated = 1`: every item without its evidence (all the pass rates need), and the
/// violating items with it. The evidence formats timestamps as text, most of a rule's
/// `checked` time (R14 at 1M: 1.0–1.3 s of it, 0.02–0.05 s without), and polars
/// computes it for every row before filtering. Each branch of the CTE's `UNION ALL`
/// gets its own `violated` expression as a filter, so the violating items are the
/// same rows as filtering afterwards. `None` when the CTE is of another shape
/// (grouping, windows, DISTINCT, ordering): it then runs whole.
fn split_checked(
    query: &sqlparser::ast::Query,
) -> Option<(sqlparser::ast::Query, sqlparser::ast::Query)> {
    use sqlparser::ast::{GroupByExpr, SelectItem, SetExpr, SetOperator, SetQuantifier};
    let parse_expr = |text: &str| {
        sqlparser::parser::Parser::new(&sqlparser::dialect::GenericDialect)
            .try_with_sql(text)
            .ok()?
            .parse_expr()
            .ok()
    };
    // Rewrites every SELECT of a UNION ALL tree; false when some part cannot be.
    fn each_select(
        body: &mut SetExpr,
        f: &mut dyn FnMut(&mut sqlparser::ast::Select) -> bool,
    ) -> bool {
        match body {
            SetExpr::Select(s) => f(s),
            SetExpr::SetOperation {
                op: SetOperator::Union,
                set_quantifier: SetQuantifier::All,
                left,
                right,
            } => each_select(left, f) && each_select(right, f),
            _ => false,
        }
    }
    if query.with.is_some()
        || query.order_by.is_some()
        || query.limit_clause.is_some()
        || query.fetch.is_some()
    {
        return None;
    }
    let named = |item: &SelectItem, name: &str| -> Option<sqlparser::ast::Expr> {
        match item {
            SelectItem::ExprWithAlias { expr, alias } if alias.value == name => Some(expr.clone()),
            SelectItem::UnnamedExpr(e @ sqlparser::ast::Expr::Identifier(i)) if i.value == name => {
                Some(e.clone())
            }
            _ => None,
        }
    };
    let plain = |s: &sqlparser::ast::Select| {
        s.distinct.is_none()
            && s.having.is_none()
            && s.qualify.is_none()
            && matches!(&s.group_by, GroupByExpr::Expressions(v, m) if v.is_empty() && m.is_empty())
            && !s.to_string().to_ascii_uppercase().contains(" OVER ")
    };
    let mut lean = query.clone();
    let ok = each_select(&mut lean.body, &mut |s| {
        if !plain(s) {
            return false;
        }
        let Some(i) = s
            .projection
            .iter()
            .position(|p| named(p, "evidence").is_some())
        else {
            return false;
        };
        match parse_expr("CAST(NULL AS STRING)") {
            Some(null) => {
                s.projection[i] = SelectItem::ExprWithAlias {
                    expr: null,
                    alias: sqlparser::ast::Ident::new("evidence"),
                };
                true
            }
            None => false,
        }
    });
    if !ok {
        return None;
    }
    let mut violating = query.clone();
    let ok = each_select(&mut violating.body, &mut |s| {
        let Some(v) = s.projection.iter().find_map(|p| named(p, "violated")) else {
            return false;
        };
        let cond = match &s.selection {
            Some(w) => format!("({w}) AND (({v}) = 1)"),
            None => format!("({v}) = 1"),
        };
        match parse_expr(&cond) {
            Some(e) => {
                s.selection = Some(e);
                true
            }
            None => false,
        }
    });
    ok.then_some((lean, violating))
}

/// Casts a query's output to the item schema (so every query's items stack) and keeps
/// the items of the period's months, as part of the query's own plan: done on the
/// collected frame, it was one more copy of every item ([`sort_items`] then sorts them).
fn normalise_items(lf: LazyFrame, months: &[(i32, u32)]) -> LazyFrame {
    // The period's reported months are consecutive: keep items between the first and last.
    let idx = |(y, m): (i32, u32)| y * 12 + m as i32;
    let (lo, hi) = match (months.first(), months.last()) {
        (Some(a), Some(b)) => (idx(*a), idx(*b)),
        _ => (1, 0),
    };
    let month_index = col("period_year") * lit(12) + col("period_month");
    lf.select(
        item_schema()
            .iter()
            .map(|(name, dtype)| col(name.clone()).cast(dtype.clone()))
            .collect::<Vec<_>>(),
    )
    .filter(
        month_index
            .clone()
            .gt_eq(lit(lo))
            .and(month_index.lt_eq(lit(hi))),
    )
}

/// Months from the earliest one any table's own time falls in, up to the month that
/// contains `as_of − 1 s` (the spec's "reported periods").
pub fn reported_months(lake: &Lake, as_of: NaiveDateTime) -> Vec<(i32, u32)> {
    let first = lake
        .manifest
        .tables
        .values()
        .flat_map(|t| t.files.iter())
        .filter_map(|f| f.year.zip(f.month))
        .min();
    let last_instant = as_of - chrono::Duration::seconds(1);
    let last = (last_instant.year(), last_instant.month());
    let mut out = Vec::new();
    if let Some(mut cur) = first {
        while cur <= last {
            out.push(cur);
            cur = if cur.1 == 12 {
                (cur.0 + 1, 1)
            } else {
                (cur.0, cur.1 + 1)
            };
        }
    }
    out
}

/// 95% Wilson score interval of `k` successes in `n` trials.
pub fn wilson(k: f64, n: f64) -> Option<(f64, f64)> {
    if n <= 0.0 {
        return None;
    }
    let z = 1.959_963_984_540_054_f64;
    let p = k / n;
    let z2 = z * z;
    let denom = 1.0 + z2 / n;
    let centre = (p + z2 / (2.0 * n)) / denom;
    let half = z * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
    // At p = 0 or 1 the bound is exactly 0 or 1; floating point would give 1e-17 off.
    let lo = if k <= 0.0 {
        0.0
    } else {
        (centre - half).max(0.0)
    };
    let hi = if k >= n {
        1.0
    } else {
        (centre + half).min(1.0)
    };
    Some((lo, hi))
}

/// Sums are kept in fixed point, ten-thousandths: every item value is a count, a
/// score or money (two decimals), so each converts exactly and the sum is the same
/// whatever order the items arrive in — floating-point sums are not, and the streaming
/// engine and the shards deliver items in varying order.
const FIXED: f64 = 10_000.0;

fn fixed_value(v: f64) -> i64 {
    // Rounded half away from zero; `as` truncates toward zero (and saturates).
    let scaled = v * FIXED;
    if scaled >= 0.0 {
        (scaled + 0.5) as i64
    } else {
        (scaled - 0.5) as i64
    }
}

#[derive(Default, Clone, Copy)]
struct Acc {
    num: i64,
    den: i64,
    items: u64,
}

impl Acc {
    fn add(&mut self, other: &Acc) {
        self.num += other.num;
        self.den += other.den;
        self.items += other.items;
    }
}

type Sums = BTreeMap<(String, &'static str, String, String), Acc>;

/// One query's items summed per department, person, KPI and month.
struct Sum {
    kpi: String,
    department: Option<String>,
    staff_id: Option<String>,
    year: i32,
    month: i32,
    acc: Acc,
}

/// Sums one query's items, already split by KPI code, per department, person and month.
/// One pass over the columns: a polars group-by on the five keys took a tenth of a 1M
/// run's query time (docs/performance.md, "tenth pass").
fn part_sums(parts: &[(String, DataFrame)]) -> PolarsResult<Vec<Sum>> {
    let mut out = Vec::new();
    for (code, df) in parts {
        let dept = df.column("department")?.str()?;
        let staff = df.column("staff_id")?.str()?;
        let years = df.column("period_year")?.i32()?;
        let months = df.column("period_month")?.i32()?;
        let nums = df.column("num")?.f64()?;
        let dens = df.column("den")?.f64()?;
        type Key<'a> = (Option<&'a str>, Option<&'a str>, i32, i32);
        // Items come by department and id, and ids follow the order of time, so
        // neighbours mostly share a key: a run of equal keys is summed before it is
        // looked up (hashing every item's key with the standard hasher took a twentieth
        // of a 10M run's CPU).
        let mut by: PlHashMap<Key, Acc> = PlHashMap::new();
        let mut run: Option<(Key, Acc)> = None;
        let rows = dept
            .iter()
            .zip(staff.iter())
            .zip(years.iter().zip(months.iter()))
            .zip(nums.iter().zip(dens.iter()));
        for (((d, p), (y, m)), (num, den)) in rows {
            // A month is never missing after normalise_items' filter, which drops NULLs.
            let (Some(y), Some(m)) = (y, m) else { continue };
            let key = (d, p, y, m);
            let a = match &mut run {
                Some((k, a)) if *k == key => a,
                _ => {
                    if let Some((k, a)) = run.replace((key, Acc::default())) {
                        by.entry(k).or_default().add(&a);
                    }
                    &mut run.as_mut().expect("just set").1
                }
            };
            a.num += num.map_or(0, fixed_value);
            a.den += den.map_or(0, fixed_value);
            a.items += 1;
        }
        if let Some((k, a)) = run {
            by.entry(k).or_default().add(&a);
        }
        out.extend(by.into_iter().map(|((d, p, year, month), acc)| Sum {
            kpi: code.clone(),
            department: d.map(str::to_string),
            staff_id: p.map(str::to_string),
            year,
            month,
            acc,
        }));
    }
    Ok(out)
}

/// Adds one query's [`part_sums`] to the run's: company, department and person rows
/// and the year. A person's K1 pools the items of every view (several queries).
fn add_sums(sums: &[Sum], period: Period, acc: &mut Sums) {
    for s in sums {
        let mut scoped: Vec<(&'static str, String)> = Vec::new();
        match &s.department {
            None => scoped.push(("company", "all".to_string())),
            Some(d) => {
                scoped.push(("department", d.clone()));
                if let Some(p) = &s.staff_id {
                    scoped.push(("staff", p.clone()));
                }
            }
        }
        let mut labels = vec![format!("{}-{:02}", s.year, s.month)];
        if matches!(period, Period::Year(_)) {
            labels.push(s.year.to_string());
        }
        for label in &labels {
            for (kind, scope) in &scoped {
                acc.entry((label.clone(), kind, scope.clone(), s.kpi.clone()))
                    .or_default()
                    .add(&s.acc);
            }
        }
    }
}

/// Turns the sums into metric rows, adding the empty months and computing rates.
fn finish_rows(
    mut acc: Sums,
    period: Period,
    months: &[(i32, u32)],
    min_sample: u64,
) -> Result<Vec<MetricRow>> {
    // Company and department figures get a row in every month of the period even when
    // the month had no items (0 / 0, no rate): a missing row would read as "not computed".
    let mut labels: Vec<String> = months.iter().map(|(y, m)| format!("{y}-{m:02}")).collect();
    if let (Period::Year(y), false) = (period, months.is_empty()) {
        labels.push(y.to_string());
    }
    let mut combos: Vec<(&'static str, String, String)> = Vec::new();
    for q in queries::metrics() {
        for scope in q.list("scopes") {
            for code in q.list("codes") {
                let c = match scope {
                    "company" => ("company", "all".to_string(), code.to_string()),
                    dept => ("department", dept.to_string(), code.to_string()),
                };
                if !combos.contains(&c) {
                    combos.push(c);
                }
            }
        }
    }
    for (_, kind, scope, kpi) in acc.keys() {
        if *kind != "staff" && !combos.contains(&(*kind, scope.clone(), kpi.clone())) {
            combos.push((kind, scope.clone(), kpi.clone()));
        }
    }
    for label in &labels {
        for (kind, scope, kpi) in &combos {
            acc.entry((label.clone(), kind, scope.clone(), kpi.clone()))
                .or_default();
        }
    }
    Ok(acc
        .into_iter()
        .map(|((period, kind, scope, kpi), sums)| {
            let (num, den) = (sums.num as f64 / FIXED, sums.den as f64 / FIXED);
            let volume = VOLUMES.contains(&kpi.as_str());
            let denominator = (!volume).then_some(den);
            let rate = if volume {
                Some(num)
            } else if den > 0.0 && PER_100.contains(&kpi.as_str()) {
                Some(100.0 * num / den)
            } else if den > 0.0 {
                Some(num / den)
            } else {
                None
            };
            let ci = if volume || NOT_PROPORTIONS.contains(&kpi.as_str()) {
                None
            } else {
                wilson(num, den)
            };
            MetricRow {
                period,
                scope_kind: kind.to_string(),
                scope,
                kpi,
                numerator: num,
                denominator,
                rate,
                ci_low: ci.map(|c| c.0),
                ci_high: ci.map(|c| c.1),
                // Volumes are counts, not samples.
                sample_ok: volume || sums.items >= min_sample,
                items: sums.items,
            }
        })
        .collect())
}

/// The `metrics` rows as a frame with the spec's columns.
pub fn to_frame(rows: &[MetricRow]) -> Result<DataFrame> {
    let n = rows.len();
    let cols = vec![
        Column::new(
            "period".into(),
            rows.iter().map(|r| r.period.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "scope_kind".into(),
            rows.iter()
                .map(|r| r.scope_kind.clone())
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "scope".into(),
            rows.iter().map(|r| r.scope.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "kpi".into(),
            rows.iter().map(|r| r.kpi.clone()).collect::<Vec<_>>(),
        ),
        Column::new(
            "numerator".into(),
            rows.iter().map(|r| r.numerator).collect::<Vec<_>>(),
        ),
        Column::new(
            "denominator".into(),
            rows.iter().map(|r| r.denominator).collect::<Vec<_>>(),
        ),
        Column::new(
            "rate".into(),
            rows.iter().map(|r| r.rate).collect::<Vec<_>>(),
        ),
        Column::new(
            "ci_low".into(),
            rows.iter().map(|r| r.ci_low).collect::<Vec<_>>(),
        ),
        Column::new(
            "ci_high".into(),
            rows.iter().map(|r| r.ci_high).collect::<Vec<_>>(),
        ),
        Column::new(
            "sample_ok".into(),
            rows.iter().map(|r| r.sample_ok).collect::<Vec<_>>(),
        ),
    ];
    DataFrame::new(n, cols).context(|| "building the metrics table".into())
}

fn num_text(v: f64) -> String {
    // Shortest text that reads back as the same double; integers without ".0".
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The Parquet metadata of the metrics files: period, as-of, policy fingerprint.
fn output_metadata(
    period: Period,
    as_of: NaiveDateTime,
    fingerprint: &str,
) -> Vec<(String, String)> {
    vec![
        ("lvyue.period".to_string(), period.label()),
        (
            "lvyue.as_of".to_string(),
            as_of.format("%Y-%m-%d %H:%M:%S").to_string(),
        ),
        (
            "lvyue.policy_fingerprint".to_string(),
            fingerprint.to_string(),
        ),
    ]
}

/// Writes `metrics.csv`, `metrics.parquet`, `metric_items.parquet` and `metrics.json`
/// (period, as-of, policy fingerprint) into `out`.
pub fn write(m: &Metrics, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).at(out)?;
    let csv_path = out.join("metrics.csv");
    let mut w = csv::Writer::from_path(&csv_path).map_err(|e| Error::Io {
        path: csv_path.clone(),
        source: e.into(),
    })?;
    let io = |e: csv::Error| Error::Io {
        path: csv_path.clone(),
        source: e.into(),
    };
    w.write_record(METRICS_COLUMNS).map_err(io)?;
    let opt = |v: Option<f64>| v.map(num_text).unwrap_or_default();
    for r in &m.rows {
        w.write_record([
            r.period.clone(),
            r.scope_kind.clone(),
            r.scope.clone(),
            r.kpi.clone(),
            num_text(r.numerator),
            opt(r.denominator),
            opt(r.rate),
            opt(r.ci_low),
            opt(r.ci_high),
            r.sample_ok.to_string(),
        ])
        .map_err(io)?;
    }
    w.flush().at(&csv_path)?;
    let kv = output_metadata(m.period, m.as_of, &m.policy_fingerprint);
    let pq = out.join("metrics.parquet");
    crate::lake::write::write_parquet_file(&mut to_frame(&m.rows)?, &pq, kv)?;
    let timing = std::env::var_os("LVYUE_TIMING").is_some();
    let t = std::time::Instant::now();
    let items_path = out.join("metric_items.parquet");
    m.items.write(&items_path)?;
    if timing {
        eprintln!("write items: {:.2} s", t.elapsed().as_secs_f64());
    }
    let meta = out.join("metrics.json");
    let body = serde_json::json!({
        "period": m.period.label(),
        "as_of": m.as_of.format("%Y-%m-%d %H:%M:%S").to_string(),
        "policy_fingerprint": m.policy_fingerprint,
        "rows": m.rows.len(),
        "files_read": m.files_read,
        "shards": m.shards,
    });
    std::fs::write(
        &meta,
        serde_json::to_string_pretty(&body).expect("json") + "\n",
    )
    .at(&meta)?;
    Ok(vec![csv_path, pq, items_path, meta])
}

/// The query with the policy's values, its SLA deadlines on the policy's clock.
pub fn render_for_clock(
    q: &queries::Query,
    policy: &Policy,
    params: &BTreeMap<&'static str, String>,
) -> Result<String> {
    match policy.sla.clock {
        Clock::Calendar => q.render(params),
        Clock::Business => {
            let template = clock::rewrite_for_business_clock(q.file, q.sql)?;
            queries::render(q.file, &template, params)
        }
    }
}

/// Writes `00_views.duckdb.sql` and each of `which` rendered with the policy's values (in
/// the portable form, as `queries/` holds it) into `dir`.
pub fn emit_sql(
    lake: &Lake,
    policy: &Policy,
    period: Period,
    as_of: NaiveDateTime,
    dir: &Path,
    which: Vec<queries::Query>,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).at(dir)?;
    let mut out = Vec::new();
    let views = dir.join("00_views.duckdb.sql");
    let first_month = period.lookback_start(policy.lookback_months);
    std::fs::write(&views, stage::duckdb_views(lake, first_month, as_of)).at(&views)?;
    out.push(views);
    let params = sql_params(policy, as_of);
    // A query over a table lvyue computes in Rust (R21's notice checks) has no DuckDB view.
    for q in which.into_iter().filter(|q| q.get("rust").is_empty()) {
        let name = q.file.rsplit('/').next().unwrap_or(q.file);
        let p = dir.join(name);
        let mut sql = render_for_clock(&q, policy, &params)?;
        if policy.sla.clock == Clock::Business {
            sql = format!("-- sla.clock = business: business_add(ts, hours) is lvyue's Rust function (src/metrics/clock.rs)\n{sql}");
        }
        std::fs::write(&p, sql).at(&p)?;
        out.push(p);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(sql: &str) -> sqlparser::ast::Query {
        use sqlparser::ast::Statement;
        let mut stmts =
            sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect, sql).unwrap();
        match stmts.pop() {
            Some(Statement::Query(q)) => *q,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn checked_is_split_into_items_without_evidence_and_violations_with_it() {
        let q = query(
            "SELECT a AS at, CASE WHEN x > 1 THEN 1 ELSE 0 END AS violated, 'x ' || CAST(x AS STRING) AS evidence FROM t WHERE y IS NOT NULL \
             UNION ALL SELECT b AS at, violated, 'none' AS evidence FROM u",
        );
        let (lean, violating) = split_checked(&q).unwrap();
        assert_eq!(
            lean.to_string(),
            "SELECT a AS at, CASE WHEN x > 1 THEN 1 ELSE 0 END AS violated, CAST(NULL AS STRING) AS evidence FROM t WHERE y IS NOT NULL \
             UNION ALL SELECT b AS at, violated, CAST(NULL AS STRING) AS evidence FROM u"
        );
        assert_eq!(
            violating.to_string(),
            "SELECT a AS at, CASE WHEN x > 1 THEN 1 ELSE 0 END AS violated, 'x ' || CAST(x AS STRING) AS evidence FROM t WHERE (y IS NOT NULL) AND ((CASE WHEN x > 1 THEN 1 ELSE 0 END) = 1) \
             UNION ALL SELECT b AS at, violated, 'none' AS evidence FROM u WHERE (violated) = 1"
        );
        // Shapes where filtering first could change the rows: run whole.
        for sql in [
            "SELECT k, MAX(v) AS violated, 'e' AS evidence FROM t GROUP BY k",
            "SELECT DISTINCT v AS violated, 'e' AS evidence FROM t",
            "SELECT v AS violated, 'e' AS evidence FROM t UNION SELECT v AS violated, 'f' AS evidence FROM u",
            "SELECT ROW_NUMBER() OVER (ORDER BY a) AS violated, 'e' AS evidence FROM t",
            "SELECT v AS violated FROM t",
        ] {
            assert!(split_checked(&query(sql)).is_none(), "{sql}");
        }
        // Every rule's checked takes the split path.
        for r in crate::queries::rules()
            .iter()
            .filter(|r| r.get("rust").is_empty())
        {
            let sql = crate::queries::for_polars(r.sql);
            let q = query(&sql.replace(['{', '}'], ""));
            let with = q.with.as_ref().unwrap();
            let checked = with.cte_tables.last().unwrap();
            assert_eq!(checked.alias.name.value, "checked", "{}", r.file);
            assert!(split_checked(&checked.query).is_some(), "{}", r.file);
        }
    }

    #[test]
    fn periods() {
        assert_eq!(Period::parse("2025-05"), Ok(Period::Month(2025, 5)));
        assert_eq!(Period::parse("2025"), Ok(Period::Year(2025)));
        assert!(Period::parse("2025-13").is_err());
        assert!(Period::parse("May").is_err());
        assert_eq!(
            Period::Month(2025, 12).end().to_string(),
            "2026-01-01 00:00:00"
        );
        assert_eq!(Period::Year(2025).end().to_string(), "2026-01-01 00:00:00");
        assert_eq!(Period::Month(2025, 4).label(), "2025-04");
        assert_eq!(Period::Month(2025, 5).lookback_start(3), (2025, 2));
        assert_eq!(Period::Month(2025, 2).lookback_start(3), (2024, 11));
        assert_eq!(Period::Year(2025).lookback_start(0), (2025, 1));
    }

    #[test]
    fn item_file_row_groups_count_their_own_empty_values() {
        // Half the items without a department or person, over several row groups: the
        // counts DuckDB trusts must be each row group's own.
        let n = 600_000usize;
        let dept: Vec<Option<&str>> = (0..n)
            .map(|i| (i >= n / 2).then_some("warehouse"))
            .collect();
        let df = df!(
            "kpi" => vec!["K4"; n],
            "item_id" => (0..n).map(|i| format!("IC{i:09}")).collect::<Vec<_>>(),
            "department" => dept.clone(),
            "staff_id" => dept.clone(),
            "period_year" => vec![2025i32; n],
            "period_month" => vec![1i32; n],
            "num" => vec![1.0f64; n],
            "den" => vec![1.0f64; n],
        )
        .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("items.parquet");
        let mut writer = item_writer(&path, Vec::new()).unwrap();
        write_rows(&mut writer, &df).unwrap();
        writer.finish().unwrap();
        let md = ParquetReader::new(std::fs::File::open(&path).unwrap())
            .get_metadata()
            .unwrap()
            .clone();
        assert!(md.row_groups.len() > 2);
        let mut start = 0;
        for rg in &md.row_groups {
            let rows = rg.num_rows();
            let empty = dept[start..start + rows]
                .iter()
                .filter(|d| d.is_none())
                .count();
            for column in ["department", "staff_id"] {
                let chunk = rg.columns_under_root_iter(column).unwrap().next().unwrap();
                let counted = match chunk.statistics(&md.footer_buf).unwrap().unwrap() {
                    polars_parquet::parquet::statistics::Statistics::Binary(s) => s.null_count,
                    other => panic!("{column}: {other:?}"),
                };
                assert_eq!(counted, Some(empty as i64), "{column} at row {start}");
            }
            start += rows;
        }
        assert_eq!(start, n);
    }

    #[test]
    fn items_split_by_code_then_sort_by_department_then_id_empty_first() {
        let df = df!(
            "kpi" => [Some("K2"), Some("K2"), Some("K2"), Some("K1"), Some("K2"), Some("K2"), None, Some("K2"), Some("K1")],
            "item_id" => [Some("O2"), Some("O1"), None, Some("O9"), Some("O10"), Some("O3"), Some("O0"), Some("O1"), Some("O4")],
            "department" => [Some("sales"), Some("warehouse"), Some("sales"), Some("sales"), Some("sales"), None, None, Some("sales"), Some("sales")],
        )
        .unwrap();
        let got = sort_items(df).unwrap();
        let codes: Vec<&str> = got.iter().map(|(c, _)| c.as_str()).collect();
        // The item without a code counts in no figure and is not kept.
        assert_eq!(codes, ["K1", "K2"]);
        let pairs = |df: &DataFrame| -> Vec<(Option<String>, Option<String>)> {
            let text = |n: &str| crate::frame::texts(df, n).unwrap();
            text("department")
                .into_iter()
                .zip(text("item_id"))
                .collect()
        };
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            pairs(&got[0].1),
            [(s("sales"), s("O4")), (s("sales"), s("O9"))]
        );
        assert_eq!(
            pairs(&got[1].1),
            [
                (None, s("O3")),
                (s("sales"), None),
                (s("sales"), s("O1")),
                (s("sales"), s("O10")),
                (s("sales"), s("O2")),
                (s("warehouse"), s("O1")),
            ]
        );
    }

    #[test]
    fn id_keys_sort_as_the_ids_text_does() {
        // Missing first, then empty, then by bytes: a prefix before a longer id, a NUL
        // byte after the end of a shorter id, multi-byte text by its bytes.
        let ids = [
            None,
            Some(""),
            Some("\0"),
            Some("A"),
            Some("A\0"),
            Some("A\0\0"),
            Some("A\u{1}"),
            Some("AB"),
            Some("SO000000009"),
            Some("SO000000009#1"),
            Some("SO000000010"),
            Some("SO00000001\u{e9}"),
            Some("ZZZZZZZZZZZZZZZ"),
            Some("\u{7f}"),
            Some("\u{e9}"),
            Some("\u{10ffff}\u{10ffff}\u{10ffff}"),
        ];
        let keys: Vec<u128> = ids.iter().map(|id| id_key(*id).unwrap()).collect();
        for w in keys.windows(2) {
            assert!(w[0] < w[1], "{w:?}");
        }
        let mut by_text = ids.to_vec();
        by_text.sort();
        assert_eq!(by_text, ids, "the list above is in text order");
        assert_eq!(id_key(Some("0123456789ABCDEF")), None, "16 bytes");
    }

    #[test]
    fn items_with_a_long_id_are_sorted_as_text_the_same_way() {
        // Equal ids keep their order (the staff tell them apart), as a stable sort.
        let df = |last: &str| {
            df!(
                "kpi" => [Some("K2"), Some("K2"), Some("K1"), Some("K2"), Some("K2"), Some("K2")],
                "item_id" => [Some("O2"), Some("O1"), Some("O9"), None, Some("O1"), Some(last)],
                "department" => [Some("cs"), Some("cs"), None, Some("cs"), Some("cs"), None],
                "staff_id" => [Some("a"), Some("b"), Some("c"), Some("d"), Some("e"), Some("f")],
            )
            .unwrap()
        };
        let rows = |parts: Vec<(String, DataFrame)>| -> Vec<(String, Vec<Option<String>>)> {
            parts
                .into_iter()
                .map(|(code, df)| (code, crate::frame::texts(&df, "staff_id").unwrap()))
                .collect()
        };
        let s = |v: &str| Some(v.to_string());
        let want = [
            ("K1".to_string(), vec![s("c")]),
            (
                "K2".to_string(),
                vec![s("f"), s("d"), s("b"), s("e"), s("a")],
            ),
        ];
        // "O0" takes the keys; sixteen bytes take polars' text sort.
        assert_eq!(rows(sort_items(df("O0")).unwrap()), want);
        assert_eq!(rows(sort_items(df("O0000000000000000")).unwrap()), want);
        assert_eq!(rows(sort_items_by_text(df("O0")).unwrap()), want);
    }

    #[test]
    fn sums_are_per_department_person_and_month_in_fixed_point() {
        let df = df!(
            "kpi" => ["K1"; 6],
            "item_id" => ["a", "b", "c", "d", "e", "f"],
            "department" => [Some("cs"), Some("cs"), Some("cs"), Some("cs"), None, Some("cs")],
            "staff_id" => [Some("p"), Some("p"), Some("q"), Some("p"), None, Some("p")],
            "period_year" => [2025i32, 2025, 2025, 2025, 2025, 2025],
            "period_month" => [5i32, 5, 5, 6, 5, 5],
            "num" => [Some(1.23456), Some(-0.00004), Some(1.0), Some(0.5), Some(2.0), None],
            "den" => [1.0, 1.0, 1.0, 1.0, 1.0, 1.0],
        )
        .unwrap();
        type Row = (Option<String>, Option<String>, i32, i64, i64, u64);
        let mut got: Vec<Row> = part_sums(&[("K1".to_string(), df)])
            .unwrap()
            .into_iter()
            .map(|s| {
                assert_eq!((s.kpi.as_str(), s.year), ("K1", 2025));
                (
                    s.department,
                    s.staff_id,
                    s.month,
                    s.acc.num,
                    s.acc.den,
                    s.acc.items,
                )
            })
            .collect();
        got.sort();
        let s = |v: &str| Some(v.to_string());
        // p in May: 1.23456 → 12346 (rounded half away from zero), −0.00004 → 0 (−0.4
        // rounds to 0), a missing value adds nothing but counts as an item.
        assert_eq!(
            got,
            [
                (None, None, 5, 20000, 10000, 1),
                (s("cs"), s("p"), 5, 12346, 30000, 3),
                (s("cs"), s("p"), 6, 5000, 10000, 1),
                (s("cs"), s("q"), 5, 10000, 10000, 1),
            ]
        );
        assert_eq!(fixed_value(-1.23456), -12346);
        assert_eq!(fixed_value(0.00005), 1);
    }

    #[test]
    fn wilson_matches_hand_computation() {
        // 28 of 29: p = 0.965517, z² = 3.841459; centre = (p + z²/58)/(1 + z²/29)
        // = 1.031749/1.132464 = 0.911066; half = z·sqrt(p(1−p)/29 + z²/3364)/(1 + z²/29)
        // = 1.959964 × 0.047854/1.132464 = 0.082821 (worked by hand): 0.8282 to 0.9939.
        let (lo, hi) = wilson(28.0, 29.0).unwrap();
        assert!((lo - 0.8282).abs() < 1e-4, "{lo}");
        assert!((hi - 0.9939).abs() < 1e-4, "{hi}");
        let (lo, hi) = wilson(0.0, 10.0).unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.2775).abs() < 1e-4, "{hi}");
        assert_eq!(wilson(0.0, 0.0), None);
    }
}
