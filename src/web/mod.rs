//! The web application: the dashboard managers read, the upload finance officers use, the
//! downloads auditors take, and the JSON API under `/api/v1` that does the same for programs.

pub mod api;
pub mod auth;
pub mod cache;
pub mod charts;
pub mod ctx;
pub mod error;
pub mod pages;
pub mod queries;
pub mod templates;
pub mod uploads;

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::handler::Handler;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use sea_orm::DatabaseConnection;

use crate::imports::Limits;

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
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<WebConfig>,
    pub cache: Arc<cache::LedgerCache>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: WebConfig) -> AppState {
        AppState {
            db,
            config: Arc::new(config),
            cache: Arc::new(cache::LedgerCache::default()),
        }
    }
}

/// The largest body any route but an upload accepts.
const FORM_LIMIT: usize = 64 * 1024;

pub fn router(state: AppState) -> Router {
    // The multipart body may hold the whole allowed upload plus the form's own overhead;
    // the handlers turn an overflow into a readable 413.
    let body_limit = usize::try_from(state.config.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Router::new()
        .route("/health", get(health))
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/logout", post(pages::logout))
        .route("/public", get(pages::public))
        .route("/", get(pages::dashboard))
        .route("/contracts", get(pages::contracts))
        .route("/contracts/{code}", get(pages::contract))
        .route(
            "/upload",
            get(pages::upload_form).post(pages::upload.layer(DefaultBodyLimit::max(body_limit))),
        )
        .route("/upload/{token}", get(pages::upload_preview))
        .route("/upload/{token}/commit", post(pages::upload_commit))
        .route("/reports", get(pages::reports))
        .route("/reports/download", get(pages::report_download))
        .route("/imports", get(pages::imports))
        .route("/imports/{id}", get(pages::batch))
        .route("/imports/{id}/original", get(pages::original))
        .route("/audit", get(pages::audit))
        .route("/audit/download", get(pages::audit_download))
        .route("/accounts", get(pages::accounts).post(pages::add_account))
        .route("/accounts/{name}/disable", post(pages::disable_account))
        .route("/accounts/{name}/enable", post(pages::enable_account))
        .route("/tokens", post(pages::create_token))
        .route("/tokens/{id}/revoke", post(pages::revoke_token))
        .route("/lang/{lang}", get(pages::switch_lang))
        .route("/api", get(pages::api_docs))
        .route("/static/{file}", get(pages::asset))
        .route("/api/openapi.json", get(api::openapi_json))
        .nest("/api/v1", api::routes(body_limit))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::authorize,
        ))
        // Forms and JSON are small; only the upload routes above take files.
        .layer(DefaultBodyLimit::max(FORM_LIMIT))
        .with_state(state)
}

/// 200 with the schema version when the database answers; 503 when it does not.
async fn health(State(state): State<AppState>) -> impl IntoResponse {
    match crate::db::schema_version(&state.db).await {
        Ok(version) => (
            StatusCode::OK,
            Json(serde_json::json!({
                "status": "ok",
                "schema_version": version,
                "backend": format!("{:?}", state.db.get_database_backend()).to_lowercase(),
            })),
        ),
        Err(e) => {
            tracing::error!(error = %e, "health check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "unavailable", "error": "database"})),
            )
        }
    }
}

/// Serves until Ctrl-C or SIGTERM; requests in flight are finished first (an import being
/// committed either completes or its transaction is rolled back by the database).
pub async fn serve(db: DatabaseConnection, addr: &str, config: WebConfig) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    eprintln!("procure: listening on http://{}", listener.local_addr()?);
    let state = AppState::new(db, config);
    let watcher = cache::watch(state.clone());
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await;
    watcher.abort();
    result?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
