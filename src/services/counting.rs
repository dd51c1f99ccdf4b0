//! The counting rules of service reports on one contract: periods may not overlap (the same
//! people would be counted twice), and the people served add up period after period. A
//! report gives the people new in its period, the cumulative number so far, or both; each
//! must agree with the running total of the reports before it.

use std::collections::{HashMap, HashSet};

use super::Period;

/// The people figures of one report, as given (either may be missing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct People {
    /// 新增服务人数: people first served in the period.
    pub new: Option<i64>,
    /// 累计服务人数: people served since the contract began.
    pub cumulative: Option<i64>,
}

/// Why a report of the file cannot be stored. `R` names the file's row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding<R> {
    /// The row's period overlaps `other`, stored or in the file.
    Overlap { row: R, other: Period },
    /// The cumulative figure is not the running total plus the row's new people.
    CumulativeMismatch {
        row: R,
        cumulative: i64,
        expected: i64,
    },
    /// Given only a cumulative figure, it is below the running total before it.
    CumulativeDecreases {
        row: R,
        cumulative: i64,
        previous: i64,
    },
}

/// New people per period once the reports agree: what is stored as each report's new
/// people (derived from the cumulative figure where only that was given).
pub type NewPeople = HashMap<Period, i64>;

struct Report<R> {
    period: Period,
    people: People,
    /// The file's row; `None` for a stored report.
    row: Option<R>,
}

/// Checks one contract's reports: those stored and those of the file, a file report
/// replacing the stored one of the same period. Only the file's rows are blamed: stored
/// reports were accepted when they came in. Returns the new people of every period, or
/// every finding (overlaps first, then running totals, in period order).
pub fn count<R: Copy>(
    stored: impl IntoIterator<Item = (Period, People)>,
    file: impl IntoIterator<Item = (Period, People, R)>,
) -> Result<NewPeople, Vec<Finding<R>>> {
    let file: Vec<Report<R>> = file
        .into_iter()
        .map(|(period, people, row)| Report {
            period,
            people,
            row: Some(row),
        })
        .collect();
    let replaced: HashSet<Period> = file.iter().map(|r| r.period).collect();
    let mut timeline: Vec<Report<R>> = stored
        .into_iter()
        .filter(|(p, _)| !replaced.contains(p))
        .map(|(period, people)| Report {
            period,
            people,
            row: None,
        })
        .collect();
    timeline.extend(file);
    timeline.sort_by_key(|r| (r.period.start, r.period.end));

    let mut findings = Vec::new();
    for w in timeline.windows(2) {
        if w[1].period.start <= w[0].period.end {
            // Blame the file's row; of two file rows, the later period.
            let (bad, other) = if w[1].row.is_some() {
                (&w[1], &w[0])
            } else {
                (&w[0], &w[1])
            };
            if let Some(row) = bad.row {
                findings.push(Finding::Overlap {
                    row,
                    other: other.period,
                });
            }
        }
    }
    // The running total: a cumulative figure must equal the new people so far; given only
    // the cumulative figure, the new people are what it adds.
    let mut running = 0i64;
    let mut derived = NewPeople::with_capacity(timeline.len());
    for r in &timeline {
        let new = match (r.people.new, r.people.cumulative) {
            (Some(n), Some(c)) => {
                if c != running + n {
                    if let Some(row) = r.row {
                        findings.push(Finding::CumulativeMismatch {
                            row,
                            cumulative: c,
                            expected: running + n,
                        });
                    }
                }
                n
            }
            (Some(n), None) => n,
            (None, Some(c)) => {
                if c < running {
                    if let Some(row) = r.row {
                        findings.push(Finding::CumulativeDecreases {
                            row,
                            cumulative: c,
                            previous: running,
                        });
                    }
                    0
                } else {
                    c - running
                }
            }
            (None, None) => 0,
        };
        derived.insert(r.period, new);
        running += new;
    }
    if findings.is_empty() {
        Ok(derived)
    } else {
        Err(findings)
    }
}

/// The figures of a report that a re-import may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Figures {
    pub new_people: Option<i64>,
    pub cumulative_people: Option<i64>,
    pub sessions: Option<i64>,
}

impl Figures {
    /// Every figure that differs from `self` (stored) to `new`, as (field, old, new); empty
    /// when the report is unchanged.
    pub fn changes(&self, new: &Figures) -> Vec<(&'static str, Option<i64>, Option<i64>)> {
        [
            ("new_people", self.new_people, new.new_people),
            (
                "cumulative_people",
                self.cumulative_people,
                new.cumulative_people,
            ),
            ("sessions", self.sessions, new.sessions),
        ]
        .into_iter()
        .filter(|(_, a, b)| a != b)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn month(m: u32) -> Period {
        Period::month(2019, m)
    }

    fn new(n: i64) -> People {
        People {
            new: Some(n),
            cumulative: None,
        }
    }

    fn cumulative(c: i64) -> People {
        People {
            new: None,
            cumulative: Some(c),
        }
    }

    fn both(n: i64, c: i64) -> People {
        People {
            new: Some(n),
            cumulative: Some(c),
        }
    }

    #[test]
    fn new_people_are_derived_from_cumulative_figures() {
        let counted = count(
            [(month(1), new(10))],
            [(month(2), cumulative(25), 3), (month(3), cumulative(25), 4)],
        )
        .unwrap();
        assert_eq!(counted[&month(1)], 10);
        assert_eq!(counted[&month(2)], 15);
        assert_eq!(counted[&month(3)], 0);
    }

    #[test]
    fn a_cumulative_figure_must_be_the_running_total_plus_the_new_people() {
        let found = count([(month(1), new(10))], [(month(2), both(5, 16), 3)]).unwrap_err();
        assert_eq!(
            found,
            vec![Finding::CumulativeMismatch {
                row: 3,
                cumulative: 16,
                expected: 15
            }]
        );
    }

    #[test]
    fn a_cumulative_figure_alone_may_not_fall() {
        let found = count([(month(1), new(10))], [(month(2), cumulative(8), 3)]).unwrap_err();
        assert_eq!(
            found,
            vec![Finding::CumulativeDecreases {
                row: 3,
                cumulative: 8,
                previous: 10
            }]
        );
    }

    #[test]
    fn a_period_overlapping_a_stored_one_is_refused() {
        let quarter = Period::parse("2019.01.01-2019.03.31").unwrap();
        let found = count([(quarter, new(10))], [(month(2), new(5), 3)]).unwrap_err();
        assert_eq!(
            found,
            vec![Finding::Overlap {
                row: 3,
                other: quarter
            }]
        );
    }

    #[test]
    fn of_two_overlapping_file_rows_the_later_period_is_blamed() {
        let quarter = Period::parse("2019.01.01-2019.03.31").unwrap();
        let found = count([], [(month(3), new(5), 9), (quarter, new(10), 4)]).unwrap_err();
        assert_eq!(
            found,
            vec![Finding::Overlap {
                row: 9,
                other: quarter
            }]
        );
    }

    #[test]
    fn a_file_report_replaces_the_stored_one_of_its_period() {
        let counted = count(
            [(month(1), new(10)), (month(2), cumulative(30))],
            [(month(2), both(12, 22), 3)],
        )
        .unwrap();
        assert_eq!(counted[&month(2)], 12);
    }

    #[test]
    fn stored_reports_are_never_blamed() {
        // Accepted when they came in; a file that does not touch them is not refused.
        let counted = count(
            [(month(1), both(10, 99)), (month(2), new(5))],
            [(month(3), new(1), 3)],
        );
        assert!(counted.is_ok());
    }

    #[test]
    fn only_the_changed_figures_of_a_report_are_changes() {
        let old = Figures {
            new_people: Some(10),
            cumulative_people: None,
            sessions: Some(4),
        };
        assert!(old.changes(&old).is_empty());
        let new = Figures {
            sessions: Some(6),
            ..old
        };
        assert_eq!(old.changes(&new), vec![("sessions", Some(4), Some(6))]);
    }
}
