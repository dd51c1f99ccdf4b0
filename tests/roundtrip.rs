//! The register round trip: the ledger exported in the import template's layout, imported
//! into an empty database, gives every report byte for byte (the file a row came from aside),
//! and imported into the ledger it came from changes nothing. For the sample and for seeded
//! ledgers; both backends.

mod common;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use clap::ValueEnum;
use common::TestDb;
use procure::imports::{import_paths, FileStatus, ImportOptions, ImportReport};
use procure::reports::register::{self, RegisterFormat};
use procure::reports::writers::{self, OutputFormat};
use procure::reports::{build, Dim, ReportName, Request, Scope};
use procure::Lang;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn sample() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx")
}

fn opts() -> ImportOptions {
    ImportOptions {
        actor: "test".into(),
        ..Default::default()
    }
}

async fn import(t: &TestDb, files: &[PathBuf]) -> ImportReport {
    let r = import_paths(&t.db, files, &opts(), None).await.unwrap();
    assert!(
        r.ok,
        "{:?}",
        r.files
            .iter()
            .flat_map(|f| f.errors.iter().take(3))
            .collect::<Vec<_>>()
    );
    r
}

/// A second fresh database on the same backend as `t`.
async fn another(t: &TestDb) -> TestDb {
    match t.backend() {
        "postgres" => common::postgres(&common::postgres_url().unwrap()).await,
        _ => common::sqlite().await,
    }
}

/// The ledger exported into `dir`: the workbook, or the csv files in the order to import them.
async fn export(t: &TestDb, dir: &Path, format: RegisterFormat) -> Vec<PathBuf> {
    let reg = register::load(&t.db, None).await.unwrap();
    match format {
        RegisterFormat::Xlsx => {
            let path = dir.join("exported.xlsx");
            std::fs::write(&path, register::xlsx(&reg, None).unwrap()).unwrap();
            vec![path]
        }
        RegisterFormat::Csv => register::csvs(&reg)
            .unwrap()
            .into_iter()
            .map(|(name, bytes)| {
                let path = dir.join(name);
                std::fs::write(&path, bytes).unwrap();
                path
            })
            .collect(),
    }
}

/// Every report, as of dates across the ledger's years, grouped and not, as CSV with the
/// file names a row came from replaced by `FILE` (`names`: longest first).
async fn every_report(t: &TestDb, names: &[&str]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let dates = [
        day(2017, 12, 31),
        day(2018, 9, 15),
        day(2019, 6, 30),
        day(2019, 12, 31),
        day(2021, 6, 30),
    ];
    for name in ReportName::value_variants() {
        for as_of in dates {
            for by in [vec![], vec![Dim::Category], vec![Dim::Street, Dim::Month]] {
                let req = Request {
                    name: *name,
                    scope: Scope {
                        as_of,
                        ..Default::default()
                    },
                    by: by.clone(),
                    lang: Lang::Zh,
                    evaluations: Default::default(),
                };
                let Ok(report) = build(&t.db, &req).await else {
                    continue;
                };
                let bytes = writers::write(&report, OutputFormat::Csv).unwrap();
                let mut text = String::from_utf8(bytes).unwrap();
                for n in names {
                    text = text.replace(n, "FILE");
                }
                out.push((format!("{} {as_of} {by:?}", name.code()), text));
            }
        }
    }
    out
}

/// Reports with each row's whole source (file, sheet and row, after `every_report` has
/// named the file `FILE`) set aside: where a row sits in an exported file is not where it sat
/// in the file it was first imported from when it came from another (a workbook's rows are
/// numbered differently from csv rows; a correction's rows join the one file of their sheet).
fn without_sources(v: Vec<(String, String)>) -> Vec<(String, String)> {
    v.into_iter()
        .map(|(l, text)| {
            let rows: Vec<String> = text
                .lines()
                .map(|line| {
                    line.split(',')
                        .filter(|cell| !cell.starts_with("FILE"))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect();
            (l, rows.join("\n"))
        })
        .collect()
}

/// The lines of one report text that the other lacks, each way (a report can be long).
fn differing_lines(x: &str, y: &str) -> String {
    let only = |a: &str, b: &str| {
        let b: std::collections::HashSet<&str> = b.lines().collect();
        a.lines()
            .filter(|l| !b.contains(l))
            .collect::<Vec<_>>()
            .join("\n")
    };
    format!(
        "before only:\n{}\n---\nafter only:\n{}",
        only(x, y),
        only(y, x)
    )
}

/// A seeded ledger generated as csv into `dir` and imported; its files in the order
/// imported (budgets, contracts, disbursements, services, evaluations).
async fn seeded(
    t: &TestDb,
    dir: &Path,
    seed: u64,
    contracts: usize,
    payments: usize,
    services: usize,
) -> Vec<PathBuf> {
    let files = procure::sample::generate(&procure::sample::GenerateOptions {
        out: dir.to_path_buf(),
        seed,
        contracts,
        payments,
        services,
        format: procure::sample::SampleFormat::Csv,
    })
    .unwrap();
    let order = [
        "budgets.csv",
        "contracts.csv",
        "disbursements.csv",
        "services.csv",
        "evaluations.csv",
    ]
    .map(|name| files.iter().find(|p| p.ends_with(name)).unwrap().clone());
    import(t, &order).await;
    order.to_vec()
}

/// What a round trip compares of each report.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Sources {
    /// Every cell, each row's source too (its file named `FILE`): every row of the ledger
    /// came from the file of its sheet, in order.
    Kept,
    /// Every cell but the row's source: later files corrected the ledger.
    SetAside,
}

/// Imports the export of `a` into an empty database and into `a` itself, and compares.
async fn round_trip(a: &TestDb, format: RegisterFormat, original: &[&str], sources: Sources) {
    let dir = tempfile::tempdir().unwrap();
    let files = export(a, dir.path(), format).await;
    let b = another(a).await;
    let r = import(&b, &files).await;
    assert!(r.files.iter().all(|f| f.status == FileStatus::Stored));

    let exported: Vec<String> = files
        .iter()
        .map(|f| f.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let mut exported: Vec<&str> = exported.iter().map(String::as_str).collect();
    exported.sort_by_key(|n| std::cmp::Reverse(n.len()));
    let (mut before, mut after) = (
        every_report(a, original).await,
        every_report(&b, &exported).await,
    );
    if sources == Sources::SetAside {
        before = without_sources(before);
        after = without_sources(after);
    }
    assert_eq!(before.len(), after.len());
    assert!(before.len() > 50, "{}", before.len());
    for ((label, x), (_, y)) in before.iter().zip(&after) {
        assert!(
            x == y,
            "{label} differs after the round trip:\n{}",
            differing_lines(x, y)
        );
    }
    // Exporting the copy gives the same rows again.
    let again = tempfile::tempdir().unwrap();
    let files_again = export(&b, again.path(), format).await;
    for (x, y) in files.iter().zip(&files_again) {
        if format == RegisterFormat::Csv {
            assert_eq!(
                std::fs::read(x).unwrap(),
                std::fs::read(y).unwrap(),
                "{x:?}"
            );
        }
    }

    // Into the ledger it came from: every row unchanged, nothing written.
    let batches = a.scalar("SELECT COUNT(*) FROM import_batches").await;
    let r = import(a, &files).await;
    for f in &r.files {
        assert_eq!(f.status, FileStatus::Unchanged, "{}", f.file);
        assert!(f.total.read > 0);
        assert_eq!(
            f.total.unchanged, f.total.read,
            "{}: {:?}",
            f.file, f.counts
        );
    }
    assert_eq!(
        a.scalar("SELECT COUNT(*) FROM import_batches").await,
        batches
    );
}

both_backends! {
    async fn the_sample_exported_as_a_workbook_reimports_to_the_same_reports_and_changes_nothing_at_home(t: &TestDb) {
        import(t, &[sample()]).await;
        round_trip(t, RegisterFormat::Xlsx, &["sample-register.xlsx"], Sources::Kept).await;
    }
}

both_backends! {
    async fn the_sample_exported_as_a_workbook_has_every_row_and_a_fill_in_sheet(t: &TestDb) {
        import(t, &[sample()]).await;
        let dir = tempfile::tempdir().unwrap();
        let files = export(t, dir.path(), RegisterFormat::Xlsx).await;
        use calamine::Reader;
        let mut wb: calamine::Xlsx<_> = calamine::open_workbook(&files[0]).unwrap();
        assert_eq!(wb.sheet_names(), ["填写说明", "项目合同", "拨付记录", "服务统计", "预算项目", "绩效评价"]);
        // title, note, header, records, 合计
        let rows = |wb: &mut calamine::Xlsx<_>, s: &str| wb.worksheet_range(s).unwrap().height();
        assert_eq!(rows(&mut wb, "项目合同"), 97 + 4);
        let payments = t.scalar("SELECT COUNT(*) FROM disbursements").await as usize;
        assert_eq!(rows(&mut wb, "拨付记录"), payments + 3);
        // the reversal names the voucher it cancels
        let range = wb.worksheet_range("拨付记录").unwrap();
        let reversals = range.rows().filter(|r| !r[5].to_string().is_empty() && r[5] != "冲销凭证号").count();
        assert_eq!(reversals, 1);
    }
}

both_backends! {
    async fn a_seeded_ledger_exported_as_csv_reimports_to_the_same_reports_and_changes_nothing_at_home(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        seeded(t, dir.path(), 11, 60, 1_200, 500).await;
        round_trip(t, RegisterFormat::Csv, &["disbursements.csv", "evaluations.csv", "contracts.csv", "services.csv", "budgets.csv"], Sources::Kept).await;
    }
}

both_backends! {
    async fn a_seeded_ledger_exported_as_a_workbook_reimports_to_the_same_reports(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        seeded(t, dir.path(), 3, 40, 800, 300).await;
        // From csv rows to a workbook's: the rows are numbered differently, so the whole
        // source (file, sheet and row) is set aside, as batch names are.
        let b = another(t).await;
        let out = tempfile::tempdir().unwrap();
        let exported = export(t, out.path(), RegisterFormat::Xlsx).await;
        import(&b, &exported).await;
        let before = without_sources(every_report(t, &["disbursements.csv", "evaluations.csv", "contracts.csv", "services.csv", "budgets.csv"]).await);
        let after = without_sources(every_report(&b, &["exported.xlsx"]).await);
        assert_eq!(before.len(), after.len());
        for ((label, x), (_, y)) in before.iter().zip(&after) {
            assert!(x == y, "{label} differs after the round trip:\n{x}\n---\n{y}");
        }
    }
}

/// The csv rows of `file` (after its header) whose first cell is `code`.
fn rows_of(file: &Path, code: &str) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(file).unwrap();
    r.records()
        .map(|x| x.unwrap().iter().map(str::to_string).collect::<Vec<_>>())
        .filter(|x| x[0] == code)
        .collect()
}

/// A csv file with `header` and `rows`, as the import template writes it.
fn write_csv(path: &Path, header: &csv::StringRecord, rows: &[Vec<String>]) {
    let mut w = csv::Writer::from_path(path).unwrap();
    w.write_record(header).unwrap();
    for r in rows {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

both_backends! {
    async fn a_ledger_corrected_by_later_imports_round_trips_its_reports_as_of_every_date(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let files = seeded(t, dir.path(), 5, 50, 1_000, 400).await;
        let (contracts, payments) = (files[1].clone(), files[2].clone());

        // Later imports correct the ledger: two contracts change value, one of them its
        // end date too; a payment is reversed (a negative row naming its voucher).
        let header = csv::Reader::from_path(&contracts).unwrap().headers().unwrap().clone();
        let col = |name: &str| header.iter().position(|h| h.starts_with(name)).unwrap();
        let codes: Vec<String> = csv::Reader::from_path(&contracts).unwrap().records().map(|r| r.unwrap()[0].to_string()).collect();
        let (first, second) = (&codes[3], &codes[20]);
        // Lowered, so no budget line is over-committed. Values carry two decimals.
        let lower = |yuan: &str, by_fen: i64| {
            let fen = yuan.replace('.', "").parse::<i64>().unwrap() - by_fen;
            format!("{}.{:02}", fen / 100, fen % 100)
        };
        let mut changed = rows_of(&contracts, first).remove(0);
        changed[col("合同金额")] = lower(&changed[col("合同金额")], 123_456);
        let end: NaiveDate = changed[col("结束日期")].parse().unwrap();
        changed[col("结束日期")] = (end + chrono::Days::new(90)).to_string();
        let mut lowered = rows_of(&contracts, second).remove(0);
        lowered[col("合同金额")] = lower(&lowered[col("合同金额")], 500_001);
        let fix = dir.path().join("contracts-corrected.csv");
        write_csv(&fix, &header, &[changed, lowered]);
        let r = import(t, &[fix]).await;
        assert_eq!(r.files[0].total.updated, 2, "{:?}", r.files[0].counts);

        let pheader = csv::Reader::from_path(&payments).unwrap().headers().unwrap().clone();
        let paid = rows_of(&payments, first).remove(0);
        let pcol = |name: &str| pheader.iter().position(|h| h.starts_with(name)).unwrap();
        let mut reversal = paid.clone();
        reversal[pcol("拨付金额")] = format!("-{}", paid[pcol("拨付金额")]);
        reversal[pcol("凭证号")] = "冲-0001".into();
        reversal[pcol("冲销凭证号")] = paid[pcol("凭证号")].clone();
        let rev = dir.path().join("reversal.csv");
        write_csv(&rev, &pheader, &[reversal]);
        import(t, &[rev]).await;
        assert_eq!(t.scalar("SELECT COUNT(*) FROM change_history WHERE entity = 'contract'").await, 3);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM disbursements WHERE reverses_id IS NOT NULL").await, 1);

        // As of every date the reports match, in an empty database and at home; the
        // corrections themselves (their history, reports as recorded before them) are not in
        // one file (the README's round trip section).
        round_trip(t, RegisterFormat::Csv, &["contracts-corrected.csv", "disbursements.csv", "evaluations.csv", "contracts.csv", "services.csv", "reversal.csv", "budgets.csv"], Sources::SetAside).await;
    }
}

/// `GET path` signed with `token`: status, content type and body.
async fn web_get(t: &TestDb, token: &str, path: &str) -> (u16, String, Vec<u8>) {
    use procure::web::state::{AppState, WebConfig};
    use tower::ServiceExt;
    let state = AppState::new(t.db.clone(), WebConfig::default());
    let req = axum::http::Request::builder()
        .uri(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = procure::web::router(state).oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let mime = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, mime, body.to_vec())
}

both_backends! {
    async fn the_reports_page_offers_the_register_as_a_workbook_or_zipped_csv_that_reimports(t: &TestDb) {
        import(t, &[sample()]).await;
        let token = t.api_token("officer", procure::access::Role::Finance).await;
        let (status, _, page) = web_get(t, &token, "/reports").await;
        assert_eq!(status, 200);
        assert!(String::from_utf8_lossy(&page).contains("/reports/register"));

        let (status, mime, xlsx) = web_get(t, &token, "/reports/register").await;
        assert_eq!(status, 200);
        assert!(mime.contains("spreadsheetml"), "{mime}");
        let reg = register::load(&t.db, None).await.unwrap();
        assert_eq!(xlsx, register::xlsx(&reg, None).unwrap(), "the page and the command write the same bytes");

        let (status, mime, zip) = web_get(t, &token, "/reports/register?format=csv&as_of=2019-06-30").await;
        assert_eq!(status, 200);
        assert_eq!(mime, "application/zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        assert_eq!(archive.len(), 5);
        let dir = tempfile::tempdir().unwrap();
        let mut files = Vec::new();
        for name in ["budgets.csv", "contracts.csv", "disbursements.csv", "services.csv", "evaluations.csv"] {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut archive.by_name(name).unwrap(), &mut bytes).unwrap();
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            files.push(path);
        }
        // As of mid-2019: the copy has no later payment, and its summary then is the same.
        let b = another(t).await;
        import(&b, &files).await;
        assert_eq!(b.scalar("SELECT COUNT(*) FROM disbursements WHERE paid_on > '2019-06-30'").await, 0);
        let summary = |db: &sea_orm::DatabaseConnection| {
            let db = db.clone();
            async move {
                let req = Request { name: ReportName::Summary, scope: Scope { as_of: day(2019, 6, 30), ..Default::default() }, by: vec![], lang: Lang::Zh, evaluations: Default::default() };
                writers::write(&build(&db, &req).await.unwrap(), OutputFormat::Csv).unwrap()
            }
        };
        assert_eq!(summary(&t.db).await, summary(&b.db).await);

        let (status, _, _) = web_get(t, &token, "/reports/register?format=pdf").await;
        assert_eq!(status, 400);
    }
}

both_backends! {
    async fn procure_export_register_writes_the_workbook_or_a_csv_folder_and_as_of_keeps_what_had_happened(t: &TestDb) {
        import(t, &[sample()]).await;
        let dir = tempfile::tempdir().unwrap();
        let run = |args: &[&str]| {
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_procure"))
                .current_dir(dir.path())
                .args(["--database", &t.url, "export", "register"])
                .args(args)
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        };
        run(&[]);
        let reg = register::load(&t.db, None).await.unwrap();
        assert_eq!(std::fs::read(dir.path().join("register.xlsx")).unwrap(), register::xlsx(&reg, None).unwrap());
        run(&["--format", "csv", "--as-of", "2019-06-30", "--output", "mid-2019"]);
        let folder = dir.path().join("mid-2019");
        let files: Vec<PathBuf> = ["budgets.csv", "contracts.csv", "disbursements.csv", "services.csv", "evaluations.csv"]
            .iter()
            .map(|n| folder.join(n))
            .collect();
        let payments = std::fs::read_to_string(&files[2]).unwrap();
        assert!(payments.lines().skip(1).all(|l| l.split(',').nth(1).unwrap() <= "2019-06-30"), "{payments}");
        let b = another(t).await;
        import(&b, &files).await;
        let paid = |db: &'static str| format!("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements WHERE paid_on <= '{db}'");
        assert_eq!(b.scalar(&paid("2019-06-30")).await, t.scalar(&paid("2019-06-30")).await);
        assert_eq!(b.scalar("SELECT COUNT(*) FROM disbursements WHERE paid_on > '2019-06-30'").await, 0);
    }
}

both_backends! {
    async fn an_exported_register_edited_in_one_cell_reimports_as_one_update(t: &TestDb) {
        import(t, &[sample()]).await;
        let dir = tempfile::tempdir().unwrap();
        let files = export(t, dir.path(), RegisterFormat::Csv).await;
        let contracts = &files[1];
        let text = std::fs::read_to_string(contracts).unwrap();
        let line = text.lines().nth(1).unwrap().to_string();
        let code = line.split(',').next().unwrap().to_string();
        let title = line.split(',').nth(1).unwrap().to_string();
        std::fs::write(contracts, text.replacen(&title, &format!("{title}更名"), 1)).unwrap();
        let r = import(t, std::slice::from_ref(contracts)).await;
        let f = &r.files[0];
        assert_eq!(f.status, FileStatus::Stored);
        assert_eq!((f.total.updated, f.total.inserted), (1, 0), "{:?}", f.counts);
        assert_eq!(f.total.unchanged, f.total.read - 1);
        let renamed = t.scalar(&format!("SELECT COUNT(*) FROM contracts WHERE code = '{code}' AND title = '{title}更名'")).await;
        assert_eq!(renamed, 1);
    }
}
