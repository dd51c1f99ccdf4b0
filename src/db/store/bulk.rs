//! Bulk writing: multi-row INSERTs whose text is written once per chunk size, and on
//! PostgreSQL payments sent as one array per column. Never one round trip per row.

use sea_orm::{ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, Statement, Value};

use crate::db::sql::is_postgres;

/// Rows per multi-row INSERT: under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
const PARAMS_PER_STATEMENT: usize = 30_000;
/// Payments per INSERT on PostgreSQL (see `insert_payments`).
pub(super) const PG_PAYMENTS_PER_STATEMENT: usize = 30_000;

/// Multi-row INSERTs in chunks; never one round trip per row.
pub async fn bulk_insert(
    txn: &impl ConnectionTrait,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), DbErr> {
    let per = rows_per_statement(cols.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let values: Vec<Value> = rows.by_ref().take(per).flatten().collect();
        insert_values(txn, table, cols, values).await?;
    }
    Ok(())
}

pub(super) fn rows_per_statement(cols: usize) -> usize {
    (PARAMS_PER_STATEMENT / cols).max(1)
}

/// One multi-row INSERT of `values`, row after row, `cols.len()` to a row. The statement's
/// text is written here rather than by sea-query's builder: for a 3,000-row chunk building
/// the query tree and copying every value into it cost as much as SQLite's insert itself,
/// and the text is the same for every full chunk, so the driver's statement cache prepares
/// it once.
pub(super) async fn insert_values(
    txn: &impl ConnectionTrait,
    table: &str,
    cols: &[&str],
    values: Vec<Value>,
) -> Result<(), DbErr> {
    if values.is_empty() {
        return Ok(());
    }
    debug_assert_eq!(values.len() % cols.len(), 0);
    let backend = txn.get_database_backend();
    let sql = insert_sql(backend, table, cols, values.len() / cols.len());
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

fn insert_sql(backend: DbBackend, table: &str, cols: &[&str], rows: usize) -> String {
    use std::fmt::Write;
    let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    let mut sql = format!("INSERT INTO \"{table}\" ({}) VALUES ", quoted.join(", "));
    sql.reserve(rows * cols.len() * 8);
    let mut n = 0usize;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                DbBackend::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

pub(super) const PAYMENT_COLS: [&str; 10] = [
    "contract_id",
    "paid_on",
    "amount_fen",
    "voucher",
    "tranche",
    "note",
    "reverses_id",
    "batch_id",
    "source_sheet",
    "source_row",
];

/// Writes payments given as `payment_values` rows. On PostgreSQL as one array per column,
/// expanded by `unnest`: ten parameters a statement instead of ten a row, which the server
/// binds and plans in a fraction of the time of a 3,000-row VALUES list, and whose size is
/// then free (`PG_PAYMENTS_PER_STATEMENT`). Measured at 100,000 payments, time spent writing:
/// 1.88 s as VALUES lists, 1.53 s as arrays of 3,000 rows, 1.07-1.28 s of 10,000 rows,
/// 0.88-1.02 s of 30,000 rows. The columns are never NULL here but for `tranche` and `note` (sent
/// as '' for NULL: the parser never gives an empty text) and `reverses_id` (reversals are
/// written by `insert_values`).
pub(super) async fn insert_payments(
    txn: &DatabaseTransaction,
    values: Vec<Value>,
) -> Result<(), DbErr> {
    if !is_postgres(txn) {
        return insert_values(txn, "disbursements", &PAYMENT_COLS, values).await;
    }
    let n = values.len() / PAYMENT_COLS.len();
    let mut contract_id = Vec::with_capacity(n);
    let mut paid_on = Vec::with_capacity(n);
    let mut amount_fen = Vec::with_capacity(n);
    let mut voucher = Vec::with_capacity(n);
    let mut tranche = Vec::with_capacity(n);
    let mut note = Vec::with_capacity(n);
    let mut batch_id = Vec::with_capacity(n);
    let mut source_sheet = Vec::with_capacity(n);
    let mut source_row = Vec::with_capacity(n);
    let mut it = values.into_iter();
    while let Some(first) = it.next() {
        let mut next = || {
            it.next()
                .ok_or_else(|| DbErr::Custom("short payment row".into()))
        };
        let row = [
            first,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
        ];
        let [c, p, a, v, t, no, r, b, ss, sr] = row;
        match (c, p, a, v, r, b, ss, sr) {
            (
                Value::BigInt(Some(c)),
                Value::ChronoDate(Some(p)),
                Value::BigInt(Some(a)),
                Value::String(Some(v)),
                Value::BigInt(None),
                Value::BigInt(Some(b)),
                Value::String(Some(ss)),
                Value::BigInt(Some(sr)),
            ) => {
                contract_id.push(c);
                paid_on.push(p);
                amount_fen.push(a);
                voucher.push(v);
                batch_id.push(b);
                source_sheet.push(ss);
                source_row.push(sr);
            }
            other => return Err(DbErr::Custom(format!("unexpected payment row {other:?}"))),
        }
        for (col, val) in [(&mut tranche, t), (&mut note, no)] {
            match val {
                Value::String(Some(s)) => col.push(s),
                Value::String(None) => col.push(String::new()),
                other => return Err(DbErr::Custom(format!("unexpected payment text {other:?}"))),
            }
        }
    }
    let sql = "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, tranche, note, \
               reverses_id, batch_id, source_sheet, source_row) \
               SELECT c, p, a, v, NULLIF(t, ''), NULLIF(n, ''), NULL, b, ss, sr \
               FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::text[], $5::text[], \
               $6::text[], $7::bigint[], $8::text[], $9::bigint[]) AS u(c, p, a, v, t, n, b, ss, sr)";
    let values = vec![
        Value::from(contract_id),
        Value::from(paid_on),
        Value::from(amount_fen),
        Value::from(voucher),
        Value::from(tranche),
        Value::from(note),
        Value::from(batch_id),
        Value::from(source_sheet),
        Value::from(source_row),
    ];
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_statement_names_the_columns_once_and_numbers_placeholders_for_postgres() {
        assert_eq!(
            insert_sql(DbBackend::Sqlite, "t", &["a", "b"], 2),
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            insert_sql(DbBackend::Postgres, "t", &["a", "b"], 2),
            "INSERT INTO \"t\" (\"a\", \"b\") VALUES ($1, $2), ($3, $4)"
        );
    }

    #[test]
    fn a_statement_stays_under_both_engines_parameter_limits() {
        assert_eq!(rows_per_statement(10) * 10, 30_000);
        assert_eq!(rows_per_statement(7), 4_285);
        assert_eq!(rows_per_statement(40_000), 1);
    }
}
