//! Payments summed per contract, month and batch (`payment_months`) and per contract, day and
//! batch (`payment_days`), so that a report as of any date costs contracts × months, not
//! payments: the months before the date's own are read from the monthly sums, and the days of
//! its own month from the daily ones.
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

#[derive(DeriveIden)]
enum PaymentDays {
    Table,
    Id,
    ContractId,
    Day,
    BatchId,
    AmountFen,
    Payments,
}

/// Each table and, on SQLite, the unique key a REPLACE would take a row's place by.
const TABLES: [(&str, &str); 2] = [
    (
        "payment_months",
        "month = NEW.month AND contract_id = NEW.contract_id AND batch_id = NEW.batch_id",
    ),
    (
        "payment_days",
        "day = NEW.day AND contract_id = NEW.contract_id AND batch_id = NEW.batch_id",
    ),
];

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
        manager
            .create_table(
                Table::create()
                    .table(PaymentDays::Table)
                    .col(big_pk_auto(PaymentDays::Id))
                    .col(big_integer(PaymentDays::ContractId))
                    .col(date(PaymentDays::Day))
                    .col(big_integer(PaymentDays::BatchId))
                    .col(big_integer(PaymentDays::AmountFen))
                    .col(big_integer(PaymentDays::Payments))
                    .to_owned(),
            )
            .await?;
        // Day first, for "the days from the first of the month to the date".
        manager
            .create_index(
                Index::create()
                    .name("payment_days_key")
                    .table(PaymentDays::Table)
                    .col(PaymentDays::Day)
                    .col(PaymentDays::ContractId)
                    .col(PaymentDays::BatchId)
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
        db.execute_unprepared(
            "INSERT INTO payment_days (contract_id, day, batch_id, amount_fen, payments) \
             SELECT contract_id, paid_on, batch_id, SUM(amount_fen), COUNT(*) \
             FROM disbursements GROUP BY contract_id, paid_on, batch_id",
        )
        .await?;
        for (t, key) in TABLES {
            crate::guards::append_only(db, backend, t, &format!("id = NEW.id OR ({key})")).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PaymentDays::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(PaymentMonths::Table).to_owned())
            .await
    }
}
