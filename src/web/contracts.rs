//! The contracts: the list with its search and filters, one contract with every payment,
//! service report and recorded change, as pages and as JSON.

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use minijinja::context;
use serde_json::json;
use utoipa_axum::routes;

use super::auth;
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi, WebError};
use super::params::{parse_as_of, parse_filter, AsOf, ContractFilter};
use super::render::{base, fail, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::contracts::state::ContractState;
use crate::contracts::Category;
use crate::db::read::contracts::{self as read, ContractDetail, ContractPage};
use crate::text::group_thousands;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/contracts", auth::READERS_ONLY, get(list))
        .page(
            Method::GET,
            "/contracts/{code}",
            auth::READERS_ONLY,
            get(one),
        )
        .api(auth::READERS_ONLY, routes!(contracts))
        .api(auth::READERS_ONLY, routes!(contract))
}

fn no_such(code: &str) -> WebError {
    WebError::not_found(
        format!("没有项目编号为“{code}”的合同"),
        format!("no contract with code '{code}'"),
    )
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn list(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(f): Query<ContractFilter>,
) -> PageResult {
    let q = parse_filter(&f, crate::dates::today()).or_page(&ctx)?;
    let list = read::contracts(&state.db, &q, ctx.lang)
        .await
        .or_page(&ctx)?;
    let streets = read::streets(&state.db).await.or_page(&ctx)?;
    let items: Vec<serde_json::Value> = list
        .items
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["value_fmt"] = json!(group_thousands(&c.value.to_string()));
            v["paid_fmt"] = json!(group_thousands(&c.paid.to_string()));
            v
        })
        .collect();
    // The pager keeps every filter but the page.
    let mut pager = String::from("/contracts?");
    for (k, v) in [
        ("q", &q.q),
        ("category", &q.category.map(|c| c.code().to_string())),
        ("street", &q.street),
        ("provider", &q.provider),
        ("state", &q.state.map(|s| s.code().to_string())),
    ] {
        if let Some(v) = v {
            pager.push_str(&format!("{k}={}&", urlencode(v)));
        }
    }
    pager.push_str(&format!("as_of={}&", q.as_of));
    let categories: Vec<_> = Category::ALL
        .iter()
        .map(|c| json!({"code": c.code(), "name": c.name(ctx.lang)}))
        .collect();
    let states: Vec<_> = ContractState::ALL
        .iter()
        .map(|s| json!({"code": s.code(), "name": s.name(ctx.lang)}))
        .collect();
    page(
        &ctx,
        "contracts.html",
        context! {
            nav => "contracts",
            p => v(json!({"as_of": list.as_of, "total": list.total, "page": list.page, "pages": list.pages, "items": items})),
            f => v(json!({"q": q.q, "category": q.category.map(|c| c.code()), "street": q.street, "provider": q.provider, "state": q.state.map(|s| s.code())})),
            categories => v(categories), states => v(states), streets => v(streets), pager_base => pager,
            ..base(&ctx)
        },
    )
}

#[derive(Debug, serde::Deserialize)]
struct AsOfQuery {
    as_of: Option<String>,
}

async fn one(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> PageResult {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_page(&ctx)?;
    let Some(c) = read::contract(&state.db, &code, as_of, ctx.lang)
        .await
        .or_page(&ctx)?
    else {
        return Err(fail(&ctx, no_such(&code)));
    };
    let payments: Vec<serde_json::Value> = c
        .payments
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["amount"] = json!(group_thousands(&p.amount.to_string()));
            v
        })
        .collect();
    // The contract's evaluations, corrected ones included (marked), as the providers pages
    // show them.
    let scope = crate::db::read::ledger::Scope {
        as_of,
        ..Default::default()
    };
    let evaluations: Vec<serde_json::Value> =
        crate::db::read::evaluations::evaluations(&state.db, &scope, Some(&c.code))
            .await
            .or_page(&ctx)?
            .iter()
            .map(|e| {
                let mut v = serde_json::to_value(e).unwrap_or_default();
                v["contract"] = json!(e.code);
                v["evaluated_on"] = json!(e.on);
                v["kind_name"] = json!(e.kind.name(ctx.lang));
                v["grade_name"] = json!(e.grade.name(ctx.lang));
                v["source"] = json!(e.source());
                v
            })
            .collect();
    page(
        &ctx,
        "contract.html",
        context! {
            nav => "contracts", as_of => as_of.to_string(), evaluations => v(evaluations),
            value => group_thousands(&c.value.to_string()),
            paid => group_thousands(&c.paid.to_string()),
            remaining => group_thousands(&c.remaining.to_string()),
            payments => v(payments), c => v(c), ..base(&ctx)
        },
    )
}

/// One page of contracts, filtered.
#[utoipa::path(get, path = "/api/v1/contracts", params(ContractFilter), responses(
    (status = 200, body = ContractPage), (status = 400, body = ErrorBody)))]
async fn contracts(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(f): Query<ContractFilter>,
) -> Result<Json<ContractPage>, ApiError> {
    let q = parse_filter(&f, crate::dates::today()).or_api(ctx.lang)?;
    Ok(Json(
        read::contracts(&state.db, &q, ctx.lang)
            .await
            .or_api(ctx.lang)?,
    ))
}

/// One contract with every payment, service report and recorded change, each with its source.
#[utoipa::path(get, path = "/api/v1/contracts/{code}", params(("code" = String, Path, description = "项目编号"), AsOf), responses(
    (status = 200, body = ContractDetail), (status = 404, body = ErrorBody)))]
async fn contract(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<ContractDetail>, ApiError> {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?;
    match read::contract(&state.db, &code, as_of, ctx.lang)
        .await
        .or_api(ctx.lang)?
    {
        Some(c) => Ok(Json(c)),
        None => Err(no_such(&code).api(ctx.lang)),
    }
}
