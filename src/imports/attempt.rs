//! An import attempt: its row in `import_attempts` and its records in the audit trail, from its
//! start to its one end; and the recovery of attempts whose process died before their end.
//!
//! The table is what recovery reads; the audit records are for the auditors, and nothing
//! reads their text.

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction, DbErr, EntityTrait,
    QueryFilter, QueryOrder, Set, TransactionTrait,
};

use super::decision::{stored_detail, Ending, Outcome};
use crate::audit::{self, Actor};
use crate::db::store::Counts;
use crate::entities::import_attempt;

/// An import that has recorded its start and not yet its end.
pub struct Attempt {
    id: String,
    who: Actor,
    file: String,
    size: u64,
    sha256: String,
}

impl Attempt {
    /// Records the start, in a transaction of its own that commits before the import's opens,
    /// so that it stays whatever becomes of the import: one killed before its end is found by
    /// [`recover_interrupted`].
    pub async fn begin<C: TransactionTrait<Transaction = DatabaseTransaction>>(
        db: &C,
        who: Actor,
        file: &str,
        size: u64,
        sha256: &str,
    ) -> Result<Attempt, DbErr> {
        let attempt = Attempt {
            id: crate::crypto::secret()[..16].to_string(),
            who,
            file: file.to_string(),
            size,
            sha256: sha256.to_string(),
        };
        let process = Process::current();
        let t = db.begin().await?;
        import_attempt::Entity::insert(import_attempt::ActiveModel {
            id: Set(attempt.id.clone()),
            file_name: Set(attempt.file.clone()),
            file_size: Set(size as i64),
            sha256: Set(attempt.sha256.clone()),
            actor: Set(attempt.who.name.clone()),
            address: Set(attempt.who.address.clone()),
            host: Set(process.host.clone()),
            pid: Set(i64::from(process.pid)),
            boot_id: Set(process.boot_id.clone()),
            process_start: Set(process.start.map(|s| s as i64)),
            started_at: Set(Utc::now()),
            ended_at: Set(None),
            outcome: Set(None),
            batch_id: Set(None),
        })
        .exec_without_returning(&t)
        .await?;
        audit::record(
            &t,
            &attempt.who,
            "import.started",
            &attempt.target(),
            &format!("{} [{}]", attempt.what(), process.tag()),
        )
        .await?;
        t.commit().await?;
        Ok(attempt)
    }

    /// Ends the attempt with its batch, inside the import's own transaction: the batch and the
    /// end are committed together or not at all.
    pub async fn commit(
        &self,
        txn: &impl ConnectionTrait,
        batch_id: i64,
        total: &Counts,
    ) -> Result<(), DbErr> {
        audit::record(
            txn,
            &self.who,
            "import",
            &format!("batch {batch_id}"),
            &stored_detail(&self.file, self.size, &self.sha256, total, &self.id),
        )
        .await?;
        end(txn, &self.id, Outcome::Committed, Some(batch_id)).await?;
        Ok(())
    }

    /// Ends the attempt without a batch, in a transaction of its own (the import's was rolled
    /// back). An attempt that has ended already is left as it ended.
    pub async fn finish<C: TransactionTrait<Transaction = DatabaseTransaction>>(
        &self,
        db: &C,
        ending: &Ending,
    ) -> Result<(), DbErr> {
        let t = db.begin().await?;
        if end(&t, &self.id, ending.outcome, None).await? {
            audit::record(
                &t,
                &self.who,
                "import.finished",
                &self.target(),
                &ending.detail,
            )
            .await?;
        }
        t.commit().await
    }

    /// The import failed on the database: recording that may fail too, and the import's own
    /// error is the one to report.
    pub async fn fail<C: TransactionTrait<Transaction = DatabaseTransaction>>(
        &self,
        db: &C,
        error: &impl std::fmt::Display,
    ) {
        let _ = self.finish(db, &Ending::failed(error)).await;
    }

    fn target(&self) -> String {
        format!("attempt {}", self.id)
    }

    fn what(&self) -> String {
        what(&self.file, self.size, &self.sha256)
    }
}

fn what(file: &str, size: u64, sha256: &str) -> String {
    format!("{file} ({size} bytes, sha256 {sha256})")
}

/// Records an attempt's end, unless it has one already; whether it did.
async fn end(
    db: &impl ConnectionTrait,
    id: &str,
    outcome: Outcome,
    batch_id: Option<i64>,
) -> Result<bool, DbErr> {
    use import_attempt::Column;
    let r = import_attempt::Entity::update_many()
        .col_expr(Column::EndedAt, Expr::value(Utc::now()))
        .col_expr(Column::Outcome, Expr::value(outcome.as_str()))
        .col_expr(Column::BatchId, Expr::value(batch_id))
        .filter(Column::Id.eq(id))
        .filter(Column::EndedAt.is_null())
        .exec(db)
        .await?;
    Ok(r.rows_affected == 1)
}

/// A process that runs imports. The boot id and the process's start time tell a live process
/// from a later one given the same pid (after a restart, in a container where the server is
/// always pid 1).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Process {
    host: String,
    pid: u32,
    boot_id: String,
    /// Clock ticks since boot; `None` without /proc.
    start: Option<u64>,
}

impl Process {
    fn current() -> Process {
        let pid = std::process::id();
        Process {
            host: host_name(),
            pid,
            boot_id: boot_id(),
            start: start_time(pid),
        }
    }

    /// `host H boot B pid P start S`, as the audit trail writes it.
    fn tag(&self) -> String {
        format!(
            "host {} boot {} pid {} start {}",
            self.host,
            self.boot_id,
            self.pid,
            self.start.unwrap_or_default()
        )
    }

    /// Whether it is still running: same boot, and a process with that pid that started at
    /// the same moment.
    fn alive(&self) -> bool {
        if self.boot_id != boot_id() {
            return false;
        }
        match (self.start, start_time(self.pid)) {
            (Some(recorded), Some(now)) => recorded == now,
            (Some(_), None) => false,
            // Recorded without /proc: there is no telling, so never call it interrupted.
            (None, _) => true,
        }
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .map(|b| b.trim().to_string())
        .unwrap_or_default()
}

/// A process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it are plain.
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(19)?
        .parse()
        .ok()
}

/// Finds imports started on this host by a process that is gone (killed, or the machine lost
/// power) without recording how they ended, and records each as interrupted, in its attempt
/// row and in the audit trail. Their transactions were never committed, so the database holds
/// nothing of them; this makes the import list say what happened. Imports of live processes,
/// here or on other hosts, are left alone (they may be running or waiting for their turn);
/// each host's servers and commands recover their own when they start.
pub async fn recover_interrupted(db: &DatabaseConnection) -> Result<u64, DbErr> {
    use import_attempt::Column;
    let open = import_attempt::Entity::find()
        .filter(Column::EndedAt.is_null())
        .filter(Column::Host.eq(host_name()))
        .order_by_asc(Column::StartedAt)
        .order_by_asc(Column::Id)
        .all(db)
        .await?;
    let mut n = 0;
    for a in open {
        let process = Process {
            host: a.host.clone(),
            pid: u32::try_from(a.pid).unwrap_or(0),
            boot_id: a.boot_id.clone(),
            start: a.process_start.and_then(|s| u64::try_from(s).ok()),
        };
        if process.alive() {
            continue;
        }
        let who = Actor {
            name: a.actor.clone(),
            address: a.address.clone(),
        };
        let txn = db.begin().await?;
        // Another server of this host may have recovered it meanwhile: it is recorded once.
        let ended = end(&txn, &a.id, Outcome::Interrupted, None).await?;
        if ended {
            audit::record(
                &txn,
                &who,
                "import.interrupted",
                &format!("attempt {}", a.id),
                &format!(
                    "{} [{}]: the process ended before the import did; nothing of it was stored",
                    what(&a.file_name, a.file_size as u64, &a.sha256),
                    process.tag()
                ),
            )
            .await?;
        }
        txn.commit().await?;
        n += u64::from(ended);
    }
    if n > 0 {
        tracing::warn!(
            interrupted = n,
            "interrupted imports recorded in the audit trail"
        );
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_one_of_another_boot_or_start_is_not() {
        let me = Process::current();
        assert!(me.alive());
        assert!(me.tag().starts_with(&format!("host {} boot ", me.host)));
        if me.start.is_some() {
            let other_boot = Process {
                boot_id: "another boot".into(),
                ..me.clone()
            };
            assert!(!other_boot.alive());
            let later = Process {
                start: me.start.map(|s| s + 1),
                ..me.clone()
            };
            assert!(!later.alive());
        }
        // Without a start time there is no telling: never called interrupted.
        let unknown = Process { start: None, ..me };
        assert!(unknown.alive());
    }
}
