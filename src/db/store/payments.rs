//! Storing the payments of a file: the contracts they name and the payments already recorded
//! against them are loaded, each row goes through [`crate::disbursements::Checker`] in file
//! order, and the accepted rows are written in chunks while the next ones are checked.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter, QuerySelect};

use super::bulk::{
    insert_values, payment_values, rows_per_statement, write_payments, PaymentRows, PAYMENT_COLS,
    PG_PAYMENTS_PER_STATEMENT,
};
use super::{resolve_codes, Counts, Ctx, Gross, LatePayment, KEYS_PER_LOOKUP};
use crate::db::sql::is_postgres;
use crate::disbursements::{Checker, ContractTerms, Verdict};
use crate::entities::disbursement;
use crate::register::records::PaymentRecord;

/// The payments of a file: all read already, or arriving in chunks while the rest of the
/// file is still being parsed (see `crate::register::records::Streamed`).
pub enum PaymentInput<'r> {
    Parsed(&'r [PaymentRecord]),
    /// The payments of earlier sheets, then the chunks of the last one.
    Streamed(
        Vec<PaymentRecord>,
        tokio::sync::mpsc::Receiver<crate::register::records::Streamed>,
    ),
}

/// Rows of a parsed file checked between two lookups of the contracts they name.
const PAYMENTS_PER_CHECK: usize = 4096;

/// What the loading side remembers from one chunk of rows to the next.
#[derive(Default)]
struct Loaded {
    /// Whether the contracts known before the first row (this file's own) are loaded.
    began: bool,
    /// Codes looked up and not found, so that a file of unknown codes asks once.
    absent: HashSet<String>,
}

impl Loaded {
    /// Looks up the contracts of `records` not known yet, and gives the checker the payments
    /// already recorded against each contract as it becomes known (once: a million rows name
    /// the same few thousand contracts over and over).
    async fn resolve(
        &mut self,
        ctx: &Ctx<'_>,
        check: &mut Checker,
        records: &[PaymentRecord],
        known: &mut HashMap<String, ContractTerms>,
        ledger_gross: &mut HashMap<i64, Gross>,
    ) -> Result<(), DbErr> {
        let mut ids = Vec::new();
        if !self.began {
            // The contracts of this file, stored just before its payments.
            ids.extend(known.values().map(|c| c.id));
            self.began = true;
        }
        let codes: Vec<&str> = records
            .iter()
            .map(|r| r.code.as_str())
            .filter(|c| !known.contains_key(*c) && !self.absent.contains(*c))
            .collect();
        if !codes.is_empty() {
            ids.extend(resolve_codes(ctx, codes.iter().copied(), known).await?);
            for c in codes {
                if !known.contains_key(c) {
                    self.absent.insert(c.to_string());
                }
            }
        }
        ids.sort_unstable();
        ids.dedup();
        for chunk in ids.chunks(KEYS_PER_LOOKUP) {
            let rows: Vec<(i64, i64, String, NaiveDate, i64, Option<i64>)> =
                disbursement::Entity::find()
                    .select_only()
                    .columns([
                        disbursement::Column::Id,
                        disbursement::Column::ContractId,
                        disbursement::Column::Voucher,
                        disbursement::Column::PaidOn,
                        disbursement::Column::Amount,
                        disbursement::Column::ReversesId,
                    ])
                    .filter(disbursement::Column::ContractId.is_in(chunk.iter().copied()))
                    .into_tuple()
                    .all(ctx.txn)
                    .await?;
            for (id, cid, voucher, date, amount_fen, rev) in rows {
                if amount_fen > 0 {
                    ledger_gross.entry(cid).or_default().ledger += amount_fen;
                }
                check.stored(cid, id, voucher, date, amount_fen, rev);
            }
        }
        Ok(())
    }
}

/// A reversal accepted by the checker, written after the file's payments: it may name one
/// of them, whose id is known only once it is stored.
struct Reversal {
    rec: PaymentRecord,
    contract_id: i64,
    amount_fen: i64,
    target: String,
}

pub(super) async fn store_payments(
    ctx: &mut Ctx<'_>,
    input: PaymentInput<'_>,
    known: &mut HashMap<String, ContractTerms>,
) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    let mut check = Checker::default();
    let mut loaded = Loaded::default();
    let mut reversals: Vec<Reversal> = Vec::new();
    // Positive payments per contract, the ledger's and this file's; only the contracts this
    // file pays are kept for the warnings.
    let mut gross: HashMap<i64, Gross> = HashMap::new();
    let mut late: Vec<LatePayment> = Vec::new();
    // PostgreSQL takes a chunk as ten arrays (`insert_payments`), so its size is not bound by
    // the parameter limit; larger chunks run its per-statement checks (the statement-level
    // trigger of m20261128_000003) fewer times.
    let rows_per_chunk = match is_postgres(ctx.txn) {
        true => PG_PAYMENTS_PER_STATEMENT,
        false => rows_per_statement(PAYMENT_COLS.len()),
    };
    // Checking the next rows overlaps with writing the last ones: the database works on one
    // chunk (SQLite on the driver's worker thread, PostgreSQL in the server) while this task
    // checks the rows of the next, and (with a streamed input) the parser reads on. The
    // channel holds one chunk, so at most three are in memory: being written, waiting, being
    // built.
    let txn = ctx.txn;
    let (chunks, mut waiting) = tokio::sync::mpsc::channel::<PaymentRows>(1);
    let writer = async move {
        let mut busy = std::time::Duration::ZERO;
        while let Some(rows) = waiting.recv().await {
            let t = std::time::Instant::now();
            write_payments(txn, rows).await?;
            busy += t.elapsed();
        }
        Ok::<_, DbErr>(busy)
    };
    let checker = async {
        let chunks = chunks;
        let mut plain = PaymentRows::for_txn(txn, rows_per_chunk);
        let mut input = input;
        let mut parsed_at = 0usize;
        let mut wait_parse = std::time::Duration::ZERO;
        let mut wait_send = std::time::Duration::ZERO;
        let mut wait_resolve = std::time::Duration::ZERO;
        let t0 = std::time::Instant::now();
        'chunks: loop {
            let mut owned = Vec::new();
            let records: &[PaymentRecord] = match &mut input {
                PaymentInput::Parsed(all) => {
                    let end = (parsed_at + PAYMENTS_PER_CHECK).min(all.len());
                    let slice = &all[parsed_at..end];
                    parsed_at = end;
                    slice
                }
                PaymentInput::Streamed(earlier, _) if !earlier.is_empty() => {
                    owned = std::mem::take(earlier);
                    &owned
                }
                PaymentInput::Streamed(_, rx) => {
                    let t = std::time::Instant::now();
                    let m = rx.recv().await;
                    wait_parse += t.elapsed();
                    if let Some(crate::register::records::Streamed::Payments(v)) = m {
                        owned = v;
                    }
                    &owned
                }
            };
            if records.is_empty() {
                break;
            }
            counts.read += records.len() as u64;
            let t = std::time::Instant::now();
            loaded
                .resolve(ctx, &mut check, records, known, &mut gross)
                .await?;
            wait_resolve += t.elapsed();
            for rec in records {
                let terms = known.get(rec.code.as_str()).copied();
                let (contract_id, amount_fen) = match check.check(rec, terms, ctx) {
                    Verdict::Accepted {
                        contract_id,
                        amount_fen,
                    } => (contract_id, amount_fen),
                    Verdict::Unchanged => {
                        counts.unchanged += 1;
                        continue;
                    }
                    Verdict::Refused => continue,
                };
                counts.inserted += 1;
                if let Some(days) = &mut ctx.day_entries {
                    if !days.add(contract_id, rec.date, amount_fen) {
                        // An id too large to pack: the database sums the rows instead.
                        ctx.day_entries = None;
                    }
                }
                if amount_fen > 0 {
                    gross.entry(contract_id).or_default().batch += amount_fen;
                    if terms.is_some_and(|t| rec.date > t.end) {
                        late.push(LatePayment {
                            contract_id,
                            paid_on: rec.date,
                            fen: amount_fen,
                            src: rec.src.clone(),
                        });
                    }
                }
                if let Some(target) = &rec.reverses {
                    reversals.push(Reversal {
                        rec: rec.clone(),
                        contract_id,
                        amount_fen,
                        target: target.clone(),
                    });
                    continue;
                }
                plain.push(ctx.batch_id, rec, contract_id, amount_fen);
                // Written as they pass, so a million rows never sit in memory twice; a later
                // error still rolls the whole transaction back.
                if plain.rows() >= rows_per_chunk {
                    let values = plain.take();
                    // After an error nothing will be kept: stop writing, go on checking.
                    let t = std::time::Instant::now();
                    let writer_gone = !ctx.has_error && chunks.send(values).await.is_err();
                    wait_send += t.elapsed();
                    if writer_gone {
                        // The writer stopped on a database error, returned below.
                        break 'chunks;
                    }
                }
            }
        }
        if !ctx.has_error {
            let _ = chunks.send(plain).await;
        }
        Ok::<_, DbErr>((t0.elapsed(), wait_parse, wait_send, wait_resolve))
    };
    let (checked, written) = tokio::join!(checker, writer);
    let writing = written?;
    let (total, waiting_for_rows, waiting_for_writer, lookups) = checked?;
    // Where a large import's time goes: the writer is the floor; the checker waits for the
    // parser, for room in the writer's queue, and for its lookups to get the connection.
    tracing::debug!(
        rows = counts.read,
        ?total,
        ?writing,
        ?waiting_for_rows,
        ?waiting_for_writer,
        ?lookups,
        "payments checked and written"
    );
    if !reversals.is_empty() {
        write_reversals(ctx, &check, &reversals).await?;
    }
    gross.retain(|_, g| g.batch > 0);
    let noted = &mut ctx.batch_payments;
    for (id, g) in gross {
        let n = noted.gross.entry(id).or_default();
        n.ledger = n.ledger.max(g.ledger);
        n.batch += g.batch;
    }
    noted.late.extend(late);
    Ok(counts)
}

/// Writes the reversals with the ids of the payments they reverse: stored before this file,
/// or written by it just now.
async fn write_reversals(
    ctx: &Ctx<'_>,
    check: &Checker,
    reversals: &[Reversal],
) -> Result<(), DbErr> {
    let mut written: HashMap<(i64, String), i64> = HashMap::new();
    let cids: Vec<i64> = reversals.iter().map(|r| r.contract_id).collect();
    for chunk in cids.chunks(KEYS_PER_LOOKUP) {
        let rows: Vec<(i64, i64, String)> = disbursement::Entity::find()
            .select_only()
            .columns([
                disbursement::Column::Id,
                disbursement::Column::ContractId,
                disbursement::Column::Voucher,
            ])
            .filter(disbursement::Column::ContractId.is_in(chunk.iter().copied()))
            .filter(disbursement::Column::BatchId.eq(ctx.batch_id))
            .into_tuple()
            .all(ctx.txn)
            .await?;
        written.extend(rows.into_iter().map(|(id, cid, v)| ((cid, v), id)));
    }
    let mut values = Vec::with_capacity(reversals.len() * PAYMENT_COLS.len());
    for r in reversals {
        // A voucher already stored is never written again by this file, so the two never
        // both name one (contract, voucher).
        let rid = written
            .get(&(r.contract_id, r.target.clone()))
            .copied()
            .or_else(|| check.stored_id(r.contract_id, &r.target));
        values.extend(payment_values(
            ctx.batch_id,
            &r.rec,
            r.contract_id,
            r.amount_fen,
            rid,
        ));
    }
    let chunk_values = rows_per_statement(PAYMENT_COLS.len()) * PAYMENT_COLS.len();
    for chunk in values.chunks(chunk_values) {
        insert_values(ctx.txn, "disbursements", &PAYMENT_COLS, chunk.to_vec()).await?;
    }
    Ok(())
}
