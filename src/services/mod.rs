//! Service reports: people served and sessions per contract and period.

pub mod counting;

use chrono::{Datelike, NaiveDate};

use crate::dates;

/// 统计期间: a month or an explicit date range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    pub fn month(y: i32, m: u32) -> Period {
        Period {
            start: dates::month_start(y, m),
            end: dates::month_end(y, m),
        }
    }

    /// The month a date falls in: a date cell formatted as `2019年6月` arrives as a date.
    pub fn month_of(d: NaiveDate) -> Period {
        Period::month(d.year(), d.month())
    }

    /// `2019-06`, `2019年6月`, `201906`, or a range such as `2019.01.01-2019.03.31`.
    pub fn parse(raw: &str) -> Option<Period> {
        if let Some((y, m)) = dates::parse_month(raw) {
            return Some(Period::month(y, m));
        }
        if let Some((start, end)) = dates::parse_range(raw) {
            return (start <= end).then_some(Period { start, end });
        }
        dates::parse_date(raw).map(Period::month_of)
    }

    /// `2019-06` for a whole month, else `2019-01-01..2019-03-31`.
    pub fn label(&self) -> String {
        if *self == Period::month_of(self.start) {
            format!("{:04}-{:02}", self.start.year(), self.start.month())
        } else {
            format!("{}..{}", self.start, self.end)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_from_months_and_ranges() {
        assert_eq!(Period::parse("2019年6月").unwrap().label(), "2019-06");
        assert_eq!(
            Period::parse("2019-06").unwrap().end.to_string(),
            "2019-06-30"
        );
        assert_eq!(
            Period::parse("2019.01.01-2019.03.31").unwrap().label(),
            "2019-01-01..2019-03-31"
        );
        assert_eq!(
            Period::parse("2019.01.01-2019.01.31").unwrap().label(),
            "2019-01"
        );
        assert!(Period::parse("2019.03.01-2019.01.31").is_none());
        assert!(Period::parse("June").is_none());
    }
}
