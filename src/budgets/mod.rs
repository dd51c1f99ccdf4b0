//! Budget lines (预算项目) and the rules that tie purchases to them, with no database.
//!
//! 财预〔2017〕87号 (先有预算、后购买服务): no purchase without a budget line. A line belongs to a
//! year (预算年度) and a funding source (资金来源), is known by its code within the year
//! (预算项目编码), and is approved by a document (批复文号) on a date. Once recorded it is never
//! edited: an adjustment (调整) is a row of its own with its own document, naming the line's
//! document in 调整文号, with a signed amount, as a payment's reversal is. The contracts
//! signed against a line never exceed it (adjustments included); only a later negative
//! adjustment can leave a line below its commitments, and that is an exception for audit.
//!
//! The model keeps what an OCDS `planning.budget` needs (id, year, funding source, amount,
//! approval document and date, and the adjustments with theirs).

use std::sync::OnceLock;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::contracts::{Category, FundingSource};
use crate::money::Money;
use crate::register::columns::Field;
use crate::register::records::BudgetRecord;

#[cfg(test)]
mod tests;

/// Settings of the budget exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// A line of a year that has ended is under-executed when less than this percentage of
    /// it was disbursed by 31 December.
    pub underexecuted_below_pct: Decimal,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            underexecuted_below_pct: Decimal::from(50),
        }
    }
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Sets the process's budget settings once, at start (`--budget-underexecuted-pct`); later
/// calls are refused with the settings given.
pub fn set_settings(s: Settings) -> Result<(), Settings> {
    SETTINGS.set(s)
}

/// The process's budget settings: those set at start, or the defaults.
pub fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or_default()
}

/// A percentage for `--budget-underexecuted-pct`: 0 to 100, at most two decimals.
pub fn parse_pct(s: &str) -> Result<Decimal, String> {
    let d: Decimal = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("'{s}' is not a percentage such as 50 or 62.5"))?;
    if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED || d.scale() > 2 {
        return Err(format!(
            "'{s}': a percentage from 0 to 100, at most 2 decimals"
        ));
    }
    Ok(d)
}

/// 预算项目编码, cleaned as a contract code is: trimmed, width-folded, 1-64 characters, no
/// control characters.
pub fn parse_code(raw: &str) -> Option<String> {
    crate::contracts::ContractCode::parse(raw).map(|c| c.as_str().to_string())
}

/// 预算年度: a whole number from 1900 to 2200.
pub fn valid_year(n: i64) -> Option<i32> {
    (1900..=2200).contains(&n).then_some(n as i32)
}

/// One adjustment of a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub id: i64,
    pub doc: String,
    pub date: NaiveDate,
    pub amount: Money,
}

/// A recorded budget line with its adjustments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub id: i64,
    pub year: i32,
    pub code: String,
    pub name: String,
    pub funding: FundingSource,
    pub category: Option<Category>,
    pub approved: Money,
    pub approval_doc: String,
    pub approval_date: NaiveDate,
    pub adjustments: Vec<Adjustment>,
}

impl Line {
    /// The line as approved, then adjusted, in fen.
    pub fn total_fen(&self) -> i64 {
        self.approved.fen() + self.adjustment_fen()
    }

    /// The sum of the adjustments, in fen.
    pub fn adjustment_fen(&self) -> i64 {
        self.adjustments.iter().map(|a| a.amount.fen()).sum()
    }

    /// What a contract signed on `signed` may commit against the line: the line with every
    /// addition, and the cuts approved by that day. A cut approved after a contract was
    /// signed does not undo the contract, which was within its budget when signed: it is
    /// the one way a line ends up below its commitments, an exception for audit.
    pub fn limit_for(&self, signed: NaiveDate) -> i64 {
        self.approved.fen()
            + self
                .adjustments
                .iter()
                .filter(|a| !a.amount.is_negative() || a.date <= signed)
                .map(|a| a.amount.fen())
                .sum::<i64>()
    }

    /// `2019 YS-2019-01`: how findings name a line.
    pub fn label(&self) -> String {
        format!("{} {}", self.year, self.code)
    }

    /// A new line from a row with no 调整文号.
    pub fn from_record(id: i64, r: &BudgetRecord) -> Line {
        Line {
            id,
            year: r.year,
            code: r.code.clone(),
            name: r.name.clone(),
            funding: r.funding,
            category: r.category,
            approved: r.amount,
            approval_doc: r.approval_doc.clone(),
            approval_date: r.approval_date,
            adjustments: Vec::new(),
        }
    }
}

/// What a budgets row is, against the line of its year and code recorded before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A line not recorded before.
    NewLine,
    /// An adjustment not recorded before.
    NewAdjustment,
    /// The same line or adjustment as recorded: nothing to do.
    Unchanged,
    /// The same line or adjustment with other content: refused at `field`, which holds
    /// `recorded` (a budget line is never edited).
    Edited { field: Field, recorded: String },
    /// 调整文号 names no recorded line of this year and code (`line_doc` is the line's
    /// document, when the line exists).
    AdjustsUnknown { line_doc: Option<String> },
}

/// Judges a row against the line of its year and code, if one is recorded. The identity of
/// a line is (year, code); of an adjustment (year, code, its own 批复文号).
pub fn judge(r: &BudgetRecord, line: Option<&Line>) -> Verdict {
    match (&r.adjusts, line) {
        (None, None) => Verdict::NewLine,
        (None, Some(l)) => {
            let differs: [(bool, Field, String); 6] = [
                (r.name != l.name, Field::BudgetName, l.name.clone()),
                (
                    r.funding != l.funding,
                    Field::Funding,
                    l.funding.zh().into(),
                ),
                (
                    r.category != l.category,
                    Field::Category,
                    l.category.map(|c| c.zh()).unwrap_or("").into(),
                ),
                (
                    r.amount != l.approved,
                    Field::Approved,
                    l.approved.to_string(),
                ),
                (
                    r.approval_doc != l.approval_doc,
                    Field::ApprovalDoc,
                    l.approval_doc.clone(),
                ),
                (
                    r.approval_date != l.approval_date,
                    Field::ApprovalDate,
                    l.approval_date.to_string(),
                ),
            ];
            match differs.into_iter().find(|d| d.0) {
                Some((_, field, recorded)) => Verdict::Edited { field, recorded },
                None => Verdict::Unchanged,
            }
        }
        (Some(_), None) => Verdict::AdjustsUnknown { line_doc: None },
        (Some(doc), Some(l)) => {
            if *doc != l.approval_doc {
                return Verdict::AdjustsUnknown {
                    line_doc: Some(l.approval_doc.clone()),
                };
            }
            if r.approval_doc == l.approval_doc {
                // An adjustment is approved by a document of its own.
                return Verdict::Edited {
                    field: Field::ApprovalDoc,
                    recorded: l.approval_doc.clone(),
                };
            }
            match l.adjustments.iter().find(|a| a.doc == r.approval_doc) {
                None => Verdict::NewAdjustment,
                Some(a) if a.amount != r.amount => Verdict::Edited {
                    field: Field::Approved,
                    recorded: a.amount.to_string(),
                },
                Some(a) if a.date != r.approval_date => Verdict::Edited {
                    field: Field::ApprovalDate,
                    recorded: a.date.to_string(),
                },
                Some(_) => Verdict::Unchanged,
            }
        }
    }
}

/// The line a contract is bought under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved<'a> {
    /// The line with the code in the contract's signing year.
    Same(&'a Line),
    /// No line of the signing year has the code; this line of another year has (a warning).
    Other(&'a Line),
    /// No line has the code (an error).
    Unknown,
}

impl<'a> Resolved<'a> {
    pub fn line(self) -> Option<&'a Line> {
        match self {
            Resolved::Same(l) | Resolved::Other(l) => Some(l),
            Resolved::Unknown => None,
        }
    }
}

/// The line of `code` for a contract signed in `signed_year`: the line of that year; else,
/// of the lines with the code in other years, the latest one before the signing year (money
/// of an earlier year carried over, 结转, is the usual reason a contract signs against an
/// older line); else the earliest one after it.
pub fn resolve<'a>(
    code: &str,
    signed_year: i32,
    lines: impl IntoIterator<Item = &'a Line>,
) -> Resolved<'a> {
    let mut same = None;
    let mut before: Option<&Line> = None;
    let mut after: Option<&Line> = None;
    for l in lines.into_iter().filter(|l| l.code == code) {
        if l.year == signed_year {
            same = Some(l);
        } else if l.year < signed_year {
            if before.is_none_or(|b| l.year > b.year) {
                before = Some(l);
            }
        } else if after.is_none_or(|a| l.year < a.year) {
            after = Some(l);
        }
    }
    match (same, before.or(after)) {
        (Some(l), _) => Resolved::Same(l),
        (None, Some(l)) => Resolved::Other(l),
        (None, None) => Resolved::Unknown,
    }
}

/// Whether adding `add_fen` to `committed_fen` takes a line of `total_fen` over it.
pub fn crosses(total_fen: i64, committed_fen: i64, add_fen: i64) -> bool {
    add_fen > 0 && committed_fen.saturating_add(add_fen) > total_fen
}

/// Whether a line whose year has ended is under-executed: less than the setting's
/// percentage of it disbursed by 31 December (exact: disbursed × 100 < pct × total). A
/// line adjusted to nothing is not.
pub fn underexecuted(total_fen: i64, disbursed_fen: i64, s: &Settings) -> bool {
    total_fen > 0
        && Decimal::from(disbursed_fen) * Decimal::ONE_HUNDRED
            < s.underexecuted_below_pct * Decimal::from(total_fen)
}

/// Whether a year's lines can be judged for execution as of `as_of`: its 31 December is on
/// or before that date.
pub fn year_ended(year: i32, as_of: NaiveDate) -> bool {
    NaiveDate::from_ymd_opt(year, 12, 31).is_some_and(|d| d <= as_of)
}
