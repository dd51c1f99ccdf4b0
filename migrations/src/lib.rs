//! The ledger schema, one migration per step; applied at start and by `procure migrate`.

pub use sea_orm_migration::prelude::*;

mod guards;
mod m20260101_000001_ledger;
mod m20261128_000001_uploads;
mod m20261128_000002_access;
mod m20261128_000003_bulk_checks;
mod m20261130_000001_import_attempts;
mod m20261130_000002_append_only;
mod m20261130_000003_upload_previews;
mod m20261130_000004_login_failure_counts;
mod m20261201_000001_budgets;
mod m20261201_000002_evaluations;
mod m20261202_000001_payment_sums;
mod m20261203_000001_settings;
mod m20261204_000001_drop_paid_on_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20260101_000001_ledger::Migration),
            Box::new(m20261128_000001_uploads::Migration),
            Box::new(m20261128_000002_access::Migration),
            Box::new(m20261128_000003_bulk_checks::Migration),
            Box::new(m20261130_000001_import_attempts::Migration),
            Box::new(m20261130_000002_append_only::Migration),
            Box::new(m20261130_000003_upload_previews::Migration),
            Box::new(m20261130_000004_login_failure_counts::Migration),
            Box::new(m20261201_000001_budgets::Migration),
            Box::new(m20261201_000002_evaluations::Migration),
            Box::new(m20261202_000001_payment_sums::Migration),
            Box::new(m20261203_000001_settings::Migration),
            Box::new(m20261204_000001_drop_paid_on_index::Migration),
        ]
    }
}
