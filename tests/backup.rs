//! A backup restores to the same ledger: the summary report of the restored
//! database is byte for byte the one of the original. Both backends (`procure backup`, then
//! the restore the README gives: the SQLite file itself, or `pg_restore` into a new database).

mod common;

use std::process::Command;

use procure::reports::{self, writers, ReportName, Request, Scope};

async fn summary_csv(db: &sea_orm::DatabaseConnection) -> Vec<u8> {
    let req = Request {
        name: ReportName::Summary,
        scope: Scope {
            as_of: chrono::NaiveDate::from_ymd_opt(2019, 6, 30).unwrap(),
            ..Default::default()
        },
        by: vec![],
        lang: procure::Lang::Zh,
        evaluations: Default::default(),
    };
    writers::csv(&reports::build(db, &req).await.unwrap()).unwrap()
}

both_backends! {
    async fn a_backup_restores_to_the_same_summary(t: &TestDb) {
        let sample = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx");
        let procure = || Command::new(env!("CARGO_BIN_EXE_procure"));
        assert!(procure().args(["--database", &t.url, "import"]).arg(&sample).output().unwrap().status.success());
        let before = summary_csv(&t.db).await;
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(if t.backend() == "postgres" { "ledger.dump" } else { "ledger.db" });
        let out = procure().args(["--database", &t.url, "backup"]).arg(&file).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // A backup never overwrites a file.
        let again = procure().args(["--database", &t.url, "backup"]).arg(&file).output().unwrap();
        assert!(!again.status.success());
        assert!(String::from_utf8_lossy(&again.stderr).contains("already exists"));

        let restored = if t.backend() == "postgres" {
            let server = common::postgres_url().unwrap();
            let name = format!("procure_restore_{}", std::process::id());
            let admin = sea_orm::Database::connect(&server).await.unwrap();
            use sea_orm::ConnectionTrait;
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\"")).await.unwrap();
            admin.execute_unprepared(&format!("CREATE DATABASE \"{name}\"")).await.unwrap();
            let url = common::with_database(&server, &name);
            let r = Command::new("pg_restore").args(["--no-owner", "--dbname", &url]).arg(&file).output().unwrap();
            assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
            let db = procure::db::connect(&url).await.unwrap();
            let after = summary_csv(&db).await;
            db.close().await.ok();
            admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await.unwrap();
            after
        } else {
            let db = procure::db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
            summary_csv(&db).await
        };
        assert_eq!(restored, before);
        // The restored ledger keeps its append-only rules.
        if t.backend() == "sqlite" {
            let db = procure::db::connect(&format!("sqlite://{}", file.display())).await.unwrap();
            use sea_orm::ConnectionTrait;
            assert!(db.execute_unprepared("DELETE FROM disbursements").await.is_err());
        }
    }
}
