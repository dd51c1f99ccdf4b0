//! sea-orm entities of the ledger tables (schema in `migrations/`). Columns carry the domain's
//! types: amounts are [`crate::money::Money`] over BIGINT fen, vocabularies their enums over
//! the stored code, so no bare fen or category string leaves this mapping.

pub mod import_batch {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "import_batches")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub file_name: String,
        pub file_size: i64,
        pub sha256: String,
        pub kind: String,
        pub actor: String,
        pub recorded_at: DateTimeUtc,
        pub rows_read: i64,
        pub inserted: i64,
        pub updated: i64,
        pub unchanged: i64,
        pub warnings: i64,
        pub status: String,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod provider {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "providers")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub name: String,
        pub uscc: Option<String>,
        pub batch_id: i64,
        pub source_sheet: String,
        pub source_row: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod contract {
    use sea_orm::entity::prelude::*;

    use crate::contracts::{Category, FundingSource, ProcurementMethod};
    use crate::money::Money;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "contracts")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub code: String,
        pub title: String,
        pub category: Category,
        pub provider_id: i64,
        pub provider_name: String,
        pub purchaser: Option<String>,
        pub street: Option<String>,
        pub community: Option<String>,
        pub method: Option<ProcurementMethod>,
        pub funding: Option<FundingSource>,
        #[sea_orm(column_name = "value_fen")]
        pub value: Money,
        pub signed_on: Option<Date>,
        pub start_on: Date,
        pub end_on: Date,
        pub target_people: Option<i64>,
        pub status: String,
        /// 预算项目编码: the budget line the contract names (`crate::budgets`).
        pub budget_code: Option<String>,
        pub batch_id: i64,
        pub source_sheet: String,
        pub source_row: i64,
        pub updated_batch_id: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod budget_line {
    use sea_orm::entity::prelude::*;

    use crate::contracts::{Category, FundingSource};
    use crate::money::Money;

    /// A budget line (预算项目) or, when `adjusts_doc` is set, one adjustment of it.
    /// Append-only: see `crate::budgets`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "budget_lines")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub budget_year: i32,
        pub code: String,
        pub name: String,
        pub funding: FundingSource,
        pub category: Option<Category>,
        /// The approved amount, or an adjustment's signed amount.
        #[sea_orm(column_name = "amount_fen")]
        pub amount: Money,
        pub approval_doc: String,
        pub approval_date: Date,
        pub adjusts_doc: Option<String>,
        pub batch_id: i64,
        pub source_sheet: String,
        pub source_row: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod disbursement {
    use sea_orm::entity::prelude::*;

    use crate::money::Money;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "disbursements")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub contract_id: i64,
        pub paid_on: Date,
        #[sea_orm(column_name = "amount_fen")]
        pub amount: Money,
        pub voucher: String,
        pub tranche: Option<String>,
        pub note: Option<String>,
        pub reverses_id: Option<i64>,
        pub batch_id: i64,
        pub source_sheet: String,
        pub source_row: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod service_report {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "service_reports")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub contract_id: i64,
        pub period_start: Date,
        pub period_end: Date,
        pub period_label: String,
        pub new_people: Option<i64>,
        pub cumulative_people: Option<i64>,
        pub sessions: Option<i64>,
        pub batch_id: i64,
        pub source_sheet: String,
        pub source_row: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod change {
    use sea_orm::entity::prelude::*;

    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "change_history")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub batch_id: Option<i64>,
        pub entity: String,
        pub record_id: i64,
        pub record_key: String,
        pub field: String,
        pub old_value: Option<String>,
        pub new_value: Option<String>,
        pub actor: String,
        pub changed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod upload {
    use sea_orm::entity::prelude::*;

    /// A file uploaded through the web, kept byte for byte (the auditors' source document).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "uploads")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub set_token: String,
        pub position: i32,
        pub file_name: String,
        pub file_size: i64,
        pub sha256: String,
        pub content: Vec<u8>,
        pub uploaded_by: String,
        pub uploaded_at: DateTimeUtc,
        pub status: String,
        pub batch_id: Option<i64>,
        pub committed_at: Option<DateTimeUtc>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod upload_preview {
    use sea_orm::entity::prelude::*;

    /// The kept check of one upload (`m20261130_000003_upload_previews`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "upload_previews")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub set_token: String,
        pub batches: i64,
        pub report: String,
        pub computed_at: DateTimeUtc,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod import_attempt {
    use sea_orm::entity::prelude::*;

    /// One import of one file, from its start to its end (`m20261130_000001_import_attempts`).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "import_attempts")]
    pub struct Model {
        #[sea_orm(primary_key, auto_increment = false)]
        pub id: String,
        pub file_name: String,
        pub file_size: i64,
        pub sha256: String,
        pub actor: String,
        pub address: Option<String>,
        pub host: String,
        pub pid: i64,
        pub boot_id: String,
        pub process_start: Option<i64>,
        pub started_at: DateTimeUtc,
        pub ended_at: Option<DateTimeUtc>,
        pub outcome: Option<String>,
        pub batch_id: Option<i64>,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

pub mod evaluation {
    use sea_orm::entity::prelude::*;

    use crate::evaluations::{EvaluationType, Grade};

    /// A performance evaluation (绩效评价); append-only, a correction names what it replaces.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "evaluations")]
    pub struct Model {
        #[sea_orm(primary_key)]
        pub id: i64,
        pub contract_id: i64,
        pub kind: EvaluationType,
        pub evaluator: Option<String>,
        pub evaluator_uscc: Option<String>,
        pub evaluated_on: Date,
        /// Hundredths of a point (`evaluations::Score`).
        pub score_centi: i64,
        pub grade: Grade,
        pub findings: Option<String>,
        pub fixes: Option<String>,
        pub fixed_on: Option<Date>,
        pub replaces_id: Option<i64>,
        pub revision: i64,
        pub batch_id: i64,
        pub source_sheet: String,
        pub source_row: i64,
    }

    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
