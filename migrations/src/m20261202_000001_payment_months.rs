//! Payments summed per contract, month and batch, so that a report as of any date costs
//! contracts × months, not payments: the months before the date's own are read from here,
//! and only the date's own month from the payments themselves (through `disbursements_paid_on`).
//!
//! - Keyed by batch, so a report as recorded on a day sums only the batches recorded by then,
//!   exactly as it filters the payments.
//! - Written by the import in the transaction that writes the payments, once per batch, and
//!   append-only like the rows it sums: the same guards as `disbursements` (no UPDATE, DELETE
//!   or TRUNCATE; on SQLite no insert that would replace a row).
//! - Built here for a ledger that already has payments (`procure migrate`).
//! - No foreign keys: a row exists only beside the payments it sums, which already keep their
//!   contract and batch from being deleted or renumbered (the bulk checks); a key here would
//!   only add a second check to every import.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PaymentMonths {
    Table,
    Id,
    ContractId,
    /// `YYYY-MM`, the month of `paid_on`: compared as text, like the reports' months.
    Month,
    BatchId,
    /// The sum of the month's payments of this contract in this batch (reversals negative).
    AmountFen,
    /// How many payments.
    Payments,
    /// The latest `paid_on` among them.
    LastPaidOn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PaymentMonths::Table)
                    .col(big_pk_auto(PaymentMonths::Id))
                    .col(big_integer(PaymentMonths::ContractId))
                    .col(string_len(PaymentMonths::Month, 7))
                    .col(big_integer(PaymentMonths::BatchId))
                    .col(big_integer(PaymentMonths::AmountFen))
                    .col(big_integer(PaymentMonths::Payments))
                    .col(date(PaymentMonths::LastPaidOn))
                    .to_owned(),
            )
            .await?;
        // One row per (month, contract, batch); month first, for "the months before".
        manager
            .create_index(
                Index::create()
                    .name("payment_months_key")
                    .table(PaymentMonths::Table)
                    .col(PaymentMonths::Month)
                    .col(PaymentMonths::ContractId)
                    .col(PaymentMonths::BatchId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let month = match backend {
            DbBackend::Postgres => "to_char(paid_on, 'YYYY-MM')",
            _ => "substr(paid_on, 1, 7)",
        };
        db.execute_unprepared(&format!(
            "INSERT INTO payment_months (contract_id, month, batch_id, amount_fen, payments, last_paid_on) \
             SELECT contract_id, {month}, batch_id, SUM(amount_fen), COUNT(*), MAX(paid_on) \
             FROM disbursements GROUP BY contract_id, {month}, batch_id"
        ))
        .await?;
        match backend {
            DbBackend::Postgres => {
                // procure_append_only() was created with the ledger's history triggers.
                db.execute_unprepared(
                    "CREATE TRIGGER payment_months_append_only BEFORE UPDATE OR DELETE ON payment_months \
                     FOR EACH ROW EXECUTE FUNCTION procure_append_only()",
                )
                .await?;
                db.execute_unprepared(
                    "CREATE TRIGGER payment_months_no_truncate BEFORE TRUNCATE ON payment_months \
                     FOR EACH STATEMENT EXECUTE FUNCTION procure_append_only()",
                )
                .await?;
            }
            _ => {
                for op in ["UPDATE", "DELETE"] {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER payment_months_no_{lower} BEFORE {op} ON payment_months \
                         BEGIN SELECT RAISE(ABORT, 'payment_months is append-only: {op} refused'); END",
                        lower = op.to_lowercase()
                    ))
                    .await?;
                }
                // REPLACE deletes the row in the way without a DELETE trigger (see the
                // append-only migration): refuse the insert that would take a row's place.
                db.execute_unprepared(
                    "CREATE TRIGGER payment_months_no_replace BEFORE INSERT ON payment_months \
                     WHEN EXISTS (SELECT 1 FROM payment_months WHERE id = NEW.id OR \
                     (month = NEW.month AND contract_id = NEW.contract_id AND batch_id = NEW.batch_id)) \
                     BEGIN SELECT RAISE(ABORT, 'payment_months is append-only: an insert that would \
                     replace an existing row refused'); END",
                )
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentMonths::Table).to_owned())
            .await
    }
}
