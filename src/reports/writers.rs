//! Report writers: CSV for Excel, XLSX, JSON and an aligned terminal table.

use rust_xlsxwriter::{
    DocProperties, ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError,
};

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
    let mut out = csv_head(report)?;
    out.extend(csv_rows(report.rows.iter().chain(report.total.iter()))?);
    out.extend(csv_tail(report)?);
    Ok(out)
}

// Flexible: the dates and statement rows below the table have one cell, and a strict
// writer refuses to end such a row (it did, silently, before this was set).
fn csv_writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .flexible(true)
        .from_writer(out)
}

/// The start of [`csv`]: the BOM and the header row. With [`csv_rows`] and [`csv_tail`] a
/// report too long to hold (the audit trail) is written a page of rows at a time, in the
/// same bytes.
pub fn csv_head(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut out = vec![0xEF, 0xBB, 0xBF];
    {
        let mut w = csv_writer(&mut out);
        w.write_record(report.columns.iter().map(|c| c.label(report.lang)))?;
        w.flush()?;
    }
    Ok(out)
}

/// Rows of [`csv`], text defused.
pub fn csv_rows<'a>(rows: impl Iterator<Item = &'a Vec<Val>>) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::new();
    {
        let mut w = csv_writer(&mut out);
        for row in rows {
            w.write_record(row.iter().map(csv_cell))?;
        }
        w.flush()?;
    }
    Ok(out)
}

/// The end of [`csv`]: the title and dates, and the statement.
pub fn csv_tail(report: &Report) -> Result<Vec<u8>, csv::Error> {
    let mut out = Vec::new();
    {
        let mut w = csv_writer(&mut out);
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

/// The cell formats of a report's sheet.
struct XlsxFormats {
    bold: Format,
    head: Format,
    yuan: Format,
    yuan_bold: Format,
    int: Format,
    int_bold: Format,
}

impl XlsxFormats {
    fn new() -> Self {
        XlsxFormats {
            bold: Format::new().set_bold(),
            head: Format::new()
                .set_bold()
                .set_background_color("#DDEBF7")
                .set_align(FormatAlign::Center),
            yuan: Format::new().set_num_format("#,##0.00"),
            yuan_bold: Format::new().set_num_format("#,##0.00").set_bold(),
            int: Format::new().set_num_format("#,##0"),
            int_bold: Format::new().set_num_format("#,##0").set_bold(),
        }
    }
}

/// The workbook's properties: the title, and "created" on the as-of date so that the same
/// report gives the same bytes.
fn xlsx_properties(report: &Report, sha256: &str) -> Result<DocProperties, XlsxError> {
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
        .set_custom_property("content_sha256", sha256);
    if let Some(r) = report.as_recorded {
        props = props.set_custom_property("as_recorded", r.to_string().as_str());
    }
    Ok(props)
}

/// The title, the statement and the header row; the header's row and the columns' widths
/// so far.
fn xlsx_frame(
    ws: &mut Worksheet,
    report: &Report,
    f: &XlsxFormats,
) -> Result<(u32, Vec<usize>), XlsxError> {
    let lang = report.lang;
    let text = |s: &str| excel_text(s, lang).into_owned();
    ws.set_name(report.name)?;
    ws.write_string_with_format(
        0,
        0,
        text(&format!("{}  {}", report.title(), report.dates_line())),
        &f.bold,
    )?;
    let mut r = 1u32;
    if let Some(s) = &report.statement {
        ws.write_string(r, 0, text(s))?;
        r += 1;
    }
    let widths: Vec<usize> = report
        .columns
        .iter()
        .map(|c| UnicodeWidthStr::width(c.label(report.lang)))
        .collect();
    for (i, c) in report.columns.iter().enumerate() {
        ws.write_string_with_format(r, i as u16, text(c.label(lang)), &f.head)?;
    }
    Ok((r, widths))
}

fn xlsx_row(
    ws: &mut Worksheet,
    r: u32,
    row: &[Val],
    is_total: bool,
    f: &XlsxFormats,
    widths: &mut [usize],
    lang: Lang,
) -> Result<(), XlsxError> {
    let text = |s: &str| excel_text(s, lang).into_owned();
    for (i, v) in row.iter().enumerate() {
        let col = i as u16;
        if let Some(w) = widths.get_mut(i) {
            *w = (*w).max(UnicodeWidthStr::width(v.plain().as_str()));
        }
        match (v, excel_number(v)) {
            (Val::Money(_), Some(x)) => {
                ws.write_number_with_format(
                    r,
                    col,
                    x,
                    if is_total { &f.yuan_bold } else { &f.yuan },
                )?;
            }
            (Val::Int(_), Some(x)) => {
                ws.write_number_with_format(
                    r,
                    col,
                    x,
                    if is_total { &f.int_bold } else { &f.int },
                )?;
            }
            (Val::Pct(_), Some(x)) => {
                ws.write_number_with_format(r, col, x, &f.yuan)?;
            }
            (Val::Empty | Val::Pct(None) | Val::Date(None), _) => {}
            _ if is_total => {
                ws.write_string_with_format(r, col, text(&v.plain()), &f.bold)?;
            }
            _ => {
                ws.write_string(r, col, text(&v.plain()))?;
            }
        }
    }
    Ok(())
}

fn xlsx_end(ws: &mut Worksheet, header_row: u32, widths: &[usize]) -> Result<(), XlsxError> {
    for (i, w) in widths.iter().enumerate() {
        ws.set_column_width(i as u16, (*w as f64 + 2.0).clamp(6.0, 60.0))?;
    }
    ws.set_freeze_panes(header_row + 1, 0)?;
    Ok(())
}

pub fn xlsx(report: &Report) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    wb.set_properties(&xlsx_properties(report, &content_sha256(report))?);
    let ws = wb.add_worksheet();
    let f = XlsxFormats::new();
    let (header_row, mut widths) = xlsx_frame(ws, report, &f)?;
    let mut r = header_row;
    let rows = report
        .rows
        .iter()
        .map(|row| (row, false))
        .chain(report.total.iter().map(|t| (t, true)));
    for (row, is_total) in rows {
        r += 1;
        xlsx_row(ws, r, row, is_total, &f, &mut widths, report.lang)?;
    }
    xlsx_end(ws, header_row, &widths)?;
    wb.save_to_buffer()
}

/// A report's XLSX written a page of rows at a time, for a report too long to hold (the
/// audit trail): the sheet is kept in a temporary file (the writer's constant-memory mode)
/// and the content hash is taken as the rows pass. The cells are those of [`xlsx`], its
/// strings stored inline rather than in a shared table. The frame is the report without
/// rows or total.
pub struct XlsxStream {
    wb: Workbook,
    frame: Report,
    formats: XlsxFormats,
    header_row: u32,
    row: u32,
    widths: Vec<usize>,
    hash: Sha256,
    /// The content document after its rows (the hash is of the whole document).
    after_rows: String,
    first: bool,
}

impl XlsxStream {
    pub fn new(frame: Report) -> Result<XlsxStream, XlsxError> {
        let doc = content(&frame).to_string();
        // Inside a JSON string a quote is escaped, so this is the rows' own key.
        let at = doc
            .find("\"rows\":[]")
            .map(|i| i + "\"rows\":[".len())
            .ok_or_else(|| XlsxError::ParameterError("a report frame without rows".into()))?;
        let mut hash = Sha256::new();
        hash.update(&doc.as_bytes()[..at]);
        let mut wb = Workbook::new();
        let formats = XlsxFormats::new();
        let ws = wb.add_worksheet_with_constant_memory()?;
        let (header_row, widths) = xlsx_frame(ws, &frame, &formats)?;
        Ok(XlsxStream {
            wb,
            after_rows: doc[at..].to_string(),
            frame,
            formats,
            header_row,
            row: header_row,
            widths,
            hash,
            first: true,
        })
    }

    pub fn rows<'a>(&mut self, rows: impl Iterator<Item = &'a Vec<Val>>) -> Result<(), XlsxError> {
        let ws = self.wb.worksheet_from_index(0)?;
        for row in rows {
            if !self.first {
                self.hash.update(b",");
            }
            self.first = false;
            self.hash
                .update(json_row(&self.frame, row).to_string().as_bytes());
            self.row += 1;
            xlsx_row(
                ws,
                self.row,
                row,
                false,
                &self.formats,
                &mut self.widths,
                self.frame.lang,
            )?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Result<Vec<u8>, XlsxError> {
        self.hash.update(self.after_rows.as_bytes());
        let sha256 = hex::encode(self.hash.finalize());
        self.wb
            .set_properties(&xlsx_properties(&self.frame, &sha256)?);
        let ws = self.wb.worksheet_from_index(0)?;
        xlsx_end(ws, self.header_row, &self.widths)?;
        self.wb.save_to_buffer()
    }
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
