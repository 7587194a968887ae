//! The business-hours clock (`sla.clock = "business"`): the one step of the KPI and rule
//! definitions that SQL cannot express. Under it, a deadline `x + INTERVAL '{…_hours}'
//! HOUR` in `queries/` is evaluated by the Rust function [`add_business_hours`], which
//! counts only working time of the policy's calendar (working hours on weekdays, minus
//! holidays, plus make-up working days). The deadline is the instant the last of those
//! working hours ends, so a step done outside working hours after it is late.
//!
//! In the SQL the call appears as `business_add(x, N)`, registered with polars' SQL
//! engine; [`rewrite_for_business_clock`] produces it from the portable form.

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use polars::prelude::*;
use polars::sql::FunctionRegistry;

use crate::error::{Error, Result};
use crate::policy::BusinessCalendar;

/// The SQL name of the business-clock function.
pub const FUNCTION: &str = "business_add";

/// `start` plus `hours` of working time.
pub fn add_business_hours(
    start: NaiveDateTime,
    hours: i64,
    cal: &BusinessCalendar,
) -> NaiveDateTime {
    let mut remaining = Duration::hours(hours);
    let mut cur = start;
    loop {
        let day = cur.date();
        if cal.is_working_day(day) {
            let open = day.and_time(cal.work_start);
            let close = day.and_time(cal.work_end);
            if cur < open {
                cur = open;
            }
            if cur < close {
                let available = close - cur;
                if remaining <= available {
                    return cur + remaining;
                }
                remaining -= available;
            }
        }
        cur = (day + Duration::days(1))
            .and_hms_opt(0, 0, 0)
            .expect("midnight");
    }
}

/// Rewrites every SLA deadline `ref + INTERVAL '{name_hours}' HOUR` of a query template
/// into `business_add(ref, {name_hours})`. `ref` must be a (qualified) column name: a
/// deadline on any other expression is an error, so no SLA silently stays on the
/// calendar clock.
pub fn rewrite_for_business_clock(file: &str, sql: &str) -> Result<String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    let marker = " + INTERVAL '{";
    while let Some(i) = rest.find(marker) {
        let after = &rest[i + marker.len()..];
        let Some(close) = after.find("}' HOUR") else {
            out.push_str(&rest[..i + marker.len()]);
            rest = after;
            continue;
        };
        let name = &after[..close];
        if !name.ends_with("_hours") {
            out.push_str(&rest[..i + marker.len()]);
            rest = after;
            continue;
        }
        let before = &rest[..i];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |p| p + 1);
        let operand = &before[start..];
        if operand.is_empty() || operand.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
            return Err(Error::Usage(format!(
                "queries/{file}: the deadline on {{{name}}} must add to a column name for the business clock"
            )));
        }
        out.push_str(&before[..start]);
        out.push_str(&format!("{FUNCTION}({operand}, {{{name}}})"));
        rest = &after[close + "}' HOUR".len()..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The polars SQL function registry holding `business_add`.
pub struct Registry {
    udf: udf::UserDefinedFunction,
}

/// A registry with `business_add` over `cal`, for [`polars::sql::SQLContext`].
pub fn registry(cal: BusinessCalendar) -> Arc<dyn FunctionRegistry> {
    let cal = Arc::new(cal);
    let f = move |cols: &mut [Column]| -> PolarsResult<Column> {
        let hours = cols[1].cast(&DataType::Int64)?;
        let hours = hours.i64()?.get(0).unwrap_or(0);
        let ts = cols[0].cast(&DataType::Int64)?;
        let out: Int64Chunked = ts
            .i64()?
            .iter()
            .map(|v| {
                v.and_then(chrono::DateTime::from_timestamp_micros)
                    .map(|d| {
                        add_business_hours(d.naive_utc(), hours, &cal)
                            .and_utc()
                            .timestamp_micros()
                    })
            })
            .collect();
        Ok(out
            .with_name(cols[0].name().clone())
            .into_datetime(TimeUnit::Microseconds, None)
            .into_column())
    };
    let dt = |_: &Schema, fields: &[Field]| -> PolarsResult<Field> {
        Ok(Field::new(
            fields[0].name().clone(),
            DataType::Datetime(TimeUnit::Microseconds, None),
        ))
    };
    Arc::new(Registry {
        udf: udf::UserDefinedFunction::new(FUNCTION.into(), BaseColumnUdf::new(f, dt)),
    })
}

impl FunctionRegistry for Registry {
    fn register(&mut self, name: &str, _fun: udf::UserDefinedFunction) -> PolarsResult<()> {
        polars_bail!(ComputeError: "cannot register {name}: lvyue's registry is fixed")
    }

    fn get_udf(&self, name: &str) -> PolarsResult<Option<udf::UserDefinedFunction>> {
        Ok((name == FUNCTION).then(|| self.udf.clone()))
    }

    fn contains(&self, name: &str) -> bool {
        name == FUNCTION
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::Policy;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    #[test]
    fn working_time_skips_nights_weekends_and_holidays_and_counts_make_up_days() {
        let cal = Policy::default().calendar;
        // Wed 10:00 + 8 h: 8 h left of Wednesday (10–18) → Wed 18:00.
        assert_eq!(
            add_business_hours(t("2025-04-16 10:00"), 8, &cal),
            t("2025-04-16 18:00")
        );
        // Wed 17:00 + 2 h: 1 h Wednesday, 1 h Thursday → Thu 10:00.
        assert_eq!(
            add_business_hours(t("2025-04-16 17:00"), 2, &cal),
            t("2025-04-17 10:00")
        );
        // Fri 20:00 (after hours) + 1 h → Mon 10:00 (weekend skipped).
        assert_eq!(
            add_business_hours(t("2025-04-11 20:00"), 1, &cal),
            t("2025-04-14 10:00")
        );
        // Fri 2025-04-25 17:00 + 48 h: Fri 1, Sun 04-27 (make-up day) 9, Mon–Wed 27,
        // Labour Day holidays 05-01…05 skipped, Tue 05-06 9 = 46, Wed 05-07 2 → 11:00.
        assert_eq!(
            add_business_hours(t("2025-04-25 17:00"), 48, &cal),
            t("2025-05-07 11:00")
        );
        // Exactly at closing time of the last needed hour.
        assert_eq!(
            add_business_hours(t("2025-04-16 09:00"), 9, &cal),
            t("2025-04-16 18:00")
        );
    }

    #[test]
    fn deadlines_on_column_names_are_rewritten_and_others_refused() {
        let sql = "a.signed_at + INTERVAL '{processing_hours}' HOUR < x AND CAST(d AS TIMESTAMP) + INTERVAL '24' HOUR < y AND o + INTERVAL '{case_close_days}' DAY";
        assert_eq!(
            rewrite_for_business_clock("f", sql).unwrap(),
            "business_add(a.signed_at, {processing_hours}) < x AND CAST(d AS TIMESTAMP) + INTERVAL '24' HOUR < y AND o + INTERVAL '{case_close_days}' DAY"
        );
        let e =
            rewrite_for_business_clock("f.sql", "(a) + INTERVAL '{entry_hours}' HOUR").unwrap_err();
        assert!(
            e.to_string()
                .contains("{entry_hours} must add to a column name"),
            "{e}"
        );
    }
}
