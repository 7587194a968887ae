//! A sorted set of keys (order or shipment ids) tested against a column as a row filter.
//!
//! A month's audit keeps the rows of about a million orders out of a four-month window,
//! and each shard keeps the shipment lines of its shipments. As a join, every row was
//! hashed and probed, and every kept column gathered; polars' `is_in` in the scan was
//! five times slower still (measured, not explained). Here the set is built once,
//! sorted, and a column is tested by walking it beside the set: the lake's files are
//! sorted by key, so a row usually finds its id a step or two after the previous row's.
//! Rows out of order still get the right answer, by a galloping search
//! (docs/performance.md, "eighth pass").

use std::sync::Arc;

use polars::prelude::*;

/// Distinct keys in byte order, stored end to end so a search touches little memory.
#[derive(Debug, Default)]
pub struct KeySet {
    bytes: Vec<u8>,
    /// `ends[i]` is where key `i` ends in `bytes`; it starts where key `i - 1` ends.
    ends: Vec<usize>,
}

impl KeySet {
    /// The set of the non-null `keys`, in any order, with repeats.
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> KeySet {
        let mut sorted: Vec<&str> = keys.into_iter().collect();
        sorted.sort_unstable();
        sorted.dedup();
        let mut set = KeySet {
            bytes: Vec::with_capacity(sorted.iter().map(|k| k.len()).sum()),
            ends: Vec::with_capacity(sorted.len()),
        };
        for k in sorted {
            set.bytes.extend_from_slice(k.as_bytes());
            set.ends.push(set.bytes.len());
        }
        set
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// The smallest and largest key.
    pub fn range(&self) -> Option<(&str, &str)> {
        let last = self.len().checked_sub(1)?;
        // Built from `&str`s, and each key is cut at its own bounds.
        let text = |b| std::str::from_utf8(b).expect("keys are UTF-8");
        Some((text(self.get(0)), text(self.get(last))))
    }

    /// The first position at or after `from` whose key is not below `key`: a gallop
    /// from `from` (one or two steps when keys come in order), then a binary search
    /// within the last stride.
    fn seek(&self, from: usize, key: &[u8]) -> usize {
        let n = self.len();
        if from >= n || self.get(from) >= key {
            return from;
        }
        // Invariant: the key at `lo` is below `key`.
        let mut lo = from;
        let mut step = 1;
        let hi = loop {
            let probe = lo + step;
            if probe >= n {
                break n;
            }
            if self.get(probe) >= key {
                break probe;
            }
            lo = probe;
            step *= 2;
        };
        self.first_not_below(lo + 1, hi, key)
    }

    /// The first position in `lo..hi` whose key is not below `key` (`hi` if none).
    fn first_not_below(&self, mut lo: usize, mut hi: usize, key: &[u8]) -> usize {
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid) < key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// For each value of `column`: whether it is in the set; a null is `null_in`.
    pub fn mask(&self, column: &StringChunked, null_in: bool) -> BooleanChunked {
        let mut at = 0;
        let mut previous: Option<&[u8]> = None;
        let values = column.iter().map(|v| match v {
            None => null_in,
            Some(v) => {
                let v = v.as_bytes();
                // A value below the previous one restarts the walk from the set's start.
                if previous.is_some_and(|p| v < p) {
                    at = 0;
                }
                previous = Some(v);
                at = self.seek(at, v);
                at < self.len() && self.get(at) == v
            }
        });
        BooleanChunked::from_iter_values(column.name().clone(), values)
    }
}

/// A filter expression: the rows whose `key` is in `set` (or is null, with `null_in`).
pub fn kept_by(key: &str, set: Arc<KeySet>, null_in: bool) -> Expr {
    col(key).map(
        move |c| {
            let mask = set.mask(c.str()?, null_in);
            Ok(mask.with_name(c.name().clone()).into_column())
        },
        |_, f| Ok(Field::new(f.name().clone(), DataType::Boolean)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn bools(mask: BooleanChunked) -> Vec<bool> {
        mask.iter()
            .map(|b| b.expect("a mask has no nulls"))
            .collect()
    }

    fn column(values: &[Option<&str>]) -> StringChunked {
        StringChunked::from_iter_options("k".into(), values.iter().copied())
    }

    #[test]
    fn sorted_and_unsorted_rows_and_nulls() {
        let set = KeySet::new(["b", "d", "d", "f", "a"]);
        assert_eq!(set.len(), 4);
        assert_eq!(set.range(), Some(("a", "f")));
        let rows = column(&[
            Some("a"),
            Some("a"),
            Some("c"),
            Some("d"),
            None,
            Some("b"),
            Some("g"),
            Some(""),
            Some("f"),
        ]);
        let got = bools(set.mask(&rows, true));
        assert_eq!(
            got,
            [true, true, false, true, true, true, false, false, true]
        );
        let nulls_out = bools(set.mask(&rows, false));
        assert!(!nulls_out[4]);
    }

    #[test]
    fn an_empty_set_keeps_only_nulls_asked_for() {
        let set = KeySet::new([]);
        assert_eq!(set.range(), None);
        let got = bools(set.mask(&column(&[Some("a"), None]), true));
        assert_eq!(got, [false, true]);
    }

    proptest! {
        /// The walk agrees with a plain set lookup, whatever the rows' order.
        #[test]
        fn agrees_with_a_set(
            keys in proptest::collection::vec("[a-d]{0,3}", 0..40),
            rows in proptest::collection::vec(proptest::option::of("[a-d]{0,3}"), 0..80),
            sort_rows: bool,
        ) {
            let mut rows = rows;
            if sort_rows {
                rows.sort();
            }
            let set = KeySet::new(keys.iter().map(String::as_str));
            let plain: std::collections::HashSet<&str> = keys.iter().map(String::as_str).collect();
            let col = StringChunked::from_iter_options("k".into(), rows.iter().map(|r| r.as_deref()));
            let got = bools(set.mask(&col, false));
            let want: Vec<bool> = rows.iter().map(|r| r.as_deref().is_some_and(|r| plain.contains(r))).collect();
            prop_assert_eq!(got, want);
        }
    }
}
