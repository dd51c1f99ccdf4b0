//! The parts of an ods container: its mimetype, its manifest (encryption) and its
//! `content.xml`, counted as calamine would expand it.

use std::io::Read;

use super::helpers::{contains, open_entry, Zip, MIB};
use super::limits::{check_grid, Limits, EXCEL_COLUMNS, EXCEL_ROWS};
use super::outcome::{Fault, GuardError};
use super::xml::{ByteReader, Token, XmlTokens};

const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

/// calamine reads the first 46 bytes of the entry named exactly `mimetype` (src/ods.rs:216).
pub(super) fn is_ods(zip: &mut Zip<'_>) -> bool {
    let Ok(entry) = zip.by_name("mimetype") else {
        return false;
    };
    let mut head = Vec::with_capacity(ODS_MIMETYPE.len());
    entry
        .take(ODS_MIMETYPE.len() as u64)
        .read_to_end(&mut head)
        .is_ok()
        && head == ODS_MIMETYPE
}

pub(super) fn ods_manifest_is_encrypted(zip: &mut Zip<'_>, index: usize) -> bool {
    let Some(entry) = open_entry(zip, index) else {
        return false;
    };
    let mut manifest = Vec::new();
    // A manifest lists a few dozen files; a megabyte is far more than any real one.
    let _ = entry.take(MIB).read_to_end(&mut manifest);
    contains(&manifest, b"<manifest:encryption-data")
}

/// calamine expands an ods sheet's repeated rows and columns into a dense grid when it opens
/// the file (src/ods.rs:436-606, read_table, read_row and get_range): a 70-byte cell with
/// `table:number-columns-repeated="16384"` becomes 16,384 cells, and a row with
/// `table:number-rows-repeated="1048576"` a million rows, before calamine's own 100-million
/// cell cap (src/ods.rs:41) is checked; `<text:s text:c="2000000000"/>` pushes two billion
/// spaces one at a time (src/ods.rs:768-776), and every repeat clones its cell's text.
/// This pass follows calamine's reading state by state and counts what it would build: per
/// table, the rows from the first to the last non-empty row times the widest row (calamine
/// drops empty trailing rows and cells, and so does this count, which is how LibreOffice's
/// million-row empty tails pass), and the text that repeats copy.
///
/// It also refuses a part that ends inside a named table or inside a cell's annotation:
/// calamine's loops there ignore the end of the stream and spin forever (src/ods.rs:448-481,
/// `Ok(_) => ()` in read_table, and src/ods.rs:754-762).
pub(super) fn check_ods_content(
    zip: &mut Zip<'_>,
    index: usize,
    name: &str,
    limits: &Limits,
) -> Result<(), GuardError> {
    let Some(reader) = open_entry(zip, index) else {
        return Ok(());
    };
    let malformed = |fault| GuardError::Malformed {
        part: name.to_owned(),
        fault,
    };
    let mut tokens = XmlTokens::new(ByteReader::new(reader));
    let mut ods = OdsCount::default();
    while let Some(token) = tokens.next().map_err(malformed)? {
        ods.token(&tokens, token);
        if let Some(table) = ods.finished_table.take() {
            let sheet = table.name.unwrap_or_else(|| name.to_owned());
            check_grid(&sheet, table.rows, table.cols, limits)?;
        }
        if ods.total_cells > limits.max_cells {
            return Err(GuardError::SheetTooLarge {
                sheet: name.to_owned(),
                rows: ods.total_rows,
                cols: ods.total_cells / ods.total_rows.max(1),
                max_rows: u64::from(limits.max_rows),
                max_cells: limits.max_cells,
            });
        }
        if ods.text_bytes > limits.max_uncompressed_bytes {
            return Err(GuardError::TextTooLarge {
                part: name.to_owned(),
                bytes: ods.text_bytes,
                limit: limits.max_uncompressed_bytes,
            });
        }
    }
    match ods.state {
        OdsState::Annotation => Err(malformed(Fault::Unclosed {
            element: "office:annotation".into(),
        })),
        OdsState::Outside => Ok(()),
        // Inside a row or a cell, calamine meets the end of the stream as an error.
        _ if ods.table.is_some() => Err(malformed(Fault::Unclosed {
            element: "table:table".into(),
        })),
        _ => Ok(()),
    }
}

/// Where calamine's ods reader stands (src/ods.rs: parse_content, read_table, read_row,
/// get_datatype).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
enum OdsState {
    /// parse_content, between tables.
    #[default]
    Outside,
    /// read_table: only rows and the table's end matter.
    Table,
    /// read_row: cells and the row's end.
    Row,
    /// get_datatype reading a string cell's content until any cell end.
    StringCell,
    /// Inside an annotation of a string cell: only its end matters.
    Annotation,
    /// read_to_end_into skipping a non-string cell's content to the matching end tag.
    SkipCell { name: Vec<u8>, depth: u64 },
}

/// What calamine's ods reader would allocate, counted token by token.
#[derive(Default)]
struct OdsCount {
    state: OdsState,
    table: Option<OdsTable>,
    row: Option<OdsRow>,
    cell: Option<OdsCell>,
    finished_table: Option<FinishedTable>,
    /// Cells over all finished tables: calamine holds every sheet at once.
    total_cells: u64,
    total_rows: u64,
    /// Bytes of cell text and formulas once repeats are copied, over the whole part.
    text_bytes: u64,
}

#[derive(Default)]
struct OdsTable {
    name: Option<String>,
    /// Rows from the first non-empty row to the last one seen so far, repeats included.
    rows: u64,
    /// Empty rows after the last non-empty one; they count once a non-empty row follows.
    pending_rows: u64,
    /// The widest non-empty row.
    cols: u64,
}

struct OdsRow {
    repeat: u64,
    /// Columns so far, repeats included.
    cols: u64,
    /// Columns up to the last non-empty cell: what calamine keeps of this row.
    width: u64,
}

struct OdsCell {
    repeat: u64,
    non_empty: bool,
    /// Text held in attributes (string, date or time value, formula).
    attribute_text: u64,
    text_at_start: u64,
    /// Spaces from `text:s` and one byte per other element (paragraph breaks, tabs).
    extra: u64,
}

struct FinishedTable {
    name: Option<String>,
    rows: u64,
    cols: u64,
}

impl OdsCount {
    fn token<R: Read>(&mut self, tokens: &XmlTokens<R>, token: Token) {
        // calamine compares qualified names, prefix included.
        let name = tokens.name();
        let is_cell = |n: &[u8]| n == b"table:table-cell" || n == b"table:covered-table-cell";
        match (self.state.clone(), token) {
            (OdsState::Outside, Token::Start { empty }) if name == b"table:table" => {
                // parse_content reads a table only when it has a name (src/ods.rs:399-412).
                if let Some(table_name) = tokens.attribute(b"table:name") {
                    self.table = Some(OdsTable {
                        name: Some(String::from_utf8_lossy(table_name).into_owned()),
                        ..OdsTable::default()
                    });
                    self.state = OdsState::Table;
                    if empty {
                        self.end_table();
                    }
                }
            }
            (OdsState::Table, Token::Start { empty }) if name == b"table:table-row" => {
                self.row = Some(OdsRow {
                    repeat: repeat(tokens.attribute(b"table:number-rows-repeated"), true),
                    cols: 0,
                    width: 0,
                });
                self.state = OdsState::Row;
                if empty {
                    self.end_row();
                }
            }
            // Any end of a table ends it, even a nested one's (src/ods.rs:471).
            (OdsState::Table, Token::End) if name == b"table:table" => self.end_table(),
            (OdsState::Row, Token::Start { empty }) if is_cell(name) => {
                let cell = ods_cell(tokens);
                let reads_content = cell.1;
                self.cell = Some(cell.0);
                if reads_content {
                    self.state = OdsState::StringCell;
                    if empty {
                        self.end_cell(tokens.text_bytes());
                    }
                } else if empty {
                    self.end_cell(tokens.text_bytes());
                } else {
                    self.state = OdsState::SkipCell {
                        name: name.to_vec(),
                        depth: 1,
                    };
                }
            }
            (OdsState::Row, Token::End) if name == b"table:table-row" => self.end_row(),
            (OdsState::StringCell, Token::End) if is_cell(name) => {
                self.end_cell(tokens.text_bytes())
            }
            (OdsState::StringCell, Token::Start { empty }) => {
                let Some(cell) = self.cell.as_mut() else {
                    return;
                };
                if name == b"office:annotation" {
                    if !empty {
                        self.state = OdsState::Annotation;
                    }
                } else if name == b"text:s" {
                    let count = repeat(tokens.attribute(b"text:c"), true);
                    cell.extra = cell.extra.saturating_add(count);
                } else {
                    cell.extra = cell.extra.saturating_add(1);
                }
            }
            (OdsState::Annotation, Token::End) if name == b"office:annotation" => {
                self.state = OdsState::StringCell;
            }
            (
                OdsState::SkipCell {
                    name: skipping,
                    depth,
                },
                token,
            ) if name == skipping => {
                let depth = match token {
                    Token::Start { empty: false } => depth + 1,
                    Token::Start { empty: true } => depth,
                    Token::End => depth - 1,
                };
                if depth == 0 {
                    self.end_cell(tokens.text_bytes());
                } else {
                    self.state = OdsState::SkipCell {
                        name: skipping,
                        depth,
                    };
                }
            }
            // Anything else calamine ignores, or meets as an error and stops reading.
            _ => {}
        }
    }

    fn end_cell(&mut self, text_now: u64) {
        self.state = OdsState::Row;
        let (Some(cell), Some(row)) = (self.cell.take(), self.row.as_mut()) else {
            return;
        };
        let repeat = cell.repeat.min(EXCEL_COLUMNS);
        row.cols = row.cols.saturating_add(repeat);
        if cell.non_empty {
            row.width = row.cols.min(EXCEL_COLUMNS);
        }
        // Each repeated cell, and each repeated row, holds its own copy of the text.
        let text = text_now
            .saturating_sub(cell.text_at_start)
            .saturating_add(cell.extra)
            .saturating_add(cell.attribute_text);
        self.text_bytes = self.text_bytes.saturating_add(
            text.saturating_mul(repeat)
                .saturating_mul(row.repeat.min(EXCEL_ROWS)),
        );
    }

    fn end_row(&mut self) {
        self.state = OdsState::Table;
        self.cell = None;
        let (Some(row), Some(table)) = (self.row.take(), self.table.as_mut()) else {
            return;
        };
        if row.width > 0 {
            table.rows = table
                .rows
                .saturating_add(table.pending_rows)
                .saturating_add(row.repeat);
            table.pending_rows = 0;
            table.cols = table.cols.max(row.width);
        } else if table.rows > 0 {
            table.pending_rows = table.pending_rows.saturating_add(row.repeat);
        }
    }

    fn end_table(&mut self) {
        self.state = OdsState::Outside;
        self.row = None;
        self.cell = None;
        if let Some(table) = self.table.take() {
            self.total_cells = self
                .total_cells
                .saturating_add(table.rows.saturating_mul(table.cols));
            self.total_rows = self.total_rows.saturating_add(table.rows);
            self.finished_table = Some(FinishedTable {
                name: table.name,
                rows: table.rows,
                cols: table.cols,
            });
        }
    }
}

/// A cell's start tag read as calamine's `get_datatype` reads it (src/ods.rs:690-735), in
/// attribute order: whether it holds a value or formula, and whether calamine goes on to
/// read its content as a string (a string type without a string value, or an error type
/// whose string value is empty).
fn ods_cell<R: Read>(tokens: &XmlTokens<R>) -> (OdsCell, bool) {
    let mut is_string = false;
    let mut is_error = false;
    let mut value_set = false;
    let mut empty_string_value = false;
    let mut formula = false;
    let mut attribute_text: u64 = 0;
    for (key, value) in tokens.attributes() {
        match key {
            b"office:value" | b"office:boolean-value" if !value_set => value_set = true,
            b"office:string-value" | b"office:date-value" | b"office:time-value" if !value_set => {
                value_set = true;
                empty_string_value = key == b"office:string-value" && value.is_empty();
                attribute_text = attribute_text.saturating_add(value.len() as u64);
            }
            b"office:value-type" if !value_set => is_string = value == b"string",
            b"calcext:value-type" => is_error = value == b"error",
            b"table:formula" => {
                formula = !value.is_empty();
                attribute_text = attribute_text.saturating_add(value.len() as u64);
            }
            _ => {}
        }
    }
    let reads_content = (!value_set && is_string) || (is_error && empty_string_value);
    let cell = OdsCell {
        // calamine parses this one without decoding entities (src/ods.rs:586).
        repeat: repeat(tokens.attribute(b"table:number-columns-repeated"), false),
        non_empty: reads_content || value_set || formula,
        attribute_text,
        text_at_start: tokens.text_bytes(),
        extra: 0,
    };
    (cell, reads_content)
}

/// A repeat count as calamine parses it: absent is 1, unparsable fails calamine's read (so
/// it expands nothing, counted as 1 here), huge saturates.
fn repeat(raw: Option<&[u8]>, decode: bool) -> u64 {
    let Some(raw) = raw else {
        return 1;
    };
    let decoded;
    let raw = if decode && raw.contains(&b'&') {
        decoded = decode_numeric_entities(raw);
        decoded.as_slice()
    } else {
        raw
    };
    // `str::parse::<usize>` accepts an optional leading `+`.
    let digits = raw.strip_prefix(b"+").unwrap_or(raw);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return 1;
    }
    digits.iter().fold(0u64, |n, d| {
        n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
    })
}

/// Turns `&#49;` and `&#x31;` into their ASCII characters; calamine's `decode_attr` unescapes
/// attribute values before parsing some numbers (src/ods.rs:460, 770).
fn decode_numeric_entities(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'&' {
            if let Some(end) = raw[i..].iter().position(|&b| b == b';') {
                let entity = &raw[i + 1..i + end];
                let code = match entity {
                    [b'#', b'x' | b'X', hex @ ..] => std::str::from_utf8(hex)
                        .ok()
                        .and_then(|h| u32::from_str_radix(h, 16).ok()),
                    [b'#', dec @ ..] => std::str::from_utf8(dec).ok().and_then(|d| d.parse().ok()),
                    _ => None,
                };
                if let Some(c) = code.and_then(char::from_u32).filter(char::is_ascii) {
                    out.push(c as u8);
                    i += end + 1;
                    continue;
                }
            }
        }
        out.push(raw[i]);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::helpers::GIB;
    use super::super::testing::*;
    use super::super::{inspect, FileFormat, GuardError, Limits};
    use super::*;
    use calamine::{Data, Ods, Reader};
    use std::io::Cursor;

    const ODS_MANIFEST: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
 <manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
 <manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"#;

    fn ods(rows: &str) -> Vec<u8> {
        let content = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="拨付">{rows}</table:table></office:spreadsheet></office:body>
</office:document-content>"#
        );
        zip_of(&[
            ("mimetype", ODS_MIMETYPE),
            ("META-INF/manifest.xml", ODS_MANIFEST.as_bytes()),
            ("content.xml", content.as_bytes()),
        ])
    }

    const ODS_ROW: &str = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>合同编号</text:p></table:table-cell><table:table-cell office:value-type="float" office:value="42"/></table:table-row>"#;

    #[test]
    fn an_ods_with_libreoffice_empty_tails_passes_and_calamine_then_reads_it() {
        // LibreOffice pads every sheet with a million repeated empty rows and wide empty cells.
        let rows = format!(
            r#"{ODS_ROW}<table:table-row table:number-rows-repeated="1048575"><table:table-cell table:number-columns-repeated="1024"/></table:table-row>"#
        );
        let bytes = ods(&rows);
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Ods));

        let mut book = Ods::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("拨付").unwrap();
        assert_eq!(range.get_size(), (1, 2));
        assert_eq!(range.get_value((0, 1)), Some(&Data::Float(42.0)));
    }

    #[test]
    fn an_ods_row_repeated_two_million_times_is_refused() {
        let rows = format!(
            r#"{ODS_ROW}<table:table-row table:number-rows-repeated="2000000"><table:table-cell office:value="1" office:value-type="float"/></table:table-row>"#
        );
        assert!(matches!(
            inspect_default(&ods(&rows)),
            Err(GuardError::SheetTooLarge {
                rows: 2_000_001,
                cols: 2,
                ..
            })
        ));
    }

    #[test]
    fn an_ods_whose_repeated_cells_fill_too_many_cells_is_refused() {
        // 10,000 rows of one 16,384-wide repeated cell: 70 bytes a row, 164 million cells.
        let row = r#"<table:table-row><table:table-cell office:value-type="float" office:value="7" table:number-columns-repeated="16384"/></table:table-row>"#;
        let err = inspect_default(&ods(&row.repeat(10_000))).unwrap_err();
        assert!(
            matches!(err, GuardError::SheetTooLarge { cols: 16_384, .. }),
            "{err:?}"
        );
        // entities are decoded before calamine parses a row repeat
        let rows = format!(
            r#"{ODS_ROW}<table:table-row table:number-rows-repeated="&#50;000000"><table:table-cell office:value="1" office:value-type="float"/></table:table-row>"#
        );
        assert!(matches!(
            inspect_default(&ods(&rows)),
            Err(GuardError::SheetTooLarge { .. })
        ));
    }

    #[test]
    fn an_ods_cell_of_two_billion_spaces_is_refused() {
        let rows = r#"<table:table-row><table:table-cell office:value-type="string"><text:p>a<text:s text:c="2000000000"/>b</text:p></table:table-cell></table:table-row>"#;
        let small = Limits {
            max_uncompressed_bytes: GIB,
            ..Limits::default()
        };
        assert!(matches!(
            inspect(&ods(rows), &small),
            Err(GuardError::TextTooLarge { .. })
        ));
    }

    #[test]
    fn an_ods_that_hides_rows_behind_a_doctype_is_refused() {
        let bytes = zip_of(&[
            ("mimetype", ODS_MIMETYPE),
            ("content.xml", b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>"),
        ]);
        assert!(matches!(
            inspect_default(&bytes),
            Err(GuardError::Malformed {
                fault: Fault::Doctype,
                ..
            })
        ));
    }

    #[test]
    fn an_ods_that_ends_inside_a_table_or_an_annotation_is_refused() {
        // calamine's read_table and its annotation loop ignore the end of the stream and
        // spin forever: do not hand these to calamine.
        let unclosed_table = zip_of(&[
            ("mimetype", ODS_MIMETYPE),
            (
                "content.xml",
                br#"<office:document-content><table:table table:name="a"><table:table-row>"#,
            ),
        ]);
        assert_eq!(
            inspect_default(&unclosed_table),
            Err(GuardError::Malformed {
                part: "content.xml".into(),
                fault: Fault::Unclosed {
                    element: "table:table".into()
                }
            })
        );
        let unclosed_annotation = ods(
            r#"<table:table-row><table:table-cell office:value-type="string"><office:annotation><text:p>note</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
        );
        assert!(matches!(
            inspect_default(&unclosed_annotation),
            Err(GuardError::Malformed {
                fault: Fault::Unclosed { .. },
                ..
            })
        ));
    }

    #[test]
    fn ods_cells_are_read_in_calamines_states() {
        // Rows inside a float cell's content are skipped by calamine and by the count; a
        // huge row repeat there is harmless.
        let rows = format!(
            r#"{ODS_ROW}<table:table-row><table:table-cell office:value-type="float" office:value="1"><table:table-row table:number-rows-repeated="99999999"><table:table-cell office:value="1"/></table:table-row></table:table-cell></table:table-row>"#
        );
        let bytes = ods(&rows);
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Ods));
        // A row's repeat counts wherever it stands in the table (header rows, groups).
        let rows = format!(
            r#"<table:table-header-rows>{ODS_ROW}</table:table-header-rows><table:table-row-group><table:table-row table:number-rows-repeated="3000000"><table:table-cell office:value="1"/></table:table-row></table:table-row-group>"#
        );
        assert!(matches!(
            inspect_default(&ods(&rows)),
            Err(GuardError::SheetTooLarge { .. })
        ));
        // Long text in an attribute is copied by every repeat too.
        let long = "长".repeat(10_000);
        let rows = format!(
            r#"<table:table-row table:number-rows-repeated="1000"><table:table-cell office:value-type="string" office:string-value="{long}" table:number-columns-repeated="1000"/></table:table-row>"#
        );
        assert!(matches!(
            inspect_default(&ods(&rows)),
            Err(GuardError::TextTooLarge { .. })
        ));
    }

    #[test]
    fn an_ods_whose_manifest_lists_encryption_is_refused() {
        let manifest = ODS_MANIFEST.replace(
            r#"media-type="text/xml"/>"#,
            r#"media-type="text/xml"><manifest:encryption-data/></manifest:file-entry>"#,
        );
        let bytes = zip_of(&[
            ("mimetype", ODS_MIMETYPE),
            ("META-INF/manifest.xml", manifest.as_bytes()),
            ("content.xml", b"<x/>"),
        ]);
        assert!(matches!(
            inspect_default(&bytes),
            Err(GuardError::Encrypted { .. })
        ));
    }
}
