//! What the history report reads: the batches recorded in a window of days and the changes
//! they made, each with the file it came from.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use super::ledger::Scope;
use crate::dates::end_of_day;
use crate::db::sql::{get, stmt};

/// One import batch as the history lists it.
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub id: i64,
    pub recorded_at: DateTime<Utc>,
    pub file_name: String,
    pub actor: String,
    pub sha256: String,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
}

/// One recorded change of a field.
#[derive(Debug, Clone)]
pub struct ChangeRow {
    pub id: i64,
    pub changed_at: DateTime<Utc>,
    pub batch_id: i64,
    pub file_name: String,
    pub actor: String,
    pub record_key: String,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// Batches recorded from the scope's `from` day to its as-of day (both inclusive, in the
/// bureau's days), and by its as-recorded day.
fn recorded_window(scope: &Scope) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = vec![end_of_day(scope.as_of).into()];
    let mut filter = String::from("b.recorded_at < ?");
    if let Some(f) = scope.from {
        values.push(end_of_day(f - chrono::Duration::days(1)).into());
        filter.push_str(" AND b.recorded_at >= ?");
    }
    if let Some(r) = scope.as_recorded {
        values.push(end_of_day(r).into());
        filter.push_str(" AND b.recorded_at < ?");
    }
    (filter, values)
}

pub async fn batches(db: &impl ConnectionTrait, scope: &Scope) -> Result<Vec<BatchRow>, DbErr> {
    let (filter, values) = recorded_window(scope);
    let sql = format!(
        "SELECT b.id, b.recorded_at, b.file_name, b.actor, b.sha256, b.inserted, b.updated, b.unchanged \
         FROM import_batches b WHERE {filter} ORDER BY b.id"
    );
    db.query_all_raw(stmt(db.get_database_backend(), &sql, values))
        .await?
        .iter()
        .map(|b| {
            Ok(BatchRow {
                id: get(b, "id")?,
                recorded_at: get(b, "recorded_at")?,
                file_name: get(b, "file_name")?,
                actor: get(b, "actor")?,
                sha256: get(b, "sha256")?,
                inserted: get(b, "inserted")?,
                updated: get(b, "updated")?,
                unchanged: get(b, "unchanged")?,
            })
        })
        .collect()
}

pub async fn changes(db: &impl ConnectionTrait, scope: &Scope) -> Result<Vec<ChangeRow>, DbErr> {
    let (filter, values) = recorded_window(scope);
    let sql = format!(
        "SELECT h.id, h.changed_at, h.batch_id, b.file_name, h.actor, h.entity, h.record_key, h.field, h.old_value, h.new_value \
         FROM change_history h JOIN import_batches b ON b.id = h.batch_id WHERE {filter} ORDER BY h.id"
    );
    db.query_all_raw(stmt(db.get_database_backend(), &sql, values))
        .await?
        .iter()
        .map(|h| {
            Ok(ChangeRow {
                id: get(h, "id")?,
                changed_at: get(h, "changed_at")?,
                batch_id: get(h, "batch_id")?,
                file_name: get(h, "file_name")?,
                actor: get(h, "actor")?,
                record_key: get(h, "record_key")?,
                field: get(h, "field")?,
                old_value: get(h, "old_value")?,
                new_value: get(h, "new_value")?,
            })
        })
        .collect()
}
