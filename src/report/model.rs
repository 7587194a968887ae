//! The report's content as plain tables: built from one period's typed results, shown
//! by the templates and snapshot-tested. Every figure here comes from the metrics, the
//! audit, the scorecards or the lake manifest — nothing is computed that those outputs
//! do not already hold, so each cell traces back to a row of `metrics.csv`,
//! `violations.csv`, `rule_pass_rates.csv`, `notices.csv` or `scorecards.csv`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::charts::{Chart, Line};
use super::ReportInput;
use crate::error::Result;
use crate::frame::texts;
use crate::metrics::{MetricRow, Period};

/// A KPI of a department's scorecard with its traffic light.
#[derive(Debug, Clone, Serialize)]
pub struct KpiLight {
    pub kpi: String,
    pub rate: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub target: f64,
    pub weight: f64,
    pub items: u64,
    pub score: Option<f64>,
    pub counted: bool,
    /// `green`, `amber`, `red` or `grey` (see [`light`]).
    pub light: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeptHeadline {
    pub department: String,
    pub score: Option<f64>,
    pub coefficient: Option<f64>,
    pub base: Option<f64>,
    pub deductions: f64,
    pub kpis: Vec<KpiLight>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParetoRow {
    pub key: String,
    pub violations: u64,
    pub waived: u64,
    /// Cumulative share of the unwaived violations up to this row.
    pub cumulative: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RuleRate {
    pub rule_id: String,
    pub clause: String,
    pub severity: String,
    pub description: String,
    pub checked: u64,
    pub passed: u64,
    pub rate: Option<f64>,
}

/// A notice (the ledger's latest version) with its re-check at as-of.
#[derive(Debug, Clone, Serialize)]
pub struct NoticeRow {
    #[serde(flatten)]
    pub notice: crate::rules::notices::Notice,
    pub status: String,
    pub rectified_at: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PersonRow {
    pub staff_id: String,
    pub department: String,
    pub score: Option<f64>,
    pub coefficient: Option<f64>,
    pub deductions: f64,
}

/// An annual scorecard with the twelve monthly scores beside it.
#[derive(Debug, Clone, Serialize)]
pub struct AnnualRow {
    pub scope_kind: String,
    pub scope: String,
    pub department: String,
    pub score: Option<f64>,
    pub coefficient: Option<f64>,
    /// January … December; `None` for a month without a score.
    pub months: Vec<Option<f64>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceRow {
    pub path: String,
    pub table: String,
    pub format: String,
    pub read: u64,
    pub stored: u64,
    pub quarantined: u64,
    pub replaced: u64,
    pub balanced: bool,
    pub sha256: String,
    pub txn: u64,
}

/// A violation as a notice attaches it (ids and the evidence text only).
#[derive(Debug, Clone, Serialize)]
pub struct AttachedViolation {
    pub rule_id: String,
    pub clause: String,
    pub severity: String,
    pub order_id: String,
    pub entity_id: String,
    pub staff_id: String,
    pub at: String,
    pub evidence: String,
    pub waived: bool,
}

/// A department's printable notice for the period: its notices and their violations.
#[derive(Debug, Clone, Serialize)]
pub struct DeptNotice {
    pub department: String,
    pub notices: Vec<NoticeRow>,
    pub violations: BTreeMap<String, Vec<AttachedViolation>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ChartSpec {
    pub id: String,
    /// Key of the title in the labels (`trends`, `pareto_by_rule`, …) or a KPI code.
    pub title: String,
    #[serde(skip)]
    pub chart: Chart,
}

#[derive(Debug, Clone, Serialize)]
pub struct Model {
    pub period: String,
    pub is_year: bool,
    pub as_of: String,
    pub version: u32,
    pub policy_fingerprint: String,
    pub policy_toml: String,
    pub lake_txn: u64,
    pub headline: Vec<DeptHeadline>,
    pub company: Vec<MetricRow>,
    pub trend_months: Vec<String>,
    pub pareto_by_rule: Vec<ParetoRow>,
    pub pareto_by_dept: Vec<ParetoRow>,
    pub conformance: Vec<RuleRate>,
    pub heat_cols: Vec<String>,
    pub notices_issued: Vec<NoticeRow>,
    pub notices_recheck: Vec<NoticeRow>,
    pub people: Vec<PersonRow>,
    pub annual: Vec<AnnualRow>,
    pub sources: Vec<SourceRow>,
    pub quarantine: Vec<(String, u64)>,
    pub dept_notices: Vec<DeptNotice>,
    pub amended_version: Option<u32>,
    pub changes: Vec<super::Change>,
    /// Each rule's description in the report's language (for the notices).
    pub rule_text: BTreeMap<String, String>,
    pub charts: Vec<ChartSpec>,
}

/// The traffic light of a KPI: `grey` when it is not scored (insufficient sample or no
/// figure); `green` at or above target; `amber` below target but with the target
/// inside the Wilson interval (the shortfall may be chance); `red` when even the
/// interval's upper bound is below target.
pub fn light(rate: Option<f64>, ci_high: Option<f64>, target: f64, counted: bool) -> &'static str {
    match rate {
        Some(r) if counted => {
            if r >= target {
                "green"
            } else if ci_high.is_some_and(|h| h >= target) {
                "amber"
            } else {
                "red"
            }
        }
        _ => "grey",
    }
}

/// The months a period's trend shows: the 12 ending with its last month.
fn trend_window(period: Period) -> Vec<String> {
    let (y, m) = match period {
        Period::Month(y, m) => (y, m),
        Period::Year(y) => (y, 12),
    };
    (0..12)
        .rev()
        .map(|back| {
            let idx = y * 12 + (m as i32 - 1) - back;
            format!("{}-{:02}", idx.div_euclid(12), idx.rem_euclid(12) + 1)
        })
        .collect()
}

pub fn build(input: &ReportInput) -> Result<Model> {
    let label = input.period.label();
    let is_year = matches!(input.period, Period::Year(_));
    let policy = input.policy;
    let metric = |scope_kind: &str, scope: &str, kpi: &str| -> Option<&MetricRow> {
        input
            .metrics
            .iter()
            .find(|r| r.scope_kind == scope_kind && r.scope == scope && r.kpi == kpi)
    };

    // Departments in the regulation's order (sales first), not alphabetically.
    let rank = |d: &str| {
        crate::ingest::contract::DEPARTMENTS
            .iter()
            .position(|(code, _)| *code == d)
            .unwrap_or(usize::MAX)
    };
    // A year's scorecards come with its months' (the year's metrics hold both); the
    // headline and the people are the period's own.
    let own: Vec<&crate::assess::Scorecard> =
        input.cards.iter().filter(|c| c.period == label).collect();
    let mut dept_cards: Vec<&crate::assess::Scorecard> = own
        .iter()
        .copied()
        .filter(|c| c.scope_kind == "department")
        .collect();
    dept_cards.sort_by_key(|c| (rank(&c.scope), c.scope.clone()));
    let headline: Vec<DeptHeadline> = dept_cards
        .into_iter()
        .map(|c| DeptHeadline {
            department: c.scope.clone(),
            score: c.score,
            coefficient: c.coefficient,
            base: c.base,
            deductions: c.deductions,
            kpis: c
                .kpis
                .iter()
                .map(|k| {
                    let m = metric("department", &c.scope, &k.kpi);
                    let ci_high = m.and_then(|m| m.ci_high);
                    KpiLight {
                        kpi: k.kpi.clone(),
                        rate: k.rate,
                        ci_low: m.and_then(|m| m.ci_low),
                        ci_high,
                        target: k.target,
                        weight: k.weight,
                        items: k.items,
                        score: k.score,
                        counted: k.counted,
                        light: light(k.rate, ci_high, k.target, k.counted),
                    }
                })
                .collect(),
        })
        .collect();

    const COMPANY_KPIS: [&str; 6] = ["K1", "K2", "K3", "K4", "K5", "K5_amount"];
    let company = COMPANY_KPIS
        .iter()
        .filter_map(|k| metric("company", "all", k))
        .cloned()
        .collect();

    // Trends: a chart per scorecard KPI, a line per department scored on it.
    let window = trend_window(input.period);
    let mut kpi_depts: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for (dept, items) in &policy.scorecards {
        for it in items {
            kpi_depts
                .entry(it.kpi.clone())
                .or_default()
                .push((dept.clone(), it.target));
        }
    }
    let monthly = |dept: &str, kpi: &str, month: &str| -> Option<&MetricRow> {
        input.history.iter().find(|r| {
            r.period == month && r.scope_kind == "department" && r.scope == dept && r.kpi == kpi
        })
    };
    // Months before the first with any figure are left off the axis.
    let first = window
        .iter()
        .position(|mo| input.history.iter().any(|r| &r.period == mo))
        .unwrap_or(window.len().saturating_sub(1));
    let trend_months: Vec<String> = window[first..].to_vec();
    let mut charts = Vec::new();
    for (kpi, depts) in &kpi_depts {
        let lines: Vec<Line> = depts
            .iter()
            .map(|(d, _)| Line {
                name: d.clone(),
                values: trend_months
                    .iter()
                    .map(|mo| monthly(d, kpi, mo).and_then(|r| r.rate))
                    .collect(),
                sample_ok: trend_months
                    .iter()
                    .map(|mo| monthly(d, kpi, mo).is_some_and(|r| r.sample_ok))
                    .collect(),
            })
            .collect();
        let mut targets: Vec<f64> = depts.iter().map(|(_, t)| *t).collect();
        targets.sort_by(f64::total_cmp);
        targets.dedup();
        charts.push(ChartSpec {
            id: format!("trend-{kpi}"),
            title: kpi.clone(),
            chart: Chart::Trend {
                months: trend_months.clone(),
                lines,
                targets,
            },
        });
    }

    // Pareto of this period's violations (waived ones shown, not counted).
    let v = &input.audit.violations;
    let (rules, depts, waived, periods) = (
        texts(v, "rule_id")?,
        texts(v, "department")?,
        texts(v, "waived")?,
        texts(v, "period")?,
    );
    let pareto = |keys: &[Option<String>]| -> Vec<ParetoRow> {
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for i in 0..keys.len() {
            if !periods[i]
                .as_deref()
                .is_some_and(|p| Period::label_covers(&label, p))
            {
                continue;
            }
            let e = counts
                .entry(keys[i].clone().unwrap_or_default())
                .or_default();
            if waived[i].as_deref() == Some("true") {
                e.1 += 1;
            } else {
                e.0 += 1;
            }
        }
        let mut rows: Vec<(String, u64, u64)> =
            counts.into_iter().map(|(k, (n, w))| (k, n, w)).collect();
        rows.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let total: u64 = rows.iter().map(|r| r.1).sum();
        let mut cum = 0;
        rows.into_iter()
            .map(|(key, n, w)| {
                cum += n;
                ParetoRow {
                    key,
                    violations: n,
                    waived: w,
                    cumulative: if total == 0 {
                        0.0
                    } else {
                        cum as f64 / total as f64
                    },
                }
            })
            .collect()
    };
    let pareto_by_rule = pareto(&rules);
    let pareto_by_dept = pareto(&depts);
    for (id, rows) in [
        ("pareto-rule", &pareto_by_rule),
        ("pareto-dept", &pareto_by_dept),
    ] {
        charts.push(ChartSpec {
            id: id.to_string(),
            title: if id == "pareto-rule" {
                "pareto_by_rule".into()
            } else {
                "pareto_by_dept".into()
            },
            chart: Chart::Pareto {
                labels: rows.iter().map(|r| r.key.clone()).collect(),
                counts: rows.iter().map(|r| r.violations as f64).collect(),
            },
        });
    }

    // Conformance per rule over the period, in catalogue order.
    let pr = &input.audit.pass_rates;
    let (pr_rule, pr_checked, pr_passed) = (
        texts(pr, "rule_id")?,
        texts(pr, "checked")?,
        texts(pr, "passed")?,
    );
    let mut sums: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for i in 0..pr.height() {
        let e = sums
            .entry(pr_rule[i].clone().unwrap_or_default())
            .or_default();
        e.0 += pr_checked[i]
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        e.1 += pr_passed[i]
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
    }
    let conformance: Vec<RuleRate> = crate::rules::catalogue()
        .iter()
        .filter_map(|q| {
            let id = q.get("id");
            let (checked, passed) = *sums.get(id)?;
            Some(RuleRate {
                rule_id: id.to_string(),
                clause: q.get("clause").to_string(),
                severity: q.get("severity").to_string(),
                description: match input.lang {
                    super::Lang::Zh => q.get("description_zh"),
                    super::Lang::En => q.get("description_en"),
                }
                .to_string(),
                checked,
                passed,
                rate: (checked > 0).then(|| passed as f64 / checked as f64),
            })
        })
        .collect();
    let scored: Vec<&RuleRate> = conformance.iter().filter(|r| r.rate.is_some()).collect();
    charts.push(ChartSpec {
        id: "conformance".into(),
        title: "conformance".into(),
        chart: Chart::Conformance {
            labels: scored.iter().map(|r| r.rule_id.clone()).collect(),
            rates: scored.iter().filter_map(|r| r.rate).collect(),
        },
    });

    // Heatmap of KPI scores: scored departments × every scorecard KPI.
    let heat_cols: Vec<String> = kpi_depts.keys().cloned().collect();
    let heat_rows: Vec<&DeptHeadline> = headline.iter().filter(|h| !h.kpis.is_empty()).collect();
    charts.push(ChartSpec {
        id: "heatmap".into(),
        title: "heatmap".into(),
        chart: Chart::Heatmap {
            rows: heat_rows.iter().map(|h| h.department.clone()).collect(),
            cols: heat_cols.clone(),
            cells: heat_rows
                .iter()
                .map(|h| {
                    heat_cols
                        .iter()
                        .map(|k| {
                            h.kpis
                                .iter()
                                .find(|x| &x.kpi == k && x.counted)
                                .and_then(|x| x.score)
                        })
                        .collect()
                })
                .collect(),
        },
    });

    // Notices: those of this period, and the re-check of earlier ones.
    let first_month = match input.period {
        Period::Month(y, m) => format!("{y}-{m:02}"),
        Period::Year(y) => format!("{y}-01"),
    };
    let row = |c: &crate::rules::notices::Check| NoticeRow {
        notice: c.notice.clone(),
        status: c.status.to_string(),
        rectified_at: c.rectified_at.clone().unwrap_or_default(),
    };
    let checks = &input.audit.notice_checks;
    let notices_issued: Vec<NoticeRow> = checks
        .iter()
        .filter(|c| Period::label_covers(&label, &c.notice.period))
        .map(row)
        .collect();
    let notices_recheck: Vec<NoticeRow> = checks
        .iter()
        .filter(|c| c.notice.period < first_month)
        .map(row)
        .collect();

    let people = own
        .iter()
        .filter(|c| c.scope_kind == "staff")
        .map(|c| PersonRow {
            staff_id: c.scope.clone(),
            department: c.department.clone(),
            score: c.score,
            coefficient: c.coefficient,
            deductions: c.deductions,
        })
        .collect();

    let mut annual_scores = crate::assess::annual(input.cards, input.monthly_cards);
    // Departments first, in the regulation's order, then people by id.
    annual_scores.sort_by_key(|a| {
        (
            a.card.scope_kind != "department",
            rank(&a.card.scope),
            a.card.scope.clone(),
        )
    });
    let annual = annual_scores
        .into_iter()
        .map(|a| AnnualRow {
            scope_kind: a.card.scope_kind.to_string(),
            scope: a.card.scope.clone(),
            department: a.card.department.clone(),
            score: a.card.score,
            coefficient: a.card.coefficient,
            months: a.months,
        })
        .collect();

    let sources = input
        .manifest
        .sources
        .iter()
        .map(|s| SourceRow {
            path: s.path.clone(),
            table: s.table.clone(),
            format: s.format.clone(),
            read: s.rows_read,
            stored: s.rows_stored,
            quarantined: s.rows_quarantined,
            replaced: s.rows_replaced,
            balanced: s.rows_read == s.rows_stored + s.rows_quarantined,
            sha256: s.sha256.clone(),
            txn: s.txn,
        })
        .collect();
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for q in &input.manifest.quarantine {
        for (r, n) in &q.by_reason {
            *reasons.entry(r.clone()).or_default() += n;
        }
    }

    let dept_notices = if is_year {
        Vec::new()
    } else {
        dept_notices(input, &notices_issued)?
    };

    Ok(Model {
        period: label,
        is_year,
        as_of: input.as_of.format("%Y-%m-%d %H:%M:%S").to_string(),
        version: input.version,
        policy_fingerprint: policy.fingerprint.clone(),
        policy_toml: policy.canonical.clone(),
        lake_txn: input.manifest.next_txn.saturating_sub(1),
        headline,
        company,
        trend_months,
        pareto_by_rule,
        pareto_by_dept,
        conformance,
        heat_cols,
        notices_issued,
        notices_recheck,
        people,
        annual,
        sources,
        quarantine: reasons.into_iter().collect(),
        dept_notices,
        amended_version: input.amendment.map(|(v, _)| v),
        changes: input.amendment.map(|(_, c)| c.to_vec()).unwrap_or_default(),
        rule_text: crate::rules::catalogue()
            .iter()
            .map(|q| {
                let text = match input.lang {
                    super::Lang::Zh => q.get("description_zh"),
                    super::Lang::En => q.get("description_en"),
                };
                (q.get("id").to_string(), text.to_string())
            })
            .collect(),
        charts,
    })
}

/// Every department with a notice this month, its notices and their violations.
fn dept_notices(input: &ReportInput, issued: &[NoticeRow]) -> Result<Vec<DeptNotice>> {
    let v = &input.audit.violations;
    let col = |n: &str| texts(v, n);
    let (notice, rule, clause, severity, order, entity, staff, at, evidence, waived) = (
        col("notice_id")?,
        col("rule_id")?,
        col("clause")?,
        col("severity")?,
        col("order_id")?,
        col("entity_id")?,
        col("staff_id")?,
        col("at")?,
        col("evidence")?,
        col("waived")?,
    );
    let s = |x: &Option<String>| x.clone().unwrap_or_default();
    let mut attached: BTreeMap<String, Vec<AttachedViolation>> = BTreeMap::new();
    for i in 0..v.height() {
        attached
            .entry(s(&notice[i]))
            .or_default()
            .push(AttachedViolation {
                rule_id: s(&rule[i]),
                clause: s(&clause[i]),
                severity: s(&severity[i]),
                order_id: s(&order[i]),
                entity_id: s(&entity[i]),
                staff_id: s(&staff[i]),
                at: s(&at[i]).chars().take(19).collect(),
                evidence: s(&evidence[i]),
                waived: waived[i].as_deref() == Some("true"),
            });
    }
    let depts: BTreeSet<&str> = issued
        .iter()
        .map(|n| n.notice.department.as_str())
        .collect();
    Ok(depts
        .into_iter()
        .map(|d| {
            let notices: Vec<NoticeRow> = issued
                .iter()
                .filter(|n| n.notice.department == d)
                .cloned()
                .collect();
            let violations = notices
                .iter()
                .map(|n| {
                    (
                        n.notice.notice_id.clone(),
                        attached
                            .get(&n.notice.notice_id)
                            .cloned()
                            .unwrap_or_default(),
                    )
                })
                .collect();
            DeptNotice {
                department: d.to_string(),
                notices,
                violations,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lights_follow_target_and_interval() {
        assert_eq!(light(Some(0.96), Some(0.99), 0.95, true), "green");
        assert_eq!(light(Some(0.95), Some(0.99), 0.95, true), "green");
        assert_eq!(light(Some(0.90), Some(0.96), 0.95, true), "amber");
        assert_eq!(light(Some(0.90), Some(0.9499), 0.95, true), "red");
        assert_eq!(light(Some(0.99), Some(1.0), 0.95, false), "grey");
        assert_eq!(light(None, None, 0.95, true), "grey");
    }

    #[test]
    fn trend_windows_end_with_the_period() {
        let w = trend_window(Period::Month(2025, 5));
        assert_eq!(w.first().unwrap(), "2024-06");
        assert_eq!(w.last().unwrap(), "2025-05");
        let y = trend_window(Period::Year(2025));
        assert_eq!(y.first().unwrap(), "2025-01");
        assert_eq!(y.last().unwrap(), "2025-12");
        assert!(Period::label_covers("2025", "2025-03"));
        assert!(Period::label_covers("2025-03", "2025-03"));
        assert!(!Period::label_covers("2025-03", "2025-04"));
    }
}
