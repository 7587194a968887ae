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
/// `LVYUE_SHARD_ORDERS`, `LVYUE_PART_ROWS`, `LVYUE_RULE_WORKERS`). Unset, unparsable or zero → `default`.
pub(crate) fn knob(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(default)
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
