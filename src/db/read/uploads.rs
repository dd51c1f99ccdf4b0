//! Uploads kept for a preview and not yet confirmed: how many and how large, per account (the
//! quota an upload is held to, and the figures the imports page shows administrators), and
//! the purge of those that expired.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde::Serialize;

use crate::entities::{upload, upload_preview};

/// What one account keeps in unconfirmed previews.
#[derive(Debug, Clone, Default, Serialize, FromQueryResult, PartialEq, Eq)]
pub struct Kept {
    pub account: String,
    /// Uploads (each one or more files) previewed and not confirmed.
    pub previews: i64,
    /// Their files' bytes.
    pub bytes: i64,
}

#[derive(FromQueryResult)]
struct Row {
    account: String,
    token: String,
    bytes: i64,
}

/// Every account's unconfirmed previews, by account name.
pub async fn kept(db: &impl ConnectionTrait) -> Result<Vec<Kept>, DbErr> {
    let rows = upload::Entity::find()
        .select_only()
        .column_as(upload::Column::UploadedBy, "account")
        .column_as(upload::Column::SetToken, "token")
        .column_as(upload::Column::FileSize, "bytes")
        .filter(upload::Column::Status.eq("previewed"))
        .order_by_asc(upload::Column::UploadedBy)
        .order_by_asc(upload::Column::SetToken)
        .into_model::<Row>()
        .all(db)
        .await?;
    // Grouped here rather than in SQL: the rows are few (the quota bounds them) and the
    // count of distinct tokens reads the same on both backends.
    let mut out: Vec<Kept> = Vec::new();
    let mut last_token: Option<String> = None;
    for r in rows {
        if out.last().map(|k| k.account.as_str()) != Some(r.account.as_str()) {
            out.push(Kept {
                account: r.account.clone(),
                ..Default::default()
            });
            last_token = None;
        }
        let k = out.last_mut().expect("pushed above");
        if last_token.as_deref() != Some(r.token.as_str()) {
            k.previews += 1;
            last_token = Some(r.token);
        }
        k.bytes += r.bytes;
    }
    Ok(out)
}

/// One account's unconfirmed previews.
pub async fn kept_by(db: &impl ConnectionTrait, account: &str) -> Result<Kept, DbErr> {
    let all = kept(db).await?;
    Ok(all
        .into_iter()
        .find(|k| k.account == account)
        .unwrap_or_else(|| Kept {
            account: account.to_string(),
            ..Default::default()
        }))
}

/// Drops the previews uploaded before `before` and never confirmed, with their kept checks;
/// returns how many files were dropped. Never a file a batch came from, whatever its status
/// says (a commit cut off after the import but before the status was written leaves it
/// "previewed").
pub async fn purge(db: &impl ConnectionTrait, before: DateTime<Utc>) -> Result<u64, DbErr> {
    let dropped = upload::Entity::delete_many()
        .filter(upload::Column::Status.eq("previewed"))
        .filter(upload::Column::UploadedAt.lt(before))
        .filter(
            upload::Column::Sha256.not_in_subquery(
                Query::select()
                    .column(Alias::new("sha256"))
                    .from(Alias::new("import_batches"))
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?
        .rows_affected;
    // A kept check whose files are gone.
    upload_preview::Entity::delete_many()
        .filter(
            upload_preview::Column::SetToken.not_in_subquery(
                Query::select()
                    .column(upload::Column::SetToken)
                    .from(upload::Entity)
                    .to_owned(),
            ),
        )
        .exec(db)
        .await?;
    Ok(dropped)
}
