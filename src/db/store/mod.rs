//! Writes one parsed file into the ledger inside the caller's transaction. Storing loads
//! what the rules need, asks them, and saves what they accept: the payment rules are
//! [`crate::disbursements`], the counting rules of service reports
//! [`crate::services::counting`], what changes a contract [`crate::contracts::changes`].
//! Problems are collected, never thrown: the caller rolls back when any is an error, so
//! nothing from a bad file is stored.
//!
//! Contracts are stored by `contracts`, payments by `payments`, service reports by
//! `services`; `bulk` writes many rows a statement.

mod budgets;
mod bulk;
mod contracts;
mod evaluations;
mod payments;
mod services;
mod txn;

use std::collections::{BTreeMap, HashMap};

use chrono::Utc;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set,
    Value,
};
use serde::Serialize;

pub use bulk::bulk_insert;
pub use payments::PaymentInput;
pub use txn::{ImportTxn, PgTxn};

use crate::db::sql::{is_postgres, month_expr, stmt};
use crate::disbursements::sums::{DayEntries, Months, Sum};
use crate::disbursements::{ContractTerms, Findings};
use crate::entities::{contract, import_batch};
use crate::register::columns::{ColumnMap, Field, SheetKind};
use crate::register::problems::{cell_ref, Kind, Location, Problem, Severity, MAX_ERRORS_KEPT};
use crate::register::records::{
    BudgetRecord, ContractRecord, EvaluationRecord, Parsed, ServiceRecord, Source,
};

/// Counts of one kind of record in one file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub read: u64,
    pub inserted: u64,
    pub updated: u64,
    pub unchanged: u64,
}

impl Counts {
    pub fn add(&mut self, o: &Counts) {
        self.read += o.read;
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.unchanged += o.unchanged;
    }
}

/// Facts about the file that the batch records.
#[derive(Debug, Clone)]
pub struct FileMeta {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    pub actor: String,
    /// A check that will be rolled back: it need not wait for other imports.
    pub dry_run: bool,
}

pub struct Outcome {
    pub batch_id: i64,
    pub counts: BTreeMap<SheetKind, Counts>,
    pub problems: Vec<Problem>,
    /// Warnings by code, including those not kept in `problems`.
    pub warning_counts: HashMap<&'static str, u64>,
    /// Errors by code, including those not kept in `problems`.
    pub error_counts: HashMap<&'static str, u64>,
}

/// Warnings of one kind kept in full per file; the rest are counted.
pub const MAX_WARNINGS_KEPT: u64 = 1000;

/// The advisory lock every import takes on PostgreSQL ("proc" in ASCII).
const IMPORT_LOCK: i64 = 0x7072_6f63;

/// Keys per `IN (...)` lookup.
const KEYS_PER_LOOKUP: usize = 500;

/// One changed field: (entity, record id, record key, field, old value, new value).
pub(super) type HistoryRow = (
    &'static str,
    i64,
    String,
    &'static str,
    Option<String>,
    Option<String>,
);

struct Ctx<'a> {
    txn: &'a ImportTxn,
    file: &'a str,
    columns: HashMap<String, ColumnMap>,
    problems: Vec<Problem>,
    /// Whether any of `problems` is an error: asked at every chunk written, so kept rather
    /// than found by scanning a list that can hold a million errors.
    has_error: bool,
    warning_counts: HashMap<&'static str, u64>,
    error_counts: HashMap<&'static str, u64>,
    batch_id: i64,
    actor: &'a str,
    now: chrono::DateTime<Utc>,
    /// What the evaluation warnings need to know of this batch's payments.
    batch_payments: BatchPayments,
    /// On PostgreSQL's COPY path, each payment's (contract, day, amount), summed and copied
    /// into `payment_days` and `payment_months` when the file is stored (`write_sums`); None
    /// where the database sums the rows it was given.
    day_entries: Option<DayEntries>,
}

/// Noted while the payments are checked, for the evaluation warnings given when the whole
/// file is stored (`evaluations::warn_payments`): which contracts could have been paid in full
/// by this batch, and its payments dated after their contract's term.
#[derive(Default)]
pub(super) struct BatchPayments {
    /// Positive payments per contract paid by this batch: the ledger's and this batch's.
    pub gross: HashMap<i64, Gross>,
    pub late: Vec<LatePayment>,
}

#[derive(Default, Clone, Copy)]
pub(super) struct Gross {
    pub ledger: i64,
    pub batch: i64,
}

pub(super) struct LatePayment {
    pub contract_id: i64,
    pub paid_on: chrono::NaiveDate,
    pub fen: i64,
    pub src: Source,
}

impl Ctx<'_> {
    fn problem(&mut self, src: &Source, field: Field, value: Option<String>, kind: Kind) {
        // A million-row file can warn a hundred thousand times, or be wrong a million
        // times: the first of each kind are listed, the rest counted.
        let (counts, cap) = if kind.severity() == Severity::Error {
            self.has_error = true;
            (&mut self.error_counts, MAX_ERRORS_KEPT)
        } else {
            (&mut self.warning_counts, MAX_WARNINGS_KEPT)
        };
        let n = counts.entry(kind.code()).or_insert(0);
        *n += 1;
        if *n > cap {
            return;
        }
        let col = self
            .columns
            .get(&*src.sheet)
            .and_then(|m| m.col(field).or(m.col(Field::Code)));
        let at = Location {
            file: self.file.to_string(),
            sheet: Some(src.sheet.to_string()),
            cell: col.map(|c| cell_ref(c, src.row)),
            row: Some(src.row),
        };
        self.problems.push(Problem::new(at, value, kind));
    }

    async fn history(&self, rows: Vec<HistoryRow>) -> Result<(), DbErr> {
        let values = rows
            .into_iter()
            .map(|(entity, id, key, field, old, new)| {
                vec![
                    Value::from(self.batch_id),
                    entity.into(),
                    id.into(),
                    key.into(),
                    field.into(),
                    old.into(),
                    new.into(),
                    self.actor.into(),
                    self.now.into(),
                ]
            })
            .collect();
        bulk_insert(
            self.txn,
            "change_history",
            &[
                "batch_id",
                "entity",
                "record_id",
                "record_key",
                "field",
                "old_value",
                "new_value",
                "actor",
                "changed_at",
            ],
            values,
        )
        .await
    }
}

/// The payment checker's findings become problems naming their cells.
impl Findings for Ctx<'_> {
    fn problem(&mut self, src: &Source, field: Field, value: Option<String>, kind: Kind) {
        Ctx::problem(self, src, field, value, kind);
    }
}

/// Stores `parsed` under a new batch. The caller owns the transaction.
pub async fn store(txn: &ImportTxn, meta: &FileMeta, parsed: &Parsed) -> Result<Outcome, DbErr> {
    let mut store = Store::begin(txn, meta, parsed.columns.clone()).await?;
    store.budgets(&parsed.budgets).await?;
    store.contracts(&parsed.contracts).await?;
    store
        .payments(PaymentInput::Parsed(&parsed.payments))
        .await?;
    store.services(&parsed.services).await?;
    store.evaluations(&parsed.evaluations).await?;
    store.finish(parsed).await
}

/// One file being stored under a new batch, kind by kind: contracts first (payments and
/// service reports may name them), then payments, then service reports. A file whose
/// payments are still being parsed gives them as a stream and its services afterwards.
pub struct Store<'a> {
    ctx: Ctx<'a>,
    counts: BTreeMap<SheetKind, Counts>,
    /// The contracts named so far, by code, from this file or the ledger: what payments are
    /// checked against and service reports filed under.
    known: HashMap<String, ContractTerms>,
}

impl<'a> Store<'a> {
    pub async fn begin(
        txn: &'a ImportTxn,
        meta: &'a FileMeta,
        columns: HashMap<String, ColumnMap>,
    ) -> Result<Store<'a>, DbErr> {
        // One import at a time, whichever process or server runs it: on PostgreSQL a
        // transaction-scoped advisory lock (released at commit or rollback, also when the
        // process dies); on SQLite the batch row written first below takes the database's
        // write lock. Imports that follow see what the earlier ones committed, so two that
        // pay the same contract never together exceed it, and the same file confirmed twice
        // at once is stored once (the second finds it already there).
        if is_postgres(txn) && !meta.dry_run {
            txn.execute_unprepared(&format!("SELECT pg_advisory_xact_lock({IMPORT_LOCK})"))
                .await?;
        }
        let now = Utc::now();
        // Writing the batch first takes SQLite's write lock at the start of the transaction,
        // so a concurrent import waits here instead of failing at its first write. Its kind
        // and counts are set by `finish`, when the whole file is read.
        let batch = import_batch::ActiveModel {
            file_name: Set(meta.name.clone()),
            file_size: Set(meta.size as i64),
            sha256: Set(meta.sha256.clone()),
            kind: Set("none".into()),
            actor: Set(meta.actor.clone()),
            recorded_at: Set(now),
            rows_read: Set(0),
            inserted: Set(0),
            updated: Set(0),
            unchanged: Set(0),
            warnings: Set(0),
            status: Set("committed".into()),
            ..Default::default()
        };
        let batch_id = import_batch::Entity::insert(batch)
            .exec(txn)
            .await?
            .last_insert_id;
        Ok(Store {
            ctx: Ctx {
                txn,
                file: &meta.name,
                columns,
                problems: Vec::new(),
                has_error: false,
                warning_counts: HashMap::new(),
                error_counts: HashMap::new(),
                batch_id,
                actor: &meta.actor,
                now,
                batch_payments: BatchPayments::default(),
                day_entries: matches!(txn, ImportTxn::Pg(_)).then(DayEntries::default),
            },
            counts: BTreeMap::new(),
            known: HashMap::new(),
        })
    }

    /// Budget lines and adjustments; before the contracts, which are checked against them
    /// whatever the order of the sheets.
    pub async fn budgets(&mut self, records: &[BudgetRecord]) -> Result<(), DbErr> {
        if !records.is_empty() {
            let c = budgets::store_budgets(&mut self.ctx, records).await?;
            self.counts.insert(SheetKind::Budgets, c);
        }
        Ok(())
    }

    pub async fn contracts(&mut self, records: &[ContractRecord]) -> Result<(), DbErr> {
        if !records.is_empty() {
            budgets::check_contracts(&mut self.ctx, records).await?;
            let c = contracts::store_contracts(&mut self.ctx, records, &mut self.known).await?;
            self.counts.insert(SheetKind::Contracts, c);
        }
        Ok(())
    }

    pub async fn payments(&mut self, input: PaymentInput<'_>) -> Result<(), DbErr> {
        let c = payments::store_payments(&mut self.ctx, input, &mut self.known).await?;
        if c.read > 0 {
            self.counts.insert(SheetKind::Disbursements, c);
        }
        Ok(())
    }

    pub async fn services(&mut self, records: &[ServiceRecord]) -> Result<(), DbErr> {
        if !records.is_empty() {
            let c = services::store_services(&mut self.ctx, records, &mut self.known).await?;
            self.counts.insert(SheetKind::Services, c);
        }
        Ok(())
    }

    pub async fn evaluations(&mut self, records: &[EvaluationRecord]) -> Result<(), DbErr> {
        if !records.is_empty() {
            let c = evaluations::store_evaluations(&mut self.ctx, records, &mut self.known).await?;
            self.counts.insert(SheetKind::Evaluations, c);
        }
        Ok(())
    }

    /// Column maps of sheets read after the store began, to name the cells of problems.
    pub fn add_columns(&mut self, columns: &HashMap<String, ColumnMap>) {
        for (k, v) in columns {
            self.ctx
                .columns
                .entry(k.clone())
                .or_insert_with(|| v.clone());
        }
    }

    /// Records the batch's kind and counts, once the whole file is read.
    pub async fn finish(mut self, parsed: &Parsed) -> Result<Outcome, DbErr> {
        // With every payment and evaluation of the file stored: a payment may be released
        // by an evaluation further down the same workbook.
        if self.counts.contains_key(&SheetKind::Disbursements) {
            let t = std::time::Instant::now();
            evaluations::warn_payments(&mut self.ctx, &self.known).await?;
            tracing::debug!(elapsed = ?t.elapsed(), "payments checked against evaluations");
        }
        let kinds: Vec<&str> = {
            let mut k: Vec<&str> = parsed
                .sheets
                .iter()
                .filter_map(|s| s.kind.map(SheetKind::code))
                .collect();
            k.dedup();
            k
        };
        for s in &parsed.sheets {
            if let Some(k) = s.kind {
                self.counts.entry(k).or_default();
            }
        }
        let mut total = Counts::default();
        for c in self.counts.values() {
            total.add(c);
        }
        let warnings = self.ctx.warning_counts.values().sum::<u64>() as usize
            + parsed
                .problems
                .iter()
                .filter(|p| p.severity == Severity::Warning)
                .count();
        let kind = if kinds.is_empty() {
            "none".to_string()
        } else {
            kinds.join("+")
        };
        if !self.ctx.has_error && self.counts.contains_key(&SheetKind::Disbursements) {
            let t = std::time::Instant::now();
            write_sums(&mut self.ctx).await?;
            tracing::debug!(elapsed = ?t.elapsed(), "payment sums written");
        }
        use import_batch::Column as B;
        let mut update = import_batch::Entity::update_many().col_expr(B::Kind, Expr::value(kind));
        for (col, n) in [
            (B::RowsRead, total.read),
            (B::Inserted, total.inserted),
            (B::Updated, total.updated),
            (B::Unchanged, total.unchanged),
            (B::Warnings, warnings as u64),
        ] {
            update = update.col_expr(col, Expr::value(n as i64));
        }
        update
            .filter(B::Id.eq(self.ctx.batch_id))
            .exec(self.ctx.txn)
            .await?;
        Ok(Outcome {
            batch_id: self.ctx.batch_id,
            counts: self.counts,
            problems: self.ctx.problems,
            warning_counts: self.ctx.warning_counts,
            error_counts: self.ctx.error_counts,
        })
    }
}

/// The batch's daily and monthly sums of payments (`payment_days`, `payment_months`), in the
/// import's transaction.
///
/// On PostgreSQL's COPY path they are summed here from the entries noted as the payments
/// passed and copied in: 989,268 day sums of a million payments took 12.6 s to sum and insert
/// by `INSERT ... SELECT ... GROUP BY` there, against about 5 s to copy. Elsewhere (SQLite, a
/// dry run) the database sums the batch's rows, read by `disbursements_batch`, and the months
/// from its days: SQLite inserts them about as fast as it would insert sums given to it.
/// Summing in a map of contracts × days held through the import took about 90 MB at a
/// million payments; the entries take 16 MB.
async fn write_sums(ctx: &mut Ctx<'_>) -> Result<(), DbErr> {
    if let (ImportTxn::Pg(pg), Some(entries)) = (ctx.txn, ctx.day_entries.take()) {
        return copy_sums(pg, ctx.batch_id, entries).await;
    }
    let backend = ctx.txn.get_database_backend();
    let month = month_expr(backend, "day");
    let batch = || vec![Value::from(ctx.batch_id)];
    ctx.txn
        .execute_raw(stmt(
            backend,
            "INSERT INTO payment_days (contract_id, day, batch_id, amount_fen, payments) \
             SELECT contract_id, paid_on, batch_id, SUM(amount_fen), COUNT(*) \
             FROM disbursements WHERE batch_id = ? GROUP BY contract_id, paid_on, batch_id",
            batch(),
        ))
        .await?;
    ctx.txn
        .execute_raw(stmt(
            backend,
            &format!(
                "INSERT INTO payment_months (contract_id, month, batch_id, amount_fen, payments, last_paid_on) \
                 SELECT contract_id, {month}, batch_id, SUM(amount_fen), SUM(payments), MAX(day) \
                 FROM payment_days WHERE batch_id = ? GROUP BY contract_id, {month}, batch_id"
            ),
            batch(),
        ))
        .await?;
    Ok(())
}

/// Sums sent to the server per part of a COPY: about 2 MB of text.
const SUMS_PER_PART: usize = 50_000;

/// Each sum as a row of COPY's text format, a part at a time.
fn copy_parts<'s, T: 's>(
    sums: impl Iterator<Item = T> + 's,
    mut row: impl FnMut(&mut Vec<u8>, T) + 's,
) -> impl Iterator<Item = Vec<u8>> + 's {
    let mut sums = sums.peekable();
    std::iter::from_fn(move || {
        sums.peek()?;
        let mut text = Vec::with_capacity(SUMS_PER_PART * 40);
        for s in sums.by_ref().take(SUMS_PER_PART) {
            row(&mut text, s);
        }
        Some(text)
    })
}

async fn copy_sums(pg: &PgTxn, batch: i64, entries: DayEntries) -> Result<(), DbErr> {
    use std::io::Write as _;
    let mut months = Months::default();
    // Writing into a Vec cannot fail.
    let days = copy_parts(entries.into_days(), |text, d: Sum| {
        months.add(&d);
        let _ = writeln!(
            text,
            "{}\t{}\t{batch}\t{}\t{}",
            d.contract_id, d.day, d.fen, d.payments
        );
    });
    pg.copy_in_parts(
        "payment_days (contract_id, day, batch_id, amount_fen, payments)",
        days,
    )
    .await?;
    let months = copy_parts(months.sums.into_iter(), |text, m: Sum| {
        let _ = writeln!(
            text,
            "{}\t{}\t{batch}\t{}\t{}\t{}",
            m.contract_id,
            crate::disbursements::sums::month_of(m.day),
            m.fen,
            m.payments,
            m.day
        );
    });
    pg.copy_in_parts(
        "payment_months (contract_id, month, batch_id, amount_fen, payments, last_paid_on)",
        months,
    )
    .await?;
    Ok(())
}

/// Loads contracts by code, locking their rows on PostgreSQL so that two imports paying
/// against the same contract cannot both pass the over-payment check.
async fn load_contracts(ctx: &Ctx<'_>, codes: &[String]) -> Result<Vec<contract::Model>, DbErr> {
    let mut out = Vec::new();
    for chunk in codes.chunks(KEYS_PER_LOOKUP) {
        let mut q =
            contract::Entity::find().filter(contract::Column::Code.is_in(chunk.iter().cloned()));
        if is_postgres(ctx.txn) {
            q = q.lock_exclusive();
        }
        out.extend(q.all(ctx.txn).await?);
    }
    Ok(out)
}

fn terms(m: &contract::Model) -> ContractTerms {
    ContractTerms {
        id: m.id,
        value_fen: m.value.fen(),
        start: m.start_on,
        end: m.end_on,
    }
}

/// Finds the contracts that records name, from this file or the database; returns the ids
/// of those it added to `known`.
async fn resolve_codes<'r>(
    ctx: &Ctx<'_>,
    codes: impl Iterator<Item = &'r str>,
    known: &mut HashMap<String, ContractTerms>,
) -> Result<Vec<i64>, DbErr> {
    let mut missing: Vec<String> = codes
        .filter(|c| !known.contains_key(*c))
        .map(str::to_string)
        .collect();
    missing.sort();
    missing.dedup();
    let mut added = Vec::new();
    for m in load_contracts(ctx, &missing).await? {
        added.push(m.id);
        known.insert(m.code.clone(), terms(&m));
    }
    Ok(added)
}

/// The batch that first stored a file with this SHA-256 before batch `before`, if any.
pub async fn earlier_batch(
    db: &impl ConnectionTrait,
    sha256: &str,
    before: i64,
) -> Result<Option<import_batch::Model>, DbErr> {
    import_batch::Entity::find()
        .filter(import_batch::Column::Sha256.eq(sha256))
        .filter(import_batch::Column::Id.lt(before))
        .order_by_asc(import_batch::Column::Id)
        .one(db)
        .await
}
