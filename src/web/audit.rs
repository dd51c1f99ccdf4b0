//! The audit trail: every write, sign-in and failed sign-in, with who, when and from where;
//! as a page, a download and JSON (auditors only).

use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::Response;
use axum::routing::get;
use minijinja::context;
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_axum::routes;

use super::auth;
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi, WebError};
use super::params::parse_opt_date;
use super::render::{base, send_report, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::reports::writers::OutputFormat;
use crate::Lang;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/audit", auth::AUDITOR, get(audit_page))
        .page(
            Method::GET,
            "/audit/download",
            auth::AUDITOR,
            get(audit_download),
        )
        .api(auth::AUDITOR, routes!(audit))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// First day (China Standard Time), inclusive.
    pub from: Option<String>,
    /// Last day, inclusive (default today).
    pub to: Option<String>,
    /// json (default), csv or xlsx.
    pub format: Option<String>,
}

/// The audit trail as one report (every entry of the days asked for).
async fn audit_report(
    state: &AppState,
    q: &AuditParams,
    lang: Lang,
) -> Result<crate::reports::Report, WebError> {
    let from = parse_opt_date("from", q.from.as_deref())?;
    let to = parse_opt_date("to", q.to.as_deref())?.unwrap_or_else(crate::dates::today);
    let (_, entries) = crate::audit::entries(&state.db, from, Some(to), u64::MAX >> 1, 0).await?;
    Ok(crate::reports::audit_trail::report(
        &entries, from, to, lang,
    ))
}

/// The audit trail: every write, sign-in and failed sign-in, with who, when and from where.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), responses(
    (status = 200, description = "The audit trail as a report (json, csv or xlsx)"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let report = audit_report(&state, &q, ctx.lang).await.or_api(ctx.lang)?;
    let format = match q.format.as_deref() {
        None | Some("") | Some("json") => OutputFormat::Json,
        Some("csv") => OutputFormat::Csv,
        Some("xlsx") => OutputFormat::Xlsx,
        Some(f) => {
            return Err(WebError::bad_request(
                format!("不支持的格式“{f}”：可选 csv、xlsx、json"),
                format!("unsupported format '{f}': use csv, xlsx or json"),
            )
            .api(ctx.lang))
        }
    };
    send_report(&report, format).or_api(ctx.lang)
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditQuery>,
) -> PageResult {
    let per_page = 200;
    let from = crate::dates::parse_date(q.from.as_deref().unwrap_or(""));
    let to = crate::dates::parse_date(q.to.as_deref().unwrap_or(""));
    let page = q.page.unwrap_or(1).max(1);
    let (total, entries) = crate::audit::entries(
        &state.db,
        from,
        to,
        per_page,
        (page - 1).saturating_mul(per_page),
    )
    .await
    .or_page(&ctx)?;
    let mut base_q = String::from("/audit?");
    if let Some(f) = from {
        base_q.push_str(&format!("from={f}&"));
    }
    if let Some(t) = to {
        base_q.push_str(&format!("to={t}&"));
    }
    super::render::page(
        &ctx,
        "audit.html",
        context! {
            nav => "audit", entries => v(entries), total, page, pages => total.div_ceil(per_page),
            from => from.map(|d| d.to_string()), to => to.map(|d| d.to_string()), pager_base => base_q,
            ..base(&ctx)
        },
    )
}

async fn audit_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditParams>,
) -> PageResult {
    let report = audit_report(&state, &q, ctx.lang).await.or_page(&ctx)?;
    let format = match q.format.as_deref() {
        Some("xlsx") => OutputFormat::Xlsx,
        _ => OutputFormat::Csv,
    };
    send_report(&report, format).or_page(&ctx)
}
