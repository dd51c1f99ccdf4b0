//! The budget report (预算执行) and the budget exceptions: budget lines as of a date against
//! the contracts signed under them and the payments made on those contracts.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use sea_orm::{ConnectionTrait, DbErr};

use super::{money, pct, Column, Dim, Report, Request, Val};
use crate::budgets::{self, resolve, Line, Resolved, Settings};
use crate::db::read::budget::{lines_as_of, Origin};
use crate::db::read::ledger::{self, ContractRow, Snapshot};
use crate::money::Money;
use crate::Lang;

/// The lines in scope, and what each contract of the snapshot is bought under.
pub struct Budgets {
    pub lines: Vec<Line>,
    pub origins: BTreeMap<i64, Origin>,
    /// Contract id to its line's index in `lines`, and whether the line is of another year.
    pub line_of: HashMap<i64, (usize, bool)>,
}

impl Budgets {
    pub async fn read(
        db: &impl ConnectionTrait,
        snap: &Snapshot,
        req: &Request,
    ) -> Result<Budgets, DbErr> {
        let (mut lines, origins) = lines_as_of(db, req.scope.as_of, req.scope.as_recorded).await?;
        if let Some(k) = req.scope.category {
            lines.retain(|l| l.category == Some(k));
        }
        let mut line_of = HashMap::new();
        for c in &snap.contracts {
            if let Some(code) = &c.budget_code {
                let found = match resolve(code, c.counted_from().year(), &lines) {
                    Resolved::Same(l) => Some((l.id, false)),
                    Resolved::Other(l) => Some((l.id, true)),
                    Resolved::Unknown => None,
                };
                if let Some((id, other)) = found {
                    if let Some(i) = lines.iter().position(|l| l.id == id) {
                        line_of.insert(c.id, (i, other));
                    }
                }
            }
        }
        Ok(Budgets {
            lines,
            origins,
            line_of,
        })
    }

    /// Committed and disbursed per line (index in `lines`), in fen.
    fn figures(&self, snap: &Snapshot, paid: &HashMap<i64, ledger::Paid>) -> Vec<(i64, i64)> {
        let mut f = vec![(0i64, 0i64); self.lines.len()];
        for c in &snap.contracts {
            if let Some((i, _)) = self.line_of.get(&c.id) {
                f[*i].0 += c.value.fen();
                f[*i].1 += paid.get(&c.id).map(|p| p.fen).unwrap_or(0);
            }
        }
        f
    }

    fn source(&self, id: i64) -> Val {
        Val::text(
            self.origins
                .get(&id)
                .map(|o| o.to_string())
                .unwrap_or_default(),
        )
    }
}

/// Per group: lines, approved, adjustments, committed, disbursed (fen).
#[derive(Default, Clone, Copy)]
struct Agg {
    lines: i64,
    approved: i64,
    adjusted: i64,
    committed: i64,
    disbursed: i64,
}

impl Agg {
    fn add(&mut self, o: &Agg) {
        self.lines += o.lines;
        self.approved += o.approved;
        self.adjusted += o.adjusted;
        self.committed += o.committed;
        self.disbursed += o.disbursed;
    }

    fn row(&self) -> Vec<Val> {
        let budget = self.approved + self.adjusted;
        vec![
            Val::Int(self.lines),
            money(self.approved),
            money(self.adjusted),
            money(budget),
            money(self.committed),
            money(self.disbursed),
            pct(self.committed, budget),
            pct(self.disbursed, budget),
            money(budget - self.disbursed),
        ]
    }
}

fn label(d: Dim, l: &Line, lang: Lang) -> String {
    match d {
        Dim::Year => l.year.to_string(),
        Dim::Funding => l.funding.name(lang).to_string(),
        _ => l
            .category
            .map(|c| c.name(lang).to_string())
            .unwrap_or_else(|| lang.pick("（未填）", "(blank)").to_string()),
    }
}

/// `procure report budget`: by year, funding source and category (or those of them asked
/// for), the lines' approved amounts, adjustments, commitments, payments, the rates of
/// signing (签约率 = committed / budget) and execution (执行率 = disbursed / budget), and the
/// balance (结余 = budget - disbursed), the budget always with its adjustments.
pub async fn build(
    db: &impl ConnectionTrait,
    snap: &Snapshot,
    req: &Request,
    report: &mut Report,
) -> Result<(), DbErr> {
    let lang = req.lang;
    let budgets = Budgets::read(db, snap, req).await?;
    let mut dims: Vec<Dim> = req
        .by
        .iter()
        .copied()
        .filter(|d| matches!(d, Dim::Year | Dim::Funding | Dim::Category))
        .collect();
    if dims.is_empty() {
        dims = vec![Dim::Year, Dim::Funding, Dim::Category];
    }
    report.columns = dims
        .iter()
        .map(|d| match d {
            Dim::Year => Column::new("year", "预算年度", "Budget year"),
            d => d.column(),
        })
        .collect();
    report.columns.extend([
        Column::new("lines", "预算项目数", "Budget lines"),
        Column::new("approved", "批复金额（元）", "Approved"),
        Column::new("adjustments", "调整金额（元）", "Adjustments"),
        Column::new("budget", "调整后预算（元）", "Budget"),
        Column::new("committed", "已签约（元）", "Committed"),
        Column::new("disbursed", "已拨付（元）", "Disbursed"),
        Column::new("signing_rate", "签约率（%）", "Signed (%)"),
        Column::new("execution_rate", "执行率（%）", "Execution rate (%)"),
        Column::new("balance", "结余（元）", "Balance"),
    ]);
    let figures = budgets.figures(snap, &snap.paid);
    let mut groups: BTreeMap<Vec<String>, Agg> = BTreeMap::new();
    let mut all = Agg::default();
    for (i, l) in budgets.lines.iter().enumerate() {
        let a = Agg {
            lines: 1,
            approved: l.approved.fen(),
            adjusted: l.adjustment_fen(),
            committed: figures[i].0,
            disbursed: figures[i].1,
        };
        let key = dims.iter().map(|d| label(*d, l, lang)).collect();
        groups.entry(key).or_default().add(&a);
        all.add(&a);
    }
    for (key, a) in &groups {
        let mut row: Vec<Val> = key.iter().cloned().map(Val::Text).collect();
        row.extend(a.row());
        report.rows.push(row);
    }
    let mut total: Vec<Val> = vec![Val::text(lang.pick("合计", "Total"))];
    total.extend((1..dims.len()).map(|_| Val::Empty));
    total.extend(all.row());
    report.total = Some(total);
    let budget = all.approved + all.adjusted;
    if all.lines > 0 {
        let d = req.scope.as_of;
        let rate = |v: Val| v.plain();
        report.statement = Some(match lang {
            Lang::Zh => format!(
                "截至{}年{}月{}日，预算项目{}个，预算（含调整）{:.2}万元，已签约{:.2}万元，已拨付{:.2}万元，预算执行率{}%。",
                d.year(),
                d.month(),
                d.day(),
                all.lines,
                Money::from_fen(budget).wan(),
                Money::from_fen(all.committed).wan(),
                Money::from_fen(all.disbursed).wan(),
                rate(pct(all.disbursed, budget)),
            ),
            Lang::En => format!(
                "As of {}, {} budget lines of {} yuan (adjustments included): {} yuan committed, {} yuan disbursed, an execution rate of {}%.",
                d.format("%-d %B %Y"),
                all.lines,
                Money::from_fen(budget),
                Money::from_fen(all.committed),
                Money::from_fen(all.disbursed),
                rate(pct(all.disbursed, budget)),
            ),
        });
    }
    Ok(())
}

/// One exceptions row: (order, kind, code, detail, date, amount, source).
pub type ExceptionRow = (
    u8,
    (&'static str, &'static str),
    String,
    String,
    Option<NaiveDate>,
    Val,
    Val,
);

/// The budget exceptions as of the report's date: commitments over a line (only a negative
/// adjustment can cause it; each such adjustment is listed), lines of an ended year with
/// less than the setting's share disbursed by 31 December, contracts with no budget line,
/// and contracts under a line of another year.
pub async fn exceptions(
    db: &impl ConnectionTrait,
    snap: &Snapshot,
    req: &Request,
    settings: &Settings,
) -> Result<Vec<ExceptionRow>, DbErr> {
    let lang = req.lang;
    let as_of = req.scope.as_of;
    let budgets = Budgets::read(db, snap, req).await?;
    let mut out = Vec::new();
    let figures = budgets.figures(snap, &snap.paid);
    for (i, l) in budgets.lines.iter().enumerate() {
        let (committed, _) = figures[i];
        let total = l.total_fen();
        if committed > total {
            for a in l.adjustments.iter().filter(|a| a.amount.is_negative()) {
                let detail = match lang {
                    Lang::Zh => format!(
                        "调整文号 {} 调减 {} 元后预算 {} 元，已签约 {} 元",
                        a.doc,
                        Money::from_fen(-a.amount.fen()),
                        Money::from_fen(total),
                        Money::from_fen(committed)
                    ),
                    Lang::En => format!(
                        "adjustment {} cut {}: budget {}, committed {}",
                        a.doc,
                        Money::from_fen(-a.amount.fen()),
                        Money::from_fen(total),
                        Money::from_fen(committed)
                    ),
                };
                out.push((
                    9,
                    ("签约超预算", "commitments over budget"),
                    l.code.clone(),
                    detail,
                    Some(a.date),
                    money(committed - total),
                    budgets.source(a.id),
                ));
            }
        }
    }
    // Under-execution: payments by 31 December of the line's year, for years ended by as_of.
    let mut years: Vec<i32> = budgets
        .lines
        .iter()
        .map(|l| l.year)
        .filter(|y| budgets::year_ended(*y, as_of))
        .collect();
    years.sort();
    years.dedup();
    for y in years {
        let Some(dec31) = NaiveDate::from_ymd_opt(y, 12, 31) else {
            continue;
        };
        let scope = ledger::Scope {
            as_of: dec31,
            ..req.scope.clone()
        };
        let mut by_year = Snapshot::default();
        ledger::paid(db, &scope, false, &mut by_year).await?;
        let figures = budgets.figures(snap, &by_year.paid);
        for (i, l) in budgets
            .lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l.year == y)
        {
            let disbursed = figures[i].1;
            if budgets::underexecuted(l.total_fen(), disbursed, settings) {
                let rate = pct(disbursed, l.total_fen()).plain();
                let limit = settings.underexecuted_below_pct;
                let detail = match lang {
                    Lang::Zh => format!(
                        "{y}年12月31日前拨付 {} 元，占预算 {} 元的 {rate}%，低于 {limit}%",
                        Money::from_fen(disbursed),
                        Money::from_fen(l.total_fen())
                    ),
                    Lang::En => format!(
                        "{} disbursed by 31 December {y}, {rate}% of the budget {}, under {limit}%",
                        Money::from_fen(disbursed),
                        Money::from_fen(l.total_fen())
                    ),
                };
                out.push((
                    10,
                    ("预算执行不足", "budget under-executed"),
                    l.code.clone(),
                    detail,
                    Some(dec31),
                    money(l.total_fen() - disbursed),
                    budgets.source(l.id),
                ));
            }
        }
    }
    for c in &snap.contracts {
        let src = || Val::text(format!("{} {}!{}", c.file, c.sheet, c.row));
        match (budgets.line_of.get(&c.id), &c.budget_code) {
            (None, code) => {
                let detail = match (lang, code) {
                    (Lang::Zh, None) => "合同未填写预算项目编码".to_string(),
                    (Lang::En, None) => "the contract names no budget line".to_string(),
                    (Lang::Zh, Some(b)) => format!("预算项目编码 {b} 截至报告日没有批复的预算项目"),
                    (Lang::En, Some(b)) => {
                        format!("no budget line {b} approved by the report's date")
                    }
                };
                out.push(contract_row(
                    11,
                    ("无预算项目", "no budget line"),
                    c,
                    detail,
                    src(),
                ));
            }
            (Some((i, true)), _) => {
                let l = &budgets.lines[*i];
                let detail = match lang {
                    Lang::Zh => format!(
                        "预算项目 {} 为{}年度，合同签订于{}年",
                        l.code,
                        l.year,
                        c.counted_from().year()
                    ),
                    Lang::En => format!(
                        "budget line {} is of {}, the contract signed in {}",
                        l.code,
                        l.year,
                        c.counted_from().year()
                    ),
                };
                out.push(contract_row(
                    12,
                    ("预算年度与签约年度不符", "budget line of another year"),
                    c,
                    detail,
                    src(),
                ));
            }
            _ => {}
        }
    }
    Ok(out)
}

fn contract_row(
    order: u8,
    kind: (&'static str, &'static str),
    c: &ContractRow,
    detail: String,
    source: Val,
) -> ExceptionRow {
    (
        order,
        kind,
        c.code.clone(),
        detail,
        c.signed_on.or(Some(c.start_on)),
        money(c.value.fen()),
        source,
    )
}
