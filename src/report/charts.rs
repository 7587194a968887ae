//! The report's charts, drawn with plotters: one drawing routine per chart kind, run
//! on the SVG backend (inlined in the HTML report) and, when a CJK font is installed,
//! on the bitmap backend (PNG files for slides).
//!
//! plotters lays text out with a registered font even for SVG (the browser then draws
//! the `<text>` itself), so lvyue registers the first font it finds on the machine: a
//! CJK one when installed, else any sans font. With no font at all the charts are
//! drawn without text and the report's tables carry the numbers.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::{Error, Result};

/// Fonts tried in order; CJK first so Chinese labels draw in the PNG files.
const CJK_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
];
const LATIN_FONTS: &[&str] = &[
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
];

/// Which font the charts were drawn with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontUse {
    Cjk(PathBuf),
    Latin(PathBuf),
    None,
}

impl FontUse {
    pub fn has_text(&self) -> bool {
        !matches!(self, FontUse::None)
    }
}

/// Finds and registers a font once per process. `LVYUE_FONT` names a font file to
/// use instead, or `none` to draw without text.
pub fn font() -> &'static FontUse {
    static FONT: OnceLock<FontUse> = OnceLock::new();
    FONT.get_or_init(|| {
        let forced = std::env::var_os("LVYUE_FONT");
        if forced.as_deref() == Some(std::ffi::OsStr::new("none")) {
            return FontUse::None;
        }
        let candidates: Vec<(PathBuf, bool)> = match forced {
            // A font named by hand is taken to cover Chinese: the user chose it.
            Some(p) => vec![(PathBuf::from(p), true)],
            None => CJK_FONTS
                .iter()
                .map(|p| (PathBuf::from(p), true))
                .chain(LATIN_FONTS.iter().map(|p| (PathBuf::from(p), false)))
                .collect(),
        };
        for (path, cjk) in candidates {
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            // plotters keeps registered fonts for the life of the process, by
            // reference: one leak of one file, once.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                return if cjk {
                    FontUse::Cjk(path)
                } else {
                    FontUse::Latin(path)
                };
            }
        }
        FontUse::None
    })
}

/// One line of a trend chart: a value (a rate in 0..1) per month, `None` where the
/// month had no figure, and whether the month's sample was large enough to score
/// (points of insufficient samples are drawn hollow).
#[derive(Debug, Clone)]
pub struct Line {
    pub name: String,
    pub values: Vec<Option<f64>>,
    pub sample_ok: Vec<bool>,
}

/// The charts the report draws.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Rates over months, with the targets as dashed lines.
    Trend {
        months: Vec<String>,
        lines: Vec<Line>,
        targets: Vec<f64>,
    },
    /// Counts in descending order with the cumulative share (right axis).
    Pareto {
        labels: Vec<String>,
        counts: Vec<f64>,
    },
    /// A rate per item as horizontal bars.
    Conformance {
        labels: Vec<String>,
        rates: Vec<f64>,
    },
    /// Scores (0..100) of rows × columns; `None` is an empty cell.
    Heatmap {
        rows: Vec<String>,
        cols: Vec<String>,
        cells: Vec<Vec<Option<f64>>>,
    },
}

const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

type DrawResult<DB> =
    std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

impl Chart {
    /// Pixel size: heatmaps and bar lists grow with their rows.
    pub fn size(&self) -> (u32, u32) {
        match self {
            Chart::Trend { .. } => (640, 300),
            Chart::Pareto { labels, .. } => (640.max(40 * labels.len() as u32 + 120), 300),
            Chart::Conformance { labels, .. } => (640, 60 + 22 * labels.len().max(1) as u32),
            Chart::Heatmap { rows, cols, .. } => (
                640.max(110 + 90 * cols.len() as u32),
                70 + 34 * rows.len().max(1) as u32,
            ),
        }
    }

    /// The chart as an SVG document (to inline in HTML).
    pub fn svg(&self) -> Result<String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, self.size()).into_drawing_area();
            self.draw(&root, font().has_text(), None)
                .map_err(|e| chart_error(self, e))?;
            root.present().map_err(|e| chart_error(self, e))?;
        }
        Ok(out)
    }

    /// Writes the chart as a PNG with `caption` drawn on top. Only with a CJK font:
    /// the captions are Chinese by default.
    pub fn png(&self, path: &Path, caption: &str) -> Result<bool> {
        if !matches!(font(), FontUse::Cjk(_)) {
            return Ok(false);
        }
        let (w, h) = self.size();
        let root = BitMapBackend::new(path, (w, h + 30)).into_drawing_area();
        self.draw(&root, true, Some(caption))
            .map_err(|e| chart_error(self, e))?;
        root.present().map_err(|e| chart_error(self, e))?;
        Ok(true)
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, Shift>,
        text: bool,
        caption: Option<&str>,
    ) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let area = match caption {
            Some(c) => root.titled(c, ("sans-serif", 18))?,
            None => root.clone(),
        };
        match self {
            Chart::Trend {
                months,
                lines,
                targets,
            } => draw_trend(&area, text, months, lines, targets),
            Chart::Pareto { labels, counts } => draw_pareto(&area, text, labels, counts),
            Chart::Conformance { labels, rates } => draw_conformance(&area, text, labels, rates),
            Chart::Heatmap { rows, cols, cells } => draw_heatmap(&area, text, rows, cols, cells),
        }
    }
}

fn chart_error<E: std::fmt::Debug>(c: &Chart, e: E) -> Error {
    let kind = match c {
        Chart::Trend { .. } => "trend",
        Chart::Pareto { .. } => "pareto",
        Chart::Conformance { .. } => "conformance",
        Chart::Heatmap { .. } => "heatmap",
    };
    Error::Report {
        what: format!("{kind} chart"),
        why: format!("{e:?}"),
    }
}

/// The label of the band a tick at `v` is the centre of (bands are `[i, i + 1)`), or
/// nothing for ticks between centres. `top_down` numbers bands from the top, so lists
/// read in their order on a vertical axis.
fn centred(labels: &[String], v: f64, top_down: bool) -> String {
    let i = (v - 0.5).round();
    if (v - 0.5 - i).abs() > 1e-6 || i < 0.0 || i as usize >= labels.len() {
        return String::new();
    }
    let i = i as usize;
    let at = if top_down { labels.len() - 1 - i } else { i };
    labels[at].clone()
}

/// Label area sizes: none when there is no font to measure text with.
fn label_size(text: bool, px: u32) -> u32 {
    if text {
        px
    } else {
        0
    }
}

fn draw_trend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: bool,
    months: &[String],
    lines: &[Line],
    targets: &[f64],
) -> DrawResult<DB> {
    let n = months.len().max(1) as i32;
    let values = lines
        .iter()
        .flat_map(|l| l.values.iter().flatten().copied())
        .chain(targets.iter().copied());
    // Rates near the target matter; start the axis a little under the lowest value.
    let low = values.fold(1.0f64, f64::min);
    let y0 = ((low - 0.05) * 20.0).floor().max(0.0) / 20.0;
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(label_size(text, 28))
        .y_label_area_size(label_size(text, 44))
        .build_cartesian_2d(-0.3f64..(n - 1) as f64 + 0.3, y0..1.0f64)?;
    let fmt_x = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            months.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    let fmt_pct = |y: &f64| format!("{:.0}%", y * 100.0);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh().light_line_style(WHITE.mix(0.0));
    if text {
        mesh.x_labels(months.len())
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_pct)
            .label_style(("sans-serif", 11));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    for t in targets {
        chart.draw_series(DashedLineSeries::new(
            vec![(-0.3, *t), ((n - 1) as f64 + 0.3, *t)],
            6,
            4,
            RGBColor(120, 120, 120).stroke_width(1),
        ))?;
    }
    for (i, line) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        // A month without a figure breaks the line rather than joining across it.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        let mut segments = Vec::new();
        for (x, v) in line.values.iter().enumerate() {
            match v {
                Some(v) => segment.push((x as f64, *v)),
                None if !segment.is_empty() => segments.push(std::mem::take(&mut segment)),
                None => {}
            }
        }
        if !segment.is_empty() {
            segments.push(segment);
        }
        let mut first = true;
        for seg in segments {
            let s = chart.draw_series(LineSeries::new(seg, color.stroke_width(2)))?;
            if first && text {
                s.label(line.name.clone()).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2))
                });
                first = false;
            }
        }
        chart.draw_series(line.values.iter().enumerate().filter_map(|(x, v)| {
            let full = line.sample_ok.get(x).copied().unwrap_or(true);
            let style = if full { color.filled() } else { WHITE.filled() };
            v.map(|v| Circle::new((x as f64, v), 3, style))
        }))?;
        // Hollow points need their outline drawn over the white fill.
        chart.draw_series(line.values.iter().enumerate().filter_map(|(x, v)| {
            let full = line.sample_ok.get(x).copied().unwrap_or(true);
            v.filter(|_| !full)
                .map(|v| Circle::new((x as f64, v), 3, color.stroke_width(1)))
        }))?;
    }
    let any = lines.iter().any(|l| l.values.iter().any(Option::is_some));
    if text && any {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(200, 200, 200))
            .label_font(("sans-serif", 11))
            .draw()?;
    }
    Ok(())
}

fn draw_pareto<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: bool,
    labels: &[String],
    counts: &[f64],
) -> DrawResult<DB> {
    let n = labels.len().max(1);
    let max = counts.iter().copied().fold(1.0f64, f64::max);
    let total: f64 = counts.iter().sum::<f64>().max(1.0);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(label_size(text, 28))
        .y_label_area_size(label_size(text, 40))
        .right_y_label_area_size(label_size(text, 44))
        .build_cartesian_2d(0f64..n as f64, 0f64..max * 1.1)?
        .set_secondary_coord(0f64..n as f64, 0f64..1.05f64);
    let fmt_x = |x: &f64| centred(labels, *x, false);
    let fmt_count = |y: &f64| format!("{y:.0}");
    let fmt_pct = |y: &f64| format!("{:.0}%", y * 100.0);
    let mut mesh = chart.configure_mesh();
    mesh.disable_x_mesh().light_line_style(WHITE.mix(0.0));
    if text {
        mesh.x_labels(n * 2 + 1)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_count)
            .label_style(("sans-serif", 11));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    if text {
        chart
            .configure_secondary_axes()
            .y_label_formatter(&fmt_pct)
            .label_style(("sans-serif", 11))
            .draw()?;
    }
    chart.draw_series(counts.iter().enumerate().map(|(i, c)| {
        let x = i as f64;
        Rectangle::new([(x + 0.15, 0.0), (x + 0.85, *c)], PALETTE[0].filled())
    }))?;
    let mut cum = 0.0;
    let points: Vec<(f64, f64)> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cum += c;
            (i as f64 + 0.5, cum / total)
        })
        .collect();
    chart.draw_secondary_series(LineSeries::new(points.clone(), PALETTE[3].stroke_width(2)))?;
    chart.draw_secondary_series(
        points
            .into_iter()
            .map(|p| Circle::new(p, 3, PALETTE[3].filled())),
    )?;
    Ok(())
}

fn draw_conformance<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: bool,
    labels: &[String],
    rates: &[f64],
) -> DrawResult<DB> {
    let n = labels.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(label_size(text, 24))
        .y_label_area_size(label_size(text, 48))
        .build_cartesian_2d(0f64..1.0f64, 0f64..n as f64)?;
    let fmt_y = |y: &f64| centred(labels, *y, true);
    let fmt_pct = |x: &f64| format!("{:.0}%", x * 100.0);
    let mut mesh = chart.configure_mesh();
    mesh.disable_y_mesh().light_line_style(WHITE.mix(0.0));
    if text {
        mesh.y_labels(n * 2 + 1)
            .y_label_formatter(&fmt_y)
            .x_label_formatter(&fmt_pct)
            .label_style(("sans-serif", 11));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    chart.draw_series(rates.iter().enumerate().map(|(i, r)| {
        let y = (n - 1 - i) as f64;
        let color = if *r >= 0.95 {
            PALETTE[2]
        } else if *r >= 0.85 {
            PALETTE[1]
        } else {
            PALETTE[3]
        };
        Rectangle::new([(0.0, y + 0.15), (r.max(0.002), y + 0.85)], color.filled())
    }))?;
    Ok(())
}

/// Cell colour: red (0) through amber to green (100).
fn score_color(s: f64) -> RGBColor {
    let t = (s / 100.0).clamp(0.0, 1.0);
    let (a, b, u) = if t < 0.85 {
        ((214, 39, 40), (255, 190, 60), t / 0.85)
    } else {
        ((255, 190, 60), (44, 160, 44), (t - 0.85) / 0.15)
    };
    let mix = |x: u8, y: u8| (x as f64 + (y as f64 - x as f64) * u).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn draw_heatmap<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    text: bool,
    rows: &[String],
    cols: &[String],
    cells: &[Vec<Option<f64>>],
) -> DrawResult<DB> {
    let (nr, nc) = (rows.len().max(1), cols.len().max(1));
    let mut chart = ChartBuilder::on(root)
        .margin(12)
        .x_label_area_size(label_size(text, 28))
        .y_label_area_size(label_size(text, 80))
        .build_cartesian_2d(0f64..nc as f64, 0f64..nr as f64)?;
    let fmt_x = |x: &f64| centred(cols, *x, false);
    let fmt_y = |y: &f64| centred(rows, *y, true);
    let mut mesh = chart.configure_mesh();
    mesh.disable_mesh();
    if text {
        mesh.x_labels(nc * 2 + 1)
            .y_labels(nr * 2 + 1)
            .x_label_formatter(&fmt_x)
            .y_label_formatter(&fmt_y)
            .label_style(("sans-serif", 11));
    } else {
        mesh.x_labels(0).y_labels(0);
    }
    mesh.draw()?;
    for (r, row) in cells.iter().enumerate() {
        let y = (nr - 1 - r) as f64;
        for (c, cell) in row.iter().enumerate() {
            let x = c as f64;
            let fill = match cell {
                Some(s) => score_color(*s).filled(),
                None => RGBColor(235, 235, 235).filled(),
            };
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x + 0.02, y + 0.04), (x + 0.98, y + 0.96)],
                fill,
            )))?;
            if text {
                let label = cell
                    .map(|s| format!("{s:.1}"))
                    .unwrap_or_else(|| "–".into());
                let style = TextStyle::from(("sans-serif", 13).into_font()).pos(
                    plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Center,
                    ),
                );
                chart.draw_series(std::iter::once(Text::new(label, (x + 0.5, y + 0.5), style)))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_colours_run_from_red_to_green() {
        assert_eq!(score_color(0.0), RGBColor(214, 39, 40));
        assert_eq!(score_color(85.0), RGBColor(255, 190, 60));
        assert_eq!(score_color(100.0), RGBColor(44, 160, 44));
    }

    #[test]
    fn every_chart_kind_draws_shapes() {
        let charts = [
            Chart::Trend {
                months: vec!["2025-04".into(), "2025-05".into(), "2025-06".into()],
                lines: vec![Line {
                    name: "sales".into(),
                    values: vec![Some(0.9), None, Some(0.97)],
                    sample_ok: vec![false, false, true],
                }],
                targets: vec![0.95],
            },
            Chart::Pareto {
                labels: vec!["R03".into(), "R01".into()],
                counts: vec![5.0, 2.0],
            },
            Chart::Conformance {
                labels: vec!["R01".into(), "R02".into()],
                rates: vec![0.5, 1.0],
            },
            Chart::Heatmap {
                rows: vec!["sales".into()],
                cols: vec!["K1".into(), "K3".into()],
                cells: vec![vec![Some(90.0), None]],
            },
        ];
        for c in charts {
            let svg = c.svg().unwrap();
            assert!(svg.starts_with("<svg"), "{svg}");
            let shapes = svg.matches("<rect").count()
                + svg.matches("<polyline").count()
                + svg.matches("<circle").count();
            // The background plus the data marks.
            assert!(shapes >= 3, "{c:?} drew {shapes} shapes");
        }
    }
}
