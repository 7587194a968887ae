//! How far back a period's audit must look, order by order.
//!
//! Every rule dates an item (`at`) at an instant of a row it reads, plus at most the
//! intervals its SQL adds to instants (`INTERVAL 'n' HOUR|DAY`, with the policy's values
//! filled in; on the business clock an hour interval is working time). So an order can
//! have an item in a period starting at `from` only if some row of it, in a table some
//! rule reads, has an instant, in a column some rule names, no earlier than `from` minus
//! the largest interval of the rules naming that column. [`cutoffs`] gives that instant
//! per table and column; the audit then judges only the orders that reach it
//! (`metrics::stage::Staged::keep_orders`), which gives the same items in the period as
//! judging every order of the look-back window.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Duration, NaiveDateTime};

use crate::error::Result;
use crate::ingest::contract::{ColType, TABLES};
use crate::metrics::clock;
use crate::policy::{Clock, Policy};
use crate::queries::{self, words, Query};

/// An interval a query adds to an instant.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Interval {
    Hours(i64),
    Days(i64),
}

/// Every `INTERVAL 'n' HOUR|DAY` of a rendered query.
fn intervals(sql: &str) -> Vec<Interval> {
    let mut out = Vec::new();
    let upper = sql.to_ascii_uppercase();
    let mut rest = upper.as_str();
    while let Some(i) = rest.find("INTERVAL '") {
        rest = &rest[i + "INTERVAL '".len()..];
        let Some(end) = rest.find('\'') else { break };
        let n = rest[..end].trim().parse::<i64>().ok();
        let unit = rest[end + 1..].trim_start();
        match n {
            Some(n) if unit.starts_with("HOUR") => out.push(Interval::Hours(n)),
            Some(n) if unit.starts_with("DAY") => out.push(Interval::Days(n)),
            // An interval this reading cannot size: the whole window stays in reach.
            _ => out.push(Interval::Days(i64::MAX / 4)),
        }
    }
    out
}

/// The earliest `x` with `x + interval ≥ from` on the policy's clock.
fn back(from: NaiveDateTime, iv: Interval, policy: &Policy) -> NaiveDateTime {
    let far = NaiveDateTime::MIN;
    match iv {
        Interval::Days(d) => Duration::try_days(d)
            .and_then(|d| from.checked_sub_signed(d))
            .unwrap_or(far),
        Interval::Hours(h) => {
            let calendar = Duration::try_hours(h)
                .and_then(|d| from.checked_sub_signed(d))
                .unwrap_or(far);
            match policy.sla.clock {
                Clock::Calendar => calendar,
                // A deadline in working hours spans more calendar time; the deadline
                // grows with its start, so the earliest start reaching `from` is found
                // by bisection (to the second) within a year before `from`.
                Clock::Business => {
                    let reaches = |x: NaiveDateTime| {
                        clock::add_business_hours(x, h, &policy.calendar) >= from
                    };
                    let (mut lo, mut hi) = (from - Duration::days(366), from);
                    if reaches(lo) {
                        return far;
                    }
                    while hi - lo > Duration::seconds(1) {
                        let mid = lo + (hi - lo) / 2;
                        if reaches(mid) {
                            hi = mid;
                        } else {
                            lo = mid;
                        }
                    }
                    hi.min(calendar)
                }
            }
        }
    }
}

/// Per contract table some rule reads, per timestamp or date column of it some rule
/// names: the earliest instant in that column that can still give an item dated at or
/// after `from`. A column no rule names dates no item, nor does a table no rule reads.
pub fn cutoffs(
    rules: &[Query],
    policy: &Policy,
    params: &BTreeMap<&'static str, String>,
    from: NaiveDateTime,
) -> Result<Cutoffs> {
    let models = queries::models();
    let mut out = Cutoffs::new();
    for q in rules {
        // The rule and every model it reads, directly or through another model; in
        // the portable form, where intervals are `INTERVAL 'n' HOUR` on either clock.
        // A model named only in a comment counts too: it can only move a cutoff earlier.
        let mut texts = vec![q.render(params)?];
        let mut seen: BTreeSet<&str> = BTreeSet::new();
        let mut next = 0;
        while next < texts.len() {
            for m in queries::models_named(&texts[next], &models) {
                if seen.insert(m.get("id")) {
                    texts.push(m.render(params)?);
                }
            }
            next += 1;
        }
        let earliest = texts
            .iter()
            .flat_map(|t| intervals(t))
            .map(|iv| back(from, iv, policy))
            .fold(from, NaiveDateTime::min);
        let named: BTreeSet<&str> = texts.iter().flat_map(|t| words(t)).collect();
        for table in TABLES.iter().filter(|t| named.contains(t.name)) {
            for c in table.columns.iter().filter(|c| {
                matches!(c.ty, ColType::Timestamp | ColType::Date) && named.contains(c.name)
            }) {
                let e = out
                    .entry(table.name)
                    .or_default()
                    .entry(c.name)
                    .or_insert(earliest);
                *e = (*e).min(earliest);
            }
        }
    }
    Ok(out)
}

/// Table → column → cutoff.
pub type Cutoffs = BTreeMap<&'static str, BTreeMap<&'static str, NaiveDateTime>>;

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn intervals_and_tables_are_read_from_the_sql() {
        assert_eq!(
            intervals("x + INTERVAL '24' HOUR < y AND z + interval '7' day"),
            vec![Interval::Hours(24), Interval::Days(7)]
        );
        let w = words("FROM purchase_orders p JOIN orders o ON o.order_id = p.order_id");
        assert!(w.contains("orders") && w.contains("purchase_orders"));
        assert!(!w.contains("order"));
    }

    #[test]
    fn each_column_reaches_back_by_the_largest_interval_of_the_rules_naming_it() {
        let policy = Policy::default();
        let params = crate::metrics::sql_params(&policy, t("2025-07-01 00:00:00"));
        let from = t("2025-06-01 00:00:00");
        let c = cutoffs(&crate::queries::rules(), &policy, &params, from).unwrap();
        // R20 adds reconcile_days = 30 to a return case's opened_at.
        assert_eq!(c["service_cases"]["opened_at"], t("2025-05-02 00:00:00"));
        // R16 adds update_days = 7 to instants of orders and their events.
        assert_eq!(c["order_events"]["occurred_at"], t("2025-05-25 00:00:00"));
        assert_eq!(c["orders"]["signed_at"], t("2025-05-25 00:00:00"));
        // Only R08 names the promised date, and adds a day to it.
        assert_eq!(c["orders"]["promised_date"], t("2025-05-31 00:00:00"));
        // Surveys date no rule's items; nor does an order's free-text column.
        assert!(!c.contains_key("surveys"));
        assert!(!c["orders"].contains_key("customer_name"));
    }

    #[test]
    fn working_hours_reach_further_back_than_calendar_hours() {
        let mut policy = Policy::default();
        let from = t("2025-06-02 09:00:00"); // a Monday, as work starts
        assert_eq!(
            back(from, Interval::Hours(24), &policy),
            t("2025-06-01 09:00:00")
        );
        policy.sla.clock = Clock::Business;
        let x = back(from, Interval::Hours(24), &policy);
        // Whatever the calendar, the deadline of the earliest reaching start is `from`
        // or later, and a second earlier it is before `from`.
        let add = |x| clock::add_business_hours(x, 24, &policy.calendar);
        assert!(add(x) >= from && add(x - Duration::seconds(1)) < from);
        assert!(x < t("2025-06-01 09:00:00"));
    }
}
