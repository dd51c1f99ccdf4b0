//! The audit trail: every write, sign-in and failed sign-in, with who, when and from where;
//! as a page, a download and JSON (auditors only).

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
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
use crate::reports::writers::{self, OutputFormat};
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

/// Records the counted repeats of failed sign-ins whose minute has ended, so the trail read
/// next is complete to the last minute. Reading does not depend on it: if the database
/// cannot take the write now (SQLite during a long import), the counts wait for the next
/// failed sign-in or the next read.
async fn record_ended_failures(state: &AppState) {
    if let Err(e) = crate::access::record_ended_failures(&state.db, chrono::Utc::now()).await {
        tracing::warn!(error = %e, "cannot record the counted failed sign-ins now");
    }
}

/// The days asked for: `from` (none: from the start) and `to` (today when not given).
fn days(q: &AuditParams) -> Result<(Option<NaiveDate>, NaiveDate), WebError> {
    let from = parse_opt_date("from", q.from.as_deref())?;
    let to = parse_opt_date("to", q.to.as_deref())?.unwrap_or_else(crate::dates::today);
    Ok((from, to))
}

/// The audit trail as one report (every entry of the days asked for).
async fn audit_report(
    state: &AppState,
    q: &AuditParams,
    lang: Lang,
) -> Result<crate::reports::Report, WebError> {
    let (from, to) = days(q)?;
    record_ended_failures(state).await;
    let (_, entries) = crate::audit::entries(&state.db, from, Some(to), u64::MAX >> 1, 0).await?;
    Ok(crate::reports::audit_trail::report(
        &entries, from, to, lang,
    ))
}

/// Entries read and written at a time by the CSV download.
const PAGE: u64 = 2_000;

/// Where the CSV download is: the header, or the page of entries older than an id (the end
/// follows the last page).
enum Part {
    Head,
    Rows(Option<i64>),
}

/// The audit trail as CSV, the same bytes as the report's writer, sent a page of entries at a
/// time: however long the trail, the server holds one page of it.
async fn audit_csv(state: &AppState, q: &AuditParams, lang: Lang) -> Result<Response, WebError> {
    let (from, to) = days(q)?;
    record_ended_failures(state).await;
    // The report with no rows: its columns, title and dates frame the streamed rows.
    let frame = crate::reports::audit_trail::report(&[], from, to, lang);
    let file = format!("{}-{}.csv", frame.name, frame.as_of);
    let db = state.db.clone();
    let parts = futures_util::stream::unfold(Some(Part::Head), move |part| {
        let db = db.clone();
        let frame = frame.clone();
        async move {
            let (chunk, next) = match part? {
                Part::Head => (
                    writers::csv_head(&frame).map_err(io),
                    Some(Part::Rows(None)),
                ),
                Part::Rows(before) => {
                    match crate::audit::entries_before(&db, from, Some(to), before, PAGE).await {
                        Ok(page) if page.is_empty() => {
                            (writers::csv_tail(&frame).map_err(io), None)
                        }
                        Ok(page) => {
                            let rows: Vec<_> =
                                page.iter().map(crate::reports::audit_trail::row).collect();
                            let last = page.last().map(|e| e.id);
                            (
                                writers::csv_rows(rows.iter()).map_err(io),
                                Some(Part::Rows(last)),
                            )
                        }
                        Err(e) => {
                            tracing::error!(error = %e, "audit trail download cut short");
                            (Err(io(e)), None)
                        }
                    }
                }
            };
            // After an error the download ends (cut short, so it is not mistaken for whole).
            let next = if chunk.is_ok() { next } else { None };
            Some((chunk.map(Bytes::from), next))
        }
    });
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))?,
            ),
        ],
        Body::from_stream(parts),
    )
        .into_response())
}

/// The audit trail as XLSX, read a page of entries at a time into a sheet kept in a
/// temporary file: the server holds one page and the compressed workbook, not the trail.
async fn audit_xlsx(state: &AppState, q: &AuditParams, lang: Lang) -> Result<Response, WebError> {
    let (from, to) = days(q)?;
    record_ended_failures(state).await;
    let frame = crate::reports::audit_trail::report(&[], from, to, lang);
    let file = format!("{}-{}.xlsx", frame.name, frame.as_of);
    let mut book = writers::XlsxStream::new(frame).map_err(WebError::internal)?;
    let mut before = None;
    loop {
        let page = crate::audit::entries_before(&state.db, from, Some(to), before, PAGE).await?;
        let Some(last) = page.last() else { break };
        before = Some(last.id);
        let rows: Vec<_> = page.iter().map(crate::reports::audit_trail::row).collect();
        book.rows(rows.iter()).map_err(WebError::internal)?;
    }
    let bytes = book.finish().map_err(WebError::internal)?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                ),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))?,
            ),
        ],
        bytes,
    )
        .into_response())
}

fn io(e: impl std::fmt::Display) -> std::io::Error {
    std::io::Error::other(e.to_string())
}

/// The audit trail: every write, sign-in and failed sign-in, with who, when and from where.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), responses(
    (status = 200, description = "The audit trail as a report (json, csv or xlsx)"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditParams>,
) -> Result<Response, ApiError> {
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
    match format {
        OutputFormat::Csv => return audit_csv(&state, &q, ctx.lang).await.or_api(ctx.lang),
        OutputFormat::Xlsx => return audit_xlsx(&state, &q, ctx.lang).await.or_api(ctx.lang),
        _ => {}
    }
    let report = audit_report(&state, &q, ctx.lang).await.or_api(ctx.lang)?;
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
    record_ended_failures(&state).await;
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
    if q.format.as_deref() == Some("xlsx") {
        audit_xlsx(&state, &q, ctx.lang).await.or_page(&ctx)
    } else {
        audit_csv(&state, &q, ctx.lang).await.or_page(&ctx)
    }
}
