//! Resolves the command line into typed stage options and runs the stage; prints the
//! human summary. Stages never see clap types.

use std::io::Write;

use crate::cli::{
    AuditArgs, Cli, Command, GenArgs, IngestArgs, LakeCommand, Lang, MetricsArgs, PeriodArgs,
    PolicyCommand, PublishArgs, RulesCommand, RunArgs, Severity,
};
use crate::error::{Error, IoContext, Result, EXIT_OK};
use crate::ingest::{self, contract, header::HeaderMapping, FileStatus, IngestOptions};
use crate::lake::{self, Lake};
use crate::policy::Policy;

/// The bundled fixture company (fixtures/exports), compiled in: `lvyue run` with no
/// input needs no checkout.
const BUNDLED: &[(&str, &[u8])] = &[
    (
        "inventory_counts.csv",
        include_bytes!("../fixtures/exports/inventory_counts.csv"),
    ),
    (
        "order_events.csv",
        include_bytes!("../fixtures/exports/order_events.csv"),
    ),
    (
        "order_lines.csv",
        include_bytes!("../fixtures/exports/order_lines.csv"),
    ),
    (
        "orders.csv",
        include_bytes!("../fixtures/exports/orders.csv"),
    ),
    (
        "production_jobs.csv",
        include_bytes!("../fixtures/exports/production_jobs.csv"),
    ),
    (
        "purchase_orders.csv",
        include_bytes!("../fixtures/exports/purchase_orders.csv"),
    ),
    (
        "rectification_responses.csv",
        include_bytes!("../fixtures/exports/rectification_responses.csv"),
    ),
    (
        "service_cases.csv",
        include_bytes!("../fixtures/exports/service_cases.csv"),
    ),
    (
        "shipment_lines.csv",
        include_bytes!("../fixtures/exports/shipment_lines.csv"),
    ),
    (
        "shipments.csv",
        include_bytes!("../fixtures/exports/shipments.csv"),
    ),
    ("staff.csv", include_bytes!("../fixtures/exports/staff.csv")),
    (
        "surveys.csv",
        include_bytes!("../fixtures/exports/surveys.csv"),
    ),
];

pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Run(args) => run_main(args),
        Command::Ingest(args) => run_ingest(args),
        Command::Lake {
            command: LakeCommand::Status { lake },
        } => {
            let l = Lake::open(&lake, chrono_tz::UTC, false)?;
            if let Some(r) = &l.recovered {
                eprintln!("lvyue: {r}");
            }
            print_out(&lake::status::render(&l.manifest));
            Ok(EXIT_OK)
        }
        Command::Policy { command } => run_policy(command),
        Command::Metrics(args) => run_metrics(args),
        Command::Audit(args) => run_audit(args),
        Command::Rules { command } => run_rules(command),
        Command::Publish(args) => run_publish(args),
        Command::Gen(args) => run_gen(args),
    }
}

fn run_policy(c: PolicyCommand) -> Result<i32> {
    match c {
        PolicyCommand::Init { out, force } => {
            if out.exists() && !force {
                return Err(Error::Usage(format!(
                    "{} exists; use --force to overwrite it",
                    out.display()
                )));
            }
            std::fs::write(&out, crate::policy::DEFAULT_TOML).at(&out)?;
            print_out(&format!(
                "wrote the default policy to {} (fingerprint {})\n",
                out.display(),
                Policy::default().fingerprint
            ));
        }
        PolicyCommand::Show { policy } => {
            let p = load_policy(policy.as_deref())?;
            print_out(&format!(
                "# effective policy, fingerprint {}\n{}",
                p.fingerprint, p.canonical
            ));
        }
    }
    Ok(EXIT_OK)
}

/// The policy, period, lake and as-of that metrics and audit runs share.
fn open_run(
    a: &PeriodArgs,
) -> Result<(Policy, crate::metrics::Period, Lake, chrono::NaiveDateTime)> {
    let policy = load_policy(a.policy.as_deref())?;
    let period = crate::metrics::Period::parse(&a.period)
        .map_err(|e| Error::Usage(format!("--period: {e}")))?;
    let lake = Lake::open(&a.lake, policy.tz, false)?;
    if lake.tz != policy.tz {
        return Err(Error::Usage(format!(
            "the lake's times are local to {}, the policy says {}",
            lake.tz, policy.tz
        )));
    }
    let as_of = match a.as_of.as_deref() {
        None => period.end(),
        Some(s) => parse_as_of(s, &policy)?,
    };
    Ok((policy, period, lake, as_of))
}

fn run_main(a: RunArgs) -> Result<i32> {
    let policy = load_policy(a.policy.as_deref())?;
    let inputs = if a.inputs.is_empty() {
        // Beside the lake, not in the outputs: the exports hold customer data.
        let dir = a.lake.join("_bundled_exports");
        std::fs::create_dir_all(&dir).at(&dir)?;
        for (name, bytes) in BUNDLED {
            let p = dir.join(name);
            std::fs::write(&p, bytes).at(&p)?;
        }
        vec![dir]
    } else {
        a.inputs.clone()
    };
    let lake_dir = a.lake.clone();
    let opts = IngestOptions {
        inputs,
        lake: lake_dir.clone(),
        table: None,
        mapping: HeaderMapping::default(),
        encoding: Default::default(),
        sheet: None,
        tz: policy.tz,
        now: chrono::Local::now()
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
    };
    let report = ingest::ingest(&opts)?;
    print_out(&ingest_summary(&report, &lake_dir));
    let lake = Lake::open(&lake_dir, policy.tz, false)?;
    let as_of = match &a.as_of {
        Some(s) => parse_as_of(s, &policy)?,
        None => {
            // The end of the latest month any table's own time falls in.
            let last = lake
                .manifest
                .tables
                .values()
                .flat_map(|t| t.files.iter())
                .filter_map(|f| f.year.zip(f.month))
                .max()
                .ok_or_else(|| Error::Usage("the lake has no dated rows to audit".into()))?;
            crate::metrics::Period::Month(last.0, last.1).end()
        }
    };
    let waivers = match &a.waivers {
        Some(p) => crate::rules::load_waivers(p)?,
        None => Vec::new(),
    };
    let department_of = crate::assess::department_lookup(&lake)?;
    let months = crate::metrics::reported_months(&lake, as_of);
    let mut periods: Vec<(crate::metrics::Period, chrono::NaiveDateTime)> = months
        .iter()
        .map(|&(y, m)| {
            let p = crate::metrics::Period::Month(y, m);
            (p, p.end().min(as_of))
        })
        .collect();
    let mut years: Vec<i32> = months.iter().map(|(y, _)| *y).collect();
    years.dedup();
    periods.extend(
        years
            .into_iter()
            .map(|y| (crate::metrics::Period::Year(y), as_of)),
    );
    let lang = match a.lang {
        Lang::Zh => crate::report::Lang::Zh,
        Lang::En => crate::report::Lang::En,
    };
    let bar = progress(periods.len() as u64);
    let mut out = String::new();
    // Monthly results the trends and the annual table need.
    let mut history: Vec<crate::metrics::MetricRow> = Vec::new();
    let mut monthly_cards: Vec<crate::assess::Scorecard> = Vec::new();
    for (period, period_as_of) in periods {
        let label = period.label();
        bar.set_message(format!("{label}: KPIs"));
        let m = crate::metrics::compute(&lake, &policy, period, period_as_of)?;
        bar.set_message(format!("{label}: audit"));
        let audit = crate::rules::audit(&lake, &policy, period, period_as_of, &waivers)?;
        let mut cards =
            crate::assess::scorecards(&m.rows, &audit.violations, &policy, &department_of)?;
        // A year's metrics also hold its months' rows; the year's feed is the year's
        // scores (its months are beside them in annual_scorecards.csv).
        cards.retain(|c| c.period == label);
        if let crate::metrics::Period::Month(..) = period {
            history.extend(m.rows.iter().cloned());
        }
        bar.set_message(format!("{label}: report"));
        let target = crate::publish::target(&a.out, &label)?;
        let staged = crate::publish::staging_dir(&a.out, &label);
        if staged.exists() {
            std::fs::remove_dir_all(&staged).at(&staged)?;
        }
        crate::metrics::write(&m, &staged)?;
        crate::rules::write(&audit, &staged)?;
        let version = crate::assess::version_label(target.version, period_as_of, &policy);
        crate::assess::write(&cards, &version, period_as_of, &staged)?;
        if let crate::metrics::Period::Year(_) = period {
            crate::assess::write_annual(&crate::assess::annual(&cards, &monthly_cards), &staged)?;
        }
        let changes = match &target.amends {
            Some((v, dir)) => {
                let c = crate::publish::changes(dir, &staged)?;
                crate::publish::write_changes(&staged, *v, &c)?;
                c
            }
            None => Vec::new(),
        };
        crate::report::render(
            &crate::report::ReportInput {
                lang,
                period,
                as_of: period_as_of,
                version: target.version,
                policy: &policy,
                metrics: &m.rows,
                history: &history,
                audit: &audit,
                cards: &cards,
                monthly_cards: &monthly_cards,
                manifest: &lake.manifest,
                amendment: target
                    .amends
                    .as_ref()
                    .map(|(v, _)| (*v, changes.as_slice())),
            },
            &staged,
        )?;
        let delivered = crate::publish::deliver(&staged, &target, &changes)?;
        // The ledger changes only once the outputs are in place: a failed run records
        // no notice.
        crate::rules::record_notices(&lake, &audit)?;
        if let crate::metrics::Period::Month(..) = period {
            monthly_cards.extend(cards);
        }
        let open = audit
            .notice_checks
            .iter()
            .filter(|c| c.status == "open" || c.status == "overdue" || c.status == "recurred")
            .count();
        let whither = match &delivered {
            crate::publish::Delivered::Draft(d) => d.join("report.html").display().to_string(),
            crate::publish::Delivered::Amendment { dir, changes } => format!(
                "amendment v{} with {changes} changed figures: {}",
                target.version,
                dir.join("report.html").display()
            ),
            crate::publish::Delivered::Unchanged { sealed } => {
                format!("unchanged against sealed v{sealed}; nothing written")
            }
        };
        out.push_str(&format!(
            "{:<8} as of {}: {} KPI rows, {} violations, {} notices needing action → {}\n",
            label,
            period_as_of.format("%Y-%m-%d %H:%M:%S"),
            m.rows.len(),
            audit.violations.height(),
            open,
            whither
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    out.push_str(&format!(
        "policy {} ; lake {}\n",
        policy.fingerprint,
        lake_dir.display()
    ));
    print_out(&out);
    Ok(EXIT_OK)
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (logs, CI, pipes).
fn progress(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} {msg} [{elapsed}]")
    {
        bar.set_style(style);
    }
    bar
}

fn run_gen(a: GenArgs) -> Result<i32> {
    let start = match crate::metrics::Period::parse(&a.start) {
        Ok(crate::metrics::Period::Month(y, m)) => (y, m),
        _ => {
            return Err(Error::Usage(format!(
                "--start: expected YYYY-MM, got {:?}",
                a.start
            )))
        }
    };
    let began = std::time::Instant::now();
    let report = crate::gen::generate(&crate::gen::GenOptions {
        orders: a.orders,
        start,
        months: a.months,
        seed: a.seed,
        dirty: a.dirty,
        out: a.out.clone(),
        parquet: a.format == crate::cli::GenFormat::Parquet,
    })?;
    let mut out = String::new();
    for (t, n) in &report.rows {
        out.push_str(&format!("{t:<24} {n:>12} rows\n"));
    }
    let planted: Vec<String> = report
        .planted
        .iter()
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    out.push_str(&format!("planted: {}\n", planted.join(", ")));
    out.push_str(&format!(
        "wrote {} in {:.1} s\n",
        a.out.display(),
        began.elapsed().as_secs_f64()
    ));
    print_out(&out);
    Ok(EXIT_OK)
}

fn run_publish(a: PublishArgs) -> Result<i32> {
    let period = crate::metrics::Period::parse(&a.period)
        .map_err(|e| Error::Usage(format!("--period: {e}")))?;
    let label = period.label();
    if a.check {
        let n = crate::publish::check(&a.out, &label)?;
        print_out(&format!(
            "{label}: {n} sealed version(s) match their seals\n"
        ));
        return Ok(EXIT_OK);
    }
    let now = chrono::Local::now()
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string();
    let (v, dir, files) = crate::publish::publish(&a.out, &label, &now)?;
    print_out(&format!(
        "sealed {label} v{v}: {files} files in {} (SEAL.json)\n",
        dir.display()
    ));
    Ok(EXIT_OK)
}

fn parse_as_of(s: &str, policy: &Policy) -> Result<chrono::NaiveDateTime> {
    let us = crate::ingest::parse::parse_timestamp(&crate::ingest::parse::normalize(s), policy.tz)
        .map_err(|e| Error::Usage(format!("--as-of: {e}")))?;
    crate::ingest::parse::naive_of_micros(us)
        .ok_or_else(|| Error::Usage("--as-of: out of range".into()))
}

fn run_audit(a: AuditArgs) -> Result<i32> {
    let (policy, period, lake, as_of) = open_run(&a.run)?;
    let waivers = match &a.waivers {
        Some(p) => crate::rules::load_waivers(p)?,
        None => Vec::new(),
    };
    if let (true, Some(dir)) = (a.sql_only, &a.emit_sql) {
        return emit_only(&lake, &policy, period, as_of, dir, crate::queries::rules());
    }
    let audit = crate::rules::audit(&lake, &policy, period, as_of, &waivers)?;
    let mut files = crate::rules::write(&audit, &a.run.out)?;
    // The ledger changes only once the outputs are written: a failed run records nothing.
    if let Some(p) = crate::rules::record_notices(&lake, &audit)? {
        files.push(p);
    }
    if let Some(dir) = &a.emit_sql {
        files.extend(crate::metrics::emit_sql(
            &lake,
            &policy,
            period,
            as_of,
            dir,
            crate::queries::rules(),
        )?);
    }
    // Waived violations count for no one, so not for --fail-on either.
    let col_text = |name: &str| -> Vec<String> {
        audit
            .violations
            .column(name)
            .ok()
            .and_then(|c| c.cast(&polars::prelude::DataType::String).ok())
            .and_then(|c| {
                c.str()
                    .ok()
                    .map(|s| s.iter().map(|v| v.unwrap_or("").to_string()).collect())
            })
            .unwrap_or_default()
    };
    let waived = col_text("waived");
    let severities: Vec<String> = col_text("severity")
        .into_iter()
        .zip(waived)
        .filter(|(_, w)| w != "true")
        .map(|(s, _)| s)
        .collect();
    let rank = |s: &str| match s {
        "critical" => Severity::Critical,
        "major" => Severity::Major,
        _ => Severity::Minor,
    };
    let mut out = format!(
        "audit of {} as of {} (policy {}): {} violations\n",
        period.label(),
        as_of.format("%Y-%m-%d %H:%M:%S"),
        policy.fingerprint,
        audit.violations.height()
    );
    for (rule, missing) in &audit.skipped {
        out.push_str(&format!(
            "  skipped {rule}: the exports have no {}\n",
            missing.join(", ")
        ));
    }
    for f in files {
        out.push_str(&format!("  wrote {}\n", f.display()));
    }
    print_out(&out);
    let failing = a
        .fail_on
        .is_some_and(|min| severities.iter().any(|s| rank(s) >= min));
    Ok(if failing {
        crate::error::EXIT_VIOLATIONS
    } else {
        EXIT_OK
    })
}

fn run_rules(c: RulesCommand) -> Result<i32> {
    match c {
        RulesCommand::List { lang } => {
            let mut out = String::new();
            for q in crate::rules::catalogue() {
                let desc = match lang {
                    Lang::Zh => q.get("description_zh"),
                    Lang::En => q.get("description_en"),
                };
                out.push_str(&format!(
                    "{:<4} {:<16} {:<10} {:<8} {}\n",
                    q.get("id"),
                    q.get("clause"),
                    q.get("department"),
                    q.get("severity"),
                    desc
                ));
            }
            print_out(&out);
        }
        RulesCommand::Show { id } => {
            let q = crate::rules::find(&id)
                .ok_or_else(|| Error::Usage(format!("no rule {id:?} (see `lvyue rules list`)")))?;
            print_out(&format!("-- queries/{}\n{}", q.file, q.sql));
        }
    }
    Ok(EXIT_OK)
}

/// `--emit-sql DIR --sql-only`: the SQL another engine needs, and nothing computed.
fn emit_only(
    lake: &Lake,
    policy: &Policy,
    period: crate::metrics::Period,
    as_of: chrono::NaiveDateTime,
    dir: &std::path::Path,
    queries: Vec<crate::queries::Query>,
) -> Result<i32> {
    let files = crate::metrics::emit_sql(lake, policy, period, as_of, dir, queries)?;
    print_out(&format!(
        "wrote {} SQL files to {}\n",
        files.len(),
        dir.display()
    ));
    Ok(EXIT_OK)
}

fn run_metrics(a: MetricsArgs) -> Result<i32> {
    let (policy, period, lake, as_of) = open_run(&a.run)?;
    if let (true, Some(dir)) = (a.sql_only, &a.emit_sql) {
        return emit_only(
            &lake,
            &policy,
            period,
            as_of,
            dir,
            crate::queries::metrics(),
        );
    }
    let m = crate::metrics::compute(&lake, &policy, period, as_of)?;
    let mut files = crate::metrics::write(&m, &a.run.out)?;
    if let Some(dir) = &a.emit_sql {
        files.extend(crate::metrics::emit_sql(
            &lake,
            &policy,
            period,
            as_of,
            dir,
            crate::queries::metrics(),
        )?);
    }
    let mut out = format!(
        "metrics for {} as of {} (policy {}): {} rows\n",
        period.label(),
        as_of.format("%Y-%m-%d %H:%M:%S"),
        policy.fingerprint,
        m.rows.len()
    );
    for f in files {
        out.push_str(&format!("  wrote {}\n", f.display()));
    }
    print_out(&out);
    Ok(EXIT_OK)
}

fn load_policy(path: Option<&std::path::Path>) -> Result<Policy> {
    match path {
        Some(p) => Policy::load(p),
        None => Ok(Policy::default()),
    }
}

/// The per-file reconciliation lines of an ingest.
fn ingest_summary(report: &ingest::IngestReport, lake: &std::path::Path) -> String {
    let mut out = String::new();
    if let Some(r) = &report.recovered {
        out.push_str(&format!("recovery: {r}\n"));
    }
    for f in &report.files {
        let r = &f.record;
        let status = match f.status {
            FileStatus::Ingested => "ingested".to_string(),
            FileStatus::Unchanged { txn } => format!("unchanged (already ingested in txn {txn})"),
        };
        out.push_str(&format!(
            "{path}: {table} [{fmt}, {detail}] {status}: read {read} = stored {stored} + quarantined {q}; replaced {rep}; unknown orders {unk}\n",
            path = r.path,
            table = r.table,
            fmt = r.format,
            detail = r.detail,
            read = r.rows_read,
            stored = r.rows_stored,
            q = r.rows_quarantined,
            rep = r.rows_replaced,
            unk = r.unknown_order_refs,
        ));
        if f.status == FileStatus::Ingested && !r.ignored_headers.is_empty() {
            out.push_str(&format!(
                "  ignored headers: {}\n",
                r.ignored_headers.join(", ")
            ));
        }
    }
    match report.txn {
        Some(t) => out.push_str(&format!(
            "committed transaction {t} to {}\n",
            lake.display()
        )),
        None => out.push_str("nothing new: the lake is unchanged\n"),
    }
    out
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn print_out(s: &str) {
    let _ = std::io::stdout().write_all(s.as_bytes());
}

fn run_ingest(a: IngestArgs) -> Result<i32> {
    let policy = load_policy(a.policy.as_deref())?;
    let table = match &a.table {
        Some(t) => Some(contract::table(t).ok_or_else(|| {
            let names: Vec<&str> = contract::TABLES.iter().map(|t| t.name).collect();
            Error::Usage(format!(
                "--table {t:?} is not a table of the data contract ({})",
                names.join(", ")
            ))
        })?),
        None => None,
    };
    let mapping = match &a.mapping {
        Some(p) => HeaderMapping::load(p)?,
        None => HeaderMapping::default(),
    };
    let opts = IngestOptions {
        inputs: a.inputs,
        lake: a.lake,
        table,
        mapping,
        encoding: a.encoding,
        sheet: a.sheet,
        tz: policy.tz,
        now: chrono::Local::now()
            .format("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
    };
    let report = ingest::ingest(&opts)?;
    let out = ingest_summary(&report, &opts.lake);
    print_out(&out);
    Ok(EXIT_OK)
}
