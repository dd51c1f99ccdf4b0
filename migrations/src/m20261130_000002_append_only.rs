//! The append-only tables refuse every statement that would rewrite or remove a row, not only
//! UPDATE and DELETE: TRUNCATE on PostgreSQL, REPLACE and its kin on SQLite.
//!
//! - PostgreSQL fires no row trigger for TRUNCATE. `audit_log` and `import_attempts` were
//!   given statement-level guards when they were made; the payments and the change history
//!   get theirs here. An upsert (`INSERT ... ON CONFLICT DO UPDATE`) or a MERGE fires the
//!   row-level UPDATE and DELETE triggers, which already refuse.
//! - SQLite resolves `REPLACE`, `INSERT OR REPLACE` (and an `ON CONFLICT REPLACE` clause) by
//!   deleting the row in the way, and fires no DELETE trigger for it unless the connection
//!   has `recursive_triggers` on. procure turns it on for its own connections
//!   (`db::open`), but the file may be opened by any other tool (the sqlite3 shell has it
//!   off), so a BEFORE INSERT trigger refuses every new row whose id, or other unique key,
//!   is already taken: the rows a REPLACE would delete. A plain duplicate insert, which the
//!   unique key refused anyway, is now refused by this trigger first, with its message.
//!
//! The cost falls on every insert, imports included. Measured in the sqlite3 shell (3.40)
//! with procure's pragmas, one transaction of 100,000 payments into the real schema took
//! 0.17 s of CPU without the trigger and 0.25 s with it (0.21 s with a trigger that checks
//! nothing: most of it is firing a trigger at all), about 0.8 s more per million payments.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// PostgreSQL: the append-only tables that had no TRUNCATE guard yet.
const TRUNCATE_GUARDED_HERE: [&str; 2] = ["disbursements", "change_history"];

/// SQLite: each append-only table and the condition under which a new row would take the
/// place of an existing one (every unique key of the table, the rowid included).
const REPLACE_GUARDS: [(&str, &str); 4] = [
    (
        "disbursements",
        "id = NEW.id OR (contract_id = NEW.contract_id AND voucher = NEW.voucher)",
    ),
    ("change_history", "id = NEW.id"),
    ("audit_log", "id = NEW.id"),
    // Its key is text, so the rowid is a key of its own. NEW.rowid is -1 when not given.
    ("import_attempts", "id = NEW.id OR rowid = NEW.rowid"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for t in TRUNCATE_GUARDED_HERE {
                    // procure_append_only() was created with the ledger's history triggers.
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} \
                         FOR EACH STATEMENT EXECUTE FUNCTION procure_append_only()"
                    ))
                    .await?;
                }
            }
            _ => {
                for (t, taken) in REPLACE_GUARDS {
                    db.execute_unprepared(&format!(
                        "CREATE TRIGGER {t}_no_replace BEFORE INSERT ON {t} \
                         WHEN EXISTS (SELECT 1 FROM {t} WHERE {taken}) \
                         BEGIN SELECT RAISE(ABORT, '{t} is append-only: an insert that would \
                         replace an existing row refused'); END"
                    ))
                    .await?;
                }
            }
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        match manager.get_database_backend() {
            DbBackend::Postgres => {
                for t in TRUNCATE_GUARDED_HERE {
                    db.execute_unprepared(&format!(
                        "DROP TRIGGER IF EXISTS {t}_no_truncate ON {t}"
                    ))
                    .await?;
                }
            }
            _ => {
                for (t, _) in REPLACE_GUARDS {
                    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {t}_no_replace"))
                        .await?;
                }
            }
        }
        Ok(())
    }
}
