//! Reports: the page that offers every report with its groupings and formats, its
//! downloads, and the same reports as JSON or files through the API.

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use clap::ValueEnum;
use minijinja::context;
use serde::Deserialize;
use serde_json::json;
use utoipa_axum::routes;

use super::auth;
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi, WebError};
use super::params::ReportParams;
use super::render::{base, fail, page, send_report, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::reports::writers::{self, OutputFormat};
use crate::reports::{self, Dim, ReportName};
use crate::Lang;

pub fn router() -> Routes {
    Routes::new()
        .page(
            Method::GET,
            "/reports",
            auth::READERS_ONLY,
            get(reports_page),
        )
        .page(
            Method::GET,
            "/reports/download",
            auth::READERS_ONLY,
            get(report_download),
        )
        .api(auth::READERS_ONLY, routes!(spend))
        .api(auth::READERS_ONLY, routes!(beneficiaries))
        .api(auth::READERS_ONLY, routes!(report))
}

/// A report as a file download (CSV with BOM for Excel, XLSX, or JSON).
async fn report_file(
    state: &AppState,
    req: &reports::Request,
    format: OutputFormat,
) -> Result<Response, WebError> {
    let report = reports::build(&state.db, req).await?;
    send_report(&report, format)
}

async fn json_report(
    state: &AppState,
    ctx: &Ctx,
    name: ReportName,
    q: &ReportParams,
) -> Result<Response, ApiError> {
    let req = q.request(name, ctx.lang).or_api(ctx.lang)?;
    let report = reports::build(&state.db, &req).await.or_api(ctx.lang)?;
    Ok(Json(writers::json_doc(&report)).into_response())
}

/// Spend (contract value, disbursed, remaining) grouped by `by` (default category).
#[utoipa::path(get, path = "/api/v1/spend", params(ReportParams), responses(
    (status = 200, description = "The spend report"), (status = 400, body = ErrorBody)))]
async fn spend(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReportParams>,
) -> Result<Response, ApiError> {
    json_report(&state, &ctx, ReportName::Spend, &q).await
}

/// People served and sessions grouped by `by` (default category).
#[utoipa::path(get, path = "/api/v1/beneficiaries", params(ReportParams), responses(
    (status = 200, description = "The beneficiaries report"), (status = 400, body = ErrorBody)))]
async fn beneficiaries(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReportParams>,
) -> Result<Response, ApiError> {
    json_report(&state, &ctx, ReportName::Beneficiaries, &q).await
}

/// Any report as a file: summary, spend, beneficiaries, contracts, exceptions, history, budget; JSON,
/// CSV (UTF-8 with BOM, opens in Excel) or XLSX.
#[utoipa::path(get, path = "/api/v1/reports/{name}", params(("name" = String, Path, description = "summary, spend, beneficiaries, contracts, exceptions, history, budget or providers"), ReportParams),
    responses((status = 200, description = "The report file"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(q): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let name = ReportName::from_str(&name, true).map_err(|_| {
        WebError::not_found(
            format!("没有名为“{name}”的报表：可选 summary、spend、beneficiaries、contracts、exceptions、history、budget、providers"),
            format!("no report named '{name}': use summary, spend, beneficiaries, contracts, exceptions, history, budget or providers"),
        )
        .api(ctx.lang)
    })?;
    let req = q.request(name, ctx.lang).or_api(ctx.lang)?;
    let format = q.format(OutputFormat::Json).or_api(ctx.lang)?;
    report_file(&state, &req, format).await.or_api(ctx.lang)
}

fn report_help(name: ReportName, lang: Lang) -> &'static str {
    match name {
        ReportName::Summary => lang.pick("按服务类别汇总项目数、合同金额、拨付、服务人数，附汇总说明。", "contracts, value, disbursed and people by category, with the summary statement."),
        ReportName::Spend => lang.pick("合同金额、已拨付、未拨付，可按任意维度或月份分组。", "value, disbursed and remaining, by any grouping or by month."),
        ReportName::Beneficiaries => lang.pick("服务人数、人次与人均成本。", "people served, sessions and cost per person."),
        ReportName::Contracts => lang.pick("每个合同一行，附来源文件、工作表和行号。", "one row per contract, with its source file, sheet and row."),
        ReportName::Exceptions => lang.pick("审计关注事项：超期拨付、期满未付清、缺少服务统计等。", "what auditors chase: payments outside the term, balances unpaid, missing service reports."),
        ReportName::History => lang.pick("每一次导入和每一处变更。", "every import and every change."),
        ReportName::Budget => lang.pick("按预算年度、资金来源、服务类别：批复、调整、已签约、已拨付、签约率、执行率与结余。", "by budget year, funding source and category: approved, adjustments, committed, disbursed, signing and execution rates, and balance."),
        ReportName::Providers => lang.pick("每个承接机构一行：合同、拨付、服务、绩效评价得分与等级、异常数。", "one row per provider: contracts, payments, people, evaluation scores and grades, open exceptions."),
    }
}

async fn reports_page(ctx: Ctx) -> PageResult {
    let list: Vec<_> = ReportName::value_variants()
        .iter()
        .map(|n| {
            json!({"code": n.code(), "title": n.title(ctx.lang), "help": report_help(*n, ctx.lang)})
        })
        .collect();
    let dims: Vec<_> = Dim::value_variants()
        .iter()
    .map(
        |d| json!({"code": serde_json::to_value(d).unwrap_or_default(), "name": d.label(ctx.lang)}),
    )
    .collect();
    page(
        &ctx,
        "reports.html",
        context! { nav => "reports", reports => v(list), dims => v(dims), as_of => crate::dates::today().to_string(), ..base(&ctx) },
    )
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    name: Option<String>,
    #[serde(flatten)]
    params: ReportParams,
}

async fn report_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DownloadQuery>,
) -> PageResult {
    let raw = q.name.unwrap_or_else(|| "summary".into());
    let name = ReportName::from_str(&raw, true).map_err(|_| {
        fail(
            &ctx,
            WebError::bad_request(
                format!("没有名为“{raw}”的报表"),
                format!("no report named '{raw}'"),
            ),
        )
    })?;
    let req = q.params.request(name, ctx.lang).or_page(&ctx)?;
    let format = q.params.format(OutputFormat::Csv).or_page(&ctx)?;
    report_file(&state, &req, format).await.or_page(&ctx)
}
