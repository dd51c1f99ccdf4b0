//! The rules about paying against evaluations, over one contract's payments and
//! evaluations, as of a date (Order 102 art. 25: payment follows the contract and the
//! performance evaluation).

use chrono::{Days, NaiveDate};

use super::{standing, Evaluation, EvaluationType, Grade, Settings};

/// A payment as the rules see it; `P` is whatever the caller needs to name its row.
#[derive(Debug, Clone)]
pub struct Payment<P> {
    pub on: NaiveDate,
    pub fen: i64,
    pub row: P,
}

/// One contract's terms.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    pub value_fen: i64,
    pub start: NaiveDate,
    pub end: NaiveDate,
}

/// What the rules find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding<'a, P> {
    /// The payment that brings the contract to its full value, or one dated after the
    /// term's end, with no end-of-term evaluation dated on or before it.
    FinalBeforeEvaluation {
        payment: &'a P,
        on: NaiveDate,
        fen: i64,
    },
    /// A payment after a 不合格 evaluation and before its fixes were done (no 整改完成日期:
    /// still failed).
    PaidWhileFailed {
        payment: &'a P,
        on: NaiveDate,
        fen: i64,
        failed: &'a Evaluation,
    },
    /// The term ended more than `overdue_days` ago and no end-of-term evaluation is recorded.
    EvaluationOverdue { due: NaiveDate },
}

/// Whether an end-of-term evaluation among `standing` is dated on or before `d`.
fn evaluated_by(standing: &[&Evaluation], d: NaiveDate) -> bool {
    standing
        .iter()
        .any(|e| e.kind == EvaluationType::Final && e.on <= d)
}

/// What the rules find in one payment, given what the contract was paid before it (by date,
/// then as recorded) and the evaluations that stand. A reversal (a negative amount) is
/// never a final payment nor one made while failed.
pub fn judge<'a, P>(
    terms: Terms,
    paid_before: i64,
    p: &'a Payment<P>,
    standing: &[&'a Evaluation],
) -> Vec<Finding<'a, P>> {
    let mut out = Vec::new();
    if p.fen <= 0 {
        return out;
    }
    let paid = paid_before.saturating_add(p.fen);
    let completes = paid_before < terms.value_fen && paid >= terms.value_fen;
    if (completes || p.on > terms.end) && !evaluated_by(standing, p.on) {
        out.push(Finding::FinalBeforeEvaluation {
            payment: &p.row,
            on: p.on,
            fen: p.fen,
        });
    }
    for e in standing.iter().filter(|e| e.grade == Grade::Fail) {
        if p.on > e.on && e.fixed_on.is_none_or(|f| p.on < f) {
            out.push(Finding::PaidWhileFailed {
                payment: &p.row,
                on: p.on,
                fen: p.fen,
                failed: e,
            });
        }
    }
    out
}

/// Checks one contract as of `as_of`: `payments` and `evaluations` are those dated on or
/// before it. Payments are taken in the order given (by date, then as recorded); reversals
/// count in the running total.
pub fn check<'a, P>(
    terms: Terms,
    payments: &'a [Payment<P>],
    evaluations: &'a [Evaluation],
    as_of: NaiveDate,
    settings: &Settings,
) -> Vec<Finding<'a, P>> {
    let standing = standing(evaluations);
    let mut out = Vec::new();
    let mut paid = 0i64;
    for p in payments {
        out.extend(judge(terms, paid, p, &standing));
        paid = paid.saturating_add(p.fen);
    }
    let due = terms
        .end
        .checked_add_days(Days::new(u64::from(settings.overdue_days)))
        .unwrap_or(NaiveDate::MAX);
    if as_of > due && !evaluated_by(&standing, as_of) {
        out.push(Finding::EvaluationOverdue { due });
    }
    out
}
