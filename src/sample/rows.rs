//! The records of the three sheets and their typed cells.

use chrono::NaiveDate;

use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::providers::Uscc;
use crate::Money;

// ---------------------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------------------

pub(super) struct SampleProvider {
    pub(super) name: String,
    pub(super) uscc: Uscc,
}

pub(super) struct SampleContract {
    pub(super) code: String,
    pub(super) name: String,
    pub(super) category: Category,
    pub(super) provider: usize,
    pub(super) purchaser: String,
    pub(super) street: &'static str,
    pub(super) community: &'static str,
    pub(super) method: ProcurementMethod,
    pub(super) funding: FundingSource,
    pub(super) value: i64,
    pub(super) signed: NaiveDate,
    pub(super) start: NaiveDate,
    pub(super) end: NaiveDate,
    pub(super) planned: u64,
    /// 预算项目编码 of the line it is bought under (`super::budgets`).
    pub(super) budget: Option<String>,
}

/// Which part of the sample's one correction a payment plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Role {
    Normal,
    /// Booked against the wrong contract.
    Wrong,
    /// The negative entry that cancels [`Role::Wrong`].
    Reversal,
    /// The same payment booked again, against the right contract.
    Rebooked,
}

pub(super) struct SamplePayment {
    pub(super) code: String,
    pub(super) date: NaiveDate,
    pub(super) fen: i64,
    pub(super) voucher: String,
    pub(super) batch: &'static str,
    pub(super) reverses: String,
    pub(super) note: String,
    pub(super) role: Role,
}

pub(super) struct ServiceRow {
    pub(super) code: String,
    pub(super) year: i32,
    pub(super) month: u32,
    pub(super) new_people: u64,
    pub(super) cumulative: u64,
    pub(super) sessions: u64,
}

/// One cell, typed: the xlsx writer gives it a number format, the csv writer a text form.
pub(super) enum SheetCell {
    Text(String),
    Date(NaiveDate),
    /// An amount in fen.
    Yuan(i64),
    Count(u64),
    /// 统计期间: `2019年6月` in a workbook (as officers type it), `2019-06` in a csv.
    Month(i32, u32),
    /// An evaluation's score in hundredths of a point.
    Score(i64),
    Blank,
}

impl SheetCell {
    pub(super) fn text(&self) -> String {
        match self {
            SheetCell::Text(s) => s.clone(),
            SheetCell::Date(d) => d.format("%Y-%m-%d").to_string(),
            SheetCell::Yuan(fen) => Money::from_fen(*fen).to_string(),
            SheetCell::Count(n) => n.to_string(),
            SheetCell::Month(y, m) => format!("{y:04}-{m:02}"),
            SheetCell::Score(c) => crate::evaluations::Score::from_centi(*c).to_string(),
            SheetCell::Blank => String::new(),
        }
    }
}

/// Records on their way to a writer, built lazily so a million rows are never all in memory.
pub(super) type Rows<'a> = Box<dyn Iterator<Item = Vec<SheetCell>> + 'a>;

pub(super) fn contract_cells(c: &SampleContract, providers: &[SampleProvider]) -> Vec<SheetCell> {
    let p = &providers[c.provider];
    vec![
        SheetCell::Text(c.code.clone()),
        SheetCell::Text(c.name.clone()),
        SheetCell::Text(c.category.zh().into()),
        SheetCell::Text(p.name.clone()),
        SheetCell::Text(p.uscc.to_string()),
        SheetCell::Text(c.purchaser.clone()),
        SheetCell::Text(format!("{}街道", c.street)),
        SheetCell::Text(format!("{}社区", c.community)),
        SheetCell::Text(c.method.zh().into()),
        SheetCell::Text(c.funding.zh().into()),
        SheetCell::Yuan(c.value),
        SheetCell::Date(c.signed),
        SheetCell::Date(c.start),
        SheetCell::Date(c.end),
        SheetCell::Count(c.planned),
        c.budget
            .clone()
            .map(SheetCell::Text)
            .unwrap_or(SheetCell::Blank),
    ]
}

pub(super) fn payment_cells(p: &SamplePayment) -> Vec<SheetCell> {
    let opt = |s: &str| {
        if s.is_empty() {
            SheetCell::Blank
        } else {
            SheetCell::Text(s.into())
        }
    };
    vec![
        SheetCell::Text(p.code.clone()),
        SheetCell::Date(p.date),
        SheetCell::Yuan(p.fen),
        SheetCell::Text(p.voucher.clone()),
        opt(p.batch),
        opt(&p.reverses),
        opt(&p.note),
    ]
}

pub(super) fn report_cells(r: &ServiceRow) -> Vec<SheetCell> {
    vec![
        SheetCell::Text(r.code.clone()),
        SheetCell::Month(r.year, r.month),
        SheetCell::Count(r.new_people),
        SheetCell::Count(r.cumulative),
        SheetCell::Count(r.sessions),
    ]
}
