//! Web benchmark: `wrk` against `procure serve --public` on a ledger of N
//! payments, the summary endpoint and the dashboard against the server's own constant
//! endpoint (`/api/v1/ping`) in the same run.
//!
//! `cargo bench --bench web -- [N ...]` (default 1000000). Needs `wrk` on PATH. PostgreSQL
//! runs too when `PROCURE_BENCH_POSTGRES` (or `PROCURE_TEST_POSTGRES`) holds a server URL.
//! `PROCURE_BENCH_SECONDS` sets each wrk run's length (default 10), `PROCURE_BENCH_CONNECTIONS`
//! its connections (default 16). Prints a Markdown table.

use std::process::Command;
use std::time::Instant;

#[path = "common/ledger.rs"]
mod ledger;
#[path = "common/serve.rs"]
mod serve;

/// Requests a second and the 99th-percentile latency in ms; any answer other than 2xx/3xx
/// fails the bench.
fn wrk(url: &str, seconds: u64, connections: u32, token: Option<&str>) -> (f64, f64) {
    let run = serve::wrk(url, 2, connections, seconds, token);
    assert_eq!(run.non2xx, 0, "{url} answered errors under load");
    if run.socket_errors > 0 {
        eprintln!(
            "{url}: {} socket errors (timeouts, resets)",
            run.socket_errors
        );
    }
    (run.rps, run.p99_ms)
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
    let seconds: u64 = std::env::var("PROCURE_BENCH_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let connections: u32 = std::env::var("PROCURE_BENCH_CONNECTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(16);
    let pg = std::env::var("PROCURE_BENCH_POSTGRES")
        .or_else(|_| std::env::var("PROCURE_TEST_POSTGRES"))
        .ok();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    println!("wrk -t2 -c{connections} -d{seconds}s --latency, against procure serve (release)\n");
    println!("| payments | backend | endpoint | requests/s | p99 | requests/s vs /api/v1/ping |");
    println!("|---:|---|---|---:|---:|---:|");
    for n in sizes {
        let mut backends: Vec<(String, String)> = vec![(
            "SQLite".into(),
            format!("sqlite://{}/w{n}.db", scratch.path().display()),
        )];
        if let Some(server) = &pg {
            let url = ledger::fresh_postgres(server, &format!("procure_bench_web_{n}"));
            backends.push(("PostgreSQL".into(), url));
        }
        for (backend, url) in &backends {
            let db = rt.block_on(procure::db::connect(url)).unwrap();
            rt.block_on(ledger::fill(&db, n, backend == "PostgreSQL"));
            let token = rt.block_on(serve::reader_token(&db));
            rt.block_on(db.close()).ok();
            let (_server, base) = serve::serve_public(url);
            // The first request computes the figures; wrk measures what every later one costs.
            let warm = Instant::now();
            for (path, auth) in [
                ("/api/v1/summary", None),
                ("/public", None),
                ("/", Some(&token)),
            ] {
                let mut curl = Command::new("curl");
                curl.args(["-sf", "-o", "/dev/null"]);
                if let Some(t) = auth {
                    curl.args(["-H", &format!("Authorization: Bearer {t}")]);
                }
                let _ = curl.arg(format!("{base}{path}")).status();
            }
            eprintln!(
                "{backend} {n}: first summary and dashboards {:?}",
                warm.elapsed()
            );
            let (floor, floor_p99) =
                wrk(&format!("{base}/api/v1/ping"), seconds, connections, None);
            println!("| {n} | {backend} | /api/v1/ping | {floor:.0} | {floor_p99:.2} ms | 1.00 |");
            // Anonymous (`serve --public`), then signed in with a token (one indexed lookup
            // of the token's hash a request), then the dashboard page itself.
            for (endpoint, label, auth) in [
                ("/api/v1/summary", "/api/v1/summary (public)", None),
                (
                    "/api/v1/summary",
                    "/api/v1/summary (token)",
                    Some(token.as_str()),
                ),
                ("/public", "/public (dashboard page)", None),
                ("/", "/ (dashboard page, token)", Some(token.as_str())),
            ] {
                let (rps, p99) = wrk(&format!("{base}{endpoint}"), seconds, connections, auth);
                println!(
                    "| {n} | {backend} | {label} | {rps:.0} | {p99:.2} ms | {:.2} |",
                    rps / floor
                );
            }
        }
    }
}
