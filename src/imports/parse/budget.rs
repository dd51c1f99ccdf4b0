//! A budgets sheet's row becomes a [`BudgetRecord`]; a contract's 预算项目编码 is read here too.

use super::RowParse;
use crate::budgets;
use crate::contracts::{Category, FundingSource};
use crate::money::Money;
use crate::register::cells::Cell;
use crate::register::columns::Field;
use crate::register::problems::{BudgetKind, Kind};
use crate::register::records::BudgetRecord;

impl RowParse<'_, '_, '_, '_> {
    /// The 预算项目编码 of a budgets or contracts row.
    pub(super) fn budget_code(&mut self, required: bool) -> Option<String> {
        let conv = |c: &Cell| match c.text() {
            None => Ok(None),
            Some(t) => budgets::parse_code(&t)
                .map(Some)
                .ok_or(Kind::Budget(BudgetKind::BadCode)),
        };
        if required {
            self.required(Field::BudgetCode, conv)
        } else {
            self.optional(Field::BudgetCode, conv)
        }
    }

    pub(super) fn budget(&mut self) {
        let year = self.required(Field::BudgetYear, |c| match c.count() {
            Ok(None) => Ok(None),
            Ok(Some(n)) => budgets::valid_year(n)
                .map(Some)
                .ok_or(Kind::Budget(BudgetKind::BadYear)),
            Err(_) => Err(Kind::Budget(BudgetKind::BadYear)),
        });
        let funding = self.vocabulary(
            Field::Funding,
            FundingSource::parse,
            FundingSource::expected(),
            true,
        );
        let code = self.budget_code(true);
        let name = self.required_text(Field::BudgetName);
        let category = self.vocabulary(
            Field::Category,
            Category::parse,
            Category::expected(),
            false,
        );
        let unit = self.map.unit(Field::Approved);
        let amount = self.required(Field::Approved, |c| c.money(unit));
        self.parser
            .add_money(Field::Approved, amount, amount.is_none());
        let approval_doc = self.required_text(Field::ApprovalDoc);
        let approval_date = self.required(Field::ApprovalDate, Cell::date);
        let adjusts = self.text(Field::Adjusts);
        if let Some(a) = amount {
            if adjusts.is_some() && a == Money::ZERO {
                self.fail(Field::Approved, Kind::Budget(BudgetKind::AdjustmentZero));
            } else if adjusts.is_none() && a <= Money::ZERO {
                // A line's amount is what was approved; a cut is an adjustment of its own.
                self.fail(Field::Approved, Kind::NotPositive);
            }
        }
        if let (Some(y), Some(c), Some(d)) = (year, &code, &approval_doc) {
            // A line is known by year and code, an adjustment by its own document too.
            let key = match &adjusts {
                None => format!("{y}\u{1f}{c}"),
                Some(_) => format!("{y}\u{1f}{c}\u{1f}{d}"),
            };
            let f = if adjusts.is_some() {
                Field::ApprovalDoc
            } else {
                Field::BudgetCode
            };
            self.first_time(key, f);
        }
        if let (
            true,
            Some(year),
            Some(funding),
            Some(code),
            Some(name),
            Some(amount),
            Some(approval_doc),
            Some(approval_date),
        ) = (
            self.ok,
            year,
            funding,
            code,
            name,
            amount,
            approval_doc,
            approval_date,
        ) {
            let src = self.source();
            self.parser.out.budgets.push(BudgetRecord {
                src,
                year,
                funding,
                code,
                name,
                category,
                amount,
                approval_doc,
                approval_date,
                adjusts,
            });
        }
    }
}
