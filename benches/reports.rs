//! Report benchmark: `summary` and `spend --by month` against the same aggregation SQL run
//! bare in `sqlite3` and `psql`, in the same run, on ledgers of N payments.
//!
//! `cargo bench --bench reports -- [N ...]` (default 1000000). The ledger is made in SQL
//! (1,000 contracts, N payments spread over 2017-2020) so that building it is not what is
//! measured. PostgreSQL runs when `PROCURE_BENCH_POSTGRES` (or `PROCURE_TEST_POSTGRES`) holds
//! a server URL. Prints a Markdown table of best-of-5 times (`PROCURE_BENCH_RUNS`) and ratios.

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use procure::reports::{build, Dim, ReportName, Request, Scope};
use procure::Lang;
use sea_orm::{ConnectionTrait, DatabaseConnection};

const CONTRACTS: i64 = 1000;

async fn fill(db: &DatabaseConnection, n: i64, postgres: bool) {
    db.execute_unprepared("INSERT INTO import_batches (file_name, file_size, sha256, kind, actor, recorded_at, rows_read, inserted, updated, unchanged, warnings, status) VALUES ('bench', 0, '', 'bench', 'bench', '2019-01-01 00:00:00+00:00', 0, 0, 0, 0, 0, 'committed')").await.unwrap();
    db.execute_unprepared(
        "INSERT INTO providers (name, batch_id, source_sheet, source_row) VALUES ('p', 1, 's', 1)",
    )
    .await
    .unwrap();
    let seq = |limit: i64| {
        if postgres {
            format!("SELECT n FROM generate_series(1, {limit}) AS n")
        } else {
            format!("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {limit}) SELECT n FROM seq")
        }
    };
    let date = |expr: &str| {
        if postgres {
            format!("DATE '2017-01-01' + ({expr})::int")
        } else {
            format!("date('2017-01-01', '+' || ({expr}) || ' days')")
        }
    };
    db.execute_unprepared(&format!(
        "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, signed_on, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
         SELECT 'C' || n, 't', CASE n % 4 WHEN 0 THEN 'elderly' WHEN 1 THEN 'youth' WHEN 2 THEN 'disability' ELSE 'relief' END, 1, 'p', 900000000000, {d}, {d}, {e}, 'active', 1, 's', n, 1 FROM ({s}) AS q",
        d = date("n % 365"),
        e = date("n % 365 + 1400"),
        s = seq(CONTRACTS)
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
         SELECT 1 + n % {CONTRACTS}, {d}, 100 + n % 99991, 'V' || n, 1, 's', n FROM ({s}) AS q",
        d = date("n % 1400"),
        s = seq(n)
    ))
    .await
    .unwrap();
    if postgres {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

fn best<F: FnMut() -> Duration>(mut f: F) -> Duration {
    let runs = std::env::var("PROCURE_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5);
    (0..runs).map(|_| f()).min().unwrap()
}

fn cli(program: &str, args: &[&str]) -> Duration {
    let start = Instant::now();
    let out = Command::new(program).args(args).output().expect(program);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    start.elapsed()
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let sizes: Vec<i64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000_000]
    } else {
        sizes
    };
    let pg = std::env::var("PROCURE_BENCH_POSTGRES")
        .or_else(|_| std::env::var("PROCURE_TEST_POSTGRES"))
        .ok();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let as_of = NaiveDate::from_ymd_opt(2019, 6, 30).unwrap();
    println!("| payments | backend | report | procure | bare SQL (CLI) | CLI start-up | ratio (procure / (bare - start-up)) |");
    println!("|---:|---|---|---:|---:|---:|---:|");
    for n in sizes {
        let mut backends: Vec<(String, String)> = vec![(
            "SQLite".into(),
            format!("sqlite://{}/r{n}.db", scratch.path().display()),
        )];
        if let Some(server) = &pg {
            let name = format!("procure_bench_reports_{n}");
            let _ = Command::new("psql")
                .args([server, "-qc", &format!("DROP DATABASE IF EXISTS {name}")])
                .output();
            let _ = Command::new("psql")
                .args([server, "-qc", &format!("CREATE DATABASE {name}")])
                .output();
            let url = format!("{}/{name}", &server[..server.rfind('/').unwrap()]);
            backends.push(("PostgreSQL".into(), url));
        }
        for (backend, url) in &backends {
            let postgres = backend == "PostgreSQL";
            let db = rt.block_on(procure::db::connect(url)).unwrap();
            rt.block_on(fill(&db, n, postgres));
            let month =
                procure::reports::ledger::month_expr(db.get_database_backend(), "d.paid_on");
            let bare_summary = "SELECT d.contract_id, CAST(SUM(d.amount_fen) AS BIGINT), COUNT(*), MAX(d.paid_on) FROM disbursements d WHERE d.paid_on <= '2019-06-30' GROUP BY d.contract_id".to_string();
            let bare_month = format!("SELECT d.contract_id, {month}, CAST(SUM(d.amount_fen) AS BIGINT), COUNT(*) FROM disbursements d WHERE d.paid_on <= '2019-06-30' GROUP BY d.contract_id, {month}");
            let file = url.trim_start_matches("sqlite://").to_string();
            let run_cli = |sql: &str| {
                if postgres {
                    cli("psql", &[url, "-qAtc", sql])
                } else {
                    cli("sqlite3", &[&file, sql])
                }
            };
            let startup = best(|| run_cli("SELECT 1"));
            for (label, name, by, bare) in [
                ("summary", ReportName::Summary, vec![], &bare_summary),
                (
                    "spend --by month",
                    ReportName::Spend,
                    vec![Dim::Month],
                    &bare_month,
                ),
            ] {
                let req = Request {
                    name,
                    scope: Scope {
                        as_of,
                        ..Default::default()
                    },
                    by,
                    lang: Lang::Zh,
                };
                let ours = best(|| {
                    let start = Instant::now();
                    rt.block_on(build(&db, &req)).unwrap();
                    start.elapsed()
                });
                let theirs = best(|| run_cli(bare));
                let floor = theirs.saturating_sub(startup);
                println!(
                    "| {n} | {backend} | {label} | {} | {} | {} | {:.2} |",
                    ms(ours),
                    ms(theirs),
                    ms(startup),
                    ours.as_secs_f64() / floor.as_secs_f64().max(1e-6)
                );
            }
            rt.block_on(db.close()).unwrap();
            if postgres {
                let server = pg.as_ref().unwrap();
                let _ = Command::new("psql")
                    .args([
                        server,
                        "-qc",
                        &format!("DROP DATABASE IF EXISTS procure_bench_reports_{n}"),
                    ])
                    .output();
            }
        }
    }
}
