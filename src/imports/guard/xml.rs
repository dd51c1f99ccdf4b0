//! A small XML tokenizer that splits markup where quick-xml 0.42 does.

use std::io::Read;

use super::helpers::KIB;
use super::limits::MAX_TAG_BYTES;
use super::outcome::Fault;

/// Bytes from a reader one at a time, through a fixed buffer; a read error ends the stream,
/// as it ends calamine's read of the same part.
pub(super) struct ByteReader<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    len: usize,
}

impl<R: Read> ByteReader<R> {
    pub(super) fn new(inner: R) -> Self {
        ByteReader {
            inner,
            buf: vec![0; 64 * KIB as usize].into_boxed_slice(),
            pos: 0,
            len: 0,
        }
    }

    pub(super) fn next(&mut self) -> Option<u8> {
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
pub(super) enum Token {
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
pub(super) struct XmlTokens<R> {
    bytes: ByteReader<R>,
    /// The tag between `<` and `>`, without a trailing `/`.
    tag: Vec<u8>,
    name_len: usize,
    text_bytes: u64,
}

impl<R: Read> XmlTokens<R> {
    pub(super) fn new(bytes: ByteReader<R>) -> Self {
        XmlTokens {
            bytes,
            tag: Vec::with_capacity(256),
            name_len: 0,
            text_bytes: 0,
        }
    }

    /// Bytes of text seen so far (outside all markup).
    pub(super) fn text_bytes(&self) -> u64 {
        self.text_bytes
    }

    /// The qualified name of the last tag.
    pub(super) fn name(&self) -> &[u8] {
        &self.tag[..self.name_len]
    }

    /// The name of the last tag after its prefix, as quick-xml's `local_name`.
    pub(super) fn local_name(&self) -> &[u8] {
        let name = self.name();
        match name.iter().position(|&b| b == b':') {
            Some(colon) => &name[colon + 1..],
            None => name,
        }
    }

    /// The raw value of an attribute of the last tag, matched by its exact key; the first
    /// match wins, as in calamine's `raw_attr` (src/attrs.rs:112-125).
    pub(super) fn attribute(&self, key: &[u8]) -> Option<&[u8]> {
        self.attributes().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The raw attributes of the last tag, split as calamine's `RawAttrIter` splits them
    /// (src/attrs.rs:36-90); it ends at the first malformed one, where calamine fails.
    pub(super) fn attributes(&self) -> Attributes<'_> {
        Attributes {
            raw: &self.tag[self.name_len..],
            pos: 0,
        }
    }

    /// The next start or end tag; `Ok(None)` at the end of the stream or where quick-xml
    /// would stop with a syntax error (calamine stops reading the part there too).
    pub(super) fn next(&mut self) -> Result<Option<Token>, Fault> {
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
pub(super) struct Attributes<'t> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
