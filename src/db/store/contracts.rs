//! Storing the contracts of a file: providers found or added, new contracts inserted,
//! changed ones updated with their history. What counts as a change is
//! [`crate::contracts::changes`].

use std::collections::HashMap;

use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Value};

use super::bulk::bulk_insert;
use super::{load_contracts, terms, Counts, Ctx, KEYS_PER_LOOKUP};
use crate::contracts::changes::{value_below_paid, ContractFields};
use crate::disbursements::ContractTerms;
use crate::entities::{contract, disbursement, provider};
use crate::money::Money;
use crate::register::columns::Field;
use crate::register::problems::Kind;
use crate::register::records::ContractRecord;

/// Net amount paid per contract id.
async fn paid_per_contract(ctx: &Ctx<'_>, ids: &[i64]) -> Result<HashMap<i64, i64>, DbErr> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(KEYS_PER_LOOKUP) {
        let rows: Vec<(i64, Option<i64>)> = disbursement::Entity::find()
            .select_only()
            .column(disbursement::Column::ContractId)
            .column_as(Expr::cust("CAST(SUM(amount_fen) AS BIGINT)"), "paid")
            .filter(disbursement::Column::ContractId.is_in(chunk.iter().copied()))
            .group_by(disbursement::Column::ContractId)
            .into_tuple()
            .all(ctx.txn)
            .await?;
        out.extend(rows.into_iter().map(|(id, s)| (id, s.unwrap_or(0))));
    }
    Ok(out)
}

async fn resolve_provider(
    ctx: &mut Ctx<'_>,
    rec: &ContractRecord,
    by_uscc: &mut HashMap<String, (i64, String)>,
    by_name: &mut HashMap<String, i64>,
) -> Result<i64, DbErr> {
    if let Some(u) = &rec.uscc {
        let key = u.as_str().to_string();
        if !by_uscc.contains_key(&key) {
            if let Some(p) = provider::Entity::find()
                .filter(provider::Column::Uscc.eq(key.clone()))
                .one(ctx.txn)
                .await?
            {
                by_uscc.insert(key.clone(), (p.id, p.name));
            }
        }
        if let Some((id, name)) = by_uscc.get(&key).cloned() {
            if name != rec.provider {
                ctx.problem(
                    &rec.src,
                    Field::Uscc,
                    Some(key),
                    Kind::UsccManyNames {
                        names: format!("{name}、{}", rec.provider),
                    },
                );
            }
            return Ok(id);
        }
        let id = insert_provider(ctx, rec, Some(key.clone())).await?;
        by_uscc.insert(key, (id, rec.provider.clone()));
        return Ok(id);
    }
    if let Some(id) = by_name.get(&rec.provider) {
        return Ok(*id);
    }
    let found = provider::Entity::find()
        .filter(provider::Column::Name.eq(rec.provider.clone()))
        .order_by_asc(provider::Column::Id)
        .one(ctx.txn)
        .await?;
    let id = match found {
        Some(p) => p.id,
        None => insert_provider(ctx, rec, None).await?,
    };
    by_name.insert(rec.provider.clone(), id);
    Ok(id)
}

async fn insert_provider(
    ctx: &Ctx<'_>,
    rec: &ContractRecord,
    uscc: Option<String>,
) -> Result<i64, DbErr> {
    let m = provider::ActiveModel {
        name: Set(rec.provider.clone()),
        uscc: Set(uscc),
        batch_id: Set(ctx.batch_id),
        source_sheet: Set(rec.src.sheet.to_string()),
        source_row: Set(i64::from(rec.src.row)),
        ..Default::default()
    };
    Ok(provider::Entity::insert(m)
        .exec(ctx.txn)
        .await?
        .last_insert_id)
}

pub(super) async fn store_contracts(
    ctx: &mut Ctx<'_>,
    records: &[ContractRecord],
    known: &mut HashMap<String, ContractTerms>,
) -> Result<Counts, DbErr> {
    let mut counts = Counts {
        read: records.len() as u64,
        ..Default::default()
    };
    let codes: Vec<String> = records
        .iter()
        .map(|r| r.code.as_str().to_string())
        .collect();
    let existing: HashMap<String, contract::Model> = load_contracts(ctx, &codes)
        .await?
        .into_iter()
        .map(|m| (m.code.clone(), m))
        .collect();
    let existing_ids: Vec<i64> = existing.values().map(|m| m.id).collect();
    let paid = paid_per_contract(ctx, &existing_ids).await?;

    let mut by_uscc = HashMap::new();
    let mut by_name = HashMap::new();
    let mut inserts = Vec::new();
    let mut history = Vec::new();
    for rec in records {
        let provider_id = resolve_provider(ctx, rec, &mut by_uscc, &mut by_name).await?;
        let value_fen = rec.value.fen();
        let fields = ContractFields {
            title: rec.title.clone(),
            category: rec.category,
            provider_id,
            provider_name: rec.provider.clone(),
            purchaser: rec.purchaser.clone(),
            street: rec.street.clone(),
            community: rec.community.clone(),
            method: rec.method,
            funding: rec.funding,
            value: rec.value,
            signed_on: rec.signed,
            start_on: rec.start,
            end_on: rec.end,
            target_people: rec.target,
            budget_code: rec.budget_code.clone(),
        };
        match existing.get(rec.code.as_str()) {
            Some(old) => {
                let paid_fen = paid.get(&old.id).copied().unwrap_or(0);
                if value_below_paid(rec.value, Money::from_fen(paid_fen)) {
                    ctx.problem(
                        &rec.src,
                        Field::Value,
                        Some(rec.value.to_string()),
                        Kind::ValueBelowPaid {
                            value: rec.value.to_string(),
                            paid: Money::from_fen(paid_fen).to_string(),
                        },
                    );
                    continue;
                }
                let diff = stored_fields(old).diff(&fields);
                known.insert(
                    old.code.clone(),
                    ContractTerms {
                        id: old.id,
                        value_fen,
                        start: rec.start,
                        end: rec.end,
                    },
                );
                if diff.is_empty() {
                    counts.unchanged += 1;
                    continue;
                }
                counts.updated += 1;
                for (f, a, b) in diff {
                    history.push(("contract", old.id, old.code.clone(), f, a, b));
                }
                let am = contract::ActiveModel {
                    id: Set(old.id),
                    title: Set(fields.title),
                    category: Set(fields.category),
                    provider_id: Set(fields.provider_id),
                    provider_name: Set(fields.provider_name),
                    purchaser: Set(fields.purchaser),
                    street: Set(fields.street),
                    community: Set(fields.community),
                    method: Set(fields.method),
                    funding: Set(fields.funding),
                    value: Set(fields.value),
                    signed_on: Set(fields.signed_on),
                    start_on: Set(fields.start_on),
                    end_on: Set(fields.end_on),
                    target_people: Set(fields.target_people),
                    budget_code: Set(fields.budget_code),
                    updated_batch_id: Set(ctx.batch_id),
                    ..Default::default()
                };
                contract::Entity::update(am).exec(ctx.txn).await?;
            }
            None => {
                counts.inserted += 1;
                inserts.push(vec![
                    Value::from(rec.code.as_str()),
                    fields.title.into(),
                    fields.category.into(),
                    fields.provider_id.into(),
                    fields.provider_name.into(),
                    fields.purchaser.into(),
                    fields.street.into(),
                    fields.community.into(),
                    fields.method.into(),
                    fields.funding.into(),
                    fields.value.into(),
                    fields.signed_on.into(),
                    fields.start_on.into(),
                    fields.end_on.into(),
                    fields.target_people.into(),
                    "active".into(),
                    ctx.batch_id.into(),
                    rec.src.sheet.to_string().into(),
                    i64::from(rec.src.row).into(),
                    ctx.batch_id.into(),
                    fields.budget_code.into(),
                ]);
            }
        }
    }
    bulk_insert(
        ctx.txn,
        "contracts",
        &[
            "code",
            "title",
            "category",
            "provider_id",
            "provider_name",
            "purchaser",
            "street",
            "community",
            "method",
            "funding",
            "value_fen",
            "signed_on",
            "start_on",
            "end_on",
            "target_people",
            "status",
            "batch_id",
            "source_sheet",
            "source_row",
            "updated_batch_id",
            "budget_code",
        ],
        inserts,
    )
    .await?;
    // The new contracts' ids, for payments and service reports later in the same file.
    let new_codes: Vec<String> = codes
        .into_iter()
        .filter(|c| !known.contains_key(c))
        .collect();
    for m in load_contracts(ctx, &new_codes).await? {
        known.insert(m.code.clone(), terms(&m));
    }
    ctx.history(history).await?;
    Ok(counts)
}

/// A stored contract's fields, to compare with an incoming row.
fn stored_fields(m: &contract::Model) -> ContractFields {
    ContractFields {
        title: m.title.clone(),
        category: m.category,
        provider_id: m.provider_id,
        provider_name: m.provider_name.clone(),
        purchaser: m.purchaser.clone(),
        street: m.street.clone(),
        community: m.community.clone(),
        method: m.method,
        funding: m.funding,
        value: m.value,
        signed_on: m.signed_on,
        start_on: m.start_on,
        end_on: m.end_on,
        target_people: m.target_people,
        budget_code: m.budget_code.clone(),
    }
}
