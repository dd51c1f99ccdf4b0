//! The audit trail's table: appending an entry and reading entries back. Who counts as the
//! actor and which actions are recorded is decided in `audit` and its callers.

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;

use crate::dates::{end_of_day, local_time};
use crate::db::sql::{get, stmt};

/// Appends one entry, stamped `at`.
pub async fn insert(
    db: &impl ConnectionTrait,
    at: DateTime<Utc>,
    actor: &str,
    address: Option<String>,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), DbErr> {
    db.execute_raw(stmt(
        db.get_database_backend(),
        "INSERT INTO audit_log (at, actor, address, action, target, detail) VALUES (?, ?, ?, ?, ?, ?)",
        vec![
            at.into(),
            actor.into(),
            address.into(),
            action.into(),
            target.into(),
            detail.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The newest entry's id (0 for none): grows with every audited act, access changes among
/// them. The primary key's index answers it without reading the trail.
pub async fn newest_id(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
    let row = db
        .query_one_raw(stmt(
            db.get_database_backend(),
            "SELECT CAST(COALESCE(MAX(id), 0) AS BIGINT) AS n FROM audit_log",
            vec![],
        ))
        .await?;
    row.map_or(Ok(0), |r| get(&r, "n"))
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: i64,
    /// China Standard Time.
    pub at: String,
    pub actor: String,
    pub address: Option<String>,
    pub action: String,
    pub target: String,
    pub detail: String,
}

/// The condition on `at` for days `from..=to` (China Standard Time), and its values.
fn days(from: Option<NaiveDate>, to: Option<NaiveDate>) -> (String, Vec<Value>) {
    let mut filter = String::from("1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if let Some(f) = from {
        filter.push_str(" AND at >= ?");
        values.push(end_of_day(f - chrono::Duration::days(1)).into());
    }
    if let Some(t) = to {
        filter.push_str(" AND at < ?");
        values.push(end_of_day(t).into());
    }
    (filter, values)
}

fn entry(r: &QueryResult) -> Result<Entry, DbErr> {
    Ok(Entry {
        id: get(r, "id")?,
        at: local_time(get::<DateTime<Utc>>(r, "at")?),
        actor: get(r, "actor")?,
        address: get(r, "address")?,
        action: get(r, "action")?,
        target: get(r, "target")?,
        detail: get(r, "detail")?,
    })
}

/// Entries recorded on days `from..=to` (China Standard Time), newest first, with how many
/// there are in all.
pub async fn entries(
    db: &impl ConnectionTrait,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<Entry>), DbErr> {
    let (filter, mut values) = days(from, to);
    let backend = db.get_database_backend();
    let total: i64 = db
        .query_one_raw(stmt(
            backend,
            &format!("SELECT COUNT(*) AS n FROM audit_log WHERE {filter}"),
            values.clone(),
        ))
        .await?
        .map(|r| get(&r, "n"))
        .transpose()?
        .unwrap_or(0);
    values.push((limit.min(i64::MAX as u64) as i64).into());
    values.push((offset.min(i64::MAX as u64) as i64).into());
    let rows = db
        .query_all_raw(stmt(
            backend,
            &format!("SELECT * FROM audit_log WHERE {filter} ORDER BY id DESC LIMIT ? OFFSET ?"),
            values,
        ))
        .await?;
    let entries = rows.iter().map(entry).collect::<Result<Vec<_>, DbErr>>()?;
    Ok((total.max(0) as u64, entries))
}

/// Up to `limit` entries of days `from..=to` older than the entry `before` (all when none),
/// newest first: a page of a walk through the whole trail that holds one page at a time
/// and, unlike an offset, neither skips nor repeats an entry while new ones are appended.
pub async fn entries_before(
    db: &impl ConnectionTrait,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Entry>, DbErr> {
    let (mut filter, mut values) = days(from, to);
    if let Some(id) = before {
        filter.push_str(" AND id < ?");
        values.push(id.into());
    }
    values.push((limit.min(i64::MAX as u64) as i64).into());
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            &format!("SELECT * FROM audit_log WHERE {filter} ORDER BY id DESC LIMIT ?"),
            values,
        ))
        .await?;
    rows.iter().map(entry).collect()
}
