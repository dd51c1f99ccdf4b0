//! What becomes of a file once it is checked against the ledger: kept or rolled back, and what
//! its import attempt records as its end. A pure decision from the file's problems and counts,
//! so the rule is tested without a database.

use std::fmt;

use crate::db::store::Counts;
use crate::register::problems::{Problem, Severity};

/// How an import attempt ended, as `import_attempts.outcome` holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored as a new batch.
    Committed,
    /// Everything in it was already in the ledger; nothing was written.
    Unchanged,
    /// It had errors; nothing was stored.
    Rejected,
    /// The database failed during the import; nothing was stored.
    Failed,
    /// Its process ended before the import did (found by recovery); nothing was stored.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Committed => "committed",
            Outcome::Unchanged => "unchanged",
            Outcome::Rejected => "rejected",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

/// What to do with a checked file's transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Roll back: the file has errors.
    Reject { errors: usize },
    /// Roll back: nothing in it is new.
    Unchanged,
    /// A dry run keeps its savepoint, so that later files of the same run see this one; the
    /// outer transaction is rolled back at the end.
    Check,
    /// Commit as a new batch.
    Store,
}

/// Errors refuse the file, whatever else it holds; a file with nothing new is left alone;
/// otherwise it is stored (or, in a dry run, would be).
pub fn decide(problems: &[Problem], total: &Counts, dry_run: bool) -> Decision {
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    if errors > 0 {
        Decision::Reject { errors }
    } else if total.inserted + total.updated == 0 {
        Decision::Unchanged
    } else if dry_run {
        Decision::Check
    } else {
        Decision::Store
    }
}

/// How an attempt ends, and what the audit trail says of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ending {
    pub outcome: Outcome,
    pub detail: String,
}

impl Decision {
    /// The end to record when the file's transaction is rolled back; `None` when it is kept
    /// (a stored batch records its end with the batch, and a dry run has no attempt).
    pub fn ending(self) -> Option<Ending> {
        match self {
            Decision::Reject { errors } => Some(Ending {
                outcome: Outcome::Rejected,
                detail: format!("rejected with {errors} errors; nothing stored"),
            }),
            Decision::Unchanged => Some(Ending {
                outcome: Outcome::Unchanged,
                detail: "unchanged: everything in it is already in the ledger".to_string(),
            }),
            Decision::Check | Decision::Store => None,
        }
    }
}

impl Ending {
    /// The import failed on the database.
    pub fn failed(error: &impl fmt::Display) -> Ending {
        Ending {
            outcome: Outcome::Failed,
            detail: format!("failed: {error}; nothing stored"),
        }
    }
}

/// The audit trail's record of a stored batch: the file, and what it changed.
pub fn stored_detail(file: &str, size: u64, sha256: &str, total: &Counts, attempt: &str) -> String {
    format!(
        "{file} ({size} bytes, sha256 {sha256}): {} read, {} inserted, {} updated, {} unchanged; attempt {attempt}",
        total.read, total.inserted, total.updated, total.unchanged
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::register::problems::{Kind, Location};

    fn error() -> Problem {
        Problem::new(
            Location::default(),
            None,
            Kind::File {
                zh: "坏".into(),
                en: "bad".into(),
            },
        )
    }

    fn warning() -> Problem {
        Problem::new(Location::default(), None, Kind::TermOverOneYear)
    }

    fn counts(inserted: u64, updated: u64, unchanged: u64) -> Counts {
        Counts {
            read: inserted + updated + unchanged,
            inserted,
            updated,
            unchanged,
        }
    }

    #[test]
    fn errors_reject_a_file_whatever_else_it_holds() {
        let problems = [error(), warning(), error()];
        for dry_run in [false, true] {
            let d = decide(&problems, &counts(5, 1, 0), dry_run);
            assert_eq!(d, Decision::Reject { errors: 2 });
            assert_eq!(
                d.ending(),
                Some(Ending {
                    outcome: Outcome::Rejected,
                    detail: "rejected with 2 errors; nothing stored".into()
                })
            );
        }
    }

    #[test]
    fn a_file_with_nothing_new_is_unchanged_even_with_warnings() {
        let d = decide(&[warning()], &counts(0, 0, 7), false);
        assert_eq!(d, Decision::Unchanged);
        let end = d.ending().unwrap();
        assert_eq!(end.outcome, Outcome::Unchanged);
        assert_eq!(
            end.detail,
            "unchanged: everything in it is already in the ledger"
        );
        assert_eq!(decide(&[], &Counts::default(), true), Decision::Unchanged);
    }

    #[test]
    fn new_or_changed_rows_are_stored_or_in_a_dry_run_checked() {
        assert_eq!(decide(&[], &counts(1, 0, 0), false), Decision::Store);
        assert_eq!(
            decide(&[warning()], &counts(0, 1, 3), false),
            Decision::Store
        );
        assert_eq!(decide(&[], &counts(1, 0, 0), true), Decision::Check);
        // A kept file's end is not recorded here: a batch records it with itself.
        assert_eq!(Decision::Store.ending(), None);
        assert_eq!(Decision::Check.ending(), None);
    }

    #[test]
    fn a_failure_and_a_stored_batch_say_what_happened() {
        let end = Ending::failed(&"disk full");
        assert_eq!(end.outcome, Outcome::Failed);
        assert_eq!(end.detail, "failed: disk full; nothing stored");
        assert_eq!(
            stored_detail("a.xlsx", 812, "ab12", &counts(3, 2, 1), "f00d"),
            "a.xlsx (812 bytes, sha256 ab12): 6 read, 3 inserted, 2 updated, 1 unchanged; attempt f00d"
        );
    }

    #[test]
    fn outcomes_are_named_as_the_table_holds_them() {
        let all = [
            Outcome::Committed,
            Outcome::Unchanged,
            Outcome::Rejected,
            Outcome::Failed,
            Outcome::Interrupted,
        ];
        let names: Vec<&str> = all.iter().map(|o| o.as_str()).collect();
        assert_eq!(
            names,
            [
                "committed",
                "unchanged",
                "rejected",
                "failed",
                "interrupted"
            ]
        );
    }
}
