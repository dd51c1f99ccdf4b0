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
use crate::db::read::ocds::{one, page, prefix};
use crate::ocds::{write_page, Options, PackageKind};
use crate::reports::Scope;

/// Processes (ocids) on one page unless `per_page` says otherwise.
const PAGE: usize = 100;
/// The most processes a page holds.
const MAX_PAGE: usize = 500;

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
    /// The page starts after this contract code (项目编号); absent, at the first. Follow
    /// `links.next`, which names it.
    pub after: Option<String>,
    /// Processes (ocids) a page (default 100, at most 500).
    pub per_page: Option<usize>,
}

fn json(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

fn scope(q: &OcdsParams, ctx: &Ctx) -> Result<Scope, ApiError> {
    Ok(Scope {
        as_of: parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?,
        as_recorded: parse_opt_date("as_recorded", q.as_recorded.as_deref()).or_api(ctx.lang)?,
        ..Default::default()
    })
}

/// A page read by keyset: only its own contracts (and their rows) are read, whatever the
/// size of the ledger, and a page's address stays valid when contracts are added before it.
async fn package(
    state: &AppState,
    ctx: &Ctx,
    q: &OcdsParams,
    kind: PackageKind,
    path: &str,
) -> Result<Response, ApiError> {
    let scope = scope(q, ctx)?;
    let per_page = q.per_page.unwrap_or(PAGE).clamp(1, MAX_PAGE);
    let after = q.after.as_deref().filter(|a| !a.is_empty());
    let (ledger, prefix, more) = page(&state.db, &scope, after, per_page)
        .await
        .or_api(ctx.lang)?;
    // A package holds at least one release or record (the schema's minItems): a page past
    // the last is not there; an empty ledger has no first page either.
    if ledger.contracts.is_empty() {
        return Err(match after {
            Some(a) => WebError::not_found(
                format!("项目编号“{a}”之后没有合同"),
                format!("there is no contract after '{a}'"),
            ),
            None => WebError::not_found(
                "台账中还没有合同".to_string(),
                "the ledger has no contract yet".to_string(),
            ),
        }
        .api(ctx.lang));
    }
    let next = more.then(|| {
        let last = ledger
            .contracts
            .last()
            .map(|c| c.code.as_str())
            .unwrap_or_default();
        let mut n = format!("{path}?as_of={}", scope.as_of);
        if let Some(r) = scope.as_recorded {
            n.push_str(&format!("&as_recorded={r}"));
        }
        if q.per_page.is_some() {
            n.push_str(&format!("&per_page={per_page}"));
        }
        n.push_str("&after=");
        n.extend(url::form_urlencoded::byte_serialize(last.as_bytes()));
        n
    });
    let opts = Options {
        prefix,
        as_of: scope.as_of,
    };
    Ok(json(write_page(&ledger, &opts, kind, next)))
}

/// A release package (OCDS 1.1.5): every release of 100 contracting processes a page (`per_page`), in
/// contract-code order; `links.next` names the next page.
#[utoipa::path(get, path = "/api/v1/ocds/releases", params(OcdsParams), responses(
    (status = 200, description = "An OCDS 1.1.5 release package, with links.next while more pages follow"),
    (status = 400, body = ErrorBody, description = "A bad date (bad_request)"),
    (status = 404, body = ErrorBody, description = "No contract after the code given, or none at all (not_found)")))]
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
/// processes a page (`per_page`); `links.next` names the next page.
#[utoipa::path(get, path = "/api/v1/ocds/records", params(OcdsParams), responses(
    (status = 200, description = "An OCDS 1.1.5 record package, with links.next while more pages follow"),
    (status = 400, body = ErrorBody, description = "A bad date (bad_request)"),
    (status = 404, body = ErrorBody, description = "No contract after the code given, or none at all (not_found)")))]
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
    let scope = scope(&q, &ctx)?;
    let prefix = prefix(&state.db, None).await.or_api(ctx.lang)?;
    let no_such = || {
        WebError::not_found(format!("没有 ocid“{ocid}”"), format!("no ocid '{ocid}'")).api(ctx.lang)
    };
    let code = ocid
        .strip_prefix(&format!("{prefix}-"))
        .ok_or_else(no_such)?;
    let ledger = one(&state.db, &scope, code).await.or_api(ctx.lang)?;
    if ledger.contracts.is_empty() {
        return Err(no_such());
    }
    let opts = Options {
        prefix,
        as_of: scope.as_of,
    };
    Ok(json(write_page(&ledger, &opts, PackageKind::Record, None)))
}
