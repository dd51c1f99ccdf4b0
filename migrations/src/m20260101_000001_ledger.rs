//! The ledger: providers, contracts, disbursements, service reports, import batches and the
//! append-only change history. Every amount is BIGINT fen (DOMAIN.md: Decimal columns are
//! REAL on SQLite and lose digits).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ImportBatches {
    Table,
    Id,
    FileName,
    FileSize,
    Sha256,
    Kind,
    Actor,
    RecordedAt,
    RowsRead,
    Inserted,
    Updated,
    Unchanged,
    Warnings,
    Status,
}

#[derive(DeriveIden)]
enum Providers {
    Table,
    Id,
    Name,
    Uscc,
    BatchId,
    SourceSheet,
    SourceRow,
}

#[derive(DeriveIden)]
enum Contracts {
    Table,
    Id,
    Code,
    Title,
    Category,
    ProviderId,
    ProviderName,
    Purchaser,
    Street,
    Community,
    Method,
    Funding,
    ValueFen,
    SignedOn,
    StartOn,
    EndOn,
    TargetPeople,
    Status,
    BatchId,
    SourceSheet,
    SourceRow,
    UpdatedBatchId,
}

#[derive(DeriveIden)]
enum Disbursements {
    Table,
    Id,
    ContractId,
    PaidOn,
    AmountFen,
    Voucher,
    Tranche,
    Note,
    ReversesId,
    BatchId,
    SourceSheet,
    SourceRow,
}

#[derive(DeriveIden)]
enum ServiceReports {
    Table,
    Id,
    ContractId,
    PeriodStart,
    PeriodEnd,
    PeriodLabel,
    NewPeople,
    CumulativePeople,
    Sessions,
    BatchId,
    SourceSheet,
    SourceRow,
}

#[derive(DeriveIden)]
enum ChangeHistory {
    Table,
    Id,
    BatchId,
    Entity,
    RecordId,
    RecordKey,
    Field,
    OldValue,
    NewValue,
    Actor,
    ChangedAt,
}

fn fk_batch<T: IntoIden + 'static>(table: T, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(ImportBatches::Table, ImportBatches::Id)
        .to_owned()
}

/// Rejecting UPDATE and DELETE in the database itself: a recorded payment is never edited
/// (DOMAIN.md), and the history is append-only whatever program touches the file.
const APPEND_ONLY: [&str; 2] = ["disbursements", "change_history"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ImportBatches::Table)
                    .col(big_pk_auto(ImportBatches::Id))
                    .col(text(ImportBatches::FileName))
                    .col(big_integer(ImportBatches::FileSize))
                    .col(string_len(ImportBatches::Sha256, 64))
                    .col(string(ImportBatches::Kind))
                    .col(string(ImportBatches::Actor))
                    .col(timestamp_with_time_zone(ImportBatches::RecordedAt))
                    .col(big_integer(ImportBatches::RowsRead))
                    .col(big_integer(ImportBatches::Inserted))
                    .col(big_integer(ImportBatches::Updated))
                    .col(big_integer(ImportBatches::Unchanged))
                    .col(big_integer(ImportBatches::Warnings))
                    .col(string(ImportBatches::Status))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("import_batches_sha256")
                    .table(ImportBatches::Table)
                    .col(ImportBatches::Sha256)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Providers::Table)
                    .col(big_pk_auto(Providers::Id))
                    .col(text(Providers::Name))
                    .col(string_len_null(Providers::Uscc, 18))
                    .col(big_integer(Providers::BatchId))
                    .col(text(Providers::SourceSheet))
                    .col(big_integer(Providers::SourceRow))
                    .foreign_key(&mut fk_batch(Providers::Table, Providers::BatchId))
                    .to_owned(),
            )
            .await?;
        // A USCC identifies one organisation; NULLs (no code in the register) may repeat.
        manager
            .create_index(
                Index::create()
                    .name("providers_uscc_unique")
                    .table(Providers::Table)
                    .col(Providers::Uscc)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("providers_name")
                    .table(Providers::Table)
                    .col(Providers::Name)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(Contracts::Table)
                    .col(big_pk_auto(Contracts::Id))
                    .col(string(Contracts::Code))
                    .col(text(Contracts::Title))
                    .col(string(Contracts::Category))
                    .col(big_integer(Contracts::ProviderId))
                    .col(text(Contracts::ProviderName))
                    .col(text_null(Contracts::Purchaser))
                    .col(text_null(Contracts::Street))
                    .col(text_null(Contracts::Community))
                    .col(string_null(Contracts::Method))
                    .col(string_null(Contracts::Funding))
                    .col(big_integer(Contracts::ValueFen))
                    .col(date_null(Contracts::SignedOn))
                    .col(date(Contracts::StartOn))
                    .col(date(Contracts::EndOn))
                    .col(big_integer_null(Contracts::TargetPeople))
                    .col(string(Contracts::Status))
                    .col(big_integer(Contracts::BatchId))
                    .col(text(Contracts::SourceSheet))
                    .col(big_integer(Contracts::SourceRow))
                    .col(big_integer(Contracts::UpdatedBatchId))
                    .foreign_key(
                        ForeignKey::create()
                            .name("contracts_provider_fk")
                            .from(Contracts::Table, Contracts::ProviderId)
                            .to(Providers::Table, Providers::Id),
                    )
                    .foreign_key(&mut fk_batch(Contracts::Table, Contracts::BatchId))
                    .foreign_key(&mut fk_batch(Contracts::Table, Contracts::UpdatedBatchId))
                    .to_owned(),
            )
            .await?;
        for (name, col, unique) in [
            ("contracts_code_unique", Contracts::Code, true),
            ("contracts_provider", Contracts::ProviderId, false),
            ("contracts_category", Contracts::Category, false),
        ] {
            let mut idx = Index::create();
            idx.name(name).table(Contracts::Table).col(col);
            if unique {
                idx.unique();
            }
            manager.create_index(idx.to_owned()).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table(Disbursements::Table)
                    .col(big_pk_auto(Disbursements::Id))
                    .col(big_integer(Disbursements::ContractId))
                    .col(date(Disbursements::PaidOn))
                    .col(big_integer(Disbursements::AmountFen))
                    .col(string(Disbursements::Voucher))
                    .col(string_null(Disbursements::Tranche))
                    .col(text_null(Disbursements::Note))
                    .col(big_integer_null(Disbursements::ReversesId))
                    .col(big_integer(Disbursements::BatchId))
                    .col(text(Disbursements::SourceSheet))
                    .col(big_integer(Disbursements::SourceRow))
                    .foreign_key(
                        ForeignKey::create()
                            .name("disbursements_contract_fk")
                            .from(Disbursements::Table, Disbursements::ContractId)
                            .to(Contracts::Table, Contracts::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("disbursements_reverses_fk")
                            .from(Disbursements::Table, Disbursements::ReversesId)
                            .to(Disbursements::Table, Disbursements::Id),
                    )
                    .foreign_key(&mut fk_batch(Disbursements::Table, Disbursements::BatchId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("disbursements_contract_voucher_unique")
                    .table(Disbursements::Table)
                    .col(Disbursements::ContractId)
                    .col(Disbursements::Voucher)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("disbursements_paid_on")
                    .table(Disbursements::Table)
                    .col(Disbursements::PaidOn)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("disbursements_batch")
                    .table(Disbursements::Table)
                    .col(Disbursements::BatchId)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ServiceReports::Table)
                    .col(big_pk_auto(ServiceReports::Id))
                    .col(big_integer(ServiceReports::ContractId))
                    .col(date(ServiceReports::PeriodStart))
                    .col(date(ServiceReports::PeriodEnd))
                    .col(string(ServiceReports::PeriodLabel))
                    .col(big_integer_null(ServiceReports::NewPeople))
                    .col(big_integer_null(ServiceReports::CumulativePeople))
                    .col(big_integer_null(ServiceReports::Sessions))
                    .col(big_integer(ServiceReports::BatchId))
                    .col(text(ServiceReports::SourceSheet))
                    .col(big_integer(ServiceReports::SourceRow))
                    .foreign_key(
                        ForeignKey::create()
                            .name("service_reports_contract_fk")
                            .from(ServiceReports::Table, ServiceReports::ContractId)
                            .to(Contracts::Table, Contracts::Id),
                    )
                    .foreign_key(&mut fk_batch(
                        ServiceReports::Table,
                        ServiceReports::BatchId,
                    ))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_reports_contract_period_unique")
                    .table(ServiceReports::Table)
                    .col(ServiceReports::ContractId)
                    .col(ServiceReports::PeriodStart)
                    .col(ServiceReports::PeriodEnd)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("service_reports_period_end")
                    .table(ServiceReports::Table)
                    .col(ServiceReports::PeriodEnd)
                    .to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table(ChangeHistory::Table)
                    .col(big_pk_auto(ChangeHistory::Id))
                    .col(big_integer_null(ChangeHistory::BatchId))
                    .col(string(ChangeHistory::Entity))
                    .col(big_integer(ChangeHistory::RecordId))
                    .col(string(ChangeHistory::RecordKey))
                    .col(string(ChangeHistory::Field))
                    .col(text_null(ChangeHistory::OldValue))
                    .col(text_null(ChangeHistory::NewValue))
                    .col(string(ChangeHistory::Actor))
                    .col(timestamp_with_time_zone(ChangeHistory::ChangedAt))
                    .foreign_key(&mut fk_batch(ChangeHistory::Table, ChangeHistory::BatchId))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("change_history_record")
                    .table(ChangeHistory::Table)
                    .col(ChangeHistory::Entity)
                    .col(ChangeHistory::RecordId)
                    .to_owned(),
            )
            .await?;

        let db = manager.get_connection();
        match db.get_database_backend() {
            DbBackend::Postgres => {
                db.execute_unprepared(
                    "CREATE FUNCTION procure_append_only() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP; END; \
                     $$ LANGUAGE plpgsql",
                )
                .await?;
                for t in APPEND_ONLY {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} \
                         FOR EACH ROW EXECUTE FUNCTION procure_append_only()"
                    ))
                    .await?;
                }
            }
            _ => {
                for t in APPEND_ONLY {
                    for op in ["UPDATE", "DELETE"] {
                        db.execute_unprepared(&format!(
                            "CREATE TRIGGER {t}_no_{op} BEFORE {op} ON {t} \
                             BEGIN SELECT RAISE(ABORT, '{t} is append-only: {op} refused'); END",
                            op = op.to_lowercase()
                        ))
                        .await?;
                    }
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            "change_history",
            "service_reports",
            "disbursements",
            "contracts",
            "providers",
            "import_batches",
        ] {
            manager
                .drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        if manager.get_database_backend() == DbBackend::Postgres {
            manager
                .get_connection()
                .execute_unprepared("DROP FUNCTION IF EXISTS procure_append_only()")
                .await?;
        }
        Ok(())
    }
}
