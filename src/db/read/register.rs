//! The register as recorded, row by row, for its export in the import template's layout
//! (`crate::reports::register`): contracts as they stand now, every payment with the voucher
//! a reversal cancels, every service report, every budget line and adjustment and every evaluation (a
//! correction with the date of what it corrects), each in
//! the order it was recorded (batch, then the row it came from: a store may write a file's
//! rows in another order, reversals after what they reverse), so that importing them again
//! replays the same checks in the same order.

use std::collections::HashMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::entities::{budget_line, contract, disbursement, evaluation, provider, service_report};

/// A contract and its provider's USCC.
pub struct RegisterContract {
    pub contract: contract::Model,
    pub uscc: Option<String>,
}

/// A payment with its contract's code and, for a reversal, the voucher it cancels.
pub struct RegisterPayment {
    pub code: String,
    pub payment: disbursement::Model,
    pub reverses: Option<String>,
}

/// A service report with its contract's code.
pub struct RegisterService {
    pub code: String,
    pub report: service_report::Model,
}

/// An evaluation with its contract's code and, for a correction, the date of the evaluation
/// it corrects.
pub struct RegisterEvaluation {
    pub code: String,
    pub evaluation: evaluation::Model,
    pub corrects: Option<NaiveDate>,
}

/// Everything the export writes.
pub struct Register {
    pub contracts: Vec<RegisterContract>,
    pub payments: Vec<RegisterPayment>,
    pub services: Vec<RegisterService>,
    pub budgets: Vec<budget_line::Model>,
    pub evaluations: Vec<RegisterEvaluation>,
}

/// The register with, when `as_of` is given, only what had happened by that day: contracts
/// signed (or, unsigned, begun) by then, payments made and service periods ended by then, budget
/// lines and adjustments approved and evaluations made by then.
pub async fn load(db: &impl ConnectionTrait, as_of: Option<NaiveDate>) -> Result<Register, DbErr> {
    let within = |d: NaiveDate| as_of.is_none_or(|a| d <= a);
    let usccs: HashMap<i64, Option<String>> = provider::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.uscc))
        .collect();
    let contracts: Vec<RegisterContract> = contract::Entity::find()
        .order_by_asc(contract::Column::BatchId)
        .order_by_asc(contract::Column::SourceSheet)
        .order_by_asc(contract::Column::SourceRow)
        .order_by_asc(contract::Column::Id)
        .all(db)
        .await?
        .into_iter()
        .filter(|c| within(c.signed_on.unwrap_or(c.start_on)))
        .map(|c| RegisterContract {
            uscc: usccs.get(&c.provider_id).cloned().flatten(),
            contract: c,
        })
        .collect();
    let codes: HashMap<i64, String> = contracts
        .iter()
        .map(|c| (c.contract.id, c.contract.code.clone()))
        .collect();

    let mut q = disbursement::Entity::find()
        .order_by_asc(disbursement::Column::BatchId)
        .order_by_asc(disbursement::Column::SourceSheet)
        .order_by_asc(disbursement::Column::SourceRow)
        .order_by_asc(disbursement::Column::Id);
    if let Some(a) = as_of {
        q = q.filter(disbursement::Column::PaidOn.lte(a));
    }
    let rows = q.all(db).await?;
    let vouchers: HashMap<i64, String> = rows.iter().map(|p| (p.id, p.voucher.clone())).collect();
    let payments = rows
        .into_iter()
        .filter_map(|p| {
            let code = codes.get(&p.contract_id)?.clone();
            let reverses = p.reverses_id.and_then(|id| vouchers.get(&id).cloned());
            Some(RegisterPayment {
                code,
                payment: p,
                reverses,
            })
        })
        .collect();

    let mut q = service_report::Entity::find()
        .order_by_asc(service_report::Column::BatchId)
        .order_by_asc(service_report::Column::SourceSheet)
        .order_by_asc(service_report::Column::SourceRow)
        .order_by_asc(service_report::Column::Id);
    if let Some(a) = as_of {
        q = q.filter(service_report::Column::PeriodEnd.lte(a));
    }
    let services = q
        .all(db)
        .await?
        .into_iter()
        .filter_map(|r| {
            Some(RegisterService {
                code: codes.get(&r.contract_id)?.clone(),
                report: r,
            })
        })
        .collect();

    let mut q = budget_line::Entity::find()
        .order_by_asc(budget_line::Column::BatchId)
        .order_by_asc(budget_line::Column::SourceSheet)
        .order_by_asc(budget_line::Column::SourceRow)
        .order_by_asc(budget_line::Column::Id);
    if let Some(a) = as_of {
        q = q.filter(budget_line::Column::ApprovalDate.lte(a));
    }
    let budgets = q.all(db).await?;

    let mut q = evaluation::Entity::find()
        .order_by_asc(evaluation::Column::BatchId)
        .order_by_asc(evaluation::Column::SourceSheet)
        .order_by_asc(evaluation::Column::SourceRow)
        .order_by_asc(evaluation::Column::Id);
    if let Some(a) = as_of {
        q = q.filter(evaluation::Column::EvaluatedOn.lte(a));
    }
    let rows = q.all(db).await?;
    let dates: HashMap<i64, NaiveDate> = rows.iter().map(|e| (e.id, e.evaluated_on)).collect();
    let evaluations = rows
        .into_iter()
        .filter_map(|e| {
            Some(RegisterEvaluation {
                code: codes.get(&e.contract_id)?.clone(),
                corrects: e.replaces_id.and_then(|id| dates.get(&id).copied()),
                evaluation: e,
            })
        })
        .collect();
    Ok(Register {
        contracts,
        payments,
        services,
        budgets,
        evaluations,
    })
}
