//! Reading export files into raw text rows: CSV (UTF-8, UTF-8 with BOM, GB18030/GBK),
//! XLSX (first or named sheet), JSON Lines and Parquet. Every row keeps the position a
//! person would look for in the source (CSV/JSONL line, spreadsheet row), so a
//! quarantined value can be found again. A file that cannot be read at all is an error
//! naming the file, line and column; a single bad row is not — it is marked and the
//! ingest stage quarantines it.

use std::path::Path;

use calamine::{Data, Reader};
use polars::prelude::*;

use super::records::{Cells, Records};
use crate::error::{Error, IoContext, Result};

/// Input formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
    Jsonl,
    Parquet,
}

impl Format {
    pub fn of(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "csv" | "txt" | "tsv" => Some(Format::Csv),
            "xlsx" | "xlsm" => Some(Format::Xlsx),
            "jsonl" | "ndjson" | "json" => Some(Format::Jsonl),
            "parquet" => Some(Format::Parquet),
            _ => None,
        }
    }

    /// What a position in this format is called in messages.
    pub fn position_word(self) -> &'static str {
        match self {
            Format::Xlsx => "row",
            Format::Parquet => "record",
            Format::Csv | Format::Jsonl => "line",
        }
    }
}

/// CSV text encodings; `Auto` takes UTF-8 when the bytes are valid UTF-8, else GB18030.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum TextEncoding {
    #[default]
    Auto,
    Utf8,
    Gb18030,
}

/// A row as read: its position and its cells as text ("" for empty).
#[derive(Debug)]
pub struct RawRow {
    pub line: u64,
    /// One text per row, not one allocation per cell.
    pub cells: Cells,
    /// A problem with the row as a whole (wrong field count, invalid JSON): (column, reason).
    pub problem: Option<(String, String)>,
}

/// The contents of one export file.
#[derive(Debug)]
pub struct RawSheet {
    pub format: Format,
    pub headers: Vec<String>,
    pub rows: Vec<RawRow>,
    /// Encoding or sheet actually used, for the ingest summary.
    pub detail: String,
}

pub struct ReadOptions<'a> {
    pub encoding: TextEncoding,
    pub sheet: Option<&'a str>,
}

/// Reads the export at `path` from its `bytes` (the same bytes the caller hashed, so the
/// recorded hash is of exactly what was parsed).
pub fn read_file(path: &Path, bytes: &[u8], opts: &ReadOptions) -> Result<RawSheet> {
    let format = Format::of(path).ok_or_else(|| Error::Unreadable {
        path: path.to_path_buf(),
        line: 0,
        column: 0,
        why: "unknown file type: expected .csv, .xlsx, .jsonl or .parquet".into(),
    })?;
    match format {
        Format::Csv => read_csv(path, bytes, opts.encoding),
        Format::Xlsx => read_xlsx(path, bytes, opts.sheet),
        Format::Jsonl => read_jsonl(path, bytes),
        Format::Parquet => read_parquet(path, bytes),
    }
}

pub(super) fn unreadable(path: &Path, line: u64, column: u64, why: impl Into<String>) -> Error {
    Error::Unreadable {
        path: path.to_path_buf(),
        line,
        column,
        why: why.into(),
    }
}

/// 1-based line and column (in characters) of byte offset `at` in `text`.
fn line_col(text: &str, at: usize) -> (u64, u64) {
    let before = &text[..at];
    let line = before.matches('\n').count() as u64 + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) as u64 + 1;
    (line, col)
}

/// Decodes CSV bytes. Binary data (a NUL byte) and bytes that are neither UTF-8 nor
/// GB18030 are errors with the position of the first offending byte.
pub fn decode_text(path: &Path, bytes: &[u8], enc: TextEncoding) -> Result<(String, &'static str)> {
    if let Some(nul) = bytes.iter().position(|b| *b == 0) {
        let prefix = String::from_utf8_lossy(&bytes[..nul]);
        let (l, c) = line_col(&prefix, prefix.len());
        return Err(unreadable(
            path,
            l,
            c,
            "binary data (a NUL byte), not a text export",
        ));
    }
    let utf8 = bytes.strip_prefix(b"\xEF\xBB\xBF");
    match (enc, utf8) {
        (TextEncoding::Gb18030, _) => decode_gb18030(path, bytes),
        (_, Some(rest)) => utf8_or_err(path, rest).map(|s| (s, "UTF-8 with BOM")),
        (TextEncoding::Utf8, None) => utf8_or_err(path, bytes).map(|s| (s, "UTF-8")),
        (TextEncoding::Auto, None) => match std::str::from_utf8(bytes) {
            Ok(s) => Ok((s.to_string(), "UTF-8")),
            Err(_) => decode_gb18030(path, bytes),
        },
    }
}

fn utf8_or_err(path: &Path, bytes: &[u8]) -> Result<String> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        let ok = e.utf8_error().valid_up_to();
        let prefix = String::from_utf8_lossy(&bytes[..ok]).into_owned();
        let (l, c) = line_col(&prefix, prefix.len());
        unreadable(path, l, c, "invalid UTF-8 (try --encoding gb18030)")
    })
}

fn decode_gb18030(path: &Path, bytes: &[u8]) -> Result<(String, &'static str)> {
    let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
    if had_errors {
        let at = text.find('\u{FFFD}').unwrap_or(0);
        let (l, c) = line_col(&text, at);
        return Err(unreadable(
            path,
            l,
            c,
            "bytes that are neither UTF-8 nor GB18030: not a text export",
        ));
    }
    Ok((text.into_owned(), "GB18030"))
}

fn read_csv(path: &Path, bytes: &[u8], enc: TextEncoding) -> Result<RawSheet> {
    let (text, detail) = decode_text(path, bytes, enc)?;
    let mut records = Records::of_text(path, text, delimiter_of(path));
    let headers = csv_headers(path, &mut records)?;
    // Blank lines carry no record; a row of empty fields is kept.
    let mut rows = Vec::new();
    loop {
        let mut row = RawRow::empty();
        let Some(line) = records.read(&mut row.cells)? else {
            break;
        };
        row.checked(line, headers.len());
        rows.push(row);
    }
    Ok(RawSheet {
        format: Format::Csv,
        headers,
        rows,
        detail: detail.to_string(),
    })
}

/// What a first pass over an export's bytes found: its hash, size, and whether it can
/// be read as a stream (a CSV that is valid UTF-8 with no NUL byte). Other files are
/// read whole, as before: spreadsheets, JSON Lines, Parquet and GB18030 text are not
/// the formats of hundred-million-row exports.
pub struct Probe {
    pub sha256: String,
    pub bytes: u64,
    /// `Some(has_bom)` for a streamable UTF-8 CSV.
    pub utf8_csv: Option<bool>,
}

/// Hashes `path` in blocks and checks whether it is a streamable UTF-8 CSV.
pub fn probe(path: &Path, enc: TextEncoding) -> Result<Probe> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path).at(path)?;
    let mut h = Sha256::new();
    let mut block = vec![0u8; 8 << 20];
    let csv = Format::of(path) == Some(Format::Csv) && enc != TextEncoding::Gb18030;
    let (mut text, mut total, mut bom) = (csv.then(Vec::new), 0u64, false);
    loop {
        let n = f.read(&mut block).at(path)?;
        if n == 0 {
            break;
        }
        let data = &block[..n];
        h.update(data);
        if total == 0 && data.starts_with(b"\xEF\xBB\xBF") {
            bom = true;
        }
        total += n as u64;
        if let Some(carry) = &mut text {
            if !text_block(carry, data) {
                text = None;
            }
        }
    }
    Ok(Probe {
        sha256: hex(&h.finalize()),
        bytes: total,
        utf8_csv: text.is_some_and(|carry| carry.is_empty()).then_some(bom),
    })
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the next block of a file is still UTF-8 text without a NUL byte. `carry`
/// holds the first bytes of a character the previous block ended inside; it is empty at
/// the end of a file that is text throughout.
fn text_block(carry: &mut Vec<u8>, data: &[u8]) -> bool {
    if data.contains(&0) {
        return false;
    }
    let joined;
    let text: &[u8] = if carry.is_empty() {
        data
    } else {
        joined = [carry.as_slice(), data].concat();
        &joined
    };
    match std::str::from_utf8(text) {
        Ok(_) => carry.clear(),
        Err(e) if e.error_len().is_none() => *carry = text[e.valid_up_to()..].to_vec(),
        Err(_) => return false,
    }
    true
}

/// What reading a CSV in one pass learns on the way, as [`probe`] learns it first.
#[derive(Default)]
pub struct ReadAlong {
    /// The file's SHA-256 and size, once its last byte has been read.
    done: std::sync::OnceLock<(String, u64)>,
    /// Set when a byte shows the file is not UTF-8 text (a NUL, or invalid UTF-8 found
    /// by the record reader): the rows read so far are to be discarded and the file
    /// read as [`probe`] directs.
    not_text: std::sync::atomic::AtomicBool,
}

impl ReadAlong {
    pub fn not_text(&self) -> bool {
        self.not_text.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn mark_not_text(&self) {
        self.not_text
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// The file's SHA-256 and size, if it was read to its end.
    pub fn done(&self) -> Option<&(String, u64)> {
        self.done.get()
    }
}

/// A file read through SHA-256 that fails at the first block holding a NUL byte (a
/// binary file). Whether it is UTF-8 the reader of its records checks, once.
struct Hashing {
    file: std::fs::File,
    sha: sha2::Sha256,
    total: u64,
    along: std::sync::Arc<ReadAlong>,
}

impl std::io::Read for Hashing {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = self.file.read(buf)?;
        if n == 0 {
            if self.along.done.get().is_none() {
                let digest = hex(&std::mem::take(&mut self.sha).finalize());
                let _ = self.along.done.set((digest, self.total));
            }
            return Ok(0);
        }
        if memchr::memchr(0, &buf[..n]).is_some() {
            self.along.mark_not_text();
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "not text (a NUL byte)",
            ));
        }
        self.sha.update(&buf[..n]);
        self.total += n as u64;
        Ok(n)
    }
}

impl RawRow {
    fn empty() -> RawRow {
        RawRow {
            line: 0,
            cells: Cells::default(),
            problem: None,
        }
    }

    /// Sets the row's line and problem once its cells are read.
    fn checked(&mut self, line: u64, width: usize) {
        self.line = line;
        let n = self.cells.len();
        self.problem = (n != width).then(|| {
            (
                String::new(),
                format!("row has {n} fields, the header has {width}"),
            )
        });
    }
}

/// An export's rows, handed out a chunk at a time.
pub trait RowSource: Send {
    /// Replaces `chunk`'s rows with up to `n` next rows (none when the export is done).
    fn fill(&mut self, chunk: &mut Vec<RawRow>, n: usize) -> Result<()>;
}

/// The rows of an export read whole.
pub struct WholeRows(pub std::vec::IntoIter<RawRow>);

impl RowSource for WholeRows {
    fn fill(&mut self, chunk: &mut Vec<RawRow>, n: usize) -> Result<()> {
        chunk.clear();
        chunk.extend(self.0.by_ref().take(n));
        Ok(())
    }
}

/// The header row of a CSV export; a file without one is unreadable.
fn csv_headers(path: &Path, records: &mut Records) -> Result<Vec<String>> {
    let mut first = Cells::default();
    records.read(&mut first)?;
    let headers: Vec<String> = first.iter().map(str::to_string).collect();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Err(unreadable(path, 1, 1, "no header row"));
    }
    Ok(headers)
}

fn delimiter_of(path: &Path) -> u8 {
    if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
    {
        b'\t'
    } else {
        b','
    }
}

/// A UTF-8 CSV export read row by row from disk: its rows are never all in memory.
pub struct CsvStream {
    pub headers: Vec<String>,
    pub detail: &'static str,
    records: Records,
}

impl CsvStream {
    /// Opens a CSV that [`probe`] found to be UTF-8 text, with a BOM or not.
    pub fn open(path: &Path, bom: bool) -> Result<CsvStream> {
        use std::io::Read;
        let mut f = std::fs::File::open(path).at(path)?;
        if bom {
            let mut skip = [0u8; 3];
            f.read_exact(&mut skip).at(path)?;
        }
        CsvStream::over(
            path,
            Records::new(path, Box::new(f), delimiter_of(path)),
            bom,
        )
    }

    /// Opens a CSV to be hashed and checked for text as its rows are read, in place of
    /// [`probe`]'s separate pass: at 10M orders the 17 GB of exports came from disk
    /// twice. If the file turns out not to be text, reading fails and
    /// `along`'s [`ReadAlong::not_text`] says so.
    pub fn open_along(path: &Path, along: &std::sync::Arc<ReadAlong>) -> Result<CsvStream> {
        use std::io::Read;
        let mut hashing = Hashing {
            file: std::fs::File::open(path).at(path)?,
            sha: Default::default(),
            total: 0,
            along: along.clone(),
        };
        let mut first = Vec::with_capacity(3);
        (&mut hashing)
            .take(3)
            .read_to_end(&mut first)
            .map_err(|e| unreadable(path, 1, 1, format!("cannot read: {e}")))?;
        let bom = first == b"\xEF\xBB\xBF";
        let head = if bom { Vec::new() } else { first };
        let reader = std::io::Cursor::new(head).chain(hashing);
        let along = along.clone();
        let records = Records::new(path, Box::new(reader), delimiter_of(path))
            .on_not_utf8(Box::new(move || along.mark_not_text()));
        CsvStream::over(path, records, bom)
    }

    fn over(path: &Path, mut records: Records, bom: bool) -> Result<CsvStream> {
        let headers = csv_headers(path, &mut records)?;
        Ok(CsvStream {
            headers,
            detail: if bom { "UTF-8 with BOM" } else { "UTF-8" },
            records,
        })
    }
}

impl RowSource for CsvStream {
    /// Reads into the rows `chunk` already holds, so a record's buffers are allocated
    /// once per chunk slot, not once per row (two allocations and frees for each of
    /// 21 M rows at 1M orders).
    fn fill(&mut self, chunk: &mut Vec<RawRow>, n: usize) -> Result<()> {
        let width = self.headers.len();
        let mut used = 0;
        while used < n {
            if used == chunk.len() {
                chunk.push(RawRow::empty());
            }
            let row = &mut chunk[used];
            match self.records.read(&mut row.cells) {
                Ok(Some(line)) => row.checked(line, width),
                Ok(None) => break,
                Err(e) => {
                    chunk.truncate(used);
                    return Err(e);
                }
            }
            used += 1;
        }
        chunk.truncate(used);
        Ok(())
    }
}

/// Renders a spreadsheet cell as the text an export would have held.
fn cell_text(d: &Data) -> Result<String, String> {
    Ok(match d {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", *f as i64)
            } else {
                // Shortest text that reads back as the same double: 1234.5, not 1234.49999.
                format!("{f}")
            }
        }
        Data::Bool(b) => b.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(n) => n.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => return Err(format!("spreadsheet date out of range: {dt}")),
        },
        Data::Error(e) => return Err(format!("spreadsheet error value {e:?}")),
    })
}

fn read_xlsx(path: &Path, bytes: &[u8], sheet: Option<&str>) -> Result<RawSheet> {
    let mut wb = calamine::open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
        .map_err(|e| unreadable(path, 0, 0, format!("not a readable XLSX workbook: {e}")))?;
    let names = wb.sheet_names();
    let name = match sheet {
        Some(s) => names.iter().find(|n| *n == s).cloned().ok_or_else(|| {
            unreadable(
                path,
                0,
                0,
                format!("no sheet named {s:?} (sheets: {})", names.join(", ")),
            )
        })?,
        None => names
            .first()
            .cloned()
            .ok_or_else(|| unreadable(path, 0, 0, "workbook has no sheets"))?,
    };
    let range = wb
        .worksheet_range(&name)
        .map_err(|e| unreadable(path, 0, 0, format!("sheet {name:?} cannot be read: {e}")))?;
    let (row0, _) = range.start().unwrap_or((0, 0));
    let mut it = range.rows().enumerate();
    // The header is the first row with two or more filled cells: rows above it are
    // titles ("人员名单（导出）") or blank, as exported reports often have.
    let filled = |r: &[Data]| r.iter().filter(|c| **c != Data::Empty).count();
    let headers = loop {
        match it.next() {
            None => {
                return Err(unreadable(
                    path,
                    1,
                    1,
                    format!("sheet {name:?} has no header row"),
                ))
            }
            Some((_, r)) if filled(r) >= 2 => {
                break r
                    .iter()
                    .map(|c| cell_text(c).unwrap_or_default())
                    .collect::<Vec<_>>();
            }
            Some(_) => {}
        }
    };
    let mut rows = Vec::new();
    for (i, r) in it {
        if r.iter().all(|c| *c == Data::Empty) {
            continue;
        }
        let line = row0 as u64 + i as u64 + 1;
        let mut problem = None;
        let cells = r
            .iter()
            .enumerate()
            .map(|(j, c)| {
                cell_text(c).unwrap_or_else(|why| {
                    let col = headers.get(j).cloned().unwrap_or_default();
                    problem.get_or_insert((col, why));
                    String::new()
                })
            })
            .collect();
        rows.push(RawRow {
            line,
            cells,
            problem,
        });
    }
    Ok(RawSheet {
        format: Format::Xlsx,
        headers,
        rows,
        detail: format!("sheet {name}"),
    })
}

fn read_jsonl(path: &Path, bytes: &[u8]) -> Result<RawSheet> {
    let (text, detail) = decode_text(path, bytes, TextEncoding::Utf8)?;
    let mut headers: Vec<String> = Vec::new();
    let mut objects = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(map)) => {
                for k in map.keys() {
                    if !headers.contains(k) {
                        headers.push(k.clone());
                    }
                }
                objects.push((line_no, Ok(map)));
            }
            Ok(_) => objects.push((line_no, Err("line is not a JSON object".to_string()))),
            Err(e) => objects.push((
                line_no,
                Err(format!("invalid JSON at column {}: {e}", e.column())),
            )),
        }
    }
    if headers.is_empty() {
        return Err(unreadable(path, 1, 1, "no JSON object with any field"));
    }
    let rows = objects
        .into_iter()
        .map(|(line, obj)| match obj {
            Err(why) => RawRow {
                line,
                cells: vec![""; headers.len()].into_iter().collect(),
                problem: Some((String::new(), why)),
            },
            Ok(map) => {
                let mut problem = None;
                let cells = headers
                    .iter()
                    .map(|h| match map.get(h) {
                        None | Some(serde_json::Value::Null) => String::new(),
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Number(n)) => n.to_string(),
                        Some(serde_json::Value::Bool(b)) => b.to_string(),
                        Some(other) => {
                            problem.get_or_insert((h.clone(), format!("nested value {other}")));
                            String::new()
                        }
                    })
                    .collect();
                RawRow {
                    line,
                    cells,
                    problem,
                }
            }
        })
        .collect();
    Ok(RawSheet {
        format: Format::Jsonl,
        headers,
        rows,
        detail: detail.to_string(),
    })
}

fn read_parquet(path: &Path, bytes: &[u8]) -> Result<RawSheet> {
    let df = ParquetReader::new(std::io::Cursor::new(bytes))
        .finish()
        .map_err(|e| unreadable(path, 0, 0, format!("not a readable Parquet file: {e}")))?;
    let headers: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let mut texts: Vec<Vec<String>> = Vec::with_capacity(df.width());
    for c in df.columns() {
        texts.push(
            column_texts(c.as_materialized_series())
                .map_err(|e| unreadable(path, 0, 0, format!("column {}: {e}", c.name())))?,
        );
    }
    let rows = (0..df.height())
        .map(|i| RawRow {
            line: i as u64 + 1,
            cells: texts.iter().map(|t| t[i].as_str()).collect(),
            problem: None,
        })
        .collect();
    Ok(RawSheet {
        format: Format::Parquet,
        headers,
        rows,
        detail: "Parquet".into(),
    })
}

/// A Parquet column as export text: zone-aware instants become RFC 3339 in UTC (the
/// parser converts them to the company zone), naive ones stay wall-clock text.
fn column_texts(s: &Series) -> PolarsResult<Vec<String>> {
    use chrono::DateTime;
    match s.dtype() {
        DataType::Datetime(tu, tz) => {
            let phys = s.to_physical_repr();
            let ca = phys.i64()?;
            let to_us = |v: i64| match tu {
                TimeUnit::Nanoseconds => v.div_euclid(1000),
                TimeUnit::Microseconds => v,
                TimeUnit::Milliseconds => v * 1000,
            };
            Ok(ca
                .iter()
                .map(
                    |v| match v.and_then(|v| DateTime::from_timestamp_micros(to_us(v))) {
                        None => String::new(),
                        Some(d) if tz.is_some() => d.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string(),
                        Some(d) => d.naive_utc().format("%Y-%m-%d %H:%M:%S%.f").to_string(),
                    },
                )
                .collect())
        }
        DataType::Date => {
            let phys = s.to_physical_repr();
            let ca = phys.i32()?;
            let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1).expect("valid date");
            Ok(ca
                .iter()
                .map(|v| {
                    v.map_or(String::new(), |d| {
                        (epoch + chrono::Duration::days(d as i64)).to_string()
                    })
                })
                .collect())
        }
        _ => {
            let st = s.cast(&DataType::String)?;
            Ok(st
                .str()?
                .iter()
                .map(|v| v.unwrap_or_default().to_string())
                .collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_is_detected_and_junk_is_located() {
        let p = Path::new("x.csv");
        let (gbk, _, _) = encoding_rs::GB18030.encode("訂單編號,金額\nA1,¥3\n");
        let (t, enc) = decode_text(p, &gbk, TextEncoding::Auto).unwrap();
        assert_eq!(enc, "GB18030");
        assert!(t.starts_with("訂單編號"));
        let (t, enc) = decode_text(p, "\u{FEFF}a,b\n".as_bytes(), TextEncoding::Auto).unwrap();
        assert_eq!((t.as_str(), enc), ("a,b\n", "UTF-8 with BOM"));
        let e = decode_text(p, b"a,b\n1,\x00\x01", TextEncoding::Auto)
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 2, column 3"), "{e}");
    }

    #[test]
    fn spreadsheet_cells_read_as_export_text() {
        assert_eq!(cell_text(&Data::Float(12.0)).unwrap(), "12");
        assert_eq!(cell_text(&Data::Float(1234.5)).unwrap(), "1234.5");
        assert_eq!(cell_text(&Data::Empty).unwrap(), "");
    }
}
