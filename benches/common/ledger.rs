//! A ledger of N payments made in SQL, so that building it is not what a benchmark measures:
//! 1,000 contracts over four categories, payments spread over 2017-2020.

use sea_orm::{ConnectionTrait, DatabaseConnection};

pub const CONTRACTS: i64 = 1000;

pub async fn fill(db: &DatabaseConnection, n: i64, postgres: bool) {
    db.execute_unprepared("INSERT INTO import_batches (file_name, file_size, sha256, kind, actor, recorded_at, rows_read, inserted, updated, unchanged, warnings, status) VALUES ('bench', 0, '', 'bench', 'bench', '2019-01-01 00:00:00+00:00', 0, 0, 0, 0, 0, 'committed')").await.unwrap();
    db.execute_unprepared(
        "INSERT INTO providers (name, batch_id, source_sheet, source_row) VALUES ('p', 1, 's', 1)",
    )
    .await
    .unwrap();
    let seq = |limit: i64| {
        if postgres {
            format!("SELECT n FROM generate_series(1, {limit}) AS n")
        } else {
            format!("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {limit}) SELECT n FROM seq")
        }
    };
    let date = |expr: &str| {
        if postgres {
            format!("DATE '2017-01-01' + ({expr})::int")
        } else {
            format!("date('2017-01-01', '+' || ({expr}) || ' days')")
        }
    };
    db.execute_unprepared(&format!(
        "INSERT INTO contracts (code, title, category, provider_id, provider_name, value_fen, signed_on, start_on, end_on, status, batch_id, source_sheet, source_row, updated_batch_id) \
         SELECT 'C' || n, 't', CASE n % 4 WHEN 0 THEN 'elderly' WHEN 1 THEN 'youth' WHEN 2 THEN 'disability' ELSE 'relief' END, 1, 'p', 900000000000, {d}, {d}, {e}, 'active', 1, 's', n, 1 FROM ({s}) AS q",
        d = date("n % 365"),
        e = date("n % 365 + 1400"),
        s = seq(CONTRACTS)
    ))
    .await
    .unwrap();
    db.execute_unprepared(&format!(
        "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, batch_id, source_sheet, source_row) \
         SELECT 1 + n % {CONTRACTS}, {d}, 100 + n % 99991, 'V' || n, 1, 's', n FROM ({s}) AS q",
        d = date("n % 1400"),
        s = seq(n)
    ))
    .await
    .unwrap();
    // The monthly and daily sums an import writes beside its payments.
    let month = procure::db::sql::month_expr(db.get_database_backend(), "paid_on");
    db.execute_unprepared(&format!(
        "INSERT INTO payment_months (contract_id, month, batch_id, amount_fen, payments, last_paid_on) \
         SELECT contract_id, {month}, batch_id, SUM(amount_fen), COUNT(*), MAX(paid_on) \
         FROM disbursements GROUP BY contract_id, {month}, batch_id"
    ))
    .await
    .unwrap();
    db.execute_unprepared(
        "INSERT INTO payment_days (contract_id, day, batch_id, amount_fen, payments) \
         SELECT contract_id, paid_on, batch_id, SUM(amount_fen), COUNT(*) \
         FROM disbursements GROUP BY contract_id, paid_on, batch_id",
    )
    .await
    .unwrap();
    if postgres {
        db.execute_unprepared("ANALYZE").await.unwrap();
    }
}

/// A new, empty database `name` on the PostgreSQL server of `server` (dropped first if a
/// run left it behind); returns its URL.
pub fn fresh_postgres(server: &str, name: &str) -> String {
    for sql in [
        format!("DROP DATABASE IF EXISTS {name}"),
        format!("CREATE DATABASE {name}"),
    ] {
        let _ = std::process::Command::new("psql")
            .args([server, "-qc", &sql])
            .output();
    }
    format!("{}/{name}", &server[..server.rfind('/').unwrap()])
}
