//! Drops `disbursements_paid_on`. Reports read payments from their sums per contract and
//! month or day (m20261202_000001_payment_sums) and no longer look payments up by date; what
//! still filters by date (the exceptions report, the OCDS export) reads nearly every payment
//! up to a date and scans. Every import paid for the index: at a million payments SQLite's
//! own `INSERT ... SELECT` of the rows took 6.6 s with it and 5.0 s without.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("disbursements_paid_on")
                    .table(Alias::new("disbursements"))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name("disbursements_paid_on")
                    .table(Alias::new("disbursements"))
                    .col(Alias::new("paid_on"))
                    .to_owned(),
            )
            .await
    }
}
