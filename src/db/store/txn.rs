//! The transaction an import writes in. Everything but payments goes through sea-orm as
//! everywhere else; on PostgreSQL the payments go in by `COPY ... FROM STDIN`, the server's
//! own bulk load, which needs the driver's connection itself. sea-orm 2.0 keeps a
//! `DatabaseTransaction`'s connection to itself (`InnerConnection` is crate-private), so an
//! import on PostgreSQL opens its transaction with sqlx on a connection of the same pool and
//! runs sea-orm's statements on it through [`ConnectionTrait`], which any connection may
//! implement: the same statements, the same rows and errors, one transaction.
//!
//! A dry run (a preview's check, `--dry-run`) nests in an outer sea-orm transaction and keeps
//! sea-orm's: it is rolled back, and its payments go in as arrays (`bulk::insert_payments`).

use std::sync::Arc;

use sea_orm::sqlx::{self, PgPool, Postgres};
use sea_orm::{
    ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, ExecResult, QueryResult, RuntimeErr,
    Statement,
};
use sea_query_sqlx::SqlxValues;

/// An import's transaction: sea-orm's, or on PostgreSQL one that can also `COPY`.
pub enum ImportTxn {
    Orm(DatabaseTransaction),
    Pg(PgTxn),
}

/// A PostgreSQL transaction held by sqlx: rolled back if dropped before its commit, as
/// sea-orm's is.
pub struct PgTxn {
    conn: tokio::sync::Mutex<sqlx::Transaction<'static, Postgres>>,
}

fn exec_err(e: sqlx::Error) -> DbErr {
    DbErr::Exec(RuntimeErr::SqlxError(Arc::new(e)))
}

fn query_err(e: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(e)))
}

/// sea-orm's statement as sqlx's query, values bound the way sea-orm binds them.
fn query(stmt: &Statement) -> sqlx::query::Query<'_, Postgres, SqlxValues> {
    let values = stmt
        .values
        .clone()
        .unwrap_or_else(|| sea_orm::Values(Vec::new()));
    sqlx::query_with(sqlx::AssertSqlSafe(stmt.sql.as_str()), SqlxValues(values))
}

impl PgTxn {
    pub async fn begin(pool: &PgPool) -> Result<PgTxn, DbErr> {
        let t = pool
            .begin()
            .await
            .map_err(|e| DbErr::Conn(RuntimeErr::SqlxError(Arc::new(e))))?;
        Ok(PgTxn {
            conn: tokio::sync::Mutex::new(t),
        })
    }

    /// Sends `data`, rows in COPY's text format, to `COPY {target} FROM STDIN`; returns the
    /// rows the server took.
    pub async fn copy_in(&self, target: &str, data: &[u8]) -> Result<u64, DbErr> {
        self.copy_in_parts(target, std::iter::once(data)).await
    }

    /// One `COPY {target} FROM STDIN` of the parts as they are made: the server stores each
    /// part while the next one is written.
    pub async fn copy_in_parts<P: std::ops::Deref<Target = [u8]>>(
        &self,
        target: &str,
        parts: impl Iterator<Item = P>,
    ) -> Result<u64, DbErr> {
        let mut conn = self.conn.lock().await;
        let mut copy = conn
            .copy_in_raw(&format!("COPY {target} FROM STDIN"))
            .await
            .map_err(exec_err)?;
        for part in parts {
            if let Err(e) = copy.send(part).await {
                // The server is told the copy failed, so the connection stays usable for the
                // rollback that follows.
                let _ = copy.abort(e.to_string()).await;
                return Err(exec_err(e));
            }
        }
        copy.finish().await.map_err(exec_err)
    }
}

impl ImportTxn {
    pub async fn commit(self) -> Result<(), DbErr> {
        match self {
            ImportTxn::Orm(t) => t.commit().await,
            ImportTxn::Pg(t) => t.conn.into_inner().commit().await.map_err(exec_err),
        }
    }

    pub async fn rollback(self) -> Result<(), DbErr> {
        match self {
            ImportTxn::Orm(t) => t.rollback().await,
            ImportTxn::Pg(t) => t.conn.into_inner().rollback().await.map_err(exec_err),
        }
    }
}

#[async_trait::async_trait]
impl ConnectionTrait for ImportTxn {
    fn get_database_backend(&self) -> DbBackend {
        match self {
            ImportTxn::Orm(t) => t.get_database_backend(),
            ImportTxn::Pg(_) => DbBackend::Postgres,
        }
    }

    async fn execute_raw(&self, stmt: Statement) -> Result<ExecResult, DbErr> {
        match self {
            ImportTxn::Orm(t) => t.execute_raw(stmt).await,
            ImportTxn::Pg(t) => {
                let mut conn = t.conn.lock().await;
                let done = query(&stmt).execute(&mut **conn).await;
                done.map(Into::into).map_err(exec_err)
            }
        }
    }

    async fn execute_unprepared(&self, sql: &str) -> Result<ExecResult, DbErr> {
        match self {
            ImportTxn::Orm(t) => t.execute_unprepared(sql).await,
            ImportTxn::Pg(t) => {
                let mut conn = t.conn.lock().await;
                let done = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                    .execute(&mut **conn)
                    .await;
                done.map(Into::into).map_err(exec_err)
            }
        }
    }

    async fn query_one_raw(&self, stmt: Statement) -> Result<Option<QueryResult>, DbErr> {
        match self {
            ImportTxn::Orm(t) => t.query_one_raw(stmt).await,
            ImportTxn::Pg(t) => {
                let mut conn = t.conn.lock().await;
                let row = query(&stmt).fetch_optional(&mut **conn).await;
                row.map(|r| r.map(Into::into)).map_err(query_err)
            }
        }
    }

    async fn query_all_raw(&self, stmt: Statement) -> Result<Vec<QueryResult>, DbErr> {
        match self {
            ImportTxn::Orm(t) => t.query_all_raw(stmt).await,
            ImportTxn::Pg(t) => {
                let mut conn = t.conn.lock().await;
                let rows = query(&stmt).fetch_all(&mut **conn).await;
                rows.map(|r| r.into_iter().map(Into::into).collect())
                    .map_err(query_err)
            }
        }
    }
}
