use chrono::{NaiveDate, TimeZone, Utc};

use super::*;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn ledger() -> Ledger {
    let mut batches = HashMap::new();
    batches.insert(1, Utc.with_ymd_and_hms(2019, 1, 5, 2, 0, 0).unwrap());
    batches.insert(2, Utc.with_ymd_and_hms(2019, 3, 1, 2, 0, 0).unwrap());
    batches.insert(3, Utc.with_ymd_and_hms(2019, 7, 5, 2, 0, 0).unwrap());
    Ledger {
        contracts: vec![Contract {
            code: "GD-001".into(),
            title: "居家养老".into(),
            category: Category::Elderly,
            provider_id: 7,
            provider_name: "甲中心".into(),
            uscc: Some("52440000MJL000000X".into()),
            purchaser: Some("区民政局".into()),
            method: Some(ProcurementMethod::CompetitiveConsultation),
            funding: Some(FundingSource::Budget),
            value: Money::parse("2000.00").unwrap(),
            signed_on: Some(day(2019, 1, 1)),
            start_on: day(2019, 1, 1),
            end_on: day(2019, 12, 31),
            target_people: Some(100),
            budget_code: Some("YS-01".into()),
            batch_id: 1,
            changes: vec![Change {
                batch_id: 3,
                field: "value".into(),
                old: Some("1000.00".into()),
                new: Some("2000.00".into()),
            }],
            payments: vec![
                Payment {
                    voucher: "V1".into(),
                    paid_on: day(2019, 2, 1),
                    amount: Money::parse("300.10").unwrap(),
                    tranche: None,
                    reverses: None,
                    batch_id: 2,
                },
                Payment {
                    voucher: "V2".into(),
                    paid_on: day(2019, 7, 3),
                    amount: Money::parse("-300.10").unwrap(),
                    tranche: None,
                    reverses: Some("V1".into()),
                    batch_id: 3,
                },
            ],
            services: vec![Service {
                period_start: day(2019, 2, 1),
                period_end: day(2019, 2, 28),
                label: "2019-02".into(),
                new_people: Some(12),
                sessions: Some(30),
                batch_id: 2,
            }],
            evaluations: vec![Evaluation {
                root_id: 5,
                kind: crate::evaluations::EvaluationType::Interim,
                evaluator: Some("乙评估所".into()),
                evaluator_uscc: Some("52440000MJL000001X".into()),
                evaluated_on: day(2019, 6, 30),
                score: crate::evaluations::Score::from_centi(8550),
                grade: crate::evaluations::Grade::Good,
                findings: None,
                batch_id: 3,
            }],
        }],
        budget_lines: vec![BudgetLine {
            year: 2019,
            code: "YS-01".into(),
            name: "养老服务".into(),
            funding: FundingSource::Budget,
            amount: Money::parse("5000.00").unwrap(),
            approval_doc: "民财〔2019〕1号".into(),
            approval_date: day(2019, 1, 2),
            adjusts_doc: None,
            batch_id: 1,
        }],
        batches,
    }
}

fn opts() -> Options {
    Options {
        prefix: DEFAULT_PREFIX.into(),
        as_of: day(2019, 7, 31),
    }
}

#[test]
fn every_stage_becomes_a_release_with_its_tag_in_date_order() {
    let ps = processes(&ledger(), &opts());
    let tags: Vec<String> = ps[0]
        .releases
        .iter()
        .map(|r| r.get("tag").unwrap().to_text())
        .collect();
    assert_eq!(
        tags,
        [
            "[\"planning\"]",
            "[\"tender\"]",
            "[\"award\"]",
            "[\"contract\"]",
            "[\"implementation\"]",
            "[\"implementation\"]",
            "[\"implementation\"]",
            "[\"contractAmendment\"]"
        ]
    );
    assert_eq!(ps[0].ocid, "ocds-procure-GD-001");
    let first = ps[0].releases[0].get("date").unwrap().as_str().unwrap();
    assert_eq!(first, "2019-01-05T10:00:00+08:00");
}

#[test]
fn amounts_are_written_as_exact_decimal_text() {
    let text = String::from_utf8(write(&ledger(), &opts(), PackageKind::Release)).unwrap();
    assert!(
        text.contains("\"amount\":300.10,\"currency\":\"CNY\""),
        "{text}"
    );
    assert!(text.contains("\"amount\":-300.10"));
    assert!(text.contains("\"id\":\"V2-reverses-V1\""));
    assert!(text
        .contains("\"procurementMethod\":\"limited\",\"procurementMethodDetails\":\"竞争性磋商\""));
}

#[test]
fn the_compiled_release_merges_transactions_metrics_and_amendments() {
    let ps = processes(&ledger(), &opts());
    let c = ps[0].compiled();
    let contract = match c.get("contracts").unwrap() {
        J::Arr(a) => a[0].clone(),
        _ => panic!(),
    };
    // the amendment's value wins; the contract release's 1000.00 came first
    assert_eq!(
        contract.get("value").unwrap().get("amount"),
        Some(&J::Num("2000.00".into()))
    );
    let imp = contract.get("implementation").unwrap();
    let J::Arr(ts) = imp.get("transactions").unwrap() else {
        panic!()
    };
    assert_eq!(ts.len(), 2);
    let J::Arr(ms) = imp.get("metrics").unwrap() else {
        panic!()
    };
    assert_eq!(ms.len(), 2);
    assert_eq!(contract.get("status").unwrap().as_str(), Some("active"));
    let J::Arr(am) = contract.get("amendments").unwrap() else {
        panic!()
    };
    assert_eq!(
        am[0].get("amendsReleaseID").unwrap().as_str(),
        Some("ocds-procure-GD-001-contract-1")
    );
    assert_eq!(c.get("tag").unwrap().to_text(), "[\"compiled\"]");
}

#[test]
fn merge_removes_nulls_and_replaces_arrays_without_ids() {
    let mut a = J::obj()
        .with("x", J::int(1))
        .with("roles", J::Arr(vec![J::s("a")]))
        .with("o", J::obj().with("k", J::int(1)).with("m", J::int(2)));
    let b = J::obj()
        .with("x", J::Null)
        .with("roles", J::Arr(vec![J::s("b")]))
        .with("o", J::obj().with("m", J::int(3)));
    merge(&mut a, &b);
    assert_eq!(a.to_text(), "{\"roles\":[\"b\"],\"o\":{\"k\":1,\"m\":3}}");
}

#[test]
fn the_same_ledger_writes_the_same_bytes() {
    let one = write(&ledger(), &opts(), PackageKind::Record);
    let two = write(&ledger(), &opts(), PackageKind::Record);
    assert_eq!(one, two);
}

#[test]
fn methods_map_to_the_codelist() {
    assert_eq!(method_code(ProcurementMethod::OpenTender), "open");
    assert_eq!(method_code(ProcurementMethod::InvitedTender), "selective");
    assert_eq!(method_code(ProcurementMethod::SingleSource), "direct");
    assert_eq!(method_code(ProcurementMethod::Inquiry), "selective");
}

#[test]
fn strings_are_escaped() {
    assert_eq!(J::s("a\"b\\c\n").to_text(), "\"a\\\"b\\\\c\\n\"");
}

#[test]
fn a_page_names_the_next_one_in_links() {
    let text = String::from_utf8(write_page(
        &ledger(),
        &opts(),
        PackageKind::Record,
        Some("/api/v1/ocds/records?as_of=2019-07-31&after=GD-001".into()),
    ))
    .unwrap();
    assert!(text.ends_with(
        ",\"links\":{\"next\":\"/api/v1/ocds/records?as_of=2019-07-31&after=GD-001\"}}\n"
    ));
    let none = Ledger {
        contracts: Vec::new(),
        ..ledger()
    };
    let none = String::from_utf8(write_page(&none, &opts(), PackageKind::Record, None)).unwrap();
    assert!(none.ends_with("\"records\":[]}\n"));
}

#[test]
fn an_evaluation_is_an_assessment_milestone_with_its_evaluator_a_party() {
    let ps = processes(&ledger(), &opts());
    let text = ps[0].compiled().to_text();
    assert!(text.contains("\"type\":\"assessment\",\"code\":\"interim\",\"description\":\"得分 85.50；等级 良好；评价机构 乙评估所\",\"status\":\"met\""), "{text}");
    assert!(text.contains("\"id\":\"CN-USCI-52440000MJL000001X\",\"name\":\"乙评估所\""));
}

#[test]
fn the_streamed_package_is_the_package_built_whole() {
    let l = ledger();
    for kind in [PackageKind::Release, PackageKind::Record] {
        let ps = processes(&l, &opts());
        let whole = match kind {
            PackageKind::Release => release_package(&l, &opts(), &ps),
            PackageKind::Record => record_package(&l, &opts(), &ps),
        };
        let mut text = whole.to_text();
        text.push('\n');
        assert_eq!(String::from_utf8(write(&l, &opts(), kind)).unwrap(), text);
    }
}
