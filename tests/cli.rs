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
        assert!(String::from_utf8_lossy(&out.stdout).contains(&common::newest_migration()));
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
    async fn serve_answers_health_and_stops_cleanly_on_sigterm(t: &TestDb) {
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
        // SIGTERM (what a service manager sends) stops it cleanly and promptly.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        let started = std::time::Instant::now();
        let status = loop {
            if let Some(s) = child.try_wait().unwrap() {
                break Some(s);
            }
            if started.elapsed() > std::time::Duration::from_secs(10) {
                child.kill().ok();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        assert!(status.is_some_and(|s| s.success()), "serve did not exit cleanly on SIGTERM: {status:?}");
        assert!(resp.starts_with("HTTP/1.1 200"), "{resp}");
        assert!(resp.contains(&format!("\"schema_version\":\"{}\"", common::newest_migration())), "{resp}");
    }
}

both_backends! {
    async fn two_imports_at_once_never_overpay_a_contract(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let path = |n: &str| dir.path().join(n);
        std::fs::write(path("c.csv"), "项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\nC1,t,老年服务,p,1000,2019-01-01,2019-12-31\n").unwrap();
        // Each alone fits the contract's 1,000.00; together they would pay 1,500.00.
        for (file, amount) in [("p1.csv", "0.20"), ("p2.csv", "0.30")] {
            let mut body = String::from("项目编号,拨付日期,拨付金额,凭证号\n");
            for j in 0..3000 {
                body.push_str(&format!("C1,2019-02-01,{amount},{file}-{j}\n"));
            }
            std::fs::write(path(file), body).unwrap();
        }
        let out = procure().args(["--database", &t.url, "import"]).arg(path("c.csv")).output().unwrap();
        assert!(out.status.success());
        let spawn = |f: &str| procure().args(["--database", &t.url, "import"]).arg(path(f)).stdout(Stdio::null()).spawn().unwrap();
        let (mut a, mut b) = (spawn("p1.csv"), spawn("p2.csv"));
        let (ra, rb) = (a.wait().unwrap().success(), b.wait().unwrap().success());
        assert!(ra != rb, "exactly one import is refused (got {ra}, {rb})");
        let paid = t.scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await;
        assert!(paid == 60_000 || paid == 90_000, "{paid}");
    }
}

/// Runs `procure ARGS` with `input` on standard input; returns (success, stdout, stderr).
fn run_with_input(url: &str, args: &[&str], input: &str) -> (bool, String, String) {
    let mut child = procure()
        .args(["--database", url])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command refused before it reads its input closes the pipe early.
    let _ = child.stdin.take().unwrap().write_all(input.as_bytes());
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

both_backends! {
    async fn the_operator_manages_accounts_and_tokens_from_the_command_line(t: &TestDb) {
        let (ok, out, err) = run_with_input(&t.url, &["user", "add", "wang.li", "--role", "auditor"], "s3cret-pass\n");
        assert!(ok, "{err}");
        assert!(out.contains("added wang.li (auditor)"));
        let (ok, _, err) = run_with_input(&t.url, &["user", "add", "wang.li", "--role", "auditor"], "s3cret-pass\n");
        assert!(!ok);
        assert!(err.contains("already exists"), "{err}");
        let (ok, _, err) = run_with_input(&t.url, &["user", "add", "zhao", "--role", "boss"], "s3cret-pass\n");
        assert!(!ok && err.contains("unknown role 'boss'"), "{err}");
        let (ok, _, err) = run_with_input(&t.url, &["user", "add", "zhao", "--role", "manager"], "short\n");
        assert!(!ok && err.contains("at least 8"), "{err}");
        let signed_in = procure::access::login(&t.db, "wang.li", "s3cret-pass", None).await.unwrap();
        assert!(signed_in.is_ok());

        let (ok, token, err) = run_with_input(&t.url, &["token", "create", "wang.li", "--label", "nightly export"], "");
        assert!(ok, "{err}");
        let token = token.trim().to_string();
        assert!(token.starts_with("prc_"));
        assert!(err.contains("shown this once"));
        assert_eq!(procure::access::token_account(&t.db, &token).await.unwrap().unwrap().name, "wang.li");
        let (_, list, _) = run_with_input(&t.url, &["token", "list"], "");
        assert!(list.contains("nightly export") && !list.contains(&token));
        let id = list.split('\t').next().unwrap().trim().to_string();
        assert!(run_with_input(&t.url, &["token", "revoke", &id], "").0);
        assert!(procure::access::token_account(&t.db, &token).await.unwrap().is_none());

        assert!(run_with_input(&t.url, &["user", "disable", "wang.li"], "").0);
        let (_, list, _) = run_with_input(&t.url, &["user", "list"], "");
        assert!(list.contains("wang.li\tauditor\tdisabled"), "{list}");
        // Everything the operator did is in the audit trail, under the OS user.
        let (_, entries) = procure::audit::entries(&t.db, None, None, 100, 0).await.unwrap();
        let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["account.add", "login", "token.create", "token.revoke", "account.disable"]);
        assert!(entries.iter().filter(|e| e.action != "login").all(|e| e.actor.ends_with("(command line)")));
    }
}

both_backends! {
    async fn a_file_with_more_errors_than_are_listed_says_how_many_there_were(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.csv");
        let mut csv = String::from("项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\n");
        for i in 0..1500 {
            csv.push_str(&format!("C{i},t,老年服务,p,1000,notadate,2019-12-31\n"));
        }
        std::fs::write(&file, csv).unwrap();
        let out = procure()
            .args(["--database", &t.url, "import", file.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(!out.status.success());
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("发现 1500 处错误"), "{text}");
        assert_eq!(text.lines().filter(|l| l.starts_with("  错误")).count(), 1000);
        assert!(text.contains("…另有 500 处错误未列出"), "{text}");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 0);
    }
}
