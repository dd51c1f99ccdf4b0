//! Providers and their evaluations: the scorecard of every provider, one provider's
//! scorecard with its scores over time, contracts and evaluations, and a contract's
//! evaluations, as pages and as JSON. Evaluation results inform the choice of providers
//! (Order 102 art. 25).

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use chrono::NaiveDate;
use minijinja::context;
use serde::Serialize;
use serde_json::json;
use utoipa_axum::routes;

use super::auth;
use super::charts::{self, Datum, Unit};
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi, WebError};
use super::params::{parse_as_of, AsOf};
use super::render::{base, fail, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::db::read::evaluations::{evaluations, EvaluationRow};
use crate::db::read::ledger::{self, Scope};
use crate::reports::writers::json_doc;
use crate::reports::{self, Report, ReportName, Val};
use crate::text::group_thousands;
use crate::Lang;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/providers", auth::READERS_ONLY, get(list))
        .page(
            Method::GET,
            "/providers/{uscc}",
            auth::READERS_ONLY,
            get(one),
        )
        .api(auth::READERS_ONLY, routes!(providers))
        .api(auth::READERS_ONLY, routes!(provider))
        .api(auth::READERS_ONLY, routes!(contract_evaluations))
}

fn no_such(key: &str) -> WebError {
    WebError::not_found(
        format!("没有统一社会信用代码或名称为“{key}”的承接机构"),
        format!("no provider with USCC or name '{key}'"),
    )
}

fn no_contract(code: &str) -> WebError {
    WebError::not_found(
        format!("没有项目编号为“{code}”的合同"),
        format!("no contract with code '{code}'"),
    )
}

/// The scorecard as of a date, of every provider or of one (by USCC or name).
async fn scorecard(
    state: &AppState,
    as_of: NaiveDate,
    provider: Option<&str>,
    lang: Lang,
) -> Result<Report, WebError> {
    let req = reports::Request {
        name: ReportName::Providers,
        scope: Scope {
            as_of,
            provider: provider.map(str::to_string),
            ..Default::default()
        },
        by: Vec::new(),
        lang,
        evaluations: crate::evaluations::Settings::current(),
    };
    Ok(reports::build(&state.db, &req).await?)
}

/// A report's cells as the pages show them: amounts and counts grouped by thousands.
fn cells(row: &[Val]) -> Vec<String> {
    row.iter()
        .map(|v| match v {
            Val::Money(_) | Val::Int(_) => group_thousands(&v.plain()),
            other => other.plain(),
        })
        .collect()
}

fn table(r: &Report) -> serde_json::Value {
    json!({
        "columns": r.columns.iter().map(|c| c.label(r.lang)).collect::<Vec<_>>(),
        "numeric": (0..r.columns.len()).map(|i| r.rows.iter().chain(r.total.iter()).any(|row| row.get(i).is_some_and(Val::is_numeric))).collect::<Vec<_>>(),
        "rows": r.rows.iter().map(|row| cells(row)).collect::<Vec<_>>(),
        "total": r.total.as_ref().map(|row| cells(row)),
    })
}

/// One evaluation as the pages and the API show it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EvaluationView {
    pub id: i64,
    pub contract: String,
    /// `interim`, `final` or `annual`.
    pub kind: String,
    pub kind_name: String,
    pub evaluator: Option<String>,
    /// The evaluator's USCC: its identifier under the OCDS scheme `CN-USCI`.
    pub evaluator_uscc: Option<String>,
    pub evaluated_on: NaiveDate,
    #[schema(example = "86.50")]
    pub score: String,
    /// `excellent`, `good`, `pass` or `fail`.
    pub grade: String,
    pub grade_name: String,
    pub findings: Option<String>,
    pub fixes: Option<String>,
    pub fixed_on: Option<NaiveDate>,
    /// The evaluation this one corrects.
    pub replaces: Option<i64>,
    /// The correction that replaces this one: reports use the latest that stands.
    pub replaced_by: Option<i64>,
    /// `file sheet!row`.
    pub source: String,
}

fn view(e: &EvaluationRow, lang: Lang) -> EvaluationView {
    EvaluationView {
        id: e.id,
        contract: e.code.clone(),
        kind: e.kind.code().into(),
        kind_name: e.kind.name(lang).into(),
        evaluator: e.evaluator.clone(),
        evaluator_uscc: e.evaluator_uscc.clone(),
        evaluated_on: e.on,
        score: e.score.to_string(),
        grade: e.grade.code().into(),
        grade_name: e.grade.name(lang).into(),
        findings: e.findings.clone(),
        fixes: e.fixes.clone(),
        fixed_on: e.fixed_on,
        replaces: e.replaces,
        replaced_by: e.replaced_by,
        source: e.source(),
    }
}

/// One provider: its scorecard, contracts and evaluations (corrected ones included).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderDetail {
    pub uscc: Option<String>,
    pub name: String,
    /// The scorecard row, keyed by the providers report's column keys.
    #[schema(value_type = Object)]
    pub scorecard: serde_json::Value,
    pub contracts: Vec<ProviderContract>,
    pub evaluations: Vec<EvaluationView>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderContract {
    pub code: String,
    pub title: String,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    #[schema(example = "150000.00")]
    pub value: String,
}

async fn detail(
    state: &AppState,
    key: &str,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<Option<ProviderDetail>, WebError> {
    let scope = Scope {
        as_of,
        provider: Some(key.to_string()),
        ..Default::default()
    };
    let contracts = ledger::contracts(&state.db, &scope).await?;
    let Some(first) = contracts.first() else {
        return Ok(None);
    };
    let card = scorecard(state, as_of, Some(key), lang).await?;
    let doc = json_doc(&card);
    let codes: std::collections::HashSet<&str> =
        contracts.iter().map(|c| c.code.as_str()).collect();
    let all = evaluations(
        &state.db,
        &Scope {
            as_of,
            ..Default::default()
        },
        None,
    )
    .await?;
    Ok(Some(ProviderDetail {
        uscc: first.uscc.clone(),
        name: first.provider_name.clone(),
        scorecard: doc["rows"].get(0).cloned().unwrap_or_default(),
        contracts: contracts
            .iter()
            .map(|c| ProviderContract {
                code: c.code.clone(),
                title: c.title.clone(),
                start_on: c.start_on,
                end_on: c.end_on,
                value: c.value.to_string(),
            })
            .collect(),
        evaluations: all
            .iter()
            .filter(|e| codes.contains(e.code.as_str()))
            .map(|e| view(e, lang))
            .collect(),
    }))
}

async fn list(State(state): State<AppState>, ctx: Ctx, Query(q): Query<AsOf>) -> PageResult {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_page(&ctx)?;
    let card = scorecard(&state, as_of, None, ctx.lang)
        .await
        .or_page(&ctx)?;
    // Each row links to its provider: by USCC, or by name where it has none.
    let links: Vec<String> = card
        .rows
        .iter()
        .map(|r| {
            let key = match r[0].plain() {
                u if u.is_empty() => r[1].plain(),
                u => u,
            };
            url::form_urlencoded::byte_serialize(key.as_bytes()).collect()
        })
        .collect();
    page(
        &ctx,
        "providers.html",
        context! {
            nav => "providers", as_of => as_of.to_string(),
            tbl => v(table(&card)), links => v(links), ..base(&ctx)
        },
    )
}

async fn one(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Query(q): Query<AsOf>,
) -> PageResult {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_page(&ctx)?;
    let Some(d) = detail(&state, &key, as_of, ctx.lang).await.or_page(&ctx)? else {
        return Err(fail(&ctx, no_such(&key)));
    };
    let card = scorecard(&state, as_of, Some(&key), ctx.lang)
        .await
        .or_page(&ctx)?;
    // Scores over time: every evaluation that stands, by date.
    let points: Vec<Datum> = d
        .evaluations
        .iter()
        .filter(|e| e.replaced_by.is_none())
        .map(|e| Datum {
            label: e.evaluated_on.to_string(),
            value: crate::evaluations::Score::new(e.score.parse().unwrap_or_default())
                .map(|s| s.centi())
                .unwrap_or(0),
        })
        .collect();
    let chart = charts::line_chart(
        ctx.lang.pick("历次评价得分", "Scores over time"),
        &points,
        Unit::ScoreCenti,
        ctx.lang == Lang::Zh,
    );
    let mut shown = serde_json::to_value(&d).unwrap_or_default();
    for c in shown["contracts"].as_array_mut().into_iter().flatten() {
        let value = c["value"].as_str().map(group_thousands).unwrap_or_default();
        c["value_fmt"] = json!(value);
    }
    page(
        &ctx,
        "provider.html",
        context! {
            nav => "providers", as_of => as_of.to_string(),
            d => v(shown), tbl => v(table(&card)), chart => chart, ..base(&ctx)
        },
    )
}

/// The scorecard of every provider as of a date: the providers report as JSON.
#[utoipa::path(get, path = "/api/v1/providers", params(AsOf), responses(
    (status = 200, description = "The providers report"), (status = 400, body = ErrorBody)))]
async fn providers(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AsOf>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?;
    let card = scorecard(&state, as_of, None, ctx.lang)
        .await
        .or_api(ctx.lang)?;
    Ok(Json(json_doc(&card)))
}

/// One provider (by USCC, or by name where it has none): its scorecard, contracts and
/// evaluations, each evaluation with its source.
#[utoipa::path(get, path = "/api/v1/providers/{uscc}", params(("uscc" = String, Path, description = "统一社会信用代码, or the provider's name"), AsOf), responses(
    (status = 200, body = ProviderDetail), (status = 404, body = ErrorBody)))]
async fn provider(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(key): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<ProviderDetail>, ApiError> {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?;
    match detail(&state, &key, as_of, ctx.lang)
        .await
        .or_api(ctx.lang)?
    {
        Some(d) => Ok(Json(d)),
        None => Err(no_such(&key).api(ctx.lang)),
    }
}

/// A contract's evaluations as of a date, corrected ones included, each with its source.
#[utoipa::path(get, path = "/api/v1/contracts/{code}/evaluations", params(("code" = String, Path, description = "项目编号"), AsOf), responses(
    (status = 200, body = Vec<EvaluationView>), (status = 404, body = ErrorBody)))]
async fn contract_evaluations(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<AsOf>,
) -> Result<Json<Vec<EvaluationView>>, ApiError> {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?;
    let list = contract_list(&state, &code, as_of, ctx.lang)
        .await
        .or_api(ctx.lang)?;
    list.map(Json)
        .ok_or_else(|| no_contract(&code).api(ctx.lang))
}

/// A contract's evaluations, or `None` when there is no such contract.
async fn contract_list(
    state: &AppState,
    code: &str,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<Option<Vec<EvaluationView>>, WebError> {
    let known = crate::db::read::contracts::contract(&state.db, code, as_of, lang)
        .await?
        .is_some();
    if !known {
        return Ok(None);
    }
    let scope = Scope {
        as_of,
        ..Default::default()
    };
    Ok(Some(
        evaluations(&state.db, &scope, Some(code))
            .await?
            .iter()
            .map(|e| view(e, lang))
            .collect(),
    ))
}
