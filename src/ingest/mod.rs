//! Ingest stage: export files → typed rows → one lake transaction.
//!
//! Input: files or folders of exports (CSV, XLSX, JSON Lines, Parquet). Each file's
//! table is recognised from its header ([`header`]), every cell parsed by the contract
//! type of its column ([`parse`]). Rows that break the contract are quarantined with
//! file, line, column, raw value and reason; a file whose content hash the lake already
//! has is skipped; a key seen again replaces the earlier row (corrected re-exports).
//! Invariant, per file: rows read = rows stored + rows quarantined.

pub mod contract;
pub mod header;
pub mod parse;
pub mod read;
pub mod records;

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use chrono_tz::Tz;
use polars::prelude::*;

use crate::error::{Error, IoContext, PolarsContext, Result};
use crate::lake::manifest::SourceRecord;
use crate::lake::write::{self, CommitRequest, TableBatch};
use crate::lake::Lake;
use contract::{ColType, Table};
use header::HeaderMapping;
use parse::Value;
use read::{Format, ReadOptions, TextEncoding};

/// What the user asked the ingest to do.
pub struct IngestOptions {
    pub inputs: Vec<PathBuf>,
    pub lake: PathBuf,
    pub table: Option<&'static Table>,
    pub mapping: HeaderMapping,
    pub encoding: TextEncoding,
    pub sheet: Option<String>,
    pub tz: Tz,
    /// Wall-clock time recorded in the manifest for this ingest.
    pub now: String,
}

/// What happened to one input file.
#[derive(Debug, Clone, PartialEq)]
pub enum FileStatus {
    Ingested,
    /// The lake already holds a file with this content (from that transaction).
    Unchanged {
        txn: u64,
    },
}

#[derive(Debug, Clone)]
pub struct FileOutcome {
    pub status: FileStatus,
    pub record: SourceRecord,
}

#[derive(Debug)]
pub struct IngestReport {
    pub txn: Option<u64>,
    pub files: Vec<FileOutcome>,
    pub recovered: Option<String>,
}

/// Quarantine reason categories (the `reason` column); `detail` says the specifics.
pub mod reason {
    pub const REQUIRED_EMPTY: &str = "required value empty";
    pub const UNPARSEABLE: &str = "unparseable value";
    pub const UNKNOWN_ACTIVITY: &str = "unknown activity";
    pub const UNKNOWN_DEPARTMENT: &str = "unknown department";
    pub const DUPLICATE_KEY: &str = "duplicate key";
    pub const MALFORMED_ROW: &str = "malformed row";
}

/// Columns of the quarantine files.
pub const QUARANTINE_COLUMNS: &[&str] = &[
    "table",
    "source_file",
    "source_sha256",
    "line",
    "column",
    "raw_value",
    "reason",
    "detail",
    "record",
];

struct QuarantineRow {
    table: String,
    source_file: String,
    source_sha256: String,
    line: u64,
    column: String,
    raw_value: String,
    reason: &'static str,
    detail: String,
    record: String,
}

/// Column values of one table being built: text goes straight into an Arrow string
/// array, so a cell's text is copied once, from the row into the column.
pub(crate) enum Builder {
    Str(StringChunkedBuilder),
    Word(Words),
    I64(Vec<Option<i64>>),
    Ts(Vec<Option<i64>>),
    Date(Vec<Option<i32>>),
    Money(Vec<Option<i128>>),
    Bool(Vec<Option<bool>>),
}

impl Builder {
    pub(crate) fn new(ty: ColType, capacity: usize) -> Builder {
        match ty {
            ColType::Str | ColType::Department => {
                Builder::Str(StringChunkedBuilder::new(PlSmallStr::EMPTY, capacity))
            }
            ColType::Activity => Builder::Word(Words::new(contract::ACTIVITIES, capacity)),
            ColType::Code(codes) => Builder::Word(Words::new(codes, capacity)),
            ColType::Timestamp => Builder::Ts(Vec::with_capacity(capacity)),
            ColType::Date => Builder::Date(Vec::with_capacity(capacity)),
            ColType::Money => Builder::Money(Vec::with_capacity(capacity)),
            ColType::Int | ColType::Score => Builder::I64(Vec::with_capacity(capacity)),
            ColType::Bool => Builder::Bool(Vec::with_capacity(capacity)),
        }
    }

    pub(crate) fn push(&mut self, v: &Value) {
        match (self, v) {
            (Builder::Str(b), Value::Str(s)) => b.append_value(&**s),
            (Builder::Word(w), Value::Str(s)) => w.push(s),
            (Builder::Word(w), Value::Null) => w.column.push_null(),
            (Builder::I64(b), Value::Int(i)) => b.push(Some(*i)),
            (Builder::Ts(b), Value::Timestamp(t)) => b.push(Some(*t)),
            (Builder::Date(b), Value::Date(d)) => b.push(Some(*d)),
            (Builder::Money(b), Value::Money(m)) => b.push(Some(*m)),
            (Builder::Bool(b), Value::Bool(x)) => b.push(Some(*x)),
            (Builder::Str(b), Value::Null) => b.append_null(),
            (Builder::I64(b), Value::Null) | (Builder::Ts(b), Value::Null) => b.push(None),
            (Builder::Date(b), Value::Null) => b.push(None),
            (Builder::Money(b), Value::Null) => b.push(None),
            (Builder::Bool(b), Value::Null) => b.push(None),
            (_, v) => unreachable!("parse_value returns the builder's type, got {v:?}"),
        }
    }

    /// Parses a cell straight into the column: the value [`parse::parse_value`] gives,
    /// stored as [`Builder::push`] stores it, without the value in between (building
    /// each row's values and then pushing them was a fifth of an ingest's CPU).
    /// `Ok(false)`: the cell is empty and nothing was pushed. Its first lines repeat
    /// `parse_value`'s trimming and folding on purpose: sharing them through a helper
    /// that returns the cell's text made a 1M ingest slower in 9 of 11 alternating
    /// rounds (1–2 % more user CPU by medians), text cells no longer returning early.
    pub(crate) fn push_cell(&mut self, raw: &str, ty: ColType, tz: Tz) -> Result<bool, String> {
        if ty == ColType::Str {
            let t = parse::trim(raw);
            if t.is_empty() {
                return Ok(false);
            }
            match self {
                Builder::Str(b) => b.append_value(t),
                _ => unreachable!("a text column has a text builder"),
            }
            return Ok(true);
        }
        let s = parse::normalize(raw);
        if s.is_empty() {
            return Ok(false);
        }
        match (self, ty) {
            (Builder::Str(b), _) => b.append_value(parse::parse_department(&s)?),
            (Builder::Word(w), ColType::Activity) => w.push_word(parse::parse_activity(&s)?),
            (Builder::Word(w), ColType::Code(codes)) => w.push_word(parse::parse_code(&s, codes)?),
            (Builder::Word(_), _) => unreachable!("a word column holds activities or codes"),
            (Builder::Ts(v), _) => v.push(Some(parse::parse_timestamp(&s, tz)?)),
            (Builder::Date(v), _) => {
                v.push(Some(parse::days_since_epoch(parse::parse_date(&s)?)));
            }
            (Builder::Money(v), _) => v.push(Some(parse::parse_money(&s)?)),
            (Builder::I64(v), ColType::Score) => v.push(Some(parse::parse_score(&s)?)),
            (Builder::I64(v), _) => v.push(Some(parse::parse_int(&s)?)),
            (Builder::Bool(v), _) => v.push(Some(parse::parse_bool(&s)?)),
        }
        Ok(true)
    }

    pub(crate) fn push_null(&mut self) {
        self.push(&Value::Null);
    }

    pub(crate) fn finish(self, name: &str) -> Result<Series> {
        let name: PlSmallStr = name.into();
        Ok(match self {
            Builder::Str(b) => b.finish().with_name(name).into_series(),
            Builder::Word(w) => StringChunked::with_chunk(name, w.column.freeze()).into_series(),
            Builder::I64(v) => Series::new(name, v),
            Builder::Bool(v) => Series::new(name, v),
            Builder::Ts(v) => Int64Chunked::from_iter_options(name, v.into_iter())
                .into_datetime(TimeUnit::Microseconds, None)
                .into_series(),
            Builder::Date(v) => Int32Chunked::from_iter_options(name, v.into_iter())
                .into_date()
                .into_series(),
            Builder::Money(v) => Int128Chunked::from_iter_options(name.clone(), v.into_iter())
                .into_decimal(18, 2)
                .context(|| format!("column {name}: amount out of Decimal(18,2) range"))?
                .into_series(),
        })
    }
}

/// A text column whose values are words of a fixed list (activities, codes). Every
/// row gets its word's view into one buffer holding the list, so no row copies its
/// text, and equal words have equal views: the lake writer's dictionary then finds an
/// activity by its view instead of reading and hashing its text (most activity names
/// are longer than the 12 bytes a view holds).
pub(crate) struct Words {
    list: &'static [&'static str],
    buffer: [polars_buffer::Buffer<u8>; 1],
    views: Vec<polars_arrow::array::View>,
    column: polars_arrow::array::MutableBinaryViewArray<str>,
}

impl Words {
    fn new(list: &'static [&'static str], capacity: usize) -> Words {
        let mut bytes = Vec::new();
        let views = list
            .iter()
            .map(|w| {
                let view =
                    polars_arrow::array::View::new_from_bytes(w.as_bytes(), 0, bytes.len() as u32);
                bytes.extend_from_slice(w.as_bytes());
                view
            })
            .collect();
        Words {
            list,
            buffer: [bytes.into()],
            views,
            column: polars_arrow::array::MutableBinaryViewArray::with_capacity(capacity),
        }
    }

    fn push(&mut self, s: &str) {
        // Parsing hands out the list's own words; a default may be an equal text.
        let at = self
            .list
            .iter()
            .position(|w| std::ptr::eq(w.as_ptr(), s.as_ptr()) && w.len() == s.len())
            .or_else(|| self.list.iter().position(|w| *w == s));
        match at {
            Some(i) => self.push_word(i),
            None => self.column.push_value(s),
        }
    }

    /// Pushes the list's `i`-th word.
    fn push_word(&mut self, i: usize) {
        self.column.push_view(self.views[i], &self.buffer);
    }
}

/// The key text of a parsed value, matching [`write::key_strings`] on the stored column.
fn key_part(v: &Value) -> String {
    match v {
        Value::Null => "\u{0}".into(),
        Value::Str(s) => s.to_string(),
        Value::Int(i) | Value::Timestamp(i) => i.to_string(),
        Value::Date(d) => d.to_string(),
        Value::Money(m) => m.to_string(),
        Value::Bool(b) => b.to_string(),
    }
}

/// Rows read before their cells are parsed in parallel: enough to keep both cores
/// busy, few enough that a chunk of the widest table stays a few MB.
/// `LVYUE_PARSE_ROWS` lowers it so the tests cut small exports into many chunks.
const PARSE_ROWS: usize = 16_384;

/// Rows parsed together into one set of columns; a chunk is cut into a few pieces so
/// that both cores build columns.
const PIECE_ROWS: usize = 4_096;

/// What parsing says of one row.
enum Outcome {
    /// The row parsed: its values are the next row of its piece's columns. With its key
    /// hash comes how its key compares with the previous parsed row's in the piece
    /// (`None` for the piece's first, which the file-order pass compares itself).
    Row(write::KeyHash, Option<Ordering>),
    /// The first reason the row is quarantined.
    Bad {
        column: String,
        raw: String,
        reason: &'static str,
        detail: String,
    },
}

/// A run of consecutive rows parsed on one thread: an outcome per row, and the typed
/// columns of the rows that parsed, in order.
struct Piece {
    outcomes: Vec<Outcome>,
    frame: DataFrame,
    /// The keys of the first and last parsed rows, to compare across pieces.
    first_key: Option<Vec<Value<'static>>>,
    last_key: Option<Vec<Value<'static>>>,
}

/// Orders two keys of one table part by part. Any total order whose equality is the
/// key's identity serves the file-order pass: it only asks whether keys ascend.
fn cmp_key<'v, 'r: 'v>(
    a: impl IntoIterator<Item = &'v Value<'r>>,
    b: impl IntoIterator<Item = &'v Value<'r>>,
) -> Ordering {
    fn part(a: &Value, b: &Value) -> Ordering {
        match (a, b) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Less,
            (_, Value::Null) => Ordering::Greater,
            (Value::Str(x), Value::Str(y)) => x.cmp(y),
            (Value::Int(x), Value::Int(y)) | (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
            (Value::Date(x), Value::Date(y)) => x.cmp(y),
            (Value::Money(x), Value::Money(y)) => x.cmp(y),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            // One column has one type; were it not so, "before" sends the row to a lookup.
            _ => Ordering::Less,
        }
    }
    a.into_iter()
        .zip(b)
        .map(|(x, y)| part(x, y))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

/// Whether a key part's text stands for it alone: text holding the parts' separator
/// or the null marker could make two different keys one key text (one hash). A key
/// with such a part is never taken for new by order alone.
fn plain_part(v: &Value) -> bool {
    match v {
        Value::Str(s) => !s.contains(['\u{1f}', '\u{0}']),
        _ => true,
    }
}

fn owned_value(v: &Value) -> Value<'static> {
    match v {
        Value::Str(s) => Value::Str(Cow::Owned(s.to_string())),
        Value::Null => Value::Null,
        Value::Timestamp(t) => Value::Timestamp(*t),
        Value::Date(d) => Value::Date(*d),
        Value::Money(m) => Value::Money(*m),
        Value::Int(i) => Value::Int(*i),
        Value::Bool(b) => Value::Bool(*b),
    }
}

/// How one file's fields map onto its table: what parsing a row needs, shared by the
/// parsing threads.
struct RowShape<'a> {
    table: &'static Table,
    /// Contract column index → input field index.
    field_of: &'a [Option<usize>],
    key_cols: &'a [usize],
    /// Contract column index → its place in the key, for the key's columns.
    key_place: Vec<Option<usize>>,
    /// Contract column index → the value an empty optional cell takes.
    empty: Vec<Value<'static>>,
    headers: &'a [String],
    tz: Tz,
}

impl<'a> RowShape<'a> {
    fn new(
        table: &'static Table,
        field_of: &'a [Option<usize>],
        key_cols: &'a [usize],
        headers: &'a [String],
        tz: Tz,
    ) -> RowShape<'a> {
        let mut key_place = vec![None; table.columns.len()];
        for (place, &ci) in key_cols.iter().enumerate() {
            key_place[ci] = Some(place);
        }
        let empty = table
            .columns
            .iter()
            .map(|c| default_for(table.name, c.name).unwrap_or(Value::Null))
            .collect();
        RowShape {
            table,
            field_of,
            key_cols,
            key_place,
            empty,
            headers,
            tz,
        }
    }

    /// The text of column `ci`'s cell; a field the file lacks is empty.
    fn raw<'r>(&self, row: &'r read::RawRow, ci: usize) -> &'r str {
        self.field_of[ci]
            .and_then(|f| row.cells.get(f))
            .unwrap_or("")
    }

    /// The quarantine of a row for its cell of column `ci`: `why` it did not parse, or
    /// (`None`) empty where a value is required.
    fn bad_cell(&self, ci: usize, raw: &str, why: Option<String>) -> Outcome {
        let c = &self.table.columns[ci];
        let header = self.field_of[ci].map_or(c.name, |f| self.headers[f].as_str());
        let (reason, detail) = match why {
            None => (reason::REQUIRED_EMPTY, format!("{} is required", c.name)),
            Some(why) => {
                let r = match c.ty {
                    ColType::Activity => reason::UNKNOWN_ACTIVITY,
                    ColType::Department => reason::UNKNOWN_DEPARTMENT,
                    _ => reason::UNPARSEABLE,
                };
                (r, format!("{}: {why}", c.name))
            }
        };
        Outcome::Bad {
            column: header.to_string(),
            raw: raw.to_string(),
            reason,
            detail,
        }
    }

    /// The value of an empty cell of column `ci`: its default or null, unless required.
    fn empty_cell(&self, ci: usize, raw: &str) -> Result<Value<'static>, Outcome> {
        if self.table.columns[ci].required {
            return Err(self.bad_cell(ci, raw, None));
        }
        Ok(self.empty[ci].clone())
    }

    /// The value of column `ci`'s cell, for a key part (keys are compared and hashed
    /// as values).
    fn cell_value<'r>(&self, row: &'r read::RawRow, ci: usize) -> Result<Value<'r>, Outcome> {
        let raw = self.raw(row, ci);
        match parse::parse_value(raw, self.table.columns[ci].ty, self.tz) {
            Ok(Value::Null) => self.empty_cell(ci, raw),
            Ok(v) => Ok(v),
            Err(why) => Err(self.bad_cell(ci, raw, Some(why))),
        }
    }

    /// Parses a row's cells into the next row of `builders` and its key's parts into
    /// `key`, or says why the row is quarantined (its first cell in column order that
    /// fails). Nothing here depends on other rows. A row that fails still fills its row
    /// of every builder, with nulls from the cell that failed on, for the caller to
    /// drop: builders cannot take a value back, and rows rarely fail.
    fn row_into<'r>(
        &self,
        row: &'r read::RawRow,
        builders: &mut [Builder],
        key: &mut Vec<Value<'r>>,
    ) -> Result<(), Outcome> {
        key.clear();
        key.resize(self.key_cols.len(), Value::Null);
        let failed = |from: usize, builders: &mut [Builder], bad: Outcome| {
            builders[from..].iter_mut().for_each(Builder::push_null);
            Err(bad)
        };
        if let Some((col, why)) = &row.problem {
            let bad = Outcome::Bad {
                column: col.clone(),
                raw: String::new(),
                reason: reason::MALFORMED_ROW,
                detail: why.clone(),
            };
            return failed(0, builders, bad);
        }
        for (ci, c) in self.table.columns.iter().enumerate() {
            let done = match self.key_place[ci] {
                Some(place) => self.cell_value(row, ci).map(|v| {
                    builders[ci].push(&v);
                    key[place] = v;
                }),
                None => {
                    let raw = self.raw(row, ci);
                    match builders[ci].push_cell(raw, c.ty, self.tz) {
                        Ok(true) => Ok(()),
                        Ok(false) => self.empty_cell(ci, raw).map(|v| builders[ci].push(&v)),
                        Err(why) => Err(self.bad_cell(ci, raw, Some(why))),
                    }
                }
            };
            if let Err(bad) = done {
                return failed(ci, builders, bad);
            }
        }
        Ok(())
    }

    /// The key's text, parts joined by U+001F (as [`write::key_strings`] joins them).
    fn key_text(key: &[Value]) -> String {
        key.iter().map(key_part).collect::<Vec<_>>().join("\u{1f}")
    }

    fn key_hash(key: &[Value]) -> write::KeyHash {
        // Most keys are one text column: hashed where it lies, without building the text.
        if let [Value::Str(s)] = key {
            return write::key_hash(s);
        }
        write::key_hash(&Self::key_text(key))
    }

    /// The key text of a row that parsed (for the rare duplicate message).
    fn key_of(&self, row: &read::RawRow) -> String {
        let key: Vec<Value> = self
            .key_cols
            .iter()
            .map(|&ci| self.cell_value(row, ci).unwrap_or(Value::Null))
            .collect();
        Self::key_text(&key)
    }

    /// Parses consecutive rows into one set of columns.
    fn piece(&self, rows: &[read::RawRow]) -> Result<Piece> {
        let t = self.table;
        let mut builders: Vec<Builder> = t
            .columns
            .iter()
            .map(|c| Builder::new(c.ty, rows.len()))
            .collect();
        let mut outcomes = Vec::with_capacity(rows.len());
        let mut key = Vec::with_capacity(self.key_cols.len());
        // The previous parsed row's key, swapped with `key` after each row.
        let mut prev: Vec<Value> = Vec::with_capacity(self.key_cols.len());
        let mut height = 0;
        // Builder rows of rows that failed, to drop.
        let mut failed = Vec::new();
        let owned_key = |k: &[Value]| k.iter().map(owned_value).collect::<Vec<_>>();
        let mut first_key = None;
        for (slot, row) in rows.iter().enumerate() {
            if let Err(bad) = self.row_into(row, &mut builders, &mut key) {
                outcomes.push(bad);
                failed.push(slot);
                continue;
            }
            let order = if !key.iter().all(plain_part) {
                Some(Ordering::Less)
            } else if height == 0 {
                first_key = Some(owned_key(&key));
                None
            } else {
                Some(cmp_key(&key, &prev))
            };
            outcomes.push(Outcome::Row(Self::key_hash(&key), order));
            height += 1;
            std::mem::swap(&mut key, &mut prev);
        }
        let last_key = (height > 0).then(|| owned_key(&prev));
        let cols = builders
            .into_iter()
            .zip(t.columns)
            .map(|(b, c)| b.finish(c.name).map(Column::from))
            .collect::<Result<Vec<_>>>()?;
        let building = || format!("building {}", t.name);
        let mut frame = DataFrame::new(rows.len(), cols).context(building)?;
        if !failed.is_empty() {
            let mut keep = vec![true; rows.len()];
            failed.iter().for_each(|&slot| keep[slot] = false);
            frame = frame
                .filter(&BooleanChunked::from_slice(PlSmallStr::EMPTY, &keep))
                .context(building)?;
        }
        Ok(Piece {
            outcomes,
            frame,
            first_key,
            last_key,
        })
    }
}

/// A quarantined row as it was read: header → cell text, as JSON.
fn record_json(headers: &[String], row: &read::RawRow) -> String {
    let m: serde_json::Map<String, serde_json::Value> = headers
        .iter()
        .zip(row.cells.iter().chain(std::iter::repeat("")))
        .map(|(h, v)| (h.clone(), serde_json::Value::String(v.to_string())))
        .collect();
    serde_json::Value::Object(m).to_string()
}

/// An export being read: its rows come one at a time, from disk or from memory.
struct Sheet {
    format: Format,
    headers: Vec<String>,
    detail: String,
    rows: Box<dyn read::RowSource>,
}

impl Sheet {
    /// A UTF-8 CSV read row by row from disk.
    fn streamed(s: read::CsvStream) -> Sheet {
        Sheet {
            format: Format::Csv,
            headers: s.headers.clone(),
            detail: s.detail.to_string(),
            rows: Box::new(s),
        }
    }
}

/// Rows a table holds in memory before they are spilled (to spill files, or to the lake
/// files written beside the parse); `LVYUE_SPILL_ROWS` lowers it so the tests exercise
/// spilling on small exports. A quarter of the 2^20 it was: the lake files keep the last
/// spill's rows until their row groups fill, so the ingest's peak grows with the spill
/// (10M orders: 13.4 GB at 2^20 rows, 11.8 GB at 2^18, in 137.7 and 140.8 s).
const SPILL_ROWS: usize = 1 << 18;

/// Rows of one table collected in this ingest: the latest rows in parsed pieces, the
/// rest written by partition under `<lake>/_txn/spill/` (discarded with an interrupted
/// transaction, removed by a committed one). Per row it keeps only what the upsert
/// needs: liveness, source, whether it replaced a row of this ingest, and its line.
struct Acc {
    table: &'static Table,
    /// Parsed pieces not yet spilled, in file order.
    pending: Vec<DataFrame>,
    /// Ingest-wide number of the first row in `pending`.
    buffered_from: usize,
    origin: Vec<u32>,
    live: Vec<bool>,
    replaced_in_batch: Vec<bool>,
    /// The rows' keys.
    keys: write::RowKeys,
    /// Source line of each row (for naming the first of two duplicates).
    lines: Vec<u32>,
    spills: Vec<(Option<(i32, u32)>, PathBuf)>,
    /// The lake files of a table the lake holds no rows of; its spill thread has them
    /// while it runs.
    direct: Option<Box<Direct>>,
    /// Those files once the spill thread has finished them.
    finished: Option<write::DirectBatch>,
    order_runs: write::OrderRuns,
    /// The thread writing the table's spills beside the parse, once there is one.
    worker: Option<SpillWorker>,
    spills_started: usize,
    /// Spills whose outcome has come back.
    spills_done: usize,
}

/// What one spill wrote: (partition, file) pairs of spill files in partition order
/// (none when it grew the table's lake files); and the orders its rows name.
struct Spilled {
    files: Vec<(Option<(i32, u32)>, PathBuf)>,
    order_runs: write::OrderRuns,
}

/// Parsed pieces holding ingest-wide rows `rows`, to be written as spill number `n`.
struct SpillJob {
    pieces: Vec<DataFrame>,
    rows: std::ops::Range<u64>,
    n: usize,
    /// Every row of the table so far, these too, came in strictly ascending key order
    /// (its first file, in order): each partition's rows are then in order, unchecked.
    ascending: bool,
}

/// The thread that writes one table's spills in order. It owns the table's lake files,
/// so a spill need not wait for the one before it to hand them back: one more spill can
/// wait in line while the parse goes on (a 10M-order ingest's file-order pass waited
/// 29.8 s of 140.7 for spills when each started only after the last had finished).
struct SpillWorker {
    jobs: Option<std::sync::mpsc::SyncSender<SpillMsg>>,
    done: std::sync::mpsc::Receiver<Result<Spilled>>,
    thread: Option<std::thread::JoinHandle<Stopped>>,
}

/// What a table's spill thread is handed.
enum SpillMsg {
    Job(SpillJob),
    /// The table's rows are all in: finish and settle its lake files, given which rows
    /// are live when a later row replaced any.
    Close(Option<Vec<bool>>),
}

/// What a spill thread hands back when it stops: the table's lake files, finished and
/// settled by the thread itself once told the table is closed, so that the tables'
/// threads do that side by side; else (a failed spill, a stopped ingest) the files as
/// they are, to be removed.
enum Stopped {
    Finished(Result<write::DirectBatch>),
    Unfinished(Option<Box<Direct>>),
}

impl SpillWorker {
    fn start(
        t: &'static Table,
        dir: &Path,
        mut direct: Option<Box<Direct>>,
    ) -> Result<SpillWorker> {
        // One job waits while one is written: memory holds three spills' rows at most,
        // with the one the parse is filling.
        let (jobs, inbox) = std::sync::mpsc::sync_channel::<SpillMsg>(1);
        let (outbox, done) = std::sync::mpsc::channel();
        let folder = dir.to_path_buf();
        let thread = std::thread::Builder::new()
            .name("lvyue-spill".into())
            .stack_size(crate::WORKER_STACK)
            .spawn(move || {
                for msg in inbox {
                    let job = match msg {
                        SpillMsg::Job(job) => job,
                        SpillMsg::Close(live) => {
                            return match direct {
                                Some(d) => Stopped::Finished(d.finish(t, live.as_deref())),
                                None => Stopped::Unfinished(None),
                            };
                        }
                    };
                    let out = write_spill_files(t, job, &folder, direct.as_deref_mut());
                    let failed = out.is_err();
                    if outbox.send(out).is_err() || failed {
                        return Stopped::Unfinished(direct);
                    }
                }
                Stopped::Unfinished(direct)
            })
            .at(dir)?;
        Ok(SpillWorker {
            jobs: Some(jobs),
            done,
            thread: Some(thread),
        })
    }

    /// Lets the thread finish and settle the lake files once it has written every spill
    /// handed in. Should the thread have stopped at a failed spill, its error is waiting.
    fn close(&mut self, live: Option<Vec<bool>>) {
        if let Some(jobs) = self.jobs.take() {
            let _ = jobs.send(SpillMsg::Close(live));
        }
    }

    /// Waits for the thread: with the lake files finished if it was closed.
    fn stop(&mut self) -> Stopped {
        drop(self.jobs.take());
        let joined = self.thread.take().map(|t| t.join());
        match joined {
            Some(Ok(stopped)) => stopped,
            Some(Err(panic)) => std::panic::resume_unwind(panic),
            None => Stopped::Unfinished(None),
        }
    }
}

impl Drop for SpillWorker {
    fn drop(&mut self) {
        // A failed ingest removes its spill folder after this: no file may still be
        // being written into it.
        drop(self.jobs.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The lake files of a table the lake holds no rows of, one per partition, written as
/// its rows are spilled: each row is then written once, not to a spill file and again
/// at the commit (the commit was a quarter of a 1M-order ingest). Rows a later row
/// replaces are found at the commit, which rewrites only the partitions holding them.
struct Direct {
    dir: PathBuf,
    tz: String,
    parts: Vec<DirectPart>,
    slot_of: BTreeMap<Option<(i32, u32)>, u16>,
    /// The partition slot of each row.
    row_slots: Vec<u16>,
}

struct DirectPart {
    part: Option<(i32, u32)>,
    path: PathBuf,
    file: write::LakeFile,
    /// The key columns of the partition's last row so far.
    last_key: Option<DataFrame>,
    ordered: bool,
    time: Option<(i64, i64)>,
}

impl Direct {
    /// Appends rows to their partitions' files; `ascending` as [`SpillJob::ascending`].
    fn push(&mut self, t: &'static Table, df: &DataFrame, ascending: bool) -> Result<()> {
        let split = split_by_partition(df, t)?;
        // The spill's partitions get their files in the order their first row comes.
        let mut slots = Vec::with_capacity(split.seen.len());
        for &p in &split.seen {
            let slot = match self.slot_of.get(&p) {
                Some(&s) => s,
                None => {
                    let Ok(s) = u16::try_from(self.parts.len()) else {
                        return Err(Error::Usage(format!(
                            "{} rows fall in more than {} months: ingest the exports in parts",
                            t.name,
                            u16::MAX
                        )));
                    };
                    let path = self.dir.join(format!("{}-{s:05}.parquet", t.name));
                    self.parts.push(DirectPart {
                        part: p,
                        file: write::LakeFile::create(&path, df.schema(), &self.tz, t.name)?,
                        path,
                        last_key: None,
                        ordered: true,
                        time: None,
                    });
                    self.slot_of.insert(p, s);
                    s
                }
            };
            slots.push(slot);
        }
        self.row_slots
            .extend(split.row_seen.iter().map(|&i| slots[i as usize]));
        let what = || format!("{} rows", t.name);
        for (p, chunk) in split.chunks {
            let dp = &mut self.parts[self.slot_of[&p] as usize];
            let keys = chunk.select(t.key.iter().copied()).context(what)?;
            // Checking the order was 1.6 % of a 1M-order ingest, for files in order.
            if dp.ordered && !ascending {
                dp.ordered = write::in_key_order(&keys, t.key)?
                    && match &dp.last_key {
                        Some(last) => {
                            let mut two = last.clone();
                            two.vstack_mut(&keys.head(Some(1))).context(what)?;
                            write::in_key_order(&two, t.key)?
                        }
                        None => true,
                    };
            }
            dp.last_key = Some(keys.tail(Some(1)));
            if let Some((lo, hi)) = write::time_bounds(&chunk, t)? {
                dp.time = Some(dp.time.map_or((lo, hi), |(a, b)| (a.min(lo), b.max(hi))));
            }
            dp.file.push(chunk)?;
        }
        Ok(())
    }

    /// Finishes the files and settles them ([`write::settle_direct`]); `live` says which
    /// of the table's rows are still live, when a later row replaced any.
    fn finish(self, t: &Table, live: Option<&[bool]>) -> Result<write::DirectBatch> {
        let files = self
            .parts
            .into_iter()
            .map(|p| {
                Ok(write::DirectFile {
                    part: p.part,
                    rows: p.file.finish()?,
                    path: p.path,
                    ordered: p.ordered,
                    time: p.time,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut batch = write::DirectBatch {
            files,
            row_slots: self.row_slots,
        };
        write::settle_direct(t, &self.tz, &mut batch, live)?;
        Ok(batch)
    }
}

impl Acc {
    /// `direct` names the folder to write the table's lake files in, when the lake
    /// holds no rows of it.
    fn new(table: &'static Table, direct: Option<(PathBuf, &str)>) -> Acc {
        Acc {
            table,
            pending: Vec::new(),
            buffered_from: 0,
            origin: Vec::new(),
            live: Vec::new(),
            replaced_in_batch: Vec::new(),
            keys: write::RowKeys::default(),
            lines: Vec::new(),
            spills: Vec::new(),
            direct: direct.map(|(dir, tz)| {
                Box::new(Direct {
                    dir,
                    tz: tz.to_string(),
                    parts: Vec::new(),
                    slot_of: BTreeMap::new(),
                    row_slots: Vec::new(),
                })
            }),
            finished: None,
            order_runs: Vec::new(),
            worker: None,
            spills_started: 0,
            spills_done: 0,
        }
    }

    /// Makes room for `rows` more rows.
    fn reserve(&mut self, rows: usize) {
        self.keys.reserve(rows);
        self.origin.reserve(rows);
        self.live.reserve(rows);
        self.replaced_in_batch.reserve(rows);
        self.lines.reserve(rows);
    }

    /// Buffers a parsed piece's rows, without those `keep` leaves out.
    fn append(&mut self, piece: DataFrame, keep: &[bool]) -> Result<()> {
        let piece = if keep.iter().all(|&k| k) {
            piece
        } else {
            piece
                .filter(&BooleanChunked::from_slice("keep".into(), keep))
                .context(|| format!("{} rows", self.table.name))?
        };
        if piece.height() > 0 {
            self.pending.push(piece);
        }
        Ok(())
    }

    /// Hands the buffered rows to the table's spill thread, which writes them by
    /// partition after the spills handed in before.
    fn spill(&mut self, dir: &Path) -> Result<()> {
        let height = self.live.len() - self.buffered_from;
        if height == 0 {
            return Ok(());
        }
        self.collect_spills(false)?;
        if self.worker.is_none() {
            self.worker = Some(SpillWorker::start(self.table, dir, self.direct.take())?);
        }
        let job = SpillJob {
            pieces: std::mem::take(&mut self.pending),
            rows: self.buffered_from as u64..self.live.len() as u64,
            n: self.spills_started,
            ascending: matches!(self.keys, write::RowKeys::Listed(_)),
        };
        let jobs = self.worker.as_ref().and_then(|w| w.jobs.as_ref());
        if jobs.is_none_or(|j| j.send(SpillMsg::Job(job)).is_err()) {
            // The thread stopped at a failed spill: its error is waiting.
            self.collect_spills(true)?;
            return Err(Error::Usage(format!(
                "writing {} rows stopped",
                self.table.name
            )));
        }
        self.spills_started += 1;
        self.buffered_from = self.live.len();
        Ok(())
    }

    /// Records what the spills written so far wrote; with `all`, waits for every spill
    /// handed in and takes the lake files back, finished unless a spill failed.
    fn collect_spills(&mut self, all: bool) -> Result<()> {
        let Some(w) = &mut self.worker else {
            return Ok(());
        };
        let mut finished = None;
        if all {
            match w.stop() {
                Stopped::Finished(batch) => finished = Some(batch),
                Stopped::Unfinished(Some(d)) => self.direct = Some(d),
                Stopped::Unfinished(None) => {}
            }
        }
        // A failed spill's error comes before any error of finishing the files.
        self.record_spills(false)?;
        if let Some(batch) = finished {
            self.finished = Some(batch?);
        }
        Ok(())
    }

    /// Hands the last buffered rows to the spill thread and lets it finish and settle the
    /// table's files without waiting for it: the tables' threads then do so side by side.
    fn close(&mut self, dir: &Path) -> Result<()> {
        self.spill(dir)?;
        if let Some(w) = &mut self.worker {
            // Rows are replaced only by corrections within the ingest: rarely.
            w.close(self.live.contains(&false).then(|| self.live.clone()));
        }
        Ok(())
    }

    /// Records the spills whose outcome has come back; with `wait`, first waits until
    /// every spill handed in is written (but not for the table's files to be finished:
    /// the order runs are then all in).
    fn record_spills(&mut self, wait: bool) -> Result<()> {
        let Some(w) = &self.worker else {
            return Ok(());
        };
        loop {
            // The thread is gone only after sending a failed spill's error, received
            // here or at the end of the table's rows.
            let out = if wait && self.spills_done < self.spills_started {
                w.done.recv().ok()
            } else {
                w.done.try_recv().ok()
            };
            let Some(out) = out else { break };
            self.spills_done += 1;
            let out = out?;
            self.spills.extend(out.files);
            self.order_runs.extend(out.order_runs);
        }
        Ok(())
    }

    /// Drops the rows collected so far and removes their files.
    fn discard(mut self) -> Result<()> {
        // Files of a failed spill are removed with the spill folder.
        self.collect_spills(true)?;
        // The table's lake files, finished or not, are removed too.
        let unfinished = self.direct.take().into_iter().flat_map(|d| d.parts);
        // A settled file left without rows was not written.
        let finished = self
            .finished
            .take()
            .into_iter()
            .flat_map(|b| b.files)
            .filter(|f| f.rows > 0);
        let written = unfinished.map(|p| p.path).chain(finished.map(|f| f.path));
        for path in std::mem::take(&mut self.spills)
            .into_iter()
            .map(|(_, p)| p)
            .chain(written)
        {
            std::fs::remove_file(&path).at(&path)?;
        }
        Ok(())
    }

    fn into_batch(mut self, dir: &Path) -> Result<TableBatch> {
        self.close(dir)?;
        self.collect_spills(true)?;
        let live = self.live.contains(&false).then_some(self.live.as_slice());
        let direct = match self.finished.take() {
            Some(batch) => Some(batch),
            None => self
                .direct
                .take()
                .map(|d| d.finish(self.table, live))
                .transpose()?,
        };
        Ok(TableBatch {
            table: self.table,
            spills: std::mem::take(&mut self.spills),
            live: std::mem::take(&mut self.live),
            origin: std::mem::take(&mut self.origin),
            replaced_in_batch: std::mem::take(&mut self.replaced_in_batch),
            keys: std::mem::take(&mut self.keys),
            direct,
            order_runs: std::mem::take(&mut self.order_runs),
            spill_count: self.spills_started,
        })
    }
}

/// Runs of consecutive rows of `df` (ingest-wide rows from `first`) naming one order.
fn order_runs(t: &Table, df: &DataFrame, first: u64, out: &mut write::OrderRuns) -> Result<()> {
    if t.name == "orders" || t.column_index("order_id").is_none() {
        return Ok(());
    }
    let ids = df
        .column("order_id")
        .context(|| "order_id".into())?
        .str()
        .context(|| "order_id".into())?;
    let mut prev: Option<&str> = None;
    for (i, id) in ids.iter().enumerate() {
        match id {
            Some(id) if prev == Some(id) => {
                if let Some(run) = out.last_mut() {
                    run.2 += 1;
                }
            }
            Some(id) => {
                // Row numbers fit u32: the file-order pass checks.
                out.push((write::key_hash(id), (first + i as u64) as u32, 1));
            }
            None => {}
        }
        prev = id;
    }
    Ok(())
}

/// A partition: the local (year, month) of the rows' own time, `None` for tables
/// without one.
type Part = Option<(i32, u32)>;

/// A spill's rows split by the partition their own time falls in.
struct Split {
    /// The partitions in the order their first row comes.
    seen: Vec<Part>,
    /// Each row's partition, as an index in `seen`.
    row_seen: Vec<u32>,
    /// Each partition's rows in row order, partitions in order.
    chunks: Vec<(Part, DataFrame)>,
}

/// Splits `df`'s rows by the partition their own time falls in.
fn split_by_partition(df: &DataFrame, t: &Table) -> Result<Split> {
    let row_parts = write::row_partitions(df, t)?;
    // A spill spans a few months, and consecutive rows mostly share one: a short list
    // with the last group remembered, not a map lookup per row.
    let mut groups: Vec<(Part, Vec<IdxSize>)> = Vec::new();
    let mut row_seen = Vec::with_capacity(row_parts.len());
    let mut last = 0;
    for (i, p) in row_parts.iter().enumerate() {
        if groups.get(last).is_none_or(|g| g.0 != *p) {
            last = match groups.iter().position(|g| g.0 == *p) {
                Some(at) => at,
                None => {
                    groups.push((*p, Vec::new()));
                    groups.len() - 1
                }
            };
        }
        groups[last].1.push(i as IdxSize);
        row_seen.push(last as u32);
    }
    let seen: Vec<Part> = groups.iter().map(|g| g.0).collect();
    // Rows all in one partition need no gather, and are handed on in the parsed pieces'
    // chunks: the lake file copies them into one chunk per row group anyway.
    if let [p] = seen.as_slice() {
        let chunks = vec![(*p, df.clone())];
        return Ok(Split {
            seen,
            row_seen,
            chunks,
        });
    }
    groups.sort_unstable_by_key(|g| g.0);
    // One chunk per column: the take looks up chunks otherwise.
    let mut df = df.clone();
    df.rechunk_mut_par();
    let chunks = groups
        .into_iter()
        .map(|(p, idx)| {
            let rows = df
                .take(&IdxCa::from_vec("idx".into(), idx))
                .context(|| format!("{} rows", t.name))?;
            Ok((p, rows))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Split {
        seen,
        row_seen,
        chunks,
    })
}

/// Writes a spill of table `t`: to the table's lake files when `direct`, else one spill
/// file per partition, each row carrying its row number.
fn write_spill_files(
    t: &'static Table,
    job: SpillJob,
    dir: &Path,
    direct: Option<&mut Direct>,
) -> Result<Spilled> {
    let SpillJob {
        pieces,
        rows,
        n,
        ascending,
    } = job;
    let mut pieces = pieces.into_iter();
    let mut df = pieces.next().expect("rows are buffered");
    for p in pieces {
        df.vstack_mut_owned(p)
            .context(|| format!("building {}", t.name))?;
    }
    debug_assert_eq!(df.height() as u64, rows.end - rows.start);
    let mut runs = Vec::new();
    order_runs(t, &df, rows.start, &mut runs)?;
    if let Some(d) = direct {
        d.push(t, &df, ascending)?;
        return Ok(Spilled {
            files: Vec::new(),
            order_runs: runs,
        });
    }
    df.with_column(Column::new(
        write::ROW_COLUMN.into(),
        rows.collect::<Vec<u64>>(),
    ))
    .context(|| format!("building {}", t.name))?;
    let chunks = split_by_partition(&df, t)?.chunks;
    let mut out = Vec::with_capacity(chunks.len());
    for (k, (part, mut chunk)) in chunks.into_iter().enumerate() {
        let path = dir.join(format!("{}-{n:06}-{k:03}.parquet", t.name));
        write::write_spill(&mut chunk, &path)?;
        out.push((part, path));
    }
    Ok(Spilled {
        files: out,
        order_runs: runs,
    })
}

/// Where an ingest's time goes (`LVYUE_TIMING=1`).
#[derive(Default)]
struct Timing {
    probe: std::time::Duration,
    /// Read and parse run beside the file-order pass; `waited` is how long that pass
    /// waited for them.
    read: std::time::Duration,
    parse: std::time::Duration,
    waited: std::time::Duration,
    spill: std::time::Duration,
    unknown: std::time::Duration,
}

/// Removes the spill folder however the ingest ends (a commit has already moved
/// everything it needs out of `_txn/`).
struct SpillDir(PathBuf);

impl Drop for SpillDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        if let Some(txn) = self.0.parent() {
            // Only if empty: a committed-but-unapplied transaction is never touched.
            let _ = std::fs::remove_dir(txn);
        }
    }
}

/// Applies contract defaults ("default active", "default CNY", "default false") so
/// queries need not repeat them.
fn default_for(table: &str, column: &str) -> Option<Value<'static>> {
    match (table, column) {
        ("orders", "status") => Some(Value::Str(Cow::Borrowed("active"))),
        ("orders", "currency") => Some(Value::Str(Cow::Borrowed("CNY"))),
        ("orders", "needs_production") => Some(Value::Bool(false)),
        _ => None,
    }
}

/// Expands folders into their export files (recursively, sorted by path).
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .at(dir)?
            .map(|e| e.map(|e| e.path()))
            .collect::<std::io::Result<_>>()
            .at(dir)?;
        entries.sort();
        for p in entries {
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with(['.', '_']));
            if hidden {
                continue;
            }
            if p.is_dir() {
                walk(&p, out)?;
            } else if Format::of(&p).is_some() {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for i in inputs {
        if i.is_dir() {
            walk(i, &mut out)?;
        } else if !i.exists() {
            return Err(Error::Io {
                path: i.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
            });
        } else {
            out.push(i.clone());
        }
    }
    Ok(out)
}

/// Runs the ingest stage.
pub fn ingest(opts: &IngestOptions) -> Result<IngestReport> {
    let files = expand_inputs(&opts.inputs)?;
    let mut lake = Lake::open(&opts.lake, opts.tz, true)?;
    let read_opts = ReadOptions {
        encoding: opts.encoding,
        sheet: opts.sheet.as_deref(),
    };
    // Declared before the tables' rows so that it is dropped after them (and after any
    // spill they are still writing).
    let spill_dir = SpillDir(lake.root.join(crate::lake::txn::TXN_DIR).join("spill"));
    std::fs::create_dir_all(&spill_dir.0).at(&spill_dir.0)?;
    let mut accs: BTreeMap<&'static str, Acc> = BTreeMap::new();
    let mut quarantine: Vec<QuarantineRow> = Vec::new();
    let mut sources: Vec<SourceRecord> = Vec::new();
    let mut outcomes: Vec<FileOutcome> = Vec::new();
    let mut columns_present: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut seen_hashes: HashMap<String, usize> = HashMap::new();

    let started = std::time::Instant::now();
    // Read once here, not per row.
    let parse_rows = crate::knob("LVYUE_PARSE_ROWS", PARSE_ROWS);
    let piece_rows = PIECE_ROWS.min(parse_rows.div_ceil(2)).max(1);
    let spill_rows = crate::knob("LVYUE_SPILL_ROWS", SPILL_ROWS);
    let mut timing = Timing::default();

    for path in &files {
        let shown = path.display().to_string();
        // A new export is read once: hashed and checked for text as its rows are read,
        // not by a first pass of its own (at 10M orders the exports did not stay in the
        // page cache, so that pass read 17 GB from disk again: 46 s of 258). Only a file
        // the size of one the lake or this run already has may be a copy of it; that
        // one is hashed first, and only a copy is skipped unread.
        let size = std::fs::metadata(path).at(path)?.len();
        let mut along = (Format::of(path) == Some(Format::Csv)
            && opts.encoding != TextEncoding::Gb18030
            && !lake.manifest.sources.iter().any(|s| s.bytes == size)
            && !sources.iter().any(|s| s.bytes == size))
        .then(|| std::sync::Arc::new(read::ReadAlong::default()));
        loop {
            let (mut sha, mut bytes) = (String::new(), size);
            let sheet = if let Some(a) = &along {
                match read::CsvStream::open_along(path, a) {
                    Ok(s) => Sheet::streamed(s),
                    Err(_) if a.not_text() => {
                        along = None;
                        continue;
                    }
                    Err(e) => return Err(e),
                }
            } else {
                let t0 = std::time::Instant::now();
                let probe = read::probe(path, opts.encoding)?;
                timing.probe += t0.elapsed();
                sha = probe.sha256.clone();
                bytes = probe.bytes;
                if let Some(prev) = lake.manifest.source_with_hash(&sha) {
                    let mut record = prev.clone();
                    record.path = shown;
                    outcomes.push(FileOutcome {
                        status: FileStatus::Unchanged { txn: prev.txn },
                        record,
                    });
                    break;
                }
                if let Some(&i) = seen_hashes.get(&sha) {
                    // The same content twice in one run: the first copy is the one stored.
                    let mut record = sources[i].clone();
                    record.path = shown;
                    outcomes.push(FileOutcome {
                        status: FileStatus::Unchanged {
                            txn: lake.manifest.next_txn,
                        },
                        record,
                    });
                    break;
                }
                // Big UTF-8 CSVs stream from disk; other files are read whole.
                match probe.utf8_csv {
                    Some(bom) => Sheet::streamed(read::CsvStream::open(path, bom)?),
                    None => {
                        let bytes = std::fs::read(path).at(path)?;
                        let whole = read::read_file(path, &bytes, &read_opts)?;
                        Sheet {
                            format: whole.format,
                            headers: whole.headers,
                            detail: whole.detail,
                            rows: Box::new(read::WholeRows(whole.rows.into_iter())),
                        }
                    }
                }
            };
            let binding = header::bind(path, &sheet.headers, opts.table, &opts.mapping)?;
            let t = binding.table;
            if along.is_some() && accs.contains_key(t.name) {
                // Rows of this table came from an earlier file of this run: should this one
                // turn out not to be text, its rows could not be told from theirs to be
                // undone. It is probed first instead.
                along = None;
                continue;
            }
            let src_idx = sources.len();
            let quarantined_before = quarantine.len();
            let mut rec = SourceRecord {
                path: shown.clone(),
                sha256: sha.clone(),
                bytes,
                table: t.name.to_string(),
                format: format!("{:?}", sheet.format).to_lowercase(),
                detail: sheet.detail.clone(),
                rows_read: 0,
                rows_stored: 0,
                rows_quarantined: 0,
                rows_replaced: 0,
                unknown_order_refs: 0,
                absent_columns: binding.absent.iter().map(|s| s.to_string()).collect(),
                ignored_headers: binding.ignored.clone(),
                txn: 0,
                ingested_at: opts.now.clone(),
            };
            // Contract column index → input field index.
            let mut field_of: Vec<Option<usize>> = vec![None; t.columns.len()];
            for (f, c) in binding.field_column.iter().enumerate() {
                if let Some(c) = c {
                    field_of[*c] = Some(f);
                }
            }
            let key_cols: Vec<usize> = t
                .key
                .iter()
                .map(|k| t.column_index(k).expect("key in table"))
                .collect();
            let acc = accs.entry(t.name).or_insert_with(|| {
                let fresh = lake.manifest.table_files(t.name).is_empty();
                Acc::new(t, fresh.then(|| (spill_dir.0.clone(), lake.tz.name())))
            });
            let pos = sheet.format.position_word();
            let headers = sheet.headers;
            let shape = RowShape::new(t, &field_of, &key_cols, &headers, lake.tz);
            let mut rows = sheet.rows;
            let csv = sheet.format == Format::Csv;
            let mut sized = false;
            // While this file's keys ascend strictly, each row's key is new without a
            // lookup, and one equal to the previous row's is a duplicate of it. That holds
            // only for the table's first file: a later one may correct any earlier row.
            let mut ascending =
                acc.live.is_empty() && matches!(acc.keys, write::RowKeys::Listed(_));
            if !ascending {
                acc.keys.index();
            }
            // The key of the last parsed row of the file so far (while ascending).
            let mut last_key: Option<Vec<Value<'static>>> = None;
            // Cells are parsed a chunk at a time on every core; what depends on earlier rows
            // (keys seen, quarantine, row numbers) is then applied in file order, so the
            // result is the same as parsing one row after another. The next chunks are read
            // and parsed while this thread applies one: the file-order pass is the longest
            // step, and on its own it keeps one core busy.
            let parsed = std::thread::scope(|scope| -> Result<()> {
                use std::time::Duration;
                type Chunk = (Vec<read::RawRow>, Vec<Piece>, Duration, Duration);
                let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Chunk>>(1);
                let shape = &shape;
                // Three stages, each on its own thread: reading rows, parsing them (on the
                // pool), and this file-order pass. One chunk waits between each.
                let (raw_tx, raw_rx) =
                    std::sync::mpsc::sync_channel::<Result<(Vec<read::RawRow>, Duration)>>(1);
                let (recycle_tx, recycle_rx) = std::sync::mpsc::channel::<Vec<read::RawRow>>();
                scope.spawn(move || loop {
                    // A chunk the file-order pass is done with is filled again.
                    let mut chunk = recycle_rx.try_recv().unwrap_or_default();
                    let t0 = std::time::Instant::now();
                    let got = rows.fill(&mut chunk, parse_rows);
                    let last = got.is_err() || chunk.is_empty();
                    if last && got.is_ok() {
                        return;
                    }
                    // The receiver is gone only when a later stage stopped.
                    if raw_tx.send(got.map(|()| (chunk, t0.elapsed()))).is_err() || last {
                        return;
                    }
                });
                scope.spawn(move || {
                    for next in raw_rx {
                        let sent = next.and_then(|(chunk, read)| {
                            let t0 = std::time::Instant::now();
                            let pieces: Result<Vec<Piece>> = {
                                use rayon::prelude::*;
                                chunk
                                    .par_chunks(piece_rows)
                                    .map(|rows| shape.piece(rows))
                                    .collect()
                            };
                            pieces.map(|p| (chunk, p, read, t0.elapsed()))
                        });
                        let stop = sent.is_err();
                        if tx.send(sent).is_err() || stop {
                            return;
                        }
                    }
                });
                loop {
                    let t0 = std::time::Instant::now();
                    let Ok(next) = rx.recv() else { break };
                    timing.waited += t0.elapsed();
                    let (chunk, pieces, read, parse) = next?;
                    timing.read += read;
                    timing.parse += parse;
                    if !sized {
                        sized = true;
                        // Growing the key index rehashes it, touching fresh pages each time
                        // (a tenth of a large ingest): size it once from the first rows'
                        // length instead. An overestimate costs only memory.
                        if csv {
                            let text: usize = chunk.iter().map(|r| r.cells.text_len() + 1).sum();
                            let rows =
                                (size as f64 / text.max(1) as f64 * chunk.len() as f64) as usize;
                            acc.reserve(rows);
                        }
                    }
                    let mut rows = chunk.iter();
                    for piece in pieces {
                        // Which of the piece's parsed rows are stored (a duplicate is not).
                        let mut keep: Vec<bool> = Vec::with_capacity(piece.frame.height());
                        // The piece's first parsed row against the file's rows before it.
                        let boundary = piece.first_key.as_ref().map(|first| match &last_key {
                            Some(last) => cmp_key(first, last),
                            None => Ordering::Greater,
                        });
                        if piece.last_key.is_some() {
                            last_key = piece.last_key;
                        }
                        for outcome in piece.outcomes {
                            let row = rows.next().expect("one outcome per row");
                            rec.rows_read += 1;
                            let mut bad =
                                |column: &str, raw: &str, reason: &'static str, detail: String| {
                                    quarantine.push(QuarantineRow {
                                        table: t.name.to_string(),
                                        source_file: shown.clone(),
                                        source_sha256: sha.clone(),
                                        line: row.line,
                                        column: column.to_string(),
                                        raw_value: raw.to_string(),
                                        reason,
                                        detail: format!("{pos} {}: {detail}", row.line),
                                        record: record_json(&headers, row),
                                    });
                                    rec.rows_quarantined += 1;
                                };
                            let (hash, order) = match outcome {
                                Outcome::Bad {
                                    column,
                                    raw,
                                    reason,
                                    detail,
                                } => {
                                    bad(&column, &raw, reason, detail);
                                    continue;
                                }
                                Outcome::Row(hash, order) => (hash, order.or(boundary)),
                            };
                            // Row numbers are u32 to halve the index: 4 billion rows of one
                            // table per ingest, far beyond a year of the largest exports.
                            let Ok(row_no) = u32::try_from(acc.live.len()) else {
                                return Err(Error::Usage(format!(
                                "more than {} rows of {} in one ingest: ingest the exports in parts",
                                u32::MAX,
                                t.name
                            )));
                            };
                            let (replaced, duplicate_of) = match (ascending, order) {
                                (true, Some(Ordering::Greater)) => {
                                    if let write::RowKeys::Listed(hashes) = &mut acc.keys {
                                        hashes.push(hash);
                                    }
                                    (None, None)
                                }
                                // Keys ascend, so an equal one is the last stored row's.
                                (true, Some(Ordering::Equal)) => (None, Some(acc.live.len() - 1)),
                                _ => {
                                    ascending = false;
                                    // One map serves both checks: a key seen earlier in this
                                    // file is a duplicate (quarantined), one seen in an earlier
                                    // file is a correction (replaces it). Inserting first probes
                                    // the map once per row (it is far larger than the caches);
                                    // a duplicate, rare, puts the first row back.
                                    let index = acc.keys.index();
                                    let replaced = index.insert(hash, row_no).map(|r| r as usize);
                                    match replaced.filter(|&p| acc.origin[p] as usize == src_idx) {
                                        Some(first) => {
                                            index.insert(hash, first as u32);
                                            (None, Some(first))
                                        }
                                        None => (replaced, None),
                                    }
                                }
                            };
                            if let Some(first) = duplicate_of {
                                let kc = t.key.join("+");
                                bad(
                                    &kc,
                                    &shape.key_of(row).replace('\u{1f}', "+"),
                                    reason::DUPLICATE_KEY,
                                    format!("same {kc} as {pos} {} of this file", acc.lines[first]),
                                );
                                keep.push(false);
                                continue;
                            }
                            if let Some(prev) = replaced {
                                acc.live[prev] = false;
                                rec.rows_replaced += 1;
                            }
                            acc.lines.push(u32::try_from(row.line).unwrap_or(u32::MAX));
                            acc.origin.push(src_idx as u32);
                            acc.live.push(true);
                            acc.replaced_in_batch.push(replaced.is_some());
                            keep.push(true);
                            rec.rows_stored += 1;
                        }
                        acc.append(piece.frame, &keep)?;
                        if acc.live.len() - acc.buffered_from >= spill_rows {
                            let t0 = std::time::Instant::now();
                            acc.spill(&spill_dir.0)?;
                            timing.spill += t0.elapsed();
                        }
                    }
                    // Back to the reader, which allocated the rows: freeing them there is
                    // mimalloc's fast, thread-local path.
                    let _ = recycle_tx.send(chunk);
                }
                Ok(())
            });
            if along.as_ref().is_some_and(|a| a.not_text()) && parsed.is_err() {
                // Not UTF-8 text after all (GB18030, or binary): the rows read so far go,
                // and the file is probed and read as any such file is. The table's rows
                // all came from this file, so dropping them undoes it exactly.
                if let Some(acc) = accs.remove(t.name) {
                    acc.discard()?;
                }
                quarantine.truncate(quarantined_before);
                along = None;
                continue;
            }
            parsed?;
            // The file's last rows are written while the next file is parsed, not all
            // tables' at the end, when only the commit is left to run beside them.
            let t0 = std::time::Instant::now();
            acc.spill(&spill_dir.0)?;
            timing.spill += t0.elapsed();
            if let Some(along) = &along {
                // Reading stops without error only at the end of the file, where the
                // hash is set; were it not, the file would not be recorded unhashed.
                let Some((hash, read)) = along.done().cloned() else {
                    return Err(Error::Unreadable {
                        path: path.clone(),
                        line: 0,
                        column: 0,
                        why: "reading stopped before the end of the file".into(),
                    });
                };
                for q in &mut quarantine[quarantined_before..] {
                    q.source_sha256.clone_from(&hash);
                }
                rec.sha256 = hash;
                rec.bytes = read;
            }
            debug_assert_eq!(rec.rows_read, rec.rows_stored + rec.rows_quarantined);
            seen_hashes.insert(rec.sha256.clone(), src_idx);
            columns_present
                .entry(t.name.to_string())
                .or_default()
                .extend(
                    t.columns
                        .iter()
                        .filter(|c| !binding.absent.contains(&c.name))
                        .map(|c| c.name.to_string()),
                );
            sources.push(rec);
            outcomes.push(FileOutcome {
                status: FileStatus::Ingested,
                record: sources[src_idx].clone(),
            });
            break;
        }
    }

    if sources.is_empty() {
        return Ok(IngestReport {
            txn: None,
            files: outcomes,
            recovered: lake.recovered.clone(),
        });
    }

    let t0 = std::time::Instant::now();
    for acc in accs.values_mut() {
        acc.close(&spill_dir.0)?;
    }
    // Once every spill is written the orders the rows name are all known, and they are
    // counted while the tables' threads finish and settle their files.
    for acc in accs.values_mut() {
        acc.record_spills(true)?;
    }
    timing.spill += t0.elapsed();
    let t0 = std::time::Instant::now();
    count_unknown_orders(&lake, &accs, &mut sources)?;
    timing.unknown = t0.elapsed();
    let t0 = std::time::Instant::now();
    let batches = accs
        .into_values()
        .map(|a| a.into_batch(&spill_dir.0))
        .collect::<Result<Vec<_>>>()?;
    timing.spill += t0.elapsed();
    if std::env::var_os("LVYUE_TIMING").is_some() {
        let sum = |f: fn(&TableBatch) -> usize| batches.iter().map(f).sum::<usize>();
        eprintln!(
            "ingest: {} spills, {} spill files, {} lake files written beside the parse",
            sum(|b| b.spill_count),
            sum(|b| b.spills.len()),
            sum(|b| b.direct.as_ref().map_or(0, |d| d.files.len()))
        );
    }
    let quarantine_df = if quarantine.is_empty() {
        None
    } else {
        Some(quarantine_frame(quarantine)?)
    };
    let request = CommitRequest {
        batches,
        quarantine: quarantine_df,
        sources,
        columns_present,
        skipped_unchanged: outcomes
            .iter()
            .filter(|o| o.status != FileStatus::Ingested)
            .count() as u64,
        at: opts.now.clone(),
    };
    let t0 = std::time::Instant::now();
    let txn = write::commit(&mut lake, request)?;
    if std::env::var_os("LVYUE_TIMING").is_some() {
        eprintln!(
            "ingest: probe {:.1} s, read {:.1} s and parse {:.1} s (beside the file-order pass, which waited {:.1} s for them), keys+columns {:.1} s, spill {:.1} s, unknown orders {:.1} s, commit {:.1} s",
            timing.probe.as_secs_f64(),
            timing.read.as_secs_f64(),
            timing.parse.as_secs_f64(),
            timing.waited.as_secs_f64(),
            (started.elapsed()
                - timing.probe
                - timing.waited
                - timing.spill
                - timing.unknown
                - t0.elapsed())
            .as_secs_f64(),
            timing.spill.as_secs_f64(),
            timing.unknown.as_secs_f64(),
            t0.elapsed().as_secs_f64()
        );
    }
    // Refresh the outcomes with what the commit counted (replacements in the lake).
    for o in &mut outcomes {
        if o.status == FileStatus::Ingested {
            if let Some(s) = lake
                .manifest
                .sources
                .iter()
                .rev()
                .find(|s| s.sha256 == o.record.sha256)
            {
                o.record = s.clone();
            }
        }
    }
    Ok(IngestReport {
        txn: Some(txn),
        files: outcomes,
        recovered: lake.recovered.clone(),
    })
}

/// Counts, per source, stored rows that name an order neither the lake nor this ingest
/// has. They are kept: the order may come in a later export. The spills noted the
/// orders their rows name, run by run.
fn count_unknown_orders(
    lake: &Lake,
    accs: &BTreeMap<&'static str, Acc>,
    sources: &mut [SourceRecord],
) -> Result<()> {
    let orders_t = contract::table("orders").expect("orders table");
    let stored = lake.read_files(
        orders_t,
        lake.manifest.table_files("orders"),
        Some(&["order_id"]),
    )?;
    // Sized once, and keyed by the key hashes' own bits as the key index is: growing a
    // set of 10M orders and hashing each key again took most of this step's 5 s.
    let mut known: std::collections::HashSet<write::KeyHash, write::KeyHashing> =
        Default::default();
    known.reserve(stored.height() + accs.get("orders").map_or(0, |b| b.live.len()));
    let col = stored
        .column("order_id")
        .context(|| "orders.order_id".into())?;
    for v in col
        .str()
        .context(|| "orders.order_id".into())?
        .iter()
        .flatten()
    {
        known.insert(write::key_hash(v));
    }
    // The orders key is the order id alone, so its key hashes are order-id hashes.
    if let Some(b) = accs.get("orders") {
        known.extend(b.keys.live_keys().copied());
    }
    for b in accs.values() {
        for &(hash, first, n) in &b.order_runs {
            if known.contains(&hash) {
                continue;
            }
            for row in first as usize..(first + n) as usize {
                if b.live[row] {
                    sources[b.origin[row] as usize].unknown_order_refs += 1;
                }
            }
        }
    }
    Ok(())
}

fn quarantine_frame(rows: Vec<QuarantineRow>) -> Result<DataFrame> {
    let n = rows.len();
    let s = |f: fn(&QuarantineRow) -> String| -> Column {
        Column::new("".into(), rows.iter().map(f).collect::<Vec<_>>())
    };
    let mut cols = vec![
        s(|r| r.table.clone()),
        s(|r| r.source_file.clone()),
        s(|r| r.source_sha256.clone()),
        Column::new(
            "".into(),
            rows.iter().map(|r| r.line as i64).collect::<Vec<_>>(),
        ),
        s(|r| r.column.clone()),
        s(|r| r.raw_value.clone()),
        s(|r| r.reason.to_string()),
        s(|r| r.detail.clone()),
        s(|r| r.record.clone()),
    ];
    for (c, name) in cols.iter_mut().zip(QUARANTINE_COLUMNS) {
        c.rename((*name).into());
    }
    DataFrame::new(n, cols).context(|| "building the quarantine".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_by_typed_parts_in_order() {
        let s = |t: &'static str| Value::Str(Cow::Borrowed(t));
        let k = |a: Value<'static>, b: Value<'static>| vec![a, b];
        let lt = |a: &[Value], b: &[Value]| cmp_key(a, b) == Ordering::Less;
        // Line numbers compare as numbers: text would put "10" before "9".
        assert!(lt(
            &k(s("SO1"), Value::Int(9)),
            &k(s("SO1"), Value::Int(10))
        ));
        // The first part decides before the second.
        assert!(lt(
            &k(s("SO1"), Value::Int(10)),
            &k(s("SO2"), Value::Int(1))
        ));
        // An empty part comes first; equal keys are equal.
        assert!(lt(&k(s("SO1"), Value::Null), &k(s("SO1"), Value::Int(0))));
        let same = k(s("SO1"), Value::Timestamp(5));
        assert_eq!(cmp_key(&same, &same.clone()), Ordering::Equal);
        // Parts of different types (never one column's) count as out of order.
        assert!(lt(
            &k(s("SO1"), Value::Int(1)),
            &k(s("SO1"), Value::Date(0))
        ));
        assert!(lt(
            &k(s("SO1"), Value::Date(0)),
            &k(s("SO1"), Value::Int(1))
        ));
    }

    /// A word column holds the words it was given, whether they are the list's own
    /// text, an equal text, a word not in the list or empty, and its lake file is the
    /// file polars writes of the same text built the usual way.
    #[test]
    fn word_columns_hold_their_words_and_write_as_plain_text_does() {
        let owned = "packed".to_string();
        let cells: Vec<Option<&str>> = (0..6_000)
            .map(|i| match i % 7 {
                0 => None,
                1 => Some(owned.as_str()),
                2 => Some("not_an_activity_of_the_list"),
                k => Some(contract::ACTIVITIES[(i / 7 + k) % contract::ACTIVITIES.len()]),
            })
            .collect();
        let mut b = Builder::new(ColType::Activity, cells.len());
        for c in &cells {
            b.push(&c.map_or(Value::Null, |w| Value::Str(Cow::Borrowed(w))));
        }
        let words = b.finish("activity").unwrap();
        let plain = Series::new("activity".into(), &cells);
        assert!(words.equals_missing(&plain));
        assert_eq!(words.null_count(), 858);
        let dir = tempfile::tempdir().unwrap();
        let write = |s: &Series, name: &str| {
            let df = DataFrame::new(s.len(), vec![s.clone().into()]).unwrap();
            let path = dir.path().join(name);
            let mut f = write::LakeFile::create(&path, df.schema(), "UTC", "order_events").unwrap();
            f.push(df).unwrap();
            f.finish().unwrap();
            std::fs::read(path).unwrap()
        };
        assert_eq!(
            write(&words, "words.parquet"),
            write(&plain, "plain.parquet")
        );
    }

    /// Parsing a cell straight into its column gives what parsing it to a value and
    /// pushing that gives: the same column, the same empties, the same messages.
    #[test]
    fn cells_parse_into_columns_as_into_values() {
        let tz = chrono_tz::Asia::Shanghai;
        let cases: &[(ColType, &[&str])] = &[
            (ColType::Str, &["SO-1", " SO-2\u{3000}", "", "  ", "全角１"]),
            (
                ColType::Timestamp,
                &[
                    "2025-03-05 14:03",
                    "２０２５－０３－０５　１４：０３",
                    "2025年3月5日 14:03",
                    "",
                    "2025-02-30 10:00",
                    "soon",
                ],
            ),
            (ColType::Date, &["2025-03-05", "2025/3/5", "", "25-3-5"]),
            (ColType::Money, &["1,234.50", "¥12", "", "1.005", "abc"]),
            (ColType::Int, &["1,200", "3.0", "", "3.5"]),
            (ColType::Score, &["３", "5", "", "6", "x"]),
            (ColType::Bool, &["是", "N", "", "maybe"]),
            (ColType::Department, &["仓储", "QC", "", "marketing"]),
            (
                ColType::Activity,
                &["Packed", "TRACKING_SENT_TO_CS", "", "nope"],
            ),
            (
                ColType::Code(&["active", "cancelled"]),
                &[" Cancelled ", "", "gone"],
            ),
        ];
        for (ty, cells) in cases {
            let mut direct = Builder::new(*ty, cells.len());
            let mut valued = Builder::new(*ty, cells.len());
            for raw in cells.iter() {
                let want = parse::parse_value(raw, *ty, tz);
                match (direct.push_cell(raw, *ty, tz), &want) {
                    (Ok(true), Ok(v)) if *v != Value::Null => valued.push(v),
                    (Ok(false), Ok(Value::Null)) => {
                        direct.push_null();
                        valued.push_null();
                    }
                    (Err(got), Err(w)) => assert_eq!(&got, w, "{ty:?} {raw:?}"),
                    (got, _) => panic!("{ty:?} {raw:?}: {got:?} against {want:?}"),
                }
            }
            let (d, v) = (direct.finish("c").unwrap(), valued.finish("c").unwrap());
            assert_eq!(d.dtype(), v.dtype(), "{ty:?}");
            assert!(d.equals_missing(&v), "{ty:?}: {d:?} against {v:?}");
            assert!(d.len() >= 2, "{ty:?}: a value and an empty at least");
        }
    }

    #[test]
    fn only_key_text_without_separator_or_null_marker_is_plain() {
        assert!(plain_part(&Value::Str(Cow::Borrowed("SO-0001"))));
        assert!(plain_part(&Value::Int(7)));
        // ("A\u{1f}B", "C") and ("A", "B\u{1f}C") share one key text.
        assert!(!plain_part(&Value::Str(Cow::Borrowed("A\u{1f}B"))));
        assert!(!plain_part(&Value::Str(Cow::Borrowed("\u{0}"))));
    }
}
