//! The company policy (TOML) as the typed values the stages use. The regulation leaves
//! hours, targets, weights and the bonus formula to the company; they live in one file
//! whose defaults are `default.toml` beside this module (what `lvyue policy init`
//! writes). A user's file overrides any subset of it. Unknown keys and impossible values
//! are rejected naming the key; the effective policy has a fingerprint that every output
//! records, so a figure can be traced to the exact values it was computed under.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use chrono::{NaiveDate, NaiveTime, Weekday};
use chrono_tz::Tz;
use sha2::{Digest, Sha256};
use toml::{Table, Value};

use crate::error::{Error, IoContext, Result};
use crate::ingest::contract::DEPARTMENTS;

/// The default policy, with its comments: the documentation of every value.
pub const DEFAULT_TOML: &str = include_str!("default.toml");

/// KPI codes a scorecard may name (rates only: K5 volumes are not scored).
pub const SCORABLE_KPIS: &[&str] = &[
    "K1",
    "K2",
    "K2_original",
    "K2_otif_line",
    "K3",
    "K4",
    "K4_value",
    "S_tracking_relay",
    "S_case_close",
    "S_po_placed",
    "S_supplier_on_time",
    "S_qc_first_pass",
];

/// How durations are measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    Calendar,
    Business,
}

/// Which promised date K2 holds an order to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueBasis {
    Agreed,
    Original,
}

/// Time limits of the process (the spec's `{..._hours}` and `{..._days}` values).
#[derive(Debug, Clone, PartialEq)]
pub struct Sla {
    pub clock: Clock,
    /// Every limit by its policy name (`processing_hours`, `update_days`, …).
    pub limits: BTreeMap<&'static str, u32>,
}

impl Sla {
    /// A limit by name; the names are fixed by `default.toml`, so a miss is a bug.
    pub fn get(&self, name: &str) -> u32 {
        *self
            .limits
            .get(name)
            .unwrap_or_else(|| panic!("no SLA limit named {name}"))
    }
}

/// SLA limit names, in the order of `default.toml`.
pub const SLA_LIMITS: &[&str] = &[
    "processing_hours",
    "entry_hours",
    "review_hours",
    "confirm_hours",
    "stock_hours",
    "shortage_hours",
    "po_hours",
    "inspect_hours",
    "tracking_hours",
    "exception_hours",
    "route_hours",
    "update_days",
    "acceptance_days",
    "case_close_days",
    "return_days",
    "reconcile_days",
];

/// Working time for the business-hours clock.
#[derive(Debug, Clone, PartialEq)]
pub struct BusinessCalendar {
    pub work_start: NaiveTime,
    pub work_end: NaiveTime,
    pub weekdays: BTreeSet<u32>,
    pub holidays: BTreeSet<NaiveDate>,
    pub workdays: BTreeSet<NaiveDate>,
}

impl BusinessCalendar {
    /// Whether `d` is a working day: a make-up day always, a holiday never, else by weekday.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        use chrono::Datelike;
        if self.workdays.contains(&d) {
            return true;
        }
        if self.holidays.contains(&d) {
            return false;
        }
        self.weekdays.contains(&d.weekday().num_days_from_monday())
    }
}

/// A value per violation severity.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BySeverity<T> {
    pub critical: T,
    pub major: T,
    pub minor: T,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Band {
    pub min: f64,
    pub coefficient: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScoreItem {
    pub kpi: String,
    pub target: f64,
    pub weight: f64,
}

/// The validated, effective policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub tz: Tz,
    pub min_sample: u64,
    /// Months before the period that a run reads (partition pruning).
    pub lookback_months: u32,
    pub sla: Sla,
    pub due_basis: DueBasis,
    pub satisfied_min: i64,
    pub satisfaction_by_touch: bool,
    pub abs_tolerance: i64,
    pub pct_tolerance: f64,
    pub calendar: BusinessCalendar,
    pub deadline_days: BySeverity<u32>,
    pub deduct: BySeverity<f64>,
    pub max_deduction: f64,
    pub bands: Vec<Band>,
    /// Department code → its KPIs (empty for a department scored on deductions only).
    pub scorecards: BTreeMap<String, Vec<ScoreItem>>,
    /// The effective policy as canonical TOML (keys sorted), printed in reports.
    pub canonical: String,
    /// First 16 hex digits of the SHA-256 of `canonical`.
    pub fingerprint: String,
}

impl Default for Policy {
    fn default() -> Self {
        Policy::from_table(default_table(), Path::new("(default policy)"))
            .expect("the built-in default policy is valid")
    }
}

fn default_table() -> Table {
    DEFAULT_TOML
        .parse::<Table>()
        .expect("the built-in default policy parses")
}

impl Policy {
    pub fn load(path: &Path) -> Result<Policy> {
        let text = std::fs::read_to_string(path).at(path)?;
        Self::parse(&text, path)
    }

    /// Parses a user policy: its keys override the defaults.
    pub fn parse(text: &str, path: &Path) -> Result<Policy> {
        let user: Table = text.parse().map_err(|e: toml::de::Error| Error::Config {
            path: path.to_path_buf(),
            key: "(file)".into(),
            why: e.message().to_string(),
        })?;
        let mut merged = default_table();
        merge(&mut merged, user, "", path)?;
        Self::from_table(merged, path)
    }

    fn from_table(t: Table, path: &Path) -> Result<Policy> {
        let r = Reader {
            t: &t,
            path: path.to_path_buf(),
        };
        let tz_name = r.string("time_zone")?;
        let tz: Tz = tz_name.parse().map_err(|_| {
            r.err(
                "time_zone",
                format!("{tz_name:?} is not an IANA time zone such as Asia/Shanghai"),
            )
        })?;
        let mut limits = BTreeMap::new();
        for name in SLA_LIMITS {
            let key = format!("sla.{name}");
            limits.insert(*name, r.int(&key, 1, 24 * 366)? as u32);
        }
        let clock = match r.string("sla.clock")?.as_str() {
            "calendar" => Clock::Calendar,
            "business" => Clock::Business,
            other => {
                return Err(r.err(
                    "sla.clock",
                    format!("expected \"calendar\" or \"business\", found {other:?}"),
                ))
            }
        };
        let due_basis = match r.string("delivery.due_basis")?.as_str() {
            "agreed" => DueBasis::Agreed,
            "original" => DueBasis::Original,
            other => {
                return Err(r.err(
                    "delivery.due_basis",
                    format!("expected \"agreed\" or \"original\", found {other:?}"),
                ))
            }
        };
        let calendar = r.calendar()?;
        let deadline_days = BySeverity {
            critical: r.int("notices.deadline_days.critical", 1, 366)? as u32,
            major: r.int("notices.deadline_days.major", 1, 366)? as u32,
            minor: r.int("notices.deadline_days.minor", 1, 366)? as u32,
        };
        let deduct = BySeverity {
            critical: r.float("assessment.deduct.critical", 0.0, 100.0)?,
            major: r.float("assessment.deduct.major", 0.0, 100.0)?,
            minor: r.float("assessment.deduct.minor", 0.0, 100.0)?,
        };
        let canonical = toml::to_string(&t).expect("a TOML table serialises");
        let digest = Sha256::digest(canonical.as_bytes());
        let fingerprint = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        Ok(Policy {
            tz,
            min_sample: r.int("min_sample", 1, 1_000_000)? as u64,
            lookback_months: r.int("lookback_months", 0, 120)? as u32,
            sla: Sla { clock, limits },
            due_basis,
            satisfied_min: r.int("satisfaction.satisfied_min", 1, 5)?,
            satisfaction_by_touch: r.bool("satisfaction.by_touch")?,
            abs_tolerance: r.int("inventory.abs_tolerance", 0, i64::MAX)?,
            pct_tolerance: r.float("inventory.pct_tolerance", 0.0, 1.0)?,
            calendar,
            deadline_days,
            deduct,
            max_deduction: r.float("assessment.max_deduction", 0.0, 100.0)?,
            bands: r.bands()?,
            scorecards: r.scorecards()?,
            canonical,
            fingerprint,
        })
    }
}

/// Overlays `user` on `base`, rejecting keys the default policy does not have.
/// A department's scorecard is replaced whole; arrays are replaced whole.
fn merge(base: &mut Table, user: Table, prefix: &str, path: &Path) -> Result<()> {
    for (k, v) in user {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let unknown = || Error::Config {
            path: path.to_path_buf(),
            key: key.clone(),
            why: "unknown key (see `lvyue policy init` for every key)".into(),
        };
        if prefix == "scorecards" {
            if !DEPARTMENTS.iter().any(|(code, _)| *code == k) {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    key: key.clone(),
                    why: "not a department code (sales, cs, warehouse, purchasing, production, qc, logistics, finance)".into(),
                });
            }
            base.insert(k, v);
            continue;
        }
        match (base.get_mut(&k), v) {
            (None, _) => return Err(unknown()),
            (Some(Value::Table(b)), Value::Table(u)) => merge(b, u, &key, path)?,
            (Some(Value::Table(_)), other) => {
                return Err(Error::Config {
                    path: path.to_path_buf(),
                    key,
                    why: format!("expected a table, found {}", other.type_str()),
                })
            }
            (Some(slot), v) => *slot = v,
        }
    }
    Ok(())
}

/// Typed look-ups in the merged table, with errors naming the key.
struct Reader<'a> {
    t: &'a Table,
    path: PathBuf,
}

impl Reader<'_> {
    fn err(&self, key: &str, why: String) -> Error {
        Error::Config {
            path: self.path.clone(),
            key: key.to_string(),
            why,
        }
    }

    fn get(&self, key: &str) -> Result<&Value> {
        let mut cur: Option<&Value> = None;
        let mut table = self.t;
        for part in key.split('.') {
            let v = table
                .get(part)
                .ok_or_else(|| self.err(key, "missing".into()))?;
            if let Value::Table(t) = v {
                table = t;
            }
            cur = Some(v);
        }
        cur.ok_or_else(|| self.err(key, "missing".into()))
    }

    fn int(&self, key: &str, lo: i64, hi: i64) -> Result<i64> {
        match self.get(key)? {
            Value::Integer(i) if (lo..=hi).contains(i) => Ok(*i),
            Value::Integer(i) => Err(self.err(
                key,
                format!("must be a whole number from {lo} to {hi}, found {i}"),
            )),
            other => Err(self.err(
                key,
                format!("expected a whole number, found {}", other.type_str()),
            )),
        }
    }

    fn float(&self, key: &str, lo: f64, hi: f64) -> Result<f64> {
        let v = match self.get(key)? {
            Value::Float(f) => *f,
            Value::Integer(i) => *i as f64,
            other => {
                return Err(self.err(
                    key,
                    format!("expected a number, found {}", other.type_str()),
                ))
            }
        };
        if !(lo..=hi).contains(&v) {
            return Err(self.err(key, format!("must be from {lo} to {hi}, found {v}")));
        }
        Ok(v)
    }

    fn string(&self, key: &str) -> Result<String> {
        match self.get(key)? {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(
                key,
                format!("expected a string, found {}", other.type_str()),
            )),
        }
    }

    fn bool(&self, key: &str) -> Result<bool> {
        match self.get(key)? {
            Value::Boolean(b) => Ok(*b),
            other => Err(self.err(
                key,
                format!("expected true or false, found {}", other.type_str()),
            )),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>> {
        match self.get(key)? {
            Value::Array(a) => a
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => {
                        Err(self.err(key, format!("expected strings, found {}", other.type_str())))
                    }
                })
                .collect(),
            other => Err(self.err(key, format!("expected a list, found {}", other.type_str()))),
        }
    }

    fn time(&self, key: &str) -> Result<NaiveTime> {
        let s = self.string(key)?;
        NaiveTime::parse_from_str(&s, "%H:%M")
            .map_err(|_| self.err(key, format!("expected a time such as 09:00, found {s:?}")))
    }

    fn dates(&self, key: &str) -> Result<BTreeSet<NaiveDate>> {
        self.strings(key)?
            .iter()
            .map(|s| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                    self.err(
                        key,
                        format!("expected dates such as 2025-05-01, found {s:?}"),
                    )
                })
            })
            .collect()
    }

    fn calendar(&self) -> Result<BusinessCalendar> {
        let work_start = self.time("calendar.work_start")?;
        let work_end = self.time("calendar.work_end")?;
        if work_start >= work_end {
            return Err(self.err(
                "calendar.work_end",
                format!("must be after work_start ({work_start})"),
            ));
        }
        let mut weekdays = BTreeSet::new();
        for d in self.strings("calendar.weekdays")? {
            let wd: Weekday = d.parse().map_err(|_| {
                self.err(
                    "calendar.weekdays",
                    format!("expected mon, tue, … sun, found {d:?}"),
                )
            })?;
            weekdays.insert(wd.num_days_from_monday());
        }
        let holidays = self.dates("calendar.holidays")?;
        let workdays = self.dates("calendar.workdays")?;
        if let Some(d) = holidays.intersection(&workdays).next() {
            return Err(self.err(
                "calendar.workdays",
                format!("{d} is also listed as a holiday"),
            ));
        }
        Ok(BusinessCalendar {
            work_start,
            work_end,
            weekdays,
            holidays,
            workdays,
        })
    }

    fn bands(&self) -> Result<Vec<Band>> {
        let key = "assessment.bands";
        let Value::Array(items) = self.get(key)? else {
            return Err(self.err(key, "expected a list of { min, coefficient }".into()));
        };
        let mut bands = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let Value::Table(t) = it else {
                return Err(self.err(key, format!("band {} is not a table", i + 1)));
            };
            let sub = Reader {
                t,
                path: self.path.clone(),
            };
            if let Some(k) = t.keys().find(|k| *k != "min" && *k != "coefficient") {
                return Err(self.err(&format!("{key}[{}].{k}", i + 1), "unknown key".into()));
            }
            let b = Band {
                min: sub
                    .float("min", 0.0, 100.0)
                    .map_err(|e| self.err(&format!("{key}[{}].min", i + 1), e.to_string()))?,
                coefficient: sub.float("coefficient", 0.0, 10.0).map_err(|e| {
                    self.err(&format!("{key}[{}].coefficient", i + 1), e.to_string())
                })?,
            };
            if bands.last().is_some_and(|p: &Band| p.min <= b.min) {
                return Err(self.err(key, "bands must be listed from the highest min down".into()));
            }
            bands.push(b);
        }
        if bands.last().map(|b| b.min) != Some(0.0) {
            return Err(self.err(
                key,
                "the last band must have min = 0, so every score gets a coefficient".into(),
            ));
        }
        Ok(bands)
    }

    fn scorecards(&self) -> Result<BTreeMap<String, Vec<ScoreItem>>> {
        let Value::Table(cards) = self.get("scorecards")? else {
            return Err(self.err("scorecards", "expected a table".into()));
        };
        let mut out = BTreeMap::new();
        for (dept, card) in cards {
            let Value::Table(card) = card else {
                return Err(self.err(&format!("scorecards.{dept}"), "expected a table".into()));
            };
            let mut items = Vec::new();
            for (kpi, spec) in card {
                let key = format!("scorecards.{dept}.{kpi}");
                if !SCORABLE_KPIS.contains(&kpi.as_str()) {
                    return Err(self.err(
                        &key,
                        format!("not a scorable KPI ({})", SCORABLE_KPIS.join(", ")),
                    ));
                }
                let Value::Table(spec) = spec else {
                    return Err(self.err(&key, "expected { target = …, weight = … }".into()));
                };
                if let Some(k) = spec.keys().find(|k| *k != "target" && *k != "weight") {
                    return Err(self.err(&format!("{key}.{k}"), "unknown key".into()));
                }
                let sub = Reader {
                    t: spec,
                    path: self.path.clone(),
                };
                let target = sub
                    .float("target", 0.0, 1.0)
                    .map_err(|e| self.err(&format!("{key}.target"), e.to_string()))?;
                if target == 0.0 {
                    return Err(self.err(&format!("{key}.target"), "must be above 0".into()));
                }
                let weight = sub
                    .float("weight", 0.0, 1.0)
                    .map_err(|e| self.err(&format!("{key}.weight"), e.to_string()))?;
                items.push(ScoreItem {
                    kpi: kpi.clone(),
                    target,
                    weight,
                });
            }
            let sum: f64 = items.iter().map(|i| i.weight).sum();
            if !items.is_empty() && (sum - 1.0).abs() > 1e-9 {
                return Err(self.err(
                    &format!("scorecards.{dept}"),
                    format!("weights must sum to 1, they sum to {sum}"),
                ));
            }
            out.insert(dept.clone(), items);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Policy> {
        Policy::parse(s, Path::new("policy.toml"))
    }

    fn err(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_the_spec_values() {
        let p = Policy::default();
        assert_eq!(p.tz, chrono_tz::Asia::Shanghai);
        assert_eq!(p.min_sample, 20);
        assert_eq!(p.lookback_months, 3);
        assert_eq!(p.sla.clock, Clock::Calendar);
        let want = [
            ("processing_hours", 48),
            ("entry_hours", 24),
            ("review_hours", 8),
            ("confirm_hours", 24),
            ("stock_hours", 24),
            ("shortage_hours", 4),
            ("po_hours", 24),
            ("inspect_hours", 24),
            ("tracking_hours", 24),
            ("exception_hours", 48),
            ("route_hours", 24),
            ("update_days", 7),
            ("acceptance_days", 3),
            ("case_close_days", 7),
            ("return_days", 7),
            ("reconcile_days", 30),
        ];
        for (k, v) in want {
            assert_eq!(p.sla.get(k), v, "{k}");
        }
        assert_eq!(p.due_basis, DueBasis::Agreed);
        assert_eq!((p.satisfied_min, p.satisfaction_by_touch), (4, true));
        assert_eq!((p.abs_tolerance, p.pct_tolerance), (0, 0.0));
        assert_eq!(
            p.deadline_days,
            BySeverity {
                critical: 3,
                major: 7,
                minor: 15
            }
        );
        assert_eq!(
            p.deduct,
            BySeverity {
                critical: 5.0,
                major: 2.0,
                minor: 0.5
            }
        );
        assert_eq!(p.max_deduction, 20.0);
        let bands: Vec<(f64, f64)> = p.bands.iter().map(|b| (b.min, b.coefficient)).collect();
        assert_eq!(bands, [(95.0, 1.2), (85.0, 1.0), (70.0, 0.8), (0.0, 0.5)]);
        assert_eq!(p.scorecards.len(), 8);
        assert!(p.scorecards["finance"].is_empty());
        assert_eq!(p.fingerprint.len(), 16);
    }

    #[test]
    fn business_calendar_knows_holidays_and_make_up_days() {
        let c = Policy::default().calendar;
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert!(c.is_working_day(d("2025-04-30"))); // Wednesday
        assert!(!c.is_working_day(d("2025-05-01"))); // Labour Day
        assert!(!c.is_working_day(d("2025-05-10"))); // Saturday
        assert!(c.is_working_day(d("2025-04-27"))); // Sunday, make-up working day
    }

    #[test]
    fn user_values_override_defaults_and_change_the_fingerprint() {
        let p = parse("[sla]\nclock = \"business\"\nentry_hours = 12\n").unwrap();
        assert_eq!(p.sla.clock, Clock::Business);
        assert_eq!(p.sla.get("entry_hours"), 12);
        assert_eq!(p.sla.get("review_hours"), 8);
        assert_ne!(p.fingerprint, Policy::default().fingerprint);
        assert_eq!(
            parse("").unwrap().fingerprint,
            Policy::default().fingerprint
        );
        // The written default reads back as the default.
        assert_eq!(
            parse(DEFAULT_TOML).unwrap().fingerprint,
            Policy::default().fingerprint
        );
        let p = parse("[scorecards.finance]\nK4 = { target = 0.9, weight = 1.0 }\n").unwrap();
        assert_eq!(p.scorecards["finance"].len(), 1);
        let p = parse("[scorecards.sales]\nK1 = { target = 0.9, weight = 1 }\n").unwrap();
        assert_eq!(
            p.scorecards["sales"].len(),
            1,
            "a scorecard is replaced whole"
        );
    }

    #[test]
    fn unknown_keys_and_impossible_values_name_the_key() {
        assert!(err("timezone = \"UTC\"").contains("timezone: unknown key"));
        assert!(err("[sla]\nentry_hour = 3").contains("sla.entry_hour: unknown key"));
        assert!(err("[sla]\nentry_hours = -5")
            .contains("sla.entry_hours: must be a whole number from 1"));
        assert!(
            err("[sla]\nentry_hours = 1.5").contains("sla.entry_hours: expected a whole number")
        );
        assert!(err("[sla]\nclock = \"lunar\"").contains("sla.clock"));
        assert!(
            err("time_zone = \"Mars/Base\"").contains("time_zone: \"Mars/Base\" is not an IANA")
        );
        assert!(
            err("[scorecards.sales]\nK1 = { target = 0.9, weight = 0.5 }")
                .contains("scorecards.sales: weights must sum to 1, they sum to 0.5")
        );
        assert!(
            err("[scorecards.marketing]\nK1 = { target = 0.9, weight = 1 }")
                .contains("scorecards.marketing: not a department code")
        );
        assert!(err("[scorecards.sales]\nK9 = { target = 0.9, weight = 1 }")
            .contains("scorecards.sales.K9: not a scorable KPI"));
        assert!(
            err("[scorecards.sales]\nK1 = { target = 0.9, weight = 1, bonus = 2 }")
                .contains("scorecards.sales.K1.bonus: unknown key")
        );
        assert!(
            err("[calendar]\nwork_start = \"18:00\"\nwork_end = \"09:00\"")
                .contains("calendar.work_end: must be after")
        );
        assert!(err("[calendar]\nworkdays = [\"2025-05-01\"]")
            .contains("2025-05-01 is also listed as a holiday"));
        assert!(err("[inventory]\npct_tolerance = 2.0")
            .contains("inventory.pct_tolerance: must be from 0 to 1"));
        assert!(err("[[assessment.bands]]\nmin = 50\ncoefficient = 1")
            .contains("the last band must have min = 0"));
        assert!(err("[satisfaction]\nsatisfied_min = 6").contains("satisfaction.satisfied_min"));
        assert!(err("sla = 3").contains("sla: expected a table"));
    }
}
