//! The sample's performance evaluations (绩效评价): an end-of-term evaluation for every
//! contract ended by the time the register was extracted, dated before the payment it
//! releases; interim and annual ones for some; a few failed with their fixes and a
//! re-evaluation; one correction; and the planted exceptions the README lists. Drawn from
//! a random stream of their own, so the contracts, payments and reports stay as they were.

use chrono::{Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::places::{add_months, workday};
use super::rows::{SampleContract, SamplePayment, SheetCell};
use crate::evaluations::{EvaluationType, Grade, Score, Settings};
use crate::providers::Uscc;

/// Headers of the evaluations sheet `绩效评价`, in order.
pub const EVALUATION_HEADERS: [&str; 11] = [
    "项目编号",
    "评价类型",
    "评价机构",
    "评价机构统一社会信用代码",
    "评价日期",
    "得分",
    "等级",
    "主要问题",
    "整改要求",
    "整改完成日期",
    "更正评价日期",
];

/// Invented third-party evaluators: name and the first 17 characters of their code.
const EVALUATORS: [(&str, &str); 4] = [
    ("云南明鉴社会组织评估中心", "52530100MJ7312046"),
    ("昆明公信会计师事务所有限公司", "91530100MA6K3D2R1"),
    ("云南睿评绩效管理咨询有限公司", "91530111MA6P8X4N2"),
    ("昆明至诚社会工作评估事务所", "52530103MJ0915873"),
];

#[derive(Clone)]
pub(super) struct SampleEvaluation {
    pub(super) code: String,
    pub(super) kind: EvaluationType,
    pub(super) evaluator: usize,
    pub(super) on: NaiveDate,
    pub(super) score: Score,
    pub(super) findings: &'static str,
    pub(super) fixes: &'static str,
    pub(super) fixed_on: Option<NaiveDate>,
    pub(super) corrects: Option<NaiveDate>,
}

pub(super) fn evaluation_cells(e: &SampleEvaluation) -> Vec<SheetCell> {
    let (name, body) = EVALUATORS[e.evaluator % EVALUATORS.len()];
    let opt = |s: &str| {
        if s.is_empty() {
            SheetCell::Blank
        } else {
            SheetCell::Text(s.into())
        }
    };
    let date = |d: Option<NaiveDate>| d.map(SheetCell::Date).unwrap_or(SheetCell::Blank);
    vec![
        SheetCell::Text(e.code.clone()),
        SheetCell::Text(e.kind.zh().into()),
        SheetCell::Text(name.into()),
        SheetCell::Text(Uscc::complete(body).to_string()),
        SheetCell::Date(e.on),
        SheetCell::Score(e.score.centi()),
        SheetCell::Text(Settings::default().grade(e.score).zh().into()),
        opt(e.findings),
        opt(e.fixes),
        date(e.fixed_on),
        date(e.corrects),
    ]
}

/// The contracts the sample plants each evaluation exception on (see README.md).
#[derive(Debug, Clone, Default)]
pub(super) struct Planted {
    /// Paid in full before its end-of-term evaluation.
    pub(super) final_before_evaluation: String,
    /// Paid after a failed evaluation, before its fixes were done.
    pub(super) paid_while_failed: String,
    /// No end-of-term evaluation, over 90 days after its term.
    pub(super) overdue: String,
    /// Failed, fixed, re-evaluated, then paid: no exception.
    pub(super) failed_and_fixed: Vec<String>,
    /// An evaluation recorded with a wrong score and corrected by a second row.
    pub(super) corrected: String,
}

/// A score between `lo` and `hi` points, sometimes with a half or a hundredth.
fn score(rng: &mut ChaCha8Rng, lo: i64, hi: i64) -> Score {
    let points = rng.random_range(lo..=hi) * 100;
    let frac = match rng.random_range(0..10) {
        0..=5 => 0,
        6..=8 => 50,
        _ => rng.random_range(1..=99),
    };
    Score::from_centi((points + frac).min(hi * 100 + 99).min(10_000))
}

/// The grade the final tranche's note reports (`绩效评价：优秀`), if any.
fn noted_grade(note: &str) -> Option<Grade> {
    let rest = note.strip_prefix("绩效评价：")?;
    Grade::ALL
        .iter()
        .copied()
        .find(|g| rest.starts_with(g.zh()))
}

/// The payment that releases a contract's last money: the first that brings it to its full
/// value or is dated after its term (the rule of `evaluations::rules`), with its note.
fn release<'p>(c: &SampleContract, payments: &[&'p SamplePayment]) -> Option<&'p SamplePayment> {
    let mut paid = 0;
    for p in payments {
        let before = paid;
        paid += p.fen;
        if p.fen > 0 && ((before < c.value && paid >= c.value) || p.date > c.end) {
            return Some(p);
        }
    }
    None
}

const FINDINGS: [&str; 4] = [
    "服务台账不完整，部分服务记录缺少签名",
    "专业社工配备不足，服务频次未达合同约定",
    "资金使用明细不清，部分支出缺少凭证",
    "服务对象满意度偏低，个案跟进不及时",
];
const FIXES: [&str; 4] = [
    "补齐服务台账与签名记录",
    "增配持证社工，按合同频次补足服务",
    "补充支出凭证并规范财务核算",
    "建立回访制度，完成个案跟进",
];

pub(super) fn sample_evaluations(
    seed: u64,
    contracts: &[SampleContract],
    payments: &[SamplePayment],
    as_of: NaiveDate,
    extracted: NaiveDate,
) -> (Vec<SampleEvaluation>, Planted) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6576_616c_7561_7465);
    let mut out = Vec::new();
    let mut planted = Planted::default();
    // Contracts whose final payment is in the register, by code, with that payment.
    let released: Vec<(usize, &SamplePayment)> = contracts
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let mine: Vec<&SamplePayment> = payments.iter().filter(|p| p.code == c.code).collect();
            release(c, &mine).map(|p| (i, p))
        })
        .collect();
    // The planted ones, among contracts released by the statement date.
    let mut early: Vec<(usize, &SamplePayment)> = released
        .iter()
        .copied()
        .filter(|(_, p)| p.date <= as_of - Duration::days(20))
        .collect();
    early.shuffle(&mut rng);
    let mut take = |pred: &dyn Fn(&SampleContract, &SamplePayment) -> bool| {
        let k = early
            .iter()
            .position(|(i, p)| pred(&contracts[*i], p))
            .expect("the sample has a contract for each planted exception");
        early.remove(k)
    };
    let overdue = take(&|c, _| c.end + Duration::days(100) < as_of);
    let before = take(&|c, p| c.end < p.date);
    let while_failed = take(&|c, p| {
        noted_grade(&p.note) == Some(Grade::Pass) && p.date >= c.end + Duration::days(20)
    });
    let mut fixed = Vec::new();
    for _ in 0..3 {
        fixed.push(take(&|c, p| {
            noted_grade(&p.note) != Some(Grade::Excellent) && p.date >= c.end + Duration::days(30)
        }));
    }
    let corrected = take(&|c, p| c.end < p.date);
    planted.overdue = contracts[overdue.0].code.clone();
    planted.final_before_evaluation = contracts[before.0].code.clone();
    planted.paid_while_failed = contracts[while_failed.0].code.clone();
    planted.failed_and_fixed = fixed
        .iter()
        .map(|(i, _)| contracts[*i].code.clone())
        .collect();
    planted.corrected = contracts[corrected.0].code.clone();

    for (i, c) in contracts.iter().enumerate() {
        let evaluator = rng.random_range(0..EVALUATORS.len());
        // Interim (1-year terms, some) and annual (longer terms) evaluations, never failed.
        let months = crate::dates::term_months(c.start, c.end) as u32;
        if months > 12 {
            let on = workday(add_months(c.start, 12) - Duration::days(rng.random_range(3..=12)));
            if on <= extracted {
                out.push(plain(
                    &mut rng,
                    c,
                    EvaluationType::Annual,
                    evaluator,
                    on,
                    70,
                ));
            }
        } else if months >= 9 && rng.random_range(0..100) < 35 {
            let on =
                workday(add_months(c.start, months / 2) - Duration::days(rng.random_range(0..=10)));
            if on <= extracted {
                out.push(plain(
                    &mut rng,
                    c,
                    EvaluationType::Interim,
                    evaluator,
                    on,
                    68,
                ));
            }
        }
        if i == overdue.0 {
            continue;
        }
        let rel = released.iter().find(|(j, _)| *j == i).map(|(_, p)| *p);
        let on = match rel {
            Some(p) if i == before.0 => workday(p.date + Duration::days(rng.random_range(10..=20))),
            Some(p) => p.date - Duration::days(rng.random_range(3..=15)),
            None => workday(c.end + Duration::days(rng.random_range(10..=40))),
        };
        if on > extracted || (rel.is_none() && c.end > extracted - Duration::days(60)) {
            continue;
        }
        let grade = rel.and_then(|p| noted_grade(&p.note));
        if i == while_failed.0 || fixed.iter().any(|(j, _)| *j == i) {
            let p = rel.expect("planted on a released contract");
            let k = rng.random_range(0..FINDINGS.len());
            let failed_on = p.date - Duration::days(rng.random_range(24..=28));
            // Fixed after the payment (the planted exception), or before it.
            let fixed_on = if i == while_failed.0 {
                workday(p.date + Duration::days(rng.random_range(15..=25)))
            } else {
                p.date - Duration::days(rng.random_range(6..=9))
            };
            out.push(SampleEvaluation {
                code: c.code.clone(),
                kind: EvaluationType::Final,
                evaluator,
                on: failed_on,
                score: score(&mut rng, 48, 58),
                findings: FINDINGS[k],
                fixes: FIXES[k],
                fixed_on: Some(fixed_on),
                corrects: None,
            });
            // Re-evaluated once the fixes are done, with the grade the final tranche's note
            // reports.
            let again = match grade {
                Some(Grade::Good) => score(&mut rng, 80, 86),
                _ => score(&mut rng, 62, 74),
            };
            out.push(SampleEvaluation {
                code: c.code.clone(),
                kind: EvaluationType::Final,
                evaluator,
                on: fixed_on + Duration::days(2),
                score: again,
                findings: "整改后复评",
                fixes: "",
                fixed_on: None,
                corrects: None,
            });
            continue;
        }
        let s = match grade {
            Some(Grade::Excellent) => score(&mut rng, 90, 97),
            Some(Grade::Good) => score(&mut rng, 80, 89),
            Some(Grade::Pass) => score(&mut rng, 64, 79),
            _ => score(&mut rng, 72, 95),
        };
        let e = SampleEvaluation {
            code: c.code.clone(),
            kind: EvaluationType::Final,
            evaluator,
            on,
            score: s,
            findings: "",
            fixes: "",
            fixed_on: None,
            corrects: None,
        };
        if i == corrected.0 {
            // Typed ten points low, then corrected by a row naming its date.
            let wrong = Score::from_centi(s.centi() - 1_000);
            out.push(SampleEvaluation {
                score: wrong,
                ..e.clone()
            });
            out.push(SampleEvaluation {
                corrects: Some(on),
                findings: "更正：原得分录入有误",
                ..e
            });
        } else {
            out.push(e);
        }
    }
    out.sort_by(|a, b| (a.on, &a.code).cmp(&(b.on, &b.code)));
    (out, planted)
}

fn plain(
    rng: &mut ChaCha8Rng,
    c: &SampleContract,
    kind: EvaluationType,
    evaluator: usize,
    on: NaiveDate,
    lo: i64,
) -> SampleEvaluation {
    SampleEvaluation {
        code: c.code.clone(),
        kind,
        evaluator,
        on,
        score: score(rng, lo, 96),
        findings: "",
        fixes: "",
        fixed_on: None,
        corrects: None,
    }
}

/// Evaluations for a seeded register: each contract is evaluated at the end of its term
/// (on or before any payment after it, so the generator plants no exception), and one in
/// five also mid-term.
pub(super) fn generated_evaluations<'a>(
    contracts: impl Iterator<Item = &'a SampleContract> + 'a,
    seed: u64,
) -> impl Iterator<Item = SampleEvaluation> + 'a {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6576_616c_7561_7465);
    contracts.flat_map(move |c| {
        let mut v = Vec::new();
        let evaluator = rng.random_range(0..EVALUATORS.len());
        if rng.random_range(0..5) == 0 {
            let on = c.start + (c.end - c.start) / 2;
            v.push(plain(
                &mut rng,
                c,
                EvaluationType::Interim,
                evaluator,
                on,
                62,
            ));
        }
        v.push(plain(
            &mut rng,
            c,
            EvaluationType::Final,
            evaluator,
            c.end,
            62,
        ));
        v
    })
}

#[cfg(test)]
mod tests {
    use super::super::register::sample_register;
    use crate::evaluations::EvaluationType;

    /// README.md names these contracts: a change to the sample that moves them must change
    /// the README too.
    #[test]
    fn the_planted_evaluation_exceptions_are_those_the_readme_states() {
        let reg = sample_register();
        let p = &reg.planted;
        assert_eq!(p.final_before_evaluation, "GDGM-2017-025");
        assert_eq!(p.paid_while_failed, "GDGM-2017-026");
        assert_eq!(p.overdue, "GDGM-2017-006");
        assert_eq!(p.corrected, "GDGM-2017-023");
        assert_eq!(
            p.failed_and_fixed,
            ["GDGM-2017-017", "GDGM-2017-001", "GDGM-2017-012"]
        );
        let evaluated = |code: &str| {
            reg.evaluations
                .iter()
                .filter(|e| e.code == code && e.kind == EvaluationType::Final)
                .count()
        };
        assert_eq!(evaluated(&p.overdue), 0);
        assert_eq!(evaluated(&p.corrected), 2);
        for code in &p.failed_and_fixed {
            assert!(evaluated(code) >= 2, "{code}: failed, then re-evaluated");
        }
    }
}
