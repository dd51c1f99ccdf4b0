//! The ledger as Open Contracting Data: release and record packages paged with
//! `links.next`, and one contracting process's record package by its ocid.

use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa_axum::routes;

use super::auth;
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi, WebError};
use super::params::{parse_as_of, parse_opt_date};
use super::routes::Routes;
use super::state::AppState;
use crate::db::read::ocds::load_with_prefix;
use crate::ocds::{write_page, Options, PackageKind};
use crate::reports::Scope;

/// Processes (ocids) on one page.
const PAGE: usize = 100;

pub fn router() -> Routes {
    Routes::new()
        .api(auth::READERS_ONLY, routes!(releases))
        .api(auth::READERS_ONLY, routes!(records))
        .api(auth::READERS_ONLY, routes!(process))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct OcdsParams {
    /// The date the export is for (default today, China Standard Time).
    pub as_of: Option<String>,
    /// Only what had been imported by the end of this day counts.
    pub as_recorded: Option<String>,
    /// The page, from 1 (100 ocids a page).
    pub page: Option<usize>,
}

fn json(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

async fn package(
    state: &AppState,
    ctx: &Ctx,
    q: &OcdsParams,
    kind: PackageKind,
    path: &str,
) -> Result<Response, ApiError> {
    let scope = Scope {
        as_of: parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?,
        as_recorded: parse_opt_date("as_recorded", q.as_recorded.as_deref()).or_api(ctx.lang)?,
        ..Default::default()
    };
    let page = q.page.unwrap_or(1).max(1);
    let (ledger, prefix) = load_with_prefix(&state.db, &scope).await.or_api(ctx.lang)?;
    let skip = (page - 1).saturating_mul(PAGE);
    // A package holds at least one release or record (the schema's minItems): a page past
    // the last is not there.
    if page > 1 && skip >= ledger.contracts.len() {
        return Err(WebError::not_found(
            format!("没有第 {page} 页"),
            format!("there is no page {page}"),
        )
        .api(ctx.lang));
    }
    let next = (ledger.contracts.len() > skip.saturating_add(PAGE)).then(|| {
        let mut n = format!("{path}?as_of={}&page={}", scope.as_of, page + 1);
        if let Some(r) = scope.as_recorded {
            n.push_str(&format!("&as_recorded={r}"));
        }
        n
    });
    let opts = Options {
        prefix,
        as_of: scope.as_of,
    };
    Ok(json(write_page(
        &ledger,
        &opts,
        kind,
        &|_| true,
        skip,
        PAGE,
        next,
    )))
}

/// A release package (OCDS 1.1.5): every release of 100 contracting processes a page, in
/// contract-code order; `links.next` names the next page.
#[utoipa::path(get, path = "/api/v1/ocds/releases", params(OcdsParams), responses(
    (status = 200, description = "An OCDS 1.1.5 release package, with links.next while more pages follow"),
    (status = 400, body = ErrorBody, description = "A bad date (bad_request)"),
    (status = 404, body = ErrorBody, description = "A page past the last (not_found)")))]
async fn releases(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<OcdsParams>,
) -> Result<Response, ApiError> {
    package(
        &state,
        &ctx,
        &q,
        PackageKind::Release,
        "/api/v1/ocds/releases",
    )
    .await
}

/// A record package (OCDS 1.1.5): each process's releases and compiled release, 100
/// processes a page; `links.next` names the next page.
#[utoipa::path(get, path = "/api/v1/ocds/records", params(OcdsParams), responses(
    (status = 200, description = "An OCDS 1.1.5 record package, with links.next while more pages follow"),
    (status = 400, body = ErrorBody, description = "A bad date (bad_request)"),
    (status = 404, body = ErrorBody, description = "A page past the last (not_found)")))]
async fn records(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<OcdsParams>,
) -> Result<Response, ApiError> {
    package(
        &state,
        &ctx,
        &q,
        PackageKind::Record,
        "/api/v1/ocds/records",
    )
    .await
}

/// One contracting process: a record package with its releases and compiled release.
#[utoipa::path(get, path = "/api/v1/ocds/{ocid}", params(("ocid" = String, Path, description = "The ocid: prefix, a hyphen and the contract's 项目编号"), OcdsParams), responses(
    (status = 200, description = "An OCDS 1.1.5 record package holding the one record"),
    (status = 400, body = ErrorBody, description = "A bad date (bad_request)"),
    (status = 404, body = ErrorBody, description = "No such ocid (not_found)")))]
async fn process(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(ocid): Path<String>,
    Query(q): Query<OcdsParams>,
) -> Result<Response, ApiError> {
    let scope = Scope {
        as_of: parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?,
        as_recorded: parse_opt_date("as_recorded", q.as_recorded.as_deref()).or_api(ctx.lang)?,
        ..Default::default()
    };
    let (ledger, prefix) = load_with_prefix(&state.db, &scope).await.or_api(ctx.lang)?;
    let code = ocid
        .strip_prefix(&format!("{prefix}-"))
        .filter(|c| ledger.contracts.iter().any(|k| k.code == *c))
        .ok_or_else(|| {
            WebError::not_found(format!("没有 ocid“{ocid}”"), format!("no ocid '{ocid}'"))
                .api(ctx.lang)
        })?
        .to_string();
    let opts = Options {
        prefix,
        as_of: scope.as_of,
    };
    Ok(json(write_page(
        &ledger,
        &opts,
        PackageKind::Record,
        &|c| c.code == code,
        0,
        1,
        None,
    )))
}
