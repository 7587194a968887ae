//! The one integration-test binary (one link of polars): a module per stage, sharing
//! the `Workdir` helper that runs the real `lvyue` binary on copies of the fixtures.

mod duckdb;
mod gen;
mod ingest;
mod lake;
mod metrics;
mod props;
mod publish;
mod report;
mod rules;
mod run;
mod shards;
mod util;
