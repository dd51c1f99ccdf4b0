//! procure: the ledger of services a district buys from social organisations.

pub mod access;
pub mod audit;
pub mod budgets;
pub mod cli_import;
pub mod contracts;
pub mod crypto;
pub mod dates;
pub mod db;
pub mod disbursements;
pub mod entities;
pub mod evaluations;
pub mod imports;
pub mod money;
pub mod ocds;
pub mod providers;
pub mod register;
pub mod reports;
pub mod sample;
pub mod services;
pub mod text;
pub mod vocab;
pub mod web;

pub use money::Money;

/// The language of messages and report headers.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Default,
    clap::ValueEnum,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Zh,
    En,
}

impl Lang {
    /// Picks the Chinese or English text.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }
}
