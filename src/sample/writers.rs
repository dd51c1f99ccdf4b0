//! The xlsx and csv writers: one typed cell in, a number format or a text form out.

use std::fs;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{anyhow, bail};
use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{
    Color, DocProperties, ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet,
};

use super::rows::SheetCell;
use super::{CONTRACT_HEADERS, DISBURSEMENT_HEADERS, SERVICE_HEADERS};

// ---------------------------------------------------------------------------------------
// Writers
// ---------------------------------------------------------------------------------------

/// Excel's last row (1,048,576), zero-based.
pub(super) const EXCEL_LAST_ROW: u32 = 1_048_575;

#[derive(Clone, Copy)]
pub(super) enum Total {
    Yuan,
    Count,
}

pub(super) struct Sheet {
    pub(super) name: &'static str,
    pub(super) title: &'static str,
    pub(super) headers: &'static [&'static str],
    pub(super) required: &'static [&'static str],
    /// Columns the 合计 row sums.
    pub(super) totals: &'static [(usize, Total)],
    pub(super) widths: &'static [f64],
}

pub(super) const CONTRACTS: Sheet = Sheet {
    name: "项目合同",
    title: "官渡区政府购买社会组织服务项目台账",
    headers: &CONTRACT_HEADERS,
    required: &[
        "项目编号",
        "项目名称",
        "服务类别",
        "承接机构",
        "合同金额（元）",
        "开始日期",
        "结束日期",
    ],
    totals: &[(10, Total::Yuan)],
    widths: &[
        15.0, 40.0, 11.0, 34.0, 21.0, 22.0, 10.0, 12.0, 12.0, 11.0, 15.0, 12.0, 12.0, 12.0, 12.0,
        15.0,
    ],
};

pub(super) const DISBURSEMENTS: Sheet = Sheet {
    name: "拨付记录",
    title: "官渡区政府购买社会组织服务项目拨付记录",
    headers: &DISBURSEMENT_HEADERS,
    required: &["项目编号", "拨付日期", "拨付金额（元）", "凭证号"],
    totals: &[(2, Total::Yuan)],
    widths: &[15.0, 12.0, 15.0, 18.0, 10.0, 18.0, 44.0],
};

pub(super) const EVALUATIONS: Sheet = Sheet {
    name: "绩效评价",
    title: "官渡区政府购买社会组织服务项目绩效评价",
    headers: &super::EVALUATION_HEADERS,
    required: &["项目编号", "评价类型", "评价日期", "得分"],
    totals: &[],
    widths: &[
        15.0, 8.0, 30.0, 22.0, 12.0, 8.0, 8.0, 34.0, 30.0, 13.0, 13.0,
    ],
};

pub(super) const SERVICES: Sheet = Sheet {
    name: "服务统计",
    title: "官渡区政府购买社会组织服务项目服务统计",
    headers: &SERVICE_HEADERS,
    required: &["项目编号", "统计期间"],
    totals: &[(2, Total::Count), (4, Total::Count)],
    widths: &[15.0, 12.0, 14.0, 14.0, 12.0],
};

pub(super) struct Styles {
    pub(super) title: Format,
    pub(super) note: Format,
    pub(super) header: Format,
    pub(super) text: Format,
    pub(super) date: Format,
    pub(super) yuan: Format,
    pub(super) count: Format,
    pub(super) total_label: Format,
    pub(super) total_yuan: Format,
    pub(super) total_count: Format,
}

impl Styles {
    pub(super) fn new() -> Styles {
        let cell = Format::new().set_border(FormatBorder::Thin);
        let total = cell.clone().set_bold();
        Styles {
            title: Format::new()
                .set_bold()
                .set_font_size(16)
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter),
            note: Format::new()
                .set_font_size(10)
                .set_font_color(Color::RGB(0x595959)),
            header: cell
                .clone()
                .set_bold()
                .set_text_wrap()
                .set_align(FormatAlign::Center)
                .set_align(FormatAlign::VerticalCenter)
                .set_background_color(Color::RGB(0xDDEBF7)),
            text: cell.clone(),
            date: cell.clone().set_num_format("yyyy-mm-dd"),
            yuan: cell.clone().set_num_format("#,##0.00"),
            count: cell.clone().set_num_format("0"),
            total_label: total.clone().set_align(FormatAlign::Center),
            total_yuan: total.clone().set_num_format("#,##0.00"),
            total_count: total.set_num_format("0"),
        }
    }
}

/// Document properties that do not depend on the clock, so the bytes are reproducible.
pub(super) fn properties(title: &str) -> anyhow::Result<DocProperties> {
    let created = ExcelDateTime::parse_from_str("2019-12-31T09:00:00Z")?;
    Ok(DocProperties::new()
        .set_title(title)
        .set_author("procure")
        .set_comment("虚构示例数据：名称、代码和金额均为编造")
        .set_creation_datetime(&created))
}

pub(super) fn excel_date(d: NaiveDate) -> anyhow::Result<ExcelDateTime> {
    Ok(ExcelDateTime::from_ymd(
        u16::try_from(d.year())?,
        d.month() as u8,
        d.day() as u8,
    )?)
}

/// A register sheet: title, optional note line, header, records, 合计. Returns the number
/// of records. Works in constant-memory mode: every row is written once, in order.
pub(super) fn write_sheet(
    ws: &mut Worksheet,
    sheet: &Sheet,
    note: Option<&str>,
    st: &Styles,
    rows: impl Iterator<Item = Vec<SheetCell>>,
) -> anyhow::Result<u64> {
    ws.set_name(sheet.name)?;
    let last_col = (sheet.headers.len() - 1) as u16;
    for (c, w) in sheet.widths.iter().enumerate() {
        ws.set_column_width(c as u16, *w)?;
    }
    ws.set_row_height(0, 30)?;
    ws.merge_range(0, 0, 0, last_col, sheet.title, &st.title)?;
    let mut r = 1;
    if let Some(note) = note {
        ws.merge_range(1, 0, 1, last_col, note, &st.note)?;
        r = 2;
    }
    for (c, h) in sheet.headers.iter().enumerate() {
        ws.write_string_with_format(r, c as u16, *h, &st.header)?;
    }
    ws.set_freeze_panes(r + 1, 0)?;
    ws.set_repeat_rows(r, r)?;
    ws.set_landscape().set_print_fit_to_pages(1, 0);
    let mut yuan = vec![0i64; sheet.headers.len()];
    let mut counts = vec![0u64; sheet.headers.len()];
    let mut records = 0u64;
    for cells in rows {
        r += 1;
        if r >= EXCEL_LAST_ROW {
            bail!(
                "sheet {} would have more rows than Excel allows (1,048,576); write csv instead",
                sheet.name
            );
        }
        for (c, cell) in cells.iter().enumerate() {
            let col = c as u16;
            match cell {
                SheetCell::Text(s) => {
                    ws.write_string_with_format(r, col, s, &st.text)?;
                }
                SheetCell::Date(d) => {
                    ws.write_datetime_with_format(r, col, excel_date(*d)?, &st.date)?;
                }
                SheetCell::Yuan(fen) => {
                    yuan[c] += fen;
                    ws.write_number_with_format(r, col, *fen as f64 / 100.0, &st.yuan)?;
                }
                SheetCell::Count(n) => {
                    counts[c] += n;
                    ws.write_number_with_format(r, col, *n as f64, &st.count)?;
                }
                SheetCell::Month(y, m) => {
                    ws.write_string_with_format(r, col, format!("{y}年{m}月"), &st.text)?;
                }
                SheetCell::Score(c) => {
                    // Two decimals, as the yuan are shown; the f64 nearest the score.
                    ws.write_number_with_format(r, col, *c as f64 / 100.0, &st.yuan)?;
                }
                SheetCell::Blank => {
                    ws.write_blank(r, col, &st.text)?;
                }
            }
        }
        records += 1;
    }
    if sheet.totals.is_empty() {
        // A register of facts that do not add up (evaluations) has no 合计 row.
        return Ok(records);
    }
    r += 1;
    ws.write_string_with_format(r, 0, "合计", &st.total_label)?;
    for c in 1..sheet.headers.len() {
        let col = c as u16;
        match sheet.totals.iter().find(|(t, _)| *t == c) {
            Some((_, Total::Yuan)) => {
                // Exact in fen; the f64 is the one nearest to the decimal amount.
                ws.write_number_with_format(r, col, yuan[c] as f64 / 100.0, &st.total_yuan)?;
            }
            Some((_, Total::Count)) => {
                ws.write_number_with_format(r, col, counts[c] as f64, &st.total_count)?;
            }
            None => {
                ws.write_blank(r, col, &st.total_label)?;
            }
        }
    }
    Ok(records)
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Encoding {
    Utf8,
    /// UTF-8 with a byte-order mark, which Excel needs to open a csv as UTF-8.
    Utf8Bom,
    /// GBK, as Chinese Excel's "CSV (逗号分隔)" saves.
    Gbk,
}

pub(super) fn create(path: &Path) -> anyhow::Result<BufWriter<fs::File>> {
    let f = fs::File::create(path).map_err(|e| anyhow!("cannot write {}: {e}", path.display()))?;
    Ok(BufWriter::new(f))
}

/// Header and records only: no title, no total. Amounts as `1234.50`, dates as `2019-06-25`.
pub(super) fn write_csv(
    path: &Path,
    encoding: Encoding,
    headers: &[&str],
    rows: impl Iterator<Item = Vec<SheetCell>>,
) -> anyhow::Result<()> {
    let fail = |e: &dyn std::fmt::Display| anyhow!("cannot write {}: {e}", path.display());
    let mut out = create(path)?;
    let mut body: Vec<u8> = Vec::new();
    {
        let sink: &mut dyn Write = if encoding == Encoding::Gbk {
            &mut body
        } else {
            if encoding == Encoding::Utf8Bom {
                out.write_all("\u{feff}".as_bytes()).map_err(|e| fail(&e))?;
            }
            &mut out
        };
        let mut w = csv::WriterBuilder::new()
            .terminator(csv::Terminator::CRLF)
            .from_writer(sink);
        w.write_record(headers).map_err(|e| fail(&e))?;
        for cells in rows {
            w.write_record(cells.iter().map(SheetCell::text))
                .map_err(|e| fail(&e))?;
        }
        w.flush().map_err(|e| fail(&e))?;
    }
    if encoding == Encoding::Gbk {
        let text = String::from_utf8(body).map_err(|e| fail(&e))?;
        let (bytes, _, unmappable) = encoding_rs::GBK.encode(&text);
        if unmappable {
            bail!(
                "cannot write {}: a character has no GBK code",
                path.display()
            );
        }
        out.write_all(&bytes).map_err(|e| fail(&e))?;
    }
    out.flush().map_err(|e| fail(&e))
}

pub(super) fn save(wb: &mut Workbook, path: &Path) -> anyhow::Result<()> {
    wb.save(path)
        .map_err(|e| anyhow!("cannot write {}: {e}", path.display()))
}

pub(super) fn make_dir(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).map_err(|e| anyhow!("cannot create folder {}: {e}", dir.display()))
}
