//! Figures the dashboard and `/api/v1/summary` show, computed once per state of the ledger
//! instead of a GROUP BY over every payment on every request (issue: "keep aggregates ... or a
//! cache that an import invalidates").
//!
//! The ledger's state is the number of stored import batches: every write to the ledger is
//! a batch, batches are never deleted, and a rolled-back batch is never counted, so the
//! count changes exactly when the figures can. An upload through this server bumps it at
//! once; imports by other processes (the command line, a second server) are seen by a poll
//! of one cheap query every `WebConfig::poll`.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr, Statement};

use crate::Lang;

/// Entries kept per kind before the oldest state is dropped wholesale (each as-of date a
/// visitor picks is one entry).
const MAX_ENTRIES: usize = 512;

pub type Key = (NaiveDate, Lang);

/// Values computed at one ledger state.
struct Slot<V> {
    map: Mutex<HashMap<Key, (i64, Arc<V>)>>,
}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Slot {
            map: Mutex::new(HashMap::new()),
        }
    }
}

impl<V> Slot<V> {
    fn get(&self, key: &Key, version: i64) -> Option<Arc<V>> {
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(v, _)| *v == version)
            .map(|(_, val)| val.clone())
    }

    fn put(&self, key: Key, version: i64, val: Arc<V>) {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (v, _)| *v == version);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (version, val));
    }
}

/// The summary API's JSON body, and the dashboard's figures.
#[derive(Default)]
pub struct LedgerCache {
    /// Batches stored, as last seen; -1 before the first look.
    version: AtomicI64,
    summaries: Slot<axum::body::Bytes>,
    dashboards: Slot<super::pages::Dashboard>,
}

impl LedgerCache {
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::Acquire)
    }

    /// Looks at the ledger's state; true when it changed since the last look.
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<bool, DbErr> {
        let now = ledger_version(db).await?;
        Ok(self.version.swap(now, Ordering::AcqRel) != now)
    }

    /// The value for `key` at the current state, computing it when missing. The state is
    /// read before computing: if an import lands meanwhile, the next look bumps the state
    /// and the value is computed again, so a stale figure never outlives one poll.
    pub async fn summary<F, Fut>(
        &self,
        key: Key,
        compute: F,
    ) -> Result<Arc<axum::body::Bytes>, DbErr>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<axum::body::Bytes, DbErr>>,
    {
        get_or(&self.summaries, self.version(), key, compute).await
    }

    pub async fn dashboard<F, Fut>(
        &self,
        key: Key,
        compute: F,
    ) -> Result<Arc<super::pages::Dashboard>, DbErr>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<super::pages::Dashboard, DbErr>>,
    {
        get_or(&self.dashboards, self.version(), key, compute).await
    }
}

async fn get_or<V, F, Fut>(
    slot: &Slot<V>,
    version: i64,
    key: Key,
    compute: F,
) -> Result<Arc<V>, DbErr>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<V, DbErr>>,
    Key: Eq + Hash,
{
    if version >= 0 {
        if let Some(v) = slot.get(&key, version) {
            return Ok(v);
        }
    }
    let val = Arc::new(compute().await?);
    if version >= 0 {
        slot.put(key, version, val.clone());
    }
    Ok(val)
}

/// The number of stored batches.
pub async fn ledger_version(db: &impl ConnectionTrait) -> Result<i64, DbErr> {
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

/// Polls the ledger's state until the server stops.
pub fn watch(state: super::AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if let Err(e) = state.cache.refresh(&state.db).await {
                tracing::warn!(error = %e, "cannot read the ledger state; cached figures kept");
            }
            tokio::time::sleep(state.config.poll).await;
        }
    })
}
