//! Where a file's bytes come from: memory (an upload, which the upload itself keeps) or disk
//! (the command line). A file on disk is never held whole: one pass hashes it and learns
//! whether it is UTF-8 text, then the guard and the readers take it from disk as they go, so
//! a million-row register costs its parse in memory, not its size as well (66 MB of CSV,
//! 34 MB of xlsx at a million payments).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// A file to import, owned: its bytes, or where it is on disk.
pub enum Input {
    Memory(Vec<u8>),
    Disk { path: PathBuf, print: Fingerprint },
}

impl Input {
    pub fn content(&self) -> Content<'_> {
        match self {
            Input::Memory(b) => Content::Memory(b),
            Input::Disk { path, print } => Content::Disk { path, print },
        }
    }
}

/// A file's bytes as the guard and the readers take them.
#[derive(Clone, Copy)]
pub enum Content<'a> {
    Memory(&'a [u8]),
    /// `print` is the file as hashed before it is read.
    Disk {
        path: &'a Path,
        print: &'a Fingerprint,
    },
}

/// What one pass over a file on disk learns before it is parsed.
#[derive(Debug, Clone)]
pub struct Fingerprint {
    pub size: u64,
    /// SHA-256, lowercase hex: the batch's identity.
    pub sha256: String,
    /// Every byte is UTF-8 (with or without a byte-order mark): a CSV is then read straight
    /// from disk; any other text is decoded whole, as an upload is.
    pub utf8: bool,
    /// When the file was last changed, as the pass began: a file changed while it is read is
    /// refused (see [`Content::changed`]).
    modified: Option<std::time::SystemTime>,
}

/// Reads `path` once in 1 MiB pieces: its size, its SHA-256, whether it is UTF-8.
pub fn fingerprint(path: &Path) -> io::Result<Fingerprint> {
    let mut file = File::open(path)?;
    let modified = file.metadata()?.modified().ok();
    let mut hasher = Sha256::new();
    let mut utf8 = Utf8Check::default();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        utf8.feed(&buf[..n]);
        size += n as u64;
    }
    Ok(Fingerprint {
        size,
        sha256: hex::encode(hasher.finalize()),
        utf8: utf8.finish(),
        modified,
    })
}

/// UTF-8 validity over pieces that may split a character.
#[derive(Default)]
struct Utf8Check {
    /// The start of a character the last piece ended inside (at most 3 bytes).
    carry: Vec<u8>,
    bad: bool,
}

impl Utf8Check {
    fn feed(&mut self, mut piece: &[u8]) {
        // Complete a character split by the last piece a byte at a time (at most 3).
        while !self.bad && !self.carry.is_empty() {
            let Some((&b, rest)) = piece.split_first() else {
                return;
            };
            self.carry.push(b);
            piece = rest;
            match std::str::from_utf8(&self.carry) {
                Ok(_) => self.carry.clear(),
                Err(e) if e.error_len().is_some() => self.bad = true,
                Err(_) => {}
            }
        }
        if self.bad {
            return;
        }
        match std::str::from_utf8(piece) {
            Ok(_) => {}
            Err(e) if e.error_len().is_some() => self.bad = true,
            Err(e) => self.carry.extend_from_slice(&piece[e.valid_up_to()..]),
        }
    }

    fn finish(self) -> bool {
        !self.bad && self.carry.is_empty()
    }
}

/// A file's bytes opened for reading, with seeking: what calamine and zip read from.
pub enum Source<'a> {
    Memory(Cursor<&'a [u8]>),
    Disk(BufReader<File>),
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Source::Memory(c) => c.read(buf),
            Source::Disk(f) => f.read(buf),
        }
    }
}

impl Seek for Source<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        match self {
            Source::Memory(c) => c.seek(pos),
            Source::Disk(f) => f.seek(pos),
        }
    }
}

impl<'a> Content<'a> {
    pub fn len(&self) -> u64 {
        match self {
            Content::Memory(b) => b.len() as u64,
            Content::Disk { print, .. } => print.size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Opens the bytes from their start.
    pub fn open(&self) -> io::Result<Source<'a>> {
        Ok(match self {
            Content::Memory(b) => Source::Memory(Cursor::new(b)),
            // 64 KiB: calamine and the csv crate read in small pieces.
            Content::Disk { path, .. } => {
                Source::Disk(BufReader::with_capacity(64 << 10, File::open(path)?))
            }
        })
    }

    /// The first `n` bytes (fewer if the file is shorter).
    pub fn head(&self, n: usize) -> io::Result<Cow<'a, [u8]>> {
        Ok(match self {
            Content::Memory(b) => Cow::Borrowed(&b[..b.len().min(n)]),
            Content::Disk { .. } => {
                let mut head = Vec::with_capacity(n);
                self.open()?.take(n as u64).read_to_end(&mut head)?;
                Cow::Owned(head)
            }
        })
    }

    /// A file on disk no longer has the size or time it had when it was fingerprinted: what
    /// was read may not be what was hashed.
    pub fn changed(&self) -> bool {
        match self {
            Content::Memory(_) => false,
            Content::Disk { path, print } => match std::fs::metadata(path) {
                Ok(m) => m.len() != print.size || m.modified().ok() != print.modified,
                Err(_) => true,
            },
        }
    }

    /// All the bytes, for what is read whole anyway (an xls workbook, text not in UTF-8).
    pub fn whole(&self) -> io::Result<Cow<'a, [u8]>> {
        Ok(match self {
            Content::Memory(b) => Cow::Borrowed(b),
            Content::Disk { path, .. } => Cow::Owned(std::fs::read(path)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid_in_pieces(bytes: &[u8], piece: usize) -> bool {
        let mut check = Utf8Check::default();
        for p in bytes.chunks(piece) {
            check.feed(p);
        }
        check.finish()
    }

    #[test]
    fn utf8_is_judged_the_same_however_the_file_is_cut_into_pieces() {
        let text = "\u{feff}项目编号,金额\n合同-001,1.5\n😀 end".as_bytes();
        let (gbk, _, _) = encoding_rs::GBK.encode("项目编号,金额\n合同-001");
        let cut_short = &text[..text.len() - 5 - 2]; // ends inside 😀
        for piece in 1..=text.len() {
            assert!(valid_in_pieces(text, piece), "pieces of {piece}");
            assert!(!valid_in_pieces(&gbk, piece), "GBK in pieces of {piece}");
            assert!(
                !valid_in_pieces(cut_short, piece),
                "cut in pieces of {piece}"
            );
        }
        assert!(valid_in_pieces(b"", 1));
    }

    #[test]
    fn a_file_on_disk_is_fingerprinted_as_its_bytes_would_be() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let bytes: Vec<u8> = "编号,金额\n".repeat(300_000).into_bytes(); // over 1 MiB
        std::fs::write(&path, &bytes).unwrap();
        let print = fingerprint(&path).unwrap();
        assert_eq!(print.size, bytes.len() as u64);
        assert_eq!(print.sha256, crate::crypto::sha256_hex(&bytes));
        assert!(print.utf8);
        let disk = Content::Disk {
            path: &path,
            print: &print,
        };
        assert_eq!(disk.head(7).unwrap().as_ref(), &bytes[..7]);
        assert_eq!(disk.whole().unwrap().as_ref(), &bytes[..]);
        let mut read = Vec::new();
        disk.open().unwrap().read_to_end(&mut read).unwrap();
        assert_eq!(read, bytes);
        assert!(!disk.changed());
        std::fs::write(&path, b"x").unwrap();
        assert!(
            disk.changed(),
            "a file changed since its fingerprint is known changed"
        );
    }
}
