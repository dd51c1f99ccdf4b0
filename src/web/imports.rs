//! Import batches: every batch with who, when, the file and its SHA-256 and counts, the
//! imports that were interrupted, and the kept original of a batch, as pages and as JSON.

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Json;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::routes;

use super::auth;
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi, WebError};
use super::params::PageParams;
use super::render::{base, import_names, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::db::read::batches::{self as read, BatchPage};
use crate::db::read::uploads as uploads_read;

/// Batches on one imports page.
const IMPORTS_PER_PAGE: u64 = 100;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/imports", auth::BOOKS_ONLY, get(imports_page))
        .page(Method::GET, "/imports/{id}", auth::BOOKS_ONLY, get(batch))
        .page(
            Method::GET,
            "/imports/{id}/original",
            auth::BOOKS_ONLY,
            get(original_page),
        )
        .api(auth::BOOKS_ONLY, routes!(imports))
        .api(auth::BOOKS_ONLY, routes!(original))
}

/// Import batches, newest first: who, when, file, SHA-256, counts.
#[utoipa::path(get, path = "/api/v1/imports", params(PageParams), responses((status = 200, body = BatchPage)))]
async fn imports(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(p): Query<PageParams>,
) -> Result<Json<BatchPage>, ApiError> {
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        read::batches(&state.db, p.page.unwrap_or(1), per_page)
            .await
            .or_api(ctx.lang)?,
    ))
}

/// The original file of a batch, byte for byte, when it was uploaded through the web.
async fn original_file(state: &AppState, id: i64) -> Result<Response, WebError> {
    match read::original(&state.db, id).await? {
        Some((name, bytes)) => {
            let ascii: String = name
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' })
                .collect();
            let encoded: String = url::form_urlencoded::byte_serialize(name.as_bytes()).collect();
            let disposition = format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{}", encoded.replace('+', "%20"));
            Ok((
                [
                    (header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream")),
                    (header::CONTENT_DISPOSITION, HeaderValue::from_str(&disposition).map_err(WebError::internal)?),
                ],
                bytes,
            )
                .into_response())
        }
        None => Err(WebError::not_found(
            format!("批次 {id} 没有保存原始文件（不存在，或由命令行导入）"),
            format!("batch {id} has no kept original (no such batch, or it was imported from the command line)"),
        )),
    }
}

#[utoipa::path(get, path = "/api/v1/imports/{id}/original", params(("id" = i64, Path, description = "Batch id")), responses(
    (status = 200, description = "The file as uploaded", content_type = "application/octet-stream"),
    (status = 404, body = ErrorBody)))]
async fn original(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    original_file(&state, id).await.or_api(ctx.lang)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
}

async fn imports_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let per_page = IMPORTS_PER_PAGE;
    let p = read::batches(&state.db, q.page.unwrap_or(1), per_page)
        .await
        .or_page(&ctx)?;
    let pages = p.total.div_ceil(per_page);
    let (_, kinds) = import_names(ctx.lang);
    let mut view = serde_json::to_value(&p).unwrap_or_default();
    if let Some(items) = view["items"].as_array_mut() {
        for b in items {
            // The batch records its kinds as codes joined by '+'.
            let label = b["kind"]
                .as_str()
                .unwrap_or("")
                .split('+')
                .map(|k| kinds[k].as_str().unwrap_or(k).to_string())
                .collect::<Vec<_>>()
                .join(ctx.lang.pick("、", ", "));
            b["kind_name"] = json!(label);
        }
    }
    // What every account keeps in unconfirmed previews, against the quota each is held
    // to: shown to whoever may open this page (the administrator role may not).
    let previews = uploads_read::kept(&state.db).await.or_page(&ctx)?;
    let quota = state.config.preview_quota;
    page(
        &ctx,
        "imports.html",
        context! {
            nav => "imports", p => v(view), pages, previews => v(previews),
            quota_previews => quota.previews, quota_mb => quota.bytes >> 20, ..base(&ctx)
        },
    )
}

/// A batch's line on the imports page (the page it falls on, newest first).
async fn batch(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let newer = read::newer_batches(&state.db, id).await.or_page(&ctx)?;
    let page = newer / IMPORTS_PER_PAGE + 1;
    Ok(Redirect::to(&format!("/imports?page={page}#batch-{id}")).into_response())
}

async fn original_page(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    original_file(&state, id).await.or_page(&ctx)
}
