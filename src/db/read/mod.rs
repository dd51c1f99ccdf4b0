//! Read models: what the web pages and the API read, named for the feature that reads them.
//! Their raw SQL lives here, next to the rest of the data-access layer.

pub mod batches;
pub mod contracts;
pub mod dashboard;
