//! The SQL definitions in `queries/`, compiled into the binary so a run never depends on
//! the working folder. Each file starts with a header of `-- key: value` lines (id,
//! clause, department, descriptions, the policy values it uses); the catalogue is read
//! from these headers, so the SQL file is the one place a KPI or rule lives.
//!
//! Policy values reach the SQL as named placeholders `{name}`, replaced by the typed
//! policy's values rendered as SQL literals (numbers, `TRUE`/`FALSE`, quoted codes, a
//! `TIMESTAMP '…'` for `as_of`) — never free text from the user. A placeholder with no
//! value is an error, so a typo cannot run silently.

use std::collections::BTreeMap;

use crate::error::{Error, Result};

/// One SQL file of `queries/`.
#[derive(Debug, Clone)]
pub struct Query {
    /// File name, e.g. `metrics/K1_sales.sql`.
    pub file: &'static str,
    pub sql: &'static str,
    pub header: BTreeMap<String, String>,
}

impl Query {
    fn new(file: &'static str, sql: &'static str) -> Query {
        Query {
            file,
            sql,
            header: parse_header(sql),
        }
    }

    pub fn get(&self, key: &str) -> &str {
        self.header.get(key).map_or("", String::as_str)
    }

    /// A comma-separated header value as a list.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    /// The policy values the header says the query uses.
    pub fn policy_keys(&self) -> Vec<&str> {
        self.list("policy")
    }

    /// The SQL with every `{name}` replaced from `params`.
    pub fn render(&self, params: &BTreeMap<&str, String>) -> Result<String> {
        render(self.file, self.sql, params)
    }
}

/// The KPI definitions, in report order.
pub fn metrics() -> Vec<Query> {
    vec![
        Query::new("metrics/K1.sql", include_str!("../queries/metrics/K1.sql")),
        Query::new(
            "metrics/K1_sales.sql",
            include_str!("../queries/metrics/K1_sales.sql"),
        ),
        Query::new(
            "metrics/K1_cs.sql",
            include_str!("../queries/metrics/K1_cs.sql"),
        ),
        Query::new(
            "metrics/K1_warehouse.sql",
            include_str!("../queries/metrics/K1_warehouse.sql"),
        ),
        Query::new("metrics/K2.sql", include_str!("../queries/metrics/K2.sql")),
        Query::new("metrics/K3.sql", include_str!("../queries/metrics/K3.sql")),
        Query::new("metrics/K4.sql", include_str!("../queries/metrics/K4.sql")),
        Query::new("metrics/K5.sql", include_str!("../queries/metrics/K5.sql")),
        Query::new(
            "metrics/S_tracking_relay.sql",
            include_str!("../queries/metrics/S_tracking_relay.sql"),
        ),
        Query::new(
            "metrics/S_case_close.sql",
            include_str!("../queries/metrics/S_case_close.sql"),
        ),
        Query::new(
            "metrics/S_purchasing.sql",
            include_str!("../queries/metrics/S_purchasing.sql"),
        ),
        Query::new(
            "metrics/S_qc_first_pass.sql",
            include_str!("../queries/metrics/S_qc_first_pass.sql"),
        ),
        Query::new(
            "metrics/S_complaints_per_100.sql",
            include_str!("../queries/metrics/S_complaints_per_100.sql"),
        ),
    ]
}

/// Shared models (`queries/models/`), registered as tables before the KPIs and rules
/// run, in dependency order.
pub fn models() -> Vec<Query> {
    vec![
        Query::new(
            "models/order_decision.sql",
            include_str!("../queries/models/order_decision.sql"),
        ),
        Query::new(
            "models/order_sku_done.sql",
            include_str!("../queries/models/order_sku_done.sql"),
        ),
    ]
}

/// The models of `models` that `text` names: those whose id is one of its words.
pub fn models_named<'m>(text: &str, models: &'m [Query]) -> Vec<&'m Query> {
    let used = words(text);
    models
        .iter()
        .filter(|m| used.contains(m.get("id")))
        .collect()
}

/// The other models `q` reads: those its SQL names outside comments. A model that reads
/// none can run beside the others.
pub fn models_read(q: &Query) -> Vec<String> {
    let body: String = q
        .sql
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    models_named(&body, &models())
        .into_iter()
        .map(|m| m.get("id"))
        .filter(|id| *id != q.get("id"))
        .map(str::to_string)
        .collect()
}

/// The words of a query: what it may name as a table or column.
pub fn words(sql: &str) -> std::collections::BTreeSet<&str> {
    sql.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

/// Every word of `queries` and the models: a column none of them names is not read.
pub fn named(queries: &[Query]) -> std::collections::BTreeSet<String> {
    queries
        .iter()
        .chain(models().iter())
        .flat_map(|q| words(q.sql))
        .map(str::to_string)
        .collect()
}

/// The rule definitions (`queries/rules/`), in id order.
pub fn rules() -> Vec<Query> {
    vec![
        Query::new(
            "rules/R01_entry_late.sql",
            include_str!("../queries/rules/R01_entry_late.sql"),
        ),
        Query::new(
            "rules/R02_required_fields.sql",
            include_str!("../queries/rules/R02_required_fields.sql"),
        ),
        Query::new(
            "rules/R03_cs_review.sql",
            include_str!("../queries/rules/R03_cs_review.sql"),
        ),
        Query::new(
            "rules/R04_four_eyes.sql",
            include_str!("../queries/rules/R04_four_eyes.sql"),
        ),
        Query::new(
            "rules/R05_confirm_before_ship.sql",
            include_str!("../queries/rules/R05_confirm_before_ship.sql"),
        ),
        Query::new(
            "rules/R06_lock_before_ship.sql",
            include_str!("../queries/rules/R06_lock_before_ship.sql"),
        ),
        Query::new(
            "rules/R07_shortage_followup.sql",
            include_str!("../queries/rules/R07_shortage_followup.sql"),
        ),
        Query::new(
            "rules/R08_shortage_outcome.sql",
            include_str!("../queries/rules/R08_shortage_outcome.sql"),
        ),
        Query::new(
            "rules/R09_po_placed.sql",
            include_str!("../queries/rules/R09_po_placed.sql"),
        ),
        Query::new(
            "rules/R10_inspection.sql",
            include_str!("../queries/rules/R10_inspection.sql"),
        ),
        Query::new(
            "rules/R11_qc_before_warehouse.sql",
            include_str!("../queries/rules/R11_qc_before_warehouse.sql"),
        ),
        Query::new(
            "rules/R12_labels.sql",
            include_str!("../queries/rules/R12_labels.sql"),
        ),
        Query::new(
            "rules/R13_preship.sql",
            include_str!("../queries/rules/R13_preship.sql"),
        ),
        Query::new(
            "rules/R14_tracking.sql",
            include_str!("../queries/rules/R14_tracking.sql"),
        ),
        Query::new(
            "rules/R15_transport_exception.sql",
            include_str!("../queries/rules/R15_transport_exception.sql"),
        ),
        Query::new(
            "rules/R16_progress_updates.sql",
            include_str!("../queries/rules/R16_progress_updates.sql"),
        ),
        Query::new(
            "rules/R17_acceptance.sql",
            include_str!("../queries/rules/R17_acceptance.sql"),
        ),
        Query::new(
            "rules/R18_case_routing.sql",
            include_str!("../queries/rules/R18_case_routing.sql"),
        ),
        Query::new(
            "rules/R19_case_closing.sql",
            include_str!("../queries/rules/R19_case_closing.sql"),
        ),
        Query::new(
            "rules/R20_returns.sql",
            include_str!("../queries/rules/R20_returns.sql"),
        ),
        Query::new(
            "rules/R21_notices.sql",
            include_str!("../queries/rules/R21_notices.sql"),
        ),
    ]
}

/// Reads the leading `-- key: value` lines; a line starting with `--` and spaces
/// continues the previous value.
fn parse_header(sql: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut last: Option<String> = None;
    for line in sql.lines() {
        let Some(rest) = line.strip_prefix("--") else {
            break;
        };
        if let Some(cont) = rest.strip_prefix("   ") {
            if let Some(k) = &last {
                let v: &mut String = out.get_mut(k).expect("last key present");
                v.push(' ');
                v.push_str(cont.trim());
            }
            continue;
        }
        if let Some((k, v)) = rest.trim().split_once(':') {
            let k = k.trim().to_string();
            out.insert(k.clone(), v.trim().to_string());
            last = Some(k);
        }
    }
    out
}

/// Replaces `{name}` placeholders. Braces are not otherwise used in the query language
/// subset, so any `{…}` is a placeholder.
pub fn render(file: &str, sql: &str, params: &BTreeMap<&str, String>) -> Result<String> {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let j = after
            .find('}')
            .ok_or_else(|| Error::Usage(format!("queries/{file}: unclosed placeholder brace")))?;
        let name = &after[..j];
        let value = params.get(name).ok_or_else(|| {
            Error::Usage(format!(
                "queries/{file}: placeholder {{{name}}} has no policy value"
            ))
        })?;
        out.push_str(value);
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Rewrites the one construct of the portable subset that polars' SQL parser reads
/// differently: the standard interval literal `INTERVAL '48' HOUR` (what DuckDB and
/// Spark run, and what `queries/` holds) becomes `INTERVAL '48 hours'`. Units: HOUR,
/// DAY, MINUTE, SECOND.
pub fn for_polars(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut rest = sql;
    while let Some(i) = rest.find("INTERVAL '") {
        out.push_str(&rest[..i]);
        let after = &rest[i + "INTERVAL '".len()..];
        let digits: String = after.chars().take_while(|c| c.is_ascii_digit()).collect();
        let tail = &after[digits.len()..];
        let unit = ["HOUR", "DAY", "MINUTE", "SECOND"]
            .into_iter()
            .find(|u| tail.starts_with(&format!("' {u}")));
        match (digits.is_empty(), unit) {
            (false, Some(u)) => {
                out.push_str(&format!("INTERVAL '{digits} {}s'", u.to_lowercase()));
                rest = &tail[2 + u.len()..];
            }
            _ => {
                out.push_str("INTERVAL '");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Every `{name}` a query uses.
pub fn placeholders(sql: &str) -> Vec<String> {
    let mut out: Vec<String> = sql
        .split('{')
        .skip(1)
        .filter_map(|s| s.split_once('}').map(|(n, _)| n.to_string()))
        .collect();
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_complete_and_declare_every_placeholder() {
        for q in metrics() {
            for key in [
                "id",
                "clause",
                "department",
                "scopes",
                "codes",
                "description_zh",
                "description_en",
                "grain",
            ] {
                assert!(!q.get(key).is_empty(), "{}: header has no {key}", q.file);
            }
            let mut declared: Vec<String> = q.policy_keys().iter().map(|s| s.to_string()).collect();
            declared.sort();
            assert_eq!(
                declared,
                placeholders(q.sql),
                "{}: policy header vs placeholders",
                q.file
            );
        }
    }

    #[test]
    fn models_are_declared_by_the_queries_that_use_them() {
        let names: Vec<String> = models().iter().map(|m| m.get("id").to_string()).collect();
        for q in metrics().into_iter().chain(rules()) {
            for name in &names {
                let uses = q.sql.contains(&format!("FROM {name}"))
                    || q.sql.contains(&format!("JOIN {name}"));
                assert_eq!(
                    uses,
                    q.list("models").contains(&name.as_str()),
                    "{}: models header",
                    q.file
                );
            }
        }
    }

    #[test]
    fn a_model_reads_the_models_its_sql_names_outside_comments() {
        let q = Query::new(
            "models/x.sql",
            "-- id: x\n-- description_en: like order_sku_done\nSELECT d.order_id FROM order_decision d -- not order_sku_done\n",
        );
        assert_eq!(models_read(&q), vec!["order_decision".to_string()]);
        // Today's models read none: they run side by side.
        for m in models() {
            assert!(models_read(&m).is_empty(), "{}", m.file);
        }
    }

    #[test]
    fn rule_headers_are_complete_and_declare_every_placeholder() {
        for q in rules() {
            for key in [
                "id",
                "clause",
                "department",
                "severity",
                "description_zh",
                "description_en",
                "grain",
            ] {
                assert!(!q.get(key).is_empty(), "{}: header has no {key}", q.file);
            }
            assert!(
                ["critical", "major", "minor"].contains(&q.get("severity")),
                "{}",
                q.file
            );
            let mut declared: Vec<String> = q.policy_keys().iter().map(|s| s.to_string()).collect();
            declared.sort();
            assert_eq!(
                declared,
                placeholders(q.sql),
                "{}: policy header vs placeholders",
                q.file
            );
            let name = q.file.rsplit('/').next().unwrap();
            assert!(
                name.starts_with(q.get("id")),
                "{}: file name starts with its id",
                q.file
            );
            assert!(
                q.sql.contains("checked AS ("),
                "{}: a rule defines its checked population",
                q.file
            );
        }
    }

    #[test]
    fn every_sla_deadline_can_run_on_the_business_clock_and_says_so() {
        for q in metrics().into_iter().chain(rules()) {
            let uses_hours = q.sql.contains("_hours}' HOUR");
            assert_eq!(
                uses_hours,
                !q.get("clock").is_empty(),
                "{}: clock header",
                q.file
            );
            let rewritten =
                crate::metrics::clock::rewrite_for_business_clock(q.file, q.sql).unwrap();
            assert!(
                !rewritten.contains("_hours}' HOUR"),
                "{}: a deadline stayed on the calendar",
                q.file
            );
        }
    }

    #[test]
    fn intervals_are_rewritten_for_polars_only_in_the_standard_form() {
        assert_eq!(
            for_polars("a + INTERVAL '48' HOUR < b + INTERVAL '7' DAY"),
            "a + INTERVAL '48 hours' < b + INTERVAL '7 days'"
        );
        assert_eq!(for_polars("INTERVAL '2 hours'"), "INTERVAL '2 hours'");
        assert_eq!(for_polars("x = 'INTERVAL '"), "x = 'INTERVAL '");
    }

    #[test]
    fn render_substitutes_and_rejects_unknown_placeholders() {
        let mut p = BTreeMap::new();
        p.insert("h", "24".to_string());
        assert_eq!(
            render("x", "a + INTERVAL '{h}' HOUR", &p).unwrap(),
            "a + INTERVAL '24' HOUR"
        );
        let e = render("x.sql", "a > {hours}", &p).unwrap_err().to_string();
        assert!(
            e.contains("queries/x.sql: placeholder {hours} has no policy value"),
            "{e}"
        );
    }
}
