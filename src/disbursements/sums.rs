//! Payments summed per contract and calendar month, and per contract and day: what a batch
//! adds to the ledger's sums (`payment_months`, `payment_days`, written by the import in its
//! transaction, `db::store`). A report as of any date then reads the months before the date's
//! own from the monthly sums and the days of its own month from the daily ones, never the
//! payments row by row: its cost grows with contracts × months (and the days of one month),
//! not with payments.

use chrono::{Datelike, NaiveDate};

/// A month as the reports and `payment_months` write it: `YYYY-MM`.
pub fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_is_written_as_year_and_month() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(month_of(d(2019, 6, 30)), "2019-06");
        assert_eq!(month_of(d(987, 1, 1)), "0987-01");
    }
}
