//! CSV records of an export, each with the line it starts on. A line with no quote and
//! no stray carriage return, which is nearly every line of a system's export, is split
//! at its delimiters directly, 32 bytes at a time; any other record is read by
//! csv-core, the state machine the `csv` crate is built on, so both kinds of record
//! come out as `csv` reads them. A record is kept as one text with its fields' ends
//! ([`Cells`]): filling a `csv::StringRecord` field by field cost more than reading.

use std::io::Read;
use std::path::{Path, PathBuf};

use csv_core::ReadRecordResult;

use crate::error::{Error, Result};

/// Bytes asked of the source at a time.
const BLOCK: usize = 1 << 20;

/// A row's cells as text: the fields one after another with one separator byte between
/// them, and where each field ends.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Cells {
    text: String,
    ends: Vec<usize>,
}

impl Cells {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] + 1 };
        self.text.get(start..end)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// The bytes the row's fields and separators take.
    pub fn text_len(&self) -> usize {
        self.text.len()
    }

    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
    }

    fn push(&mut self, field: &str) {
        if !self.ends.is_empty() {
            self.text.push(',');
        }
        self.text.push_str(field);
        self.ends.push(self.text.len());
    }
}

impl<S: AsRef<str>> FromIterator<S> for Cells {
    fn from_iter<I: IntoIterator<Item = S>>(fields: I) -> Cells {
        let mut cells = Cells::default();
        for f in fields {
            cells.push(f.as_ref());
        }
        cells
    }
}

/// Reads CSV records from a byte source that should be UTF-8 text.
pub struct Records {
    path: PathBuf,
    src: Box<dyn Read + Send>,
    block: usize,
    /// Text read and checked as UTF-8: up to the end of its last complete line, or to
    /// the end of the file once it is read.
    text: String,
    /// The first byte of `text` not yet read as part of a record.
    pos: usize,
    /// Bytes read after `text`'s last line end, which the next block completes.
    tail: Vec<u8>,
    eof: bool,
    /// The line (1-based) that `pos` is on.
    line: u64,
    delim: u8,
    core: csv_core::Reader,
    /// csv-core's output: fields' bytes and where each field ends.
    out: Vec<u8>,
    ends: Vec<usize>,
    /// Called when the text turns out not to be UTF-8.
    on_not_utf8: Option<Box<dyn Fn() + Send>>,
}

impl Records {
    pub fn new(path: &Path, src: Box<dyn Read + Send>, delim: u8) -> Records {
        Records::with_block(path, src, delim, BLOCK)
    }

    fn with_block(path: &Path, src: Box<dyn Read + Send>, delim: u8, block: usize) -> Records {
        Records {
            path: path.to_path_buf(),
            src,
            block,
            text: String::new(),
            pos: 0,
            tail: Vec::new(),
            eof: false,
            line: 1,
            delim,
            core: csv_core::ReaderBuilder::new().delimiter(delim).build(),
            out: vec![0; 1024],
            ends: vec![0; 64],
            on_not_utf8: None,
        }
    }

    /// Records of a whole text already decoded: it is not read or checked again.
    pub fn of_text(path: &Path, text: String, delim: u8) -> Records {
        let mut records = Records::new(path, Box::new(std::io::empty()), delim);
        records.text = text;
        records.eof = true;
        records
    }

    /// Has `hook` called if the text turns out not to be UTF-8, before the error.
    pub fn on_not_utf8(mut self, hook: Box<dyn Fn() + Send>) -> Records {
        self.on_not_utf8 = Some(hook);
        self
    }

    /// Reads the next record into `cells`; gives the line its first character is on,
    /// or `None` at the end of the file. Blank lines carry no record, as in `csv`.
    /// (`csv` itself gives the line after the previous record: one too few after a
    /// CRLF line end or a blank line.)
    pub fn read(&mut self, cells: &mut Cells) -> Result<Option<u64>> {
        loop {
            let rest = &self.text.as_bytes()[self.pos..];
            let end = match memchr::memchr(b'\n', rest) {
                Some(i) => i,
                None if !self.eof => {
                    self.refill()?;
                    continue;
                }
                None if rest.is_empty() => return Ok(None),
                None => rest.len(),
            };
            let mut line = &rest[..end];
            // Carriage returns before a record are line ends to `csv`, not part of it.
            let lead = line.iter().take_while(|&&b| b == b'\r').count();
            if lead > 0 {
                self.pos += lead;
                continue;
            }
            if let [body @ .., b'\r'] = line {
                line = body;
            }
            if line.is_empty() {
                self.pos = (self.pos + end + 1).min(self.text.len());
                self.line += 1;
                continue;
            }
            cells.clear();
            if !split_line(rest, line.len(), self.delim, &mut cells.ends) {
                return self.read_with_core(cells);
            }
            cells.ends.push(line.len());
            cells
                .text
                .push_str(&self.text[self.pos..self.pos + line.len()]);
            let at = self.line;
            self.pos = (self.pos + end + 1).min(self.text.len());
            self.line += 1;
            return Ok(Some(at));
        }
    }

    /// A record with quotes (which may span lines) or with a lone carriage return
    /// (which ends a record in `csv`): read by csv-core from `pos`.
    fn read_with_core(&mut self, cells: &mut Cells) -> Result<Option<u64>> {
        let first_line = self.line;
        let (mut nout, mut nend) = (0, 0);
        loop {
            let input = &self.text.as_bytes()[self.pos..];
            let (res, nin, o, e) =
                self.core
                    .read_record(input, &mut self.out[nout..], &mut self.ends[nend..]);
            self.line += memchr::memchr_iter(b'\n', &input[..nin]).count() as u64;
            self.pos += nin;
            nout += o;
            nend += e;
            match res {
                ReadRecordResult::InputEmpty if !self.eof => self.refill()?,
                // At the end of the file, csv-core is given no input: that ends the record.
                ReadRecordResult::InputEmpty => {}
                ReadRecordResult::OutputFull => self.out.resize(self.out.len() * 2, 0),
                ReadRecordResult::OutputEndsFull => self.ends.resize(self.ends.len() * 2, 0),
                ReadRecordResult::Record => break,
                // Not reached: a record starts at `pos`, which is not a blank line.
                ReadRecordResult::End => return Ok(None),
            }
        }
        cells.clear();
        let mut from = 0;
        for &to in &self.ends[..nend] {
            // Only quotes were taken out of the text, so the field is still UTF-8.
            let field = std::str::from_utf8(&self.out[from..to]).map_err(|_| {
                self.unreadable(first_line, "a field is not UTF-8 text after unquoting")
            })?;
            cells.push(field);
            from = to;
        }
        Ok(Some(first_line))
    }

    /// Moves the unread text to the front and reads on to the end of a line (or of the
    /// file), then checks the text is UTF-8.
    fn refill(&mut self) -> Result<()> {
        let mut bytes = std::mem::take(&mut self.text).into_bytes();
        bytes.drain(..self.pos);
        self.pos = 0;
        bytes.append(&mut self.tail);
        loop {
            let old = bytes.len();
            bytes.resize(old + self.block, 0);
            let n = loop {
                match self.src.read(&mut bytes[old..]) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        let line = self.line + count_lines(&bytes[..old]);
                        self.eof = true;
                        return Err(self.unreadable(line, format!("cannot read: {e}")));
                    }
                }
            };
            bytes.truncate(old + n);
            if n == 0 {
                self.eof = true;
                break;
            }
            if let Some(i) = memchr::memrchr(b'\n', &bytes[old..]) {
                self.tail.extend_from_slice(&bytes[old + i + 1..]);
                bytes.truncate(old + i + 1);
                break;
            }
        }
        match String::from_utf8(bytes) {
            Ok(text) => self.text = text,
            Err(e) => {
                let bytes = e.as_bytes();
                let ok = e.utf8_error().valid_up_to();
                let line = self.line + count_lines(&bytes[..ok]);
                self.eof = true;
                if let Some(hook) = &self.on_not_utf8 {
                    hook();
                }
                return Err(self.unreadable(line, "invalid UTF-8 (try --encoding gb18030)"));
            }
        }
        Ok(())
    }

    fn unreadable(&self, line: u64, why: impl Into<String>) -> Error {
        super::read::unreadable(&self.path, line, 0, why)
    }
}

fn count_lines(bytes: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', bytes).count() as u64
}

/// Where the fields of the line that is `text`'s first `len` bytes end (each but the
/// last, before its delimiter), pushed onto `ends`; false if the line has a quote or a
/// carriage return, which csv-core reads. `text` may go on past the line: its last
/// block is then read in place, not copied out (copying it was a third of this).
fn split_line(text: &[u8], len: usize, delim: u8, ends: &mut Vec<usize>) -> bool {
    let mut base = 0;
    while len - base >= 32 {
        let block: &[u8; 32] = text[base..base + 32].try_into().expect("32 bytes");
        if !push_ends(block, delim, base, ends, u32::MAX) {
            return false;
        }
        base += 32;
    }
    let rest = len - base;
    if rest == 0 {
        return true;
    }
    let within = (1u32 << rest) - 1;
    match text.get(base..base + 32) {
        Some(block) => {
            let block: &[u8; 32] = block.try_into().expect("32 bytes");
            push_ends(block, delim, base, ends, within)
        }
        None => {
            let mut block = [0u8; 32];
            block[..rest].copy_from_slice(&text[base..len]);
            push_ends(&block, delim, base, ends, within)
        }
    }
}

/// One 32-byte block of [`split_line`], of which the bytes whose bits are set in
/// `within` belong to the line.
#[inline]
fn push_ends(block: &[u8; 32], delim: u8, base: usize, ends: &mut Vec<usize>, within: u32) -> bool {
    let (mut at, special) = byte_masks(block, delim);
    if special & within != 0 {
        return false;
    }
    at &= within;
    while at != 0 {
        ends.push(base + at.trailing_zeros() as usize);
        at &= at - 1;
    }
    true
}

/// Bit `j` of the first mask is set when byte `j` is the delimiter, of the second when
/// it is a quote or a carriage return.
#[cfg(target_arch = "x86_64")]
#[inline]
fn byte_masks(block: &[u8; 32], delim: u8) -> (u32, u32) {
    use std::arch::x86_64::{
        __m128i, _mm_cmpeq_epi8, _mm_loadu_si128, _mm_movemask_epi8, _mm_or_si128, _mm_set1_epi8,
    };
    // SAFETY: SSE2 is part of every x86_64 processor; both loads read 16 of the
    // block's 32 bytes, unaligned loads.
    unsafe {
        let halves = [
            _mm_loadu_si128(block.as_ptr().cast::<__m128i>()),
            _mm_loadu_si128(block.as_ptr().add(16).cast::<__m128i>()),
        ];
        let (d, q, r) = (
            _mm_set1_epi8(delim as i8),
            _mm_set1_epi8(b'"' as i8),
            _mm_set1_epi8(b'\r' as i8),
        );
        let (mut at, mut special) = (0u32, 0u32);
        for (k, v) in halves.into_iter().enumerate() {
            at |= (_mm_movemask_epi8(_mm_cmpeq_epi8(v, d)) as u32) << (16 * k);
            let s = _mm_or_si128(_mm_cmpeq_epi8(v, q), _mm_cmpeq_epi8(v, r));
            special |= (_mm_movemask_epi8(s) as u32) << (16 * k);
        }
        (at, special)
    }
}

#[cfg(not(target_arch = "x86_64"))]
#[inline]
fn byte_masks(block: &[u8; 32], delim: u8) -> (u32, u32) {
    byte_masks_one_by_one(block, delim)
}

/// [`byte_masks`] a byte at a time: elsewhere than on x86_64, and the SSE2 version's
/// oracle in the tests.
#[cfg(any(test, not(target_arch = "x86_64")))]
fn byte_masks_one_by_one(block: &[u8; 32], delim: u8) -> (u32, u32) {
    let (mut at, mut special) = (0u32, 0u32);
    for (j, &b) in block.iter().enumerate() {
        at |= u32::from(b == delim) << j;
        special |= u32::from(b == b'"' || b == b'\r') << j;
    }
    (at, special)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every record as (start line, fields), read `block` bytes at a time.
    fn ours(text: &str, block: usize) -> Vec<(u64, Vec<String>)> {
        let src = Box::new(std::io::Cursor::new(text.as_bytes().to_vec()));
        let mut r = Records::with_block(Path::new("t.csv"), src, b',', block);
        let mut cells = Cells::default();
        let mut all = Vec::new();
        while let Some(line) = r.read(&mut cells).expect("readable") {
            all.push((line, cells.iter().map(str::to_string).collect()));
        }
        all
    }

    /// The same from the `csv` crate, with each record's line worked out from its byte
    /// offset: `csv` places a record just after the previous one, before the blank
    /// lines and line-end bytes that precede it.
    fn oracle(text: &str) -> Vec<(u64, Vec<String>)> {
        let mut r = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes());
        let mut rec = csv::StringRecord::new();
        let mut all = Vec::new();
        while r.read_record(&mut rec).expect("readable") {
            let mut at = rec.position().expect("position").byte() as usize;
            while matches!(text.as_bytes().get(at), Some(b'\r' | b'\n')) {
                at += 1;
            }
            let line = 1 + count_lines(&text.as_bytes()[..at]);
            all.push((line, rec.iter().map(str::to_string).collect()));
        }
        all
    }

    #[test]
    fn records_start_on_their_own_line() {
        let rows = |v: &[(u64, &[&str])]| -> Vec<(u64, Vec<String>)> {
            v.iter()
                .map(|(l, f)| (*l, f.iter().map(|s| s.to_string()).collect()))
                .collect()
        };
        assert_eq!(
            ours("h,i\r\na,b\r\n\r\nc,\r\n", 4),
            rows(&[(1, &["h", "i"]), (2, &["a", "b"]), (4, &["c", ""])])
        );
        assert_eq!(
            ours("h\n\n\"x\ny\",\"q\"\"\"\nlast,中文", 3),
            rows(&[(1, &["h"]), (3, &["x\ny", "q\""]), (5, &["last", "中文"])])
        );
        // A lone carriage return ends a record, as in `csv`.
        assert_eq!(ours("a\rb,c\n", 64), rows(&[(1, &["a"]), (1, &["b", "c"])]));
        assert_eq!(ours("", 8), rows(&[]));
        // Fields past the first 32 bytes of a line.
        let long = format!("{},{},x", "a".repeat(31), "b".repeat(40));
        assert_eq!(
            ours(&long, 1 << 20),
            rows(&[(1, &[&"a".repeat(31), &"b".repeat(40), "x"])])
        );
        assert_eq!(ours("\n\r\n", 8), rows(&[]));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let src = Box::new(std::io::Cursor::new(b"h\nok\n\xff\n".to_vec()));
        let mut r = Records::with_block(Path::new("t.csv"), src, b',', 64);
        match r.read(&mut Cells::default()) {
            Err(Error::Unreadable { line, why, .. }) => {
                assert_eq!(line, 3);
                assert!(why.contains("UTF-8"), "{why}");
            }
            other => panic!("expected an unreadable file, got {other:?}"),
        }
    }

    proptest! {
        #[test]
        fn reads_as_csv_does(
            text in proptest::collection::vec(
                prop_oneof![
                    Just("a"), Just("中"), Just(","), Just("\""), Just("\r"), Just("\n"),
                    Just("\r\n"), Just(" "), Just("bc"), Just("abcdefghijklmnopqrstuvwxyz0123"),
                ],
                0..60,
            ).prop_map(|parts| parts.concat()),
            // Small blocks cut lines across reads; a large one leaves the lines after a
            // line's last 32-byte block in the buffer, where it is read in place.
            block in prop_oneof![1usize..9, Just(1 << 16)],
        ) {
            prop_assert_eq!(ours(&text, block), oracle(&text));
        }

        #[test]
        fn masks_mark_every_delimiter_quote_and_carriage_return(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b','), Just(b'"'), Just(b'\r'), Just(b'\t'), any::<u8>()],
                32,
            ),
            tab in any::<bool>(),
        ) {
            let block: [u8; 32] = bytes.try_into().expect("32 bytes");
            let delim = if tab { b'\t' } else { b',' };
            prop_assert_eq!(byte_masks(&block, delim), byte_masks_one_by_one(&block, delim));
        }
    }
}
