//! The register as read, before anyone judges it against the ledger: its sheet kinds and
//! columns, its cells, the records its rows become, and what can be wrong with them. Below
//! the importer, the store and the domain rules, so each of them can speak of a record and
//! its cell without depending on the others.

pub mod cells;
pub mod columns;
pub mod evaluation_problems;
pub mod problems;
pub mod records;
