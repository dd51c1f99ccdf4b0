//! The 97-contract sample register: built so that a report as of 2019-06-30 reproduces the
//! bureau's statement (97 projects, 14,532,700.00 yuan, 51,236 people), then written as
//! one workbook, three csv files and the blank template.

use std::path::{Path, PathBuf};

use chrono::{Datelike, Duration, NaiveDate};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rust_xlsxwriter::Workbook;

use super::budgets::{budget_cells, sample_budgets, SampleBudget, BUDGETS, BUDGET_HEADERS};
use super::evaluations::{
    evaluation_cells, sample_evaluations, Planted, SampleEvaluation, EVALUATION_HEADERS,
};
use super::places::*;
use super::rows::*;
use super::template::write_template;
use super::writers::*;
use super::{CONTRACT_HEADERS, DISBURSEMENT_HEADERS, SERVICE_HEADERS};
use crate::contracts::Category;

// ---------------------------------------------------------------------------------------
// The sample
// ---------------------------------------------------------------------------------------

pub(super) const SAMPLE_SEED: u64 = 20_190_630;
/// 97 projects and 14,532,700.00 yuan: "1453.27万元" in the bureau's statement.
pub(super) const SAMPLE_CONTRACTS: usize = 97;
pub(super) const SAMPLE_TOTAL_FEN: i64 = 1_453_270_000;
/// New people served in periods ending on or before [`SAMPLE_AS_OF`]: "5.12万人".
pub(super) const SAMPLE_PEOPLE: u64 = 51_236;
pub(super) const SAMPLE_AS_OF: (i32, u32, u32) = (2019, 6, 30);
/// The register was extracted at the end of 2019: payments and reports run on after the
/// statement date, so a report as of 2019-06-30 must leave them out.
pub(super) const SAMPLE_EXTRACTED: (i32, u32, u32) = (2019, 12, 31);
pub(super) const MIN_VALUE_FEN: i64 = 5_000_000;
pub(super) const MAX_VALUE_FEN: i64 = 50_000_000;

pub(super) struct SampleRegister {
    pub(super) providers: Vec<SampleProvider>,
    pub(super) contracts: Vec<SampleContract>,
    pub(super) payments: Vec<SamplePayment>,
    pub(super) reports: Vec<ServiceRow>,
    pub(super) budgets: Vec<SampleBudget>,
    pub(super) evaluations: Vec<SampleEvaluation>,
    /// Where the evaluation exceptions are planted: read by the test that keeps README.md's
    /// list of them true.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(super) planted: Planted,
}

/// How finely a contract value was negotiated; the exact total is reached by moving whole
/// thousands on round values and the last few yuan and fen on one odd value.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Grain {
    Thousand,
    Hundred,
    Fen,
}

impl Grain {
    fn round(self, fen: i64) -> i64 {
        let unit = match self {
            Grain::Thousand => 100_000,
            Grain::Hundred => 10_000,
            Grain::Fen => 1,
        };
        (fen + unit / 2) / unit * unit
    }
}

pub(super) fn sample_register() -> SampleRegister {
    let mut rng = ChaCha8Rng::seed_from_u64(SAMPLE_SEED);
    let as_of = ymd(SAMPLE_AS_OF.0, SAMPLE_AS_OF.1, SAMPLE_AS_OF.2);
    let extracted = ymd(SAMPLE_EXTRACTED.0, SAMPLE_EXTRACTED.1, SAMPLE_EXTRACTED.2);

    // Providers, each with its own code.
    let mut used = std::collections::BTreeSet::new();
    let providers: Vec<SampleProvider> = SAMPLE_PROVIDERS
        .iter()
        .map(|(name, group, _)| {
            let digits = loop {
                let d = rng.random_range(1_000..300_000u32);
                if used.insert(d) {
                    break d;
                }
            };
            SampleProvider {
                name: (*name).into(),
                uscc: ngo_uscc(*group, digits),
            }
        })
        .collect();

    // Categories, signing dates (by year: 28 in 2017, 36 in 2018, 33 in the first half
    // of 2019) and terms.
    let mut categories: Vec<Category> = [
        (Category::Elderly, 31),
        (Category::Youth, 22),
        (Category::Disability, 19),
        (Category::Relief, 20),
        (Category::Other, 5),
    ]
    .iter()
    .flat_map(|(c, n)| std::iter::repeat_n(*c, *n))
    .collect();
    categories.shuffle(&mut rng);
    let mut signed: Vec<NaiveDate> = [
        (ymd(2017, 1, 3), ymd(2017, 12, 29), 28),
        (ymd(2018, 1, 2), ymd(2018, 12, 28), 36),
        (ymd(2019, 1, 2), ymd(2019, 6, 28), 33),
    ]
    .iter()
    .flat_map(|&(from, to, n)| {
        (0..n)
            .map(|_| random_workday(&mut rng, from, to))
            .collect::<Vec<_>>()
    })
    .collect();
    signed.sort();
    let mut terms = vec![12u32; SAMPLE_CONTRACTS];
    let mut order: Vec<usize> = (0..SAMPLE_CONTRACTS).collect();
    order.shuffle(&mut rng);
    // Two two-year and one three-year term (stable services, Order 102 art. 24), six
    // short ones; the rest a year.
    for (i, months) in order.iter().zip([24, 24, 36, 6, 6, 8, 9, 10, 10]) {
        terms[*i] = months;
    }

    // Every community gets at least one project.
    let mut places = communities();
    places.shuffle(&mut rng);
    while places.len() < SAMPLE_CONTRACTS {
        let all = communities();
        places.push(all[rng.random_range(0..all.len())]);
    }
    places.shuffle(&mut rng);

    // Values: category ranges, scaled by term, then brought to the exact total.
    let mut values = Vec::with_capacity(SAMPLE_CONTRACTS);
    let mut grains = Vec::with_capacity(SAMPLE_CONTRACTS);
    for (i, c) in categories.iter().enumerate() {
        let (lo, hi) = match c {
            Category::Elderly => (80, 260),
            Category::Youth => (60, 200),
            Category::Disability => (80, 240),
            Category::Relief => (50, 200),
            Category::Other => (50, 150),
        };
        let thousands: i64 = rng.random_range(lo..=hi);
        let mut fen = thousands * 100_000 * i64::from(terms[i].max(6)) / 12;
        let grain = match rng.random_range(0..10) {
            0 => Grain::Fen,
            1 | 2 => Grain::Hundred,
            _ => Grain::Thousand,
        };
        if grain == Grain::Fen {
            fen += rng.random_range(0..100_000);
        }
        values.push(grain.round(fen).clamp(MIN_VALUE_FEN, MAX_VALUE_FEN));
        grains.push(grain);
    }
    let sum: i64 = values.iter().sum();
    for (v, g) in values.iter_mut().zip(&grains) {
        let scaled = i128::from(*v) * i128::from(SAMPLE_TOTAL_FEN) / i128::from(sum);
        *v = g.round(scaled as i64).clamp(MIN_VALUE_FEN, MAX_VALUE_FEN);
    }
    let mut diff = SAMPLE_TOTAL_FEN - values.iter().sum::<i64>();
    let thousands: Vec<usize> = order
        .iter()
        .copied()
        .filter(|i| grains[*i] == Grain::Thousand)
        .collect();
    for &i in thousands.iter().cycle().take(thousands.len() * 20) {
        if diff.abs() < 100_000 {
            break;
        }
        let step = 100_000 * diff.signum();
        if (MIN_VALUE_FEN..=MAX_VALUE_FEN).contains(&(values[i] + step)) {
            values[i] += step;
            diff -= step;
        }
    }
    let odd = order
        .iter()
        .copied()
        .find(|i| {
            grains[*i] == Grain::Fen
                && (MIN_VALUE_FEN..=MAX_VALUE_FEN).contains(&(values[*i] + diff))
        })
        .expect("the sample has contracts with odd values");
    values[odd] += diff;
    debug_assert_eq!(values.iter().sum::<i64>(), SAMPLE_TOTAL_FEN);

    // Providers by category; every provider has at least one project.
    let mut provider_of = vec![usize::MAX; SAMPLE_CONTRACTS];
    for cat in Category::ALL {
        let pool: Vec<usize> = (0..providers.len())
            .filter(|p| {
                SAMPLE_PROVIDERS[*p].2 == Some(*cat)
                    || (*cat == Category::Other && SAMPLE_PROVIDERS[*p].2.is_none())
            })
            .collect();
        let mut mine: Vec<usize> = (0..SAMPLE_CONTRACTS)
            .filter(|i| categories[*i] == *cat)
            .collect();
        mine.shuffle(&mut rng);
        for (k, i) in mine.iter().enumerate() {
            provider_of[*i] = if k < pool.len() {
                pool[k]
            } else {
                // Some providers win again and again: weight the earlier ones.
                let a = rng.random_range(0..pool.len());
                let b = rng.random_range(0..pool.len());
                pool[a.min(b)]
            };
        }
    }
    // General centres also win a few projects of every kind (never a provider's only one).
    let general: Vec<usize> = (0..providers.len())
        .filter(|p| SAMPLE_PROVIDERS[*p].2.is_none())
        .collect();
    for i in 0..SAMPLE_CONTRACTS {
        let wins = provider_of.iter().filter(|p| **p == provider_of[i]).count();
        if categories[i] != Category::Other && wins > 1 && rng.random_range(0..100) < 6 {
            provider_of[i] = general[rng.random_range(0..general.len())];
        }
    }

    // Contracts, numbered by year in order of signing.
    let mut contracts = Vec::with_capacity(SAMPLE_CONTRACTS);
    let mut names = std::collections::BTreeSet::new();
    let mut seq_year = (0, 0);
    for i in 0..SAMPLE_CONTRACTS {
        let year = signed[i].year();
        seq_year = if seq_year.0 == year {
            (year, seq_year.1 + 1)
        } else {
            (year, 1)
        };
        let start = if signed[i].day() <= 24 && rng.random_range(0..10) < 6 {
            add_months(signed[i].with_day(1).expect("day 1"), 1)
        } else {
            signed[i] + Duration::days(rng.random_range(3..=15))
        };
        let (street, community) = places[i];
        let category = categories[i];
        let templates = project_templates(category);
        let mut name = format!(
            "{year}年{community}社区{}",
            templates[rng.random_range(0..templates.len())]
        );
        if !names.insert(name.clone()) {
            name = name.replacen("项目", "（二期）项目", 1);
            names.insert(name.clone());
        }
        contracts.push(SampleContract {
            code: format!("GDGM-{year}-{:03}", seq_year.1),
            name,
            category,
            provider: provider_of[i],
            purchaser: purchaser(&mut rng, category, street),
            street,
            community,
            method: method(&mut rng, values[i]),
            funding: funding(&mut rng, category),
            value: values[i],
            signed: signed[i],
            start,
            end: term_end(start, terms[i]),
            planned: 0,
            budget: None,
        });
    }

    let reports = sample_reports(&mut rng, &mut contracts, as_of, extracted);
    let payments = sample_payments(&mut rng, &contracts, extracted);
    // Drawn from no random numbers, so the figures above stay as they were.
    let budgets = sample_budgets(&mut contracts, &payments);
    let (evaluations, planted) =
        sample_evaluations(SAMPLE_SEED, &contracts, &payments, as_of, extracted);
    SampleRegister {
        providers,
        contracts,
        payments,
        reports,
        budgets,
        evaluations,
        planted,
    }
}

/// Monthly reports from each contract's first month while it runs, up to the extraction
/// date; the new people of periods ending by the statement date add up to exactly
/// [`SAMPLE_PEOPLE`]. Sets each contract's planned people from its whole term.
pub(super) fn sample_reports(
    rng: &mut ChaCha8Rng,
    contracts: &mut [SampleContract],
    as_of: NaiveDate,
    extracted: NaiveDate,
) -> Vec<ServiceRow> {
    // Raw new people per contract and month: a total from the value and the cost of a
    // person in the category, front-loaded (most people join in the first months).
    let mut raw: Vec<Vec<((i32, u32), f64)>> = Vec::with_capacity(contracts.len());
    for c in contracts.iter() {
        let cost = match c.category {
            Category::Elderly => 260.0,
            Category::Youth => 180.0,
            Category::Disability => 520.0,
            Category::Relief => 320.0,
            Category::Other => 150.0,
        };
        let people = c.value as f64 / 100.0 / cost * rng.random_range(0.8..1.2);
        let months = months_of(c.start, c.end);
        let n = months.len() as f64;
        let weights: Vec<f64> = (0..months.len())
            .map(|k| {
                let mut w = (2.0 * n - k as f64) * rng.random_range(0.7..1.3);
                if k == 0 {
                    w *= f64::from(31 - c.start.day().min(30)) / 30.0;
                }
                if k + 1 == months.len() {
                    w *= f64::from(c.end.day()) / 31.0;
                }
                w
            })
            .collect();
        let total: f64 = weights.iter().sum();
        raw.push(
            months
                .into_iter()
                .zip(weights)
                .map(|(m, w)| (m, people * w / total))
                .collect(),
        );
    }
    let by_as_of = |(y, m): (i32, u32)| crate::dates::month_end(y, m) <= as_of;
    let before: f64 = raw
        .iter()
        .flatten()
        .filter(|(m, _)| by_as_of(*m))
        .map(|(_, p)| p)
        .sum();
    let factor = SAMPLE_PEOPLE as f64 / before;
    let mut new: Vec<Vec<((i32, u32), u64)>> = raw
        .iter()
        .map(|rows| {
            rows.iter()
                .map(|(m, p)| (*m, (p * factor).round().max(1.0) as u64))
                .collect()
        })
        .collect();
    // Bring the statement's figure to exactly SAMPLE_PEOPLE, one person at a time.
    let counted: u64 = new
        .iter()
        .flatten()
        .filter(|(m, _)| by_as_of(*m))
        .map(|(_, n)| n)
        .sum();
    let mut diff = SAMPLE_PEOPLE as i64 - counted as i64;
    while diff != 0 {
        let c = rng.random_range(0..new.len());
        let k = rng.random_range(0..new[c].len());
        let (m, n) = &mut new[c][k];
        if !by_as_of(*m) || (diff < 0 && *n <= 1) {
            continue;
        }
        if diff > 0 {
            *n += 1;
            diff -= 1;
        } else {
            *n -= 1;
            diff += 1;
        }
    }

    let mut reports = Vec::new();
    for (c, rows) in contracts.iter_mut().zip(new) {
        let whole_term: u64 = rows.iter().map(|(_, n)| n).sum();
        c.planned =
            ((whole_term as f64 * rng.random_range(0.92..1.12) / 10.0).round() as u64 * 10).max(10);
        let mut cumulative = 0;
        for ((y, m), n) in rows {
            if crate::dates::month_end(y, m) > extracted {
                break;
            }
            // Sessions: each new person several times, returning people now and then.
            let sessions = (n as f64 * rng.random_range(1.5..3.5)
                + cumulative as f64 * rng.random_range(0.15..0.35))
            .round() as u64;
            cumulative += n;
            reports.push(ServiceRow {
                code: c.code.clone(),
                year: y,
                month: m,
                new_people: n,
                cumulative,
                sessions,
            });
        }
    }
    reports
}

/// Tranches as the contracts state them (首期 soon after the start, 中期 mid-term, 尾款
/// after the end and the performance evaluation), then the one correction, then voucher
/// numbers in date order.
pub(super) fn sample_payments(
    rng: &mut ChaCha8Rng,
    contracts: &[SampleContract],
    extracted: NaiveDate,
) -> Vec<SamplePayment> {
    let mut per: Vec<Vec<SamplePayment>> = Vec::with_capacity(contracts.len());
    for c in contracts {
        let v = c.value;
        let months = crate::dates::term_months(c.start, c.end) as u32;
        let pct = |p: i64| v * p / 100 / 100 * 100; // whole yuan
        let first =
            |rng: &mut ChaCha8Rng| workday(c.start + Duration::days(rng.random_range(7..=30)));
        let after = |rng: &mut ChaCha8Rng, m: u32| {
            workday(add_months(c.start, m) + Duration::days(rng.random_range(5..=25)))
        };
        let last =
            |rng: &mut ChaCha8Rng| workday(c.end + Duration::days(rng.random_range(20..=75)));
        let mut plan: Vec<(&'static str, i64, NaiveDate, String)> = Vec::new();
        if months > 12 {
            let first_pct = if months > 24 { 35 } else { 40 };
            plan.push(("首期", pct(first_pct), first(rng), String::new()));
            plan.push(("中期", pct(30), after(rng, 12), "第二年度".into()));
            if months > 24 {
                plan.push(("中期", pct(20), after(rng, 24), "第三年度".into()));
            }
        } else if v < 8_000_000 {
            // Small contracts: half at the start, half after the end.
            plan.push(("首期", pct(50), first(rng), String::new()));
        } else {
            plan.push((
                "首期",
                pct(rng.random_range(8..=10) * 5),
                first(rng),
                String::new(),
            ));
            plan.push(("中期", pct(30), after(rng, months / 2), String::new()));
        }
        let paid: i64 = plan.iter().map(|p| p.1).sum();
        let rest = v - paid;
        let (tail, note) = match rng.random_range(0..100) {
            0..=7 => {
                let cut = rng.random_range(1..=2) * 10;
                (
                    rest - rest * cut / 100 / 100 * 100,
                    format!("绩效评价：合格，按合同扣减尾款{cut}%"),
                )
            }
            8..=55 => (rest, "绩效评价：优秀".into()),
            _ => (rest, "绩效评价：良好".into()),
        };
        plan.push(("尾款", tail, last(rng), note));
        per.push(
            plan.into_iter()
                .filter(|p| p.2 <= extracted)
                .map(|(batch, fen, date, note)| SamplePayment {
                    code: c.code.clone(),
                    date,
                    fen,
                    voucher: String::new(),
                    batch,
                    reverses: String::new(),
                    note,
                    role: Role::Normal,
                })
                .collect(),
        );
    }

    // The one correction: a mid-term payment for project B booked against project A of
    // the same provider, reversed a few days later and booked again against B.
    let mut candidates: Vec<usize> = (0..contracts.len()).collect();
    candidates.shuffle(rng);
    let window = (ymd(2018, 6, 1), ymd(2019, 5, 31));
    let (a, b, j, date, fixed) = candidates
        .iter()
        .find_map(|&b| {
            let j = per[b]
                .iter()
                .position(|p| p.batch == "中期" && p.date >= window.0 && p.date <= window.1)?;
            let (x, t) = (per[b][j].fen, per[b][j].date);
            let fixed = workday(t + Duration::days(9));
            let a = (0..contracts.len()).find(|&a| {
                let ca = &contracts[a];
                let paid: i64 = per[a]
                    .iter()
                    .filter(|p| p.date <= fixed)
                    .map(|p| p.fen)
                    .sum();
                a != b
                    && ca.provider == contracts[b].provider
                    && ca.start < t
                    && fixed < ca.end
                    && paid + x <= ca.value
                    && !per[a].iter().any(|p| p.date >= t && p.date <= fixed)
            })?;
            Some((a, b, j, t, fixed))
        })
        .expect("the sample has two running projects of one provider");
    let x = per[b][j].fen;
    per[b][j].date = fixed;
    per[b][j].role = Role::Rebooked;
    let code_a = contracts[a].code.clone();
    per[a].push(SamplePayment {
        code: code_a.clone(),
        date,
        fen: x,
        voucher: String::new(),
        batch: "中期",
        reverses: String::new(),
        note: String::new(),
        role: Role::Wrong,
    });
    per[a].push(SamplePayment {
        code: code_a,
        date: fixed,
        fen: -x,
        voucher: String::new(),
        batch: "冲销",
        reverses: String::new(),
        note: String::new(),
        role: Role::Reversal,
    });

    let mut all: Vec<SamplePayment> = per.into_iter().flatten().collect();
    all.sort_by(|p, q| (p.date, p.role, &p.code).cmp(&(q.date, q.role, &q.code)));
    // Voucher numbers run through all of the office's bookkeeping, so the register only
    // sees some of each month's numbers.
    let mut month = (0, 0);
    let mut n = 0;
    for p in &mut all {
        if (p.date.year(), p.date.month()) != month {
            month = (p.date.year(), p.date.month());
            n = rng.random_range(20..=90);
        }
        n += rng.random_range(1..=15);
        p.voucher = format!("记-{:04}-{:02}-{n:04}", month.0, month.1);
    }
    let find = |role| {
        all.iter()
            .position(|p| p.role == role)
            .expect("placed above")
    };
    let (wrong, reversal, rebooked) = (
        find(Role::Wrong),
        find(Role::Reversal),
        find(Role::Rebooked),
    );
    let wrong_voucher = all[wrong].voucher.clone();
    let (code_a, code_b) = (all[wrong].code.clone(), all[rebooked].code.clone());
    all[reversal].reverses = wrong_voucher.clone();
    all[reversal].note = format!("冲销{wrong_voucher}：项目编号录错，应记入{code_b}");
    all[rebooked].note = format!("更正：原{wrong_voucher}误记入{code_a}");
    all
}

/// Writes the 97-contract sample register into `dir` (the project's `imports/`):
/// `sample-register.xlsx` (three sheets with title, header and 合计 rows, and the
/// evaluations sheet), the same data as four csv files, and `templates/register-template.xlsx`. Returns the paths written.
pub fn write_sample(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let reg = sample_register();
    make_dir(&dir.join("templates"))?;
    let st = Styles::new();
    let mut written = Vec::new();

    let path = dir.join("sample-register.xlsx");
    let mut wb = Workbook::new();
    wb.set_properties(&properties(CONTRACTS.title)?);
    let note = "说明：本台账为演示用虚构数据，机构名称、代码和金额均为编造。数据截至2019年12月31日；金额单位：元。";
    write_sheet(
        wb.add_worksheet(),
        &CONTRACTS,
        Some(note),
        &st,
        reg.contracts
            .iter()
            .map(|c| contract_cells(c, &reg.providers)),
    )?;
    write_sheet(
        wb.add_worksheet(),
        &DISBURSEMENTS,
        None,
        &st,
        reg.payments.iter().map(payment_cells),
    )?;
    write_sheet(
        wb.add_worksheet(),
        &SERVICES,
        None,
        &st,
        reg.reports.iter().map(report_cells),
    )?;
    // Last, though its lines are stored first: the importer takes budgets before contracts.
    write_sheet(
        wb.add_worksheet(),
        &BUDGETS,
        None,
        &st,
        reg.budgets.iter().map(budget_cells),
    )?;
    write_sheet(
        wb.add_worksheet(),
        &EVALUATIONS,
        None,
        &st,
        reg.evaluations.iter().map(evaluation_cells),
    )?;
    save(&mut wb, &path)?;
    written.push(path);

    let path = dir.join("sample-budgets.csv");
    write_csv(
        &path,
        Encoding::Utf8Bom,
        &BUDGET_HEADERS,
        reg.budgets.iter().map(budget_cells),
    )?;
    written.push(path);
    let path = dir.join("sample-contracts.csv");
    write_csv(
        &path,
        Encoding::Utf8Bom,
        &CONTRACT_HEADERS,
        reg.contracts
            .iter()
            .map(|c| contract_cells(c, &reg.providers)),
    )?;
    written.push(path);
    // GBK, as Chinese Excel saves "CSV (逗号分隔)": importers must not assume UTF-8.
    let path = dir.join("sample-disbursements.csv");
    write_csv(
        &path,
        Encoding::Gbk,
        &DISBURSEMENT_HEADERS,
        reg.payments.iter().map(payment_cells),
    )?;
    written.push(path);
    let path = dir.join("sample-services.csv");
    write_csv(
        &path,
        Encoding::Utf8,
        &SERVICE_HEADERS,
        reg.reports.iter().map(report_cells),
    )?;
    written.push(path);
    let path = dir.join("sample-evaluations.csv");
    write_csv(
        &path,
        Encoding::Utf8Bom,
        &EVALUATION_HEADERS,
        reg.evaluations.iter().map(evaluation_cells),
    )?;
    written.push(path);

    let path = dir.join("templates").join("register-template.xlsx");
    write_template(&path)?;
    written.push(path);
    Ok(written)
}
