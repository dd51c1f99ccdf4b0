//! What an upload may be before it is refused, and the sizes calamine itself works within.

use super::helpers::{GIB, KIB, MIB};
use super::outcome::GuardError;

/// How much of a part is inflated to read its header (the `<dimension>` of a sheet, the
/// `BrtWsDim` of an xlsb sheet).
pub(super) const PEEK_BYTES: u64 = 16 * KIB;
/// Below this inflated size an entry's compression ratio is not judged: small XML parts of
/// real workbooks can compress very well, and a small entry cannot be a bomb.
pub(super) const RATIO_FLOOR_BYTES: u64 = MIB;
/// An XML tag longer than this is rejected: real workbooks never come near it, and the
/// scanner must hold a whole tag to read its attributes.
pub(super) const MAX_TAG_BYTES: usize = MIB as usize;
/// Excel's own grid: calamine caps ods rows and columns at these (src/ods.rs:35-38).
pub(super) const EXCEL_ROWS: u64 = 1_048_576;
pub(super) const EXCEL_COLUMNS: u64 = 16_384;
/// BIFF splits records longer than 8,224 bytes into CONTINUE records, so a file within the
/// size limit has a few thousand at most; calamine's `Record::continue_record` removes them
/// from the front of a `Vec` one by one (src/xls.rs:1337-1343), which is quadratic.
pub(super) const MAX_CONTINUE_RECORDS: u64 = 10_000;

/// What an upload may be before it is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Size of the upload itself.
    pub max_file_bytes: u64,
    /// Rows in one sheet (Excel's own maximum by default).
    pub max_rows: u32,
    /// Cells in one sheet's grid as calamine would allocate it (rows × columns); across all
    /// sheets for `.ods`, which calamine expands all at once when it opens the file.
    pub max_cells: u64,
    /// Total inflated size of a zip container, as its central directory declares it.
    pub max_uncompressed_bytes: u64,
    /// Inflated/compressed size of one zip entry (only for entries over 1 MiB inflated).
    pub max_ratio: u64,
    /// Entries in a zip container.
    pub max_entries: u64,
    /// Strings that `xl/sharedStrings.xml` may declare in `uniqueCount`.
    pub max_shared_strings: u64,
    /// Sheets in an `.xls` workbook.
    pub max_sheets: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 50 * MIB,
            max_rows: 1_048_576,
            // 50 million cells of calamine's `Data` (32 bytes) is 1.6 GB.
            max_cells: 50_000_000,
            max_uncompressed_bytes: 2 * GIB,
            max_ratio: 1_000,
            max_entries: 10_000,
            // calamine reserves 24 bytes per declared string before reading any: 400 MB.
            max_shared_strings: 16_777_216,
            max_sheets: 1_024,
        }
    }
}

pub(super) fn check_grid(
    sheet: &str,
    rows: u64,
    cols: u64,
    limits: &Limits,
) -> Result<(), GuardError> {
    if rows > u64::from(limits.max_rows) || rows.saturating_mul(cols) > limits.max_cells {
        return Err(GuardError::SheetTooLarge {
            sheet: sheet.to_owned(),
            rows,
            cols,
            max_rows: u64::from(limits.max_rows),
            max_cells: limits.max_cells,
        });
    }
    Ok(())
}
