//! What the OCDS export reads: the contracts as the reports see them (rolled back to the
//! as-recorded day), with their payments, service reports, changes of value or term and
//! budget lines, each row only if its batch was recorded by then; and the ocid prefix
//! setting.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use super::ledger::{self, Scope};
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

/// The ledger for the export as of `scope.as_of` (and as recorded on `scope.as_recorded`).
pub async fn load(db: &impl ConnectionTrait, scope: &Scope) -> Result<Ledger, DbErr> {
    let backend = db.get_database_backend();
    let scope = Scope {
        from: None,
        category: None,
        street: None,
        provider: None,
        ..scope.clone()
    };
    let rows = ledger::contracts(db, &scope).await?;
    let ids: HashSet<i64> = rows.iter().map(|c| c.id).collect();

    let mut batches = HashMap::new();
    let mut values = Vec::new();
    let rec = recorded(&scope, "id", &mut values);
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

    let mut first_batch = HashMap::new();
    for r in db
        .query_all_raw(stmt(backend, "SELECT id, batch_id FROM contracts", vec![]))
        .await?
    {
        first_batch.insert(get::<i64>(&r, "id")?, get::<i64>(&r, "batch_id")?);
    }

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
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT batch_id, record_id, field, old_value, new_value FROM change_history \
                 WHERE entity = 'contract' AND field IN ('value', 'start_on', 'end_on') \
                 AND batch_id IS NOT NULL{upto} ORDER BY id"
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
    let rec = recorded(&scope, "d.batch_id", &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT d.contract_id, d.paid_on, d.amount_fen, d.voucher, d.tranche, d.batch_id, \
                 o.voucher AS reversed FROM disbursements d LEFT JOIN disbursements o ON o.id = d.reverses_id \
                 WHERE d.paid_on <= ?{rec} ORDER BY d.id"
            ),
            values,
        ))
        .await?
    {
        let cid: i64 = get(&r, "contract_id")?;
        if !ids.contains(&cid) {
            continue;
        }
        payments.entry(cid).or_default().push(Payment {
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
        for r in db
            .query_all_raw(stmt(
                backend,
                "SELECT record_id, field, old_value FROM change_history \
                 WHERE entity = 'service_report' AND changed_at >= ? ORDER BY id",
                vec![t.into()],
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
    let rec = recorded(&scope, "s.batch_id", &mut values);
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT s.id, s.contract_id, s.period_start, s.period_end, s.period_label, s.new_people, \
                 s.sessions, s.batch_id FROM service_reports s WHERE s.period_end <= ?{rec} ORDER BY s.id"
            ),
            values,
        ))
        .await?
    {
        let cid: i64 = get(&r, "contract_id")?;
        if !ids.contains(&cid) {
            continue;
        }
        let id: i64 = get(&r, "id")?;
        let pick = |field: &str, now: Option<i64>| match rolled.get(&(id, field.to_string())) {
            Some(old) => *old,
            None => now,
        };
        services.entry(cid).or_default().push(Service {
            period_start: get(&r, "period_start")?,
            period_end: get(&r, "period_end")?,
            label: get(&r, "period_label")?,
            new_people: pick("new_people", get(&r, "new_people")?),
            sessions: pick("sessions", get(&r, "sessions")?),
            batch_id: get(&r, "batch_id")?,
        });
    }

    // Evaluations dated by the as-of date and recorded in time; one replaced by a correction
    // recorded in time gives way to it, under the id of the first of its chain.
    let mut values: Vec<Value> = vec![scope.as_of.into()];
    let rec = recorded(&scope, "e.batch_id", &mut values);
    let mut rows_e = Vec::new();
    for r in db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT e.id, e.contract_id, e.kind, e.evaluator, e.evaluator_uscc, e.evaluated_on, e.score_centi, \
                 e.grade, e.findings, e.replaces_id, e.batch_id FROM evaluations e \
                 WHERE e.evaluated_on <= ?{rec} ORDER BY e.id"
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
        if replaced.contains(&e.root_id) || !ids.contains(&cid) {
            continue;
        }
        let mut root = e.root_id;
        while let Some(p) = parent.get(&root) {
            root = *p;
        }
        e.root_id = root;
        evaluations.entry(cid).or_default().push(e);
    }

    let mut budget_lines = Vec::new();
    let mut values = Vec::new();
    let rec = recorded(&scope, "batch_id", &mut values);
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

    let contracts = rows
        .into_iter()
        .map(|c| Contract {
            batch_id: first_batch.get(&c.id).copied().unwrap_or_default(),
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
        .collect();
    Ok(Ledger {
        contracts,
        budget_lines,
        batches,
    })
}

/// The package's bytes: the prefix (kept when given), the ledger read for `scope`, mapped.
pub async fn export(
    db: &impl ConnectionTrait,
    scope: &Scope,
    prefix_given: Option<&str>,
    kind: crate::ocds::PackageKind,
) -> Result<Vec<u8>, DbErr> {
    let prefix = prefix(db, prefix_given).await?;
    let ledger = load(db, scope).await?;
    if ledger.contracts.is_empty() {
        // A package holds at least one release (the OCDS package schemas' minItems).
        return Err(DbErr::RecordNotFound(format!(
            "no contract to export as of {}: the ledger has none yet",
            scope.as_of
        )));
    }
    let opts = crate::ocds::Options {
        prefix,
        as_of: scope.as_of,
    };
    Ok(crate::ocds::write(&ledger, &opts, kind))
}

/// The ledger for `scope` and the kept ocid prefix, for the web's pages of packages.
pub async fn load_with_prefix(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<(Ledger, String), DbErr> {
    let prefix = prefix(db, None).await?;
    Ok((load(db, scope).await?, prefix))
}
