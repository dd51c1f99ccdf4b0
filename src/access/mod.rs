//! Who may do what. Accounts have one role; passwords are argon2id hashes; sessions and API
//! tokens are random secrets of which the database keeps only SHA-256 hashes; every write is
//! recorded in the append-only audit trail ([`audit`]).

use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use rand::Rng;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr, TransactionTrait};
use serde::Serialize;

use crate::audit;
pub use crate::audit::Actor;
use crate::crypto::{secret, sha256};
pub use crate::db::accounts::TokenRow;
use crate::db::accounts::{self as stored, Failures, Holder, MinuteFailures};

crate::vocabulary! {
    /// What an account may do.
    Role {
        Admin => "admin", "管理员", "Administrator", [];
        Finance => "finance", "财务", "Finance officer", ["finance officer"];
        Auditor => "auditor", "审计", "Auditor", [];
        Manager => "manager", "管理人员", "Manager", [];
    }
}

/// How long a session lasts from sign-in.
pub const SESSION_LIFETIME: chrono::Duration = chrono::Duration::hours(12);
/// Failed sign-ins allowed before each further attempt waits.
const FREE_FAILURES: i32 = 3;
/// The longest wait after repeated failures.
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
/// Failed sign-ins one address may make in a minute, whatever the names; beyond it every
/// attempt from the address is refused until the minute ends, without checking a password.
pub const ADDRESS_FAILURES_PER_MINUTE: i64 = 20;
/// The name failures over the address's limit are counted under (they are not checked).
const ANY_NAME: &str = "*";
/// Shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    #[error("database error: {0}")]
    Db(#[from] DbErr),
    #[error("no account named '{0}'")]
    NoAccount(String),
    #[error("an account named '{0}' already exists")]
    Exists(String),
    #[error("an account name is 1 to 64 letters, digits, '.', '-', '_' or '@'")]
    BadName,
    #[error("the password must be at least {MIN_PASSWORD} characters")]
    WeakPassword,
    #[error("no token with id {0}")]
    NoToken(i64),
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

/// A signed-in account, as a request sees it.
#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub id: i64,
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Clone, Serialize)]
pub struct AccountRow {
    pub id: i64,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
}

fn role_of(raw: &str) -> Result<Role, DbErr> {
    Role::parse(raw).ok_or_else(|| DbErr::Custom(format!("unknown role '{raw}' in accounts")))
}

/// The account behind a session or token, its stored role code read as a [`Role`].
fn account_of(holder: Holder) -> Result<Account, DbErr> {
    Ok(Account {
        role: role_of(&holder.role)?,
        id: holder.id,
        name: holder.name,
    })
}

pub fn hash_password(password: &str) -> Result<String, AccessError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(AccessError::WeakPassword);
    }
    let salt = SaltString::encode_b64(&rand::rng().random::<[u8; 16]>())
        .map_err(|e| AccessError::Hash(e.to_string()))?;
    // Argon2id v19 with the crate's defaults (19 MiB, 2 passes): OWASP's recommendation.
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccessError::Hash(e.to_string()))
}

fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '-' | '_' | '@'))
}

async fn add_account_in(
    db: &impl ConnectionTrait,
    name: &str,
    role: Role,
    password: &str,
    by: &Actor,
) -> Result<i64, AccessError> {
    if !valid_name(name) {
        return Err(AccessError::BadName);
    }
    let hash = hash_password(password)?;
    if stored::account_id(db, name).await?.is_some() {
        return Err(AccessError::Exists(name.to_string()));
    }
    stored::insert_account(db, name, role.code(), hash, Utc::now()).await?;
    let id = account_id(db, name).await?;
    audit::record(
        db,
        by,
        "account.add",
        &format!("account {name}"),
        &format!("role {}", role.code()),
    )
    .await?;
    Ok(id)
}

async fn account_id(db: &impl ConnectionTrait, name: &str) -> Result<i64, AccessError> {
    stored::account_id(db, name)
        .await?
        .ok_or_else(|| AccessError::NoAccount(name.to_string()))
}

pub async fn list_accounts(db: &impl ConnectionTrait) -> Result<Vec<AccountRow>, AccessError> {
    stored::list_accounts(db)
        .await?
        .into_iter()
        .map(|a| {
            Ok(AccountRow {
                role: role_of(&a.role)?,
                id: a.id,
                name: a.name,
                disabled: a.disabled,
                created_at: a.created_at,
            })
        })
        .collect()
}

/// Disables an account (or enables it again); its sessions end at once.
async fn set_disabled_in(
    db: &impl ConnectionTrait,
    name: &str,
    disabled: bool,
    by: &Actor,
) -> Result<(), AccessError> {
    let id = account_id(db, name).await?;
    stored::set_disabled(db, id, disabled).await?;
    let mut detail = String::new();
    if disabled {
        stored::delete_sessions_of(db, id).await?;
        // A disabled account's tokens are revoked, not merely unusable: enabling the account
        // again must not bring back a token that may have leaked meanwhile.
        let revoked = stored::revoke_tokens_of(db, id, Utc::now()).await?;
        if revoked > 0 {
            detail = format!("{revoked} API token(s) revoked");
        }
    }
    let action = if disabled {
        "account.disable"
    } else {
        "account.enable"
    };
    audit::record(db, by, action, &format!("account {name}"), &detail).await?;
    Ok(())
}

/// Sets a new password; the account's sessions end (it may have been stolen).
async fn set_password_in(
    db: &impl ConnectionTrait,
    name: &str,
    password: &str,
    by: &Actor,
) -> Result<(), AccessError> {
    let id = account_id(db, name).await?;
    let hash = hash_password(password)?;
    stored::set_password_hash(db, id, hash).await?;
    stored::delete_sessions_of(db, id).await?;
    audit::record(db, by, "account.password", &format!("account {name}"), "").await?;
    Ok(())
}

/// Why a sign-in failed, as the login page says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginRefused {
    /// Unknown name, wrong password or disabled account: deliberately one answer.
    Invalid,
    /// Too many failures: try again after this many seconds.
    Wait(u64),
}

// Each change and its audit record are one transaction: a change is never stored without
// the name on it, nor recorded without having happened.

/// The PostgreSQL channel told of every change that can end a token's or a session's use
/// (a revocation, an account disabled, a password changed), so that servers drop what they
/// keep of it at once.
pub const ACCESS_CHANNEL: &str = "procure_access";

pub async fn add_account(
    db: &DatabaseConnection,
    name: &str,
    role: Role,
    password: &str,
    by: &Actor,
) -> Result<i64, AccessError> {
    let txn = db.begin().await?;
    let done = add_account_in(&txn, name, role, password, by).await?;
    txn.commit().await?;
    Ok(done)
}

pub async fn set_disabled(
    db: &DatabaseConnection,
    name: &str,
    disabled: bool,
    by: &Actor,
) -> Result<(), AccessError> {
    let txn = db.begin().await?;
    set_disabled_in(&txn, name, disabled, by).await?;
    crate::db::notify::on_commit(&txn, ACCESS_CHANNEL).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn set_password(
    db: &DatabaseConnection,
    name: &str,
    password: &str,
    by: &Actor,
) -> Result<(), AccessError> {
    let txn = db.begin().await?;
    set_password_in(&txn, name, password, by).await?;
    crate::db::notify::on_commit(&txn, ACCESS_CHANNEL).await?;
    txn.commit().await?;
    Ok(())
}

pub async fn create_token(
    db: &DatabaseConnection,
    account: &str,
    label: &str,
    by: &Actor,
) -> Result<(i64, String), AccessError> {
    let txn = db.begin().await?;
    let done = create_token_in(&txn, account, label, by).await?;
    txn.commit().await?;
    Ok(done)
}

pub async fn revoke_token(db: &DatabaseConnection, id: i64, by: &Actor) -> Result<(), AccessError> {
    let txn = db.begin().await?;
    revoke_token_in(&txn, id, by).await?;
    crate::db::notify::on_commit(&txn, ACCESS_CHANNEL).await?;
    txn.commit().await?;
    Ok(())
}

/// A new session: the cookie value (never stored) and its CSRF token.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
    pub account: Account,
}

/// The delay after `failures` failed sign-ins: none for the first few, then doubling.
pub fn delay_after(failures: i32) -> Duration {
    if failures < FREE_FAILURES {
        return Duration::ZERO;
    }
    let exp = (failures - FREE_FAILURES).min(16) as u32;
    Duration::from_secs(1u64 << exp).min(MAX_DELAY)
}

/// Sign-ins checked at once in this process: argon2 is deliberately costly (19 MiB, tens of
/// milliseconds), so a burst of attempts waits here instead of taking every core, and the
/// wait after failures is decided one attempt at a time, so a burst cannot slip past it.
static LOGIN_GATE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// Verifies off the async workers.
async fn check_password(password: &str, phc: String) -> bool {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || verify_password(&password, &phc))
        .await
        .unwrap_or(false)
}

/// Checks a password and opens a new session (a new id every time: no fixation). Failures
/// from one address make that address wait longer before its next attempt on that name,
/// whether or not the name exists, and more than [`ADDRESS_FAILURES_PER_MINUTE`] in a minute
/// across all names make it wait for the next minute. Both outcomes are audited; repeated
/// failures of one name from one address in one minute as one row with their count.
pub async fn login(
    db: &impl ConnectionTrait,
    name: &str,
    password: &str,
    address: Option<String>,
) -> Result<Result<NewSession, LoginRefused>, AccessError> {
    let _turn = LOGIN_GATE.acquire().await.ok();
    // A control character (a NUL, which PostgreSQL refuses in text) can be in no account's
    // name: it is kept visible as U+FFFD, so the attempt is an ordinary failed sign-in of a
    // name that does not exist, recorded like any other.
    let name: String = name
        .chars()
        .take(64)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    let from: String = address
        .clone()
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect();
    let actor = Actor {
        name: name.clone(),
        address: address.clone(),
    };
    let now = Utc::now();
    let minute = now.timestamp().div_euclid(60);
    if stored::address_failures(db, &from, minute).await? >= ADDRESS_FAILURES_PER_MINUTE {
        // Guessing across many names: the address waits for the next minute, and the attempts
        // are counted under one name so that they add no audit rows beyond one a minute.
        let any = Actor {
            name: ANY_NAME.to_string(),
            address: address.clone(),
        };
        record_failure(
            db,
            &any,
            &from,
            minute,
            "too many failed sign-ins from this address; refused without checking",
        )
        .await?;
        let left = 60 - now.timestamp().rem_euclid(60);
        return Ok(Err(LoginRefused::Wait(left.max(1) as u64)));
    }
    let failures = stored::failures(db, &name, &from).await?;
    let (failed, locked_until) = match failures {
        Some(f) => (f.failures, f.locked_until),
        None => (0, None),
    };
    if let Some(until) = locked_until.filter(|u| *u > now) {
        // The same cost as a real check, so the answer's timing says nothing either.
        let _ = check_password(password, DUMMY_HASH.to_string()).await;
        record_failure(db, &actor, &from, minute, "waiting after failures").await?;
        return Ok(Err(LoginRefused::Wait(
            (until - now).num_seconds().max(1) as u64
        )));
    }
    let account = stored::credentials(db, &name).await?;
    let (hash, disabled) = match &account {
        Some(a) => (a.password_hash.clone(), a.disabled),
        None => (DUMMY_HASH.to_string(), false),
    };
    let ok = check_password(password, hash).await && account.is_some();
    let Some(r) = account.filter(|_| ok && !disabled) else {
        let failed = failed + 1;
        let wait = delay_after(failed);
        let until =
            (!wait.is_zero()).then(|| now + chrono::Duration::from_std(wait).unwrap_or_default());
        stored::save_failures(
            db,
            &name,
            &from,
            Failures {
                failures: failed,
                locked_until: until,
            },
        )
        .await?;
        let why = if disabled && ok {
            "account disabled"
        } else {
            "wrong name or password"
        };
        record_failure(db, &actor, &from, minute, why).await?;
        return Ok(Err(LoginRefused::Invalid));
    };
    let id = r.id;
    if failures.is_some() {
        stored::clear_failures(db, &name, &from).await?;
    }
    // The failures counted before this success are recorded now, before it, in order.
    let counted = stored::take_failures_of(db, &from, &name).await?;
    record_counts(db, counted).await?;
    let cookie = secret();
    let csrf = secret();
    stored::insert_session(
        db,
        sha256(&cookie),
        id,
        csrf.clone(),
        now,
        now + SESSION_LIFETIME,
        address,
    )
    .await?;
    // Expired sessions are of no use to anyone.
    stored::delete_expired_sessions(db, now).await?;
    audit::record(db, &actor, "login", &format!("account {name}"), "").await?;
    Ok(Ok(NewSession {
        cookie,
        csrf,
        account: Account {
            id,
            role: role_of(&r.role)?,
            name: r.name,
        },
    }))
}

fn failed_target(name: &str) -> String {
    if name == ANY_NAME {
        "accounts (any name)".to_string()
    } else {
        format!("account {name}")
    }
}

/// A failed sign-in: the first of its address, name and minute is recorded in the audit
/// trail at once, the repeats are counted and recorded as one row when the minute has ended
/// (see [`record_ended_failures`]); the minutes that ended before this one are recorded now.
async fn record_failure(
    db: &impl ConnectionTrait,
    actor: &Actor,
    from: &str,
    minute: i64,
    why: &str,
) -> Result<(), DbErr> {
    let n = stored::count_failure(db, from, &actor.name, minute).await?;
    if n == 1 {
        audit::record(db, actor, "login.failed", &failed_target(&actor.name), why).await?;
    }
    let ended = stored::take_ended_failures(db, minute).await?;
    record_counts(db, ended).await
}

/// One audit row for the repeats of each counted minute (the first is already recorded).
async fn record_counts(
    db: &impl ConnectionTrait,
    counts: Vec<MinuteFailures>,
) -> Result<(), DbErr> {
    for c in counts.into_iter().filter(|c| c.failures > 1) {
        let start = DateTime::from_timestamp(c.minute.saturating_mul(60), 0).unwrap_or_default();
        let actor = Actor {
            address: (!c.address.is_empty()).then(|| c.address.clone()),
            name: c.name,
        };
        audit::record(
            db,
            &actor,
            "login.failed",
            &failed_target(&actor.name),
            &format!(
                "{} more failed sign-ins in the minute from {}",
                c.failures - 1,
                crate::dates::local_time(start)
            ),
        )
        .await?;
    }
    Ok(())
}

/// Records the counted repeats of failed sign-ins whose minute ended before `now` (done at
/// every failed sign-in, and before the audit trail is read, so the trail is never more than
/// the current minute behind).
pub async fn record_ended_failures(
    db: &impl TransactionTrait,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    // Taken and recorded together: a count is never dropped without its row.
    let txn = db.begin().await?;
    let ended = stored::take_ended_failures(&txn, now.timestamp().div_euclid(60)).await?;
    record_counts(&txn, ended).await?;
    sea_orm::TransactionSession::commit(txn).await
}

/// A PHC string to verify against when the account does not exist (same cost as a real one).
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1Vqj2gH1JrW9bKy8aUJj4n3w0W7m4l8T2c4hQ2k9v0Q";

/// The account and CSRF token of a live session cookie.
pub async fn session(
    db: &impl ConnectionTrait,
    cookie: &str,
) -> Result<Option<(Account, String)>, DbErr> {
    stored::session_holder(db, sha256(cookie), Utc::now())
        .await?
        .map(|(holder, csrf)| Ok((account_of(holder)?, csrf)))
        .transpose()
}

pub async fn logout(db: &impl ConnectionTrait, cookie: &str, who: &Actor) -> Result<(), DbErr> {
    stored::delete_session(db, sha256(cookie)).await?;
    audit::record(db, who, "logout", &format!("account {}", who.name), "").await
}

/// A token for an account's scripts: returned once, stored as its hash.
async fn create_token_in(
    db: &impl ConnectionTrait,
    account: &str,
    label: &str,
    by: &Actor,
) -> Result<(i64, String), AccessError> {
    let id = account_id(db, account).await?;
    let token = format!("prc_{}", secret());
    let tid = stored::insert_token(db, id, label, sha256(&token), Utc::now(), &by.name).await?;
    audit::record(
        db,
        by,
        "token.create",
        &format!("token {tid} of account {account}"),
        label,
    )
    .await?;
    Ok((tid, token))
}

async fn revoke_token_in(
    db: &impl ConnectionTrait,
    id: i64,
    by: &Actor,
) -> Result<(), AccessError> {
    let n = stored::revoke_token(db, id, Utc::now()).await?;
    if n == 0 {
        return Err(AccessError::NoToken(id));
    }
    audit::record(db, by, "token.revoke", &format!("token {id}"), "").await?;
    Ok(())
}

pub async fn list_tokens(db: &impl ConnectionTrait) -> Result<Vec<TokenRow>, AccessError> {
    Ok(stored::list_tokens(db).await?)
}

/// The account of a live (not revoked) token whose account is not disabled.
pub async fn token_account(
    db: &impl ConnectionTrait,
    token: &str,
) -> Result<Option<Account>, DbErr> {
    stored::token_holder(db, sha256(token))
        .await?
        .map(account_of)
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_after_failed_sign_ins_grows_and_is_capped() {
        assert_eq!(delay_after(1), Duration::ZERO);
        assert_eq!(delay_after(2), Duration::ZERO);
        assert_eq!(delay_after(3), Duration::from_secs(1));
        assert_eq!(delay_after(4), Duration::from_secs(2));
        assert_eq!(delay_after(8), Duration::from_secs(32));
        assert_eq!(delay_after(100), MAX_DELAY);
    }

    #[test]
    fn a_password_hash_is_argon2id_and_checks_only_its_password() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct hors", &h));
        assert!(matches!(
            hash_password("short"),
            Err(AccessError::WeakPassword)
        ));
    }

    #[test]
    fn the_dummy_hash_parses_so_unknown_names_cost_a_real_check() {
        assert!(PasswordHash::new(DUMMY_HASH).is_ok());
    }
}
