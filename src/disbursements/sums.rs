//! Payments summed per contract and calendar month, and per contract and day: what a batch
//! adds to the ledger's sums (`payment_months`, `payment_days`). A report as of any date then
//! reads the months before the date's own from the monthly sums and the days of its own month
//! from the daily ones, never the payments row by row: its cost grows with contracts × months
//! (and the days of one month), not with payments.

use std::collections::HashMap;

use chrono::{Datelike, NaiveDate};

/// One contract's payments in one month or on one day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sum {
    /// Their sum in fen; reversals count negative.
    pub fen: i64,
    pub payments: i64,
    pub last: NaiveDate,
}

impl Sum {
    fn add(&mut self, fen: i64, payments: i64, last: NaiveDate) {
        // A contract is never paid beyond its value, a BIGINT: its month cannot overflow.
        self.fen += fen;
        self.payments += payments;
        self.last = self.last.max(last);
    }
}

/// The monthly and daily sums of the payments one batch stores.
#[derive(Debug, Default)]
pub struct PaymentSums {
    months: HashMap<(i64, i32, u32), Sum>,
    days: HashMap<(i64, NaiveDate), Sum>,
}

/// A month as the reports and `payment_months` write it: `YYYY-MM`.
pub fn month_of(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

fn zero(last: NaiveDate) -> Sum {
    Sum {
        fen: 0,
        payments: 0,
        last,
    }
}

impl PaymentSums {
    pub fn add(&mut self, contract_id: i64, paid_on: NaiveDate, fen: i64) {
        let month = (contract_id, paid_on.year(), paid_on.month());
        self.months
            .entry(month)
            .or_insert(zero(paid_on))
            .add(fen, 1, paid_on);
        self.days
            .entry((contract_id, paid_on))
            .or_insert(zero(paid_on))
            .add(fen, 1, paid_on);
    }

    pub fn merge(&mut self, other: PaymentSums) {
        for (k, s) in other.months {
            self.months
                .entry(k)
                .or_insert(zero(s.last))
                .add(s.fen, s.payments, s.last);
        }
        for (k, s) in other.days {
            self.days
                .entry(k)
                .or_insert(zero(s.last))
                .add(s.fen, s.payments, s.last);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.months.is_empty()
    }

    /// (contract id, `YYYY-MM`, sum), in contract and month order.
    pub fn months(&self) -> Vec<(i64, String, Sum)> {
        let mut rows: Vec<_> = self
            .months
            .iter()
            .map(|(&(cid, y, m), &s)| (cid, format!("{y:04}-{m:02}"), s))
            .collect();
        rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        rows
    }

    /// (contract id, day, sum), in contract and day order.
    pub fn days(&self) -> Vec<(i64, NaiveDate, Sum)> {
        let mut rows: Vec<_> = self
            .days
            .iter()
            .map(|(&(cid, day), &s)| (cid, day, s))
            .collect();
        rows.sort_by_key(|r| (r.0, r.1));
        rows
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn sum(fen: i64, payments: i64, last: NaiveDate) -> Sum {
        Sum {
            fen,
            payments,
            last,
        }
    }

    #[test]
    fn payments_of_a_contract_in_one_month_or_day_are_one_sum_with_their_count_and_last_date() {
        let mut sums = PaymentSums::default();
        sums.add(1, d(2019, 6, 30), 500);
        sums.add(1, d(2019, 6, 3), 200);
        sums.add(1, d(2019, 7, 1), 100);
        sums.add(2, d(2019, 6, 15), -50);
        let mut other = PaymentSums::default();
        other.add(1, d(2019, 6, 3), 1);
        sums.merge(other);
        assert_eq!(
            sums.months(),
            vec![
                (1, "2019-06".into(), sum(701, 3, d(2019, 6, 30))),
                (1, "2019-07".into(), sum(100, 1, d(2019, 7, 1))),
                (2, "2019-06".into(), sum(-50, 1, d(2019, 6, 15))),
            ]
        );
        assert_eq!(
            sums.days(),
            vec![
                (1, d(2019, 6, 3), sum(201, 2, d(2019, 6, 3))),
                (1, d(2019, 6, 30), sum(500, 1, d(2019, 6, 30))),
                (1, d(2019, 7, 1), sum(100, 1, d(2019, 7, 1))),
                (2, d(2019, 6, 15), sum(-50, 1, d(2019, 6, 15))),
            ]
        );
        assert_eq!(month_of(d(2019, 6, 30)), "2019-06");
    }
}
