//! A read-only view of the ledger as of a date (and as recorded on a date): the contracts in
//! scope, and payments and people aggregated per contract by the database (GROUP BY over
//! integer fen). Contract attributes changed after the recorded date are rolled back
//! through the change history.

use std::collections::HashMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
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
    /// The batch on the contract's row, and the file, sheet and row it came from.
    pub batch_id: i64,
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
    let mut out = select_contracts(db, scope, Keys::All).await?;
    if let Some(r) = scope.as_recorded {
        roll_back_contracts(db, end_of_day(r), &mut out).await?;
    }
    out.retain(|c| in_scope(scope, c));
    Ok(out)
}

/// Which contracts a query reads: all of them (in the database's order of codes), or a
/// page of at most `n` after a code, or the one with a code.
enum Keys<'a> {
    All,
    After(Option<&'a str>, usize),
    Code(&'a str),
}

/// At most `n` contracts in scope whose codes follow `after`, in byte order of the code (as
/// Rust orders strings, whatever the database's collation): a keyset page that reads only its
/// own rows, for the OCDS export's chunks and the API's pages.
pub async fn contracts_after(
    db: &impl ConnectionTrait,
    scope: &Scope,
    after: Option<&str>,
    n: usize,
) -> Result<Vec<ContractRow>, DbErr> {
    let mut out = Vec::new();
    let mut key = after.map(str::to_string);
    // A contract that starts after the as-of date is read but left out, so a round may
    // come back short of `n` while more rows follow: read on until `n` or the end.
    loop {
        let mut rows = select_contracts(db, scope, Keys::After(key.as_deref(), n)).await?;
        let fetched = rows.len();
        key = rows.last().map(|c| c.code.clone());
        if let Some(r) = scope.as_recorded {
            roll_back_contracts(db, end_of_day(r), &mut rows).await?;
        }
        out.extend(rows.into_iter().filter(|c| in_scope(scope, c)));
        if out.len() >= n || fetched < n {
            out.truncate(n);
            return Ok(out);
        }
    }
}

/// The contract with `code`, when it is in scope.
pub async fn contract_by_code(
    db: &impl ConnectionTrait,
    scope: &Scope,
    code: &str,
) -> Result<Option<ContractRow>, DbErr> {
    let mut rows = select_contracts(db, scope, Keys::Code(code)).await?;
    if let Some(r) = scope.as_recorded {
        roll_back_contracts(db, end_of_day(r), &mut rows).await?;
    }
    Ok(rows.into_iter().find(|c| in_scope(scope, c)))
}

/// Counted by the as-of date, and of the scope's category, street and provider.
fn in_scope(scope: &Scope, c: &ContractRow) -> bool {
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
}

/// The contract rows `keys` names, recorded by the as-recorded date, as stored (not yet
/// rolled back nor filtered).
async fn select_contracts(
    db: &impl ConnectionTrait,
    scope: &Scope,
    keys: Keys<'_>,
) -> Result<Vec<ContractRow>, DbErr> {
    let backend = db.get_database_backend();
    let mut values = Vec::new();
    let rec = recorded_clause(scope, "c.batch_id", &mut values);
    // PostgreSQL compares text by the database's locale; "C" compares bytes, which is the
    // order of Rust's strings and of SQLite's default collation.
    let code = if backend == sea_orm::DbBackend::Postgres {
        "c.code COLLATE \"C\""
    } else {
        "c.code"
    };
    let (key, order) = match keys {
        Keys::All => (String::new(), " ORDER BY c.code".to_string()),
        Keys::After(after, n) => {
            let mut key = String::new();
            if let Some(a) = after {
                values.push(a.into());
                key = format!(" AND {code} > ?");
            }
            (key, format!(" ORDER BY {code} LIMIT {n}"))
        }
        Keys::Code(c) => {
            values.push(c.into());
            (" AND c.code = ?".to_string(), String::new())
        }
    };
    let sql = format!(
        "SELECT c.id, c.code, c.title, c.category, c.provider_id, c.provider_name, p.uscc, c.purchaser, c.street, \
         c.community, c.method, c.funding, c.value_fen, c.signed_on, c.start_on, c.end_on, c.target_people, c.budget_code, \
         c.batch_id, b.file_name, c.source_sheet, c.source_row \
         FROM contracts c JOIN providers p ON p.id = c.provider_id JOIN import_batches b ON b.id = c.batch_id \
         WHERE 1 = 1{rec}{key}{order}"
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
            batch_id: get(&r, "batch_id")?,
            file: get(&r, "file_name")?,
            sheet: get(&r, "source_sheet")?,
            row: get(&r, "source_row")?,
        });
    }
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

/// The parts a window of dates splits into for summing payments: whole calendar months, read
/// from `payment_months`, and the days at either end that do not fill a month, read from
/// `payment_days`. A report as of a date then costs contracts × months plus contracts × the
/// days of at most two months, however many payments the ledger holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// Whole months `[from, to)` as `YYYY-MM`; `from` None means since the beginning.
    pub months: Option<(Option<String>, String)>,
    /// Day ranges, inclusive.
    pub days: Vec<(NaiveDate, NaiveDate)>,
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).expect("every month has a first day")
}

fn first_of_next_month(d: NaiveDate) -> Option<NaiveDate> {
    first_of_month(d).checked_add_months(chrono::Months::new(1))
}

/// Splits `[from, as_of]` into whole months and partial days.
pub fn split(from: Option<NaiveDate>, as_of: NaiveDate) -> Split {
    let mut days = Vec::new();
    if from.is_some_and(|f| f > as_of) {
        return Split { months: None, days };
    }
    // The first day of the first whole month, None when the window has no start.
    let first_whole = from.map(|f| {
        if f.day() == 1 {
            Some(f)
        } else {
            first_of_next_month(f)
        }
    });
    // The day after the last whole month.
    let ends_month = as_of.succ_opt().is_none_or(|next| next.day() == 1);
    let end_whole = if ends_month {
        first_of_next_month(as_of)
    } else {
        Some(first_of_month(as_of))
    };
    let whole = match (first_whole, end_whole) {
        (Some(None), _) => false,
        (Some(Some(a)), Some(b)) => a < b,
        (Some(Some(_)), None) => true,
        (None, _) => true,
    };
    if !whole {
        // No whole month inside: the days themselves (a window has a start here).
        days.push((from.expect("a bounded window"), as_of));
        return Split { months: None, days };
    }
    let lo = first_whole
        .flatten()
        .map(crate::disbursements::sums::month_of);
    // A window to the last representable day has no month after it: "9999-99" is after all.
    let hi = end_whole.map_or_else(
        || "9999-99".to_string(),
        crate::disbursements::sums::month_of,
    );
    if let (Some(f), Some(Some(fw))) = (from, first_whole) {
        if f < fw {
            days.push((f, fw.pred_opt().expect("after a first day")));
        }
    }
    if !ends_month {
        days.push((first_of_month(as_of), as_of));
    }
    Split {
        months: Some((lo, hi)),
        days,
    }
}

/// Payments per contract (and per month when `by_month`): whole months from their monthly
/// sums, the days that do not fill a month from their daily sums.
pub async fn paid(
    db: &impl ConnectionTrait,
    scope: &Scope,
    by_month: bool,
    snap: &mut Snapshot,
) -> Result<(), DbErr> {
    let backend = db.get_database_backend();
    let parts = split(scope.from, scope.as_of);
    let mut queries: Vec<(String, Vec<Value>)> = Vec::new();
    if let Some((lo, hi)) = &parts.months {
        let mut values: Vec<Value> = vec![hi.clone().into()];
        let mut filter = "m.month < ?".to_string();
        if let Some(lo) = lo {
            values.push(lo.clone().into());
            filter.push_str(" AND m.month >= ?");
        }
        filter.push_str(&recorded_clause(scope, "m.batch_id", &mut values));
        let (month_col, group) = match by_month {
            true => ("m.month AS m, ", ", m.month"),
            false => ("", ""),
        };
        queries.push((
            format!(
                "SELECT m.contract_id, {month_col}CAST(SUM(m.amount_fen) AS BIGINT) AS fen, \
                 CAST(SUM(m.payments) AS BIGINT) AS n, MAX(m.last_paid_on) AS last \
                 FROM payment_months m WHERE {filter} GROUP BY m.contract_id{group}"
            ),
            values,
        ));
    }
    let month = month_expr(backend, "s.day");
    for (lo, hi) in &parts.days {
        let mut values: Vec<Value> = vec![(*lo).into(), (*hi).into()];
        let filter = format!(
            "s.day >= ? AND s.day <= ?{}",
            recorded_clause(scope, "s.batch_id", &mut values)
        );
        let (month_col, group) = match by_month {
            true => (format!("{month} AS m, "), format!(", {month}")),
            false => (String::new(), String::new()),
        };
        queries.push((
            format!(
                "SELECT s.contract_id, {month_col}CAST(SUM(s.amount_fen) AS BIGINT) AS fen, \
                 CAST(SUM(s.payments) AS BIGINT) AS n, MAX(s.day) AS last \
                 FROM payment_days s WHERE {filter} GROUP BY s.contract_id{group}"
            ),
            values,
        ));
    }
    for (sql, values) in queries {
        for r in db.query_all_raw(stmt(backend, &sql, values)).await? {
            let id: i64 = get(&r, "contract_id")?;
            let fen: i64 = get(&r, "fen")?;
            if by_month {
                *snap.paid_by_month.entry((id, get(&r, "m")?)).or_insert(0) += fen;
            } else {
                let p = snap.paid.entry(id).or_default();
                p.fen += fen;
                p.count += get::<i64>(&r, "n")?;
                p.last = p.last.max(get(&r, "last")?);
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn months(lo: Option<&str>, hi: &str) -> Option<(Option<String>, String)> {
        Some((lo.map(str::to_string), hi.to_string()))
    }

    #[test]
    fn a_date_at_a_month_end_is_all_whole_months() {
        let s = split(None, d(2019, 6, 30));
        assert_eq!(s.months, months(None, "2019-07"));
        assert!(s.days.is_empty());
    }

    #[test]
    fn a_date_inside_a_month_reads_its_own_month_by_day() {
        let s = split(None, d(2019, 6, 15));
        assert_eq!(s.months, months(None, "2019-06"));
        assert_eq!(s.days, vec![(d(2019, 6, 1), d(2019, 6, 15))]);
    }

    #[test]
    fn a_window_from_inside_a_month_reads_both_ends_by_day() {
        let s = split(Some(d(2019, 1, 10)), d(2019, 6, 15));
        assert_eq!(s.months, months(Some("2019-02"), "2019-06"));
        assert_eq!(
            s.days,
            vec![
                (d(2019, 1, 10), d(2019, 1, 31)),
                (d(2019, 6, 1), d(2019, 6, 15))
            ]
        );
        let s = split(Some(d(2019, 1, 1)), d(2019, 1, 31));
        assert_eq!(s.months, months(Some("2019-01"), "2019-02"));
        assert!(s.days.is_empty());
    }

    #[test]
    fn a_window_inside_one_month_or_across_a_month_boundary_is_days_only() {
        let s = split(Some(d(2019, 6, 3)), d(2019, 6, 20));
        assert_eq!(s.months, None);
        assert_eq!(s.days, vec![(d(2019, 6, 3), d(2019, 6, 20))]);
        let s = split(Some(d(2019, 5, 20)), d(2019, 6, 10));
        assert_eq!(s.months, None);
        assert_eq!(s.days, vec![(d(2019, 5, 20), d(2019, 6, 10))]);
        assert_eq!(split(Some(d(2019, 7, 1)), d(2019, 6, 30)).days, vec![]);
    }

    #[test]
    fn the_last_day_there_is_ends_a_whole_month() {
        let s = split(None, NaiveDate::MAX);
        assert_eq!(s.months, months(None, "9999-99"));
        assert!(s.days.is_empty());
    }
}
