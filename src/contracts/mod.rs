//! The register of contracts (项目/合同).

pub mod state;
pub mod types;

pub use types::{Category, ContractCode, FundingSource, ProcurementMethod};
