//! Test support: every test owns a fresh database, SQLite always and PostgreSQL when
//! `PROCURE_TEST_POSTGRES` holds a server URL.
#![allow(dead_code)]

pub mod book;
pub mod server;

use std::sync::atomic::{AtomicU32, Ordering};

use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// A database that exists for one test and is removed afterwards.
pub struct TestDb {
    pub url: String,
    pub db: DatabaseConnection,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl TestDb {
    pub fn backend(&self) -> &'static str {
        if self.pg.is_some() {
            "postgres"
        } else {
            "sqlite"
        }
    }
}

/// The PostgreSQL server tests run against, if any.
pub fn postgres_url() -> Option<String> {
    std::env::var("PROCURE_TEST_POSTGRES")
        .ok()
        .filter(|s| !s.is_empty())
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn unique_name() -> String {
    format!(
        "procure_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos()
    )
}

/// Replaces the database name in a PostgreSQL URL.
pub fn with_database(server: &str, name: &str) -> String {
    let mut u = url::Url::parse(server).expect("PROCURE_TEST_POSTGRES is a URL");
    u.set_path(&format!("/{name}"));
    u.to_string()
}

pub async fn sqlite() -> TestDb {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
    let db = procure::db::connect(&url)
        .await
        .expect("sqlite test database");
    TestDb {
        url,
        db,
        dir,
        pg: None,
    }
}

pub async fn postgres(server: &str) -> TestDb {
    let name = unique_name();
    let admin = Database::connect(server)
        .await
        .unwrap_or_else(|e| panic!("PROCURE_TEST_POSTGRES={server} does not answer: {e}"));
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .expect("create test database");
    admin.close().await.ok();
    let url = with_database(server, &name);
    let db = procure::db::connect(&url)
        .await
        .expect("postgres test database");
    TestDb {
        url,
        db,
        dir: tempfile::tempdir().unwrap(),
        pg: Some((server.to_string(), name)),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((server, name)) = self.pg.take() {
            // Drop runs outside any runtime we may block: use a thread with its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(admin) = Database::connect(&server).await {
                        let _ = admin
                            .execute_unprepared(&format!(
                                "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"
                            ))
                            .await;
                    }
                });
            })
            .join();
        }
    }
}

impl TestDb {
    /// One integer from SQL (NULL reads as 0).
    pub async fn scalar(&self, sql: &str) -> i64 {
        use sea_orm::Statement;
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
        row.try_get_by_index::<Option<i64>>(0).unwrap().unwrap_or(0)
    }
}

/// Runs one test body against each backend: SQLite, then PostgreSQL when configured.
/// In CI (`PROCURE_REQUIRE_POSTGRES=1`) a missing server is a failure, never a skip.
#[macro_export]
macro_rules! both_backends {
    ($(#[$m:meta])* async fn $name:ident($db:ident: &TestDb) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn body($db: &$crate::common::TestDb) $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = $crate::common::sqlite().await;
                body(&db).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                match $crate::common::postgres_url() {
                    Some(server) => {
                        let db = $crate::common::postgres(&server).await;
                        body(&db).await;
                    }
                    None => {
                        assert!(
                            std::env::var("PROCURE_REQUIRE_POSTGRES").is_err(),
                            "PROCURE_REQUIRE_POSTGRES is set but PROCURE_TEST_POSTGRES is not"
                        );
                        eprintln!("skipped: PROCURE_TEST_POSTGRES is not set");
                    }
                }
            }
        }
    };
}

/// The name of the newest migration: the schema version a fresh database reports.
pub fn newest_migration() -> String {
    use migration::MigratorTrait;
    migration::Migrator::migrations()
        .last()
        .expect("at least one migration")
        .name()
        .to_string()
}

impl TestDb {
    /// An account `name` of `role` (password "password-1") and an API token acting as it.
    pub async fn api_token(&self, name: &str, role: procure::access::Role) -> String {
        let me = procure::access::Actor::local("test");
        procure::access::add_account(&self.db, name, role, "password-1", &me)
            .await
            .unwrap();
        procure::access::create_token(&self.db, name, "test", &me)
            .await
            .unwrap()
            .1
    }
}

/// An HTTP client that signs every request with an API token.
pub fn bearer(token: &str) -> reqwest::Client {
    let mut h = reqwest::header::HeaderMap::new();
    h.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(h)
        .build()
        .unwrap()
}
