//! The SQL helpers every raw query shares: placeholders written for the backend, a column
//! read by name, the month of a date column on either engine.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult, Statement, Value};

/// Writes `?` placeholders as PostgreSQL's `$n` where needed.
pub fn stmt(backend: DbBackend, sql: &str, values: Vec<Value>) -> Statement {
    let sql = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(sql.len() + 8);
        let mut n = 0;
        for ch in sql.chars() {
            if ch == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(ch);
            }
        }
        out
    } else {
        sql.to_string()
    };
    Statement::from_sql_and_values(backend, sql, values)
}

/// `YYYY-MM` of a date column, on either backend.
pub fn month_expr(backend: DbBackend, col: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("to_char({col}, 'YYYY-MM')"),
        _ => format!("substr({col}, 1, 7)"),
    }
}

/// A column of a raw query's row, by name.
pub fn get<T: sea_orm::TryGetable>(r: &QueryResult, col: &str) -> Result<T, DbErr> {
    r.try_get("", col)
}

/// Whether the connection is PostgreSQL (otherwise the embedded SQLite).
pub fn is_postgres(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}
