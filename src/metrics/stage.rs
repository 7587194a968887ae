//! The lake as seen at as-of, registered as SQL tables for the KPI and rule queries.
//!
//! The spec's as-of reading, applied once here so no query repeats it: a row whose own
//! time is after as-of does not exist yet; any other timestamp after as-of is empty; an
//! order whose cancellation lies after as-of is still active. Partitions that start after
//! the as-of month are not read at all. `activity_ranks` gives each activity its
//! tie-break rank (the contract's activity order).
//!
//! A large lake is audited in shards: disjoint ranges of `order_id`, each holding every
//! row of its orders (see [`Shard`]), so the plans of one shard at a time fit in memory.
//! A month's audit may also leave out the orders that cannot reach the month
//! ([`Staged::keep_orders`]); each shard then holds its kept rows in memory.

use std::sync::Arc;

use chrono::{Datelike, NaiveDateTime};
use polars::prelude::*;
use polars::sql::SQLContext;

use super::keys::{kept_by, KeySet};

use crate::error::{PolarsContext, Result};
use crate::ingest::contract::{ColType, ACTIVITIES, TABLES};
use crate::ingest::parse::{days_since_epoch, micros_of};
use crate::lake::Lake;

/// Whether a run reads a lake file: unpartitioned files always; partitions from the
/// look-back start up to the as-of month, except those whose earliest row (the
/// manifest's statistics) is after as-of — they hold only rows that do not exist yet.
fn in_window(
    f: &crate::lake::manifest::DataFile,
    first_month: (i32, u32),
    last_month: (i32, u32),
    as_of_text: &str,
) -> bool {
    let months = f
        .year
        .zip(f.month)
        .is_none_or(|p| first_month <= p && p <= last_month);
    let started = f.min_time.as_deref().is_none_or(|t| t <= as_of_text);
    months && started
}

/// Tables are staged as Parquet scans: each query reads only the columns it needs, so
/// a year's run holds far less at once (1M orders: 4.3 GB instead of 7.8 GB, same
/// time; docs/performance.md). `LVYUE_STAGE=eager` reads every table into memory once
/// instead — a measuring knob for the benchmarks, not a user setting.
fn scan_mode() -> bool {
    std::env::var("LVYUE_STAGE").map_or(true, |v| v != "eager")
}

fn scan_files(
    lake: &Lake,
    t: &crate::ingest::contract::Table,
    files: &[crate::lake::manifest::DataFile],
) -> Result<LazyFrame> {
    let paths = files
        .iter()
        .map(|f| PlRefPath::try_from_path(&lake.root.join(&f.path)))
        .collect::<PolarsResult<Vec<_>>>()
        .context(|| format!("paths of {}", t.name))?;
    let args = ScanArgsParquet {
        schema: Some(std::sync::Arc::new(crate::lake::schema(t))),
        hive_options: HiveOptions {
            enabled: Some(false),
            ..Default::default()
        },
        ..Default::default()
    };
    LazyFrame::scan_parquet_sources(ScanSources::Paths(paths.into_iter().collect()), args)
        .context(|| format!("scanning {}", t.name))
}

/// The staged tables and the functions the queries may call.
#[derive(Clone)]
pub struct Staged {
    tables: Vec<(String, LazyFrame)>,
    /// Rows of `orders` in the files read (the manifest's count), to size the shards.
    order_rows: u64,
    /// Lake files read, relative to the lake root (for tracing and the pruning test).
    pub files_read: Vec<String>,
    registry: Option<std::sync::Arc<dyn polars::sql::FunctionRegistry>>,
    /// The orders judged, when a month's audit leaves some out ([`Staged::keep_orders`]).
    kept: Option<Kept>,
}

/// What each shard reads into memory: its share of the rows of the orders judged
/// (a month's audit, [`Staged::keep_orders`]) or of every order
/// ([`Staged::held`]), only the columns the queries name per table.
#[derive(Clone)]
struct Kept {
    /// Sorted, unique; `None`: every order of the window.
    ids: Option<StringChunked>,
    columns: Vec<(String, Vec<Expr>)>,
}

impl Staged {
    /// A fresh SQL context over the staged tables: each query gets its own, so the
    /// names of one query's CTEs never reach another.
    pub fn context(&self) -> SQLContext {
        let ctx = match &self.registry {
            Some(r) => SQLContext::new().with_function_registry(r.clone()),
            None => SQLContext::new(),
        };
        for (name, lf) in &self.tables {
            ctx.register(name, lf.clone());
        }
        ctx
    }
}

/// Stages the lake at `as_of`: one table per contract table, plus `activity_ranks`, and
/// the business-clock function when the policy uses it. The shared models come with
/// each shard ([`Staged::shard`]).
pub fn stage(
    lake: &Lake,
    first_month: (i32, u32),
    as_of: NaiveDateTime,
    registry: Option<std::sync::Arc<dyn polars::sql::FunctionRegistry>>,
) -> Result<Staged> {
    let mut tables = Vec::new();
    let mut files_read = Vec::new();
    let mut order_rows = 0;
    let as_of_text = as_of.format("%Y-%m-%d %H:%M:%S").to_string();
    let us = micros_of(as_of);
    let last = (as_of.year(), as_of.month());
    for t in TABLES {
        // Files of months after the as-of month hold only rows that do not exist yet;
        // files before the look-back window are not read (policy `lookback_months`).
        let files: Vec<_> = lake
            .manifest
            .table_files(t.name)
            .iter()
            .filter(|f| in_window(f, first_month, last, &as_of_text))
            .cloned()
            .collect();
        files_read.extend(files.iter().map(|f| f.path.clone()));
        if t.name == "orders" {
            order_rows = files.iter().map(|f| f.rows).sum();
        }
        let mut lf = if scan_mode() && !files.is_empty() {
            scan_files(lake, t, &files)?
        } else {
            lake.read_files(t, &files, None)?.lazy()
        };
        if let Some(tc) = t.time_column {
            lf = lf.filter(col(tc).cast(DataType::Int64).lt_eq(lit(us)));
        }
        let ts_dtype = DataType::Datetime(TimeUnit::Microseconds, None);
        let mut exprs: Vec<Expr> = Vec::new();
        for c in t.columns {
            if c.ty == ColType::Timestamp && Some(c.name) != t.time_column {
                exprs.push(
                    when(col(c.name).cast(DataType::Int64).gt(lit(us)))
                        .then(lit(NULL).cast(ts_dtype.clone()))
                        .otherwise(col(c.name))
                        .alias(c.name),
                );
            }
        }
        if t.name == "orders" {
            // Cancelled after as-of: not cancelled yet. Uses the raw cancelled_at, so
            // this runs before the column is emptied.
            exprs.push(
                when(
                    col("status")
                        .eq(lit("cancelled"))
                        .and(col("cancelled_at").cast(DataType::Int64).gt(lit(us))),
                )
                .then(lit("active"))
                .otherwise(col("status"))
                .alias("status"),
            );
        }
        if !exprs.is_empty() {
            lf = lf.with_columns(exprs);
        }
        tables.push((t.name.to_string(), lf));
    }
    let ranks = DataFrame::new(
        ACTIVITIES.len(),
        vec![
            Column::new("activity".into(), ACTIVITIES.to_vec()),
            Column::new(
                "activity_rank".into(),
                (0..ACTIVITIES.len() as i64).collect::<Vec<_>>(),
            ),
        ],
    )
    .context(|| "activity ranks".into())?;
    tables.push(("activity_ranks".to_string(), ranks.lazy()));
    Ok(Staged {
        tables,
        order_rows,
        files_read,
        registry,
        kept: None,
    })
}

/// How a table's rows are split between shards. Every row of a fact table lands in
/// exactly one shard, and every row an order's checks read lands in that order's
/// shard: so a query whose output rows each come from one order's rows (or from one
/// row of a table without orders) gives, shard by shard, exactly its whole-lake rows.
/// Every KPI and rule query is of that kind; `tests/it/shards.rs` checks it.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Split {
    /// By the row's `order_id`; rows without one go to the first shard.
    Order,
    /// By the shipment's order: only joined through `shipments`.
    Shipment,
    /// A fact table without orders (inventory counts): wholly in the first shard.
    First,
    /// A lookup table (staff, rectification responses): in every shard.
    Every,
}

/// The split of a staged table by its name (models and `activity_ranks`: every shard).
fn split_named(name: &str) -> Split {
    crate::ingest::contract::table(name).map_or(Split::Every, split_of)
}

fn split_of(t: &crate::ingest::contract::Table) -> Split {
    if t.columns.iter().any(|c| c.name == "order_id") {
        return Split::Order;
    }
    match t.name {
        "shipment_lines" => Split::Shipment,
        "staff" | "rectification_responses" => Split::Every,
        _ => Split::First,
    }
}

/// One shard: the orders whose id lies in `[lo, hi)` (open ends at the first and last
/// shard; the first also takes rows without an order).
#[derive(Clone, Debug, PartialEq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
    lo: Option<String>,
    hi: Option<String>,
}

impl Shard {
    /// The whole lake as one shard.
    pub fn whole() -> Shard {
        Shard {
            index: 0,
            count: 1,
            lo: None,
            hi: None,
        }
    }

    /// Whether the order `id` is in this shard: [`Shard::order_filter`] on one id.
    fn holds(&self, id: &str) -> bool {
        self.lo.as_deref().is_none_or(|lo| lo <= id) && self.hi.as_deref().is_none_or(|hi| id < hi)
    }

    /// An `LVYUE_TIMING` line: where a run is at this shard, and its memory then.
    pub fn trace(&self, what: &str, started: std::time::Instant) {
        eprintln!(
            "shard {}/{}: {what} at {:.2} s, {} MB resident",
            self.index + 1,
            self.count,
            started.elapsed().as_secs_f64(),
            crate::resident_mb()
        );
    }

    fn order_filter(&self) -> Option<Expr> {
        let id = || col("order_id");
        match (&self.lo, &self.hi) {
            (None, None) => None,
            (None, Some(hi)) => Some(id().is_null().or(id().lt(lit(hi.clone())))),
            (Some(lo), None) => Some(id().gt_eq(lit(lo.clone()))),
            (Some(lo), Some(hi)) => Some(id().gt_eq(lit(lo.clone())).and(id().lt(lit(hi.clone())))),
        }
    }
}

/// Orders per shard: a year of 1M orders runs whole in about 3 GB (docs/performance.md).
/// `LVYUE_SHARD_ORDERS` overrides it (tests force shards on the small fixtures).
fn orders_per_shard() -> u64 {
    crate::knob("LVYUE_SHARD_ORDERS", 1_000_000) as u64
}

impl Staged {
    fn table(&self, name: &str) -> Option<&LazyFrame> {
        self.tables
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, lf)| lf)
    }

    /// Splits the staged orders into shards of about `orders_per_shard()` orders, by
    /// quantiles of the sorted order ids; one shard when they fit.
    pub fn shards(&self) -> Result<Vec<Shard>> {
        let per = orders_per_shard();
        if self.order_rows <= per {
            return Ok(vec![Shard::whole()]);
        }
        let ids = match (
            self.kept.as_ref().and_then(|k| k.ids.as_ref()),
            self.table("orders"),
        ) {
            (Some(ids), _) => ids.clone(),
            (None, None) => return Ok(vec![Shard::whole()]),
            (None, Some(orders)) => {
                let ids = super::collect(
                    orders
                        .clone()
                        .select([col("order_id")])
                        .filter(col("order_id").is_not_null())
                        .unique(None, UniqueKeepStrategy::Any)
                        .sort(["order_id"], SortMultipleOptions::default()),
                )
                .context(|| "order ids for the shards".into())?;
                ids.column("order_id")
                    .and_then(|c| c.str().cloned())
                    .context(|| "order ids for the shards".into())?
            }
        };
        let n = ids.len() as u64;
        let count = n.div_ceil(per).max(1) as usize;
        let mut bounds: Vec<String> = Vec::new();
        for k in 1..count {
            if let Some(b) = ids.get((n * k as u64 / count as u64) as usize) {
                if bounds.last().is_none_or(|l| l.as_str() < b) {
                    bounds.push(b.to_string());
                }
            }
        }
        let count = bounds.len() + 1;
        Ok((0..count)
            .map(|index| Shard {
                index,
                count,
                lo: index.checked_sub(1).map(|i| bounds[i].clone()),
                hi: bounds.get(index).cloned(),
            })
            .collect())
    }

    /// The staged tables restricted to the orders with a row holding, in a column with
    /// a cutoff, an instant at or after it (a date counts from its midnight, a day
    /// early); rows without an order are all kept, and lines of shipments follow their
    /// shipment. With the cutoffs of `rules::reach` the rules give the same items in
    /// the period as over every order (docs/decisions.md, "a month's audit judges only
    /// the orders in reach"). Each shard reads its share of the kept rows into memory,
    /// only the columns `named` ([`Staged::shard`]); so when more than half the
    /// window's orders would be kept, nothing is left out (`None`) and the window's
    /// scans serve as they are. Else the kept view and how many orders it judges.
    pub fn keep_orders(
        &self,
        cutoffs: &crate::rules::reach::Cutoffs,
        named: &dyn Fn(&str) -> bool,
    ) -> Result<Option<(Staged, u64)>> {
        let mut reaching: Vec<LazyFrame> = Vec::new();
        for t in TABLES {
            let Some(cuts) = cutoffs.get(t.name) else {
                continue;
            };
            // One plain comparison per column, a typed literal against the column, so
            // the scan can skip row groups (and the months before the cutoff of a
            // table's own time) by their statistics; the columns' comparisons OR-ed in
            // one scan per table, which reads the ids once (10M June: 1.6-1.9 s ->
            // 1.2-1.3 s to find the orders in reach, the same orders).
            let instants: Vec<Expr> = t
                .columns
                .iter()
                .filter_map(|c| {
                    let cut = cuts.get(c.name)?;
                    match c.ty {
                        ColType::Timestamp => Some(
                            col(c.name).gt_eq(
                                lit(micros_of(*cut))
                                    .cast(DataType::Datetime(TimeUnit::Microseconds, None)),
                            ),
                        ),
                        ColType::Date => {
                            let day = days_since_epoch((*cut - chrono::Duration::days(1)).date());
                            Some(col(c.name).gt_eq(lit(day).cast(DataType::Date)))
                        }
                        _ => None,
                    }
                })
                .collect();
            match split_of(t) {
                Split::Order => {
                    let any = instants.into_iter().reduce(|a, b| a.or(b));
                    if let (Some(lf), Some(at)) = (self.table(t.name), any) {
                        reaching.push(
                            lf.clone()
                                .filter(col("order_id").is_not_null().and(at))
                                .select([col("order_id")])
                                .unique(None, UniqueKeepStrategy::Any),
                        );
                    }
                }
                // Lines reach their order only through their shipment: were they to
                // hold instants, this would not see them, so nothing is pruned. Tables
                // without orders are never pruned; their instants date no order's item.
                Split::Shipment if !instants.is_empty() => return Ok(None),
                _ => {}
            }
        }
        if reaching.is_empty() {
            return Ok(None);
        }
        let ids = super::collect(
            concat(reaching, UnionArgs::default())
                .context(|| "orders in reach".into())?
                .unique(None, UniqueKeepStrategy::Any),
        )
        .context(|| "orders in reach".into())?;
        let ids = ids
            .column("order_id")
            .context(|| "orders in reach".into())?
            .as_materialized_series()
            .clone();
        let kept = ids.len() as u64;
        if kept * 2 > self.order_rows {
            return Ok(None);
        }
        // Sorted, which also copies the ids out of the scans' buffers: unsorted, they
        // kept those alive (10M June peak 3.5 -> 4.2 GB), though each shard's key set
        // sorts its share again.
        let ids = ids
            .sort(SortOptions::default())
            .context(|| "orders in reach".into())?
            .str()
            .cloned()
            .context(|| "orders in reach".into())?;
        Ok(Some((self.holding(Some(ids), kept, named), kept)))
    }

    /// [`Staged::held`] when the window is more than one shard, else the scans as they
    /// are: one shard's scans read the window once per query anyway, and holding a whole
    /// window would cost the memory the scans save. `LVYUE_HOLD=on|off` forces it either
    /// way (a measuring knob).
    pub fn held_if_sharded(&self, named: &dyn Fn(&str) -> bool) -> Staged {
        let hold = match std::env::var("LVYUE_HOLD").as_deref() {
            Ok("on") => true,
            Ok("off") => false,
            _ => self.order_rows > orders_per_shard(),
        };
        if hold {
            self.held(named)
        } else {
            self.clone()
        }
    }

    /// The staged tables, each shard reading its rows of the orders' tables into memory
    /// once, only the columns `named`: the queries then read memory instead of each
    /// scanning the window for the shard's rows again (docs/performance.md, "fifth
    /// pass").
    pub fn held(&self, named: &dyn Fn(&str) -> bool) -> Staged {
        self.holding(None, self.order_rows, named)
    }

    /// The staged tables, each shard holding its rows of the orders `ids` (`None`:
    /// every order), `order_rows` of them.
    fn holding(
        &self,
        ids: Option<StringChunked>,
        order_rows: u64,
        named: &dyn Fn(&str) -> bool,
    ) -> Staged {
        let columns = self
            .tables
            .iter()
            .filter(|(n, _)| matches!(split_named(n), Split::Order | Split::Shipment))
            .map(|(n, _)| (n.clone(), used_columns(n, named)))
            .collect();
        Staged {
            tables: self.tables.clone(),
            order_rows,
            files_read: self.files_read.clone(),
            registry: self.registry.clone(),
            kept: Some(Kept { ids, columns }),
        }
    }

    /// Rows of `orders` in the files read (the manifest's count).
    pub fn orders_in_window(&self) -> u64 {
        self.order_rows
    }

    /// The tables of one shard, with the shared models (queries/models/) computed over
    /// them.
    pub fn shard(&self, shard: &Shard) -> Result<Staged> {
        let t = std::time::Instant::now();
        let tables = match &self.kept {
            Some(k) => self.kept_tables(k, shard)?,
            None => self.shard_tables(shard)?,
        };
        let mut staged = Staged {
            tables,
            order_rows: self.order_rows,
            files_read: self.files_read.clone(),
            registry: self.registry.clone(),
            kept: None,
        };
        let read = t.elapsed();
        let mut each = Vec::new();
        // Computed once per shard and shared by the queries that use them, in waves: the
        // models whose input models are all computed run side by side, as the queries
        // do, since each runs its CTEs one by one and small steps leave a core idle
        // (10M year: 3.5 s a shard one after the other, 3.3 s side by side).
        let run = |m: &crate::queries::Query, ctx: SQLContext| -> Result<_> {
            let started = std::time::Instant::now();
            let sql = crate::queries::for_polars(m.sql);
            let df = super::run_query(ctx, &sql)
                .and_then(super::collect)
                .context(|| format!("running queries/{}", m.file))?;
            Ok((df, started.elapsed()))
        };
        let mut pending = crate::queries::models();
        while !pending.is_empty() {
            let (mut ready, mut rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|m| {
                let reads = crate::queries::models_read(m);
                reads.iter().all(|id| staged.table(id).is_some())
            });
            if ready.is_empty() {
                // Models that read each other: the first runs, and its error names the
                // table it misses.
                ready.push(rest.remove(0));
            }
            let done = crate::in_turn(&ready, |m| run(m, staged.context()));
            for (m, r) in ready.iter().zip(done) {
                let (df, took) = r?;
                each.push(format!("{} {:.2} s", m.get("id"), took.as_secs_f64()));
                staged.tables.push((m.get("id").to_string(), df.lazy()));
            }
            pending = rest;
        }
        if std::env::var_os("LVYUE_TIMING").is_some() {
            eprintln!(
                "shard {}/{}: tables {:.2} s, models {:.2} s ({})",
                shard.index + 1,
                shard.count,
                read.as_secs_f64(),
                (t.elapsed() - read).as_secs_f64(),
                each.join(", ")
            );
        }
        Ok(staged)
    }

    /// A shard's rows of the order tables (of the kept orders, or of every order), read
    /// into memory once: the queries then read them from memory instead of each
    /// scanning the window for them (and matching the kept ids) again. The shard's id
    /// range lets the scans skip the row groups of other shards' orders.
    fn kept_tables(&self, k: &Kept, shard: &Shard) -> Result<Vec<(String, LazyFrame)>> {
        let columns = |name: &str| -> Vec<Expr> {
            k.columns
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, c)| c.clone())
                .unwrap_or_default()
        };
        let ids: Option<Arc<KeySet>> = k.ids.as_ref().map(|ids| {
            Arc::new(KeySet::new(
                ids.iter().flatten().filter(|id| shard.holds(id)),
            ))
        });
        let mut tables = Vec::new();
        for (name, lf) in &self.tables {
            let lf = match split_named(name) {
                Split::Order => {
                    let lf = match shard.order_filter() {
                        Some(f) => lf.clone().filter(f),
                        None => lf.clone(),
                    };
                    match &ids {
                        Some(ids) => in_memory(
                            lf.filter(kept_by("order_id", ids.clone(), true))
                                .select(columns(name)),
                            name,
                        )?,
                        None => in_memory(lf.select(columns(name)), name)?,
                    }
                    .lazy()
                }
                Split::First if shard.index > 0 => lf.clone().filter(lit(false)),
                // Lines: below, once their shipments are read.
                _ => lf.clone(),
            };
            tables.push((name.clone(), lf));
        }
        // Lines follow the shipments just read; a whole lake's lines are all read, as
        // its scans would be.
        if let Some(i) = tables.iter().position(|(n, _)| n == "shipment_lines") {
            let lines = match tables.iter().find(|(n, _)| n == "shipments") {
                Some((_, ships)) if ids.is_some() || shard.count > 1 => {
                    lines_of(tables[i].1.clone(), shipment_ids(ships.clone())?)
                }
                _ => tables[i].1.clone(),
            };
            tables[i].1 =
                in_memory(lines.select(columns("shipment_lines")), "shipment_lines")?.lazy();
        }
        Ok(tables)
    }

    /// A shard's tables as filters on the window's scans.
    fn shard_tables(&self, shard: &Shard) -> Result<Vec<(String, LazyFrame)>> {
        let mut tables = Vec::new();
        let whole = shard.count == 1;
        for (name, lf) in &self.tables {
            let lf = match split_named(name) {
                _ if whole => lf.clone(),
                Split::Every => lf.clone(),
                Split::First if shard.index == 0 => lf.clone(),
                Split::First => lf.clone().filter(lit(false)),
                Split::Order => match shard.order_filter() {
                    Some(f) => lf.clone().filter(f),
                    None => lf.clone(),
                },
                Split::Shipment => {
                    let shipments =
                        self.table("shipments")
                            .cloned()
                            .map(|s| match shard.order_filter() {
                                Some(f) => s.filter(f),
                                None => s,
                            });
                    match shipments {
                        Some(s) => lines_of(lf.clone(), shipment_ids(s)?),
                        None => lf.clone(),
                    }
                }
            };
            tables.push((name.clone(), lf));
        }
        Ok(tables)
    }
}

/// The rows of `lf`, in memory.
fn in_memory(lf: LazyFrame, name: &str) -> Result<DataFrame> {
    // Text copied out of the window's buffers, or the rows would hold every decoded
    // row's text alive.
    super::collect(lf)
        .and_then(crate::frame::unshare_strings)
        .context(|| format!("{name} in memory"))
}

/// The shipment lines of the shipments `ids` (a line's shipment is required).
fn lines_of(lines: LazyFrame, ids: Arc<KeySet>) -> LazyFrame {
    // The ids' range is implied by the set, but unlike the set the scan can test it
    // against each row group's statistics and skip the groups of other shipments.
    let lines = match ids.range() {
        Some((lo, hi)) => lines.filter(
            col("shipment_id")
                .gt_eq(lit(lo.to_string()))
                .and(col("shipment_id").lt_eq(lit(hi.to_string()))),
        ),
        None => lines,
    };
    lines.filter(kept_by("shipment_id", ids, false))
}

/// The ids of the shipments in `ships`.
fn shipment_ids(ships: LazyFrame) -> Result<Arc<KeySet>> {
    let ids =
        super::collect(ships.select([col("shipment_id")])).context(|| "shipment ids".into())?;
    let ids = ids
        .column("shipment_id")
        .and_then(|c| c.str())
        .context(|| "shipment ids".into())?;
    Ok(Arc::new(KeySet::new(ids.iter().flatten())))
}

/// The columns of table `name` the queries name: what the kept tables hold, so text no
/// rule reads (notes, names) is not decoded. The keys stay for the shards' filters.
fn used_columns(name: &str, named: &dyn Fn(&str) -> bool) -> Vec<Expr> {
    let t = crate::ingest::contract::table(name).expect("a contract table");
    t.columns
        .iter()
        .filter(|c| named(c.name) || t.key.contains(&c.name) || c.name == "order_id")
        .map(|c| col(c.name))
        .collect()
}

/// The same as-of view of the lake as DuckDB SQL: one `CREATE OR REPLACE VIEW` per
/// table over exactly the Parquet files lvyue reads, plus `activity_ranks`. Running it
/// and then the rendered `queries/` files in DuckDB reproduces lvyue's items — the
/// cross-check of the SQL's portability (`lvyue metrics --emit-sql`).
pub fn duckdb_views(lake: &Lake, first_month: (i32, u32), as_of: NaiveDateTime) -> String {
    let ts = format!("TIMESTAMP '{}'", as_of.format("%Y-%m-%d %H:%M:%S"));
    let last = (as_of.year(), as_of.month());
    let as_of_text = as_of.format("%Y-%m-%d %H:%M:%S").to_string();
    // Absolute paths, so the views work from any working folder.
    let root = lake
        .root
        .canonicalize()
        .unwrap_or_else(|_| lake.root.clone());
    let mut out = String::from("-- lvyue: the lake as of the audit's cut-off, for DuckDB\n");
    for t in TABLES {
        let files: Vec<String> = lake
            .manifest
            .table_files(t.name)
            .iter()
            .filter(|f| in_window(f, first_month, last, &as_of_text))
            .map(|f| {
                format!(
                    "'{}'",
                    root.join(&f.path).display().to_string().replace('\'', "''")
                )
            })
            .collect();
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                let name = c.name;
                if t.name == "orders" && name == "status" {
                    format!("CASE WHEN status = 'cancelled' AND cancelled_at > {ts} THEN 'active' ELSE status END AS status")
                } else if c.ty == ColType::Timestamp && Some(name) != t.time_column {
                    format!("CASE WHEN {name} > {ts} THEN NULL ELSE {name} END AS {name}")
                } else {
                    name.to_string()
                }
            })
            .collect();
        let body = if files.is_empty() {
            // No data yet: an empty view with the lake's column types.
            let typed: Vec<String> = t
                .columns
                .iter()
                .map(|c| {
                    let ty = match c.ty {
                        ColType::Timestamp => "TIMESTAMP",
                        ColType::Date => "DATE",
                        ColType::Money => "DECIMAL(18,2)",
                        ColType::Int | ColType::Score => "BIGINT",
                        ColType::Bool => "BOOLEAN",
                        _ => "VARCHAR",
                    };
                    format!("CAST(NULL AS {ty}) AS {}", c.name)
                })
                .collect();
            format!("SELECT {} WHERE FALSE", typed.join(", "))
        } else {
            let filter = t
                .time_column
                .map(|tc| format!("\nWHERE {tc} <= {ts}"))
                .unwrap_or_default();
            format!(
                "SELECT {}\nFROM read_parquet([{}]){filter}",
                cols.join(",\n       "),
                files.join(", ")
            )
        };
        out.push_str(&format!(
            "CREATE OR REPLACE VIEW {} AS\n{body};\n\n",
            t.name
        ));
    }
    let ranks: Vec<String> = ACTIVITIES
        .iter()
        .enumerate()
        .map(|(i, a)| format!("('{a}', {i})"))
        .collect();
    out.push_str(&format!(
        "CREATE OR REPLACE VIEW activity_ranks AS\nSELECT * FROM (VALUES {}) AS r(activity, activity_rank);\n",
        ranks.join(", ")
    ));
    for m in crate::queries::models() {
        out.push_str(&format!(
            "\nCREATE OR REPLACE VIEW {} AS\n{};\n",
            m.get("id"),
            m.sql.trim_end()
        ));
    }
    out
}
