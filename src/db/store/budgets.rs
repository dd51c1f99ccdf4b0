//! Storing budget lines and their adjustments, and checking a file's contracts against the
//! lines they name. The rules are [`crate::budgets`]; this loads their inputs and saves or
//! reports their verdicts.

use std::collections::HashMap;

use chrono::Datelike;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Value};

use super::bulk::bulk_insert;
use super::{Counts, Ctx, KEYS_PER_LOOKUP};
use crate::budgets::{crosses, judge, resolve, Adjustment, Line, Resolved, Verdict};
use crate::db::read::budget::lines_with_codes;
use crate::entities::contract;
use crate::money::Money;
use crate::register::columns::Field;
use crate::register::problems::{BudgetKind, Kind};
use crate::register::records::{BudgetRecord, ContractRecord, Source};

/// A line's identity.
type Key = (i32, String);

fn key(l: &Line) -> Key {
    (l.year, l.code.clone())
}

/// A stored contract as the budget check sees it: its line's code, value and signing year.
struct Committed {
    code: String,
    budget_code: Option<String>,
    value_fen: i64,
    signed_year: i32,
}

fn committed_of(m: contract::Model) -> Committed {
    Committed {
        signed_year: m.signed_on.unwrap_or(m.start_on).year(),
        code: m.code,
        budget_code: m.budget_code,
        value_fen: m.value.fen(),
    }
}

/// The stored contracts that name one of `budget_codes`, or whose code is one of `codes`.
async fn contracts_for(
    ctx: &Ctx<'_>,
    budget_codes: &[String],
    codes: &[String],
) -> Result<Vec<Committed>, DbErr> {
    let mut out: HashMap<String, Committed> = HashMap::new();
    for chunk in budget_codes.chunks(KEYS_PER_LOOKUP) {
        for m in contract::Entity::find()
            .filter(contract::Column::BudgetCode.is_in(chunk.iter().cloned()))
            .all(ctx.txn)
            .await?
        {
            out.insert(m.code.clone(), committed_of(m));
        }
    }
    for chunk in codes.chunks(KEYS_PER_LOOKUP) {
        for m in contract::Entity::find()
            .filter(contract::Column::Code.is_in(chunk.iter().cloned()))
            .all(ctx.txn)
            .await?
        {
            out.insert(m.code.clone(), committed_of(m));
        }
    }
    Ok(out.into_values().collect())
}

/// What the stored contracts commit against each line, in fen.
fn commitments(lines: &[Line], stored: &[Committed]) -> HashMap<Key, i64> {
    let mut out: HashMap<Key, i64> = HashMap::new();
    for c in stored {
        if let Some(code) = &c.budget_code {
            if let Some(l) = resolve(code, c.signed_year, lines).line() {
                *out.entry(key(l)).or_insert(0) += c.value_fen;
            }
        }
    }
    out
}

fn sorted_unique(v: impl Iterator<Item = String>) -> Vec<String> {
    let mut v: Vec<String> = v.collect();
    v.sort();
    v.dedup();
    v
}

pub(super) async fn store_budgets(
    ctx: &mut Ctx<'_>,
    records: &[BudgetRecord],
) -> Result<Counts, DbErr> {
    let mut counts = Counts {
        read: records.len() as u64,
        ..Default::default()
    };
    let codes = sorted_unique(records.iter().map(|r| r.code.clone()));
    let mut lines: HashMap<Key, Line> = lines_with_codes(ctx.txn, &codes)
        .await?
        .into_iter()
        .map(|l| (key(&l), l))
        .collect();
    let mut inserts = Vec::new();
    // Negative adjustments of this file: checked against the commitments once all are in.
    let mut cuts: Vec<(Key, &BudgetRecord)> = Vec::new();
    // Lines before adjustments, each in file order: an adjustment may come above its line.
    let ordered = records
        .iter()
        .filter(|r| r.adjusts.is_none())
        .chain(records.iter().filter(|r| r.adjusts.is_some()));
    for r in ordered {
        let k = (r.year, r.code.clone());
        match judge(r, lines.get(&k)) {
            Verdict::Unchanged => {
                counts.unchanged += 1;
                continue;
            }
            Verdict::Edited { field, recorded } => {
                let value = match field {
                    Field::BudgetName => r.name.clone(),
                    Field::Funding => r.funding.zh().to_string(),
                    Field::Category => r.category.map(|c| c.zh()).unwrap_or("").to_string(),
                    Field::Approved => r.amount.to_string(),
                    Field::ApprovalDate => r.approval_date.to_string(),
                    _ => r.approval_doc.clone(),
                };
                ctx.problem(
                    &r.src,
                    field,
                    Some(value),
                    Kind::Budget(BudgetKind::LineEdited { recorded }),
                );
                continue;
            }
            Verdict::AdjustsUnknown { line_doc } => {
                ctx.problem(
                    &r.src,
                    Field::Adjusts,
                    r.adjusts.clone(),
                    Kind::Budget(BudgetKind::AdjustsUnknown {
                        year: r.year,
                        code: r.code.clone(),
                        line_doc,
                    }),
                );
                continue;
            }
            Verdict::NewLine => {
                lines.insert(k, Line::from_record(0, r));
            }
            Verdict::NewAdjustment => {
                if let Some(l) = lines.get_mut(&k) {
                    l.adjustments.push(Adjustment {
                        id: 0,
                        doc: r.approval_doc.clone(),
                        date: r.approval_date,
                        amount: r.amount,
                    });
                }
                if r.amount.is_negative() {
                    cuts.push(((r.year, r.code.clone()), r));
                }
            }
        }
        counts.inserted += 1;
        inserts.push(vec![
            Value::from(r.year),
            r.code.clone().into(),
            r.name.clone().into(),
            r.funding.into(),
            r.category.into(),
            r.amount.into(),
            r.approval_doc.clone().into(),
            r.approval_date.into(),
            r.adjusts.clone().into(),
            ctx.batch_id.into(),
            r.src.sheet.to_string().into(),
            i64::from(r.src.row).into(),
        ]);
    }
    bulk_insert(
        ctx.txn,
        "budget_lines",
        &[
            "budget_year",
            "code",
            "name",
            "funding",
            "category",
            "amount_fen",
            "approval_doc",
            "approval_date",
            "adjusts_doc",
            "batch_id",
            "source_sheet",
            "source_row",
        ],
        inserts,
    )
    .await?;
    if !cuts.is_empty() {
        // A cut below what is already signed cannot be refused (the approval is a fact), so it
        // is stored and reported, and the exceptions list the line.
        let cut_codes = sorted_unique(cuts.iter().map(|(k, _)| k.1.clone()));
        let all: Vec<Line> = lines.values().cloned().collect();
        let stored = contracts_for(ctx, &cut_codes, &[]).await?;
        let committed = commitments(&all, &stored);
        for (k, r) in cuts {
            let (Some(l), Some(c)) = (lines.get(&k), committed.get(&k)) else {
                continue;
            };
            if *c > l.total_fen() {
                ctx.problem(
                    &r.src,
                    Field::Approved,
                    Some(r.amount.to_string()),
                    Kind::Budget(BudgetKind::Overcommitted {
                        line: l.label(),
                        budget: Money::from_fen(l.total_fen()).to_string(),
                        committed: Money::from_fen(*c).to_string(),
                    }),
                );
            }
        }
    }
    Ok(counts)
}

/// Checks a file's contracts against their budget lines (stored earlier, or earlier in the
/// file, whose budgets are stored first): a contract names its line or is warned about; an
/// unknown code is an error; the row whose value would take its line's commitments over the
/// line is refused at its value, as an over-payment is.
pub(super) async fn check_contracts(
    ctx: &mut Ctx<'_>,
    records: &[ContractRecord],
) -> Result<(), DbErr> {
    let codes = sorted_unique(records.iter().map(|r| r.code.as_str().to_string()));
    let named = sorted_unique(records.iter().filter_map(|r| r.budget_code.clone()));
    let first = contracts_for(ctx, &named, &codes).await?;
    // The lines the stored versions of these contracts named count too: a contract that moves
    // to another line leaves its old one.
    let budget_codes = sorted_unique(
        named
            .iter()
            .cloned()
            .chain(first.iter().filter_map(|c| c.budget_code.clone())),
    );
    let stored = if budget_codes.len() > named.len() {
        contracts_for(ctx, &budget_codes, &codes).await?
    } else {
        first
    };
    let lines = lines_with_codes(ctx.txn, &budget_codes).await?;
    let mut committed = commitments(&lines, &stored);
    let before: HashMap<&str, Option<(Key, i64)>> = stored
        .iter()
        .map(|c| {
            let line = c
                .budget_code
                .as_deref()
                .and_then(|b| resolve(b, c.signed_year, &lines).line())
                .map(|l| (key(l), c.value_fen));
            (c.code.as_str(), line)
        })
        .collect();
    for r in records {
        let old = before.get(r.code.as_str()).cloned().flatten();
        let Some(code) = &r.budget_code else {
            warn(ctx, &r.src, None, BudgetKind::NoBudget);
            if let Some((k, v)) = old {
                *committed.entry(k).or_insert(0) -= v;
            }
            continue;
        };
        let signed = r.signed.unwrap_or(r.start);
        let signed_year = signed.year();
        let line = match resolve(code, signed_year, &lines) {
            Resolved::Unknown => {
                ctx.problem(
                    &r.src,
                    Field::BudgetCode,
                    Some(code.clone()),
                    Kind::Budget(BudgetKind::UnknownLine { code: code.clone() }),
                );
                continue;
            }
            Resolved::Other(l) => {
                warn(
                    ctx,
                    &r.src,
                    Some(code.clone()),
                    BudgetKind::OtherYear {
                        line_year: l.year,
                        signed_year,
                    },
                );
                l
            }
            Resolved::Same(l) => l,
        };
        let k = key(line);
        let kept = match &old {
            Some((ok, v)) if *ok == k => *v,
            _ => 0,
        };
        let delta = r.value.fen() - kept;
        let now = committed.get(&k).copied().unwrap_or(0);
        let limit = line.limit_for(signed);
        if crosses(limit, now, delta) {
            ctx.problem(
                &r.src,
                Field::Value,
                Some(r.value.to_string()),
                Kind::Budget(BudgetKind::OverBudget {
                    line: line.label(),
                    budget: Money::from_fen(limit).to_string(),
                    committed: Money::from_fen(now - kept).to_string(),
                    after: Money::from_fen(now + delta).to_string(),
                }),
            );
            continue;
        }
        *committed.entry(k.clone()).or_insert(0) += delta;
        if let Some((ok, v)) = old {
            if ok != k {
                *committed.entry(ok).or_insert(0) -= v;
            }
        }
    }
    Ok(())
}

fn warn(ctx: &mut Ctx<'_>, src: &Source, value: Option<String>, kind: BudgetKind) {
    ctx.problem(src, Field::BudgetCode, value, Kind::Budget(kind));
}
