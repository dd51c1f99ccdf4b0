//! Looks at an upload's bytes before calamine does, so no spreadsheet can abort, exhaust memory or hang the importer.

use std::collections::HashSet;
use std::fmt;
use std::io::{Cursor, Read};

use zip::read::ZipFile;
use zip::ZipArchive;

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// How much of a part is inflated to read its header (the `<dimension>` of a sheet, the
/// `BrtWsDim` of an xlsb sheet).
const PEEK_BYTES: u64 = 16 * KIB;
/// Below this inflated size an entry's compression ratio is not judged: small XML parts of
/// real workbooks can compress very well, and a small entry cannot be a bomb.
const RATIO_FLOOR_BYTES: u64 = MIB;
/// An XML tag longer than this is rejected: real workbooks never come near it, and the
/// scanner must hold a whole tag to read its attributes.
const MAX_TAG_BYTES: usize = MIB as usize;
/// Excel's own grid: calamine caps ods rows and columns at these (src/ods.rs:35-38).
const EXCEL_ROWS: u64 = 1_048_576;
const EXCEL_COLUMNS: u64 = 16_384;
/// BIFF splits records longer than 8,224 bytes into CONTINUE records, so a file within the
/// size limit has a few thousand at most; calamine's `Record::continue_record` removes them
/// from the front of a `Vec` one by one (src/xls.rs:1337-1343), which is quadratic.
const MAX_CONTINUE_RECORDS: u64 = 10_000;

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

/// The kind of workbook an upload is, judged by its bytes, never by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileFormat {
    /// Office Open XML workbook (`.xlsx`, `.xlsm`).
    Xlsx,
    /// Excel binary workbook (`.xlsb`).
    Xlsb,
    /// Excel 97-2003 workbook (`.xls`, BIFF in a compound file).
    Xls,
    /// OpenDocument spreadsheet (`.ods`).
    Ods,
    /// Plain text: comma- or tab-separated values in any ASCII-compatible encoding, or UTF-16
    /// with a byte-order mark.
    Csv,
}

/// What an upload was found to be when it is not a spreadsheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    Pdf,
    Png,
    Gif,
    Jpeg,
    Bmp,
    Tiff,
    Webp,
    Gzip,
    SevenZip,
    Rar,
    Bzip2,
    Xz,
    Zstd,
    Executable,
    Rtf,
    /// An HTML page, often a web system's "Excel export" saved with an `.xls` name.
    Html,
    /// XML that is not a workbook package, e.g. Excel 2003 "XML Spreadsheet".
    Xml,
    /// A compound file (like `.doc` or `.ppt`) without a workbook stream.
    CompoundWithoutWorkbook,
    /// NUL bytes near the start and no known signature.
    Binary,
}

impl Found {
    fn en(self) -> &'static str {
        match self {
            Found::Pdf => "a PDF document",
            Found::Png => "a PNG image",
            Found::Gif => "a GIF image",
            Found::Jpeg => "a JPEG image",
            Found::Bmp => "a BMP image",
            Found::Tiff => "a TIFF image",
            Found::Webp => "a WebP image",
            Found::Gzip => "a gzip archive",
            Found::SevenZip => "a 7-Zip archive",
            Found::Rar => "a RAR archive",
            Found::Bzip2 => "a bzip2 archive",
            Found::Xz => "an xz archive",
            Found::Zstd => "a zstd archive",
            Found::Executable => "a program",
            Found::Rtf => "an RTF document",
            Found::Html => "an HTML page (open it in Excel and save it as .xlsx)",
            Found::Xml => {
                "an XML file that is not a workbook (open it in Excel and save it as .xlsx)"
            }
            Found::CompoundWithoutWorkbook => {
                "an Office document without a workbook (such as a Word .doc)"
            }
            Found::Binary => "binary data",
        }
    }

    fn zh(self) -> &'static str {
        match self {
            Found::Pdf => "PDF 文档",
            Found::Png => "PNG 图片",
            Found::Gif => "GIF 图片",
            Found::Jpeg => "JPEG 图片",
            Found::Bmp => "BMP 图片",
            Found::Tiff => "TIFF 图片",
            Found::Webp => "WebP 图片",
            Found::Gzip => "gzip 压缩包",
            Found::SevenZip => "7-Zip 压缩包",
            Found::Rar => "RAR 压缩包",
            Found::Bzip2 => "bzip2 压缩包",
            Found::Xz => "xz 压缩包",
            Found::Zstd => "zstd 压缩包",
            Found::Executable => "可执行程序",
            Found::Rtf => "RTF 文档",
            Found::Html => "HTML 网页（请用 Excel 打开后另存为 .xlsx）",
            Found::Xml => "不是工作簿的 XML 文件（请用 Excel 打开后另存为 .xlsx）",
            Found::CompoundWithoutWorkbook => "不含工作簿的 Office 文档（例如 Word .doc）",
            Found::Binary => "二进制数据",
        }
    }
}

/// A structural fault that would make calamine loop, overrun or misread the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// The compound-file header is not one calamine can read.
    BadCompoundHeader,
    /// A compound-file sector chain comes back on itself.
    SectorChainLoops,
    /// A compound-file sector chain points past the end of the file.
    SectorPastEnd,
    /// Too many BIFF CONTINUE records after one record.
    ContinueFlood { count: u64, limit: u64 },
    /// A sheet starts past the end of the workbook stream.
    SheetPastEnd,
    /// Sheets share their records, so reading each sheet rereads the same stream.
    SheetsOverlap,
    /// An XML part carries a DOCTYPE, which no workbook format uses.
    Doctype,
    /// An XML tag is longer than the scanner holds.
    TagTooLong { limit: u64 },
    /// A cell range that runs backwards or past Excel's grid.
    BadRange { range: String },
    /// The part ends inside an element where calamine would wait for its end forever.
    Unclosed { element: String },
}

impl Fault {
    fn en(&self) -> String {
        match self {
            Fault::BadCompoundHeader => "the compound-file header is not valid".into(),
            Fault::SectorChainLoops => "a sector chain loops back on itself".into(),
            Fault::SectorPastEnd => "a sector chain points past the end of the file".into(),
            Fault::ContinueFlood { count, limit } => format!(
                "one record is followed by {} CONTINUE records; the limit is {}",
                group(*count),
                group(*limit)
            ),
            Fault::SheetPastEnd => "a sheet starts past the end of the workbook stream".into(),
            Fault::SheetsOverlap => "several sheets share the same records".into(),
            Fault::Doctype => "it contains a DOCTYPE declaration".into(),
            Fault::TagTooLong { limit } => {
                format!("an XML tag is longer than {}", human_bytes(*limit))
            }
            Fault::BadRange { range } => format!("the cell range \"{range}\" is not valid"),
            Fault::Unclosed { element } => format!("it ends inside an unclosed <{element}>"),
        }
    }

    fn zh(&self) -> String {
        match self {
            Fault::BadCompoundHeader => "复合文档文件头无效".into(),
            Fault::SectorChainLoops => "扇区链首尾循环".into(),
            Fault::SectorPastEnd => "扇区链指向文件末尾之外".into(),
            Fault::ContinueFlood { count, limit } => format!(
                "一条记录后跟随 {} 条 CONTINUE 记录，上限 {} 条",
                group(*count),
                group(*limit)
            ),
            Fault::SheetPastEnd => "工作表起始位置超出工作簿数据流末尾".into(),
            Fault::SheetsOverlap => "多个工作表共用同一段记录".into(),
            Fault::Doctype => "含有 DOCTYPE 声明".into(),
            Fault::TagTooLong { limit } => {
                format!("XML 标签长度超过 {}", human_bytes(*limit))
            }
            Fault::BadRange { range } => format!("单元格区域“{range}”无效"),
            Fault::Unclosed { element } => format!("<{element}> 未闭合即到达结尾"),
        }
    }
}

/// Why an upload is refused before any parser sees it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    /// 422: the upload has no bytes.
    #[error("the file is empty")]
    Empty,
    /// 413: the upload is larger than `Limits::max_file_bytes`.
    #[error("the file is {}, larger than the limit of {}", human_bytes(*.size), human_bytes(*.limit))]
    TooLarge { size: u64, limit: u64 },
    /// 422: a PDF, an image, an archive, a program or other binary data.
    #[error("the file is not a spreadsheet: it is {}", .found.en())]
    NotASpreadsheet { found: Found },
    /// 422: a zip file without a workbook in it.
    #[error("the file is a zip file that is not a workbook (no xl/workbook.xml, xl/workbook.bin or OpenDocument spreadsheet mimetype)")]
    ZipNotAWorkbook,
    /// 422: the zip directory cannot be read.
    #[error("the file looks like a zip file but cannot be read: {detail}")]
    CorruptZip { detail: String },
    /// 422: more zip entries than `Limits::max_entries`.
    #[error("the zip file has {} entries; the limit is {}", group(*.count), group(*.limit))]
    TooManyEntries { count: u64, limit: u64 },
    /// 422: two zip entries whose names calamine treats as the same.
    #[error("the zip file holds the entry \"{name}\" more than once")]
    DuplicateEntry { name: String },
    /// 422: the entries would inflate past `Limits::max_uncompressed_bytes`.
    #[error("the zip file would inflate to {}, more than the limit of {} (a zip bomb?)", human_bytes(*.total), human_bytes(*.limit))]
    ZipBomb { total: u64, limit: u64 },
    /// 422: one entry compresses better than `Limits::max_ratio` allows.
    #[error("the zip entry \"{entry}\" would inflate {}-fold; the limit is {}-fold (a zip bomb?)", group(*.ratio), group(*.limit))]
    CompressionRatio {
        entry: String,
        ratio: u64,
        limit: u64,
    },
    /// 422: password-protected or encrypted content.
    #[error("the file is password-protected or encrypted ({what}); remove the password in Excel and upload it again")]
    Encrypted { what: String },
    /// 422: `uniqueCount` larger than `Limits::max_shared_strings` (calamine issue #684).
    #[error("\"{part}\" declares {} distinct strings; the limit is {}", group(*.declared), group(*.limit))]
    SharedStringsCount {
        part: String,
        declared: u64,
        limit: u64,
    },
    /// 422: `uniqueCount` larger than the part could hold (calamine issue #684).
    #[error("\"{part}\" declares {} distinct strings but is only {} long", group(*.declared), human_bytes(*.part_bytes))]
    SharedStringsImplausible {
        part: String,
        declared: u64,
        part_bytes: u64,
    },
    /// 422: a sheet whose grid would be too large (calamine issue #693).
    #[error("sheet \"{sheet}\" spans {} rows × {} columns ({} cells); the limit is {} rows and {} cells", group(*.rows), group(*.cols), group(.rows.saturating_mul(*.cols)), group(*.max_rows), group(*.max_cells))]
    SheetTooLarge {
        sheet: String,
        rows: u64,
        cols: u64,
        max_rows: u64,
        max_cells: u64,
    },
    /// 422: repeated cells and spaces in an `.ods` would expand to too much text.
    #[error("\"{part}\" expands to {} of text once repeated cells are filled in; the limit is {}", human_bytes(*.bytes), human_bytes(*.limit))]
    TextTooLarge {
        part: String,
        bytes: u64,
        limit: u64,
    },
    /// 422: an `.xls` with more sheets than `Limits::max_sheets`.
    #[error("the workbook has {} sheets; the limit is {}", group(*.count), group(*.limit))]
    TooManySheets { count: u64, limit: u64 },
    /// 422: a structure that would make the reader loop or overrun.
    #[error("the file is damaged: in \"{part}\", {}", .fault.en())]
    Malformed { part: String, fault: Fault },
}

impl GuardError {
    /// The message in Chinese, naming what was found and the limit.
    pub fn zh(&self) -> String {
        match self {
            GuardError::Empty => "文件为空".into(),
            GuardError::TooLarge { size, limit } => format!(
                "文件大小 {} 超过上限 {}",
                human_bytes(*size),
                human_bytes(*limit)
            ),
            GuardError::NotASpreadsheet { found } => {
                format!("文件不是电子表格，而是{}", found.zh())
            }
            GuardError::ZipNotAWorkbook => {
                "文件是 zip 压缩包，但不是工作簿（没有 xl/workbook.xml、xl/workbook.bin 或 OpenDocument 表格类型）"
                    .into()
            }
            GuardError::CorruptZip { detail } => {
                format!("文件看似 zip 格式但无法读取：{detail}")
            }
            GuardError::TooManyEntries { count, limit } => format!(
                "zip 文件含 {} 个条目，超过上限 {} 个",
                group(*count),
                group(*limit)
            ),
            GuardError::DuplicateEntry { name } => {
                format!("zip 文件中条目“{name}”出现不止一次")
            }
            GuardError::ZipBomb { total, limit } => format!(
                "zip 文件解压后共 {}，超过上限 {}（疑似压缩炸弹）",
                human_bytes(*total),
                human_bytes(*limit)
            ),
            GuardError::CompressionRatio {
                entry,
                ratio,
                limit,
            } => format!(
                "zip 条目“{entry}”压缩比为 {} 倍，超过上限 {} 倍（疑似压缩炸弹）",
                group(*ratio),
                group(*limit)
            ),
            GuardError::Encrypted { what } => {
                format!("文件已加密或设有密码（{what}），请在 Excel 中取消密码后重新上传")
            }
            GuardError::SharedStringsCount {
                part,
                declared,
                limit,
            } => format!(
                "“{part}”声明含 {} 个不同字符串，超过上限 {} 个",
                group(*declared),
                group(*limit)
            ),
            GuardError::SharedStringsImplausible {
                part,
                declared,
                part_bytes,
            } => format!(
                "“{part}”声明含 {} 个不同字符串，但其大小仅 {}",
                group(*declared),
                human_bytes(*part_bytes)
            ),
            GuardError::SheetTooLarge {
                sheet,
                rows,
                cols,
                max_rows,
                max_cells,
            } => format!(
                "工作表“{sheet}”范围为 {} 行 × {} 列（{} 个单元格），上限为 {} 行、{} 个单元格",
                group(*rows),
                group(*cols),
                group(rows.saturating_mul(*cols)),
                group(*max_rows),
                group(*max_cells)
            ),
            GuardError::TextTooLarge { part, bytes, limit } => format!(
                "“{part}”展开重复单元格后文本共 {}，超过上限 {}",
                human_bytes(*bytes),
                human_bytes(*limit)
            ),
            GuardError::TooManySheets { count, limit } => format!(
                "工作簿含 {} 个工作表，超过上限 {} 个",
                group(*count),
                group(*limit)
            ),
            GuardError::Malformed { part, fault } => {
                format!("文件已损坏：“{part}”中{}", fault.zh())
            }
        }
    }
}

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
/// billion cells (calamine issue #693). Read xlsx and xlsb with the streaming
/// `worksheet_cells_reader` (`next_cell` only: `next_formula` resizes a Vec to any shared
/// formula index, src/xlsx/cells_reader.rs:434), and run calamine under `catch_unwind`:
/// it panics on many malformed files.
pub fn inspect(bytes: &[u8], limits: &Limits) -> Result<FileFormat, GuardError> {
    if bytes.is_empty() {
        return Err(GuardError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_file_bytes {
        return Err(GuardError::TooLarge {
            size,
            limit: limits.max_file_bytes,
        });
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return inspect_zip(bytes, limits);
    }
    if bytes.starts_with(CFB_MAGIC) {
        inspect_compound(bytes, limits)?;
        return Ok(FileFormat::Xls);
    }
    if let Some(found) = sniff_binary(bytes) {
        return Err(GuardError::NotASpreadsheet { found });
    }
    Ok(FileFormat::Csv)
}

// ---------------------------------------------------------------------------------------
// Text and known binary formats

/// Names a non-spreadsheet by its signature, or by NUL bytes near the start; `None` is text.
fn sniff_binary(bytes: &[u8]) -> Option<Found> {
    const SIGNATURES: &[(&[u8], Found)] = &[
        (b"%PDF", Found::Pdf),
        (b"\x89PNG\r\n\x1a\n", Found::Png),
        (b"GIF87a", Found::Gif),
        (b"GIF89a", Found::Gif),
        (b"\xFF\xD8\xFF", Found::Jpeg),
        (b"II*\x00", Found::Tiff),
        (b"MM\x00*", Found::Tiff),
        (b"\x1F\x8B", Found::Gzip),
        (b"7z\xBC\xAF\x27\x1C", Found::SevenZip),
        (b"Rar!\x1A\x07", Found::Rar),
        (b"\xFD7zXZ\x00", Found::Xz),
        (b"\x28\xB5\x2F\xFD", Found::Zstd),
        (b"\x7FELF", Found::Executable),
        (b"{\\rtf", Found::Rtf),
    ];
    for (signature, found) in SIGNATURES {
        if bytes.starts_with(signature) {
            return Some(*found);
        }
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Some(Found::Webp);
    }
    if bytes.len() >= 10 && bytes.starts_with(b"BZh") && &bytes[4..10] == b"1AY&SY" {
        return Some(Found::Bzip2);
    }
    // UTF-16 text (Excel's "Unicode Text" export) is all NULs and letters: accept it by its BOM.
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return None;
    }
    let head = &bytes[..bytes.len().min(8 * KIB as usize)];
    if head.contains(&0) {
        // "MZ" and "BM" are also how text can start, so these only count with NULs.
        return Some(if head.starts_with(b"MZ") {
            Found::Executable
        } else if head.starts_with(b"BM") {
            Found::Bmp
        } else {
            Found::Binary
        });
    }
    // A register never starts with markup; web systems' "Excel exports" often are HTML.
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let text = trim_ascii_start(text);
    if text.first() == Some(&b'<') {
        let lower: Vec<u8> = text[..text.len().min(512)].to_ascii_lowercase();
        let is_html = [
            b"<!doctype html".as_slice(),
            b"<html",
            b"<table",
            b"<meta",
            b"<head",
        ]
        .iter()
        .any(|p| lower.starts_with(p))
            || contains(&lower, b"<html");
        return Some(if is_html { Found::Html } else { Found::Xml });
    }
    None
}

fn trim_ascii_start(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

// ---------------------------------------------------------------------------------------
// Zip containers: xlsx, xlsb, ods

const ODS_MIMETYPE: &[u8] = b"application/vnd.oasis.opendocument.spreadsheet";

type Zip<'a> = ZipArchive<Cursor<&'a [u8]>>;

fn inspect_zip(bytes: &[u8], limits: &Limits) -> Result<FileFormat, GuardError> {
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| GuardError::CorruptZip {
        detail: e.to_string(),
    })?;
    let count = zip.len() as u64;
    if count > limits.max_entries {
        return Err(GuardError::TooManyEntries {
            count,
            limit: limits.max_entries,
        });
    }

    // Names as calamine looks them up: case-insensitively, with `\` read as `/`
    // (calamine src/utils.rs:216 build_zip_path_cache).
    let mut names = Vec::with_capacity(zip.len());
    let mut seen = HashSet::with_capacity(zip.len());
    let mut total: u64 = 0;
    for index in 0..zip.len() {
        let entry = zip
            .by_index_data(index)
            .map_err(|e| GuardError::CorruptZip {
                detail: e.to_string(),
            })?;
        // Decoded as zip decodes it for calamine: UTF-8, else code page 437.
        let name = match entry.name() {
            Ok(name) => name.into_owned(),
            Err(_) => String::from_utf8_lossy(entry.name_raw()).into_owned(),
        };
        let normal = name.replace('\\', "/").to_ascii_lowercase();
        if !seen.insert(normal.clone()) {
            return Err(GuardError::DuplicateEntry { name });
        }
        if entry.encrypted() {
            return Err(GuardError::Encrypted { what: name });
        }
        // zip 9 stops inflating an entry once it passes the size its central directory
        // declares (zip-9.8.2 src/crc32.rs:39 count, src/types.rs:127 size_limit), and calamine
        // reads every part through `ZipArchive::by_name`, so the declared sizes bound what
        // inflating can cost.
        let inflated = entry.size();
        total = total.saturating_add(inflated);
        if total > limits.max_uncompressed_bytes {
            return Err(GuardError::ZipBomb {
                total,
                limit: limits.max_uncompressed_bytes,
            });
        }
        let ratio = inflated / entry.compressed_size().max(1);
        if inflated > RATIO_FLOOR_BYTES && ratio > limits.max_ratio {
            return Err(GuardError::CompressionRatio {
                entry: name,
                ratio,
                limit: limits.max_ratio,
            });
        }
        names.push((name, normal, inflated, entry.is_dir()));
    }
    // Exact duplicates collapse in zip's own index and never reach the loop above.
    if zip.has_duplicate_names() {
        return Err(GuardError::DuplicateEntry {
            name: "(a name listed twice in the zip directory)".into(),
        });
    }

    let format = if is_ods(&mut zip) {
        FileFormat::Ods
    } else if names.iter().any(|(_, n, _, _)| n == "xl/workbook.xml") {
        FileFormat::Xlsx
    } else if names.iter().any(|(_, n, _, _)| n == "xl/workbook.bin") {
        FileFormat::Xlsb
    } else {
        return Err(GuardError::ZipNotAWorkbook);
    };

    // Every part is checked whatever the format, so that a reader that tries formats in turn
    // (calamine's `open_workbook_auto`) meets no unchecked part either.
    for (index, (name, normal, inflated, is_dir)) in names.iter().enumerate() {
        if *is_dir {
            continue;
        }
        if normal.rsplit('/').next() == Some("sharedstrings.xml") {
            check_shared_strings(&mut zip, index, name, *inflated, limits)?;
        }
        // calamine opens the ods content by this exact name (src/ods.rs:360).
        if name == "content.xml" {
            check_ods_content(&mut zip, index, name, limits)?;
        }
        // An encrypted ods lists its encryption in the manifest (src/ods.rs:316-354).
        if name == "META-INF/manifest.xml" && ods_manifest_is_encrypted(&mut zip, index) {
            return Err(GuardError::Encrypted { what: name.clone() });
        }
        check_sheet_header(&mut zip, index, name, limits)?;
    }
    Ok(format)
}

/// calamine reads the first 46 bytes of the entry named exactly `mimetype` (src/ods.rs:216).
fn is_ods(zip: &mut Zip<'_>) -> bool {
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

fn ods_manifest_is_encrypted(zip: &mut Zip<'_>, index: usize) -> bool {
    let Some(entry) = open_entry(zip, index) else {
        return false;
    };
    let mut manifest = Vec::new();
    // A manifest lists a few dozen files; a megabyte is far more than any real one.
    let _ = entry.take(MIB).read_to_end(&mut manifest);
    contains(&manifest, b"<manifest:encryption-data")
}

/// A reader over one entry's inflated bytes; a damaged entry reads as ending early, as it
/// does for calamine, which stops at the same error.
fn open_entry<'z, 'b>(zip: &'z mut Zip<'b>, index: usize) -> Option<ZipFile<'z, Cursor<&'b [u8]>>> {
    zip.by_index(index).ok()
}

/// calamine issue #684: `read_shared_strings` reserves the `uniqueCount` that the first
/// `<sst>` declares before it reads a single string (src/xlsx/mod.rs:362-364); a count of
/// 10^12 aborts the process. (It ignores `count`, the number of references to strings, which
/// real registers legitimately push past millions; xlsb's BrtBeginSst count only bounds a
/// loop, src/xlsb/mod.rs:270-283, and reserves nothing.)
///
/// Every `uniqueCount="…"` in the part is checked, wherever it stands, so that no quirk of
/// XML tokenising can hide the one calamine reads.
fn check_shared_strings(
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
fn check_sheet_header(
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

fn check_grid(sheet: &str, rows: u64, cols: u64, limits: &Limits) -> Result<(), GuardError> {
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
fn check_ods_content(
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

// ---------------------------------------------------------------------------------------
// A small XML tokenizer that splits markup where quick-xml 0.42 does

/// Bytes from a reader one at a time, through a fixed buffer; a read error ends the stream,
/// as it ends calamine's read of the same part.
struct ByteReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R: Read> ByteReader<R> {
    fn new(inner: R) -> Self {
        ByteReader {
            inner,
            buf: vec![0; 64 * KIB as usize].into_boxed_slice(),
            pos: 0,
            len: 0,
        }
    }

    fn next(&mut self) -> Option<u8> {
        if self.pos == self.len {
            self.len = loop {
                match self.inner.read(&mut self.buf) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break 0,
                }
            };
            self.pos = 0;
            if self.len == 0 {
                return None;
            }
        }
        let b = self.buf[self.pos];
        self.pos += 1;
        Some(b)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    /// `<name …>` or `<name …/>`; calamine's readers expand the empty form into a start and
    /// an end (`expand_empty_elements = true`).
    Start { empty: bool },
    /// `</name>`
    End,
}

/// Start and end tags of an XML stream, with their names and raw attributes; comments,
/// CDATA and processing instructions are skipped by quick-xml's rules (quick-xml-0.42.0
/// src/reader/mod.rs:1199-1242 and src/parser/element.rs:57-73), so that this sees the
/// elements calamine sees. Text between tags is only counted.
struct XmlTokens<R> {
    bytes: ByteReader<R>,
    /// The tag between `<` and `>`, without a trailing `/`.
    tag: Vec<u8>,
    name_len: usize,
    text_bytes: u64,
}

impl<R: Read> XmlTokens<R> {
    fn new(bytes: ByteReader<R>) -> Self {
        XmlTokens {
            bytes,
            tag: Vec::with_capacity(256),
            name_len: 0,
            text_bytes: 0,
        }
    }

    /// Bytes of text seen so far (outside all markup).
    fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    /// The qualified name of the last tag.
    fn name(&self) -> &[u8] {
        &self.tag[..self.name_len]
    }

    /// The name of the last tag after its prefix, as quick-xml's `local_name`.
    fn local_name(&self) -> &[u8] {
        let name = self.name();
        match name.iter().position(|&b| b == b':') {
            Some(colon) => &name[colon + 1..],
            None => name,
        }
    }

    /// The raw value of an attribute of the last tag, matched by its exact key; the first
    /// match wins, as in calamine's `raw_attr` (src/attrs.rs:112-125).
    fn attribute(&self, key: &[u8]) -> Option<&[u8]> {
        self.attributes().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The raw attributes of the last tag, split as calamine's `RawAttrIter` splits them
    /// (src/attrs.rs:36-90); it ends at the first malformed one, where calamine fails.
    fn attributes(&self) -> Attributes<'_> {
        Attributes {
            raw: &self.tag[self.name_len..],
            pos: 0,
        }
    }

    /// The next start or end tag; `Ok(None)` at the end of the stream or where quick-xml
    /// would stop with a syntax error (calamine stops reading the part there too).
    fn next(&mut self) -> Result<Option<Token>, Fault> {
        loop {
            let Some(b) = self.bytes.next() else {
                return Ok(None);
            };
            if b != b'<' {
                self.text_bytes += 1;
                continue;
            }
            let Some(first) = self.bytes.next() else {
                return Ok(None);
            };
            match first {
                b'!' => {
                    if !self.skip_bang()? {
                        return Ok(None);
                    }
                }
                b'?' => {
                    if !self.skip_until_after(b'?', b'?') {
                        return Ok(None);
                    }
                }
                b'/' => {
                    self.tag.clear();
                    loop {
                        match self.bytes.next() {
                            None => return Ok(None),
                            Some(b'>') => break,
                            Some(b) => self.push_tag_byte(b)?,
                        }
                    }
                    self.name_len = name_len(&self.tag);
                    return Ok(Some(Token::End));
                }
                _ => {
                    self.tag.clear();
                    let mut quote: Option<u8> = None;
                    let mut b = first;
                    loop {
                        match (quote, b) {
                            (None, b'>') => break,
                            (None, b'"' | b'\'') => quote = Some(b),
                            (Some(q), _) if q == b => quote = None,
                            _ => {}
                        }
                        self.push_tag_byte(b)?;
                        match self.bytes.next() {
                            Some(next) => b = next,
                            None => return Ok(None),
                        }
                    }
                    let empty = self.tag.last() == Some(&b'/');
                    if empty {
                        self.tag.pop();
                    }
                    self.name_len = name_len(&self.tag);
                    return Ok(Some(Token::Start { empty }));
                }
            }
        }
    }

    fn push_tag_byte(&mut self, b: u8) -> Result<(), Fault> {
        if self.tag.len() >= MAX_TAG_BYTES {
            return Err(Fault::TagTooLong {
                limit: MAX_TAG_BYTES as u64,
            });
        }
        self.tag.push(b);
        Ok(())
    }

    /// Skips `<!--…-->` or `<![CDATA[…]]>` after `<!`; `false` at the end of the stream or
    /// where quick-xml fails. quick-xml ends a comment at the first `>` at least six bytes
    /// after the `<` that follows `--`, and CDATA at the first `]]>`.
    fn skip_bang(&mut self) -> Result<bool, Fault> {
        let Some(kind) = self.bytes.next() else {
            return Ok(false);
        };
        match kind {
            b'-' => {
                // offsets from '<': '!' is 1, this '-' is 2
                let mut offset = 2u64;
                let (mut prev2, mut prev1) = (b'!', b'-');
                loop {
                    let Some(b) = self.bytes.next() else {
                        return Ok(false);
                    };
                    offset += 1;
                    if b == b'>' && offset >= 6 && prev2 == b'-' && prev1 == b'-' {
                        return Ok(true);
                    }
                    (prev2, prev1) = (prev1, b);
                }
            }
            b'[' => Ok(self.skip_until_after(b']', b']')),
            b'D' | b'd' => Err(Fault::Doctype),
            _ => Ok(false),
        }
    }

    /// Skips to just after the first `>` that follows the two bytes `a b`.
    fn skip_until_after(&mut self, a: u8, b: u8) -> bool {
        let (mut prev2, mut prev1) = (0u8, 0u8);
        loop {
            let Some(c) = self.bytes.next() else {
                return false;
            };
            if c == b'>' && prev2 == a && prev1 == b {
                return true;
            }
            // A processing instruction ends at `?>`: only one byte must precede.
            if c == b'>' && a == b'?' && prev1 == b'?' {
                return true;
            }
            (prev2, prev1) = (prev1, c);
        }
    }
}

/// Key and raw value of each attribute in a tag.
struct Attributes<'t> {
    raw: &'t [u8],
    pos: usize,
}

impl<'t> Iterator for Attributes<'t> {
    type Item = (&'t [u8], &'t [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let raw = self.raw;
        let mut pos = self.pos;
        while pos < raw.len() && raw[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let key_start = pos;
        while pos < raw.len() && raw[pos] != b'=' {
            pos += 1;
        }
        if pos >= raw.len() {
            self.pos = raw.len();
            return None;
        }
        let key = trim_ascii_end(&raw[key_start..pos]);
        pos += 1;
        while pos < raw.len() && raw[pos].is_ascii_whitespace() {
            pos += 1;
        }
        let quote = match raw.get(pos) {
            Some(&q) if q == b'"' || q == b'\'' => q,
            _ => {
                self.pos = raw.len();
                return None;
            }
        };
        pos += 1;
        let value_start = pos;
        while pos < raw.len() && raw[pos] != quote {
            pos += 1;
        }
        let value = &raw[value_start..pos];
        self.pos = (pos + 1).min(raw.len());
        Some((key, value))
    }
}

fn name_len(tag: &[u8]) -> usize {
    tag.iter()
        .position(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .unwrap_or(tag.len())
}

fn trim_ascii_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest;
        } else {
            break;
        }
    }
    s
}

// ---------------------------------------------------------------------------------------
// Compound files: xls, and encrypted Office documents

const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// Sector ids from here up are markers, not sectors (calamine src/cfb.rs RESERVED_SECTORS).
const RESERVED_SECTORS: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;

/// A compound file as calamine's `Cfb::new` (src/cfb.rs:104-158) reads it, with every chain
/// walked under a step bound: calamine's `get_chain` follows the FAT until it has `len`
/// bytes or meets ENDOFCHAIN, so a chain that loops either grows until memory runs out (the
/// directory chain is read with `len = usize::MAX`) or, when it loops over a sector past
/// the end of the file that reads as empty, never ends (src/cfb.rs:328-347).
struct Compound<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    /// calamine's bound on sector ids: file length / sector size.
    max_id: u32,
    fat: Vec<u32>,
    directory: Vec<DirEntry>,
    ministream: Vec<u8>,
    minifat: Vec<u32>,
}

struct DirEntry {
    name: String,
    start: u32,
    len: u64,
}

fn compound_fault(fault: Fault) -> GuardError {
    GuardError::Malformed {
        part: "compound file".into(),
        fault,
    }
}

impl<'a> Compound<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, GuardError> {
        let bad = || compound_fault(Fault::BadCompoundHeader);
        let header = bytes.get(..512).ok_or_else(bad)?;
        let version = u16_le(&header[26..28]);
        let sector_size = match u16_le(&header[30..32]) {
            9 => 512,
            12 => 4096,
            _ => return Err(bad()),
        };
        if u16_le(&header[32..34]) != 6 || bytes.len() < sector_size {
            return Err(bad());
        }
        let dir_start = u32_le(&header[48..52]);
        let mini_fat_start = u32_le(&header[60..64]);
        let mini_fat_len = u64::from(u32_le(&header[64..68]));
        let mut difat_next = u32_le(&header[68..72]);
        let max_id = u32::try_from(bytes.len() / sector_size).unwrap_or(u32::MAX);

        let mut compound = Compound {
            bytes,
            sector_size,
            max_id,
            fat: Vec::new(),
            directory: Vec::new(),
            ministream: Vec::new(),
            minifat: Vec::new(),
        };

        let mut difat: Vec<u32> = header[76..512].chunks_exact(4).map(u32_le).collect();
        let mut difat_sectors = 0u64;
        while difat_next < RESERVED_SECTORS {
            difat_sectors += 1;
            if difat_sectors > u64::from(max_id) + 1 {
                return Err(compound_fault(Fault::SectorChainLoops));
            }
            let sector = compound.sector(difat_next)?;
            difat.extend(sector.chunks_exact(4).map(u32_le));
            difat_next = difat.pop().unwrap_or(ENDOFCHAIN);
        }
        for id in difat.into_iter().filter(|&id| id < DIFSECT) {
            let sector = compound.sector(id)?;
            compound.fat.extend(sector.chunks_exact(4).map(u32_le));
        }

        let directory = compound.chain(dir_start, u64::MAX)?;
        compound.directory = directory
            .chunks_exact(128)
            .map(|entry| {
                let units: Vec<u16> = entry[..64].chunks_exact(2).map(u16_le).collect();
                let name = String::from_utf16_lossy(&units);
                let name = name.split('\0').next().unwrap_or_default().to_owned();
                let len = if sector_size == 512 {
                    u64::from(u32_le(&entry[120..124]))
                } else {
                    u64_le(&entry[120..128])
                };
                DirEntry {
                    name,
                    start: u32_le(&entry[116..120]),
                    len,
                }
            })
            .collect();
        let Some(root) = compound.directory.first() else {
            return Err(bad());
        };
        if version != 3 && root.start == ENDOFCHAIN {
            return Err(bad());
        }
        if mini_fat_len > 0 {
            let (root_start, root_len) = (root.start, root.len);
            compound.ministream = compound.chain(root_start, root_len)?;
            let minifat = compound.chain(
                mini_fat_start,
                mini_fat_len.saturating_mul(sector_size as u64),
            )?;
            compound.minifat = minifat.chunks_exact(4).map(u32_le).collect();
        }
        Ok(compound)
    }

    /// Sector `id`, which calamine reads from just after the header (one sector long).
    fn sector(&self, id: u32) -> Result<&'a [u8], GuardError> {
        if id > self.max_id {
            return Err(compound_fault(Fault::SectorPastEnd));
        }
        let start = (id as usize + 1) * self.sector_size;
        if start >= self.bytes.len() {
            // calamine slices `data[start..len]` here with len < start: a panic.
            return Err(compound_fault(Fault::SectorPastEnd));
        }
        let end = (start + self.sector_size).min(self.bytes.len());
        Ok(&self.bytes[start..end])
    }

    /// The bytes of a regular chain, up to `len`, or a fault where calamine would loop,
    /// overrun or index past its FAT.
    fn chain(&self, mut id: u32, len: u64) -> Result<Vec<u8>, GuardError> {
        let mut out = Vec::new();
        let mut steps = 0u64;
        while id != ENDOFCHAIN {
            steps += 1;
            if steps > u64::from(self.max_id) + 1 {
                return Err(compound_fault(Fault::SectorChainLoops));
            }
            let sector = self.sector(id)?;
            let remaining = len.saturating_sub(out.len() as u64);
            let take = sector
                .len()
                .min(usize::try_from(remaining).unwrap_or(usize::MAX));
            out.extend_from_slice(&sector[..take]);
            if out.len() as u64 >= len {
                break;
            }
            id = *self
                .fat
                .get(id as usize)
                .ok_or_else(|| compound_fault(Fault::SectorPastEnd))?;
        }
        Ok(out)
    }

    /// A stream's bytes as calamine's `get_stream` finds them (src/cfb.rs:160-177): streams
    /// under 4096 bytes live in 64-byte mini sectors of the root's ministream.
    fn stream(&self, entry: &DirEntry) -> Result<Vec<u8>, GuardError> {
        if entry.len >= 4096 {
            return self.chain(entry.start, entry.len);
        }
        let mut out = Vec::new();
        let mut id = entry.start;
        let mut steps = 0u64;
        while id != ENDOFCHAIN {
            steps += 1;
            if steps > u64::from(self.max_id) * 8 + 1 {
                return Err(compound_fault(Fault::SectorChainLoops));
            }
            let start = id as usize * 64;
            // calamine reads a mini sector past the ministream from wherever the file reader
            // stands: not a workbook anyone wrote.
            let sector = self
                .ministream
                .get(start..start + 64)
                .ok_or_else(|| compound_fault(Fault::SectorPastEnd))?;
            let take = 64.min(entry.len as usize - out.len());
            out.extend_from_slice(&sector[..take]);
            if out.len() as u64 >= entry.len {
                break;
            }
            id = *self
                .minifat
                .get(id as usize)
                .ok_or_else(|| compound_fault(Fault::SectorPastEnd))?;
        }
        Ok(out)
    }

    fn find(&self, name: &str) -> Option<&DirEntry> {
        self.directory
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case(name))
    }
}

fn inspect_compound(bytes: &[u8], limits: &Limits) -> Result<(), GuardError> {
    let compound = Compound::parse(bytes)?;
    // An encrypted xlsx is a compound file holding EncryptedInfo and EncryptedPackage
    // ([MS-OFFCRYPTO] 2.3.4); calamine's xlsx reader says "password protected" from the same
    // directory entry (src/xlsx/mod.rs:3193-3204).
    if compound.find("EncryptedPackage").is_some() {
        return Err(GuardError::Encrypted {
            what: "EncryptedPackage".into(),
        });
    }
    let Some(entry) = compound.find("Workbook").or_else(|| compound.find("Book")) else {
        return Err(GuardError::NotASpreadsheet {
            found: Found::CompoundWithoutWorkbook,
        });
    };
    let stream = compound.stream(entry)?;
    check_biff(&stream, limits)
}

/// One BIFF record as calamine's `RecordIter` yields it (src/xls.rs:1387-1420): the record,
/// then the CONTINUE records (0x003C) right after it.
struct BiffRecord<'s> {
    typ: u16,
    data: &'s [u8],
    /// Offset just past the record and its CONTINUE records.
    next: usize,
}

fn biff_record(stream: &[u8], at: usize) -> Result<Option<BiffRecord<'_>>, GuardError> {
    let Some(head) = stream.get(at..at + 4) else {
        return Ok(None);
    };
    let typ = u16_le(&head[0..2]);
    let len = usize::from(u16_le(&head[2..4]));
    let Some(data) = stream.get(at + 4..at + 4 + len) else {
        return Ok(None);
    };
    let mut next = at + 4 + len;
    let mut continues = 0u64;
    while let Some(head) = stream.get(next..next + 4) {
        if u16_le(&head[0..2]) != 0x003C {
            break;
        }
        let len = usize::from(u16_le(&head[2..4]));
        if stream.len() < next + 4 + len {
            break;
        }
        continues += 1;
        if continues > MAX_CONTINUE_RECORDS {
            return Err(GuardError::Malformed {
                part: "Workbook".into(),
                fault: Fault::ContinueFlood {
                    count: continues,
                    limit: MAX_CONTINUE_RECORDS,
                },
            });
        }
        next += 4 + len;
    }
    Ok(Some(BiffRecord { typ, data, next }))
}

/// The workbook stream of an `.xls`, walked as calamine's `parse_workbook` walks it when the
/// file is opened (src/xls.rs:498-735). calamine builds every sheet's grid right there, sized
/// by the bounding box of the cells it finds (`Range::from_sparse`, src/lib.rs:1051), after
/// reserving rows × columns from each DIMENSIONS record (src/xls.rs:663-668): a DIMENSIONS of
/// 4 billion rows, or two cells at A1 and IV65536... of a 65,536-column sheet, abort the
/// process. Also refused: the FilePass record of a password-protected workbook, more sheets
/// than the limit, sheets that start past the stream or share records (each sheet rereads the
/// stream from its offset), and floods of CONTINUE records.
fn check_biff(stream: &[u8], limits: &Limits) -> Result<(), GuardError> {
    let mut sheets: Vec<usize> = Vec::new();
    let mut at = 0;
    while let Some(record) = biff_record(stream, at)? {
        at = record.next;
        match record.typ {
            // FilePass (MS-XLS 2.4.117); calamine src/xls.rs:533
            0x002F if record.data.len() >= 2 && u16_le(&record.data[..2]) != 0 => {
                return Err(GuardError::Encrypted {
                    what: "FilePass".into(),
                });
            }
            // BoundSheet8 (MS-XLS 2.4.28): the sheet's offset in the stream
            0x0085 if record.data.len() >= 4 => {
                sheets.push(u32_le(&record.data[..4]) as usize);
                if sheets.len() as u64 > limits.max_sheets {
                    return Err(GuardError::TooManySheets {
                        count: sheets.len() as u64,
                        limit: limits.max_sheets,
                    });
                }
            }
            0x000A => break,
            _ => {}
        }
    }

    // Real sheets are disjoint runs of records; a budget of twice the stream catches sheets
    // that point into each other without refusing any honest layout.
    let mut budget = stream
        .len()
        .saturating_mul(2)
        .saturating_add(64 * KIB as usize);
    for (number, &start) in sheets.iter().enumerate() {
        if start > stream.len() {
            return Err(GuardError::Malformed {
                part: "Workbook".into(),
                fault: Fault::SheetPastEnd,
            });
        }
        let sheet = format!("sheet {}", number + 1);
        let mut bounds = CellBounds::default();
        let mut seen_bof = false;
        let mut depth = 0usize;
        let mut at = start;
        while let Some(record) = biff_record(stream, at)? {
            let scanned = record.next - at;
            budget = budget.checked_sub(scanned).ok_or(GuardError::Malformed {
                part: "Workbook".into(),
                fault: Fault::SheetsOverlap,
            })?;
            at = record.next;
            let data = record.data;
            if depth > 0 {
                match record.typ {
                    0x0809 => depth += 1,
                    0x000A => depth -= 1,
                    _ => {}
                }
                continue;
            }
            match record.typ {
                0x0809 if seen_bof => depth += 1,
                0x0809 => seen_bof = true,
                0x000A => break,
                // DIMENSIONS (MS-XLS 2.4.90), read as calamine's parse_dimensions (src/xls.rs:1114)
                0x0200 => {
                    if let Some((rows, cols)) = biff_dimensions(data) {
                        check_grid(&sheet, rows, cols, limits)?;
                    }
                }
                // MulRk: row, first column, 6 bytes a cell, last column
                0x00BD if data.len() >= 6 => {
                    let row = u32::from(u16_le(&data[0..2]));
                    let first = u32::from(u16_le(&data[2..4]));
                    let cells = ((data.len() - 6) / 6) as u32;
                    bounds.add(row, first);
                    bounds.add(row, first + cells.saturating_sub(1));
                }
                // Number, Label, RString, BoolErr, RK, LabelSst, Formula: row and column first
                0x0203 | 0x0204 | 0x00D6 | 0x0205 | 0x027E | 0x00FD | 0x0006 if data.len() >= 4 => {
                    bounds.add(
                        u32::from(u16_le(&data[0..2])),
                        u32::from(u16_le(&data[2..4])),
                    );
                }
                _ => {}
            }
        }
        if let Some((rows, cols)) = bounds.size() {
            check_grid(&sheet, rows, cols, limits)?;
        }
    }
    Ok(())
}

/// Rows × columns that calamine reserves for a DIMENSIONS record: its arithmetic in `u32`
/// wraps in a release build, so a backwards range becomes four billion rows.
fn biff_dimensions(r: &[u8]) -> Option<(u64, u64)> {
    let (rf, rl, mut cf, cl) = match r.len() {
        10 => (
            u32::from(u16_le(&r[0..2])),
            u32::from(u16_le(&r[2..4])),
            u32::from(u16_le(&r[4..6])),
            u32::from(u16_le(&r[6..8])),
        ),
        14 | 16 => (
            u32_le(&r[0..4]),
            u32_le(&r[4..8]),
            u32::from(u16_le(&r[8..10])),
            u32::from(u16_le(&r[10..12])),
        ),
        _ => return None,
    };
    if 0xFF < cf || cl < cf {
        cf = 0;
    }
    let (start, end) = if 1 <= rl && 1 <= cl {
        ((rf, cf), (rl - 1, cl - 1))
    } else {
        ((rf, cf), (rf, cf))
    };
    let rows = u64::from(end.0.wrapping_sub(start.0).wrapping_add(1));
    let cols = u64::from(end.1.wrapping_sub(start.1).wrapping_add(1));
    Some((rows, cols))
}

/// The bounding box of the cells of one sheet.
#[derive(Default)]
struct CellBounds {
    rows: Option<(u32, u32)>,
    cols: Option<(u32, u32)>,
}

impl CellBounds {
    fn add(&mut self, row: u32, col: u32) {
        let widen = |range: Option<(u32, u32)>, v: u32| match range {
            None => Some((v, v)),
            Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
        };
        self.rows = widen(self.rows, row);
        self.cols = widen(self.cols, col);
    }

    fn size(&self) -> Option<(u64, u64)> {
        let (r0, r1) = self.rows?;
        let (c0, c1) = self.cols?;
        Some((u64::from(r1 - r0) + 1, u64::from(c1 - c0) + 1))
    }
}

// ---------------------------------------------------------------------------------------
// Little helpers

fn u16_le(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

fn u64_le(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// "73.2 MB", "50 MB", "812 bytes" (binary units, as Windows shows file sizes).
fn human_bytes(n: u64) -> String {
    let (unit, name) = if n >= GIB {
        (GIB, "GB")
    } else if n >= MIB {
        (MIB, "MB")
    } else if n >= KIB {
        (KIB, "KB")
    } else {
        return format!("{n} bytes");
    };
    let tenths = (u128::from(n) * 10 + u128::from(unit) / 2) / u128::from(unit);
    if tenths.is_multiple_of(10) {
        format!("{} {name}", tenths / 10)
    } else {
        format!("{}.{} {name}", tenths / 10, tenths % 10)
    }
}

/// 1000000000000 as "1,000,000,000,000".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

impl fmt::Display for FileFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileFormat::Xlsx => "xlsx",
            FileFormat::Xlsb => "xlsb",
            FileFormat::Xls => "xls",
            FileFormat::Ods => "ods",
            FileFormat::Csv => "csv",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{Data, Ods, Reader, Xls, Xlsx};
    use std::io::Write;
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

    fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for (name, body) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    const CONTENT_TYPES: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"#;
    const PACKAGE_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"#;
    const WORKBOOK: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<sheets><sheet name="拨付" sheetId="1" r:id="rId1"/></sheets>
</workbook>"#;
    const WORKBOOK_RELS: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"#;

    fn sheet(dimension: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<dimension ref="{dimension}"/>
<sheetData>
<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1"><v>1250.5</v></c></row>
</sheetData>
</worksheet>"#
        )
    }

    fn shared_strings(unique_count: &str) -> String {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" {unique_count}><si><t>合同编号</t></si></sst>"#
        )
    }

    fn xlsx(sheet_xml: &str, strings_xml: &str) -> Vec<u8> {
        zip_of(&[
            ("[Content_Types].xml", CONTENT_TYPES.as_bytes()),
            ("_rels/.rels", PACKAGE_RELS.as_bytes()),
            ("xl/workbook.xml", WORKBOOK.as_bytes()),
            ("xl/_rels/workbook.xml.rels", WORKBOOK_RELS.as_bytes()),
            ("xl/worksheets/sheet1.xml", sheet_xml.as_bytes()),
            ("xl/sharedStrings.xml", strings_xml.as_bytes()),
        ])
    }

    fn minimal_xlsx() -> Vec<u8> {
        xlsx(&sheet("A1:B1"), &shared_strings(r#"uniqueCount="1""#))
    }

    fn inspect_default(bytes: &[u8]) -> Result<FileFormat, GuardError> {
        inspect(bytes, &Limits::default())
    }

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
        // calamine issue #684: running calamine on this would abort the test process.
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
        // calamine issue #693: do not hand this to calamine's worksheet_range.
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
    fn a_zip_bomb_is_refused_by_its_declared_size_without_inflating_it() {
        // 24 MiB of zeros, written in 1 MiB pieces, deflate to about 24 KiB (deflating the
        // 200 MiB of a real bomb takes 15 s in a debug build; the limits scale down instead).
        let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        for name in ["[Content_Types].xml", "xl/workbook.xml"] {
            zip.start_file(name, options).unwrap();
            zip.write_all(b"<x/>").unwrap();
        }
        zip.start_file("xl/worksheets/sheet1.xml", options).unwrap();
        let zeros = vec![0u8; MIB as usize];
        for _ in 0..24 {
            zip.write_all(&zeros).unwrap();
        }
        let bytes = zip.finish().unwrap().into_inner();
        assert!(bytes.len() < 64 * 1024, "{}", bytes.len());

        let by_total = Limits {
            max_uncompressed_bytes: 16 * MIB,
            ..Limits::default()
        };
        let err = inspect(&bytes, &by_total).unwrap_err();
        assert!(
            matches!(err, GuardError::ZipBomb { total, limit } if total > 24 * MIB && limit == 16 * MIB),
            "{err:?}"
        );
        assert_eq!(
            err.zh(),
            "zip 文件解压后共 24 MB，超过上限 16 MB（疑似压缩炸弹）"
        );

        let by_ratio = Limits {
            max_ratio: 100,
            ..Limits::default()
        };
        assert!(matches!(
            inspect(&bytes, &by_ratio),
            Err(GuardError::CompressionRatio { ref entry, ratio, limit: 100 })
                if entry == "xl/worksheets/sheet1.xml" && ratio > 500
        ));
    }

    #[test]
    fn zip_files_that_are_not_workbooks_or_are_odd_are_refused() {
        let bytes = zip_of(&[("report.docx.txt", b"hello")]);
        assert_eq!(inspect_default(&bytes), Err(GuardError::ZipNotAWorkbook));
        assert!(GuardError::ZipNotAWorkbook
            .to_string()
            .contains("a zip file that is not a workbook"));

        let bytes = zip_of(&[
            ("xl/workbook.xml", b"<workbook/>"),
            ("XL\\Workbook.xml", b"<workbook/>"),
        ]);
        assert_eq!(
            inspect_default(&bytes),
            Err(GuardError::DuplicateEntry {
                name: "XL\\Workbook.xml".into()
            })
        );

        let bytes = zip_of(&[
            ("xl/workbook.xml", b"<workbook/>"),
            ("a", b""),
            ("b", b""),
            ("c", b""),
        ]);
        let few = Limits {
            max_entries: 3,
            ..Limits::default()
        };
        assert_eq!(
            inspect(&bytes, &few),
            Err(GuardError::TooManyEntries { count: 4, limit: 3 })
        );

        let truncated = &minimal_xlsx()[..200];
        assert!(matches!(
            inspect_default(truncated),
            Err(GuardError::CorruptZip { .. })
        ));
    }

    #[test]
    fn an_encrypted_zip_entry_is_refused() {
        let mut bytes = minimal_xlsx();
        // Set bit 0 (encrypted) of the general-purpose flags in every header.
        for at in 0..bytes.len() - 4 {
            if bytes[at..at + 4] == *b"PK\x01\x02" {
                bytes[at + 8] |= 1;
            } else if bytes[at..at + 4] == *b"PK\x03\x04" {
                bytes[at + 6] |= 1;
            }
        }
        assert_eq!(
            inspect_default(&bytes),
            Err(GuardError::Encrypted {
                what: "[Content_Types].xml".into()
            })
        );
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

    // ---- ods

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

    // ---- xls and other compound files

    const FREESECT: u32 = 0xFFFF_FFFF;
    const FATSECT: u32 = 0xFFFF_FFFD;

    /// A version-3 compound file with 512-byte sectors: sector 0 the FAT, sector 1 the
    /// directory, then each stream padded to at least 4096 bytes (so no mini stream).
    fn compound(streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut fat = vec![FATSECT, ENDOFCHAIN];
        let mut data = Vec::new();
        let mut entries = vec![("Root Entry", 5u8, ENDOFCHAIN, 0u64)];
        for (name, body) in streams {
            let mut body = body.clone();
            body.resize(body.len().max(4096).next_multiple_of(512), 0);
            let start = fat.len() as u32;
            let sectors = body.len() / 512;
            for i in 0..sectors {
                fat.push(if i + 1 == sectors {
                    ENDOFCHAIN
                } else {
                    start + i as u32 + 1
                });
            }
            entries.push((name, 2, start, body.len() as u64));
            data.extend_from_slice(&body);
        }
        assert!(fat.len() <= 128 && entries.len() <= 4);
        fat.resize(128, FREESECT);

        let mut header = vec![0u8; 512];
        header[..8].copy_from_slice(CFB_MAGIC);
        header[24..26].copy_from_slice(&0x003Eu16.to_le_bytes());
        header[26..28].copy_from_slice(&3u16.to_le_bytes());
        header[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
        header[30..32].copy_from_slice(&9u16.to_le_bytes());
        header[32..34].copy_from_slice(&6u16.to_le_bytes());
        header[44..48].copy_from_slice(&1u32.to_le_bytes());
        header[48..52].copy_from_slice(&1u32.to_le_bytes());
        header[56..60].copy_from_slice(&4096u32.to_le_bytes());
        header[60..64].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        header[68..72].copy_from_slice(&ENDOFCHAIN.to_le_bytes());
        for (i, slot) in header[76..512].chunks_exact_mut(4).enumerate() {
            slot.copy_from_slice(&(if i == 0 { 0 } else { FREESECT }).to_le_bytes());
        }

        let mut directory = vec![0u8; 512];
        for (i, (name, kind, start, len)) in entries.iter().enumerate() {
            let entry = &mut directory[i * 128..(i + 1) * 128];
            let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
            for (j, u) in units.iter().enumerate() {
                entry[j * 2..j * 2 + 2].copy_from_slice(&u.to_le_bytes());
            }
            entry[64..66].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
            entry[66] = *kind;
            entry[67] = 1;
            for link in [68, 72, 76] {
                entry[link..link + 4].copy_from_slice(&FREESECT.to_le_bytes());
            }
            if i == 0 && entries.len() > 1 {
                entry[76..80].copy_from_slice(&1u32.to_le_bytes());
            }
            entry[116..120].copy_from_slice(&start.to_le_bytes());
            entry[120..124].copy_from_slice(&(*len as u32).to_le_bytes());
        }

        let mut out = header;
        out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));
        out.extend_from_slice(&directory);
        out.extend_from_slice(&data);
        out
    }

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut r = typ.to_le_bytes().to_vec();
        r.extend_from_slice(&(data.len() as u16).to_le_bytes());
        r.extend_from_slice(data);
        r
    }

    fn number(row: u16, col: u16, value: f64) -> Vec<u8> {
        let mut d = row.to_le_bytes().to_vec();
        d.extend_from_slice(&col.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&value.to_le_bytes());
        record(0x0203, &d)
    }

    fn dimensions(first_row: u32, last_row_plus_1: u32, last_col_plus_1: u16) -> Vec<u8> {
        let mut d = first_row.to_le_bytes().to_vec();
        d.extend_from_slice(&last_row_plus_1.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        d.extend_from_slice(&last_col_plus_1.to_le_bytes());
        d.extend_from_slice(&0u16.to_le_bytes());
        record(0x0200, &d)
    }

    /// A BIFF8 workbook stream with one sheet named "Sheet1" made of `sheet_records`.
    fn biff8(sheet_records: &[Vec<u8>]) -> Vec<u8> {
        biff8_with_globals(&[], sheet_records)
    }

    fn biff8_with_globals(globals: &[Vec<u8>], sheet_records: &[Vec<u8>]) -> Vec<u8> {
        let bof = |kind: u16| {
            let mut d = 0x0600u16.to_le_bytes().to_vec();
            d.extend_from_slice(&kind.to_le_bytes());
            d.resize(16, 0);
            record(0x0809, &d)
        };
        let bound_sheet = |pos: u32| {
            let mut d = pos.to_le_bytes().to_vec();
            d.extend_from_slice(&[0, 0, 6, 0]);
            d.extend_from_slice(b"Sheet1");
            record(0x0085, &d)
        };
        let extra: usize = globals.iter().map(Vec::len).sum();
        let globals_len = bof(5).len() + extra + bound_sheet(0).len() + 4;
        let mut stream = bof(5);
        for r in globals {
            stream.extend_from_slice(r);
        }
        stream.extend(bound_sheet(globals_len as u32));
        stream.extend(record(0x000A, &[]));
        stream.extend(bof(0x10));
        for r in sheet_records {
            stream.extend_from_slice(r);
        }
        stream.extend(record(0x000A, &[]));
        stream
    }

    #[test]
    fn a_minimal_xls_passes_and_calamine_then_reads_it() {
        let stream = biff8(&[
            dimensions(0, 2, 2),
            number(0, 0, 3.5),
            number(1, 1, 88_000.0),
        ]);
        let bytes = compound(&[("Workbook", stream)]);
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Xls));

        let mut book = Xls::new(Cursor::new(bytes)).unwrap();
        let range = book.worksheet_range("Sheet1").unwrap();
        assert_eq!(range.get_value((0, 0)), Some(&Data::Float(3.5)));
        assert_eq!(range.get_value((1, 1)), Some(&Data::Float(88_000.0)));
    }

    #[test]
    fn an_xls_with_cells_at_opposite_corners_of_a_wide_grid_is_refused() {
        // calamine would size this sheet 65,536 × 65,536 when the file is opened.
        let stream = biff8(&[number(0, 0, 1.0), number(65_535, 65_535, 2.0)]);
        let err = inspect_default(&compound(&[("Workbook", stream)])).unwrap_err();
        assert_eq!(
            err,
            GuardError::SheetTooLarge {
                sheet: "sheet 1".into(),
                rows: 65_536,
                cols: 65_536,
                max_rows: 1_048_576,
                max_cells: 50_000_000,
            }
        );
    }

    #[test]
    fn an_xls_dimensions_record_of_four_billion_rows_is_refused() {
        let stream = biff8(&[dimensions(0, u32::MAX, 10), number(0, 0, 1.0)]);
        assert!(matches!(
            inspect_default(&compound(&[("Workbook", stream)])),
            Err(GuardError::SheetTooLarge {
                rows: 4_294_967_295,
                cols: 10,
                ..
            })
        ));
    }

    #[test]
    fn an_xls_with_a_flood_of_continue_records_is_refused() {
        // An empty SST followed by CONTINUE records that calamine would take off the front
        // of a Vec one at a time.
        let mut flood = record(0x00FC, &[0; 8]);
        for _ in 0..=MAX_CONTINUE_RECORDS {
            flood.extend(record(0x003C, &[]));
        }
        let stream = biff8_with_globals(&[flood], &[number(0, 0, 1.0)]);
        assert_eq!(
            inspect_default(&compound(&[("Workbook", stream)])),
            Err(GuardError::Malformed {
                part: "Workbook".into(),
                fault: Fault::ContinueFlood {
                    count: MAX_CONTINUE_RECORDS + 1,
                    limit: MAX_CONTINUE_RECORDS
                },
            })
        );
    }

    #[test]
    fn a_compound_file_whose_directory_chain_loops_is_refused() {
        let mut bytes = compound(&[("Workbook", biff8(&[number(0, 0, 1.0)]))]);
        // FAT entry 1 (the directory sector) points back at itself.
        bytes[512 + 4..512 + 8].copy_from_slice(&1u32.to_le_bytes());
        assert_eq!(
            inspect_default(&bytes),
            Err(GuardError::Malformed {
                part: "compound file".into(),
                fault: Fault::SectorChainLoops
            })
        );
    }

    #[test]
    fn an_encrypted_xlsx_is_refused_as_password_protected() {
        let bytes = compound(&[
            ("EncryptionInfo", vec![4, 0, 4, 0]),
            ("EncryptedPackage", vec![1; 100]),
        ]);
        let err = inspect_default(&bytes).unwrap_err();
        assert_eq!(
            err,
            GuardError::Encrypted {
                what: "EncryptedPackage".into()
            }
        );
        assert!(err.zh().contains("请在 Excel 中取消密码"));
    }

    #[test]
    fn a_word_document_is_not_a_spreadsheet() {
        let bytes = compound(&[("WordDocument", vec![0xEC, 0xA5])]);
        assert_eq!(
            inspect_default(&bytes),
            Err(GuardError::NotASpreadsheet {
                found: Found::CompoundWithoutWorkbook
            })
        );
    }

    // ---- text and everything else

    #[test]
    fn utf8_text_is_csv() {
        let bytes = "合同编号,服务机构,金额\nHT-2024-001,阳光社工,88000.00\n".as_bytes();
        assert_eq!(inspect_default(bytes), Ok(FileFormat::Csv));
        let with_bom = [b"\xEF\xBB\xBF".as_slice(), bytes].concat();
        assert_eq!(inspect_default(&with_bom), Ok(FileFormat::Csv));
    }

    #[test]
    fn gbk_text_is_csv() {
        let (bytes, _, unmappable) =
            encoding_rs::GBK.encode("合同编号,服务机构,金额\nHT-2024-001,阳光社工,88000.00\n");
        assert!(!unmappable);
        assert!(std::str::from_utf8(&bytes).is_err());
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Csv));
    }

    #[test]
    fn utf16_text_with_a_byte_order_mark_is_csv() {
        let mut bytes = vec![0xFF, 0xFE];
        bytes.extend(
            "合同编号\t金额\r\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        assert_eq!(inspect_default(&bytes), Ok(FileFormat::Csv));
    }

    #[test]
    fn pdf_png_and_other_binaries_are_not_spreadsheets() {
        let cases: [(&[u8], Found); 6] = [
            (b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n1 0 obj", Found::Pdf),
            (b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", Found::Png),
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", Found::Jpeg),
            (b"\x1F\x8B\x08\0\0\0\0\0", Found::Gzip),
            (b"MZ\x90\0\x03\0\0\0", Found::Executable),
            (b"abc\0def", Found::Binary),
        ];
        for (bytes, found) in cases {
            assert_eq!(
                inspect_default(bytes),
                Err(GuardError::NotASpreadsheet { found })
            );
        }
        let err = inspect_default(b"%PDF-1.4").unwrap_err();
        assert_eq!(
            err.to_string(),
            "the file is not a spreadsheet: it is a PDF document"
        );
        assert_eq!(err.zh(), "文件不是电子表格，而是PDF 文档");
    }

    #[test]
    fn an_html_page_saved_as_xls_is_not_a_spreadsheet() {
        let bytes = b"\xEF\xBB\xBF  <html><body><table><tr><td>1</td></tr></table></body></html>";
        assert_eq!(
            inspect_default(bytes),
            Err(GuardError::NotASpreadsheet { found: Found::Html })
        );
    }

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

    #[test]
    fn the_tokenizer_skips_comments_cdata_and_quoted_angle_brackets() {
        let xml =
            br#"<?xml version="1.0"?><!-- <fake/> --><a b="x>y"><![CDATA[<fake/>]]>text<c/></a>"#;
        let mut tokens = XmlTokens::new(ByteReader::new(xml.as_slice()));
        let mut seen = Vec::new();
        while let Some(token) = tokens.next().unwrap() {
            seen.push((token, String::from_utf8_lossy(tokens.name()).into_owned()));
        }
        assert_eq!(
            seen,
            vec![
                (Token::Start { empty: false }, "a".into()),
                (Token::Start { empty: true }, "c".into()),
                (Token::End, "a".into()),
            ]
        );
        assert_eq!(tokens.text_bytes(), 4);
    }
}
