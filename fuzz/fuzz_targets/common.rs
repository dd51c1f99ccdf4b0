//! What the targets do once the guard has passed a file: open it with calamine and read
//! every sheet.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{open_workbook_auto_from_rs, Reader, Sheets};
use procure::imports::guard::{inspect, FileFormat, Limits};

/// How sheets are read once a file is open.
// Each target compiles this module and uses one variant.
#[allow(dead_code)]
#[derive(Clone, Copy)]
pub enum Read {
    /// `worksheet_range` for every format. For xlsx and xlsb this still allocates the
    /// bounding box of the cells calamine finds (calamine issue #693), which no header check
    /// can bound; expect this target to find that first.
    Range,
    /// As the importer reads: xlsx and xlsb cell by cell through `worksheet_cells_reader`
    /// (no grid), xls and ods through `worksheet_range` (calamine built their grids when it
    /// opened the file).
    Streaming,
}

/// Silences panics unless `PROCURE_FUZZ_PANICS` is set: calamine panics on many malformed
/// files (slice indexing, u32 overflow in debug builds), which the importer catches; the
/// point here is what it cannot catch: aborts on allocation failure, stack overflow, hangs.
pub fn init() {
    if std::env::var_os("PROCURE_FUZZ_PANICS").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
}

/// Runs the guard, and calamine on what the guard passes.
pub fn check(data: &[u8], how: Read) {
    let Ok(format) = inspect(data, &Limits::default()) else {
        return;
    };
    if format == FileFormat::Csv {
        return;
    }
    let read = || {
        let Ok(mut book) = open_workbook_auto_from_rs(Cursor::new(data)) else {
            return;
        };
        for name in book.sheet_names() {
            match (how, &mut book) {
                (Read::Streaming, Sheets::Xlsx(xlsx)) => {
                    if let Ok(mut cells) = xlsx.worksheet_cells_reader(&name) {
                        while let Ok(Some(_)) = cells.next_cell() {}
                    }
                }
                (Read::Streaming, Sheets::Xlsb(xlsb)) => {
                    if let Ok(mut cells) = xlsb.worksheet_cells_reader(&name) {
                        while let Ok(Some(_)) = cells.next_cell() {}
                    }
                }
                _ => {
                    let _ = book.worksheet_range(&name);
                }
            }
        }
    };
    if std::env::var_os("PROCURE_FUZZ_PANICS").is_some() {
        read();
    } else {
        let _ = catch_unwind(AssertUnwindSafe(read));
    }
}
