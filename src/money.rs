//! Money: exact yuan with two decimal places, stored as integer fen.
//!
//! docs/DOMAIN.md "Money": `Decimal` in the domain, BIGINT fen in the database on every backend
//! (sea-orm stores `Decimal` as REAL on SQLite), never f64.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an amount could not become [`Money`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("not an amount")]
    NotAnAmount,
    #[error("has digits below one fen (0.01 yuan)")]
    SubFen,
    #[error("too large")]
    Overflow,
}

impl MoneyError {
    /// The same reason in Chinese, for finance officers.
    pub fn zh(&self) -> &'static str {
        match self {
            MoneyError::NotAnAmount => "不是有效金额",
            MoneyError::SubFen => "金额精确到分（0.01元），不能有更多小数位",
            MoneyError::Overflow => "金额过大",
        }
    }
}

/// An exact amount of yuan, always with scale 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Money(Decimal);

/// Values closer than this to a whole fen are float noise from a spreadsheet cell
/// (0.1 + 0.2 = 0.30000000000000004), not real sub-fen digits (docs/DOMAIN.md "Money").
const NOISE: Decimal = Decimal::from_parts(1, 0, 0, false, 9);

impl Money {
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// Largest amount the database can hold: i64::MAX fen.
    fn max_fen() -> Decimal {
        Decimal::from(i64::MAX)
    }

    /// An amount from a count of fen (the database form).
    pub fn from_fen(fen: i64) -> Money {
        Money(Decimal::new(fen, 2))
    }

    /// The count of fen. Every `Money` fits a BIGINT of fen (`checked_new` refuses larger
    /// amounts), so this cannot fail.
    pub fn fen(self) -> i64 {
        i64::try_from(self.0.mantissa()).expect("a Money always fits a BIGINT of fen")
    }

    /// An exact decimal, which must already be whole fen (or a half fen: see [`Self::from_decimal_rounded`]).
    pub fn from_decimal(d: Decimal) -> Result<Money, MoneyError> {
        Self::from_decimal_rounded(d)
    }

    /// The one rounding rule for every amount, from a cell or from text:
    /// float noise (within 1e-9 of a fen) is dropped; an exact half fen (2.675) rounds half
    /// away from zero (2.68), as docs/DOMAIN.md requires; any other digit below a fen
    /// (1.0049999) is an error, because the register really holds a sub-fen amount and
    /// silently rounding it would hide a mistake from the auditor.
    pub fn from_decimal_rounded(d: Decimal) -> Result<Money, MoneyError> {
        let rounded = d.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        let diff = (rounded - d).abs();
        let half_fen = Decimal::new(5, 3);
        if diff > NOISE && diff != half_fen {
            return Err(MoneyError::SubFen);
        }
        Self::checked_new(rounded)
    }

    fn checked_new(mut d: Decimal) -> Result<Money, MoneyError> {
        d.rescale(2);
        if d.scale() != 2 || d.abs() > Self::max_fen() / Decimal::ONE_HUNDRED {
            return Err(MoneyError::Overflow);
        }
        Ok(Money(d))
    }

    /// A spreadsheet number cell. Goes through the shortest text form of the f64 (never
    /// `Decimal::from_f64_retain`, which would keep 2.67499999999999982236431605997495353...).
    pub fn from_cell_f64(f: f64) -> Result<Money, MoneyError> {
        Self::from_f64_scaled(f, Decimal::ONE)
    }

    /// A number cell in a column whose header names a unit (万元 = 10,000 yuan).
    pub fn from_f64_scaled(f: f64, unit: Decimal) -> Result<Money, MoneyError> {
        if !f.is_finite() {
            return Err(MoneyError::NotAnAmount);
        }
        let d = Decimal::from_str(&f.to_string()).map_err(|_| MoneyError::Overflow)?;
        let scaled = d.checked_mul(unit).ok_or(MoneyError::Overflow)?;
        Self::from_decimal_rounded(scaled)
    }

    /// Text as it appears in real registers: `1,234.50`, `¥1,234.50`, `1234.5元`,
    /// full-width `１２３４.５０`, `(1,234.50)` for negative, non-breaking spaces, `12.5万`.
    pub fn parse(raw: &str) -> Result<Money, MoneyError> {
        Self::parse_scaled(raw, Decimal::ONE)
    }

    /// Text in a column measured in `unit` yuan; a `万` suffix multiplies by 10,000 again
    /// only when the column is in yuan (a cell saying 万 in a 万元 column is still 万).
    pub fn parse_scaled(raw: &str, unit: Decimal) -> Result<Money, MoneyError> {
        // The common case, `1234.50`, without the folding below.
        if !raw.is_empty()
            && raw.bytes().all(|b| b.is_ascii_digit() || b == b'.')
            && unit == Decimal::ONE
        {
            if raw.starts_with('.') || raw.ends_with('.') || raw.matches('.').count() > 1 {
                return Err(MoneyError::NotAnAmount);
            }
            let d = Decimal::from_str(raw).map_err(|_| MoneyError::Overflow)?;
            return Self::from_decimal_rounded(d);
        }
        let folded: String = crate::text::fold_width(raw)
            .chars()
            .filter(|c| !c.is_whitespace() && *c != ',' && *c != '\u{00a0}' && *c != '\u{3000}')
            .collect();
        let mut s = folded.as_str();
        let mut negative = false;
        if let Some(inner) = s.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
            negative = true;
            s = inner;
        }
        if let Some(rest) = s.strip_prefix('-') {
            negative = !negative;
            s = rest;
        }
        s = s.trim_start_matches(['¥', '￥']);
        if let Some(rest) = s.strip_prefix("RMB") {
            s = rest;
        }
        if let Some(rest) = s.strip_prefix('-') {
            negative = !negative;
            s = rest;
        }
        let mut factor = unit;
        if let Some(rest) = s.strip_suffix("元") {
            s = rest;
        }
        if let Some(rest) = s.strip_suffix('万') {
            s = rest;
            factor = Decimal::from(10_000);
        }
        if s.is_empty() || !s.chars().all(|c| c.is_ascii_digit() || c == '.') {
            return Err(MoneyError::NotAnAmount);
        }
        if s.starts_with('.') || s.ends_with('.') || s.matches('.').count() > 1 {
            return Err(MoneyError::NotAnAmount);
        }
        let d = Decimal::from_str(s).map_err(|_| MoneyError::Overflow)?;
        let d = d.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        Self::from_decimal_rounded(if negative { -d } else { d })
    }

    pub fn is_negative(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        Self::checked_new(self.0.checked_add(other.0).ok_or(MoneyError::Overflow)?)
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        Self::checked_new(self.0.checked_sub(other.0).ok_or(MoneyError::Overflow)?)
    }

    /// Sum of many amounts; an overflow anywhere is an error, never a wrap.
    pub fn checked_sum<I: IntoIterator<Item = Money>>(items: I) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::ZERO, |acc, m| acc.checked_add(m))
    }

    /// The amount in 万元 to two decimals, as bureaus write upward ("1453.27万元").
    pub fn wan(self) -> Decimal {
        (self.0 / Decimal::from(10_000))
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

impl std::ops::Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(-self.0)
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Money::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// The database form of money: BIGINT fen on every backend (sea-orm would store a `Decimal`
/// as REAL on SQLite). An entity field or a raw query's column of type `Money` reads and
/// writes fen, so no bare `i64` of fen travels outside this mapping.
impl From<Money> for sea_orm::Value {
    fn from(m: Money) -> Self {
        sea_orm::Value::BigInt(Some(m.fen()))
    }
}

impl sea_orm::TryGetable for Money {
    fn try_get_by<I: sea_orm::ColIdx>(
        res: &sea_orm::QueryResult,
        idx: I,
    ) -> Result<Self, sea_orm::TryGetError> {
        <i64 as sea_orm::TryGetable>::try_get_by(res, idx).map(Money::from_fen)
    }
}

impl sea_orm::sea_query::ValueType for Money {
    fn try_from(v: sea_orm::Value) -> Result<Self, sea_orm::sea_query::ValueTypeErr> {
        <i64 as sea_orm::sea_query::ValueType>::try_from(v).map(Money::from_fen)
    }

    fn type_name() -> String {
        "Money".to_owned()
    }

    fn array_type() -> sea_orm::sea_query::ArrayType {
        sea_orm::sea_query::ArrayType::BigInt
    }

    fn column_type() -> sea_orm::sea_query::ColumnType {
        sea_orm::sea_query::ColumnType::BigInteger
    }
}

impl sea_orm::sea_query::Nullable for Money {
    fn null() -> sea_orm::Value {
        sea_orm::Value::BigInt(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn spreadsheet_floats_go_through_their_shortest_text() {
        assert_eq!(Money::from_cell_f64(2.675).unwrap().to_string(), "2.68");
        assert_eq!(Money::from_cell_f64(0.1 + 0.2).unwrap().to_string(), "0.30");
        assert_eq!(Money::from_cell_f64(-2.675).unwrap().to_string(), "-2.68");
        assert_eq!(Money::from_cell_f64(100.0).unwrap().to_string(), "100.00");
        assert_eq!(Money::from_cell_f64(1.0049999), Err(MoneyError::SubFen));
        assert_eq!(Money::from_cell_f64(0.001), Err(MoneyError::SubFen));
        assert_eq!(Money::from_cell_f64(f64::NAN), Err(MoneyError::NotAnAmount));
        assert_eq!(Money::from_cell_f64(1e300), Err(MoneyError::Overflow));
    }

    #[test]
    fn text_amounts_in_every_form_seen_in_registers() {
        for (raw, want) in [
            ("1,234.50", "1234.50"),
            ("¥1,234.50", "1234.50"),
            ("￥1,234.50", "1234.50"),
            ("1234.5元", "1234.50"),
            ("１２３４.５０", "1234.50"),
            ("１２３４．５０", "1234.50"),
            ("(1,234.50)", "-1234.50"),
            ("（1,234.50）", "-1234.50"),
            ("-1234.5", "-1234.50"),
            ("\u{a0}1\u{a0}234.50 ", "1234.50"),
            ("12.5万", "125000.00"),
            ("12.5万元", "125000.00"),
            ("0", "0.00"),
        ] {
            assert_eq!(m(raw).to_string(), want, "{raw}");
        }
        for bad in ["", "abc", "1.2.3", "12..5", "1,23a", "--", ".5.", "万"] {
            assert!(Money::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Money::parse("1.001"), Err(MoneyError::SubFen));
    }

    #[test]
    fn a_wan_yuan_column_scales_exactly() {
        let wan = Decimal::from(10_000);
        assert_eq!(
            Money::parse_scaled("12.5", wan).unwrap().to_string(),
            "125000.00"
        );
        assert_eq!(
            Money::from_f64_scaled(1.2345, wan).unwrap().to_string(),
            "12345.00"
        );
        assert_eq!(
            Money::from_f64_scaled(0.0000001, wan),
            Err(MoneyError::SubFen)
        );
    }

    #[test]
    fn fen_round_trip_and_limits() {
        let big = m("9999999999999999.99");
        assert_eq!(big.fen(), 999_999_999_999_999_999);
        assert_eq!(Money::from_fen(999_999_999_999_999_999), big);
        assert_eq!(Money::from_fen(-1).to_string(), "-0.01");
        assert_eq!(Money::from_fen(i64::MAX).fen(), i64::MAX);
        assert_eq!(
            Money::from_fen(i64::MAX).checked_add(m("0.01")),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse("99999999999999999999"),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn arithmetic_is_checked_and_keeps_scale() {
        assert_eq!(
            m("0.10").checked_add(m("0.20")).unwrap().to_string(),
            "0.30"
        );
        assert_eq!(m("1").checked_sub(m("2.5")).unwrap().to_string(), "-1.50");
        let items = std::iter::repeat_n(m("0.01"), 1000);
        assert_eq!(Money::checked_sum(items).unwrap().to_string(), "10.00");
    }

    #[test]
    fn json_is_a_string() {
        assert_eq!(serde_json::to_string(&m("1234.5")).unwrap(), "\"1234.50\"");
        let back: Money = serde_json::from_str("\"1234.50\"").unwrap();
        assert_eq!(back, m("1234.50"));
    }

    #[test]
    fn wan_for_statements() {
        assert_eq!(m("14532700.00").wan().to_string(), "1453.27");
        assert_eq!(m("14532750.00").wan().to_string(), "1453.28");
    }
}
