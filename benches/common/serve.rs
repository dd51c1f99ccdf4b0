//! `procure serve` and `wrk` for the web benchmarks: a release server on a free port,
//! stopped when dropped, and one `wrk --latency` run read into figures.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running `procure serve`, killed when dropped.
pub struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// An API token of a manager account "bench", for the signed-in requests.
pub async fn reader_token(db: &sea_orm::DatabaseConnection) -> String {
    let me = procure::access::Actor::local("bench");
    procure::access::add_account(
        db,
        "bench",
        procure::access::Role::Manager,
        "bench-password",
        &me,
    )
    .await
    .unwrap();
    procure::access::create_token(db, "bench", "wrk", &me)
        .await
        .unwrap()
        .1
}

/// The release binary the bench was built with.
pub fn procure() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procure"))
}

/// `procure serve --public` on `url`, on a port nobody holds now (a server left over from
/// an interrupted run would otherwise answer in this one's place); returns it and its base URL.
pub fn serve_public(url: &str) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port");
    let child = procure()
        .args(["--database", url, "serve", "--public", "--addr"])
        .arg(format!("127.0.0.1:{port}"))
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
    (server, format!("http://127.0.0.1:{port}"))
}

/// What one wrk run measured.
#[derive(Debug, Default, Clone, Copy)]
pub struct Run {
    pub rps: f64,
    pub p99_ms: f64,
    /// Answers other than 2xx or 3xx.
    pub non2xx: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
}

/// `wrk -tTHREADS -cCONNECTIONS -dSECONDSs --latency URL`, signed with `token` when given.
pub fn wrk(url: &str, threads: u32, connections: u32, seconds: u64, token: Option<&str>) -> Run {
    let mut cmd = Command::new("wrk");
    cmd.args([
        format!("-t{threads}"),
        format!("-c{connections}"),
        format!("-d{seconds}s"),
        "--latency".to_string(),
    ]);
    if let Some(t) = token {
        cmd.args(["-H", &format!("Authorization: Bearer {t}")]);
    }
    let out = cmd
        .arg(url)
        .output()
        .expect("wrk is not installed (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    let rps = field("Requests/sec:")
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Requests/sec in wrk output:\n{text}"));
    let p99_ms = field("99%")
        .map(|v| latency_ms(&v))
        .unwrap_or_else(|| panic!("no 99% latency in wrk output:\n{text}"));
    let non2xx = field("Non-2xx or 3xx responses:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    // "Socket errors: connect 0, read 0, write 0, timeout 3"
    let socket_errors = field("Socket errors:")
        .map(|v| {
            v.split(',')
                .filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok())
                .sum()
        })
        .unwrap_or(0);
    Run {
        rps,
        p99_ms,
        non2xx,
        socket_errors,
    }
}

/// wrk's latency ("812.00us", "2.13ms", "1.05s") in milliseconds.
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
