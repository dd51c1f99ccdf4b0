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

#[path = "common/ledger.rs"]
mod ledger;
use ledger::fill;

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
    let mid_month = NaiveDate::from_ymd_opt(2019, 6, 17).unwrap();
    println!("| payments | backend | report | procure | bare GROUP BY over payments (CLI) | CLI start-up | ratio (procure / (bare - start-up)) |");
    println!("|---:|---|---|---:|---:|---:|---:|");
    for n in sizes {
        let mut backends: Vec<(String, String)> = vec![(
            "SQLite".into(),
            format!("sqlite://{}/r{n}.db", scratch.path().display()),
        )];
        if let Some(server) = &pg {
            let url = ledger::fresh_postgres(server, &format!("procure_bench_reports_{n}"));
            backends.push(("PostgreSQL".into(), url));
        }
        for (backend, url) in &backends {
            let postgres = backend == "PostgreSQL";
            let db = rt.block_on(procure::db::connect(url)).unwrap();
            rt.block_on(fill(&db, n, postgres));
            let file = url.trim_start_matches("sqlite://").to_string();
            let run_cli = |sql: &str| {
                if postgres {
                    cli("psql", &[url, "-qAtc", sql])
                } else {
                    cli("sqlite3", &[&file, sql])
                }
            };
            let startup = best(|| run_cli("SELECT 1"));
            // A month's end is all whole months; a date inside a month also reads its own
            // month's payments by day.
            for as_of in [as_of, mid_month] {
                // The floor: the bare GROUP BY over the payments up to the date.
                let bare = format!("SELECT d.contract_id, CAST(SUM(d.amount_fen) AS BIGINT), COUNT(*), MAX(d.paid_on) FROM disbursements d WHERE d.paid_on <= '{as_of}' GROUP BY d.contract_id");
                let theirs = best(|| run_cli(&bare));
                let floor = theirs.saturating_sub(startup);
                for (label, name, by) in [
                    ("summary", ReportName::Summary, vec![]),
                    ("spend --by month", ReportName::Spend, vec![Dim::Month]),
                    ("beneficiaries", ReportName::Beneficiaries, vec![]),
                ] {
                    let req = Request {
                        name,
                        scope: Scope {
                            as_of,
                            ..Default::default()
                        },
                        by,
                        lang: Lang::Zh,
                        evaluations: Default::default(),
                    };
                    let ours = best(|| {
                        let start = Instant::now();
                        rt.block_on(build(&db, &req)).unwrap();
                        start.elapsed()
                    });
                    println!(
                        "| {n} | {backend} | {label} as of {as_of} | {} | {} | {} | {:.3} |",
                        ms(ours),
                        ms(theirs),
                        ms(startup),
                        ours.as_secs_f64() / floor.as_secs_f64().max(1e-6)
                    );
                }
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
