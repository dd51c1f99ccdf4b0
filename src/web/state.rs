//! What the server is configured with and what every handler shares: the database, the
//! configuration, the cached figures, and the route table its router was built from.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use super::auth::Permissions;
use super::cache::{AnonymousLimits, LedgerCache, DEFAULT_CACHE_BYTES};
use super::tokens::TokenCache;
use super::writes::WriteGate;
use crate::imports::Limits;

/// Long enough for an import of a full sheet (a million payments) on this kind of machine.
pub const DEFAULT_WRITE_WAIT: Duration = Duration::from_secs(120);

/// How the server behaves; the command line sets it.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Largest upload accepted, in bytes (one request, all its files).
    pub max_upload_bytes: u64,
    /// Limits of the import itself (file size, rows a sheet).
    pub limits: Limits,
    /// How often the server looks for imports made by other processes (the command line,
    /// another server) so that its cached figures never lag further behind than this.
    pub poll: Duration,
    /// Anonymous visitors may see the aggregate figures (`/public`, `/api/v1/summary`).
    pub public: bool,
    /// Mark cookies `Secure` (set when TLS ends at a proxy that does not send
    /// `X-Forwarded-Proto: https`).
    pub secure_cookies: bool,
    /// Load balancers and proxies whose `X-Forwarded-For` is believed: behind them the
    /// client's own address is recorded (audit trail, sign-in waits), not the proxy's.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Bytes (estimated) the cached figures of every as-of date may take together; the
    /// least recently used go first.
    pub cache_bytes: usize,
    /// How many uncached figures anonymous visitors may make the server compute.
    pub anonymous: AnonymousLimits,
    /// Unconfirmed previews and their bytes one account may keep.
    pub preview_quota: Quota,
    /// How long, on SQLite, a write waits for an import this server is running before it is
    /// answered 503 `database_busy` (see [`super::writes`]).
    pub write_wait: Duration,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig {
            max_upload_bytes: 50 << 20,
            limits: Limits::default(),
            poll: Duration::from_millis(500),
            public: false,
            secure_cookies: false,
            trusted_proxies: Vec::new(),
            cache_bytes: DEFAULT_CACHE_BYTES,
            anonymous: AnonymousLimits::default(),
            preview_quota: Default::default(),
            write_wait: DEFAULT_WRITE_WAIT,
        }
    }
}

/// How many unconfirmed previews, and how many bytes in them, one account may keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub previews: u64,
    pub bytes: u64,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            previews: 20,
            bytes: 200 << 20,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<WebConfig>,
    pub cache: Arc<LedgerCache>,
    /// Every route's permission; empty (everything refused) until `web::router` fills
    /// it from the routes it declares.
    pub perms: Arc<Permissions>,
    /// The API document, made from the same declarations.
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    /// On SQLite, the turn to write: imports alone, other writes after them.
    pub writes: Arc<WriteGate>,
    /// API tokens looked up recently.
    pub tokens: Arc<TokenCache>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: WebConfig) -> AppState {
        AppState {
            writes: Arc::new(WriteGate::new(
                !crate::db::sql::is_postgres(&db),
                config.write_wait,
            )),
            tokens: Arc::default(),
            db,
            cache: Arc::new(LedgerCache::new(config.cache_bytes, config.anonymous)),
            config: Arc::new(config),
            perms: Arc::default(),
            openapi: Arc::new(utoipa::openapi::OpenApi::default()),
        }
    }

    /// Follows the ledger's state until the server stops (see [`super::cache::watch`]).
    pub fn watch(&self) -> tokio::task::JoinHandle<()> {
        super::cache::watch(
            self.db.clone(),
            self.cache.clone(),
            self.tokens.clone(),
            self.config.poll,
        )
    }
}
