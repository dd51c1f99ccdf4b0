//! Storing the service reports of a file: each contract's stored reports are loaded, the
//! counting rules of [`crate::services::counting`] run over them and the file's, and new or
//! changed reports are written with their history.

use std::collections::{BTreeMap, HashMap};

use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, Set, Value};

use super::bulk::bulk_insert;
use super::{resolve_codes, Counts, Ctx, KEYS_PER_LOOKUP};
use crate::disbursements::ContractTerms;
use crate::entities::service_report;
use crate::register::columns::Field;
use crate::register::problems::Kind;
use crate::register::records::ServiceRecord;
use crate::services::counting::{self, Figures, Finding, People};
use crate::services::Period;

pub(super) async fn store_services(
    ctx: &mut Ctx<'_>,
    records: &[ServiceRecord],
    known: &mut HashMap<String, ContractTerms>,
) -> Result<Counts, DbErr> {
    let mut counts = Counts {
        read: records.len() as u64,
        ..Default::default()
    };
    resolve_codes(ctx, records.iter().map(|r| r.code.as_str()), known).await?;
    let mut by_contract: BTreeMap<i64, Vec<&ServiceRecord>> = BTreeMap::new();
    for rec in records {
        match known.get(rec.code.as_str()) {
            Some(c) => by_contract.entry(c.id).or_default().push(rec),
            None => ctx.problem(
                &rec.src,
                Field::Code,
                Some(rec.code.to_string()),
                Kind::UnknownContract {
                    code: rec.code.to_string(),
                },
            ),
        }
    }
    let ids: Vec<i64> = by_contract.keys().copied().collect();
    let mut stored: HashMap<i64, Vec<service_report::Model>> = HashMap::new();
    for chunk in ids.chunks(KEYS_PER_LOOKUP) {
        for m in service_report::Entity::find()
            .filter(service_report::Column::ContractId.is_in(chunk.iter().copied()))
            .all(ctx.txn)
            .await?
        {
            stored.entry(m.contract_id).or_default().push(m);
        }
    }

    let mut inserts = Vec::new();
    let mut history = Vec::new();
    for (cid, recs) in &by_contract {
        let old = stored.remove(cid).unwrap_or_default();
        let counted = counting::count(
            old.iter().map(|m| {
                let period = Period {
                    start: m.period_start,
                    end: m.period_end,
                };
                let people = People {
                    new: m.new_people,
                    cumulative: m.cumulative_people,
                };
                (period, people)
            }),
            recs.iter().map(|&rec| {
                let people = People {
                    new: rec.new_people,
                    cumulative: rec.cumulative,
                };
                (rec.period, people, rec)
            }),
        );
        let derived = match counted {
            Ok(derived) => derived,
            Err(findings) => {
                for f in findings {
                    report(ctx, f);
                }
                continue;
            }
        };
        for rec in recs {
            let prev = old
                .iter()
                .find(|m| m.period_start == rec.period.start && m.period_end == rec.period.end);
            let new_people = derived.get(&rec.period).copied();
            let figures = Figures {
                new_people,
                cumulative_people: rec.cumulative,
                sessions: rec.sessions,
            };
            match prev {
                Some(m) => {
                    let stored = Figures {
                        new_people: m.new_people,
                        cumulative_people: m.cumulative_people,
                        sessions: m.sessions,
                    };
                    let changes = stored.changes(&figures);
                    if changes.is_empty() {
                        counts.unchanged += 1;
                        continue;
                    }
                    counts.updated += 1;
                    let key = format!("{}@{}", rec.code, rec.period.label());
                    let txt = |v: Option<i64>| v.map(|n| n.to_string());
                    for (f, a, b) in changes {
                        history.push(("service_report", m.id, key.clone(), f, txt(a), txt(b)));
                    }
                    let am = service_report::ActiveModel {
                        id: Set(m.id),
                        new_people: Set(new_people),
                        cumulative_people: Set(rec.cumulative),
                        sessions: Set(rec.sessions),
                        // batch, sheet and row stay those of the report's first import;
                        // the change and its batch are in the history.
                        ..Default::default()
                    };
                    service_report::Entity::update(am).exec(ctx.txn).await?;
                }
                None => {
                    counts.inserted += 1;
                    inserts.push(vec![
                        Value::from(*cid),
                        rec.period.start.into(),
                        rec.period.end.into(),
                        rec.period.label().into(),
                        new_people.into(),
                        rec.cumulative.into(),
                        rec.sessions.into(),
                        ctx.batch_id.into(),
                        rec.src.sheet.to_string().into(),
                        i64::from(rec.src.row).into(),
                    ]);
                }
            }
        }
    }
    bulk_insert(
        ctx.txn,
        "service_reports",
        &[
            "contract_id",
            "period_start",
            "period_end",
            "period_label",
            "new_people",
            "cumulative_people",
            "sessions",
            "batch_id",
            "source_sheet",
            "source_row",
        ],
        inserts,
    )
    .await?;
    ctx.history(history).await?;
    Ok(counts)
}

/// A counting rule's finding as a problem on the file's row.
fn report(ctx: &mut Ctx<'_>, finding: Finding<&ServiceRecord>) {
    match finding {
        Finding::Overlap { row, other } => ctx.problem(
            &row.src,
            Field::Period,
            Some(row.period.label()),
            Kind::PeriodOverlap {
                other: other.label(),
            },
        ),
        Finding::CumulativeMismatch {
            row,
            cumulative,
            expected,
        } => ctx.problem(
            &row.src,
            Field::Cumulative,
            Some(cumulative.to_string()),
            Kind::CumulativeMismatch { expected },
        ),
        Finding::CumulativeDecreases {
            row,
            cumulative,
            previous,
        } => ctx.problem(
            &row.src,
            Field::Cumulative,
            Some(cumulative.to_string()),
            Kind::CumulativeDecreases { previous },
        ),
    }
}
