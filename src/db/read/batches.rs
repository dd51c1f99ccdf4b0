//! Import batches as the imports page and the API list them, the imports that were
//! interrupted, the kept original of a batch, and the count of batches (the ledger's state).

use sea_orm::{ConnectionTrait, DbErr, Statement};
use serde::Serialize;
use utoipa::ToSchema;

use crate::dates::local_time;
use crate::db::sql::{get, is_postgres, stmt};

/// The number of stored batches. Batches are never deleted and a rolled-back one is never
/// counted, so the count changes exactly when the ledger does.
pub async fn count(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM import_batches",
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0))
}

/// One import batch as the imports page lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Batch {
    pub id: i64,
    /// China Standard Time.
    pub recorded_at: String,
    pub file_name: String,
    pub file_size: i64,
    pub sha256: String,
    pub kind: String,
    pub actor: String,
    pub rows_read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub warnings: i64,
    /// True when the uploaded file is kept and can be downloaded again.
    pub has_original: bool,
}

/// An import that started and never finished: nothing of it was stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Interrupted {
    /// When the import started (the bureau's time).
    pub started_at: String,
    /// When the interruption was found: the next start of the program on that host.
    pub found_at: String,
    pub actor: String,
    pub file_name: String,
    pub file_size: i64,
    pub sha256: String,
    /// The host it ran on.
    pub host: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchPage {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub items: Vec<Batch>,
    /// The latest imports that were interrupted (a process killed mid-import).
    pub interrupted: Vec<Interrupted>,
}

pub async fn batches(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
) -> Result<BatchPage, DbErr> {
    let backend = db.get_database_backend();
    let total: i64 = count(db).await?;
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT b.*, EXISTS (SELECT 1 FROM uploads u WHERE u.sha256 = b.sha256) AS has_original \
             FROM import_batches b ORDER BY b.id DESC LIMIT ? OFFSET ?",
            vec![(per_page as i64).into(), (offset.min(i64::MAX as u64) as i64).into()],
        ))
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(Batch {
            id: get(&r, "id")?,
            recorded_at: local_time(get(&r, "recorded_at")?),
            file_name: get(&r, "file_name")?,
            file_size: get(&r, "file_size")?,
            sha256: get(&r, "sha256")?,
            kind: get(&r, "kind")?,
            actor: get(&r, "actor")?,
            rows_read: get(&r, "rows_read")?,
            inserted: get(&r, "inserted")?,
            updated: get(&r, "updated")?,
            unchanged: get(&r, "unchanged")?,
            warnings: get(&r, "warnings")?,
            // EXISTS is a boolean on PostgreSQL and an integer on SQLite.
            has_original: if is_postgres(db) {
                get::<bool>(&r, "has_original")?
            } else {
                get::<i64>(&r, "has_original")? != 0
            },
        });
    }
    let interrupted = db
        .query_all_raw(stmt(
            backend,
            // The attempts table, not the audit trail's wording: what crash recovery records.
            "SELECT started_at, ended_at, actor, file_name, file_size, sha256, host FROM import_attempts \
             WHERE outcome = 'interrupted' ORDER BY ended_at DESC, started_at DESC LIMIT 20",
            vec![],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(Interrupted {
                started_at: local_time(get(r, "started_at")?),
                found_at: local_time(get(r, "ended_at")?),
                actor: get(r, "actor")?,
                file_name: get(r, "file_name")?,
                file_size: get(r, "file_size")?,
                sha256: get(r, "sha256")?,
                host: get(r, "host")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(BatchPage {
        total: total.max(0) as u64,
        page: page.max(1),
        per_page,
        items,
        interrupted,
    })
}

/// How many batches are newer than `id` (where it falls in the newest-first list).
pub async fn newer_batches(db: &impl ConnectionTrait, id: i64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let n: i64 = db
        .query_one_raw(stmt(
            backend,
            "SELECT COUNT(*) AS n FROM import_batches WHERE id > ?",
            vec![id.into()],
        ))
        .await?
        .map(|r| get(&r, "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(n.max(0) as u64)
}

/// The kept original of a batch: file name and bytes.
pub async fn original(
    db: &impl ConnectionTrait,
    batch_id: i64,
) -> Result<Option<(String, Vec<u8>)>, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "SELECT b.file_name, u.content FROM import_batches b JOIN uploads u ON u.sha256 = b.sha256 \
             WHERE b.id = ? ORDER BY u.id LIMIT 1",
            vec![batch_id.into()],
        ))
        .await?;
    row.map(|r| Ok((get(&r, "file_name")?, get(&r, "content")?)))
        .transpose()
}
