//! Load benchmark: `/api/v1/summary` and the dashboard under `wrk` while
//! large imports run against the same database, compared with the same endpoints idle, in the
//! same run.
//!
//! `cargo bench --bench load -- [N]` (default 1000000 payments in the ledger). Imports of
//! `PROCURE_BENCH_IMPORT_ROWS` payments (default 200000) run back to back for as long as the
//! load lasts, as `--dry-run` (all the work and the whole write transaction, then a
//! rollback, so each is a full-size import); the third is a small file that is stored, so
//! the figures change mid-run. `PROCURE_BENCH_SECONDS` (default 60) is the length of the
//! run under load; idle runs last a third of it. PostgreSQL too with `PROCURE_BENCH_POSTGRES`.
//! Needs `wrk`. Prints a Markdown table.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[path = "common/ledger.rs"]
mod ledger;
#[path = "common/serve.rs"]
mod serve;
use serve::{procure as exe, Run};

/// One `wrk -t1 -c8` run, in its own thread so that two can run at once.
fn wrk(url: String, seconds: u64, token: Option<String>) -> std::thread::JoinHandle<Run> {
    std::thread::spawn(move || serve::wrk(&url, 1, 8, seconds, token.as_deref()))
}

fn both(base: &str, seconds: u64, token: &str) -> (Run, Run) {
    let s = wrk(format!("{base}/api/v1/summary"), seconds, None);
    let d = wrk(format!("{base}/"), seconds, Some(token.to_string()));
    (s.join().unwrap(), d.join().unwrap())
}

fn main() {
    let n: i64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let import_rows: usize = std::env::var("PROCURE_BENCH_IMPORT_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let seconds: u64 = std::env::var("PROCURE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(60);
    let pg = std::env::var("PROCURE_BENCH_POSTGRES")
        .or_else(|_| std::env::var("PROCURE_TEST_POSTGRES"))
        .ok();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let generate = |dir: &str, payments: usize| {
        let files = procure::sample::generate(&procure::sample::GenerateOptions {
            out: scratch.path().join(dir),
            seed: 3,
            contracts: (import_rows / 100).max(10),
            payments,
            services: 10,
            format: procure::sample::SampleFormat::Csv,
        })
        .unwrap();
        let find = |name: &str| files.iter().find(|p| p.ends_with(name)).unwrap().clone();
        // The contracts name their budget lines, which are imported first.
        (
            [find("budgets.csv"), find("contracts.csv")],
            find("disbursements.csv"),
        )
    };
    // The large file is only ever dry-run: each run reads, checks and writes all its rows in
    // one transaction, then rolls back, so every run is a full-size import. A small file is
    // stored once mid-run, so the figures change and are recomputed under load too.
    let (contracts, payments) = generate("large", import_rows);
    let (_, small) = generate("small", 1_000);
    let mut backends = vec![(
        "SQLite".to_string(),
        format!("sqlite://{}/load.db", scratch.path().display()),
    )];
    if let Some(server) = &pg {
        backends.push((
            "PostgreSQL".into(),
            ledger::fresh_postgres(server, "procure_bench_load"),
        ));
    }
    println!("ledger of {n} payments; imports of {import_rows} payments back to back during the load run; two wrk at once (-t1 -c8 each)\n");
    println!("| backend | endpoint | idle req/s | idle p99 | under import req/s | under import p99 | p99 ratio | errors | imports during the run |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (backend, url) in &backends {
        let db = rt.block_on(procure::db::connect(url)).unwrap();
        rt.block_on(ledger::fill(&db, n, backend == "PostgreSQL"));
        let token = rt.block_on(serve::reader_token(&db));
        rt.block_on(db.close()).ok();
        assert!(exe()
            .args(["--database", url, "import"])
            .args(&contracts)
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success());

        let (_server, base) = serve::serve_public(url);
        // Warm: the figures are computed once, then served.
        let _ = Command::new("curl")
            .args(["-sf", "-o", "/dev/null", &format!("{base}/api/v1/summary")])
            .status();
        let _ = Command::new("curl")
            .args([
                "-sf",
                "-o",
                "/dev/null",
                "-H",
                &format!("Authorization: Bearer {token}"),
                &format!("{base}/"),
            ])
            .status();
        let (idle_s, idle_d) = both(&base, (seconds / 3).max(5), &token);

        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicUsize::new(0));
        let importer = {
            let (stop, done, url, payments, small) = (
                stop.clone(),
                done.clone(),
                url.clone(),
                payments.clone(),
                small.clone(),
            );
            std::thread::spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    let mut cmd = exe();
                    cmd.args(["--database", &url, "import"]);
                    if i == 2 {
                        cmd.arg(&small);
                    } else {
                        cmd.arg("--dry-run").arg(&payments);
                    }
                    // A dry run refused for a voucher the stored small file also has still did
                    // all of its work; only a crash would be a failure here.
                    let status = cmd
                        .stdout(Stdio::null())
                        .stderr(Stdio::null())
                        .status()
                        .unwrap();
                    assert!(status.code().is_some(), "an import crashed under load");
                    i += 1;
                    done.fetch_add(1, Ordering::Relaxed);
                }
            })
        };
        // Let the first import get going before measuring.
        std::thread::sleep(Duration::from_millis(500));
        let (load_s, load_d) = both(&base, seconds, &token);
        stop.store(true, Ordering::Relaxed);
        importer.join().unwrap();
        let imports = done.load(Ordering::Relaxed);
        for (label, idle, load) in [
            ("/api/v1/summary", idle_s, load_s),
            ("/ (dashboard)", idle_d, load_d),
        ] {
            println!(
                "| {backend} | {label} | {:.0} | {:.2} ms | {:.0} | {:.2} ms | {:.2} | {} | {imports} |",
                idle.rps,
                idle.p99_ms,
                load.rps,
                load.p99_ms,
                load.p99_ms / idle.p99_ms,
                idle.non2xx + idle.socket_errors + load.non2xx + load.socket_errors
            );
        }
    }
}
