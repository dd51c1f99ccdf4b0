//! One part of a workbook at a time, wrapped in a valid container, so that mutations reach
//! calamine's parsers instead of dying on a zip CRC or a compound-file header. The first
//! byte picks the part:
//! 0 xlsx sheet XML, 1 xlsx sharedStrings.xml, 2 ods content.xml, 3 xlsb sheet records,
//! 4 xls sheet records (BIFF8 in a compound file). Sheets are read as the importer reads
//! them (`common::Read::Streaming`).
#![no_main]

mod common;

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

libfuzzer_sys::fuzz_target!(init: common::init(), |data: &[u8]| {
    let Some((&which, part)) = data.split_first() else {
        return;
    };
    let file = match which % 5 {
        0 => xlsx(part, SST),
        1 => xlsx(SHEET, part),
        2 => ods(part),
        3 => xlsb(part),
        _ => xls(part),
    };
    common::check(&file, common::Read::Streaming);
});

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    for (name, body) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(body).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

const SHEET: &[u8] = br#"<worksheet><dimension ref="A1"/><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row></sheetData></worksheet>"#;
const SST: &[u8] = br#"<sst uniqueCount="1"><si><t>a</t></si></sst>"#;

fn xlsx(sheet: &[u8], sst: &[u8]) -> Vec<u8> {
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        (
            "_rels/.rels",
            br#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            br#"<workbook xmlns:r="r"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            br#"<Relationships><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.xml", sheet),
        ("xl/sharedStrings.xml", sst),
    ])
}

fn ods(content: &[u8]) -> Vec<u8> {
    zip_of(&[
        (
            "mimetype",
            b"application/vnd.oasis.opendocument.spreadsheet",
        ),
        ("META-INF/manifest.xml", b"<manifest:manifest/>"),
        ("content.xml", content),
    ])
}

/// A BIFF12 record: type and length as variable-length integers, then the data.
fn rec12(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = if typ < 0x80 {
        vec![typ as u8]
    } else {
        vec![(typ & 0x7F) as u8 | 0x80, (typ >> 7) as u8]
    };
    let mut len = data.len();
    loop {
        let b = (len & 0x7F) as u8;
        len >>= 7;
        if len == 0 {
            r.push(b);
            break;
        }
        r.push(b | 0x80);
    }
    r.extend_from_slice(data);
    r
}

fn wide(s: &str) -> Vec<u8> {
    let units: Vec<u16> = s.encode_utf16().collect();
    let mut v = (units.len() as u32).to_le_bytes().to_vec();
    v.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    v
}

fn xlsb(sheet: &[u8]) -> Vec<u8> {
    // BrtBundleSh: hsState, iTabID, strRelID, strName
    let mut bundle = vec![0; 8];
    bundle.extend(wide("rId1"));
    bundle.extend(wide("S"));
    let mut workbook = rec12(0x0083, &[]); // BrtBeginBook
    workbook.extend(rec12(0x008F, &[])); // BrtBeginBundleShs
    workbook.extend(rec12(0x009C, &bundle));
    workbook.extend(rec12(0x0090, &[])); // BrtEndBundleShs
    workbook.extend(rec12(0x009D, &[0; 12])); // BrtCalcProp ends the names loop
    zip_of(&[
        ("[Content_Types].xml", b"<Types/>"),
        ("xl/workbook.bin", &workbook),
        (
            "xl/_rels/workbook.bin.rels",
            br#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.bin"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.bin", sheet),
    ])
}

fn record(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend_from_slice(&(data.len() as u16).to_le_bytes());
    r.extend_from_slice(data);
    r
}

fn xls(sheet: &[u8]) -> Vec<u8> {
    let bof = |kind: u16| {
        let mut d = 0x0600u16.to_le_bytes().to_vec();
        d.extend_from_slice(&kind.to_le_bytes());
        d.resize(16, 0);
        record(0x0809, &d)
    };
    let bound_sheet = |pos: u32| {
        let mut d = pos.to_le_bytes().to_vec();
        d.extend_from_slice(&[0, 0, 1, 0, b'S']);
        record(0x0085, &d)
    };
    let globals = bof(5).len() + bound_sheet(0).len() + 4;
    let mut stream = bof(5);
    stream.extend(bound_sheet(globals as u32));
    stream.extend(record(0x000A, &[]));
    stream.extend(bof(0x10));
    stream.extend_from_slice(&sheet[..sheet.len().min(56 * 1024)]);
    compound(&stream)
}

/// A version-3 compound file with 512-byte sectors holding one "Workbook" stream of at
/// least 4096 bytes: sector 0 the FAT, sector 1 the directory, then the stream.
fn compound(stream: &[u8]) -> Vec<u8> {
    const END: u32 = 0xFFFF_FFFE;
    const FREE: u32 = 0xFFFF_FFFF;
    let mut body = stream.to_vec();
    body.resize(body.len().max(4096).next_multiple_of(512), 0);
    let sectors = body.len() / 512;
    let mut fat = vec![0xFFFF_FFFD, END];
    for i in 0..sectors {
        fat.push(if i + 1 == sectors { END } else { i as u32 + 3 });
    }
    fat.resize(128, FREE);

    let mut out = vec![0u8; 512];
    out[..8].copy_from_slice(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1");
    out[24..26].copy_from_slice(&0x3Eu16.to_le_bytes());
    out[26..28].copy_from_slice(&3u16.to_le_bytes());
    out[28..30].copy_from_slice(&0xFFFEu16.to_le_bytes());
    out[30..32].copy_from_slice(&9u16.to_le_bytes());
    out[32..34].copy_from_slice(&6u16.to_le_bytes());
    out[44..48].copy_from_slice(&1u32.to_le_bytes());
    out[48..52].copy_from_slice(&1u32.to_le_bytes());
    out[56..60].copy_from_slice(&4096u32.to_le_bytes());
    out[60..64].copy_from_slice(&END.to_le_bytes());
    out[68..72].copy_from_slice(&END.to_le_bytes());
    for (i, slot) in out[76..512].chunks_exact_mut(4).enumerate() {
        slot.copy_from_slice(&(if i == 0 { 0 } else { FREE }).to_le_bytes());
    }
    out.extend(fat.iter().flat_map(|v| v.to_le_bytes()));

    let mut directory = vec![0u8; 512];
    for (i, (name, kind, start, len)) in [
        ("Root Entry", 5u8, END, 0usize),
        ("Workbook", 2, 2, body.len()),
    ]
    .into_iter()
    .enumerate()
    {
        let entry = &mut directory[i * 128..(i + 1) * 128];
        let units: Vec<u16> = name.encode_utf16().chain([0]).collect();
        for (j, u) in units.iter().enumerate() {
            entry[j * 2..j * 2 + 2].copy_from_slice(&u.to_le_bytes());
        }
        entry[64..66].copy_from_slice(&((units.len() * 2) as u16).to_le_bytes());
        entry[66] = kind;
        entry[116..120].copy_from_slice(&start.to_le_bytes());
        entry[120..124].copy_from_slice(&(len as u32).to_le_bytes());
    }
    out.extend_from_slice(&directory);
    out.extend_from_slice(&body);
    out
}
