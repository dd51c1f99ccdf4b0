//! What can be wrong with a budget line, or with a contract against its line
//! (财预〔2017〕87号: 先有预算、后购买服务). The rules are in `crate::budgets`.

use crate::register::problems::Severity;
use crate::Lang;

/// A finding about budgets, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BudgetKind {
    /// 预算年度 is not a year between 1900 and 2200.
    BadYear,
    /// 预算项目编码 empty after cleaning, over 64 characters or with control characters.
    BadCode,
    /// An adjustment of 0.
    AdjustmentZero,
    /// A recorded line given again with other content and no 调整文号.
    LineEdited { recorded: String },
    /// 调整文号 that is not the approval document of the line (year, code).
    AdjustsUnknown {
        year: i32,
        code: String,
        line_doc: Option<String>,
    },
    /// A contract names a code that no budget line has.
    UnknownLine { code: String },
    /// A contract's value would take its line's commitments over the line.
    OverBudget {
        line: String,
        budget: String,
        committed: String,
        after: String,
    },
    /// The line the contract names is of another year than its signing.
    OtherYear { line_year: i32, signed_year: i32 },
    /// A contract names no budget line.
    NoBudget,
    /// A negative adjustment leaves the line below what is committed against it.
    Overcommitted {
        line: String,
        budget: String,
        committed: String,
    },
}

impl BudgetKind {
    pub fn code(&self) -> &'static str {
        match self {
            BudgetKind::BadYear => "bad_year",
            BudgetKind::BadCode => "bad_budget_code",
            BudgetKind::AdjustmentZero => "budget_adjustment_zero",
            BudgetKind::LineEdited { .. } => "budget_line_edited",
            BudgetKind::AdjustsUnknown { .. } => "budget_adjusts_unknown",
            BudgetKind::UnknownLine { .. } => "unknown_budget_line",
            BudgetKind::OverBudget { .. } => "over_budget",
            BudgetKind::OtherYear { .. } => "budget_other_year",
            BudgetKind::NoBudget => "no_budget",
            BudgetKind::Overcommitted { .. } => "budget_overcommitted",
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            BudgetKind::OtherYear { .. }
            | BudgetKind::NoBudget
            | BudgetKind::Overcommitted { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    pub fn describe(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            BudgetKind::BadYear => {
                if zh {
                    "预算年度应为四位年份，如 2019".into()
                } else {
                    "the budget year should be a year such as 2019".into()
                }
            }
            BudgetKind::BadCode => {
                if zh {
                    "预算项目编码应为1至64个字符".into()
                } else {
                    "a budget line code has 1 to 64 characters".into()
                }
            }
            BudgetKind::AdjustmentZero => {
                if zh {
                    "调整金额不能为0：追加填正数，调减填负数".into()
                } else {
                    "an adjustment cannot be 0: positive to add, negative to cut".into()
                }
            }
            BudgetKind::LineEdited { recorded } => {
                if zh {
                    format!("该预算项目已登记为 {recorded}；已登记的预算项目不能修改，请另起一行登记调整（填写调整文号和调整金额）")
                } else {
                    format!("this budget line is recorded as {recorded}; a budget line is never edited: record an adjustment (a row with 调整文号 and a signed amount)")
                }
            }
            BudgetKind::AdjustsUnknown {
                year,
                code,
                line_doc,
            } => match (zh, line_doc) {
                (true, Some(d)) => format!(
                    "调整文号应为被调整预算项目（{year}年 {code}）的批复文号“{d}”"
                ),
                (true, None) => format!("没有 {year}年 编码为“{code}”的预算项目可供调整：请先登记该预算项目"),
                (false, Some(d)) => format!(
                    "the adjusted document should be the approval document '{d}' of the line it adjusts ({year} {code})"
                ),
                (false, None) => format!(
                    "there is no {year} budget line '{code}' to adjust: record the line first"
                ),
            },
            BudgetKind::UnknownLine { code } => {
                if zh {
                    format!("预算项目编码“{code}”不存在：请先导入该预算项目（先有预算、后购买服务）")
                } else {
                    format!("no budget line with code '{code}': import the budget line first (no purchase without a budget line)")
                }
            }
            BudgetKind::OverBudget {
                line,
                budget,
                committed,
                after,
            } => {
                if zh {
                    format!("预算项目 {line} 的合同金额合计将达 {after} 元，超过预算 {budget} 元（此前已签约 {committed} 元）")
                } else {
                    format!("contracts against budget line {line} would total {after}, more than its budget {budget} (committed before: {committed})")
                }
            }
            BudgetKind::OtherYear {
                line_year,
                signed_year,
            } => {
                if zh {
                    format!("预算项目为{line_year}年度，合同签订于{signed_year}年，请确认")
                } else {
                    format!("the budget line is of {line_year}, the contract was signed in {signed_year}; please confirm")
                }
            }
            BudgetKind::NoBudget => {
                if zh {
                    "合同未填写预算项目编码（财预〔2017〕87号：先有预算、后购买服务）".into()
                } else {
                    "the contract names no budget line (财预〔2017〕87号: no purchase without a budget line)".into()
                }
            }
            BudgetKind::Overcommitted {
                line,
                budget,
                committed,
            } => {
                if zh {
                    format!("调整后预算项目 {line} 的预算为 {budget} 元，低于已签约合同金额 {committed} 元")
                } else {
                    format!("after this adjustment budget line {line} is {budget}, below the {committed} already committed")
                }
            }
        }
    }
}
