//! Performance evaluations (绩效评价): their vocabularies, the score and its grade, and the
//! rules auditors need about paying against them (MoF Order 102 (2020) art. 25: payment
//! follows the contract and the performance evaluation, whose results are disclosed and used
//! when choosing providers). Pure: no database; `db::store` loads, asks and saves.
//!
//! An evaluation is kept so that it can later be published as an OCDS contract milestone of
//! type `assessment`: its date, status (met when graded 合格 or better), score, grade, and
//! its evaluator as a party identified by its USCC (scheme `CN-USCI`).

pub mod rules;
#[cfg(test)]
mod tests;

use chrono::NaiveDate;
use rust_decimal::Decimal;

pub use rules::{check, Finding, Payment};

crate::vocabulary! {
    /// 评价类型: when in the contract's life the evaluation is made.
    EvaluationType {
        Interim => "interim", "中期", "Interim", ["中期评价", "mid-term", "midterm"];
        Final => "final", "末期", "End of term", ["末期评价", "终期", "终期评价", "结项", "end-of-term", "final"];
        Annual => "annual", "年度", "Annual", ["年度评价", "年终"];
    }
}

crate::vocabulary! {
    /// 等级: the grade a score earns (thresholds in [`Settings`]).
    Grade {
        Excellent => "excellent", "优秀", "Excellent", ["优"];
        Good => "good", "良好", "Good", ["良"];
        Pass => "pass", "合格", "Pass", ["及格", "中"];
        Fail => "fail", "不合格", "Fail", ["不及格", "差"];
    }
}

/// 得分: 0 to 100 with at most two decimals, kept exact as hundredths of a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Score(i64);

impl Score {
    /// A score from a number; `None` when outside 0–100 or with more than two decimals.
    pub fn new(d: Decimal) -> Option<Score> {
        if d < Decimal::ZERO || d > Decimal::ONE_HUNDRED || d.normalize().scale() > 2 {
            return None;
        }
        let centi = (d * Decimal::ONE_HUNDRED).normalize();
        i64::try_from(centi.mantissa() / 10i128.pow(centi.scale()))
            .ok()
            .map(Score)
    }

    /// From stored hundredths of a point.
    pub fn from_centi(c: i64) -> Score {
        Score(c)
    }

    pub fn centi(self) -> i64 {
        self.0
    }

    pub fn decimal(self) -> Decimal {
        Decimal::new(self.0, 2)
    }
}

impl std::fmt::Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{:02}", self.0 / 100, self.0 % 100)
    }
}

/// The grade thresholds and how long after a term an end-of-term evaluation may wait. Set
/// by `--grade-excellent`, `--grade-good`, `--grade-pass` and `--evaluation-overdue-days`
/// (or their `PROCURE_*` environment variables) on `import`, `report` and `serve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Lowest score graded 优秀.
    pub excellent: Score,
    /// Lowest score graded 良好.
    pub good: Score,
    /// Lowest score graded 合格; below it is 不合格.
    pub pass: Score,
    /// Days after a term's end by which its end-of-term evaluation is due.
    pub overdue_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            excellent: Score(9000),
            good: Score(8000),
            pass: Score(6000),
            overdue_days: 90,
        }
    }
}

impl Settings {
    /// The grade a score earns.
    pub fn grade(&self, s: Score) -> Grade {
        if s >= self.excellent {
            Grade::Excellent
        } else if s >= self.good {
            Grade::Good
        } else if s >= self.pass {
            Grade::Pass
        } else {
            Grade::Fail
        }
    }

    /// Thresholds that do not descend (excellent ≥ good ≥ pass) are refused.
    pub fn validate(&self) -> Result<(), String> {
        if self.excellent >= self.good && self.good >= self.pass {
            Ok(())
        } else {
            Err(format!(
                "grade thresholds must descend: excellent {} ≥ good {} ≥ pass {}",
                self.excellent, self.good, self.pass
            ))
        }
    }

    /// The settings of the process: set once at start from the command line or environment
    /// (as the bureau's time zone is), the defaults otherwise.
    pub fn current() -> Settings {
        CURRENT.get().copied().unwrap_or_default()
    }

    /// Sets the process's settings; the first call wins.
    pub fn install(self) -> bool {
        CURRENT.set(self).is_ok()
    }
}

static CURRENT: std::sync::OnceLock<Settings> = std::sync::OnceLock::new();

/// One recorded evaluation as the rules see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluation {
    pub id: i64,
    pub kind: EvaluationType,
    pub on: NaiveDate,
    pub score: Score,
    pub grade: Grade,
    /// 整改完成日期: when the required fixes were done.
    pub fixed_on: Option<NaiveDate>,
    /// The evaluation this one corrects.
    pub replaces: Option<i64>,
}

/// The evaluations that stand: every one that no later correction replaces.
pub fn standing(all: &[Evaluation]) -> Vec<&Evaluation> {
    let replaced: std::collections::HashSet<i64> = all.iter().filter_map(|e| e.replaces).collect();
    all.iter().filter(|e| !replaced.contains(&e.id)).collect()
}
