//! Report writers: CSV for Excel, XLSX, JSON and an aligned terminal table.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook};

use chrono::Datelike;
use serde_json::{json, Map, Value as Json};
use sha2::{Digest, Sha256};
use unicode_width::UnicodeWidthStr;

use super::table::{Report, Val};
use crate::Lang;

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    Table,
    Csv,
    Xlsx,
    Json,
}

impl OutputFormat {
    pub fn extension(self) -> &'static str {
        match self {
            OutputFormat::Table => "txt",
            OutputFormat::Csv => "csv",
            OutputFormat::Xlsx => "xlsx",
            OutputFormat::Json => "json",
        }
    }
}

/// A report that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("cannot write the CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the XLSX: {0}")]
    Xlsx(#[from] rust_xlsxwriter::XlsxError),
}

pub fn write(report: &Report, format: OutputFormat) -> Result<Vec<u8>, WriteError> {
    Ok(match format {
        OutputFormat::Table => table(report).into_bytes(),
        OutputFormat::Csv => csv(report)?,
        OutputFormat::Json => {
            let mut s = serde_json::to_string_pretty(&json_doc(report)).unwrap_or_default();
            s.push('\n');
            s.into_bytes()
        }
        OutputFormat::Xlsx => xlsx(report)?,
    })
}

/// A text cell Excel would run as a formula gets a leading apostrophe (OWASP CSV injection).
/// Invisible characters in front (a byte-order mark, zero-width spaces) do not hide the
/// formula from Excel, so they do not hide it from this check either.
fn defuse(s: &str) -> String {
    let visible =
        s.trim_start_matches(['\u{feff}', '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}']);
    match visible.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn csv_cell(v: &Val) -> String {
    match v {
        Val::Text(s) => defuse(s),
        other => other.plain(),
    }
}

/// UTF-8 with BOM (so Excel reads the Chinese), CRLF, header row, rows, total row, then the
/// dates (and the statement) as single-cell rows.
pub fn csv(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        // Flexible: the dates and statement rows below the table have one cell, and a
        // strict writer refuses to end such a row (it did, silently, before this was set).
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .flexible(true)
            .from_writer(&mut out);
        let header: Vec<&str> = report
            .columns
            .iter()
            .map(|c| c.label(report.lang))
            .collect();
        w.write_record(&header)?;
        for row in report.rows.iter().chain(report.total.iter()) {
            w.write_record(row.iter().map(csv_cell))?;
        }
        w.write_record([defuse(&format!(
            "{} {}",
            report.title(),
            report.dates_line()
        ))])?;
        if let Some(s) = &report.statement {
            w.write_record([defuse(s)])?;
        }
        w.flush()?;
    }
    Ok(out)
}

fn json_val(v: &Val) -> Json {
    serde_json::to_value(v).unwrap_or(Json::Null)
}

fn json_row(report: &Report, row: &[Val]) -> Json {
    let mut m = Map::new();
    for (c, v) in report.columns.iter().zip(row) {
        m.insert(
            c.key.to_string(),
            if *v == Val::Empty {
                Json::Null
            } else {
                json_val(v)
            },
        );
    }
    Json::Object(m)
}

/// The report without its hash; the hash is the SHA-256 of this document's compact form.
fn content(report: &Report) -> Json {
    json!({
        "report": report.name,
        "title": report.title(),
        "as_of": report.as_of.to_string(),
        "from": report.from.map(|d| d.to_string()),
        "as_recorded": report.as_recorded.map(|d| d.to_string()),
        "statement": report.statement,
        "columns": report.columns.iter().map(|c| json!({"key": c.key, "label": c.label(report.lang)})).collect::<Vec<_>>(),
        "rows": report.rows.iter().map(|r| json_row(report, r)).collect::<Vec<_>>(),
        "total": report.total.as_ref().map(|t| json_row(report, t)),
    })
}

/// SHA-256 of the report's content: the same figures give the same hash in every format.
pub fn content_sha256(report: &Report) -> String {
    hex::encode(Sha256::digest(content(report).to_string().as_bytes()))
}

pub fn json_doc(report: &Report) -> Json {
    let mut doc = content(report);
    doc["sha256"] = Json::String(content_sha256(report));
    doc
}

/// An amount as the number an Excel cell holds; the cell's format shows it to the fen.
fn excel_number(v: &Val) -> Option<f64> {
    match v {
        Val::Money(m) => m.to_string().parse().ok(),
        Val::Int(i) => Some(*i as f64),
        Val::Pct(Some(p)) => p.to_string().parse().ok(),
        _ => None,
    }
}

/// The most a cell of Excel holds: 32,767 characters (UTF-16 units, as Excel counts them).
const EXCEL_CELL_MAX: usize = 32_767;

/// Text as an Excel cell can hold it: a longer value (an old ledger may hold one; imports now
/// refuse them) is cut, with a marker that says so and how long it was, instead of failing
/// the whole export.
fn excel_text(s: &str, lang: Lang) -> std::borrow::Cow<'_, str> {
    if s.len() <= EXCEL_CELL_MAX || s.encode_utf16().count() <= EXCEL_CELL_MAX {
        return s.into();
    }
    let chars = s.chars().count();
    let marker = match lang {
        Lang::Zh => format!("…〔已截断：原文共 {chars} 个字符〕"),
        Lang::En => format!("… [cut: {chars} characters in all]"),
    };
    let room = EXCEL_CELL_MAX - marker.encode_utf16().count();
    let mut used = 0;
    let end = s
        .char_indices()
        .find(|(_, c)| {
            used += c.len_utf16();
            used > room
        })
        .map_or(s.len(), |(i, _)| i);
    format!("{}{marker}", &s[..end]).into()
}

pub fn xlsx(report: &Report) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let lang = report.lang;
    let text = |s: &str| excel_text(s, lang).into_owned();
    let mut wb = Workbook::new();
    // Created "on" the as-of date, so the same report gives the same bytes.
    let created = ExcelDateTime::from_ymd(
        report.as_of.year() as u16,
        report.as_of.month() as u8,
        report.as_of.day() as u8,
    )?;
    let mut props = DocProperties::new()
        .set_title(report.title())
        .set_author("procure")
        .set_creation_datetime(&created)
        .set_custom_property("as_of", report.as_of.to_string().as_str())
        .set_custom_property("content_sha256", content_sha256(report).as_str());
    if let Some(r) = report.as_recorded {
        props = props.set_custom_property("as_recorded", r.to_string().as_str());
    }
    wb.set_properties(&props);
    let ws = wb.add_worksheet();
    ws.set_name(report.name)?;
    let bold = Format::new().set_bold();
    let head = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_align(FormatAlign::Center);
    let yuan = Format::new().set_num_format("#,##0.00");
    let yuan_bold = Format::new().set_num_format("#,##0.00").set_bold();
    let int = Format::new().set_num_format("#,##0");
    let int_bold = Format::new().set_num_format("#,##0").set_bold();
    ws.write_string_with_format(
        0,
        0,
        text(&format!("{}  {}", report.title(), report.dates_line())),
        &bold,
    )?;
    let mut r = 1u32;
    if let Some(s) = &report.statement {
        ws.write_string(r, 0, text(s))?;
        r += 1;
    }
    let header_row = r;
    let mut widths: Vec<usize> = report
        .columns
        .iter()
        .map(|c| UnicodeWidthStr::width(c.label(report.lang)))
        .collect();
    for (i, c) in report.columns.iter().enumerate() {
        ws.write_string_with_format(header_row, i as u16, text(c.label(lang)), &head)?;
    }
    let rows = report
        .rows
        .iter()
        .map(|row| (row, false))
        .chain(report.total.iter().map(|t| (t, true)));
    for (row, is_total) in rows {
        r += 1;
        for (i, v) in row.iter().enumerate() {
            let col = i as u16;
            widths[i] = widths[i].max(UnicodeWidthStr::width(v.plain().as_str()));
            match (v, excel_number(v)) {
                (Val::Money(_), Some(x)) => {
                    ws.write_number_with_format(
                        r,
                        col,
                        x,
                        if is_total { &yuan_bold } else { &yuan },
                    )?;
                }
                (Val::Int(_), Some(x)) => {
                    ws.write_number_with_format(
                        r,
                        col,
                        x,
                        if is_total { &int_bold } else { &int },
                    )?;
                }
                (Val::Pct(_), Some(x)) => {
                    ws.write_number_with_format(r, col, x, &yuan)?;
                }
                (Val::Empty | Val::Pct(None) | Val::Date(None), _) => {}
                _ if is_total => {
                    ws.write_string_with_format(r, col, text(&v.plain()), &bold)?;
                }
                _ => {
                    ws.write_string(r, col, text(&v.plain()))?;
                }
            }
        }
    }
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (*w as f64 + 2.0).clamp(6.0, 60.0))?;
    }
    ws.set_freeze_panes(header_row + 1, 0)?;
    wb.save_to_buffer()
}

/// An aligned table for the terminal; Chinese characters take two columns.
pub fn table(report: &Report) -> String {
    let lang = report.lang;
    let header: Vec<String> = report
        .columns
        .iter()
        .map(|c| c.label(lang).to_string())
        .collect();
    let body: Vec<(Vec<String>, &Vec<Val>)> = report
        .rows
        .iter()
        .chain(report.total.iter())
        .map(|r| (r.iter().map(Val::plain).collect(), r))
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for (cells, _) in &body {
        for (i, c) in cells.iter().enumerate() {
            widths[i] = widths[i].max(c.width());
        }
    }
    let pad = |s: &str, w: usize, right: bool| {
        let fill = " ".repeat(w.saturating_sub(s.width()));
        if right {
            format!("{fill}{s}")
        } else {
            format!("{s}{fill}")
        }
    };
    let mut out = format!("{}  {}\n", report.title(), report.dates_line());
    if let Some(s) = &report.statement {
        out.push_str(s);
        out.push('\n');
    }
    let line = |cells: Vec<String>| cells.join("  ").trim_end().to_string() + "\n";
    out.push_str(&line(
        header
            .iter()
            .enumerate()
            .map(|(i, h)| pad(h, widths[i], false))
            .collect(),
    ));
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    let n = body.len();
    for (k, (cells, vals)) in body.into_iter().enumerate() {
        if report.total.is_some() && k + 1 == n {
            out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
        }
        out.push_str(&line(
            cells
                .iter()
                .enumerate()
                .map(|(i, c)| pad(c, widths[i], vals[i].is_numeric()))
                .collect(),
        ));
    }
    if lang == Lang::Zh && report.name == "beneficiaries" {
        out.push_str("注：同一人接受两个项目的服务计为两人。\n");
    } else if report.name == "beneficiaries" {
        out.push_str("Note: a person served by two contracts counts twice.\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_past_excel_cell_limit_is_cut_with_a_marker() {
        let short = "居家养老".repeat(10);
        assert_eq!(excel_text(&short, Lang::Zh), short);
        let exact = "a".repeat(EXCEL_CELL_MAX);
        assert_eq!(excel_text(&exact, Lang::En), exact);
        for (long, lang) in [
            ("居".repeat(40_000), Lang::Zh),
            ("a".repeat(EXCEL_CELL_MAX + 1), Lang::En),
            // Outside the BMP: two UTF-16 units each, as Excel counts them.
            ("😀".repeat(20_000), Lang::En),
        ] {
            let cut = excel_text(&long, lang);
            let units = cut.encode_utf16().count();
            assert!(units <= EXCEL_CELL_MAX, "{units}");
            assert!(units > EXCEL_CELL_MAX - 50, "{units}");
            let marker = match lang {
                Lang::Zh => format!("〔已截断：原文共 {} 个字符〕", long.chars().count()),
                Lang::En => format!("[cut: {} characters in all]", long.chars().count()),
            };
            assert!(cut.ends_with(&marker), "{}", &cut[cut.len() - 80..]);
            assert!(long.starts_with(cut.trim_end_matches(&marker).trim_end_matches(['…', ' '])));
        }
    }

    #[test]
    fn formula_like_text_is_defused() {
        for s in [
            "=SUM(A1)",
            "+1",
            "-1",
            "@x",
            "\tx",
            "\rx",
            "\u{feff}=HYPERLINK(\"x\")",
            "\u{200b}+1",
        ] {
            assert!(defuse(s).starts_with('\''), "{s}");
        }
        assert_eq!(defuse("居家养老"), "居家养老");
    }
}
