//! One writer at a time on SQLite: a write request waits for an import this server is
//! running, instead of failing behind it.
//!
//! SQLite has one write lock per database file, and an import holds it from its first row
//! to its commit, all-or-nothing. A sign-in, a session's end or a new preview that arrives
//! meanwhile would wait in SQLite's busy handler, and fail with "database is locked" once
//! the busy timeout (30 s) ran out, however small it is. So on SQLite the server keeps its
//! own turn: every request that may write (any method but GET and HEAD) takes a shared turn
//! before its handler runs, and an import takes the turn alone. A write that arrives during
//! an import waits for the import to end, then runs and succeeds; only if the import outlasts
//! [`WebConfig::write_wait`](super::state::WebConfig) is it answered 503 `database_busy`,
//! with `Retry-After`, in the reader's language.
//!
//! An import run by another process (`procure import` beside a running server) is not
//! seen here; SQLite's busy timeout covers it, with the same 503 after it. PostgreSQL locks
//! rows, not the database: there the turn is never taken.
//!
//! A request that itself imports (an upload's check, a commit) holds a shared turn from the
//! access check on; it gives that up before it takes the turn alone, or it would wait for
//! itself. The shared turn travels with the request's task ([`TURN`]), so no handler has to
//! pass it along.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Mutex, OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock};

use super::error::{ErrorCode, WebError};

tokio::task_local! {
    /// The shared turn of the request this task is serving, if it took one.
    static TURN: Arc<Mutex<Option<OwnedRwLockReadGuard<()>>>>;
}

/// The server's turn to write to a SQLite database.
#[derive(Debug)]
pub struct WriteGate {
    lock: Arc<RwLock<()>>,
    /// Whether there is a turn to keep: SQLite only.
    keep: bool,
    /// How long a write waits for an import before it is told to try again.
    wait: Duration,
}

/// An import's turn alone; the others' writes wait until it is dropped.
pub struct Exclusive(#[allow(dead_code)] Option<OwnedRwLockWriteGuard<()>>);

impl WriteGate {
    pub fn new(sqlite: bool, wait: Duration) -> WriteGate {
        WriteGate {
            lock: Arc::new(RwLock::new(())),
            keep: sqlite,
            wait,
        }
    }

    /// Runs a request that may write within a shared turn: after any import in progress,
    /// or, when that takes longer than the configured wait, not at all (503).
    pub async fn shared<F: std::future::Future>(&self, work: F) -> Result<F::Output, WebError> {
        if !self.keep {
            return Ok(work.await);
        }
        let turn = tokio::time::timeout(self.wait, self.lock.clone().read_owned())
            .await
            .map_err(|_| {
                tracing::warn!(
                    wait_secs = self.wait.as_secs(),
                    "a write waited out its turn behind an import"
                );
                WebError::from(ErrorCode::DatabaseBusy)
            })?;
        Ok(TURN.scope(Arc::new(Mutex::new(Some(turn))), work).await)
    }

    /// The turn alone, for an import: once writes already running have ended. The calling
    /// request's own shared turn is given up first.
    pub async fn exclusive(&self) -> Exclusive {
        if !self.keep {
            return Exclusive(None);
        }
        if let Ok(own) = TURN.try_with(Arc::clone) {
            own.lock().await.take();
        }
        Exclusive(Some(self.lock.clone().write_owned().await))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_write_waits_for_an_import_and_then_runs() {
        let gate = Arc::new(WriteGate::new(true, Duration::from_secs(5)));
        let import = gate.exclusive().await;
        let g = gate.clone();
        let write = tokio::spawn(async move { g.shared(async { "saved" }).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !write.is_finished(),
            "the write waits while the import runs"
        );
        drop(import);
        assert_eq!(write.await.unwrap().unwrap(), "saved");
    }

    #[tokio::test]
    async fn a_write_behind_an_import_longer_than_the_wait_is_told_to_retry() {
        let gate = WriteGate::new(true, Duration::from_millis(20));
        let _import = gate.exclusive().await;
        let err = gate.shared(async {}).await.unwrap_err();
        assert_eq!(err.code, ErrorCode::DatabaseBusy);
    }

    #[tokio::test]
    async fn a_request_that_imports_gives_up_its_own_turn_first() {
        let gate = WriteGate::new(true, Duration::from_secs(5));
        let imported = tokio::time::timeout(
            Duration::from_secs(2),
            gate.shared(async {
                let _alone = gate.exclusive().await;
                "imported"
            }),
        )
        .await
        .expect("no waiting for itself");
        assert_eq!(imported.unwrap(), "imported");
    }

    #[tokio::test]
    async fn on_postgresql_nothing_waits() {
        let gate = WriteGate::new(false, Duration::from_millis(1));
        let _import = gate.exclusive().await;
        assert!(gate.shared(async {}).await.is_ok());
    }
}
