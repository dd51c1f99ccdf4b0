//! 信息公开: the public disclosure site under `serve --public`. `/disclosure` lists the
//! contracts by year and category; `/disclosure/{code}` shows one contract's items that
//! 财预〔2017〕87号 requires a purchaser to publish (content: title, category, sub-district;
//! method; provider and USCC; amount; yearly funding; term; evaluation result); downloads as
//! CSV and XLSX, and `/api/v1/disclosure` as JSON. No vouchers, no files, no accounts,
//! nothing personal.
//!
//! The contracts are read once per state of the ledger and kept (`LedgerCache::per_state`);
//! every page, filter and download is made from that copy in memory, so the cost does not
//! grow with anonymous visitors or with the queries they vary.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use minijinja::context;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::routes;

use super::auth;
use super::cache::{Asker, Refused, Weigh};
use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, ErrorCode, OrApi, WebError};
use super::params::parse_category;
use super::render::{base, error_page, page, send_report, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::contracts::Category;
use crate::db::read::disclosure::{self, Disclosed};
use crate::money::Money;
use crate::reports::writers::OutputFormat;
use crate::reports::{Column, Report, Val};
use crate::Lang;

/// Where the OCDS release package of the ledger is served to the public (the pages link to it).
pub const OCDS_PACKAGE: Option<&str> = Some("/disclosure/ocds");

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/disclosure", auth::PUBLIC, get(list_page))
        .page(
            Method::GET,
            "/disclosure/download",
            auth::PUBLIC,
            get(download),
        )
        .page(
            Method::GET,
            "/disclosure/ocds",
            auth::PUBLIC,
            get(ocds_package),
        )
        .page(
            Method::GET,
            "/disclosure/{code}",
            auth::PUBLIC,
            get(contract_page),
        )
        .api(auth::PUBLIC, routes!(disclosure_json))
}

/// The contracts kept for one ledger state.
pub struct Kept {
    contracts: Vec<Disclosed>,
}

impl Weigh for Kept {
    fn weight(&self) -> usize {
        self.contracts
            .iter()
            .map(|c| {
                std::mem::size_of::<Disclosed>()
                    + c.code.len()
                    + c.title.len()
                    + c.provider.len()
                    + c.street.as_ref().map_or(0, String::len)
                    + c.uscc.as_ref().map_or(0, String::len)
                    + c.yearly.len() * std::mem::size_of::<(i32, Money)>()
                    + c.evaluation.as_ref().map_or(0, std::mem::size_of_val)
            })
            .sum()
    }
}

fn asker(ctx: &Ctx) -> Asker {
    match ctx.who.account() {
        Some(_) => Asker::SignedIn,
        None => Asker::Anonymous(ctx.client),
    }
}

/// The ledger state the cache compares, read once if the server has not read it yet.
async fn know_state(state: &AppState) -> Result<(), WebError> {
    if state.cache.version() < 0 {
        state.cache.refresh(&state.db).await?;
    }
    Ok(())
}

/// Why a kept value is not served: a database error, or an anonymous visitor over the budget
/// while it is computed (429 with Retry-After).
fn refusal(r: Refused) -> (WebError, Option<u64>) {
    match r {
        Refused::Db(e) => (e.into(), None),
        Refused::Busy { retry_after } => (
            WebError::new(
                ErrorCode::Busy,
                format!("请求太多：服务器正在为其他访客计算数据，请 {retry_after} 秒后再试。"),
                format!("too many requests: the server is computing figures for other visitors; try again in {retry_after} s."),
            ),
            Some(retry_after),
        ),
    }
}

/// The kept contracts, or why they are not served.
async fn kept(state: &AppState, ctx: &Ctx) -> Result<Arc<Kept>, (WebError, Option<u64>)> {
    know_state(state).await.map_err(|e| (e, None))?;
    let db = state.db.clone();
    state
        .cache
        .per_state(asker(ctx), move || async move {
            Ok(Kept {
                contracts: disclosure::load(&db).await?,
            })
        })
        .await
        .map_err(refusal)
}

fn with_retry(mut resp: Response, seconds: Option<u64>) -> Response {
    if let Some(s) = seconds {
        resp.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from(s),
        );
    }
    resp
}

/// The filters a visitor may set: a year and a category.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DisclosureQuery {
    /// The year contracts were signed (or, unsigned, began).
    pub year: Option<String>,
    /// A category: code, Chinese or English name.
    pub category: Option<String>,
    /// csv (default) or xlsx, for the download.
    pub format: Option<String>,
    /// zh (default) or en.
    #[allow(dead_code)]
    pub lang: Option<String>,
}

struct Filter {
    year: Option<i32>,
    category: Option<Category>,
}

impl Filter {
    fn parse(q: &DisclosureQuery) -> Result<Filter, WebError> {
        let year = match q.year.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(y) => Some(
                y.parse::<i32>()
                    .ok()
                    .filter(|y| (1900..=2999).contains(y))
                    .ok_or_else(|| {
                        WebError::bad_request(
                            format!("year 不是年份：“{y}”（例如 2019）"),
                            format!("year is not a year: '{y}' (e.g. 2019)"),
                        )
                    })?,
            ),
        };
        Ok(Filter {
            year,
            category: parse_category(q.category.as_deref())?,
        })
    }

    fn admits(&self, c: &Disclosed) -> bool {
        self.year.is_none_or(|y| c.year == y) && self.category.is_none_or(|k| c.category == k)
    }
}

fn pick(lang: Lang, zh: &str, en: &str) -> String {
    lang.pick(zh, en).to_string()
}

/// One contract's items, labelled in a language, for the pages and the JSON.
fn item(c: &Disclosed, lang: Lang) -> Value {
    json!({
        "code": c.code,
        "year": c.year,
        "title": c.title,
        "category": c.category.code(),
        "category_name": pick(lang, c.category.zh(), c.category.en()),
        "street": c.street,
        "method": c.method.map(|m| m.code()),
        "method_name": c.method.map(|m| pick(lang, m.zh(), m.en())),
        "provider": c.provider,
        "uscc": c.uscc,
        "amount": c.value.to_string(),
        "funding": c.funding.map(|f| f.code()),
        "funding_name": c.funding.map(|f| pick(lang, f.zh(), f.en())),
        "yearly": c.yearly.iter().map(|(y, m)| json!({"year": y, "disbursed": m.to_string()})).collect::<Vec<_>>(),
        "start": c.start.to_string(),
        "end": c.end.to_string(),
        "evaluation": evaluation_text(c, lang),
    })
}

/// The latest evaluation as one phrase: grade (score, type, date).
fn evaluation_text(c: &Disclosed, lang: Lang) -> Option<String> {
    c.evaluation.as_ref().map(|e| match lang {
        Lang::Zh => format!(
            "{}（{}分，{}，{}）",
            e.grade.zh(),
            e.score,
            e.kind.zh(),
            e.on
        ),
        Lang::En => format!(
            "{} ({} points, {}, {})",
            e.grade.en(),
            e.score,
            e.kind.en(),
            e.on
        ),
    })
}

/// Contracts and amount by year and category, for the list's summary table.
fn by_year_and_category(contracts: &[&Disclosed], lang: Lang) -> Vec<Value> {
    let mut groups: std::collections::BTreeMap<(i32, Category), (u64, i64)> =
        std::collections::BTreeMap::new();
    for c in contracts {
        let e = groups.entry((c.year, c.category)).or_default();
        e.0 += 1;
        e.1 += c.value.fen();
    }
    groups
        .into_iter()
        .map(|((year, cat), (n, fen))| {
            json!({"year": year, "category": cat.code(), "category_name": pick(lang, cat.zh(), cat.en()),
                   "contracts": n, "amount": Money::from_fen(fen).to_string()})
        })
        .collect()
}

async fn list_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DisclosureQuery>,
) -> PageResult {
    let filter = Filter::parse(&q).or_page(&ctx)?;
    let kept = match kept(&state, &ctx).await {
        Ok(k) => k,
        Err((e, retry)) => return Ok(with_retry(error_page(&ctx, e), retry)),
    };
    let mut years: Vec<i32> = kept.contracts.iter().map(|c| c.year).collect();
    years.sort_unstable();
    years.dedup();
    let shown: Vec<&Disclosed> = kept.contracts.iter().filter(|c| filter.admits(c)).collect();
    let total: i64 = shown.iter().map(|c| c.value.fen()).sum();
    let categories: Vec<Value> = Category::ALL
        .iter()
        .map(|c| json!({"code": c.code(), "name": pick(ctx.lang, c.zh(), c.en())}))
        .collect();
    let query = format!(
        "year={}&category={}",
        filter.year.map(|y| y.to_string()).unwrap_or_default(),
        filter.category.map(|c| c.code()).unwrap_or_default()
    );
    page(
        &ctx,
        "disclosure.html",
        context! {
            nav => "disclosure",
            years => v(years),
            categories => v(categories),
            year => filter.year,
            category => filter.category.map(|c| c.code()),
            groups => v(by_year_and_category(&shown, ctx.lang)),
            contracts => v(shown.iter().map(|c| item(c, ctx.lang)).collect::<Vec<_>>()),
            count => shown.len(),
            total => Money::from_fen(total).to_string(),
            query,
            ocds => OCDS_PACKAGE,
            ..base(&ctx)
        },
    )
}

async fn contract_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
) -> PageResult {
    let kept = match kept(&state, &ctx).await {
        Ok(k) => k,
        Err((e, retry)) => return Ok(with_retry(error_page(&ctx, e), retry)),
    };
    let Some(c) = kept.contracts.iter().find(|c| c.code == code) else {
        return Err(WebError::not_found(
            format!("没有公开的项目“{code}”"),
            format!("no disclosed contract '{code}'"),
        ))
        .or_page(&ctx);
    };
    page(
        &ctx,
        "disclosure_contract.html",
        context! { nav => "disclosure", c => v(item(c, ctx.lang)), ocds => OCDS_PACKAGE, ..base(&ctx) },
    )
}

/// The listed contracts as a report, for the CSV and XLSX writers (formula defusing,
/// BOM, number formats are theirs).
fn as_report(contracts: &[&Disclosed], lang: Lang) -> Report {
    let columns = vec![
        Column::new("code", "项目编号", "Code"),
        Column::new("year", "年度", "Year"),
        Column::new("title", "项目名称", "Title"),
        Column::new("category", "服务类别", "Category"),
        Column::new("street", "街道", "Sub-district"),
        Column::new("method", "采购方式", "Method"),
        Column::new("provider", "承接机构", "Provider"),
        Column::new("uscc", "统一社会信用代码", "USCC"),
        Column::new("amount", "合同金额（元）", "Amount (yuan)"),
        Column::new("funding", "资金来源", "Funding"),
        Column::new("yearly", "年度拨付（元）", "Disbursed by year (yuan)"),
        Column::new("start", "开始日期", "Start"),
        Column::new("end", "结束日期", "End"),
        Column::new("evaluation", "绩效评价结果", "Evaluation"),
    ];
    let opt = |s: Option<String>| s.map(Val::Text).unwrap_or(Val::Empty);
    let rows = contracts
        .iter()
        .map(|c| {
            vec![
                Val::text(&c.code),
                Val::Int(c.year.into()),
                Val::text(&c.title),
                Val::text(lang.pick(c.category.zh(), c.category.en())),
                opt(c.street.clone()),
                opt(c.method.map(|m| lang.pick(m.zh(), m.en()).to_string())),
                Val::text(&c.provider),
                opt(c.uscc.clone()),
                Val::Money(c.value),
                opt(c.funding.map(|f| lang.pick(f.zh(), f.en()).to_string())),
                Val::text(
                    c.yearly
                        .iter()
                        .map(|(y, m)| format!("{y}: {m}"))
                        .collect::<Vec<_>>()
                        .join("; "),
                ),
                Val::Date(Some(c.start)),
                Val::Date(Some(c.end)),
                opt(evaluation_text(c, lang)),
            ]
        })
        .collect();
    Report {
        name: "disclosure",
        title_zh: "政府购买服务信息公开".into(),
        title_en: "Government purchases of services: disclosure".into(),
        as_of: crate::dates::today(),
        from: None,
        as_recorded: None,
        statement: None,
        columns,
        rows,
        total: None,
        lang,
    }
}

async fn download(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DisclosureQuery>,
) -> PageResult {
    let filter = Filter::parse(&q).or_page(&ctx)?;
    let format = match q.format.as_deref().map(str::trim) {
        None | Some("") | Some("csv") => OutputFormat::Csv,
        Some("xlsx") => OutputFormat::Xlsx,
        Some(other) => {
            return Err(WebError::bad_request(
                format!("format 只能是 csv 或 xlsx：“{other}”"),
                format!("format must be csv or xlsx: '{other}'"),
            ))
            .or_page(&ctx)
        }
    };
    let kept = match kept(&state, &ctx).await {
        Ok(k) => k,
        Err((e, retry)) => return Ok(with_retry(error_page(&ctx, e), retry)),
    };
    let shown: Vec<&Disclosed> = kept.contracts.iter().filter(|c| filter.admits(c)).collect();
    send_report(&as_report(&shown, ctx.lang), format).or_page(&ctx)
}

/// The disclosed contracts (财预〔2017〕87号 items), filtered by year and category; served
/// from a copy kept per state of the ledger.
#[utoipa::path(get, path = "/api/v1/disclosure", params(DisclosureQuery), responses(
    (status = 200, description = "The disclosed contracts: code, year, title, category, street, method, provider, uscc, amount, funding, yearly disbursed, start, end, evaluation"),
    (status = 400, body = ErrorBody, description = "year or category is not valid"),
    (status = 429, body = ErrorBody, description = "busy: an anonymous visitor over its budget of uncached figures; see Retry-After")))]
async fn disclosure_json(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DisclosureQuery>,
) -> Result<Response, ApiError> {
    let filter = Filter::parse(&q).or_api(ctx.lang)?;
    let kept = match kept(&state, &ctx).await {
        Ok(k) => k,
        Err((e, retry)) => return Ok(with_retry(e.api(ctx.lang).into_response(), retry)),
    };
    let contracts: Vec<Value> = kept
        .contracts
        .iter()
        .filter(|c| filter.admits(c))
        .map(|c| item(c, ctx.lang))
        .collect();
    Ok(Json(json!({ "contracts": contracts })).into_response())
}

/// The OCDS release package of the ledger as it stands, written once per state of the ledger
/// to a file of its own and streamed from there: a package grows with the payments (hundreds
/// of MB at a million), so it is neither kept in memory nor made again for each visitor. It
/// is made under the same budget as every figure anonymous visitors cause, and the file goes
/// when the ledger changes (the kept value is dropped, and with it the file).
struct PackageFile(std::path::PathBuf);

impl Weigh for PackageFile {
    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.0.as_os_str().len()
    }
}

impl Drop for PackageFile {
    fn drop(&mut self) {
        // A visitor still reading it keeps its open file; the name goes now.
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Kinds of value kept per state beside the contracts (`per_state` is kind 0).
const OCDS_KEPT: u16 = 1;

async fn ocds_package(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    know_state(&state).await.or_page(&ctx)?;
    let db = state.db.clone();
    let version = state.cache.version();
    let made = state
        .cache
        .per_state_of(OCDS_KEPT, asker(&ctx), move || async move {
            let scope = crate::reports::Scope {
                as_of: crate::dates::today(),
                ..Default::default()
            };
            let path = std::env::temp_dir().join(format!(
                "procure-ocds-{}-{version}-{}.json",
                std::process::id(),
                crate::crypto::secret()
            ));
            let keep = |e: std::io::Error| {
                sea_orm::DbErr::Custom(format!("cannot keep the OCDS package: {e}"))
            };
            // Kept from here on, so that a failed write leaves no file behind.
            let kept = PackageFile(path);
            let file = std::fs::File::create(&kept.0).map_err(keep)?;
            // Written into the file a chunk of contracts at a time, never held whole. The
            // writes are blocking but go to a local temporary file, a chunk at a time.
            crate::db::read::ocds::export_to(
                &db,
                &scope,
                None,
                crate::ocds::PackageKind::Release,
                std::io::BufWriter::with_capacity(1 << 20, file),
            )
            .await
            .map_err(|e| match e {
                crate::db::read::ocds::ExportError::Db(e) => e,
                crate::db::read::ocds::ExportError::Io(e) => keep(e),
            })?;
            Ok(kept)
        })
        .await;
    let kept = match made {
        Ok(k) => k,
        Err(Refused::Db(sea_orm::DbErr::RecordNotFound(_))) => {
            return Err(WebError::from(ErrorCode::NotFound)).or_page(&ctx)
        }
        Err(r) => {
            let (e, retry) = refusal(r);
            return Ok(with_retry(error_page(&ctx, e), retry));
        }
    };
    let file = tokio::fs::File::open(&kept.0)
        .await
        .map_err(|e| WebError::internal(format!("the kept OCDS package is gone: {e}")))
        .or_page(&ctx)?;
    let body = axum::body::Body::from_stream(tokio_util::io::ReaderStream::new(file));
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json; charset=utf-8",
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"ocds-release-package.json\"",
            ),
        ],
        body,
    )
        .into_response())
}
