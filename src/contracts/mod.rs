//! The register of contracts (项目/合同): its vocabularies, its state on a date and what
//! counts as a change to it.

pub mod changes;
pub mod state;
pub mod types;

pub use types::{Category, ContractCode, FundingSource, ProcurementMethod};
