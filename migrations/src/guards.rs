//! The guards of an append-only table, made once for every table that gets them after the
//! ledger's: no UPDATE, DELETE or TRUNCATE (PostgreSQL fires no row trigger for TRUNCATE), and
//! on SQLite no insert that would take an existing row's place, because REPLACE deletes the
//! row in its way without firing the DELETE trigger unless `recursive_triggers` is on (see
//! `m20261130_000002_append_only`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

/// Guards `table`; `taken` is the condition under which a new row would replace an existing
/// one (every unique key of the table, the id included), in terms of `NEW`.
pub(crate) async fn append_only(
    db: &impl ConnectionTrait,
    backend: DbBackend,
    table: &str,
    taken: &str,
) -> Result<(), DbErr> {
    let t = table;
    match backend {
        DbBackend::Postgres => {
            // procure_append_only() was created with the ledger's history triggers.
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} \
                 FOR EACH ROW EXECUTE FUNCTION procure_append_only()"
            ))
            .await?;
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} \
                 FOR EACH STATEMENT EXECUTE FUNCTION procure_append_only()"
            ))
            .await?;
        }
        _ => {
            for op in ["UPDATE", "DELETE"] {
                db.execute_unprepared(&format!(
                    "CREATE TRIGGER {t}_no_{low} BEFORE {op} ON {t} \
                     BEGIN SELECT RAISE(ABORT, '{t} is append-only: {op} refused'); END",
                    low = op.to_lowercase()
                ))
                .await?;
            }
            db.execute_unprepared(&format!(
                "CREATE TRIGGER {t}_no_replace BEFORE INSERT ON {t} \
                 WHEN EXISTS (SELECT 1 FROM {t} WHERE {taken}) \
                 BEGIN SELECT RAISE(ABORT, '{t} is append-only: an insert that would \
                 replace an existing row refused'); END"
            ))
            .await?;
        }
    }
    Ok(())
}
