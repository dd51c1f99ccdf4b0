//! Synthetic registers: the 97-contract sample in `imports/` and seeded data for demos and benchmarks.
//!
//! Everything here is invented (names, codes, amounts) and deterministic: the sample has a
//! fixed seed and fixed document properties, so two runs give the same bytes.
//!
//! This is a development tool, not part of the ledger's rules: nothing in the core depends
//! on it. Its own types are named for what they are (a sheet's cell, a service-report row,
//! the format of the files written) so they never read as the core's `imports::SheetCell`,
//! `imports::SampleFormat` or `reports::ServiceRow`.
//!
//! - `rows`: the records of the three sheets and their typed cells;
//! - `places`: invented sub-districts, communities and providers, and date helpers;
//! - `register`: the 97-contract sample, built to reproduce the bureau's statement;
//! - `seeded`: the seeded generator of any size;
//! - `writers`: xlsx and csv writers;
//! - `budgets`: budget lines covering the contracts, with the sample's planted exceptions;
//! - `evaluations`: the evaluations of the sample and of the seeded generator;
//! - `template`: the blank register template with its 填写说明 sheet.

mod budgets;
mod evaluations;
mod places;
mod register;
mod rows;
mod seeded;
mod template;
mod writers;

pub use budgets::BUDGET_HEADERS;
pub use evaluations::EVALUATION_HEADERS;
pub use register::write_sample;
pub use seeded::generate;

use std::path::PathBuf;

/// Headers of the contracts sheet `项目合同`, in order.
pub const CONTRACT_HEADERS: [&str; 16] = [
    "项目编号",
    "项目名称",
    "服务类别",
    "承接机构",
    "统一社会信用代码",
    "购买主体",
    "街道",
    "社区",
    "采购方式",
    "资金来源",
    "合同金额（元）",
    "签订日期",
    "开始日期",
    "结束日期",
    "计划服务人数",
    "预算项目编码",
];

/// Headers of the disbursements sheet `拨付记录`, in order.
pub const DISBURSEMENT_HEADERS: [&str; 7] = [
    "项目编号",
    "拨付日期",
    "拨付金额（元）",
    "凭证号",
    "拨付批次",
    "冲销凭证号",
    "备注",
];

/// Headers of the service-report sheet `服务统计`, in order.
pub const SERVICE_HEADERS: [&str; 5] = [
    "项目编号",
    "统计期间",
    "新增服务人数",
    "累计服务人数",
    "服务人次",
];

/// What `generate` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum SampleFormat {
    Xlsx,
    Csv,
    #[default]
    Both,
}

impl SampleFormat {
    pub(crate) fn xlsx(self) -> bool {
        matches!(self, SampleFormat::Xlsx | SampleFormat::Both)
    }

    pub(crate) fn csv(self) -> bool {
        matches!(self, SampleFormat::Csv | SampleFormat::Both)
    }
}

/// Options of the seeded generator for demos and benchmarks.
#[derive(Debug, Clone)]
pub struct GenerateOptions {
    /// Folder the files go to (created if missing).
    pub out: PathBuf,
    /// Same seed, same bytes.
    pub seed: u64,
    /// Rows of `项目合同`.
    pub contracts: usize,
    /// Rows of `拨付记录`.
    pub payments: usize,
    /// Rows of `服务统计`; at most 36 per contract (one a month over a term of at most 3 years).
    pub services: usize,
    pub format: SampleFormat,
}

impl Default for GenerateOptions {
    fn default() -> Self {
        GenerateOptions {
            out: PathBuf::from("generated"),
            seed: 1,
            contracts: 1_000,
            payments: 100_000,
            services: 12_000,
            format: SampleFormat::Both,
        }
    }
}
