//! The audit trail: every write (import batch, account change, token change, sign-in success
//! and failure) with actor, time, source address and what changed. Append-only: nothing in
//! the program edits or deletes it, and triggers in the database refuse UPDATE and DELETE.

use chrono::{NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr};

use crate::db::audit_log;
pub use crate::db::audit_log::Entry;

/// Who did something and from where, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub name: String,
    pub address: Option<String>,
}

impl Actor {
    /// The operator on the command line: the OS user.
    pub fn local(os_user: &str) -> Actor {
        Actor {
            name: format!("{os_user} (command line)"),
            address: None,
        }
    }
}

/// Records that `who` did `action` to `target`, now.
pub async fn record(
    db: &impl ConnectionTrait,
    who: &Actor,
    action: &str,
    target: &str,
    detail: &str,
) -> Result<(), DbErr> {
    audit_log::insert(
        db,
        Utc::now(),
        &who.name,
        who.address.clone(),
        action,
        target,
        detail,
    )
    .await
}

/// Entries recorded on days `from..=to` (China Standard Time), newest first.
pub async fn entries(
    db: &impl ConnectionTrait,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    limit: u64,
    offset: u64,
) -> Result<(u64, Vec<Entry>), DbErr> {
    audit_log::entries(db, from, to, limit, offset).await
}

/// Up to `limit` entries of days `from..=to` older than the entry `before`, newest first
/// (see [`audit_log::entries_before`]).
pub async fn entries_before(
    db: &impl ConnectionTrait,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    before: Option<i64>,
    limit: u64,
) -> Result<Vec<Entry>, DbErr> {
    audit_log::entries_before(db, from, to, before, limit).await
}
