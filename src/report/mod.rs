//! Report stage: the files people open. The HTML report for managers (one
//! self-contained file: inline CSS and SVG charts, no network), the printable
//! rectification notices per department, and the spreadsheets (HR bonus feed and the
//! violations register, written with rust_xlsxwriter; every text cell is text, so a
//! value starting with `=`, `+`, `-` or `@` can never run as a formula).
//!
//! Input is the typed result of the earlier stages for one period ([`ReportInput`]);
//! [`model`] turns it into the tables the report shows, [`html`] fills the templates of
//! `reports/`, [`charts`] draws with plotters. Staff appear by id only and customers
//! not at all: the report holds codes, counts, rates and ids.

pub mod charts;
pub mod html;
pub mod model;
pub mod xlsx;

use std::path::{Path, PathBuf};

use chrono::NaiveDateTime;

use crate::assess::Scorecard;
use crate::lake::manifest::Manifest;
use crate::metrics::{MetricRow, Period};
use crate::policy::Policy;
use crate::rules::Audit;

/// Language of the report and notices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    pub fn key(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// One changed figure of an amendment against the published version it amends.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub scope_kind: String,
    pub scope: String,
    pub department: String,
    pub field: String,
    pub before: String,
    pub after: String,
}

/// What a report is drawn from: one period's results of the earlier stages.
pub struct ReportInput<'a> {
    pub lang: Lang,
    pub period: Period,
    pub as_of: NaiveDateTime,
    /// The version these outputs are (1, or the amendment's number).
    pub version: u32,
    pub policy: &'a Policy,
    /// This period's metric rows.
    pub metrics: &'a [MetricRow],
    /// Monthly metric rows of this and earlier months (for the 12-month trends).
    pub history: &'a [MetricRow],
    pub audit: &'a Audit,
    pub cards: &'a [Scorecard],
    /// Monthly scorecards of the year (the annual report sets them beside the year's).
    pub monthly_cards: &'a [Scorecard],
    pub manifest: &'a Manifest,
    /// For an amendment: the version it amends and what changed.
    pub amendment: Option<(u32, &'a [Change])>,
}

/// Writes `report.html`, `notices/<department>.html` (months only: notices are issued
/// per month) and, with a CJK font installed, `charts/*.png` into `out`.
pub fn render(input: &ReportInput, out: &Path) -> crate::error::Result<Vec<PathBuf>> {
    let model = model::build(input)?;
    html::write(&model, input, out)
}
