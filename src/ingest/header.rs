//! Header recognition: binds the header row of an export to a table of the contract and
//! each header to one of its columns — by canonical English name, by Chinese label
//! (traditional or simplified), or through the user's header-mapping file. Headers the
//! contract does not know are ignored and reported; optional columns the file lacks are
//! recorded, because checks that need them are skipped later.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::contract::{self, Table, TABLES};
use super::parse::normalize;
use crate::error::{Error, IoContext, Result};

/// A user-written header mapping: `[any]` applies to every table, `[<table>]` to one.
#[derive(Debug, Default, Clone)]
pub struct HeaderMapping {
    /// table name ("any" for all) → normalised header → canonical column.
    map: BTreeMap<String, BTreeMap<String, String>>,
}

impl HeaderMapping {
    pub fn load(path: &Path) -> Result<HeaderMapping> {
        let text = std::fs::read_to_string(path).at(path)?;
        Self::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<HeaderMapping> {
        let cfg = |key: String, why: String| Error::Config {
            path: PathBuf::from(path),
            key,
            why,
        };
        let raw: BTreeMap<String, BTreeMap<String, String>> =
            toml::from_str(text).map_err(|e| cfg("(file)".into(), e.message().to_string()))?;
        let mut map = BTreeMap::new();
        for (table, entries) in raw {
            let t = if table == "any" {
                None
            } else {
                Some(contract::table(&table).ok_or_else(|| {
                    cfg(
                        format!("[{table}]"),
                        "not a table of the data contract (or \"any\")".into(),
                    )
                })?)
            };
            let mut m = BTreeMap::new();
            for (header, column) in entries {
                let known = match t {
                    Some(t) => t.column(&column).is_some(),
                    None => TABLES.iter().any(|t| t.column(&column).is_some()),
                };
                if !known {
                    return Err(cfg(
                        format!("[{table}] {header:?}"),
                        format!(
                            "{column:?} is not a column of {}",
                            t.map_or("any table", |t| t.name)
                        ),
                    ));
                }
                m.insert(header_key(&header), column);
            }
            map.insert(t.map_or("any".to_string(), |t| t.name.to_string()), m);
        }
        Ok(HeaderMapping { map })
    }

    fn lookup(&self, table: &str, header: &str) -> Option<&str> {
        let h = header_key(header);
        self.map
            .get(table)
            .and_then(|m| m.get(&h))
            .or_else(|| self.map.get("any").and_then(|m| m.get(&h)))
            .map(String::as_str)
    }
}

/// The comparable form of a header: full-width folded, trimmed, BOM and a trailing
/// required-marker `*` removed, ASCII lower-cased, spaces and dashes as underscores.
fn header_key(h: &str) -> String {
    normalize(h.trim_start_matches('\u{FEFF}'))
        .trim_end_matches('*')
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// A header row bound to a table.
#[derive(Debug)]
pub struct Binding {
    pub table: &'static Table,
    /// For each input field, the index of the contract column it fills.
    pub field_column: Vec<Option<usize>>,
    /// Optional columns of the table that the file does not have at all.
    pub absent: Vec<&'static str>,
    /// Headers that matched no column (kept out of the lake).
    pub ignored: Vec<String>,
}

/// Binds to one table; on failure returns how many headers matched and why it failed.
fn bind_to(
    t: &'static Table,
    headers: &[String],
    mapping: &HeaderMapping,
) -> Result<Binding, (usize, String)> {
    let mut field_column = Vec::with_capacity(headers.len());
    let mut ignored = Vec::new();
    let mut seen: Vec<Option<usize>> = vec![None; t.columns.len()];
    for (i, h) in headers.iter().enumerate() {
        let key = header_key(h);
        let label = normalize(h.trim_start_matches('\u{FEFF}'));
        let label = label.trim_end_matches('*').trim();
        let col = mapping
            .lookup(t.name, h)
            .and_then(|c| t.column_index(c))
            .or_else(|| {
                t.columns
                    .iter()
                    .position(|c| c.name == key || c.labels.contains(&label))
            });
        if let Some(c) = col {
            if let Some(prev) = seen[c] {
                return Err((
                    usize::MAX,
                    format!(
                        "headers {:?} and {:?} both name column {}",
                        headers[prev], h, t.columns[c].name
                    ),
                ));
            }
            seen[c] = Some(i);
        } else if !h.trim().is_empty() {
            ignored.push(h.clone());
        }
        field_column.push(col);
    }
    let missing: Vec<&str> = t
        .columns
        .iter()
        .zip(&seen)
        .filter(|(c, s)| c.required && s.is_none())
        .map(|(c, _)| c.name)
        .collect();
    if !missing.is_empty() {
        let matched = seen.iter().filter(|s| s.is_some()).count();
        return Err((
            matched,
            format!("missing required columns {}", missing.join(", ")),
        ));
    }
    let absent = t
        .columns
        .iter()
        .zip(&seen)
        .filter(|(_, s)| s.is_none())
        .map(|(c, _)| c.name)
        .collect();
    Ok(Binding {
        table: t,
        field_column,
        absent,
        ignored,
    })
}

/// Binds `headers` to the named table, or to the one table whose required columns are
/// all present and which matches the most headers.
pub fn bind(
    path: &Path,
    headers: &[String],
    forced: Option<&'static Table>,
    mapping: &HeaderMapping,
) -> Result<Binding> {
    let err = |why: String| Error::UnknownTable {
        path: path.to_path_buf(),
        why,
    };
    if let Some(t) = forced {
        return bind_to(t, headers, mapping)
            .map_err(|(_, w)| err(format!("as table {}: {w}", t.name)));
    }
    let mut fits: Vec<Binding> = Vec::new();
    let mut best_miss: Option<(usize, &str, String)> = None;
    for t in TABLES {
        match bind_to(t, headers, mapping) {
            Ok(b) => fits.push(b),
            Err((matched, why)) => {
                if best_miss.as_ref().is_none_or(|(m, _, _)| matched > *m) {
                    best_miss = Some((matched, t.name, why));
                }
            }
        }
    }
    let score = |b: &Binding| b.field_column.iter().filter(|c| c.is_some()).count();
    fits.sort_by_key(|b| std::cmp::Reverse(score(b)));
    match fits.len() {
        0 => Err(err(match best_miss {
            Some((m, t, why)) if m > 0 => {
                format!("the header matches no table of the data contract (closest: {t}, {why}); name it with --table or map the headers with --mapping")
            }
            _ => "the header matches no table of the data contract; name it with --table or map the headers with --mapping".into(),
        })),
        1 => Ok(fits.remove(0)),
        _ if score(&fits[0]) > score(&fits[1]) => Ok(fits.remove(0)),
        _ => Err(err(format!(
            "the header fits tables {} and {} equally; name one with --table",
            fits[0].table.name, fits[1].table.name
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hs(s: &str) -> Vec<String> {
        s.split(',').map(str::to_string).collect()
    }

    #[test]
    fn recognises_english_traditional_and_simplified_headers() {
        let m = HeaderMapping::default();
        let p = Path::new("f.csv");
        let b = bind(
            p,
            &hs("order_id,line_no,sku,product_name,quantity"),
            None,
            &m,
        )
        .unwrap();
        assert_eq!(b.table.name, "order_lines");
        assert_eq!(b.absent, vec!["spec", "unit_price"]);
        let b = bind(
            p,
            &hs("\u{FEFF}訂單編號,簽訂時間,客戶編號,銷售代表,交貨時間,訂單金額,備用"),
            None,
            &m,
        )
        .unwrap();
        assert_eq!(b.table.name, "orders");
        assert_eq!(b.ignored, vec!["備用"]);
        let b = bind(
            p,
            &hs("发货单号,订单编号,承运商,发货时间,验收时间"),
            None,
            &m,
        )
        .unwrap();
        assert_eq!(b.table.name, "shipments");
        assert_eq!(
            b.field_column[4],
            b.table.column_index("acceptance_signed_at")
        );
        let e = bind(p, &hs("foo,bar"), None, &m).unwrap_err().to_string();
        assert!(e.contains("matches no table"), "{e}");
    }

    #[test]
    fn mapping_file_maps_other_names_and_is_validated() {
        let p = Path::new("map.toml");
        let m = HeaderMapping::parse(
            "[any]\n\"Order No.\" = \"order_id\"\n[surveys]\nRating = \"score\"\n",
            p,
        )
        .unwrap();
        let b = bind(
            Path::new("s.csv"),
            &hs("survey_id,Order No.,responded_at,Rating"),
            None,
            &m,
        )
        .unwrap();
        assert_eq!(b.table.name, "surveys");
        let e = HeaderMapping::parse("[surveys]\nRating = \"stars\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"stars\" is not a column of surveys"), "{e}");
        let e = HeaderMapping::parse("[sales]\nx = \"y\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("[sales]"), "{e}");
    }
}
