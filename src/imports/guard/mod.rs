//! Looks at an upload's bytes before calamine does, so no spreadsheet can abort, exhaust memory or hang the importer.
//!
//! One module per kind of file: `text` names what is not a spreadsheet, `archive` walks a
//! zip container and hands its parts to `xlsx` and `ods`, `compound` reads an xls
//! workbook; `xml` is the tokenizer the zip parts are read with.

mod archive;
mod compound;
mod helpers;
mod limits;
mod ods;
mod outcome;
#[cfg(test)]
mod testing;
mod text;
mod xlsx;
mod xml;

pub use limits::Limits;
pub use outcome::{Fault, FileFormat, Found, GuardError};

use archive::inspect_zip;
use compound::{inspect_compound, CFB_MAGIC};
use text::sniff_binary;

use super::source::Content;

/// Decides what an upload is and refuses it when calamine could not read it safely.
///
/// Call it before any parser sees the bytes, and open the file with the reader for the
/// returned format (not with calamine's `open_workbook_auto`, which tries every format).
///
/// calamine 0.38 trusts several sizes that a file declares about itself; each check below
/// names the place in calamine's source that it protects (paths inside the calamine-0.38.0
/// crate). The checks read the zip central directory, the first 16 KiB of each part, the
/// whole of `sharedStrings.xml` and an ods `content.xml` as streams, and an xls workbook
/// stream (at most the file's size); nothing else is held in memory.
///
/// What it can NOT promise: calamine's `worksheet_range` for xlsx and xlsb sizes its grid
/// from the cells it finds (`Range::from_sparse`, src/lib.rs:1051), not from the
/// `<dimension>` a sheet declares, so two cells at A1 and XFD1048576 still ask for 17
/// billion cells (calamine's bounding-box allocation). Read xlsx and xlsb with the streaming
/// `worksheet_cells_reader` (`next_cell` only: `next_formula` resizes a Vec to any shared
/// formula index, src/xlsx/cells_reader.rs:434), and run calamine under `catch_unwind`:
/// it panics on many malformed files.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<FileFormat, GuardError> {
    inspect_content(Content::Memory(bytes), limits)
}

/// [`inspect`] of a file in memory or on disk. On disk, a zip container is read as it is in
/// memory, part by part; an xls workbook is read whole (calamine reads it whole anyway); text
/// is judged by its first 8 KiB, as in memory.
pub fn inspect_content(content: Content<'_>, limits: &Limits) -> Result<FileFormat, GuardError> {
    let unreadable = |e: std::io::Error| GuardError::Unreadable {
        detail: e.to_string(),
    };
    if content.is_empty() {
        return Err(GuardError::Empty);
    }
    let size = content.len();
    if size > limits.max_file_bytes {
        return Err(GuardError::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    let head = content.head(SNIFF_BYTES).map_err(unreadable)?;
    if head.starts_with(b"PK\x03\x04") {
        return inspect_zip(content.open().map_err(unreadable)?, limits);
    }
    if head.starts_with(CFB_MAGIC) {
        inspect_compound(&content.whole().map_err(unreadable)?, limits)?;
        return Ok(FileFormat::Xls);
    }
    if let Some(found) = sniff_binary(&head) {
        return Err(GuardError::NotASpreadsheet { found });
    }
    Ok(FileFormat::Csv)
}

/// What [`sniff_binary`] looks at: a text file's first 8 KiB.
const SNIFF_BYTES: usize = 8 * 1024;

#[cfg(test)]
mod tests {
    use super::*;
    use testing::inspect_default;

    #[test]
    fn an_empty_file_is_refused() {
        let err = inspect_default(b"").unwrap_err();
        assert_eq!(err, GuardError::Empty);
        assert_eq!(err.zh(), "文件为空");
    }

    #[test]
    fn a_file_over_the_size_limit_is_refused_naming_size_and_limit() {
        let limits = Limits {
            max_file_bytes: 1024,
            ..Limits::default()
        };
        let err = inspect(&[b'a'; 1536], &limits).unwrap_err();
        assert_eq!(
            err,
            GuardError::TooLarge {
                size: 1536,
                limit: 1024
            }
        );
        assert_eq!(
            err.to_string(),
            "the file is 1.5 KB, larger than the limit of 1 KB"
        );
        let real = GuardError::TooLarge {
            size: 76_755_763,
            limit: Limits::default().max_file_bytes,
        };
        assert_eq!(real.zh(), "文件大小 73.2 MB 超过上限 50 MB");
    }
}
