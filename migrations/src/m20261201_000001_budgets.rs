//! Budget lines (预算项目): the approved budget each purchase is made against (财预〔2017〕87号:
//! 先有预算、后购买服务). A line once recorded is never edited: an adjustment (调整) is a row
//! of its own naming the approval document (批复文号) of the line it adjusts, with a signed
//! amount, as a payment's reversal is. So the table is append-only like the payments, with
//! the same guards. Contracts name their line by its code (`contracts.budget_code`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum BudgetLines {
    Table,
    Id,
    BudgetYear,
    Code,
    Name,
    Funding,
    Category,
    AmountFen,
    ApprovalDoc,
    ApprovalDate,
    AdjustsDoc,
    BatchId,
    SourceSheet,
    SourceRow,
}

#[derive(DeriveIden)]
enum Contracts {
    Table,
    BudgetCode,
}

#[derive(DeriveIden)]
enum ImportBatches {
    Table,
    Id,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(BudgetLines::Table)
                    .col(big_pk_auto(BudgetLines::Id))
                    .col(integer(BudgetLines::BudgetYear))
                    .col(string(BudgetLines::Code))
                    .col(text(BudgetLines::Name))
                    .col(string(BudgetLines::Funding))
                    .col(string_null(BudgetLines::Category))
                    .col(big_integer(BudgetLines::AmountFen))
                    .col(string(BudgetLines::ApprovalDoc))
                    .col(date(BudgetLines::ApprovalDate))
                    // NULL on the line itself; an adjustment names the line's 批复文号.
                    .col(string_null(BudgetLines::AdjustsDoc))
                    .col(big_integer(BudgetLines::BatchId))
                    .col(text(BudgetLines::SourceSheet))
                    .col(big_integer(BudgetLines::SourceRow))
                    .foreign_key(
                        ForeignKey::create()
                            .from(BudgetLines::Table, BudgetLines::BatchId)
                            .to(ImportBatches::Table, ImportBatches::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // A line and each of its adjustments are known by year, code and approval document.
        manager
            .create_index(
                Index::create()
                    .name("budget_lines_identity")
                    .table(BudgetLines::Table)
                    .col(BudgetLines::BudgetYear)
                    .col(BudgetLines::Code)
                    .col(BudgetLines::ApprovalDoc)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("budget_lines_code")
                    .table(BudgetLines::Table)
                    .col(BudgetLines::Code)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Contracts::Table)
                    .add_column(string_null(Contracts::BudgetCode))
                    .to_owned(),
            )
            .await?;
        crate::guards::append_only(
            manager.get_connection(),
            manager.get_database_backend(),
            "budget_lines",
            "id = NEW.id OR (budget_year = NEW.budget_year AND code = NEW.code AND approval_doc = NEW.approval_doc)",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Contracts::Table)
                    .drop_column(Contracts::BudgetCode)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(BudgetLines::Table).to_owned())
            .await?;
        Ok(())
    }
}
