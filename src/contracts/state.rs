//! The state of a contract on a date: not started, running, ended, or ended with part of its
//! value unpaid. The one rule that decides it, and its labels, live here; the reports, the
//! contract pages and the list's SQL filter all read them from this module.

use chrono::NaiveDate;

crate::vocabulary! {
    /// A contract's state on a date.
    ContractState {
        NotStarted => "not_started", "未开始", "not started", [];
        Running => "running", "履行中", "running", [];
        Ended => "ended", "已结束", "ended", [];
        Unpaid => "unpaid", "已结束（尚有余额未付）", "ended with balance unpaid", [];
    }
}

/// Where a date falls against a contract's term (start and end both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Term {
    /// Before the start date.
    Before,
    /// From the start date to the end date.
    During,
    /// After the end date.
    After,
}

impl Term {
    pub fn of(start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> Term {
        if start > as_of {
            Term::Before
        } else if end >= as_of {
            Term::During
        } else {
            Term::After
        }
    }
}

/// What a state requires, for a query that must select the contracts in it: where the date
/// falls against the term, and, after the term, whether the payments reach the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateTest {
    pub term: Term,
    /// `Some(true)`: paid at least the value; `Some(false)`: paid less; `None`: either.
    pub paid_in_full: Option<bool>,
}

impl ContractState {
    /// The state of a contract with this term and these payments (reversals netted) on `as_of`.
    pub fn on(
        start: NaiveDate,
        end: NaiveDate,
        paid_fen: i64,
        value_fen: i64,
        as_of: NaiveDate,
    ) -> ContractState {
        match Term::of(start, end, as_of) {
            Term::Before => ContractState::NotStarted,
            Term::During => ContractState::Running,
            Term::After if paid_fen < value_fen => ContractState::Unpaid,
            Term::After => ContractState::Ended,
        }
    }

    /// The conditions [`ContractState::on`] answers this state for.
    pub fn test(self) -> StateTest {
        let (term, paid_in_full) = match self {
            ContractState::NotStarted => (Term::Before, None),
            ContractState::Running => (Term::During, None),
            ContractState::Ended => (Term::After, Some(true)),
            ContractState::Unpaid => (Term::After, Some(false)),
        };
        StateTest { term, paid_in_full }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn the_state_follows_the_term_and_then_the_payments() {
        let (start, end) = (d("2019-01-01"), d("2019-12-31"));
        let on = |as_of, paid| ContractState::on(start, end, paid, 100, d(as_of));
        assert_eq!(on("2018-12-31", 0), ContractState::NotStarted);
        assert_eq!(on("2019-01-01", 0), ContractState::Running);
        assert_eq!(on("2019-12-31", 0), ContractState::Running);
        assert_eq!(on("2020-01-01", 99), ContractState::Unpaid);
        assert_eq!(on("2020-01-01", 100), ContractState::Ended);
        assert_eq!(on("2020-01-01", 120), ContractState::Ended);
    }

    #[test]
    fn each_state_is_what_its_test_selects() {
        let (start, end) = (d("2019-01-01"), d("2019-12-31"));
        for as_of in ["2018-06-01", "2019-06-01", "2020-06-01"] {
            for paid in [0, 99, 100, 101] {
                let state = ContractState::on(start, end, paid, 100, d(as_of));
                let t = state.test();
                assert_eq!(t.term, Term::of(start, end, d(as_of)));
                if let Some(full) = t.paid_in_full {
                    assert_eq!(full, paid >= 100);
                }
                // No other state's test selects this contract.
                for other in ContractState::ALL.iter().filter(|s| **s != state) {
                    let o = other.test();
                    let selects =
                        o.term == t.term && o.paid_in_full.is_none_or(|full| full == (paid >= 100));
                    assert!(!selects, "{other:?} also selects a {state:?} contract");
                }
            }
        }
    }

    #[test]
    fn the_labels_are_the_ones_the_reports_print() {
        assert_eq!(ContractState::Unpaid.zh(), "已结束（尚有余额未付）");
        assert_eq!(ContractState::Unpaid.en(), "ended with balance unpaid");
    }
}
