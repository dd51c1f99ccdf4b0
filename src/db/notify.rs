//! Telling other processes that the ledger changed. PostgreSQL delivers a `NOTIFY` to every
//! listening connection when the transaction commits; SQLite has no such channel, and a
//! server on SQLite is the only one writing to its file, so there is nothing to send.

use sea_orm::{ConnectionTrait, DbErr};

use crate::db::sql::is_postgres;

/// Notifies `channel` when `txn` commits (PostgreSQL only). `channel` is an identifier chosen
/// by the program, never user input: `NOTIFY` takes no bound parameters.
pub async fn on_commit(txn: &impl ConnectionTrait, channel: &str) -> Result<(), DbErr> {
    if is_postgres(txn) {
        txn.execute_unprepared(&format!("NOTIFY {channel}")).await?;
    }
    Ok(())
}
