//! The dashboard: the figures managers read (`/`), the public disclosure page under
//! `serve --public` (`/public`), and the summary report as JSON (`/api/v1/summary`). Both
//! are computed once per state of the ledger and as-of date (see [`super::cache`]).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::NaiveDate;
use minijinja::context;
use serde::{Deserialize, Serialize};
use utoipa_axum::routes;

use super::auth;
use super::cache::{Asker, Refused, Weigh};
use super::charts::{self, Datum, Unit};
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, ErrorCode, OrApi, WebError};
use super::params::{parse_as_of, AsOf};
use super::render::{base, error_page, json_bytes, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::db::read::dashboard::{self as figures, Summary};
use crate::money::Money;
use crate::reports::writers;
use crate::reports::{self, Report, ReportName, Scope, Val};
use crate::text::group_thousands;
use crate::Lang;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/", auth::SIGNED_IN, get(dashboard))
        .page(Method::GET, "/public", auth::PUBLIC, get(public))
        .api(auth::PUBLIC, routes!(summary))
}

/// A report as rows of display strings for the templates.
#[derive(Debug, Clone, Serialize)]
pub struct TableView {
    pub columns: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    pub total: Option<Vec<String>>,
}

fn shown(v: &Val) -> String {
    match v {
        Val::Money(_) | Val::Int(_) => group_thousands(&v.plain()),
        other => other.plain(),
    }
}

impl TableView {
    pub fn of(r: &Report) -> TableView {
        let numeric = (0..r.columns.len())
            .map(|i| {
                r.rows
                    .iter()
                    .chain(r.total.iter())
                    .any(|row| row.get(i).is_some_and(Val::is_numeric))
            })
            .collect();
        TableView {
            columns: r
                .columns
                .iter()
                .map(|c| c.label(r.lang).to_string())
                .collect(),
            numeric,
            rows: r
                .rows
                .iter()
                .map(|row| row.iter().map(shown).collect())
                .collect(),
            total: r.total.as_ref().map(|row| row.iter().map(shown).collect()),
        }
    }
}

impl Weigh for TableView {
    fn weight(&self) -> usize {
        self.columns.weight() + self.numeric.weight() + self.rows.weight() + self.total.weight()
    }
}

/// What the dashboard shows at one ledger state, as of one date.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub as_of: NaiveDate,
    pub contracts: i64,
    pub providers: i64,
    pub value: String,
    pub value_wan: String,
    pub disbursed: String,
    pub disbursed_wan: String,
    pub rate: String,
    pub people: String,
    pub people_wan: String,
    pub statement: String,
    pub table: TableView,
    pub category_chart: String,
    pub spend_chart: String,
    pub street_chart: String,
    /// The budget card (预算执行): lines, budget with adjustments in 万元, execution rate;
    /// no lines, no card.
    pub budget: BudgetCard,
}

/// The dashboard's budget figures, from the budget report's total row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BudgetCard {
    pub lines: i64,
    pub budget_wan: String,
    pub committed_wan: String,
    pub rate: String,
}

impl BudgetCard {
    fn of(r: &Report) -> BudgetCard {
        let Some(total) = &r.total else {
            return BudgetCard::default();
        };
        let at = |key: &str| {
            r.columns
                .iter()
                .position(|c| c.key == key)
                .and_then(|i| total.get(i))
        };
        let wan_of = |v: Option<&Val>| match v {
            Some(Val::Money(m)) => wan(m),
            _ => String::new(),
        };
        BudgetCard {
            lines: match at("lines") {
                Some(Val::Int(n)) => *n,
                _ => 0,
            },
            budget_wan: wan_of(at("budget")),
            committed_wan: wan_of(at("committed")),
            rate: at("execution_rate").map(Val::plain).unwrap_or_default(),
        }
    }
}

impl Weigh for Dashboard {
    fn weight(&self) -> usize {
        std::mem::size_of::<Dashboard>()
            + [
                &self.value,
                &self.value_wan,
                &self.disbursed,
                &self.disbursed_wan,
                &self.rate,
                &self.people,
                &self.people_wan,
                &self.statement,
                &self.category_chart,
                &self.spend_chart,
                &self.street_chart,
                &self.budget.budget_wan,
                &self.budget.committed_wan,
                &self.budget.rate,
            ]
            .iter()
            .map(|s| s.capacity())
            .sum::<usize>()
            + self.table.weight()
    }
}

fn wan(m: &Money) -> String {
    group_thousands(&format!("{:.2}", m.wan()))
}

impl Dashboard {
    /// The page's figures: the typed summary, with the summary report's table and statement.
    fn of(s: &Summary, report: &Report, budget: &Report, lang: Lang) -> Dashboard {
        let t = &s.total;
        let zh = lang == Lang::Zh;
        let by_category: Vec<Datum> = s
            .value_by_category
            .iter()
            .map(|(k, m)| Datum {
                label: k.name(lang).to_string(),
                value: m.fen(),
            })
            .collect();
        let cumulative: Vec<Datum> = s
            .cumulative_disbursed
            .iter()
            .map(|(month, m)| Datum {
                label: month.clone(),
                value: m.fen(),
            })
            .collect();
        let mut by_street: Vec<Datum> = s
            .people_by_street
            .iter()
            .map(|(street, people)| Datum {
                label: figures::street_label(street, lang),
                value: *people,
            })
            .collect();
        by_street.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
        Dashboard {
            as_of: s.as_of,
            contracts: t.contracts,
            providers: t.providers,
            value: group_thousands(&t.value.to_string()),
            value_wan: wan(&t.value),
            disbursed: group_thousands(&t.disbursed.to_string()),
            disbursed_wan: wan(&t.disbursed),
            rate: Val::Pct(t.execution_rate()).plain(),
            people: group_thousands(&t.people.to_string()),
            people_wan: format!("{:.2}", reports::people_wan(t.people)),
            statement: report.statement.clone().unwrap_or_default(),
            table: TableView::of(report),
            category_chart: charts::bar_chart(
                lang.pick("合同金额（按服务类别）", "Contract value by category"),
                &by_category,
                Unit::MoneyFen,
                zh,
            ),
            spend_chart: charts::line_chart(
                lang.pick("累计拨付", "Cumulative disbursed"),
                &cumulative,
                Unit::MoneyFen,
                zh,
            ),
            street_chart: charts::bar_chart(
                lang.pick("各街道服务人数", "People served by sub-district"),
                &by_street,
                Unit::People,
                zh,
            ),
            budget: BudgetCard::of(budget),
        }
    }
}

fn summary_request(as_of: NaiveDate, lang: Lang) -> reports::Request {
    reports::Request {
        name: ReportName::Summary,
        scope: Scope {
            as_of,
            ..Default::default()
        },
        by: Vec::new(),
        lang,
        evaluations: crate::evaluations::Settings::current(),
    }
}

pub async fn compute_dashboard(
    db: &sea_orm::DatabaseConnection,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<Dashboard, sea_orm::DbErr> {
    let summary = figures::summary(db, as_of).await?;
    let report = reports::build(db, &summary_request(as_of, lang)).await?;
    let budget = reports::Request {
        name: ReportName::Budget,
        ..summary_request(as_of, lang)
    };
    let budget = reports::build(db, &budget).await?;
    Ok(Dashboard::of(&summary, &report, &budget, lang))
}

/// Who asks, for the cache's budget: a signed-in account, or an anonymous visitor's address
/// (the client the server already records: the peer, or behind `--trusted-proxy` the
/// forwarded address).
fn asker(ctx: &Ctx) -> Asker {
    match ctx.who.account() {
        Some(_) => Asker::SignedIn,
        None => Asker::Anonymous(ctx.client),
    }
}

/// Figures refused: a database error, or an anonymous visitor over the budget (429, with
/// the seconds to wait in the message and in `Retry-After`).
pub enum NotServed {
    Error(WebError),
    Busy(WebError, u64),
}

impl From<Refused> for NotServed {
    fn from(r: Refused) -> Self {
        match r {
            Refused::Db(e) => NotServed::Error(e.into()),
            Refused::Busy { retry_after } => NotServed::Busy(
                WebError::new(
                    ErrorCode::Busy,
                    format!("请求太多：服务器正在为其他访客计算数据，请 {retry_after} 秒后再试。登录后不受此限制。"),
                    format!("too many requests: the server is computing figures for other visitors; try again in {retry_after} s. Signed-in users are not limited."),
                ),
                retry_after,
            ),
        }
    }
}

impl From<WebError> for NotServed {
    fn from(e: WebError) -> Self {
        NotServed::Error(e)
    }
}

impl From<sea_orm::DbErr> for NotServed {
    fn from(e: sea_orm::DbErr) -> Self {
        NotServed::Error(e.into())
    }
}

fn retry_after(mut resp: Response, seconds: u64) -> Response {
    resp.headers_mut().insert(
        axum::http::header::RETRY_AFTER,
        axum::http::HeaderValue::from(seconds),
    );
    resp
}

/// The dashboard's figures at the ledger's current state, computed once per state.
async fn dashboard_data(
    state: &AppState,
    as_of: NaiveDate,
    lang: Lang,
    asker: Asker,
) -> Result<Arc<Dashboard>, NotServed> {
    if state.cache.version() < 0 {
        state.cache.refresh(&state.db).await?;
    }
    let db = state.db.clone();
    Ok(state
        .cache
        .view((as_of, lang), asker, move || async move {
            compute_dashboard(&db, as_of, lang).await
        })
        .await?)
}

#[derive(Debug, Deserialize)]
pub struct AsOfQuery {
    as_of: Option<String>,
}

async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AsOfQuery>,
) -> PageResult {
    dashboard_page(&state, &ctx, &q, false).await
}

/// The public disclosure page (`serve --public`): aggregate figures only.
async fn public(State(state): State<AppState>, ctx: Ctx, Query(q): Query<AsOfQuery>) -> PageResult {
    dashboard_page(&state, &ctx, &q, true).await
}

/// The dashboard's figures as a page; the public one posts its date form to `/public`.
async fn dashboard_page(state: &AppState, ctx: &Ctx, q: &AsOfQuery, public: bool) -> PageResult {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_page(ctx)?;
    let d = match dashboard_data(state, as_of, ctx.lang, asker(ctx)).await {
        Ok(d) => d,
        Err(NotServed::Error(e)) => return Err(e).or_page(ctx),
        Err(NotServed::Busy(e, seconds)) => return Ok(retry_after(error_page(ctx, e), seconds)),
    };
    let nav = if public { "public" } else { "dashboard" };
    page(
        ctx,
        "dashboard.html",
        context! { nav, public_page => public, d => v(&*d), ..base(ctx) },
    )
}

/// The summary report as JSON, served from figures kept per ledger state (no GROUP BY per request).
pub async fn summary_bytes(
    state: &AppState,
    as_of: NaiveDate,
    lang: Lang,
    asker: Asker,
) -> Result<Arc<Bytes>, NotServed> {
    if state.cache.version() < 0 {
        state.cache.refresh(&state.db).await?;
    }
    let db = state.db.clone();
    Ok(state
        .cache
        .summary((as_of, lang), asker, move || async move {
            let report = reports::build(&db, &summary_request(as_of, lang)).await?;
            Ok(Bytes::from(writers::json_doc(&report).to_string()))
        })
        .await?)
}

/// Contracts, value, disbursed and people served by category as of a date, with the total
/// row and the summary statement (截至…共购买…).
#[utoipa::path(get, path = "/api/v1/summary", params(AsOf), responses(
    (status = 200, description = "The summary report: columns, rows by category, total, statement, sha256"),
    (status = 400, body = ErrorBody, description = "as_of is not a date"),
    (status = 429, body = ErrorBody, description = "busy: an anonymous visitor over its budget of uncached figures; see Retry-After")))]
async fn summary(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AsOf>,
) -> Result<Response, ApiError> {
    let as_of = parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_api(ctx.lang)?;
    match summary_bytes(&state, as_of, ctx.lang, asker(&ctx)).await {
        Ok(body) => Ok(json_bytes((*body).clone())),
        Err(NotServed::Error(e)) => Err(e.api(ctx.lang)),
        Err(NotServed::Busy(e, seconds)) => {
            Ok(retry_after(e.api(ctx.lang).into_response(), seconds))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Column;

    #[test]
    fn the_table_shows_grouped_digits_and_marks_numeric_columns() {
        let report = Report {
            name: "summary",
            title_zh: String::new(),
            title_en: String::new(),
            as_of: NaiveDate::from_ymd_opt(2019, 6, 30).unwrap(),
            from: None,
            as_recorded: None,
            statement: None,
            columns: vec![
                Column::new("category", "服务类别", "Category"),
                Column::new("value", "合同金额（元）", "Contract value"),
            ],
            rows: vec![vec![
                Val::text("老年服务"),
                Val::Money(Money::from_fen(1_453_270_000)),
            ]],
            total: None,
            lang: Lang::Zh,
        };
        let t = TableView::of(&report);
        assert_eq!(t.numeric, vec![false, true]);
        assert_eq!(t.rows[0][1], "14,532,700.00");
    }
}
