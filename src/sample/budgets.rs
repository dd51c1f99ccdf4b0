//! Budget lines for the sample and the seeded registers: one line a year per funding
//! source and category, covering the contracts signed under it, which name it in
//! 预算项目编码. The sample adds the exceptions an auditor should find (README).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};

use super::places::ymd;
use super::rows::{SampleContract, SamplePayment, SheetCell};
use super::writers::{Sheet, Total};
use crate::contracts::{Category, FundingSource};

/// Headers of the budgets sheet `预算项目`, in order.
pub const BUDGET_HEADERS: [&str; 9] = [
    "预算年度",
    "资金来源",
    "预算项目编码",
    "预算项目名称",
    "服务类别",
    "批复金额（元）",
    "批复文号",
    "批复日期",
    "调整文号",
];

pub(super) const BUDGETS: Sheet = Sheet {
    name: "预算项目",
    title: "官渡区政府购买社会组织服务预算项目",
    headers: &BUDGET_HEADERS,
    required: &[
        "预算年度",
        "资金来源",
        "预算项目编码",
        "预算项目名称",
        "批复金额（元）",
        "批复文号",
        "批复日期",
    ],
    totals: &[(5, Total::Yuan)],
    widths: &[10.0, 12.0, 15.0, 40.0, 11.0, 16.0, 20.0, 12.0, 20.0],
};

/// One row of the budgets sheet: a line, or an adjustment naming the line's document.
pub(super) struct SampleBudget {
    pub(super) year: i32,
    pub(super) funding: FundingSource,
    pub(super) code: String,
    pub(super) name: String,
    pub(super) category: Option<Category>,
    pub(super) fen: i64,
    pub(super) doc: String,
    pub(super) date: NaiveDate,
    pub(super) adjusts: Option<String>,
}

pub(super) fn budget_cells(b: &SampleBudget) -> Vec<SheetCell> {
    // Budget offices write 财政资金 for the general budget.
    let funding = match b.funding {
        FundingSource::Budget => "财政资金",
        f => f.zh(),
    };
    vec![
        SheetCell::Count(b.year as u64),
        SheetCell::Text(funding.into()),
        SheetCell::Text(b.code.clone()),
        SheetCell::Text(b.name.clone()),
        b.category
            .map(|c| SheetCell::Text(c.zh().into()))
            .unwrap_or(SheetCell::Blank),
        SheetCell::Yuan(b.fen),
        SheetCell::Text(b.doc.clone()),
        SheetCell::Date(b.date),
        b.adjusts
            .clone()
            .map(SheetCell::Text)
            .unwrap_or(SheetCell::Blank),
    ]
}

/// 10,000.00 yuan: lines are approved in whole 万元.
const LINE_GRAIN_FEN: i64 = 1_000_000;

/// Up to the next whole 10,000 yuan (amounts are positive).
fn round_up(fen: i64) -> i64 {
    (fen + LINE_GRAIN_FEN - 1) / LINE_GRAIN_FEN * LINE_GRAIN_FEN
}

/// One line per (signing year, funding source, category) of the contracts, approved on 20
/// December of the year before for what its contracts commit plus 2%, rounded up to
/// 10,000 yuan; each contract is given its line's code. Contracts for which `skip` holds
/// are left without a line.
pub(super) fn budget_lines(
    contracts: &mut [&mut SampleContract],
    skip: impl Fn(usize) -> bool,
) -> Vec<SampleBudget> {
    let mut groups: BTreeMap<(i32, &'static str, Category), (FundingSource, i64)> = BTreeMap::new();
    for (i, c) in contracts.iter().enumerate() {
        if skip(i) {
            continue;
        }
        let e = groups
            .entry((c.signed.year(), c.funding.code(), c.category))
            .or_insert((c.funding, 0));
        e.1 += c.value;
    }
    let mut lines = Vec::new();
    let mut code_of = BTreeMap::new();
    let mut seq = (0, 0);
    for ((year, _, category), (funding, committed)) in groups {
        seq = if seq.0 == year {
            (year, seq.1 + 1)
        } else {
            (year, 1)
        };
        let code = format!("YS-{year}-{:02}", seq.1);
        let room = committed / 50;
        let fen = round_up(committed + room);
        code_of.insert((year, funding, category), code.clone());
        lines.push(SampleBudget {
            year,
            funding,
            code,
            name: format!(
                "{year}年{}购买社会组织服务（{}）",
                category.zh(),
                funding.zh()
            ),
            category: Some(category),
            fen,
            doc: format!("官财预〔{year}〕{}号", 10 + seq.1),
            date: ymd(year - 1, 12, 20),
            adjusts: None,
        });
    }
    for (i, c) in contracts.iter_mut().enumerate() {
        if !skip(i) {
            c.budget = code_of
                .get(&(c.signed.year(), c.funding, c.category))
                .cloned();
        }
    }
    lines
}

/// The sample's lines, with its planted exceptions (each stated in README.md):
/// - the last contract signed names no line (no_budget);
/// - the first contract of 2018 is bought under the 2017 line of its funding and category,
///   money carried over (budget_other_year);
/// - the 2019 line with the most committed is cut on 2019-06-12, after its contracts were
///   signed, to 50,000.00 yuan below what they commit (commitments over budget);
/// - a 2018 line receives an addition (追加) on 2018-11-20 that was not spent by 31
///   December, leaving it under half executed (budget under-executed).
pub(super) fn sample_budgets(
    contracts: &mut [SampleContract],
    payments: &[SamplePayment],
) -> Vec<SampleBudget> {
    let last = contracts.len() - 1;
    let mut lines = budget_lines(&mut contracts.iter_mut().collect::<Vec<_>>(), |i| i == last);
    // Carried over: the first 2018 contract whose funding and category had a 2017 line.
    let carried = contracts.iter().position(|c| {
        c.signed.year() == 2018
            && lines
                .iter()
                .any(|l| l.year == 2017 && l.funding == c.funding && l.category == Some(c.category))
    });
    if let Some(i) = carried {
        let c = &contracts[i];
        let old = lines
            .iter_mut()
            .find(|l| l.year == 2017 && l.funding == c.funding && l.category == Some(c.category))
            .expect("found above");
        // The 2017 line was approved with room for it.
        old.fen = round_up(old.fen + c.value);
        let code = old.code.clone();
        contracts[i].budget = Some(code);
    }
    let committed = |code: &str, contracts: &[SampleContract]| -> i64 {
        contracts
            .iter()
            .filter(|c| c.budget.as_deref() == Some(code))
            .map(|c| c.value)
            .sum()
    };
    // The cut: the 2019 line with most committed.
    let cut_date = ymd(2019, 6, 12);
    let target = lines
        .iter()
        .filter(|l| l.year == 2019)
        .max_by_key(|l| (committed(&l.code, contracts), l.code.clone()))
        .map(|l| {
            (
                l.code.clone(),
                l.fen,
                l.doc.clone(),
                l.funding,
                l.category,
                l.name.clone(),
            )
        });
    if let Some((code, fen, doc, funding, category, name)) = target {
        let over = 5_000_000;
        let cut = fen - committed(&code, contracts) + over;
        lines.push(SampleBudget {
            year: 2019,
            funding,
            code,
            name,
            category,
            fen: -cut,
            doc: "官财调〔2019〕8号".into(),
            date: cut_date,
            adjusts: Some(doc),
        });
    }
    // The addition never spent: the 2018 line with most disbursed by 31 December 2018
    // gets as much again as its whole budget, so under half of it is disbursed.
    let dec31 = ymd(2018, 12, 31);
    let paid_2018 = |code: &str| -> i64 {
        payments
            .iter()
            .filter(|p| {
                p.date <= dec31
                    && contracts
                        .iter()
                        .any(|c| c.code == p.code && c.budget.as_deref() == Some(code))
            })
            .map(|p| p.fen)
            .sum()
    };
    let added = lines
        .iter()
        .filter(|l| l.year == 2018 && l.adjusts.is_none())
        .max_by_key(|l| (paid_2018(&l.code), l.code.clone()))
        .map(|l| {
            (
                l.code.clone(),
                l.fen,
                l.doc.clone(),
                l.funding,
                l.category,
                l.name.clone(),
            )
        });
    if let Some((code, fen, doc, funding, category, name)) = added {
        lines.push(SampleBudget {
            year: 2018,
            funding,
            code,
            name,
            category,
            fen,
            doc: "官财调〔2018〕21号".into(),
            date: ymd(2018, 11, 20),
            adjusts: Some(doc),
        });
    }
    lines.sort_by(|a, b| {
        (a.year, &a.code, a.adjusts.is_some()).cmp(&(b.year, &b.code, b.adjusts.is_some()))
    });
    lines
}
