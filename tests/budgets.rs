//! Budget lines (预算项目): stored and never edited, adjusted by rows of their own; contracts
//! name their line and never commit more than it; the budget report and exceptions. Every
//! refusal names its cell. Both backends.

mod common;

use chrono::NaiveDate;
use common::book::*;
use common::TestDb;
use procure::imports::{import_paths, FileStatus, ImportOptions, ImportReport};
use procure::register::columns::SheetKind;
use procure::reports::{build, Report, ReportName, Request, Scope, Val};
use procure::Lang;

fn opts() -> ImportOptions {
    ImportOptions {
        actor: "test".into(),
        ..Default::default()
    }
}

async fn import(t: &TestDb, file: std::path::PathBuf) -> ImportReport {
    import_paths(&t.db, &[file], &opts(), None).await.unwrap()
}

/// (code, cell, sheet) of each error, in file order.
fn errors(r: &ImportReport) -> Vec<(String, String, String)> {
    r.files
        .iter()
        .flat_map(|f| f.errors.iter())
        .map(|p| {
            (
                p.code.to_string(),
                p.at.cell.clone().unwrap_or_default(),
                p.at.sheet.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn warnings(r: &ImportReport) -> Vec<(String, String)> {
    r.files
        .iter()
        .flat_map(|f| f.warnings.iter())
        .map(|p| (p.code.to_string(), p.at.cell.clone().unwrap_or_default()))
        .collect()
}

const BUDGET_HEADER: [&str; 9] = [
    "预算年度",
    "资金来源",
    "预算项目编码",
    "预算项目名称",
    "服务类别",
    "批复金额（元）",
    "批复文号",
    "批复日期",
    "调整文号",
];

/// A budgets row: A year, B funding, C code, D name, E category, F amount, G document,
/// H date, I adjusted document.
fn line(
    year: f64,
    code: &'static str,
    amount: f64,
    doc: &'static str,
    adjusts: Option<&'static str>,
) -> Vec<V> {
    vec![
        n(year),
        s("财政资金"),
        s(code),
        s("社区养老服务"),
        s("老年服务"),
        n(amount),
        s(doc),
        V::D(d(year as i32, 1, 20)),
        adjusts.map(s).unwrap_or(V::Blank),
    ]
}

/// The contracts header with 预算项目编码 in column L.
fn contract_header() -> Vec<V> {
    let mut h = header(&CONTRACT_HEADER);
    h.push(s("预算项目编码"));
    h
}

/// A contract of 2019 (value in column H, budget code in column L).
fn under(code: &'static str, value: f64, budget: Option<&'static str>) -> Vec<V> {
    let mut r = contract(
        code,
        "居家养老服务",
        "老年服务",
        "甲社会工作服务中心",
        value,
        d(2019, 3, 1),
        d(2019, 12, 31),
    );
    r.push(budget.map(s).unwrap_or(V::Blank));
    r
}

fn book(
    dir: &std::path::Path,
    name: &str,
    budgets: Vec<Vec<V>>,
    contracts: Vec<Vec<V>>,
) -> std::path::PathBuf {
    let mut b = vec![header(&BUDGET_HEADER)];
    b.extend(budgets);
    let mut c = vec![contract_header()];
    c.extend(contracts);
    let mut sheets = Vec::new();
    if c.len() > 1 {
        sheets.push(("项目合同", c));
    }
    if b.len() > 1 {
        sheets.push(("预算", b));
    }
    xlsx(dir, name, &sheets)
}

fn req(name: ReportName, as_of: NaiveDate) -> Request {
    Request {
        name,
        scope: Scope {
            as_of,
            ..Default::default()
        },
        by: Vec::new(),
        lang: Lang::Zh,
        evaluations: Default::default(),
    }
}

async fn report(t: &TestDb, name: ReportName, as_of: NaiveDate) -> Report {
    build(&t.db, &req(name, as_of)).await.unwrap()
}

/// The exceptions of one kind: (code, source) of each.
fn exceptions_of(r: &Report, kind: &str) -> Vec<(String, String)> {
    r.rows
        .iter()
        .filter(|row| row[0].plain() == kind)
        .map(|row| (row[1].plain(), row[5].plain()))
        .collect()
}

both_backends! {
    async fn budget_lines_are_stored_before_the_contracts_of_the_same_file_and_the_same_file_again_is_unchanged(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        // The contracts sheet comes first in the workbook; the budgets are still stored first.
        let file = book(
            dir.path(),
            "b.xlsx",
            vec![
                line(2019.0, "YS-2019-01", 300_000.0, "官财预〔2019〕1号", None),
                line(2019.0, "YS-2019-01", -50_000.0, "官财调〔2019〕7号", Some("官财预〔2019〕1号")),
            ],
            vec![under("GD-001", 100_000.0, Some("YS-2019-01"))],
        );
        let r = import(t, file.clone()).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(r.files[0].counts[&SheetKind::Budgets].inserted, 2);
        assert!(warnings(&r).is_empty(), "{:?}", warnings(&r));
        assert_eq!(t.scalar("SELECT COUNT(*) FROM budget_lines WHERE adjusts_doc IS NOT NULL").await, 1);
        assert_eq!(t.scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM budget_lines").await, 25_000_000);
        let again = import(t, file).await;
        assert_eq!(again.files[0].status, FileStatus::Unchanged);
        assert_eq!(again.files[0].counts[&SheetKind::Budgets].unchanged, 2);
    }
}

both_backends! {
    async fn a_budget_line_given_again_with_another_amount_is_refused_at_the_amount_cell(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let first = book(dir.path(), "1.xlsx", vec![line(2019.0, "YS-2019-01", 300_000.0, "官财预〔2019〕1号", None)], vec![]);
        assert!(import(t, first).await.ok);
        let edited = book(dir.path(), "2.xlsx", vec![line(2019.0, "YS-2019-01", 350_000.0, "官财预〔2019〕1号", None)], vec![]);
        let r = import(t, edited).await;
        assert!(!r.ok);
        assert_eq!(errors(&r), [("budget_line_edited".to_string(), "F2".to_string(), "预算".to_string())]);
        let msg = r.files[0].errors[0].message(Lang::Zh);
        assert!(msg.contains("300000.00") && msg.contains("调整"), "{msg}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM budget_lines").await, 1);
    }
}

both_backends! {
    async fn an_adjustment_naming_another_document_than_its_lines_is_refused_at_the_adjusted_document_cell(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = book(
            dir.path(),
            "b.xlsx",
            vec![
                line(2019.0, "YS-2019-01", 300_000.0, "官财预〔2019〕1号", None),
                line(2019.0, "YS-2019-01", 20_000.0, "官财调〔2019〕7号", Some("官财预〔2019〕9号")),
                line(2019.0, "YS-2019-09", 20_000.0, "官财调〔2019〕8号", Some("官财预〔2019〕1号")),
            ],
            vec![],
        );
        let r = import(t, file).await;
        assert_eq!(
            errors(&r),
            [
                ("budget_adjusts_unknown".to_string(), "I3".to_string(), "预算".to_string()),
                ("budget_adjusts_unknown".to_string(), "I4".to_string(), "预算".to_string()),
            ]
        );
        assert_eq!(t.scalar("SELECT COUNT(*) FROM budget_lines").await, 0);
    }
}

both_backends! {
    async fn the_contract_that_takes_its_line_over_the_budget_is_refused_at_its_value_cell(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let budget = book(dir.path(), "b.xlsx", vec![
            line(2019.0, "YS-2019-01", 300_000.0, "官财预〔2019〕1号", None),
            line(2019.0, "YS-2019-01", 20_000.0, "官财调〔2019〕2号", Some("官财预〔2019〕1号")),
        ], vec![]);
        assert!(import(t, budget).await.ok);
        // 200,000 + 120,000 reaches the adjusted line exactly; 0.01 more crosses it
        let exact = book(dir.path(), "c1.xlsx", vec![], vec![
            under("GD-001", 200_000.0, Some("YS-2019-01")),
            under("GD-002", 120_000.0, Some("YS-2019-01")),
        ]);
        let r = import(t, exact).await;
        assert!(r.ok, "{:?}", errors(&r));
        let over = book(dir.path(), "c2.xlsx", vec![], vec![
            under("GD-001", 200_000.0, Some("YS-2019-01")),
            under("GD-003", 0.01, Some("YS-2019-01")),
        ]);
        let r = import(t, over).await;
        assert_eq!(errors(&r), [("over_budget".to_string(), "H3".to_string(), "项目合同".to_string())]);
        // a value raised over the line is refused too
        let raised = book(dir.path(), "c3.xlsx", vec![], vec![under("GD-002", 120_000.5, Some("YS-2019-01"))]);
        let r = import(t, raised).await;
        assert_eq!(errors(&r), [("over_budget".to_string(), "H2".to_string(), "项目合同".to_string())]);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 2);
    }
}

both_backends! {
    async fn an_unknown_budget_code_is_refused_at_its_cell_and_a_contract_without_one_is_warned(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = book(dir.path(), "c.xlsx", vec![], vec![
            under("GD-001", 100_000.0, Some("YS-NONE")),
        ]);
        let r = import(t, file).await;
        assert_eq!(errors(&r), [("unknown_budget_line".to_string(), "L2".to_string(), "项目合同".to_string())]);
        let file = book(dir.path(), "c2.xlsx", vec![], vec![under("GD-001", 100_000.0, None)]);
        let r = import(t, file).await;
        assert!(r.ok);
        assert_eq!(warnings(&r), [("no_budget".to_string(), "L2".to_string())]);
        let ex = report(t, ReportName::Exceptions, d(2019, 6, 30)).await;
        assert_eq!(exceptions_of(&ex, "无预算项目"), [("GD-001".to_string(), "c2.xlsx 项目合同!2".to_string())]);
    }
}

both_backends! {
    async fn a_line_of_another_year_than_the_signing_is_a_warning_at_the_budget_code_cell(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = book(
            dir.path(),
            "b.xlsx",
            vec![line(2018.0, "YS-2018-05", 300_000.0, "官财预〔2018〕5号", None)],
            vec![under("GD-001", 100_000.0, Some("YS-2018-05"))],
        );
        let r = import(t, file).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(warnings(&r), [("budget_other_year".to_string(), "L2".to_string())]);
        let ex = report(t, ReportName::Exceptions, d(2019, 6, 30)).await;
        assert_eq!(exceptions_of(&ex, "预算年度与签约年度不符"), [("GD-001".to_string(), "b.xlsx 项目合同!2".to_string())]);
    }
}

both_backends! {
    async fn a_cut_below_the_commitments_is_stored_warned_at_its_amount_and_listed(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = book(
            dir.path(),
            "b.xlsx",
            vec![line(2019.0, "YS-2019-01", 300_000.0, "官财预〔2019〕1号", None)],
            vec![under("GD-001", 250_000.0, Some("YS-2019-01"))],
        );
        assert!(import(t, file).await.ok);
        let cut = book(dir.path(), "cut.xlsx", vec![
            line(2019.0, "YS-2019-01", -100_000.0, "官财调〔2019〕9号", Some("官财预〔2019〕1号")),
        ], vec![]);
        let r = import(t, cut).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(warnings(&r), [("budget_overcommitted".to_string(), "F2".to_string())]);
        let ex = report(t, ReportName::Exceptions, d(2019, 6, 30)).await;
        assert_eq!(exceptions_of(&ex, "签约超预算"), [("YS-2019-01".to_string(), "cut.xlsx 预算!2".to_string())]);
        let row = ex.rows.iter().find(|r| r[0].plain() == "签约超预算").unwrap();
        assert_eq!(row[4].plain(), "50000.00");
        // the contract stored before the cut may be uploaded again unchanged; a raise is refused
        let same = book(dir.path(), "same.xlsx", vec![], vec![under("GD-001", 250_000.0, Some("YS-2019-01"))]);
        assert!(import(t, same).await.ok);
        let raised = book(dir.path(), "raised.xlsx", vec![], vec![under("GD-001", 250_000.01, Some("YS-2019-01"))]);
        assert_eq!(errors(&import(t, raised).await)[0].0, "over_budget");
    }
}

both_backends! {
    async fn a_line_under_executed_by_the_end_of_its_year_is_listed_once_the_year_has_ended(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = xlsx(
            dir.path(),
            "b.xlsx",
            &[
                ("预算", vec![
                    header(&BUDGET_HEADER),
                    line(2019.0, "YS-2019-01", 200_000.0, "官财预〔2019〕1号", None),
                    line(2019.0, "YS-2019-02", 100_000.0, "官财预〔2019〕2号", None),
                ]),
                ("项目合同", vec![
                    contract_header(),
                    under("GD-001", 200_000.0, Some("YS-2019-01")),
                    under("GD-002", 100_000.0, Some("YS-2019-02")),
                ]),
                ("拨付", vec![
                    header(&PAYMENT_HEADER),
                    // 99,999.99 of 200,000 by 31 December: under 50%; the rest in January
                    payment("GD-001", d(2019, 12, 31), 99_999.99, "记-1"),
                    payment("GD-001", d(2020, 1, 10), 100_000.01, "记-2"),
                    // exactly half: not under
                    payment("GD-002", d(2019, 6, 1), 50_000.0, "记-3"),
                ]),
            ],
        );
        let r = import(t, file).await;
        assert!(r.ok, "{:?}", errors(&r));
        let before = report(t, ReportName::Exceptions, d(2019, 12, 30)).await;
        assert!(exceptions_of(&before, "预算执行不足").is_empty());
        let after = report(t, ReportName::Exceptions, d(2020, 6, 30)).await;
        assert_eq!(exceptions_of(&after, "预算执行不足"), [("YS-2019-01".to_string(), "b.xlsx 预算!2".to_string())]);
        let row = after.rows.iter().find(|r| r[0].plain() == "预算执行不足").unwrap();
        assert!(row[2].plain().contains("50.00%"), "{}", row[2].plain());
        assert_eq!(row[4].plain(), "100000.01");
    }
}

both_backends! {
    async fn the_budget_report_gives_budget_adjustments_commitments_payments_rates_and_balance(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = xlsx(
            dir.path(),
            "b.xlsx",
            &[
                ("预算", vec![
                    header(&BUDGET_HEADER),
                    line(2019.0, "YS-2019-01", 200_000.0, "官财预〔2019〕1号", None),
                    line(2019.0, "YS-2019-01", -20_000.0, "官财调〔2019〕3号", Some("官财预〔2019〕1号")),
                    line(2019.0, "YS-2019-02", 100_000.0, "官财预〔2019〕2号", None),
                ]),
                ("项目合同", vec![
                    contract_header(),
                    under("GD-001", 150_000.0, Some("YS-2019-01")),
                    under("GD-002", 90_000.0, Some("YS-2019-02")),
                ]),
                ("拨付", vec![
                    header(&PAYMENT_HEADER),
                    payment("GD-001", d(2019, 4, 1), 60_000.0, "记-1"),
                    payment("GD-002", d(2019, 4, 1), 30_000.0, "记-2"),
                    payment("GD-002", d(2019, 8, 1), 30_000.0, "记-3"),
                ]),
            ],
        );
        assert!(import(t, file).await.ok);
        let r = report(t, ReportName::Budget, d(2019, 6, 30)).await;
        let plain = |row: &Vec<Val>| row.iter().map(Val::plain).collect::<Vec<_>>();
        assert_eq!(
            r.rows.iter().map(plain).collect::<Vec<_>>(),
            [[
                "2019", "财政预算", "老年服务", "2", "300000.00", "-20000.00", "280000.00",
                "240000.00", "90000.00", "85.71", "32.14", "190000.00",
            ]]
        );
        assert_eq!(plain(r.total.as_ref().unwrap())[3..], ["2", "300000.00", "-20000.00", "280000.00", "240000.00", "90000.00", "85.71", "32.14", "190000.00"]);
        let statement = r.statement.unwrap();
        assert!(statement.contains("预算执行率32.14%"), "{statement}");
    }
}

both_backends! {
    async fn seeded_registers_come_with_budget_lines_that_cover_every_contract(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let files = procure::sample::generate(&procure::sample::GenerateOptions {
            out: dir.path().to_path_buf(),
            seed: 5,
            contracts: 300,
            payments: 2_000,
            services: 100,
            format: procure::sample::SampleFormat::Csv,
        })
        .unwrap();
        let find = |name: &str| files.iter().find(|p| p.ends_with(name)).unwrap().clone();
        let r = import_paths(&t.db, &[find("budgets.csv"), find("contracts.csv"), find("disbursements.csv")], &opts(), None).await.unwrap();
        assert!(r.ok, "{:?}", errors(&r));
        assert!(warnings(&r).iter().all(|w| w.0 == "payment_outside_term" || w.0 == "term_over_1_year"), "{:?}", warnings(&r));
        assert!(t.scalar("SELECT COUNT(*) FROM budget_lines").await > 10);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts WHERE budget_code IS NULL").await, 0);
    }
}

both_backends! {
    async fn a_budgets_csv_in_wan_yuan_with_an_adjustment_above_its_line_is_stored_and_bad_cells_are_named(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        // 万元 scales the column; the adjustment may come before the line it adjusts.
        let ok = write(
            dir.path(),
            "budgets.csv",
            "预算年度,资金来源,预算项目编码,预算项目名称,批复金额（万元）,批复文号,批复日期,调整文号\n\
             2019,上级补助,YS-9,助残服务,-1.5,官财调〔2019〕2号,2019-05-01,官财预〔2019〕1号\n\
             2019,上级补助,YS-9,助残服务,30,官财预〔2019〕1号,2019-01-20,\n",
        );
        let r = import(t, ok).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(t.scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM budget_lines").await, 28_500_000);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM budget_lines WHERE funding = 'higher_grant'").await, 2);
        let bad = write(
            dir.path(),
            "bad.csv",
            "预算年度,资金来源,预算项目编码,预算项目名称,批复金额（元）,批复文号,批复日期,调整文号\n\
             19,财政资金,YS-1,社区服务,1000,官财预〔2019〕3号,2019-01-20,\n\
             2019,财政资金,YS-9,助残服务,0,官财调〔2019〕5号,2019-05-01,官财预〔2019〕1号\n\
             2019,财政资金,YS-2,社区服务,-5,官财预〔2019〕4号,2019-01-20,\n\
             2019,自有资金,YS-3,社区服务,5,官财预〔2019〕6号,2019-01-20,\n",
        );
        let r = import(t, bad).await;
        let sheet = "bad".to_string();
        assert_eq!(
            errors(&r),
            [
                ("bad_year".to_string(), "A2".to_string(), sheet.clone()),
                ("budget_adjustment_zero".to_string(), "E3".to_string(), sheet.clone()),
                ("not_positive".to_string(), "E4".to_string(), sheet.clone()),
                ("bad_value".to_string(), "B5".to_string(), sheet),
            ]
        );
        assert_eq!(t.scalar("SELECT COUNT(*) FROM budget_lines").await, 2);
    }
}

both_backends! {
    async fn the_under_execution_threshold_is_set_by_flag_or_environment_for_report(t: &TestDb) {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx");
        let r = import_paths(&t.db, &[sample], &opts(), None).await.unwrap();
        assert!(r.ok);
        let under = |flag: Option<&str>, env: Option<&str>| {
            let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_procure"));
            c.args(["--database", &t.url, "report", "exceptions", "--as-of", "2019-06-30", "--format", "csv", "--output", "-"]);
            c.env_remove("PROCURE_BUDGET_UNDEREXECUTED_PCT");
            if let Some(f) = flag {
                c.args(["--budget-underexecuted-pct", f]);
            }
            if let Some(e) = env {
                c.env("PROCURE_BUDGET_UNDEREXECUTED_PCT", e);
            }
            let out = c.output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let text = String::from_utf8(out.stdout).unwrap();
            text.lines().filter(|l| l.starts_with("预算执行不足")).map(|l| l.split(',').nth(1).unwrap().to_string()).collect::<Vec<_>>()
        };
        // The default is 50%: the planted line and ten more whose final tranches fell in the next year.
        assert_eq!(under(None, None).len(), 11);
        // Under 14%: the 2018 line at 13.70% only (and 2017-05 at 15.75% is not).
        assert_eq!(under(Some("14"), None), ["YS-2018-11"]);
        assert_eq!(under(None, Some("14")), ["YS-2018-11"]);
        assert!(under(Some("0"), None).is_empty());
        let bad = std::process::Command::new(env!("CARGO_BIN_EXE_procure"))
            .args(["--database", &t.url, "report", "exceptions", "--budget-underexecuted-pct", "120"])
            .output()
            .unwrap();
        assert!(!bad.status.success());
    }
}
