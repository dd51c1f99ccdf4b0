//! Failed sign-ins counted per address, name and minute, so that a burst of guesses writes a
//! bounded number of audit rows: the first failure of a minute is recorded in the audit trail
//! at once, the repeats only add to a count here, and the count is written to the trail as
//! one row when the minute has ended (the audit trail is append-only, so a row already
//! written cannot carry the count). The same counts bound the failures an address may make
//! across all names in a minute.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum LoginFailureCounts {
    Table,
    Address,
    Name,
    /// Minutes since 1970-01-01 UTC.
    Minute,
    /// Failures in that minute, the first (already in the audit trail) included.
    Failures,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(LoginFailureCounts::Table)
                    .col(string_len(LoginFailureCounts::Address, 64))
                    .col(string_len(LoginFailureCounts::Name, 64))
                    .col(big_integer(LoginFailureCounts::Minute))
                    .col(integer(LoginFailureCounts::Failures))
                    .primary_key(
                        Index::create()
                            .col(LoginFailureCounts::Address)
                            .col(LoginFailureCounts::Name)
                            .col(LoginFailureCounts::Minute),
                    )
                    .to_owned(),
            )
            .await?;
        // Ended minutes are looked for at every failure.
        manager
            .create_index(
                Index::create()
                    .name("login_failure_counts_minute")
                    .table(LoginFailureCounts::Table)
                    .col(LoginFailureCounts::Minute)
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailureCounts::Table).to_owned())
            .await
    }
}
