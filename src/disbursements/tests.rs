//! The payment rules, row by row, with no database: a contract worth 1,000.00 running
//! through 2019, the ledger's payments given to the checker as the store would load them.

use std::sync::Arc;

use chrono::NaiveDate;

use super::*;
use crate::contracts::ContractCode;
use crate::register::problems::Severity;
use crate::Lang;

const CONTRACT: i64 = 1;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn terms() -> ContractTerms {
    ContractTerms {
        id: CONTRACT,
        value_fen: 100_000,
        start: date("2019-01-01"),
        end: date("2019-12-31"),
    }
}

/// A payment row of the sheet `拨付`.
fn payment(row: u32, voucher: &str, amount: &str) -> PaymentRecord {
    PaymentRecord {
        src: Source {
            sheet: Arc::from("拨付"),
            row,
        },
        code: ContractCode::parse("HT-2019-001").unwrap(),
        date: date("2019-06-01"),
        amount: amount.parse().unwrap(),
        voucher: voucher.into(),
        tranche: None,
        reverses: None,
        note: None,
    }
}

fn reversal(row: u32, voucher: &str, amount: &str, reverses: &str) -> PaymentRecord {
    PaymentRecord {
        reverses: Some(reverses.into()),
        ..payment(row, voucher, amount)
    }
}

/// One finding as the store would turn it into a problem: row, column, value shown, kind.
#[derive(Debug, PartialEq)]
struct Found {
    row: u32,
    field: Field,
    value: Option<String>,
    kind: Kind,
}

#[derive(Default)]
struct Sheet(Vec<Found>);

impl Findings for Sheet {
    fn problem(&mut self, src: &Source, field: Field, value: Option<String>, kind: Kind) {
        self.0.push(Found {
            row: src.row,
            field,
            value,
            kind,
        });
    }
}

/// Checks `rows` in order against the contract; returns each row's verdict and what was
/// found.
fn check(checker: &mut Checker, rows: &[PaymentRecord]) -> (Vec<Verdict>, Vec<Found>) {
    let mut sheet = Sheet::default();
    let verdicts = rows
        .iter()
        .map(|r| checker.check(r, Some(terms()), &mut sheet))
        .collect();
    (verdicts, sheet.0)
}

fn accepted(amount_fen: i64) -> Verdict {
    Verdict::Accepted {
        contract_id: CONTRACT,
        amount_fen,
    }
}

/// A checker that knows the ledger's payment `V0` of 500.00 (id 10) on 2019-03-01.
fn ledger_with_v0() -> Checker {
    let mut c = Checker::default();
    c.stored(CONTRACT, 10, "V0".into(), date("2019-03-01"), 50_000, None);
    c
}

#[test]
fn over_payment_is_refused_at_the_row_that_crosses_the_value_and_the_rows_before_it_are_accepted() {
    let mut checker = ledger_with_v0();
    let (verdicts, found) = check(
        &mut checker,
        &[
            payment(2, "V1", "300.00"),
            payment(3, "V2", "200.00"),
            payment(4, "V3", "0.01"),
        ],
    );
    assert_eq!(
        verdicts,
        [accepted(30_000), accepted(20_000), Verdict::Refused]
    );
    assert_eq!(
        found,
        [Found {
            row: 4,
            field: Field::Amount,
            value: Some("0.01".into()),
            kind: Kind::OverPayment {
                value: "1000.00".into(),
                paid: "1000.00".into(),
                after: "1000.01".into(),
            },
        }]
    );
    assert_eq!(
        found[0].kind.describe(Lang::En),
        "payments would total 1000.01, more than the contract value 1000.00 (paid before: 1000.00)"
    );
    // The refused row counts for nothing: the contract is paid exactly its value.
    assert_eq!(checker.paid(CONTRACT), 100_000);
}

#[test]
fn a_reversal_makes_room_for_a_later_payment() {
    let mut checker = ledger_with_v0();
    let (verdicts, found) = check(
        &mut checker,
        &[
            payment(2, "V1", "500.00"),
            reversal(3, "R1", "-100.00", "V1"),
            payment(4, "V2", "100.00"),
        ],
    );
    assert_eq!(
        verdicts,
        [accepted(50_000), accepted(-10_000), accepted(10_000)]
    );
    assert!(found.is_empty());
}

#[test]
fn a_reversal_of_a_stored_voucher_is_accepted_once() {
    let mut checker = ledger_with_v0();
    let (verdicts, found) = check(
        &mut checker,
        &[
            reversal(2, "R1", "-200.00", "V0"),
            reversal(3, "R2", "-100.00", "V0"),
        ],
    );
    assert_eq!(verdicts, [accepted(-20_000), Verdict::Refused]);
    assert_eq!(
        found,
        [Found {
            row: 3,
            field: Field::Reverses,
            value: Some("V0".into()),
            kind: Kind::AlreadyReversed {
                voucher: "V0".into()
            },
        }]
    );
    assert_eq!(checker.paid(CONTRACT), 30_000);
    assert_eq!(checker.stored_id(CONTRACT, "V0"), Some(10));
}

#[test]
fn a_voucher_the_ledger_has_already_reversed_cannot_be_reversed_again() {
    let mut checker = ledger_with_v0();
    checker.stored(
        CONTRACT,
        11,
        "R0".into(),
        date("2019-04-01"),
        -50_000,
        Some(10),
    );
    let (verdicts, found) = check(&mut checker, &[reversal(2, "R1", "-1.00", "V0")]);
    assert_eq!(verdicts, [Verdict::Refused]);
    assert_eq!(
        found[0].kind,
        Kind::AlreadyReversed {
            voucher: "V0".into()
        }
    );
}

#[test]
fn a_reversal_of_an_unknown_voucher_is_refused() {
    let mut checker = ledger_with_v0();
    let (verdicts, found) = check(&mut checker, &[reversal(2, "R1", "-100.00", "V9")]);
    assert_eq!(verdicts, [Verdict::Refused]);
    assert_eq!(
        found,
        [Found {
            row: 2,
            field: Field::Reverses,
            value: Some("V9".into()),
            kind: Kind::ReversalTargetMissing {
                voucher: "V9".into()
            },
        }]
    );
}

#[test]
fn a_reversal_must_be_negative_and_no_larger_than_what_it_reverses() {
    let mut checker = ledger_with_v0();
    let (verdicts, found) = check(
        &mut checker,
        &[
            reversal(2, "R1", "-500.01", "V0"),
            reversal(3, "R2", "100.00", "V0"),
        ],
    );
    assert_eq!(verdicts, [Verdict::Refused, Verdict::Refused]);
    let mismatch = Kind::ReversalMismatch {
        reversed: "500.00".into(),
    };
    assert_eq!(found[0].kind, mismatch);
    assert_eq!(found[0].field, Field::Amount);
    assert_eq!(found[1].kind, mismatch);
}

#[test]
fn a_voucher_repeated_in_the_file_is_refused_naming_its_first_row() {
    let mut checker = Checker::default();
    let (verdicts, found) = check(
        &mut checker,
        &[payment(2, "V1", "10.00"), payment(7, "V1", "10.00")],
    );
    assert_eq!(verdicts, [accepted(1_000), Verdict::Refused]);
    assert_eq!(
        found,
        [Found {
            row: 7,
            field: Field::Voucher,
            value: Some("V1".into()),
            kind: Kind::DuplicateInFile { first_row: 2 },
        }]
    );
}

#[test]
fn a_changed_payment_under_an_existing_voucher_is_refused() {
    let mut checker = ledger_with_v0();
    let (verdicts, found) = check(&mut checker, &[payment(2, "V0", "600.00")]);
    assert_eq!(verdicts, [Verdict::Refused]);
    assert_eq!(
        found,
        [Found {
            row: 2,
            field: Field::Voucher,
            value: Some("V0".into()),
            kind: Kind::VoucherConflict {
                recorded: "2019-03-01 500.00".into()
            },
        }]
    );
}

#[test]
fn the_same_payment_imported_again_is_unchanged() {
    let mut checker = ledger_with_v0();
    let again = PaymentRecord {
        date: date("2019-03-01"),
        ..payment(2, "V0", "500.00")
    };
    let (verdicts, found) = check(&mut checker, &[again]);
    assert_eq!(verdicts, [Verdict::Unchanged]);
    assert!(found.is_empty());
    assert_eq!(checker.paid(CONTRACT), 50_000);
}

#[test]
fn a_payment_outside_the_term_is_accepted_with_a_warning() {
    let mut checker = Checker::default();
    let late = PaymentRecord {
        date: date("2020-01-05"),
        ..payment(2, "V1", "10.00")
    };
    let (verdicts, found) = check(&mut checker, &[late]);
    assert_eq!(verdicts, [accepted(1_000)]);
    assert_eq!(
        found,
        [Found {
            row: 2,
            field: Field::Date,
            value: Some("2020-01-05".into()),
            kind: Kind::PaymentOutsideTerm {
                start: "2019-01-01".into(),
                end: "2019-12-31".into(),
            },
        }]
    );
    assert_eq!(found[0].kind.severity(), Severity::Warning);
}

#[test]
fn a_payment_to_an_unknown_contract_is_refused() {
    let mut checker = Checker::default();
    let mut sheet = Sheet::default();
    let verdict = checker.check(&payment(2, "V1", "10.00"), None, &mut sheet);
    assert_eq!(verdict, Verdict::Refused);
    assert_eq!(
        sheet.0,
        [Found {
            row: 2,
            field: Field::Code,
            value: Some("HT-2019-001".into()),
            kind: Kind::UnknownContract {
                code: "HT-2019-001".into()
            },
        }]
    );
}
