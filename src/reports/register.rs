//! The register round trip: the ledger written back in the import template's layout
//! (`procure export register`, the reports page's 下载台账), so officers can download it,
//! edit it in Excel and upload it again. Importing it into an empty database gives the same
//! reports; importing it into the ledger it came from changes nothing.

use chrono::NaiveDate;
use sea_orm::ConnectionTrait;

use crate::db::read::register::{
    self, RegisterContract, RegisterEvaluation, RegisterPayment, RegisterService,
};
use crate::entities::budget_line;
use crate::evaluations::Score;
use crate::register::columns::SheetKind;
use crate::sample::{register_csv, register_xlsx, Book, BookRows, SheetCell};

/// What `procure export register` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RegisterFormat {
    /// One workbook: 填写说明 and the four sheets.
    #[default]
    Xlsx,
    /// One csv per sheet (UTF-8 with BOM).
    Csv,
}

pub use crate::db::read::register::Register;

/// The register as of a day (everything recorded when `None`).
pub async fn load(
    db: &impl ConnectionTrait,
    as_of: Option<NaiveDate>,
) -> Result<Register, sea_orm::DbErr> {
    register::load(db, as_of).await
}

/// The workbook's bytes.
pub fn xlsx(reg: &Register, as_of: Option<NaiveDate>) -> anyhow::Result<Vec<u8>> {
    let until = match as_of {
        Some(d) => format!("数据截至{}", d.format("%Y年%-m月%-d日")),
        None => "全部已登记数据".to_string(),
    };
    let note = format!("本台账由系统从已登记数据导出（{until}）；金额单位：元。修改后可按原格式重新导入，已登记的记录不会重复。");
    register_xlsx("政府购买社会组织服务项目台账（导出）", &note, book(reg))
}

/// One csv per sheet, with the file name it is written as, in the order to import them
/// (budget lines before the contracts that name them, contracts before their payments),
/// named as `procure generate` names its csv files.
pub fn csvs(reg: &Register) -> anyhow::Result<Vec<(&'static str, Vec<u8>)>> {
    let Book {
        contracts,
        payments,
        services,
        budgets,
        evaluations,
    } = book(reg);
    Ok(vec![
        ("budgets.csv", register_csv(SheetKind::Budgets, budgets)?),
        (
            "contracts.csv",
            register_csv(SheetKind::Contracts, contracts)?,
        ),
        (
            "disbursements.csv",
            register_csv(SheetKind::Disbursements, payments)?,
        ),
        ("services.csv", register_csv(SheetKind::Services, services)?),
        (
            "evaluations.csv",
            register_csv(SheetKind::Evaluations, evaluations)?,
        ),
    ])
}

fn book(reg: &Register) -> Book<'_> {
    Book {
        contracts: rows(reg.contracts.iter().map(contract_cells)),
        payments: rows(reg.payments.iter().map(payment_cells)),
        services: rows(reg.services.iter().map(service_cells)),
        budgets: rows(reg.budgets.iter().map(budget_cells)),
        evaluations: rows(reg.evaluations.iter().map(evaluation_cells)),
    }
}

fn rows<'a>(it: impl Iterator<Item = Vec<SheetCell>> + 'a) -> BookRows<'a> {
    Box::new(it)
}

fn text(s: &str) -> SheetCell {
    SheetCell::Text(s.to_string())
}

fn opt_text(s: Option<&str>) -> SheetCell {
    match s {
        Some(s) if !s.is_empty() => text(s),
        _ => SheetCell::Blank,
    }
}

fn opt_date(d: Option<NaiveDate>) -> SheetCell {
    d.map(SheetCell::Date).unwrap_or(SheetCell::Blank)
}

fn count(n: Option<i64>) -> SheetCell {
    match n {
        None => SheetCell::Blank,
        Some(n) => u64::try_from(n)
            .map(SheetCell::Count)
            .unwrap_or_else(|_| SheetCell::Text(n.to_string())),
    }
}

fn contract_cells(r: &RegisterContract) -> Vec<SheetCell> {
    let c = &r.contract;
    vec![
        text(&c.code),
        text(&c.title),
        text(c.category.zh()),
        text(&c.provider_name),
        opt_text(r.uscc.as_deref()),
        opt_text(c.purchaser.as_deref()),
        opt_text(c.street.as_deref()),
        opt_text(c.community.as_deref()),
        opt_text(c.method.map(|m| m.zh())),
        opt_text(c.funding.map(|f| f.zh())),
        SheetCell::Yuan(c.value.fen()),
        opt_date(c.signed_on),
        SheetCell::Date(c.start_on),
        SheetCell::Date(c.end_on),
        count(c.target_people),
        opt_text(c.budget_code.as_deref()),
    ]
}

fn payment_cells(r: &RegisterPayment) -> Vec<SheetCell> {
    let p = &r.payment;
    vec![
        text(&r.code),
        SheetCell::Date(p.paid_on),
        SheetCell::Yuan(p.amount.fen()),
        text(&p.voucher),
        opt_text(p.tranche.as_deref()),
        opt_text(r.reverses.as_deref()),
        opt_text(p.note.as_deref()),
    ]
}

fn service_cells(r: &RegisterService) -> Vec<SheetCell> {
    let s = &r.report;
    vec![
        text(&r.code),
        // The period as it was written: a month (2019年6月, 2019-06) or a span of days
        // (2019.01.01-2019.03.31) reads back as the same period.
        text(&s.period_label),
        count(s.new_people),
        count(s.cumulative_people),
        count(s.sessions),
    ]
}

fn budget_cells(b: &budget_line::Model) -> Vec<SheetCell> {
    vec![
        SheetCell::Count(b.budget_year.max(0) as u64),
        text(b.funding.zh()),
        text(&b.code),
        text(&b.name),
        opt_text(b.category.map(|c| c.zh())),
        SheetCell::Yuan(b.amount.fen()),
        text(&b.approval_doc),
        SheetCell::Date(b.approval_date),
        opt_text(b.adjusts_doc.as_deref()),
    ]
}

fn evaluation_cells(r: &RegisterEvaluation) -> Vec<SheetCell> {
    let e = &r.evaluation;
    vec![
        text(&r.code),
        text(e.kind.zh()),
        opt_text(e.evaluator.as_deref()),
        opt_text(e.evaluator_uscc.as_deref()),
        SheetCell::Date(e.evaluated_on),
        SheetCell::Score(Score::from_centi(e.score_centi).centi()),
        // The grade as recorded: it agrees with the score under the settings it was
        // checked with.
        text(e.grade.zh()),
        opt_text(e.findings.as_deref()),
        opt_text(e.fixes.as_deref()),
        opt_date(e.fixed_on),
        opt_date(r.corrects),
    ]
}
