//! Backups: the SQLite file copied consistently while the program runs (`VACUUM INTO`, which
//! reads one snapshot and writes a compact copy), or `pg_dump` of a PostgreSQL database.

use std::path::Path;

use sea_orm::{ConnectionTrait, DatabaseConnection};

use crate::db::sql::is_postgres;

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} already exists: choose a new file, a backup never overwrites one")]
    Exists(String),
    #[error("database error: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("cannot run pg_dump (install the PostgreSQL client tools): {0}")]
    PgDump(std::io::Error),
    #[error("pg_dump failed: {0}")]
    PgDumpFailed(String),
}

/// Writes a backup of the database at `url` to `out`.
pub async fn backup(db: &DatabaseConnection, url: &str, out: &Path) -> Result<(), BackupError> {
    if out.exists() {
        return Err(BackupError::Exists(out.display().to_string()));
    }
    if is_postgres(db) {
        let done = std::process::Command::new("pg_dump")
            .args(["--format=custom", "--no-owner", "--file"])
            .arg(out)
            .arg(url)
            .output()
            .map_err(BackupError::PgDump)?;
        if !done.status.success() {
            return Err(BackupError::PgDumpFailed(
                String::from_utf8_lossy(&done.stderr).trim().to_string(),
            ));
        }
    } else {
        let path = out.to_string_lossy().replace('\'', "''");
        db.execute_unprepared(&format!("VACUUM INTO '{path}'"))
            .await?;
    }
    Ok(())
}
