//! Writing a batch of typed rows into the lake as one transaction: rows are split by
//! partition, merged with the partition's existing rows (an incoming key replaces the
//! stored row with that key, wherever in the table it was), sorted by key and written
//! as one new file per touched partition — so the bytes depend only on the rows. The
//! files they supersede are deleted at commit, and the manifest is updated in the same
//! transaction. A table the lake holds no rows of has nothing to merge with: its files
//! were written beside the parse and are only moved into the transaction.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;

use polars::prelude::*;

use super::manifest::{DataFile, IngestRecord, QuarantineFile, SourceRecord};
use super::txn::Txn;
use super::{partition_dir, Lake, QUARANTINE_DIR, TZ_METADATA_KEY};
use crate::error::{IoContext, PolarsContext, Result};
use crate::ingest::contract::Table;
use crate::ingest::parse::naive_of_micros;

/// New rows of one table, in lake schema, spilled to Parquet by partition as they were
/// parsed (so an ingest holds a bounded number of rows in memory). Each spilled row
/// carries its ingest-wide row number in [`ROW_COLUMN`]; `live`, `origin` and
/// `replaced_in_batch` are indexed by it.
pub struct TableBatch {
    pub table: &'static Table,
    /// (partition, spill file) pairs.
    pub spills: Vec<(Option<(i32, u32)>, std::path::PathBuf)>,
    /// False for a row a later row of the same ingest replaced.
    pub live: Vec<bool>,
    /// Index into [`CommitRequest::sources`] per row.
    pub origin: Vec<u32>,
    /// Rows already counted as replacing an earlier row of the same ingest.
    pub replaced_in_batch: Vec<bool>,
    /// The rows' keys ([`key_hash`]).
    pub keys: RowKeys,
    /// The lake files already written beside the parse, for a table the lake held no
    /// rows of; its rows are then in these and in no spill.
    pub direct: Option<DirectBatch>,
    /// The order each row names, for the unknown-order count.
    pub order_runs: OrderRuns,
    /// How many times rows were handed to be written (`LVYUE_TIMING` shows it).
    pub spill_count: usize,
}

/// Runs of consecutive rows naming the same order: (order-id hash, first row, rows).
/// Exports list an order's rows together, so a 10M-order ingest's order ids take a few
/// hundred MB this way, not the GBs one hash per row would.
pub type OrderRuns = Vec<(KeyHash, u32, u32)>;

/// A table's partitions written straight to their lake files as the rows were parsed
/// (into the spill folder, moved into the transaction at the commit).
pub struct DirectBatch {
    /// One per partition, by slot.
    pub files: Vec<DirectFile>,
    /// The slot in `files` of each row.
    pub row_slots: Vec<u16>,
}

/// One partition's lake file, written in row order; in key order once settled
/// ([`settle_direct`]).
pub struct DirectFile {
    pub part: Option<(i32, u32)>,
    pub path: std::path::PathBuf,
    pub rows: u64,
    /// Whether its rows are in strictly ascending key order, as the lake keeps them.
    pub ordered: bool,
    /// Least and greatest time of its rows (microseconds), for time-partitioned tables.
    pub time: Option<(i64, i64)>,
}

/// The keys of one table's rows in an ingest, each a [`key_hash`].
///
/// Exports are mostly written in key order. While the table's rows come from one file
/// in strictly ascending key order they are unique without a lookup, so their hashes
/// are only listed: row `i` has the `i`-th. A map is built from the list the first
/// time a key must be looked up (a key out of order, a second file of the table, a
/// lake that already holds rows of the table). Inserting every key into the map was
/// most of a 1M-order ingest's single-threaded file-order pass (15 % of its samples).
pub enum RowKeys {
    /// Every row's key, in row order; all rows are live and none replaced another.
    Listed(Vec<KeyHash>),
    /// Key hash → the live row with that key.
    Indexed(KeyIndex),
}

impl Default for RowKeys {
    fn default() -> RowKeys {
        RowKeys::Listed(Vec::new())
    }
}

impl RowKeys {
    /// The map from key to live row, built from the list on first use.
    pub fn index(&mut self) -> &mut KeyIndex {
        if let RowKeys::Listed(hashes) = self {
            let mut m = KeyIndex::default();
            // The list was reserved for the whole file: size the map once for it too.
            m.reserve(hashes.capacity());
            for (row, h) in hashes.iter().enumerate() {
                // Listed rows are numbered below u32::MAX by the ingest's own check.
                m.insert(*h, row as u32);
            }
            *self = RowKeys::Indexed(m);
        }
        match self {
            RowKeys::Indexed(m) => m,
            RowKeys::Listed(_) => unreachable!("converted above"),
        }
    }

    /// The keys of the live rows.
    pub fn live_keys(&self) -> Box<dyn Iterator<Item = &KeyHash> + '_> {
        match self {
            RowKeys::Listed(hashes) => Box::new(hashes.iter()),
            RowKeys::Indexed(m) => Box::new(m.keys()),
        }
    }

    /// Makes room for `rows` more keys.
    pub fn reserve(&mut self, rows: usize) {
        match self {
            RowKeys::Listed(hashes) => hashes.reserve(rows),
            RowKeys::Indexed(m) => m.reserve(rows),
        }
    }
}

/// Key hash → row. The keys are already uniform 128-bit hashes, so the map takes 64 of
/// their bits as its hash instead of hashing them again.
pub type KeyIndex = std::collections::HashMap<KeyHash, u32, KeyHashing>;

/// Builds [`KeyHasher`]s, for maps and sets keyed by [`KeyHash`].
pub type KeyHashing = std::hash::BuildHasherDefault<KeyHasher>;

/// The [`KeyIndex`] hasher: the first 64 bits of the key hash it is given.
#[derive(Default)]
pub struct KeyHasher(u64);

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        // A `KeyHash` arrives as its length, then its 16 bytes in one write.
        let mut w = [0u8; 8];
        let n = bytes.len().min(8);
        w[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(w);
    }

    fn write_u32(&mut self, word: u32) {
        // Word by word, should an array ever hash so: the last two words.
        self.0 = (self.0 << 32) | u64::from(word);
    }

    fn write_usize(&mut self, _len: usize) {}

    fn finish(&self) -> u64 {
        self.0
    }
}

/// The ingest-wide row number column of spill files.
pub const ROW_COLUMN: &str = "_row";

/// A key's 128-bit hash as four words: 4-byte alignment keeps a hash-map entry at 20
/// bytes instead of the 32 a `u128` (16-byte aligned) would take.
pub type KeyHash = [u32; 4];

/// 128-bit hash of a key text ([`key_strings`]): the identity the upsert compares, held
/// instead of the text so a 100-million-row ingest keeps its keys in a few GB. At 128
/// bits a collision among 10^9 keys has odds of about 10^-21.
pub fn key_hash(key: &str) -> KeyHash {
    let h = xxhash_rust::xxh3::xxh3_128(key.as_bytes());
    [
        h as u32,
        (h >> 32) as u32,
        (h >> 64) as u32,
        (h >> 96) as u32,
    ]
}

/// Writes a spill file: fast compression, no statistics (read once, then deleted), and
/// every column plainly encoded. polars' writer tries a dictionary for every column,
/// estimating each text column's distinct values first; for a file read once that is
/// work thrown away (about 4 % of a 1M-order ingest's samples).
pub fn write_spill(df: &mut DataFrame, path: &std::path::Path) -> Result<()> {
    use polars_parquet::write::{
        row_group_iter, CompressionOptions, Encoding, FileWriter, StatisticsOptions, Version,
        WriteOptions,
    };
    let what = || format!("writing {}", path.display());
    df.rechunk_mut();
    let schema = df.schema().to_arrow(CompatLevel::newest());
    let options = WriteOptions {
        statistics: StatisticsOptions::empty(),
        version: Version::V1,
        compression: CompressionOptions::Lz4Raw,
        data_page_size: None,
    };
    let mut writer =
        FileWriter::try_new(parquet_out(path)?, schema.clone(), options).context(what)?;
    let fields = writer.parquet_schema().fields().to_vec();
    let encodings: Vec<Vec<Encoding>> = schema
        .iter_values()
        .map(|_| vec![Encoding::Plain])
        .collect();
    for batch in df.iter_chunks(CompatLevel::newest(), false) {
        let rows = batch.height() as u64;
        let columns = row_group_iter(batch, encodings.clone().into(), fields.clone(), options);
        writer.write(rows, columns).context(what)?;
    }
    writer.end(None).context(what)?;
    Ok(())
}

/// Reads a spill file back with only its live rows, without the row number column.
fn read_spill(path: &std::path::Path, live: &[bool]) -> Result<DataFrame> {
    let file = fs::File::open(path).at(path)?;
    let df = ParquetReader::new(file)
        .finish()
        .context(|| format!("reading {}", path.display()))?;
    let rows = df
        .column(ROW_COLUMN)
        .context(|| ROW_COLUMN.to_string())?
        .u64()
        .context(|| ROW_COLUMN.to_string())?
        .clone();
    let keep = |r: Option<u64>| r.is_some_and(|r| live[r as usize]);
    // Mostly nothing was replaced: then filtering would only copy every column.
    if rows.iter().all(keep) {
        return df
            .drop(ROW_COLUMN)
            .context(|| format!("reading {}", path.display()));
    }
    let mask: BooleanChunked = rows.iter().map(|r| Some(keep(r))).collect();
    df.filter(&mask)
        .and_then(|d| d.drop(ROW_COLUMN))
        .context(|| format!("filtering {}", path.display()))
}

/// Everything one ingest adds to the lake.
pub struct CommitRequest {
    pub batches: Vec<TableBatch>,
    /// Quarantined rows (columns [`crate::ingest::QUARANTINE_COLUMNS`]), if any.
    pub quarantine: Option<DataFrame>,
    pub sources: Vec<SourceRecord>,
    pub columns_present: BTreeMap<String, BTreeSet<String>>,
    pub skipped_unchanged: u64,
    pub at: String,
}

const KEY_SEP: char = '\u{1f}';

/// One string per row joining the key columns: the identity used for upserts.
pub fn key_strings(df: &DataFrame, key: &[&str]) -> Result<Vec<String>> {
    let mut out = vec![String::new(); df.height()];
    for (k, name) in key.iter().enumerate() {
        let col = df.column(name).context(|| format!("key column {name}"))?;
        let phys = col.as_materialized_series().to_physical_repr();
        let mut push = |i: usize, v: Option<String>| {
            if k > 0 {
                out[i].push(KEY_SEP);
            }
            out[i].push_str(v.as_deref().unwrap_or("\u{0}"));
        };
        match phys.dtype() {
            DataType::String => {
                for (i, v) in phys.str().context(|| name.to_string())?.iter().enumerate() {
                    push(i, v.map(str::to_string));
                }
            }
            DataType::Int64 => {
                for (i, v) in phys.i64().context(|| name.to_string())?.iter().enumerate() {
                    push(i, v.map(|v| v.to_string()));
                }
            }
            DataType::Int32 => {
                for (i, v) in phys.i32().context(|| name.to_string())?.iter().enumerate() {
                    push(i, v.map(|v| v.to_string()));
                }
            }
            other => unreachable!("key column {name} has type {other}: contract keys are strings, ints, dates or timestamps"),
        }
    }
    Ok(out)
}

/// Whether `df`'s rows are already in strictly ascending key order, as the sort below
/// would leave them: exports are mostly written in key order, and sorting such a
/// partition again only made a copy of it (a 10M-order ingest peaked 2 GB higher).
/// Ties (not possible after the upsert) answer no, leaving them to the sort.
pub fn in_key_order(df: &DataFrame, key: &[&str]) -> Result<bool> {
    /// Compares each still-tied adjacent pair on one column: a pair in order is no
    /// longer tied; a pair out of order ends the check.
    fn step<T: PartialOrd + Copy>(
        values: impl Iterator<Item = Option<T>>,
        tied: &mut [bool],
    ) -> bool {
        let mut prev: Option<Option<T>> = None;
        for (i, v) in values.enumerate() {
            if let Some(p) = prev {
                if tied[i - 1] {
                    // `None < Some`: nulls first, as the sort puts them.
                    match p.partial_cmp(&v) {
                        Some(std::cmp::Ordering::Less) => tied[i - 1] = false,
                        Some(std::cmp::Ordering::Equal) => {}
                        _ => return false,
                    }
                }
            }
            prev = Some(v);
        }
        true
    }
    let n = df.height();
    if n < 2 {
        return Ok(true);
    }
    let mut tied = vec![true; n - 1];
    for name in key {
        let col = df.column(name).context(|| format!("key column {name}"))?;
        let phys = col.as_materialized_series().to_physical_repr();
        let ordered = match phys.dtype() {
            DataType::String => step(phys.str().context(|| name.to_string())?.iter(), &mut tied),
            DataType::Int64 => step(phys.i64().context(|| name.to_string())?.iter(), &mut tied),
            DataType::Int32 => step(phys.i32().context(|| name.to_string())?.iter(), &mut tied),
            _ => false,
        };
        if !ordered {
            return Ok(false);
        }
    }
    Ok(tied.iter().all(|t| !t))
}

/// The local (year, month) of each row's own time; `None` for unpartitioned tables.
pub fn row_partitions(df: &DataFrame, t: &Table) -> Result<Vec<Option<(i32, u32)>>> {
    let Some(tc) = t.time_column else {
        return Ok(vec![None; df.height()]);
    };
    let phys = df
        .column(tc)
        .context(|| tc.to_string())?
        .as_materialized_series()
        .to_physical_repr();
    let ca = phys.i64().context(|| tc.to_string())?.clone();
    // Rows come mostly in time order, many to a day: the calendar is worked out once per
    // day, not per row.
    const DAY: i64 = 86_400_000_000;
    let mut last: Option<(i64, Option<(i32, u32)>)> = None;
    Ok(ca
        .iter()
        .map(|v| {
            use chrono::Datelike;
            let v = v?;
            let day = v.div_euclid(DAY);
            match last {
                Some((d, p)) if d == day => p,
                _ => {
                    let p = naive_of_micros(v).map(|d| (d.year(), d.month()));
                    last = Some((day, p));
                    p
                }
            }
        })
        .collect())
}

/// The least and greatest own time of `df`'s rows (microseconds), if it has any.
pub fn time_bounds(df: &DataFrame, t: &Table) -> Result<Option<(i64, i64)>> {
    let Some(tc) = t.time_column else {
        return Ok(None);
    };
    let phys = df
        .column(tc)
        .context(|| tc.to_string())?
        .as_materialized_series()
        .to_physical_repr();
    let ca = phys.i64().context(|| tc.to_string())?;
    Ok(ca.min().zip(ca.max()))
}

/// A file's time range as the manifest shows it.
fn time_text(bounds: Option<(i64, i64)>) -> (Option<String>, Option<String>) {
    let fmt = |v: i64| naive_of_micros(v).map(|d| d.format("%Y-%m-%d %H:%M:%S").to_string());
    match bounds {
        Some((lo, hi)) => (fmt(lo), fmt(hi)),
        None => (None, None),
    }
}

/// The key-value metadata of every lake file.
pub fn lake_metadata(tz: &str, table: &str) -> Vec<(String, String)> {
    vec![
        (TZ_METADATA_KEY.to_string(), tz.to_string()),
        ("lvyue.table".to_string(), table.to_string()),
        (
            "lvyue.format".to_string(),
            super::manifest::FORMAT_VERSION.to_string(),
        ),
    ]
}

/// Writes `df` as a lake file at `path` with the metadata of a lake in time zone `tz`.
pub fn write_parquet(tz: &str, table: &str, df: &DataFrame, path: &std::path::Path) -> Result<()> {
    let mut file = LakeFile::create(path, df.schema(), tz, table)?;
    file.push(df.clone())?;
    file.finish()?;
    Ok(())
}

/// A Parquet file written a row group at a time through polars-parquet's file writer,
/// with the encodings, statistics and metadata polars' own writer gives (zstd level 1,
/// full statistics), except that text columns are dictionary-encoded here
/// (`text_dictionary`): polars' writer estimates each text column's distinct values and
/// then builds the dictionary with a general hash map, a tenth of a 1M-order ingest's
/// CPU time (docs/performance.md, sixteenth pass). Lake files and the metric item file.
pub struct ParquetFile {
    writer: polars_parquet::write::FileWriter<ParquetOut>,
    fields: Vec<polars_parquet::write::ParquetType>,
    encodings: Vec<Vec<polars_parquet::write::Encoding>>,
    /// Per column: its values are unique (a table's key that is this one column).
    unique: Vec<bool>,
    options: polars_parquet::write::WriteOptions,
    kv: Vec<(String, String)>,
    path: std::path::PathBuf,
}

impl ParquetFile {
    /// A file of `schema` with key-value metadata `kv`; `unique` names a column whose
    /// values are unique, if any.
    pub fn create(
        path: &std::path::Path,
        schema: &Schema,
        kv: Vec<(String, String)>,
        unique: Option<&str>,
    ) -> Result<ParquetFile> {
        use polars_parquet::write::{
            get_dtype_encoding, CompressionOptions, FileWriter, StatisticsOptions, Version,
            WriteOptions, ZstdLevel,
        };
        let what = || format!("writing {}", path.display());
        let arrow = schema.to_arrow(CompatLevel::newest());
        let level = ZstdLevel::try_new(LAKE_ZSTD_LEVEL)
            .context(|| format!("zstd level {LAKE_ZSTD_LEVEL}"))?;
        let options = WriteOptions {
            statistics: StatisticsOptions::full(),
            version: Version::V1,
            compression: CompressionOptions::Zstd(Some(level)),
            data_page_size: None,
        };
        let encodings = arrow
            .iter_values()
            .map(|f| get_dtype_encoding(&f.dtype))
            .collect();
        let unique = schema
            .iter_names()
            .map(|n| Some(n.as_str()) == unique)
            .collect();
        let writer = FileWriter::try_new(parquet_out(path)?, arrow, options).context(what)?;
        Ok(ParquetFile {
            fields: writer.parquet_schema().fields().to_vec(),
            writer,
            encodings,
            unique,
            options,
            kv,
            path: path.to_path_buf(),
        })
    }

    /// Writes `group` as one row group (none if it is empty).
    pub fn write_group(&mut self, group: DataFrame) -> Result<()> {
        use polars_parquet::write::{
            array_to_columns, Compressor, DynIter, DynStreamingIterator, Encoding,
            FallibleStreamingIterator,
        };
        let what = || format!("writing {}", self.path.display());
        if group.height() == 0 {
            return Ok(());
        }
        let rows = group.height();
        let options = self.options;
        // Columns are encoded one after another: the parse keeps the pool busy, and a
        // spill thread waiting on it for the columns stalls the file-order pass.
        let columns = group
            .columns()
            .iter()
            .zip(&self.fields)
            .zip(&self.encodings)
            .zip(&self.unique)
            .map(|(((column, field), encodings), &unique)| {
                let series = column.as_materialized_series();
                let (array, encodings) = match text_dictionary(series, unique) {
                    Some(Text::Dictionary(d)) => (d, encodings.clone()),
                    Some(Text::Plain(whole)) => (whole, vec![Encoding::Plain]),
                    None => (whole_array(series), encodings.clone()),
                };
                let pages = array_to_columns(array, field.clone(), options, &encodings)?;
                Ok(pages
                    .into_iter()
                    .map(|pages| {
                        let pages = pages.map(|page| {
                            page.map_err(|e| {
                                polars_parquet::parquet::error::ParquetError::OutOfSpec(
                                    e.to_string(),
                                )
                            })
                        });
                        Ok(DynStreamingIterator::new(
                            Compressor::new_from_vec(pages, options.compression, vec![])
                                .map_err(PolarsError::from),
                        ))
                    })
                    .collect::<Vec<_>>())
            })
            .collect::<PolarsResult<Vec<_>>>()
            .context(what)?;
        let group = DynIter::new(columns.into_iter().flatten());
        self.writer.write(rows as u64, group).context(what)?;
        Ok(())
    }

    /// Writes the footer: the Arrow schema first, then the file's own keys, as polars'
    /// writer does.
    pub fn finish(mut self) -> Result<()> {
        let kv = std::iter::once(polars_parquet::write::schema_to_metadata_key(
            self.writer.schema(),
        ))
        .chain(
            std::mem::take(&mut self.kv)
                .into_iter()
                .map(|(key, value)| polars_parquet::write::KeyValue::new(key, value)),
        )
        .collect();
        self.writer
            .end(Some(kv))
            .context(|| format!("writing {}", self.path.display()))?;
        Ok(())
    }
}

/// A lake file written a row group at a time: every group holds 65 536 (`LAKE_ROW_GROUP`)
/// rows but the last, whatever pieces the rows are handed in. So a file's bytes depend
/// only on its rows, whether it was written beside the parse or merged at the commit.
pub struct LakeFile {
    file: ParquetFile,
    /// Rows not yet written: fewer than a group.
    pending: Option<DataFrame>,
    rows: u64,
}

impl LakeFile {
    /// A lake file of `table` in a lake in time zone `tz`. A table's key that is one
    /// column is unique in each file.
    pub fn create(
        path: &std::path::Path,
        schema: &Schema,
        tz: &str,
        table: &str,
    ) -> Result<LakeFile> {
        let key = crate::ingest::contract::table(table)
            .and_then(|t| <&[&str; 1]>::try_from(t.key).ok())
            .map(|[k]| *k);
        Ok(LakeFile {
            file: ParquetFile::create(path, schema, lake_metadata(tz, table), key)?,
            pending: None,
            rows: 0,
        })
    }

    /// Appends rows, writing every full row group they complete.
    pub fn push(&mut self, df: DataFrame) -> Result<()> {
        let df = match self.pending.take() {
            Some(mut p) => {
                p.vstack_mut_owned(df)
                    .context(|| format!("writing {}", self.file.path.display()))?;
                p
            }
            None => df,
        };
        let mut at = 0;
        while df.height() - at >= LAKE_ROW_GROUP {
            self.write_group(df.slice(at as i64, LAKE_ROW_GROUP))?;
            at += LAKE_ROW_GROUP;
        }
        if at < df.height() {
            self.pending = Some(df.slice(at as i64, df.height() - at));
        }
        Ok(())
    }

    fn write_group(&mut self, group: DataFrame) -> Result<()> {
        self.rows += group.height() as u64;
        self.file.write_group(group)
    }

    /// Writes the last rows and the footer; returns the file's rows.
    pub fn finish(mut self) -> Result<u64> {
        if let Some(rest) = self.pending.take() {
            self.write_group(rest)?;
        }
        self.file.finish()?;
        Ok(self.rows)
    }
}

/// Slots of `text_dictionary`'s table of recent views (2^`RECENT_BITS`): room for a
/// list of words (23 activities) and an order's staff and codes.
const RECENT_BITS: u32 = 8;
const RECENT_VIEWS: usize = 1 << RECENT_BITS;

/// How a text column's row group is encoded.
enum Text {
    Dictionary(Box<dyn polars_arrow::array::Array>),
    /// Plain, with the column as one array.
    Plain(Box<dyn polars_arrow::array::Array>),
}

/// A column as one Arrow array, its pieces joined.
fn whole_array(series: &Series) -> Box<dyn polars_arrow::array::Array> {
    series.rechunk().to_arrow(0, CompatLevel::newest())
}

/// Dictionary-encodes a text column's row group, with the decision and the dictionary
/// polars' writer would make: values in the order they first come, and plain encoding
/// when more than three in four values of a group over 128 rows are distinct. polars
/// estimates that share (HyperLogLog); this counts it, unless the group's first
/// sixteenth is over the line too, when it takes polars' estimate. A group near the
/// line may so fall on the other side; either way the file reads back the same. `None`
/// for a column that is not text.
///
/// Cheaper than polars' way on lake columns: a value whose 16-byte view was met lately
/// (the previous row's order id, an activity: `ingest::Words` gives each word one view)
/// is not looked up, a value of up to 12 bytes is looked up by its view without
/// reading its text, and a column known to be unique (a one-column key) is not counted
/// at all.
///
/// A text column's pieces are read where they lie: a dictionary needs no joined copy of
/// them (a lake file's group is made of the spills' pieces).
fn text_dictionary(series: &Series, unique: bool) -> Option<Text> {
    use polars_arrow::array::{
        Array, DictionaryArray, MutableBinaryViewArray, PrimitiveArray, Utf8ViewArray,
    };
    use polars_arrow::bitmap::MutableBitmap;
    use polars_arrow::datatypes::{ArrowDataType, IntegerType};
    let text = series.str().ok()?;
    let plain = || Some(Text::Plain(whole_array(series)));
    let len = text.len();
    let plain_above = if len > 128 { len * 3 / 4 } else { len };
    if unique && len > 128 {
        return plain();
    }
    let mut keys: Vec<u32> = Vec::with_capacity(len);
    let mut values = MutableBinaryViewArray::<str>::new();
    // Short values by their view (length and inline bytes), longer ones by their text.
    let mut short: PlHashMap<u128, u32> = PlHashMap::new();
    let mut long: PlHashMap<&str, u32> = PlHashMap::new();
    let mut valid = (text.null_count() > 0).then(|| MutableBitmap::with_capacity(len));
    // Mostly distinct text (names, addresses, ids of a many-column key) would be
    // counted up to three quarters of a group before it is found not worth a
    // dictionary. When more than three in four values of the group's first sixteenth
    // are new, the decision is polars' own estimate of the group's distinct values.
    let probe_at = if len >= 2048 { len / 16 } else { usize::MAX };
    let mut i = 0;
    for piece in text.downcast_iter() {
        let piece: &Utf8ViewArray = piece;
        // Views met lately in this piece, by a few bits of the view: equal views are
        // equal text (the same inline bytes, or the same place in the same buffer), so
        // a hit needs no lookup. No view has a length of u32::MAX, so the empty slots
        // never match. A long view names a buffer of its piece: the table is per piece.
        let mut recent = vec![(u128::MAX, 0u32); RECENT_VIEWS];
        let piece_valid = piece.validity();
        for (at, view) in piece.views().iter().enumerate() {
            if i == probe_at && values.len() * 4 > i * 3 {
                let whole = whole_array(series);
                let estimate =
                    polars::polars_compute::cardinality::estimate_cardinality(whole.as_ref());
                if estimate as f64 / len as f64 > 0.75 {
                    return Some(Text::Plain(whole));
                }
            }
            i += 1;
            let is_valid = piece_valid.is_none_or(|v| v.get_bit(at));
            if let Some(v) = valid.as_mut() {
                v.push(is_valid);
            }
            if !is_valid {
                // A null's key is never written: any value does.
                keys.push(0);
                continue;
            }
            let bits = view.as_u128();
            let slot = ((bits as u64 ^ (bits >> 64) as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
                >> (64 - RECENT_BITS)) as usize;
            let (seen, k) = recent[slot];
            if seen == bits {
                keys.push(k);
                continue;
            }
            let next = values.len() as u32;
            // SAFETY: `at` is below the piece's length.
            let value = || unsafe { piece.value_unchecked(at) };
            let key = if view.length <= 12 {
                *short.entry(bits).or_insert(next)
            } else {
                *long.entry(value()).or_insert(next)
            };
            if key == next {
                if values.len() >= plain_above {
                    return plain();
                }
                values.push_value(value());
            }
            keys.push(key);
            recent[slot] = (bits, key);
        }
    }
    let keys = PrimitiveArray::new(
        ArrowDataType::UInt32,
        keys.into(),
        valid.map(|v| v.freeze()),
    );
    let dtype = ArrowDataType::Dictionary(
        IntegerType::UInt32,
        Box::new(ArrowDataType::Utf8View),
        false,
    );
    let values: Utf8ViewArray = values.into();
    // The keys index the values by construction; the check is the library's.
    let dict = DictionaryArray::try_new(dtype, keys, values.boxed()).ok()?;
    Some(Text::Dictionary(dict.boxed()))
}

/// Where a Parquet file is written. polars' writers write each page and page header
/// as it comes: straight to the file, a 1M-order ingest made 626 000 write calls of
/// 400 bytes on average. The writers flush at the file's end, where an error is
/// returned like any other.
pub type ParquetOut = std::io::BufWriter<fs::File>;

/// Bytes buffered per Parquet file: an ingest has a file open per table and month.
const PARQUET_BUFFER: usize = 256 << 10;

pub fn parquet_out(path: &std::path::Path) -> Result<ParquetOut> {
    let file = fs::File::create(path).at(path)?;
    Ok(std::io::BufWriter::with_capacity(PARQUET_BUFFER, file))
}

/// zstd level of lake files: its fastest, 1, rather than the default 3. Compressing was
/// a quarter of an ingest's commit (1M orders); at level 1 the ingest takes 1–2 CPU-s
/// less (of 28) and the lake is 10 % larger (232 → 255 MB), while reading it costs the
/// same (a metrics year: 12.0–13.1 s against 12.5–12.6 s at 1M, 103.6 / 106.0 s against
/// 112.6 / 106.2 s at 10M; docs/performance.md).
const LAKE_ZSTD_LEVEL: i32 = 1;

/// Rows per row group of a lake file (the last group of a file holds the rest). Files
/// are sorted by key (for the generated and
/// most real exports, by order), and an order-range shard reads only the row groups
/// whose key statistics overlap its range: at polars' default (~260 000 rows) a month of
/// 10M orders' `orders` was three groups, so a tenth of the ids read half of them.
const LAKE_ROW_GROUP: usize = 65_536;

/// Writes `df` as Parquet (zstd, full statistics) with the given key-value metadata.
pub fn write_parquet_file(
    df: &mut DataFrame,
    path: &std::path::Path,
    kv: Vec<(String, String)>,
) -> Result<()> {
    ParquetWriter::new(parquet_out(path)?)
        .with_compression(ParquetCompression::Zstd(None))
        .with_statistics(StatisticsOptions::full())
        .with_key_value_metadata(Some(KeyValueMetadata::from_static(kv)))
        .finish(df)
        .context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Applies `req` to the lake in one transaction and returns its number.
pub fn commit(lake: &mut Lake, mut req: CommitRequest) -> Result<u64> {
    let txn_id = lake.manifest.next_txn;
    let mut txn = Txn::begin(&lake.root, txn_id)?;
    let mut manifest = lake.manifest.clone();
    manifest.next_txn += 1;
    let part_name = format!("part-{txn_id:06}.parquet");

    for batch in &mut req.batches {
        let t = batch.table;
        if let Some(direct) = batch.direct.take() {
            let written = commit_direct(&txn, &part_name, t.name, direct)?;
            let state = manifest.tables.entry(t.name.to_string()).or_default();
            for (rel, file) in written.into_iter().flatten() {
                txn.stage(&rel)?;
                state.files.push(file);
            }
            continue;
        }
        let new_parts: BTreeSet<Option<(i32, u32)>> =
            batch.spills.iter().map(|(p, _)| *p).collect();
        // Existing files to rewrite: those in a partition that receives rows, and those
        // holding a key that arrives now (a corrected export may move a row's month).
        let state = manifest.tables.entry(t.name.to_string()).or_default();
        // Only stored rows are looked up: without any, the keys need no map.
        let index = (!state.files.is_empty()).then(|| &*batch.keys.index());
        let known = |k: &str| index.and_then(|m| m.get(&key_hash(k)).copied());
        let mut rewrite: BTreeMap<Option<(i32, u32)>, Vec<DataFile>> = BTreeMap::new();
        for f in &state.files {
            let fpart = f.year.zip(f.month);
            let hit = new_parts.contains(&fpart) || {
                let kdf = lake.read_files(t, std::slice::from_ref(f), Some(t.key))?;
                key_strings(&kdf, t.key)?.iter().any(|k| known(k).is_some())
            };
            if hit {
                rewrite.entry(fpart).or_default().push(f.clone());
            }
        }
        let superseded: Vec<String> = rewrite.values().flatten().map(|f| f.path.clone()).collect();
        let touched: BTreeSet<Option<(i32, u32)>> =
            new_parts.iter().chain(rewrite.keys()).copied().collect();
        state.files.retain(|f| !superseded.contains(&f.path));
        for p in &superseded {
            txn.delete(p);
        }
        // Partitions of under a million rows two at a time (one per core), larger ones
        // one at a time: memory holds one or two partitions' rows, not the table's. Two
        // of a 10M-order ingest's event partitions at once took its peak from about 15
        // to 20.6 GB. Each writes its own staged file; the transaction records them in
        // partition order afterwards.
        let touched: Vec<_> = touched.into_iter().collect();
        let workers = if batch.live.len() / touched.len().max(1) < 4_000_000 {
            2
        } else {
            1
        };
        let written = crate::in_turn_on(
            workers,
            &touched,
            |&part| -> Result<Option<(String, DataFile, Vec<usize>)>> {
                let mut frames = Vec::new();
                // Origins of batch rows that replace a stored row, once per row.
                let mut replacing = Vec::new();
                for f in rewrite.get(&part).into_iter().flatten() {
                    let old = lake.read_files(t, std::slice::from_ref(f), None)?;
                    let old_keys = key_strings(&old, t.key)?;
                    let mask: BooleanChunked = old_keys
                        .iter()
                        .map(|k| match known(k) {
                            Some(row) => {
                                let row = row as usize;
                                if !batch.replaced_in_batch[row] {
                                    replacing.push(batch.origin[row] as usize);
                                }
                                Some(false)
                            }
                            None => Some(true),
                        })
                        .collect();
                    frames.push(
                        old.filter(&mask)
                            .context(|| format!("filtering {}", f.path))?,
                    );
                }
                for (p, path) in &batch.spills {
                    if *p == part {
                        frames.push(read_spill(path, &batch.live)?);
                    }
                }
                let mut frames = frames.into_iter();
                let Some(mut merged) = frames.next() else {
                    return Ok(None);
                };
                for f in frames {
                    merged
                        .vstack_mut_owned(f)
                        .context(|| format!("merging {}", t.name))?;
                }
                if merged.height() == 0 {
                    return Ok(None);
                }
                let mut merged = if in_key_order(&merged, t.key)? {
                    merged
                } else {
                    merged
                        .sort(t.key.iter().copied(), SortMultipleOptions::default())
                        .context(|| format!("sorting {}", t.name))?
                };
                merged.rechunk_mut();
                let rel = format!("{}/{part_name}", partition_dir(t.name, part));
                write_parquet(lake.tz.name(), t.name, &merged, &txn.path_for(&rel)?)?;
                let (min_time, max_time) = time_text(time_bounds(&merged, t)?);
                let file = DataFile {
                    path: rel.clone(),
                    year: part.map(|p| p.0),
                    month: part.map(|p| p.1),
                    rows: merged.height() as u64,
                    min_time,
                    max_time,
                    txn: txn_id,
                };
                Ok(Some((rel, file, replacing)))
            },
        )
        .into_iter()
        .collect::<Result<Vec<_>>>()?;
        for (rel, file, replacing) in written.into_iter().flatten() {
            txn.stage(&rel)?;
            state.files.push(file);
            for origin in replacing {
                req.sources[origin].rows_replaced += 1;
            }
        }
    }
    for b in &req.batches {
        if let Some(state) = manifest.tables.get_mut(b.table.name) {
            state
                .files
                .sort_by(|a, b| (a.year, a.month, &a.path).cmp(&(b.year, b.month, &b.path)));
        }
    }
    for (table, cols) in &req.columns_present {
        manifest
            .tables
            .entry(table.clone())
            .or_default()
            .columns_present
            .extend(cols.iter().cloned());
    }

    if let Some(q) = req.quarantine.take() {
        if q.height() > 0 {
            let rel = format!("{QUARANTINE_DIR}/{part_name}");
            let staged = txn.stage(&rel)?;
            let count = |col: &str| -> Result<BTreeMap<String, u64>> {
                let mut m = BTreeMap::new();
                let s = q
                    .column(col)
                    .context(|| col.to_string())?
                    .as_materialized_series()
                    .clone();
                for v in s.str().context(|| col.to_string())?.iter() {
                    *m.entry(v.unwrap_or_default().to_string()).or_insert(0) += 1;
                }
                Ok(m)
            };
            let by_table = count("table")?;
            let by_reason = count("reason")?;
            write_parquet(lake.tz.name(), "_quarantine", &q, &staged)?;
            manifest.quarantine.push(QuarantineFile {
                path: rel,
                txn: txn_id,
                rows: q.height() as u64,
                by_table,
                by_reason,
            });
        }
    }

    let sum = |f: fn(&SourceRecord) -> u64| req.sources.iter().map(f).sum::<u64>();
    manifest.ingests.push(IngestRecord {
        txn: txn_id,
        at: req.at.clone(),
        sources: req.sources.len() as u64,
        skipped_unchanged: req.skipped_unchanged,
        rows_stored: sum(|s| s.rows_stored),
        rows_quarantined: sum(|s| s.rows_quarantined),
        rows_replaced: sum(|s| s.rows_replaced),
    });
    for s in &mut req.sources {
        s.txn = txn_id;
    }
    manifest.sources.extend(req.sources);
    txn.commit(&manifest)?;
    lake.manifest = manifest;
    Ok(txn_id)
}

/// Makes a table's lake files written beside the parse final once all its rows are in:
/// a file holding a row that a later row of the ingest replaced (`live` is false for
/// it, by ingest row; `None` when no row was replaced), or rows out of key order, is
/// read back and written again without those rows, sorted. The table's spill thread
/// runs this as it finishes the files, so the tables settle theirs side by side while
/// the parse or the other tables finish, not one after another in the commit (a 1M
/// ingest's `shipment_lines`, whose lines come out of key order, took 0.4 s there).
pub fn settle_direct(
    t: &Table,
    tz: &str,
    batch: &mut DirectBatch,
    live: Option<&[bool]>,
) -> Result<()> {
    let mut replaced = vec![false; batch.files.len()];
    if let Some(live) = live {
        for (&l, &slot) in live.iter().zip(&batch.row_slots) {
            if !l {
                replaced[slot as usize] = true;
            }
        }
    }
    let slots: Vec<usize> = (0..batch.files.len())
        .filter(|&s| replaced[s] || !batch.files[s].ordered)
        .collect();
    let (files, row_slots) = (&batch.files, &batch.row_slots);
    let settled = crate::in_turn_on(2, &slots, |&slot| -> Result<DirectFile> {
        let f = &files[slot];
        let file = fs::File::open(&f.path).at(&f.path)?;
        let mut df = ParquetReader::new(file)
            .finish()
            .context(|| format!("reading {}", f.path.display()))?;
        fs::remove_file(&f.path).at(&f.path)?;
        if let (true, Some(live)) = (replaced[slot], live) {
            // The file holds the slot's rows in row order.
            let mask: BooleanChunked = live
                .iter()
                .zip(row_slots)
                .filter(|(_, &s)| s as usize == slot)
                .map(|(&l, _)| Some(l))
                .collect();
            df = df
                .filter(&mask)
                .context(|| format!("filtering {}", f.path.display()))?;
        }
        let path = f.path.with_extension("settled.parquet");
        if df.height() > 0 {
            // Rows taken out of an ordered file leave it ordered.
            if !f.ordered && !in_key_order(&df, t.key)? {
                df = df
                    .sort(t.key.iter().copied(), SortMultipleOptions::default())
                    .context(|| format!("sorting {}", t.name))?;
            }
            write_parquet(tz, t.name, &df, &path)?;
        }
        Ok(DirectFile {
            part: f.part,
            path,
            rows: df.height() as u64,
            ordered: true,
            time: time_bounds(&df, t)?,
        })
    });
    for (&slot, f) in slots.iter().zip(settled) {
        batch.files[slot] = f?;
    }
    Ok(())
}

/// Moves the lake files a table's rows were written to beside the parse, settled by
/// [`settle_direct`], into the transaction; a file left without rows is not written.
/// The lake held no rows of the table when the ingest began (it holds the lake's lock),
/// so nothing stored is merged or superseded.
fn commit_direct(
    txn: &Txn,
    part_name: &str,
    table: &str,
    direct: DirectBatch,
) -> Result<Vec<Option<(String, DataFile)>>> {
    direct
        .files
        .into_iter()
        .map(|f| {
            if f.rows == 0 {
                return Ok(None);
            }
            debug_assert!(f.ordered, "settled files are in key order");
            let rel = format!("{}/{part_name}", partition_dir(table, f.part));
            let dest = txn.path_for(&rel)?;
            fs::rename(&f.path, &dest).at(&dest)?;
            let (min_time, max_time) = time_text(f.time);
            Ok(Some((
                rel.clone(),
                DataFile {
                    path: rel,
                    year: f.part.map(|p| p.0),
                    month: f.part.map(|p| p.1),
                    rows: f.rows,
                    min_time,
                    max_time,
                    txn: txn.id,
                },
            )))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lake writer's own text dictionaries give the bytes polars' writer gives, for
    /// text that repeats in runs, repeats apart, is mostly distinct, is null, is short
    /// enough to lie in its view or not, and for a unique key column; in a file of one
    /// group over 128 rows and in one of a few rows (where polars always tries a
    /// dictionary).
    #[test]
    fn lake_files_are_the_files_polars_writes() {
        let frame = |n: usize| {
            let ids: Vec<String> = (0..n).map(|i| format!("SO{i:09}")).collect();
            let runs: Vec<&str> = (0..n).map(|i| ["app", "phone", "web"][i / 7 % 3]).collect();
            let long: Vec<&str> = (0..n)
                .map(|i| ["submitted_to_cs", "sales_reviewed", "warehouse_picked"][i % 3])
                .collect();
            let mostly_distinct: Vec<String> = (0..n)
                .map(|i| format!("上海市浦东新区{}号", i - i % 10 / 9))
                .collect();
            let some_null: Vec<Option<String>> = (0..n)
                .map(|i| (i % 4 != 0).then(|| format!("note {}", i % 50)))
                .collect();
            let amounts: Vec<i64> = (0..n as i64).map(|i| i * 37 % 1000).collect();
            DataFrame::new(
                n,
                vec![
                    Column::new("order_id".into(), ids),
                    Column::new("channel".into(), runs),
                    Column::new("activity".into(), long),
                    Column::new("delivery_place".into(), mostly_distinct),
                    Column::new("note".into(), some_null),
                    Column::new("quantity".into(), amounts),
                ],
            )
            .unwrap()
        };
        let dir = tempfile::tempdir().unwrap();
        for n in [5_000, 100] {
            let df = frame(n);
            let ours = dir.path().join(format!("ours-{n}.parquet"));
            let mut f = LakeFile::create(&ours, df.schema(), "UTC", "orders").unwrap();
            f.push(df.clone()).unwrap();
            assert_eq!(f.finish().unwrap(), n as u64);
            // Handed in as pieces, as the spills hand a file its rows: the group is then
            // made of several chunks, read where they lie.
            let pieces = dir.path().join(format!("pieces-{n}.parquet"));
            let mut f = LakeFile::create(&pieces, df.schema(), "UTC", "orders").unwrap();
            for at in (0..n).step_by(37) {
                f.push(df.slice(at as i64, 37)).unwrap();
            }
            assert_eq!(f.finish().unwrap(), n as u64);
            assert_eq!(
                fs::read(&pieces).unwrap(),
                fs::read(&ours).unwrap(),
                "{n} rows"
            );
            let theirs = dir.path().join(format!("theirs-{n}.parquet"));
            ParquetWriter::new(fs::File::create(&theirs).unwrap())
                .with_compression(ParquetCompression::Zstd(Some(
                    polars::polars_utils::compression::ZstdLevel::try_new(LAKE_ZSTD_LEVEL).unwrap(),
                )))
                .with_statistics(StatisticsOptions::full())
                .with_key_value_metadata(Some(KeyValueMetadata::from_static(lake_metadata(
                    "UTC", "orders",
                ))))
                .finish(&mut df.clone())
                .unwrap();
            assert_eq!(
                fs::read(&ours).unwrap(),
                fs::read(&theirs).unwrap(),
                "{n} rows"
            );
            let back = ParquetReader::new(fs::File::open(&ours).unwrap())
                .finish()
                .unwrap();
            assert!(back.equals_missing(&df));
        }
    }

    #[test]
    fn key_order_is_checked_column_by_column() {
        let df = |ids: &[&str], lines: &[i64]| {
            DataFrame::new(
                ids.len(),
                vec![
                    Column::new("order_id".into(), ids),
                    Column::new("line_no".into(), lines),
                ],
            )
            .unwrap()
        };
        let key = ["order_id", "line_no"];
        assert!(in_key_order(&df(&["A", "A", "B"], &[1, 2, 1]), &key).unwrap());
        // Tied on the first column, out of order on the second.
        assert!(!in_key_order(&df(&["A", "A", "B"], &[2, 1, 1]), &key).unwrap());
        // Out of order on the first column, whatever the second says.
        assert!(!in_key_order(&df(&["B", "A"], &[1, 2]), &key).unwrap());
        // Text is compared as bytes, as the sort does: "A10" < "A9".
        assert!(in_key_order(&df(&["A10", "A9"], &[1, 1]), &key).unwrap());
        // A tie on the whole key is left to the sort.
        assert!(!in_key_order(&df(&["A", "A"], &[1, 1]), &key).unwrap());
    }

    #[test]
    fn key_index_hashes_a_key_hash_by_its_first_64_bits() {
        use std::hash::BuildHasher;
        let k = key_hash("SO000000042-07");
        let want = u64::from(k[0]) | (u64::from(k[1]) << 32);
        let built = std::hash::BuildHasherDefault::<KeyHasher>::default();
        assert_eq!(built.hash_one(k), want);
        assert_ne!(built.hash_one(key_hash("SO000000042-08")), want);
    }

    #[test]
    fn a_spill_file_gives_back_every_column_type_and_only_live_rows() {
        // Plain encoding through polars-parquet's writer, read back by polars: text with
        // missing values, times, dates, money, flags and counts come back as they went.
        let frame = || -> DataFrame {
            let ts = Int64Chunked::new("at".into(), [Some(1_736_000_000_000_000), None, Some(0)])
                .into_datetime(TimeUnit::Microseconds, None);
            let day = Int32Chunked::new("day".into(), [Some(20_089), Some(0), None]).into_date();
            let money = Int128Chunked::new("amount".into(), [Some(11_800), None, Some(-5)])
                .into_decimal(18, 2)
                .unwrap();
            DataFrame::new(
                3,
                vec![
                    Column::new("id".into(), [Some("SO-1"), None, Some("订单-长一些的编号")]),
                    ts.into_column(),
                    day.into_column(),
                    money.into_column(),
                    Column::new("flag".into(), [Some(true), Some(false), None]),
                    Column::new("n".into(), [Some(-3i64), None, Some(7)]),
                ],
            )
            .unwrap()
        };
        let mut spilled = frame();
        spilled
            .with_column(Column::new(ROW_COLUMN.into(), [0u64, 1, 2]))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.parquet");
        write_spill(&mut spilled, &path).unwrap();
        let all = read_spill(&path, &[true, true, true]).unwrap();
        assert!(all.equals_missing(&frame()), "{all}");
        assert_eq!(all.schema(), frame().schema());
        let live = read_spill(&path, &[true, false, true]).unwrap();
        let want = frame()
            .filter(&BooleanChunked::from_slice(
                "k".into(),
                &[true, false, true],
            ))
            .unwrap();
        assert!(live.equals_missing(&want), "{live}");
    }

    #[test]
    fn lake_files_have_row_groups_small_enough_for_a_shard_to_skip() {
        // Handed in as pieces that do not fall on group boundaries, the rows still make
        // full groups of 65 536 and one of the rest, the same file as in one piece.
        let ids: Vec<String> = (0..150_000).map(|i| format!("SO{i:09}")).collect();
        let df = DataFrame::new(ids.len(), vec![Column::new("order_id".into(), ids)]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, cuts: &[usize]| {
            let path = dir.path().join(name);
            let mut f = LakeFile::create(&path, df.schema(), "UTC", "t").unwrap();
            let mut from = 0;
            for &to in cuts.iter().chain([&df.height()]) {
                f.push(df.slice(from as i64, to - from)).unwrap();
                from = to;
            }
            assert_eq!(f.finish().unwrap(), 150_000);
            path
        };
        let whole = write("whole.parquet", &[]);
        let pieces = write("pieces.parquet", &[1, 40_000, 70_000, 70_001, 140_000]);
        let mut reader = ParquetReader::new(fs::File::open(&pieces).unwrap());
        let md = reader.get_metadata().unwrap();
        let rows: Vec<usize> = md.row_groups.iter().map(|g| g.num_rows()).collect();
        assert_eq!(rows, vec![65_536, 65_536, 18_928]);
        assert_eq!(fs::read(&whole).unwrap(), fs::read(&pieces).unwrap());
        let back = ParquetReader::new(fs::File::open(&pieces).unwrap())
            .finish()
            .unwrap();
        assert!(back.equals(&df));
    }
}
