//! Server-side SVG charts for the spending ledger, drawn with `plotters`' SVG backend.
//!
//! The output is one `<svg>` element meant to be inlined in an HTML page. Layout choices
//! that look odd at first sight are explained where they are made; the short version:
//! plotters only *estimates* text widths for SVG (it never loads a font), and that estimate
//! counts UTF-8 bytes, so Chinese text would be measured three times too wide. We therefore
//! size every text area ourselves and only let plotters place things by anchor.

use std::panic::{self, AssertUnwindSafe};

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// What the numbers are: decides axis/label formatting.
#[derive(Clone, Copy, Debug)]
pub enum Unit {
    MoneyFen,
    People,
    /// An evaluation score in hundredths of a point.
    ScoreCenti,
}

/// One bar/point: a label (may be Chinese, e.g. "养老服务", "2019-03") and an exact integer value
/// (fen = 1/100 yuan for MoneyFen; a head count for People).
pub struct Datum {
    pub label: String,
    pub value: i64,
}

/// Horizontal bar chart: category labels can be long Chinese strings, which read far better
/// down the left edge than squeezed or rotated under vertical bars.
pub fn bar_chart(title: &str, data: &[Datum], unit: Unit, lang_zh: bool) -> String {
    render(title, data, unit, lang_zh, Kind::Bar)
}

/// Line chart of a series over time (labels are months "2019-01"...), e.g. cumulative monthly spend.
pub fn line_chart(title: &str, data: &[Datum], unit: Unit, lang_zh: bool) -> String {
    render(title, data, unit, lang_zh, Kind::Line)
}

// The server has no CJK fonts and needs none: the browser picks the first family it has.
// Single quotes because plotters escapes attribute values and `&apos;` is the shorter form.
const FONT_STACK: &str =
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'Microsoft YaHei', 'PingFang SC', sans-serif";

// plotters-svg writes `font-size = size / 1.24` (svg.rs, draw_text), so every size we want
// to see in the browser is multiplied by this first.
const PLOTTERS_FONT_SHRINK: f64 = 1.24;

const WIDTH: u32 = 800;
// Far beyond anything legible; the cap keeps the i32 coordinate arithmetic below in range.
const MAX_POINTS: usize = 10_000;
const TITLE_PX: f64 = 18.0;
const LABEL_PX: f64 = 13.0;
const SMALL_PX: f64 = 12.0;
// Room above the plot for the title line and the "unit" caption line.
const HEADER_H: u32 = 56;

const TEXT: RGBColor = RGBColor(0x33, 0x33, 0x33);
const MUTED: RGBColor = RGBColor(0x77, 0x77, 0x77);
const GRID: RGBColor = RGBColor(0xE3, 0xE3, 0xE3);
const AXIS: RGBColor = RGBColor(0x99, 0x99, 0x99);
const BAR: RGBColor = RGBColor(0x2F, 0x6F, 0xB5);
// Negative bars (reversals) get their own colour so they are not mistaken for spending.
const BAR_NEGATIVE: RGBColor = RGBColor(0xC6, 0x3D, 0x2F);
const LINE: RGBColor = RGBColor(0x2F, 0x6F, 0xB5);

#[derive(Clone, Copy)]
enum Kind {
    Bar,
    Line,
}

/// Everything the drawing code needs, with text already cleaned for XML.
struct Prepared {
    title: String,
    labels: Vec<String>,
    values: Vec<i64>,
    unit: Unit,
    zh: bool,
    axis: AxisUnit,
}

fn render(title: &str, data: &[Datum], unit: Unit, zh: bool, kind: Kind) -> String {
    let title = clean_text(title);
    if data.is_empty() {
        let msg = if zh { "暂无数据" } else { "No data" };
        return message_svg(&title, msg);
    }
    if data.len() > MAX_POINTS {
        let msg = if zh {
            "数据点过多，无法绘图"
        } else {
            "Too many data points to chart"
        };
        return message_svg(&title, msg);
    }
    let values: Vec<i64> = data.iter().map(|d| d.value).collect();
    let max_abs = values.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let prepared = Prepared {
        title: title.clone(),
        labels: data.iter().map(|d| clean_text(&d.label)).collect(),
        values,
        unit,
        zh,
        axis: AxisUnit::choose(unit, zh, max_abs),
    };
    // Inputs are sanitised so plotters should never panic, but a chart is decoration:
    // a plotters bug on some odd input must cost one picture, not the whole request.
    // (Does not help if the final binary is built with panic = "abort".)
    let drawn = panic::catch_unwind(AssertUnwindSafe(|| match kind {
        Kind::Bar => draw_bar(&prepared),
        Kind::Line => draw_line(&prepared),
    }));
    match drawn {
        Ok(Some(svg)) => svg,
        _ => {
            let msg = if zh {
                "图表生成失败"
            } else {
                "Chart unavailable"
            };
            message_svg(&title, msg)
        }
    }
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw_bar(p: &Prepared) -> Option<String> {
    let n = p.values.len();
    // Rows shrink a little for long lists so 60+ categories stay a scrollable, not huge, image.
    let row_h: u32 = if n > 30 { 22 } else { 30 };
    let axis_h: u32 = 32;
    let height = HEADER_H + row_h.saturating_mul(n as u32) + axis_h + 12;
    let height = height.max(180);

    let max_label_px = 260.0;
    let labels: Vec<String> = p
        .labels
        .iter()
        .map(|l| fit_text(l, max_label_px, LABEL_PX))
        .collect();
    let label_area = labels
        .iter()
        .map(|l| text_px(l, LABEL_PX))
        .fold(40.0, f64::max)
        + 18.0;

    let value_texts: Vec<String> = p.values.iter().map(|&v| chart_label(v, p)).collect();
    let value_px = value_texts
        .iter()
        .map(|t| text_px(t, SMALL_PX))
        .fold(0.0, f64::max)
        + 10.0;
    let plot_w = (WIDTH as f64 - 10.0 - 24.0 - label_area).max(100.0);
    let (lo, hi) = value_range(&p.values, p.unit);
    // Value labels sit just past the end of each bar, inside the plot, so the range is
    // widened by the pixel width the labels need (as a fraction of the plot width).
    let need = (value_px / plot_w).min(0.4);
    let pos_frac = if hi > 0.0 { need } else { 0.0 };
    let neg_frac = if lo < 0.0 { need } else { 0.0 };
    let total = (hi - lo) / (1.0 - pos_frac - neg_frac);
    let (x_lo, x_hi) = (lo - total * neg_frac, hi + total * pos_frac);

    let mut buf = String::new();
    let ok = {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        let painted = paint_bar(
            &root,
            p,
            &labels,
            &value_texts,
            (x_lo, x_hi),
            label_area as u32,
            (row_h, axis_h),
        );
        painted.is_ok() && root.present().is_ok()
    };
    if !ok {
        return None;
    }
    finish_svg(&buf, WIDTH, height, p)
}

fn paint_bar<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    p: &Prepared,
    labels: &[String],
    value_texts: &[String],
    (x_lo, x_hi): (f64, f64),
    label_area: u32,
    (row_h, axis_h): (u32, u32),
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    paint_header(root, p)?;
    let n = p.values.len();
    let area = root.margin(HEADER_H, 12, 10, 24);
    // Datum i owns rows [2r, 2r+2) with r = n-1-i, so the first datum is at the top and
    // its label sits on the odd row 2r+1, the centre. Doubling keeps the category axis in
    // integers: in plotters 0.3.7 an f64 axis with custom key points cannot draw a mesh
    // (WithKeyPoints<RangedCoordf64> has no ValueFormatter; fixed upstream in
    // plotters-rs/plotters#653, unreleased), an i32 axis can.
    // Explicit key points stop plotters from picking "nice" ticks between categories.
    let rows = 2 * n as i32;
    let row_centres: Vec<i32> = (0..n as i32).map(|r| 2 * r + 1).collect();
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(axis_h)
        .y_label_area_size(label_area)
        .build_cartesian_2d(x_lo..x_hi, (0..rows).with_key_points(row_centres))?;

    let row_label = |y: &i32| {
        let r = usize::try_from(y / 2).unwrap_or(usize::MAX);
        n.checked_sub(r.saturating_add(1))
            .and_then(|i| labels.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let axis = p.axis;
    let x_fmt = |x: &f64| axis.tick(*x);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_max_light_lines(0)
        .x_labels(6)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&row_label)
        .x_label_style(font(SMALL_PX, MUTED))
        .y_label_style(font(LABEL_PX, TEXT))
        .draw()?;

    let gap = row_h / 5;
    chart.draw_series(p.values.iter().enumerate().map(|(i, &v)| {
        let row = 2 * (n - 1 - i) as i32;
        let colour = if v < 0 { BAR_NEGATIVE } else { BAR };
        let mut bar = Rectangle::new([(0.0, row), (v as f64, row + 2)], colour.filled());
        bar.set_margin(gap, gap, 0, 0);
        bar
    }))?;

    chart.draw_series(
        p.values
            .iter()
            .zip(value_texts)
            .enumerate()
            .map(|(i, (&v, text))| {
                let centre = 2 * (n - 1 - i) as i32 + 1;
                let (dx, h) = if v < 0 {
                    (-5, HPos::Right)
                } else {
                    (5, HPos::Left)
                };
                EmptyElement::at((v as f64, centre))
                    + Text::new(
                        text.clone(),
                        (dx, 0),
                        font(SMALL_PX, TEXT).pos(Pos::new(h, VPos::Center)),
                    )
            }),
    )?;

    if x_lo < 0.0 {
        // With reversals present the zero line is what the bars are read against.
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(0.0, 0), (0.0, rows)],
            AXIS.stroke_width(1),
        )))?;
    }
    Ok(())
}

fn draw_line(p: &Prepared) -> Option<String> {
    let n = p.values.len();
    let height: u32 = 420;
    let (lo, hi) = value_range(&p.values, p.unit);
    // Head-room above the line for the end-value label (and below it when negative).
    let span = hi - lo;
    let y_hi = hi + span * 0.12;
    let y_lo = if lo < 0.0 { lo - span * 0.08 } else { lo };

    // The y-axis label area has to fit the widest tick label; ticks fall inside
    // [y_lo, y_hi], so the formatted extremes are a safe upper bound.
    let y_label_area = [y_lo, y_hi]
        .iter()
        .map(|&v| text_px(&p.axis.tick(v), SMALL_PX))
        .fold(24.0, f64::max)
        + 20.0;

    let plot_w = (WIDTH as f64 - 10.0 - 30.0 - y_label_area).max(100.0);
    let widest = p
        .labels
        .iter()
        .map(|l| text_px(l, SMALL_PX))
        .fold(0.0, f64::max);
    let step = label_step(n, plot_w, widest);
    // Labels wider than the slot between two shown ticks are shortened, not overlapped.
    let slot_px = plot_w / n as f64 * step as f64 - 8.0;
    let x_labels: Vec<String> = p
        .labels
        .iter()
        .map(|l| fit_text(l, slot_px.max(24.0), SMALL_PX))
        .collect();
    let key_points: Vec<i32> = (0..n as i32).step_by(step).map(|i| 2 * i).collect();

    let mut buf = String::new();
    let ok = {
        let root = SVGBackend::with_string(&mut buf, (WIDTH, height)).into_drawing_area();
        let painted = paint_line(
            &root,
            p,
            &x_labels,
            key_points,
            (y_lo, y_hi),
            y_label_area as u32,
        );
        painted.is_ok() && root.present().is_ok()
    };
    if !ok {
        return None;
    }
    finish_svg(&buf, WIDTH, height, p)
}

fn paint_line<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    p: &Prepared,
    x_labels: &[String],
    key_points: Vec<i32>,
    (y_lo, y_hi): (f64, f64),
    y_label_area: u32,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    paint_header(root, p)?;
    let n = p.values.len();
    let area = root.margin(HEADER_H, 10, 10, 30);
    // Point i is at x = 2i, in i32 for the same ValueFormatter reason as the bar chart's
    // rows. The range runs one unit (half a step) past either end, which keeps the end
    // markers off the axes and makes a single datum a centred point, not an empty range.
    let last_x = 2 * n as i32 - 2;
    let x_range = (-1..last_x + 1).with_key_points(key_points);
    let mut chart = ChartBuilder::on(&area)
        .x_label_area_size(30)
        .y_label_area_size(y_label_area)
        .build_cartesian_2d(x_range, y_lo..y_hi)?;

    let x_fmt = |x: &i32| {
        usize::try_from(x / 2)
            .ok()
            .and_then(|i| x_labels.get(i))
            .cloned()
            .unwrap_or_default()
    };
    let axis = p.axis;
    let y_fmt = |y: &f64| axis.tick(*y);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_max_light_lines(0)
        .y_labels(6)
        .bold_line_style(GRID)
        .axis_style(AXIS)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(SMALL_PX, MUTED))
        .draw()?;

    if y_lo < 0.0 {
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(-1, 0.0), (last_x + 1, 0.0)],
            AXIS.stroke_width(1),
        )))?;
    }

    let points: Vec<(i32, f64)> = p
        .values
        .iter()
        .enumerate()
        .map(|(i, &v)| (2 * i as i32, v as f64))
        .collect();
    chart.draw_series(LineSeries::new(
        points.iter().copied(),
        LINE.stroke_width(2),
    ))?;
    let radius = if n > 36 { 2 } else { 3 };
    chart.draw_series(
        points
            .iter()
            .map(|&pt| Circle::new(pt, radius, LINE.filled())),
    )?;

    // For a cumulative series the last point is the total so far: worth stating exactly.
    if let (Some(&(x, y)), Some(&v)) = (points.last(), p.values.last()) {
        let (dy, v_pos) = if v < 0 {
            (8, VPos::Top)
        } else {
            (-8, VPos::Bottom)
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at((x, y))
                + Text::new(
                    chart_label(v, p),
                    (0, dy),
                    font(SMALL_PX, TEXT).pos(Pos::new(HPos::Right, v_pos)),
                ),
        ))?;
    }
    Ok(())
}

/// Title and unit caption, placed by anchor so the (wrong) width estimate never matters.
fn paint_header<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    p: &Prepared,
) -> DrawResult
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE)?;
    let title = fit_text(&p.title, WIDTH as f64 - 20.0, TITLE_PX);
    root.draw(&Text::new(
        title,
        (WIDTH as i32 / 2, 12),
        font_styled(TITLE_PX, TEXT, FontStyle::Bold).pos(Pos::new(HPos::Center, VPos::Top)),
    ))?;
    let caption = if p.zh {
        format!("单位：{}", p.axis.name)
    } else {
        format!("Unit: {}", p.axis.name)
    };
    root.draw(&Text::new(
        caption,
        (12, 38),
        font(SMALL_PX, MUTED).pos(Pos::new(HPos::Left, VPos::Top)),
    ))?;
    Ok(())
}

fn font(px: f64, colour: RGBColor) -> TextStyle<'static> {
    font_styled(px, colour, FontStyle::Normal)
}

fn font_styled(px: f64, colour: RGBColor, style: FontStyle) -> TextStyle<'static> {
    (
        FontFamily::Name(FONT_STACK),
        px * PLOTTERS_FONT_SHRINK,
        style,
    )
        .into_font()
        .color(&colour)
}

/// Replaces plotters' fixed-size root element with one that scales to its container and
/// carries an accessible name, and a `<desc>` listing every value for screen readers.
fn finish_svg(raw: &str, width: u32, height: u32, p: &Prepared) -> Option<String> {
    let body_start = raw.strip_prefix("<svg")?.find('>')? + "<svg".len() + 1;
    let body = raw.get(body_start..)?;
    if !body.trim_end().ends_with("</svg>") {
        return None;
    }
    let sep = if p.zh { "；" } else { "; " };
    let colon = if p.zh { "：" } else { ": " };
    let desc = p
        .labels
        .iter()
        .zip(&p.values)
        .map(|(l, &v)| format!("{l}{colon}{}", chart_label(v, p)))
        .collect::<Vec<_>>()
        .join(sep);
    Some(format!(
        "{}<desc>{}</desc>{}",
        svg_open(width, height, &p.title),
        xml_escape(&desc),
        body.trim_start()
    ))
}

fn svg_open(width: u32, height: u32, title: &str) -> String {
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" \
         width=\"100%\" style=\"height:auto\" role=\"img\" \
         preserveAspectRatio=\"xMidYMid meet\">\n<title>{}</title>\n",
        xml_escape(title)
    )
}

/// The chart used when there is nothing (or nothing drawable) to plot. Hand-written on
/// purpose: it must not depend on the crate that may just have failed.
fn message_svg(title: &str, message: &str) -> String {
    let (w, h) = (WIDTH, 160);
    format!(
        "{}<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\"/>\n\
         <text x=\"{}\" y=\"36\" text-anchor=\"middle\" font-family=\"{}\" font-size=\"{TITLE_PX}\" \
         font-weight=\"bold\" fill=\"#333333\">{}</text>\n\
         <text x=\"{}\" y=\"100\" text-anchor=\"middle\" font-family=\"{}\" font-size=\"{LABEL_PX}\" \
         fill=\"#777777\">{}</text>\n</svg>\n",
        svg_open(w, h, title),
        w / 2,
        xml_escape(FONT_STACK),
        xml_escape(title),
        w / 2,
        xml_escape(FONT_STACK),
        xml_escape(message),
    )
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Escaping alone is not enough for XML 1.0: control characters are illegal even as
/// references, and plotters passes them through, which would make the whole SVG unparsable.
fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\t' | '\n' | '\r' => ' ',
            '\u{0}'..='\u{1F}' | '\u{FFFE}' | '\u{FFFF}' => '\u{FFFD}',
            c => c,
        })
        .collect()
}

/// Rough rendered width in px. CJK glyphs are about one em wide, Latin about 0.6 em; this
/// is only used to size label areas and to decide truncation, so erring wide is fine.
fn text_px(s: &str, font_px: f64) -> f64 {
    s.chars()
        .map(|c| if (c as u32) >= 0x2E80 { 1.0 } else { 0.62 })
        .sum::<f64>()
        * font_px
}

fn fit_text(s: &str, max_px: f64, font_px: f64) -> String {
    if text_px(s, font_px) <= max_px {
        return s.to_string();
    }
    let budget = max_px - text_px("…", font_px);
    let mut out = String::new();
    let mut used = 0.0;
    for c in s.chars() {
        let w = text_px(c.encode_utf8(&mut [0; 4]), font_px);
        if used + w > budget {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Every how-many-th x label to show. Month series read best on calendar-friendly steps
/// (quarters, half-years, years), so the step is rounded up to one of those.
fn label_step(n: usize, plot_w: f64, widest_label_px: f64) -> usize {
    let per_label = widest_label_px + 16.0;
    let fits = ((plot_w / per_label).floor() as usize).max(1);
    let raw = n.div_ceil(fits).max(1);
    [1, 2, 3, 4, 6, 12, 24, 36, 60, 120]
        .into_iter()
        .find(|&s| s >= raw)
        .unwrap_or(raw)
}

/// Value range for the axis, always containing zero and never empty: plotters needs
/// start < end (an inverted f64 range hangs it, plotters-rs/plotters#358).
fn value_range(values: &[i64], unit: Unit) -> (f64, f64) {
    let lo = values.iter().copied().min().unwrap_or(0).min(0) as f64;
    let hi = values.iter().copied().max().unwrap_or(0).max(0) as f64;
    if hi > lo {
        return (lo, hi);
    }
    // All zeros: show a small positive axis (1万元 / 100 yuan / 10 people) so the zero
    // bars sit on a sensible scale.
    let span = match unit {
        Unit::MoneyFen => 1_000_000.0,
        Unit::People => 10.0,
        Unit::ScoreCenti => 10_000.0,
    };
    (0.0, span)
}

/// One display scale per chart: ticks and value labels use the same unit, so bars can be
/// compared at a glance; the unit is named once, in the caption above the plot.
#[derive(Clone, Copy)]
struct AxisUnit {
    /// Raw units (fen or people) per displayed unit.
    per_unit: i64,
    grouped: bool,
    name: &'static str,
    suffix: &'static str,
}

impl AxisUnit {
    /// Picks the scale from the largest magnitude on the chart (or, for a single value, itself).
    fn choose(unit: Unit, zh: bool, max_abs: u64) -> AxisUnit {
        let (per_unit, grouped, name, suffix) = match (unit, zh) {
            (Unit::MoneyFen, true) if max_abs >= 1_000_000 => (1_000_000, false, "万元", "万元"),
            (Unit::MoneyFen, true) => (100, true, "元", "元"),
            (Unit::MoneyFen, false) if max_abs >= 100_000_000 => {
                (100_000_000, true, "million yuan", "M yuan")
            }
            (Unit::MoneyFen, false) => (100, true, "yuan", " yuan"),
            (Unit::People, true) => (1, true, "人", "人"),
            (Unit::People, false) => (1, true, "people", ""),
            (Unit::ScoreCenti, true) => (100, false, "分", "分"),
            (Unit::ScoreCenti, false) => (100, false, "points", ""),
        };
        AxisUnit {
            per_unit,
            grouped,
            name,
            suffix,
        }
    }

    fn tick(&self, raw: f64) -> String {
        let hundredths = (raw / self.per_unit as f64 * 100.0).round();
        if !hundredths.is_finite() {
            return String::new();
        }
        fixed2(hundredths as i128, self.grouped)
    }

    /// Exact label computed from the integer, so no float rounding leaks into the numbers.
    fn label(&self, v: i64) -> String {
        let hundredths = div_round(v as i128 * 100, self.per_unit as i128);
        format!("{}{}", fixed2(hundredths, self.grouped), self.suffix)
    }
}

/// A value in the chart's common unit, unless that would show a non-zero amount as 0
/// (a few yuan on a chart in 万元); then in the value's own unit, which is never misleading.
fn chart_label(v: i64, p: &Prepared) -> String {
    let label = p.axis.label(v);
    let shown_as_zero =
        p.axis.per_unit > 1 && (v as i128 * 100).abs() * 2 < p.axis.per_unit as i128;
    if v != 0 && shown_as_zero {
        format_value(v, p.unit, p.zh)
    } else {
        label
    }
}

/// A single value in the unit that suits its own size.
fn format_value(v: i64, unit: Unit, zh: bool) -> String {
    AxisUnit::choose(unit, zh, v.unsigned_abs()).label(v)
}

/// Integer division rounding half away from zero (accounting rounding, not banker's).
fn div_round(v: i128, d: i128) -> i128 {
    let q = v / d;
    let r = v % d;
    if r.abs() * 2 >= d {
        q + v.signum()
    } else {
        q
    }
}

/// `hundredths` as a decimal with at most two places, trailing zeros dropped.
fn fixed2(hundredths: i128, grouped: bool) -> String {
    let neg = hundredths < 0;
    let abs = hundredths.unsigned_abs();
    let int = abs / 100;
    let frac = abs % 100;
    let int_part = if grouped {
        let digits = crate::text::group_thousands(&int.to_string());
        if neg && int != 0 {
            format!("-{digits}")
        } else {
            digits
        }
    } else if neg {
        format!("-{int}")
    } else {
        int.to_string()
    };
    match frac {
        0 => int_part,
        f if f.is_multiple_of(10) => format!("{int_part}.{}", f / 10),
        f => format!("{int_part}.{f:02}"),
    }
}

#[cfg(test)]
mod tests;
