//! Files uploaded through the web: kept byte for byte, because they are the auditors' source
//! documents, and because what an officer confirms must be exactly the file they previewed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Uploads {
    Table,
    Id,
    /// Random, unguessable: the preview's address.
    SetToken,
    /// Order of the file within its upload (later files may pay against earlier ones).
    Position,
    FileName,
    FileSize,
    Sha256,
    Content,
    UploadedBy,
    UploadedAt,
    /// previewed | committed
    Status,
    BatchId,
    CommittedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Uploads::Table)
                    .col(big_pk_auto(Uploads::Id))
                    .col(string_len(Uploads::SetToken, 64))
                    .col(integer(Uploads::Position))
                    .col(text(Uploads::FileName))
                    .col(big_integer(Uploads::FileSize))
                    .col(string_len(Uploads::Sha256, 64))
                    .col(blob(Uploads::Content))
                    .col(string(Uploads::UploadedBy))
                    .col(timestamp_with_time_zone(Uploads::UploadedAt))
                    .col(string(Uploads::Status))
                    .col(big_integer_null(Uploads::BatchId))
                    .col(timestamp_with_time_zone_null(Uploads::CommittedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Uploads::Table, Uploads::BatchId)
                            .to(Alias::new("import_batches"), Alias::new("id")),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uploads_set_position")
                    .table(Uploads::Table)
                    .col(Uploads::SetToken)
                    .col(Uploads::Position)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The original of a batch is found by the file's hash.
        manager
            .create_index(
                Index::create()
                    .name("uploads_sha256")
                    .table(Uploads::Table)
                    .col(Uploads::Sha256)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Uploads::Table).to_owned())
            .await
    }
}
