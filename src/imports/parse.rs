//! One file's rows become typed records, each remembering its sheet and row; every bad
//! cell becomes a [`Problem`] naming its cell. Nothing here touches the database.

use std::collections::HashMap;

use chrono::Months;

mod budget;
mod evaluations;

use super::reader::RowSink;
use crate::contracts::{Category, ContractCode, FundingSource, ProcurementMethod};
use crate::money::Money;
use crate::providers::Uscc;
use crate::register::cells::Cell;
use crate::register::columns::{self, ColumnMap, Detection, Field, SheetKind, TotalKind};
use crate::register::problems::{
    cell_ref, Kind, Location, Problem, Severity, Tally, MAX_ERRORS_COUNTED, MAX_ERRORS_KEPT,
};
pub use crate::register::records::{
    BudgetRecord, ContractRecord, Parsed, PaymentRecord, ServiceRecord, SheetSummary, Source,
    Streamed,
};

/// The header must be within a sheet's first 20 non-blank rows: real registers put a title,
/// a unit line and notes above it, never a whole page.
const HEADER_SEARCH_ROWS: usize = 20;

/// Running sums a total row is checked against.
#[derive(Default)]
struct Sums {
    money: HashMap<Field, Money>,
    count: HashMap<Field, i64>,
    /// A column with a bad cell cannot be checked: its error is already reported.
    tainted: HashMap<Field, bool>,
}

struct SheetState {
    name: String,
    /// No sheet is read after this one (a CSV file's only one).
    last: bool,
    /// Its place in `Parsed::sheets`, once its header is found.
    summary: Option<usize>,
    /// Put off: the reader stops it now and reads it again after the other sheets.
    later: bool,
    /// Read again after being put off: never put off twice.
    again: bool,
    shared_name: std::sync::Arc<str>,
    pending: Vec<(u32, Vec<Cell>)>,
    map: Option<ColumnMap>,
    decided: bool,
    rows: u64,
    since_start: Sums,
    since_subtotal: Sums,
    first_row_of: HashMap<String, u32>,
}

/// Payments per chunk sent ahead.
const STREAM_CHUNK: usize = 4096;

/// Parses rows handed over by the reader (it implements [`RowSink`]).
pub struct Parser<'p> {
    /// Where payments of the last sheet go as they are read, if anywhere (see `Streamed`).
    pub tap: Option<tokio::sync::mpsc::Sender<Streamed>>,
    /// True while the payments of the last sheet go to `tap` instead of `out`.
    streaming: bool,
    streamed: Vec<PaymentRecord>,
    /// Interned contract codes and short repeated words.
    codes: HashMap<String, ContractCode>,
    words: HashMap<String, std::sync::Arc<str>>,
    /// Rows read so far, for a progress bar.
    pub progress: Option<&'p std::sync::atomic::AtomicU64>,
    file: String,
    forced: Option<SheetKind>,
    max_rows: u32,
    sheet: Option<SheetState>,
    pub out: Parsed,
    /// The grade thresholds an evaluation's 等级 is checked against.
    pub grades: crate::evaluations::Settings,
    /// Every error counted by code; only the first of each code are kept in `out`.
    pub errors: Tally,
    /// The file is refused and every error's list is full: the rest is not read.
    stopped: bool,
    /// Payments sheets put off until the other sheets are read, each with its place in
    /// `Parsed::sheets` (see [`RowSink::read_later`]).
    later: HashMap<String, usize>,
    /// The sheet that just ended was put off.
    put_off: bool,
}

impl<'p> Parser<'p> {
    pub fn new(file: &str, forced: Option<SheetKind>, max_rows: u32) -> Parser<'p> {
        Parser {
            tap: None,
            streaming: false,
            streamed: Vec::new(),
            codes: HashMap::new(),
            words: HashMap::new(),
            progress: None,
            file: file.to_string(),
            forced,
            max_rows,
            sheet: None,
            out: Parsed::default(),
            grades: crate::evaluations::Settings::current(),
            errors: Tally::new(MAX_ERRORS_KEPT),
            stopped: false,
            later: HashMap::new(),
            put_off: false,
        }
    }

    fn at(&self, col: Option<u32>, row: u32) -> Location {
        Location {
            file: self.file.clone(),
            sheet: self.sheet.as_ref().map(|s| s.name.clone()),
            cell: col.map(|c| cell_ref(c, row + 1)),
            row: Some(row + 1),
        }
    }

    fn problem(&mut self, col: Option<u32>, row: u32, value: Option<String>, kind: Kind) {
        if kind.severity() == Severity::Error && !self.errors.admit(kind.code()) {
            return;
        }
        let p = Problem::new(self.at(col, row), value, kind);
        self.out.problems.push(p);
    }

    /// The last sheet holds payments: what was read before it goes to the store now, and
    /// its payments follow as they are read.
    fn start_stream(&mut self) {
        let Some(tap) = &self.tap else {
            return;
        };
        let start = Streamed::Start {
            budgets: std::mem::take(&mut self.out.budgets),
            contracts: std::mem::take(&mut self.out.contracts),
            payments: std::mem::take(&mut self.out.payments),
            columns: self.out.columns.clone(),
        };
        match tap.blocking_send(start) {
            Ok(()) => self.streaming = true,
            Err(tokio::sync::mpsc::error::SendError(start)) => {
                // Nobody takes them: read on as if no one had asked.
                if let Streamed::Start {
                    budgets,
                    contracts,
                    payments,
                    ..
                } = start
                {
                    self.out.budgets = budgets;
                    self.out.contracts = contracts;
                    self.out.payments = payments;
                }
                self.tap = None;
            }
        }
    }

    fn send_streamed(&mut self) {
        if !self.streaming || self.streamed.is_empty() {
            return;
        }
        let chunk = std::mem::replace(&mut self.streamed, Vec::with_capacity(STREAM_CHUNK));
        let sent = self
            .tap
            .as_ref()
            .is_some_and(|t| t.blocking_send(Streamed::Payments(chunk)).is_ok());
        if !sent {
            // The store stopped (a database error, reported by it); the rest of the file is
            // still read for its problems, but its payments are dropped.
            self.tap = None;
        }
    }

    /// Its summary's place: the one it had when it was put off, if it was.
    fn summary_slot(&mut self, name: &str, summary: SheetSummary) -> usize {
        match self.later.remove(name) {
            Some(slot) => {
                self.out.sheets[slot] = summary;
                slot
            }
            None => {
                self.out.sheets.push(summary);
                self.out.sheets.len() - 1
            }
        }
    }

    fn decide(&mut self, detection: Detection) {
        let Some(st) = self.sheet.as_mut() else {
            return;
        };
        st.decided = true;
        st.pending.clear();
        let name = st.name.clone();
        match detection {
            Detection::Found(map) => {
                let slot = self.summary_slot(
                    &name,
                    SheetSummary {
                        name: name.clone(),
                        kind: Some(map.kind),
                        header_row: Some(map.header_row + 1),
                        rows: 0,
                        skipped: false,
                    },
                );
                self.out.columns.insert(name.clone(), map.clone());
                let payments = map.kind == SheetKind::Disbursements;
                let st = self.sheet.as_mut().expect("in a sheet");
                st.summary = Some(slot);
                // A payments sheet with sheets after it, or after a sheet put off, is read
                // after them when its payments can stream: what it pays may be a contract
                // or budget line of a later sheet, and they are stored first.
                if payments
                    && self.tap.is_some()
                    && !st.again
                    && (!st.last || !self.later.is_empty())
                {
                    st.later = true;
                    self.later.insert(name, slot);
                    return;
                }
                let stream = st.last && payments;
                st.map = Some(map);
                if stream {
                    self.start_stream();
                }
            }
            Detection::Incomplete(map) => {
                self.out.sheets.push(SheetSummary {
                    name,
                    kind: Some(map.kind),
                    header_row: Some(map.header_row + 1),
                    rows: 0,
                    skipped: false,
                });
                let row = map.header_row;
                for f in map.missing() {
                    let (en, zh) = f.names();
                    self.problem(
                        None,
                        row,
                        None,
                        Kind::MissingColumn {
                            field: en,
                            field_zh: zh,
                        },
                    );
                }
            }
            Detection::Unknown => {
                self.out.sheets.push(SheetSummary {
                    name,
                    kind: None,
                    header_row: None,
                    rows: 0,
                    skipped: true,
                });
            }
        }
    }

    fn record(&mut self, row: u32, cells: &[Cell]) {
        let Some(map) = self.sheet.as_ref().and_then(|s| s.map.clone()) else {
            return;
        };
        if let Some(total) = columns::total_kind(cells) {
            self.check_total(&map, row, cells, total);
            return;
        }
        if let Some(s) = self.sheet.as_mut() {
            s.rows += 1;
        }
        if let Some(summary) = self
            .sheet
            .as_ref()
            .and_then(|s| s.summary)
            .and_then(|i| self.out.sheets.get_mut(i))
        {
            summary.rows += 1;
        }
        let mut rp = RowParse {
            parser: self,
            map: &map,
            row,
            cells,
            ok: true,
        };
        match map.kind {
            SheetKind::Contracts => rp.contract(),
            SheetKind::Disbursements => rp.payment(),
            SheetKind::Services => rp.service(),
            SheetKind::Budgets => rp.budget(),
            SheetKind::Evaluations => rp.evaluation(),
        }
    }

    fn check_total(&mut self, map: &ColumnMap, row: u32, cells: &[Cell], total: TotalKind) {
        let summable: &[Field] = match map.kind {
            SheetKind::Contracts => &[Field::Value],
            SheetKind::Disbursements => &[Field::Amount],
            SheetKind::Services => &[Field::NewPeople, Field::Sessions],
            SheetKind::Budgets => &[Field::Approved],
            SheetKind::Evaluations => &[],
        };
        for &f in summable {
            let Some(col) = map.col(f) else { continue };
            let cell = cells.get(col as usize).cloned().unwrap_or_default();
            if cell.is_blank() {
                continue;
            }
            let st = self.sheet.as_ref().expect("in a sheet");
            let sums = if total == TotalKind::Subtotal {
                &st.since_subtotal
            } else {
                &st.since_start
            };
            if sums.tainted.get(&f).copied().unwrap_or(false) {
                continue;
            }
            let (en, zh) = f.names();
            let (matches, sum_text) = if matches!(f, Field::Value | Field::Amount | Field::Approved)
            {
                let sum = sums.money.get(&f).copied().unwrap_or(Money::ZERO);
                match cell.money(map.unit(f)) {
                    Ok(Some(v)) => (v == sum, sum.to_string()),
                    _ => (false, sum.to_string()),
                }
            } else {
                let sum = sums.count.get(&f).copied().unwrap_or(0);
                (cell.count().ok().flatten() == Some(sum), sum.to_string())
            };
            if !matches {
                self.problem(
                    Some(col),
                    row,
                    Some(cell.display()),
                    Kind::TotalMismatch {
                        field_zh: zh,
                        field: en,
                        sum: sum_text,
                    },
                );
            }
        }
        if total == TotalKind::Subtotal {
            if let Some(st) = self.sheet.as_mut() {
                st.since_subtotal = Sums::default();
            }
        }
    }

    fn add_money(&mut self, f: Field, m: Option<Money>, tainted: bool) {
        let Some(st) = self.sheet.as_mut() else {
            return;
        };
        for sums in [&mut st.since_start, &mut st.since_subtotal] {
            if tainted {
                sums.tainted.insert(f, true);
            } else if let Some(m) = m {
                let e = sums.money.entry(f).or_insert(Money::ZERO);
                match e.checked_add(m) {
                    Ok(v) => *e = v,
                    Err(_) => {
                        sums.tainted.insert(f, true);
                    }
                }
            }
        }
    }

    fn add_count(&mut self, f: Field, n: Option<i64>, tainted: bool) {
        let Some(st) = self.sheet.as_mut() else {
            return;
        };
        for sums in [&mut st.since_start, &mut st.since_subtotal] {
            if tainted {
                sums.tainted.insert(f, true);
            } else if let Some(n) = n {
                *sums.count.entry(f).or_insert(0) =
                    sums.count.get(&f).copied().unwrap_or(0).saturating_add(n);
            }
        }
    }
}

impl RowSink for Parser<'_> {
    fn begin_sheet(&mut self, name: &str, last: bool) {
        self.sheet = Some(SheetState {
            last,
            summary: None,
            later: false,
            again: self.later.contains_key(name),
            name: name.to_string(),
            shared_name: name.into(),
            pending: Vec::new(),
            map: None,
            decided: false,
            rows: 0,
            since_start: Sums::default(),
            since_subtotal: Sums::default(),
            first_row_of: HashMap::new(),
        });
    }

    fn row(&mut self, row: u32, cells: Vec<Cell>) -> bool {
        if self.stopped {
            return false;
        }
        super::tick(self.progress);
        if row >= self.max_rows {
            let limit = self.max_rows;
            self.problem(None, row, None, Kind::TooManyRows { limit });
            return false;
        }
        if cells.iter().all(Cell::is_blank) {
            return true;
        }
        let Some(st) = self.sheet.as_mut() else {
            return false;
        };
        if !st.decided {
            let name = st.name.clone();
            st.pending.push((row, cells));
            let found =
                match columns::detect(&name, &st.pending[st.pending.len() - 1..], self.forced) {
                    d @ Detection::Found(_) => Some(d),
                    _ => None,
                };
            if let Some(d) = found {
                self.decide(d);
            } else if st.pending.len() >= HEADER_SEARCH_ROWS {
                let d = columns::detect(&name, &st.pending, self.forced);
                self.decide(d);
                // A sheet with no header in its first rows has no records to read.
                return self.sheet.as_ref().is_some_and(|s| s.map.is_some());
            }
            return true;
        }
        if self.sheet.as_ref().is_some_and(|s| s.map.is_none()) {
            return false;
        }
        self.record(row, &cells);
        // Once refused with every kind of error's list full and many errors counted, more
        // rows could only add to the counts: the rest of the file is not read. A file with
        // fewer errors than that is always read to its end and counts every one.
        if self.errors.full() && self.errors.total() >= MAX_ERRORS_COUNTED {
            self.stopped = true;
            let errors = self.errors.total();
            let p = Problem::new(
                self.at(None, row),
                None,
                Kind::CheckStopped {
                    row: row + 1,
                    errors,
                },
            );
            self.out.problems.push(p);
            return false;
        }
        true
    }

    fn end_sheet(&mut self) {
        let undecided = self.sheet.as_ref().is_some_and(|s| !s.decided);
        if undecided {
            let st = self.sheet.as_ref().expect("in a sheet");
            let d = columns::detect(&st.name, &st.pending, self.forced);
            self.decide(d);
        }
        self.send_streamed();
        self.streaming = false;
        self.put_off = self.sheet.take().is_some_and(|s| s.later);
    }

    fn read_later(&mut self) -> bool {
        std::mem::take(&mut self.put_off)
    }
}

/// The conversion of a free-text field's cell: its text, refused past the field's limit.
fn free_text(f: Field) -> impl Fn(&Cell) -> Result<Option<String>, Kind> {
    move |c: &Cell| match f.max_chars() {
        None => Ok(c.text()),
        Some(limit) => c.text_at_most(limit).map_err(|chars| {
            let (field, field_zh) = f.names();
            Kind::TextTooLong {
                field,
                field_zh,
                limit,
                chars,
            }
        }),
    }
}

/// Parsing one record row.
struct RowParse<'p, 'm, 'c, 'g> {
    parser: &'p mut Parser<'g>,
    map: &'m ColumnMap,
    row: u32,
    cells: &'c [Cell],
    ok: bool,
}

impl<'c> RowParse<'_, '_, 'c, '_> {
    /// The cell of a field, borrowed from the row (no copy per look).
    fn cell(&self, f: Field) -> (Option<u32>, &'c Cell) {
        static EMPTY: Cell = Cell::Empty;
        match self.map.col(f) {
            Some(c) => (Some(c), self.cells.get(c as usize).unwrap_or(&EMPTY)),
            None => (None, &EMPTY),
        }
    }

    fn fail(&mut self, f: Field, kind: Kind) {
        let (col, cell) = self.cell(f);
        let value = (!cell.is_blank()).then(|| cell.display());
        self.ok = false;
        let row = self.row;
        self.parser
            .problem(col.or(self.map.col(Field::Code)), row, value, kind);
    }

    fn warn(&mut self, f: Field, kind: Kind) {
        let (col, cell) = self.cell(f);
        let value = (!cell.is_blank()).then(|| cell.display());
        let row = self.row;
        self.parser.problem(col, row, value, kind);
    }

    fn missing(&mut self, f: Field) {
        let (en, zh) = f.names();
        self.fail(
            f,
            Kind::MissingValue {
                field: en,
                field_zh: zh,
            },
        );
    }

    /// A required value: missing and bad cells are reported.
    fn required<T>(
        &mut self,
        f: Field,
        conv: impl Fn(&Cell) -> Result<Option<T>, Kind>,
    ) -> Option<T> {
        let (_, cell) = self.cell(f);
        match conv(cell) {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.missing(f);
                None
            }
            Err(k) => {
                self.fail(f, k);
                None
            }
        }
    }

    fn optional<T>(
        &mut self,
        f: Field,
        conv: impl Fn(&Cell) -> Result<Option<T>, Kind>,
    ) -> Option<T> {
        let (_, cell) = self.cell(f);
        match conv(cell) {
            Ok(v) => v,
            Err(k) => {
                self.fail(f, k);
                None
            }
        }
    }

    /// An optional free-text value, refused when longer than its field allows.
    fn text(&mut self, f: Field) -> Option<String> {
        self.optional(f, free_text(f))
    }

    /// A required free-text value: missing, and too long, are reported.
    fn required_text(&mut self, f: Field) -> Option<String> {
        self.required(f, free_text(f))
    }

    fn code(&mut self) -> Option<ContractCode> {
        let code = self.required(Field::Code, |c| match c.text() {
            None => Ok(None),
            Some(t) => ContractCode::parse(&t).map(Some).ok_or(Kind::BadCode),
        })?;
        // One allocation per distinct code, however many payments name it.
        Some(
            self.parser
                .codes
                .entry(code.as_str().to_string())
                .or_insert(code)
                .clone(),
        )
    }

    fn vocabulary<T>(
        &mut self,
        f: Field,
        parse: fn(&str) -> Option<T>,
        expected: String,
        required: bool,
    ) -> Option<T> {
        let (en, zh) = f.names();
        let conv = |c: &Cell| match c.text() {
            None => Ok(None),
            Some(t) => parse(&t).map(Some).ok_or(Kind::BadVocabulary {
                field: en,
                field_zh: zh,
                expected: expected.clone(),
            }),
        };
        if required {
            self.required(f, conv)
        } else {
            self.optional(f, conv)
        }
    }

    fn source(&self) -> Source {
        Source {
            sheet: self
                .parser
                .sheet
                .as_ref()
                .map(|s| s.shared_name.clone())
                .unwrap_or_else(|| "".into()),
            row: self.row + 1,
        }
    }

    /// Reports a key seen before in this sheet; returns whether it is new.
    fn first_time(&mut self, key: String, f: Field) -> bool {
        let row = self.row + 1;
        let st = self.parser.sheet.as_mut().expect("in a sheet");
        match st.first_row_of.get(&key) {
            Some(&first_row) => {
                self.fail(f, Kind::DuplicateInFile { first_row });
                false
            }
            None => {
                st.first_row_of.insert(key, row);
                true
            }
        }
    }

    fn contract(&mut self) {
        let code = self.code();
        let title = self.required_text(Field::Title);
        let category =
            self.vocabulary(Field::Category, Category::parse, Category::expected(), true);
        let provider = self.required_text(Field::Provider);
        let uscc = match self.text(Field::Uscc) {
            None => None,
            Some(t) => match Uscc::parse(&t) {
                Ok(u) => Some(u),
                Err(e) => {
                    self.fail(
                        Field::Uscc,
                        Kind::BadUscc {
                            zh: e.zh(),
                            en: e.to_string(),
                        },
                    );
                    None
                }
            },
        };
        let method = self.vocabulary(
            Field::Method,
            ProcurementMethod::parse,
            ProcurementMethod::expected(),
            false,
        );
        let funding = self.vocabulary(
            Field::Funding,
            FundingSource::parse,
            FundingSource::expected(),
            false,
        );
        let unit = self.map.unit(Field::Value);
        let value = self.required(Field::Value, |c| c.money(unit));
        if let Some(v) = value {
            if v <= Money::ZERO {
                self.fail(Field::Value, Kind::NotPositive);
            }
        }
        let value_tainted = value.is_none();
        self.parser.add_money(Field::Value, value, value_tainted);
        let signed = self.optional(Field::Signed, Cell::date);
        let (start, end) =
            if self.map.col(Field::Start).is_some() && self.map.col(Field::End).is_some() {
                (
                    self.required(Field::Start, Cell::date),
                    self.required(Field::End, Cell::date),
                )
            } else {
                match self.required(Field::Term, Cell::range) {
                    Some((s, e)) => (Some(s), Some(e)),
                    None => (None, None),
                }
            };
        let target = self.optional(Field::Target, Cell::count);
        let term_field = if self.map.col(Field::End).is_some() {
            Field::End
        } else {
            Field::Term
        };
        if let (Some(s), Some(e)) = (start, end) {
            if e < s {
                self.fail(term_field, Kind::EndBeforeStart);
            } else if e >= s + Months::new(36) {
                // Order 102 art. 24: a term is at most 1 year, 3 for stable services.
                self.fail(term_field, Kind::TermOverThreeYears);
            } else if e >= s + Months::new(12) {
                self.warn(term_field, Kind::TermOverOneYear);
            }
            if let Some(sg) = signed {
                if sg > e {
                    self.fail(Field::Signed, Kind::SignedAfterEnd);
                }
            }
        }
        if let Some(c) = &code {
            self.first_time(c.as_str().to_string(), Field::Code);
        }
        let purchaser = self.text(Field::Purchaser);
        let street = self.text(Field::Street);
        let community = self.text(Field::Community);
        let budget_code = self.budget_code(false);
        if let (
            true,
            Some(code),
            Some(title),
            Some(category),
            Some(provider),
            Some(value),
            Some(start),
            Some(end),
        ) = (self.ok, code, title, category, provider, value, start, end)
        {
            let src = self.source();
            self.parser.out.contracts.push(ContractRecord {
                src,
                code,
                title,
                category,
                provider,
                uscc,
                purchaser,
                street,
                community,
                method,
                funding,
                value,
                signed,
                start,
                end,
                target,
                budget_code,
            });
        }
    }

    fn payment(&mut self) {
        let code = self.code();
        let date = self.required(Field::Date, Cell::date);
        let unit = self.map.unit(Field::Amount);
        let amount = self.required(Field::Amount, |c| c.money(unit));
        self.parser
            .add_money(Field::Amount, amount, amount.is_none());
        let voucher = self.required_text(Field::Voucher);
        let reverses = self.text(Field::Reverses);
        if let Some(a) = amount {
            if a == Money::ZERO || (a.is_negative() && reverses.is_none()) {
                let kind = if a == Money::ZERO {
                    Kind::NotPositive
                } else {
                    Kind::NegativeWithoutReversal
                };
                self.fail(Field::Amount, kind);
            }
        }
        // Duplicate vouchers are found when storing, by sorting: a hash of a million keys
        // would cost more memory than the records themselves.
        let tranche = self.text(Field::Tranche).map(|t| {
            self.parser
                .words
                .entry(t.clone())
                .or_insert_with(|| t.into())
                .clone()
        });
        let note = self.text(Field::Note);
        if let (true, Some(code), Some(date), Some(amount), Some(voucher)) =
            (self.ok, code, date, amount, voucher)
        {
            let src = self.source();
            let rec = PaymentRecord {
                src,
                code,
                date,
                amount,
                voucher,
                tranche,
                reverses,
                note,
            };
            if self.parser.streaming {
                self.parser.streamed.push(rec);
                if self.parser.streamed.len() >= STREAM_CHUNK {
                    self.parser.send_streamed();
                }
            } else {
                self.parser.out.payments.push(rec);
            }
        }
    }

    fn service(&mut self) {
        let code = self.code();
        let period = self.required(Field::Period, Cell::period);
        let new_people = self.optional(Field::NewPeople, Cell::count);
        let cumulative = self.optional(Field::Cumulative, Cell::count);
        let sessions = self.optional(Field::Sessions, Cell::count);
        let new_bad = !self.cell(Field::NewPeople).1.is_blank() && new_people.is_none();
        let sessions_bad = !self.cell(Field::Sessions).1.is_blank() && sessions.is_none();
        self.parser.add_count(Field::NewPeople, new_people, new_bad);
        self.parser
            .add_count(Field::Sessions, sessions, sessions_bad);
        let cum_bad = !self.cell(Field::Cumulative).1.is_blank() && cumulative.is_none();
        if new_people.is_none() && cumulative.is_none() && !new_bad && !cum_bad {
            let f = if self.map.col(Field::NewPeople).is_some() {
                Field::NewPeople
            } else {
                Field::Cumulative
            };
            self.fail(f, Kind::NoPeople);
        }
        if let (Some(c), Some(p)) = (&code, &period) {
            self.first_time(format!("{}\u{1f}{}", c.as_str(), p.label()), Field::Period);
        }
        if let (true, Some(code), Some(period)) = (self.ok, code, period) {
            let src = self.source();
            self.parser.out.services.push(ServiceRecord {
                src,
                code,
                period,
                new_people,
                cumulative,
                sessions,
            });
        }
    }
}
