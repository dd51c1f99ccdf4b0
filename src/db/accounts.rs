//! The accounts, their sessions and API tokens, and the failed sign-ins that make an address
//! wait: the statements only. What a role may do, the password policy and when a sign-in must
//! wait are decided in `access`; here roles are the stored codes and secrets arrive already
//! hashed.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Statement, Value};
use serde::Serialize;

use crate::db::sql::{get, stmt};

/// An account as listed, its role the stored code.
#[derive(Debug, Clone)]
pub struct StoredAccount {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

/// What a sign-in checks: the account, its password hash and whether it is disabled.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub id: i64,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
}

/// The account behind a live session or token, its role the stored code.
#[derive(Debug, Clone)]
pub struct Holder {
    pub id: i64,
    pub name: String,
    pub role: String,
}

/// The failed sign-ins of one name from one address.
#[derive(Debug, Clone, Copy)]
pub struct Failures {
    pub failures: i32,
    pub locked_until: Option<DateTime<Utc>>,
}

/// An API token as listed (never its secret).
#[derive(Debug, Clone, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub account: String,
    pub label: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub revoked_at: Option<DateTime<Utc>>,
}

async fn exec(db: &impl ConnectionTrait, sql: &str, values: Vec<Value>) -> Result<u64, DbErr> {
    Ok(db
        .execute_raw(stmt(db.get_database_backend(), sql, values))
        .await?
        .rows_affected())
}

async fn one(
    db: &impl ConnectionTrait,
    sql: &str,
    values: Vec<Value>,
) -> Result<Option<QueryResult>, DbErr> {
    db.query_one_raw(stmt(db.get_database_backend(), sql, values))
        .await
}

fn holder(r: &QueryResult) -> Result<Holder, DbErr> {
    Ok(Holder {
        id: get(r, "id")?,
        name: get(r, "name")?,
        role: get(r, "role")?,
    })
}

/// The id of the account with this name.
pub async fn account_id(db: &impl ConnectionTrait, name: &str) -> Result<Option<i64>, DbErr> {
    one(
        db,
        "SELECT id FROM accounts WHERE name = ?",
        vec![name.into()],
    )
    .await?
    .map(|r| get(&r, "id"))
    .transpose()
}

pub async fn insert_account(
    db: &impl ConnectionTrait,
    name: &str,
    role: &str,
    password_hash: String,
    created_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    exec(
        db,
        "INSERT INTO accounts (name, role, password_hash, disabled, created_at) VALUES (?, ?, ?, ?, ?)",
        vec![name.into(), role.into(), password_hash.into(), false.into(), created_at.into()],
    )
    .await?;
    Ok(())
}

/// Every account, by name.
pub async fn list_accounts(db: &impl ConnectionTrait) -> Result<Vec<StoredAccount>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT id, name, role, disabled, created_at FROM accounts ORDER BY name",
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(StoredAccount {
                id: get(r, "id")?,
                name: get(r, "name")?,
                role: get(r, "role")?,
                disabled: get(r, "disabled")?,
                created_at: get(r, "created_at")?,
            })
        })
        .collect()
}

pub async fn set_disabled(db: &impl ConnectionTrait, id: i64, disabled: bool) -> Result<(), DbErr> {
    exec(
        db,
        "UPDATE accounts SET disabled = ? WHERE id = ?",
        vec![disabled.into(), id.into()],
    )
    .await?;
    Ok(())
}

pub async fn set_password_hash(
    db: &impl ConnectionTrait,
    id: i64,
    password_hash: String,
) -> Result<(), DbErr> {
    exec(
        db,
        "UPDATE accounts SET password_hash = ? WHERE id = ?",
        vec![password_hash.into(), id.into()],
    )
    .await?;
    Ok(())
}

/// Ends every session of an account.
pub async fn delete_sessions_of(db: &impl ConnectionTrait, account_id: i64) -> Result<(), DbErr> {
    exec(
        db,
        "DELETE FROM sessions WHERE account_id = ?",
        vec![account_id.into()],
    )
    .await?;
    Ok(())
}

/// The failed sign-ins recorded for this name from this address, if any.
pub async fn failures(
    db: &impl ConnectionTrait,
    name: &str,
    address: &str,
) -> Result<Option<Failures>, DbErr> {
    one(
        db,
        "SELECT failures, locked_until FROM login_failures WHERE name = ? AND address = ?",
        vec![name.into(), address.into()],
    )
    .await?
    .map(|r| {
        Ok(Failures {
            failures: get(&r, "failures")?,
            locked_until: get(&r, "locked_until")?,
        })
    })
    .transpose()
}

/// Records the count of failed sign-ins and the wait before the next attempt.
pub async fn save_failures(
    db: &impl ConnectionTrait,
    name: &str,
    address: &str,
    failures: Failures,
) -> Result<(), DbErr> {
    exec(
        db,
        "INSERT INTO login_failures (name, address, failures, locked_until) VALUES (?, ?, ?, ?) \
         ON CONFLICT (name, address) DO UPDATE SET failures = excluded.failures, locked_until = excluded.locked_until",
        vec![name.into(), address.into(), failures.failures.into(), failures.locked_until.into()],
    )
    .await?;
    Ok(())
}

pub async fn clear_failures(
    db: &impl ConnectionTrait,
    name: &str,
    address: &str,
) -> Result<(), DbErr> {
    exec(
        db,
        "DELETE FROM login_failures WHERE name = ? AND address = ?",
        vec![name.into(), address.into()],
    )
    .await?;
    Ok(())
}

/// The account a sign-in with this name checks against.
pub async fn credentials(
    db: &impl ConnectionTrait,
    name: &str,
) -> Result<Option<Credentials>, DbErr> {
    one(
        db,
        "SELECT id, name, role, password_hash, disabled FROM accounts WHERE name = ?",
        vec![name.into()],
    )
    .await?
    .map(|r| {
        Ok(Credentials {
            id: get(&r, "id")?,
            name: get(&r, "name")?,
            role: get(&r, "role")?,
            password_hash: get(&r, "password_hash")?,
            disabled: get(&r, "disabled")?,
        })
    })
    .transpose()
}

/// A new session, stored by the hash of its cookie.
pub async fn insert_session(
    db: &impl ConnectionTrait,
    id_hash: String,
    account_id: i64,
    csrf_token: String,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    address: Option<String>,
) -> Result<(), DbErr> {
    exec(
        db,
        "INSERT INTO sessions (id_hash, account_id, csrf_token, created_at, expires_at, address) VALUES (?, ?, ?, ?, ?, ?)",
        vec![id_hash.into(), account_id.into(), csrf_token.into(), created_at.into(), expires_at.into(), address.into()],
    )
    .await?;
    Ok(())
}

/// Removes the sessions that expired before `now`.
pub async fn delete_expired_sessions(
    db: &impl ConnectionTrait,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    exec(
        db,
        "DELETE FROM sessions WHERE expires_at < ?",
        vec![now.into()],
    )
    .await?;
    Ok(())
}

/// The enabled account and CSRF token of a session unexpired at `now`.
pub async fn session_holder(
    db: &impl ConnectionTrait,
    id_hash: String,
    now: DateTime<Utc>,
) -> Result<Option<(Holder, String)>, DbErr> {
    one(
        db,
        "SELECT a.id, a.name, a.role, s.csrf_token FROM sessions s JOIN accounts a ON a.id = s.account_id \
         WHERE s.id_hash = ? AND s.expires_at > ? AND a.disabled = ?",
        vec![id_hash.into(), now.into(), false.into()],
    )
    .await?
    .map(|r| Ok((holder(&r)?, get(&r, "csrf_token")?)))
    .transpose()
}

pub async fn delete_session(db: &impl ConnectionTrait, id_hash: String) -> Result<(), DbErr> {
    exec(
        db,
        "DELETE FROM sessions WHERE id_hash = ?",
        vec![id_hash.into()],
    )
    .await?;
    Ok(())
}

/// Stores a new token by its hash and returns its id (0 if it cannot be read back).
pub async fn insert_token(
    db: &impl ConnectionTrait,
    account_id: i64,
    label: &str,
    token_hash: String,
    created_at: DateTime<Utc>,
    created_by: &str,
) -> Result<i64, DbErr> {
    exec(
        db,
        "INSERT INTO api_tokens (account_id, label, token_hash, created_at, created_by) VALUES (?, ?, ?, ?, ?)",
        vec![account_id.into(), label.into(), token_hash.clone().into(), created_at.into(), created_by.into()],
    )
    .await?;
    Ok(one(
        db,
        "SELECT id FROM api_tokens WHERE token_hash = ?",
        vec![token_hash.into()],
    )
    .await?
    .map(|r| get(&r, "id"))
    .transpose()?
    .unwrap_or(0))
}

/// Revokes every token of an account not yet revoked; how many.
pub async fn revoke_tokens_of(
    db: &impl ConnectionTrait,
    account_id: i64,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    exec(
        db,
        "UPDATE api_tokens SET revoked_at = ? WHERE account_id = ? AND revoked_at IS NULL",
        vec![at.into(), account_id.into()],
    )
    .await
}

/// Revokes a token not yet revoked; the number of tokens revoked (0 or 1).
pub async fn revoke_token(
    db: &impl ConnectionTrait,
    id: i64,
    at: DateTime<Utc>,
) -> Result<u64, DbErr> {
    exec(
        db,
        "UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        vec![at.into(), id.into()],
    )
    .await
}

/// Every token, by id.
pub async fn list_tokens(db: &impl ConnectionTrait) -> Result<Vec<TokenRow>, DbErr> {
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT t.id, a.name, t.label, t.created_at, t.created_by, t.revoked_at FROM api_tokens t \
             JOIN accounts a ON a.id = t.account_id ORDER BY t.id",
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok(TokenRow {
                id: get(r, "id")?,
                account: get(r, "name")?,
                label: get(r, "label")?,
                created_at: get(r, "created_at")?,
                created_by: get(r, "created_by")?,
                revoked_at: get(r, "revoked_at")?,
            })
        })
        .collect()
}

/// The enabled account of a live (not revoked) token.
pub async fn token_holder(
    db: &impl ConnectionTrait,
    token_hash: String,
) -> Result<Option<Holder>, DbErr> {
    one(
        db,
        "SELECT a.id, a.name, a.role FROM api_tokens t JOIN accounts a ON a.id = t.account_id \
         WHERE t.token_hash = ? AND t.revoked_at IS NULL AND a.disabled = ?",
        vec![token_hash.into(), false.into()],
    )
    .await?
    .map(|r| holder(&r))
    .transpose()
}

/// A count of failed sign-ins of one name from one address in one minute.
#[derive(Debug, Clone)]
pub struct MinuteFailures {
    pub address: String,
    pub name: String,
    /// Minutes since 1970-01-01 UTC.
    pub minute: i64,
    pub failures: i32,
}

/// Counts one more failed sign-in of `name` from `address` in `minute`; the count now.
pub async fn count_failure(
    db: &impl ConnectionTrait,
    address: &str,
    name: &str,
    minute: i64,
) -> Result<i32, DbErr> {
    one(
        db,
        "INSERT INTO login_failure_counts (address, name, minute, failures) VALUES (?, ?, ?, 1) \
         ON CONFLICT (address, name, minute) DO UPDATE SET failures = login_failure_counts.failures + 1 \
         RETURNING failures",
        vec![address.into(), name.into(), minute.into()],
    )
    .await?
    .map(|r| get(&r, "failures"))
    .transpose()
    .map(|n| n.unwrap_or(1))
}

/// Failed sign-ins from `address` in `minute`, whatever the name.
pub async fn address_failures(
    db: &impl ConnectionTrait,
    address: &str,
    minute: i64,
) -> Result<i64, DbErr> {
    one(
        db,
        "SELECT COALESCE(SUM(failures), 0) AS n FROM login_failure_counts WHERE address = ? AND minute = ?",
        vec![address.into(), minute.into()],
    )
    .await?
    .map(|r| get::<i64>(&r, "n"))
    .transpose()
    .map(|n| n.unwrap_or(0))
}

fn minute_failures(rows: Vec<QueryResult>) -> Result<Vec<MinuteFailures>, DbErr> {
    rows.iter()
        .map(|r| {
            Ok(MinuteFailures {
                address: get(r, "address")?,
                name: get(r, "name")?,
                minute: get(r, "minute")?,
                failures: get(r, "failures")?,
            })
        })
        .collect()
}

/// Takes the counts of minutes before `minute` out of the table (each taken once, however
/// many servers look at the same time: the delete returns what it removed).
pub async fn take_ended_failures(
    db: &impl ConnectionTrait,
    minute: i64,
) -> Result<Vec<MinuteFailures>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            "DELETE FROM login_failure_counts WHERE minute < ? RETURNING address, name, minute, failures",
            vec![minute.into()],
        ))
        .await?;
    minute_failures(rows)
}

/// Takes every count of `name` from `address` out of the table (a sign-in succeeded: the
/// failures before it are recorded now).
pub async fn take_failures_of(
    db: &impl ConnectionTrait,
    address: &str,
    name: &str,
) -> Result<Vec<MinuteFailures>, DbErr> {
    let rows = db
        .query_all_raw(stmt(
            db.get_database_backend(),
            "DELETE FROM login_failure_counts WHERE address = ? AND name = ? RETURNING address, name, minute, failures",
            vec![address.into(), name.into()],
        ))
        .await?;
    minute_failures(rows)
}
