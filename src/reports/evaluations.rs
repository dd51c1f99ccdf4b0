//! The exceptions about paying against evaluations (Order 102 art. 25), as of the report's
//! date and as recorded on its day: a final payment before the end-of-term evaluation, a
//! payment while a failed evaluation's fixes are not done, and an overdue evaluation.

use std::collections::HashMap;

use sea_orm::{ConnectionTrait, DbErr};

use super::{money, Request, Val};
use crate::db::read::evaluations::{evaluations, rule_payments, RulePayment};
use crate::db::read::ledger::Snapshot;
use crate::evaluations::rules::{check, Finding, Payment, Terms};
use crate::evaluations::Evaluation;
use crate::Lang;

/// Sort keys of these exceptions among the report's others.
const FINAL_BEFORE_EVALUATION: u8 = 9;
const PAID_WHILE_FAILED: u8 = 10;
const EVALUATION_OVERDUE: u8 = 11;

/// The evaluation exceptions of the contracts in `snap`, as the exceptions report's rows
/// (kind, contract, detail, date, amount, source) with their sort keys.
pub(super) async fn exception_rows(
    db: &impl ConnectionTrait,
    snap: &Snapshot,
    req: &Request,
) -> Result<Vec<(u8, Vec<Val>)>, DbErr> {
    let lang = req.lang;
    let scope = &req.scope;
    let mut evals: HashMap<i64, Vec<Evaluation>> = HashMap::new();
    for e in evaluations(db, scope, None).await? {
        evals.entry(e.contract_id).or_default().push(e.domain());
    }
    let mut paid: HashMap<i64, Vec<Payment<RulePayment>>> = HashMap::new();
    for p in rule_payments(db, scope).await? {
        paid.entry(p.contract_id).or_default().push(Payment {
            on: p.paid_on,
            fen: p.amount.fen(),
            row: p,
        });
    }
    let mut rows = Vec::new();
    for c in &snap.contracts {
        let terms = Terms {
            value_fen: c.value.fen(),
            start: c.start_on,
            end: c.end_on,
        };
        let payments = paid.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        let evaluations = evals.get(&c.id).map(Vec::as_slice).unwrap_or(&[]);
        for f in check(terms, payments, evaluations, scope.as_of, &req.evaluations) {
            let row = match f {
                Finding::FinalBeforeEvaluation { payment: p, .. } => {
                    if scope.from.is_some_and(|from| p.paid_on < from) {
                        continue;
                    }
                    let detail = match lang {
                        Lang::Zh => format!(
                            "凭证 {}：付清合同或期限（{} 至 {}）后拨付，此前无末期绩效评价",
                            p.voucher, c.start_on, c.end_on
                        ),
                        Lang::En => format!(
                            "voucher {}: completes the contract or is paid after its term ({} to {}) with no end-of-term evaluation before it",
                            p.voucher, c.start_on, c.end_on
                        ),
                    };
                    (
                        FINAL_BEFORE_EVALUATION,
                        lang.pick("末期评价前付款", "final payment before evaluation"),
                        detail,
                        Some(p.paid_on),
                        money(p.amount.fen()),
                        format!("{} {}!{}", p.file, p.sheet, p.row),
                    )
                }
                Finding::PaidWhileFailed {
                    payment: p, failed, ..
                } => {
                    if scope.from.is_some_and(|from| p.paid_on < from) {
                        continue;
                    }
                    let detail = match (lang, failed.fixed_on) {
                        (Lang::Zh, Some(f)) => format!(
                            "凭证 {}：{} 评价不合格（{} 分），{} 整改完成",
                            p.voucher, failed.on, failed.score, f
                        ),
                        (Lang::Zh, None) => format!(
                            "凭证 {}：{} 评价不合格（{} 分），尚未整改完成",
                            p.voucher, failed.on, failed.score
                        ),
                        (Lang::En, Some(f)) => format!(
                            "voucher {}: failed evaluation of {} (score {}), fixes done {}",
                            p.voucher, failed.on, failed.score, f
                        ),
                        (Lang::En, None) => format!(
                            "voucher {}: failed evaluation of {} (score {}), fixes not done",
                            p.voucher, failed.on, failed.score
                        ),
                    };
                    (
                        PAID_WHILE_FAILED,
                        lang.pick("评价不合格期间拨付", "payment while failed"),
                        detail,
                        Some(p.paid_on),
                        money(p.amount.fen()),
                        format!("{} {}!{}", p.file, p.sheet, p.row),
                    )
                }
                Finding::EvaluationOverdue { due } => {
                    let days = req.evaluations.overdue_days;
                    let detail = match lang {
                        Lang::Zh => format!(
                            "合同 {} 结束，{days} 天内（{due} 前）应有末期绩效评价，至今未登记",
                            c.end_on
                        ),
                        Lang::En => format!(
                            "the term ended {}; an end-of-term evaluation was due within {days} days (by {due}) and none is recorded",
                            c.end_on
                        ),
                    };
                    (
                        EVALUATION_OVERDUE,
                        lang.pick("绩效评价逾期", "evaluation overdue"),
                        detail,
                        Some(due),
                        Val::Empty,
                        format!("{} {}!{}", c.file, c.sheet, c.row),
                    )
                }
            };
            let (order, kind, detail, date, amount, source) = row;
            rows.push((
                order,
                vec![
                    Val::text(kind),
                    Val::text(&c.code),
                    Val::Text(detail),
                    Val::Date(date),
                    amount,
                    Val::Text(source),
                ],
            ));
        }
    }
    Ok(rows)
}
