//! Performance evaluations (绩效评价): one row per evaluation of a contract, append-only like
//! the payments. A recorded evaluation is never edited; a correction is a new row naming the
//! one it replaces (`replaces_id`), so the history keeps both. Guarded as
//! m20261130_000002_append_only guards the payments: UPDATE and DELETE triggers on both
//! backends, TRUNCATE on PostgreSQL, and on SQLite a BEFORE INSERT trigger against a REPLACE
//! that would delete a row in the way.
//!
//! The score is kept as hundredths of a point (BIGINT), exact on both backends.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Evaluations {
    Table,
    Id,
    ContractId,
    /// `interim`, `final` or `annual`.
    Kind,
    Evaluator,
    EvaluatorUscc,
    EvaluatedOn,
    ScoreCenti,
    /// `excellent`, `good`, `pass` or `fail`.
    Grade,
    Findings,
    Fixes,
    FixedOn,
    /// The evaluation this one corrects.
    ReplacesId,
    /// 0 for an evaluation as first recorded, one more than the replaced one's for a
    /// correction: (contract, type, date, revision) is unique, so a correction may keep the
    /// date of the evaluation it corrects.
    Revision,
    BatchId,
    SourceSheet,
    SourceRow,
}

#[derive(DeriveIden)]
enum Contracts {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum ImportBatches {
    Table,
    Id,
}

const REPLACE_GUARD: &str = "id = NEW.id OR (contract_id = NEW.contract_id AND kind = NEW.kind \
     AND evaluated_on = NEW.evaluated_on AND revision = NEW.revision)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Evaluations::Table)
                    .col(big_pk_auto(Evaluations::Id))
                    .col(big_integer(Evaluations::ContractId))
                    .col(string_len(Evaluations::Kind, 16))
                    .col(text_null(Evaluations::Evaluator))
                    .col(string_len_null(Evaluations::EvaluatorUscc, 18))
                    .col(date(Evaluations::EvaluatedOn))
                    .col(big_integer(Evaluations::ScoreCenti))
                    .col(string_len(Evaluations::Grade, 16))
                    .col(text_null(Evaluations::Findings))
                    .col(text_null(Evaluations::Fixes))
                    .col(date_null(Evaluations::FixedOn))
                    .col(big_integer_null(Evaluations::ReplacesId))
                    .col(big_integer(Evaluations::Revision))
                    .col(big_integer(Evaluations::BatchId))
                    .col(text(Evaluations::SourceSheet))
                    .col(big_integer(Evaluations::SourceRow))
                    .check(Expr::col(Evaluations::ScoreCenti).between(0, 10_000))
                    .foreign_key(
                        ForeignKey::create()
                            .name("evaluations_contract_fk")
                            .from(Evaluations::Table, Evaluations::ContractId)
                            .to(Contracts::Table, Contracts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("evaluations_replaces_fk")
                            .from(Evaluations::Table, Evaluations::ReplacesId)
                            .to(Evaluations::Table, Evaluations::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("evaluations_batch_fk")
                            .from(Evaluations::Table, Evaluations::BatchId)
                            .to(ImportBatches::Table, ImportBatches::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("evaluations_identity_unique")
                    .table(Evaluations::Table)
                    .col(Evaluations::ContractId)
                    .col(Evaluations::Kind)
                    .col(Evaluations::EvaluatedOn)
                    .col(Evaluations::Revision)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // One correction per evaluation: a second would leave two standing.
        manager
            .create_index(
                Index::create()
                    .name("evaluations_replaces_unique")
                    .table(Evaluations::Table)
                    .col(Evaluations::ReplacesId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                // procure_append_only() was created with the ledger's history triggers.
                db.execute_unprepared(
                    "CREATE TRIGGER evaluations_append_only BEFORE UPDATE OR DELETE ON evaluations \
                     FOR EACH ROW EXECUTE FUNCTION procure_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER evaluations_no_truncate BEFORE TRUNCATE ON evaluations \
                     FOR EACH STATEMENT EXECUTE FUNCTION procure_append_only()",
                )
                .await?;
            }
            _ => {
                for op in ["update", "delete"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER evaluations_no_{op} BEFORE {} ON evaluations \
                         BEGIN SELECT RAISE(ABORT, 'evaluations is append-only: {} refused'); END",
                        op.to_uppercase(),
                        op.to_uppercase()
                    ))
                    .await?;
                }
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER evaluations_no_replace BEFORE INSERT ON evaluations \
                     WHEN EXISTS (SELECT 1 FROM evaluations WHERE {REPLACE_GUARD}) \
                     BEGIN SELECT RAISE(ABORT, 'evaluations is append-only: an insert that would \
                     replace an existing row refused'); END"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // The triggers go with the table.
        manager
            .drop_table(Table::drop().table(Evaluations::Table).to_owned())
            .await
    }
}
