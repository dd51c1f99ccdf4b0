//! What the guard answers: the format a file is, or why it is refused, in English and Chinese.

use std::fmt;

use super::helpers::human_bytes;

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
    /// 422: the file on disk could not be read (the command line).
    #[error("the file cannot be read: {detail}")]
    Unreadable { detail: String },
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
    /// 422: `uniqueCount` larger than `Limits::max_shared_strings` (calamine's shared-strings reservation).
    #[error("\"{part}\" declares {} distinct strings; the limit is {}", group(*.declared), group(*.limit))]
    SharedStringsCount {
        part: String,
        declared: u64,
        limit: u64,
    },
    /// 422: `uniqueCount` larger than the part could hold (calamine's shared-strings reservation).
    #[error("\"{part}\" declares {} distinct strings but is only {} long", group(*.declared), human_bytes(*.part_bytes))]
    SharedStringsImplausible {
        part: String,
        declared: u64,
        part_bytes: u64,
    },
    /// 422: a sheet whose grid would be too large (calamine's bounding-box allocation).
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
            GuardError::Unreadable { detail } => format!("文件无法读取：{detail}"),
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

/// A count in a message, with thousands separators (the one grouping rule in `text`).
fn group(n: u64) -> String {
    crate::text::group_thousands(&n.to_string())
}
