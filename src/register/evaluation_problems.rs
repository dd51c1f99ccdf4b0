//! What can be wrong with an evaluation row, or with a payment against evaluations, in
//! Chinese and English. One variant of [`super::problems::Kind`] carries these, so the
//! evaluations register adds its findings without growing the shared list.

/// A finding about an evaluation, or about a payment judged against evaluations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EvaluationKind {
    /// 得分 not a number from 0 to 100 with at most two decimals.
    BadScore,
    /// 等级 given, and not the grade the score earns.
    GradeMismatch {
        expected_zh: &'static str,
        expected_en: &'static str,
    },
    /// 整改完成日期 before 评价日期.
    FixedBeforeEvaluation { evaluated: String },
    /// The evaluation (contract, type, date) is recorded with other content.
    Edited { recorded: String },
    /// 更正评价日期 names no recorded evaluation of the same contract and type.
    CorrectsUnknown { date: String },
    /// 更正评价日期 names an evaluation already corrected by another row.
    AlreadyCorrected { date: String },
    /// A payment that completes the contract, or is dated after its term, with no
    /// end-of-term evaluation dated on or before it (Order 102 art. 25).
    FinalPaymentBeforeEvaluation,
    /// A payment after a 不合格 evaluation and before its fixes were done.
    PaymentWhileFailed {
        evaluated: String,
        fixed: Option<String>,
    },
}

impl EvaluationKind {
    pub fn code(&self) -> &'static str {
        match self {
            EvaluationKind::BadScore => "bad_score",
            EvaluationKind::GradeMismatch { .. } => "grade_mismatch",
            EvaluationKind::FixedBeforeEvaluation { .. } => "fixed_before_evaluation",
            EvaluationKind::Edited { .. } => "evaluation_edited",
            EvaluationKind::CorrectsUnknown { .. } => "corrects_unknown_evaluation",
            EvaluationKind::AlreadyCorrected { .. } => "evaluation_already_corrected",
            EvaluationKind::FinalPaymentBeforeEvaluation => "final_payment_before_evaluation",
            EvaluationKind::PaymentWhileFailed { .. } => "payment_while_failed",
        }
    }

    pub fn is_warning(&self) -> bool {
        matches!(
            self,
            EvaluationKind::FinalPaymentBeforeEvaluation
                | EvaluationKind::PaymentWhileFailed { .. }
        )
    }

    /// What is wrong and what was expected.
    pub fn describe(&self, zh: bool) -> String {
        let pick = |z: String, e: String| if zh { z } else { e };
        match self {
            EvaluationKind::BadScore => pick(
                "得分应为0至100之间、最多两位小数的数".into(),
                "a score is a number from 0 to 100 with at most two decimals".into(),
            ),
            EvaluationKind::GradeMismatch {
                expected_zh,
                expected_en,
            } => pick(
                format!("等级与得分不符：按得分应为“{expected_zh}”"),
                format!("the grade does not agree with the score, which earns '{expected_en}'"),
            ),
            EvaluationKind::FixedBeforeEvaluation { evaluated } => pick(
                format!("整改完成日期早于评价日期 {evaluated}"),
                format!("the fixes are dated before the evaluation of {evaluated}"),
            ),
            EvaluationKind::Edited { recorded } => pick(
                format!("该评价（项目、评价类型、评价日期）已登记为 {recorded}；已记录的评价不能修改，请新增一行更正评价并在“更正评价日期”列注明被更正评价的日期"),
                format!("this evaluation (contract, type, date) is recorded as {recorded}; a recorded evaluation is never edited: add a correction row naming the date of the one it replaces"),
            ),
            EvaluationKind::CorrectsUnknown { date } => pick(
                format!("该项目下没有评价日期为 {date} 的同类型评价可更正"),
                format!("no evaluation of this contract and type dated {date} to correct"),
            ),
            EvaluationKind::AlreadyCorrected { date } => pick(
                format!("评价日期为 {date} 的评价已被更正过；请更正最新的那一条"),
                format!("the evaluation dated {date} has already been corrected; correct the latest one"),
            ),
            EvaluationKind::FinalPaymentBeforeEvaluation => pick(
                "该笔拨付付清合同或在合同期限结束后拨付，但此前没有末期绩效评价（《政府购买服务管理办法》第二十五条：按合同和绩效评价结果付款）".into(),
                "this payment completes the contract or is dated after its term, with no end-of-term evaluation on or before it (Order 102 art. 25: pay according to the contract and the performance evaluation)".into(),
            ),
            EvaluationKind::PaymentWhileFailed { evaluated, fixed } => match fixed {
                Some(f) => pick(
                    format!("拨付于 {evaluated} 不合格评价之后、{f} 整改完成之前"),
                    format!("paid after the failed evaluation of {evaluated} and before its fixes were done on {f}"),
                ),
                None => pick(
                    format!("拨付于 {evaluated} 不合格评价之后，尚未整改完成"),
                    format!("paid after the failed evaluation of {evaluated}, whose fixes are not done"),
                ),
            },
        }
    }
}
