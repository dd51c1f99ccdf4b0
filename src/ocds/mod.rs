//! The ledger as Open Contracting Data (OCDS 1.1.5): one contracting process (ocid) per
//! contract, a release for each stage the ledger knows (planning, tender, award, contract,
//! implementation per recorded batch, contractAmendment per recorded change), and release
//! and record packages. Pure: the database read is `db::read::ocds`; this module only maps.
//!
//! Disclosure of each purchase's content, method, provider, amount, funding, term and
//! evaluation is required by 财预〔2017〕87号; OCDS is the international form it takes here.

mod json;
mod releases;
#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

pub use json::{merge, J};
pub use releases::{process_releases, Process};

use crate::contracts::{Category, FundingSource, ProcurementMethod};
use crate::money::Money;

/// The ocid prefix until the bureau registers its own with the OCDS helpdesk: a placeholder.
pub const DEFAULT_PREFIX: &str = "ocds-procure";

/// The extensions every package declares (their schemas are patched onto the release schema).
pub const EXTENSIONS: [&str; 2] = [
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_budget_breakdown_extension/master/extension.json",
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_metrics_extension/1.1/extension.json",
];

/// What the export covers and how it names things.
#[derive(Debug, Clone)]
pub struct Options {
    pub prefix: String,
    pub as_of: NaiveDate,
}

/// Which package to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum PackageKind {
    #[default]
    Release,
    Record,
}

/// The ledger as the export reads it (contracts rolled back to the as-recorded day, only
/// rows of batches recorded by then, payments paid by the as-of date).
#[derive(Debug, Default)]
pub struct Ledger {
    /// The contracts of one chunk of the export or one page of the API (all of them in
    /// tests): the batches and budget lines are the whole ledger's.
    pub contracts: Vec<Contract>,
    pub budget_lines: Vec<BudgetLine>,
    /// When each batch was recorded.
    pub batches: HashMap<i64, DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct Contract {
    pub code: String,
    pub title: String,
    pub category: Category,
    pub provider_id: i64,
    pub provider_name: String,
    pub uscc: Option<String>,
    pub purchaser: Option<String>,
    pub method: Option<ProcurementMethod>,
    pub funding: Option<FundingSource>,
    /// The current value and term (after every change in `changes`).
    pub value: Money,
    pub signed_on: Option<NaiveDate>,
    pub start_on: NaiveDate,
    pub end_on: NaiveDate,
    pub target_people: Option<i64>,
    pub budget_code: Option<String>,
    /// The batch that first recorded the contract.
    pub batch_id: i64,
    /// Changes of value or term, in the order recorded.
    pub changes: Vec<Change>,
    pub payments: Vec<Payment>,
    pub services: Vec<Service>,
    /// Performance evaluations in force (a corrected one replaced by its correction).
    pub evaluations: Vec<Evaluation>,
}

/// A performance evaluation (绩效评价) → a contract milestone of type `assessment`.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// The first row of its chain of corrections: the milestone's id stays when corrected.
    pub root_id: i64,
    pub kind: crate::evaluations::EvaluationType,
    pub evaluator: Option<String>,
    pub evaluator_uscc: Option<String>,
    pub evaluated_on: NaiveDate,
    pub score: crate::evaluations::Score,
    pub grade: crate::evaluations::Grade,
    pub findings: Option<String>,
    pub batch_id: i64,
}

/// One changed field of the change history: `value`, `start_on` or `end_on`, as text.
#[derive(Debug, Clone)]
pub struct Change {
    pub batch_id: i64,
    pub field: String,
    pub old: Option<String>,
    pub new: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Payment {
    pub voucher: String,
    pub paid_on: NaiveDate,
    pub amount: Money,
    pub tranche: Option<String>,
    /// The voucher of the payment this one reverses.
    pub reverses: Option<String>,
    pub batch_id: i64,
}

#[derive(Debug, Clone)]
pub struct Service {
    pub period_start: NaiveDate,
    pub period_end: NaiveDate,
    pub label: String,
    pub new_people: Option<i64>,
    pub sessions: Option<i64>,
    pub batch_id: i64,
}

#[derive(Debug, Clone)]
pub struct BudgetLine {
    pub year: i32,
    pub code: String,
    pub name: String,
    pub funding: FundingSource,
    pub amount: Money,
    pub approval_doc: String,
    pub approval_date: NaiveDate,
    pub adjusts_doc: Option<String>,
    pub batch_id: i64,
}

/// China Standard Time, the offset every exported date carries.
pub fn cst() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("a valid offset")
}

/// RFC 3339 with `+08:00`.
pub fn instant(t: DateTime<Utc>) -> String {
    t.with_timezone(&cst())
        .format("%Y-%m-%dT%H:%M:%S+08:00")
        .to_string()
}

/// A calendar date as the start of that day in China.
pub fn day_start(d: NaiveDate) -> String {
    format!("{}T00:00:00+08:00", d.format("%Y-%m-%d"))
}

/// A calendar date as the end of that day in China (period ends).
pub fn day_end(d: NaiveDate) -> String {
    format!("{}T23:59:59+08:00", d.format("%Y-%m-%d"))
}

/// 采购方式 → OCDS `procurementMethod`. Open and invited tenders are the codelist's open and
/// selective; competitive negotiation and consultation (Government Procurement Law art. 38,
/// 财库〔2014〕214号) negotiate with suppliers the purchaser picked: limited; a request for
/// quotation (art. 40) and a framework agreement (Order 110) take quotes from qualified
/// suppliers invited to compete: selective; single source (art. 39): direct.
pub fn method_code(m: ProcurementMethod) -> &'static str {
    match m {
        ProcurementMethod::OpenTender => "open",
        ProcurementMethod::InvitedTender => "selective",
        ProcurementMethod::CompetitiveNegotiation => "limited",
        ProcurementMethod::CompetitiveConsultation => "limited",
        ProcurementMethod::Inquiry => "selective",
        ProcurementMethod::Framework => "selective",
        ProcurementMethod::SingleSource => "direct",
    }
}

/// The ocid of a contract.
pub fn ocid(prefix: &str, code: &str) -> String {
    format!("{prefix}-{code}")
}

/// The package's `publishedDate`: when the latest batch in scope was recorded, so the same
/// ledger (as recorded on the same day) gives the same bytes; the moment of export is not
/// part of the data.
fn published(ledger: &Ledger) -> String {
    ledger
        .batches
        .values()
        .max()
        .map(|t| instant(*t))
        .unwrap_or_else(|| "1970-01-01T08:00:00+08:00".to_string())
}

fn package_head(kind: &str, opts: &Options, published_date: String) -> J {
    J::obj()
        .with(
            "uri",
            J::s(format!(
                "urn:{}:{kind}:as-of:{}",
                uri_safe(&opts.prefix),
                opts.as_of
            )),
        )
        .with("version", J::s("1.1"))
        .with(
            "extensions",
            J::Arr(EXTENSIONS.iter().map(|e| J::s(*e)).collect()),
        )
        .with("publishedDate", J::s(published_date))
        .with("publisher", J::obj().with("name", J::s("procure")))
}

fn uri_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Every process of the ledger, in contract-code order.
pub fn processes(ledger: &Ledger, opts: &Options) -> Vec<Process> {
    let mut codes: Vec<&Contract> = ledger.contracts.iter().collect();
    codes.sort_by(|a, b| a.code.cmp(&b.code));
    codes
        .into_iter()
        .map(|c| process_releases(c, ledger, opts))
        .collect()
}

/// A release package of the given processes.
pub fn release_package(ledger: &Ledger, opts: &Options, processes: &[Process]) -> J {
    let releases = processes
        .iter()
        .flat_map(|p| p.releases.iter().cloned())
        .collect();
    package_head("releases", opts, published(ledger)).with("releases", J::Arr(releases))
}

/// A record package: each process's releases and its compiled release.
pub fn record_package(ledger: &Ledger, opts: &Options, processes: &[Process]) -> J {
    let records = processes
        .iter()
        .map(|p| {
            J::obj()
                .with("ocid", J::s(p.ocid.clone()))
                .with("releases", J::Arr(p.releases.clone()))
                .with("compiledRelease", p.compiled())
        })
        .collect();
    package_head("records", opts, published(ledger)).with("records", J::Arr(records))
}

/// The package as bytes (compact JSON, UTF-8, a final newline).
pub fn write(ledger: &Ledger, opts: &Options, kind: PackageKind) -> Vec<u8> {
    write_page(ledger, opts, kind, None)
}

/// One page of a package: the processes of the ledger's contracts in code order; `next`
/// (the next page's address) goes in `links.next` as OCDS packages page.
pub fn write_page(
    ledger: &Ledger,
    opts: &Options,
    kind: PackageKind,
    next: Option<String>,
) -> Vec<u8> {
    let mut cs: Vec<&Contract> = ledger.contracts.iter().collect();
    cs.sort_by(|a, b| a.code.cmp(&b.code));
    let write = || -> std::io::Result<Vec<u8>> {
        let mut w = PackageWriter::start(Vec::new(), ledger, opts, kind)?;
        for c in cs {
            w.process(c, ledger, opts)?;
        }
        w.finish(next)
    };
    write().expect("writing to a Vec does not fail")
}

/// A package written to `out` a process at a time: the head (whose fields depend only on
/// the ledger-wide batches), then each process's releases (or record) as it is given, then
/// the close. The caller gives the processes in contract-code order; memory holds one
/// process's text.
pub struct PackageWriter<W: std::io::Write> {
    out: W,
    kind: PackageKind,
    first: bool,
    text: String,
}

impl<W: std::io::Write> PackageWriter<W> {
    /// Writes the head: `ledger` needs its batches (for `publishedDate`), not its contracts.
    pub fn start(
        mut out: W,
        ledger: &Ledger,
        opts: &Options,
        kind: PackageKind,
    ) -> std::io::Result<Self> {
        // The head as a package with an empty list, cut before the list's `[]}`.
        let (list, head) = match kind {
            PackageKind::Release => ("releases", release_package(ledger, opts, &[])),
            PackageKind::Record => ("records", record_package(ledger, opts, &[])),
        };
        let mut text = head.to_text();
        let empty = format!("\"{list}\":[]}}");
        debug_assert!(text.ends_with(&empty));
        text.truncate(text.len() - empty.len());
        text.push_str(&format!("\"{list}\":["));
        out.write_all(text.as_bytes())?;
        text.clear();
        Ok(PackageWriter {
            out,
            kind,
            first: true,
            text,
        })
    }

    /// Writes one contract's process: its releases, or its record.
    pub fn process(
        &mut self,
        c: &Contract,
        ledger: &Ledger,
        opts: &Options,
    ) -> std::io::Result<()> {
        let p = process_releases(c, ledger, opts);
        let items = match self.kind {
            PackageKind::Release => p.releases,
            PackageKind::Record => {
                let compiled = p.compiled();
                vec![J::obj()
                    .with("ocid", J::s(p.ocid))
                    .with("releases", J::Arr(p.releases))
                    .with("compiledRelease", compiled)]
            }
        };
        self.text.clear();
        for item in items {
            if !self.first {
                self.text.push(',');
            }
            self.first = false;
            item.write(&mut self.text);
        }
        self.out.write_all(self.text.as_bytes())
    }

    /// Closes the list and the package (with `links.next` when a page follows), flushes, and
    /// gives the output back.
    pub fn finish(mut self, next: Option<String>) -> std::io::Result<W> {
        self.text.clear();
        self.text.push(']');
        if let Some(n) = next {
            self.text.push_str(",\"links\":");
            J::obj().with("next", J::s(n)).write(&mut self.text);
        }
        self.text.push_str("}\n");
        self.out.write_all(self.text.as_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}
