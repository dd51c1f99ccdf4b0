//! Writes one parsed file into the ledger inside the caller's transaction, checking what
//! only the database can tell: unknown contracts, over-payment, vouchers already recorded,
//! reversals, running totals of people. Problems are collected, never thrown: the caller
//! rolls back when any is an error, so nothing from a bad file is stored.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault};

use chrono::{NaiveDate, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, DbErr, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set, Statement, Value,
};
use serde::Serialize;

use crate::entities::{contract, disbursement, import_batch, provider, service_report};
use crate::imports::columns::{ColumnMap, Field, SheetKind};
use crate::imports::parse::{ContractRecord, Parsed, PaymentRecord, ServiceRecord, Source};
use crate::imports::problems::{cell_ref, Kind, Location, Problem, Severity};
use crate::money::Money;
use crate::Lang;

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
}

/// Warnings of one kind kept in full per file; the rest are counted.
pub const MAX_WARNINGS_KEPT: u64 = 1000;

/// The advisory lock every import takes on PostgreSQL ("proc" in ASCII).
const IMPORT_LOCK: i64 = 0x7072_6f63;

/// Rows per multi-row INSERT: under SQLite's 32,766 bound parameters and PostgreSQL's 65,535.
const PARAMS_PER_STATEMENT: usize = 30_000;
/// Payments per INSERT on PostgreSQL (see `insert_payments`).
const PG_PAYMENTS_PER_STATEMENT: usize = 30_000;
/// Keys per `IN (...)` lookup.
const KEYS_PER_LOOKUP: usize = 500;

/// One changed field: (entity, record id, record key, field, old value, new value).
type HistoryRow = (
    &'static str,
    i64,
    String,
    &'static str,
    Option<String>,
    Option<String>,
);

struct Ctx<'a> {
    txn: &'a DatabaseTransaction,
    lang: Lang,
    file: &'a str,
    columns: HashMap<String, ColumnMap>,
    problems: Vec<Problem>,
    /// Whether any of `problems` is an error: asked at every chunk written, so kept rather
    /// than found by scanning a list that can hold a million errors.
    has_error: bool,
    warning_counts: HashMap<&'static str, u64>,
    batch_id: i64,
    actor: &'a str,
    now: chrono::DateTime<Utc>,
}

impl Ctx<'_> {
    fn problem(&mut self, src: &Source, field: Field, value: Option<String>, kind: Kind) {
        if kind.severity() == Severity::Error {
            self.has_error = true;
        } else {
            let n = self.warning_counts.entry(kind.code()).or_insert(0);
            *n += 1;
            // A million-row file can warn a hundred thousand times; the first of each kind
            // are listed, the rest counted (errors are always all listed).
            if *n > MAX_WARNINGS_KEPT {
                return;
            }
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
        self.problems.push(Problem::new(at, value, kind, self.lang));
    }

    fn is_pg(&self) -> bool {
        self.txn.get_database_backend() == DbBackend::Postgres
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

/// Multi-row INSERTs in chunks; never one round trip per row.
pub async fn bulk_insert(
    txn: &impl ConnectionTrait,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<Value>>,
) -> Result<(), DbErr> {
    let per = rows_per_statement(cols.len());
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let values: Vec<Value> = rows.by_ref().take(per).flatten().collect();
        insert_values(txn, table, cols, values).await?;
    }
    Ok(())
}

fn rows_per_statement(cols: usize) -> usize {
    (PARAMS_PER_STATEMENT / cols).max(1)
}

/// One multi-row INSERT of `values`, row after row, `cols.len()` to a row. The statement's
/// text is written here rather than by sea-query's builder: for a 3,000-row chunk building
/// the query tree and copying every value into it cost as much as SQLite's insert itself,
/// and the text is the same for every full chunk, so the driver's statement cache prepares
/// it once.
async fn insert_values(
    txn: &impl ConnectionTrait,
    table: &str,
    cols: &[&str],
    values: Vec<Value>,
) -> Result<(), DbErr> {
    if values.is_empty() {
        return Ok(());
    }
    debug_assert_eq!(values.len() % cols.len(), 0);
    let backend = txn.get_database_backend();
    let sql = insert_sql(backend, table, cols, values.len() / cols.len());
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

fn insert_sql(backend: DbBackend, table: &str, cols: &[&str], rows: usize) -> String {
    use std::fmt::Write;
    let quoted: Vec<String> = cols.iter().map(|c| format!("\"{c}\"")).collect();
    let mut sql = format!("INSERT INTO \"{table}\" ({}) VALUES ", quoted.join(", "));
    sql.reserve(rows * cols.len() * 8);
    let mut n = 0usize;
    for r in 0..rows {
        sql.push_str(if r == 0 { "(" } else { ", (" });
        for c in 0..cols.len() {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                DbBackend::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                _ => sql.push('?'),
            }
        }
        sql.push(')');
    }
    sql
}

fn opt_date(d: Option<NaiveDate>) -> Option<String> {
    d.map(|d| d.to_string())
}

/// The stored form of a contract record, for comparing with what is in the database.
#[derive(PartialEq)]
struct ContractFields {
    title: String,
    category: String,
    provider_id: i64,
    provider_name: String,
    purchaser: Option<String>,
    street: Option<String>,
    community: Option<String>,
    method: Option<String>,
    funding: Option<String>,
    value_fen: i64,
    signed_on: Option<NaiveDate>,
    start_on: NaiveDate,
    end_on: NaiveDate,
    target_people: Option<i64>,
}

impl ContractFields {
    fn from_model(m: &contract::Model) -> Self {
        ContractFields {
            title: m.title.clone(),
            category: m.category.clone(),
            provider_id: m.provider_id,
            provider_name: m.provider_name.clone(),
            purchaser: m.purchaser.clone(),
            street: m.street.clone(),
            community: m.community.clone(),
            method: m.method.clone(),
            funding: m.funding.clone(),
            value_fen: m.value_fen,
            signed_on: m.signed_on,
            start_on: m.start_on,
            end_on: m.end_on,
            target_people: m.target_people,
        }
    }

    /// (field, old, new) of every difference, as text for the history.
    fn diff(&self, new: &ContractFields) -> Vec<(&'static str, Option<String>, Option<String>)> {
        let mut d = Vec::new();
        let mut cmp = |name: &'static str, a: Option<String>, b: Option<String>| {
            if a != b {
                d.push((name, a, b));
            }
        };
        cmp("title", Some(self.title.clone()), Some(new.title.clone()));
        cmp(
            "category",
            Some(self.category.clone()),
            Some(new.category.clone()),
        );
        cmp(
            "provider_id",
            Some(self.provider_id.to_string()),
            Some(new.provider_id.to_string()),
        );
        cmp(
            "provider_name",
            Some(self.provider_name.clone()),
            Some(new.provider_name.clone()),
        );
        cmp("purchaser", self.purchaser.clone(), new.purchaser.clone());
        cmp("street", self.street.clone(), new.street.clone());
        cmp("community", self.community.clone(), new.community.clone());
        cmp("method", self.method.clone(), new.method.clone());
        cmp("funding", self.funding.clone(), new.funding.clone());
        cmp(
            "value",
            Some(Money::from_fen(self.value_fen).to_string()),
            Some(Money::from_fen(new.value_fen).to_string()),
        );
        cmp(
            "signed_on",
            opt_date(self.signed_on),
            opt_date(new.signed_on),
        );
        cmp(
            "start_on",
            Some(self.start_on.to_string()),
            Some(new.start_on.to_string()),
        );
        cmp(
            "end_on",
            Some(self.end_on.to_string()),
            Some(new.end_on.to_string()),
        );
        cmp(
            "target_people",
            self.target_people.map(|n| n.to_string()),
            new.target_people.map(|n| n.to_string()),
        );
        d
    }
}

/// What payments and service reports need to know of a contract.
#[derive(Clone, Copy)]
struct ContractInfo {
    id: i64,
    value_fen: i64,
    start: NaiveDate,
    end: NaiveDate,
}

/// Stores `parsed` under a new batch. The caller owns the transaction.
pub async fn store(
    txn: &DatabaseTransaction,
    meta: &FileMeta,
    parsed: &Parsed,
    lang: Lang,
) -> Result<Outcome, DbErr> {
    let mut store = Store::begin(txn, meta, lang, parsed.columns.clone()).await?;
    store.contracts(&parsed.contracts).await?;
    store
        .payments(PaymentInput::Parsed(&parsed.payments))
        .await?;
    store.services(&parsed.services).await?;
    store.finish(parsed).await
}

/// One file being stored under a new batch, kind by kind: contracts first (payments and
/// service reports may name them), then payments, then service reports. A file whose
/// payments are still being parsed gives them as a stream and its services afterwards.
pub struct Store<'a> {
    ctx: Ctx<'a>,
    counts: BTreeMap<SheetKind, Counts>,
    known: HashMap<String, ContractInfo>,
}

impl<'a> Store<'a> {
    pub async fn begin(
        txn: &'a DatabaseTransaction,
        meta: &'a FileMeta,
        lang: Lang,
        columns: HashMap<String, ColumnMap>,
    ) -> Result<Store<'a>, DbErr> {
        // One import at a time, whichever process or server runs it: on PostgreSQL a
        // transaction-scoped advisory lock (released at commit or rollback, also when the
        // process dies); on SQLite the batch row written first below takes the database's
        // write lock. Imports that follow see what the earlier ones committed, so two that
        // pay the same contract never together exceed it, and the same file confirmed twice
        // at once is stored once (the second finds it already there).
        if txn.get_database_backend() == DbBackend::Postgres && !meta.dry_run {
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
                lang,
                file: &meta.name,
                columns,
                problems: Vec::new(),
                has_error: false,
                warning_counts: HashMap::new(),
                batch_id,
                actor: &meta.actor,
                now,
            },
            counts: BTreeMap::new(),
            known: HashMap::new(),
        })
    }

    pub async fn contracts(&mut self, records: &[ContractRecord]) -> Result<(), DbErr> {
        if !records.is_empty() {
            let c = store_contracts(&mut self.ctx, records, &mut self.known).await?;
            self.counts.insert(SheetKind::Contracts, c);
        }
        Ok(())
    }

    pub async fn payments(&mut self, input: PaymentInput<'_>) -> Result<(), DbErr> {
        let c = store_payments(&mut self.ctx, input, &mut self.known).await?;
        if c.read > 0 {
            self.counts.insert(SheetKind::Disbursements, c);
        }
        Ok(())
    }

    pub async fn services(&mut self, records: &[ServiceRecord]) -> Result<(), DbErr> {
        if !records.is_empty() {
            let c = store_services(&mut self.ctx, records, &mut self.known).await?;
            self.counts.insert(SheetKind::Services, c);
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
        })
    }
}

/// Loads contracts by code, locking their rows on PostgreSQL so that two imports paying
/// against the same contract cannot both pass the over-payment check.
async fn load_contracts(ctx: &Ctx<'_>, codes: &[String]) -> Result<Vec<contract::Model>, DbErr> {
    let mut out = Vec::new();
    for chunk in codes.chunks(KEYS_PER_LOOKUP) {
        let mut q =
            contract::Entity::find().filter(contract::Column::Code.is_in(chunk.iter().cloned()));
        if ctx.is_pg() {
            q = q.lock_exclusive();
        }
        out.extend(q.all(ctx.txn).await?);
    }
    Ok(out)
}

fn info(m: &contract::Model) -> ContractInfo {
    ContractInfo {
        id: m.id,
        value_fen: m.value_fen,
        start: m.start_on,
        end: m.end_on,
    }
}

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

async fn store_contracts(
    ctx: &mut Ctx<'_>,
    records: &[ContractRecord],
    known: &mut HashMap<String, ContractInfo>,
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
        let value_fen = match rec.value.to_fen() {
            Ok(v) => v,
            Err(e) => {
                ctx.problem(
                    &rec.src,
                    Field::Value,
                    Some(rec.value.to_string()),
                    Kind::BadAmount(e),
                );
                continue;
            }
        };
        let fields = ContractFields {
            title: rec.title.clone(),
            category: rec.category.code().to_string(),
            provider_id,
            provider_name: rec.provider.clone(),
            purchaser: rec.purchaser.clone(),
            street: rec.street.clone(),
            community: rec.community.clone(),
            method: rec.method.map(|m| m.code().to_string()),
            funding: rec.funding.map(|f| f.code().to_string()),
            value_fen,
            signed_on: rec.signed,
            start_on: rec.start,
            end_on: rec.end,
            target_people: rec.target,
        };
        match existing.get(rec.code.as_str()) {
            Some(old) => {
                let paid_fen = paid.get(&old.id).copied().unwrap_or(0);
                if value_fen < paid_fen {
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
                let diff = ContractFields::from_model(old).diff(&fields);
                known.insert(
                    old.code.clone(),
                    ContractInfo {
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
                    value_fen: Set(fields.value_fen),
                    signed_on: Set(fields.signed_on),
                    start_on: Set(fields.start_on),
                    end_on: Set(fields.end_on),
                    target_people: Set(fields.target_people),
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
                    fields.value_fen.into(),
                    fields.signed_on.into(),
                    fields.start_on.into(),
                    fields.end_on.into(),
                    fields.target_people.into(),
                    "active".into(),
                    ctx.batch_id.into(),
                    rec.src.sheet.to_string().into(),
                    i64::from(rec.src.row).into(),
                    ctx.batch_id.into(),
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
        known.insert(m.code.clone(), info(&m));
    }
    ctx.history(history).await?;
    Ok(counts)
}

/// Finds the contracts that records name, from this file or the database; returns the ids
/// of those it added to `known`.
async fn resolve_codes<'r>(
    ctx: &Ctx<'_>,
    codes: impl Iterator<Item = &'r str>,
    known: &mut HashMap<String, ContractInfo>,
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
        known.insert(m.code.clone(), info(&m));
    }
    Ok(added)
}

struct StoredPayment {
    id: i64,
    date: NaiveDate,
    amount_fen: i64,
}

/// The payments of a file: all read already, or arriving in chunks while the rest of the
/// file is still being parsed (see `crate::imports::parse::Streamed`).
pub enum PaymentInput<'r> {
    Parsed(&'r [PaymentRecord]),
    /// The payments of earlier sheets, then the chunks of the last one.
    Streamed(
        Vec<PaymentRecord>,
        tokio::sync::mpsc::Receiver<crate::imports::parse::Streamed>,
    ),
}

/// Rows of a parsed file checked between two lookups of the contracts they name.
const PAYMENTS_PER_CHECK: usize = 4096;

/// A (contract code, voucher) pair as two independent 64-bit SipHash digests, keyed at
/// random per import. A million-row file keeps one per row to find repeated vouchers: 16
/// bytes instead of a 40-byte key and a copy of the voucher, about 50 MB less at a million
/// rows. Two different pairs share both digests with a chance of about n^2 / 2^129 (10^-27
/// for a million rows), and such a collision could only report a payment as a duplicate,
/// refusing the file: it can never let a wrong row in.
#[derive(Default)]
struct PairDigest {
    a: std::hash::RandomState,
    b: std::hash::RandomState,
}

impl PairDigest {
    fn of(&self, code: &str, voucher: &str) -> [u64; 2] {
        [
            self.a.hash_one((code, voucher)),
            self.b.hash_one((code, voucher)),
        ]
    }
}

/// The digests are already uniformly random: the map uses the first as the hash.
#[derive(Default)]
struct DigestHasher(u64);

impl std::hash::Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `[u64; 2]` keys are hashed (a length prefix, then both words as bytes): the
        // words XORed are as random as either.
        for chunk in bytes.chunks(8) {
            let mut w = [0u8; 8];
            w[..chunk.len()].copy_from_slice(chunk);
            self.0 ^= u64::from_le_bytes(w);
        }
    }
}

/// What the payment check remembers from one chunk of rows to the next.
#[derive(Default)]
struct PaymentCheck {
    /// Payments already in the ledger by contract and voucher, for every contract seen so
    /// far (by contract first, so that a row's voucher is looked up without a copy).
    stored: HashMap<i64, HashMap<String, StoredPayment>>,
    /// Ledger payments that a ledger reversal already reverses.
    reversed: HashSet<i64>,
    /// Net paid per contract: the ledger's and then this file's.
    net: HashMap<i64, i64>,
    /// Whether the contracts known before the first row (this file's own) are loaded.
    began: bool,
    /// Codes looked up and not found, so that a file of unknown codes asks once.
    absent: HashSet<String>,
    /// Each (code, voucher) of this file so far, by its digest, as an index into `firsts`.
    seen: HashMap<[u64; 2], u32, BuildHasherDefault<DigestHasher>>,
    digests: PairDigest,
    /// The first row of each (code, voucher), and its amount when it was accepted as a new
    /// payment (what a later reversal in the file may name).
    firsts: Vec<(u32, Option<i64>)>,
    /// (contract, voucher) reversed by this file.
    reversed_in_file: HashSet<(i64, String)>,
    /// Reversals, written last: they name payments that may be in this file.
    reversals: Vec<(PaymentRecord, i64, i64, String)>,
}

impl PaymentCheck {
    /// Looks up the contracts of `records` not known yet, and the payments already recorded
    /// against each contract as it becomes known (once: a million rows name the same few
    /// thousand contracts over and over).
    async fn resolve(
        &mut self,
        ctx: &Ctx<'_>,
        records: &[PaymentRecord],
        known: &mut HashMap<String, ContractInfo>,
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
                        disbursement::Column::AmountFen,
                        disbursement::Column::ReversesId,
                    ])
                    .filter(disbursement::Column::ContractId.is_in(chunk.iter().copied()))
                    .into_tuple()
                    .all(ctx.txn)
                    .await?;
            for (id, cid, voucher, date, amount_fen, rev) in rows {
                *self.net.entry(cid).or_insert(0) += amount_fen;
                if let Some(r) = rev {
                    self.reversed.insert(r);
                }
                self.stored.entry(cid).or_default().insert(
                    voucher,
                    StoredPayment {
                        id,
                        date,
                        amount_fen,
                    },
                );
            }
        }
        Ok(())
    }

    /// Checks one payment in file order. Returns the contract and amount of a new payment to
    /// write now; reversals are kept for the end; problems go to `ctx`.
    fn check(
        &mut self,
        ctx: &mut Ctx<'_>,
        rec: &PaymentRecord,
        known: &HashMap<String, ContractInfo>,
        counts: &mut Counts,
    ) -> Option<(i64, i64)> {
        let key = self.digests.of(rec.code.as_str(), &rec.voucher);
        let first = match self.seen.entry(key) {
            std::collections::hash_map::Entry::Occupied(first) => {
                ctx.problem(
                    &rec.src,
                    Field::Voucher,
                    Some(rec.voucher.clone()),
                    Kind::DuplicateInFile {
                        first_row: self.firsts[*first.get() as usize].0,
                    },
                );
                return None;
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(self.firsts.len() as u32);
                self.firsts.push((rec.src.row, None));
                self.firsts.len() - 1
            }
        };
        let Some(c) = known.get(rec.code.as_str()).copied() else {
            ctx.problem(
                &rec.src,
                Field::Code,
                Some(rec.code.to_string()),
                Kind::UnknownContract {
                    code: rec.code.to_string(),
                },
            );
            return None;
        };
        let Ok(amount_fen) = rec.amount.to_fen() else {
            ctx.problem(
                &rec.src,
                Field::Amount,
                Some(rec.amount.to_string()),
                Kind::BadAmount(crate::money::MoneyError::Overflow),
            );
            return None;
        };
        let stored = self.stored.get(&c.id);
        if let Some(s) = stored.and_then(|m| m.get(rec.voucher.as_str())) {
            if s.date == rec.date && s.amount_fen == amount_fen {
                counts.unchanged += 1;
            } else {
                let recorded = format!("{} {}", s.date, Money::from_fen(s.amount_fen));
                ctx.problem(
                    &rec.src,
                    Field::Voucher,
                    Some(rec.voucher.clone()),
                    Kind::VoucherConflict { recorded },
                );
            }
            return None;
        }
        if let Some(target) = &rec.reverses {
            let tkey = (c.id, target.clone());
            let in_file = self
                .seen
                .get(&self.digests.of(rec.code.as_str(), target))
                .and_then(|&i| self.firsts[i as usize].1);
            let (target_amount, target_id) = match (stored.and_then(|m| m.get(target)), in_file) {
                (Some(s), _) => (s.amount_fen, Some(s.id)),
                (None, Some(a)) => (a, None),
                (None, None) => {
                    ctx.problem(
                        &rec.src,
                        Field::Reverses,
                        Some(target.clone()),
                        Kind::ReversalTargetMissing {
                            voucher: target.clone(),
                        },
                    );
                    return None;
                }
            };
            if amount_fen >= 0 || -amount_fen > target_amount || target_amount <= 0 {
                ctx.problem(
                    &rec.src,
                    Field::Amount,
                    Some(rec.amount.to_string()),
                    Kind::ReversalMismatch {
                        reversed: Money::from_fen(target_amount).to_string(),
                    },
                );
                return None;
            }
            if target_id.is_some_and(|id| self.reversed.contains(&id))
                || !self.reversed_in_file.insert(tkey)
            {
                ctx.problem(
                    &rec.src,
                    Field::Reverses,
                    Some(target.clone()),
                    Kind::AlreadyReversed {
                        voucher: target.clone(),
                    },
                );
                return None;
            }
        }
        let paid = self.net.get(&c.id).copied().unwrap_or(0);
        let after = paid.saturating_add(amount_fen);
        if amount_fen > 0 && after > c.value_fen {
            ctx.problem(
                &rec.src,
                Field::Amount,
                Some(rec.amount.to_string()),
                Kind::OverPayment {
                    value: Money::from_fen(c.value_fen).to_string(),
                    paid: Money::from_fen(paid).to_string(),
                    after: Money::from_fen(after).to_string(),
                },
            );
            return None;
        }
        if rec.date < c.start || rec.date > c.end {
            ctx.problem(
                &rec.src,
                Field::Date,
                Some(rec.date.to_string()),
                Kind::PaymentOutsideTerm {
                    start: c.start.to_string(),
                    end: c.end.to_string(),
                },
            );
        }
        self.net.insert(c.id, after);
        self.firsts[first].1 = Some(amount_fen);
        counts.inserted += 1;
        match &rec.reverses {
            Some(t) => {
                self.reversals
                    .push((rec.clone(), c.id, amount_fen, t.clone()));
                None
            }
            None => Some((c.id, amount_fen)),
        }
    }
}

async fn store_payments(
    ctx: &mut Ctx<'_>,
    input: PaymentInput<'_>,
    known: &mut HashMap<String, ContractInfo>,
) -> Result<Counts, DbErr> {
    let mut counts = Counts::default();
    let mut check = PaymentCheck::default();
    // PostgreSQL takes a chunk as ten arrays (`insert_payments`), so its size is not bound by
    // the parameter limit; larger chunks run its per-statement checks (the statement-level
    // trigger of m20261128_000003) fewer times.
    let rows_per_chunk = match ctx.is_pg() {
        true => PG_PAYMENTS_PER_STATEMENT,
        false => rows_per_statement(PAYMENT_COLS.len()),
    };
    let chunk_values = rows_per_chunk * PAYMENT_COLS.len();
    // Checking the next rows overlaps with writing the last ones: the database works on one
    // chunk (SQLite on the driver's worker thread, PostgreSQL in the server) while this task
    // checks the rows of the next, and (with a streamed input) the parser reads on. The
    // channel holds one chunk, so at most three are in memory: being written, waiting, being
    // built.
    let txn = ctx.txn;
    let (chunks, mut waiting) = tokio::sync::mpsc::channel::<Vec<Value>>(1);
    let writer = async move {
        let mut busy = std::time::Duration::ZERO;
        while let Some(values) = waiting.recv().await {
            let t = std::time::Instant::now();
            insert_payments(txn, values).await?;
            busy += t.elapsed();
        }
        Ok::<_, DbErr>(busy)
    };
    let checker = async {
        let chunks = chunks;
        let mut plain: Vec<Value> = Vec::with_capacity(chunk_values);
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
                    if let Some(crate::imports::parse::Streamed::Payments(v)) = m {
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
            check.resolve(ctx, records, known).await?;
            wait_resolve += t.elapsed();
            for rec in records {
                let Some((cid, amount_fen)) = check.check(ctx, rec, known, &mut counts) else {
                    continue;
                };
                payment_values(&mut plain, ctx, rec, cid, amount_fen, None);
                // Written as they pass, so a million rows never sit in memory twice; a later
                // error still rolls the whole transaction back.
                if plain.len() >= chunk_values {
                    let values = std::mem::replace(&mut plain, Vec::with_capacity(chunk_values));
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
    let reversals = std::mem::take(&mut check.reversals);
    if !reversals.is_empty() {
        // The reversed payments' ids, now that this file's own payments are stored.
        let mut ids: HashMap<(i64, String), i64> = check
            .stored
            .iter()
            .flat_map(|(cid, m)| m.iter().map(|(v, s)| ((*cid, v.clone()), s.id)))
            .collect();
        let cids: Vec<i64> = reversals.iter().map(|r| r.1).collect();
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
            ids.extend(rows.into_iter().map(|(id, cid, v)| ((cid, v), id)));
        }
        let mut values = Vec::with_capacity(reversals.len() * PAYMENT_COLS.len());
        for (rec, cid, amount_fen, target) in &reversals {
            let rid = ids.get(&(*cid, target.clone())).copied();
            payment_values(&mut values, ctx, rec, *cid, *amount_fen, rid);
        }
        for chunk in values.chunks(chunk_values) {
            insert_values(ctx.txn, "disbursements", &PAYMENT_COLS, chunk.to_vec()).await?;
        }
    }
    Ok(counts)
}

const PAYMENT_COLS: [&str; 10] = [
    "contract_id",
    "paid_on",
    "amount_fen",
    "voucher",
    "tranche",
    "note",
    "reverses_id",
    "batch_id",
    "source_sheet",
    "source_row",
];

/// Writes payments given as `payment_values` rows. On PostgreSQL as one array per column,
/// expanded by `unnest`: ten parameters a statement instead of ten a row, which the server
/// binds and plans in a fraction of the time of a 3,000-row VALUES list, and whose size is
/// then free (`PG_PAYMENTS_PER_STATEMENT`). Measured at 100,000 payments, time spent writing:
/// 1.88 s as VALUES lists, 1.53 s as arrays of 3,000 rows, 1.07-1.28 s of 10,000 rows,
/// 0.88-1.02 s of 30,000 rows. The columns are never NULL here but for `tranche` and `note` (sent
/// as '' for NULL: the parser never gives an empty text) and `reverses_id` (reversals are
/// written by `insert_values`).
async fn insert_payments(txn: &DatabaseTransaction, values: Vec<Value>) -> Result<(), DbErr> {
    if txn.get_database_backend() != DbBackend::Postgres {
        return insert_values(txn, "disbursements", &PAYMENT_COLS, values).await;
    }
    let n = values.len() / PAYMENT_COLS.len();
    let mut contract_id = Vec::with_capacity(n);
    let mut paid_on = Vec::with_capacity(n);
    let mut amount_fen = Vec::with_capacity(n);
    let mut voucher = Vec::with_capacity(n);
    let mut tranche = Vec::with_capacity(n);
    let mut note = Vec::with_capacity(n);
    let mut batch_id = Vec::with_capacity(n);
    let mut source_sheet = Vec::with_capacity(n);
    let mut source_row = Vec::with_capacity(n);
    let mut it = values.into_iter();
    while let Some(first) = it.next() {
        let mut next = || {
            it.next()
                .ok_or_else(|| DbErr::Custom("short payment row".into()))
        };
        let row = [
            first,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
            next()?,
        ];
        let [c, p, a, v, t, no, r, b, ss, sr] = row;
        match (c, p, a, v, r, b, ss, sr) {
            (
                Value::BigInt(Some(c)),
                Value::ChronoDate(Some(p)),
                Value::BigInt(Some(a)),
                Value::String(Some(v)),
                Value::BigInt(None),
                Value::BigInt(Some(b)),
                Value::String(Some(ss)),
                Value::BigInt(Some(sr)),
            ) => {
                contract_id.push(c);
                paid_on.push(p);
                amount_fen.push(a);
                voucher.push(v);
                batch_id.push(b);
                source_sheet.push(ss);
                source_row.push(sr);
            }
            other => return Err(DbErr::Custom(format!("unexpected payment row {other:?}"))),
        }
        for (col, val) in [(&mut tranche, t), (&mut note, no)] {
            match val {
                Value::String(Some(s)) => col.push(s),
                Value::String(None) => col.push(String::new()),
                other => return Err(DbErr::Custom(format!("unexpected payment text {other:?}"))),
            }
        }
    }
    let sql = "INSERT INTO disbursements (contract_id, paid_on, amount_fen, voucher, tranche, note, \
               reverses_id, batch_id, source_sheet, source_row) \
               SELECT c, p, a, v, NULLIF(t, ''), NULLIF(n, ''), NULL, b, ss, sr \
               FROM unnest($1::bigint[], $2::date[], $3::bigint[], $4::text[], $5::text[], \
               $6::text[], $7::bigint[], $8::text[], $9::bigint[]) AS u(c, p, a, v, t, n, b, ss, sr)";
    let values = vec![
        Value::from(contract_id),
        Value::from(paid_on),
        Value::from(amount_fen),
        Value::from(voucher),
        Value::from(tranche),
        Value::from(note),
        Value::from(batch_id),
        Value::from(source_sheet),
        Value::from(source_row),
    ];
    txn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// Appends one payment's values, in `PAYMENT_COLS` order.
fn payment_values(
    out: &mut Vec<Value>,
    ctx: &Ctx<'_>,
    rec: &PaymentRecord,
    cid: i64,
    amount_fen: i64,
    reverses: Option<i64>,
) {
    out.extend([
        cid.into(),
        rec.date.into(),
        amount_fen.into(),
        rec.voucher.clone().into(),
        rec.tranche.as_deref().map(str::to_string).into(),
        rec.note.clone().into(),
        reverses.into(),
        ctx.batch_id.into(),
        rec.src.sheet.to_string().into(),
        i64::from(rec.src.row).into(),
    ]);
}

/// A service report as the running-total check sees it.
#[derive(Clone)]
struct Report<'r> {
    start: NaiveDate,
    end: NaiveDate,
    new_people: Option<i64>,
    cumulative: Option<i64>,
    /// The file row, for new or changed reports; `None` for reports already stored.
    rec: Option<&'r ServiceRecord>,
}

async fn store_services(
    ctx: &mut Ctx<'_>,
    records: &[ServiceRecord],
    known: &mut HashMap<String, ContractInfo>,
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
        let mut timeline: Vec<Report> = Vec::new();
        let mut changes: Vec<(&ServiceRecord, Option<&service_report::Model>)> = Vec::new();
        let file_periods: HashSet<(NaiveDate, NaiveDate)> = recs
            .iter()
            .map(|r| (r.period.start, r.period.end))
            .collect();
        for m in &old {
            if !file_periods.contains(&(m.period_start, m.period_end)) {
                timeline.push(Report {
                    start: m.period_start,
                    end: m.period_end,
                    new_people: m.new_people,
                    cumulative: m.cumulative_people,
                    rec: None,
                });
            }
        }
        for rec in recs {
            let prev = old
                .iter()
                .find(|m| m.period_start == rec.period.start && m.period_end == rec.period.end);
            timeline.push(Report {
                start: rec.period.start,
                end: rec.period.end,
                new_people: rec.new_people,
                cumulative: rec.cumulative,
                rec: Some(rec),
            });
            changes.push((rec, prev));
        }
        timeline.sort_by_key(|r| (r.start, r.end));
        // Overlapping periods would count the same people twice.
        let mut ok = true;
        for w in timeline.windows(2) {
            if w[1].start <= w[0].end {
                // Blame the file's row; of two file rows, the later period.
                let (bad, other) = if w[1].rec.is_some() {
                    (&w[1], &w[0])
                } else {
                    (&w[0], &w[1])
                };
                if let Some(rec) = bad.rec {
                    let label = crate::services::Period {
                        start: other.start,
                        end: other.end,
                    }
                    .label();
                    ctx.problem(
                        &rec.src,
                        Field::Period,
                        Some(rec.period.label()),
                        Kind::PeriodOverlap { other: label },
                    );
                    ok = false;
                }
            }
        }
        // The running total: a cumulative figure must equal the new people so far; given
        // only the cumulative figure, the new people are what it adds.
        let mut running = 0i64;
        let mut derived: HashMap<(NaiveDate, NaiveDate), i64> = HashMap::new();
        for r in &timeline {
            let new = match (r.new_people, r.cumulative) {
                (Some(n), Some(c)) => {
                    if c != running + n {
                        if let Some(rec) = r.rec {
                            ctx.problem(
                                &rec.src,
                                Field::Cumulative,
                                Some(c.to_string()),
                                Kind::CumulativeMismatch {
                                    expected: running + n,
                                },
                            );
                            ok = false;
                        }
                    }
                    n
                }
                (Some(n), None) => n,
                (None, Some(c)) => {
                    if c < running {
                        if let Some(rec) = r.rec {
                            ctx.problem(
                                &rec.src,
                                Field::Cumulative,
                                Some(c.to_string()),
                                Kind::CumulativeDecreases { previous: running },
                            );
                            ok = false;
                        }
                        0
                    } else {
                        c - running
                    }
                }
                (None, None) => 0,
            };
            derived.insert((r.start, r.end), new);
            running += new;
        }
        if !ok {
            continue;
        }
        for (rec, prev) in changes {
            let new_people = derived.get(&(rec.period.start, rec.period.end)).copied();
            match prev {
                Some(m) => {
                    let same = m.new_people == new_people
                        && m.cumulative_people == rec.cumulative
                        && m.sessions == rec.sessions;
                    if same {
                        counts.unchanged += 1;
                        continue;
                    }
                    counts.updated += 1;
                    let key = format!("{}@{}", rec.code, rec.period.label());
                    let txt = |v: Option<i64>| v.map(|n| n.to_string());
                    for (f, a, b) in [
                        ("new_people", m.new_people, new_people),
                        ("cumulative_people", m.cumulative_people, rec.cumulative),
                        ("sessions", m.sessions, rec.sessions),
                    ] {
                        if a != b {
                            history.push(("service_report", m.id, key.clone(), f, txt(a), txt(b)));
                        }
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
