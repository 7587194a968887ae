//! The HTML report, the printable notices and the annual table: rendered in headless
//! Chromium (no console errors, every chart drawn, a screenshot kept as an artifact),
//! the report's data tables snapshot-tested (insta) and the key figures checked against
//! the hand-worked values of fixtures/README.md.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::util::*;

/// One `lvyue run` (Chinese) plus an English one, shared by the read-only tests here.
fn shared() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-shared");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for args in [
            vec!["run", "--out", "out"],
            vec!["run", "--out", "out-en", "--lang", "en"],
        ] {
            let o = Command::new(assert_cmd::cargo::cargo_bin!("lvyue"))
                .current_dir(&dir)
                .args(&args)
                .output()
                .unwrap();
            assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        }
        dir
    })
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The rows of the `<table data-table="name">` of an HTML file, cells as plain text.
fn table(html: &str, name: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table data-table=\"{name}\">"))
        .unwrap_or_else(|| panic!("no table {name}"));
    let end = start + html[start..].find("</table>").unwrap();
    let body = &html[start..end];
    body.split("<tr>")
        .skip(1)
        .map(|row| {
            row.split("<t")
                .skip(1)
                .filter(|c| c.starts_with('d') || c.starts_with('h'))
                .map(|c| {
                    let inner = &c[c.find('>').unwrap() + 1..];
                    strip_tags(inner.split("</t").next().unwrap())
                })
                .collect()
        })
        .collect()
}

fn strip_tags(s: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for ch in s.chars() {
        match ch {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&amp;", "&").trim().to_string()
}

fn as_text(rows: &[Vec<String>]) -> String {
    rows.iter()
        .map(|r| format!("| {} |", r.join(" | ")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_may_report_shows_the_hand_worked_scores_and_lights() {
    let html = read(&shared().join("out/2025-05/report.html"));
    let scores = table(&html, "scores");
    // fixtures/README.md, "May 2025 assessment": department, score, coefficient.
    let want = [
        ("销售部", "95.50", "1.20"),
        ("客服部", "86.00", "1.00"),
        ("仓储部", "89.00", "1.00"),
        ("采购部", "无得分（样本不足）", "–"),
        ("生产部", "无得分（样本不足）", "–"),
        ("质检部", "无得分（样本不足）", "–"),
        ("物流部", "86.62", "1.00"),
        ("财务部", "100.00", "1.20"),
    ];
    assert_eq!(scores.len(), want.len() + 1, "{scores:?}");
    for (row, (d, s, c)) in scores[1..].iter().zip(want) {
        assert_eq!(
            (row[0].as_str(), row[3].as_str(), row[4].as_str()),
            (d, s, c)
        );
    }
    // Logistics' tracking relay: 29 of 32 = 90.6 %, under its 95 % target but with the
    // target inside the Wilson interval → amber, and scored 100 × 0.906 / 0.95 = 95.39.
    assert!(
        html.contains("<span class=\"light amber\" title=\"待观察\"></span>90.6%"),
        "amber light"
    );
    let kpis = table(&html, "kpis");
    let relay = kpis
        .iter()
        .find(|r| r[1].starts_with("S_tracking_relay"))
        .unwrap();
    assert_eq!(
        relay[2..],
        ["90.6%", "75.8% – 96.8%", "95.0%", "32", "95.39"]
    );
    // Self-contained: no stylesheet, script or image is fetched from anywhere.
    for needle in ["<link", "src=\"http", "url(http", "@import"] {
        assert!(!html.contains(needle), "report references {needle}");
    }
    // The printable notice of logistics lists R13's three violations with the deadline
    // of a major rule (issued 2025-06-01 + 7 days).
    let notice = read(&shared().join("out/2025-05/notices/logistics.html"));
    assert!(notice.contains("N-2025-05-logistics-R13 (v1)"));
    assert!(notice.contains("<strong>2025-06-08 00:00:00</strong>"));
    for order in ["SO-2505-05", "SO-2505-07", "SO-2505-08"] {
        assert!(notice.contains(order), "{order}");
    }
    let depts: Vec<String> = std::fs::read_dir(shared().join("out/2025-05/notices"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut depts = depts;
    depts.sort();
    assert_eq!(
        depts,
        ["cs.html", "logistics.html", "sales.html", "warehouse.html"]
    );
}

#[test]
fn the_annual_report_scores_each_department_once_from_the_year() {
    let html = read(&shared().join("out-en/2025/report.html"));
    let scores = table(&html, "scores");
    // One row per department (not the year's and each month's), in the regulation's order.
    let depts: Vec<&str> = scores[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        depts,
        [
            "Sales",
            "Customer service",
            "Warehouse",
            "Purchasing",
            "Production",
            "Quality control",
            "Logistics",
            "Finance"
        ]
    );
    // Sales for the year: weighted KPI score 95.33 from the pooled rates (K1 96.4 % ≥ 95 %
    // → 100 × 0.7; K3 19/25 = 76 % → 100 × 0.76 / 0.90 = 84.44 × 0.3 = 25.33), minus the
    // months' deductions 1.00 + 4.50 + 2.00 = 7.50 → 87.83, band ≥ 85 → 1.00.
    assert_eq!(scores[1][1..], ["95.33", "7.50", "87.83", "1.00"]);
}

#[test]
fn the_report_data_tables_match_their_snapshots() {
    for (lang_dir, period) in [("out", "2025-05"), ("out-en", "2025")] {
        let html = read(&shared().join(format!("{lang_dir}/{period}/report.html")));
        for name in [
            "scores",
            "kpis",
            "company",
            "pareto-rule",
            "pareto-dept",
            "conformance",
            "notices-issued",
            "notices-recheck",
            "people",
            "sources",
            "quarantine",
        ] {
            insta::assert_snapshot!(
                format!("{lang_dir}_{period}_{name}"),
                as_text(&table(&html, name))
            );
        }
        if period == "2025" {
            insta::assert_snapshot!(
                format!("{lang_dir}_{period}_annual"),
                as_text(&table(&html, "annual"))
            );
        }
    }
}

#[test]
fn the_annual_scorecards_set_the_monthly_scores_beside_the_year() {
    let dir = shared().join("out");
    let annual = read(&dir.join("2025/annual_scorecards.csv"));
    let header = annual
        .lines()
        .next()
        .unwrap()
        .trim_start_matches('\u{FEFF}');
    assert_eq!(
        header,
        "period,scope,staff_id,department,score,coefficient,m01,m02,m03,m04,m05,m06,m07,m08,m09,m10,m11,m12"
    );
    let sales = annual
        .lines()
        .find(|l| l.starts_with("2025,department,,sales,"))
        .unwrap();
    let f: Vec<&str> = sales.split(',').collect();
    // Each month's cell is that month's own score; May's is the hand-worked 95.50.
    let monthly_score = |p: &str| -> String {
        read(&dir.join(format!("{p}/scorecards.csv")))
            .lines()
            .find(|l| l.starts_with(&format!("{p},department,,sales,")))
            .unwrap()
            .split(',')
            .nth(4)
            .unwrap()
            .to_string()
    };
    assert_eq!(f[10], "95.50");
    assert_eq!(f[9], monthly_score("2025-04"));
    assert_eq!(f[11], monthly_score("2025-06"));
    assert_eq!(&f[6..9], ["", "", ""], "no data before April");
    assert_eq!(&f[12..], ["", "", "", "", "", ""]);
    // And the year's own score is the one in the year's scorecards.
    assert_eq!(f[4], monthly_score("2025"));
    // The year's HR feed holds the year's scores only (the months are in their folders).
    let feed = read(&dir.join("2025/bonus_feed.csv"));
    assert!(
        feed.lines().skip(1).all(|l| l.starts_with("2025,")),
        "{feed}"
    );
    assert_eq!(
        feed.lines().count(),
        1 + 8 + 11,
        "8 departments and 11 people"
    );
}

fn chromium() -> PathBuf {
    let p = std::env::var_os("LVYUE_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.exists(),
        "{} not found: install Debian's chromium (.ci/run does) or set LVYUE_CHROMIUM",
        p.display()
    );
    p
}

/// Opens `page` in headless Chromium: (the DOM after scripts ran, console messages).
fn open_in_chromium(page: &Path, screenshot: Option<&Path>) -> (String, Vec<String>) {
    let profile = tempfile::tempdir().unwrap();
    let flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--disable-component-update",
        "--disable-sync",
        "--enable-logging=stderr",
        "--v=0",
    ];
    let url = format!("file://{}", page.display());
    let mut cmd = Command::new(chromium());
    cmd.args(flags)
        .arg(format!("--user-data-dir={}", profile.path().display()));
    let o = cmd.arg("--dump-dom").arg(&url).output().unwrap();
    assert!(o.status.success(), "chromium: {}", stderr(&o));
    let console = stderr(&o)
        .lines()
        .filter(|l| l.contains(":CONSOLE"))
        .map(str::to_string)
        .collect();
    if let Some(shot) = screenshot {
        let o = Command::new(chromium())
            .args(flags)
            .arg(format!("--user-data-dir={}", profile.path().display()))
            .args(["--hide-scrollbars", "--window-size=1200,4000"])
            .arg(format!("--screenshot={}", shot.display()))
            .arg(&url)
            .output()
            .unwrap();
        assert!(o.status.success(), "chromium screenshot: {}", stderr(&o));
    }
    (String::from_utf8_lossy(&o.stdout).into_owned(), console)
}

fn attr(dom: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let at = dom.find(&key)? + key.len();
    Some(dom[at..at + dom[at..].find('"')?].to_string())
}

#[test]
fn the_reports_render_in_headless_chromium_with_every_chart_drawn() {
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap();
    // 8 KPI trends (one per scorecard KPI), 2 Paretos, conformance, heatmap.
    for (dir, period, charts) in [
        ("out", "2025-05", 12),
        ("out-en", "2025-05", 12),
        ("out", "2025", 12),
    ] {
        let page = shared().join(format!("{dir}/{period}/report.html"));
        let shot = artifacts.join(format!("report-{period}-{dir}.png"));
        let (dom, console) = open_in_chromium(&page, Some(&shot));
        assert!(console.is_empty(), "{dir}/{period}: console: {console:?}");
        assert_eq!(
            attr(&dom, "data-charts"),
            Some(charts.to_string()),
            "{dir}/{period}"
        );
        assert_eq!(
            attr(&dom, "data-charts-drawn"),
            Some(charts.to_string()),
            "{dir}/{period}"
        );
        assert!(!dom.contains("data-drawn=\"no\""));
        let png = std::fs::read(&shot).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 20_000,
            "{}",
            shot.display()
        );
        eprintln!("screenshot: {}", shot.display());
    }
    // A notice prints without errors too.
    let (_, console) = open_in_chromium(&shared().join("out/2025-05/notices/cs.html"), None);
    assert!(console.is_empty(), "notice console: {console:?}");
}

#[test]
fn the_browser_check_catches_console_errors_and_empty_charts() {
    // The harness itself must fail on a broken page, or the test above proves nothing.
    let html = read(&shared().join("out/2025-05/report.html"));
    let broken = html.replacen(
        "<h2 id=\"headline\">",
        "<figure class=\"chart\" id=\"chart-empty\"><svg width=\"10\" height=\"10\"></svg></figure>\
         <script>missing_function();</script><h2 id=\"headline\">",
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("broken.html");
    std::fs::write(&page, broken).unwrap();
    let (dom, console) = open_in_chromium(&page, None);
    assert!(
        console.iter().any(|l| l.contains("missing_function")),
        "{console:?}"
    );
    assert!(
        console
            .iter()
            .any(|l| l.contains("chart chart-empty drew nothing")),
        "{console:?}"
    );
    assert_eq!(attr(&dom, "data-charts"), Some("13".into()));
    assert_eq!(attr(&dom, "data-charts-drawn"), Some("12".into()));
}

#[test]
fn charts_are_also_png_files_when_a_cjk_font_is_installed() {
    let cjk = [
        "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
        "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
        "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    ]
    .iter()
    .any(|p| Path::new(p).exists());
    let charts = shared().join("out/2025-05/charts");
    if cjk {
        for id in ["heatmap", "pareto-rule", "conformance", "trend-K1"] {
            let png = std::fs::read(charts.join(format!("{id}.png"))).unwrap();
            assert!(png.starts_with(b"\x89PNG"), "{id}");
        }
    } else {
        assert!(!charts.exists(), "PNG charts need a CJK font");
    }
    // With no font at all, the SVG charts still draw (without text).
    let w = Workdir::new();
    let o = w.run_env(&["run", "--out", "out"], &[("LVYUE_FONT", "none")]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!w.path("out/2025-05/charts").exists());
    let html = read(&w.path("out/2025-05/report.html"));
    assert_eq!(html.matches("<figure class=\"chart\"").count(), 12);
    assert!(!html.contains("<text"), "no font, no text in the charts");
}

#[test]
fn progress_bars_show_on_a_terminal_only() {
    let w = Workdir::new();
    let o = w.run(&["run", "--out", "out"]);
    assert!(o.status.success());
    assert!(
        !stderr(&o).contains("2025-05: "),
        "no progress off a terminal: {}",
        stderr(&o)
    );
    // `script` gives the run a pseudo-terminal.
    let bin = assert_cmd::cargo::cargo_bin!("lvyue");
    let o = Command::new("script")
        .current_dir(w.dir.path())
        .args([
            "-qec",
            &format!("{} run --out out2", bin.display()),
            "/dev/null",
        ])
        .output()
        .expect("script (util-linux)");
    assert!(o.status.success(), "{}", stderr(&o));
    let tty = String::from_utf8_lossy(&o.stdout);
    assert!(tty.contains("/4 2025"), "a bar over the 4 periods: {tty}");
}
