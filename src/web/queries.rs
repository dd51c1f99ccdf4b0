//! What the contract pages and the import list read: one page of contracts with filters,
//! one contract with everything recorded against it, and the import batches. Every row
//! carries the batch, sheet and row it came from.

use chrono::NaiveDate;
use sea_orm::{ConnectionTrait, DbErr, QueryResult, Value};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::dates::local_time;
use crate::db::sql::{get, stmt};
use crate::money::Money;
use crate::Lang;

/// A contract's state on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContractState {
    NotStarted,
    Running,
    Ended,
    /// Ended with part of its value not paid.
    Unpaid,
}

impl ContractState {
    pub const ALL: [ContractState; 4] = [
        ContractState::NotStarted,
        ContractState::Running,
        ContractState::Ended,
        ContractState::Unpaid,
    ];

    pub fn code(self) -> &'static str {
        match self {
            ContractState::NotStarted => "not_started",
            ContractState::Running => "running",
            ContractState::Ended => "ended",
            ContractState::Unpaid => "unpaid",
        }
    }

    pub fn name(self, lang: Lang) -> &'static str {
        match self {
            ContractState::NotStarted => lang.pick("未开始", "not started"),
            ContractState::Running => lang.pick("履行中", "running"),
            ContractState::Ended => lang.pick("已结束", "ended"),
            ContractState::Unpaid => lang.pick("已结束（尚有余额未付）", "ended, balance unpaid"),
        }
    }

    fn of(start: NaiveDate, end: NaiveDate, paid: i64, value: i64, as_of: NaiveDate) -> Self {
        if start > as_of {
            ContractState::NotStarted
        } else if end >= as_of {
            ContractState::Running
        } else if paid < value {
            ContractState::Unpaid
        } else {
            ContractState::Ended
        }
    }
}

/// Filters of the contract list; every one optional.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractFilter {
    /// Words in the code, title or provider name.
    pub q: Option<String>,
    /// Category code or name (elderly, youth, disability, relief, other; or 老年服务 ...).
    pub category: Option<String>,
    /// Sub-district (街道), exactly.
    pub street: Option<String>,
    /// Provider name (part of it) or USCC.
    pub provider: Option<String>,
    /// not_started, running, ended or unpaid (ended with a balance unpaid), on `as_of`.
    pub state: Option<String>,
    /// The date states and payments are taken on (default today).
    pub as_of: Option<String>,
    /// 1-based page number.
    pub page: Option<u64>,
    /// Contracts a page (default 50, at most 500).
    pub per_page: Option<u64>,
}

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

/// The filter as checked values.
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

/// Parses the filter; an unknown category, state or date is an error naming the field.
pub fn parse_filter(
    f: &ContractFilter,
    today: NaiveDate,
) -> Result<ListQuery, super::error::WebError> {
    use super::api::{parse_category, text};
    use super::error::WebError;
    let blank = text;
    let category = parse_category(f.category.as_deref())?;
    let state = match blank(&f.state) {
        None => None,
        Some(s) => Some(
            ContractState::ALL
                .into_iter()
                .find(|k| k.code() == s)
                .ok_or_else(|| {
                    WebError::bad_request(
                        format!("未知的状态“{s}”：可选 not_started、running、ended、unpaid"),
                        format!("unknown state '{s}': use not_started, running, ended or unpaid"),
                    )
                })?,
        ),
    };
    Ok(ListQuery {
        q: blank(&f.q),
        category,
        street: blank(&f.street),
        provider: blank(&f.provider),
        state,
        as_of: super::api::parse_as_of(f.as_of.as_deref(), today)?,
        page: f.page.unwrap_or(1).max(1),
        per_page: f.per_page.unwrap_or(50).clamp(1, 500),
    })
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
    match q.state {
        None => {}
        Some(ContractState::NotStarted) => {
            filter.push_str(" AND c.start_on > ?");
            values.push(q.as_of.into());
        }
        Some(ContractState::Running) => {
            filter.push_str(" AND c.start_on <= ? AND c.end_on >= ?");
            values.push(q.as_of.into());
            values.push(q.as_of.into());
        }
        Some(s @ (ContractState::Ended | ContractState::Unpaid)) => {
            let cmp = if s == ContractState::Ended { ">=" } else { "<" };
            filter.push_str(&format!(" AND c.end_on < ? AND {paid} {cmp} c.value_fen"));
            values.push(q.as_of.into());
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
        let state = ContractState::of(start, end, paid, value, q.as_of);
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
        .map(|p| p.amount.to_fen().unwrap_or(0))
        .sum();
    let people = services
        .iter()
        .filter(|s| s.period_end <= as_of)
        .map(|s| s.new_people.unwrap_or(0))
        .sum();
    let (start, end): (NaiveDate, NaiveDate) = (get(&c, "start_on")?, get(&c, "end_on")?);
    let state = ContractState::of(start, end, paid, value, as_of);
    let category: String = get(&c, "category")?;
    let method: Option<String> = get(&c, "method")?;
    let funding: Option<String> = get(&c, "funding")?;
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
        signed_on: get(&c, "signed_on")?,
        start_on: start,
        end_on: end,
        target_people: get(&c, "target_people")?,
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

/// One import batch as the imports page lists it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Batch {
    pub id: i64,
    /// China Standard Time.
    pub recorded_at: String,
    pub file_name: String,
    pub file_size: i64,
    pub sha256: String,
    pub kind: String,
    pub actor: String,
    pub rows_read: i64,
    pub inserted: i64,
    pub updated: i64,
    pub unchanged: i64,
    pub warnings: i64,
    /// True when the uploaded file is kept and can be downloaded again.
    pub has_original: bool,
}

/// An import that started and never finished: nothing of it was stored.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Interrupted {
    /// When the interruption was found (China Standard Time).
    pub found_at: String,
    pub actor: String,
    /// The file, its size and SHA-256, and where it ran.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BatchPage {
    pub total: u64,
    pub page: u64,
    pub per_page: u64,
    pub items: Vec<Batch>,
    /// The latest imports that were interrupted (a process killed mid-import).
    pub interrupted: Vec<Interrupted>,
}

pub async fn batches(
    db: &impl ConnectionTrait,
    page: u64,
    per_page: u64,
) -> Result<BatchPage, DbErr> {
    let backend = db.get_database_backend();
    let total: i64 = super::cache::ledger_version(db).await?;
    let offset = (page.max(1) - 1).saturating_mul(per_page);
    let rows = db
        .query_all_raw(stmt(
            backend,
            "SELECT b.*, EXISTS (SELECT 1 FROM uploads u WHERE u.sha256 = b.sha256) AS has_original \
             FROM import_batches b ORDER BY b.id DESC LIMIT ? OFFSET ?",
            vec![(per_page as i64).into(), (offset.min(i64::MAX as u64) as i64).into()],
        ))
        .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        items.push(Batch {
            id: get(&r, "id")?,
            recorded_at: local_time(get(&r, "recorded_at")?),
            file_name: get(&r, "file_name")?,
            file_size: get(&r, "file_size")?,
            sha256: get(&r, "sha256")?,
            kind: get(&r, "kind")?,
            actor: get(&r, "actor")?,
            rows_read: get(&r, "rows_read")?,
            inserted: get(&r, "inserted")?,
            updated: get(&r, "updated")?,
            unchanged: get(&r, "unchanged")?,
            warnings: get(&r, "warnings")?,
            has_original: get::<bool>(&r, "has_original")
                .or_else(|_| get::<i64>(&r, "has_original").map(|n| n != 0))?,
        });
    }
    let interrupted = db
        .query_all_raw(stmt(
            backend,
            "SELECT at, actor, detail FROM audit_log WHERE action = 'import.interrupted' ORDER BY id DESC LIMIT 20",
            vec![],
        ))
        .await?
        .iter()
        .map(|r| {
            Ok(Interrupted {
                found_at: local_time(get(r, "at")?),
                actor: get(r, "actor")?,
                detail: get(r, "detail")?,
            })
        })
        .collect::<Result<Vec<_>, DbErr>>()?;
    Ok(BatchPage {
        total: total.max(0) as u64,
        page: page.max(1),
        per_page,
        items,
        interrupted,
    })
}

/// How many batches are newer than `id` (where it falls in the newest-first list).
pub async fn newer_batches(db: &impl ConnectionTrait, id: i64) -> Result<u64, DbErr> {
    let backend = db.get_database_backend();
    let n: i64 = db
        .query_one_raw(stmt(
            backend,
            "SELECT COUNT(*) AS n FROM import_batches WHERE id > ?",
            vec![id.into()],
        ))
        .await?
        .map(|r| get(&r, "n"))
        .transpose()?
        .unwrap_or(0);
    Ok(n.max(0) as u64)
}

/// The kept original of a batch: file name and bytes.
pub async fn original(
    db: &impl ConnectionTrait,
    batch_id: i64,
) -> Result<Option<(String, Vec<u8>)>, DbErr> {
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(stmt(
            backend,
            "SELECT b.file_name, u.content FROM import_batches b JOIN uploads u ON u.sha256 = b.sha256 \
             WHERE b.id = ? ORDER BY u.id LIMIT 1",
            vec![batch_id.into()],
        ))
        .await?;
    row.map(|r| Ok((get(&r, "file_name")?, get(&r, "content")?)))
        .transpose()
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
