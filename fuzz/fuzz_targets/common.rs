//! What both targets do once the guard has passed a file: open it with calamine and read
//! every sheet, as the importer would.

use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};

use calamine::{open_workbook_auto_from_rs, Reader};
use procure::imports::guard::{inspect, FileFormat, Limits};

/// Silences panics unless `PROCURE_FUZZ_PANICS` is set: calamine panics on many malformed
/// files (slice indexing, u32 overflow in debug builds), which the importer catches; the
/// point here is what it cannot catch: aborts on allocation failure, stack overflow, hangs.
pub fn init() {
    if std::env::var_os("PROCURE_FUZZ_PANICS").is_none() {
        std::panic::set_hook(Box::new(|_| {}));
    }
}

/// Runs the guard, and calamine on what the guard passes.
pub fn check(data: &[u8]) {
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
            let _ = book.worksheet_range(&name);
        }
    };
    if std::env::var_os("PROCURE_FUZZ_PANICS").is_some() {
        read();
    } else {
        let _ = catch_unwind(AssertUnwindSafe(read));
    }
}
