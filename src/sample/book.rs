//! The register's layout for writers outside the sample: the ledger's own export
//! (`crate::reports::register`) writes its rows through the same sheets, headers, 合计 rows
//! and 填写说明 as the template, so what it writes imports like a filled-in template.

use rust_xlsxwriter::Workbook;

use super::budgets::{BUDGETS, BUDGET_HEADERS};
use super::evaluations::EVALUATION_HEADERS;
use super::template::write_help;
use super::writers::{
    csv_to, properties, write_sheet, Encoding, Styles, CONTRACTS, DISBURSEMENTS, EVALUATIONS,
    SERVICES,
};
use super::{CONTRACT_HEADERS, DISBURSEMENT_HEADERS, SERVICE_HEADERS};
use crate::register::columns::SheetKind;

pub use super::rows::SheetCell;

/// A sheet's records on their way to a writer, one `Vec` of cells per row, in the sheet's
/// column order.
pub type BookRows<'a> = Box<dyn Iterator<Item = Vec<SheetCell>> + 'a>;

/// The five sheets of a register.
pub struct Book<'a> {
    pub contracts: BookRows<'a>,
    pub payments: BookRows<'a>,
    pub services: BookRows<'a>,
    pub budgets: BookRows<'a>,
    pub evaluations: BookRows<'a>,
}

/// The workbook: 填写说明, then 项目合同, 拨付记录, 服务统计, 预算项目 and 绩效评价, each with its
/// title, an optional note line, its header and its 合计 row.
pub fn register_xlsx(title: &str, note: &str, book: Book<'_>) -> anyhow::Result<Vec<u8>> {
    let mut wb = Workbook::new();
    wb.set_properties(&properties(title)?);
    let st = Styles::new();
    write_help(&mut wb, &st)?;
    write_sheet(
        wb.add_worksheet(),
        &CONTRACTS,
        Some(note),
        &st,
        book.contracts,
    )?;
    write_sheet(wb.add_worksheet(), &DISBURSEMENTS, None, &st, book.payments)?;
    write_sheet(wb.add_worksheet(), &SERVICES, None, &st, book.services)?;
    write_sheet(wb.add_worksheet(), &BUDGETS, None, &st, book.budgets)?;
    write_sheet(
        wb.add_worksheet(),
        &EVALUATIONS,
        None,
        &st,
        book.evaluations,
    )?;
    Ok(wb.save_to_buffer()?)
}

/// One sheet as a csv (UTF-8 with BOM, so Excel opens it as UTF-8): header and records.
pub fn register_csv(kind: SheetKind, rows: BookRows<'_>) -> anyhow::Result<Vec<u8>> {
    let headers: &[&str] = match kind {
        SheetKind::Contracts => &CONTRACT_HEADERS,
        SheetKind::Disbursements => &DISBURSEMENT_HEADERS,
        SheetKind::Services => &SERVICE_HEADERS,
        SheetKind::Budgets => &BUDGET_HEADERS,
        SheetKind::Evaluations => &EVALUATION_HEADERS,
    };
    let mut out = Vec::new();
    csv_to(&mut out, Encoding::Utf8Bom, headers, rows)?;
    Ok(out)
}
