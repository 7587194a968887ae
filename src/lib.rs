//! lvyue (履约): audits online order fulfillment against a company regulation.
//!
//! The crate reads as the pipeline: [`ingest`] turns export files into typed rows and
//! commits them to the [`lake`] (partitioned Parquet); [`metrics`] runs the KPI
//! definitions of [`queries`] over the lake; [`rules`] audits the process and keeps
//! the notice ledger; [`assess`] scores departments and people; [`report`] writes what
//! people open; [`publish`] seals what HR received. [`cli`] is what the user typed, [`run`] resolves it
//! into stage options, [`policy`] holds the company's values, [`error`] the one error
//! type.

pub mod assess;
pub mod cli;
pub mod error;
pub mod frame;
pub mod gen;
pub mod ingest;
pub mod lake;
pub mod metrics;
pub mod policy;
pub mod publish;
pub mod queries;
pub mod report;
pub mod rules;
pub mod run;

/// A positive count from the environment variable `name`, else `default`: the
/// measuring and testing knobs (`LVYUE_SPILL_ROWS`, `LVYUE_PARSE_ROWS`,
/// `LVYUE_SHARD_ORDERS`, `LVYUE_PART_ROWS`, `LVYUE_QUERY_WORKERS`). Unset, unparsable or zero → `default`.
pub(crate) fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
}

/// `f` over every item on a few threads that take the items in turn
/// (`LVYUE_QUERY_WORKERS`, default 2), the results in the items' order: so the output
/// does not depend on scheduling. Queries are independent; polars parallelises inside
/// each one too, and two at a time fill each one's serial phases.
pub(crate) fn in_turn<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    in_turn_on(knob("LVYUE_QUERY_WORKERS", 2), items, f)
}

/// [`in_turn`] over items run once per shard: each item's time in the previous shard is
/// kept in `cost`, and the items start longest first (ties, and the first shard, in
/// their order), so the last to start are short ones and one worker does not run a
/// long query alone at a shard's end. The results come back in the items' order.
pub(crate) fn in_turn_longest_first<T: Sync, R: Send>(
    items: &[T],
    cost: &mut Vec<f64>,
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    cost.resize(items.len(), 0.0);
    let order = longest_first(cost);
    let ran = in_turn(&order, |&i| {
        let t = std::time::Instant::now();
        let r = f(&items[i]);
        (r, t.elapsed().as_secs_f64())
    });
    let mut slots: Vec<Option<R>> = items.iter().map(|_| None).collect();
    for (i, (r, took)) in order.into_iter().zip(ran) {
        cost[i] = took;
        slots[i] = Some(r);
    }
    slots
        .into_iter()
        .map(|s| s.expect("every item ran"))
        .collect()
}

/// Indices by decreasing cost; a stable sort, so equal costs keep their order.
fn longest_first(cost: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..cost.len()).collect();
    order.sort_by(|&a, &b| cost[b].total_cmp(&cost[a]));
    order
}

/// Stack of the threads lvyue starts for polars work. polars recurses over a frame's
/// chunks in places: a 10M-order ingest's commit, moved off the main thread (8 MB),
/// overflowed the 2 MB a thread gets by default.
pub(crate) const WORKER_STACK: usize = 64 << 20;

/// [`in_turn`] on `workers` threads. Plain threads, not rayon's: a rayon worker waiting
/// for polars' pool steals further items meanwhile, so rayon would hold more items in
/// memory at once than it has threads.
pub(crate) fn in_turn_on<T: Sync, R: Send>(
    workers: usize,
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<R> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<R>>> =
        items.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1).min(items.len()) {
            let worker = || loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(item) = items.get(i) else { break };
                let r = f(item);
                *slots[i].lock().expect("a worker panicked") = Some(r);
            };
            std::thread::Builder::new()
                .stack_size(WORKER_STACK)
                .spawn_scoped(scope, worker)
                .expect("a worker thread starts");
        }
    });
    // Every index below the item count was taken by a worker before it stopped, so each
    // slot is filled; a worker's panic has already propagated out of the scope.
    slots
        .into_iter()
        .map(|s| {
            s.into_inner()
                .expect("a worker panicked")
                .expect("every item ran")
        })
        .collect()
}

/// This process's resident memory in MB, for the `LVYUE_TIMING` lines (Linux; 0
/// elsewhere): where in a run memory grows is what the peak alone does not say.
pub(crate) fn resident_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_items_start_first_and_results_keep_the_items_order() {
        assert_eq!(
            longest_first(&[0.0, 3.0, 1.0, 3.0, 2.0]),
            vec![1, 3, 4, 2, 0]
        );
        assert_eq!(longest_first(&[0.0; 3]), vec![0, 1, 2]);
        let items = [5u64, 1, 4, 2];
        let mut cost = Vec::new();
        let doubled = in_turn_longest_first(&items, &mut cost, |&n| {
            std::thread::sleep(std::time::Duration::from_millis(n * 10));
            n * 2
        });
        assert_eq!(doubled, vec![10, 2, 8, 4]);
        // Each item's time is kept for the next round: 50 ms for the first, 10 for the second.
        assert_eq!(cost.len(), 4);
        assert!(
            cost[0] >= 0.05 && cost[1] >= 0.01 && cost[0] > cost[1],
            "{cost:?}"
        );
        assert_eq!(longest_first(&cost)[0], 0);
    }
}
