//! Read models: what the web pages, the API and the reports read, named for the feature that
//! reads them.
//! Their raw SQL lives here, next to the rest of the data-access layer.

pub mod batches;
pub mod budget;
pub mod contracts;
pub mod dashboard;
pub mod disclosure;
pub mod evaluations;
pub mod history;
pub mod ledger;
pub mod ocds;
pub mod register;
pub mod uploads;
