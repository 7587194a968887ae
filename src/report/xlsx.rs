//! XLSX outputs: `bonus_feed.xlsx` (the same rows as `bonus_feed.csv`) and
//! `violations.xlsx` (one sheet per department: rule, clause, severity, order, person,
//! evidence, notice id, waived).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;
use polars::prelude::DataFrame;
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

use crate::assess::{breakdown, Scorecard, BONUS_FEED_COLUMNS};
use crate::error::{Error, Result};
use crate::frame::texts;

fn xlsx_err(path: &Path, e: rust_xlsxwriter::XlsxError) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// A workbook whose creation time is the run's as-of, not the clock: the same run
/// writes the same bytes, so a rerun that changes nothing is recognised as unchanged.
fn workbook(as_of: NaiveDateTime) -> Workbook {
    let mut wb = Workbook::new();
    let text = as_of.format("%Y-%m-%dT%H:%M:%S").to_string();
    // The as-of is always a valid date in 1900–9999 (Period::parse), so this holds.
    if let Ok(t) = ExcelDateTime::parse_from_str(&text) {
        wb.set_properties(&DocProperties::new().set_creation_datetime(&t));
    }
    wb
}

/// The bonus feed as XLSX: numbers as numbers, everything else as text.
pub fn bonus_feed(
    cards: &[Scorecard],
    version: &str,
    as_of: NaiveDateTime,
    path: &Path,
) -> Result<PathBuf> {
    let err = |e| xlsx_err(path, e);
    let mut wb = workbook(as_of);
    let bold = Format::new().set_bold();
    let ws = wb.add_worksheet();
    ws.set_name("bonus_feed").map_err(err)?;
    for (c, h) in BONUS_FEED_COLUMNS.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
    }
    for (i, card) in cards.iter().enumerate() {
        let r = i as u32 + 1;
        let staff = card.staff_id();
        ws.write_string(r, 0, &card.period).map_err(err)?;
        ws.write_string(r, 1, card.scope_kind).map_err(err)?;
        ws.write_string(r, 2, staff).map_err(err)?;
        ws.write_string(r, 3, &card.department).map_err(err)?;
        for (c, v) in [(4u16, card.score), (5, card.coefficient), (6, card.base)] {
            if let Some(v) = v {
                ws.write_number(r, c, (v * 100.0).round() / 100.0)
                    .map_err(err)?;
            }
        }
        ws.write_number(r, 7, (card.deductions * 100.0).round() / 100.0)
            .map_err(err)?;
        ws.write_string(r, 8, breakdown(card)).map_err(err)?;
        ws.write_string(r, 9, version).map_err(err)?;
    }
    wb.save(path).map_err(err)?;
    Ok(path.to_path_buf())
}

/// The violations register: one sheet per department, rows in the audit's order.
pub fn violations_register(
    violations: &DataFrame,
    as_of: NaiveDateTime,
    path: &Path,
) -> Result<PathBuf> {
    let err = |e| xlsx_err(path, e);
    let cols = [
        "rule_id",
        "clause",
        "severity",
        "order_id",
        "entity_id",
        "staff_id",
        "at",
        "evidence",
        "notice_id",
        "waived",
        "waiver_reason",
    ];
    let dept = texts(violations, "department")?;
    let values: Vec<Vec<Option<String>>> = cols
        .iter()
        .map(|c| texts(violations, c))
        .collect::<Result<_>>()?;
    let mut by_dept: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, d) in dept.iter().enumerate() {
        by_dept
            .entry(d.clone().unwrap_or_default())
            .or_default()
            .push(i);
    }
    let mut wb = workbook(as_of);
    let bold = Format::new().set_bold();
    if by_dept.is_empty() {
        by_dept.insert("none".to_string(), Vec::new());
    }
    for (d, rows) in by_dept {
        // Rows go to disk as they are written (in order): a year at 10M orders has
        // half a million violations, which the in-memory worksheet held as cells.
        let ws = wb.add_worksheet_with_constant_memory().map_err(err)?;
        ws.set_name(&d).map_err(err)?;
        for (c, h) in cols.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
        }
        for (r, &i) in rows.iter().enumerate() {
            for (c, col) in values.iter().enumerate() {
                let v = col[i].as_deref().unwrap_or("");
                // Timestamps to the second, as in the CSV.
                let v = if cols[c] == "at" {
                    v.get(..19).unwrap_or(v)
                } else {
                    v
                };
                ws.write_string(r as u32 + 1, c as u16, v).map_err(err)?;
            }
        }
    }
    wb.save(path).map_err(err)?;
    Ok(path.to_path_buf())
}
