use super::*;
use crate::register::records::Source;

fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn rec(year: i32, code: &str, amount: i64, doc: &str, adjusts: Option<&str>) -> BudgetRecord {
    BudgetRecord {
        src: Source {
            sheet: "预算".into(),
            row: 2,
        },
        year,
        funding: FundingSource::Budget,
        code: code.into(),
        name: "社区养老服务".into(),
        category: Some(Category::Elderly),
        amount: Money::from_fen(amount),
        approval_doc: doc.into(),
        approval_date: date("2019-01-15"),
        adjusts: adjusts.map(str::to_string),
    }
}

fn line(id: i64, year: i32, code: &str) -> Line {
    Line::from_record(id, &rec(year, code, 10_000_000, "官财预〔2019〕1号", None))
}

#[test]
fn a_new_line_then_the_same_line_again_is_unchanged() {
    let r = rec(2019, "YS-01", 10_000_000, "官财预〔2019〕1号", None);
    assert_eq!(judge(&r, None), Verdict::NewLine);
    let l = Line::from_record(1, &r);
    assert_eq!(judge(&r, Some(&l)), Verdict::Unchanged);
}

#[test]
fn a_line_given_again_with_another_amount_is_an_edit_named_at_the_amount() {
    let l = line(1, 2019, "YS-01");
    let r = rec(2019, "YS-01", 9_000_000, "官财预〔2019〕1号", None);
    assert_eq!(
        judge(&r, Some(&l)),
        Verdict::Edited {
            field: Field::Approved,
            recorded: "100000.00".into()
        }
    );
    let r = rec(2019, "YS-01", 10_000_000, "官财预〔2019〕9号", None);
    assert!(matches!(
        judge(&r, Some(&l)),
        Verdict::Edited {
            field: Field::ApprovalDoc,
            ..
        }
    ));
}

#[test]
fn an_adjustment_must_name_the_lines_approval_document() {
    let mut l = line(1, 2019, "YS-01");
    let ok = rec(
        2019,
        "YS-01",
        -2_000_000,
        "官财调〔2019〕3号",
        Some("官财预〔2019〕1号"),
    );
    assert_eq!(judge(&ok, Some(&l)), Verdict::NewAdjustment);
    let wrong = rec(
        2019,
        "YS-01",
        -2_000_000,
        "官财调〔2019〕3号",
        Some("官财预〔2019〕2号"),
    );
    assert_eq!(
        judge(&wrong, Some(&l)),
        Verdict::AdjustsUnknown {
            line_doc: Some("官财预〔2019〕1号".into())
        }
    );
    assert_eq!(judge(&ok, None), Verdict::AdjustsUnknown { line_doc: None });
    l.adjustments.push(Adjustment {
        id: 2,
        doc: "官财调〔2019〕3号".into(),
        date: date("2019-01-15"),
        amount: Money::from_fen(-2_000_000),
    });
    assert_eq!(judge(&ok, Some(&l)), Verdict::Unchanged);
    assert_eq!(l.total_fen(), 8_000_000);
    let changed = rec(
        2019,
        "YS-01",
        -3_000_000,
        "官财调〔2019〕3号",
        Some("官财预〔2019〕1号"),
    );
    assert!(matches!(
        judge(&changed, Some(&l)),
        Verdict::Edited {
            field: Field::Approved,
            ..
        }
    ));
}

#[test]
fn a_contract_takes_the_line_of_its_signing_year_else_the_latest_earlier_one() {
    let lines = [
        line(1, 2017, "YS-01"),
        line(2, 2018, "YS-01"),
        line(3, 2020, "YS-01"),
        line(4, 2019, "YS-02"),
    ];
    assert_eq!(resolve("YS-02", 2019, &lines), Resolved::Same(&lines[3]));
    assert_eq!(resolve("YS-01", 2019, &lines), Resolved::Other(&lines[1]));
    assert_eq!(resolve("YS-01", 2016, &lines), Resolved::Other(&lines[0]));
    assert_eq!(resolve("YS-01", 2018, &lines), Resolved::Same(&lines[1]));
    assert_eq!(resolve("YS-09", 2019, &lines), Resolved::Unknown);
}

#[test]
fn a_cut_approved_after_a_contract_was_signed_does_not_count_against_that_contract() {
    let mut l = line(1, 2019, "YS-01");
    l.adjustments.push(Adjustment {
        id: 2,
        doc: "官财调〔2019〕3号".into(),
        date: date("2019-06-12"),
        amount: Money::from_fen(-3_000_000),
    });
    l.adjustments.push(Adjustment {
        id: 3,
        doc: "官财调〔2019〕4号".into(),
        date: date("2019-09-01"),
        amount: Money::from_fen(500_000),
    });
    assert_eq!(l.total_fen(), 7_500_000);
    assert_eq!(l.limit_for(date("2019-03-01")), 10_500_000);
    assert_eq!(l.limit_for(date("2019-06-12")), 7_500_000);
}

#[test]
fn commitments_may_reach_the_line_but_not_cross_it() {
    assert!(!crosses(100, 60, 40));
    assert!(crosses(100, 60, 41));
    // a lower value never crosses, even on a line already over
    assert!(!crosses(100, 120, -10));
    assert!(!crosses(100, 120, 0));
}

#[test]
fn under_execution_is_judged_exactly_against_the_setting() {
    let s = Settings::default();
    assert!(underexecuted(10_000, 4_999, &s));
    assert!(!underexecuted(10_000, 5_000, &s));
    assert!(!underexecuted(0, 0, &s));
    let strict = Settings {
        underexecuted_below_pct: parse_pct("62.5").unwrap(),
    };
    assert!(underexecuted(10_000, 6_249, &strict));
    assert!(!underexecuted(10_000, 6_250, &strict));
    assert!(parse_pct("101").is_err());
    assert!(parse_pct("50.125").is_err());
    assert!(year_ended(2018, date("2018-12-31")));
    assert!(!year_ended(2019, date("2019-06-30")));
}
