//! Read-only reports: spend and beneficiaries as of any date, by any dimension, with the
//! exceptions auditors chase and the history of every change.

pub mod audit_trail;
pub mod budget;
mod evaluations;
mod providers;

pub mod table;
pub mod writers;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{Datelike, Months, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};
use sea_orm::{ConnectionTrait, DbErr};

use crate::contracts::state::ContractState;
use crate::contracts::Category;
use crate::db::read::ledger;
pub use crate::db::read::ledger::Scope;
use crate::money::Money;
use crate::Lang;
use ledger::{ContractRow, Snapshot};
pub use table::{Column, Report, Val};

/// The reports there are.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum ReportName {
    Summary,
    Spend,
    Beneficiaries,
    Contracts,
    Exceptions,
    History,
    /// 预算执行: budget lines against commitments and payments.
    Budget,
    Providers,
}

impl ReportName {
    pub fn code(self) -> &'static str {
        match self {
            ReportName::Summary => "summary",
            ReportName::Spend => "spend",
            ReportName::Beneficiaries => "beneficiaries",
            ReportName::Contracts => "contracts",
            ReportName::Exceptions => "exceptions",
            ReportName::History => "history",
            ReportName::Budget => "budget",
            ReportName::Providers => "providers",
        }
    }

    /// The report's title in a language.
    pub fn title(self, lang: Lang) -> &'static str {
        let (zh, en) = self.titles();
        lang.pick(zh, en)
    }

    fn titles(self) -> (&'static str, &'static str) {
        match self {
            ReportName::Summary => (
                "政府购买社会组织服务汇总",
                "Summary of services purchased from social organisations",
            ),
            ReportName::Spend => ("资金支出", "Spend"),
            ReportName::Beneficiaries => ("服务对象", "Beneficiaries"),
            ReportName::Contracts => ("项目合同明细", "Contracts"),
            ReportName::Exceptions => ("审计异常清单", "Exceptions for audit"),
            ReportName::History => ("变更记录", "History of changes"),
            ReportName::Budget => ("预算执行", "Budget execution"),
            ReportName::Providers => ("承接机构评价档案", "Provider scorecards"),
        }
    }
}

/// What rows can be grouped by.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, clap::ValueEnum, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Dim {
    Category,
    Provider,
    Street,
    Community,
    Purchaser,
    Funding,
    Method,
    Month,
    Quarter,
    Year,
}

impl Dim {
    fn column(self) -> Column {
        match self {
            Dim::Category => Column::new("category", "服务类别", "Category"),
            Dim::Provider => Column::new("provider", "承接机构", "Provider"),
            Dim::Street => Column::new("street", "街道", "Sub-district"),
            Dim::Community => Column::new("community", "社区", "Community"),
            Dim::Purchaser => Column::new("purchaser", "购买主体", "Purchaser"),
            Dim::Funding => Column::new("funding", "资金来源", "Funding source"),
            Dim::Method => Column::new("method", "采购方式", "Procurement method"),
            Dim::Month => Column::new("month", "月份", "Month"),
            Dim::Quarter => Column::new("quarter", "季度", "Quarter"),
            Dim::Year => Column::new("year", "年度", "Year"),
        }
    }

    /// The grouping's name in a language.
    pub fn label(self, lang: Lang) -> &'static str {
        self.column().label(lang)
    }

    fn is_time(self) -> bool {
        matches!(self, Dim::Month | Dim::Quarter | Dim::Year)
    }

    /// The label of a contract for a non-time dimension.
    fn of(self, c: &ContractRow, lang: Lang) -> String {
        let blank = || lang.pick("（未填）", "(blank)").to_string();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(blank);
        match self {
            Dim::Category => c.category.name(lang).to_string(),
            Dim::Provider => c.provider_name.clone(),
            Dim::Street => opt(&c.street),
            Dim::Community => opt(&c.community),
            Dim::Purchaser => opt(&c.purchaser),
            Dim::Funding => c
                .funding
                .map(|f| f.name(lang).to_string())
                .unwrap_or_else(blank),
            Dim::Method => c
                .method
                .map(|m| m.name(lang).to_string())
                .unwrap_or_else(blank),
            Dim::Month | Dim::Quarter | Dim::Year => String::new(),
        }
    }

    /// The period of a `YYYY-MM` month for a time dimension.
    fn period(self, month: &str) -> String {
        let (y, m) = (&month[..4], month[5..7].parse::<u32>().unwrap_or(1));
        match self {
            Dim::Month => month.to_string(),
            Dim::Quarter => format!("{y}-Q{}", (m - 1) / 3 + 1),
            _ => y.to_string(),
        }
    }
}

/// A report request.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: ReportName,
    pub scope: Scope,
    pub by: Vec<Dim>,
    pub lang: Lang,
    /// Grade thresholds and the days an end-of-term evaluation may wait.
    pub evaluations: crate::evaluations::Settings,
}

fn money(fen: i64) -> Val {
    Val::Money(Money::from_fen(fen))
}

/// part / whole × 100, two decimals; none when the whole is zero.
fn pct(part: i64, whole: i64) -> Val {
    if whole == 0 {
        return Val::Pct(None);
    }
    let p = Decimal::from(part) * Decimal::ONE_HUNDRED / Decimal::from(whole);
    Val::Pct(Some(p.round_dp_with_strategy(
        2,
        RoundingStrategy::MidpointAwayFromZero,
    )))
}

/// A head count in 万 (ten thousands), two decimals: 51,236 people is 5.12万人.
pub fn people_wan(people: i64) -> Decimal {
    (Decimal::from(people) / Decimal::from(10_000))
        .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
}

/// Yuan per person, to the fen; empty when no one was served.
fn per_person(fen: i64, people: i64) -> Val {
    if people == 0 {
        return Val::Empty;
    }
    let fen_each = (Decimal::from(fen) / Decimal::from(people))
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    money(i64::try_from(fen_each.mantissa()).unwrap_or(0))
}

/// Contract state as of a date.
pub fn state(c: &ContractRow, paid_fen: i64, as_of: NaiveDate, lang: Lang) -> &'static str {
    ContractState::on(c.start_on, c.end_on, paid_fen, c.value.fen(), as_of).name(lang)
}

/// Builds a report from the database.
pub async fn build(db: &impl ConnectionTrait, req: &Request) -> Result<Report, DbErr> {
    let (zh, en) = req.name.titles();
    let mut report = Report {
        name: req.name.code(),
        title_zh: zh.to_string(),
        title_en: en.to_string(),
        as_of: req.scope.as_of,
        from: req.scope.from,
        as_recorded: req.scope.as_recorded,
        statement: None,
        columns: Vec::new(),
        rows: Vec::new(),
        total: None,
        lang: req.lang,
    };
    let time = req.by.iter().any(|d| d.is_time());
    let mut snap = Snapshot {
        contracts: ledger::contracts(db, &req.scope).await?,
        ..Default::default()
    };
    // Only the aggregations a report shows: each is a GROUP BY over every payment.
    let (paid, served) = match req.name {
        ReportName::History => return history(db, req, report).await,
        ReportName::Spend | ReportName::Budget => (true, false),
        _ => (true, true),
    };
    if paid {
        ledger::paid(db, &req.scope, time, &mut snap).await?;
    }
    if served {
        ledger::served(db, &req.scope, time, &mut snap).await?;
    }
    match req.name {
        ReportName::Summary => summary(&snap, req, &mut report),
        ReportName::Spend | ReportName::Beneficiaries if time => by_time(&snap, req, &mut report),
        ReportName::Spend | ReportName::Beneficiaries => grouped(&snap, req, &mut report),
        ReportName::Contracts => contracts(&snap, req, &mut report),
        ReportName::Exceptions => exceptions(db, &snap, req, &mut report).await?,
        ReportName::Budget => budget::build(db, &snap, req, &mut report).await?,
        ReportName::Providers => providers::scorecard(db, &snap, req, &mut report).await?,
        ReportName::History => unreachable!("handled above"),
    }
    Ok(report)
}

/// Totals of a set of contracts.
#[derive(Default, Clone)]
struct Agg {
    contracts: i64,
    providers: HashSet<i64>,
    value: i64,
    paid: i64,
    people: i64,
    sessions: i64,
}

impl Agg {
    fn add(&mut self, c: &ContractRow, snap: &Snapshot) {
        self.contracts += 1;
        self.providers.insert(c.provider_id);
        self.value += c.value.fen();
        self.paid += snap.paid.get(&c.id).map(|p| p.fen).unwrap_or(0);
        let s = snap.served.get(&c.id).copied().unwrap_or_default();
        self.people += s.people;
        self.sessions += s.sessions;
    }
}

fn summary(snap: &Snapshot, req: &Request, report: &mut Report) {
    let lang = req.lang;
    report.columns = vec![
        Column::new("category", "服务类别", "Category"),
        Column::new("contracts", "项目数", "Contracts"),
        Column::new("providers", "承接机构数", "Providers"),
        Column::new("value", "合同金额（元）", "Contract value"),
        Column::new("disbursed", "已拨付（元）", "Disbursed"),
        Column::new("remaining", "未拨付（元）", "Remaining"),
        Column::new("execution_rate", "执行率（%）", "Execution rate (%)"),
        Column::new("people", "服务人数", "People served"),
        Column::new("sessions", "服务人次", "Sessions"),
        Column::new("cost_per_person", "人均成本（元）", "Cost per person"),
    ];
    let mut by_cat: BTreeMap<Category, Agg> =
        Category::ALL.iter().map(|c| (*c, Agg::default())).collect();
    let mut all = Agg::default();
    for c in &snap.contracts {
        let k = c.category;
        by_cat.entry(k).or_default().add(c, snap);
        all.add(c, snap);
    }
    let row = |label: String, a: &Agg| {
        vec![
            Val::Text(label),
            Val::Int(a.contracts),
            Val::Int(a.providers.len() as i64),
            money(a.value),
            money(a.paid),
            money(a.value - a.paid),
            pct(a.paid, a.value),
            Val::Int(a.people),
            Val::Int(a.sessions),
            per_person(a.paid, a.people),
        ]
    };
    for (k, a) in &by_cat {
        if a.contracts > 0 || *k != Category::Other {
            report.rows.push(row(k.name(lang).to_string(), a));
        }
    }
    report.total = Some(row(lang.pick("合计", "Total").to_string(), &all));
    let d = req.scope.as_of;
    let wan = |fen: i64| Money::from_fen(fen).wan();
    let people_wan = people_wan(all.people);
    report.statement = Some(match lang {
        Lang::Zh => format!(
            "截至{}年{}月{}日，共购买社会组织专业服务项目{}个，累计资金{:.2}万元，服务群众{:.2}万人。",
            d.year(),
            d.month(),
            d.day(),
            all.contracts,
            wan(all.value),
            people_wan
        ),
        Lang::En => format!(
            "As of {}, {} professional service projects had been purchased from social organisations, with cumulative funds of {:.2} ten-thousand yuan ({} yuan), serving {:.2} ten-thousand people ({}).",
            d.format("%-d %B %Y"),
            all.contracts,
            wan(all.value),
            Money::from_fen(all.value),
            people_wan,
            all.people
        ),
    });
}

fn dims_or_category(by: &[Dim]) -> Vec<Dim> {
    if by.is_empty() {
        vec![Dim::Category]
    } else {
        by.to_vec()
    }
}

fn grouped(snap: &Snapshot, req: &Request, report: &mut Report) {
    let dims = dims_or_category(&req.by);
    report.columns = dims.iter().map(|d| d.column()).collect();
    let spend = req.name == ReportName::Spend;
    if spend {
        report.columns.extend([
            Column::new("contracts", "项目数", "Contracts"),
            Column::new("committed", "合同金额（元）", "Committed"),
            Column::new("disbursed", "已拨付（元）", "Disbursed"),
            Column::new("remaining", "未拨付（元）", "Remaining"),
            Column::new("execution_rate", "执行率（%）", "Execution rate (%)"),
        ]);
    } else {
        report.columns.extend([
            Column::new("contracts", "项目数", "Contracts"),
            Column::new("people", "服务人数", "People served"),
            Column::new("sessions", "服务人次", "Sessions"),
            Column::new("disbursed", "已拨付（元）", "Disbursed"),
            Column::new("cost_per_person", "人均成本（元）", "Cost per person"),
        ]);
    }
    let mut groups: BTreeMap<Vec<String>, Agg> = BTreeMap::new();
    let mut all = Agg::default();
    for c in &snap.contracts {
        let key: Vec<String> = dims.iter().map(|d| d.of(c, req.lang)).collect();
        groups.entry(key).or_default().add(c, snap);
        all.add(c, snap);
    }
    let figures = |a: &Agg| -> Vec<Val> {
        if spend {
            vec![
                Val::Int(a.contracts),
                money(a.value),
                money(a.paid),
                money(a.value - a.paid),
                pct(a.paid, a.value),
            ]
        } else {
            vec![
                Val::Int(a.contracts),
                Val::Int(a.people),
                Val::Int(a.sessions),
                money(a.paid),
                per_person(a.paid, a.people),
            ]
        }
    };
    for (key, a) in &groups {
        let mut row: Vec<Val> = key.iter().cloned().map(Val::Text).collect();
        row.extend(figures(a));
        report.rows.push(row);
    }
    let mut total: Vec<Val> = vec![Val::text(req.lang.pick("合计", "Total"))];
    total.extend((1..dims.len()).map(|_| Val::Empty));
    total.extend(figures(&all));
    report.total = Some(total);
}

/// Spend or beneficiaries per period, with a running total within each group.
fn by_time(snap: &Snapshot, req: &Request, report: &mut Report) {
    let lang = req.lang;
    let time = *req
        .by
        .iter()
        .find(|d| d.is_time())
        .expect("a time dimension");
    let dims: Vec<Dim> = req.by.iter().copied().filter(|d| !d.is_time()).collect();
    report.columns = dims.iter().map(|d| d.column()).collect();
    report.columns.push(time.column());
    let spend = req.name == ReportName::Spend;
    if spend {
        report.columns.extend([
            Column::new("committed", "新签合同金额（元）", "Committed"),
            Column::new("disbursed", "拨付（元）", "Disbursed"),
            Column::new(
                "cumulative_disbursed",
                "累计拨付（元）",
                "Cumulative disbursed",
            ),
        ]);
    } else {
        report.columns.extend([
            Column::new("people", "新增服务人数", "People served"),
            Column::new("sessions", "服务人次", "Sessions"),
            Column::new("cumulative_people", "累计服务人数", "Cumulative people"),
        ]);
    }
    let by_id: HashMap<i64, &ContractRow> = snap.contracts.iter().map(|c| (c.id, c)).collect();
    // (group, period) -> (a, b): committed and disbursed, or people and sessions
    let mut cells: BTreeMap<(Vec<String>, String), (i64, i64)> = BTreeMap::new();
    let key_of = |c: &ContractRow| -> Vec<String> { dims.iter().map(|d| d.of(c, lang)).collect() };
    if spend {
        for c in &snap.contracts {
            let signed = c.counted_from();
            if req.scope.from.is_none_or(|f| signed >= f) {
                let month = signed.format("%Y-%m").to_string();
                cells.entry((key_of(c), time.period(&month))).or_default().0 += c.value.fen();
            }
        }
        for ((id, month), fen) in &snap.paid_by_month {
            if let Some(c) = by_id.get(id) {
                cells.entry((key_of(c), time.period(month))).or_default().1 += fen;
            }
        }
    } else {
        for ((id, month), (people, sessions)) in &snap.served_by_month {
            if let Some(c) = by_id.get(id) {
                let e = cells.entry((key_of(c), time.period(month))).or_default();
                e.0 += people;
                e.1 += sessions;
            }
        }
    }
    let mut running: HashMap<Vec<String>, i64> = HashMap::new();
    let (mut ta, mut tb) = (0i64, 0i64);
    for ((key, period), (a, b)) in &cells {
        let r = running.entry(key.clone()).or_insert(0);
        *r += if spend { *b } else { *a };
        let mut row: Vec<Val> = key.iter().cloned().map(Val::Text).collect();
        row.push(Val::Text(period.clone()));
        if spend {
            row.extend([money(*a), money(*b), money(*r)]);
        } else {
            row.extend([Val::Int(*a), Val::Int(*b), Val::Int(*r)]);
        }
        report.rows.push(row);
        ta += a;
        tb += b;
    }
    let mut total: Vec<Val> = vec![Val::text(lang.pick("合计", "Total"))];
    total.extend((0..dims.len()).map(|_| Val::Empty));
    if spend {
        total.extend([money(ta), money(tb), Val::Empty]);
    } else {
        total.extend([Val::Int(ta), Val::Int(tb), Val::Empty]);
    }
    report.total = Some(total);
}

fn contracts(snap: &Snapshot, req: &Request, report: &mut Report) {
    let lang = req.lang;
    report.columns = vec![
        Column::new("code", "项目编号", "Code"),
        Column::new("title", "项目名称", "Title"),
        Column::new("category", "服务类别", "Category"),
        Column::new("provider", "承接机构", "Provider"),
        Column::new("street", "街道", "Sub-district"),
        Column::new("start", "开始日期", "Start"),
        Column::new("end", "结束日期", "End"),
        Column::new("value", "合同金额（元）", "Value"),
        Column::new("disbursed", "已拨付（元）", "Disbursed"),
        Column::new("remaining", "未拨付（元）", "Remaining"),
        Column::new("paid_pct", "拨付比例（%）", "Paid (%)"),
        Column::new("last_payment", "最近拨付日期", "Last payment"),
        Column::new("people", "服务人数", "People served"),
        Column::new("target", "计划服务人数", "Target"),
        Column::new("people_pct", "完成比例（%）", "Of target (%)"),
        Column::new("state", "状态", "State"),
        Column::new("source", "来源", "Source"),
    ];
    let (mut tv, mut tp, mut tpe, mut tt) = (0i64, 0i64, 0i64, 0i64);
    for c in &snap.contracts {
        let p = snap.paid.get(&c.id).copied().unwrap_or_default();
        let s = snap.served.get(&c.id).copied().unwrap_or_default();
        report.rows.push(vec![
            Val::text(&c.code),
            Val::text(&c.title),
            Val::text(c.category.name(lang)),
            Val::text(&c.provider_name),
            Val::text(c.street.clone().unwrap_or_default()),
            Val::Date(Some(c.start_on)),
            Val::Date(Some(c.end_on)),
            money(c.value.fen()),
            money(p.fen),
            money(c.value.fen() - p.fen),
            pct(p.fen, c.value.fen()),
            Val::Date(p.last),
            Val::Int(s.people),
            c.target_people.map(Val::Int).unwrap_or(Val::Empty),
            c.target_people
                .map(|t| pct(s.people, t))
                .unwrap_or(Val::Empty),
            Val::text(state(c, p.fen, req.scope.as_of, lang)),
            Val::text(format!("{} {}!{}", c.file, c.sheet, c.row)),
        ]);
        tv += c.value.fen();
        tp += p.fen;
        tpe += s.people;
        tt += c.target_people.unwrap_or(0);
    }
    let mut total = vec![Val::text(lang.pick("合计", "Total"))];
    total.extend((0..6).map(|_| Val::Empty));
    total.extend([
        money(tv),
        money(tp),
        money(tv - tp),
        pct(tp, tv),
        Val::Empty,
        Val::Int(tpe),
        Val::Int(tt),
        Val::Empty,
        Val::Empty,
        Val::Empty,
    ]);
    report.total = Some(total);
}

async fn exceptions(
    db: &impl ConnectionTrait,
    snap: &Snapshot,
    req: &Request,
    report: &mut Report,
) -> Result<(), DbErr> {
    let lang = req.lang;
    let as_of = req.scope.as_of;
    report.columns = vec![
        Column::new("kind", "异常类型", "Exception"),
        Column::new("code", "项目编号", "Contract"),
        Column::new("detail", "说明", "Detail"),
        Column::new("date", "日期", "Date"),
        Column::new("amount", "金额（元）", "Amount"),
        Column::new("source", "来源", "Source"),
    ];
    let in_scope: HashMap<i64, &ContractRow> = snap.contracts.iter().map(|c| (c.id, c)).collect();
    let mut rows: Vec<(u8, Vec<Val>)> = Vec::new();
    let src = |c: &ContractRow| Val::text(format!("{} {}!{}", c.file, c.sheet, c.row));
    let push = |rows: &mut Vec<(u8, Vec<Val>)>,
                order: u8,
                kind: (&str, &str),
                c: &ContractRow,
                detail: String,
                date: Option<NaiveDate>,
                amount: Val,
                source: Val| {
        rows.push((
            order,
            vec![
                Val::text(lang.pick(kind.0, kind.1)),
                Val::text(&c.code),
                Val::Text(detail),
                Val::Date(date),
                amount,
                source,
            ],
        ));
    };
    // Payment-level exceptions, straight from the payments table.
    for r in crate::db::read::ledger::irregular_payments(db, &req.scope).await? {
        let Some(c) = in_scope.get(&r.contract_id) else {
            continue;
        };
        let date = r.paid_on;
        let fen = r.amount.fen();
        let voucher = &r.voucher;
        let source = Val::text(format!("{} {}!{}", r.file_name, r.sheet, r.row));
        if let Some(rv) = &r.reversed_voucher {
            let detail = match lang {
                Lang::Zh => format!("凭证 {voucher} 冲销凭证 {rv}"),
                Lang::En => format!("voucher {voucher} reverses {rv}"),
            };
            push(
                &mut rows,
                7,
                ("冲销拨付", "reversed payment"),
                c,
                detail,
                Some(date),
                money(fen),
                source.clone(),
            );
        }
        if date < c.start_on || date > c.end_on {
            let detail = match lang {
                Lang::Zh => format!("凭证 {voucher}；合同期限 {} 至 {}", c.start_on, c.end_on),
                Lang::En => format!("voucher {voucher}; term {} to {}", c.start_on, c.end_on),
            };
            push(
                &mut rows,
                1,
                ("合同期限外拨付", "payment outside the term"),
                c,
                detail,
                Some(date),
                money(fen),
                source,
            );
        }
    }
    for c in &snap.contracts {
        let p = snap.paid.get(&c.id).copied().unwrap_or_default();
        let s = snap.served.get(&c.id).copied().unwrap_or_default();
        if c.end_on < as_of && p.fen < c.value.fen() {
            let detail = match lang {
                Lang::Zh => format!(
                    "已于 {} 结束，尚有 {} 元未拨付",
                    c.end_on,
                    Money::from_fen(c.value.fen() - p.fen)
                ),
                Lang::En => format!(
                    "ended {} with {} unpaid",
                    c.end_on,
                    Money::from_fen(c.value.fen() - p.fen)
                ),
            };
            push(
                &mut rows,
                2,
                ("结束未付清", "ended with balance unpaid"),
                c,
                detail,
                Some(c.end_on),
                money(c.value.fen() - p.fen),
                src(c),
            );
        }
        let running = c.start_on <= as_of && c.end_on >= as_of;
        let three_months_ago = as_of.checked_sub_months(Months::new(3)).unwrap_or(as_of);
        if running
            && c.start_on <= three_months_ago
            && s.last_period_end.is_none_or(|d| d < three_months_ago)
        {
            let detail = match (lang, s.last_period_end) {
                (Lang::Zh, Some(d)) => format!("最近一期服务统计截至 {d}，已超过3个月"),
                (Lang::Zh, None) => "履行中但没有任何服务统计".into(),
                (Lang::En, Some(d)) => format!("last service report ends {d}, over 3 months ago"),
                (Lang::En, None) => "running with no service report at all".into(),
            };
            push(
                &mut rows,
                3,
                ("服务统计缺报", "no recent service report"),
                c,
                detail,
                s.last_period_end,
                Val::Empty,
                src(c),
            );
        }
        if let Some(t) = c.target_people {
            // people < 80% of target, in integers: people * 5 < target * 4
            if c.end_on < as_of && t > 0 && s.people * 5 < t * 4 {
                let detail = match lang {
                    Lang::Zh => format!("服务 {} 人，计划 {} 人，不足80%", s.people, t),
                    Lang::En => format!("served {} of a target of {}, under 80%", s.people, t),
                };
                push(
                    &mut rows,
                    4,
                    ("服务人数未达标", "people served under 80% of target"),
                    c,
                    detail,
                    Some(c.end_on),
                    Val::Empty,
                    src(c),
                );
            }
        }
        if c.end_on >= c.start_on + Months::new(12) {
            let detail = match lang {
                Lang::Zh => format!("服务期限 {} 至 {}，超过1年", c.start_on, c.end_on),
                Lang::En => format!("term {} to {}, over one year", c.start_on, c.end_on),
            };
            push(
                &mut rows,
                5,
                ("服务期限超过1年", "term over one year"),
                c,
                detail,
                Some(c.start_on),
                money(c.value.fen()),
                src(c),
            );
        }
        if p.count == 0 && c.start_on <= as_of {
            let detail = lang
                .pick("已开始但没有任何拨付", "started, with no payment at all")
                .to_string();
            push(
                &mut rows,
                8,
                ("无拨付记录", "no payment at all"),
                c,
                detail,
                Some(c.start_on),
                money(c.value.fen()),
                src(c),
            );
        }
    }
    // One USCC under several names, and one name under several USCCs.
    let mut names_of: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    let mut usccs_of: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
    for c in &snap.contracts {
        if let Some(u) = &c.uscc {
            names_of.entry(u).or_default().insert(&c.provider_name);
            usccs_of.entry(&c.provider_name).or_default().insert(u);
        }
    }
    for c in &snap.contracts {
        if let Some(u) = &c.uscc {
            let names = &names_of[u.as_str()];
            if names.len() > 1 {
                let mut n: Vec<&str> = names.iter().copied().collect();
                n.sort();
                let detail = format!("{u}: {}", n.join(" / "));
                push(
                    &mut rows,
                    6,
                    ("同一信用代码多个名称", "one USCC under several names"),
                    c,
                    detail,
                    None,
                    Val::Empty,
                    src(c),
                );
            }
            let us = &usccs_of[c.provider_name.as_str()];
            if us.len() > 1 {
                let mut n: Vec<&str> = us.iter().copied().collect();
                n.sort();
                let detail = format!("{}: {}", c.provider_name, n.join(" / "));
                push(
                    &mut rows,
                    6,
                    ("同一名称多个信用代码", "one name under several USCCs"),
                    c,
                    detail,
                    None,
                    Val::Empty,
                    src(c),
                );
            }
        }
    }
    let settings = crate::budgets::settings();
    for (order, kind, code, detail, date, amount, source) in
        budget::exceptions(db, snap, req, &settings).await?
    {
        rows.push((
            order,
            vec![
                Val::text(lang.pick(kind.0, kind.1)),
                Val::Text(code),
                Val::Text(detail),
                Val::Date(date),
                amount,
                source,
            ],
        ));
    }
    rows.extend(evaluations::exception_rows(db, snap, req).await?);
    rows.sort_by(|a, b| {
        (a.0, a.1[1].plain(), a.1[3].plain()).cmp(&(b.0, b.1[1].plain(), b.1[3].plain()))
    });
    report.rows = rows.into_iter().map(|(_, r)| r).collect();
    Ok(())
}

async fn history(
    db: &impl ConnectionTrait,
    req: &Request,
    mut report: Report,
) -> Result<Report, DbErr> {
    let lang = req.lang;
    report.columns = vec![
        Column::new("time", "时间", "Time"),
        Column::new("batch", "批次", "Batch"),
        Column::new("file", "文件", "File"),
        Column::new("actor", "操作人", "Who"),
        Column::new("what", "对象", "What"),
        Column::new("field", "字段", "Field"),
        Column::new("old", "原值", "Old value"),
        Column::new("new", "新值", "New value"),
    ];
    let batches = crate::db::read::history::batches(db, &req.scope).await?;
    let mut rows: Vec<(i64, i64, Vec<Val>)> = Vec::new();
    let when = crate::dates::local_time;
    for b in batches {
        let counts = match lang {
            Lang::Zh => format!(
                "新增 {}，更新 {}，未变 {}",
                b.inserted, b.updated, b.unchanged
            ),
            Lang::En => format!(
                "{} new, {} updated, {} unchanged",
                b.inserted, b.updated, b.unchanged
            ),
        };
        rows.push((
            b.id,
            0,
            vec![
                Val::Text(when(b.recorded_at)),
                Val::Int(b.id),
                Val::Text(b.file_name),
                Val::Text(b.actor),
                Val::text(lang.pick("导入文件", "import")),
                Val::text("sha256"),
                Val::Empty,
                Val::Text(format!("{} ({counts})", b.sha256)),
            ],
        ));
    }
    for h in crate::db::read::history::changes(db, &req.scope).await? {
        rows.push((
            h.batch_id,
            h.id,
            vec![
                Val::Text(when(h.changed_at)),
                Val::Int(h.batch_id),
                Val::Text(h.file_name),
                Val::Text(h.actor),
                Val::Text(h.record_key),
                Val::Text(h.field),
                Val::Text(h.old_value.unwrap_or_default()),
                Val::Text(h.new_value.unwrap_or_default()),
            ],
        ));
    }
    rows.sort_by_key(|r| (r.0, r.1));
    report.rows = rows.into_iter().map(|r| r.2).collect();
    Ok(report)
}
