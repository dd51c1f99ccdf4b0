//! Budget execution (预算执行): the page `/budget` with the budget report and a chart, and
//! the same report as JSON (`/api/v1/budget`).

use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use minijinja::context;
use utoipa_axum::routes;

use super::auth;
use super::charts::{self, Datum, Unit};
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, OrApi};
use super::params::ReportParams;
use super::render::{base, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::reports::writers;
use crate::reports::{self, Dim, Report, ReportName, Val};
use crate::text::group_thousands;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/budget", auth::READERS_ONLY, get(budget_page))
        .api(auth::READERS_ONLY, routes!(budget))
}

fn shown(v: &Val) -> String {
    match v {
        Val::Money(_) | Val::Int(_) => group_thousands(&v.plain()),
        other => other.plain(),
    }
}

/// The report as the `report_table` macro takes it.
fn table(r: &Report) -> serde_json::Value {
    let numeric: Vec<bool> = (0..r.columns.len())
        .map(|i| {
            r.rows
                .iter()
                .chain(r.total.iter())
                .any(|row| row.get(i).is_some_and(Val::is_numeric))
        })
        .collect();
    serde_json::json!({
        "columns": r.columns.iter().map(|c| c.label(r.lang)).collect::<Vec<_>>(),
        "numeric": numeric,
        "rows": r.rows.iter().map(|row| row.iter().map(shown).collect::<Vec<_>>()).collect::<Vec<_>>(),
        "total": r.total.as_ref().map(|row| row.iter().map(shown).collect::<Vec<_>>()),
    })
}

/// Budget (with adjustments) and disbursed per budget year, from a report grouped by year.
fn chart_data(by_year: &Report) -> (Vec<Datum>, Vec<Datum>) {
    let col = |key: &str| by_year.columns.iter().position(|c| c.key == key);
    let (Some(b), Some(d)) = (col("budget"), col("disbursed")) else {
        return (Vec::new(), Vec::new());
    };
    let fen = |v: &Val| match v {
        Val::Money(m) => m.fen(),
        _ => 0,
    };
    let mut budget = Vec::new();
    let mut disbursed = Vec::new();
    for row in &by_year.rows {
        let label = row[0].plain();
        budget.push(Datum {
            label: label.clone(),
            value: fen(&row[b]),
        });
        disbursed.push(Datum {
            label,
            value: fen(&row[d]),
        });
    }
    (budget, disbursed)
}

async fn budget_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReportParams>,
) -> PageResult {
    let req = q.request(ReportName::Budget, ctx.lang).or_page(&ctx)?;
    let report = reports::build(&state.db, &req).await.or_page(&ctx)?;
    let by_year = reports::Request {
        by: vec![Dim::Year],
        ..req.clone()
    };
    let years = reports::build(&state.db, &by_year).await.or_page(&ctx)?;
    let (budget, disbursed) = chart_data(&years);
    let zh = ctx.lang == crate::Lang::Zh;
    let budget_chart = charts::bar_chart(
        ctx.lang
            .pick("预算（含调整）按年度", "Budget (with adjustments) by year"),
        &budget,
        Unit::MoneyFen,
        zh,
    );
    let disbursed_chart = charts::bar_chart(
        ctx.lang
            .pick("已拨付按预算年度", "Disbursed by budget year"),
        &disbursed,
        Unit::MoneyFen,
        zh,
    );
    page(
        &ctx,
        "budget.html",
        context! {
            nav => "budget", as_of => req.scope.as_of.to_string(),
            statement => report.statement.clone().unwrap_or_default(),
            table => v(table(&report)), budget_chart, disbursed_chart, ..base(&ctx)
        },
    )
}

/// Budget execution by budget year, funding source and category (or `by` any of year,
/// funding, category): approved, adjustments, budget, committed, disbursed, signing rate,
/// execution rate and balance, with the statement (预算执行率).
#[utoipa::path(get, path = "/api/v1/budget", params(ReportParams), responses(
    (status = 200, description = "The budget report: columns, rows, total, statement, sha256"),
    (status = 400, body = ErrorBody)))]
async fn budget(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let req = q.request(ReportName::Budget, ctx.lang).or_api(ctx.lang)?;
    let report = reports::build(&state.db, &req).await.or_api(ctx.lang)?;
    Ok(Json(writers::json_doc(&report)).into_response())
}
