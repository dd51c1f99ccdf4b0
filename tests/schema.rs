//! The ledger schema keeps money exact and rejects what it must, on both backends.

mod common;

use common::TestDb;
use procure::db::sql::is_postgres;
use procure::Money;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, RuntimeErr, SqlErr, Statement};

async fn exec(t: &TestDb, sql: &str) -> Result<(), sea_orm::DbErr> {
    t.db.execute_unprepared(sql).await.map(|_| ())
}

/// Whether `e` is a foreign-key violation (SQLSTATE 23503; SQLite's code 787), and the name
/// of the constraint it reports, which SQLite does not give.
fn foreign_key_violation(e: &DbErr) -> Option<Option<String>> {
    if !matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) {
        return None;
    }
    let constraint = match e {
        DbErr::Exec(RuntimeErr::SqlxError(s)) | DbErr::Query(RuntimeErr::SqlxError(s)) => s
            .as_database_error()
            .and_then(|d| d.constraint())
            .map(str::to_string),
        _ => None,
    };
    Some(constraint)
}

async fn scalar_i64(t: &TestDb, sql: &str) -> i64 {
    let row =
        t.db.query_one_raw(Statement::from_string(t.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

/// One batch, one provider, one contract: the rows every other row hangs from.
async fn seed(t: &TestDb) {
    exec(t, "INSERT INTO import_batches (file_name, file_size, sha256, kind, actor, recorded_at, rows_read, inserted, updated, unchanged, warnings, status) \
             VALUES ('t.xlsx', 1, 'ab', 'contracts', 'test', '2019-06-30 00:00:00+00:00', 0, 0, 0, 0, 0, 'committed')").await.unwrap();
    exec(t, "INSERT INTO providers (name, uscc, batch_id, source_sheet, source_row) VALUES ('甲社工中心', '52530111MJ0000001X', 1, 's', 2)").await.unwrap();
    exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
             VALUES ('C1', 't', 'elderly', 1, '甲社工中心', 100000000000000000, '2019-01-01', '2019-12-31', 'active', 1, 's', 2, 1)").await.unwrap();
}

both_backends! {
    async fn money_round_trips_exactly_with_its_scale(t: &TestDb) {
        seed(t).await;
        let amounts = ["0.01", "0.10", "100.00", "-0.01", "9999999999999999.99"];
        for (i, a) in amounts.iter().enumerate() {
            let fen = Money::parse(a).unwrap().fen();
            exec(t, &format!("INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
                              VALUES (1, '2019-06-30', {fen}, 'V{i}', 1, 's', {i})")).await.unwrap();
        }
        for (i, a) in amounts.iter().enumerate() {
            let fen = scalar_i64(t, &format!("SELECT amount_fen FROM disbursements WHERE voucher = 'V{i}'")).await;
            assert_eq!(Money::from_fen(fen).to_string(), *a, "{} on {}", a, t.backend());
        }
    }
}

both_backends! {
    async fn a_million_fen_sum_to_exactly_ten_thousand_yuan(t: &TestDb) {
        seed(t).await;
        let insert = match t.db.get_database_backend() {
            DbBackend::Postgres => "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
                SELECT 1, DATE '2019-06-30', 1, 'V' || n, 1, 's', n FROM generate_series(1, 1000000) AS n",
            _ => "WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 1000000) \
                INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
                SELECT 1, '2019-06-30', 1, 'V' || n, 1, 's', n FROM seq",
        };
        exec(t, insert).await.unwrap();
        let total = scalar_i64(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await;
        assert_eq!(Money::from_fen(total).to_string(), "10000.00");
    }
}

both_backends! {
    async fn unique_keys_reject_duplicates(t: &TestDb) {
        seed(t).await;
        // contract code
        assert!(exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
             VALUES ('C1', 'dup', 'elderly', 1, 'x', 1, '2019-01-01', '2019-12-31', 'active', 1, 's', 3, 1)").await.is_err());
        // (contract, voucher)
        let pay = "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (1, '2019-06-30', 100, 'PZ-1', 1, 's', 2)";
        exec(t, pay).await.unwrap();
        assert!(exec(t, pay).await.is_err());
        // (contract, period)
        let svc = "INSERT INTO service_reports (contract_id, period_start, period_end, period_label, new_people, batch_id, source_sheet, source_row) VALUES (1, '2019-06-01', '2019-06-30', '2019-06', 5, 1, 's', 2)";
        exec(t, svc).await.unwrap();
        assert!(exec(t, svc).await.is_err());
        // USCC where present; several providers without one are fine
        assert!(exec(t, "INSERT INTO providers (name, uscc, batch_id, source_sheet, source_row) VALUES ('乙', '52530111MJ0000001X', 1, 's', 3)").await.is_err());
        exec(t, "INSERT INTO providers (name, uscc, batch_id, source_sheet, source_row) VALUES ('丙', NULL, 1, 's', 4)").await.unwrap();
        exec(t, "INSERT INTO providers (name, uscc, batch_id, source_sheet, source_row) VALUES ('丁', NULL, 1, 's', 5)").await.unwrap();
    }
}

both_backends! {
    async fn foreign_keys_reject_orphans(t: &TestDb) {
        seed(t).await;
        // Refused as foreign-key violations, not for some other reason (on PostgreSQL these two
        // are checks that stand for the foreign keys, m20261128_000003_bulk_checks).
        for sql in [
            "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (999, '2019-06-30', 1, 'X', 1, 's', 2)",
            "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (1, '2019-06-30', 1, 'X', 999, 's', 2)",
        ] {
            let e = exec(t, sql).await.expect_err(sql);
            assert!(foreign_key_violation(&e).is_some(), "{sql}: {e}");
        }
        assert!(exec(t, "INSERT INTO service_reports (contract_id, period_start, period_end, period_label, batch_id, source_sheet, source_row) VALUES (999, '2019-06-01', '2019-06-30', '2019-06', 1, 's', 2)").await.is_err());
        assert!(exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
             VALUES ('C2', 't', 'elderly', 999, 'x', 1, '2019-01-01', '2019-12-31', 'active', 1, 's', 3, 1)").await.is_err());
        assert!(exec(t, "DELETE FROM contracts WHERE id = 1").await.is_ok(), "no payment refers to it yet");
    }
}

both_backends! {
    async fn a_contract_or_batch_that_a_payment_names_can_be_neither_deleted_nor_renumbered(t: &TestDb) {
        seed(t).await;
        // A second batch and contract that no payment names: they stay free to change.
        exec(t, "INSERT INTO import_batches (file_name, file_size, sha256, kind, actor, recorded_at, rows_read, inserted, updated, unchanged, warnings, status) \
                 VALUES ('u.xlsx', 1, 'cd', 'payments', 'test', '2019-07-01 00:00:00+00:00', 0, 0, 0, 0, 0, 'committed')").await.unwrap();
        exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
                 VALUES ('C2', 't', 'elderly', 1, '甲社工中心', 1, '2019-01-01', '2019-12-31', 'active', 1, 's', 3, 1)").await.unwrap();
        exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (1, '2019-06-30', 100, 'PZ-1', 2, 's', 2)").await.unwrap();

        for (sql, constraint) in [
            ("DELETE FROM contracts WHERE id = 1", "disbursements_contract_fk"),
            ("UPDATE contracts SET id = 100 WHERE id = 1", "disbursements_contract_fk"),
            ("DELETE FROM import_batches WHERE id = 2", "disbursements_batch_id_fkey"),
            ("UPDATE import_batches SET id = 100 WHERE id = 2", "disbursements_batch_id_fkey"),
        ] {
            let e = exec(t, sql).await.expect_err(sql);
            let named = foreign_key_violation(&e).unwrap_or_else(|| panic!("{sql}: {e}"));
            if is_postgres(&t.db) {
                // The name of the foreign key the check stands for.
                assert_eq!(named.as_deref(), Some(constraint), "{sql}: {e}");
                assert!(e.to_string().contains("refused: payments refer to it"), "{sql}: {e}");
            }
        }
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM contracts WHERE id = 1").await, 1);
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM import_batches WHERE id = 2").await, 1);
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements WHERE contract_id = 1 AND batch_id = 2").await, 1);

        // Whatever does not change a referenced id goes through.
        exec(t, "UPDATE contracts SET title = 'renamed' WHERE id = 1").await.unwrap();
        exec(t, "UPDATE contracts SET id = id WHERE id = 1").await.unwrap();
        exec(t, "UPDATE import_batches SET status = 'committed', id = id WHERE id = 2").await.unwrap();
        exec(t, "UPDATE contracts SET id = 200 WHERE id = 2").await.unwrap();
        exec(t, "DELETE FROM contracts WHERE id = 200").await.unwrap();
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM contracts").await, 1);
        if is_postgres(&t.db) {
            // TRUNCATE fires no row triggers: it is refused on its own.
            for sql in ["TRUNCATE contracts, service_reports", "TRUNCATE import_batches CASCADE"] {
                let e = exec(t, sql).await.expect_err(sql);
                // By the check that stands for the payments' foreign key, or by PostgreSQL
                // itself for a table a plain foreign key names (evaluations name contracts),
                // or by the append-only guard of a table the cascade would empty.
                let refused = foreign_key_violation(&e).is_some()
                    || e.to_string().contains("referenced in a foreign key constraint")
                    || e.to_string().contains("is append-only");
                assert!(refused, "{sql}: {e}");
            }
            assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements").await, 1);
        }
    }
}

both_backends! {
    async fn a_multi_row_insert_naming_one_missing_contract_stores_none_of_its_rows(t: &TestDb) {
        seed(t).await;
        // The app writes payments 3,000 rows to a statement: one bad row refuses them all.
        let rows: Vec<String> = (1..=50)
            .map(|i| {
                let contract = if i == 37 { 999 } else { 1 };
                format!("({contract}, '2019-06-30', {i}, 'PZ-{i}', 1, 's', {i})")
            })
            .collect();
        let e = exec(t, &format!(
            "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES {}",
            rows.join(", ")
        )).await.expect_err("one payment names a missing contract");
        let named = foreign_key_violation(&e).unwrap_or_else(|| panic!("{e}"));
        if is_postgres(&t.db) {
            assert_eq!(named.as_deref(), Some("disbursements_contract_fk"));
            assert!(e.to_string().contains("contract id 999 does not exist"), "{e}");
        }
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements").await, 0);

        // The same for a missing batch, named in the message.
        let e = exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
                         VALUES (1, '2019-06-30', 1, 'PZ-1', 1, 's', 1), (1, '2019-06-30', 2, 'PZ-2', 7, 's', 2)")
            .await.expect_err("one payment names a missing batch");
        let named = foreign_key_violation(&e).unwrap_or_else(|| panic!("{e}"));
        if is_postgres(&t.db) {
            assert_eq!(named.as_deref(), Some("disbursements_batch_id_fkey"));
            assert!(e.to_string().contains("import batch id 7 does not exist"), "{e}");
        }
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements").await, 0);

        // Without the bad row the same statement stores every row.
        exec(t, &format!(
            "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES {}",
            rows.iter().filter(|r| !r.starts_with("(999")).cloned().collect::<Vec<_>>().join(", ")
        )).await.unwrap();
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements").await, 49);
    }
}

/// Waits until another session of this database waits for a lock (PostgreSQL), or a while
/// (SQLite, whose writers wait in the driver's busy handler).
async fn until_someone_waits(t: &TestDb) {
    if !is_postgres(&t.db) {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        return;
    }
    for _ in 0..200 {
        let waiting = scalar_i64(t, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'").await;
        if waiting > 0 {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("no session waits for a lock");
}

both_backends! {
    async fn a_delete_racing_an_import_never_leaves_an_orphan_payment(t: &TestDb) {
        use sea_orm::TransactionTrait;
        seed(t).await;
        exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
                 VALUES ('C2', 't', 'elderly', 1, '甲社工中心', 1, '2019-01-01', '2019-12-31', 'active', 1, 's', 3, 1)").await.unwrap();
        let pay = |contract: i64| format!("INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES ({contract}, '2019-06-30', 1, 'PZ-{contract}', 1, 's', 2)");

        // An import pays against contract 1 and has not committed: a delete of the contract
        // waits for it, then sees the payment and is refused.
        let import = t.db.begin().await.unwrap();
        import.execute_unprepared(&pay(1)).await.unwrap();
        let db = t.db.clone();
        let delete = tokio::spawn(async move { db.execute_unprepared("DELETE FROM contracts WHERE id = 1").await });
        until_someone_waits(t).await;
        assert!(!delete.is_finished(), "the delete waits for the import");
        import.commit().await.unwrap();
        let e = delete.await.unwrap().expect_err("the committed payment keeps its contract");
        assert!(foreign_key_violation(&e).is_some(), "{e}");

        // A delete of contract 2 has not committed: an import paying against it waits, then
        // finds the contract gone and is refused.
        let delete = t.db.begin().await.unwrap();
        delete.execute_unprepared("DELETE FROM contracts WHERE id = 2").await.unwrap();
        let db = t.db.clone();
        let sql = pay(2);
        let import = tokio::spawn(async move { db.execute_unprepared(&sql).await });
        until_someone_waits(t).await;
        assert!(!import.is_finished(), "the import waits for the delete");
        delete.commit().await.unwrap();
        let e = import.await.unwrap().expect_err("the contract is gone");
        assert!(foreign_key_violation(&e).is_some(), "{e}");

        if is_postgres(&t.db) {
            // A REPEATABLE READ delete would not see a payment committed after its snapshot
            // (a trigger reads no newer one, unlike a foreign key): at that level contracts
            // are not deleted at all.
            exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
                     VALUES ('C3', 't', 'elderly', 1, '甲社工中心', 1, '2019-01-01', '2019-12-31', 'active', 1, 's', 4, 1)").await.unwrap();
            let delete = t.db.begin_with_config(Some(sea_orm::IsolationLevel::RepeatableRead), None).await.unwrap();
            delete.execute_unprepared("SELECT COUNT(*) FROM disbursements").await.unwrap();
            exec(t, &pay(3)).await.unwrap();
            let e = delete.execute_unprepared("DELETE FROM contracts WHERE id = 3").await.expect_err("a payment the snapshot does not show");
            assert!(e.to_string().contains("DELETE of contract id 3 refused at isolation level REPEATABLE READ"), "{e}");
            delete.rollback().await.unwrap();
        }
        let paid = if is_postgres(&t.db) { 2 } else { 1 };
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements").await, paid);
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements d WHERE NOT EXISTS (SELECT 1 FROM contracts c WHERE c.id = d.contract_id)").await, 0);
    }
}

both_backends! {
    async fn the_bulk_checks_migrate_down_to_the_foreign_keys_and_up_again(t: &TestDb) {
        use migration::MigratorTrait;
        seed(t).await;
        exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (1, '2019-06-30', 100, 'PZ-1', 1, 's', 2)").await.unwrap();
        let foreign_keys = "SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'disbursements'::regclass AND contype = 'f' AND \
            (conname, pg_get_constraintdef(oid)) IN (('disbursements_contract_fk', 'FOREIGN KEY (contract_id) REFERENCES contracts(id)'), \
                                                    ('disbursements_batch_id_fkey', 'FOREIGN KEY (batch_id) REFERENCES import_batches(id)'), \
                                                    ('disbursements_reverses_fk', 'FOREIGN KEY (reverses_id) REFERENCES disbursements(id)'))";
        let triggers = "SELECT COUNT(*) FROM pg_trigger WHERE NOT tgisinternal AND tgname IN \
            ('disbursements_parents_exist', 'disbursements_contract_fk_parent', 'disbursements_contract_fk_truncate', \
             'disbursements_batch_id_fkey_parent', 'disbursements_batch_id_fkey_truncate')";
        let postgres = is_postgres(&t.db);
        if postgres {
            assert_eq!(scalar_i64(t, foreign_keys).await, 1, "only the reversal's foreign key is left");
            assert_eq!(scalar_i64(t, triggers).await, 5);
        }

        // The import attempts', append-only guards', kept previews', sign-in counts' and
        // budget lines', evaluations', payments' sums', settings' and dropped date index's
        // migrations came after the bulk checks: they go down first.
        migration::Migrator::down(&t.db, Some(10)).await.unwrap();
        assert_eq!(procure::db::schema_version(&t.db).await.unwrap().as_deref(), Some("m20261128_000002_access"));
        if postgres {
            assert_eq!(scalar_i64(t, foreign_keys).await, 3, "the foreign keys are back as they were");
            assert_eq!(scalar_i64(t, triggers).await, 0);
            assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM pg_proc WHERE proname LIKE 'procure_disbursements_%'").await, 0);
        }
        assert!(exec(t, "DELETE FROM contracts WHERE id = 1").await.is_err());
        assert!(exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (999, '2019-06-30', 1, 'X', 1, 's', 2)").await.is_err());

        procure::db::migrate(&t.db).await.unwrap();
        assert_eq!(procure::db::schema_version(&t.db).await.unwrap(), Some(common::newest_migration()));
        if postgres {
            assert_eq!(scalar_i64(t, foreign_keys).await, 1);
            assert_eq!(scalar_i64(t, triggers).await, 5);
        }
        assert!(exec(t, "DELETE FROM contracts WHERE id = 1").await.is_err());
        assert!(exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (999, '2019-06-30', 1, 'X', 1, 's', 2)").await.is_err());
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM disbursements").await, 1);
        // Migrating up built the monthly and daily sums of the payments already there.
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM payment_months WHERE month = '2019-06' AND amount_fen = 100 AND payments = 1").await, 1);
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM payment_days WHERE day = '2019-06-30' AND amount_fen = 100 AND payments = 1").await, 1);
    }
}

/// An append-only table, one row in it, and what rewriting that row would look like.
struct AppendOnly {
    table: &'static str,
    /// The row's id, as SQL.
    id: &'static str,
    /// Every column but the id, then the row's values and a rewritten row's values.
    cols: &'static str,
    row: &'static str,
    rewritten: &'static str,
    /// The assignment an UPDATE or upsert would make, and the column it changes.
    set: &'static str,
    changed: &'static str,
    /// Inserts that would take the row's place through a unique key other than the id
    /// (SQLite's REPLACE deletes whatever row is in the way).
    other_keys: &'static [(&'static str, &'static str)],
    /// A new row that takes no one's place: it is stored.
    fresh: &'static str,
}

const APPEND_ONLY: [AppendOnly; 8] = [
    AppendOnly {
        table: "disbursements",
        id: "1",
        cols: "contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row",
        row: "1, '2019-06-30', 5100000, 'PZ-1', 1, 's', 2",
        rewritten: "1, '2019-06-30', 1, 'PZ-1', 1, 's', 2",
        set: "amount_fen = 1",
        changed: "amount_fen",
        other_keys: &[(
            "contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row",
            "1, '2019-06-30', 1, 'PZ-1', 1, 's', 2",
        )],
        fresh: "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
                VALUES (1, '2019-07-01', 7, 'PZ-2', 1, 's', 3)",
    },
    AppendOnly {
        table: "change_history",
        id: "1",
        cols: "batch_id, entity, record_id, record_key, field, old_value, new_value, actor, changed_at",
        row: "1, 'contract', 1, 'C1', 'title', 'a', 'b', 'test', '2019-06-30 00:00:00+00:00'",
        rewritten: "1, 'contract', 1, 'C1', 'title', 'a', 'forged', 'test', '2019-06-30 00:00:00+00:00'",
        set: "new_value = 'forged'",
        changed: "new_value",
        other_keys: &[],
        fresh: "INSERT INTO change_history (batch_id, entity, record_id, record_key, field, old_value, new_value, actor, changed_at) \
                VALUES (1, 'contract', 1, 'C1', 'title', 'b', 'c', 'test', '2019-07-01 00:00:00+00:00')",
    },
    AppendOnly {
        table: "audit_log",
        id: "1",
        cols: "at, actor, address, action, target, detail",
        row: "'2019-06-30 00:00:00+00:00', 'admin', '10.0.0.1', 'user.disabled', 'clerk', ''",
        rewritten: "'2019-06-30 00:00:00+00:00', 'admin', '10.0.0.1', 'user.disabled', 'clerk', 'forged'",
        set: "detail = 'forged'",
        changed: "detail",
        other_keys: &[],
        fresh: "INSERT INTO audit_log (at, actor, address, action, target, detail) \
                VALUES ('2019-07-01 00:00:00+00:00', 'admin', NULL, 'user.enabled', 'clerk', '')",
    },
    AppendOnly {
        table: "payment_months",
        id: "1",
        cols: "contract_id, month, batch_id, amount_fen, payments, last_paid_on",
        row: "1, '2019-06', 1, 5100000, 1, '2019-06-30'",
        rewritten: "1, '2019-06', 1, 1, 1, '2019-06-30'",
        set: "amount_fen = 1",
        changed: "amount_fen",
        other_keys: &[(
            "contract_id, month, batch_id, amount_fen, payments, last_paid_on",
            "1, '2019-06', 1, 1, 1, '2019-06-30'",
        )],
        fresh: "INSERT INTO payment_months (contract_id, month, batch_id, amount_fen, payments, last_paid_on) \
                VALUES (1, '2019-07', 1, 7, 1, '2019-07-01')",
    },
    AppendOnly {
        table: "payment_days",
        id: "1",
        cols: "contract_id, day, batch_id, amount_fen, payments",
        row: "1, '2019-06-30', 1, 5100000, 1",
        rewritten: "1, '2019-06-30', 1, 1, 1",
        set: "amount_fen = 1",
        changed: "amount_fen",
        other_keys: &[(
            "contract_id, day, batch_id, amount_fen, payments",
            "1, '2019-06-30', 1, 1, 1",
        )],
        fresh: "INSERT INTO payment_days (contract_id, day, batch_id, amount_fen, payments) \
                VALUES (1, '2019-07-01', 1, 7, 1)",
    },
    AppendOnly {
        table: "budget_lines",
        id: "1",
        cols: "budget_year, code, name, funding, amount_fen, approval_doc, approval_date, batch_id, source_sheet, source_row",
        row: "2019, 'YS-1', 'n', 'budget', 100, '官财预1', '2019-01-20', 1, 's', 2",
        rewritten: "2019, 'YS-1', 'n', 'budget', 999, '官财预1', '2019-01-20', 1, 's', 2",
        set: "amount_fen = 999",
        changed: "amount_fen",
        other_keys: &[(
            "budget_year, code, name, funding, amount_fen, approval_doc, approval_date, batch_id, source_sheet, source_row",
            "2019, 'YS-1', 'n', 'budget', 999, '官财预1', '2019-01-20', 1, 's', 3",
        )],
        fresh: "INSERT INTO budget_lines (budget_year, code, name, funding, amount_fen, approval_doc, approval_date, adjusts_doc, batch_id, source_sheet, source_row) \
                VALUES (2019, 'YS-1', 'n', 'budget', -50, '官财调2', '2019-03-01', '官财预1', 1, 's', 3)",
    },
    // An attempt that has ended: a running one may still be given its end.
    AppendOnly {
        table: "import_attempts",
        id: "'a1'",
        cols: "file_name, file_size, sha256, actor, host, pid, boot_id, started_at, ended_at, outcome",
        row: "'f.xlsx', 10, 'ab', 'clerk', 'h', 1, 'b', '2026-11-30 00:00:00+00:00', '2026-11-30 00:01:00+00:00', 'rejected'",
        rewritten: "'f.xlsx', 10, 'ab', 'clerk', 'h', 1, 'b', '2026-11-30 00:00:00+00:00', '2026-11-30 00:01:00+00:00', 'committed'",
        set: "outcome = 'committed'",
        changed: "outcome",
        // Its key is text: the rowid is a key of its own.
        other_keys: &[(
            "rowid, id, file_name, file_size, sha256, actor, host, pid, boot_id, started_at, ended_at, outcome",
            "1, 'a9', 'f.xlsx', 10, 'ab', 'clerk', 'h', 1, 'b', '2026-11-30 00:00:00+00:00', '2026-11-30 00:01:00+00:00', 'committed'",
        )],
        fresh: "INSERT INTO import_attempts (id, file_name, file_size, sha256, actor, host, pid, boot_id, started_at) \
                VALUES ('a2', 'g.xlsx', 10, 'cd', 'clerk', 'h', 1, 'b', '2026-11-30 00:02:00+00:00')",
    },
    // A recorded evaluation is never edited: a correction is a new row.
    AppendOnly {
        table: "evaluations",
        id: "1",
        cols: "contract_id, kind, evaluated_on, score_centi, grade, revision, batch_id, source_sheet, source_row",
        row: "1, 'final', '2019-12-20', 5800, 'fail', 0, 1, 's', 2",
        rewritten: "1, 'final', '2019-12-20', 9500, 'excellent', 0, 1, 's', 2",
        set: "score_centi = 9500",
        changed: "score_centi",
        other_keys: &[(
            "contract_id, kind, evaluated_on, score_centi, grade, revision, batch_id, source_sheet, source_row",
            "1, 'final', '2019-12-20', 9500, 'excellent', 0, 1, 's', 3",
        )],
        fresh: "INSERT INTO evaluations (contract_id, kind, evaluated_on, score_centi, grade, replaces_id, revision, batch_id, source_sheet, source_row) \
                VALUES (1, 'final', '2019-12-20', 6800, 'pass', 1, 1, 1, 's', 3)",
    },
];

impl AppendOnly {
    /// Every statement that would rewrite or remove the row on `backend`.
    fn attacks(&self, postgres: bool) -> Vec<String> {
        let AppendOnly {
            table: t,
            id,
            cols,
            rewritten,
            set,
            ..
        } = self;
        let mut sql = vec![
            format!("UPDATE {t} SET {set} WHERE id = {id}"),
            format!("UPDATE {t} SET id = id WHERE id = {id}"),
            format!("DELETE FROM {t} WHERE id = {id}"),
            format!("DELETE FROM {t}"),
            format!("INSERT INTO {t} (id, {cols}) VALUES ({id}, {rewritten}) ON CONFLICT (id) DO UPDATE SET {set}"),
        ];
        if postgres {
            sql.push(format!("TRUNCATE {t}"));
            sql.push(format!("TRUNCATE {t} CASCADE"));
            sql.push(format!("MERGE INTO {t} USING (SELECT {id} AS k) AS s ON {t}.id = s.k WHEN MATCHED THEN UPDATE SET {set}"));
            sql.push(format!("MERGE INTO {t} USING (SELECT {id} AS k) AS s ON {t}.id = s.k WHEN MATCHED THEN DELETE"));
        } else {
            for verb in ["REPLACE", "INSERT OR REPLACE"] {
                sql.push(format!(
                    "{verb} INTO {t} (id, {cols}) VALUES ({id}, {rewritten})"
                ));
                for (other_cols, values) in self.other_keys {
                    sql.push(format!("{verb} INTO {t} ({other_cols}) VALUES ({values})"));
                }
            }
        }
        if *t == "disbursements" {
            sql.push(format!(
                "INSERT INTO {t} ({cols}) VALUES ({rewritten}) ON CONFLICT (contract_id, voucher) DO UPDATE SET {set}"
            ));
        }
        sql
    }

    /// The rows of the table as text: how many, the smallest id, and the changed column.
    fn fingerprint(&self) -> String {
        let AppendOnly {
            table: t, changed, ..
        } = self;
        format!(
            "SELECT CAST(COUNT(*) AS TEXT) || '|' || CAST(MIN(id) AS TEXT) || '|' || CAST(MIN({changed}) AS TEXT) FROM {t}"
        )
    }
}

async fn text_on(db: &impl ConnectionTrait, sql: &str) -> String {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// Tries every attack on every append-only table through `db`, each refused with the row
/// left as it was.
async fn every_rewrite_is_refused(db: &impl ConnectionTrait, postgres: bool, label: &str) {
    for table in &APPEND_ONLY {
        let before = text_on(db, &table.fingerprint()).await;
        for sql in table.attacks(postgres) {
            let result = db.execute_unprepared(&sql).await;
            assert!(result.is_err(), "{label}: {sql} should be refused");
            assert_eq!(
                text_on(db, &table.fingerprint()).await,
                before,
                "{label}: {sql}"
            );
        }
    }
}

both_backends! {
    async fn append_only_tables_refuse_every_statement_that_rewrites_or_removes_a_row(t: &TestDb) {
        seed(t).await;
        for table in &APPEND_ONLY {
            let AppendOnly { table: name, id, cols, row, .. } = table;
            // A serial id is left to its sequence, which then goes on from it on PostgreSQL.
            let sql = if *id == "1" {
                format!("INSERT INTO {name} ({cols}) VALUES ({row})")
            } else {
                format!("INSERT INTO {name} (id, {cols}) VALUES ({id}, {row})")
            };
            exec(t, &sql).await.unwrap();
        }
        let postgres = is_postgres(&t.db);
        every_rewrite_is_refused(&t.db, postgres, t.backend()).await;

        if !postgres {
            // procure's own connections fire DELETE triggers for REPLACE...
            assert_eq!(scalar_i64(t, "SELECT recursive_triggers FROM pragma_recursive_triggers").await, 1);
            // ...and one opened as any other tool opens the file, where they do not, is
            // refused by the schema alone.
            let other = sea_orm::Database::connect(t.url.as_str()).await.unwrap();
            let off = other
                .query_one_raw(Statement::from_string(DbBackend::Sqlite, "SELECT recursive_triggers FROM pragma_recursive_triggers"))
                .await.unwrap().unwrap().try_get_by_index::<i64>(0).unwrap();
            assert_eq!(off, 0);
            every_rewrite_is_refused(&other, false, "sqlite without recursive_triggers").await;
            other.close().await.unwrap();
        }

        // New rows are still welcome.
        for table in &APPEND_ONLY {
            exec(t, table.fresh).await.unwrap_or_else(|e| panic!("{}: {e}", table.fresh));
            assert_eq!(scalar_i64(t, &format!("SELECT COUNT(*) FROM {}", table.table)).await, 2);
        }
    }
}

both_backends! {
    async fn every_amount_column_is_an_integer(t: &TestDb) {
        let cols = [("contracts", "value_fen"), ("disbursements", "amount_fen"), ("budget_lines", "amount_fen")];
        for (table, col) in cols {
            let ty: String = match t.db.get_database_backend() {
                DbBackend::Postgres => {
                    let row = t.db.query_one_raw(Statement::from_string(DbBackend::Postgres, format!(
                        "SELECT data_type FROM information_schema.columns WHERE table_name = '{table}' AND column_name = '{col}'"))).await.unwrap().unwrap();
                    row.try_get_by_index(0).unwrap()
                }
                _ => {
                    let row = t.db.query_one_raw(Statement::from_string(DbBackend::Sqlite, format!(
                        "SELECT type FROM pragma_table_info('{table}') WHERE name = '{col}'"))).await.unwrap().unwrap();
                    row.try_get_by_index(0).unwrap()
                }
            };
            let ty = ty.to_lowercase();
            assert!(ty == "bigint" || ty == "integer", "{table}.{col} is {ty}");
        }
    }
}

both_backends! {
    async fn the_schema_version_is_the_newest_migration(t: &TestDb) {
        let v = procure::db::schema_version(&t.db).await.unwrap();
        assert_eq!(v, Some(common::newest_migration()));
        assert_eq!(v.as_deref(), Some("m20261204_000001_drop_paid_on_index"));
        // migrating again is a no-op
        procure::db::migrate(&t.db).await.unwrap();
    }
}

both_backends! {
    async fn an_import_attempt_ends_once_and_is_never_deleted(t: &TestDb) {
        exec(t, "INSERT INTO import_attempts (id, file_name, file_size, sha256, actor, host, pid, boot_id, started_at) \
                 VALUES ('a1', 'f.xlsx', 10, 'ab', 'clerk', 'h', 1, 'b', '2026-11-30 00:00:00+00:00')").await.unwrap();
        // A running attempt gets its end...
        exec(t, "UPDATE import_attempts SET ended_at = '2026-11-30 00:01:00+00:00', outcome = 'rejected' WHERE id = 'a1'").await.unwrap();
        // ...once: an ended attempt cannot change, nor can any be deleted.
        for sql in [
            "UPDATE import_attempts SET outcome = 'committed' WHERE id = 'a1'",
            "UPDATE import_attempts SET ended_at = NULL WHERE id = 'a1'",
            "DELETE FROM import_attempts WHERE id = 'a1'",
            "DELETE FROM import_attempts",
        ] {
            assert!(exec(t, sql).await.is_err(), "{sql} should be refused by the database");
        }
        exec(t, "INSERT INTO import_attempts (id, file_name, file_size, sha256, actor, host, pid, boot_id, started_at) \
                 VALUES ('a2', 'g.xlsx', 10, 'cd', 'clerk', 'h', 1, 'b', '2026-11-30 00:00:00+00:00')").await.unwrap();
        assert!(exec(t, "DELETE FROM import_attempts WHERE id = 'a2'").await.is_err(), "a running attempt cannot be deleted either");
        if is_postgres(&t.db) {
            assert!(exec(t, "TRUNCATE import_attempts").await.is_err());
        }
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM import_attempts WHERE outcome = 'rejected'").await, 1);
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM import_attempts").await, 2);
    }
}
