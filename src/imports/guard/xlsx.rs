//! The parts of an xlsx or xlsb container that calamine sizes its work by: shared strings and
//! each sheet's declared dimension.

use std::io::Read;

use super::helpers::{open_entry, u32_le, Zip};
use super::limits::{check_grid, Limits, PEEK_BYTES};
use super::outcome::{Fault, GuardError};
use super::xml::{ByteReader, Token, XmlTokens};

/// calamine's shared-strings reservation: `read_shared_strings` reserves the `uniqueCount` that the first
/// `<sst>` declares before it reads a single string (src/xlsx/mod.rs:362-364); a count of
/// 10^12 aborts the process. (It ignores `count`, the number of references to strings, which
/// real registers legitimately push past millions; xlsb's BrtBeginSst count only bounds a
/// loop, src/xlsb/mod.rs:270-283, and reserves nothing.)
///
/// Every `uniqueCount="…"` in the part is checked, wherever it stands, so that no quirk of
/// XML tokenising can hide the one calamine reads.
pub(super) fn check_shared_strings(
    zip: &mut Zip<'_>,
    index: usize,
    name: &str,
    inflated: u64,
    limits: &Limits,
) -> Result<(), GuardError> {
    let Some(reader) = open_entry(zip, index) else {
        return Ok(());
    };
    let mut finder = AttributeFinder::new(b"uniqueCount");
    let mut bytes = ByteReader::new(reader);
    while let Some(b) = bytes.next() {
        let Some(declared) = finder.feed(b) else {
            continue;
        };
        if declared > limits.max_shared_strings {
            return Err(GuardError::SharedStringsCount {
                part: name.to_owned(),
                declared,
                limit: limits.max_shared_strings,
            });
        }
        // The shortest string entry, `<si/>`, takes 5 bytes. Below a million the reservation
        // costs at most 24 MB, so sloppy writers' counts pass there.
        if declared > 1_000_000 && declared > inflated / 5 {
            return Err(GuardError::SharedStringsImplausible {
                part: name.to_owned(),
                declared,
                part_bytes: inflated,
            });
        }
    }
    Ok(())
}

/// Finds `key = "digits"` in a byte stream, as calamine's attribute reader would accept it
/// (src/attrs.rs:36-90: optional whitespace around `=`, single or double quotes), and yields
/// the value as atoi_simd parses it (leading zeros skipped, no sign, src/xlsx/mod.rs:363).
struct AttributeFinder {
    key: &'static [u8],
    state: FinderState,
    matched: usize,
    value: u64,
    digits: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum FinderState {
    Key,
    BeforeEq,
    AfterEq,
    Value(u8),
}

impl AttributeFinder {
    fn new(key: &'static [u8]) -> Self {
        AttributeFinder {
            key,
            state: FinderState::Key,
            matched: 0,
            value: 0,
            digits: 0,
        }
    }

    fn feed(&mut self, b: u8) -> Option<u64> {
        match self.state {
            FinderState::Key => {
                if b == self.key[self.matched] {
                    self.matched += 1;
                    if self.matched == self.key.len() {
                        self.matched = 0;
                        self.state = FinderState::BeforeEq;
                    }
                } else {
                    self.matched = usize::from(b == self.key[0]);
                }
                None
            }
            FinderState::BeforeEq => {
                if b == b'=' {
                    self.state = FinderState::AfterEq;
                } else if !b.is_ascii_whitespace() {
                    self.reset(b);
                }
                None
            }
            FinderState::AfterEq => {
                if b == b'"' || b == b'\'' {
                    self.state = FinderState::Value(b);
                    self.value = 0;
                    self.digits = 0;
                } else if !b.is_ascii_whitespace() {
                    self.reset(b);
                }
                None
            }
            FinderState::Value(quote) => {
                if b.is_ascii_digit() {
                    self.value = self
                        .value
                        .saturating_mul(10)
                        .saturating_add(u64::from(b - b'0'));
                    self.digits += 1;
                    None
                } else {
                    let found = (b == quote && self.digits > 0).then_some(self.value);
                    self.reset(b);
                    found
                }
            }
        }
    }

    fn reset(&mut self, b: u8) {
        self.state = FinderState::Key;
        self.matched = usize::from(b == self.key[0]);
    }
}

/// Reads the first few KiB of every part for a sheet header: an xlsx `<dimension ref>` before
/// `<sheetData>`, or an xlsb BrtWsDim. calamine only reserves from these when they are small
/// (src/xlsx/mod.rs:2921-2925, src/xlsb/mod.rs:618-622), so this check refuses honest but
/// oversized sheets early; it cannot stop a sheet that understates its dimension.
pub(super) fn check_sheet_header(
    zip: &mut Zip<'_>,
    index: usize,
    name: &str,
    limits: &Limits,
) -> Result<(), GuardError> {
    let Some(reader) = open_entry(zip, index) else {
        return Ok(());
    };
    let mut head = Vec::with_capacity(PEEK_BYTES as usize);
    if reader.take(PEEK_BYTES).read_to_end(&mut head).is_err() && head.is_empty() {
        return Ok(());
    }
    if let Some((rows, cols)) = xlsb_dimension(&head) {
        return check_grid(name, rows, cols, limits);
    }
    let mut tokens = XmlTokens::new(ByteReader::new(head.as_slice()));
    loop {
        let token = match tokens.next() {
            Ok(Some(token)) => token,
            // A peek ends mid-document; a DOCTYPE or huge tag here is left to the other checks.
            Ok(None) | Err(_) => return Ok(()),
        };
        if token == Token::End {
            continue;
        }
        match tokens.local_name() {
            b"sheetData" => return Ok(()),
            b"dimension" => {
                let Some(range) = tokens.attribute(b"ref") else {
                    continue;
                };
                let range = String::from_utf8_lossy(range).into_owned();
                let (rows, cols) = parse_range(&range).ok_or_else(|| GuardError::Malformed {
                    part: name.to_owned(),
                    fault: Fault::BadRange {
                        range: range.clone(),
                    },
                })?;
                check_grid(name, rows, cols, limits)?;
            }
            _ => {}
        }
    }
}

/// Rows and columns of an A1-style range ("B2:D9", or one cell), as calamine's
/// `get_dimension` reads it (src/xlsx/mod.rs:3035); `None` when it runs backwards or a part
/// overflows the `u32` that calamine computes in (which panics in a debug build).
fn parse_range(range: &str) -> Option<(u64, u64)> {
    let mut parts = range.split(':');
    let start = parse_cell(parts.next()?)?;
    let end = match parts.next() {
        Some(end) => parse_cell(end)?,
        None => start,
    };
    if parts.next().is_some() || end.0 < start.0 || end.1 < start.1 {
        return None;
    }
    Some((end.0 - start.0 + 1, end.1 - start.1 + 1))
}

/// Zero-based (row, column) of "XFD1048576".
fn parse_cell(cell: &str) -> Option<(u64, u64)> {
    let bytes = cell.as_bytes();
    let letters = bytes.iter().take_while(|b| b.is_ascii_alphabetic()).count();
    let (col, row) = bytes.split_at(letters);
    if col.is_empty() || row.is_empty() || !row.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut c: u64 = 0;
    for b in col {
        c = c * 26 + u64::from(b.to_ascii_uppercase() - b'A') + 1;
        if c > u64::from(u32::MAX) {
            return None;
        }
    }
    let mut r: u64 = 0;
    for b in row {
        r = r * 10 + u64::from(b - b'0');
        if r > u64::from(u32::MAX) {
            return None;
        }
    }
    Some((r.checked_sub(1)?, c - 1))
}

/// The BrtWsDim of an xlsb sheet part: the records before BrtBeginSheetData, as calamine's
/// `XlsbCellsReader::new` walks them (src/xlsb/cells_reader.rs:44-66).
fn xlsb_dimension(head: &[u8]) -> Option<(u64, u64)> {
    let mut at = 0;
    let mut first = true;
    loop {
        let (typ, len, data_at) = biff12_record(head, at)?;
        // Sheet parts start with BrtBeginSheet; anything else is not an xlsb sheet.
        if first && typ != 0x0081 {
            return None;
        }
        first = false;
        match typ {
            0x0094 => {
                let data = head.get(data_at..data_at + 16)?;
                let rw_first = u64::from(u32_le(&data[0..4]));
                let rw_last = u64::from(u32_le(&data[4..8]));
                let col_first = u64::from(u32_le(&data[8..12]));
                let col_last = u64::from(u32_le(&data[12..16]));
                // A backwards range makes calamine's `Dimensions::len` wrap (or panic in debug).
                let rows = if rw_last < rw_first {
                    u64::MAX
                } else {
                    rw_last - rw_first + 1
                };
                let cols = if col_last < col_first {
                    u64::MAX
                } else {
                    col_last - col_first + 1
                };
                return Some((rows, cols));
            }
            0x0091 => return None,
            _ => at = data_at + len,
        }
    }
}

/// One BIFF12 record header at `at`: (type, length, start of data).
fn biff12_record(bytes: &[u8], at: usize) -> Option<(u16, usize, usize)> {
    let mut at = at;
    let b = *bytes.get(at)?;
    at += 1;
    let typ = if b & 0x80 != 0 {
        let b2 = *bytes.get(at)?;
        at += 1;
        u16::from(b & 0x7F) + (u16::from(b2 & 0x7F) << 7)
    } else {
        u16::from(b)
    };
    let mut len: usize = 0;
    for i in 0..4 {
        let b = *bytes.get(at)?;
        at += 1;
        len += usize::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            break;
        }
    }
    Some((typ, len, at))
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{inspect, FileFormat, GuardError, Limits};
    use super::*;
    use calamine::{Data, Reader, Xlsx};
    use std::io::Cursor;

    #[test]
    fn a_minimal_xlsx_passes_and_calamine_then_reads_it() {
        let bytes = minimal_xlsx();
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Xlsx));

        let mut book = Xlsx::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("拨付").unwrap();
        assert_eq!(
            range.get_value((0, 0)),
            Some(&Data::String("合同编号".into()))
        );
        assert_eq!(range.get_value((0, 1)), Some(&Data::Float(1250.5)));
    }

    #[test]
    fn an_xlsx_written_by_rust_xlsxwriter_passes_and_calamine_then_reads_it() {
        let mut book = rust_xlsxwriter::Workbook::new();
        let sheet = book.add_worksheet().set_name("合同").unwrap();
        sheet.write_string(0, 0, "合同编号").unwrap();
        sheet.write_number(0, 1, 88_000.25).unwrap();
        sheet.write_string(999, 20, "末行").unwrap();
        let bytes = book.save_to_buffer().unwrap();
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Xlsx));

        let mut book: calamine::Sheets<_> =
            calamine::open_workbook_auto_from_rs(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("合同").unwrap();
        assert_eq!(range.get_value((0, 1)), Some(&Data::Float(88_000.25)));
        assert_eq!(
            range.get_value((999, 20)),
            Some(&Data::String("末行".into()))
        );
    }

    #[test]
    fn shared_strings_declaring_a_trillion_unique_strings_are_refused() {
        // calamine's shared-strings reservation: running calamine on this would abort the test process.
        let bytes = xlsx(
            &sheet("A1:B1"),
            &shared_strings(r#"uniqueCount="1000000000000""#),
        );
        let err = inspect_default(&bytes).unwrap_err();
        assert_eq!(
            err,
            GuardError::SharedStringsCount {
                part: "xl/sharedStrings.xml".into(),
                declared: 1_000_000_000_000,
                limit: 16_777_216,
            }
        );
        assert_eq!(
            err.to_string(),
            "\"xl/sharedStrings.xml\" declares 1,000,000,000,000 distinct strings; the limit is 16,777,216"
        );
        assert_eq!(
            err.zh(),
            "“xl/sharedStrings.xml”声明含 1,000,000,000,000 个不同字符串，超过上限 16,777,216 个"
        );
    }

    #[test]
    fn a_unique_count_is_found_however_its_attribute_is_spelled() {
        for spelling in [
            "uniqueCount = '000000000001000000000000'",
            "uniqueCount=\n\"99999999999999999999999999\"",
        ] {
            let bytes = xlsx(&sheet("A1:B1"), &shared_strings(spelling));
            assert!(
                matches!(
                    inspect_default(&bytes),
                    Err(GuardError::SharedStringsCount { .. })
                ),
                "{spelling}"
            );
        }
        // calamine takes the first `<sst>`, wherever it stands: a comment before it hides nothing.
        let hidden = r#"<?xml version="1.0"?><!-- a > b --><x:sst xmlns:x="urn:x" uniqueCount="1000000000000"></x:sst>"#;
        assert!(matches!(
            inspect_default(&xlsx(&sheet("A1:B1"), hidden)),
            Err(GuardError::SharedStringsCount { .. })
        ));
    }

    #[test]
    fn a_unique_count_larger_than_its_part_could_hold_is_refused() {
        let bytes = xlsx(&sheet("A1:B1"), &shared_strings(r#"uniqueCount="5000000""#));
        assert!(matches!(
            inspect_default(&bytes),
            Err(GuardError::SharedStringsImplausible {
                declared: 5_000_000,
                ..
            })
        ));
        // A sloppy but harmless count still passes.
        let bytes = xlsx(&sheet("A1:B1"), &shared_strings(r#"uniqueCount="900000""#));
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Xlsx));
    }

    #[test]
    fn a_sheet_dimension_spanning_the_whole_grid_is_refused() {
        // calamine's bounding-box allocation: do not hand this to calamine's worksheet_range.
        let bytes = xlsx(
            &sheet("A1:XFD1048576"),
            &shared_strings(r#"uniqueCount="1""#),
        );
        let err = inspect_default(&bytes).unwrap_err();
        assert_eq!(
            err,
            GuardError::SheetTooLarge {
                sheet: "xl/worksheets/sheet1.xml".into(),
                rows: 1_048_576,
                cols: 16_384,
                max_rows: 1_048_576,
                max_cells: 50_000_000,
            }
        );
        assert_eq!(
            err.zh(),
            "工作表“xl/worksheets/sheet1.xml”范围为 1,048,576 行 × 16,384 列（17,179,869,184 个单元格），上限为 1,048,576 行、50,000,000 个单元格"
        );
    }

    #[test]
    fn a_dimension_past_the_row_limit_or_running_backwards_is_refused() {
        let limits = Limits {
            max_rows: 1_000,
            ..Limits::default()
        };
        let bytes = xlsx(&sheet("A1:C1001"), &shared_strings(r#"uniqueCount="1""#));
        assert!(matches!(
            inspect(&bytes, &limits),
            Err(GuardError::SheetTooLarge {
                rows: 1_001,
                cols: 3,
                ..
            })
        ));
        let bytes = xlsx(&sheet("B9:A1"), &shared_strings(r#"uniqueCount="1""#));
        assert!(matches!(
            inspect_default(&bytes),
            Err(GuardError::Malformed {
                fault: Fault::BadRange { .. },
                ..
            })
        ));
    }

    #[test]
    fn an_xlsb_sheet_declaring_a_huge_grid_is_refused() {
        // BrtBeginSheet, then BrtWsDim rows 0..=1048575, columns 0..=16383.
        let mut sheet = vec![0x81, 0x01, 0x00, 0x94, 0x01, 16];
        for v in [0u32, 1_048_575, 0, 16_383] {
            sheet.extend_from_slice(&v.to_le_bytes());
        }
        let bytes = zip_of(&[
            ("xl/workbook.bin", b"\x83\x01\x00"),
            ("xl/worksheets/sheet1.bin", &sheet),
        ]);
        assert!(matches!(
            inspect_default(&bytes),
            Err(GuardError::SheetTooLarge {
                rows: 1_048_576,
                cols: 16_384,
                ..
            })
        ));
        sheet[10..14].copy_from_slice(&99u32.to_le_bytes());
        sheet[18..22].copy_from_slice(&9u32.to_le_bytes());
        let bytes = zip_of(&[
            ("xl/workbook.bin", b"\x83\x01\x00"),
            ("xl/worksheets/sheet1.bin", &sheet),
        ]);
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Xlsb));
    }

    #[test]
    fn ranges_are_read_as_calamine_reads_them() {
        assert_eq!(parse_range("A1"), Some((1, 1)));
        assert_eq!(parse_range("B2:D9"), Some((8, 3)));
        assert_eq!(parse_range("a1:xfd1048576"), Some((1_048_576, 16_384)));
        assert_eq!(parse_range("A0"), None);
        assert_eq!(parse_range("A1:B2:C3"), None);
        assert_eq!(parse_range("A99999999999"), None);
        assert_eq!(parse_range("1:2"), None);
    }
}
