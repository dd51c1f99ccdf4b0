//! Payments summed per contract and calendar month: what a batch adds to the ledger's
//! monthly sums (`payment_months`), so that a report as of any date reads the months before
//! the date's own from the sums and only that month's payments row by row.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

/// One contract's payments in one month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonthSum {
    /// Their sum in fen; reversals count negative.
    pub fen: i64,
    pub payments: i64,
    pub last: NaiveDate,
}

/// The monthly sums of the payments one batch stores.
#[derive(Debug, Default)]
pub struct MonthlySums(HashMap<(i64, i32, u32), MonthSum>);

/// A month as the reports and `payment_months` write it: `YYYY-MM`.
pub fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

impl MonthlySums {
    pub fn add(&mut self, contract_id: i64, paid_on: NaiveDate, fen: i64) {
        let key = (contract_id, paid_on.year(), paid_on.month());
        let sum = self.0.entry(key).or_insert(MonthSum {
            fen: 0,
            payments: 0,
            last: paid_on,
        });
        // A contract is never paid beyond its value, a BIGINT: its month cannot overflow.
        sum.fen += fen;
        sum.payments += 1;
        sum.last = sum.last.max(paid_on);
    }

    pub fn merge(&mut self, other: MonthlySums) {
        for ((cid, y, m), s) in other.0 {
            let sum = self.0.entry((cid, y, m)).or_insert(MonthSum {
                fen: 0,
                payments: 0,
                last: s.last,
            });
            sum.fen += s.fen;
            sum.payments += s.payments;
            sum.last = sum.last.max(s.last);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// (contract id, `YYYY-MM`, sum), in contract and month order.
    pub fn rows(&self) -> Vec<(i64, String, MonthSum)> {
        let mut rows: Vec<_> = self
            .0
            .iter()
            .map(|(&(cid, y, m), &s)| (cid, format!("{y:04}-{m:02}"), s))
            .collect();
        rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn payments_of_a_contract_in_one_month_are_one_sum_with_their_count_and_last_date() {
        let mut sums = MonthlySums::default();
        sums.add(1, d(2019, 6, 30), 500);
        sums.add(1, d(2019, 6, 3), 200);
        sums.add(1, d(2019, 7, 1), 100);
        sums.add(2, d(2019, 6, 15), -50);
        let mut other = MonthlySums::default();
        other.add(1, d(2019, 6, 10), 1);
        sums.merge(other);
        assert_eq!(
            sums.rows(),
            vec![
                (
                    1,
                    "2019-06".into(),
                    MonthSum {
                        fen: 701,
                        payments: 3,
                        last: d(2019, 6, 30)
                    }
                ),
                (
                    1,
                    "2019-07".into(),
                    MonthSum {
                        fen: 100,
                        payments: 1,
                        last: d(2019, 7, 1)
                    }
                ),
                (
                    2,
                    "2019-06".into(),
                    MonthSum {
                        fen: -50,
                        payments: 1,
                        last: d(2019, 6, 15)
                    }
                ),
            ]
        );
        assert_eq!(month_of(d(2019, 6, 30)), "2019-06");
    }
}
