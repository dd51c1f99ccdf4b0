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

/// One contract's payments on one day, or in one month (`last` is then its last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sum {
    pub contract_id: i64,
    pub day: NaiveDate,
    /// Their sum in fen; reversals count negative. A contract is never paid beyond its value,
    /// a BIGINT: no sum overflows.
    pub fen: i64,
    pub payments: i64,
}

/// Each payment of a batch as 16 bytes, (contract, day) packed in one word, summed per day
/// and per month at the end by one sort: a map of contracts × days held through the import
/// took about 90 MB at a million payments, this 16 MB.
#[derive(Debug, Default)]
pub struct DayEntries {
    entries: Vec<(u64, i64)>,
}

/// Bits of the packed word given to the day (days from 0001-01-01: 3.65 million by 9999).
const DAY_BITS: u32 = 22;

impl DayEntries {
    /// Notes one payment; false when its contract id is too large to pack (over 2^42), when
    /// the caller sums by other means.
    #[must_use]
    pub fn add(&mut self, contract_id: i64, day: NaiveDate, fen: i64) -> bool {
        let Ok(id) = u64::try_from(contract_id) else {
            return false;
        };
        let Ok(d) = u64::try_from(day.num_days_from_ce()) else {
            return false;
        };
        if id >= 1 << (64 - DAY_BITS) || d >= 1 << DAY_BITS {
            return false;
        }
        self.entries.push((id << DAY_BITS | d, fen));
        true
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The sums per contract and day, in contract and day order, as they are summed (the
    /// entries are sorted once; no second list is built).
    pub fn into_days(mut self) -> impl Iterator<Item = Sum> {
        self.entries.sort_unstable_by_key(|e| e.0);
        let mut entries = self.entries.into_iter().peekable();
        std::iter::from_fn(move || {
            let (key, fen) = entries.next()?;
            let mut sum = Sum {
                contract_id: (key >> DAY_BITS) as i64,
                day: NaiveDate::from_num_days_from_ce_opt((key & ((1 << DAY_BITS) - 1)) as i32)
                    .expect("packed from a date"),
                fen,
                payments: 1,
            };
            while let Some((_, fen)) = entries.next_if(|e| e.0 == key) {
                sum.fen += fen;
                sum.payments += 1;
            }
            Some(sum)
        })
    }
}

/// Day sums in contract and day order, summed per contract and month as they pass; each
/// month's `day` is its last day with payments.
#[derive(Debug, Default)]
pub struct Months {
    pub sums: Vec<Sum>,
}

impl Months {
    pub fn add(&mut self, d: &Sum) {
        match self.sums.last_mut() {
            Some(m)
                if m.contract_id == d.contract_id
                    && (m.day.year(), m.day.month()) == (d.day.year(), d.day.month()) =>
            {
                m.fen += d.fen;
                m.payments += d.payments;
                m.day = d.day;
            }
            _ => self.sums.push(*d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payments_of_a_contract_on_one_day_or_in_one_month_are_one_sum_with_their_count_and_last_day()
    {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        let mut e = DayEntries::default();
        for (c, day, fen) in [
            (1, d(2019, 6, 30), 500),
            (2, d(2019, 6, 15), -50),
            (1, d(2019, 6, 3), 200),
            (1, d(2019, 7, 1), 100),
            (1, d(2019, 6, 3), 1),
        ] {
            assert!(e.add(c, day, fen));
        }
        let sum = |contract_id, day, fen, payments| Sum {
            contract_id,
            day,
            fen,
            payments,
        };
        let days: Vec<Sum> = e.into_days().collect();
        let mut months = Months::default();
        days.iter().for_each(|d| months.add(d));
        let months = months.sums;
        assert_eq!(
            days,
            vec![
                sum(1, d(2019, 6, 3), 201, 2),
                sum(1, d(2019, 6, 30), 500, 1),
                sum(1, d(2019, 7, 1), 100, 1),
                sum(2, d(2019, 6, 15), -50, 1),
            ]
        );
        assert_eq!(
            months,
            vec![
                sum(1, d(2019, 6, 30), 701, 3),
                sum(1, d(2019, 7, 1), 100, 1),
                sum(2, d(2019, 6, 15), -50, 1),
            ]
        );
    }

    #[test]
    fn an_id_too_large_to_pack_is_refused_not_folded() {
        let day = NaiveDate::from_ymd_opt(2019, 1, 1).unwrap();
        assert!(!DayEntries::default().add(1 << 42, day, 1));
        assert!(!DayEntries::default().add(-1, day, 1));
        assert!(DayEntries::default().add((1 << 42) - 1, day, 1));
    }

    #[test]
    fn a_month_is_written_as_year_and_month() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
        assert_eq!(month_of(d(2019, 6, 30)), "2019-06");
        assert_eq!(month_of(d(987, 1, 1)), "0987-01");
    }
}
