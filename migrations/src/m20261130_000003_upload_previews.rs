//! The kept result of an upload's preview: the dry run is computed once, when the files are
//! uploaded, and shown from here on every view, by every server on the database. A check of
//! a million-row file costs seconds and hundreds of megabytes; a view of its kept result
//! costs a read of a few hundred kilobytes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum UploadPreviews {
    Table,
    /// The upload's token (`uploads.set_token`).
    SetToken,
    /// How many import batches the ledger held when the check ran: a preview of a ledger
    /// that has changed since is checked again, once.
    Batches,
    /// The check as JSON, rendered in each language (`{"zh": ..., "en": ...}`), its lists
    /// capped per kind.
    Report,
    ComputedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(UploadPreviews::Table)
                    .col(string_len(UploadPreviews::SetToken, 64).primary_key())
                    .col(big_integer(UploadPreviews::Batches))
                    .col(text(UploadPreviews::Report))
                    .col(timestamp_with_time_zone(UploadPreviews::ComputedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(UploadPreviews::Table).to_owned())
            .await
    }
}
