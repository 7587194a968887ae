//! Fills the templates of `reports/` (minijinja, compiled in) with a report [`Model`]:
//! `report.html` with the charts inlined as SVG, one printable notice per department,
//! and the charts as PNG files when a CJK font is installed. Labels come from
//! `reports/labels.toml` in the report's language.

use std::path::{Path, PathBuf};

use minijinja::value::Serde;
use minijinja::{context, Environment, Value};
use serde::Serialize;

use super::model::Model;
use super::ReportInput;
use crate::error::{Error, IoContext, Result};

const REPORT_TEMPLATE: &str = include_str!("../../reports/report.html.j2");
const NOTICE_TEMPLATE: &str = include_str!("../../reports/notice.html.j2");
const STYLE: &str = include_str!("../../reports/style.css");
const LABELS: &str = include_str!("../../reports/labels.toml");

#[derive(Serialize)]
struct ChartView {
    id: String,
    title: String,
    svg: String,
    png: Option<String>,
}

fn template_error(what: &str, e: minijinja::Error) -> Error {
    // minijinja's Display names the template and line; the detail adds the context.
    let mut why = e.to_string();
    if let Some(d) = e.display_debug_info().to_string().lines().next() {
        if !d.is_empty() {
            why.push_str(&format!(" ({d})"));
        }
    }
    Error::Report {
        what: what.to_string(),
        why,
    }
}

/// The labels of one language (`reports/labels.toml`).
pub fn labels(lang: super::Lang) -> Result<toml::Table> {
    let all: toml::Table = toml::from_str(LABELS).map_err(|e| Error::Report {
        what: "reports/labels.toml".into(),
        why: e.to_string(),
    })?;
    match all.get(lang.key()) {
        Some(toml::Value::Table(t)) => Ok(t.clone()),
        _ => Err(Error::Report {
            what: "reports/labels.toml".into(),
            why: format!("no [{}] table", lang.key()),
        }),
    }
}

fn number(v: &Value) -> Option<f64> {
    if v.is_none() || v.is_undefined() {
        None
    } else {
        f64::try_from(v.clone()).ok()
    }
}

fn environment() -> Result<Environment<'static>> {
    let mut env = Environment::new();
    env.add_template("report.html", REPORT_TEMPLATE)
        .map_err(|e| template_error("reports/report.html.j2", e))?;
    env.add_template("notice.html", NOTICE_TEMPLATE)
        .map_err(|e| template_error("reports/notice.html.j2", e))?;
    // A rate in 0..1 as a percentage; an empty cell for no figure.
    env.add_filter("pct", |v: Value| -> String {
        number(&v)
            .map(|x| format!("{:.1}%", x * 100.0))
            .unwrap_or_else(|| "–".into())
    });
    env.add_filter("num", |v: Value, places: Option<usize>| -> String {
        number(&v)
            .map(|x| format!("{:.*}", places.unwrap_or(2), x))
            .unwrap_or_else(|| "–".into())
    });
    env.add_filter("short", |v: String| -> String {
        v.chars().take(12).collect()
    });
    Ok(env)
}

/// Renders the report and notices of one period into `out`.
pub fn write(model: &Model, input: &ReportInput, out: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).at(out)?;
    let t = labels(input.lang)?;
    let title_of = |key: &str| -> String {
        let kpi = t
            .get("kpis")
            .and_then(|k| k.get(key))
            .and_then(|v| v.as_str());
        let word = t.get(key).and_then(|v| v.as_str());
        let pareto = t.get("pareto").and_then(|v| v.as_str()).unwrap_or("");
        match (kpi, word) {
            (Some(name), _) => format!("{key} {name}"),
            (None, Some(w)) if key.starts_with("pareto_by") => format!("{pareto} · {w}"),
            (None, Some(w)) => w.to_string(),
            (None, None) => key.to_string(),
        }
    };
    let mut written = Vec::new();
    let charts_dir = out.join("charts");
    // PNG files only come with a CJK font (see charts::Chart::png).
    if matches!(super::charts::font(), super::charts::FontUse::Cjk(_)) {
        std::fs::create_dir_all(&charts_dir).at(&charts_dir)?;
    }
    let mut charts = Vec::new();
    for c in &model.charts {
        let title = title_of(&c.title);
        let png_path = charts_dir.join(format!("{}.png", c.id));
        let png = if c.chart.png(&png_path, &title)? {
            written.push(png_path);
            Some(format!("charts/{}.png", c.id))
        } else {
            None
        };
        charts.push(ChartView {
            id: c.id.clone(),
            title,
            svg: c.chart.svg()?,
            png,
        });
    }
    let env = environment()?;
    let font = match super::charts::font() {
        super::charts::FontUse::Cjk(p) | super::charts::FontUse::Latin(p) => {
            p.display().to_string()
        }
        super::charts::FontUse::None => String::new(),
    };
    let ctx = context! {
        t => Value::from(Serde(&t)),
        m => Value::from(Serde(model)),
        charts => Value::from(Serde(&charts)),
        style => STYLE,
        generator => format!("lvyue {}", env!("CARGO_PKG_VERSION")),
        font => font,
    };
    let html = env
        .get_template("report.html")
        .and_then(|tpl| tpl.render(&ctx))
        .map_err(|e| template_error("reports/report.html.j2", e))?;
    let path = out.join("report.html");
    std::fs::write(&path, html).at(&path)?;
    written.push(path);

    if !model.dept_notices.is_empty() {
        let dir = out.join("notices");
        std::fs::create_dir_all(&dir).at(&dir)?;
        for d in &model.dept_notices {
            let ctx = context! {
                t => Value::from(Serde(&t)),
                m => Value::from(Serde(model)),
                d => Value::from(Serde(d)),
                style => STYLE,
                generator => format!("lvyue {}", env!("CARGO_PKG_VERSION")),
            };
            let html = env
                .get_template("notice.html")
                .and_then(|tpl| tpl.render(&ctx))
                .map_err(|e| template_error("reports/notice.html.j2", e))?;
            let path = dir.join(format!("{}.html", d.department));
            std::fs::write(&path, html).at(&path)?;
            written.push(path);
        }
    }
    Ok(written)
}
