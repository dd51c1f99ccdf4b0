//! Providers (承接主体) and their unified social credit code.

/// 统一社会信用代码 (GB 32100-2015): 18 characters, the last a check character.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct Uscc(String);

/// GB 32100-2015 table: the 31 characters of the code (no I, O, S, V, Z).
const CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";
/// GB 32100-2015 weights of positions 1..17 (3^(i-1) mod 31).
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("must have 18 characters, found {0}")]
    Length(usize),
    #[error("character '{0}' is not allowed in a USCC")]
    Charset(char),
    #[error("check character should be '{expected}', found '{found}'")]
    Check { expected: char, found: char },
}

impl UsccError {
    pub fn zh(&self) -> String {
        match self {
            UsccError::Length(n) => format!("应为18位，实际{n}位"),
            UsccError::Charset(c) => format!("含有不允许的字符“{c}”"),
            UsccError::Check { expected, found } => {
                format!("校验码应为“{expected}”，实际为“{found}”")
            }
        }
    }
}

/// Who registered the organisation (first character) and as what (second), decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgKind {
    /// 5 1: 社会团体
    SocialGroup,
    /// 5 2: 民办非企业单位 (社会服务机构)
    PrivateNonEnterprise,
    /// 5 3: 基金会
    Foundation,
    /// 5 9 or other: registered with civil affairs, other
    CivilAffairsOther,
    /// Not registered with civil affairs (1 机构编制, 9 工商, Y 其他...)
    NotCivilAffairs,
}

impl OrgKind {
    pub fn zh(self) -> &'static str {
        match self {
            OrgKind::SocialGroup => "社会团体",
            OrgKind::PrivateNonEnterprise => "民办非企业单位",
            OrgKind::Foundation => "基金会",
            OrgKind::CivilAffairsOther => "民政登记的其他组织",
            OrgKind::NotCivilAffairs => "非民政登记机构",
        }
    }
}

fn value(c: char) -> Option<u32> {
    CHARSET.find(c).map(|i| i as u32)
}

/// The check character of the first 17 characters (all from the charset).
fn check_char(body: &str) -> char {
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| value(c).unwrap_or(0) * w)
        .sum();
    let v = (31 - sum % 31) % 31;
    CHARSET.as_bytes()[v as usize] as char
}

impl Uscc {
    pub fn parse(raw: &str) -> Result<Uscc, UsccError> {
        let s: String = crate::text::fold_width(raw)
            .chars()
            .filter(|c| !c.is_whitespace())
            .flat_map(char::to_uppercase)
            .collect();
        let n = s.chars().count();
        if n != 18 {
            return Err(UsccError::Length(n));
        }
        if let Some(bad) = s.chars().find(|c| value(*c).is_none()) {
            return Err(UsccError::Charset(bad));
        }
        let expected = check_char(&s[..17]);
        let found = s.chars().last().unwrap_or(' ');
        if expected != found {
            return Err(UsccError::Check { expected, found });
        }
        Ok(Uscc(s))
    }

    /// A valid code for 17 leading characters: used by the sample generator.
    pub fn complete(body17: &str) -> Uscc {
        assert_eq!(body17.len(), 17);
        Uscc(format!("{body17}{}", check_char(body17)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn org_kind(&self) -> OrgKind {
        let b = self.0.as_bytes();
        match (b[0], b[1]) {
            (b'5', b'1') => OrgKind::SocialGroup,
            (b'5', b'2') => OrgKind::PrivateNonEnterprise,
            (b'5', b'3') => OrgKind::Foundation,
            (b'5', _) => OrgKind::CivilAffairsOther,
            _ => OrgKind::NotCivilAffairs,
        }
    }

    /// Characters 3-8: the administrative division code of the registering authority.
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

impl std::fmt::Display for Uscc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_codes_verify_and_decode() {
        // The worked example of GB 32100-2015 itself.
        let company = Uscc::parse("91350100M000100Y43").unwrap();
        assert_eq!(company.org_kind(), OrgKind::NotCivilAffairs);
        assert_eq!(company.division(), "350100");
        let group = Uscc::complete("51530111MJ0000002");
        assert_eq!(
            Uscc::parse(group.as_str()).unwrap().org_kind(),
            OrgKind::SocialGroup
        );
    }

    #[test]
    fn wrong_codes_say_why() {
        assert_eq!(Uscc::parse("5110000050001729"), Err(UsccError::Length(16)));
        assert!(matches!(
            Uscc::parse("51100000500017299I"),
            Err(UsccError::Charset('I'))
        ));
        assert!(matches!(
            Uscc::parse("511000005000172991"),
            Err(UsccError::Check { .. })
        ));
    }

    #[test]
    fn generated_codes_verify() {
        let u = Uscc::complete("52530111MJ0000001");
        assert_eq!(
            Uscc::parse(u.as_str()).unwrap().org_kind(),
            OrgKind::PrivateNonEnterprise
        );
    }
}
