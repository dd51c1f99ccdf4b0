//! Upload, preview, confirm. Uploaded files are kept in the database as they came (the
//! auditors' source documents, shared by every server on the same database); the preview is
//! a dry run that stores nothing in the ledger; confirming imports exactly the kept bytes,
//! checked against the SHA-256 the preview showed, never a second upload.

use chrono::Utc;
use rand::Rng;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set, TransactionTrait,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::WebError;
use super::AppState;
use crate::access::Actor;
use crate::entities::upload;
use crate::imports::{self, FileStatus, ImportOptions, ImportReport};
use crate::Lang;

/// Previewed uploads never confirmed are dropped after this long.
const KEEP_UNCONFIRMED: chrono::Duration = chrono::Duration::days(7);

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
    /// The dry run: what would be new, changed, unchanged; every error and warning.
    #[schema(value_type = Object)]
    pub check: ImportReport,
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

/// Keeps the files of one upload; returns its token.
pub async fn save(
    db: &sea_orm::DatabaseConnection,
    files: Vec<(String, Vec<u8>)>,
    actor: &str,
) -> Result<String, DbErr> {
    let token = new_token();
    let now = Utc::now();
    let txn = db.begin().await?;
    // Abandoned previews are not source documents; only confirmed files are kept for good.
    // Never a file a batch came from, whatever its status says (a commit cut off after the
    // import but before the status was written leaves it "previewed").
    upload::Entity::delete_many()
        .filter(upload::Column::Status.eq("previewed"))
        .filter(upload::Column::UploadedAt.lt(now - KEEP_UNCONFIRMED))
        .filter(
            upload::Column::Sha256.not_in_subquery(
                sea_orm::sea_query::Query::select()
                    .column(sea_orm::sea_query::Alias::new("sha256"))
                    .from(sea_orm::sea_query::Alias::new("import_batches"))
                    .to_owned(),
            ),
        )
        .exec(&txn)
        .await?;
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
    }
}

/// Imports (or checks) kept files in their order.
async fn run(
    state: &AppState,
    rows: Vec<upload::Model>,
    opts: &ImportOptions,
) -> Result<ImportReport, WebError> {
    let files = rows.into_iter().map(|r| (r.file_name, r.content)).collect();
    imports::import_bytes(&state.db, files, opts, None)
        .await
        .map_err(WebError::internal)
}

/// The dry run of a kept upload against the ledger as it is now.
pub async fn preview(state: &AppState, token: &str, lang: Lang) -> Result<Preview, WebError> {
    let rows = load(&state.db, token).await?;
    let committed = rows.iter().all(|r| r.status == "committed");
    let files = rows
        .iter()
        .map(|r| UploadedFile {
            name: r.file_name.clone(),
            size: r.file_size,
            sha256: r.sha256.clone(),
            status: r.status.clone(),
            batch_id: r.batch_id,
        })
        .collect();
    let nobody = Actor {
        name: "preview".into(),
        address: None,
    };
    let check = run(state, rows, &options(state, lang, &nobody, true)).await?;
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
        return Err(WebError::new(
            axum::http::StatusCode::CONFLICT,
            "preview_mismatch",
            "确认的文件与预览的文件不一致（SHA-256 不同），没有导入任何内容。请重新预览后再确认。",
            "the files confirmed are not the files previewed (their SHA-256 differ); nothing was imported. Preview again, then confirm.",
        ));
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
