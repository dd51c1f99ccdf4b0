//! Crash safety: an import killed with SIGKILL at any point leaves the database with
//! the whole batch or none of it, no orphan rows, and an audit trail that says what happened.
//! Kill points are random but seeded; the size is `PROCURE_CRASH_ROWS` payments (default
//! 30,000, which fits CI; BENCHMARKS.md records a run at 1,000,000). Both backends.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestDb;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait, Statement};

/// `procure import` on the test's database; files of any size (a million rows is over the
/// default 50 MB).
fn import(url: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_procure"));
    c.args(["--database", url, "import", "--max-file-mb", "2048"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    c
}

fn rows() -> usize {
    std::env::var("PROCURE_CRASH_ROWS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30_000)
}

/// Seeded registers: contracts, and `n` payments against them.
fn registers(dir: &Path, n: usize) -> ([PathBuf; 2], PathBuf) {
    let files = procure::sample::generate(&procure::sample::GenerateOptions {
        out: dir.to_path_buf(),
        seed: 11,
        contracts: (n / 100).max(10),
        payments: n,
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
}

/// Rows whose batch does not exist, in every table that records one.
async fn orphans(t: &TestDb) -> i64 {
    let mut n = 0;
    for table in [
        "providers",
        "contracts",
        "disbursements",
        "budget_lines",
        "service_reports",
        "change_history",
    ] {
        n += t
            .scalar(&format!(
                "SELECT COUNT(*) FROM {table} x WHERE x.batch_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM import_batches b WHERE b.id = x.batch_id)"
            ))
            .await;
    }
    n
}

async fn sqlite_is_intact(t: &TestDb) {
    if t.backend() != "sqlite" {
        return;
    }
    let row =
        t.db.query_one_raw(Statement::from_string(
            t.db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "ok");
}

/// Started imports with no recorded end (what `recover_interrupted` looks for).
async fn unfinished(t: &TestDb) -> i64 {
    t.scalar("SELECT COUNT(*) FROM import_attempts WHERE ended_at IS NULL")
        .await
}

both_backends! {
    async fn an_import_killed_at_any_point_leaves_its_whole_batch_or_none(t: &TestDb) {
        let n = rows();
        let dir = tempfile::tempdir().unwrap();
        let (contracts, payments) = registers(dir.path(), n);
        assert!(import(&t.url).args(&contracts).status().unwrap().success());
        let base = t.scalar("SELECT COUNT(*) FROM disbursements").await;
        assert_eq!(base, 0);

        // How long the whole import takes here: a dry run does all its work and keeps nothing.
        let started = Instant::now();
        assert!(import(&t.url).arg("--dry-run").arg(&payments).status().unwrap().success());
        let full = started.elapsed();

        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut kills = 0;
        let mut completed = false;
        for _ in 0..6 {
            let at = Duration::from_millis(rng.random_range(0..=(full.as_millis() as u64 * 11 / 10)));
            let mut child = import(&t.url).arg(&payments).spawn().unwrap();
            std::thread::sleep(at);
            let finished_first = child.try_wait().unwrap().is_some();
            child.kill().ok(); // SIGKILL
            child.wait().unwrap();
            kills += usize::from(!finished_first);

            // Whole or nothing, never half; no orphans; a sound file.
            let stored = t.scalar("SELECT COUNT(*) FROM disbursements").await;
            assert!(stored == 0 || stored == n as i64, "killed at {at:?}: {stored} of {n} payments stored");
            // (the budgets' batch and the contracts' batch, then the payments' if stored)
            assert_eq!(t.scalar("SELECT COUNT(*) FROM import_batches").await, 2 + i64::from(stored > 0));
            assert_eq!(orphans(t).await, 0, "killed at {at:?}");
            sqlite_is_intact(t).await;

            // The next command finds what the killed one left unfinished and says so.
            assert!(import(&t.url).args(&contracts).status().unwrap().success());
            assert_eq!(unfinished(t).await, 0, "killed at {at:?}: an unfinished import was not recorded");
            if stored > 0 {
                completed = true;
                break;
            }
        }
        assert!(kills > 0, "no kill landed before the import finished");
        let interrupted = t.scalar("SELECT COUNT(*) FROM import_attempts WHERE outcome = 'interrupted'").await;
        // The auditors read the same in the audit trail.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'import.interrupted'").await, interrupted);
        assert!(interrupted <= kills as i64);
        if !completed {
            assert!(import(&t.url).arg(&payments).status().unwrap().success());
        }
        assert_eq!(t.scalar("SELECT COUNT(*) FROM disbursements").await, n as i64);
        // The amounts are the file's, to the fen.
        let mut expected = 0i64;
        let mut r = csv::Reader::from_path(&payments).unwrap();
        let amount = r.headers().unwrap().iter().position(|h| h.contains("金额")).unwrap();
        for rec in r.records() {
            expected += procure::Money::parse(&rec.unwrap()[amount]).unwrap().fen();
        }
        assert_eq!(t.scalar("SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await, expected);
        assert_eq!(orphans(t).await, 0);
        eprintln!("{}: {n} payments, full import {full:?}, {kills} kills, {interrupted} recorded as interrupted", t.backend());
    }
}
