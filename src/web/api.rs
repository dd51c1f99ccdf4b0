//! The JSON API under `/api/v1`, described by the OpenAPI document at `/api/openapi.json`
//! (generated from these handlers by utoipa). Amounts are strings ("14532700.00"); errors are
//! `{"error": {"code", "message"}}` with a stable code.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::NaiveDate;
use clap::ValueEnum;
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi};

use super::ctx::Ctx;
use super::error::{ApiError, ErrorBody, WebError};
use super::queries::{self, BatchPage, ContractDetail, ContractFilter, ContractPage};
use super::uploads::{self, Commit, Committed, Preview};
use super::AppState;
use crate::contracts::Category;
use crate::reports::writers::{self, OutputFormat};
use crate::reports::{self, Dim, ReportName, Scope};
use crate::Lang;

pub fn routes(upload_limit: usize) -> Router<AppState> {
    use axum::handler::Handler;
    Router::new()
        .route("/ping", get(ping))
        .route("/summary", get(summary))
        .route("/spend", get(spend))
        .route("/beneficiaries", get(beneficiaries))
        .route("/contracts", get(contracts))
        .route("/contracts/{code}", get(contract))
        .route("/imports", get(imports))
        .route("/imports/{id}/original", get(original))
        .route(
            "/uploads",
            post(upload.layer(DefaultBodyLimit::max(upload_limit))),
        )
        .route("/uploads/{token}", get(preview))
        .route("/uploads/{token}/commit", post(commit))
        .route("/reports/{name}", get(report))
        .route("/audit", get(audit))
        .fallback(api_not_found)
}

#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    info(
        title = "procure API",
        description = "The ledger of services a district buys from social organisations: figures as of any date, contracts with every payment and service report, import batches, uploads (preview, then confirm) and report downloads. Amounts are decimal strings in yuan, exact to the fen. Errors are {\"error\": {\"code\", \"message\"}}; add ?lang=en for English messages and labels."
    ),
    paths(
        ping,
        summary,
        spend,
        beneficiaries,
        contracts,
        contract,
        imports,
        original,
        upload,
        preview,
        commit,
        report,
        audit
    ),
    components(schemas(
        ErrorBody,
        ContractPage,
        ContractDetail,
        BatchPage,
        Preview,
        Commit,
        Committed
    ))
)]
pub struct ApiDoc;

/// Scripts sign in with an API token (`procure token create ACCOUNT`): `Authorization: Bearer prc_...`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}

async fn api_not_found(ctx: Ctx) -> ApiError {
    WebError::not_found(
        "没有这个接口，见 /api/openapi.json",
        "no such endpoint; see /api/openapi.json",
    )
    .api(ctx.lang)
}

/// An `as_of` parameter: any date form the registers use; today when absent.
pub fn parse_as_of(raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate, WebError> {
    parse_opt_date("as_of", raw).map(|d| d.unwrap_or(today))
}

fn parse_opt_date(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::dates::parse_date(s).map(Some).ok_or_else(|| {
            WebError::bad_request(
                format!("{field} 不是日期：“{s}”（例如 2019-06-30）"),
                format!("{field} is not a date: '{s}' (e.g. 2019-06-30)"),
            )
        }),
    }
}

/// A parameter's text, trimmed; none when blank.
pub fn text(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A category parameter: code, Chinese or English name.
pub fn parse_category(raw: Option<&str>) -> Result<Option<Category>, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(c) => Category::parse(c).map(Some).ok_or_else(|| {
            WebError::bad_request(
                format!("未知的服务类别“{c}”：可选 {}", Category::expected()),
                format!("unknown category '{c}': use elderly, youth, disability, relief or other"),
            )
        }),
    }
}

/// The parameters every report takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The date the figures are for (default today, China Standard Time).
    pub as_of: Option<String>,
    /// Count payments, service periods and changes from this date.
    pub from: Option<String>,
    /// What the report would have said on this day: only what had been imported by then.
    pub as_recorded: Option<String>,
    /// Group by, comma-separated: category, provider, street, community, purchaser, funding, method, month, quarter, year.
    pub by: Option<String>,
    /// Only this category (code, Chinese or English name).
    pub category: Option<String>,
    /// Only this sub-district (街道).
    pub street: Option<String>,
    /// Only this provider (name or USCC).
    pub provider: Option<String>,
    /// json (default for the API), csv or xlsx.
    pub format: Option<String>,
    /// zh (default) or en: labels and messages.
    pub lang: Option<String>,
}

impl ReportParams {
    /// The report request these parameters ask for.
    pub fn request(&self, name: ReportName, lang: Lang) -> Result<reports::Request, WebError> {
        let category = parse_category(self.category.as_deref())?;
        let mut by = Vec::new();
        for part in self
            .by
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            by.push(Dim::from_str(part, true).map_err(|_| {
                WebError::bad_request(
                    format!("不能按“{part}”分组：可选 category、provider、street、community、purchaser、funding、method、month、quarter、year"),
                    format!("cannot group by '{part}': use category, provider, street, community, purchaser, funding, method, month, quarter or year"),
                )
            })?);
        }
        Ok(reports::Request {
            name,
            scope: Scope {
                as_of: parse_as_of(self.as_of.as_deref(), crate::dates::today())?,
                from: parse_opt_date("from", self.from.as_deref())?,
                as_recorded: parse_opt_date("as_recorded", self.as_recorded.as_deref())?,
                category,
                street: text(&self.street),
                provider: text(&self.provider),
            },
            by,
            lang,
        })
    }

    pub fn format(&self, default: OutputFormat) -> Result<OutputFormat, WebError> {
        match self
            .format
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(default),
            Some(f) => match OutputFormat::from_str(f, true) {
                Ok(OutputFormat::Table) | Err(_) => Err(WebError::bad_request(
                    format!("不支持的格式“{f}”：可选 csv、xlsx、json"),
                    format!("unsupported format '{f}': use csv, xlsx or json"),
                )),
                Ok(ok) => Ok(ok),
            },
        }
    }
}

/// A report as a file download (CSV with BOM for Excel, XLSX, or JSON).
pub async fn report_file(
    state: &AppState,
    req: &reports::Request,
    format: OutputFormat,
) -> Result<Response, WebError> {
    let report = reports::build(&state.db, req).await?;
    send_report(&report, format)
}

fn json_bytes(body: Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A constant answer: the floor the summary's speed is measured against.
#[utoipa::path(get, path = "/api/v1/ping", responses((status = 200, description = "Always {\"status\":\"ok\"}")))]
async fn ping() -> Response {
    json_bytes(Bytes::from_static(b"{\"status\":\"ok\"}"))
}

/// The summary report as JSON, served from figures kept per ledger state (no GROUP BY per request).
pub async fn summary_bytes(
    state: &AppState,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<std::sync::Arc<Bytes>, WebError> {
    if state.cache.version() < 0 {
        state.cache.refresh(&state.db).await?;
    }
    let db = state.db.clone();
    Ok(state
        .cache
        .summary((as_of, lang), move || async move {
            let req = reports::Request {
                name: ReportName::Summary,
                scope: Scope {
                    as_of,
                    ..Default::default()
                },
                by: Vec::new(),
                lang,
            };
            let report = reports::build(&db, &req).await?;
            Ok(Bytes::from(writers::json_doc(&report).to_string()))
        })
        .await?)
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct AsOf {
    /// The date the figures are for (default today, China Standard Time).
    as_of: Option<String>,
    /// zh (default) or en.
    // Listed for the OpenAPI document; the request's language is read by `Ctx`.
    #[allow(dead_code)]
    lang: Option<String>,
}

/// Contracts, value, disbursed and people served by category as of a date, with the total
/// row and the summary statement (截至…共购买…).
#[utoipa::path(get, path = "/api/v1/summary", params(AsOf), responses(
    (status = 200, description = "The summary report: columns, rows by category, total, statement, sha256"),
    (status = 400, body = ErrorBody, description = "as_of is not a date")))]
async fn summary(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AsOf>,
) -> Result<Response, ApiError> {
    let as_of =
        parse_as_of(q.as_of.as_deref(), crate::dates::today()).map_err(|e| e.api(ctx.lang))?;
    let body = summary_bytes(&state, as_of, ctx.lang)
        .await
        .map_err(|e| e.api(ctx.lang))?;
    Ok(json_bytes((*body).clone()))
}

async fn json_report(
    state: &AppState,
    ctx: &Ctx,
    name: ReportName,
    q: &ReportParams,
) -> Result<Response, ApiError> {
    let req = q.request(name, ctx.lang).map_err(|e| e.api(ctx.lang))?;
    let report = reports::build(&state.db, &req).await?;
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

/// One page of contracts, filtered.
#[utoipa::path(get, path = "/api/v1/contracts", params(ContractFilter), responses(
    (status = 200, body = ContractPage), (status = 400, body = ErrorBody)))]
async fn contracts(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(f): Query<ContractFilter>,
) -> Result<Json<ContractPage>, ApiError> {
    let q = queries::parse_filter(&f, crate::dates::today()).map_err(|e| e.api(ctx.lang))?;
    Ok(Json(queries::contracts(&state.db, &q, ctx.lang).await?))
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
    let as_of =
        parse_as_of(q.as_of.as_deref(), crate::dates::today()).map_err(|e| e.api(ctx.lang))?;
    match queries::contract(&state.db, &code, as_of, ctx.lang).await? {
        Some(c) => Ok(Json(c)),
        None => Err(WebError::not_found(
            format!("没有项目编号为“{code}”的合同"),
            format!("no contract with code '{code}'"),
        )
        .api(ctx.lang)),
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number.
    pub page: Option<u64>,
    /// Rows a page (default 50, at most 500).
    pub per_page: Option<u64>,
}

/// Import batches, newest first: who, when, file, SHA-256, counts.
#[utoipa::path(get, path = "/api/v1/imports", params(PageParams), responses((status = 200, body = BatchPage)))]
async fn imports(
    State(state): State<AppState>,
    Query(p): Query<PageParams>,
) -> Result<Json<BatchPage>, ApiError> {
    let per_page = p.per_page.unwrap_or(50).clamp(1, 500);
    Ok(Json(
        queries::batches(&state.db, p.page.unwrap_or(1), per_page).await?,
    ))
}

/// The original file of a batch, byte for byte, when it was uploaded through the web.
pub async fn original_file(state: &AppState, id: i64) -> Result<Response, WebError> {
    match queries::original(&state.db, id).await? {
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
    original_file(&state, id).await.map_err(|e| e.api(ctx.lang))
}

/// Reads the files of a multipart upload (fields named `files`, or any file field).
pub async fn read_files(
    state: &AppState,
    mut form: Multipart,
) -> Result<Vec<(String, Vec<u8>)>, WebError> {
    let limit = state.config.max_upload_bytes;
    let mut files = Vec::new();
    let mut total = 0u64;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(WebError::too_large(limit))
            }
            Err(e) => {
                return Err(WebError::bad_request(
                    format!("上传的表单无法读取：{e}"),
                    format!("the upload form cannot be read: {e}"),
                ))
            }
        };
        let Some(name) = field.file_name().map(uploads::clean_name) else {
            continue;
        };
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(WebError::too_large(limit))
            }
            Err(e) => {
                return Err(WebError::bad_request(
                    format!("上传中断：{e}"),
                    format!("the upload was interrupted: {e}"),
                ))
            }
        };
        // A browser sends an empty part when no file was chosen.
        if bytes.is_empty() && name == "upload" {
            continue;
        }
        total += bytes.len() as u64;
        if total > limit {
            return Err(WebError::too_large(limit));
        }
        files.push((name, bytes.to_vec()));
    }
    if files.is_empty() {
        return Err(WebError::bad_request(
            "请选择要上传的文件",
            "choose a file to upload",
        ));
    }
    Ok(files)
}

/// Upload one or more registers (multipart, field `files`): they are kept, checked as a dry
/// run, and nothing enters the ledger until the preview is confirmed.
#[utoipa::path(post, path = "/api/v1/uploads", request_body(content_type = "multipart/form-data", description = "One or more files in fields named files"),
    responses((status = 201, body = Preview), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    form: Multipart,
) -> Result<Response, ApiError> {
    let files = read_files(&state, form)
        .await
        .map_err(|e| e.api(ctx.lang))?;
    let token = uploads::save(&state.db, files, &ctx.actor()).await?;
    let preview = uploads::preview(&state, &token, ctx.lang)
        .await
        .map_err(|e| e.api(ctx.lang))?;
    Ok((StatusCode::CREATED, Json(preview)).into_response())
}

/// The dry run of an upload against the ledger as it is now.
#[utoipa::path(get, path = "/api/v1/uploads/{token}", params(("token" = String, Path)), responses(
    (status = 200, body = Preview), (status = 404, body = ErrorBody)))]
async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(
        uploads::preview(&state, &token, ctx.lang)
            .await
            .map_err(|e| e.api(ctx.lang))?,
    ))
}

/// Confirm an upload: its kept files are imported, each all-or-nothing, if the SHA-256 list
/// matches what was previewed. Confirming again imports nothing twice.
#[utoipa::path(post, path = "/api/v1/uploads/{token}/commit", params(("token" = String, Path)), request_body = Commit, responses(
    (status = 200, body = Committed, description = "Imported; see result.ok and each file's status"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The SHA-256 list is not the previewed files")))]
async fn commit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Json(body): Json<Commit>,
) -> Result<Json<Committed>, ApiError> {
    let result = uploads::commit(&state, &token, &body.sha256, &ctx.audit_actor(), ctx.lang)
        .await
        .map_err(|e| e.api(ctx.lang))?;
    Ok(Json(Committed { token, result }))
}

/// Any report as a file: summary, spend, beneficiaries, contracts, exceptions, history; JSON,
/// CSV (UTF-8 with BOM, opens in Excel) or XLSX.
#[utoipa::path(get, path = "/api/v1/reports/{name}", params(("name" = String, Path, description = "summary, spend, beneficiaries, contracts, exceptions or history"), ReportParams),
    responses((status = 200, description = "The report file"), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn report(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
    Query(q): Query<ReportParams>,
) -> Result<Response, ApiError> {
    let name = ReportName::from_str(&name, true).map_err(|_| {
        WebError::not_found(
            format!("没有名为“{name}”的报表：可选 summary、spend、beneficiaries、contracts、exceptions、history"),
            format!("no report named '{name}': use summary, spend, beneficiaries, contracts, exceptions or history"),
        )
        .api(ctx.lang)
    })?;
    let req = q.request(name, ctx.lang).map_err(|e| e.api(ctx.lang))?;
    let format = q.format(OutputFormat::Json).map_err(|e| e.api(ctx.lang))?;
    report_file(&state, &req, format)
        .await
        .map_err(|e| e.api(ctx.lang))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// First day (China Standard Time), inclusive.
    pub from: Option<String>,
    /// Last day, inclusive (default today).
    pub to: Option<String>,
    /// json (default), csv or xlsx.
    pub format: Option<String>,
}

/// The audit trail as one report (every entry of the days asked for).
pub async fn audit_report(
    state: &AppState,
    q: &AuditParams,
    lang: Lang,
) -> Result<crate::reports::Report, WebError> {
    let from = parse_opt_date("from", q.from.as_deref())?;
    let to = parse_opt_date("to", q.to.as_deref())?.unwrap_or_else(crate::dates::today);
    let (_, entries) = crate::audit::entries(&state.db, from, Some(to), u64::MAX >> 1, 0).await?;
    Ok(crate::reports::audit_trail::report(
        &entries, from, to, lang,
    ))
}

/// Sends a built report as a file.
pub fn send_report(
    report: &crate::reports::Report,
    format: OutputFormat,
) -> Result<Response, WebError> {
    let bytes = writers::write(report, format).map_err(WebError::internal)?;
    let (mime, disposition) = match format {
        OutputFormat::Json => ("application/json; charset=utf-8", "inline"),
        OutputFormat::Csv => ("text/csv; charset=utf-8", "attachment"),
        OutputFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "attachment",
        ),
        OutputFormat::Table => ("text/plain; charset=utf-8", "inline"),
    };
    let file = format!("{}-{}.{}", report.name, report.as_of, format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("{disposition}; filename=\"{file}\""))
                    .map_err(WebError::internal)?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// The audit trail: every write, sign-in and failed sign-in, with who, when and from where.
#[utoipa::path(get, path = "/api/v1/audit", params(AuditParams), responses(
    (status = 200, description = "The audit trail as a report (json, csv or xlsx)"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn audit(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<AuditParams>,
) -> Result<Response, ApiError> {
    let report = audit_report(&state, &q, ctx.lang)
        .await
        .map_err(|e| e.api(ctx.lang))?;
    let format = match q.format.as_deref() {
        None | Some("") | Some("json") => OutputFormat::Json,
        Some("csv") => OutputFormat::Csv,
        Some("xlsx") => OutputFormat::Xlsx,
        Some(f) => {
            return Err(WebError::bad_request(
                format!("不支持的格式“{f}”：可选 csv、xlsx、json"),
                format!("unsupported format '{f}': use csv, xlsx or json"),
            )
            .api(ctx.lang))
        }
    };
    send_report(&report, format).map_err(|e| e.api(ctx.lang))
}
