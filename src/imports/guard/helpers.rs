//! Little helpers: little-endian integers, sizes and counts as people read them, and a zip
//! part opened as calamine opens it.

use zip::read::ZipFile;
use zip::ZipArchive;

use crate::imports::source::Source;

pub(super) const KIB: u64 = 1024;
pub(super) const MIB: u64 = 1024 * KIB;
pub(super) const GIB: u64 = 1024 * MIB;

/// A zip container read from memory or from disk.
pub(super) type Zip<'a> = ZipArchive<Source<'a>>;

/// A reader over one entry's inflated bytes; a damaged entry reads as ending early, as it
/// does for calamine, which stops at the same error.
pub(super) fn open_entry<'z, 'b>(
    zip: &'z mut Zip<'b>,
    index: usize,
) -> Option<ZipFile<'z, Source<'b>>> {
    zip.by_index(index).ok()
}

pub(super) fn u16_le(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

pub(super) fn u32_le(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

pub(super) fn u64_le(b: &[u8]) -> u64 {
    u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// "73.2 MB", "50 MB", "812 bytes" (binary units, as Windows shows file sizes).
pub(super) fn human_bytes(n: u64) -> String {
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

pub(super) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
