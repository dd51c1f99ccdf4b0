//! Disbursements (拨付): the rules a payment row must pass before it is stored. A contract
//! is never paid beyond its value; a voucher names one payment of a contract, once in a
//! file and once in the ledger; a reversal (冲销) names a positive payment, stored or earlier
//! in the file, takes back no more than it paid, and only once; a payment dated outside
//! the contract's term is stored with a warning.
//!
//! Nothing here touches the database: the store loads each contract's terms and the
//! payments already recorded against it, hands the file's rows to a [`Checker`] in file
//! order, and writes the rows it accepts.

mod digest;
pub mod sums;
#[cfg(test)]
mod tests;

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use crate::money::Money;
use crate::register::columns::Field;
use crate::register::problems::Kind;
use crate::register::records::{PaymentRecord, Source};
use digest::{PairDigest, Seen};

/// What a payment is checked against: the contract's ledger id, value and term.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContractTerms {
    pub id: i64,
    pub value_fen: i64,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// Where the checker reports what it finds: the store turns each finding into a `Problem`
/// naming the row's cell for `field`.
pub trait Findings {
    fn problem(&mut self, src: &Source, field: Field, value: Option<String>, kind: Kind);
}

/// What becomes of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A new payment to store: a reversal when the row names a voucher it reverses.
    Accepted { contract_id: i64, amount_fen: i64 },
    /// The ledger holds this payment already, as it is.
    Unchanged,
    /// Refused, for the reason reported.
    Refused,
}

/// A payment already in the ledger.
struct Stored {
    id: i64,
    date: NaiveDate,
    amount_fen: i64,
}

/// Checks the payments of one file, row after row, remembering what the earlier rows did.
#[derive(Default)]
pub struct Checker {
    /// Payments already in the ledger by contract and voucher (by contract first, so that a
    /// row's voucher is looked up without a copy).
    stored: HashMap<i64, HashMap<String, Stored>>,
    /// Ledger payments that a ledger reversal already reverses.
    reversed: HashSet<i64>,
    /// Net paid per contract: the ledger's and then this file's.
    net: HashMap<i64, i64>,
    /// Each (code, voucher) of this file so far, by its digest, with its first row and its
    /// amount when it was accepted as a new payment (what a later reversal may name).
    seen: Seen,
    digests: PairDigest,
    /// (contract, voucher) reversed by this file.
    reversed_in_file: HashSet<(i64, String)>,
}

impl Checker {
    /// Tells the checker of one payment already in the ledger. Every stored payment of a
    /// contract must be given before the first row that names the contract.
    pub fn stored(
        &mut self,
        contract_id: i64,
        id: i64,
        voucher: String,
        date: NaiveDate,
        amount_fen: i64,
        reverses: Option<i64>,
    ) {
        *self.net.entry(contract_id).or_insert(0) += amount_fen;
        if let Some(r) = reverses {
            self.reversed.insert(r);
        }
        self.stored.entry(contract_id).or_default().insert(
            voucher,
            Stored {
                id,
                date,
                amount_fen,
            },
        );
    }

    /// The ledger id of a stored payment, for a reversal that names it.
    pub fn stored_id(&self, contract_id: i64, voucher: &str) -> Option<i64> {
        self.stored.get(&contract_id)?.get(voucher).map(|s| s.id)
    }

    /// Net paid against a contract: the ledger's payments and the rows accepted so far.
    pub fn paid(&self, contract_id: i64) -> i64 {
        self.net.get(&contract_id).copied().unwrap_or(0)
    }

    /// Checks one row, in file order. `contract` is the contract the row names, `None` when
    /// neither the file nor the ledger has it. Problems go to `out`; a payment outside the
    /// term is reported and still accepted.
    pub fn check(
        &mut self,
        rec: &PaymentRecord,
        contract: Option<ContractTerms>,
        out: &mut impl Findings,
    ) -> Verdict {
        let key = self.digests.of(rec.code.as_str(), &rec.voucher);
        let first = match self.seen.insert(key, rec.src.row) {
            Err(earlier) => {
                out.problem(
                    &rec.src,
                    Field::Voucher,
                    Some(rec.voucher.clone()),
                    Kind::DuplicateInFile {
                        first_row: self.seen.first_row(earlier),
                    },
                );
                return Verdict::Refused;
            }
            Ok(first) => first,
        };
        let Some(c) = contract else {
            out.problem(
                &rec.src,
                Field::Code,
                Some(rec.code.to_string()),
                Kind::UnknownContract {
                    code: rec.code.to_string(),
                },
            );
            return Verdict::Refused;
        };
        let amount_fen = rec.amount.fen();
        let stored = self.stored.get(&c.id);
        if let Some(s) = stored.and_then(|m| m.get(rec.voucher.as_str())) {
            if s.date == rec.date && s.amount_fen == amount_fen {
                return Verdict::Unchanged;
            }
            let recorded = format!("{} {}", s.date, Money::from_fen(s.amount_fen));
            out.problem(
                &rec.src,
                Field::Voucher,
                Some(rec.voucher.clone()),
                Kind::VoucherConflict { recorded },
            );
            return Verdict::Refused;
        }
        if let Some(target) = &rec.reverses {
            let in_file = self
                .seen
                .get(self.digests.of(rec.code.as_str(), target))
                .and_then(|i| self.seen.amount(i));
            let (target_amount, target_id) = match (stored.and_then(|m| m.get(target)), in_file) {
                (Some(s), _) => (s.amount_fen, Some(s.id)),
                (None, Some(a)) => (a, None),
                (None, None) => {
                    out.problem(
                        &rec.src,
                        Field::Reverses,
                        Some(target.clone()),
                        Kind::ReversalTargetMissing {
                            voucher: target.clone(),
                        },
                    );
                    return Verdict::Refused;
                }
            };
            if amount_fen >= 0 || -amount_fen > target_amount || target_amount <= 0 {
                out.problem(
                    &rec.src,
                    Field::Amount,
                    Some(rec.amount.to_string()),
                    Kind::ReversalMismatch {
                        reversed: Money::from_fen(target_amount).to_string(),
                    },
                );
                return Verdict::Refused;
            }
            if target_id.is_some_and(|id| self.reversed.contains(&id))
                || !self.reversed_in_file.insert((c.id, target.clone()))
            {
                out.problem(
                    &rec.src,
                    Field::Reverses,
                    Some(target.clone()),
                    Kind::AlreadyReversed {
                        voucher: target.clone(),
                    },
                );
                return Verdict::Refused;
            }
        }
        let paid = self.paid(c.id);
        let after = paid.saturating_add(amount_fen);
        if amount_fen > 0 && after > c.value_fen {
            out.problem(
                &rec.src,
                Field::Amount,
                Some(rec.amount.to_string()),
                Kind::OverPayment {
                    value: Money::from_fen(c.value_fen).to_string(),
                    paid: Money::from_fen(paid).to_string(),
                    after: Money::from_fen(after).to_string(),
                },
            );
            return Verdict::Refused;
        }
        if rec.date < c.start || rec.date > c.end {
            out.problem(
                &rec.src,
                Field::Date,
                Some(rec.date.to_string()),
                Kind::PaymentOutsideTerm {
                    start: c.start.to_string(),
                    end: c.end.to_string(),
                },
            );
        }
        self.net.insert(c.id, after);
        self.seen.accept(first, amount_fen);
        Verdict::Accepted {
            contract_id: c.id,
            amount_fen,
        }
    }
}
