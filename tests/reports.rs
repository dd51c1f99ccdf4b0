//! Reports: totals equal the sum of their rows and an independent SQL sum; as-of and
//! as-recorded boundaries; every grouping; CSV safety; CJK alignment; the sample reports in
//! `reports/` regenerate byte for byte. Both backends.

mod common;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use common::book::*;
use common::TestDb;
use procure::imports::{import_paths, ImportOptions};
use procure::reports::writers::{self, OutputFormat};
use procure::reports::{build, Dim, Report, ReportName, Request, Scope, Val};
use procure::{Lang, Money};
use sea_orm::ConnectionTrait;
use unicode_width::UnicodeWidthStr;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx")
}

async fn load(t: &TestDb, files: &[PathBuf]) {
    let opts = ImportOptions {
        actor: "test".into(),
        ..Default::default()
    };
    let r = import_paths(&t.db, files, &opts, None).await.unwrap();
    assert!(
        r.ok,
        "{:?}",
        r.files
            .iter()
            .flat_map(|f| f.errors.iter().take(3))
            .collect::<Vec<_>>()
    );
}

async fn scalar(t: &TestDb, sql: &str) -> i64 {
    t.scalar(sql).await
}

fn req(name: ReportName, as_of: NaiveDate, by: &[Dim]) -> Request {
    Request {
        name,
        scope: Scope {
            as_of,
            ..Default::default()
        },
        by: by.to_vec(),
        lang: Lang::Zh,
        evaluations: Default::default(),
    }
}

async fn report(t: &TestDb, r: &Request) -> Report {
    build(&t.db, r).await.unwrap()
}

fn col(r: &Report, key: &str) -> usize {
    r.columns
        .iter()
        .position(|c| c.key == key)
        .unwrap_or_else(|| panic!("no column {key}"))
}

fn fen(v: &Val) -> i64 {
    match v {
        Val::Money(m) => m.fen(),
        Val::Int(i) => *i,
        Val::Empty => 0,
        other => panic!("not a number: {other:?}"),
    }
}

/// Every numeric column of the total row is the exact sum of the rows above it.
fn assert_total_is_sum_of_rows(r: &Report, keys: &[&str]) {
    let total = r.total.as_ref().expect("a total row");
    for key in keys {
        let c = col(r, key);
        let sum: i64 = r.rows.iter().map(|row| fen(&row[c])).sum();
        assert_eq!(fen(&total[c]), sum, "{} total of {key}", r.name);
    }
}

both_backends! {
    async fn the_summary_matches_the_bureau_figures_and_an_independent_sum(t: &TestDb) {
        load(t, &[sample()]).await;
        let r = report(t, &req(ReportName::Summary, day(2019, 6, 30), &[])).await;
        assert_total_is_sum_of_rows(&r, &["contracts", "value", "disbursed", "remaining", "people", "sessions"]);
        let total = r.total.clone().unwrap();
        assert_eq!(fen(&total[col(&r, "contracts")]), 97);
        let value = scalar(t, "SELECT CAST(SUM(value_fen) AS BIGINT) FROM contracts").await;
        assert_eq!(fen(&total[col(&r, "value")]), value);
        let paid = scalar(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements WHERE paid_on <= '2019-06-30'").await;
        assert_eq!(fen(&total[col(&r, "disbursed")]), paid);
        let people = scalar(t, "SELECT CAST(SUM(new_people) AS BIGINT) FROM service_reports WHERE period_end <= '2019-06-30'").await;
        assert_eq!(fen(&total[col(&r, "people")]), people);
        let wan = Money::from_fen(value).wan();
        let people_wan = format!("{:.2}", people as f64 / 10_000.0);
        assert_eq!(
            r.statement.as_deref().unwrap(),
            format!("截至2019年6月30日，共购买社会组织专业服务项目97个，累计资金{wan}万元，服务群众{people_wan}万人。")
        );
        let en = build(&t.db, &Request { lang: Lang::En, ..req(ReportName::Summary, day(2019, 6, 30), &[]) }).await.unwrap();
        assert!(en.statement.unwrap().starts_with("As of 30 June 2019, 97 professional service projects"));
    }
}

both_backends! {
    async fn every_grouping_totals_to_the_same_figures(t: &TestDb) {
        load(t, &[sample()]).await;
        let as_of = day(2019, 6, 30);
        let overall = report(t, &req(ReportName::Summary, as_of, &[])).await;
        let paid = fen(&overall.total.as_ref().unwrap()[col(&overall, "disbursed")]);
        let people = fen(&overall.total.as_ref().unwrap()[col(&overall, "people")]);
        let dims = [Dim::Category, Dim::Provider, Dim::Street, Dim::Community, Dim::Purchaser, Dim::Funding, Dim::Method, Dim::Month, Dim::Quarter, Dim::Year];
        for d in dims {
            let spend = report(t, &req(ReportName::Spend, as_of, &[d])).await;
            assert_total_is_sum_of_rows(&spend, &["disbursed"]);
            assert_eq!(fen(&spend.total.as_ref().unwrap()[col(&spend, "disbursed")]), paid, "spend by {d:?}");
            let ben = report(t, &req(ReportName::Beneficiaries, as_of, &[d])).await;
            assert_total_is_sum_of_rows(&ben, &["people", "sessions"]);
            assert_eq!(fen(&ben.total.as_ref().unwrap()[col(&ben, "people")]), people, "people by {d:?}");
        }
        // two dimensions at once, and a running total that ends at the total
        let r = report(t, &req(ReportName::Spend, as_of, &[Dim::Category, Dim::Year])).await;
        assert_total_is_sum_of_rows(&r, &["disbursed", "committed"]);
        let by_month = report(t, &req(ReportName::Spend, as_of, &[Dim::Month])).await;
        let last = by_month.rows.last().unwrap();
        assert_eq!(fen(&last[col(&by_month, "cumulative_disbursed")]), paid);
        // a filter narrows every figure
        let mut elderly = req(ReportName::Summary, as_of, &[]);
        elderly.scope.category = Some(procure::contracts::Category::Elderly);
        let e = report(t, &elderly).await;
        assert_eq!(fen(&e.total.unwrap()[1]), fen(&overall.rows[0][1]));
    }
}

/// A register with one contract and payments around a date.
fn tiny(dir: &Path) -> PathBuf {
    xlsx(
        dir,
        "tiny.xlsx",
        &[
            (
                "合同",
                vec![
                    header(&CONTRACT_HEADER),
                    contract(
                        "GD-001",
                        "=HYPERLINK(\"x\")",
                        "老年服务",
                        "甲中心",
                        1_000.0,
                        day(2019, 1, 1),
                        day(2019, 12, 31),
                    ),
                ],
            ),
            (
                "拨付",
                vec![
                    header(&PAYMENT_HEADER),
                    payment("GD-001", day(2019, 6, 30), 100.0, "V1"),
                    payment("GD-001", day(2019, 7, 1), 200.0, "V2"),
                ],
            ),
            (
                "服务",
                vec![
                    header(&SERVICE_HEADER),
                    vec![s("GD-001"), s("2019-06"), n(10.0), V::Blank, n(30.0)],
                    vec![s("GD-001"), s("2019-07"), n(5.0), V::Blank, n(9.0)],
                ],
            ),
        ],
    )
}

both_backends! {
    async fn as_of_counts_the_day_itself_and_not_the_next(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        load(t, &[tiny(dir.path())]).await;
        let on = report(t, &req(ReportName::Summary, day(2019, 6, 30), &[])).await;
        let next = report(t, &req(ReportName::Summary, day(2019, 7, 1), &[])).await;
        let before = report(t, &req(ReportName::Summary, day(2019, 6, 29), &[])).await;
        let paid = |r: &Report| fen(&r.total.as_ref().unwrap()[col(r, "disbursed")]);
        let people = |r: &Report| fen(&r.total.as_ref().unwrap()[col(r, "people")]);
        assert_eq!((paid(&before), paid(&on), paid(&next)), (0, 10_000, 30_000));
        // June's report ends on the 30th: counted as of the 30th, not the 29th
        assert_eq!((people(&before), people(&on), people(&next)), (0, 10, 10));
        // a contract signed after the date is not counted
        let early = report(t, &req(ReportName::Summary, day(2018, 12, 31), &[])).await;
        assert_eq!(fen(&early.total.as_ref().unwrap()[col(&early, "contracts")]), 0);
    }
}

both_backends! {
    async fn as_recorded_reproduces_a_published_report_after_corrections(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        load(t, &[tiny(dir.path())]).await;
        // The first import happened on 2019-07-05 (China time).
        t.db.execute_unprepared("UPDATE import_batches SET recorded_at = '2019-07-05 02:00:00+00:00'").await.unwrap();
        if t.backend() == "postgres" {
            t.db.execute_unprepared("UPDATE import_batches SET recorded_at = TIMESTAMPTZ '2019-07-05 02:00:00+00'").await.unwrap();
        }
        let published = |name| {
            let mut r = req(name, day(2019, 7, 31), &[]);
            r.scope.as_recorded = Some(day(2019, 7, 5));
            r
        };
        let mut before = Vec::new();
        for name in [ReportName::Summary, ReportName::Contracts, ReportName::Exceptions] {
            before.push(writers::csv(&report(t, &published(name)).await).unwrap());
        }
        // Later: the value is corrected, a payment and a reversal come in, June's people change.
        let fix = xlsx(dir.path(), "fix.xlsx", &[
            ("合同", vec![header(&CONTRACT_HEADER), contract("GD-001", "居家养老", "老年服务", "甲中心", 2_000.0, day(2019, 1, 1), day(2019, 12, 31))]),
            ("拨付", vec![
                header(&PAYMENT_HEADER),
                payment("GD-001", day(2019, 7, 2), 300.0, "V3"),
                vec![s("GD-001"), V::D(day(2019, 7, 3)), n(-200.0), s("V4"), V::Blank, s("V2")],
            ]),
            ("服务", vec![header(&SERVICE_HEADER), vec![s("GD-001"), s("2019-06"), n(12.0), V::Blank, n(30.0)]]),
        ]);
        load(t, &[fix]).await;
        let now = report(t, &req(ReportName::Summary, day(2019, 7, 31), &[])).await;
        assert_eq!(fen(&now.total.as_ref().unwrap()[col(&now, "value")]), 200_000);
        for (i, name) in [ReportName::Summary, ReportName::Contracts, ReportName::Exceptions].into_iter().enumerate() {
            let again = writers::csv(&report(t, &published(name)).await).unwrap();
            assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&before[i]), "{name:?}");
        }
        // the history shows the correction with its batch and file
        let h = report(t, &req(ReportName::History, day(2030, 1, 1), &[])).await;
        let text = String::from_utf8(writers::csv(&h).unwrap()).unwrap();
        assert!(text.contains("fix.xlsx") && text.contains("1000.00,2000.00"), "{text}");
    }
}

both_backends! {
    async fn csv_is_safe_for_excel_and_json_carries_its_hash(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        load(t, &[tiny(dir.path())]).await;
        let r = report(t, &req(ReportName::Contracts, day(2019, 7, 31), &[])).await;
        let bytes = writers::csv(&r).unwrap();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "BOM");
        let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
        assert!(text.contains("\r\n") && !text.replace("\r\n", "").contains('\n'), "CRLF only");
        assert!(text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "formula defused: {text}");
        assert!(text.contains(",1000.00,300.00,700.00,"), "plain amounts: {text}");
        // Every row ends its line, the one-cell dates row below the table too.
        assert!(text.ends_with("\r\n"), "the last row is ended: {text}");
        let rows: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
            .flexible(true)
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .collect::<Result<_, _>>()
            .unwrap();
        let last = rows.last().unwrap();
        assert_eq!(last.len(), 1, "the dates row is a row of its own: {last:?}");
        assert!(last[0].starts_with("项目合同明细"), "{last:?}");
        let doc = writers::json_doc(&r);
        assert_eq!(doc["rows"][0]["value"], "1000.00");
        assert_eq!(doc["sha256"].as_str().unwrap(), writers::content_sha256(&r));
        assert_eq!(doc["as_of"], "2019-07-31");
        // the XLSX is reproducible and carries the same hash
        let a = writers::xlsx(&r).unwrap();
        assert_eq!(a, writers::xlsx(&r).unwrap());
    }
}

both_backends! {
    async fn the_terminal_table_aligns_chinese_text(t: &TestDb) {
        load(t, &[sample()]).await;
        let r = report(t, &req(ReportName::Spend, day(2019, 6, 30), &[Dim::Street])).await;
        let table = writers::table(&r);
        let lines: Vec<&str> = table.lines().skip(1).collect();
        let width = lines[1].width();
        for l in &lines[..lines.len()] {
            assert!(l.width() <= width, "{l}");
        }
        // numbers are right-aligned: every data line ends at the same column
        let data: Vec<&&str> = lines.iter().filter(|l| l.ends_with(char::is_numeric)).collect();
        assert!(data.iter().all(|l| l.width() == width), "{table}");
    }
}

/// The sample reports committed in `reports/`, made from the sample register.
const SAMPLES: [(&str, ReportName, &[Dim]); 7] = [
    ("summary-2019-06-30.csv", ReportName::Summary, &[]),
    (
        "spend-by-category-2019-06-30.csv",
        ReportName::Spend,
        &[Dim::Category],
    ),
    (
        "beneficiaries-by-street-2019-06-30.csv",
        ReportName::Beneficiaries,
        &[Dim::Street],
    ),
    ("contracts-2019-06-30.csv", ReportName::Contracts, &[]),
    ("exceptions-2019-06-30.csv", ReportName::Exceptions, &[]),
    ("budget-2019-06-30.csv", ReportName::Budget, &[]),
    ("providers-2019-06-30.csv", ReportName::Providers, &[]),
];

both_backends! {
    async fn the_sample_reports_regenerate_byte_for_byte(t: &TestDb) {
        load(t, &[sample()]).await;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
        for (file, name, by) in SAMPLES {
            let bytes = writers::write(&report(t, &req(name, day(2019, 6, 30), by)).await, OutputFormat::Csv).unwrap();
            let path = dir.join(file);
            // PROCURE_BLESS=1 rewrites them after an intended change (then review the diff).
            if std::env::var("PROCURE_BLESS").is_ok() && t.backend() == "sqlite" {
                std::fs::write(&path, &bytes).unwrap();
            }
            let committed = std::fs::read(&path).unwrap_or_else(|_| panic!("{} is missing: run PROCURE_BLESS=1 cargo test --test reports sample_reports", path.display()));
            assert!(committed == bytes, "{file} differs from what the program makes now on {}", t.backend());
        }
    }
}

both_backends! {
    async fn a_stored_title_longer_than_an_excel_cell_is_cut_not_a_failed_export(t: &TestDb) {
        use calamine::{Reader, Xlsx};
        let dir = tempfile::tempdir().unwrap();
        load(t, &[tiny(dir.path())]).await;
        // Imports refuse such a title now; an older ledger may hold one.
        let long = "居".repeat(40_000);
        t.db.execute_unprepared(&format!("UPDATE contracts SET title = '{long}' WHERE code = 'GD-001'"))
            .await
            .unwrap();
        let r = report(t, &req(ReportName::Contracts, day(2019, 7, 31), &[])).await;
        let bytes = writers::write(&r, OutputFormat::Xlsx).expect("the export does not fail");
        let mut wb = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
        let range = wb.worksheet_range("contracts").unwrap();
        let cell = range
            .cells()
            .map(|(_, _, c)| c.to_string())
            .find(|c| c.starts_with("居居居"))
            .expect("the title's cell");
        assert!(cell.encode_utf16().count() <= 32_767, "{}", cell.chars().count());
        assert!(cell.ends_with("…〔已截断：原文共 40000 个字符〕"), "{}", &cell[cell.len() - 60..]);
        // The formats without a cell limit carry the title whole.
        let csv = String::from_utf8(writers::csv(&r).unwrap()).unwrap();
        assert!(csv.contains(&long));
        assert_eq!(writers::json_doc(&r)["rows"][0]["title"], long.as_str());
    }
}
