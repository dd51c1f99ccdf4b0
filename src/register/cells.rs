//! A neutral cell model for every source (calamine's readers, CSV), and the conversions of a
//! cell into the domain's values. Each conversion returns the problem kind on failure; the
//! caller adds the location.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::dates;
use crate::money::{Money, MoneyError};
use crate::register::problems::Kind;
use crate::services::Period;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Cell {
    #[default]
    Empty,
    Text(String),
    Number(f64),
    Int(i64),
    Bool(bool),
    /// A date cell, already converted from its serial (calamine knows the 1904 system).
    Date(NaiveDate),
    /// An ISO 8601 date or date-time (ods).
    DateIso(String),
    /// A formula error such as `#REF!`.
    Error(String),
}

/// Shortest text of a number: `2019001` not `2019001.0`.
fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        f.to_string()
    }
}

impl Cell {
    pub fn is_blank(&self) -> bool {
        match self {
            Cell::Empty => true,
            Cell::Text(s) => {
                s.trim().is_empty() || s.chars().all(|c| c.is_whitespace() || c == '\u{a0}')
            }
            _ => false,
        }
    }

    /// The cell as the user sees it, for messages and text fields.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(f) => number_text(*f),
            Cell::Int(i) => i.to_string(),
            Cell::Bool(b) => {
                if *b {
                    "TRUE".into()
                } else {
                    "FALSE".into()
                }
            }
            Cell::Date(d) => d.to_string(),
            Cell::DateIso(s) => s.clone(),
            Cell::Error(e) => e.clone(),
        }
    }

    /// Text fields (names, codes): trimmed and width-folded; `None` when blank.
    pub fn text(&self) -> Option<String> {
        if self.is_blank() {
            return None;
        }
        let s = match self {
            Cell::Text(t) => crate::text::clean(t),
            other => crate::text::clean(&other.display()),
        };
        (!s.is_empty()).then_some(s)
    }

    /// A text field's value, or its length in characters when it has more than `limit`
    /// (counted after trimming and width folding, as it would be stored).
    pub fn text_at_most(&self, limit: usize) -> Result<Option<String>, usize> {
        match self.text() {
            Some(t) => match t.chars().count() {
                chars if chars > limit => Err(chars),
                _ => Ok(Some(t)),
            },
            None => Ok(None),
        }
    }

    pub fn money(&self, unit: Decimal) -> Result<Option<Money>, Kind> {
        let r = match self {
            _ if self.is_blank() => return Ok(None),
            Cell::Number(f) => Money::from_f64_scaled(*f, unit),
            Cell::Int(i) => Money::from_decimal(Decimal::from(*i) * unit),
            Cell::Text(s) => Money::parse_scaled(s, unit),
            Cell::Error(_) => return Err(Kind::CellError),
            _ => Err(MoneyError::NotAnAmount),
        };
        r.map(Some).map_err(Kind::BadAmount)
    }

    pub fn date(&self) -> Result<Option<NaiveDate>, Kind> {
        let d = match self {
            _ if self.is_blank() => return Ok(None),
            Cell::Date(d) => Some(*d),
            // A date typed as the number 20190625, or a serial in a cell without a date format.
            Cell::Number(f) => number_date(*f),
            Cell::Int(i) => number_date(*i as f64),
            Cell::Text(s) | Cell::DateIso(s) => dates::parse_date(s),
            Cell::Error(_) => return Err(Kind::CellError),
            Cell::Bool(_) | Cell::Empty => None,
        };
        d.map(Some).ok_or(Kind::BadDate)
    }

    /// A whole number of people or sessions: `1234`, `1,234`, `1234人`, `1234人次`.
    pub fn count(&self) -> Result<Option<i64>, Kind> {
        let n = match self {
            _ if self.is_blank() => return Ok(None),
            Cell::Int(i) => Some(*i),
            Cell::Number(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(*f as i64),
            Cell::Text(s) => {
                let t: String = crate::text::fold_width(s)
                    .chars()
                    .filter(|c| !c.is_whitespace() && *c != ',')
                    .collect();
                let t = t
                    .trim_end_matches("人次")
                    .trim_end_matches('人')
                    .trim_end_matches('次');
                t.parse::<i64>().ok()
            }
            Cell::Error(_) => return Err(Kind::CellError),
            _ => None,
        };
        match n {
            Some(n) if n >= 0 => Ok(Some(n)),
            _ => Err(Kind::BadCount),
        }
    }

    pub fn period(&self) -> Result<Option<Period>, Kind> {
        let p = match self {
            _ if self.is_blank() => return Ok(None),
            Cell::Date(d) => Some(Period::month_of(*d)),
            Cell::Number(_) | Cell::Int(_) => Period::parse(&self.display()),
            Cell::Text(s) | Cell::DateIso(s) => Period::parse(s),
            Cell::Error(_) => return Err(Kind::CellError),
            Cell::Bool(_) | Cell::Empty => None,
        };
        p.map(Some).ok_or(Kind::BadPeriod)
    }

    pub fn range(&self) -> Result<Option<(NaiveDate, NaiveDate)>, Kind> {
        match self {
            _ if self.is_blank() => Ok(None),
            Cell::Text(s) => dates::parse_range(s).map(Some).ok_or(Kind::BadDate),
            _ => Err(Kind::BadDate),
        }
    }
}

/// 20190625 as a number is a date typed without separators; 43641 is an unformatted serial.
fn number_date(f: f64) -> Option<NaiveDate> {
    if f.fract() != 0.0 {
        return None;
    }
    if (19_000_101.0..=22_001_231.0).contains(&f) {
        return dates::parse_date(&number_text(f));
    }
    if (1.0..=109_574.0).contains(&f) {
        // up to 2199-12-31
        return dates::from_excel_serial(f, false);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_amounts_dates_and_counts() {
        let one = Decimal::ONE;
        assert_eq!(
            Cell::Number(2.675).money(one).unwrap().unwrap().to_string(),
            "2.68"
        );
        assert_eq!(
            Cell::Text("¥1,234.5".into())
                .money(one)
                .unwrap()
                .unwrap()
                .to_string(),
            "1234.50"
        );
        assert_eq!(
            Cell::Int(3)
                .money(Decimal::from(10_000))
                .unwrap()
                .unwrap()
                .to_string(),
            "30000.00"
        );
        assert_eq!(Cell::Empty.money(one), Ok(None));
        assert!(Cell::Bool(true).money(one).is_err());
        assert_eq!(Cell::Error("#REF!".into()).money(one), Err(Kind::CellError));
        assert_eq!(
            Cell::Number(20190625.0)
                .date()
                .unwrap()
                .unwrap()
                .to_string(),
            "2019-06-25"
        );
        let d = NaiveDate::from_ymd_opt(2019, 6, 25).unwrap();
        assert_eq!(Cell::Date(d).date(), Ok(Some(d)));
        assert_eq!(
            Cell::Text("2019年6月25日".into())
                .date()
                .unwrap()
                .unwrap()
                .to_string(),
            "2019-06-25"
        );
        assert_eq!(Cell::Text("1,234人".into()).count(), Ok(Some(1234)));
        assert_eq!(Cell::Number(-1.0).count(), Err(Kind::BadCount));
        assert_eq!(Cell::Number(1.5).count(), Err(Kind::BadCount));
        assert_eq!(
            Cell::Number(201906.0).period().unwrap().unwrap().label(),
            "2019-06"
        );
        assert_eq!(Cell::Number(2019001.0).text().unwrap(), "2019001");
    }
}
