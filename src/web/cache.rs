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
//! payments. When there is nothing to serve yet, a signed-in request computes and the other
//! signed-in requests wait for it instead of each running the same aggregation.
//!
//! Every as-of date is its own computation, so a visitor who varies the date makes the
//! server work and remember. Two bounds keep that in hand:
//! - anonymous visitors (`serve --public`) get a budget of uncached computations (at a time
//!   per address, at a time in all, and per minute per address) and are answered 429 beyond
//!   it; they never take the lock signed-in computations queue on, so a signed-in user never
//!   waits behind them;
//! - what is kept is bounded in bytes, not in entries: each value's size is estimated when
//!   it is stored, and the least recently used values go first when the budget is exceeded.

use std::any::Any;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::net::IpAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::NaiveDate;

use sea_orm::{ConnectionTrait, DatabaseConnection, DbErr};

use crate::Lang;

pub type Key = (NaiveDate, Lang);

/// What a stored value is estimated to cost beyond its own bytes (the map's entry, the
/// key, the `Arc`).
const ENTRY_OVERHEAD: usize = 128;

/// A value's size in memory, estimated (what the byte budget counts).
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for axum::body::Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

impl Weigh for String {
    fn weight(&self) -> usize {
        std::mem::size_of::<String>() + self.capacity()
    }
}

impl<T: Weigh> Weigh for Vec<T> {
    fn weight(&self) -> usize {
        std::mem::size_of::<Vec<T>>() + self.iter().map(Weigh::weight).sum::<usize>()
    }
}

impl<T: Weigh> Weigh for Option<T> {
    fn weight(&self) -> usize {
        self.as_ref().map_or(0, Weigh::weight) + std::mem::size_of::<Option<T>>()
    }
}

impl Weigh for bool {
    fn weight(&self) -> usize {
        1
    }
}

/// How much anonymous visitors may make the server compute (figures not yet kept).
#[derive(Debug, Clone, Copy)]
pub struct AnonymousLimits {
    /// Uncached computations at a time for one address.
    pub per_address: usize,
    /// Uncached computations at a time for all anonymous visitors together.
    pub total: usize,
    /// Uncached computations one address may start in a minute.
    pub per_minute: u32,
}

impl Default for AnonymousLimits {
    fn default() -> Self {
        AnonymousLimits {
            per_address: 1,
            total: 2,
            per_minute: 20,
        }
    }
}

/// Who asks for figures: a signed-in account, or an anonymous visitor from an address (none
/// when the server does not know it; all such visitors share one budget).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asker {
    SignedIn,
    Anonymous(Option<IpAddr>),
}

/// Why figures were not served.
#[derive(Debug)]
pub enum Refused {
    Db(DbErr),
    /// An anonymous visitor is over the budget: try again after this many seconds.
    Busy {
        retry_after: u64,
    },
}

impl From<DbErr> for Refused {
    fn from(e: DbErr) -> Self {
        Refused::Db(e)
    }
}

struct AddressUse {
    running: usize,
    window: Instant,
    started: u32,
}

#[derive(Default)]
struct BudgetState {
    running: usize,
    by_address: HashMap<Option<IpAddr>, AddressUse>,
}

/// Addresses remembered before the idle ones are forgotten.
const ADDRESSES_KEPT: usize = 4096;
const MINUTE: Duration = Duration::from_secs(60);

/// The anonymous visitors' budget of uncached computations.
pub struct Budget {
    limits: AnonymousLimits,
    state: Mutex<BudgetState>,
}

/// One uncached computation under way for an anonymous visitor; its end frees the place.
pub struct Permit {
    budget: Arc<Budget>,
    address: Option<IpAddr>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        let mut s = lock(&self.budget.state);
        s.running = s.running.saturating_sub(1);
        if let Some(u) = s.by_address.get_mut(&self.address) {
            u.running = u.running.saturating_sub(1);
        }
    }
}

impl Budget {
    pub fn new(limits: AnonymousLimits) -> Arc<Budget> {
        Arc::new(Budget {
            limits,
            state: Mutex::new(BudgetState::default()),
        })
    }

    /// A place for one more computation from `address`, or how long to wait for one.
    pub fn try_acquire(self: &Arc<Self>, address: Option<IpAddr>) -> Result<Permit, Refused> {
        let now = Instant::now();
        let mut s = lock(&self.state);
        if s.by_address.len() >= ADDRESSES_KEPT {
            s.by_address
                .retain(|_, u| u.running > 0 || now.duration_since(u.window) < MINUTE);
        }
        let total_running = s.running;
        let u = s.by_address.entry(address).or_insert(AddressUse {
            running: 0,
            window: now,
            started: 0,
        });
        if now.duration_since(u.window) >= MINUTE {
            u.window = now;
            u.started = 0;
        }
        if u.started >= self.limits.per_minute {
            let left = MINUTE.saturating_sub(now.duration_since(u.window));
            return Err(Refused::Busy {
                retry_after: left.as_secs().max(1),
            });
        }
        if u.running >= self.limits.per_address || total_running >= self.limits.total {
            // A computation takes seconds at most; a short wait is enough to try again.
            return Err(Refused::Busy { retry_after: 2 });
        }
        u.running += 1;
        u.started += 1;
        s.running += 1;
        Ok(Permit {
            budget: Arc::clone(self),
            address,
        })
    }
}

/// A kept value: the ledger state it was computed at, its estimated size, and when it was
/// last used (a tick of its slot).
struct Entry<V> {
    version: i64,
    value: Arc<V>,
    weight: usize,
    used: u64,
}

/// Values computed at some ledger state, within a budget of bytes.
pub struct Slot<V> {
    map: Mutex<HashMap<Key, Entry<V>>>,
    /// The estimated bytes of everything in `map`.
    bytes: AtomicU64,
    budget: usize,
    tick: AtomicU64,
    /// Keys being recomputed in the background.
    busy: Mutex<HashSet<Key>>,
    /// One signed-in computation at a time when a value is missing altogether (anonymous
    /// ones are bounded by their budget instead, and never hold this).
    gate: tokio::sync::Mutex<()>,
    /// Bumped by `clear`: a value computed from before a clear is not kept after it.
    generation: AtomicU64,
}

impl<V> Slot<V> {
    fn new(budget: usize) -> Self {
        Slot {
            map: Mutex::new(HashMap::new()),
            bytes: AtomicU64::new(0),
            budget,
            tick: AtomicU64::new(0),
            busy: Mutex::new(HashSet::new()),
            gate: tokio::sync::Mutex::new(()),
            generation: AtomicU64::new(0),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl<V: Send + Sync + 'static> Slot<V> {
    /// The value and the state it was computed at; marks it used.
    fn get(&self, key: &Key) -> Option<(i64, Arc<V>)> {
        let mut map = lock(&self.map);
        let e = map.get_mut(key)?;
        e.used = self.tick.fetch_add(1, Ordering::Relaxed);
        Some((e.version, e.value.clone()))
    }

    fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    fn bytes(&self) -> usize {
        self.bytes.load(Ordering::Acquire) as usize
    }

    /// Keeps a value computed at `version` unless the slot was cleared since `generation`,
    /// dropping the least recently used values while the slot is over its budget. A value
    /// larger than the whole budget is served but not kept.
    fn put(&self, key: Key, version: i64, value: Arc<V>, weight: usize, generation: u64) {
        let weight = weight + ENTRY_OVERHEAD;
        let mut map = lock(&self.map);
        if self.generation() != generation || weight > self.budget {
            return;
        }
        let used = self.tick.fetch_add(1, Ordering::Relaxed);
        let mut total = self.bytes() + weight;
        if let Some(old) = map.insert(
            key,
            Entry {
                version,
                value,
                weight,
                used,
            },
        ) {
            total -= old.weight;
        }
        while total > self.budget {
            let Some(oldest) = map
                .iter()
                .filter(|(k, _)| **k != key)
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| *k)
            else {
                break;
            };
            if let Some(e) = map.remove(&oldest) {
                total -= e.weight;
            }
        }
        self.bytes.store(total as u64, Ordering::Release);
    }

    fn clear(&self) {
        let mut map = lock(&self.map);
        self.generation.fetch_add(1, Ordering::AcqRel);
        map.clear();
        self.bytes.store(0, Ordering::Release);
    }

    /// The value for `key` at `version`: fresh from the map, stale while a background
    /// computation refreshes it, or computed now: for signed-in askers once however many
    /// ask at the same time, for anonymous ones within their budget.
    async fn get_or<F, Fut>(
        self: &Arc<Self>,
        version: i64,
        key: Key,
        asker: Asker,
        budget: &Arc<Budget>,
        compute: F,
    ) -> Result<Arc<V>, Refused>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<(V, usize), DbErr>> + Send + 'static,
    {
        match self.get(&key) {
            Some((v, val)) if v == version && version >= 0 => return Ok(val),
            Some((_, stale)) if version >= 0 => {
                // An anonymous visitor's refresh is a computation like any other: within its
                // budget, or not at all (the figures kept are served meanwhile).
                let permit = match asker {
                    Asker::Anonymous(address) => match budget.try_acquire(address) {
                        Ok(p) => Some(p),
                        Err(_) => return Ok(stale),
                    },
                    Asker::SignedIn => None,
                };
                if lock(&self.busy).insert(key) {
                    let slot = Arc::clone(self);
                    let generation = self.generation();
                    tokio::spawn(async move {
                        let _permit = permit;
                        match compute().await {
                            Ok((fresh, weight)) => {
                                slot.put(key, version, Arc::new(fresh), weight, generation)
                            }
                            Err(e) => tracing::warn!(error = %e, "cannot refresh cached figures"),
                        }
                        lock(&slot.busy).remove(&key);
                    });
                }
                return Ok(stale);
            }
            _ => {}
        }
        let (_permit, _one) = match asker {
            Asker::Anonymous(address) => (Some(budget.try_acquire(address)?), None),
            Asker::SignedIn => (None, Some(self.gate.lock().await)),
        };
        if version < 0 {
            return Ok(Arc::new(compute().await?.0));
        }
        if let Some((v, val)) = self.get(&key) {
            if v == version {
                return Ok(val);
            }
        }
        let generation = self.generation();
        let (val, weight) = compute().await?;
        let val = Arc::new(val);
        self.put(key, version, val.clone(), weight, generation);
        Ok(val)
    }
}

/// A value of any type a feature keeps here (the cache knows no page).
type AnyView = Box<dyn Any + Send + Sync>;

/// Bytes kept for cached figures unless the server is told otherwise.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// The summary API's JSON body, and the dashboard's figures.
pub struct LedgerCache {
    /// Batches stored, as last seen; -1 before the first look.
    version: AtomicI64,
    summaries: Arc<Slot<axum::body::Bytes>>,
    views: Arc<Slot<AnyView>>,
    /// Values that depend on the ledger's state alone (the disclosure site's contracts):
    /// one per state, whatever the date or query a visitor sends.
    kept: Arc<Slot<AnyView>>,
    budget: Arc<Budget>,
}

impl Default for LedgerCache {
    fn default() -> Self {
        LedgerCache::new(DEFAULT_CACHE_BYTES, AnonymousLimits::default())
    }
}

impl LedgerCache {
    /// A cache keeping at most `bytes` (estimated) of figures: a quarter for the summary's
    /// JSON, a quarter for the disclosure site's contracts, the rest for the dashboard's
    /// views, which carry charts and tables.
    pub fn new(bytes: usize, anonymous: AnonymousLimits) -> Self {
        LedgerCache {
            version: AtomicI64::new(-1),
            summaries: Arc::new(Slot::new(bytes / 4)),
            views: Arc::new(Slot::new(bytes - bytes / 4 - bytes / 4)),
            kept: Arc::new(Slot::new(bytes / 4)),
            budget: Budget::new(anonymous),
        }
    }

    pub fn version(&self) -> i64 {
        self.version.load(Ordering::Acquire)
    }

    /// The anonymous visitors' budget of uncached computations.
    pub fn budget(&self) -> &Arc<Budget> {
        &self.budget
    }

    /// The estimated bytes kept now.
    pub fn bytes(&self) -> usize {
        self.summaries.bytes() + self.views.bytes() + self.kept.bytes()
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
        self.kept.clear();
        Ok(())
    }

    pub async fn summary<F, Fut>(
        &self,
        key: Key,
        asker: Asker,
        compute: F,
    ) -> Result<Arc<axum::body::Bytes>, Refused>
    where
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<axum::body::Bytes, DbErr>> + Send + 'static,
    {
        self.summaries
            .get_or(
                self.version(),
                key,
                asker,
                &self.budget,
                move || async move {
                    let body = compute().await?;
                    let weight = body.weight();
                    Ok((body, weight))
                },
            )
            .await
    }

    /// A view computed at this ledger state, as of a date and in a language (one type of
    /// view per server: the dashboard's).
    pub async fn view<V, F, Fut>(
        &self,
        key: Key,
        asker: Asker,
        compute: F,
    ) -> Result<Arc<V>, Refused>
    where
        V: Any + Send + Sync + Weigh,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, DbErr>> + Send + 'static,
    {
        self.typed(&self.views, key, asker, compute).await
    }

    /// A value of type `V` kept in `slot` at this ledger state under `key`.
    async fn typed<V, F, Fut>(
        &self,
        slot: &Arc<Slot<AnyView>>,
        key: Key,
        asker: Asker,
        compute: F,
    ) -> Result<Arc<V>, Refused>
    where
        V: Any + Send + Sync + Weigh,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, DbErr>> + Send + 'static,
    {
        let boxed = slot
            .get_or(
                self.version(),
                key,
                asker,
                &self.budget,
                move || async move {
                    let value = compute().await?;
                    let weight = value.weight();
                    Ok((Box::new(Arc::new(value)) as AnyView, weight))
                },
            )
            .await?;
        boxed
            .downcast_ref::<Arc<V>>()
            .cloned()
            .ok_or_else(|| Refused::Db(DbErr::Custom("cached value of another type".into())))
    }
}

impl LedgerCache {
    /// A value computed once per ledger state, whatever the date, language or query: what
    /// the disclosure site serves is filtered from it in memory, so a visitor who varies a
    /// parameter never makes the server aggregate again (one type of value per server).
    pub async fn per_state<V, F, Fut>(&self, asker: Asker, compute: F) -> Result<Arc<V>, Refused>
    where
        V: Any + Send + Sync + Weigh,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, DbErr>> + Send + 'static,
    {
        self.per_state_of(0, asker, compute).await
    }

    /// As [`Self::per_state`], for the `which`-th kind of value kept per state (each kind
    /// has its own place in the slot).
    pub async fn per_state_of<V, F, Fut>(
        &self,
        which: u16,
        asker: Asker,
        compute: F,
    ) -> Result<Arc<V>, Refused>
    where
        V: Any + Send + Sync + Weigh,
        F: FnOnce() -> Fut + Send + 'static,
        Fut: Future<Output = Result<V, DbErr>> + Send + 'static,
    {
        // The state is the version the slot already compares; the date only tells the kinds
        // apart.
        let key = (
            NaiveDate::MIN + chrono::Duration::days(i64::from(which)),
            Lang::Zh,
        );
        self.typed(&self.kept, key, asker, compute).await
    }
}

/// Follows the ledger's state until the server stops: a poll every `WebConfig::poll`, and on
/// PostgreSQL also the notification every import sends when it commits, so that every server
/// on the database shows a new batch at once.
///
/// It also drops the API tokens looked up before an access change (see [`super::tokens`]):
/// if it cannot tell, it drops them anyway.
pub fn watch(
    db: DatabaseConnection,
    cache: Arc<LedgerCache>,
    tokens: Arc<super::tokens::TokenCache>,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut listener = listen(&db).await;
        loop {
            if let Err(e) = cache.refresh(&db).await {
                tracing::warn!(error = %e, "cannot read the ledger state; cached figures kept");
            }
            if let Err(e) = tokens.refresh(&db).await {
                tracing::warn!(error = %e, "cannot read the audit trail; API tokens looked up again");
                tokens.clear();
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
    match l
        .listen_all([
            crate::imports::LEDGER_CHANNEL,
            crate::access::ACCESS_CHANNEL,
        ])
        .await
    {
        Ok(()) => Some(l),
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for ledger notifications; polling only");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn anonymous_computations_are_bounded_per_address_in_all_and_per_minute() {
        let budget = Budget::new(AnonymousLimits {
            per_address: 1,
            total: 2,
            per_minute: 3,
        });
        let a = budget.try_acquire(ip("198.51.100.1")).unwrap();
        // One at a time per address.
        assert!(matches!(
            budget.try_acquire(ip("198.51.100.1")),
            Err(Refused::Busy { .. })
        ));
        let b = budget.try_acquire(ip("198.51.100.2")).unwrap();
        // Two at a time in all.
        assert!(matches!(
            budget.try_acquire(ip("198.51.100.3")),
            Err(Refused::Busy { retry_after: 2 })
        ));
        drop(a);
        drop(b);
        // The places are free again; the minute's count is not.
        drop(budget.try_acquire(ip("198.51.100.1")).unwrap());
        drop(budget.try_acquire(ip("198.51.100.1")).unwrap());
        match budget.try_acquire(ip("198.51.100.1")) {
            Err(Refused::Busy { retry_after }) => assert!((50..=60).contains(&retry_after)),
            _ => panic!("a fourth computation in a minute was allowed"),
        }
        assert!(budget.try_acquire(ip("198.51.100.3")).is_ok());
    }

    #[test]
    fn the_least_recently_used_values_go_first_beyond_the_byte_budget() {
        let slot: Slot<String> = Slot::new(3 * (1000 + ENTRY_OVERHEAD));
        let day = |d: u32| (NaiveDate::from_ymd_opt(2019, 1, d).unwrap(), Lang::Zh);
        for d in 1..=3 {
            slot.put(day(d), 1, Arc::new("x".repeat(1000)), 1000, 0);
        }
        assert!(slot.get(&day(1)).is_some());
        slot.put(day(4), 1, Arc::new("x".repeat(1000)), 1000, 0);
        assert!(slot.bytes() <= slot.budget);
        assert!(slot.get(&day(2)).is_none(), "the least recently used stays");
        assert!(slot.get(&day(1)).is_some() && slot.get(&day(4)).is_some());
        // A value larger than the whole budget is not kept.
        slot.put(day(5), 1, Arc::new(String::new()), 10_000, 0);
        assert!(slot.get(&day(5)).is_none());
        assert!(slot.bytes() <= slot.budget);
    }
}
