//! Text folding used at the edge: full-width to half-width, and header keys.

/// Full-width ASCII (U+FF01..U+FF5E) to half-width, the ideographic space to a space.
/// Chinese input methods type `１２３４．５０` and `（万元）`.
pub fn fold_width(s: &str) -> String {
    if s.is_ascii() {
        return s.to_string();
    }
    s.chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// The key a header cell is matched by: width-folded, lower-case, without spaces,
/// `*` (required marks), and with （）→ ().
pub fn header_key(s: &str) -> String {
    fold_width(s)
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '*' && *c != '\u{a0}')
        .flat_map(char::to_lowercase)
        .collect()
}

/// A cell's text trimmed, width-folded and with inner runs of space collapsed.
pub fn clean(s: &str) -> String {
    // Most cells are already clean: one allocation, no splitting.
    let bytes = s.as_bytes();
    if s.is_ascii()
        && !bytes.is_empty()
        && !bytes[0].is_ascii_whitespace()
        && !bytes[bytes.len() - 1].is_ascii_whitespace()
        && !bytes
            .windows(2)
            .any(|w| w[0].is_ascii_whitespace() && w[1].is_ascii_whitespace())
        && !bytes.iter().any(|b| matches!(b, b'\t' | b'\n' | b'\r'))
    {
        return s.to_string();
    }
    fold_width(s)
        .split(|c: char| c.is_whitespace() || c == '\u{a0}')
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A number's text with thousands separators, the one way every page, chart and message
/// writes them: `14532700.00` as `14,532,700.00`, `51236` as `51,236`, `-1000.50` as
/// `-1,000.50`.
pub fn group_thousands(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    out.push_str(sign);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_grouped_by_thousands_and_the_fen_kept() {
        assert_eq!(group_thousands("14532700.00"), "14,532,700.00");
        assert_eq!(group_thousands("-1000.50"), "-1,000.50");
        assert_eq!(group_thousands("51236"), "51,236");
        assert_eq!(group_thousands("999"), "999");
        assert_eq!(group_thousands("0.00"), "0.00");
    }

    #[test]
    fn header_keys_ignore_width_case_spaces_and_brackets() {
        assert_eq!(header_key("合同金额（元）"), header_key("合同金额(元)"));
        assert_eq!(header_key(" Contract  Code *"), "contractcode");
        assert_eq!(header_key("ＣＯＤＥ"), "code");
    }

    #[test]
    fn clean_collapses_spaces() {
        assert_eq!(clean("  a\u{a0}\u{3000} b "), "a b");
    }
}
