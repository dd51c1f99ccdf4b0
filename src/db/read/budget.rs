//! Budget lines as the store and the reports read them: the recorded rows of `budget_lines`
//! assembled into lines with their adjustments (`crate::budgets::Line`).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

use crate::budgets::{Adjustment, Line};
use crate::dates::end_of_day;
use crate::entities::{budget_line, import_batch};

/// Where a line or adjustment came from: file, sheet and row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub file: String,
    pub sheet: String,
    pub row: i64,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}!{}", self.file, self.sheet, self.row)
    }
}

/// Lines with their adjustments, in (year, code) order, from recorded rows. An adjustment
/// whose line is not among `rows` is left out (the store refuses such rows).
pub fn assemble(rows: Vec<budget_line::Model>) -> Vec<Line> {
    let mut lines: BTreeMap<(i32, String), Line> = BTreeMap::new();
    let (originals, adjustments): (Vec<_>, Vec<_>) =
        rows.into_iter().partition(|r| r.adjusts_doc.is_none());
    for r in originals {
        lines.insert(
            (r.budget_year, r.code.clone()),
            Line {
                id: r.id,
                year: r.budget_year,
                code: r.code,
                name: r.name,
                funding: r.funding,
                category: r.category,
                approved: r.amount,
                approval_doc: r.approval_doc,
                approval_date: r.approval_date,
                adjustments: Vec::new(),
            },
        );
    }
    for r in adjustments {
        if let Some(l) = lines.get_mut(&(r.budget_year, r.code.clone())) {
            l.adjustments.push(Adjustment {
                id: r.id,
                doc: r.approval_doc,
                date: r.approval_date,
                amount: r.amount,
            });
        }
    }
    lines.into_values().collect()
}

/// The recorded lines with these codes (every year), with all their adjustments.
pub async fn lines_with_codes(
    db: &impl ConnectionTrait,
    codes: &[String],
) -> Result<Vec<Line>, DbErr> {
    let mut rows = Vec::new();
    for chunk in codes.chunks(500) {
        rows.extend(
            budget_line::Entity::find()
                .filter(budget_line::Column::Code.is_in(chunk.iter().cloned()))
                .order_by_asc(budget_line::Column::Id)
                .all(db)
                .await?,
        );
    }
    Ok(assemble(rows))
}

/// Every line approved on or before `as_of` and recorded by the end of `as_recorded`, with
/// the adjustments that meet the same two conditions, and where each row came from.
pub async fn lines_as_of(
    db: &impl ConnectionTrait,
    as_of: NaiveDate,
    as_recorded: Option<NaiveDate>,
) -> Result<(Vec<Line>, BTreeMap<i64, Origin>), DbErr> {
    let mut q = budget_line::Entity::find()
        .filter(budget_line::Column::ApprovalDate.lte(as_of))
        .order_by_asc(budget_line::Column::Id);
    let batches = import_batch::Entity::find().all(db).await?;
    if let Some(r) = as_recorded {
        let cutoff = end_of_day(r);
        let ids: Vec<i64> = batches
            .iter()
            .filter(|b| b.recorded_at < cutoff)
            .map(|b| b.id)
            .collect();
        q = q.filter(budget_line::Column::BatchId.is_in(ids));
    }
    let rows = q.all(db).await?;
    let file: BTreeMap<i64, String> = batches.into_iter().map(|b| (b.id, b.file_name)).collect();
    let origins = rows
        .iter()
        .map(|r| {
            (
                r.id,
                Origin {
                    file: file.get(&r.batch_id).cloned().unwrap_or_default(),
                    sheet: r.source_sheet.clone(),
                    row: r.source_row,
                },
            )
        })
        .collect();
    Ok((assemble(rows), origins))
}

/// The budget line a contract is bought under, as its page and the API show it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ContractLine {
    /// 预算项目编码.
    pub code: String,
    pub year: i32,
    pub name: String,
    pub funding_name: String,
    /// The approved amount.
    #[schema(value_type = String, example = "300000.00")]
    pub approved: crate::money::Money,
    /// Approved plus every adjustment.
    #[schema(value_type = String, example = "280000.00")]
    pub budget: crate::money::Money,
    pub approval_doc: String,
    pub approval_date: NaiveDate,
    pub adjustments: usize,
    /// The line is of another year than the contract's signing (a warning at import).
    pub other_year: bool,
}

/// The line that contract code `budget_code`, signed in `signed_year`, is bought under; none
/// when no line has the code.
pub async fn contract_line(
    db: &impl ConnectionTrait,
    budget_code: &str,
    signed_year: i32,
    lang: crate::Lang,
) -> Result<Option<ContractLine>, DbErr> {
    let lines = lines_with_codes(db, &[budget_code.to_string()]).await?;
    let (line, other_year) = match crate::budgets::resolve(budget_code, signed_year, &lines) {
        crate::budgets::Resolved::Same(l) => (l, false),
        crate::budgets::Resolved::Other(l) => (l, true),
        crate::budgets::Resolved::Unknown => return Ok(None),
    };
    Ok(Some(ContractLine {
        code: line.code.clone(),
        year: line.year,
        name: line.name.clone(),
        funding_name: line.funding.name(lang).to_string(),
        approved: line.approved,
        budget: crate::money::Money::from_fen(line.total_fen()),
        approval_doc: line.approval_doc.clone(),
        approval_date: line.approval_date,
        adjustments: line.adjustments.len(),
        other_year,
    }))
}
