//! The pages people use: dashboard, contracts, upload (preview, confirm), reports, imports,
//! and the rendered API document.

use axum::body::Bytes;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use minijinja::context;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::OpenApi;

use super::api::{self, ReportParams};
use super::auth::{self, Who};
use super::charts::{self, Datum, Unit};
use super::ctx::{Ctx, LANG_COOKIE};
use super::error::WebError;
use super::queries::{self, ContractFilter, ContractState};
use super::templates::{group_digits, render};
use super::uploads;
use super::AppState;
use crate::contracts::Category;
use crate::imports::ImportReport;
use crate::money::Money;
use crate::reports::writers::OutputFormat;
use crate::reports::{self, Dim, Report, ReportName, Scope, Val};
use crate::Lang;

/// Errors and warnings listed on a page per file; the rest are counted (the API and the
/// command line list them all).
const MAX_LISTED: usize = 1_000;

/// Batches on one imports page.
const IMPORTS_PER_PAGE: u64 = 100;

fn code(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

/// An error page, ready to send.
pub struct PageError(Box<Response>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// An error as a page, in the reader's language.
fn fail(ctx: &Ctx, err: WebError) -> PageError {
    PageError(Box::new(error_page(ctx, err)))
}

fn error_page(ctx: &Ctx, err: WebError) -> Response {
    let page = render(
        "error.html",
        context! {
            nav => "",
            status => err.status.as_u16(),
            message => err.message(ctx.lang),
            ..base(ctx)
        },
    );
    match page {
        Ok(html) => (err.status, html).into_response(),
        Err(_) => (err.status, err.message(ctx.lang).to_string()).into_response(),
    }
}

/// An error page for a request no handler has seen (the access check refused it).
pub fn error_response(
    lang: Lang,
    who: &Who,
    public: bool,
    uri: &axum::http::Uri,
    err: WebError,
) -> Response {
    let ctx = Ctx {
        lang,
        addr: None,
        back: uri
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into()),
        who: who.clone(),
        public,
        https: false,
        client: None,
    };
    error_page(&ctx, err)
}

/// What every page's frame needs: language, the way back, who is signed in, the links their
/// role may follow, and the CSRF token their forms carry.
fn base(ctx: &Ctx) -> minijinja::Value {
    let get = axum::http::Method::GET;
    let can = |path: &str| auth::allowed(&get, path, &ctx.who, ctx.public);
    let user = ctx.who.account().map(
        |a| json!({"name": a.name, "role": a.role.code(), "role_name": a.role.name(ctx.lang)}),
    );
    context! {
        lang => code(ctx.lang),
        back => ctx.back.clone(),
        user => v(user),
        csrf => ctx.who.csrf().unwrap_or(""),
        can => v(json!({
            "dashboard": can("/"),
            "contracts": can("/contracts"),
            "upload": can("/upload"),
            "reports": can("/reports"),
            "imports": can("/imports"),
            "audit": can("/audit"),
            "accounts": can("/accounts"),
            "api": can("/api"),
            "public": can("/public"),
        })),
    }
}

type PageResult = Result<Response, PageError>;

/// A Rust value for a template.
fn v<T: Serialize>(x: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

trait OrPage<T> {
    fn or_page(self, ctx: &Ctx) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn or_page(self, ctx: &Ctx) -> Result<T, PageError> {
        self.map_err(|e| fail(ctx, e.into()))
    }
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
        Val::Money(_) | Val::Int(_) => group_digits(&v.plain()),
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
}

fn col(r: &Report, key: &str) -> Option<usize> {
    r.columns.iter().position(|c| c.key == key)
}

fn fen(v: Option<&Val>) -> i64 {
    match v {
        Some(Val::Money(m)) => m.to_fen().unwrap_or(0),
        Some(Val::Int(i)) => *i,
        _ => 0,
    }
}

fn cell<'a>(r: &Report, row: &'a [Val], key: &str) -> Option<&'a Val> {
    col(r, key).and_then(|i| row.get(i))
}

fn wan(fen: i64) -> String {
    group_digits(&format!("{:.2}", Money::from_fen(fen).wan()))
}

/// One chart series from a report: a label column and a figure column.
fn series(r: &Report, label: &str, value: &str) -> Vec<Datum> {
    r.rows
        .iter()
        .map(|row| Datum {
            label: cell(r, row, label).map(Val::plain).unwrap_or_default(),
            value: fen(cell(r, row, value)),
        })
        .collect()
}

pub async fn compute_dashboard(
    db: &sea_orm::DatabaseConnection,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<Dashboard, sea_orm::DbErr> {
    let request = |name, by: Vec<Dim>| reports::Request {
        name,
        scope: Scope {
            as_of,
            ..Default::default()
        },
        by,
        lang,
    };
    let summary = reports::build(db, &request(ReportName::Summary, vec![])).await?;
    let spend = reports::build(db, &request(ReportName::Spend, vec![Dim::Month])).await?;
    let streets =
        reports::build(db, &request(ReportName::Beneficiaries, vec![Dim::Street])).await?;
    let total = summary.total.clone().unwrap_or_default();
    let value = fen(cell(&summary, &total, "value"));
    let disbursed = fen(cell(&summary, &total, "disbursed"));
    let people = fen(cell(&summary, &total, "people"));
    let zh = lang == Lang::Zh;
    let by_category = series(&summary, "category", "value");
    let cumulative = series(&spend, "month", "cumulative_disbursed");
    let mut by_street = series(&streets, "street", "people");
    by_street.sort_by(|a, b| b.value.cmp(&a.value).then(a.label.cmp(&b.label)));
    Ok(Dashboard {
        as_of,
        contracts: fen(cell(&summary, &total, "contracts")),
        providers: fen(cell(&summary, &total, "providers")),
        value: group_digits(&Money::from_fen(value).to_string()),
        value_wan: wan(value),
        disbursed: group_digits(&Money::from_fen(disbursed).to_string()),
        disbursed_wan: wan(disbursed),
        rate: cell(&summary, &total, "execution_rate")
            .map(Val::plain)
            .unwrap_or_default(),
        people: group_digits(&people.to_string()),
        people_wan: format!("{:.2}", reports::people_wan(people)),
        statement: summary.statement.clone().unwrap_or_default(),
        table: TableView::of(&summary),
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
    })
}

#[derive(Debug, Deserialize)]
pub struct AsOfQuery {
    as_of: Option<String>,
}

/// The dashboard's figures at the ledger's current state, computed once per state.
async fn dashboard_data(
    state: &AppState,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<std::sync::Arc<Dashboard>, WebError> {
    if state.cache.version() < 0 {
        state.cache.refresh(&state.db).await?;
    }
    let db = state.db.clone();
    Ok(state
        .cache
        .dashboard((as_of, lang), move || async move {
            compute_dashboard(&db, as_of, lang).await
        })
        .await?)
}

pub async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AsOfQuery>,
) -> PageResult {
    dashboard_page(&state, &ctx, &q, false).await
}

/// The public disclosure page (`serve --public`): aggregate figures only.
pub async fn public(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AsOfQuery>,
) -> PageResult {
    dashboard_page(&state, &ctx, &q, true).await
}

/// The dashboard's figures as a page; the public one posts its date form to `/public`.
async fn dashboard_page(state: &AppState, ctx: &Ctx, q: &AsOfQuery, public: bool) -> PageResult {
    let as_of = api::parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_page(ctx)?;
    let d = dashboard_data(state, as_of, ctx.lang).await.or_page(ctx)?;
    let nav = if public { "public" } else { "dashboard" };
    Ok(render(
        "dashboard.html",
        context! { nav, public_page => public, d => v(&*d), ..base(ctx) },
    )
    .or_page(ctx)?
    .into_response())
}

pub async fn contracts(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(f): Query<ContractFilter>,
) -> PageResult {
    let q = queries::parse_filter(&f, crate::dates::today()).or_page(&ctx)?;
    let page = queries::contracts(&state.db, &q, ctx.lang)
        .await
        .or_page(&ctx)?;
    let streets = queries::streets(&state.db).await.or_page(&ctx)?;
    let items: Vec<serde_json::Value> = page
        .items
        .iter()
        .map(|c| {
            let mut v = serde_json::to_value(c).unwrap_or_default();
            v["value_fmt"] = json!(group_digits(&c.value.to_string()));
            v["paid_fmt"] = json!(group_digits(&c.paid.to_string()));
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
    Ok(render(
        "contracts.html",
        context! {
            nav => "contracts",
            p => v(json!({"as_of": page.as_of, "total": page.total, "page": page.page, "pages": page.pages, "items": items})),
            f => v(json!({"q": q.q, "category": q.category.map(|c| c.code()), "street": q.street, "provider": q.provider, "state": q.state.map(|s| s.code())})),
            categories => v(categories), states => v(states), streets => v(streets), pager_base => pager,
            ..base(&ctx)
        },
    )
    .or_page(&ctx)?
    .into_response())
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

pub async fn contract(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code_): Path<String>,
    Query(q): Query<AsOfQuery>,
) -> PageResult {
    let as_of = api::parse_as_of(q.as_of.as_deref(), crate::dates::today()).or_page(&ctx)?;
    let Some(c) = queries::contract(&state.db, &code_, as_of, ctx.lang)
        .await
        .or_page(&ctx)?
    else {
        return Err(fail(
            &ctx,
            WebError::not_found(
                format!("没有项目编号为“{code_}”的合同"),
                format!("no contract with code '{code_}'"),
            ),
        ));
    };
    let payments: Vec<serde_json::Value> = c
        .payments
        .iter()
        .map(|p| {
            let mut v = serde_json::to_value(p).unwrap_or_default();
            v["amount"] = json!(group_digits(&p.amount.to_string()));
            v
        })
        .collect();
    Ok(render(
        "contract.html",
        context! {
            nav => "contracts", as_of => as_of.to_string(),
            value => group_digits(&c.value.to_string()),
            paid => group_digits(&c.paid.to_string()),
            remaining => group_digits(&c.remaining.to_string()),
            payments => v(payments), c => v(c), ..base(&ctx)
        },
    )
    .or_page(&ctx)?
    .into_response())
}

pub async fn upload_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    Ok(render(
        "upload.html",
        context! {
            nav => "upload",
            limit_mb => state.config.max_upload_bytes / (1 << 20), ..base(&ctx)
        },
    )
    .or_page(&ctx)?
    .into_response())
}

pub async fn upload(State(state): State<AppState>, ctx: Ctx, form: Multipart) -> PageResult {
    let files = api::read_files(&state, form).await.or_page(&ctx)?;
    let token = uploads::save(&state.db, files, &ctx.actor())
        .await
        .or_page(&ctx)?;
    Ok(Redirect::to(&format!("/upload/{token}")).into_response())
}

/// The import report as the preview template reads it: names for codes, lists capped.
fn report_view(r: &ImportReport) -> serde_json::Value {
    let mut v = serde_json::to_value(r).unwrap_or_default();
    if let Some(files) = v["files"].as_array_mut() {
        for (f, file) in files.iter_mut().zip(&r.files) {
            let total: u64 = file.warning_counts.values().sum();
            f["warning_total"] = json!(total.max(file.warnings.len() as u64));
            for list in ["errors", "warnings"] {
                if let Some(a) = f[list].as_array_mut() {
                    a.truncate(MAX_LISTED);
                }
            }
        }
    }
    v
}

fn names(lang: Lang) -> (serde_json::Value, serde_json::Value) {
    (
        json!({
            "stored": lang.pick("已导入", "stored"),
            "checked": lang.pick("可以导入", "ready to import"),
            "unchanged": lang.pick("内容已在台账中，不会重复导入", "already in the ledger; nothing to import"),
            "rejected": lang.pick("有错误，不能导入", "has errors; not imported"),
        }),
        json!({
            "contracts": lang.pick("项目合同", "contracts"),
            "disbursements": lang.pick("资金拨付", "disbursements"),
            "services": lang.pick("服务统计", "service reports"),
        }),
    )
}

pub async fn upload_preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> PageResult {
    let p = uploads::preview(&state, &token, ctx.lang)
        .await
        .or_page(&ctx)?;
    let (status_names, kind_names) = names(ctx.lang);
    Ok(render(
        "preview.html",
        context! {
            nav => "upload",
            result => false, token, committed => p.committed, files => v(p.files),
            r => v(report_view(&p.check)), status_names => v(status_names), kind_names => v(kind_names), ..base(&ctx)
        },
    )
    .or_page(&ctx)?
    .into_response())
}

pub async fn upload_commit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let sha256: Vec<String> = url::form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "sha256")
        .map(|(_, v)| v.into_owned())
        .collect();
    let report = uploads::commit(&state, &token, &sha256, &ctx.audit_actor(), ctx.lang)
        .await
        .or_page(&ctx)?;
    let (status_names, kind_names) = names(ctx.lang);
    Ok(render(
        "preview.html",
        context! {
            nav => "upload",
            result => true, token, r => v(report_view(&report)), status_names => v(status_names), kind_names => v(kind_names), ..base(&ctx)
        },
    )
    .or_page(&ctx)?
    .into_response())
}

fn report_help(name: ReportName, lang: Lang) -> &'static str {
    match name {
        ReportName::Summary => lang.pick("按服务类别汇总项目数、合同金额、拨付、服务人数，附汇总说明。", "contracts, value, disbursed and people by category, with the summary statement."),
        ReportName::Spend => lang.pick("合同金额、已拨付、未拨付，可按任意维度或月份分组。", "value, disbursed and remaining, by any grouping or by month."),
        ReportName::Beneficiaries => lang.pick("服务人数、人次与人均成本。", "people served, sessions and cost per person."),
        ReportName::Contracts => lang.pick("每个合同一行，附来源文件、工作表和行号。", "one row per contract, with its source file, sheet and row."),
        ReportName::Exceptions => lang.pick("审计关注事项：超期拨付、期满未付清、缺少服务统计等。", "what auditors chase: payments outside the term, balances unpaid, missing service reports."),
        ReportName::History => lang.pick("每一次导入和每一处变更。", "every import and every change."),
    }
}

pub async fn reports(ctx: Ctx) -> PageResult {
    use clap::ValueEnum;
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
    Ok(render(
        "reports.html",
        context! { nav => "reports", reports => v(list), dims => v(dims), as_of => crate::dates::today().to_string(), ..base(&ctx) },
    )
    .or_page(&ctx)?
    .into_response())
}

#[derive(Debug, Deserialize)]
pub struct DownloadQuery {
    name: Option<String>,
    #[serde(flatten)]
    params: ReportParams,
}

pub async fn report_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DownloadQuery>,
) -> PageResult {
    use clap::ValueEnum;
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
    api::report_file(&state, &req, format).await.or_page(&ctx)
}

#[derive(Debug, Deserialize)]
pub struct PageQuery {
    page: Option<u64>,
}

pub async fn imports(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<PageQuery>,
) -> PageResult {
    let per_page = IMPORTS_PER_PAGE;
    let p = queries::batches(&state.db, q.page.unwrap_or(1), per_page)
        .await
        .or_page(&ctx)?;
    let pages = p.total.div_ceil(per_page);
    let (_, kinds) = names(ctx.lang);
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
    Ok(render(
        "imports.html",
        context! { nav => "imports", p => v(view), pages, ..base(&ctx) },
    )
    .or_page(&ctx)?
    .into_response())
}

/// A batch's line on the imports page (the page it falls on, newest first).
pub async fn batch(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let newer = queries::newer_batches(&state.db, id).await.or_page(&ctx)?;
    let page = newer / IMPORTS_PER_PAGE + 1;
    Ok(Redirect::to(&format!("/imports?page={page}#batch-{id}")).into_response())
}

pub async fn original(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    api::original_file(&state, id).await.or_page(&ctx)
}

#[derive(Debug, Deserialize)]
pub struct BackQuery {
    back: Option<String>,
}

/// Remembers the language for a year and returns to the page the reader was on.
pub async fn switch_lang(
    ctx: Ctx,
    Path(lang): Path<String>,
    Query(q): Query<BackQuery>,
) -> PageResult {
    let Some(lang) = super::ctx::parse_lang(&lang) else {
        return Err(fail(
            &ctx,
            WebError::not_found("没有这种语言", "no such language"),
        ));
    };
    // Only a path on this site: never an open redirect.
    let back = local_path(q.back.as_deref());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        code(lang)
    );
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).or_page(&ctx)?,
        )],
        Redirect::to(&back),
    )
        .into_response())
}

impl From<axum::http::header::InvalidHeaderValue> for WebError {
    fn from(e: axum::http::header::InvalidHeaderValue) -> Self {
        WebError::internal(e)
    }
}

pub async fn api_docs(ctx: Ctx) -> PageResult {
    let doc = serde_json::to_value(api::ApiDoc::openapi()).or_page(&ctx)?;
    Ok(render(
        "api.html",
        context! { nav => "api", doc => v(doc), ..base(&ctx) },
    )
    .or_page(&ctx)?
    .into_response())
}

impl From<serde_json::Error> for WebError {
    fn from(e: serde_json::Error) -> Self {
        WebError::internal(e)
    }
}

pub async fn asset(ctx: Ctx, Path(file): Path<String>) -> PageResult {
    let (mime, body): (&str, &'static [u8]) = match file.as_str() {
        "app.css" => ("text/css; charset=utf-8", include_bytes!("static/app.css")),
        "app.js" => (
            "text/javascript; charset=utf-8",
            include_bytes!("static/app.js"),
        ),
        "register-template.xlsx" => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            include_bytes!("../../imports/templates/register-template.xlsx"),
        ),
        _ => {
            return Err(fail(
                &ctx,
                WebError::not_found("没有这个文件", "no such file"),
            ))
        }
    };
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response())
}

pub async fn not_found(ctx: Ctx) -> Response {
    if ctx.back.starts_with("/api/") {
        return WebError::not_found(
            "没有这个接口，见 /api/openapi.json",
            "no such endpoint; see /api/openapi.json",
        )
        .api(ctx.lang)
        .into_response();
    }
    error_page(&ctx, WebError::not_found("页面不存在", "page not found"))
}

/// The login cookie that binds the login form to the browser that asked for it (there is
/// no session yet to hold a CSRF token).
const LOGIN_COOKIE: &str = "procure_login";

/// Only a path on this site: never an open redirect.
fn local_path(p: Option<&str>) -> String {
    // Browsers drop tabs and newlines from URLs, so "/\t/evil" would become "//evil".
    p.filter(|b| {
        b.starts_with('/')
            && !b.starts_with("//")
            && !b.contains('\\')
            && !b.chars().any(|c| c.is_control() || c.is_whitespace())
    })
    .unwrap_or("/")
    .to_string()
}

fn cookie(name: &str, value: &str, path: &str, max_age: i64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The login form (also the answer to a page asked for without signing in, with 401).
pub fn login_page(
    state: &AppState,
    lang: Lang,
    next: &str,
    message: Option<&str>,
    status: axum::http::StatusCode,
) -> Response {
    let token = crate::crypto::secret();
    let ctx = Ctx {
        lang,
        addr: None,
        back: "/login".into(),
        who: Who::Anonymous,
        public: state.config.public,
        https: state.config.secure_cookies,
        client: None,
    };
    let html = render(
        "login.html",
        context! { nav => "login", next => local_path(Some(next)), message, login_token => token.clone(), ..base(&ctx) },
    );
    match html {
        Ok(html) => (
            status,
            [(
                header::SET_COOKIE,
                cookie(LOGIN_COOKIE, &token, "/login", 3600, ctx.https),
            )],
            html,
        )
            .into_response(),
        Err(e) => error_page(&ctx, e),
    }
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

pub async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Response {
    login_page(
        &state,
        ctx.lang,
        &local_path(q.next.as_deref()),
        None,
        axum::http::StatusCode::OK,
    )
}

fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

pub async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: axum_extra::extract::CookieJar,
    body: Bytes,
) -> PageResult {
    let f = form(&body);
    let next = local_path(f.get("next").map(String::as_str));
    let bound = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string());
    if bound.is_none() || bound.as_deref() != f.get("login_token").map(String::as_str) {
        return Ok(login_page(
            &state,
            ctx.lang,
            &next,
            Some(ctx.lang.pick(
                "登录表单已过期，请重新输入",
                "the sign-in form expired; please sign in again",
            )),
            axum::http::StatusCode::FORBIDDEN,
        ));
    }
    let name = f.get("name").map(|s| s.trim()).unwrap_or("");
    let password = f.get("password").map(String::as_str).unwrap_or("");
    let outcome = crate::access::login(&state.db, name, password, ctx.address())
        .await
        .map_err(WebError::internal)
        .or_page(&ctx)?;
    match outcome {
        Ok(session) => {
            // The old session, if any, ends: one browser, one session, a new id at each login.
            if let Some(old) = jar.get(auth::SESSION_COOKIE) {
                let _ = crate::access::logout(&state.db, old.value(), &ctx.audit_actor()).await;
            }
            let max_age = crate::access::SESSION_LIFETIME.num_seconds();
            // Two cookies: headers in an array would replace each other; these append.
            Ok((
                axum::response::AppendHeaders([
                    (
                        header::SET_COOKIE,
                        cookie(
                            auth::SESSION_COOKIE,
                            &session.cookie,
                            "/",
                            max_age,
                            ctx.https,
                        ),
                    ),
                    (
                        header::SET_COOKIE,
                        cookie(LOGIN_COOKIE, "", "/login", 0, ctx.https),
                    ),
                ]),
                Redirect::to(&next),
            )
                .into_response())
        }
        Err(refused) => {
            let msg = match refused {
                crate::access::LoginRefused::Invalid => ctx
                    .lang
                    .pick(
                        "用户名或密码错误，或账号已停用",
                        "wrong name or password, or the account is disabled",
                    )
                    .to_string(),
                crate::access::LoginRefused::Wait(s) => match ctx.lang {
                    Lang::Zh => format!("失败次数过多，请 {s} 秒后再试"),
                    Lang::En => format!("too many failed attempts; try again in {s} seconds"),
                },
            };
            Ok(login_page(
                &state,
                ctx.lang,
                &next,
                Some(&msg),
                axum::http::StatusCode::UNAUTHORIZED,
            ))
        }
    }
}

pub async fn logout(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    if let Who::Session { cookie: c, .. } = &ctx.who {
        crate::access::logout(&state.db, c, &ctx.audit_actor())
            .await
            .or_page(&ctx)?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            cookie(auth::SESSION_COOKIE, "", "/", 0, ctx.https),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct AuditQuery {
    from: Option<String>,
    to: Option<String>,
    page: Option<u64>,
}

pub async fn audit(
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
    Ok(render(
        "audit.html",
        context! {
            nav => "audit", entries => v(entries), total, page, pages => total.div_ceil(per_page),
            from => from.map(|d| d.to_string()), to => to.map(|d| d.to_string()), pager_base => base_q,
            ..base(&ctx)
        },
    )
    .or_page(&ctx)?
    .into_response())
}

pub async fn audit_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<api::AuditParams>,
) -> PageResult {
    let report = api::audit_report(&state, &q, ctx.lang)
        .await
        .or_page(&ctx)?;
    let format = match q.format.as_deref() {
        Some("xlsx") => OutputFormat::Xlsx,
        _ => OutputFormat::Csv,
    };
    api::send_report(&report, format).or_page(&ctx)
}

async fn accounts_page(
    state: &AppState,
    ctx: &Ctx,
    message: Option<String>,
    new_token: Option<String>,
) -> PageResult {
    let accounts = crate::access::list_accounts(&state.db)
        .await
        .map_err(WebError::internal)
        .or_page(ctx)?;
    let tokens = crate::access::list_tokens(&state.db)
        .await
        .map_err(WebError::internal)
        .or_page(ctx)?;
    let accounts: Vec<_> = accounts
        .iter()
        .map(|a| json!({"name": a.name, "role": a.role.name(ctx.lang), "disabled": a.disabled, "created_at": crate::dates::local_time(a.created_at)}))
        .collect();
    let tokens: Vec<_> = tokens
        .iter()
        .map(|t| json!({"id": t.id, "account": t.account, "label": t.label, "created_at": crate::dates::local_time(t.created_at), "created_by": t.created_by, "revoked_at": t.revoked_at.map(crate::dates::local_time)}))
        .collect();
    let roles: Vec<_> = crate::access::Role::ALL
        .iter()
        .map(|r| json!({"code": r.code(), "name": r.name(ctx.lang)}))
        .collect();
    Ok(render(
        "accounts.html",
        context! { nav => "accounts", accounts => v(accounts), tokens => v(tokens), roles => v(roles), message, new_token, ..base(ctx) },
    )
    .or_page(ctx)?
    .into_response())
}

pub async fn accounts(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    accounts_page(&state, &ctx, None, None).await
}

/// An account-page action's outcome: the page again with what happened, or what went wrong.
async fn after(
    state: &AppState,
    ctx: &Ctx,
    r: Result<String, crate::access::AccessError>,
    token: Option<String>,
) -> PageResult {
    match r {
        Ok(msg) => accounts_page(state, ctx, Some(msg), token).await,
        Err(e) => {
            let msg = e.to_string();
            let mut page = accounts_page(state, ctx, Some(msg), None).await?;
            *page.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(page)
        }
    }
}

pub async fn add_account(State(state): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let f = form(&body);
    let name = f
        .get("name")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let role = f.get("role").and_then(|r| crate::access::Role::parse(r));
    let r = match role {
        None => Err(crate::access::AccessError::BadName),
        Some(role) => crate::access::add_account(
            &state.db,
            &name,
            role,
            f.get("password").map(String::as_str).unwrap_or(""),
            &ctx.audit_actor(),
        )
        .await
        .map(|_| format!("{} {name}", ctx.lang.pick("已添加账号", "added account"))),
    };
    after(&state, &ctx, r, None).await
}

async fn set_disabled(state: AppState, ctx: Ctx, name: String, disabled: bool) -> PageResult {
    let r = crate::access::set_disabled(&state.db, &name, disabled, &ctx.audit_actor())
        .await
        .map(|_| {
            format!(
                "{name}: {}",
                if disabled {
                    ctx.lang.pick("已停用", "disabled")
                } else {
                    ctx.lang.pick("已启用", "enabled")
                }
            )
        });
    after(&state, &ctx, r, None).await
}

pub async fn disable_account(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> PageResult {
    set_disabled(state, ctx, name, true).await
}

pub async fn enable_account(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> PageResult {
    set_disabled(state, ctx, name, false).await
}

pub async fn create_token(State(state): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let f = form(&body);
    let account = f
        .get("account")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let label = f
        .get("label")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    match crate::access::create_token(&state.db, &account, &label, &ctx.audit_actor()).await {
        Ok((id, token)) => {
            let msg = format!("{} {id}", ctx.lang.pick("已创建令牌", "created token"));
            after(&state, &ctx, Ok(msg), Some(token)).await
        }
        Err(e) => after(&state, &ctx, Err(e), None).await,
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> PageResult {
    let r = crate::access::revoke_token(&state.db, id, &ctx.audit_actor())
        .await
        .map(|_| format!("{} {id}", ctx.lang.pick("已撤销令牌", "revoked token")));
    after(&state, &ctx, r, None).await
}
