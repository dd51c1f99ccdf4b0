//! Import attempts, one row each: who started which file in which process, and how it ended.
//! Crash recovery reads this table to find imports whose process is gone without an end; the
//! audit trail keeps its own start and end records for the auditors, and nothing parses them.
//!
//! The start is written in a transaction of its own before the import's, so it survives the
//! import's rollback or a killed process. The end is written once: an attempt that has ended
//! cannot change, and no attempt can be deleted, in the database itself.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportAttempts {
    Table,
    /// A random key, also named in the audit records of the attempt ("attempt {id}").
    Id,
    FileName,
    FileSize,
    Sha256,
    /// Who imports and from where, as the audit trail records them.
    Actor,
    Address,
    /// The process that runs the import: its host, its pid, the boot it runs in and its start
    /// time in clock ticks since boot (none without /proc). Together they tell a live process
    /// from a later one given the same pid.
    Host,
    Pid,
    BootId,
    ProcessStart,
    StartedAt,
    EndedAt,
    /// committed | unchanged | rejected | failed | interrupted; none while it runs.
    Outcome,
    /// The batch a committed attempt stored.
    BatchId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportAttempts::Table)
                    .col(string_len(ImportAttempts::Id, 32).primary_key())
                    .col(string(ImportAttempts::FileName))
                    .col(big_integer(ImportAttempts::FileSize))
                    .col(string_len(ImportAttempts::Sha256, 64))
                    .col(string(ImportAttempts::Actor))
                    .col(string_null(ImportAttempts::Address))
                    .col(string(ImportAttempts::Host))
                    .col(big_integer(ImportAttempts::Pid))
                    .col(string(ImportAttempts::BootId))
                    .col(big_integer_null(ImportAttempts::ProcessStart))
                    .col(timestamp_with_time_zone(ImportAttempts::StartedAt))
                    .col(timestamp_with_time_zone_null(ImportAttempts::EndedAt))
                    .col(string_len_null(ImportAttempts::Outcome, 16))
                    .col(big_integer_null(ImportAttempts::BatchId))
                    .to_owned(),
            )
            .await?;
        // Recovery looks for this host's attempts that have not ended.
        manager
            .create_index(
                Index::create()
                    .name("import_attempts_open")
                    .table(ImportAttempts::Table)
                    .col(ImportAttempts::EndedAt)
                    .col(ImportAttempts::Host)
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION procure_import_attempt_ended() RETURNS trigger AS $$ \
                     BEGIN \
                         IF TG_OP = 'DELETE' THEN \
                             RAISE EXCEPTION 'import_attempts is append-only: DELETE refused'; \
                         END IF; \
                         IF OLD.ended_at IS NOT NULL THEN \
                             RAISE EXCEPTION 'import attempt % has ended: it cannot change', OLD.id; \
                         END IF; \
                         RETURN NEW; \
                     END; $$ LANGUAGE plpgsql",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER import_attempts_ended_once BEFORE UPDATE OR DELETE ON import_attempts \
                     FOR EACH ROW EXECUTE FUNCTION procure_import_attempt_ended()",
                )
                .await?;
                // procure_append_only() was created with the ledger's history triggers.
                db.execute_unprepared(
                    "CREATE TRIGGER import_attempts_no_truncate BEFORE TRUNCATE ON import_attempts \
                     FOR EACH STATEMENT EXECUTE FUNCTION procure_append_only()",
                )
                .await?;
            }
            _ => {
                db.execute_unprepared(
                    "CREATE TRIGGER import_attempts_ended_once BEFORE UPDATE ON import_attempts \
                     WHEN OLD.ended_at IS NOT NULL \
                     BEGIN SELECT RAISE(ABORT, 'an import attempt that has ended cannot change'); END",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER import_attempts_no_delete BEFORE DELETE ON import_attempts \
                     BEGIN SELECT RAISE(ABORT, 'import_attempts is append-only: delete refused'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ImportAttempts::Table).to_owned())
            .await?;
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS procure_import_attempt_ended()")
                .await?;
        }
        Ok(())
    }
}
