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
    /// Ingest export files into the lake.
    #[command(long_about = INGEST_ABOUT)]
    Ingest(IngestArgs),
    /// Inspect the lake.
    Lake {
        #[command(subcommand)]
        command: LakeCommand,
    },
    /// Write or show the company policy (hours, targets, weights, calendar).
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
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
