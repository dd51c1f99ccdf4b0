//! Evaluations as the reports and pages read them, as of a date and as recorded on a day,
//! each with the file, sheet and row it came from; and the payments the evaluation rules
//! look at.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr, Value};

use crate::db::read::ledger::{window, Scope};
use crate::db::sql::{get, stmt};
use crate::evaluations::{Evaluation, EvaluationType, Grade, Score};
use crate::money::Money;

/// One recorded evaluation with its provenance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EvaluationRow {
    pub id: i64,
    pub contract_id: i64,
    pub code: String,
    pub kind: EvaluationType,
    pub evaluator: Option<String>,
    pub evaluator_uscc: Option<String>,
    pub on: NaiveDate,
    #[serde(serialize_with = "score_text")]
    pub score: Score,
    pub grade: Grade,
    pub findings: Option<String>,
    pub fixes: Option<String>,
    pub fixed_on: Option<NaiveDate>,
    /// The evaluation this one corrects.
    pub replaces: Option<i64>,
    /// The correction that replaces this one, if any is in scope.
    pub replaced_by: Option<i64>,
    pub file: String,
    pub sheet: String,
    pub row: i64,
}

fn score_text<S: serde::Serializer>(s: &Score, ser: S) -> Result<S::Ok, S::Error> {
    ser.serialize_str(&s.to_string())
}

impl EvaluationRow {
    pub fn domain(&self) -> Evaluation {
        Evaluation {
            id: self.id,
            kind: self.kind,
            on: self.on,
            score: self.score,
            grade: self.grade,
            fixed_on: self.fixed_on,
            replaces: self.replaces,
        }
    }

    /// `file sheet!row`, as the reports name a source.
    pub fn source(&self) -> String {
        format!("{} {}!{}", self.file, self.sheet, self.row)
    }
}

/// Evaluations dated by the scope's as-of date and recorded by its as-recorded day (all of
/// them, corrected ones included), optionally of one contract (by its code), by contract
/// and date.
pub async fn evaluations(
    db: &impl ConnectionTrait,
    scope: &Scope,
    contract: Option<&str>,
) -> Result<Vec<EvaluationRow>, DbErr> {
    // Evaluations are dated facts like payments, but `from` does not cut them: an earlier
    // failed evaluation still governs payments in the window.
    let whole = Scope {
        from: None,
        ..scope.clone()
    };
    let (mut filter, mut values) = window(&whole, "e.evaluated_on", "e.batch_id");
    if let Some(code) = contract {
        filter.push_str(" AND c.code = ?");
        values.push(Value::from(code));
    }
    let sql = format!(
        "SELECT e.id, e.contract_id, c.code, e.kind, e.evaluator, e.evaluator_uscc, e.evaluated_on, \
         e.score_centi, e.grade, e.findings, e.fixes, e.fixed_on, e.replaces_id, b.file_name, \
         e.source_sheet, e.source_row \
         FROM evaluations e JOIN contracts c ON c.id = e.contract_id JOIN import_batches b ON b.id = e.batch_id \
         WHERE {filter} ORDER BY c.code, e.evaluated_on, e.id"
    );
    let rows = db
        .query_all_raw(stmt(db.get_database_backend(), &sql, values))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(EvaluationRow {
            id: get(&r, "id")?,
            contract_id: get(&r, "contract_id")?,
            code: get(&r, "code")?,
            kind: get(&r, "kind")?,
            evaluator: get(&r, "evaluator")?,
            evaluator_uscc: get(&r, "evaluator_uscc")?,
            on: get(&r, "evaluated_on")?,
            score: Score::from_centi(get(&r, "score_centi")?),
            grade: get(&r, "grade")?,
            findings: get(&r, "findings")?,
            fixes: get(&r, "fixes")?,
            fixed_on: get(&r, "fixed_on")?,
            replaces: get(&r, "replaces_id")?,
            replaced_by: None,
            file: get(&r, "file_name")?,
            sheet: get(&r, "source_sheet")?,
            row: get(&r, "source_row")?,
        });
    }
    let by: std::collections::HashMap<i64, i64> = out
        .iter()
        .filter_map(|e| e.replaces.map(|r| (r, e.id)))
        .collect();
    for e in &mut out {
        e.replaced_by = by.get(&e.id).copied();
    }
    Ok(out)
}

/// A payment the evaluation rules look at, with its provenance.
#[derive(Debug, Clone)]
pub struct RulePayment {
    pub contract_id: i64,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub voucher: String,
    pub file: String,
    pub sheet: String,
    pub row: i64,
}

/// The payments, dated by the as-of date and recorded in time, of the contracts where the
/// evaluation rules can find something: a payment after the term, payments (reversals
/// aside) reaching the contract's value, or a failed evaluation. By contract, date and
/// record, the order the rules read them in.
pub async fn rule_payments(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<RulePayment>, DbErr> {
    let whole = Scope {
        from: None,
        ..scope.clone()
    };
    let (filter, values) = window(&whole, "d.paid_on", "d.batch_id");
    let sql = format!(
        "SELECT d.contract_id, d.paid_on, d.amount_fen, d.voucher, b.file_name, d.source_sheet, d.source_row \
         FROM disbursements d JOIN import_batches b ON b.id = d.batch_id \
         WHERE {filter} AND d.contract_id IN (SELECT c.id FROM contracts c WHERE \
           c.end_on < (SELECT MAX(x.paid_on) FROM disbursements x WHERE x.contract_id = c.id) \
           OR c.value_fen <= (SELECT SUM(x.amount_fen) FROM disbursements x WHERE x.contract_id = c.id AND x.amount_fen > 0) \
           OR EXISTS (SELECT 1 FROM evaluations e WHERE e.contract_id = c.id AND e.grade = 'fail')) \
         ORDER BY d.contract_id, d.paid_on, d.id"
    );
    db.query_all_raw(stmt(db.get_database_backend(), &sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(RulePayment {
                contract_id: get(r, "contract_id")?,
                paid_on: get(r, "paid_on")?,
                amount: get(r, "amount_fen")?,
                voucher: get(r, "voucher")?,
                file: get(r, "file_name")?,
                sheet: get(r, "source_sheet")?,
                row: get(r, "source_row")?,
            })
        })
        .collect()
}
