//! Upload, preview, confirm. Uploaded files are kept in the database as they came (the
//! auditors' source documents, shared by every server on the same database); the preview is
//! a dry run that stores nothing in the ledger; confirming imports exactly the kept bytes,
//! checked against the SHA-256 the preview showed, never a second upload. The pages
//! (`/upload`) and the API (`/api/v1/uploads`) do the same through these functions.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Json};
use chrono::Utc;
use minijinja::context;
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::routes;

use super::auth;
use super::ctx::{CsrfInBody, Ctx};
use super::error::{ApiError, ErrorBody, ErrorCode, OrApi, WebError};
use super::render::{base, import_names, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::{AppState, Quota};
use crate::access::Actor;
use crate::crypto::same;
use crate::db::read::uploads as uploads_read;
use crate::entities::{upload, upload_preview};
use crate::imports::{self, FileStatus, ImportOptions, ImportReport};
use crate::Lang;

/// The upload routes; `body_limit` is the largest multipart body an upload may send.
pub fn router(body_limit: usize) -> Routes {
    let (schemas, paths, api_upload) = routes!(upload_api);
    Routes::new()
        .page(Method::GET, "/upload", auth::FINANCE, get(upload_form))
        .page(
            Method::POST,
            "/upload",
            auth::FINANCE,
            post(upload_page).layer(DefaultBodyLimit::max(body_limit)),
        )
        .page(
            Method::GET,
            "/upload/{token}",
            auth::FINANCE,
            get(preview_page),
        )
        .page(
            Method::POST,
            "/upload/{token}/commit",
            auth::FINANCE,
            post(commit_page),
        )
        .api(
            auth::FINANCE,
            (
                schemas,
                paths,
                api_upload.layer(DefaultBodyLimit::max(body_limit)),
            ),
        )
        .api(auth::FINANCE, routes!(preview_api))
        .api(auth::FINANCE, routes!(commit_api))
}

/// Errors and warnings listed on a page per file; the rest are counted (the API lists the
/// first 1,000 of each kind, and counts them all).
const MAX_LISTED: usize = 1_000;

/// Previewed uploads never confirmed are dropped after this long.
pub const KEEP_UNCONFIRMED: chrono::Duration = chrono::Duration::days(7);

/// One kept file of an upload.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct UploadedFile {
    pub name: String,
    pub size: i64,
    pub sha256: String,
    /// previewed | committed
    pub status: String,
    /// The batch that stored it (or stored the identical file before), once confirmed.
    pub batch_id: Option<i64>,
}

/// What an upload would do: the dry run of its files, in order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Preview {
    /// The upload's address: `/upload/{token}`, `/api/v1/uploads/{token}`.
    pub token: String,
    pub files: Vec<UploadedFile>,
    /// True when every file was confirmed.
    pub committed: bool,
    /// The dry run: what would be new, changed, unchanged; the first 1,000 errors and
    /// warnings of each kind, and how many of each there are (`error_counts`,
    /// `warning_counts`, `error_total`, `warning_total`). Computed when the files are
    /// uploaded and kept; checked again once if the ledger has changed since.
    #[schema(value_type = Object)]
    pub check: serde_json::Value,
}

/// The confirmation: the SHA-256 of every previewed file, in order.
#[derive(Debug, Clone, Deserialize, ToSchema)]
pub struct Commit {
    pub sha256: Vec<String>,
}

/// The result of confirming.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Committed {
    pub token: String,
    #[schema(value_type = Object)]
    pub result: ImportReport,
}

/// The last part of a browser-supplied file name (old browsers send a whole path).
pub fn clean_name(raw: &str) -> String {
    let name = raw.rsplit(['/', '\\']).next().unwrap_or(raw).trim();
    let name: String = name.chars().filter(|c| !c.is_control()).take(200).collect();
    if name.is_empty() {
        "upload".to_string()
    } else {
        name
    }
}

fn new_token() -> String {
    hex::encode(rand::rng().random::<[u8; 16]>())
}

/// Drops the previews that expired (uploaded over [`KEEP_UNCONFIRMED`] ago and never
/// confirmed): abandoned previews are not source documents.
pub async fn purge(db: &sea_orm::DatabaseConnection) -> Result<u64, DbErr> {
    // One transaction: a reader never sees the files gone and their check still kept.
    let txn = db.begin().await?;
    let n = uploads_read::purge(&txn, Utc::now() - KEEP_UNCONFIRMED).await?;
    txn.commit().await?;
    Ok(n)
}

/// Purges expired previews every `every`, for as long as the server runs, so that they go
/// even when nobody uploads.
pub async fn purge_every(db: sea_orm::DatabaseConnection, every: std::time::Duration) {
    let mut tick = tokio::time::interval(every);
    loop {
        tick.tick().await;
        match purge(&db).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "expired previews purged"),
            Err(e) => tracing::warn!(error = %e, "cannot purge expired previews"),
        }
    }
}

/// Refuses a file the guard refuses (not a spreadsheet, crafted, over a limit) before it is
/// kept: there is nothing in it to preview or confirm.
fn refuse_at_once(files: &[(String, Vec<u8>)], limits: &imports::Limits) -> Result<(), WebError> {
    for (name, bytes) in files {
        if let Err(e) = imports::guard::inspect(bytes, limits) {
            return Err(WebError::new(
                ErrorCode::FileRefused,
                format!("{name}：{}；文件没有保存", e.zh()),
                format!("{name}: {e}; the file was not kept"),
            ));
        }
    }
    Ok(())
}

/// Keeps the files of one upload, within the account's quota; returns its token.
pub async fn save(
    db: &sea_orm::DatabaseConnection,
    files: Vec<(String, Vec<u8>)>,
    actor: &str,
    quota: Quota,
) -> Result<String, WebError> {
    let token = new_token();
    let now = Utc::now();
    let txn = db.begin().await?;
    uploads_read::purge(&txn, now - KEEP_UNCONFIRMED).await?;
    let kept = uploads_read::kept_by(&txn, actor).await?;
    let adding: u64 = files.iter().map(|(_, b)| b.len() as u64).sum();
    if kept.previews as u64 + 1 > quota.previews || kept.bytes as u64 + adding > quota.bytes {
        let mb = |b: u64| format!("{:.1} MB", b as f64 / 1_048_576.0);
        return Err(WebError::new(
            ErrorCode::PreviewQuota,
            format!(
                "您已有 {} 个未确认的预览（{}），上限为 {} 个、{}：请确认或等待过期（{} 天）后再上传",
                kept.previews,
                mb(kept.bytes as u64),
                quota.previews,
                mb(quota.bytes),
                KEEP_UNCONFIRMED.num_days()
            ),
            format!(
                "you keep {} unconfirmed previews ({}); the limit is {} and {}: confirm them or let them expire ({} days) before uploading more",
                kept.previews,
                mb(kept.bytes as u64),
                quota.previews,
                mb(quota.bytes),
                KEEP_UNCONFIRMED.num_days()
            ),
        ));
    }
    for (i, (name, bytes)) in files.into_iter().enumerate() {
        upload::ActiveModel {
            set_token: Set(token.clone()),
            position: Set(i as i32),
            file_name: Set(name),
            file_size: Set(bytes.len() as i64),
            sha256: Set(crate::crypto::sha256_hex(&bytes)),
            content: Set(bytes),
            uploaded_by: Set(actor.to_string()),
            uploaded_at: Set(now),
            status: Set("previewed".into()),
            batch_id: Set(None),
            committed_at: Set(None),
            ..Default::default()
        }
        .insert(&txn)
        .await?;
    }
    txn.commit().await?;
    Ok(token)
}

fn not_found(token: &str) -> WebError {
    WebError::not_found(
        format!("没有找到这次上传（{token}）：可能已过期，请重新上传"),
        format!("no such upload ({token}): it may have expired; please upload again"),
    )
}

/// The kept files with their content, each checked against its recorded hash.
async fn load(db: &impl ConnectionTrait, token: &str) -> Result<Vec<upload::Model>, WebError> {
    let rows = upload::Entity::find()
        .filter(upload::Column::SetToken.eq(token))
        .order_by_asc(upload::Column::Position)
        .all(db)
        .await?;
    if rows.is_empty() {
        return Err(not_found(token));
    }
    for r in &rows {
        if crate::crypto::sha256_hex(&r.content) != r.sha256 {
            return Err(WebError::internal(format!(
                "kept upload {} ({}) no longer matches its SHA-256",
                r.id, r.file_name
            )));
        }
    }
    Ok(rows)
}

fn options(state: &AppState, lang: Lang, who: &Actor, dry_run: bool) -> ImportOptions {
    ImportOptions {
        dry_run,
        kind: None,
        lang,
        limits: state.config.limits.clone(),
        actor: who.name.clone(),
        address: who.address.clone(),
        // The upload keeps the file itself.
        keep_original: false,
        evaluations: crate::evaluations::Settings::current(),
    }
}

/// Imports (or checks) kept files in their order.
async fn run(
    state: &AppState,
    rows: Vec<upload::Model>,
    opts: &ImportOptions,
) -> Result<ImportReport, WebError> {
    let files = rows.into_iter().map(|r| (r.file_name, r.content)).collect();
    // A check writes too (into a transaction it rolls back), so it holds SQLite's write lock
    // as long as an import: both take the turn alone, and other writes wait for them.
    let _alone = state.writes.exclusive().await;
    imports::import_bytes(&state.db, files, opts, None)
        .await
        .map_err(WebError::internal)
}

/// An upload's files without their content.
#[derive(Debug, sea_orm::FromQueryResult)]
struct FileRow {
    file_name: String,
    file_size: i64,
    sha256: String,
    status: String,
    batch_id: Option<i64>,
}

/// A check as kept: rendered in each language, so that any reader's is served from it.
fn rendered(report: ImportReport) -> Result<String, WebError> {
    let mut out = serde_json::Map::new();
    let mut report = report;
    for (lang, key) in [(Lang::Zh, "zh"), (Lang::En, "en")] {
        report.lang = lang;
        out.insert(
            key.into(),
            serde_json::to_value(&report).map_err(WebError::internal)?,
        );
    }
    serde_json::to_string(&out).map_err(WebError::internal)
}

fn lang_key(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

/// Checks a kept upload against the ledger as it is now, and keeps the result.
async fn check(state: &AppState, token: &str, batches: i64) -> Result<String, WebError> {
    let rows = load(&state.db, token).await?;
    let nobody = Actor {
        name: "preview".into(),
        address: None,
    };
    let report = run(state, rows, &options(state, Lang::Zh, &nobody, true)).await?;
    let report = rendered(report)?;
    use sea_orm::sea_query::OnConflict;
    upload_preview::Entity::insert(upload_preview::ActiveModel {
        set_token: Set(token.to_string()),
        batches: Set(batches),
        report: Set(report.clone()),
        computed_at: Set(Utc::now()),
    })
    .on_conflict(
        OnConflict::column(upload_preview::Column::SetToken)
            .update_columns([
                upload_preview::Column::Batches,
                upload_preview::Column::Report,
                upload_preview::Column::ComputedAt,
            ])
            .to_owned(),
    )
    .exec(&state.db)
    .await?;
    Ok(report)
}

/// The dry run of a kept upload: the check kept when it was uploaded, or, when the ledger
/// has changed since (its batch count differs), the check run again once and kept anew.
pub async fn preview(state: &AppState, token: &str, lang: Lang) -> Result<Preview, WebError> {
    let rows = upload::Entity::find()
        .select_only()
        .columns([
            upload::Column::FileName,
            upload::Column::FileSize,
            upload::Column::Sha256,
            upload::Column::Status,
            upload::Column::BatchId,
        ])
        .filter(upload::Column::SetToken.eq(token))
        .order_by_asc(upload::Column::Position)
        .into_model::<FileRow>()
        .all(&state.db)
        .await?;
    if rows.is_empty() {
        return Err(not_found(token));
    }
    let committed = rows.iter().all(|r| r.status == "committed");
    let files = rows
        .into_iter()
        .map(|r| UploadedFile {
            name: r.file_name,
            size: r.file_size,
            sha256: r.sha256,
            status: r.status,
            batch_id: r.batch_id,
        })
        .collect();
    let batches = crate::db::read::batches::count(&state.db).await?;
    let kept = upload_preview::Entity::find_by_id(token.to_string())
        .one(&state.db)
        .await?
        .filter(|k| k.batches == batches);
    let report = match kept {
        Some(k) => k.report,
        None => check(state, token, batches).await?,
    };
    let mut all: serde_json::Value = serde_json::from_str(&report).map_err(WebError::internal)?;
    let check = all[lang_key(lang)].take();
    Ok(Preview {
        token: token.to_string(),
        files,
        committed,
        check,
    })
}

/// Imports the kept files of an upload, if they are the ones the preview showed.
pub async fn commit(
    state: &AppState,
    token: &str,
    confirmed: &[String],
    who: &Actor,
    lang: Lang,
) -> Result<ImportReport, WebError> {
    let rows = load(&state.db, token).await?;
    let kept: Vec<&str> = rows.iter().map(|r| r.sha256.as_str()).collect();
    let confirmed: Vec<String> = confirmed.iter().map(|s| s.trim().to_lowercase()).collect();
    if kept != confirmed {
        return Err(ErrorCode::PreviewMismatch.into());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let report = run(state, rows, &options(state, lang, who, false)).await?;
    let now = Utc::now();
    for (id, file) in ids.into_iter().zip(&report.files) {
        if matches!(file.status, FileStatus::Stored | FileStatus::Unchanged) {
            upload::ActiveModel {
                id: Set(id),
                status: Set("committed".into()),
                batch_id: Set(file.batch_id.or(file.identical_to_batch)),
                committed_at: Set(Some(now)),
                ..Default::default()
            }
            .update(&state.db)
            .await?;
        }
    }
    if let Err(e) = state.cache.invalidate(&state.db).await {
        tracing::warn!(error = %e, "cannot read the ledger state after an import");
    }
    Ok(report)
}

/// Reads the files of a multipart upload (fields named `files`, or any file field).
async fn read_files(
    state: &AppState,
    mut form: Multipart,
    mut csrf: Option<CsrfInBody>,
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
        if let Some(CsrfInBody(expected)) = &csrf {
            // The token must come before any file: no file is read for a forged form.
            let shown = match field.name() {
                Some("csrf") => field.text().await.ok(),
                _ => None,
            };
            if !shown.is_some_and(|t| same(&t, expected)) {
                return Err(ErrorCode::Csrf.into());
            }
            csrf = None;
            continue;
        }
        let Some(name) = field.file_name().map(clean_name) else {
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
    responses((status = 201, body = Preview), (status = 400, body = ErrorBody, description = "Unreadable form, or a file refused at once (file_refused), not kept"),
        (status = 413, body = ErrorBody), (status = 429, body = ErrorBody, description = "The account keeps too many unconfirmed previews or bytes (preview_quota)")))]
async fn upload_api(
    State(state): State<AppState>,
    ctx: Ctx,
    csrf: Option<Extension<CsrfInBody>>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let files = read_files(&state, form, csrf.map(|e| e.0))
        .await
        .or_api(ctx.lang)?;
    refuse_at_once(&files, &state.config.limits).or_api(ctx.lang)?;
    let token = save(&state.db, files, &ctx.actor(), state.config.preview_quota)
        .await
        .or_api(ctx.lang)?;
    let preview = preview(&state, &token, ctx.lang).await.or_api(ctx.lang)?;
    Ok((StatusCode::CREATED, Json(preview)).into_response())
}

/// The dry run of an upload against the ledger as it is now.
#[utoipa::path(get, path = "/api/v1/uploads/{token}", params(("token" = String, Path)), responses(
    (status = 200, body = Preview), (status = 404, body = ErrorBody)))]
async fn preview_api(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(
        preview(&state, &token, ctx.lang).await.or_api(ctx.lang)?,
    ))
}

/// Confirm an upload: its kept files are imported, each all-or-nothing, if the SHA-256 list
/// matches what was previewed. Confirming again imports nothing twice.
#[utoipa::path(post, path = "/api/v1/uploads/{token}/commit", params(("token" = String, Path)), request_body = Commit, responses(
    (status = 200, body = Committed, description = "Imported; see result.ok and each file's status"),
    (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "The SHA-256 list is not the previewed files")))]
async fn commit_api(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    Json(body): Json<Commit>,
) -> Result<Json<Committed>, ApiError> {
    let result = commit(&state, &token, &body.sha256, &ctx.audit_actor(), ctx.lang)
        .await
        .or_api(ctx.lang)?;
    Ok(Json(Committed { token, result }))
}

async fn upload_form(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    page(
        &ctx,
        "upload.html",
        context! {
            nav => "upload",
            limit_mb => state.config.max_upload_bytes / (1 << 20),
            quota_previews => state.config.preview_quota.previews,
            quota_mb => state.config.preview_quota.bytes >> 20, ..base(&ctx)
        },
    )
}

async fn upload_page(
    State(state): State<AppState>,
    ctx: Ctx,
    csrf: Option<Extension<CsrfInBody>>,
    form: Multipart,
) -> PageResult {
    let files = read_files(&state, form, csrf.map(|e| e.0))
        .await
        .or_page(&ctx)?;
    refuse_at_once(&files, &state.config.limits).or_page(&ctx)?;
    let token = save(&state.db, files, &ctx.actor(), state.config.preview_quota)
        .await
        .or_page(&ctx)?;
    Ok(Redirect::to(&format!("/upload/{token}")).into_response())
}

/// The import report as the preview template reads it: lists capped.
fn report_view(mut v: serde_json::Value) -> serde_json::Value {
    if let Some(files) = v["files"].as_array_mut() {
        for f in files.iter_mut() {
            for list in ["errors", "warnings"] {
                if let Some(a) = f[list].as_array_mut() {
                    a.truncate(MAX_LISTED);
                }
            }
        }
    }
    v
}

async fn preview_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> PageResult {
    let p = preview(&state, &token, ctx.lang).await.or_page(&ctx)?;
    let (status_names, kind_names) = import_names(ctx.lang);
    page(
        &ctx,
        "preview.html",
        context! {
            nav => "upload",
            result => false, token, committed => p.committed, files => v(p.files),
            r => v(report_view(p.check)), status_names => v(status_names), kind_names => v(kind_names), ..base(&ctx)
        },
    )
}

async fn commit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    body: Bytes,
) -> PageResult {
    let sha256: Vec<String> = url::form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "sha256")
        .map(|(_, v)| v.into_owned())
        .collect();
    let report = commit(&state, &token, &sha256, &ctx.audit_actor(), ctx.lang)
        .await
        .or_page(&ctx)?;
    let (status_names, kind_names) = import_names(ctx.lang);
    page(
        &ctx,
        "preview.html",
        context! {
            nav => "upload",
            result => true, token, r => v(report_view(serde_json::to_value(&report).unwrap_or_default())), status_names => v(status_names), kind_names => v(kind_names), ..base(&ctx)
        },
    )
}
