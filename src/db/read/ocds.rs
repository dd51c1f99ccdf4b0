//! What the OCDS export reads: the contracts as the reports see them (rolled back to the
//! as-recorded day), with their payments, service reports, changes of value or term and
//! budget lines, each row only if its batch was recorded by then; and the ocid prefix
//! setting. The ledger-wide parts are read once (`frame`), the contracts a chunk or page at
//! a time (`contracts`), so that no read holds the whole ledger's payments.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use super::ledger::{self, ContractRow, Scope};
use crate::dates::end_of_day;
use crate::db::sql::{get, stmt};
use crate::ocds::{BudgetLine, Change, Contract, Evaluation, Ledger, Payment, Service};

/// The setting's key in `settings`.
pub const PREFIX_KEY: &str = "ocds_prefix";

/// Reads a setting.
pub async fn setting(db: &impl ConnectionTrait, key: &str) -> Result<Option<String>, DbErr> {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT value FROM settings WHERE key = ?",
            vec![key.into()],
        ))
        .await?;
    match rows.first() {
        Some(r) => get(r, "value"),
        None => Ok(None),
    }
}

/// Keeps a setting (replacing its value).
pub async fn set_setting(db: &impl ConnectionTrait, key: &str, value: &str) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let now: DateTime<Utc> = Utc::now();
    db.execute_raw(stmt(
        backend,
        "DELETE FROM settings WHERE key = ?",
        vec![key.into()],
    ))
    .await?;
    db.execute_raw(stmt(
        backend,
        "INSERT INTO settings (key, value, set_at) VALUES (?, ?, ?)",
        vec![key.into(), value.into(), now.into()],
    ))
    .await?;
    Ok(())
}

/// The ocid prefix: `given` is kept as the setting; otherwise the kept one, or the default.
pub async fn prefix(db: &impl ConnectionTrait, given: Option<&str>) -> Result<String, DbErr> {
    if let Some(p) = given {
        if setting(db, PREFIX_KEY).await?.as_deref() != Some(p) {
            set_setting(db, PREFIX_KEY, p).await?;
        }
        return Ok(p.to_string());
    }
    Ok(setting(db, PREFIX_KEY)
        .await?
        .unwrap_or_else(|| crate::ocds::DEFAULT_PREFIX.to_string()))
}

fn recorded(scope: &Scope, col: &str, values: &mut Vec<Value>) -> String {
    match scope.as_recorded {
        Some(r) => {
            values.push(end_of_day(r).into());
            format!(" AND {col} IN (SELECT id FROM import_batches WHERE recorded_at < ?)")
        }
        None => String::new(),
    }
}

/// The scope the export reads: every category, street and provider, from the beginning.
fn whole(scope: &Scope) -> Scope {
    Scope {
        from: None,
        category: None,
        street: None,
        provider: None,
        ..scope.clone()
    }
}

/// The ledger-wide part of the export, read once: when each batch was recorded and the
/// budget lines. Its `contracts` are left empty for the chunks `contracts` reads.
pub async fn frame(db: &impl ConnectionTrait, scope: &Scope) -> Result<Ledger, DbErr> {
    let backend = db.get_database_backend();
    let mut batches = HashMap::new();
    let mut values = Vec::new();
    let rec = recorded(scope, "id", &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!("SELECT id, recorded_at FROM import_batches WHERE 1 = 1{rec}"),
            values,
        ))
        .await?
    {
        batches.insert(
            get::<i64>(&r, "id")?,
            get::<DateTime<Utc>>(&r, "recorded_at")?,
        );
    }

    let mut budget_lines = Vec::new();
    let mut values = Vec::new();
    let rec = recorded(scope, "batch_id", &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT budget_year, code, name, funding, amount_fen, approval_doc, approval_date, adjusts_doc, \
                 batch_id FROM budget_lines WHERE 1 = 1{rec} ORDER BY id"
            ),
            values,
        ))
        .await?
    {
        budget_lines.push(BudgetLine {
            year: get(&r, "budget_year")?,
            code: get(&r, "code")?,
            name: get(&r, "name")?,
            funding: get(&r, "funding")?,
            amount: crate::money::Money::from_fen(get(&r, "amount_fen")?),
            approval_doc: get(&r, "approval_doc")?,
            approval_date: get(&r, "approval_date")?,
            adjusts_doc: get(&r, "adjusts_doc")?,
            batch_id: get(&r, "batch_id")?,
        });
    }
    Ok(Ledger {
        contracts: Vec::new(),
        budget_lines,
        batches,
    })
}

/// ` AND {col} IN (?, ?, ...)` over the contracts' ids, with its values.
fn of_contracts(col: &str, ids: &[i64], values: &mut Vec<Value>) -> String {
    values.extend(ids.iter().map(|id| Value::from(*id)));
    let marks = vec!["?"; ids.len()].join(", ");
    format!(" AND {col} IN ({marks})")
}

/// These contracts with their payments, service reports, evaluations and changes of value
/// or term for `scope`: one query of each kind for the lot, so memory holds only their rows.
pub async fn contracts(
    db: &impl ConnectionTrait,
    scope: &Scope,
    rows: Vec<ContractRow>,
) -> Result<Vec<Contract>, DbErr> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let backend = db.get_database_backend();
    let ids: Vec<i64> = rows.iter().map(|c| c.id).collect();

    let cutoff = scope.as_recorded.map(end_of_day);
    let mut changes: HashMap<i64, Vec<Change>> = HashMap::new();
    let mut values = Vec::new();
    let upto = match cutoff {
        Some(t) => {
            values.push(t.into());
            " AND changed_at < ?"
        }
        None => "",
    };
    let these = of_contracts("record_id", &ids, &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT batch_id, record_id, field, old_value, new_value FROM change_history \
                 WHERE entity = 'contract' AND field IN ('value', 'start_on', 'end_on') \
                 AND batch_id IS NOT NULL{upto}{these} ORDER BY id"
            ),
            values,
        ))
        .await?
    {
        changes
            .entry(get(&r, "record_id")?)
            .or_default()
            .push(Change {
                batch_id: get(&r, "batch_id")?,
                field: get(&r, "field")?,
                old: get(&r, "old_value")?,
                new: get(&r, "new_value")?,
            });
    }

    let mut payments: HashMap<i64, Vec<Payment>> = HashMap::new();
    let mut values: Vec<Value> = vec![scope.as_of.into()];
    let rec = recorded(scope, "d.batch_id", &mut values);
    let these = of_contracts("d.contract_id", &ids, &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT d.contract_id, d.paid_on, d.amount_fen, d.voucher, d.tranche, d.batch_id, \
                 o.voucher AS reversed FROM disbursements d LEFT JOIN disbursements o ON o.id = d.reverses_id \
                 WHERE d.paid_on <= ?{rec}{these} ORDER BY d.id"
            ),
            values,
        ))
        .await?
    {
        payments
            .entry(get(&r, "contract_id")?)
            .or_default()
            .push(Payment {
                voucher: get(&r, "voucher")?,
                paid_on: get(&r, "paid_on")?,
                amount: crate::money::Money::from_fen(get(&r, "amount_fen")?),
                tranche: get(&r, "tranche")?,
                reverses: get(&r, "reversed")?,
                batch_id: get(&r, "batch_id")?,
            });
    }

    // Service reports corrected after the recorded day count with their earlier figures.
    let mut rolled: HashMap<(i64, String), Option<i64>> = HashMap::new();
    if let Some(t) = cutoff {
        let mut seen = HashSet::new();
        let mut values: Vec<Value> = vec![t.into()];
        let these = of_contracts("contract_id", &ids, &mut values);
        for r in db
            .query_all_raw(stmt(
                backend,
                &format!(
                    "SELECT record_id, field, old_value FROM change_history \
                     WHERE entity = 'service_report' AND changed_at >= ? \
                     AND record_id IN (SELECT id FROM service_reports WHERE 1 = 1{these}) ORDER BY id"
                ),
                values,
            ))
            .await?
        {
            let key: (i64, String) = (get(&r, "record_id")?, get(&r, "field")?);
            if seen.insert(key.clone()) {
                let old: Option<String> = get(&r, "old_value")?;
                rolled.insert(key, old.and_then(|s| s.parse().ok()));
            }
        }
    }
    let mut services: HashMap<i64, Vec<Service>> = HashMap::new();
    let mut values: Vec<Value> = vec![scope.as_of.into()];
    let rec = recorded(scope, "s.batch_id", &mut values);
    let these = of_contracts("s.contract_id", &ids, &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT s.id, s.contract_id, s.period_start, s.period_end, s.period_label, s.new_people, \
                 s.sessions, s.batch_id FROM service_reports s WHERE s.period_end <= ?{rec}{these} ORDER BY s.id"
            ),
            values,
        ))
        .await?
    {
        let id: i64 = get(&r, "id")?;
        let pick = |field: &str, now: Option<i64>| match rolled.get(&(id, field.to_string())) {
            Some(old) => *old,
            None => now,
        };
        services
            .entry(get(&r, "contract_id")?)
            .or_default()
            .push(Service {
                period_start: get(&r, "period_start")?,
                period_end: get(&r, "period_end")?,
                label: get(&r, "period_label")?,
                new_people: pick("new_people", get(&r, "new_people")?),
                sessions: pick("sessions", get(&r, "sessions")?),
                batch_id: get(&r, "batch_id")?,
            });
    }

    // Evaluations dated by the as-of date and recorded in time; one replaced by a correction
    // recorded in time gives way to it, under the id of the first of its chain. A correction
    // replaces an evaluation of its own contract, so the chains are whole within a chunk.
    let mut values: Vec<Value> = vec![scope.as_of.into()];
    let rec = recorded(scope, "e.batch_id", &mut values);
    let these = of_contracts("e.contract_id", &ids, &mut values);
    let mut rows_e = Vec::new();
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT e.id, e.contract_id, e.kind, e.evaluator, e.evaluator_uscc, e.evaluated_on, e.score_centi, \
                 e.grade, e.findings, e.replaces_id, e.batch_id FROM evaluations e \
                 WHERE e.evaluated_on <= ?{rec}{these} ORDER BY e.id"
            ),
            values,
        ))
        .await?
    {
        let replaces: Option<i64> = get(&r, "replaces_id")?;
        let e = Evaluation {
            root_id: get(&r, "id")?,
            kind: get(&r, "kind")?,
            evaluator: get(&r, "evaluator")?,
            evaluator_uscc: get(&r, "evaluator_uscc")?,
            evaluated_on: get(&r, "evaluated_on")?,
            score: crate::evaluations::Score::from_centi(get(&r, "score_centi")?),
            grade: get(&r, "grade")?,
            findings: get(&r, "findings")?,
            batch_id: get(&r, "batch_id")?,
        };
        rows_e.push((get::<i64>(&r, "contract_id")?, replaces, e));
    }
    let replaced: HashSet<i64> = rows_e.iter().filter_map(|(_, r, _)| *r).collect();
    let parent: HashMap<i64, i64> = rows_e
        .iter()
        .filter_map(|(_, r, e)| r.map(|p| (e.root_id, p)))
        .collect();
    let mut evaluations: HashMap<i64, Vec<Evaluation>> = HashMap::new();
    for (cid, _, mut e) in rows_e {
        if replaced.contains(&e.root_id) {
            continue;
        }
        let mut root = e.root_id;
        while let Some(p) = parent.get(&root) {
            root = *p;
        }
        e.root_id = root;
        evaluations.entry(cid).or_default().push(e);
    }

    Ok(rows
        .into_iter()
        .map(|c| Contract {
            batch_id: c.batch_id,
            changes: changes.remove(&c.id).unwrap_or_default(),
            payments: payments.remove(&c.id).unwrap_or_default(),
            services: services.remove(&c.id).unwrap_or_default(),
            evaluations: evaluations.remove(&c.id).unwrap_or_default(),
            code: c.code,
            title: c.title,
            category: c.category,
            provider_id: c.provider_id,
            provider_name: c.provider_name,
            uscc: c.uscc,
            purchaser: c.purchaser,
            method: c.method,
            funding: c.funding,
            value: c.value,
            signed_on: c.signed_on,
            start_on: c.start_on,
            end_on: c.end_on,
            target_people: c.target_people,
            budget_code: c.budget_code,
        })
        .collect())
}

/// Contracts a chunk of the export reads together: enough that the queries are few (20 at
/// 10,000 contracts), few enough that a chunk's payments stay small (about 50,000 rows at
/// 100 payments a contract), and within SQLite's 32,766 bound parameters.
pub const CHUNK: usize = 500;

/// Why an export did not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The database refused, or the ledger has no contract in scope (`RecordNotFound`).
    #[error(transparent)]
    Db(#[from] DbErr),
    /// The output could not be written.
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Writes the package to `out`, a chunk of contracts at a time: the batches and budget
/// lines are read once, then `CHUNK` contracts in code order with their rows, whose
/// releases are written and dropped before the next chunk is read. Memory grows with the
/// contracts of a chunk, not with the ledger's payments. The prefix given is kept.
pub async fn export_to<W: std::io::Write>(
    db: &impl ConnectionTrait,
    scope: &Scope,
    prefix_given: Option<&str>,
    kind: crate::ocds::PackageKind,
    out: W,
) -> Result<W, ExportError> {
    let prefix = prefix(db, prefix_given).await?;
    let scope = whole(scope);
    let mut frame = frame(db, &scope).await?;
    let mut rows = ledger::contracts_after(db, &scope, None, CHUNK).await?;
    if rows.is_empty() {
        // A package holds at least one release (the OCDS package schemas' minItems).
        return Err(DbErr::RecordNotFound(format!(
            "no contract to export as of {}: the ledger has none yet",
            scope.as_of
        ))
        .into());
    }
    let opts = crate::ocds::Options {
        prefix,
        as_of: scope.as_of,
    };
    let mut w = crate::ocds::PackageWriter::start(out, &frame, &opts, kind)?;
    while !rows.is_empty() {
        let after = rows.last().map(|c| c.code.clone());
        let full = rows.len() == CHUNK;
        frame.contracts = contracts(db, &scope, rows).await?;
        for c in &frame.contracts {
            w.process(c, &frame, &opts)?;
        }
        frame.contracts.clear();
        rows = if full {
            ledger::contracts_after(db, &scope, after.as_deref(), CHUNK).await?
        } else {
            Vec::new()
        };
    }
    Ok(w.finish(None)?)
}

/// The package's bytes (the whole package in memory: for tests and small ledgers; the
/// command line and the disclosure download write with `export_to`).
pub async fn export(
    db: &impl ConnectionTrait,
    scope: &Scope,
    prefix_given: Option<&str>,
    kind: crate::ocds::PackageKind,
) -> Result<Vec<u8>, DbErr> {
    export_to(db, scope, prefix_given, kind, Vec::new())
        .await
        .map_err(|e| match e {
            ExportError::Db(e) => e,
            // Writing to a Vec does not fail.
            ExportError::Io(e) => DbErr::Custom(e.to_string()),
        })
}

/// A page of the API: at most `n` processes after the contract code `after`, in code
/// order, and whether more follow. Reads only the page's contracts and their rows.
pub async fn page(
    db: &impl ConnectionTrait,
    scope: &Scope,
    after: Option<&str>,
    n: usize,
) -> Result<(Ledger, String, bool), DbErr> {
    let prefix = prefix(db, None).await?;
    let scope = whole(scope);
    let mut rows = ledger::contracts_after(db, &scope, after, n.saturating_add(1)).await?;
    let more = rows.len() > n;
    rows.truncate(n);
    let mut frame = frame(db, &scope).await?;
    frame.contracts = contracts(db, &scope, rows).await?;
    Ok((frame, prefix, more))
}

/// One process of the API: the contract with `code`, when it is in scope, with its rows.
pub async fn one(db: &impl ConnectionTrait, scope: &Scope, code: &str) -> Result<Ledger, DbErr> {
    let scope = whole(scope);
    let rows = ledger::contract_by_code(db, &scope, code).await?;
    let mut frame = frame(db, &scope).await?;
    frame.contracts = contracts(db, &scope, rows.into_iter().collect()).await?;
    Ok(frame)
}
