//! Zip containers: xlsx, xlsb, ods. The container's directory is checked here (sizes, names,
//! encryption), then every part by the checks of [`super::xlsx`] and [`super::ods`].

use std::collections::HashSet;

use zip::ZipArchive;

use super::limits::{Limits, RATIO_FLOOR_BYTES};
use super::ods::{check_ods_content, is_ods, ods_manifest_is_encrypted};
use super::outcome::{FileFormat, GuardError};
use super::xlsx::{check_shared_strings, check_sheet_header};
use crate::imports::source::Source;

pub(super) fn inspect_zip(source: Source<'_>, limits: &Limits) -> Result<FileFormat, GuardError> {
    let mut zip = ZipArchive::new(source).map_err(|e| GuardError::CorruptZip {
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

#[cfg(test)]
mod tests {
    use super::super::helpers::MIB;
    use super::super::testing::*;
    use super::super::{inspect, GuardError, Limits};
    use std::io::{Cursor, Write};
    use zip::write::SimpleFileOptions;
    use zip::{CompressionMethod, ZipWriter};

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
}
