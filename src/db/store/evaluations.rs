//! Storing the evaluations of a file, and the warnings an import can give at once about
//! paying against evaluations (the same rules the exceptions report applies as of a date:
//! [`crate::evaluations::rules`]).
//!
//! A recorded evaluation is never edited. Its identity is (contract, type, date): the same
//! row again is unchanged, the same identity with other content is an error naming the
//! first cell that differs. A correction names, in 更正评价日期, the date of the evaluation
//! of the same contract and type it replaces; it is stored as a new row linked to that one.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set,
};

use super::{resolve_codes, Counts, Ctx, HistoryRow, KEYS_PER_LOOKUP};
use crate::db::sql::{get, stmt};
use crate::disbursements::ContractTerms;
use crate::entities::evaluation;
use crate::evaluations::rules::{self, Finding, Payment, Terms};
use crate::evaluations::{Evaluation, Score};
use crate::money::Money;
use crate::register::columns::Field;
use crate::register::problems::{EvaluationKind, Kind};
use crate::register::records::{EvaluationRecord, Source};

/// The stored evaluation as the rules see it.
pub(crate) fn domain(m: &evaluation::Model) -> Evaluation {
    Evaluation {
        id: m.id,
        kind: m.kind,
        on: m.evaluated_on,
        score: Score::from_centi(m.score_centi),
        grade: m.grade,
        fixed_on: m.fixed_on,
        replaces: m.replaces_id,
    }
}

/// The first field in which a row differs from the stored evaluation, with the stored value.
fn first_difference(m: &evaluation::Model, r: &EvaluationRecord) -> Option<(Field, String)> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let date = |v: Option<NaiveDate>| v.map(|d| d.to_string()).unwrap_or_default();
    let uscc = r.evaluator_uscc.as_ref().map(|u| u.as_str().to_string());
    [
        (
            Field::Evaluator,
            m.evaluator != r.evaluator,
            text(&m.evaluator),
        ),
        (
            Field::EvaluatorUscc,
            m.evaluator_uscc != uscc,
            text(&m.evaluator_uscc),
        ),
        (
            Field::Score,
            m.score_centi != r.score.centi(),
            Score::from_centi(m.score_centi).to_string(),
        ),
        (Field::Grade, m.grade != r.grade, m.grade.zh().to_string()),
        (Field::Findings, m.findings != r.findings, text(&m.findings)),
        (Field::Fixes, m.fixes != r.fixes, text(&m.fixes)),
        (Field::FixedOn, m.fixed_on != r.fixed_on, date(m.fixed_on)),
    ]
    .into_iter()
    .find(|(_, differs, _)| *differs)
    .map(|(f, _, stored)| (f, stored))
}

/// What a row is, against what is stored for its contract.
enum Match<'m> {
    Same,
    Edited(Field, String),
    New {
        replaces: Option<&'m evaluation::Model>,
    },
    Refused(Kind),
}

fn classify<'m>(stored: &'m [evaluation::Model], r: &EvaluationRecord) -> Match<'m> {
    let by_id: HashMap<i64, &evaluation::Model> = stored.iter().map(|m| (m.id, m)).collect();
    let same_identity = stored.iter().find(|m| {
        m.kind == r.kind
            && m.evaluated_on == r.on
            && match r.corrects {
                None => m.replaces_id.is_none(),
                Some(d) => m
                    .replaces_id
                    .and_then(|id| by_id.get(&id))
                    .is_some_and(|t| t.evaluated_on == d),
            }
    });
    if let Some(m) = same_identity {
        return match first_difference(m, r) {
            None => Match::Same,
            Some((f, stored)) => Match::Edited(f, stored),
        };
    }
    let Some(d) = r.corrects else {
        return Match::New { replaces: None };
    };
    let replaced: BTreeSet<i64> = stored.iter().filter_map(|m| m.replaces_id).collect();
    let at_date: Vec<&evaluation::Model> = stored
        .iter()
        .filter(|m| m.kind == r.kind && m.evaluated_on == d)
        .collect();
    if at_date.is_empty() {
        return Match::Refused(Kind::Evaluation(EvaluationKind::CorrectsUnknown {
            date: d.to_string(),
        }));
    }
    match at_date.into_iter().find(|m| !replaced.contains(&m.id)) {
        Some(target) => Match::New {
            replaces: Some(target),
        },
        None => Match::Refused(Kind::Evaluation(EvaluationKind::AlreadyCorrected {
            date: d.to_string(),
        })),
    }
}

/// One line of an evaluation for the change history.
fn summary(m: &evaluation::Model) -> String {
    format!(
        "{} {} {} {}",
        m.kind.zh(),
        m.evaluated_on,
        Score::from_centi(m.score_centi),
        m.grade.zh()
    )
}

pub(super) async fn store_evaluations(
    ctx: &mut Ctx<'_>,
    records: &[EvaluationRecord],
    known: &mut HashMap<String, ContractTerms>,
) -> Result<Counts, DbErr> {
    let mut counts = Counts {
        read: records.len() as u64,
        ..Default::default()
    };
    resolve_codes(ctx, records.iter().map(|r| r.code.as_str()), known).await?;
    let ids: Vec<i64> = {
        let mut ids: Vec<i64> = records
            .iter()
            .filter_map(|r| known.get(r.code.as_str()).map(|c| c.id))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let mut stored: HashMap<i64, Vec<evaluation::Model>> = HashMap::new();
    for chunk in ids.chunks(KEYS_PER_LOOKUP) {
        for m in evaluation::Entity::find()
            .filter(evaluation::Column::ContractId.is_in(chunk.iter().copied()))
            .order_by_asc(evaluation::Column::Id)
            .all(ctx.txn)
            .await?
        {
            stored.entry(m.contract_id).or_default().push(m);
        }
    }
    let mut history: Vec<HistoryRow> = Vec::new();
    for r in records {
        let Some(cid) = known.get(r.code.as_str()).map(|c| c.id) else {
            ctx.problem(
                &r.src,
                Field::Code,
                Some(r.code.to_string()),
                Kind::UnknownContract {
                    code: r.code.to_string(),
                },
            );
            continue;
        };
        let list = stored.entry(cid).or_default();
        let (replaces, revision) = match classify(list, r) {
            Match::Same => {
                counts.unchanged += 1;
                continue;
            }
            Match::Edited(field, recorded) => {
                let value = cell_value(r, field);
                ctx.problem(
                    &r.src,
                    field,
                    value,
                    Kind::Evaluation(EvaluationKind::Edited { recorded }),
                );
                continue;
            }
            Match::Refused(kind) => {
                let value = r.corrects.map(|d| d.to_string());
                ctx.problem(&r.src, Field::Corrects, value, kind);
                continue;
            }
            Match::New { replaces } => {
                // (contract, type, date, revision) is unique: a correction takes the next
                // revision after the one it replaces and any other at its own date.
                let at_date = list
                    .iter()
                    .filter(|m| m.kind == r.kind && m.evaluated_on == r.on)
                    .map(|m| m.revision + 1)
                    .max()
                    .unwrap_or(0);
                let revision = replaces.map_or(0, |t| t.revision + 1).max(at_date);
                (replaces.cloned(), revision)
            }
        };
        let model = evaluation::ActiveModel {
            contract_id: Set(cid),
            kind: Set(r.kind),
            evaluator: Set(r.evaluator.clone()),
            evaluator_uscc: Set(r.evaluator_uscc.as_ref().map(|u| u.as_str().to_string())),
            evaluated_on: Set(r.on),
            score_centi: Set(r.score.centi()),
            grade: Set(r.grade),
            findings: Set(r.findings.clone()),
            fixes: Set(r.fixes.clone()),
            fixed_on: Set(r.fixed_on),
            replaces_id: Set(replaces.as_ref().map(|t| t.id)),
            revision: Set(revision),
            batch_id: Set(ctx.batch_id),
            source_sheet: Set(r.src.sheet.to_string()),
            source_row: Set(i64::from(r.src.row)),
            ..Default::default()
        }
        .insert(ctx.txn)
        .await?;
        match &replaces {
            Some(t) => {
                counts.updated += 1;
                history.push((
                    "evaluation",
                    model.id,
                    format!("{}@{}@{}", r.code, t.kind.code(), t.evaluated_on),
                    "corrected_by",
                    Some(summary(t)),
                    Some(summary(&model)),
                ));
            }
            None => counts.inserted += 1,
        }
        list.push(model);
    }
    ctx.history(history).await?;
    Ok(counts)
}

/// The file's value of a field of an evaluation row, for the message.
fn cell_value(r: &EvaluationRecord, f: Field) -> Option<String> {
    match f {
        Field::Evaluator => r.evaluator.clone(),
        Field::EvaluatorUscc => r.evaluator_uscc.as_ref().map(|u| u.as_str().to_string()),
        Field::Score => Some(r.score.to_string()),
        Field::Grade => Some(r.grade.zh().to_string()),
        Field::Findings => r.findings.clone(),
        Field::Fixes => r.fixes.clone(),
        Field::FixedOn => r.fixed_on.map(|d| d.to_string()),
        _ => None,
    }
}

/// A payment of this batch that may break an evaluation rule, with what its contract was
/// paid before it.
struct Candidate {
    contract_id: i64,
    paid_on: NaiveDate,
    fen: i64,
    paid_before: i64,
    sheet: String,
    row: i64,
}

/// The payments of this batch that may break an evaluation rule: dated after the term, or
/// bringing the contract to its full value (by date, then as recorded), or paid on a contract
/// with a failed evaluation.
///
/// Only a contract whose positive payments (the ledger's and this batch's) reach its value can
/// have a payment that completes it, and only one with a failed evaluation a payment made
/// while failed: for those few the database computes each payment's running total. Every
/// other contract's candidates are its payments dated after the term, which the payment check
/// noted as they passed (`BatchPayments::late`), for which what was paid before does not
/// matter. Running the window over every contract the batch pays took 4.5 s and 130,000 rows
/// into memory at a million payments.
async fn candidates(
    ctx: &Ctx<'_>,
    known: &HashMap<String, ContractTerms>,
) -> Result<Vec<Candidate>, DbErr> {
    let batch = &ctx.batch_payments;
    let value: HashMap<i64, i64> = known.values().map(|t| (t.id, t.value_fen)).collect();
    let paid: Vec<i64> = batch.gross.keys().copied().collect();
    let mut full: BTreeSet<i64> = batch
        .gross
        .iter()
        .filter(|(id, g)| value.get(id).is_some_and(|v| g.ledger + g.batch >= *v))
        .map(|(id, _)| *id)
        .collect();
    for chunk in paid.chunks(KEYS_PER_LOOKUP) {
        let failed: Vec<i64> = evaluation::Entity::find()
            .select_only()
            .column(evaluation::Column::ContractId)
            .filter(evaluation::Column::ContractId.is_in(chunk.iter().copied()))
            .filter(evaluation::Column::Grade.eq(crate::evaluations::Grade::Fail))
            .into_tuple()
            .all(ctx.txn)
            .await?;
        full.extend(failed);
    }
    let mut out: Vec<Candidate> = batch
        .late
        .iter()
        .filter(|l| !full.contains(&l.contract_id))
        .map(|l| Candidate {
            contract_id: l.contract_id,
            paid_on: l.paid_on,
            fen: l.fen,
            paid_before: 0,
            sheet: l.src.sheet.to_string(),
            row: i64::from(l.src.row),
        })
        .collect();
    let full: Vec<i64> = full.into_iter().collect();
    for chunk in full.chunks(KEYS_PER_LOOKUP) {
        out.extend(running_candidates(ctx, chunk).await?);
    }
    out.sort_by_key(|c| (c.contract_id, c.paid_on, c.row));
    Ok(out)
}

/// The candidates among the payments of `contracts`, each with its running total.
async fn running_candidates(ctx: &Ctx<'_>, contracts: &[i64]) -> Result<Vec<Candidate>, DbErr> {
    let ids = vec!["?"; contracts.len()].join(", ");
    // PostgreSQL sums BIGINT as NUMERIC: the running total is cast back.
    let sql = format!(
        "SELECT x.contract_id, x.paid_on, x.amount_fen, x.running - x.amount_fen AS paid_before, \
         x.source_sheet, x.source_row FROM ( \
         SELECT d.contract_id, d.batch_id, d.amount_fen, d.paid_on, d.source_sheet, d.source_row, \
         c.value_fen, c.end_on, \
         CAST(SUM(d.amount_fen) OVER (PARTITION BY d.contract_id ORDER BY d.paid_on, d.id) AS BIGINT) AS running \
         FROM disbursements d JOIN contracts c ON c.id = d.contract_id \
         WHERE d.contract_id IN ({ids})) x \
         WHERE x.batch_id = ? AND x.amount_fen > 0 AND (x.paid_on > x.end_on \
         OR (x.running >= x.value_fen AND x.running - x.amount_fen < x.value_fen) \
         OR EXISTS (SELECT 1 FROM evaluations e WHERE e.contract_id = x.contract_id AND e.grade = 'fail')) \
         ORDER BY x.contract_id, x.paid_on"
    );
    let mut values: Vec<sea_orm::Value> = contracts.iter().map(|&c| c.into()).collect();
    values.push(ctx.batch_id.into());
    let rows = ctx
        .txn
        .query_all_raw(stmt(ctx.txn.get_database_backend(), &sql, values))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Candidate {
                contract_id: get(r, "contract_id")?,
                paid_on: get(r, "paid_on")?,
                fen: get(r, "amount_fen")?,
                paid_before: get(r, "paid_before")?,
                sheet: get(r, "source_sheet")?,
                row: get(r, "source_row")?,
            })
        })
        .collect()
}

/// Warns, at the cell, of each payment of this batch that completes its contract or is
/// dated after its term with no end-of-term evaluation on or before it, or that is made
/// after a failed evaluation and before its fixes were done.
pub(super) async fn warn_payments(
    ctx: &mut Ctx<'_>,
    known: &HashMap<String, ContractTerms>,
) -> Result<(), DbErr> {
    let found = candidates(ctx, known).await?;
    if found.is_empty() {
        return Ok(());
    }
    let terms: HashMap<i64, &ContractTerms> = known.values().map(|t| (t.id, t)).collect();
    let mut ids: Vec<i64> = found.iter().map(|c| c.contract_id).collect();
    ids.dedup();
    let mut evaluations: HashMap<i64, Vec<Evaluation>> = HashMap::new();
    for chunk in ids.chunks(KEYS_PER_LOOKUP) {
        for m in evaluation::Entity::find()
            .filter(evaluation::Column::ContractId.is_in(chunk.iter().copied()))
            .all(ctx.txn)
            .await?
        {
            evaluations
                .entry(m.contract_id)
                .or_default()
                .push(domain(&m));
        }
    }
    for c in found {
        let Some(t) = terms.get(&c.contract_id) else {
            continue;
        };
        let terms = Terms {
            value_fen: t.value_fen,
            start: t.start,
            end: t.end,
        };
        let evals = evaluations
            .get(&c.contract_id)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let standing = crate::evaluations::standing(evals);
        let payment = Payment {
            on: c.paid_on,
            fen: c.fen,
            row: (),
        };
        for f in rules::judge(terms, c.paid_before, &payment, &standing) {
            let (kind, field, value) = match f {
                Finding::FinalBeforeEvaluation { .. } => (
                    EvaluationKind::FinalPaymentBeforeEvaluation,
                    Field::Amount,
                    Money::from_fen(c.fen).to_string(),
                ),
                Finding::PaidWhileFailed { failed, .. } => (
                    EvaluationKind::PaymentWhileFailed {
                        evaluated: failed.on.to_string(),
                        fixed: failed.fixed_on.map(|d| d.to_string()),
                    },
                    Field::Date,
                    c.paid_on.to_string(),
                ),
                Finding::EvaluationOverdue { .. } => continue,
            };
            let src = Source {
                sheet: c.sheet.as_str().into(),
                row: u32::try_from(c.row).unwrap_or(0),
            };
            ctx.problem(&src, field, Some(value), Kind::Evaluation(kind));
        }
    }
    Ok(())
}
