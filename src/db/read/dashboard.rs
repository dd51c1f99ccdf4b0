//! The dashboard's figures as one typed record: totals, contract value by category,
//! cumulative disbursements by month, and people served by sub-district, all read from one
//! snapshot of the ledger as of a date (the same snapshot the reports read).

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ConnectionTrait, DbErr};

use super::ledger::{self, Scope, Snapshot};
use crate::contracts::Category;
use crate::money::Money;
use crate::Lang;

/// Totals of the ledger as of a date.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Totals {
    pub contracts: i64,
    pub providers: i64,
    pub value: Money,
    pub disbursed: Money,
    pub people: i64,
}

impl Totals {
    /// Disbursed against value, in percent to two decimals; none when nothing was bought.
    pub fn execution_rate(&self) -> Option<Decimal> {
        let (paid, value) = (self.disbursed.fen(), self.value.fen());
        if value == 0 {
            return None;
        }
        let p = Decimal::from(paid) * Decimal::ONE_HUNDRED / Decimal::from(value);
        Some(p.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero))
    }
}

/// What the dashboard shows, as of one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub as_of: NaiveDate,
    pub total: Totals,
    /// Contract value of each category (every category but "other" even when empty).
    pub value_by_category: Vec<(Category, Money)>,
    /// Disbursed up to the end of each month in which a contract was signed or a payment
    /// made, in month order.
    pub cumulative_disbursed: Vec<(String, Money)>,
    /// People served in each sub-district (none: not filled in).
    pub people_by_street: Vec<(Option<String>, i64)>,
}

pub async fn summary(db: &impl ConnectionTrait, as_of: NaiveDate) -> Result<Summary, DbErr> {
    let scope = Scope {
        as_of,
        ..Default::default()
    };
    let mut snap = Snapshot {
        contracts: ledger::contracts(db, &scope).await?,
        ..Default::default()
    };
    ledger::paid(db, &scope, true, &mut snap).await?;
    ledger::served(db, &scope, false, &mut snap).await?;
    Ok(of_snapshot(&snap, as_of))
}

fn of_snapshot(snap: &Snapshot, as_of: NaiveDate) -> Summary {
    let mut total = Totals::default();
    let mut providers = HashSet::new();
    let (mut value, mut paid) = (0i64, 0i64);
    let mut by_category: BTreeMap<Category, i64> = Category::ALL.iter().map(|c| (*c, 0)).collect();
    let mut category_used: HashSet<Category> = HashSet::new();
    let mut by_street: BTreeMap<Option<String>, i64> = BTreeMap::new();
    let mut months: BTreeMap<String, i64> = BTreeMap::new();
    for c in &snap.contracts {
        let people = snap.served.get(&c.id).map(|s| s.people).unwrap_or(0);
        total.contracts += 1;
        providers.insert(c.provider_id);
        value += c.value.fen();
        total.people += people;
        let k = c.category;
        *by_category.entry(k).or_default() += c.value.fen();
        category_used.insert(k);
        *by_street.entry(c.street.clone()).or_default() += people;
        months
            .entry(c.counted_from().format("%Y-%m").to_string())
            .or_default();
    }
    let known: HashSet<i64> = snap.contracts.iter().map(|c| c.id).collect();
    for ((id, month), fen) in &snap.paid_by_month {
        if known.contains(id) {
            paid += fen;
            *months.entry(month.clone()).or_default() += fen;
        }
    }
    total.providers = providers.len() as i64;
    total.value = Money::from_fen(value);
    total.disbursed = Money::from_fen(paid);
    let mut running = 0i64;
    let cumulative_disbursed = months
        .into_iter()
        .map(|(month, fen)| {
            running += fen;
            (month, Money::from_fen(running))
        })
        .collect();
    Summary {
        as_of,
        total,
        value_by_category: by_category
            .into_iter()
            .filter(|(k, _)| *k != Category::Other || category_used.contains(k))
            .map(|(k, fen)| (k, Money::from_fen(fen)))
            .collect(),
        cumulative_disbursed,
        people_by_street: by_street.into_iter().collect(),
    }
}

/// A sub-district's name as the dashboard shows it.
pub fn street_label(street: &Option<String>, lang: Lang) -> String {
    street
        .clone()
        .unwrap_or_else(|| lang.pick("（未填）", "(blank)").to_string())
}
