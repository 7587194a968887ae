//! Command-line types only: what the user typed, as clap parses it. Resolving these
//! into stage options (loading the policy and mapping files) happens in `run`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::ingest::read::TextEncoding;

/// lvyue (履约) audits online order fulfillment against the company regulation.
#[derive(Debug, Parser)]
#[command(name = "lvyue", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The main job: ingest, then KPIs and audit for every month and the year.
    #[command(long_about = RUN_ABOUT)]
    Run(RunArgs),
    /// Ingest export files into the lake.
    #[command(long_about = INGEST_ABOUT)]
    Ingest(IngestArgs),
    /// Inspect the lake.
    Lake {
        #[command(subcommand)]
        command: LakeCommand,
    },
    /// Compute the KPIs K1–K5 for a month or a year.
    #[command(long_about = METRICS_ABOUT)]
    Metrics(MetricsArgs),
    /// Check the process rules and write the violations register.
    #[command(long_about = AUDIT_ABOUT)]
    Audit(AuditArgs),
    /// Seal a period's outputs as published (HR received them); later runs amend.
    #[command(long_about = PUBLISH_ABOUT)]
    Publish(PublishArgs),
    /// Generate realistic exports (deterministic) for benchmarks and trials.
    #[command(long_about = GEN_ABOUT)]
    Gen(GenArgs),
    /// The rule catalogue.
    Rules {
        #[command(subcommand)]
        command: RulesCommand,
    },
    /// Write or show the company policy (hours, targets, weights, calendar).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
}

const AUDIT_ABOUT: &str = "\
Run the rule pack (queries/rules/*.sql) over the lake as seen at --as-of (default: the
end of the period) and write violations.csv / violations.parquet (the spec's columns),
rule_pass_rates.csv / .parquet (items checked and passed per rule, department and
month) and audit.json. Exit code 0 when it ran; with --fail-on, 1 when there are
violations at or above that severity (for schedulers); 2 on error.

Examples:
  lvyue audit --lake out/lake --period 2025-05 --out out/2025-05
  lvyue audit --lake out/lake --period 2025-05 --out out/2025-05 --fail-on major";

/// Severities, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Severity {
    Minor,
    Major,
    Critical,
}

/// Check the rules.
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(flatten)]
    pub run: PeriodArgs,
    /// Exit with 1 when violations at or above this severity exist (waived ones aside).
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<Severity>,
    /// Waivers CSV: rule_id,item_id,reason,approver,date (item_id: the entity id, or the
    /// order id for order-level rules).
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Also write the SQL as run (DuckDB views of the lake at as-of and every query with
    /// its policy values) into DIR, to rerun it in another engine.
    #[arg(long, value_name = "DIR")]
    pub emit_sql: Option<PathBuf>,
    /// Only write the SQL (--emit-sql), compute nothing.
    #[arg(long, requires = "emit_sql")]
    pub sql_only: bool,
}

/// Language of the report and of catalogue descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Id, clause, department, severity and description of every rule.
    List {
        #[arg(long, value_enum, default_value_t = Lang::Zh)]
        lang: Lang,
    },
    /// One rule with its SQL.
    Show {
        /// Rule id, e.g. R04.
        id: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Write the default policy as commented TOML, to edit.
    Init {
        /// Where to write it.
        #[arg(long, value_name = "FILE", default_value = "policy.toml")]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Print the effective policy (defaults overlaid with FILE) and its fingerprint.
    Show {
        /// Policy TOML; without it, the defaults.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
    },
}

const RUN_ABOUT: &str = "\
The main job. Ingests the given exports — with none, the bundled fixture company
(fixtures/exports, compiled into lvyue) — into the lake (--lake, default ./lake), then, month by month in
order (so each audit re-checks the notices the one before issued), computes the KPIs
and audits the rules, and finally the year. Each period's outputs go to <out>/<period>/:
report.html (the managers' report with charts), notices/<department>.html (printable
rectification notices), bonus_feed.csv/.xlsx (HR), violations.xlsx (the committee's
register), scorecards, metrics and violations as CSV and Parquet.

A period sealed with `lvyue publish` is never overwritten: if its results changed, the
run writes an amendment beside it (<out>/<period>.v2/) with the diff in amendment.csv.

--as-of defaults to the end of the latest month the lake has data for.

Examples:
  lvyue run
  lvyue run exports/2025-05 --out out --as-of '2025-06-01 00:00:00'";

/// The main job.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Export files or folders (default: the bundled fixture company).
    #[arg(value_name = "FILE|DIR")]
    pub inputs: Vec<PathBuf>,
    /// Output folder: reports and registers only, no customer data.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// The lake folder (created if missing). It holds the exports' personal data, so it
    /// is kept apart from the outputs.
    #[arg(long, value_name = "DIR", default_value = "lake")]
    pub lake: PathBuf,
    /// Cut-off instant [default: the end of the latest month with data].
    #[arg(long, value_name = "TS")]
    pub as_of: Option<String>,
    /// Policy TOML (default: the built-in policy).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Waivers CSV for the audits.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Language of the HTML report and the printable notices.
    #[arg(long, value_enum, default_value_t = Lang::Zh)]
    pub lang: Lang,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// The month (`2025-05`) or year (`2025`) to seal.
    #[arg(long, value_name = "PERIOD")]
    pub period: String,
    /// The output folder `lvyue run` wrote.
    #[arg(long, value_name = "DIR", default_value = "out")]
    pub out: PathBuf,
    /// Only verify the sealed versions against their seals; seal nothing.
    #[arg(long)]
    pub check: bool,
}

/// `lvyue gen`.
#[derive(Debug, Args)]
pub struct GenArgs {
    /// Number of orders.
    #[arg(long, default_value_t = 10_000)]
    pub orders: u64,
    /// First month, YYYY-MM.
    #[arg(long, default_value = "2025-01")]
    pub start: String,
    /// Number of months the orders are signed over.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Seed: the same seed gives byte-identical exports.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of orders that break one rule (0..1).
    #[arg(long, default_value_t = 0.05)]
    pub dirty: f64,
    /// Output folder for the export files.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// File format: CSV (one file per table) or typed Parquet (parts of at most 1M
    /// rows per table).
    #[arg(long, value_enum, default_value_t = GenFormat::Csv)]
    pub format: GenFormat,
}

/// Format of the generated exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum GenFormat {
    #[default]
    Csv,
    Parquet,
}

const GEN_ABOUT: &str = "\
Generate exports in the data contract's shape: every order walks the regulation's
process with its variations (shortages with replenishment and POs, made-to-order jobs
with QC and rework, split shipments, transport exceptions, service cases of every kind,
monthly cycle counts, staff moving between departments), and a share --dirty of the
orders each breaks one rule of R01–R20. Written as CSV, in chunks, on all cores, or
with --format parquet as typed Parquet parts; the same seed gives byte-identical files.

Examples:
  lvyue gen --orders 100000 --out exports
  lvyue gen --orders 10000000 --start 2025-01 --months 12 --seed 7 --dirty 0.05 --out big
  lvyue gen --orders 1000000 --format parquet --out big-parquet
";

const PUBLISH_ABOUT: &str = "\
Seal a period's outputs as published: SEAL.json records every file's SHA-256 and the
files become read-only. lvyue never writes into a sealed version again. A later
`lvyue run` whose results for that period differ writes an amendment beside it
(<out>/<period>.v2/, .v3/ …) with amendment.csv, the diff of every score and
coefficient against the sealed version; publish then seals the amendment.

Examples:
  lvyue publish --period 2025-05
  lvyue publish --period 2025-05 --check
";

const INGEST_ABOUT: &str = "\
Ingest export files (CSV in UTF-8 or GB18030, XLSX, JSON Lines, Parquet) into the lake.

Each file's table is recognised from its header (English column names or the Chinese
labels of the data contract). Rows that break the contract are quarantined in
<lake>/_quarantine/ with file, line, column, raw value and reason; the summary shows,
per file, rows read = rows stored + rows quarantined. Re-ingesting a file already in
the lake changes nothing; a corrected re-export replaces the rows with the same keys.
The lake changes in one transaction: an interrupted ingest leaves it as it was.

Examples:
  lvyue ingest fixtures/exports --lake lake
  lvyue ingest 订单导出.xlsx --lake lake --sheet 订单 --table orders
  lvyue ingest export.csv --lake lake --mapping headers.toml --encoding gb18030";

const METRICS_ABOUT: &str = "\
Compute the KPIs K1–K5 (queries/metrics/*.sql) for the company, every department and
every person with attributable steps, per month — and pooled for the year when the
period is a year — and write metrics.csv and metrics.parquet (the spec's columns),
metric_items.parquet (every judged item) and metrics.json (as-of, policy fingerprint).

--as-of defaults to the end of the period (2025-05 → 2025-06-01 00:00:00 local): the
audit sees nothing after it, and an item whose deadline has not passed at as-of is not
judged yet.

Examples:
  lvyue metrics --lake out/lake --period 2025-05 --out out/2025-05
  lvyue metrics --lake out/lake --period 2025 --as-of '2025-07-01 00:00:00' --out out/2025";

/// What a metrics or audit run reads and where it writes.
#[derive(Debug, Args)]
pub struct PeriodArgs {
    /// The lake folder.
    #[arg(long, value_name = "DIR")]
    pub lake: PathBuf,
    /// A month (2025-05) or a year (2025).
    #[arg(long, value_name = "PERIOD")]
    pub period: String,
    /// Cut-off instant, `YYYY-MM-DD HH:MM:SS` local or ISO 8601 with an offset
    /// [default: the end of the period].
    #[arg(long, value_name = "TS")]
    pub as_of: Option<String>,
    /// Policy TOML (default: the built-in policy; see `lvyue policy init`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Compute KPIs.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    #[command(flatten)]
    pub run: PeriodArgs,
    /// Also write the SQL as run (DuckDB views of the lake at as-of, and every query
    /// with its policy values filled in) into DIR, to rerun it in another engine.
    #[arg(long, value_name = "DIR")]
    pub emit_sql: Option<PathBuf>,
    /// Only write the SQL (--emit-sql), compute nothing.
    #[arg(long, requires = "emit_sql")]
    pub sql_only: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Export files, or folders searched recursively for .csv/.xlsx/.jsonl/.parquet.
    #[arg(required = true, value_name = "FILE|DIR")]
    pub inputs: Vec<PathBuf>,
    /// The lake folder (created if missing).
    #[arg(long, value_name = "DIR")]
    pub lake: PathBuf,
    /// Read every input as this table instead of recognising it from the header.
    #[arg(long, value_name = "NAME")]
    pub table: Option<String>,
    /// Header-mapping TOML: `[any]` or `[<table>]` sections of `"header" = "column"`.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Policy TOML (for the company time zone; default Asia/Shanghai).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// CSV text encoding; auto takes UTF-8 (with or without BOM) if valid, else GB18030.
    #[arg(long, value_enum, default_value_t = TextEncoding::Auto)]
    pub encoding: TextEncoding,
    /// XLSX sheet to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum LakeCommand {
    /// Per table: partitions, rows, time range, quarantined rows, last ingest.
    Status {
        /// The lake folder.
        #[arg(long, value_name = "DIR")]
        lake: PathBuf,
    },
}
