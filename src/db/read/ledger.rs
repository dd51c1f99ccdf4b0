//! A read-only view of the ledger as of a date (and as recorded on a date): the contracts in
//! scope, and payments and people aggregated per contract by the database (GROUP BY over
//! integer fen). Contract attributes changed after the recorded date are rolled back
//! through the change history.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, DbErr, Value};

use crate::dates::end_of_day;
use crate::db::sql::{get, month_expr, stmt};

use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::money::Money;

/// What a report covers.
#[derive(Debug, Clone, Default)]
pub struct Scope {
    pub as_of: NaiveDate,
    /// Payments, service periods and changes from this date (inclusive).
    pub from: Option<NaiveDate>,
    /// Only what had been imported by the end of this day (China Standard Time) counts.
    pub as_recorded: Option<NaiveDate>,
    pub category: Option<Category>,
    pub street: Option<String>,
    /// A provider's name or USCC.
    pub provider: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ContractRow {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub category: Category,
    pub provider_id: i64,
    pub provider_name: String,
    pub uscc: Option<String>,
    pub purchaser: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub method: Option<ProcurementMethod>,
    pub funding: Option<FundingSource>,
    pub value: Money,
    pub signed_on: Option<NaiveDate>,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    pub target_people: Option<i64>,
    /// 预算项目编码: the budget line the contract names.
    pub budget_code: Option<String>,
    pub file: String,
    pub sheet: String,
    pub row: i64,
}

impl ContractRow {
    /// The date a contract counts from: signed, or starting where unsigned.
    pub fn counted_from(&self) -> NaiveDate {
        self.signed_on.unwrap_or(self.start_on)
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Paid {
    pub fen: i64,
    pub count: i64,
    pub last: Option<NaiveDate>,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct Served {
    pub people: i64,
    pub sessions: i64,
    pub last_period_end: Option<NaiveDate>,
}

/// The ledger as a report sees it.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub contracts: Vec<ContractRow>,
    pub paid: HashMap<i64, Paid>,
    /// Per contract and month (`YYYY-MM`), for time groupings.
    pub paid_by_month: HashMap<(i64, String), i64>,
    pub served: HashMap<i64, Served>,
    pub served_by_month: HashMap<(i64, String), (i64, i64)>,
}

fn recorded_clause(scope: &Scope, batch_col: &str, values: &mut Vec<Value>) -> String {
    match scope.as_recorded {
        Some(r) => {
            values.push(end_of_day(r).into());
            format!(" AND {batch_col} IN (SELECT id FROM import_batches WHERE recorded_at < ?)")
        }
        None => String::new(),
    }
}

/// `date_col` within the scope's window, and its batch recorded in time: the WHERE clause
/// every payment and service query shares, with its values.
pub fn window(scope: &Scope, date_col: &str, batch_col: &str) -> (String, Vec<Value>) {
    let mut values: Vec<Value> = vec![scope.as_of.into()];
    let mut filter = format!("{date_col} <= ?");
    if let Some(f) = scope.from {
        values.push(f.into());
        filter.push_str(&format!(" AND {date_col} >= ?"));
    }
    filter.push_str(&recorded_clause(scope, batch_col, &mut values));
    (filter, values)
}

/// Contracts recorded by the as-recorded date, with later changes rolled back, in scope.
pub async fn contracts(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<ContractRow>, DbErr> {
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    let rec = recorded_clause(scope, "c.batch_id", &mut values);
    let sql = format!(
        "SELECT c.id, c.code, c.title, c.category, c.provider_id, c.provider_name, p.uscc, c.purchaser, c.street, \
         c.community, c.method, c.funding, c.value_fen, c.signed_on, c.start_on, c.end_on, c.target_people, c.budget_code, \
         b.file_name, c.source_sheet, c.source_row \
         FROM contracts c JOIN providers p ON p.id = c.provider_id JOIN import_batches b ON b.id = c.batch_id \
         WHERE 1 = 1{rec} ORDER BY c.code"
    );
    let rows = db.query_all_raw(stmt(backend, &sql, values)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(ContractRow {
            id: get(&r, "id")?,
            code: get(&r, "code")?,
            title: get(&r, "title")?,
            category: get(&r, "category")?,
            provider_id: get(&r, "provider_id")?,
            provider_name: get(&r, "provider_name")?,
            uscc: get(&r, "uscc")?,
            purchaser: get(&r, "purchaser")?,
            street: get(&r, "street")?,
            community: get(&r, "community")?,
            method: get(&r, "method")?,
            funding: get(&r, "funding")?,
            value: get(&r, "value_fen")?,
            signed_on: get(&r, "signed_on")?,
            start_on: get(&r, "start_on")?,
            end_on: get(&r, "end_on")?,
            target_people: get(&r, "target_people")?,
            budget_code: get(&r, "budget_code")?,
            file: get(&r, "file_name")?,
            sheet: get(&r, "source_sheet")?,
            row: get(&r, "source_row")?,
        });
    }
    if let Some(r) = scope.as_recorded {
        roll_back_contracts(db, end_of_day(r), &mut out).await?;
    }
    out.retain(|c| {
        c.counted_from() <= scope.as_of
            && scope.category.is_none_or(|k| c.category == k)
            && scope
                .street
                .as_ref()
                .is_none_or(|s| c.street.as_deref() == Some(s.as_str()))
            && scope
                .provider
                .as_ref()
                .is_none_or(|p| c.provider_name == *p || c.uscc.as_deref() == Some(p.as_str()))
    });
    Ok(out)
}

/// Puts back the values contracts had before changes recorded at or after `cutoff`: for each
/// field, the old value of its first later change.
async fn roll_back_contracts(
    db: &impl ConnectionTrait,
    cutoff: DateTime<Utc>,
    rows: &mut [ContractRow],
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let changes = db
        .query_all_raw(stmt(
            backend,
            "SELECT record_id, field, old_value FROM change_history WHERE entity = 'contract' AND changed_at >= ? ORDER BY id",
            vec![cutoff.into()],
        ))
        .await?;
    // The first later change of each (contract, field) holds the value as recorded.
    let mut seen = std::collections::HashSet::new();
    let mut first: HashMap<i64, Vec<(String, Option<String>)>> = HashMap::new();
    for c in changes {
        let (id, field): (i64, String) = (get(&c, "record_id")?, get(&c, "field")?);
        if seen.insert((id, field.clone())) {
            first
                .entry(id)
                .or_default()
                .push((field, get(&c, "old_value")?));
        }
    }
    if first.is_empty() {
        return Ok(());
    }
    let date = |v: &Option<String>| v.as_deref().and_then(|s| s.parse::<NaiveDate>().ok());
    for row in rows.iter_mut() {
        for (field, old) in first.get(&row.id).into_iter().flatten() {
            match field.as_str() {
                "title" => row.title = old.clone().unwrap_or_default(),
                "category" => {
                    if let Some(k) = old.as_deref().and_then(Category::from_code) {
                        row.category = k;
                    }
                }
                "provider_id" => {
                    row.provider_id = old
                        .as_deref()
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(row.provider_id)
                }
                "provider_name" => row.provider_name = old.clone().unwrap_or_default(),
                "purchaser" => row.purchaser = old.clone(),
                "street" => row.street = old.clone(),
                "community" => row.community = old.clone(),
                "method" => row.method = old.as_deref().and_then(ProcurementMethod::from_code),
                "funding" => row.funding = old.as_deref().and_then(FundingSource::from_code),
                "value" => {
                    if let Some(m) = old.as_deref().and_then(|s| Money::parse(s).ok()) {
                        row.value = m;
                    }
                }
                "signed_on" => row.signed_on = date(old),
                "start_on" => row.start_on = date(old).unwrap_or(row.start_on),
                "end_on" => row.end_on = date(old).unwrap_or(row.end_on),
                "target_people" => row.target_people = old.as_deref().and_then(|s| s.parse().ok()),
                "budget_code" => row.budget_code = old.clone(),
                _ => {}
            }
        }
    }
    Ok(())
}

/// Payments per contract (and per month when `by_month`), aggregated by the database.
pub async fn paid(
    db: &impl ConnectionTrait,
    scope: &Scope,
    by_month: bool,
    snap: &mut Snapshot,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (filter, values) = window(scope, "d.paid_on", "d.batch_id");
    let month = month_expr(backend, "d.paid_on");
    let sql = if by_month {
        format!(
            "SELECT d.contract_id, {month} AS m, CAST(SUM(d.amount_fen) AS BIGINT) AS fen, COUNT(*) AS n \
             FROM disbursements d WHERE {filter} GROUP BY d.contract_id, {month}"
        )
    } else {
        format!(
            "SELECT d.contract_id, CAST(SUM(d.amount_fen) AS BIGINT) AS fen, COUNT(*) AS n, MAX(d.paid_on) AS last \
             FROM disbursements d WHERE {filter} GROUP BY d.contract_id"
        )
    };
    for r in db.query_all_raw(stmt(backend, &sql, values)).await? {
        let id: i64 = get(&r, "contract_id")?;
        let fen: i64 = get(&r, "fen")?;
        if by_month {
            snap.paid_by_month.insert((id, get(&r, "m")?), fen);
        } else {
            snap.paid.insert(
                id,
                Paid {
                    fen,
                    count: get(&r, "n")?,
                    last: get(&r, "last")?,
                },
            );
        }
    }
    Ok(())
}

/// People and sessions per contract (and per month of the period end when `by_month`).
pub async fn served(
    db: &impl ConnectionTrait,
    scope: &Scope,
    by_month: bool,
    snap: &mut Snapshot,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let (filter, values) = window(scope, "s.period_end", "s.batch_id");
    let month = month_expr(backend, "s.period_end");
    let sql = if by_month {
        format!(
            "SELECT s.contract_id, {month} AS m, CAST(COALESCE(SUM(s.new_people), 0) AS BIGINT) AS people, \
             CAST(COALESCE(SUM(s.sessions), 0) AS BIGINT) AS sessions \
             FROM service_reports s WHERE {filter} GROUP BY s.contract_id, {month}"
        )
    } else {
        format!(
            "SELECT s.contract_id, CAST(COALESCE(SUM(s.new_people), 0) AS BIGINT) AS people, \
             CAST(COALESCE(SUM(s.sessions), 0) AS BIGINT) AS sessions, MAX(s.period_end) AS last \
             FROM service_reports s WHERE {filter} GROUP BY s.contract_id"
        )
    };
    for r in db.query_all_raw(stmt(backend, &sql, values)).await? {
        let id: i64 = get(&r, "contract_id")?;
        let (people, sessions): (i64, i64) = (get(&r, "people")?, get(&r, "sessions")?);
        if by_month {
            snap.served_by_month
                .insert((id, get(&r, "m")?), (people, sessions));
        } else {
            snap.served.insert(
                id,
                Served {
                    people,
                    sessions,
                    last_period_end: get(&r, "last")?,
                },
            );
        }
    }
    if let Some(r) = scope.as_recorded {
        roll_back_services(db, scope, end_of_day(r), by_month, snap).await?;
    }
    Ok(())
}

/// Service reports corrected after the recorded date count with their earlier figures.
async fn roll_back_services(
    db: &impl ConnectionTrait,
    scope: &Scope,
    cutoff: DateTime<Utc>,
    by_month: bool,
    snap: &mut Snapshot,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let changes = db
        .query_all_raw(stmt(
            backend,
            "SELECT h.record_id, h.field, h.old_value, s.new_people, s.sessions, s.contract_id, s.period_end \
             FROM change_history h JOIN service_reports s ON s.id = h.record_id \
             WHERE h.entity = 'service_report' AND h.changed_at >= ? ORDER BY h.id",
            vec![cutoff.into()],
        ))
        .await?;
    let mut seen = std::collections::HashSet::new();
    for c in changes {
        let id: i64 = get(&c, "record_id")?;
        let field: String = get(&c, "field")?;
        if !seen.insert((id, field.clone())) {
            continue;
        }
        let end: NaiveDate = get(&c, "period_end")?;
        if end > scope.as_of || scope.from.is_some_and(|f| end < f) {
            continue;
        }
        let old: i64 = get::<Option<String>>(&c, "old_value")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let (cur, people) = match field.as_str() {
            "new_people" => (get::<Option<i64>>(&c, "new_people")?.unwrap_or(0), true),
            "sessions" => (get::<Option<i64>>(&c, "sessions")?.unwrap_or(0), false),
            _ => continue,
        };
        let delta = old - cur;
        let cid: i64 = get(&c, "contract_id")?;
        if by_month {
            let e = snap
                .served_by_month
                .entry((cid, end.format("%Y-%m").to_string()))
                .or_default();
            if people {
                e.0 += delta
            } else {
                e.1 += delta
            }
        } else {
            let e = snap.served.entry(cid).or_default();
            if people {
                e.people += delta
            } else {
                e.sessions += delta
            }
        }
    }
    Ok(())
}

/// A payment an auditor looks at twice: dated outside its contract's term, or reversing
/// another, with the file, sheet and row it came from.
#[derive(Debug, Clone)]
pub struct IrregularPayment {
    pub contract_id: i64,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub voucher: String,
    pub reversed_voucher: Option<String>,
    pub file_name: String,
    pub sheet: String,
    pub row: i64,
}

/// Payments in the scope's window that fall outside their contract's term or reverse
/// another, by date.
pub async fn irregular_payments(
    db: &impl ConnectionTrait,
    scope: &Scope,
) -> Result<Vec<IrregularPayment>, DbErr> {
    let (filter, values) = window(scope, "d.paid_on", "d.batch_id");
    let sql = format!(
        "SELECT d.contract_id, d.paid_on, d.amount_fen, d.voucher, d.reverses_id, r.voucher AS reversed_voucher, \
         b.file_name, d.source_sheet, d.source_row \
         FROM disbursements d JOIN import_batches b ON b.id = d.batch_id LEFT JOIN disbursements r ON r.id = d.reverses_id \
         JOIN contracts c ON c.id = d.contract_id \
         WHERE {filter} AND (d.paid_on < c.start_on OR d.paid_on > c.end_on OR d.reverses_id IS NOT NULL) \
         ORDER BY d.paid_on, d.id"
    );
    db.query_all_raw(stmt(db.get_database_backend(), &sql, values))
        .await?
        .iter()
        .map(|r| {
            Ok(IrregularPayment {
                contract_id: get(r, "contract_id")?,
                paid_on: get(r, "paid_on")?,
                amount: get(r, "amount_fen")?,
                voucher: get(r, "voucher")?,
                reversed_voucher: get(r, "reversed_voucher")?,
                file_name: get(r, "file_name")?,
                sheet: get(r, "source_sheet")?,
                row: get(r, "source_row")?,
            })
        })
        .collect()
}
