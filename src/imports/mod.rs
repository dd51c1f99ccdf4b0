//! Spreadsheet registers into the ledger: parse at the edge, check everything, then store a
//! whole file in one transaction or nothing of it.

mod attempt;
mod decision;
pub mod guard;
pub mod parse;
pub mod reader;
pub mod source;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::crypto::sha256_hex;
use sea_orm::sqlx::PgPool;
use sea_orm::{DatabaseConnection, DatabaseTransaction, DbErr, TransactionTrait};
use serde::Serialize;

use crate::db::sql::is_postgres;
use crate::db::store::ImportTxn;
pub use crate::db::store::{self, Counts};
use crate::register::columns::{self, SheetKind};
use crate::register::problems::{Kind, Location, Problem, ProblemView, Severity};
pub use attempt::recover_interrupted;
use attempt::Attempt;
use decision::{decide, Decision};
pub use guard::{FileFormat, Limits};
use parse::{Parsed, SheetSummary};
use source::{Content, Input};

use crate::Lang;

/// The PostgreSQL channel an import notifies when it commits a batch.
pub const LEDGER_CHANNEL: &str = "procure_ledger";

/// How to import.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub dry_run: bool,
    /// Read every sheet as this kind instead of finding it from the header.
    pub kind: Option<SheetKind>,
    pub lang: Lang,
    pub limits: Limits,
    /// Who imports: the OS user on the command line, the signed-in account on the web.
    pub actor: String,
    /// Where from (the client address on the web), for the audit trail.
    pub address: Option<String>,
    /// Keep a copy of each stored file from disk in the database, as uploads are kept. Off
    /// by default on the command line: the copy goes through the database driver whole (after
    /// the import, read again from disk), so a million-row file's peak memory is then a few
    /// times its size instead of under 100 MB.
    pub keep_original: bool,
    /// Grade thresholds an evaluation's 等级 must agree with, and the overdue days.
    pub evaluations: crate::evaluations::Settings,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            dry_run: false,
            kind: None,
            lang: Lang::Zh,
            limits: Limits::default(),
            actor: "operator".into(),
            address: None,
            keep_original: false,
            evaluations: crate::evaluations::Settings::current(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    /// Stored as a new batch.
    Stored,
    /// Would be stored (`--dry-run`).
    Checked,
    /// Everything in it is already in the ledger; nothing was written.
    Unchanged,
    /// It has errors; nothing from it was stored.
    Rejected,
}

/// What happened to one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub size: u64,
    pub sha256: String,
    pub format: Option<&'static str>,
    pub status: FileStatus,
    pub batch_id: Option<i64>,
    /// The batch that stored a byte-identical file before.
    pub identical_to_batch: Option<i64>,
    pub sheets: Vec<SheetSummary>,
    pub counts: BTreeMap<SheetKind, Counts>,
    pub total: Counts,
    /// Shown through [`FileReport::view`], in the reader's language.
    #[serde(skip)]
    pub errors: Vec<Problem>,
    /// The first warnings of each kind (up to 1,000 each).
    #[serde(skip)]
    pub warnings: Vec<Problem>,
    /// Every warning counted by code, including those not listed.
    pub warning_counts: BTreeMap<&'static str, u64>,
    /// Every error counted by code, including those not listed (the first 1,000 of each
    /// code are).
    pub error_counts: BTreeMap<&'static str, u64>,
    /// How many errors the file has in all, listed or not.
    pub error_total: u64,
    /// How many warnings the file has in all, listed or not.
    pub warning_total: u64,
}

impl FileReport {
    /// The report as shown to a reader of `lang`: the findings with their messages.
    pub fn view(&self, lang: Lang) -> FileReportView<'_> {
        FileReportView {
            report: self,
            errors: self.errors.iter().map(|p| p.view(lang)).collect(),
            warnings: self.warnings.iter().map(|p| p.view(lang)).collect(),
        }
    }
}

/// A file's report with its findings rendered in one language.
#[derive(Debug, Serialize)]
pub struct FileReportView<'a> {
    #[serde(flatten)]
    pub report: &'a FileReport,
    pub errors: Vec<ProblemView<'a>>,
    pub warnings: Vec<ProblemView<'a>>,
}

#[derive(Debug, Clone)]
pub struct ImportReport {
    /// True when every file was stored, unchanged, or (with --dry-run) would be stored.
    pub ok: bool,
    pub dry_run: bool,
    pub files: Vec<FileReport>,
    /// The language its findings are shown in: the caller's (`ImportOptions::lang`), given
    /// at the boundary, never the checks'.
    pub lang: Lang,
}

impl Serialize for ImportReport {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ImportReport", 3)?;
        st.serialize_field("ok", &self.ok)?;
        st.serialize_field("dry_run", &self.dry_run)?;
        let files: Vec<FileReportView<'_>> = self.files.iter().map(|f| f.view(self.lang)).collect();
        st.serialize_field("files", &files)?;
        st.end()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("database error: {0}")]
    Db(#[from] DbErr),
}

fn format_name(f: FileFormat) -> &'static str {
    match f {
        FileFormat::Xlsx => "xlsx",
        FileFormat::Xlsb => "xlsb",
        FileFormat::Xls => "xls",
        FileFormat::Ods => "ods",
        FileFormat::Csv => "csv",
    }
}

/// The result of reading one file, before the database is asked anything.
pub struct ParsedFile {
    pub format: Option<FileFormat>,
    pub parsed: Parsed,
    /// The parser's errors counted by code, including those not kept in `parsed`.
    pub error_counts: BTreeMap<&'static str, u64>,
}

fn file_problem(file: &str, zh: String, en: String) -> Problem {
    Problem::new(
        Location {
            file: file.to_string(),
            ..Default::default()
        },
        None,
        Kind::File { zh, en },
    )
}

/// Reads and parses a file's bytes: the guard, then the reader, then the parser. Blocking;
/// CPU-bound; never panics on bad input (it is fuzzed).
pub fn parse_bytes(
    file: &str,
    bytes: &[u8],
    opts: &ImportOptions,
    progress: Option<&AtomicU64>,
    tap: Option<tokio::sync::mpsc::Sender<parse::Streamed>>,
) -> ParsedFile {
    parse_content(file, Content::Memory(bytes), opts, progress, tap)
}

/// [`parse_bytes`] of a file in memory or on disk.
pub fn parse_content(
    file: &str,
    content: Content<'_>,
    opts: &ImportOptions,
    progress: Option<&AtomicU64>,
    tap: Option<tokio::sync::mpsc::Sender<parse::Streamed>>,
) -> ParsedFile {
    let mut parsed = Parsed::default();
    let format = match guard::inspect_content(content, &opts.limits) {
        Ok(f) => f,
        Err(e) => {
            parsed
                .problems
                .push(file_problem(file, e.zh(), e.to_string()));
            return ParsedFile {
                format: None,
                parsed,
                error_counts: BTreeMap::new(),
            };
        }
    };
    let mut parser = parse::Parser::new(file, opts.kind, opts.limits.max_rows);
    parser.progress = progress;
    parser.tap = tap;
    parser.grades = opts.evaluations;
    // A reader that panics on a file it cannot handle (seen with calamine on real .xlsb
    // files) refuses that file like any other unreadable one, naming the reader.
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        reader::read(content, format, file, &mut parser)
    }));
    let mut parsed = std::mem::take(&mut parser.out);
    let error_counts = parser.errors.counts;
    if content.changed() {
        parsed.problems.push(file_problem(
            file,
            "文件在读取过程中被修改：读到的内容可能与记录的指纹不符，请在文件保存完毕后重新导入".into(),
            "the file changed while it was being read: what was read may not be what was fingerprinted. Import it again once it is saved".into(),
        ));
    }
    if let Err(panic) = &result {
        let why = panic
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| panic.downcast_ref::<&str>().copied())
            .unwrap_or("");
        tracing::warn!(
            file,
            format = format_name(format),
            why,
            "the spreadsheet reader failed"
        );
        let reader = format_name(format);
        parsed.problems.push(file_problem(
            file,
            format!("文件无法读取：{reader} 读取器无法处理此文件的内容。请在 Excel 中打开并另存为 .xlsx 后重新上传"),
            format!("the file cannot be read: the {reader} reader could not handle its contents. Open it in Excel, save it as .xlsx and upload it again"),
        ));
    } else if let Ok(Err(e)) = result {
        parsed.problems.push(file_problem(file, e.zh, e.en));
    } else if parsed.sheets.iter().any(|s| s.kind.is_some())
        && parsed.sheets.iter().all(|s| s.rows == 0)
        && parsed
            .problems
            .iter()
            .all(|p| p.severity != Severity::Error)
    {
        parsed.problems.push(file_problem(
            file,
            "表头下面没有任何记录：是否上传了空白模板？".into(),
            "there are no records below the header: is this the blank template?".into(),
        ));
    } else if !parsed.sheets.iter().any(|s| s.kind.is_some()) {
        let names: Vec<&str> = parsed.sheets.iter().map(|s| s.name.as_str()).collect();
        parsed.problems.push(file_problem(
            file,
            format!("没有找到可识别的登记表：前20行内没有项目合同、资金拨付、服务统计、预算项目或绩效评价的表头（工作表：{}）", names.join("、")),
            format!(
                "no register found: no sheet has a contracts, disbursements, services, budgets or evaluations header in its first 20 rows (sheets: {})",
                names.join(", ")
            ),
        ));
    }
    ParsedFile {
        format: Some(format),
        parsed,
        error_counts,
    }
}

/// Imports files in order, each all-or-nothing; a later file may pay against a contract an
/// earlier one stored. With `dry_run` every file is checked against the ledger as it would
/// be after the earlier files, and nothing at all is kept.
pub async fn import_paths(
    db: &DatabaseConnection,
    paths: &[impl AsRef<Path>],
    opts: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ImportReport, ImportError> {
    let mut files = Vec::new();
    for p in paths {
        let p = p.as_ref();
        let name = p
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| p.display().to_string());
        let meta = std::fs::metadata(p).map_err(|source| ImportError::Io {
            path: p.display().to_string(),
            source,
        })?;
        if meta.len() > opts.limits.max_file_bytes {
            // Refuse before reading a huge file.
            files.push((name, Err(meta.len()), None));
            continue;
        }
        // Hashed now, so that every file is known readable before any is stored; read from
        // disk again as it is parsed, never held whole (see `source`).
        let path = p.to_path_buf();
        let print = tokio::task::spawn_blocking(move || source::fingerprint(&path))
            .await
            .map_err(|e| std::io::Error::other(e.to_string()))
            .and_then(|r| r)
            .map_err(|source| ImportError::Io {
                path: p.display().to_string(),
                source,
            })?;
        let source = opts.keep_original.then(|| p.to_path_buf());
        let input = Input::Disk {
            path: p.to_path_buf(),
            print,
        };
        files.push((name, Ok(input), source));
    }
    import_all(db, files, opts, progress).await
}

/// Imports files already in memory (uploads), in order, with the same rules as
/// [`import_paths`]: each all-or-nothing, and a dry run checks them together.
pub async fn import_bytes(
    db: &DatabaseConnection,
    files: Vec<(String, Vec<u8>)>,
    opts: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ImportReport, ImportError> {
    let files = files
        .into_iter()
        .map(|(name, bytes)| {
            // An upload's file is kept by the upload itself.
            if bytes.len() as u64 > opts.limits.max_file_bytes {
                (name, Err(bytes.len() as u64), None)
            } else {
                (name, Ok(Input::Memory(bytes)), None)
            }
        })
        .collect();
    import_all(db, files, opts, progress).await
}

/// A file to import: its name; its bytes or place on disk, or the size that put it over the
/// limit; and where it is on disk, when its original is to be kept.
type Incoming = (String, Result<Input, u64>, Option<PathBuf>);

/// Each file is its bytes, or the size that put it over the limit.
async fn import_all(
    db: &DatabaseConnection,
    files: Vec<Incoming>,
    opts: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
) -> Result<ImportReport, ImportError> {
    let mut reports = Vec::new();
    if opts.dry_run {
        // Every file is read before the outer transaction opens: on SQLite that transaction
        // holds the write lock from its first file on, and parsing is the slow part.
        let mut read = Vec::new();
        for (name, bytes, _) in files {
            read.push(match bytes {
                Ok(b) => Ok(read_file(name, b, None, opts, progress.clone(), false).await),
                Err(size) => Err(too_large(&name, size, opts)),
            });
        }
        let outer = db.begin().await?;
        for file in read {
            reports.push(match file {
                Ok(f) => store_file(&outer, None, f, opts).await?,
                Err(refused) => refused,
            });
        }
        outer.rollback().await?;
    } else {
        let copy_pool = is_postgres(db).then(|| db.get_postgres_connection_pool());
        for (name, bytes, source) in files {
            reports.push(match bytes {
                Ok(b) => {
                    let file = read_file(name, b, source, opts, progress.clone(), true).await;
                    store_file(db, copy_pool, file, opts).await?
                }
                Err(size) => too_large(&name, size, opts),
            });
        }
    }
    let ok = reports.iter().all(|r| r.status != FileStatus::Rejected);
    Ok(ImportReport {
        ok,
        dry_run: opts.dry_run,
        files: reports,
        lang: opts.lang,
    })
}

fn too_large(name: &str, size: u64, opts: &ImportOptions) -> FileReport {
    let mb = |b: u64| format!("{:.1} MB", b as f64 / 1_048_576.0);
    let p = file_problem(
        name,
        format!(
            "文件大小 {} 超过上限 {}",
            mb(size),
            mb(opts.limits.max_file_bytes)
        ),
        format!(
            "the file is {}, over the limit of {}",
            mb(size),
            mb(opts.limits.max_file_bytes)
        ),
    );
    FileReport {
        file: name.to_string(),
        size,
        sha256: String::new(),
        format: None,
        status: FileStatus::Rejected,
        batch_id: None,
        identical_to_batch: None,
        sheets: Vec::new(),
        counts: BTreeMap::new(),
        total: Counts::default(),
        errors: vec![p],
        warnings: Vec::new(),
        warning_counts: BTreeMap::new(),
        error_counts: BTreeMap::from([("file_unreadable", 1)]),
        error_total: 1,
        warning_total: 0,
    }
}

/// A file read and parsed, not yet checked against the ledger.
pub struct ReadFile {
    name: String,
    size: u64,
    sha256: String,
    started: std::time::Instant,
    parsed: Reading,
    /// Where the file is on disk (the command line): it is kept with its batch. An upload's
    /// file is kept by the upload.
    source: Option<PathBuf>,
}

/// A file's parse: finished, or still reading its last sheet of payments while the store
/// takes them.
pub enum Reading {
    Done(ParsedFile),
    Streaming(Stream),
}

/// A parse that streams the payments of its last sheet (see `parse::Streamed`).
pub struct Stream {
    /// The budget lines read before the payments sheet.
    budgets: Vec<parse::BudgetRecord>,
    /// The contracts read before the payments sheet.
    contracts: Vec<parse::ContractRecord>,
    /// The payments of an earlier payments sheet, if any.
    earlier: Vec<parse::PaymentRecord>,
    columns: std::collections::HashMap<String, columns::ColumnMap>,
    /// The payments, in chunks, as they are read.
    payments: tokio::sync::mpsc::Receiver<parse::Streamed>,
    /// The rest of the parse: sheets, problems, service reports.
    rest: tokio::task::JoinHandle<ParsedFile>,
}

/// A parser's panic is a bug; the file is refused, named, and the program goes on.
fn finished(result: Result<ParsedFile, tokio::task::JoinError>, file: &str) -> ParsedFile {
    result.unwrap_or_else(|e| {
        tracing::error!(file, error = %e, "reading a file failed");
        let mut parsed = Parsed::default();
        parsed.problems.push(file_problem(
            file,
            "文件无法读取：程序在读取时出错，已记录日志。请在 Excel 中另存为 .xlsx 后重新上传".into(),
            "the file cannot be read: the program failed while reading it (logged). Save it as .xlsx in Excel and upload it again".into(),
        ));
        ParsedFile {
            format: None,
            parsed,
            error_counts: BTreeMap::new(),
        }
    })
}

/// Reads and parses a file on a blocking thread; touches no database. With `stream`, a
/// file whose last sheet holds payments returns as soon as that sheet's header is read, and
/// its payments arrive while they are parsed: storing them overlaps with reading the rest
/// (a million-row register is then stored in about the time of the slower of the two,
/// instead of their sum).
pub async fn read_file(
    name: String,
    input: Input,
    source: Option<PathBuf>,
    opts: &ImportOptions,
    progress: Option<Arc<AtomicU64>>,
    stream: bool,
) -> ReadFile {
    let started = std::time::Instant::now();
    let (size, sha256) = match &input {
        Input::Memory(bytes) => (bytes.len() as u64, sha256_hex(bytes)),
        Input::Disk { print, .. } => (print.size, print.sha256.clone()),
    };
    let parsed = {
        let file = name.clone();
        let opts = opts.clone();
        // Two chunks of payments ahead of the store at most.
        let (tap, mut payments) = tokio::sync::mpsc::channel(2);
        let tap = stream.then_some(tap);
        let rest = tokio::task::spawn_blocking(move || {
            parse_content(&file, input.content(), &opts, progress.as_deref(), tap)
        });
        // The first message is the start of a stream; without one the channel closes when
        // the parser ends (or at once, when not streaming).
        match payments.recv().await {
            Some(parse::Streamed::Start {
                budgets,
                contracts,
                payments: earlier,
                columns,
            }) => Reading::Streaming(Stream {
                budgets,
                contracts,
                earlier,
                columns,
                payments,
                rest,
            }),
            _ => Reading::Done(finished(rest.await, &name)),
        }
    };
    ReadFile {
        name,
        size,
        sha256,
        started,
        parsed,
        source,
    }
}

/// Checks a read file against the ledger and stores it in its own transaction (a
/// savepoint inside a dry run's outer transaction).
async fn store_file<C: TransactionTrait<Transaction = DatabaseTransaction>>(
    db: &C,
    copy_pool: Option<&PgPool>,
    file: ReadFile,
    opts: &ImportOptions,
) -> Result<FileReport, ImportError> {
    let ReadFile {
        name,
        size,
        sha256,
        started,
        parsed: reading,
        source,
    } = file;
    let (done, stream) = match reading {
        Reading::Done(parsed) => {
            tracing::debug!(file = %name, elapsed = ?started.elapsed(), "parsed");
            (Some(parsed), None)
        }
        Reading::Streaming(s) => (None, Some(s)),
    };
    let mut report = FileReport {
        file: name.clone(),
        size,
        sha256: sha256.clone(),
        format: None,
        status: FileStatus::Rejected,
        batch_id: None,
        identical_to_batch: None,
        sheets: Vec::new(),
        counts: BTreeMap::new(),
        total: Counts::default(),
        errors: Vec::new(),
        warnings: Vec::new(),
        warning_counts: BTreeMap::new(),
        error_counts: BTreeMap::new(),
        error_total: 0,
        warning_total: 0,
    };
    // A file that cannot be read at all is not stored. (One that is streamed could be read
    // up to its last sheet; if that breaks off, its error rolls the store back.)
    let unreadable = done.as_ref().is_some_and(|f| {
        f.parsed
            .problems
            .iter()
            .any(|p| matches!(p.kind, Kind::File { .. }))
    });
    let (ParsedFile { format, parsed, .. }, mut problems) = if unreadable {
        let file = done.expect("an unreadable file is read whole");
        let problems = file.parsed.problems.clone();
        report.error_counts = file.error_counts.clone();
        (file, problems)
    } else {
        // An import that is not a dry run records its start before its transaction opens,
        // and later how it ended.
        let attempt = if opts.dry_run {
            None
        } else {
            let who = crate::audit::Actor {
                name: opts.actor.clone(),
                address: opts.address.clone(),
            };
            Some(Attempt::begin(db, who, &name, size, &sha256).await?)
        };
        let meta = store::FileMeta {
            name,
            size,
            sha256: sha256.clone(),
            actor: opts.actor.clone(),
            dry_run: opts.dry_run,
        };
        let checked = check_and_store(
            db,
            copy_pool,
            meta,
            (done, stream),
            started,
            attempt.as_ref(),
            &mut report,
        )
        .await;
        match (checked, &attempt) {
            (Ok(checked), _) => checked,
            // Whatever failed, the start recorded above gets its end.
            (Err(e), Some(a)) => {
                a.fail(db, &e).await;
                return Err(e);
            }
            (Err(e), None) => return Err(e),
        }
    };
    report.format = format.map(format_name);
    report.sheets = parsed.sheets.clone();
    if let (FileStatus::Stored, Some(path), Some(batch)) = (report.status, &source, report.batch_id)
    {
        // After the commit, with the parsed rows gone: a million-row file is then the only
        // large thing in memory. A failure here loses the copy, not the batch.
        drop(parsed);
        if let Err(e) = keep_original(db, path, &report.file, &sha256, &opts.actor, batch).await {
            tracing::warn!(error = %e, file = %report.file, "the batch is stored but its original could not be kept");
        }
    }
    // Errors first in sheet order, then by row, so a long list reads like the file.
    problems
        .sort_by(|a, b| (a.at.sheet.as_deref(), a.at.row).cmp(&(b.at.sheet.as_deref(), b.at.row)));
    let (errors, warnings): (Vec<_>, Vec<_>) = problems
        .into_iter()
        .partition(|p| p.severity == Severity::Error);
    for w in &warnings {
        // parse-time warnings (term over a year) are counted here; store-time ones came counted
        if matches!(w.kind, Kind::TermOverOneYear) {
            *report.warning_counts.entry(w.code).or_insert(0) += 1;
        }
    }
    // The parser and the store counted the errors they did not keep; the few they never
    // count (an unreadable file, a check stopped) are counted here.
    let tallied: Vec<&'static str> = report.error_counts.keys().copied().collect();
    for e in errors.iter().filter(|e| !tallied.contains(&e.code)) {
        *report.error_counts.entry(e.code).or_insert(0) += 1;
    }
    report.error_total = report.error_counts.values().sum();
    report.warning_total = report
        .warning_counts
        .values()
        .sum::<u64>()
        .max(warnings.len() as u64);
    report.errors = errors;
    report.warnings = warnings;
    if !report.errors.is_empty() {
        report.status = FileStatus::Rejected;
    }
    Ok(report)
}

/// Checks a file against the ledger in a transaction of its own, then keeps or rolls back
/// that transaction as [`decide`] says, and records the attempt's end. Fills in the report's
/// counts and status; returns the file's parse and every problem found.
async fn check_and_store<C: TransactionTrait<Transaction = DatabaseTransaction>>(
    db: &C,
    copy_pool: Option<&PgPool>,
    meta: store::FileMeta,
    (done, stream): (Option<ParsedFile>, Option<Stream>),
    started: std::time::Instant,
    attempt: Option<&Attempt>,
    report: &mut FileReport,
) -> Result<(ParsedFile, Vec<Problem>), ImportError> {
    // On PostgreSQL an import that may commit writes its payments by COPY, on a transaction
    // of its own connection (see `store::ImportTxn`); a dry run nests in its outer one.
    let txn = match copy_pool {
        Some(pool) if !meta.dry_run => ImportTxn::Pg(store::PgTxn::begin(pool).await?),
        _ => ImportTxn::Orm(db.begin().await?),
    };
    // The store writes first (the batch row), so on SQLite this transaction holds the
    // write lock before it reads anything and a concurrent import waits its turn.
    let (outcome, parsed) = match stream {
        None => {
            let parsed = done.expect("read before it is stored");
            (store::store(&txn, &meta, &parsed.parsed).await?, parsed)
        }
        Some(s) => {
            let stored = store_streamed(&txn, &meta, s).await?;
            tracing::debug!(file = %meta.name, elapsed = ?started.elapsed(), "parsed");
            stored
        }
    };
    let mut problems = parsed.parsed.problems.clone();
    report.identical_to_batch = store::earlier_batch(&txn, &meta.sha256, outcome.batch_id)
        .await?
        .map(|b| b.id);
    problems.extend(outcome.problems);
    report.warning_counts.extend(outcome.warning_counts);
    report.error_counts = parsed.error_counts.clone();
    for (code, n) in outcome.error_counts {
        *report.error_counts.entry(code).or_insert(0) += n;
    }
    report.counts = outcome.counts;
    for c in report.counts.values() {
        report.total.add(c);
    }
    tracing::debug!(elapsed = ?started.elapsed(), "checked and written");
    let decision = match decide(&problems, &report.total, meta.dry_run) {
        // The attempt records every error, not only those kept.
        Decision::Reject { errors } => Decision::Reject {
            errors: errors.max(report.error_counts.values().sum::<u64>() as usize),
        },
        d => d,
    };
    match decision {
        Decision::Reject { .. } | Decision::Unchanged => {
            txn.rollback().await?;
            if let (Some(a), Some(ending)) = (attempt, decision.ending()) {
                a.finish(db, &ending).await?;
            }
        }
        Decision::Check => txn.commit().await?,
        Decision::Store => {
            if let Some(a) = attempt {
                a.commit(&txn, outcome.batch_id, &report.total).await?;
            }
            // Delivered at commit: every server listening refreshes its figures at once.
            crate::db::notify::on_commit(&txn, LEDGER_CHANNEL).await?;
            txn.commit().await?;
            report.batch_id = Some(outcome.batch_id);
        }
    }
    report.status = decision.into();
    Ok((parsed, problems))
}

impl From<Decision> for FileStatus {
    fn from(d: Decision) -> FileStatus {
        match d {
            Decision::Reject { .. } => FileStatus::Rejected,
            Decision::Unchanged => FileStatus::Unchanged,
            Decision::Check => FileStatus::Checked,
            Decision::Store => FileStatus::Stored,
        }
    }
}

/// Stores a file whose payments are still being parsed: its contracts first, then its
/// payments as they arrive, then, when the parse ends, its service reports.
async fn store_streamed(
    txn: &ImportTxn,
    meta: &store::FileMeta,
    stream: Stream,
) -> Result<(store::Outcome, ParsedFile), DbErr> {
    let Stream {
        budgets,
        contracts,
        earlier,
        columns,
        payments,
        rest,
    } = stream;
    let mut store = store::Store::begin(txn, meta, columns).await?;
    store.budgets(&budgets).await?;
    store.contracts(&contracts).await?;
    drop(contracts);
    store
        .payments(store::PaymentInput::Streamed(earlier, payments))
        .await?;
    let parsed = finished(rest.await, &meta.name);
    store.add_columns(&parsed.parsed.columns);
    store.services(&parsed.parsed.services).await?;
    store.evaluations(&parsed.parsed.evaluations).await?;
    let outcome = store.finish(&parsed.parsed).await?;
    Ok((outcome, parsed))
}

/// Keeps the file a command-line batch came from, byte for byte (the auditors' source
/// document), unless the same bytes are kept already. It is read again from disk and kept
/// only if it is still the file that was imported.
async fn keep_original<C: TransactionTrait<Transaction = DatabaseTransaction>>(
    db: &C,
    path: &Path,
    name: &str,
    sha256: &str,
    actor: &str,
    batch_id: i64,
) -> Result<(), ImportError> {
    use crate::entities::upload;
    use sea_orm::{ActiveModelTrait, ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter, Set};
    let bytes = std::fs::read(path).map_err(|source| ImportError::Io {
        path: path.display().to_string(),
        source,
    })?;
    if sha256_hex(&bytes) != sha256 {
        tracing::warn!(file = %path.display(), "the file changed after it was imported; its original is not kept");
        return Ok(());
    }
    let txn = db.begin().await?;
    let kept = upload::Entity::find()
        .filter(upload::Column::Sha256.eq(sha256))
        .count(&txn)
        .await?;
    if kept > 0 {
        return Ok(());
    }
    let now = chrono::Utc::now();
    upload::ActiveModel {
        set_token: Set(format!("import-{batch_id}")),
        position: Set(0),
        file_name: Set(name.to_string()),
        file_size: Set(bytes.len() as i64),
        sha256: Set(sha256.to_string()),
        content: Set(bytes),
        uploaded_by: Set(actor.to_string()),
        uploaded_at: Set(now),
        status: Set("committed".into()),
        batch_id: Set(Some(batch_id)),
        committed_at: Set(Some(now)),
        ..Default::default()
    }
    .insert(&txn)
    .await?;
    txn.commit().await?;
    Ok(())
}

/// Bumps a shared row counter for a progress bar.
pub(crate) fn tick(progress: Option<&AtomicU64>) {
    if let Some(p) = progress {
        p.fetch_add(1, Ordering::Relaxed);
    }
}
