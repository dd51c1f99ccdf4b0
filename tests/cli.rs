//! The `procure` command as an operator meets it: migrate, serve /health, clear errors.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

fn procure() -> Command {
    Command::new(env!("CARGO_BIN_EXE_procure"))
}

both_backends! {
    async fn migrate_creates_the_schema_and_reports_its_version(t: &TestDb) {
        let out = procure().args(["--database", &t.url, "migrate"]).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("m20260101_000001_ledger"));
    }
}

#[test]
fn the_default_database_is_procure_db_in_the_current_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = procure()
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .arg("migrate")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.path().join("procure.db").exists());
}

#[test]
fn a_bad_database_url_is_one_clear_line_and_a_failure() {
    let out = procure()
        .args(["--database", "mysql://x@y/z", "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("unsupported database URL"), "{err}");
}

both_backends! {
    async fn serve_answers_health_with_the_schema_version(t: &TestDb) {
        let mut child = procure()
            .args(["--database", &t.url, "serve", "--addr", "127.0.0.1:0"])
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("server printed its address").unwrap();
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.trim().to_string();
            }
        };
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        child.kill().ok();
        child.wait().ok();
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.contains("\"schema_version\":\"m20260101_000001_ledger\""), "{resp}");
    }
}
