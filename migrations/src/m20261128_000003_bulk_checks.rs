//! PostgreSQL: a payment's contract and import batch are checked once per INSERT statement
//! instead of once per row, with the same guarantees as the foreign keys they replace.
//!
//! An import writes payments in multi-row INSERTs of 3,000 rows, and the per-row triggers of
//! the two foreign keys dominated it. Measured in psql on PostgreSQL 15, `INSERT INTO copy
//! SELECT * FROM disbursements` of 100,000 rows took 1.59 s with the table's foreign keys,
//! 0.45 s with none, and 0.63 s with the two below replaced by one statement-level trigger
//! that checks all new rows at once.
//!
//! What a foreign key guarantees, and what here keeps it:
//! - insert side: every new payment names an existing contract and batch, and those rows are
//!   locked FOR KEY SHARE until the inserting transaction ends (one statement-level AFTER
//!   INSERT trigger; it locks each distinct parent once where the foreign key locked it once
//!   per row);
//! - update side of the payment: none needed, payments are append-only
//!   (`disbursements_append_only` refuses every UPDATE and DELETE, m20260101_000001_ledger);
//! - parent side: a contract or batch that a payment names can be neither deleted nor given
//!   another id (row-level BEFORE DELETE OR UPDATE OF id triggers), nor truncated away.
//!
//! The errors carry SQLSTATE 23503 (foreign_key_violation), and the table `disbursements` and
//! the name of the constraint they stand for, as the foreign key's errors did, so whoever
//! reads errors by constraint name reads them as before.
//!
//! SQLite keeps its real foreign keys: they are cheap there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// One foreign key of `disbursements` that a set-based check replaces.
struct Replaced {
    /// The constraint's name, kept in the errors and restored by `down()`.
    constraint: &'static str,
    /// The column of `disbursements` that names the parent.
    column: &'static str,
    /// The parent table, keyed by `id`.
    parent: &'static str,
    /// What a parent row is called in messages.
    noun: &'static str,
}

const REPLACED: [Replaced; 2] = [
    Replaced {
        constraint: "disbursements_contract_fk",
        column: "contract_id",
        parent: "contracts",
        noun: "contract",
    },
    Replaced {
        constraint: "disbursements_batch_id_fkey",
        column: "batch_id",
        parent: "import_batches",
        noun: "import batch",
    },
];

/// The insert-side check for one parent: lock the distinct parents the new rows name, and
/// raise if fewer exist than are named.
fn insert_check(r: &Replaced) -> String {
    let Replaced {
        constraint,
        column,
        parent,
        noun,
    } = r;
    format!(
        "SELECT count(DISTINCT {column}) INTO named FROM new_rows;
         SELECT count(*) INTO present FROM (
             SELECT 1 FROM {parent} WHERE id IN (SELECT {column} FROM new_rows) FOR KEY SHARE
         ) AS locked;
         IF present < named THEN
             SELECT n.{column} INTO missing FROM new_rows AS n
              WHERE NOT EXISTS (SELECT 1 FROM {parent} AS p WHERE p.id = n.{column})
              ORDER BY n.{column} LIMIT 1;
             RAISE EXCEPTION USING
                 ERRCODE = 'foreign_key_violation',
                 CONSTRAINT = '{constraint}',
                 TABLE = 'disbursements',
                 COLUMN = '{column}',
                 MESSAGE = format('payment refused: {noun} id %s does not exist ({constraint})', missing),
                 DETAIL = format('Key ({column})=(%s) is not present in table \"{parent}\".', missing);
         END IF;"
    )
}

/// The parent side's refusal at REPEATABLE READ and SERIALIZABLE, where the trigger's snapshot
/// may miss payments committed since the transaction began (see the parent side in `up()`).
/// `what` is a `format()` pattern for the refused change, `args` its arguments.
fn not_read_committed(what: &str, args: &str) -> String {
    let args = if args.is_empty() {
        String::new()
    } else {
        format!(", {args}")
    };
    format!(
        "IF current_setting('transaction_isolation') <> 'read committed' THEN
             RAISE EXCEPTION USING
                 ERRCODE = 'feature_not_supported',
                 MESSAGE = format('{what} refused at isolation level %s: payments committed since \
                                   this transaction began would not be seen'{args},
                                  upper(current_setting('transaction_isolation'))),
                 HINT = 'Change contracts and import batches at READ COMMITTED.';
         END IF;"
    )
}

/// Creates, or replaces, the plpgsql function `procure_{name}()` with `body` (from its
/// DECLARE or BEGIN to its END), and the trigger `name` that runs it: `event` is what comes
/// before `ON table` (`AFTER INSERT`), `each` what comes after (`FOR EACH ROW`).
///
/// `SET search_path FROM CURRENT`: the checks find their tables with the search_path the
/// migration ran under, whatever the inserting session's is, as a foreign key (which holds
/// table OIDs) always finds its own.
async fn install_trigger(
    db: &impl ConnectionTrait,
    name: &str,
    event: &str,
    table: &str,
    each: &str,
    body: &str,
) -> Result<(), DbErr> {
    db.execute_unprepared(&format!(
        "CREATE OR REPLACE FUNCTION procure_{name}() RETURNS trigger
         LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ {body} $$"
    ))
    .await?;
    db.execute_unprepared(&format!("DROP TRIGGER IF EXISTS {name} ON {table}"))
        .await?;
    db.execute_unprepared(&format!(
        "CREATE TRIGGER {name} {event} ON {table} {each} EXECUTE FUNCTION procure_{name}()"
    ))
    .await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();

        // Counting is enough to know that all exist: `present` counts the parent rows locked
        // (ids are unique), `named` the distinct ids the new rows name; the missing one is
        // looked up only to name it in the error. The columns are NOT NULL, so MATCH SIMPLE's NULL rule never applies.
        //
        // The lock is taken by a statement of its own, read to its end, before the count is
        // compared. Under READ COMMITTED a parent deleted by a transaction that committed
        // while we waited for its row lock is skipped (not locked, not counted), and the next
        // statement's fresh snapshot no longer sees it either: the payment is refused, as
        // the foreign key would refuse it. Under REPEATABLE READ the lock raises a
        // serialization failure instead, as the foreign key's does.
        install_trigger(
            db,
            "disbursements_parents_exist",
            "AFTER INSERT",
            "disbursements",
            "REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT",
            &format!(
                "DECLARE
                     named bigint;
                     present bigint;
                     missing bigint;
                 BEGIN
                     {}
                     {}
                     RETURN NULL;
                 END",
                insert_check(&REPLACED[0]),
                insert_check(&REPLACED[1]),
            ),
        )
        .await?;

        for r in &REPLACED {
            let Replaced {
                constraint,
                column,
                parent,
                noun,
            } = r;
            // Parent side. Deleting a parent, or changing its id, first locks the row
            // exclusively (before BEFORE ROW triggers run), which waits for any transaction
            // still holding the FOR KEY SHARE lock the insert side took. Under READ COMMITTED
            // each statement of this function then takes a fresh snapshot, so once that
            // importing transaction has committed its payments are seen here and the change
            // is refused; if it rolled back there is nothing to see and the change goes on.
            // A foreign key does the same with its per-row lock and check.
            //
            // Under REPEATABLE READ or SERIALIZABLE the deleting transaction keeps its first
            // snapshot, which does not show payments committed after it began: a foreign key
            // then checks against the newest snapshot as well and refuses (tried on PG 15: the
            // delete waits for the import, then fails with 23503), but a trigger can only
            // read its transaction's snapshot, and the delete would leave orphans. So at those
            // levels a parent is deleted or renumbered not at all, referenced or not (0A000,
            // see `not_read_committed`). procure deletes no contract or batch and runs at
            // READ COMMITTED, PostgreSQL's default; only a hand-written change meets this.
            //
            // A foreign key checks at the end of the statement, this before each row: the only
            // difference is that one UPDATE which moves ids and leaves every referenced id
            // still present (say `SET id = id + 1` over a run of ids) is refused here.
            install_trigger(
                db,
                &format!("{constraint}_parent"),
                "BEFORE DELETE OR UPDATE OF id",
                parent,
                "FOR EACH ROW",
                &format!(
                "BEGIN
                     IF TG_OP = 'UPDATE' AND NEW.id IS NOT DISTINCT FROM OLD.id THEN
                         RETURN NEW;
                     END IF;
                     IF EXISTS (SELECT 1 FROM disbursements WHERE {column} = OLD.id) THEN
                         RAISE EXCEPTION USING
                             ERRCODE = 'foreign_key_violation',
                             CONSTRAINT = '{constraint}',
                             TABLE = 'disbursements',
                             MESSAGE = format('%s of {noun} id %s refused: payments refer to it ({constraint})',
                                              TG_OP, OLD.id),
                             DETAIL = format('Key (id)=(%s) is still referenced from table \"disbursements\".',
                                             OLD.id);
                     END IF;
                     {guard}
                     IF TG_OP = 'DELETE' THEN
                         RETURN OLD;
                     END IF;
                     RETURN NEW;
                 END",
                guard = not_read_committed(&format!("%s of {noun} id %s"), "TG_OP, OLD.id"),
                ),
            )
            .await?;
            // TRUNCATE fires no row triggers. A foreign key refuses to truncate its parent
            // unless the payments go in the same command; refusing while any payment exists
            // keeps the guarantee (and is stricter only for TRUNCATE ... CASCADE).
            install_trigger(
                db,
                &format!("{constraint}_truncate"),
                "BEFORE TRUNCATE",
                parent,
                "FOR EACH STATEMENT",
                &format!(
                "BEGIN
                     IF EXISTS (SELECT 1 FROM disbursements) THEN
                         RAISE EXCEPTION USING
                             ERRCODE = 'foreign_key_violation',
                             CONSTRAINT = '{constraint}',
                             TABLE = 'disbursements',
                             MESSAGE = 'TRUNCATE of {parent} refused: payments refer to it ({constraint})';
                     END IF;
                     {guard}
                     RETURN NULL;
                 END",
                guard = not_read_committed(&format!("TRUNCATE of {parent}"), ""),
                ),
            )
            .await?;
            db.execute_unprepared(&format!(
                "ALTER TABLE disbursements DROP CONSTRAINT IF EXISTS {constraint}"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "DROP TRIGGER IF EXISTS disbursements_parents_exist ON disbursements",
        )
        .await?;
        db.execute_unprepared("DROP FUNCTION IF EXISTS procure_disbursements_parents_exist()")
            .await?;
        for Replaced {
            constraint,
            column,
            parent,
            ..
        } in &REPLACED
        {
            for kind in ["parent", "truncate"] {
                db.execute_unprepared(&format!(
                    "DROP TRIGGER IF EXISTS {constraint}_{kind} ON {parent}"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "DROP FUNCTION IF EXISTS procure_{constraint}_{kind}()"
                ))
                .await?;
            }
            // As m20260101_000001_ledger made them: NO ACTION, MATCH SIMPLE, not deferrable.
            db.execute_unprepared(&format!(
                "ALTER TABLE disbursements DROP CONSTRAINT IF EXISTS {constraint}, \
                 ADD CONSTRAINT {constraint} FOREIGN KEY ({column}) REFERENCES {parent} (id)"
            ))
            .await?;
        }
        Ok(())
    }
}
