//! What the public disclosure site (信息公开) reads: each contract's items that 财预〔2017〕87号
//! requires a purchaser to publish, and nothing else (no vouchers, no files, no accounts, no
//! person). Read once per state of the ledger and kept by the web's cache.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, QueryOrder};

use super::super::sql::{get, month_expr, stmt};
use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::entities::{contract, evaluation, provider};
use crate::evaluations::{EvaluationType, Grade, Score};
use crate::money::Money;

/// One contract as the public sees it.
#[derive(Debug, Clone)]
pub struct Disclosed {
    pub code: String,
    /// The year it was signed (or, unsigned, began): the year it is listed under.
    pub year: i32,
    pub title: String,
    pub category: Category,
    pub street: Option<String>,
    pub method: Option<ProcurementMethod>,
    pub provider: String,
    pub uscc: Option<String>,
    pub value: Money,
    pub funding: Option<FundingSource>,
    /// Disbursed in each calendar year (年度资金安排 as paid), reversals netted.
    pub yearly: Vec<(i32, Money)>,
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// The latest evaluation's result (none before the first).
    pub evaluation: Option<Evaluated>,
}

/// An evaluation's result as published: its type, date, score and grade.
#[derive(Debug, Clone)]
pub struct Evaluated {
    pub kind: EvaluationType,
    pub on: NaiveDate,
    pub score: Score,
    pub grade: Grade,
}

/// Every contract recorded, in code order.
pub async fn load(db: &impl ConnectionTrait) -> Result<Vec<Disclosed>, DbErr> {
    let usccs: HashMap<i64, Option<String>> = provider::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id, p.uscc))
        .collect();
    let backend = db.get_database_backend();
    // Per contract and month, summed by the database over integer fen; the years in Rust.
    let sql = format!(
        "SELECT contract_id, {m} AS month, CAST(SUM(amount_fen) AS BIGINT) AS fen \
         FROM disbursements GROUP BY contract_id, {m}",
        m = month_expr(backend, "paid_on")
    );
    let mut yearly: HashMap<i64, BTreeMap<i32, i64>> = HashMap::new();
    for r in db.query_all_raw(stmt(backend, &sql, vec![])).await? {
        let id: i64 = get(&r, "contract_id")?;
        let month: String = get(&r, "month")?;
        let fen: i64 = get(&r, "fen")?;
        let year: i32 = month.get(..4).and_then(|y| y.parse().ok()).unwrap_or(0);
        *yearly.entry(id).or_default().entry(year).or_default() += fen;
    }
    // The latest evaluation of each contract that no correction replaced.
    let all = evaluation::Entity::find().all(db).await?;
    let replaced: std::collections::HashSet<i64> =
        all.iter().filter_map(|e| e.replaces_id).collect();
    let mut latest: HashMap<i64, evaluation::Model> = HashMap::new();
    for e in all.into_iter().filter(|e| !replaced.contains(&e.id)) {
        let newer = latest
            .get(&e.contract_id)
            .is_none_or(|l| (e.evaluated_on, e.id) > (l.evaluated_on, l.id));
        if newer {
            latest.insert(e.contract_id, e);
        }
    }
    let contracts = contract::Entity::find()
        .order_by_asc(contract::Column::Code)
        .all(db)
        .await?;
    Ok(contracts
        .into_iter()
        .map(|c| Disclosed {
            year: c.signed_on.unwrap_or(c.start_on).year(),
            uscc: usccs.get(&c.provider_id).cloned().flatten(),
            yearly: yearly
                .remove(&c.id)
                .unwrap_or_default()
                .into_iter()
                .map(|(y, fen)| (y, Money::from_fen(fen)))
                .collect(),
            code: c.code,
            title: c.title,
            category: c.category,
            street: c.street,
            method: c.method,
            provider: c.provider_name,
            value: c.value,
            funding: c.funding,
            start: c.start_on,
            end: c.end_on,
            evaluation: latest.remove(&c.id).map(|e| Evaluated {
                kind: e.kind,
                on: e.evaluated_on,
                score: Score::from_centi(e.score_centi),
                grade: e.grade,
            }),
        })
        .collect())
}
