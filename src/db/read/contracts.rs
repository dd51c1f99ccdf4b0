//! Contracts as the contract pages and the API read them: one page of the list with its
//! filters, one contract with everything recorded against it (every row with the batch,
//! sheet and row it came from), and the sub-districts the filter offers.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::Serialize;
use utoipa::ToSchema;

use crate::contracts::state::{ContractState, Term};
use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::dates::local_time;
use crate::db::sql::{get, stmt};
use crate::money::Money;
use crate::Lang;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractItem {
    pub code: String,
    pub title: String,
    /// Category code.
    pub category: String,
    pub category_name: String,
    pub provider: String,
    pub street: Option<String>,
    pub community: Option<String>,
    #[schema(value_type = String, example = "150000.00")]
    pub value: Money,
    /// Paid up to `as_of`, reversals netted.
    #[schema(value_type = String, example = "75000.00")]
    pub paid: Money,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    #[schema(value_type = String, example = "running")]
    pub state: ContractState,
    pub state_name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractPage {
    pub as_of: NaiveDate,
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub pages: u64,
    pub items: Vec<ContractItem>,
}

/// The contract list's filter, as checked values.
pub struct ListQuery {
    pub q: Option<String>,
    pub category: Option<Category>,
    pub street: Option<String>,
    pub provider: Option<String>,
    pub state: Option<ContractState>,
    pub as_of: NaiveDate,
    pub page: u64,
    pub per_page: u64,
}

/// `%word%` for LIKE, with the wildcards in the word itself escaped.
fn like(word: &str) -> String {
    let mut s = String::from("%");
    for ch in word.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            s.push('\\');
        }
        s.push(ch);
    }
    s.push('%');
    s
}

pub async fn contracts(
    db: &impl ConnectionTrait,
    q: &ListQuery,
    lang: Lang,
) -> Result<ContractPage, DbErr> {
    let backend = db.get_database_backend();
    // Payments up to the as-of date, reversals netted (a reversal is a negative amount).
    let paid = "(SELECT CAST(COALESCE(SUM(d.amount_fen), 0) AS BIGINT) FROM disbursements d WHERE d.contract_id = c.id AND d.paid_on <= ?)";
    let mut filter = String::from("1 = 1");
    let mut values: Vec<Value> = Vec::new();
    if let Some(word) = &q.q {
        filter.push_str(" AND (c.code LIKE ? ESCAPE '\\' OR c.title LIKE ? ESCAPE '\\' OR c.provider_name LIKE ? ESCAPE '\\')");
        for _ in 0..3 {
            values.push(like(word).into());
        }
    }
    if let Some(k) = q.category {
        filter.push_str(" AND c.category = ?");
        values.push(k.code().into());
    }
    if let Some(s) = &q.street {
        filter.push_str(" AND c.street = ?");
        values.push(s.clone().into());
    }
    if let Some(p) = &q.provider {
        filter.push_str(" AND (c.provider_name LIKE ? ESCAPE '\\' OR p.uscc = ?)");
        values.push(like(p).into());
        values.push(p.to_uppercase().into());
    }
    if let Some(state) = q.state {
        // The SQL form of `ContractState::on`: the term first, then the payments.
        let test = state.test();
        match test.term {
            Term::Before => {
                filter.push_str(" AND c.start_on > ?");
                values.push(q.as_of.into());
            }
            Term::During => {
                filter.push_str(" AND c.start_on <= ? AND c.end_on >= ?");
                values.push(q.as_of.into());
                values.push(q.as_of.into());
            }
            Term::After => {
                filter.push_str(" AND c.end_on < ?");
                values.push(q.as_of.into());
            }
        }
        if let Some(full) = test.paid_in_full {
            let cmp = if full { ">=" } else { "<" };
            filter.push_str(&format!(" AND {paid} {cmp} c.value_fen"));
            values.push(q.as_of.into());
        }
    }
    let from = "FROM contracts c JOIN providers p ON p.id = c.provider_id";
    let total: i64 = db
        .query_one_raw(stmt(
            backend,
            &format!("SELECT COUNT(*) AS n {from} WHERE {filter}"),
            values.clone(),
        ))
        .await?
        .map(|r| get(&r, "n"))
        .transpose()?
        .unwrap_or(0);
    let total = total.max(0) as u64;
    let offset = (q.page - 1).saturating_mul(q.per_page);
    let mut all = vec![Value::from(q.as_of)];
    all.extend(values);
    all.push((q.per_page as i64).into());
    all.push((offset.min(i64::MAX as u64) as i64).into());
    let rows = db
        .query_all_raw(stmt(
            backend,
            &format!(
                "SELECT c.code, c.title, c.category, c.provider_name, c.street, c.community, c.value_fen, \
                 c.start_on, c.end_on, {paid} AS paid_fen {from} WHERE {filter} ORDER BY c.code LIMIT ? OFFSET ?"
            ),
            all,
        ))
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let category: String = get(&r, "category")?;
        let value: i64 = get(&r, "value_fen")?;
        let paid: i64 = get(&r, "paid_fen")?;
        let (start, end): (NaiveDate, NaiveDate) = (get(&r, "start_on")?, get(&r, "end_on")?);
        let state = ContractState::on(start, end, paid, value, q.as_of);
        items.push(ContractItem {
            code: get(&r, "code")?,
            title: get(&r, "title")?,
            category_name: Category::parse(&category)
                .map(|k| k.name(lang).to_string())
                .unwrap_or_else(|| category.clone()),
            category,
            provider: get(&r, "provider_name")?,
            street: get(&r, "street")?,
            community: get(&r, "community")?,
            value: Money::from_fen(value),
            paid: Money::from_fen(paid),
            start_on: start,
            end_on: end,
            state,
            state_name: state.name(lang).to_string(),
        });
    }
    Ok(ContractPage {
        as_of: q.as_of,
        total,
        page: q.page,
        per_page: q.per_page,
        pages: total.div_ceil(q.per_page),
        items,
    })
}

/// Where a record came from.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Source {
    pub batch_id: i64,
    pub file: String,
    pub sheet: String,
    pub row: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Payment {
    pub paid_on: NaiveDate,
    #[schema(value_type = String, example = "50000.00")]
    pub amount: Money,
    pub voucher: String,
    pub tranche: Option<String>,
    pub note: Option<String>,
    /// The voucher this entry reverses, for a reversing entry.
    pub reverses: Option<String>,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServiceReport {
    pub period: String,
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub new_people: Option<i64>,
    pub cumulative_people: Option<i64>,
    pub sessions: Option<i64>,
    pub source: Source,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Change {
    /// China Standard Time.
    pub changed_at: String,
    pub batch_id: Option<i64>,
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
    pub actor: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ContractDetail {
    pub code: String,
    pub title: String,
    pub category: String,
    pub category_name: String,
    pub provider: String,
    pub provider_uscc: Option<String>,
    pub purchaser: Option<String>,
    pub street: Option<String>,
    pub community: Option<String>,
    pub method: Option<String>,
    pub method_name: Option<String>,
    pub funding: Option<String>,
    pub funding_name: Option<String>,
    #[schema(value_type = String, example = "150000.00")]
    pub value: Money,
    #[schema(value_type = String, example = "75000.00")]
    pub paid: Money,
    #[schema(value_type = String, example = "75000.00")]
    pub remaining: Money,
    pub people: i64,
    pub signed_on: Option<NaiveDate>,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    pub target_people: Option<i64>,
    /// 预算项目编码 as the register gives it, and the budget line it names (none when no line
    /// has the code).
    pub budget_code: Option<String>,
    pub budget_line: Option<super::budget::ContractLine>,
    #[schema(value_type = String, example = "running")]
    pub state: ContractState,
    pub state_name: String,
    /// The register row that created it.
    pub source: Source,
    /// The batch that last changed it.
    pub updated_batch_id: i64,
    pub payments: Vec<Payment>,
    pub services: Vec<ServiceReport>,
    pub history: Vec<Change>,
}

pub async fn contract(
    db: &impl ConnectionTrait,
    code: &str,
    as_of: NaiveDate,
    lang: Lang,
) -> Result<Option<ContractDetail>, DbErr> {
    let backend = db.get_database_backend();
    let Some(c) = db
        .query_one_raw(stmt(
            backend,
            "SELECT c.*, p.uscc, b.file_name FROM contracts c JOIN providers p ON p.id = c.provider_id \
             JOIN import_batches b ON b.id = c.batch_id WHERE c.code = ?",
            vec![code.into()],
        ))
        .await?
    else {
        return Ok(None);
    };
    let id: i64 = get(&c, "id")?;
    let payments = db
        .query_all_raw(stmt(
            backend,
            "SELECT d.paid_on, d.amount_fen, d.voucher, d.tranche, d.note, r.voucher AS reverses, d.batch_id, \
             b.file_name, d.source_sheet, d.source_row FROM disbursements d \
             JOIN import_batches b ON b.id = d.batch_id LEFT JOIN disbursements r ON r.id = d.reverses_id \
             WHERE d.contract_id = ? ORDER BY d.paid_on, d.id",
            vec![id.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(Payment {
                paid_on: get(r, "paid_on")?,
                amount: Money::from_fen(get(r, "amount_fen")?),
                voucher: get(r, "voucher")?,
                tranche: get(r, "tranche")?,
                note: get(r, "note")?,
                reverses: get(r, "reverses")?,
                source: source(r)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let services = db
        .query_all_raw(stmt(
            backend,
            "SELECT s.period_label, s.period_start, s.period_end, s.new_people, s.cumulative_people, s.sessions, \
             s.batch_id, b.file_name, s.source_sheet, s.source_row FROM service_reports s \
             JOIN import_batches b ON b.id = s.batch_id WHERE s.contract_id = ? ORDER BY s.period_start",
            vec![id.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(ServiceReport {
                period: get(r, "period_label")?,
                period_start: get(r, "period_start")?,
                period_end: get(r, "period_end")?,
                new_people: get(r, "new_people")?,
                cumulative_people: get(r, "cumulative_people")?,
                sessions: get(r, "sessions")?,
                source: source(r)?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let history = db
        .query_all_raw(stmt(
            backend,
            "SELECT changed_at, batch_id, field, old_value, new_value, actor FROM change_history \
             WHERE entity = 'contract' AND record_id = ? ORDER BY id",
            vec![id.into()],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(Change {
                changed_at: local_time(get(r, "changed_at")?),
                batch_id: get(r, "batch_id")?,
                field: get(r, "field")?,
                old_value: get(r, "old_value")?,
                new_value: get(r, "new_value")?,
                actor: get(r, "actor")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    let value: i64 = get(&c, "value_fen")?;
    let paid: i64 = payments
        .iter()
        .filter(|p| p.paid_on <= as_of)
        .map(|p| p.amount.fen())
        .sum();
    let people = services
        .iter()
        .filter(|s| s.period_end <= as_of)
        .map(|s| s.new_people.unwrap_or(0))
        .sum();
    let (start, end): (NaiveDate, NaiveDate) = (get(&c, "start_on")?, get(&c, "end_on")?);
    let state = ContractState::on(start, end, paid, value, as_of);
    let category: String = get(&c, "category")?;
    let method: Option<String> = get(&c, "method")?;
    let funding: Option<String> = get(&c, "funding")?;
    let budget_code: Option<String> = get(&c, "budget_code")?;
    let signed_on: Option<NaiveDate> = get(&c, "signed_on")?;
    let budget_line = match &budget_code {
        Some(b) => {
            use chrono::Datelike;
            super::budget::contract_line(db, b, signed_on.unwrap_or(start).year(), lang).await?
        }
        None => None,
    };
    Ok(Some(ContractDetail {
        code: get(&c, "code")?,
        title: get(&c, "title")?,
        category_name: Category::parse(&category)
            .map(|k| k.name(lang).to_string())
            .unwrap_or_else(|| category.clone()),
        category,
        provider: get(&c, "provider_name")?,
        provider_uscc: get(&c, "uscc")?,
        purchaser: get(&c, "purchaser")?,
        street: get(&c, "street")?,
        community: get(&c, "community")?,
        method_name: method
            .as_deref()
            .and_then(ProcurementMethod::parse)
            .map(|m| m.name(lang).to_string()),
        method,
        funding_name: funding
            .as_deref()
            .and_then(FundingSource::parse)
            .map(|f| f.name(lang).to_string()),
        funding,
        value: Money::from_fen(value),
        paid: Money::from_fen(paid),
        remaining: Money::from_fen(value - paid),
        people,
        signed_on,
        start_on: start,
        end_on: end,
        target_people: get(&c, "target_people")?,
        budget_code,
        budget_line,
        state,
        state_name: state.name(lang).to_string(),
        source: Source {
            batch_id: get(&c, "batch_id")?,
            file: get(&c, "file_name")?,
            sheet: get(&c, "source_sheet")?,
            row: get(&c, "source_row")?,
        },
        updated_batch_id: get(&c, "updated_batch_id")?,
        payments,
        services,
        history,
    }))
}

fn source(r: &QueryResult) -> Result<Source, DbErr> {
    Ok(Source {
        batch_id: get(r, "batch_id")?,
        file: get(r, "file_name")?,
        sheet: get(r, "source_sheet")?,
        row: get(r, "source_row")?,
    })
}

/// Sub-districts in the ledger, for the filter's choices.
pub async fn streets(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let backend = db.get_database_backend();
    db.query_all_raw(stmt(
        backend,
        "SELECT DISTINCT street FROM contracts WHERE street IS NOT NULL ORDER BY street",
        vec![],
    ))
    .await?
    .iter()
    .map(|r| get(r, "street"))
    .collect()
}
