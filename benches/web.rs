//! Web benchmark (issue #5): `wrk` against `procure serve --public` on a ledger of N
//! payments, the summary endpoint and the dashboard against the server's own constant
//! endpoint (`/api/v1/ping`) in the same run.
//!
//! `cargo bench --bench web -- [N ...]` (default 1000000). Needs `wrk` on PATH. PostgreSQL
//! runs too when `PROCURE_BENCH_POSTGRES` (or `PROCURE_TEST_POSTGRES`) holds a server URL.
//! `PROCURE_BENCH_SECONDS` sets each wrk run's length (default 10), `PROCURE_BENCH_CONNECTIONS`
//! its connections (default 16). Prints a Markdown table.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[path = "common/ledger.rs"]
mod ledger;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(url: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_procure"))
        .args([
            "--database",
            url,
            "serve",
            "--public",
            "--addr",
            &format!("127.0.0.1:{port}"),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start procure serve");
    let server = Server(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "procure serve did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    server
}

/// Requests a second and the 99th-percentile latency in ms, from `wrk --latency`.
fn wrk(url: &str, seconds: u64, connections: u32, token: Option<&str>) -> (f64, f64) {
    let mut args = vec![
        "-t2".to_string(),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_string(),
    ];
    if let Some(t) = token {
        args.push("-H".into());
        args.push(format!("Authorization: Bearer {t}"));
    }
    args.push(url.to_string());
    let out = Command::new("wrk")
        .args(&args)
        .output()
        .expect("wrk is not installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("Non-2xx"),
        "{url} answered errors under load:\n{text}"
    );
    let rps = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let p99 = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .map(|v| latency_ms(v.trim()))
        .unwrap_or_else(|| panic!("no 99% latency in wrk output:\n{text}"));
    (rps, p99)
}

fn latency_ms(v: &str) -> f64 {
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
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
            let name = format!("procure_bench_web_{n}");
            for sql in [
                format!("DROP DATABASE IF EXISTS {name}"),
                format!("CREATE DATABASE {name}"),
            ] {
                let _ = Command::new("psql").args([server, "-qc", &sql]).output();
            }
            let url = format!("{}/{name}", &server[..server.rfind('/').unwrap()]);
            backends.push(("PostgreSQL".into(), url));
        }
        for (backend, url) in &backends {
            let db = rt.block_on(procure::db::connect(url)).unwrap();
            rt.block_on(ledger::fill(&db, n, backend == "PostgreSQL"));
            let me = procure::access::Actor::local("bench");
            let token = rt.block_on(async {
                procure::access::add_account(
                    &db,
                    "bench",
                    procure::access::Role::Manager,
                    "bench-password",
                    &me,
                )
                .await
                .unwrap();
                procure::access::create_token(&db, "bench", "wrk", &me)
                    .await
                    .unwrap()
                    .1
            });
            rt.block_on(db.close()).ok();
            // A port nobody holds now (a server left over from an interrupted run would
            // otherwise answer in this one's place).
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free port");
            let _server = start(url, port);
            let base = format!("http://127.0.0.1:{port}");
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
