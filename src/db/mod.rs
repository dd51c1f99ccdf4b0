//! Connecting to the ledger: an embedded SQLite file by default, PostgreSQL by URL.

pub mod accounts;
pub mod audit_log;
pub mod backup;
pub mod notify;
pub mod read;
pub mod sql;
pub mod store;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, Statement};

/// The database used when neither `--database` nor `DATABASE_URL` is given.
pub const DEFAULT_URL: &str = "sqlite://procure.db?mode=rwc";

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL '{0}': use sqlite://FILE or postgres://USER@HOST/DB")]
    Scheme(String),
    #[error("cannot open database {url}: {source}")]
    Connect {
        url: String,
        #[source]
        source: sea_orm::DbErr,
    },
    #[error("cannot migrate the database schema: {0}")]
    Migrate(#[source] sea_orm::DbErr),
}

/// Normalises what a user may type: a bare file path or `sqlite:FILE` becomes an SQLite URL
/// that creates the file when missing.
pub fn normalise_url(raw: &str) -> Result<String, DbError> {
    if raw.starts_with("postgres://") || raw.starts_with("postgresql://") {
        return Ok(raw.to_string());
    }
    let file = if let Some(rest) = raw.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = raw.strip_prefix("sqlite:") {
        rest
    } else if raw.contains("://") {
        return Err(DbError::Scheme(raw.to_string()));
    } else {
        raw
    };
    if file.contains('?') {
        return Ok(format!("sqlite://{file}"));
    }
    Ok(format!("sqlite://{file}?mode=rwc"))
}

/// How long an SQLite write waits for another's transaction (a long import) before it gives
/// up with "database is locked", which the web answers 503 `database_busy`. 30 s unless
/// `PROCURE_SQLITE_BUSY_MS` says otherwise.
fn busy_timeout() -> Duration {
    std::env::var("PROCURE_SQLITE_BUSY_MS")
        .ok()
        .and_then(|v| v.trim().parse().ok())
        .map_or(Duration::from_secs(30), Duration::from_millis)
}

/// Opens the database (creating an SQLite file when missing) without migrating it.
pub async fn open(raw_url: &str) -> Result<DatabaseConnection, DbError> {
    let url = normalise_url(raw_url)?;
    let mut opts = ConnectOptions::new(url.clone());
    opts.sqlx_logging(false)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(30));
    if url.starts_with("sqlite:") {
        // sea-orm gives SQLite one connection unless told otherwise, so one long import
        // would hold up every page; in WAL mode readers need not wait for the writer.
        opts.max_connections(8);
        // WAL lets readers go on while an import writes; NORMAL is durable in WAL mode
        // except for the last transactions on power loss; foreign keys are off by
        // default in SQLite and must be turned on per connection.
        opts.map_sqlx_sqlite_opts(|o| {
            o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(busy_timeout())
                // An import writes a million rows and four indexes in one transaction: with
                // SQLite's default 2 MB page cache the index pages it keeps touching are
                // spilled to the WAL and read back over and over. 16 MB a connection kept
                // most of them (1M payments: system time 1.9 s -> 0.9 s, wall 8.8 s -> 7.5 s);
                // 8 MB is as fast (7.7-8.3 s against 8.0-8.3 s, two runs each) and keeps that
                // import's peak at 91-92 MB instead of 102-103 MB (the cache is in the process).
                .pragma("cache_size", "-8000")
                // Temporary storage (statement journals, the sorter of a GROUP BY) stays in
                // files, which the OS caches, not in this process: summing a million
                // payments by contract and day sorts them, and in memory that sort alone took
                // 47 MB more at its peak (and was no faster: 0.67 s in files, 0.75 s in memory).
                .pragma("temp_store", "file")
                // REPLACE and INSERT OR REPLACE delete the row in their way without firing
                // its DELETE triggers unless this is on, and so would rewrite a payment or
                // an audit record past the append-only triggers (the schema also refuses
                // such inserts, for connections that other tools open).
                .pragma("recursive_triggers", "ON")
        });
    }
    Database::connect(opts)
        .await
        .map_err(|source| DbError::Connect {
            url: redact(&url),
            source,
        })
}

/// Opens and brings the schema up to date: what every command does at start.
pub async fn connect(raw_url: &str) -> Result<DatabaseConnection, DbError> {
    let db = open(raw_url).await?;
    migrate(&db).await?;
    Ok(db)
}

/// The advisory lock migrations take on PostgreSQL ("migr" in ASCII).
const MIGRATION_LOCK: i64 = 0x6d69_6772;

pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbError> {
    // Several processes may start at once on one database, and one may be killed half-way:
    // the migrations run in one transaction (both engines run DDL in transactions) that first
    // takes a lock, so one process applies them whole and the others then find them applied.
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.map_err(DbError::Migrate)?;
    let lock = if sql::is_postgres(db) {
        format!("SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
    } else {
        // Writing the header takes SQLite's write lock (user_version is otherwise unused).
        "PRAGMA user_version = 1".to_string()
    };
    txn.execute_unprepared(&lock)
        .await
        .map_err(DbError::Migrate)?;
    Migrator::up(&txn, None).await.map_err(DbError::Migrate)?;
    txn.commit().await.map_err(DbError::Migrate)
}

/// The name of the newest applied migration: the schema version /health reports.
pub async fn schema_version(db: &impl ConnectionTrait) -> Result<Option<String>, sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT version FROM seaql_migrations ORDER BY version DESC LIMIT 1",
        ))
        .await?;
    row.map(|r| r.try_get::<String>("", "version")).transpose()
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}
