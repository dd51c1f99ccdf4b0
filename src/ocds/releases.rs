//! One contract's releases: which stages, what each carries, and its parties.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::{
    day_end, day_start, instant, method_code, ocid, BudgetLine, Contract, Ledger, Options, J,
};
use crate::money::Money;

/// One contracting process: its ocid and its releases in date order.
#[derive(Debug, Clone)]
pub struct Process {
    pub ocid: String,
    pub releases: Vec<J>,
}

impl Process {
    /// The compiled release: every release merged in order by the OCDS merge rules.
    pub fn compiled(&self) -> J {
        let mut c = J::obj();
        for r in &self.releases {
            super::merge(&mut c, r);
        }
        let last = self.releases.last();
        let date = last.and_then(|r| r.get("date")).cloned().unwrap_or(J::Null);
        let last_id = last
            .and_then(|r| r.get("id"))
            .and_then(J::as_str)
            .unwrap_or("none")
            .to_string();
        c.set("id", J::s(format!("{}-compiled-{last_id}", self.ocid)));
        c.set("date", date);
        c.set("tag", J::Arr(vec![J::s("compiled")]));
        c
    }
}

fn reference(id: &str, name: &str) -> J {
    J::obj().with("id", J::s(id)).with("name", J::s(name))
}

fn value(m: Money) -> J {
    J::obj()
        .with("amount", J::money(m))
        .with("currency", J::s("CNY"))
}

fn period(start: NaiveDate, end: NaiveDate) -> J {
    J::obj()
        .with("startDate", J::s(day_start(start)))
        .with("endDate", J::s(day_end(end)))
}

/// The parties of a contract's process, with the ids its references use.
struct Parties {
    buyer: (String, String),
    supplier: (String, String),
    funder: Option<(String, String)>,
    list: J,
}

/// A third-party evaluator's party id and name: by its USCC where given.
fn evaluator(e: &super::Evaluation) -> (String, String) {
    let name = e
        .evaluator
        .clone()
        .unwrap_or_else(|| "评价机构（未填写）".to_string());
    match &e.evaluator_uscc {
        Some(u) => (format!("CN-USCI-{u}"), name),
        None => (format!("evaluator-{name}"), name),
    }
}

fn parties(c: &Contract, with_budget: bool) -> Parties {
    let buyer_name = c
        .purchaser
        .clone()
        .unwrap_or_else(|| "采购人（未填写）".to_string());
    let buyer_id = format!("buyer-{buyer_name}");
    let (supplier_id, identifier) = match &c.uscc {
        Some(u) => (
            format!("CN-USCI-{u}"),
            Some(
                J::obj()
                    .with("scheme", J::s("CN-USCI"))
                    .with("id", J::s(u.clone()))
                    .with("legalName", J::s(c.provider_name.clone())),
            ),
        ),
        None => (format!("provider-{}", c.provider_id), None),
    };
    let roles = |rs: &[&str]| J::Arr(rs.iter().map(|r| J::s(*r)).collect());
    let mut list = vec![
        J::obj()
            .with("id", J::s(buyer_id.clone()))
            .with("name", J::s(buyer_name.clone()))
            .with("roles", roles(&["buyer", "procuringEntity", "payer"])),
        J::obj()
            .with("id", J::s(supplier_id.clone()))
            .with("name", J::s(c.provider_name.clone()))
            .with_opt("identifier", identifier)
            .with("roles", roles(&["supplier", "payee"])),
    ];
    let funder = c
        .funding
        .map(|f| (format!("funding-{}", f.code()), f.zh().to_string()));
    if let Some((id, name)) = &funder {
        let rs: &[&str] = if with_budget {
            &["funder", "sourceParty"]
        } else {
            &["funder"]
        };
        list.push(
            J::obj()
                .with("id", J::s(id.clone()))
                .with("name", J::s(name.clone()))
                .with("roles", roles(rs)),
        );
    }
    for e in &c.evaluations {
        let (id, name) = evaluator(e);
        if !list
            .iter()
            .any(|p| p.get("id").and_then(J::as_str) == Some(id.as_str()))
        {
            let identifier = e.evaluator_uscc.as_ref().map(|u| {
                J::obj()
                    .with("scheme", J::s("CN-USCI"))
                    .with("id", J::s(u.clone()))
                    .with("legalName", J::s(name.clone()))
            });
            list.push(
                J::obj()
                    .with("id", J::s(id))
                    .with("name", J::s(name))
                    .with_opt("identifier", identifier)
                    .with("roles", roles(&["reviewBody"])),
            );
        }
    }
    Parties {
        buyer: (buyer_id, buyer_name),
        supplier: (supplier_id, c.provider_name.clone()),
        funder,
        list: J::Arr(list),
    }
}

/// The budget line a contract names: its rows (the line and its adjustments) of the year
/// the contract counts from, or of the latest year that has the code.
fn budget_rows<'a>(c: &Contract, lines: &'a [BudgetLine]) -> Vec<&'a BudgetLine> {
    let Some(code) = &c.budget_code else {
        return Vec::new();
    };
    let rows: Vec<&BudgetLine> = lines.iter().filter(|l| &l.code == code).collect();
    let year = c.signed_on.unwrap_or(c.start_on).format("%Y").to_string();
    let year: i32 = year.parse().unwrap_or(0);
    let pick = if rows.iter().any(|l| l.year == year) {
        year
    } else {
        match rows.iter().map(|l| l.year).max() {
            Some(y) => y,
            None => return Vec::new(),
        }
    };
    rows.into_iter().filter(|l| l.year == pick).collect()
}

/// The fields of a contract before any recorded change of value or term.
fn original(c: &Contract) -> (Money, NaiveDate, NaiveDate) {
    let (mut value, mut start, mut end) = (c.value, c.start_on, c.end_on);
    let mut seen = std::collections::HashSet::new();
    for ch in &c.changes {
        if !seen.insert(ch.field.as_str()) {
            continue;
        }
        let old = ch.old.as_deref().unwrap_or_default();
        match ch.field.as_str() {
            "value" => value = Money::parse(old).unwrap_or(value),
            "start_on" => start = old.parse().unwrap_or(start),
            "end_on" => end = old.parse().unwrap_or(end),
            _ => {}
        }
    }
    (value, start, end)
}

fn contract_status(start: NaiveDate, end: NaiveDate, as_of: NaiveDate) -> &'static str {
    if as_of < start {
        "pending"
    } else if as_of > end {
        "terminated"
    } else {
        "active"
    }
}

/// What one batch brought a contract: transactions, and observations by metric id.
type Delivery = (Vec<J>, Vec<(String, J)>);

/// Every release of one contract's process, in date order.
pub fn process_releases(c: &Contract, ledger: &Ledger, opts: &Options) -> Process {
    let oc = ocid(&opts.prefix, &c.code);
    let when = |batch: i64| {
        ledger
            .batches
            .get(&batch)
            .map(|t| instant(*t))
            .unwrap_or_else(|| "1970-01-01T08:00:00+08:00".to_string())
    };
    let budget = budget_rows(c, &ledger.budget_lines);
    let p = parties(c, !budget.is_empty());
    let award_id = format!("{}-award", c.code);
    // (date, stage order, release): sorted so that releases of one batch keep stage order.
    let mut out: Vec<(String, u8, J)> = Vec::new();
    let release = |stage: &str, batch: i64, tag: &str| {
        J::obj()
            .with("ocid", J::s(oc.clone()))
            .with("id", J::s(format!("{oc}-{stage}-{batch}")))
            .with("date", J::s(when(batch)))
            .with("tag", J::Arr(vec![J::s(tag)]))
            .with("initiationType", J::s("tender"))
            .with("language", J::s("zh"))
            .with("parties", p.list.clone())
            .with("buyer", reference(&p.buyer.0, &p.buyer.1))
    };

    if !budget.is_empty() {
        let last_batch = budget
            .iter()
            .map(|l| l.batch_id)
            .max()
            .unwrap_or(c.batch_id);
        let total = Money::checked_sum(budget.iter().map(|l| l.amount)).unwrap_or(Money::ZERO);
        let line = budget
            .iter()
            .find(|l| l.adjusts_doc.is_none())
            .unwrap_or(&budget[0]);
        let source = reference(
            &format!("funding-{}", line.funding.code()),
            line.funding.zh(),
        );
        let breakdown = budget
            .iter()
            .map(|l| {
                let y = l.year;
                let from = NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(l.approval_date);
                let to = NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(l.approval_date);
                let what = match &l.adjusts_doc {
                    None => format!("{} 批复 {}", l.name, l.approval_doc),
                    Some(d) => format!("{} 调整 {}（调整 {d}）", l.name, l.approval_doc),
                };
                J::obj()
                    .with(
                        "id",
                        J::s(format!("{}-{}-{}", l.year, l.code, l.approval_doc)),
                    )
                    .with("description", J::s(what))
                    .with("amount", value(l.amount))
                    .with("period", period(from, to))
                    .with(
                        "sourceParty",
                        reference(&format!("funding-{}", l.funding.code()), l.funding.zh()),
                    )
            })
            .collect();
        let mut r = release("planning", last_batch, "planning").with(
            "planning",
            J::obj().with(
                "budget",
                J::obj()
                    .with("id", J::s(format!("{}-{}", line.year, line.code)))
                    .with("description", J::s(line.name.clone()))
                    .with("amount", value(total))
                    .with("budgetBreakdown", J::Arr(breakdown)),
            ),
        );
        // The budget line's funder is a party of this release even where the contract
        // names no funding source.
        if p.funder.as_ref().map(|f| f.0.as_str()) != source.get("id").and_then(J::as_str) {
            let mut list = match p.list.clone() {
                J::Arr(l) => l,
                _ => Vec::new(),
            };
            list.push(
                source
                    .clone()
                    .with("roles", J::Arr(vec![J::s("funder"), J::s("sourceParty")])),
            );
            r.set("parties", J::Arr(list));
        }
        out.push((when(last_batch), 0, r));
    }

    let (v0, s0, e0) = original(c);
    let tender = J::obj()
        .with("id", J::s(format!("{}-tender", c.code)))
        .with("title", J::s(c.title.clone()))
        .with("status", J::s("complete"))
        .with("mainProcurementCategory", J::s("services"))
        .with_opt("procurementMethod", c.method.map(|m| J::s(method_code(m))))
        .with_opt("procurementMethodDetails", c.method.map(|m| J::s(m.zh())))
        .with("procuringEntity", reference(&p.buyer.0, &p.buyer.1));
    out.push((
        when(c.batch_id),
        1,
        release("tender", c.batch_id, "tender").with("tender", tender),
    ));

    let award = J::obj()
        .with("id", J::s(award_id.clone()))
        .with("title", J::s(c.title.clone()))
        .with("status", J::s("active"))
        .with_opt("date", c.signed_on.map(|d| J::s(day_start(d))))
        .with("value", value(v0))
        .with(
            "suppliers",
            J::Arr(vec![reference(&p.supplier.0, &p.supplier.1)]),
        )
        .with("contractPeriod", period(s0, e0));
    out.push((
        when(c.batch_id),
        2,
        release("award", c.batch_id, "award").with("awards", J::Arr(vec![award])),
    ));

    let agreed = c.target_people.map(|n| {
        J::Arr(vec![J::obj()
            .with("id", J::s("people"))
            .with("title", J::s("服务人数"))
            .with(
                "observations",
                J::Arr(vec![J::obj()
                    .with("id", J::s("people-target"))
                    .with("period", period(s0, e0))
                    .with("measure", J::int(n))
                    .with("unit", J::obj().with("name", J::s("人")))]),
            )])
    });
    let contract = J::obj()
        .with("id", J::s(c.code.clone()))
        .with("awardID", J::s(award_id.clone()))
        .with("title", J::s(c.title.clone()))
        .with("status", J::s(contract_status(s0, e0, opts.as_of)))
        .with("period", period(s0, e0))
        .with("value", value(v0))
        .with_opt("dateSigned", c.signed_on.map(|d| J::s(day_start(d))))
        .with_opt("agreedMetrics", agreed);
    out.push((
        when(c.batch_id),
        3,
        release("contract", c.batch_id, "contract").with("contracts", J::Arr(vec![contract])),
    ));

    // Implementation: one release per batch that brought payments or service reports.
    let mut by_batch: BTreeMap<i64, Delivery> = BTreeMap::new();
    let payer = reference(&p.buyer.0, &p.buyer.1);
    let payee = reference(&p.supplier.0, &p.supplier.1);
    for pay in &c.payments {
        // A reversal's id names the voucher it reverses.
        let id = match &pay.reverses {
            Some(v) => format!("{}-reverses-{v}", pay.voucher),
            None => pay.voucher.clone(),
        };
        let t = J::obj()
            .with("id", J::s(id))
            .with("date", J::s(day_start(pay.paid_on)))
            .with("value", value(pay.amount))
            .with("payer", payer.clone())
            .with("payee", payee.clone());
        by_batch.entry(pay.batch_id).or_default().0.push(t);
    }
    for s in &c.services {
        let per = period(s.period_start, s.period_end);
        let entry = &mut by_batch.entry(s.batch_id).or_default().1;
        if let Some(n) = s.new_people {
            let obs = J::obj()
                .with("id", J::s(format!("people-{}", s.label)))
                .with("period", per.clone())
                .with("measure", J::int(n))
                .with("unit", J::obj().with("name", J::s("人")));
            entry.push(("people".to_string(), obs));
        }
        if let Some(n) = s.sessions {
            let obs = J::obj()
                .with("id", J::s(format!("sessions-{}", s.label)))
                .with("period", per)
                .with("measure", J::int(n))
                .with("unit", J::obj().with("name", J::s("人次")));
            entry.push(("sessions".to_string(), obs));
        }
    }
    for (batch, (transactions, observations)) in by_batch {
        let mut imp = J::obj();
        if !transactions.is_empty() {
            imp.set("transactions", J::Arr(transactions));
        }
        let mut metrics = Vec::new();
        for (mid, title) in [("people", "新增服务人数"), ("sessions", "服务人次")] {
            let obs: Vec<J> = observations
                .iter()
                .filter(|(m, _)| m == mid)
                .map(|(_, o)| o.clone())
                .collect();
            if !obs.is_empty() {
                metrics.push(
                    J::obj()
                        .with("id", J::s(mid))
                        .with("title", J::s(title))
                        .with("observations", J::Arr(obs)),
                );
            }
        }
        if !metrics.is_empty() {
            imp.set("metrics", J::Arr(metrics));
        }
        let contract = J::obj()
            .with("id", J::s(c.code.clone()))
            .with("awardID", J::s(award_id.clone()))
            .with("implementation", imp);
        out.push((
            when(batch),
            4,
            release("implementation", batch, "implementation")
                .with("contracts", J::Arr(vec![contract])),
        ));
    }

    // Evaluations: contract milestones of type assessment, one release per batch that
    // brought them. The score and grade are in the milestone's description; met when graded
    // 合格 or better.
    let mut evals: BTreeMap<i64, Vec<J>> = BTreeMap::new();
    for e in &c.evaluations {
        use crate::evaluations::Grade;
        let met = e.grade != Grade::Fail;
        let mut what = format!(
            "得分 {}；等级 {}；评价机构 {}",
            e.score,
            e.grade.zh(),
            evaluator(e).1
        );
        if let Some(f) = &e.findings {
            what.push_str(&format!("；发现问题：{f}"));
        }
        let m = J::obj()
            .with("id", J::s(format!("{}-evaluation-{}", c.code, e.root_id)))
            .with("title", J::s(format!("{}绩效评价", e.kind.zh())))
            .with("type", J::s("assessment"))
            .with("code", J::s(e.kind.code()))
            .with("description", J::s(what))
            .with("status", J::s(if met { "met" } else { "notMet" }))
            .with_opt("dateMet", met.then(|| J::s(day_start(e.evaluated_on))))
            .with("dateModified", J::s(when(e.batch_id)));
        evals.entry(e.batch_id).or_default().push(m);
    }
    for (batch, milestones) in evals {
        let contract = J::obj()
            .with("id", J::s(c.code.clone()))
            .with("awardID", J::s(award_id.clone()))
            .with("milestones", J::Arr(milestones));
        out.push((
            when(batch),
            4,
            release("evaluation", batch, "implementation")
                .with("contracts", J::Arr(vec![contract])),
        ));
    }

    // Amendments: one release per batch that changed the value or the term.
    let mut changes: BTreeMap<i64, Vec<&super::Change>> = BTreeMap::new();
    for ch in &c.changes {
        changes.entry(ch.batch_id).or_default().push(ch);
    }
    let mut previous = format!("{oc}-contract-{}", c.batch_id);
    for (batch, chs) in changes {
        let this = format!("{oc}-contractAmendment-{batch}");
        let mut contract = J::obj()
            .with("id", J::s(c.code.clone()))
            .with("awardID", J::s(award_id.clone()));
        let mut said = Vec::new();
        let mut per = J::obj();
        for ch in &chs {
            let new = ch.new.clone().unwrap_or_default();
            let old = ch.old.clone().unwrap_or_default();
            match ch.field.as_str() {
                "value" => {
                    if let Ok(m) = Money::parse(&new) {
                        contract.set("value", value(m));
                    }
                    said.push(format!("合同金额 {old} → {new}"));
                }
                "start_on" => {
                    if let Ok(d) = new.parse::<NaiveDate>() {
                        per.set("startDate", J::s(day_start(d)));
                    }
                    said.push(format!("开始日期 {old} → {new}"));
                }
                "end_on" => {
                    if let Ok(d) = new.parse::<NaiveDate>() {
                        per.set("endDate", J::s(day_end(d)));
                    }
                    said.push(format!("结束日期 {old} → {new}"));
                }
                _ => {}
            }
        }
        if per != J::obj() {
            contract.set("period", per);
        }
        contract.set(
            "amendments",
            J::Arr(vec![J::obj()
                .with("id", J::s(format!("{}-amendment-{batch}", c.code)))
                .with("date", J::s(when(batch)))
                .with("rationale", J::s("合同变更（台账重新导入）"))
                .with("description", J::s(said.join("；")))
                .with("amendsReleaseID", J::s(previous.clone()))
                .with("releaseID", J::s(this.clone()))]),
        );
        out.push((
            when(batch),
            5,
            release("contractAmendment", batch, "contractAmendment")
                .with("contracts", J::Arr(vec![contract])),
        ));
        previous = this;
    }

    out.sort_by(|a, b| (&a.0, a.1).cmp(&(&b.0, b.1)));
    Process {
        ocid: oc,
        releases: out.into_iter().map(|(_, _, r)| r).collect(),
    }
}
