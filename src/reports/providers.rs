//! The provider scorecard (`procure report providers`): per provider (USCC and name), what
//! it was contracted and paid, whom it served, how its evaluations went and how many
//! exceptions are open against it, as of a date. Evaluation results inform the choice of
//! providers in later years (Order 102 art. 25).

use std::collections::{BTreeMap, HashMap};

use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ConnectionTrait, DbErr};

use super::{money, per_person, Column, Dim, ReportName, Request, Val};
use crate::db::read::evaluations::{evaluations, EvaluationRow};
use crate::db::read::ledger::{ContractRow, Snapshot};
use crate::evaluations::Grade;
use crate::Lang;

/// One provider's (or group's) figures.
#[derive(Default)]
struct Card {
    contracts: i64,
    value: i64,
    paid: i64,
    people: i64,
    sessions: i64,
    evaluations: i64,
    score_centi: i64,
    /// The latest standing evaluation: (date, id) and its grade.
    last: Option<((chrono::NaiveDate, i64), Grade)>,
    fails: i64,
    exceptions: i64,
}

impl Card {
    fn add_evaluation(&mut self, e: &EvaluationRow) {
        self.evaluations += 1;
        self.score_centi += e.score.centi();
        if e.grade == Grade::Fail {
            self.fails += 1;
        }
        let key = (e.on, e.id);
        if self.last.is_none_or(|(k, _)| key > k) {
            self.last = Some((key, e.grade));
        }
    }

    fn add(&mut self, o: &Card) {
        self.contracts += o.contracts;
        self.value += o.value;
        self.paid += o.paid;
        self.people += o.people;
        self.sessions += o.sessions;
        self.evaluations += o.evaluations;
        self.score_centi += o.score_centi;
        self.fails += o.fails;
        self.exceptions += o.exceptions;
        if let Some((k, g)) = o.last {
            if self.last.is_none_or(|(mine, _)| k > mine) {
                self.last = Some((k, g));
            }
        }
    }

    /// The mean score of the standing evaluations, two decimals.
    fn average(&self) -> Val {
        if self.evaluations == 0 {
            return Val::Empty;
        }
        let avg = Decimal::new(self.score_centi, 2) / Decimal::from(self.evaluations);
        Val::Pct(Some(avg.round_dp_with_strategy(
            2,
            RoundingStrategy::MidpointAwayFromZero,
        )))
    }

    fn figures(&self, lang: Lang) -> Vec<Val> {
        vec![
            Val::Int(self.contracts),
            money(self.value),
            money(self.paid),
            Val::Int(self.people),
            Val::Int(self.sessions),
            per_person(self.paid, self.people),
            Val::Int(self.evaluations),
            self.average(),
            self.last
                .map(|(_, g)| Val::text(g.name(lang)))
                .unwrap_or(Val::Empty),
            Val::Date(self.last.map(|((d, _), _)| d)),
            Val::Int(self.fails),
            Val::Int(self.exceptions),
        ]
    }
}

/// The scorecard's columns after the grouping's and the provider's.
fn figure_columns() -> [Column; 12] {
    [
        Column::new("contracts", "项目数", "Contracts"),
        Column::new("value", "合同金额（元）", "Contract value"),
        Column::new("disbursed", "已拨付（元）", "Disbursed"),
        Column::new("people", "服务人数", "People served"),
        Column::new("sessions", "服务人次", "Sessions"),
        Column::new("cost_per_person", "人均成本（元）", "Cost per person"),
        Column::new("evaluations", "评价次数", "Evaluations"),
        Column::new("average_score", "平均得分", "Average score"),
        Column::new("last_grade", "最近等级", "Last grade"),
        Column::new("last_grade_date", "最近评价日期", "Last evaluated"),
        Column::new("fails", "不合格次数", "Fails"),
        Column::new("open_exceptions", "异常数", "Open exceptions"),
    ]
}

/// The key of a contract's row: the grouping's labels, then the provider's USCC and name.
fn key(c: &ContractRow, dims: &[Dim], lang: Lang) -> Vec<String> {
    let mut k: Vec<String> = dims
        .iter()
        .filter(|d| !matches!(d, Dim::Provider))
        .map(|d| d.of(c, lang))
        .collect();
    k.push(c.uscc.clone().unwrap_or_default());
    k.push(c.provider_name.clone());
    k
}

pub(super) async fn scorecard(
    db: &impl ConnectionTrait,
    snap: &Snapshot,
    req: &Request,
    report: &mut super::Report,
) -> Result<(), DbErr> {
    let lang = req.lang;
    // Time groupings have no meaning for a scorecard of contracts; the provider is the row.
    let dims: Vec<Dim> = req
        .by
        .iter()
        .copied()
        .filter(|d| !d.is_time() && *d != Dim::Provider)
        .collect();
    report.columns = dims.iter().map(|d| d.column()).collect();
    report.columns.extend([
        Column::new("uscc", "统一社会信用代码", "USCC"),
        Column::new("provider", "承接机构", "Provider"),
    ]);
    report.columns.extend(figure_columns());

    // Open exceptions: the rows of the exceptions report for the same scope.
    let mut exceptions = super::Report {
        columns: Vec::new(),
        rows: Vec::new(),
        ..report.clone()
    };
    let exc_req = Request {
        name: ReportName::Exceptions,
        ..req.clone()
    };
    super::exceptions(db, snap, &exc_req, &mut exceptions).await?;
    let mut open: HashMap<String, i64> = HashMap::new();
    for r in &exceptions.rows {
        *open.entry(r[1].plain()).or_insert(0) += 1;
    }

    let mut evals: HashMap<i64, Vec<EvaluationRow>> = HashMap::new();
    for e in evaluations(db, &req.scope, None).await? {
        evals.entry(e.contract_id).or_default().push(e);
    }
    let mut cards: BTreeMap<Vec<String>, Card> = BTreeMap::new();
    for c in &snap.contracts {
        let card = cards.entry(key(c, &dims, lang)).or_default();
        card.contracts += 1;
        card.value += c.value.fen();
        card.paid += snap.paid.get(&c.id).map(|p| p.fen).unwrap_or(0);
        let s = snap.served.get(&c.id).copied().unwrap_or_default();
        card.people += s.people;
        card.sessions += s.sessions;
        card.exceptions += open.get(&c.code).copied().unwrap_or(0);
        for e in evals.get(&c.id).into_iter().flatten() {
            if e.replaced_by.is_none() {
                card.add_evaluation(e);
            }
        }
    }
    let mut all = Card::default();
    for (k, card) in &cards {
        let mut row: Vec<Val> = k.iter().cloned().map(Val::Text).collect();
        row.extend(card.figures(lang));
        report.rows.push(row);
        all.add(card);
    }
    let mut total = vec![Val::text(lang.pick("合计", "Total"))];
    total.extend((0..dims.len() + 1).map(|_| Val::Empty));
    // The last grade is a provider's; over all of them it says nothing.
    all.last = None;
    total.extend(all.figures(lang));
    report.total = Some(total);
    Ok(())
}
