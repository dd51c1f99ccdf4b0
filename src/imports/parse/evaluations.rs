//! Parsing one row of the evaluations register (绩效评价).

use std::str::FromStr;

use rust_decimal::Decimal;

use super::RowParse;
use crate::evaluations::{EvaluationType, Grade, Score};
use crate::providers::Uscc;
use crate::register::cells::Cell;
use crate::register::columns::Field;
use crate::register::problems::{EvaluationKind, Kind};
use crate::register::records::EvaluationRecord;

/// 得分: `86.5`, `86.50分`, `８６.５`; a number cell through its shortest text, so a float
/// never decides a hundredth.
fn score(c: &Cell) -> Result<Option<Score>, Kind> {
    let text = match c {
        _ if c.is_blank() => return Ok(None),
        Cell::Number(f) => f.to_string(),
        Cell::Int(i) => i.to_string(),
        Cell::Text(s) => crate::text::fold_width(s)
            .trim()
            .trim_end_matches('分')
            .trim()
            .to_string(),
        Cell::Error(_) => return Err(Kind::CellError),
        _ => String::new(),
    };
    Decimal::from_str(&text)
        .ok()
        .and_then(Score::new)
        .map(Some)
        .ok_or(Kind::Evaluation(EvaluationKind::BadScore))
}

impl RowParse<'_, '_, '_, '_> {
    pub(super) fn evaluation(&mut self) {
        let code = self.code();
        let kind = self.vocabulary(
            Field::EvalType,
            EvaluationType::parse,
            EvaluationType::expected(),
            true,
        );
        let evaluator = self.text(Field::Evaluator);
        let evaluator_uscc = match self.text(Field::EvaluatorUscc) {
            None => None,
            Some(t) => match Uscc::parse(&t) {
                Ok(u) => Some(u),
                Err(e) => {
                    self.fail(
                        Field::EvaluatorUscc,
                        Kind::BadUscc {
                            zh: e.zh(),
                            en: e.to_string(),
                        },
                    );
                    None
                }
            },
        };
        let on = self.required(Field::EvalDate, Cell::date);
        let score = self.required(Field::Score, score);
        let given = self.vocabulary(Field::Grade, Grade::parse, Grade::expected(), false);
        let earned = score.map(|s| self.parser.grades.grade(s));
        if let (Some(g), Some(e)) = (given, earned) {
            if g != e {
                self.fail(
                    Field::Grade,
                    Kind::Evaluation(EvaluationKind::GradeMismatch {
                        expected_zh: e.zh(),
                        expected_en: e.en(),
                    }),
                );
            }
        }
        let findings = self.text(Field::Findings);
        let fixes = self.text(Field::Fixes);
        let fixed_on = self.optional(Field::FixedOn, Cell::date);
        if let (Some(f), Some(d)) = (fixed_on, on) {
            if f < d {
                self.fail(
                    Field::FixedOn,
                    Kind::Evaluation(EvaluationKind::FixedBeforeEvaluation {
                        evaluated: d.to_string(),
                    }),
                );
            }
        }
        let corrects = self.optional(Field::Corrects, Cell::date);
        if let (Some(c), Some(k), Some(d)) = (&code, kind, on) {
            let key = format!(
                "{}\u{1f}{}\u{1f}{d}\u{1f}{}",
                c.as_str(),
                k.code(),
                corrects.map(|d| d.to_string()).unwrap_or_default()
            );
            self.first_time(key, Field::EvalDate);
        }
        if let (true, Some(code), Some(kind), Some(on), Some(score), Some(grade)) =
            (self.ok, code, kind, on, score, earned)
        {
            let src = self.source();
            self.parser.out.evaluations.push(EvaluationRecord {
                src,
                code,
                kind,
                evaluator,
                evaluator_uscc,
                on,
                score,
                grade,
                findings,
                fixes,
                fixed_on,
                corrects,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_read_exactly_from_numbers_and_text() {
        let centi = |c: Cell| score(&c).map(|s| s.map(Score::centi));
        assert_eq!(centi(Cell::Number(86.5)), Ok(Some(8650)));
        // The float nearest 86.55 is below it; its shortest text is still 86.55.
        assert_eq!(centi(Cell::Number(86.55)), Ok(Some(8655)));
        assert_eq!(centi(Cell::Int(90)), Ok(Some(9000)));
        assert_eq!(centi(Cell::Text("８６.５分".into())), Ok(Some(8650)));
        assert_eq!(centi(Cell::Text(" 100 ".into())), Ok(Some(10_000)));
        assert_eq!(centi(Cell::Empty), Ok(None));
        for bad in [
            Cell::Number(100.5),
            Cell::Number(86.555),
            Cell::Text("优".into()),
            Cell::Int(-1),
        ] {
            assert_eq!(
                centi(bad.clone()),
                Err(Kind::Evaluation(EvaluationKind::BadScore)),
                "{bad:?}"
            );
        }
    }
}
