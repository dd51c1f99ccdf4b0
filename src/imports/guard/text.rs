//! Text and known binary formats: a file that is neither a zip nor a compound file is text
//! (a CSV) unless its first bytes name it as something else.

use super::helpers::{contains, KIB};
use super::outcome::Found;

/// Names a non-spreadsheet by its signature, or by NUL bytes near the start; `None` is text.
pub(super) fn sniff_binary(bytes: &[u8]) -> Option<Found> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::inspect_default;
    use super::super::{FileFormat, GuardError};
    use super::*;

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
}
