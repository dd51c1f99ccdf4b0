//! API tokens looked up once and kept briefly, so that a token-signed request costs a hash
//! and a map lookup, not a database query.
//!
//! What may not be kept a moment too long is a revocation: a token revoked, or its account
//! disabled or its password changed, must stop working at once on every server. So the kept
//! tokens are dropped
//! - after any write through this server (a revocation made here is seen before the next
//!   request);
//! - whenever the audit trail has grown, as every change of access is audited: the ledger
//!   watch reads its newest id at every poll (SQLite, and PostgreSQL between notifications)
//!   and at once on PostgreSQL's `NOTIFY` of an access change, so a revocation by another
//!   server or by `procure` on the command line takes effect within the poll (500 ms);
//! - and in any case after [`KEEP`].
//!
//! Only tokens that were found are kept, by their SHA-256 (never the token itself), so the
//! map holds at most the tokens that exist.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, DbErr};

use crate::access::Account;

/// How long a looked-up token is believed without asking the database again.
pub const KEEP: Duration = Duration::from_secs(30);

#[derive(Debug, Default)]
pub struct TokenCache {
    kept: Mutex<HashMap<String, (Account, Instant)>>,
    /// The audit trail's newest id when the kept tokens were last known good.
    audited: AtomicI64,
}

impl TokenCache {
    /// The account of a token kept within [`KEEP`], by the token's SHA-256.
    pub fn get(&self, hash: &str) -> Option<Account> {
        let kept = self.kept.lock().expect("token cache");
        kept.get(hash)
            .filter(|(_, at)| at.elapsed() < KEEP)
            .map(|(a, _)| a.clone())
    }

    pub fn put(&self, hash: String, account: Account) {
        let mut kept = self.kept.lock().expect("token cache");
        kept.retain(|_, (_, at)| at.elapsed() < KEEP);
        kept.insert(hash, (account, Instant::now()));
    }

    pub fn clear(&self) {
        self.kept.lock().expect("token cache").clear();
    }

    /// Drops the kept tokens if the audit trail has grown since they were looked up.
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        let newest = crate::db::audit_log::newest_id(db).await?;
        if self.audited.swap(newest, Ordering::AcqRel) != newest {
            self.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    #[test]
    fn a_kept_token_is_found_until_cleared() {
        let cache = TokenCache::default();
        let a = Account {
            id: 1,
            name: "fiona".into(),
            role: Role::Finance,
        };
        assert!(cache.get("h").is_none());
        cache.put("h".into(), a);
        assert_eq!(cache.get("h").unwrap().name, "fiona");
        cache.clear();
        assert!(cache.get("h").is_none());
    }
}
