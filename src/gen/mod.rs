//! `lvyue gen`: a deterministic generator of realistic exports in the data contract's
//! shape, for benchmarks and for trying lvyue at scale. Not part of the audit
//! pipeline; it writes what the pipeline's `ingest` reads.
//!
//! Each order walks the regulation's process: entry, cs review and confirmation,
//! stock decision (in stock, short with replenishment and a PO, or made to order with
//! QC and rework), packing and labelling, pre-ship check, one or two shipments, tracking
//! relays, transport exceptions, delivery and acceptance, progress updates, surveys and
//! service cases of every kind; plus monthly cycle counts, staff with department moves
//! and answers to some rectification notices. Each order breaks one rule with
//! probability `dirty` (the rule picked uniformly among R01–R20), so every rule is
//! broken at a rate scaled by `--dirty`; R21 follows from the notices left unanswered.
//!
//! Orders are generated in chunks, each from its own random stream (seed, chunk), on
//! all cores, and written in chunk order: the output is byte-identical for a seed
//! whatever the thread count, and memory stays bounded by a few chunks in flight.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate, NaiveDateTime, Timelike};
use rayon::prelude::*;

use crate::error::{Error, IoContext, Result};

pub mod parquet;

/// Orders per chunk: big enough to amortise the hand-off, small enough to bound memory.
const CHUNK: u64 = 20_000;

#[derive(Debug, Clone)]
pub struct GenOptions {
    pub orders: u64,
    /// First month (year, month).
    pub start: (i32, u32),
    pub months: u32,
    pub seed: u64,
    /// Share of orders that break one rule (0..1).
    pub dirty: f64,
    pub out: PathBuf,
    /// Typed Parquet parts instead of CSV files ([`parquet`]).
    pub parquet: bool,
}

/// Rows written per table and violations planted per rule.
#[derive(Debug, Default, Clone)]
pub struct GenReport {
    pub rows: BTreeMap<&'static str, u64>,
    pub planted: BTreeMap<String, u64>,
}

/// SplitMix64: tiny, fast and fully specified, so a seed gives the same exports on
/// every platform and every version of every crate (a library RNG may change its
/// stream between releases).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: u64) -> Rng {
        let mut r = Rng(seed ^ stream.wrapping_mul(0xA24B_AED4_963E_E407));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    fn f(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, p: f64) -> bool {
        self.f() < p
    }
    /// Seconds for a uniform number of hours in [lo, hi).
    fn hours(&mut self, lo: f64, hi: f64) -> i64 {
        ((lo + (hi - lo) * self.f()) * 3600.0) as i64
    }
}

const H: i64 = 3600;
const D: i64 = 86_400;

/// Staff counts per department, scaled to the volume.
struct Staff {
    reps: u64,
    agents: u64,
    warehouse: u64,
    logistics: u64,
    /// Reps who move to cs at `move_at` (the first `movers` reps).
    movers: u64,
    move_at: i64,
}

impl Staff {
    fn new(orders: u64, start: i64, end: i64) -> Staff {
        let reps = (orders / 2_000).clamp(6, 2_000);
        Staff {
            reps,
            agents: (orders / 4_000).clamp(4, 1_000),
            warehouse: (orders / 5_000).clamp(3, 800),
            logistics: (orders / 6_000).clamp(3, 600),
            movers: (reps / 50).max(1),
            move_at: start + (end - start) / 2 / D * D,
        }
    }
    /// A sales rep for an order signed at `t` (movers only before their move).
    fn rep(&self, r: &mut Rng, t: i64) -> String {
        let k = if t >= self.move_at {
            self.movers + r.below(self.reps - self.movers)
        } else {
            r.below(self.reps)
        };
        format!("S{k:04}")
    }
    /// A cs agent at `t` (movers count as cs from their move on).
    fn agent(&self, r: &mut Rng, t: i64) -> String {
        if t >= self.move_at + D && r.chance(0.1) {
            format!("S{:04}", r.below(self.movers))
        } else {
            format!("C{:04}", r.below(self.agents))
        }
    }
    fn wh(&self, r: &mut Rng) -> String {
        format!("W{:04}", r.below(self.warehouse))
    }
    fn lg(&self, r: &mut Rng) -> String {
        format!("L{:04}", r.below(self.logistics))
    }
}

fn naive(t: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.naive_utc())
        .unwrap_or_default()
}

/// Local time text of epoch-like seconds (seconds since 1970 in naive local time).
fn ts(out: &mut String, t: i64) {
    let dt = naive(t);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
}

fn day(out: &mut String, t: i64) {
    let dt = naive(t);
    let _ = write!(out, "{:04}-{:02}-{:02}", dt.year(), dt.month(), dt.day());
}

/// The tables an order chunk writes, in the file order.
const TABLES: [&str; 10] = [
    "orders",
    "order_lines",
    "order_events",
    "shipments",
    "shipment_lines",
    "purchase_orders",
    "production_jobs",
    "service_cases",
    "surveys",
    "rectification_responses",
];

const HEADERS: [&str; 10] = [
    "order_id,signed_at,entered_at,customer_id,customer_name,customer_contact,sales_rep_id,channel,delivery_place,promised_date,amount,currency,needs_production,status,cancelled_at",
    "order_id,line_no,sku,product_name,spec,quantity,unit_price",
    "event_id,order_id,activity,occurred_at,actor_id,sku,quantity,new_promised_date,reference,note",
    "shipment_id,order_id,carrier,tracking_no,shipped_at,arrived_at,delivered_at,acceptance_signed_at,acceptance_result,handled_by",
    "shipment_id,sku,quantity,label_order_id,label_product_name,label_spec,label_quantity",
    "po_id,order_id,sku,quantity,supplier,requested_at,placed_at,due_date,received_at,received_quantity,inspected_at,inspection_result,buyer_id",
    "job_id,order_id,sku,quantity,planned_at,planned_finish_date,finished_at,qc_at,qc_result,rework_count,warehoused_at,inspector_id",
    "case_id,order_id,opened_at,kind,category,description,recorded_by,routed_to,routed_at,resolved_at,closed_at,returned_to_stock_at,finance_reconciled_at,refund_amount",
    "survey_id,order_id,responded_at,score,comment",
    "notice_id,rectified_at,responder_id,note",
];

/// One chunk's rows, as CSV text per table.
struct Chunk {
    text: [String; 10],
    rows: [u64; 10],
    planted: [u64; 21],
}

struct Ev {
    activity: &'static str,
    at: i64,
    actor: String,
    sku: String,
    qty: i64,
    new_promised: Option<i64>,
}

fn ev(activity: &'static str, at: i64, actor: &str) -> Ev {
    Ev {
        activity,
        at,
        actor: actor.to_string(),
        sku: String::new(),
        qty: 0,
        new_promised: None,
    }
}

const CATEGORIES: [(&str, &str); 6] = [
    ("quality", "qc"),
    ("logistics", "logistics"),
    ("quantity", "warehouse"),
    ("spec", "sales"),
    ("service", "cs"),
    ("other", "cs"),
];
const KINDS: [&str; 4] = ["complaint", "repair", "replacement", "return"];
const CARRIERS: [&str; 4] = ["顺丰", "京东物流", "中通", "德邦"];

struct Ctx<'a> {
    o: &'a GenOptions,
    staff: Staff,
    start: i64,
    end: i64,
    skus: u64,
}

fn gen_chunk(cx: &Ctx, chunk: u64) -> Chunk {
    let mut c = Chunk {
        text: Default::default(),
        rows: [0; 10],
        planted: [0; 21],
    };
    let mut r = Rng::new(cx.o.seed, chunk);
    let first = chunk * CHUNK;
    let last = ((chunk + 1) * CHUNK).min(cx.o.orders);
    for i in first..last {
        gen_order(cx, &mut r, i, &mut c);
    }
    c
}

#[allow(clippy::too_many_lines)]
fn gen_order(cx: &Ctx, r: &mut Rng, i: u64, c: &mut Chunk) {
    let st = &cx.staff;
    // The one rule this order breaks, if any (1..=20).
    let bad: u32 = if r.chance(cx.o.dirty) {
        1 + r.below(20) as u32
    } else {
        0
    };
    let oid = format!("SO{i:09}");
    // Signed during working hours over the period, leaving room to finish.
    let span_days = ((cx.end - cx.start) / D - 14).max(1);
    let signed = cx.start + r.below(span_days as u64) as i64 * D + r.hours(8.0, 19.0);
    let rep = st.rep(r, signed);
    let agent = st.agent(r, signed);
    let wh = st.wh(r);
    let lg = st.lg(r);
    // A broken order runs its course, so the break is visible to its rule.
    let cancelled = bad == 0 && r.chance(0.02);
    let production = !cancelled && r.chance(0.03);
    let short = !cancelled && !production && (r.chance(0.05) || matches!(bad, 7..=10));
    let production = production || bad == 11;
    let base_sku = r.below(cx.skus);
    // Distinct skus per order (a shipment line is keyed by shipment and sku).
    let lines: Vec<(String, i64, i64)> = (0..1 + (r.chance(0.25) as u64) + (r.chance(0.05) as u64))
        .map(|k| {
            (
                format!("SKU{:05}", (base_sku + k * 7) % cx.skus),
                1 + r.below(8) as i64,
                500 + r.below(20_000) as i64,
            )
        })
        .collect();
    let amount: i64 = lines.iter().map(|(_, q, p)| q * p).sum();
    let entered = if bad == 1 {
        if r.chance(0.2) {
            None
        } else {
            Some(signed + r.hours(25.0, 60.0))
        }
    } else {
        Some(signed + r.hours(0.1, 20.0))
    };
    let promised = signed + (6 + r.below(10) as i64) * D;
    c.planted[bad as usize] += (bad != 0) as u64;

    // orders
    {
        let t = &mut c.text[0];
        t.push_str(&oid);
        t.push(',');
        ts(t, signed);
        t.push(',');
        if let Some(e) = entered {
            ts(t, e);
        }
        let contact = if bad == 2 && r.chance(0.5) {
            String::new()
        } else {
            format!("139{:08}", i % 100_000_000)
        };
        let place = if bad == 2 && !contact.is_empty() {
            String::new()
        } else {
            format!("上海市浦东新区{}号", i % 9999)
        };
        let _ = write!(
            t,
            ",CU{:07},客户{},{},{},{},{},",
            r.below(cx.o.orders / 3 + 1),
            i,
            contact,
            rep,
            ["web", "app", "phone"][r.below(3) as usize],
            place
        );
        day(t, promised);
        let _ = write!(
            t,
            ",{}.{:02},CNY,{},{},",
            amount / 100,
            amount % 100,
            production,
            if cancelled { "cancelled" } else { "active" }
        );
        if cancelled {
            ts(t, signed + r.hours(2.0, 30.0));
        }
        t.push('\n');
        c.rows[0] += 1;
    }
    for (k, (sku, q, p)) in lines.iter().enumerate() {
        let spec = if bad == 2 && k == 0 && r.chance(0.3) {
            ""
        } else {
            "标准"
        };
        let _ = writeln!(
            c.text[1],
            "{oid},{},{sku},产品{sku},{spec},{q},{}.{:02}",
            k + 1,
            p / 100,
            p % 100
        );
        c.rows[1] += 1;
    }

    let mut events: Vec<Ev> = Vec::with_capacity(24);
    let entered_at = entered.unwrap_or(signed + 2 * H);
    let submitted = entered_at + r.hours(0.1, 6.0);
    events.push(ev("sales_reviewed", entered_at + r.hours(0.0, 0.1), &rep));
    events.push(ev("submitted_to_cs", submitted, &rep));
    events.push(ev(
        "receipt_notified",
        submitted + r.hours(0.0, 0.5),
        &agent,
    ));
    let reviewed = submitted + r.hours(0.2, 8.0);
    let reviewer = if bad == 4 { rep.clone() } else { agent.clone() };
    let confirmed = reviewed + r.hours(0.5, 16.0);
    let decided = confirmed + r.hours(0.5, 16.0);
    if bad == 3 {
        events.push(ev("cs_reviewed", decided + r.hours(0.5, 3.0), &reviewer));
    } else {
        events.push(ev("cs_reviewed", reviewed, &reviewer));
    }
    let confirm_at = if bad == 5 {
        // Confirmed only after the goods left: R05.
        None
    } else {
        Some(confirmed)
    };
    if let Some(t) = confirm_at {
        events.push(ev("customer_confirmed", t, &agent));
        events.push(ev(
            "confirmation_sent_to_sales",
            t + r.hours(0.1, 2.0),
            &agent,
        ));
    }
    if cancelled {
        write_events(&mut c.text[2], &mut c.rows[2], &oid, &mut events);
        return;
    }
    events.push(ev("stock_checked", decided - r.hours(0.1, 0.4), &wh));
    let mut ready = decided;
    if production {
        let (sku, q, _) = &lines[0];
        let planned = decided;
        let finished = planned + r.hours(40.0, 90.0);
        let rework = r.chance(0.08);
        let qc_at = finished + r.hours(1.0, 6.0) + if rework { 24 * H } else { 0 };
        let qc_result = if bad == 11 { "fail" } else { "pass" };
        let warehoused = qc_at + r.hours(0.5, 4.0);
        let t = &mut c.text[6];
        let _ = write!(t, "JOB{i:09},{oid},{sku},{q},");
        ts(t, planned);
        t.push(',');
        day(t, planned + 5 * D);
        t.push(',');
        ts(t, finished);
        t.push(',');
        ts(t, qc_at);
        let _ = write!(t, ",{qc_result},{},", rework as u8);
        ts(t, warehoused);
        let _ = writeln!(t, ",Q{:03}", r.below(20));
        c.rows[6] += 1;
        ready = warehoused + r.hours(1.0, 6.0);
        for (sku, q, _) in lines.iter().skip(1) {
            let mut e = ev("stock_locked", decided, &wh);
            e.sku = sku.clone();
            e.qty = *q;
            events.push(e);
        }
    } else if short {
        let (sku, q, _) = &lines[0];
        let mut e = ev("stock_short", decided, &wh);
        e.sku = sku.clone();
        e.qty = *q;
        events.push(e);
        let requested = decided + r.hours(0.2, 3.5);
        events.push(ev("replenishment_requested", requested, &wh));
        if bad != 7 {
            events.push(ev(
                "shortage_reported_to_cs",
                decided + r.hours(0.2, 3.5),
                &wh,
            ));
        }
        let placed = if bad == 9 {
            requested + r.hours(30.0, 70.0)
        } else {
            requested + r.hours(1.0, 20.0)
        };
        let received = placed + r.hours(48.0, 110.0);
        let inspected = if bad == 10 {
            received + r.hours(30.0, 60.0)
        } else {
            received + r.hours(1.0, 20.0)
        };
        let t = &mut c.text[5];
        let _ = write!(t, "PO{i:09},{oid},{sku},{q},供应商{},", r.below(300));
        ts(t, requested);
        t.push(',');
        ts(t, placed);
        t.push(',');
        day(t, placed + 4 * D);
        t.push(',');
        ts(t, received);
        let _ = write!(t, ",{q},");
        ts(t, inspected);
        let _ = writeln!(t, ",pass,P{:03}", r.below(30));
        c.rows[5] += 1;
        ready = inspected + r.hours(1.0, 4.0);
        for (sku, q, _) in &lines {
            let mut e = ev("stock_locked", ready, &wh);
            e.sku = sku.clone();
            e.qty = *q;
            events.push(e);
        }
        // The customer agrees to a later date, unless this order is R08's case.
        if bad != 8 {
            let due = ready + (4 + r.below(4) as i64) * D;
            let mut e = ev(
                "customer_agreed_change",
                decided + r.hours(4.0, 20.0),
                &agent,
            );
            e.new_promised = Some(due);
            events.push(e);
        }
    } else {
        for (k, (sku, q, _)) in lines.iter().enumerate() {
            if bad == 6 && k == 0 {
                continue;
            }
            let mut e = ev("stock_locked", decided, &wh);
            e.sku = sku.clone();
            e.qty = *q;
            events.push(e);
        }
    }
    // R08: the shortage order is delivered late with no agreed change.
    let late = bad == 8;
    // R16: an order held for over a week, with no progress update at all.
    if bad == 16 {
        ready = ready.max(signed + 9 * D);
    }

    // Shipping: one shipment, or two (split) for a multi-line order.
    let split = lines.len() > 1 && r.chance(0.3);
    let groups: Vec<Vec<usize>> = if split {
        vec![vec![0], (1..lines.len()).collect()]
    } else {
        vec![(0..lines.len()).collect()]
    };
    let mut last_delivered = ready;
    let mut first_shipped = None;
    for (g, idx) in groups.iter().enumerate() {
        let sid = format!("SH{i:09}-{}", g + 1);
        let shipped = ready + r.hours(2.0, 20.0) + g as i64 * D;
        let shipped = if late {
            shipped.max(promised + 2 * D)
        } else {
            shipped
        };
        first_shipped.get_or_insert(shipped);
        events.push(ev("packed", shipped - r.hours(2.0, 4.0), &wh));
        events.push(ev("labeled", shipped - r.hours(1.5, 2.0), &wh));
        events.push(ev("carrier_selected", shipped - r.hours(1.2, 1.5), &lg));
        if bad != 13 {
            events.push(ev("preship_checked", shipped - r.hours(0.2, 1.0), &lg));
        }
        let tracking = if bad == 14 && r.chance(0.5) {
            String::new()
        } else {
            format!("T{i:010}{g}")
        };
        let to_cs = if bad == 14 && !tracking.is_empty() {
            shipped + r.hours(30.0, 60.0)
        } else {
            shipped + r.hours(0.5, 12.0)
        };
        if !tracking.is_empty() {
            events.push(ev("tracking_sent_to_cs", to_cs, &lg));
            events.push(ev(
                "tracking_sent_to_customer",
                to_cs + r.hours(0.2, 8.0),
                &agent,
            ));
        }
        let mut transit = r.hours(20.0, 96.0);
        if bad == 15 || r.chance(0.03) {
            let at = shipped + r.hours(8.0, 20.0);
            events.push(ev("transport_exception", at, &lg));
            let fix = if bad == 15 {
                r.hours(50.0, 90.0)
            } else {
                r.hours(2.0, 40.0)
            };
            events.push(ev("exception_resolved", at + fix, &lg));
            transit = transit.max(at + fix - shipped + r.hours(4.0, 20.0));
        }
        let delivered = shipped + transit;
        last_delivered = last_delivered.max(delivered);
        events.push(ev(
            "arrival_notified",
            delivered - r.hours(0.5, 2.0),
            &agent,
        ));
        let accepted = if bad == 17 {
            if r.chance(0.3) {
                None
            } else {
                Some(delivered + r.hours(80.0, 140.0))
            }
        } else {
            Some(delivered + r.hours(1.0, 60.0))
        };
        let t = &mut c.text[3];
        let _ = write!(
            t,
            "{sid},{oid},{},{tracking},",
            CARRIERS[r.below(4) as usize]
        );
        ts(t, shipped);
        t.push(',');
        ts(t, delivered - r.hours(1.0, 3.0));
        t.push(',');
        ts(t, delivered);
        t.push(',');
        if let Some(a) = accepted {
            ts(t, a);
            t.push_str(",pass");
        } else {
            t.push(',');
        }
        let _ = writeln!(t, ",{lg}");
        c.rows[3] += 1;
        for &k in idx {
            let (sku, q, _) = &lines[k];
            let label_q = if bad == 12 && k == 0 { q + 1 } else { *q };
            let _ = writeln!(c.text[4], "{sid},{sku},{q},{oid},产品{sku},标准,{label_q}");
            c.rows[4] += 1;
        }
    }
    if let (5, Some(shipped)) = (bad, first_shipped) {
        events.push(ev(
            "customer_confirmed",
            shipped + r.hours(1.0, 6.0),
            &agent,
        ));
    }
    // Progress updates at most every 6 days while the order is open (R16 skips them).
    if bad != 16 {
        let mut t = signed + r.hours(96.0, 140.0);
        while t < last_delivered {
            events.push(ev("progress_update_sent", t, &agent));
            t += r.hours(96.0, 140.0);
        }
    }
    write_events(&mut c.text[2], &mut c.rows[2], &oid, &mut events);

    if r.chance(0.25) {
        let t = &mut c.text[8];
        let _ = write!(t, "SV{i:09},{oid},");
        ts(t, last_delivered + r.hours(2.0, 96.0));
        let _ = writeln!(
            t,
            ",{},",
            [5, 5, 5, 4, 4, 4, 3, 2, 1, 5][r.below(10) as usize]
        );
        c.rows[8] += 1;
    }
    if r.chance(0.03) || matches!(bad, 18..=20) {
        let kind = if bad == 20 {
            "return"
        } else {
            KINDS[r.below(4) as usize]
        };
        let (category, right) = CATEGORIES[r.below(6) as usize];
        let routed_to = if bad == 18 && r.chance(0.5) {
            if right == "cs" {
                "qc"
            } else {
                "cs"
            }
        } else {
            right
        };
        let opened = last_delivered + r.hours(10.0, 200.0);
        let routed = if bad == 18 && routed_to == right {
            opened + r.hours(30.0, 60.0)
        } else {
            opened + r.hours(0.5, 20.0)
        };
        let closed = if bad == 19 {
            opened + r.hours(8.0 * 24.0, 14.0 * 24.0)
        } else {
            opened + r.hours(24.0, 6.0 * 24.0)
        };
        let t = &mut c.text[7];
        let _ = write!(t, "CASE{i:09},{oid},");
        ts(t, opened);
        let _ = write!(t, ",{kind},{category},,{agent},{routed_to},");
        ts(t, routed);
        t.push(',');
        ts(t, closed - r.hours(2.0, 20.0));
        t.push(',');
        ts(t, closed);
        t.push(',');
        if kind == "return" {
            let back = if bad == 20 {
                opened + r.hours(8.0 * 24.0, 12.0 * 24.0)
            } else {
                opened + r.hours(24.0, 6.0 * 24.0)
            };
            ts(t, back);
            t.push(',');
            ts(t, opened + r.hours(5.0 * 24.0, 25.0 * 24.0));
            let _ = writeln!(t, ",{}.00", amount / 200);
        } else {
            t.push_str(",,\n");
        }
        c.rows[7] += 1;
    }
}

fn write_events(out: &mut String, rows: &mut u64, oid: &str, events: &mut [Ev]) {
    // Event ids follow time order, as the source systems number them.
    events.sort_by_key(|e| e.at);
    for (k, e) in events.iter().enumerate() {
        let _ = write!(out, "{oid}-{:02},{oid},{},", k + 1, e.activity);
        ts(out, e.at);
        let _ = write!(out, ",{},{},", e.actor, e.sku);
        if e.qty > 0 {
            let _ = write!(out, "{}", e.qty);
        }
        out.push(',');
        if let Some(d) = e.new_promised {
            day(out, d);
        }
        out.push_str(",,\n");
        *rows += 1;
    }
}

/// The month `k` months after the first (`k = months` is the one after the last).
fn month_of(o: &GenOptions, k: i32) -> (i32, u32) {
    let idx = o.start.0 * 12 + o.start.1 as i32 - 1 + k;
    (idx.div_euclid(12), idx.rem_euclid(12) as u32 + 1)
}

/// Seconds of the first instant of the month `k` months after the first.
fn month_start(o: &GenOptions, k: i32) -> Result<i64> {
    let (y, m) = month_of(o, k);
    epoch(y, m)
}

fn epoch(y: i32, m: u32) -> Result<i64> {
    let d = NaiveDate::from_ymd_opt(y, m, 1)
        .ok_or_else(|| Error::Usage(format!("--start: no month {y}-{m:02}")))?;
    Ok(d.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp()))
}

/// Generates the exports into `o.out` (one CSV per table).
pub fn generate(o: &GenOptions) -> Result<GenReport> {
    if !(0.0..=1.0).contains(&o.dirty) {
        return Err(Error::Usage("--dirty must be between 0 and 1".into()));
    }
    if o.months == 0 {
        return Err(Error::Usage("--months must be at least 1".into()));
    }
    let start = month_start(o, 0)?;
    let end = month_start(o, o.months as i32)?;
    std::fs::create_dir_all(&o.out).at(&o.out)?;
    let cx = Ctx {
        o,
        staff: Staff::new(o.orders, start, end),
        start,
        end,
        skus: (o.orders / 50).clamp(50, 20_000),
    };
    let mut files = Vec::new();
    for (name, header) in TABLES.iter().zip(HEADERS) {
        let path = o.out.join(format!("{name}.csv"));
        let f = std::fs::File::create(&path).at(&path)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, f);
        writeln!(w, "{header}").at(&path)?;
        files.push((path, w));
    }
    let mut report = GenReport::default();
    let chunks = o.orders.div_ceil(CHUNK);
    // A window of chunks per round bounds memory; the order of writes is the chunk
    // order whatever thread produced them.
    let window = (rayon::current_num_threads() as u64 * 2).max(2);
    let mut next = 0;
    while next < chunks {
        let upto = (next + window).min(chunks);
        let done: Vec<Chunk> = (next..upto)
            .into_par_iter()
            .map(|k| gen_chunk(&cx, k))
            .collect();
        for c in done {
            for (t, (path, w)) in files.iter_mut().enumerate() {
                w.write_all(c.text[t].as_bytes()).at(path)?;
                *report.rows.entry(TABLES[t]).or_default() += c.rows[t];
            }
            for (rule, n) in c.planted.iter().enumerate().skip(1) {
                *report.planted.entry(format!("R{rule:02}")).or_default() += n;
            }
        }
        next = upto;
    }
    // Answers to some of each month's notices, so R21 sees both kinds.
    {
        let (path, w) = &mut files[9];
        let mut r = Rng::new(o.seed, u64::MAX);
        let depts = [
            "sales",
            "cs",
            "warehouse",
            "logistics",
            "purchasing",
            "qc",
            "production",
        ];
        let mut n = 0;
        for m in 0..o.months as i32 {
            let (y, mo) = month_of(o, m);
            let issued = month_start(o, m + 1)?;
            for d in depts {
                for rule in 1..=20 {
                    if r.chance(0.5) {
                        let mut line = format!("N-{y}-{mo:02}-{d}-R{rule:02},");
                        ts(&mut line, issued + r.hours(10.0, 60.0));
                        let _ = writeln!(line, ",M{:03},整改完成", r.below(10));
                        w.write_all(line.as_bytes()).at(path)?;
                        n += 1;
                    }
                }
            }
        }
        *report.rows.entry("rectification_responses").or_default() += n;
    }
    for (path, mut w) in files {
        w.flush().at(&path)?;
    }
    write_staff(o, &cx.staff, &mut report)?;
    write_counts(o, &cx, &mut report)?;
    if o.parquet {
        for name in TABLES.iter().chain(&["staff", "inventory_counts"]) {
            parquet::convert(&o.out.join(format!("{name}.csv")), name)?;
        }
    }
    Ok(report)
}

fn write_staff(o: &GenOptions, st: &Staff, report: &mut GenReport) -> Result<()> {
    let path = o.out.join("staff.csv");
    let mut s = String::from("staff_id,name,department,valid_from,valid_to\n");
    let mut n = 0;
    let mut move_day = String::new();
    day(&mut move_day, st.move_at);
    let mut before = String::new();
    day(&mut before, st.move_at - D);
    for k in 0..st.reps {
        if k < st.movers {
            let _ = writeln!(s, "S{k:04},员工S{k:04},sales,,{before}");
            let _ = writeln!(s, "S{k:04},员工S{k:04},cs,{move_day},");
            n += 2;
        } else {
            let _ = writeln!(s, "S{k:04},员工S{k:04},sales,,");
            n += 1;
        }
    }
    for (prefix, count, dept) in [
        ("C", st.agents, "cs"),
        ("W", st.warehouse, "warehouse"),
        ("L", st.logistics, "logistics"),
    ] {
        for k in 0..count {
            let _ = writeln!(s, "{prefix}{k:04},员工{prefix}{k:04},{dept},,");
            n += 1;
        }
    }
    for (prefix, count, dept) in [
        ("P", 30, "purchasing"),
        ("Q", 20, "qc"),
        ("M", 10, "finance"),
    ] {
        for k in 0..count {
            let _ = writeln!(s, "{prefix}{k:03},员工{prefix}{k:03},{dept},,");
            n += 1;
        }
    }
    std::fs::write(&path, s).at(&path)?;
    report.rows.insert("staff", n);
    Ok(())
}

fn write_counts(o: &GenOptions, cx: &Ctx, report: &mut GenReport) -> Result<()> {
    let path = o.out.join("inventory_counts.csv");
    let mut s = String::from(
        "count_id,counted_at,warehouse,location,sku,system_quantity,counted_quantity,unit_cost,counter_id\n",
    );
    let mut r = Rng::new(o.seed, u64::MAX - 1);
    let per_month = (o.orders / 100).clamp(40, 50_000);
    let mut n = 0u64;
    for m in 0..o.months as i32 {
        let first = month_start(o, m)?;
        for _ in 0..per_month {
            n += 1;
            let sys = 10 + r.below(500) as i64;
            let counted = if r.chance(0.02 + o.dirty / 2.0) {
                sys + [-3, -1, 1, 2][r.below(4) as usize]
            } else {
                sys
            };
            let _ = write!(s, "IC{n:09},");
            ts(&mut s, first + r.below(27) as i64 * D + 17 * H);
            let _ = writeln!(
                s,
                ",WH{},A-{:03},SKU{:05},{sys},{counted},{}.00,{}",
                r.below(5),
                r.below(300),
                r.below(cx.skus),
                5 + r.below(90),
                cx.staff.wh(&mut r)
            );
        }
    }
    std::fs::write(&path, s).at(&path)?;
    report.rows.insert("inventory_counts", n);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rng_stream_is_fixed() {
        // SplitMix64's published first output for state 0 after one increment.
        let mut r = Rng(0);
        assert_eq!(r.next(), 0xE220_A839_7B1D_CDAF);
        let mut s = String::new();
        ts(&mut s, epoch(2025, 3).unwrap() + 3600 + 61);
        assert_eq!(s, "2025-03-01 01:01:01");
    }

    #[test]
    fn chunks_do_not_depend_on_each_other() {
        let o = GenOptions {
            orders: CHUNK * 2,
            start: (2025, 1),
            months: 2,
            seed: 9,
            dirty: 0.1,
            out: PathBuf::from("unused"),
            parquet: false,
        };
        let start = epoch(2025, 1).unwrap();
        let cx = Ctx {
            o: &o,
            staff: Staff::new(o.orders, start, epoch(2025, 3).unwrap()),
            start,
            end: epoch(2025, 3).unwrap(),
            skus: 100,
        };
        let a = gen_chunk(&cx, 1);
        let b = gen_chunk(&cx, 1);
        assert_eq!(a.text, b.text);
        assert!(a.text[0].starts_with(&format!("SO{:09},", CHUNK)));
    }
}
