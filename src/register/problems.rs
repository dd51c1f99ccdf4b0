//! What can be wrong with an imported file, named by file, sheet and cell, in Chinese and
//! English. Errors block the file; warnings are reported and the file is stored.

use serde::Serialize;

mod budget;
pub use budget::BudgetKind;

use crate::money::MoneyError;
pub use crate::register::evaluation_problems::EvaluationKind;
use crate::Lang;

/// Where in a file something was found: `拨付!D17`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Location {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sheet: Option<String>,
    /// A1-style reference of the cell, or of the row's first cell when the whole row is meant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cell: Option<String>,
    /// 1-based spreadsheet row.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u32>,
}

/// `A` for column 0, `AA` for column 26.
pub fn column_letters(mut col: u32) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (col % 26) as u8);
        if col < 26 {
            break;
        }
        col = col / 26 - 1;
    }
    s.reverse();
    String::from_utf8(s).unwrap_or_default()
}

/// `D17` for column 3 of spreadsheet row 17.
pub fn cell_ref(col: u32, row: u32) -> String {
    format!("{}{}", column_letters(col), row)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding: what kind, where, and the value found. It holds no text for people: its
/// message is rendered in the language of whoever reads it, when it is shown ([`Self::view`],
/// [`Self::line`]), so one check serves a Chinese page and an English API client alike.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub severity: Severity,
    pub at: Location,
    pub value: Option<String>,
    /// Stable for programs: the kind's code.
    pub code: &'static str,
    pub kind: Kind,
}

/// A finding as it is shown: its location, value and code, and its message in one language.
#[derive(Debug, Clone, Serialize)]
pub struct ProblemView<'a> {
    pub severity: Severity,
    #[serde(flatten)]
    pub at: &'a Location,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: &'a Option<String>,
    pub code: &'static str,
    pub message: String,
}

/// Every kind of finding, with what was expected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The file itself could not be read (guard, format, encoding).
    File {
        zh: String,
        en: String,
    },
    MissingColumn {
        field: &'static str,
        field_zh: &'static str,
    },
    MissingValue {
        field: &'static str,
        field_zh: &'static str,
    },
    BadAmount(MoneyError),
    BadDate,
    BadPeriod,
    BadCount,
    BadVocabulary {
        field: &'static str,
        field_zh: &'static str,
        expected: String,
    },
    BadUscc {
        zh: String,
        en: String,
    },
    BadCode,
    /// A free-text cell longer than its field allows (`chars` after trimming).
    TextTooLong {
        field: &'static str,
        field_zh: &'static str,
        limit: usize,
        chars: usize,
    },
    CellError,
    TooManyRows {
        limit: u32,
    },
    /// The file is refused and every kind of error found has filled its list: the rows
    /// after `row` were not checked.
    CheckStopped {
        row: u32,
        errors: u64,
    },
    EndBeforeStart,
    SignedAfterEnd,
    TermOverThreeYears,
    TermOverOneYear,
    DuplicateInFile {
        first_row: u32,
    },
    UnknownContract {
        code: String,
    },
    OverPayment {
        value: String,
        paid: String,
        after: String,
    },
    ValueBelowPaid {
        value: String,
        paid: String,
    },
    VoucherConflict {
        recorded: String,
    },
    NegativeWithoutReversal,
    ReversalTargetMissing {
        voucher: String,
    },
    ReversalMismatch {
        reversed: String,
    },
    AlreadyReversed {
        voucher: String,
    },
    PaymentOutsideTerm {
        start: String,
        end: String,
    },
    UsccManyNames {
        names: String,
    },
    TotalMismatch {
        field_zh: &'static str,
        field: &'static str,
        sum: String,
    },
    CumulativeMismatch {
        expected: i64,
    },
    CumulativeDecreases {
        previous: i64,
    },
    PeriodOverlap {
        other: String,
    },
    NoPeople,
    NotPositive,
    ProviderUsccConflict {
        uscc: String,
        name: String,
    },
    /// Budget lines and contracts against them.
    Budget(BudgetKind),
    /// The evaluations register's findings.
    Evaluation(EvaluationKind),
}

impl Kind {
    pub fn code(&self) -> &'static str {
        match self {
            Kind::File { .. } => "file_unreadable",
            Kind::MissingColumn { .. } => "missing_column",
            Kind::MissingValue { .. } => "missing_value",
            Kind::BadAmount(MoneyError::SubFen) => "amount_sub_fen",
            Kind::BadAmount(MoneyError::Overflow) => "amount_too_large",
            Kind::BadAmount(_) => "bad_amount",
            Kind::BadDate => "bad_date",
            Kind::BadPeriod => "bad_period",
            Kind::BadCount => "bad_count",
            Kind::BadVocabulary { .. } => "bad_value",
            Kind::BadUscc { .. } => "bad_uscc",
            Kind::BadCode => "bad_code",
            Kind::TextTooLong { .. } => "text_too_long",
            Kind::CellError => "cell_error",
            Kind::TooManyRows { .. } => "too_many_rows",
            Kind::CheckStopped { .. } => "check_stopped",
            Kind::EndBeforeStart => "end_before_start",
            Kind::SignedAfterEnd => "signed_after_end",
            Kind::TermOverThreeYears => "term_over_3_years",
            Kind::TermOverOneYear => "term_over_1_year",
            Kind::DuplicateInFile { .. } => "duplicate_in_file",
            Kind::UnknownContract { .. } => "unknown_contract",
            Kind::OverPayment { .. } => "over_payment",
            Kind::ValueBelowPaid { .. } => "value_below_paid",
            Kind::VoucherConflict { .. } => "voucher_conflict",
            Kind::NegativeWithoutReversal => "negative_without_reversal",
            Kind::ReversalTargetMissing { .. } => "reversal_target_missing",
            Kind::ReversalMismatch { .. } => "reversal_mismatch",
            Kind::AlreadyReversed { .. } => "already_reversed",
            Kind::PaymentOutsideTerm { .. } => "payment_outside_term",
            Kind::UsccManyNames { .. } => "uscc_many_names",
            Kind::TotalMismatch { .. } => "total_mismatch",
            Kind::CumulativeMismatch { .. } => "cumulative_mismatch",
            Kind::CumulativeDecreases { .. } => "cumulative_decreases",
            Kind::PeriodOverlap { .. } => "period_overlap",
            Kind::NoPeople => "no_people",
            Kind::NotPositive => "not_positive",
            Kind::ProviderUsccConflict { .. } => "provider_uscc_conflict",
            Kind::Budget(b) => b.code(),
            Kind::Evaluation(k) => k.code(),
        }
    }

    /// What is wrong and what was expected.
    pub fn describe(&self, lang: Lang) -> String {
        let zh = lang == Lang::Zh;
        match self {
            Kind::File { zh: z, en } => {
                if zh {
                    z.clone()
                } else {
                    en.clone()
                }
            }
            Kind::MissingColumn { field, field_zh } => {
                if zh {
                    format!("缺少必填列“{field_zh}”")
                } else {
                    format!("the required column '{field}' is missing")
                }
            }
            Kind::MissingValue { field, field_zh } => {
                if zh {
                    format!("“{field_zh}”为必填项，不能为空")
                } else {
                    format!("{field} is required but empty")
                }
            }
            Kind::BadAmount(e) => {
                if zh {
                    format!(
                        "{}；应为金额，如 1234.50、1,234.50、¥1234.5、12.5万",
                        e.zh()
                    )
                } else {
                    format!("{e}; expected an amount such as 1234.50, 1,234.50, ¥1234.5 or 12.5万")
                }
            }
            Kind::BadDate => {
                if zh {
                    "不是有效日期；应为如 2019-06-25、2019/6/25、2019年6月25日、20190625 的日期"
                        .into()
                } else {
                    "not a date; expected e.g. 2019-06-25, 2019/6/25, 2019年6月25日 or 20190625"
                        .into()
                }
            }
            Kind::BadPeriod => {
                if zh {
                    "不是有效统计期间；应为月份（2019-06、2019年6月）或日期区间（2019.01.01-2019.03.31）".into()
                } else {
                    "not a period; expected a month (2019-06, 2019年6月) or a date range (2019.01.01-2019.03.31)".into()
                }
            }
            Kind::BadCount => {
                if zh {
                    "应为不小于0的整数".into()
                } else {
                    "expected a whole number, 0 or more".into()
                }
            }
            Kind::BadVocabulary {
                field,
                field_zh,
                expected,
            } => {
                if zh {
                    format!("不是有效的{field_zh}；应为：{expected}")
                } else {
                    format!("not a known {field}; expected one of: {expected}")
                }
            }
            Kind::BadUscc { zh: z, en } => {
                if zh {
                    format!("统一社会信用代码{z}")
                } else {
                    format!("the unified social credit code {en}")
                }
            }
            Kind::BadCode => {
                if zh {
                    "项目编号应为1至64个字符".into()
                } else {
                    "a contract code has 1 to 64 characters".into()
                }
            }
            Kind::TextTooLong {
                field,
                field_zh,
                limit,
                chars,
            } => {
                if zh {
                    format!("“{field_zh}”过长：共 {chars} 个字符，最多 {limit} 个字符")
                } else {
                    format!("the {field} is too long: {chars} characters, at most {limit}")
                }
            }
            Kind::CellError => {
                if zh {
                    "单元格含有公式错误，应为数值".into()
                } else {
                    "the cell holds a formula error instead of a value".into()
                }
            }
            Kind::TooManyRows { limit } => {
                if zh {
                    format!("工作表行数超过上限 {limit} 行")
                } else {
                    format!("the sheet has more than the limit of {limit} rows")
                }
            }
            Kind::CheckStopped { row, errors } => {
                if zh {
                    format!("错误过多（已发现 {errors} 个）：文件已被拒绝，第 {row} 行之后不再检查")
                } else {
                    format!("too many errors ({errors} found): the file is refused and the rows after row {row} were not checked")
                }
            }
            Kind::EndBeforeStart => {
                if zh {
                    "结束日期早于开始日期".into()
                } else {
                    "the end date is before the start date".into()
                }
            }
            Kind::SignedAfterEnd => {
                if zh {
                    "签订日期晚于结束日期".into()
                } else {
                    "the contract is signed after its term ends".into()
                }
            }
            Kind::TermOverThreeYears => {
                if zh {
                    "服务期限超过3年（《政府购买服务管理办法》第二十四条：履行期限一般不超过1年，最长不超过3年）".into()
                } else {
                    "the term exceeds 3 years (MoF Order 102 art. 24: at most 3 years)".into()
                }
            }
            Kind::TermOverOneYear => {
                if zh {
                    "服务期限超过1年（第二十四条：一般不超过1年，确需延长的不超过3年），请确认"
                        .into()
                } else {
                    "the term exceeds 1 year (Order 102 art. 24: normally at most 1 year); please confirm".into()
                }
            }
            Kind::DuplicateInFile { first_row } => {
                if zh {
                    format!("与本表第{first_row}行重复")
                } else {
                    format!("duplicates row {first_row} of this sheet")
                }
            }
            Kind::UnknownContract { code } => {
                if zh {
                    format!("项目编号“{code}”不存在：请先导入该项目合同")
                } else {
                    format!("no contract with code '{code}': import the contract first")
                }
            }
            Kind::OverPayment { value, paid, after } => {
                if zh {
                    format!(
                        "累计拨付将达 {after} 元，超过合同金额 {value} 元（此前已拨付 {paid} 元）"
                    )
                } else {
                    format!("payments would total {after}, more than the contract value {value} (paid before: {paid})")
                }
            }
            Kind::ValueBelowPaid { value, paid } => {
                if zh {
                    format!("合同金额 {value} 元低于已拨付的 {paid} 元")
                } else {
                    format!("the contract value {value} is below the {paid} already paid")
                }
            }
            Kind::VoucherConflict { recorded } => {
                if zh {
                    format!("该凭证号已登记为 {recorded}；已记录的拨付不能修改，请用冲销（负数金额、新凭证号）更正")
                } else {
                    format!("this voucher is already recorded as {recorded}; a recorded payment is never edited: correct it with a reversing entry (negative amount, new voucher)")
                }
            }
            Kind::NegativeWithoutReversal => {
                if zh {
                    "负数金额为冲销，须在“冲销凭证号”列注明被冲销的凭证号".into()
                } else {
                    "a negative amount is a reversal and must name the voucher it reverses".into()
                }
            }
            Kind::ReversalTargetMissing { voucher } => {
                if zh {
                    format!("被冲销的凭证号“{voucher}”在该项目下不存在")
                } else {
                    format!("the reversed voucher '{voucher}' is not recorded for this contract")
                }
            }
            Kind::ReversalMismatch { reversed } => {
                if zh {
                    format!("冲销金额应为负数，且绝对值不超过原拨付金额 {reversed} 元")
                } else {
                    format!(
                        "a reversal must be negative and at most the reversed amount {reversed}"
                    )
                }
            }
            Kind::AlreadyReversed { voucher } => {
                if zh {
                    format!("凭证号“{voucher}”已被冲销过")
                } else {
                    format!("voucher '{voucher}' has already been reversed")
                }
            }
            Kind::PaymentOutsideTerm { start, end } => {
                if zh {
                    format!("拨付日期不在合同期限 {start} 至 {end} 内")
                } else {
                    format!("the payment date is outside the contract term {start} to {end}")
                }
            }
            Kind::UsccManyNames { names } => {
                if zh {
                    format!("同一统一社会信用代码对应多个机构名称：{names}")
                } else {
                    format!("one unified social credit code under several names: {names}")
                }
            }
            Kind::TotalMismatch {
                field_zh,
                field,
                sum,
            } => {
                if zh {
                    format!("合计行的“{field_zh}”与上方各行之和 {sum} 不符")
                } else {
                    format!(
                        "the total row's {field} does not equal the sum of the rows above, {sum}"
                    )
                }
            }
            Kind::CumulativeMismatch { expected } => {
                if zh {
                    format!("累计服务人数应为此前新增人数之和 {expected}")
                } else {
                    format!("the cumulative number should be the running total of new people, {expected}")
                }
            }
            Kind::CumulativeDecreases { previous } => {
                if zh {
                    format!("累计服务人数小于上一期的 {previous}")
                } else {
                    format!("the cumulative number is below the previous period's {previous}")
                }
            }
            Kind::PeriodOverlap { other } => {
                if zh {
                    format!("统计期间与已有期间 {other} 重叠，人数会被重复计算")
                } else {
                    format!("the period overlaps {other}; people would be counted twice")
                }
            }
            Kind::NoPeople => {
                if zh {
                    "新增服务人数与累计服务人数至少填写一项".into()
                } else {
                    "give new people or cumulative people (or both)".into()
                }
            }
            Kind::NotPositive => {
                if zh {
                    "金额应大于0（冲销请填负数并注明冲销凭证号）".into()
                } else {
                    "the amount must be greater than 0 (a reversal is negative and names its voucher)".into()
                }
            }
            Kind::ProviderUsccConflict { uscc, name } => {
                if zh {
                    format!("机构“{name}”已登记统一社会信用代码 {uscc}，与本行不同")
                } else {
                    format!("provider '{name}' is recorded with USCC {uscc}, not this one")
                }
            }
            Kind::Budget(b) => b.describe(lang),
            Kind::Evaluation(k) => k.describe(zh),
        }
    }

    pub fn severity(&self) -> Severity {
        match self {
            Kind::TermOverOneYear
            | Kind::PaymentOutsideTerm { .. }
            | Kind::UsccManyNames { .. } => Severity::Warning,
            Kind::Budget(b) => b.severity(),
            Kind::Evaluation(k) if k.is_warning() => Severity::Warning,
            _ => Severity::Error,
        }
    }
}

/// Errors of one kind kept in full per file; the rest are counted. A file of a million bad
/// rows would otherwise hold millions of problems in memory and answer with all of them.
pub const MAX_ERRORS_KEPT: u64 = 1000;

/// Errors a file is checked for before its check may stop: once this many are counted and
/// every kind's list is full, the file is refused and more rows could only add to the counts.
/// High enough that a file with a few thousand errors is always read to its end, so a later
/// error of another kind is never missed; low enough that a million bad rows stop early.
pub const MAX_ERRORS_COUNTED: u64 = 100_000;

/// Problems of one severity counted by code, deciding which are kept: the first
/// `cap` of each code.
#[derive(Debug, Clone)]
pub struct Tally {
    cap: u64,
    pub counts: std::collections::BTreeMap<&'static str, u64>,
}

impl Tally {
    pub fn new(cap: u64) -> Tally {
        Tally {
            cap,
            counts: Default::default(),
        }
    }

    /// Counts one problem of `code`; true when it is among the first `cap` and is kept.
    pub fn admit(&mut self, code: &'static str) -> bool {
        let n = self.counts.entry(code).or_insert(0);
        *n += 1;
        *n <= self.cap
    }

    /// Every problem counted, kept or not.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Something was counted, and every code counted has filled its list: more of the same
    /// would only be counted.
    pub fn full(&self) -> bool {
        !self.counts.is_empty() && self.counts.values().all(|n| *n >= self.cap)
    }
}

/// The most characters of a cell's value a problem keeps: enough to find the cell, and a
/// cell of megabytes does not make every answer that lists the problem as large.
pub const VALUE_SHOWN_CHARS: usize = 200;

impl Problem {
    pub fn new(at: Location, value: Option<String>, kind: Kind) -> Problem {
        let value = value.map(|v| match v.char_indices().nth(VALUE_SHOWN_CHARS) {
            Some((end, _)) => format!("{}…", &v[..end]),
            None => v,
        });
        Problem {
            severity: kind.severity(),
            code: kind.code(),
            at,
            value,
            kind,
        }
    }

    /// What is wrong and what was expected, in `lang`.
    pub fn message(&self, lang: Lang) -> String {
        self.kind.describe(lang)
    }

    /// The finding as shown to a reader of `lang`.
    pub fn view(&self, lang: Lang) -> ProblemView<'_> {
        ProblemView {
            severity: self.severity,
            at: &self.at,
            value: &self.value,
            code: self.code,
            message: self.message(lang),
        }
    }

    /// One line for the terminal: `file 拨付!D17 “abc”: message`.
    pub fn line(&self, lang: Lang) -> String {
        let mut s = self.at.file.clone();
        match (&self.at.sheet, &self.at.cell) {
            (Some(sh), Some(c)) => s.push_str(&format!(" {sh}!{c}")),
            (Some(sh), None) => s.push_str(&format!(" [{sh}]")),
            (None, Some(c)) => s.push_str(&format!(" {c}")),
            (None, None) => {}
        }
        if let Some(v) = &self.value {
            let shown: String = v.chars().take(60).collect();
            s.push_str(&match lang {
                Lang::Zh => format!(" 值“{shown}”"),
                Lang::En => format!(" value '{shown}'"),
            });
        }
        s.push_str(": ");
        s.push_str(&self.message(lang));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters_follow_excel() {
        assert_eq!(column_letters(0), "A");
        assert_eq!(column_letters(3), "D");
        assert_eq!(column_letters(25), "Z");
        assert_eq!(column_letters(26), "AA");
        assert_eq!(column_letters(16383), "XFD");
        assert_eq!(cell_ref(3, 17), "D17");
    }
}
