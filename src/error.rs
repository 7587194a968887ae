//! The crate's one error type. Each variant names what it is about (file and position,
//! table, lake path, policy key) so the message alone lets a person find the problem;
//! `main` prints it with its cause chain and exits with [`EXIT_ERROR`].

use std::path::PathBuf;

use thiserror::Error;

/// Exit code of a run that completed with no finding at or above `--fail-on`.
pub const EXIT_OK: i32 = 0;
/// Exit code of an audit that found violations at or above `--fail-on`.
pub const EXIT_VIOLATIONS: i32 = 1;
/// Exit code of a run that failed.
pub const EXIT_ERROR: i32 = 2;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// An input file that cannot be read at all (binary junk, truncated workbook,
    /// malformed CSV). `line`/`column` are 1-based; 0 when the format has no position.
    #[error("{}{}: {why}", path.display(), position(*line, *column))]
    Unreadable {
        path: PathBuf,
        line: u64,
        column: u64,
        why: String,
    },

    /// The header row matches no table of the data contract (or more than one).
    #[error("{}: line 1: {why}", path.display())]
    UnknownTable { path: PathBuf, why: String },

    /// A header-mapping or policy file is invalid; `key` names the offending entry.
    #[error("{}: {key}: {why}", path.display())]
    Config {
        path: PathBuf,
        key: String,
        why: String,
    },

    /// The lake is not in a state this version can use.
    #[error("lake {}: {why}", path.display())]
    Lake { path: PathBuf, why: String },

    /// A Parquet or DataFrame operation failed; `context` says on what.
    #[error("{context}")]
    Polars {
        context: String,
        #[source]
        source: polars::error::PolarsError,
    },

    /// The command line asked for something impossible.
    #[error("{0}")]
    Usage(String),

    /// A report, chart or template could not be produced.
    #[error("report {what}: {why}")]
    Report { what: String, why: String },

    /// A sealed (published) output is not what its seal says, or cannot be sealed.
    #[error("{}: {why}", path.display())]
    Seal { path: PathBuf, why: String },
}

fn position(line: u64, column: u64) -> String {
    match (line, column) {
        (0, _) => String::new(),
        (l, 0) => format!(": line {l}"),
        (l, c) => format!(": line {l}, column {c}"),
    }
}

/// Adds context to polars results.
pub trait PolarsContext<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T>;
}

impl<T> PolarsContext<T> for polars::error::PolarsResult<T> {
    fn context(self, what: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Polars {
            context: what(),
            source,
        })
    }
}

/// Adds the path to io results.
pub trait IoContext<T> {
    fn at(self, path: &std::path::Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: &std::path::Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
