//! What a register's rows become once read: typed records that remember their sheet and
//! row, and the parsed file that carries them with the problems found on the way.

use std::collections::HashMap;

use chrono::NaiveDate;

use crate::contracts::{Category, ContractCode, FundingSource, ProcurementMethod};
use crate::evaluations::{EvaluationType, Grade, Score};
use crate::money::Money;
use crate::providers::Uscc;
use crate::register::columns::{ColumnMap, SheetKind};
use crate::register::problems::Problem;
use crate::services::Period;

/// Where a record came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// Shared by every record of the sheet.
    pub sheet: std::sync::Arc<str>,
    /// 1-based spreadsheet row.
    pub row: u32,
}

#[derive(Debug, Clone)]
pub struct ContractRecord {
    pub src: Source,
    pub code: ContractCode,
    pub title: String,
    pub category: Category,
    pub provider: String,
    pub uscc: Option<Uscc>,
    pub purchaser: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub method: Option<ProcurementMethod>,
    pub funding: Option<FundingSource>,
    pub value: Money,
    pub signed: Option<NaiveDate>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub target: Option<i64>,
    /// 预算项目编码: the budget line the contract is bought under.
    pub budget_code: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PaymentRecord {
    pub src: Source,
    pub code: ContractCode,
    pub date: NaiveDate,
    pub amount: Money,
    pub voucher: String,
    /// Shared: a register repeats the same few tranche names.
    pub tranche: Option<std::sync::Arc<str>>,
    pub reverses: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ServiceRecord {
    pub src: Source,
    pub code: ContractCode,
    pub period: Period,
    pub new_people: Option<i64>,
    pub cumulative: Option<i64>,
    pub sessions: Option<i64>,
}

/// One row of a budgets sheet: a budget line, or an adjustment of one when `adjusts` names
/// the line's approval document (`crate::budgets`).
#[derive(Debug, Clone)]
pub struct BudgetRecord {
    pub src: Source,
    pub year: i32,
    pub funding: FundingSource,
    pub code: String,
    pub name: String,
    pub category: Option<Category>,
    /// Positive on a line; signed, and not zero, on an adjustment.
    pub amount: Money,
    pub approval_doc: String,
    pub approval_date: NaiveDate,
    pub adjusts: Option<String>,
}

/// One performance evaluation (绩效评价). Its identity is (contract, type, date); a
/// correction names the date of the evaluation of the same contract and type it replaces.
#[derive(Debug, Clone)]
pub struct EvaluationRecord {
    pub src: Source,
    pub code: ContractCode,
    pub kind: EvaluationType,
    pub evaluator: Option<String>,
    pub evaluator_uscc: Option<Uscc>,
    pub on: NaiveDate,
    pub score: Score,
    /// Given, or else derived from the score by the grade thresholds.
    pub grade: Grade,
    pub findings: Option<String>,
    pub fixes: Option<String>,
    pub fixed_on: Option<NaiveDate>,
    /// 更正评价日期: the date of the evaluation this row replaces.
    pub corrects: Option<NaiveDate>,
}

/// What was found in one sheet.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SheetSummary {
    pub name: String,
    /// `None` when the sheet is of no known kind and was skipped.
    pub kind: Option<SheetKind>,
    /// 1-based row of the header.
    pub header_row: Option<u32>,
    /// Records read (not counting header, blank and total rows).
    pub rows: u64,
    pub skipped: bool,
}

#[derive(Debug, Default)]
pub struct Parsed {
    pub sheets: Vec<SheetSummary>,
    pub contracts: Vec<ContractRecord>,
    pub payments: Vec<PaymentRecord>,
    pub services: Vec<ServiceRecord>,
    pub budgets: Vec<BudgetRecord>,
    pub evaluations: Vec<EvaluationRecord>,
    pub problems: Vec<Problem>,
    /// Each register sheet's columns, to name the cell of a problem found later.
    pub columns: HashMap<String, ColumnMap>,
}

/// What a parser sends ahead while it reads, so that the store can check and write
/// payments while the rest of a large file is still being parsed.
pub enum Streamed {
    /// The file's last sheet is a payments sheet: every sheet before it is read, and its
    /// contracts (which payments may name) and payments (of an earlier payments sheet) are
    /// here. The last sheet's payments follow in chunks; services and everything else come
    /// with the parse's result.
    Start {
        /// Stored before the contracts, which are checked against them.
        budgets: Vec<BudgetRecord>,
        contracts: Vec<ContractRecord>,
        payments: Vec<PaymentRecord>,
        columns: HashMap<String, ColumnMap>,
    },
    Payments(Vec<PaymentRecord>),
}
