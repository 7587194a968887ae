//! Assessment stage (C10.2): the metrics and the audit's violations → department and
//! personal scorecards with the bonus coefficient, and the HR bonus feed.
//!
//! KPI score = 100 × min(1, rate / target). A KPI whose period had fewer than
//! `{min_sample}` items (or no figure at all) is left out and the other weights are
//! rescaled; when every KPI of a non-empty scorecard is left out, there is no score
//! ("insufficient sample") rather than a 0 or a 100. Violation deductions (waived ones
//! excluded) are capped and the score floored at 0; the coefficient is the first band
//! the score reaches. Annual scores come from the year's pooled rates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveDateTime};
use polars::prelude::DataFrame;

use crate::error::{Error, IoContext, Result};
use crate::frame::texts;
use crate::metrics::MetricRow;
use crate::policy::Policy;

/// One KPI line of a scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct KpiScore {
    pub kpi: String,
    pub target: f64,
    pub weight: f64,
    pub rate: Option<f64>,
    pub items: u64,
    pub score: Option<f64>,
    /// Whether it counts (false: insufficient sample or no figure).
    pub counted: bool,
}

/// Columns of the HR bonus feed (CSV and XLSX alike).
pub const BONUS_FEED_COLUMNS: [&str; 10] = [
    "period",
    "scope",
    "staff_id",
    "department",
    "score",
    "coefficient",
    "base",
    "deductions",
    "kpis",
    "report_version",
];

/// A department's or a person's scorecard for one period.
#[derive(Debug, Clone, PartialEq)]
pub struct Scorecard {
    pub period: String,
    pub scope_kind: &'static str,
    pub scope: String,
    pub department: String,
    pub kpis: Vec<KpiScore>,
    /// Weighted mean of the counted KPI scores (100 for a scorecard without KPIs).
    pub base: Option<f64>,
    pub deductions: f64,
    pub score: Option<f64>,
    pub coefficient: Option<f64>,
}

impl Scorecard {
    /// The person a personal scorecard is about; empty for a department's.
    pub fn staff_id(&self) -> &str {
        if self.scope_kind == "staff" {
            &self.scope
        } else {
            ""
        }
    }
}

/// Deduction points per violation period, scope (department or person) and severity.
struct Deductions {
    points: BTreeMap<(String, String), f64>,
}

impl Deductions {
    fn new(violations: &DataFrame, policy: &Policy, key: &str) -> Result<Deductions> {
        let (periods, scopes, severities, waived) = (
            texts(violations, "period")?,
            texts(violations, key)?,
            texts(violations, "severity")?,
            texts(violations, "waived")?,
        );
        let mut points = BTreeMap::new();
        for i in 0..violations.height() {
            if waived[i].as_deref() == Some("true") {
                continue;
            }
            let (Some(p), Some(s)) = (&periods[i], &scopes[i]) else {
                continue;
            };
            let d = match severities[i].as_deref() {
                Some("critical") => policy.deduct.critical,
                Some("major") => policy.deduct.major,
                _ => policy.deduct.minor,
            };
            *points.entry((p.clone(), s.clone())).or_insert(0.0) += d;
        }
        Ok(Deductions { points })
    }

    /// Points for `scope` in `period` (a month, or a year: all its months), capped.
    fn of(&self, period: &str, scope: &str, cap: f64) -> f64 {
        let raw: f64 = self
            .points
            .iter()
            .filter(|((p, s), _)| s == scope && crate::metrics::Period::label_covers(period, p))
            .map(|(_, v)| v)
            .sum();
        // `+ 0.0` turns the -0.0 an empty f64 sum gives into 0.0.
        raw.min(cap) + 0.0
    }
}

fn band(policy: &Policy, score: f64) -> f64 {
    policy
        .bands
        .iter()
        .find(|b| score >= b.min)
        .map_or(0.0, |b| b.coefficient)
}

fn card(
    policy: &Policy,
    period: &str,
    scope_kind: &'static str,
    scope: &str,
    department: &str,
    rows: &BTreeMap<(String, String, String, String), &MetricRow>,
    deductions: f64,
) -> Scorecard {
    let items = policy
        .scorecards
        .get(department)
        .cloned()
        .unwrap_or_default();
    let kpis: Vec<KpiScore> = items
        .iter()
        .map(|it| {
            let row = rows.get(&(
                period.to_string(),
                scope_kind.to_string(),
                scope.to_string(),
                it.kpi.clone(),
            ));
            let rate = row.and_then(|r| r.rate);
            let counted = row.is_some_and(|r| r.sample_ok) && rate.is_some();
            KpiScore {
                kpi: it.kpi.clone(),
                target: it.target,
                weight: it.weight,
                rate,
                items: row.map_or(0, |r| r.items),
                score: rate.map(|r| 100.0 * (r / it.target).min(1.0)),
                counted,
            }
        })
        .collect();
    let counted: Vec<&KpiScore> = kpis.iter().filter(|k| k.counted).collect();
    let base = if kpis.is_empty() {
        Some(100.0)
    } else if counted.is_empty() {
        None
    } else {
        let w: f64 = counted.iter().map(|k| k.weight).sum();
        Some(
            counted
                .iter()
                .map(|k| k.weight * k.score.unwrap_or(0.0))
                .sum::<f64>()
                / w,
        )
    };
    let score = base.map(|b| (b - deductions).max(0.0));
    Scorecard {
        period: period.to_string(),
        scope_kind,
        scope: scope.to_string(),
        department: department.to_string(),
        kpis,
        base,
        deductions,
        score,
        coefficient: score.map(|s| band(policy, s)),
    }
}

/// The department of a person on a day, from the lake's staff table (latest stint wins).
pub type DepartmentOf<'a> = dyn Fn(&str, NaiveDate) -> Option<String> + 'a;

/// The staff table's stints as a look-up: the stint covering the day with the latest
/// start (the spec's "department of a person on a date"); an id not in staff belongs to
/// no department.
pub fn department_lookup(lake: &crate::lake::Lake) -> Result<Box<DepartmentOf<'static>>> {
    let staff_t = crate::ingest::contract::table("staff").expect("the contract has a staff table");
    let staff = lake.read_table(staff_t)?;
    let date = crate::frame::date_of;
    let (ids, depts, froms, tos) = (
        texts(&staff, "staff_id")?,
        texts(&staff, "department")?,
        texts(&staff, "valid_from")?,
        texts(&staff, "valid_to")?,
    );
    // (valid_from, valid_to, department) per person.
    type Stint = (Option<NaiveDate>, Option<NaiveDate>, String);
    let mut stints: std::collections::HashMap<String, Vec<Stint>> = Default::default();
    for i in 0..staff.height() {
        if let (Some(id), Some(d)) = (&ids[i], &depts[i]) {
            stints
                .entry(id.clone())
                .or_default()
                .push((date(&froms[i]), date(&tos[i]), d.clone()));
        }
    }
    Ok(Box::new(move |id: &str, day: NaiveDate| {
        stints
            .get(id)?
            .iter()
            .filter(|(f, t, _)| f.is_none_or(|f| f <= day) && t.is_none_or(|t| day <= t))
            .max_by_key(|(f, _, _)| *f)
            .map(|(_, _, d)| d.clone())
    }))
}

/// Department and personal scorecards for every period the metrics have.
pub fn scorecards(
    metrics: &[MetricRow],
    violations: &DataFrame,
    policy: &Policy,
    department_of: &DepartmentOf,
) -> Result<Vec<Scorecard>> {
    let rows: BTreeMap<(String, String, String, String), &MetricRow> = metrics
        .iter()
        .map(|r| {
            (
                (
                    r.period.clone(),
                    r.scope_kind.clone(),
                    r.scope.clone(),
                    r.kpi.clone(),
                ),
                r,
            )
        })
        .collect();
    let mut periods: Vec<String> = metrics.iter().map(|r| r.period.clone()).collect();
    periods.sort();
    periods.dedup();
    let by_dept = Deductions::new(violations, policy, "department")?;
    let by_person = Deductions::new(violations, policy, "staff_id")?;
    let people: std::collections::BTreeSet<String> = metrics
        .iter()
        .filter(|r| r.scope_kind == "staff")
        .map(|r| r.scope.clone())
        .chain(by_person.points.keys().map(|(_, s)| s.clone()))
        .collect();
    let mut out = Vec::new();
    for period in &periods {
        for dept in policy.scorecards.keys() {
            let d = by_dept.of(period, dept, policy.max_deduction);
            out.push(card(policy, period, "department", dept, dept, &rows, d));
        }
        let last_day = last_day_of(period);
        for person in &people {
            let Some(dept) = last_day.and_then(|day| department_of(person, day)) else {
                continue;
            };
            let d = by_person.of(period, person, policy.max_deduction);
            out.push(card(policy, period, "staff", person, &dept, &rows, d));
        }
    }
    Ok(out)
}

/// The last day of `2025-05` or `2025`.
fn last_day_of(period: &str) -> Option<NaiveDate> {
    let next = match period.split_once('-') {
        Some((y, m)) => {
            let (y, m): (i32, u32) = (y.parse().ok()?, m.parse().ok()?);
            if m == 12 {
                NaiveDate::from_ymd_opt(y + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(y, m + 1, 1)
            }
        }
        None => NaiveDate::from_ymd_opt(period.parse::<i32>().ok()? + 1, 1, 1),
    }?;
    next.pred_opt()
}

/// Neutralises a CSV cell a spreadsheet would run as a formula.
pub fn safe_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn fmt2(v: Option<f64>) -> String {
    v.map(|x| format!("{x:.2}")).unwrap_or_default()
}

/// The KPI breakdown of a scorecard as one readable cell.
pub fn breakdown(c: &Scorecard) -> String {
    c.kpis
        .iter()
        .map(|k| match (k.counted, k.score) {
            (true, Some(s)) => format!(
                "{} {:.2} (rate {:.4}, target {}, weight {})",
                k.kpi,
                s,
                k.rate.unwrap_or(0.0),
                k.target,
                k.weight
            ),
            _ => format!("{} insufficient sample ({} items)", k.kpi, k.items),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The report version HR sees in the feed: the output version (1, or an amendment's
/// number), the as-of and the policy, so a feed row names exactly what produced it.
pub fn version_label(version: u32, as_of: NaiveDateTime, policy: &Policy) -> String {
    format!(
        "v{version} as-of {} policy {}",
        as_of.format("%Y-%m-%d %H:%M:%S"),
        policy.fingerprint
    )
}

/// An annual scorecard with the year's twelve monthly scores beside it.
#[derive(Debug, Clone, PartialEq)]
pub struct AnnualScore<'a> {
    pub card: &'a Scorecard,
    /// January … December; `None` for a month without a score.
    pub months: Vec<Option<f64>>,
}

/// Pairs each annual scorecard (`period` = the year) with the same scope's monthly
/// scores of that year.
pub fn annual<'a>(cards: &'a [Scorecard], monthly: &[Scorecard]) -> Vec<AnnualScore<'a>> {
    cards
        .iter()
        .filter(|c| !c.period.contains('-'))
        .map(|c| AnnualScore {
            card: c,
            months: (1..=12)
                .map(|m| {
                    let p = format!("{}-{m:02}", c.period);
                    monthly
                        .iter()
                        .find(|x| {
                            x.period == p && x.scope_kind == c.scope_kind && x.scope == c.scope
                        })
                        .and_then(|x| x.score)
                })
                .collect(),
        })
        .collect()
}

/// The feed's first six cells (who and the result), shared by the feed and the annual
/// table.
fn feed_head(c: &Scorecard) -> Vec<String> {
    vec![
        safe_cell(&c.period),
        c.scope_kind.to_string(),
        safe_cell(c.staff_id()),
        safe_cell(&c.department),
        fmt2(c.score),
        fmt2(c.coefficient),
    ]
}

/// Writes `annual_scorecards.csv`: each annual score and coefficient with the twelve
/// monthly scores beside it (`m01` … `m12`, empty for a month without a score).
pub fn write_annual(rows: &[AnnualScore], out: &Path) -> Result<PathBuf> {
    let path = out.join("annual_scorecards.csv");
    // The feed's identifying and result columns, then the months.
    let mut header: Vec<String> = BONUS_FEED_COLUMNS[..6]
        .iter()
        .map(|s| s.to_string())
        .collect();
    header.extend((1..=12).map(|m| format!("m{m:02}")));
    let records = rows.iter().map(|r| {
        let mut rec = feed_head(r.card);
        rec.extend(r.months.iter().map(|s| fmt2(*s)));
        rec
    });
    write_csv(&path, true, &header, records)?;
    Ok(path)
}

/// Writes a CSV file (header, then rows), with a UTF-8 BOM when `bom` so Excel shows
/// Chinese. Built in memory and written once: the outputs are small.
pub fn write_csv<H: AsRef<[u8]>>(
    path: &Path,
    bom: bool,
    header: &[H],
    rows: impl IntoIterator<Item = Vec<String>>,
) -> Result<()> {
    let io = |e: csv::Error| Error::Io {
        path: path.to_path_buf(),
        source: e.into(),
    };
    let mut buf: Vec<u8> = Vec::new();
    if bom {
        buf.extend_from_slice("\u{FEFF}".as_bytes());
    }
    {
        let mut w = csv::Writer::from_writer(&mut buf);
        w.write_record(header).map_err(io)?;
        for r in rows {
            w.write_record(&r).map_err(io)?;
        }
        w.flush().at(path)?;
    }
    std::fs::write(path, buf).at(path)
}

/// Writes `scorecards.csv` and the HR feed `bonus_feed.csv` (UTF-8 with BOM so Excel
/// shows Chinese; formula-like cells neutralised) into `out`. No customer data.
/// `version` is [`version_label`]'s.
pub fn write(
    cards: &[Scorecard],
    version: &str,
    as_of: NaiveDateTime,
    out: &Path,
) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).at(out)?;
    let version = version.to_string();
    let mut written = Vec::new();
    for (name, bom) in [("scorecards.csv", false), ("bonus_feed.csv", true)] {
        let path = out.join(name);
        let rows = cards.iter().map(|c| {
            let mut rec = feed_head(c);
            rec.extend([
                fmt2(c.base),
                format!("{:.2}", c.deductions),
                safe_cell(&breakdown(c)),
                version.clone(),
            ]);
            rec
        });
        write_csv(&path, bom, &BONUS_FEED_COLUMNS, rows)?;
        written.push(path);
    }
    written.push(crate::report::xlsx::bonus_feed(
        cards,
        &version,
        as_of,
        &out.join("bonus_feed.xlsx"),
    )?);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_cells_are_neutralised_and_last_days_found() {
        assert_eq!(safe_cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(safe_cell("@SUM(1)"), "'@SUM(1)");
        assert_eq!(safe_cell("S01"), "S01");
        assert_eq!(last_day_of("2025-02"), NaiveDate::from_ymd_opt(2025, 2, 28));
        assert_eq!(
            last_day_of("2025-12"),
            NaiveDate::from_ymd_opt(2025, 12, 31)
        );
        assert_eq!(last_day_of("2025"), NaiveDate::from_ymd_opt(2025, 12, 31));
    }

    #[test]
    fn bands_follow_the_policy() {
        let p = Policy::default();
        assert_eq!(band(&p, 95.0), 1.2);
        assert_eq!(band(&p, 94.99), 1.0);
        assert_eq!(band(&p, 70.0), 0.8);
        assert_eq!(band(&p, 12.0), 0.5);
    }
}
