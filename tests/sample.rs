//! The committed sample in `imports/` imports cleanly, and the ledger's totals equal an
//! independent sum of the workbook's cells; the CSV copy gives the same ledger.

mod common;

use std::path::{Path, PathBuf};

use calamine::{open_workbook, Data, Reader, Xlsx};
use common::TestDb;
use procure::imports::{import_paths, FileStatus, ImportOptions};
use procure::Money;

fn imports_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("imports")
}

async fn scalar(t: &TestDb, sql: &str) -> i64 {
    t.scalar(sql).await
}

/// Sums a column of a sheet between its header row and its 合计 row, straight from calamine.
fn sheet_sum(sheet: &str, header: &str, as_fen: bool) -> (i64, usize) {
    let mut wb: Xlsx<_> = open_workbook(imports_dir().join("sample-register.xlsx")).unwrap();
    let range = wb.worksheet_range(sheet).unwrap();
    let rows: Vec<&[Data]> = range.rows().collect();
    let h = rows
        .iter()
        .position(|r| r.iter().any(|c| *c == header))
        .unwrap();
    let col = rows[h].iter().position(|c| *c == header).unwrap();
    let mut sum = 0i64;
    let mut n = 0;
    for r in &rows[h + 1..] {
        if r[0].to_string().starts_with("合计") {
            break;
        }
        n += 1;
        sum += match &r[col] {
            Data::Float(f) if as_fen => Money::from_cell_f64(*f).unwrap().fen(),
            Data::Float(f) => *f as i64,
            Data::Int(i) if as_fen => i * 100,
            Data::Int(i) => *i,
            Data::Empty => 0,
            other => panic!("unexpected cell {other:?}"),
        };
    }
    (sum, n)
}

both_backends! {
    async fn the_sample_workbook_imports_and_its_totals_equal_its_cells(t: &TestDb) {
        let opts = ImportOptions { actor: "test".into(), ..Default::default() };
        let r = import_paths(&t.db, &[imports_dir().join("sample-register.xlsx")], &opts, None).await.unwrap();
        let f = &r.files[0];
        assert!(r.ok, "{:#?}", f.errors.iter().take(5).collect::<Vec<_>>());
        assert_eq!(f.status, FileStatus::Stored);

        let (value, contracts) = sheet_sum("项目合同", "合同金额（元）", true);
        let (paid, payments) = sheet_sum("拨付记录", "拨付金额（元）", true);
        let (people, reports) = sheet_sum("服务统计", "新增服务人数", false);
        assert_eq!(contracts, 97);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM contracts").await, 97);
        assert_eq!(scalar(t, "SELECT CAST(SUM(value_fen) AS BIGINT) FROM contracts").await, value);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements").await, payments as i64);
        assert_eq!(scalar(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await, paid);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM service_reports").await, reports as i64);
        assert_eq!(scalar(t, "SELECT CAST(SUM(new_people) AS BIGINT) FROM service_reports").await, people);

        // The bureau's figures as of 2019-06-30: 97 projects, 1450余万元, 5万余人.
        let signed = scalar(t, "SELECT COUNT(*) FROM contracts WHERE COALESCE(signed_on, start_on) <= '2019-06-30'").await;
        assert_eq!(signed, 97);
        let value_fen = scalar(t, "SELECT CAST(SUM(value_fen) AS BIGINT) FROM contracts WHERE COALESCE(signed_on, start_on) <= '2019-06-30'").await;
        assert!((1_450_000_000..=1_459_999_999).contains(&value_fen), "{value_fen}");
        let served = scalar(t, "SELECT CAST(SUM(new_people) AS BIGINT) FROM service_reports WHERE period_end <= '2019-06-30'").await;
        assert!((50_000..=59_999).contains(&served), "{served}");
        // payments and service reports go on after June 2019, so the date matters
        assert!(scalar(t, "SELECT COUNT(*) FROM disbursements WHERE paid_on > '2019-06-30'").await > 0);
        assert!(scalar(t, "SELECT COUNT(*) FROM service_reports WHERE period_end > '2019-06-30'").await > 0);
        // the reversal is linked to what it reverses
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements WHERE reverses_id IS NOT NULL").await, 1);
    }
}

both_backends! {
    async fn the_sample_csvs_one_of_them_gbk_give_the_same_ledger(t: &TestDb) {
        let opts = ImportOptions { actor: "test".into(), ..Default::default() };
        // The budget lines first: the contracts name them; the evaluations before the payments
        // they release.
        let files: Vec<PathBuf> = ["sample-budgets.csv", "sample-contracts.csv", "sample-evaluations.csv", "sample-disbursements.csv", "sample-services.csv"]
            .iter()
            .map(|f| imports_dir().join(f))
            .collect();
        let r = import_paths(&t.db, &files, &opts, None).await.unwrap();
        assert!(r.ok, "{:#?}", r.files.iter().flat_map(|f| f.errors.iter().take(3)).collect::<Vec<_>>());
        let (value, _) = sheet_sum("项目合同", "合同金额（元）", true);
        let (paid, _) = sheet_sum("拨付记录", "拨付金额（元）", true);
        let (people, _) = sheet_sum("服务统计", "新增服务人数", false);
        assert_eq!(scalar(t, "SELECT CAST(SUM(value_fen) AS BIGINT) FROM contracts").await, value);
        assert_eq!(scalar(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await, paid);
        assert_eq!(scalar(t, "SELECT CAST(SUM(new_people) AS BIGINT) FROM service_reports").await, people);
        // and the workbook then changes nothing
        let r = import_paths(&t.db, &[imports_dir().join("sample-register.xlsx")], &opts, None).await.unwrap();
        assert_eq!(r.files[0].status, FileStatus::Unchanged, "{:#?}", r.files[0].errors.iter().take(3).collect::<Vec<_>>());
    }
}
