use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::rules::Terms;
use super::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn score(s: &str) -> Score {
    Score::new(s.parse::<Decimal>().unwrap()).unwrap()
}

fn eval(id: i64, kind: EvaluationType, on: NaiveDate, grade: Grade) -> Evaluation {
    Evaluation {
        id,
        kind,
        on,
        score: score("75"),
        grade,
        fixed_on: None,
        replaces: None,
    }
}

fn pay(on: NaiveDate, fen: i64, row: u32) -> Payment<u32> {
    Payment { on, fen, row }
}

const TERMS: Terms = Terms {
    value_fen: 10000,
    start: match NaiveDate::from_ymd_opt(2018, 7, 1) {
        Some(d) => d,
        None => panic!(),
    },
    end: match NaiveDate::from_ymd_opt(2019, 6, 30) {
        Some(d) => d,
        None => panic!(),
    },
};

#[test]
fn scores_are_exact_hundredths_between_0_and_100() {
    assert_eq!(score("86.5").centi(), 8650);
    assert_eq!(score("100").to_string(), "100.00");
    assert_eq!(score("0.05").to_string(), "0.05");
    for bad in ["100.01", "-1", "86.555"] {
        assert_eq!(Score::new(bad.parse().unwrap()), None, "{bad}");
    }
    assert_eq!(score("86.50"), score("86.5"));
}

#[test]
fn grades_follow_the_thresholds_at_their_edges() {
    let s = Settings::default();
    assert_eq!(s.grade(score("90")), Grade::Excellent);
    assert_eq!(s.grade(score("89.99")), Grade::Good);
    assert_eq!(s.grade(score("80")), Grade::Good);
    assert_eq!(s.grade(score("60")), Grade::Pass);
    assert_eq!(s.grade(score("59.99")), Grade::Fail);
    let strict = Settings {
        excellent: score("95"),
        ..Settings::default()
    };
    assert_eq!(strict.grade(score("92")), Grade::Good);
    assert!(Settings {
        pass: score("85"),
        ..Settings::default()
    }
    .validate()
    .is_err());
    assert_eq!(Grade::parse("不合格"), Some(Grade::Fail));
    assert_eq!(
        EvaluationType::parse("终期评价"),
        Some(EvaluationType::Final)
    );
}

#[test]
fn the_completing_payment_before_an_end_of_term_evaluation_is_found() {
    let payments = [
        pay(day(2018, 7, 5), 4000, 2),
        pay(day(2019, 6, 20), 6000, 3),
    ];
    let found = check(
        TERMS,
        &payments,
        &[],
        day(2019, 6, 30),
        &Settings::default(),
    );
    assert_eq!(
        found,
        vec![Finding::FinalBeforeEvaluation {
            payment: &3,
            on: day(2019, 6, 20),
            fen: 6000
        }]
    );
    // An end-of-term evaluation on the day of the payment releases it; an interim one does not.
    let interim = [eval(
        1,
        EvaluationType::Interim,
        day(2019, 1, 5),
        Grade::Good,
    )];
    assert_eq!(
        check(
            TERMS,
            &payments,
            &interim,
            day(2019, 6, 30),
            &Settings::default()
        )
        .len(),
        1
    );
    let fin = [eval(
        1,
        EvaluationType::Final,
        day(2019, 6, 20),
        Grade::Good,
    )];
    assert!(check(
        TERMS,
        &payments,
        &fin,
        day(2019, 6, 30),
        &Settings::default()
    )
    .is_empty());
}

#[test]
fn a_payment_after_the_term_needs_an_evaluation_even_when_it_does_not_complete() {
    let payments = [pay(day(2019, 7, 15), 1000, 7)];
    let found = check(
        TERMS,
        &payments,
        &[],
        day(2019, 7, 31),
        &Settings::default(),
    );
    assert!(matches!(
        found[..],
        [Finding::FinalBeforeEvaluation { payment: &7, .. }]
    ));
}

#[test]
fn payments_between_a_failed_evaluation_and_its_fixes_are_found() {
    let mut failed = eval(1, EvaluationType::Interim, day(2019, 1, 10), Grade::Fail);
    let payments = [
        pay(day(2019, 1, 10), 1000, 2),
        pay(day(2019, 2, 1), 1000, 3),
        pay(day(2019, 3, 1), 1000, 4),
    ];
    let s = Settings::default();
    // No 整改完成日期: still failed.
    let found = check(
        TERMS,
        &payments,
        std::slice::from_ref(&failed),
        day(2019, 6, 1),
        &s,
    );
    let rows: Vec<u32> = found
        .iter()
        .filter_map(|f| match f {
            Finding::PaidWhileFailed { payment, .. } => Some(**payment),
            _ => None,
        })
        .collect();
    assert_eq!(rows, vec![3, 4]);
    failed.fixed_on = Some(day(2019, 3, 1));
    let found = check(
        TERMS,
        &payments,
        std::slice::from_ref(&failed),
        day(2019, 6, 1),
        &s,
    );
    assert_eq!(found.len(), 1);
}

#[test]
fn a_correction_replaces_the_failed_evaluation_it_names() {
    let failed = eval(1, EvaluationType::Interim, day(2019, 1, 10), Grade::Fail);
    let corrected = Evaluation {
        id: 2,
        replaces: Some(1),
        grade: Grade::Pass,
        ..failed.clone()
    };
    let payments = [pay(day(2019, 2, 1), 1000, 3)];
    let all = [failed, corrected];
    assert_eq!(standing(&all).len(), 1);
    assert!(check(
        TERMS,
        &payments,
        &all,
        day(2019, 6, 1),
        &Settings::default()
    )
    .is_empty());
}

#[test]
fn an_end_of_term_evaluation_is_overdue_after_the_set_days() {
    let s = Settings::default();
    // 2019-06-30 + 90 days = 2019-09-28: due that day, overdue after it.
    assert!(check::<u32>(TERMS, &[], &[], day(2019, 9, 28), &s).is_empty());
    assert_eq!(
        check::<u32>(TERMS, &[], &[], day(2019, 9, 29), &s),
        vec![Finding::EvaluationOverdue {
            due: day(2019, 9, 28)
        }]
    );
    let short = Settings {
        overdue_days: 30,
        ..s
    };
    assert_eq!(
        check::<u32>(TERMS, &[], &[], day(2019, 8, 15), &short).len(),
        1
    );
    let fin = [eval(
        1,
        EvaluationType::Final,
        day(2019, 10, 10),
        Grade::Good,
    )];
    assert!(check::<u32>(TERMS, &[], &fin, day(2019, 12, 31), &s).is_empty());
}

#[test]
fn reversals_count_in_the_total_but_are_never_the_final_payment() {
    let payments = [
        pay(day(2019, 1, 1), 10000, 2),
        pay(day(2019, 1, 2), -10000, 3),
        pay(day(2019, 1, 3), 10000, 4),
    ];
    let fin = [eval(1, EvaluationType::Final, day(2019, 1, 3), Grade::Good)];
    let found = check(
        TERMS,
        &payments,
        &fin,
        day(2019, 6, 1),
        &Settings::default(),
    );
    assert!(matches!(
        found[..],
        [Finding::FinalBeforeEvaluation { payment: &2, .. }]
    ));
}
