//! The web application: the dashboard managers read, the upload finance officers use, the
//! downloads auditors take, and the JSON API under `/api/v1` that does the same for programs.
//!
//! One module per feature, each with its pages, its JSON handlers and its `router()`:
//! [`dashboard`], [`contracts`], [`uploads`], [`reports`], [`register`], [`budget`], [`imports`], [`audit`],
//! [`accounts`], [`session`], [`apidoc`]. They share only the pieces below them: [`params`]
//! (query parsing), [`render`] (page frame, error and login pages), [`error`], [`ctx`],
//! [`auth`] (the permission table), [`gate`] (the access check), [`routes`] (how a route is
//! declared), [`cache`], [`charts`], [`templates`] and [`state`]; no feature uses another.
//! This module only puts them together.

pub mod accounts;
pub mod apidoc;
pub mod audit;
pub mod auth;
pub mod budget;
pub mod cache;
pub mod charts;
pub mod contracts;
pub mod ctx;
pub mod dashboard;
pub mod disclosure;
pub mod error;
pub mod gate;
pub mod hardening;
pub mod imports;
pub mod ocds;
pub mod params;
pub mod providers;
pub mod register;
pub mod render;
pub mod reports;
pub mod routes;
pub mod session;
pub mod state;
pub mod templates;
pub mod tokens;
pub mod uploads;
pub mod writes;

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use sea_orm::DatabaseConnection;
use utoipa::OpenApi;

use ctx::Ctx;
use error::WebError;
use render::{error_page, fail, PageResult};
use routes::Routes;
use state::{AppState, WebConfig};

/// The largest body any route but an upload accepts.
const FORM_LIMIT: usize = 64 * 1024;

/// Every route of the server, each declared once with its permission.
pub fn routes(config: &WebConfig) -> Routes {
    // The multipart body may hold the whole allowed upload plus the form's own overhead;
    // the handlers turn an overflow into a readable 413.
    let body_limit = usize::try_from(config.max_upload_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(64 * 1024);
    Routes::new()
        .page(Method::GET, "/health", auth::OPEN, get(health))
        .page(Method::GET, "/static/{file}", auth::OPEN, get(asset))
        .merge(session::router())
        .merge(dashboard::router())
        .merge(contracts::router())
        .merge(providers::router())
        .merge(uploads::router(body_limit))
        .merge(reports::router())
        .merge(register::router())
        .merge(disclosure::router())
        .merge(budget::router())
        .merge(ocds::router())
        .merge(imports::router())
        .merge(audit::router())
        .merge(accounts::router())
        .merge(apidoc::router())
}

/// The permission table of every route (what tests and the access check read).
pub fn permissions(config: &WebConfig) -> auth::Permissions {
    routes(config).split(apidoc::ApiDoc::openapi()).2
}

pub fn router(state: AppState) -> Router {
    let (app, doc, perms) = routes(&state.config).split(apidoc::ApiDoc::openapi());
    let state = AppState {
        perms: Arc::new(perms),
        openapi: Arc::new(apidoc::described(doc)),
        ..state
    };
    app.fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            gate::authorize,
        ))
        .layer(axum::middleware::from_fn(hardening::headers))
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

async fn asset(ctx: Ctx, Path(file): Path<String>) -> PageResult {
    let (mime, body): (&str, &'static [u8]) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", include_bytes!("static/app.css")),
        "app.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("static/app.js"),
        ),
        "register-template.xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            include_bytes!("../../imports/templates/register-template.xlsx"),
        ),
        _ => {
            return Err(fail(
                &ctx,
                WebError::not_found("没有这个文件", "no such file"),
            ))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response())
}

/// No route matched: the API answers JSON, a person gets a page.
async fn not_found(ctx: Ctx) -> Response {
    if ctx.back.starts_with("/api/") {
        return WebError::not_found(
            "没有这个接口，见 /api/openapi.json",
            "no such endpoint; see /api/openapi.json",
        )
        .api(ctx.lang)
        .into_response();
    }
    error_page(&ctx, WebError::not_found("页面不存在", "page not found"))
}

/// How long a client may take to send a request's headers. A connection that opens and
/// then trickles (or never finishes) its headers is closed after this, so idle sockets
/// cannot pile up; a slow upload's body is not limited by it.
pub const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

/// Serves until Ctrl-C or SIGTERM; requests in flight are finished first (an import being
/// committed either completes or its transaction is rolled back by the database).
pub async fn serve(db: DatabaseConnection, addr: &str, config: WebConfig) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    tracing::info!("listening on http://{}", listener.local_addr()?);
    eprintln!("procure: listening on http://{}", listener.local_addr()?);
    let state = AppState::new(db, config);
    let watcher = state.watch();
    let app = router(state);
    // axum::serve has no header deadline; hyper's connection builder has, with a timer.
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            // The shutdown signal is polled first, so its handler is installed before the
            // first connection is served: a SIGTERM right after the first answer is caught,
            // not the default "terminate".
            biased;
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        // What `into_make_service_with_connect_info` would give each request.
        let service = TowerToHyperService::new(
            app.clone()
                .layer(axum::Extension(axum::extract::ConnectInfo(peer))),
        );
        let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    watcher.abort();
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

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// Every module of `web/` with its source, to read what it uses.
    const SOURCES: &[(&str, &str)] = &[
        ("accounts", include_str!("accounts.rs")),
        ("apidoc", include_str!("apidoc.rs")),
        ("audit", include_str!("audit.rs")),
        ("auth", include_str!("auth.rs")),
        ("cache", include_str!("cache.rs")),
        ("charts", include_str!("charts/mod.rs")),
        ("contracts", include_str!("contracts.rs")),
        ("ctx", include_str!("ctx.rs")),
        ("dashboard", include_str!("dashboard.rs")),
        ("error", include_str!("error.rs")),
        ("gate", include_str!("gate.rs")),
        ("hardening", include_str!("hardening.rs")),
        ("imports", include_str!("imports.rs")),
        ("params", include_str!("params.rs")),
        ("providers", include_str!("providers.rs")),
        ("render", include_str!("render.rs")),
        ("reports", include_str!("reports.rs")),
        ("routes", include_str!("routes.rs")),
        ("session", include_str!("session.rs")),
        ("state", include_str!("state.rs")),
        ("templates", include_str!("templates.rs")),
        ("uploads", include_str!("uploads.rs")),
        ("budget", include_str!("budget.rs")),
        ("tokens", include_str!("tokens.rs")),
        ("writes", include_str!("writes.rs")),
        ("register", include_str!("register.rs")),
        ("disclosure", include_str!("disclosure.rs")),
        ("ocds", include_str!("ocds.rs")),
    ];

    const FEATURES: &[&str] = &[
        "dashboard",
        "contracts",
        "providers",
        "uploads",
        "reports",
        "budget",
        "register",
        "disclosure",
        "ocds",
        "imports",
        "audit",
        "accounts",
        "session",
        "apidoc",
    ];

    /// The sibling modules a module's code (not its comments) names through `super::`.
    fn uses(source: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for line in source.lines() {
            let code = line.split("//").next().unwrap_or("");
            for (i, _) in code.match_indices("super::") {
                let name: String = code[i + 7..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if SOURCES.iter().any(|(m, _)| *m == name) {
                    out.insert(name);
                }
            }
        }
        out
    }

    #[test]
    fn every_module_of_web_is_read_by_the_cycle_check() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/web");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().to_string();
            let module = path.is_dir() && path.join("mod.rs").exists();
            if (path.extension().is_some_and(|e| e == "rs") && name != "mod") || module {
                assert!(
                    SOURCES.iter().any(|(m, _)| *m == name),
                    "web/{name} is missing from SOURCES"
                );
            }
        }
    }

    #[test]
    fn no_feature_uses_another_and_the_modules_form_no_cycle() {
        let graph: BTreeMap<&str, BTreeSet<String>> =
            SOURCES.iter().map(|(m, s)| (*m, uses(s))).collect();
        for f in FEATURES {
            for used in &graph[f] {
                assert!(
                    !FEATURES.contains(&used.as_str()),
                    "the feature {f} uses the feature {used}"
                );
            }
        }
        // Depth-first search; a module met again while still on the path closes a cycle.
        fn visit<'a>(
            m: &'a str,
            graph: &'a BTreeMap<&str, BTreeSet<String>>,
            path: &mut Vec<&'a str>,
            done: &mut BTreeSet<&'a str>,
        ) {
            if done.contains(m) {
                return;
            }
            assert!(
                !path.contains(&m),
                "import cycle: {} -> {m}",
                path.join(" -> ")
            );
            path.push(m);
            for next in &graph[m] {
                visit(next.as_str(), graph, path, done);
            }
            path.pop();
            done.insert(m);
        }
        let mut done = BTreeSet::new();
        for m in graph.keys() {
            visit(m, &graph, &mut Vec::new(), &mut done);
        }
    }
}
