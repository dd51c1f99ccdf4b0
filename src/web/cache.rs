//! Figures the dashboard and `/api/v1/summary` show, computed once per state of the ledger
//! instead of a GROUP BY over every payment on every request.
//!
//! The ledger's state is the number of stored import batches: every write to the ledger is
//! a batch, batches are never deleted, and a rolled-back batch is never counted, so the
//! count changes exactly when the figures can. An upload through this server clears the
//! figures at once (the officer who confirmed sees the new totals on the next page); imports
//! by other processes (the command line, another server) are noticed by a PostgreSQL
//! notification or the poll, and then the old figures are served while new ones are computed
//! once in the background, so a busy dashboard never waits for a GROUP BY over a million
//! payments. When there is nothing to serve yet, one request computes
//! and the others wait for it instead of each running the same aggregation.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use std::time::Duration;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::Lang;

/// Entries kept per kind before the oldest state is dropped wholesale (each as-of date a
/// visitor picks is one entry).
const MAX_ENTRIES: usize = 512;

pub type Key = (NaiveDate, Lang);

/// Values computed at some ledger state.
pub struct Slot<V> {
    map: Mutex<HashMap<Key, (i64, Arc<V>)>>,
    /// Keys being recomputed in the background.
    busy: Mutex<HashSet<Key>>,
    /// One computation at a time when a value is missing altogether.
    gate: tokio::sync::Mutex<()>,
    /// Bumped by `clear`: a value computed from before a clear is not kept after it.
    generation: std::sync::atomic::AtomicU64,
}

impl<V> Default for Slot<V> {
    fn default() -> Self {
        Slot {
            map: Mutex::new(HashMap::new()),
            busy: Mutex::new(HashSet::new()),
            gate: tokio::sync::Mutex::new(()),
            generation: std::sync::atomic::AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<V: Send + Sync + 'static> Slot<V> {
    /// The value and the state it was computed at.
    fn get(&self, key: &Key) -> Option<(i64, Arc<V>)> {
        lock(&self.map).get(key).cloned()
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Keeps a value computed at `version` unless the slot was cleared since `generation`.
    fn put(&self, key: Key, version: i64, val: Arc<V>, generation: u64) {
        let mut map = lock(&self.map);
        if self.generation() != generation {
            return;
        }
        if map.len() >= MAX_ENTRIES {
            map.retain(|_, (v, _)| *v == version);
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
        }
        map.insert(key, (version, val));
    }

    fn clear(&self) {
        let mut map = lock(&self.map);
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
    }

    /// The value for `key` at `version`: fresh from the map, stale while a background
    /// computation refreshes it, or computed now (once, however many ask at the same time).
    async fn get_or<F, Fut>(
        self: &Arc<Self>,
        version: i64,
        key: Key,
        compute: F,
    ) -> Result<Arc<V>, DbErr>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, DbErr>> + Send + 'static,
    {
        if version < 0 {
            return Ok(Arc::new(compute().await?));
        }
        match self.get(&key) {
            Some((v, val)) if v == version => return Ok(val),
            Some((_, stale)) => {
                if lock(&self.busy).insert(key) {
                    let slot = Arc::clone(self);
                    let generation = self.generation();
                    tokio::spawn(async move {
                        match compute().await {
                            Ok(fresh) => slot.put(key, version, Arc::new(fresh), generation),
                            Err(e) => tracing::warn!(error = %e, "cannot refresh cached figures"),
                        }
                        lock(&slot.busy).remove(&key);
                    });
                }
                return Ok(stale);
            }
            None => {}
        }
        let _one = self.gate.lock().await;
        if let Some((v, val)) = self.get(&key) {
            if v == version {
                return Ok(val);
            }
        }
        let generation = self.generation();
        let val = Arc::new(compute().await?);
        self.put(key, version, val.clone(), generation);
        Ok(val)
    }
}

/// A value of any type a feature keeps here (the cache knows no page).
type AnyView = Box<dyn Any + Send + Sync>;

/// The summary API's JSON body, and the dashboard's figures.
pub struct LedgerCache {
    /// Batches stored, as last seen; -1 before the first look.
    version: AtomicI64,
    summaries: Arc<Slot<axum::body::Bytes>>,
    views: Arc<Slot<AnyView>>,
}

impl Default for LedgerCache {
    fn default() -> Self {
        LedgerCache {
            version: AtomicI64::new(-1),
            summaries: Arc::default(),
            views: Arc::default(),
        }
    }
}

impl LedgerCache {
    pub fn version(&self) -> i64 {
        self.version.load(Ordering::Acquire)
    }

    /// Looks at the ledger's state; true when it changed since the last look.
    pub async fn refresh(&self, db: &impl ConnectionTrait) -> Result<bool, DbErr> {
        // Batches are never deleted: the count only grows, so a slower look that read an
        // older count never moves the state back.
        let now = crate::db::read::batches::count(db).await?;
        Ok(self.version.fetch_max(now, Ordering::AcqRel) < now)
    }

    /// After an import through this server: drop every figure, so that the next page shows
    /// the new totals rather than the old ones while they are recomputed.
    pub async fn invalidate(&self, db: &impl ConnectionTrait) -> Result<(), DbErr> {
        self.refresh(db).await?;
        self.summaries.clear();
        self.views.clear();
        Ok(())
    }

    pub async fn summary<F, Fut>(
        &self,
        key: Key,
        compute: F,
    ) -> Result<Arc<axum::body::Bytes>, DbErr>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<axum::body::Bytes, DbErr>> + Send + 'static,
    {
        self.summaries.get_or(self.version(), key, compute).await
    }

    /// A view computed at this ledger state, as of a date and in a language (one type of
    /// view per server: the dashboard's).
    pub async fn view<V, F, Fut>(&self, key: Key, compute: F) -> Result<Arc<V>, DbErr>
    where
        V: Any + Send + Sync,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, DbErr>> + Send + 'static,
    {
        let boxed = self
            .views
            .get_or(self.version(), key, move || async move {
                Ok(Box::new(Arc::new(compute().await?)) as AnyView)
            })
            .await?;
        boxed
            .downcast_ref::<Arc<V>>()
            .cloned()
            .ok_or_else(|| DbErr::Custom("cached view of another type".into()))
    }
}

/// Follows the ledger's state until the server stops: a poll every `WebConfig::poll`, and on
/// PostgreSQL also the notification every import sends when it commits, so that every server
/// on the database shows a new batch at once.
pub fn watch(
    db: DatabaseConnection,
    cache: Arc<LedgerCache>,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut listener = listen(&db).await;
        loop {
            if let Err(e) = cache.refresh(&db).await {
                tracing::warn!(error = %e, "cannot read the ledger state; cached figures kept");
            }
            match listener.as_mut() {
                Some(l) => {
                    tokio::select! {
                        n = l.recv() => if let Err(e) = n {
                            // The listener reconnects by itself; until then the poll covers.
                            tracing::warn!(error = %e, "ledger notifications interrupted");
                            tokio::time::sleep(poll).await;
                        },
                        _ = tokio::time::sleep(poll) => {}
                    }
                }
                None => tokio::time::sleep(poll).await,
            }
        }
    })
}

async fn listen(db: &DatabaseConnection) -> Option<sea_orm::sqlx::postgres::PgListener> {
    if !crate::db::sql::is_postgres(db) {
        return None;
    }
    let pool = db.get_postgres_connection_pool();
    let mut l = match sea_orm::sqlx::postgres::PgListener::connect_with(pool).await {
        Ok(l) => l,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for ledger notifications; polling only");
            return None;
        }
    };
    match l.listen(crate::imports::LEDGER_CHANNEL).await {
        Ok(()) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for ledger notifications; polling only");
            None
        }
    }
}
