//! The seeded generator: registers of any size for demos and benchmarks.

use std::path::PathBuf;

use anyhow::bail;
use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_xlsxwriter::Workbook;

use super::budgets::{budget_cells, budget_lines, BUDGETS, BUDGET_HEADERS};
use super::evaluations::{evaluation_cells, generated_evaluations, EVALUATION_HEADERS};
use super::places::*;
use super::rows::*;
use super::writers::*;
use super::{GenerateOptions, CONTRACT_HEADERS, DISBURSEMENT_HEADERS, SERVICE_HEADERS};
use crate::contracts::Category;

// ---------------------------------------------------------------------------------------
// The seeded generator
// ---------------------------------------------------------------------------------------

/// One planned contract of the generator and how many payments and reports it gets.
pub(super) struct Plan {
    pub(super) contract: SampleContract,
    pub(super) payments: usize,
    pub(super) reports: usize,
}

/// SampleProvider `i` of the generator: a unique name and code for any `i`.
pub(super) fn generated_provider(i: usize) -> SampleProvider {
    let (kind, group) = KINDS[(i / STEMS.len()) % KINDS.len()];
    let prefix = if (i / (STEMS.len() * KINDS.len())).is_multiple_of(2) {
        "官渡区"
    } else {
        "昆明市官渡区"
    };
    let round = i / (STEMS.len() * KINDS.len() * 2);
    let stem = STEMS[i % STEMS.len()];
    let name = if round == 0 {
        format!("{prefix}{stem}{kind}")
    } else {
        format!("{prefix}{stem}{}{kind}", STEMS[round % STEMS.len()])
    };
    let name = if round >= STEMS.len() {
        format!("{name}（{round}）")
    } else {
        name
    };
    SampleProvider {
        name,
        uscc: ngo_uscc(group, i as u32),
    }
}

pub(super) fn plan(
    opts: &GenerateOptions,
    rng: &mut ChaCha8Rng,
) -> (Vec<SampleProvider>, Vec<Plan>) {
    let n = opts.contracts;
    let providers: Vec<SampleProvider> = (0..n.div_ceil(5) * 2).map(generated_provider).collect();
    let mut payments = vec![0usize; n];
    for _ in 0..opts.payments {
        payments[rng.random_range(0..n)] += 1;
    }
    // Reports spread evenly: each contract has as many months as it reports.
    let mut reports = vec![opts.services / n; n];
    let mut extra: Vec<usize> = (0..n).collect();
    extra.shuffle(rng);
    for i in extra.into_iter().take(opts.services % n) {
        reports[i] += 1;
    }
    let places = communities();
    let mut signed: Vec<NaiveDate> = (0..n)
        .map(|_| random_workday(rng, ymd(2015, 1, 1), ymd(2019, 6, 30)))
        .collect();
    signed.sort();
    let mut plans = Vec::with_capacity(n);
    for (i, signed) in signed.into_iter().enumerate() {
        let category = Category::ALL[rng.random_range(0..Category::ALL.len())];
        let (street, community) = places[rng.random_range(0..places.len())];
        let start = signed + Duration::days(rng.random_range(1..=20));
        let base = [6, 12, 12, 12, 12, 12, 24, 36][rng.random_range(0..8)];
        let months = (reports[i] as u32).max(base);
        // Large enough that its payments fit: at least 100 yuan of room per payment.
        let value = (rng.random_range(50..=500i64) * 100_000)
            .max((payments[i] as i64 * 20_000 + 99_999) / 100_000 * 100_000);
        let templates = project_templates(category);
        let contract = SampleContract {
            code: format!("GDGM-{}-{:06}", signed.year(), i + 1),
            name: format!(
                "{}年{community}社区{}",
                signed.year(),
                templates[rng.random_range(0..templates.len())]
            ),
            category,
            provider: rng.random_range(0..providers.len()),
            purchaser: purchaser(rng, category, street),
            street,
            community,
            method: method(rng, value),
            funding: funding(rng, category),
            value,
            signed,
            start,
            end: term_end(start, months),
            planned: rng.random_range(10..=200) * 10,
            budget: None,
        };
        plans.push(Plan {
            contract,
            payments: payments[i],
            reports: reports[i],
        });
    }
    (providers, plans)
}

/// The payments of every plan, contract by contract, in date order within a contract;
/// each never more than its share of the value, so a contract is never overpaid.
pub(super) fn generated_payments(
    plans: &[Plan],
    seed: u64,
) -> impl Iterator<Item = SamplePayment> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7061_796d_656e_7473);
    let mut voucher = 0u64;
    plans.iter().flat_map(move |p| {
        let c = &p.contract;
        let n = p.payments as i64;
        let share = if n > 0 { c.value / n } else { 0 };
        let span = (c.end - c.start).num_days() + 60;
        (0..n)
            .map(|k| {
                let date = workday(c.start + Duration::days(span * (k + 1) / (n + 1)));
                voucher += 1;
                let fen = (share * rng.random_range(50..=95) / 100).max(1);
                SamplePayment {
                    code: c.code.clone(),
                    date,
                    fen,
                    voucher: format!("记-{:04}-{:02}-{voucher:07}", date.year(), date.month()),
                    batch: if k == 0 {
                        "首期"
                    } else if k + 1 == n {
                        "尾款"
                    } else {
                        "中期"
                    },
                    reverses: String::new(),
                    note: String::new(),
                    role: Role::Normal,
                }
            })
            .collect::<Vec<_>>()
    })
}

pub(super) fn generated_reports(
    plans: &[Plan],
    seed: u64,
) -> impl Iterator<Item = ServiceRow> + '_ {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x7365_7276_6963_6573);
    plans.iter().flat_map(move |p| {
        let c = &p.contract;
        let mut cumulative = 0;
        months_of(c.start, c.end)
            .into_iter()
            .take(p.reports)
            .enumerate()
            .map(|(k, (year, month))| {
                let fresh = ((p.reports - k) as u64 * 120 / p.reports as u64).max(1);
                let new_people = rng.random_range(0..=fresh);
                let sessions = new_people * rng.random_range(2..=4) + cumulative / 4;
                cumulative += new_people;
                ServiceRow {
                    code: c.code.clone(),
                    year,
                    month,
                    new_people,
                    cumulative,
                    sessions,
                }
            })
            .collect::<Vec<_>>()
    })
}

/// Writes a seeded synthetic register for demos and benchmarks into `opts.out`: one
/// workbook per kind (`budgets.xlsx`, `contracts.xlsx`, `disbursements.xlsx`,
/// `services.xlsx`, `evaluations.xlsx` (every contract's end-of-term evaluation), each a
/// single sheet with title, header and 合计 rows, written in constant-memory mode) and/or
/// `budgets.csv`, `contracts.csv`, `disbursements.csv`, `services.csv`, `evaluations.csv`
/// (UTF-8 with BOM, header and records). The contracts name their budget lines: import the
/// budgets first. One workbook per kind lets a benchmark time each import alone and keeps a
/// million-row sheet in a file of its own. Same seed, same bytes.
pub fn generate(opts: &GenerateOptions) -> anyhow::Result<Vec<PathBuf>> {
    if opts.contracts == 0 {
        bail!("--contracts must be at least 1");
    }
    if opts.services > opts.contracts * 36 {
        bail!(
            "{} service rows need at least {} contracts: one report a month, terms of at most 3 years",
            opts.services,
            opts.services.div_ceil(36)
        );
    }
    let limit = EXCEL_LAST_ROW as usize - 2;
    if opts.format.xlsx() && opts.contracts.max(opts.payments).max(opts.services) > limit {
        bail!("an xlsx sheet holds at most {limit} records after its title, header and total rows; use --format csv");
    }
    make_dir(&opts.out)?;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let (providers, mut plans) = plan(opts, &mut rng);
    // Every contract names a line of its signing year that covers it.
    let budgets = budget_lines(
        &mut plans
            .iter_mut()
            .map(|p| &mut p.contract)
            .collect::<Vec<_>>(),
        |_| false,
    );
    let contracts = || {
        plans
            .iter()
            .map(|p| contract_cells(&p.contract, &providers))
    };
    let payments = || generated_payments(&plans, opts.seed).map(|p| payment_cells(&p));
    let reports = || generated_reports(&plans, opts.seed).map(|r| report_cells(&r));
    let lines = || budgets.iter().map(budget_cells);
    let evaluations = || {
        generated_evaluations(plans.iter().map(|p| &p.contract), opts.seed)
            .map(|e| evaluation_cells(&e))
    };
    let mut written = Vec::new();
    if opts.format.xlsx() {
        let st = Styles::new();
        let sheets: [(&Sheet, &str, Rows<'_>); 5] = [
            (&BUDGETS, "budgets.xlsx", Box::new(lines())),
            (&CONTRACTS, "contracts.xlsx", Box::new(contracts())),
            (&DISBURSEMENTS, "disbursements.xlsx", Box::new(payments())),
            (&SERVICES, "services.xlsx", Box::new(reports())),
            (&EVALUATIONS, "evaluations.xlsx", Box::new(evaluations())),
        ];
        for (sheet, file, rows) in sheets {
            let path = opts.out.join(file);
            let mut wb = Workbook::new();
            wb.set_properties(&properties(sheet.title)?);
            let ws = wb.add_worksheet_with_constant_memory()?;
            write_sheet(ws, sheet, None, &st, rows)?;
            save(&mut wb, &path)?;
            written.push(path);
        }
    }
    if opts.format.csv() {
        let files: [(&[&str], &str, Rows<'_>); 5] = [
            (&BUDGET_HEADERS, "budgets.csv", Box::new(lines())),
            (&CONTRACT_HEADERS, "contracts.csv", Box::new(contracts())),
            (
                &DISBURSEMENT_HEADERS,
                "disbursements.csv",
                Box::new(payments()),
            ),
            (&SERVICE_HEADERS, "services.csv", Box::new(reports())),
            (
                &EVALUATION_HEADERS,
                "evaluations.csv",
                Box::new(evaluations()),
            ),
        ];
        for (headers, file, rows) in files {
            let path = opts.out.join(file);
            write_csv(&path, Encoding::Utf8Bom, headers, rows)?;
            written.push(path);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_providers_have_unique_names_and_codes() {
        let ps: Vec<SampleProvider> = (0..5_000).map(generated_provider).collect();
        let names: std::collections::BTreeSet<_> = ps.iter().map(|p| &p.name).collect();
        let codes: std::collections::BTreeSet<_> = ps.iter().map(|p| &p.uscc).collect();
        assert_eq!(names.len(), 5_000);
        assert_eq!(codes.len(), 5_000);
    }
}
