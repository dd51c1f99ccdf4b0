//! The ledger schema keeps money exact and rejects what it must, on both backends.

mod common;

use common::TestDb;
use procure::Money;
use sea_orm::{ConnectionTrait, DbBackend, Statement};

async fn exec(t: &TestDb, sql: &str) -> Result<(), sea_orm::DbErr> {
    t.db.execute_unprepared(sql).await.map(|_| ())
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
            let fen = Money::parse(a).unwrap().to_fen().unwrap();
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
        assert!(exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (999, '2019-06-30', 1, 'X', 1, 's', 2)").await.is_err());
        assert!(exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (1, '2019-06-30', 1, 'X', 999, 's', 2)").await.is_err());
        assert!(exec(t, "INSERT INTO service_reports (contract_id, period_start, period_end, period_label, batch_id, source_sheet, source_row) VALUES (999, '2019-06-01', '2019-06-30', '2019-06', 1, 's', 2)").await.is_err());
        assert!(exec(t, "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
             VALUES ('C2', 't', 'elderly', 999, 'x', 1, '2019-01-01', '2019-12-31', 'active', 1, 's', 3, 1)").await.is_err());
        assert!(exec(t, "DELETE FROM contracts WHERE id = 1").await.is_ok(), "no payment refers to it yet");
    }
}

both_backends! {
    async fn payments_and_history_are_append_only(t: &TestDb) {
        seed(t).await;
        exec(t, "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) VALUES (1, '2019-06-30', 100, 'PZ-1', 1, 's', 2)").await.unwrap();
        assert!(exec(t, "UPDATE disbursements SET amount_fen = 1").await.is_err());
        assert!(exec(t, "DELETE FROM disbursements").await.is_err());
        exec(t, "INSERT INTO change_history (batch_id, entity, record_id, record_key, field, old_value, new_value, actor, changed_at) VALUES (1, 'contract', 1, 'C1', 'title', 'a', 'b', 'test', '2019-06-30 00:00:00+00:00')").await.unwrap();
        assert!(exec(t, "UPDATE change_history SET new_value = 'c'").await.is_err());
        assert!(exec(t, "DELETE FROM change_history").await.is_err());
        assert_eq!(scalar_i64(t, "SELECT COUNT(*) FROM change_history").await, 1);
    }
}

both_backends! {
    async fn every_amount_column_is_an_integer(t: &TestDb) {
        let cols = [("contracts", "value_fen"), ("disbursements", "amount_fen")];
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
        assert_eq!(v.as_deref(), Some("m20261128_000002_access"));
        // migrating again is a no-op
        procure::db::migrate(&t.db).await.unwrap();
    }
}
