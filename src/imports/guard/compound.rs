//! Compound files: xls, and encrypted Office documents.

use super::helpers::{u16_le, u32_le, u64_le, KIB};
use super::limits::{check_grid, Limits, MAX_CONTINUE_RECORDS};
use super::outcome::{Fault, Found, GuardError};

pub(super) const CFB_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
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

pub(super) fn inspect_compound(bytes: &[u8], limits: &Limits) -> Result<(), GuardError> {
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

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::super::{FileFormat, Found, GuardError};
    use super::*;
    use calamine::{Data, Reader, Xls};
    use std::io::Cursor;

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
}
