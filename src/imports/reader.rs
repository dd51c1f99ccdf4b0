//! Reads a file's sheets row by row into [`Cell`]s, whatever its format: xlsx/xlsm and xlsb
//! stream through calamine's cells readers (no bounding-box allocation of the declared grid),
//! xls and ods through `worksheet_range` after the guard has checked their sizes, CSV/TSV
//! through the csv crate after the encoding is detected.

use std::borrow::Cow;
use std::io::{Read, Seek};

use calamine::{Data, DataRef, Reader};

use super::guard::FileFormat;
use super::source::Content;
use crate::register::cells::Cell;

/// Cells beyond this column are ignored: no register has 512 columns, and a crafted sheet
/// with a cell at XFD1 must not make every row 16,384 cells wide.
pub const MAX_COLUMNS: u32 = 512;

/// Receives a file's rows. Returning `false` from `row` stops the current sheet.
pub trait RowSink {
    /// `last`: no sheet follows this one.
    fn begin_sheet(&mut self, name: &str, last: bool);
    /// `row` is 0-based; `cells` are indexed by 0-based column.
    fn row(&mut self, row: u32, cells: Vec<Cell>) -> bool;
    fn end_sheet(&mut self);
    /// Asked after `end_sheet`: read the sheet again from its start once every other sheet
    /// is read. The parser puts off a payments sheet that other sheets follow, so that its
    /// payments can be stored as they are read, after the contracts they pay (which may be
    /// on a later sheet, as in the sample register).
    fn read_later(&mut self) -> bool {
        false
    }
}

/// Reads the sheets `names` with `read` (which gives the sheet's rows and ends it) in the
/// workbook's order, then those the sink put off (see [`RowSink::read_later`]) in theirs;
/// `last` is true for the sheet read last.
fn in_order<S: RowSink>(
    names: &[String],
    sink: &mut S,
    mut read: impl FnMut(&str, &mut S) -> Result<(), ReadError>,
) -> Result<(), ReadError> {
    let mut later = Vec::new();
    for (i, name) in names.iter().enumerate() {
        sink.begin_sheet(name, i + 1 == names.len());
        read(name, sink)?;
        if sink.read_later() {
            later.push(name);
        }
    }
    for (i, name) in later.iter().enumerate() {
        sink.begin_sheet(name, i + 1 == later.len());
        read(name, sink)?;
    }
    Ok(())
}

/// Why a file could not be read at all, in both languages.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{en}")]
pub struct ReadError {
    pub en: String,
    pub zh: String,
}

impl ReadError {
    fn io(e: std::io::Error) -> ReadError {
        ReadError {
            en: format!("the file cannot be read: {e}"),
            zh: format!("文件无法读取：{e}"),
        }
    }

    fn workbook(e: impl std::fmt::Display) -> ReadError {
        ReadError {
            en: format!("the workbook cannot be read: {e}"),
            zh: format!("无法读取工作簿：{e}"),
        }
    }
}

fn from_data(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Float(f) => Cell::Number(*f),
        Data::Int(i) => Cell::Int(*i),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) => date_cell(dt),
        Data::DateTimeIso(s) => Cell::DateIso(s.clone()),
        Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

fn from_ref(d: DataRef<'_>) -> Cell {
    match d {
        DataRef::Empty => Cell::Empty,
        DataRef::String(s) => Cell::Text(s),
        DataRef::SharedString(s) => Cell::Text(s.to_string()),
        DataRef::Float(f) => Cell::Number(f),
        DataRef::Int(i) => Cell::Int(i),
        DataRef::Bool(b) => Cell::Bool(b),
        DataRef::DateTime(dt) => date_cell(&dt),
        DataRef::DateTimeIso(s) => Cell::DateIso(s),
        DataRef::DurationIso(s) => Cell::Text(s),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    }
}

fn date_cell(dt: &calamine::ExcelDateTime) -> Cell {
    if dt.is_duration() {
        return Cell::Number(dt.as_f64());
    }
    // calamine knows the workbook's 1900/1904 system; it reports Excel's phantom
    // 1900-02-29 as such, which chrono rightly refuses.
    let (y, m, d, ..) = dt.to_ymd_hms_milli();
    match chrono::NaiveDate::from_ymd_opt(i32::from(y), u32::from(m), u32::from(d)) {
        Some(date) => Cell::Date(date),
        None => Cell::Error(format!("{y}-{m}-{d}")),
    }
}

/// Groups a stream of (row, col, cell) in row order into rows.
struct RowBuilder<'s, S: RowSink> {
    sink: &'s mut S,
    row: Option<u32>,
    cells: Vec<Cell>,
    stopped: bool,
}

impl<'s, S: RowSink> RowBuilder<'s, S> {
    fn new(sink: &'s mut S) -> Self {
        RowBuilder {
            sink,
            row: None,
            cells: Vec::new(),
            stopped: false,
        }
    }

    fn push(&mut self, row: u32, col: u32, cell: Cell) {
        if self.stopped || col >= MAX_COLUMNS {
            return;
        }
        if self.row != Some(row) {
            self.flush();
            self.row = Some(row);
        }
        if matches!(cell, Cell::Empty) {
            return;
        }
        let col = col as usize;
        if self.cells.len() <= col {
            self.cells.resize(col + 1, Cell::Empty);
        }
        self.cells[col] = cell;
    }

    fn flush(&mut self) {
        if let Some(r) = self.row.take() {
            let cells = std::mem::take(&mut self.cells);
            if !self.stopped && !self.sink.row(r, cells) {
                self.stopped = true;
            }
        }
    }
}

/// Streams every sheet of an xlsx or xlsb workbook cell by cell. A macro because the two
/// cells readers share a method but no trait.
macro_rules! stream_cells {
    ($wb:ident, $sink:ident) => {{
        let mut wb = $wb;
        let names = wb.sheet_names();
        in_order(&names, $sink, |name, sink| {
            let mut reader = wb
                .worksheet_cells_reader(name)
                .map_err(ReadError::workbook)?;
            let mut rows = RowBuilder::new(sink);
            while let Some(cell) = reader.next_cell().map_err(ReadError::workbook)? {
                let (r, c) = cell.get_position();
                rows.push(r, c, from_ref(cell.get_value().clone()));
                if rows.stopped {
                    break;
                }
            }
            rows.flush();
            sink.end_sheet();
            Ok(())
        })?;
    }};
}

/// Reads every sheet of `content` (already inspected by the guard) into `sink`.
pub fn read<S: RowSink>(
    content: Content<'_>,
    format: FileFormat,
    file_name: &str,
    sink: &mut S,
) -> Result<(), ReadError> {
    let source = || content.open().map_err(ReadError::io);
    match format {
        FileFormat::Xlsx => {
            let wb = calamine::Xlsx::new(source()?).map_err(ReadError::workbook)?;
            stream_cells!(wb, sink);
        }
        FileFormat::Xlsb => {
            let wb = calamine::Xlsb::new(source()?).map_err(ReadError::workbook)?;
            stream_cells!(wb, sink);
        }
        FileFormat::Xls => {
            let wb = calamine::Xls::new(source()?).map_err(ReadError::workbook)?;
            read_ranges(wb, sink)?;
        }
        FileFormat::Ods => {
            let wb = calamine::Ods::new(source()?).map_err(ReadError::workbook)?;
            read_ranges(wb, sink)?;
        }
        FileFormat::Csv => read_csv(content, file_name, sink)?,
    }
    Ok(())
}

/// Formats without a streaming reader: each sheet's range, which the guard has bounded.
fn read_ranges<RS, R, S>(mut wb: R, sink: &mut S) -> Result<(), ReadError>
where
    RS: std::io::Read + std::io::Seek,
    R: Reader<RS>,
    R::Error: std::fmt::Display,
    S: RowSink,
{
    let names = wb.sheet_names();
    in_order(&names, sink, |name, sink| {
        let range = wb.worksheet_range(name).map_err(ReadError::workbook)?;
        let (r0, c0) = range.start().unwrap_or((0, 0));
        let mut rows = RowBuilder::new(sink);
        for (i, row) in range.rows().enumerate() {
            for (j, d) in row.iter().enumerate() {
                rows.push(r0 + i as u32, c0 + j as u32, from_data(d));
            }
            if rows.stopped {
                break;
            }
        }
        rows.flush();
        sink.end_sheet();
        Ok(())
    })
}

/// Text of a CSV file: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "Unicode text"),
/// else GB18030, the superset of the GBK that Chinese Excel writes.
/// UTF-8 text is borrowed, not copied: a million-row CSV is 60 MB.
pub fn decode_text(bytes: &[u8]) -> Result<(Cow<'_, str>, &'static str), ReadError> {
    if let Some((enc, bom_len)) = encoding_rs::Encoding::for_bom(bytes) {
        let (text, had_errors) = enc.decode_without_bom_handling(&bytes[bom_len..]);
        if had_errors {
            return Err(bad_encoding(enc.name()));
        }
        return Ok((text, enc.name()));
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((Cow::Borrowed(s), "UTF-8"));
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(bytes);
    if had_errors {
        return Err(bad_encoding("GB18030"));
    }
    Ok((text, "GB18030"))
}

fn bad_encoding(enc: &str) -> ReadError {
    ReadError {
        en: format!("the text is neither UTF-8 nor GBK (invalid {enc} bytes); save it as CSV UTF-8 or an Excel workbook"),
        zh: format!("文本编码无法识别（{enc} 解码失败）：请另存为“CSV UTF-8”或 Excel 工作簿"),
    }
}

/// Comma, tab or semicolon: whichever the first non-blank line has most of.
fn delimiter(text: &str) -> u8 {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let counts = [
        (b'\t', line.matches('\t').count()),
        (b';', line.matches(';').count()),
        (b',', line.matches(',').count()),
    ];
    counts
        .iter()
        .max_by_key(|(_, n)| *n)
        .filter(|(_, n)| *n > 0)
        .map(|(d, _)| *d)
        .unwrap_or(b',')
}

/// A CSV in UTF-8 on disk is read from disk as it is parsed (the fingerprint checked every
/// byte is UTF-8); any other is decoded whole first (see [`decode_text`]).
fn read_csv<S: RowSink>(
    content: Content<'_>,
    file_name: &str,
    sink: &mut S,
) -> Result<(), ReadError> {
    let sheet = std::path::Path::new(file_name)
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| file_name.to_string());
    if let Content::Disk { print, .. } = content {
        if print.utf8 {
            let mut source = content.open().map_err(ReadError::io)?;
            // The delimiter is judged by the first non-blank line, which the first 64 KiB
            // hold in any register (a character cut at the end is left out); then the same
            // reader goes back to the start.
            let mut head = Vec::with_capacity(64 << 10);
            (&mut source)
                .take(64 << 10)
                .read_to_end(&mut head)
                .map_err(ReadError::io)?;
            let head = match std::str::from_utf8(&head) {
                Ok(s) => s,
                Err(e) => std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or(""),
            };
            let (text, bom) = match head.strip_prefix('\u{feff}') {
                Some(text) => (text, 3),
                None => (head, 0),
            };
            let delimiter = delimiter(text);
            source
                .seek(std::io::SeekFrom::Start(bom))
                .map_err(ReadError::io)?;
            return read_records(source, delimiter, &sheet, sink);
        }
    }
    let bytes = content.whole().map_err(ReadError::io)?;
    let (text, _) = decode_text(&bytes)?;
    read_records(text.as_bytes(), delimiter(&text), &sheet, sink)
}

fn read_records<S: RowSink>(
    text: impl std::io::Read,
    delimiter: u8,
    sheet: &str,
    sink: &mut S,
) -> Result<(), ReadError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text);
    sink.begin_sheet(sheet, true);
    let mut record = csv::StringRecord::new();
    let mut row = 0u32;
    loop {
        match rdr.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {
                let cells = record
                    .iter()
                    .take(MAX_COLUMNS as usize)
                    .map(|f| {
                        if f.is_empty() {
                            Cell::Empty
                        } else {
                            Cell::Text(f.to_string())
                        }
                    })
                    .collect();
                if !sink.row(row, cells) {
                    break;
                }
                row += 1;
            }
            Err(e) => {
                return Err(ReadError {
                    en: format!("CSV row {}: {e}", row + 1),
                    zh: format!("CSV 第{}行无法解析：{e}", row + 1),
                })
            }
        }
    }
    sink.end_sheet();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_detected() {
        assert_eq!(
            decode_text("\u{feff}项目编号".as_bytes()).unwrap(),
            (Cow::Borrowed("项目编号"), "UTF-8")
        );
        let (gbk, _, _) = encoding_rs::GBK.encode("项目编号,金额");
        assert_eq!(
            decode_text(&gbk).unwrap(),
            (Cow::Borrowed("项目编号,金额"), "GB18030")
        );
        let mut utf16 = vec![0xff, 0xfe];
        for u in "编号\t金额".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(decode_text(&utf16).unwrap().0, "编号\t金额");
    }

    #[test]
    fn delimiters_are_detected() {
        assert_eq!(delimiter("a\tb\tc\n"), b'\t');
        assert_eq!(delimiter("\n\na,b;c,d"), b',');
        assert_eq!(delimiter("a;b;c"), b';');
    }
}
