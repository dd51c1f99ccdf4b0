//! The sample register and the seeded generator, read back independently (calamine, csv,
//! encoding_rs) rather than through the generator's own types.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use calamine::{open_workbook, Data, Reader, Xlsx};
use chrono::{Datelike, NaiveDate};
use procure::providers::Uscc;
use procure::sample::{generate, write_sample, GenerateOptions, SampleFormat};
use procure::Money;

fn sample() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_sample(dir.path()).unwrap();
    dir
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A register sheet as it was read: header, records (between the header and the total
/// row) and the 合计 row.
struct Table {
    headers: Vec<String>,
    records: Vec<Vec<Data>>,
    total: Vec<Data>,
}

impl Table {
    fn col(&self, header: &str) -> usize {
        self.headers
            .iter()
            .position(|h| h == header)
            .unwrap_or_else(|| panic!("no column {header} in {:?}", self.headers))
    }

    fn column<'a>(&'a self, header: &str) -> impl Iterator<Item = &'a Data> + 'a {
        let c = self.col(header);
        self.records.iter().map(move |r| &r[c])
    }
}

fn read_sheet(path: &Path, name: &str) -> Table {
    let mut wb: Xlsx<_> = open_workbook(path).unwrap();
    let range = wb.worksheet_range(name).unwrap();
    let rows: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
    let h = rows
        .iter()
        .position(|r| r[0] == Data::String("项目编号".into()))
        .expect("a header row");
    let t = rows
        .iter()
        .position(|r| r[0] == Data::String("合计".into()))
        .expect("a total row");
    assert_eq!(t + 1, rows.len(), "the total row is the last row");
    Table {
        headers: rows[h].iter().map(|c| c.to_string()).collect(),
        records: rows[h + 1..t].to_vec(),
        total: rows[t].clone(),
    }
}

fn fen(cell: &Data) -> i64 {
    match cell {
        Data::Float(f) => Money::from_cell_f64(*f).unwrap().fen(),
        Data::Int(i) => i * 100,
        other => panic!("not an amount: {other:?}"),
    }
}

fn count(cell: &Data) -> u64 {
    match cell {
        Data::Float(f) if f.fract() == 0.0 && *f >= 0.0 => *f as u64,
        Data::Int(i) => *i as u64,
        other => panic!("not a count: {other:?}"),
    }
}

fn date(cell: &Data) -> NaiveDate {
    match cell {
        Data::DateTime(dt) => procure::dates::from_excel_serial(dt.as_f64(), false).unwrap(),
        other => panic!("not a date cell: {other:?}"),
    }
}

fn text(cell: &Data) -> String {
    match cell {
        Data::String(s) => s.clone(),
        Data::Empty => String::new(),
        other => panic!("not text: {other:?}"),
    }
}

/// A record as csv text: amounts `1234.50`, dates `2019-06-25`, months `2019-06`.
fn as_csv_text(t: &Table, row: &[Data]) -> Vec<String> {
    row.iter()
        .zip(&t.headers)
        .map(|(cell, h)| match cell {
            Data::DateTime(_) => date(cell).to_string(),
            Data::Float(_) if h.contains("金额") => Money::from_fen(fen(cell)).to_string(),
            Data::Float(_) => count(cell).to_string(),
            Data::String(s) if h == "统计期间" => {
                let (y, m) = procure::dates::parse_month(s).unwrap();
                format!("{y:04}-{m:02}")
            }
            _ => text(cell),
        })
        .collect()
}

fn csv_records(bytes: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r.headers().unwrap().iter().map(String::from).collect();
    let records = r
        .records()
        .map(|rec| rec.unwrap().iter().map(String::from).collect())
        .collect();
    (headers, records)
}

#[test]
fn the_sample_is_the_same_bytes_on_every_run() {
    let (a, b) = (sample(), sample());
    for file in [
        "sample-register.xlsx",
        "sample-budgets.csv",
        "sample-contracts.csv",
        "sample-disbursements.csv",
        "sample-services.csv",
        "sample-evaluations.csv",
        "templates/register-template.xlsx",
    ] {
        let (x, y) = (
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap(),
        );
        assert!(x == y, "{file} differs between runs");
    }
}

#[test]
fn the_sample_holds_97_contracts_worth_exactly_1453_27_wan_yuan() {
    let dir = sample();
    let t = read_sheet(&dir.path().join("sample-register.xlsx"), "项目合同");
    assert_eq!(t.headers, procure::sample::CONTRACT_HEADERS);
    assert_eq!(t.records.len(), 97);
    let values: Vec<i64> = t.column("合同金额（元）").map(fen).collect();
    let sum: i64 = values.iter().sum();
    assert_eq!(fen(&t.total[t.col("合同金额（元）")]), sum);
    assert!((1_450_000_000..=1_459_999_999).contains(&sum), "{sum}");
    assert_eq!(Money::from_fen(sum).to_string(), "14532700.00");
    assert_eq!(Money::from_fen(sum).wan().to_string(), "1453.27");
    assert!(values.iter().all(|v| (5_000_000..=50_000_000).contains(v)));
    let codes: BTreeSet<String> = t.column("项目编号").map(text).collect();
    assert_eq!(codes.len(), 97, "contract codes are unique");
}

#[test]
fn sample_contracts_were_signed_by_mid_2019_for_terms_of_at_most_three_years() {
    let dir = sample();
    let t = read_sheet(&dir.path().join("sample-register.xlsx"), "项目合同");
    let (mut over_a_year, mut into_2020) = (0, 0);
    for r in &t.records {
        let signed = date(&r[t.col("签订日期")]);
        let start = date(&r[t.col("开始日期")]);
        let end = date(&r[t.col("结束日期")]);
        assert!(
            signed >= d(2017, 1, 1) && signed <= d(2019, 6, 30),
            "{signed}"
        );
        assert!(signed <= start && start < end);
        let months = procure::dates::term_months(start, end);
        assert!(months <= 36, "{months}");
        over_a_year += i32::from(months > 12);
        into_2020 += i32::from(end >= d(2020, 1, 1));
    }
    assert!((1..=3).contains(&over_a_year), "{over_a_year}");
    assert!(into_2020 >= 5, "{into_2020}");
}

#[test]
fn sample_contracts_spread_over_categories_places_and_providers() {
    let dir = sample();
    let t = read_sheet(&dir.path().join("sample-register.xlsx"), "项目合同");
    let mut categories = BTreeMap::new();
    for c in t.column("服务类别").map(text) {
        *categories.entry(c).or_insert(0) += 1;
    }
    for c in ["老年服务", "青少年事务", "残障支持", "救困帮扶"] {
        assert!(categories[c] >= 10, "{categories:?}");
    }
    assert!(categories.get("其他").copied().unwrap_or(0) <= 6);
    assert_eq!(categories.len(), 5);
    for (header, list) in [
        (
            "采购方式",
            procure::contracts::ProcurementMethod::ALL
                .iter()
                .map(|m| m.zh())
                .collect::<Vec<_>>(),
        ),
        (
            "资金来源",
            procure::contracts::FundingSource::ALL
                .iter()
                .map(|m| m.zh())
                .collect(),
        ),
    ] {
        assert!(
            t.column(header).all(|c| list.contains(&text(c).as_str())),
            "{header}"
        );
    }
    let streets: BTreeSet<String> = t.column("街道").map(text).collect();
    assert_eq!(streets.len(), 8);
    let communities: BTreeSet<(String, String)> = t
        .records
        .iter()
        .map(|r| (text(&r[t.col("街道")]), text(&r[t.col("社区")])))
        .collect();
    assert!(
        (55..=65).contains(&communities.len()),
        "{}",
        communities.len()
    );
    let mut code_of = BTreeMap::new();
    for r in &t.records {
        let name = text(&r[t.col("承接机构")]);
        let code = text(&r[t.col("统一社会信用代码")]);
        assert_eq!(code_of.entry(name).or_insert(code.clone()), &code);
    }
    assert!((35..=45).contains(&code_of.len()), "{}", code_of.len());
    let distinct: BTreeSet<&String> = code_of.values().collect();
    assert_eq!(distinct.len(), code_of.len(), "one code per provider");
}

#[test]
fn every_sample_uscc_verifies_and_belongs_to_a_guandu_ngo() {
    let dir = sample();
    let t = read_sheet(&dir.path().join("sample-register.xlsx"), "项目合同");
    for code in t.column("统一社会信用代码").map(text) {
        let u = Uscc::parse(&code).unwrap_or_else(|e| panic!("{code}: {e:?}"));
        assert!(
            code.starts_with("52530111") || code.starts_with("51530111"),
            "{code}"
        );
        assert_eq!(u.division(), "530111");
    }
}

#[test]
fn people_served_as_of_2019_06_30_read_5_12_wan_and_reports_run_on_after() {
    let dir = sample();
    let contracts = read_sheet(&dir.path().join("sample-register.xlsx"), "项目合同");
    let starts: BTreeMap<String, (NaiveDate, NaiveDate)> = contracts
        .records
        .iter()
        .map(|r| {
            (
                text(&r[0]),
                (
                    date(&r[contracts.col("开始日期")]),
                    date(&r[contracts.col("结束日期")]),
                ),
            )
        })
        .collect();
    let t = read_sheet(&dir.path().join("sample-register.xlsx"), "服务统计");
    assert_eq!(t.headers, procure::sample::SERVICE_HEADERS);
    let (mut as_of, mut later) = (0u64, 0);
    let mut running: BTreeMap<String, (u64, Option<(i32, u32)>)> = BTreeMap::new();
    for r in &t.records {
        let code = text(&r[0]);
        let (y, m) = procure::dates::parse_month(&text(&r[1])).expect("a month");
        let (new, cumulative) = (count(&r[2]), count(&r[3]));
        let (start, end) = starts[&code];
        let entry = running.entry(code).or_insert((0, None));
        // Monthly from the contract's first month, no gaps, within its term.
        let expected = match entry.1 {
            None => (start.year(), start.month()),
            Some((py, 12)) => (py + 1, 1),
            Some((py, pm)) => (py, pm + 1),
        };
        assert_eq!((y, m), expected);
        assert!(procure::dates::month_start(y, m) <= end);
        entry.0 += new;
        entry.1 = Some((y, m));
        assert_eq!(cumulative, entry.0, "累计 is the running total of 新增");
        if procure::dates::month_end(y, m) <= d(2019, 6, 30) {
            as_of += new;
        } else {
            later += 1;
        }
    }
    assert!((50_000..=59_999).contains(&as_of), "{as_of}");
    assert_eq!(format!("{:.2}", as_of as f64 / 10_000.0), "5.12");
    assert!(later > 0, "reports continue after June 2019");
    let new_total: u64 = t.records.iter().map(|r| count(&r[2])).sum();
    let sessions: u64 = t.records.iter().map(|r| count(&r[4])).sum();
    assert_eq!(count(&t.total[2]), new_total);
    assert_eq!(t.total[3], Data::Empty, "no total of a cumulative column");
    assert_eq!(count(&t.total[4]), sessions);
}

#[test]
fn sample_payments_never_exceed_their_contract_and_include_one_reversal() {
    let dir = sample();
    let path = dir.path().join("sample-register.xlsx");
    let contracts = read_sheet(&path, "项目合同");
    let value: BTreeMap<String, i64> = contracts
        .records
        .iter()
        .map(|r| (text(&r[0]), fen(&r[contracts.col("合同金额（元）")])))
        .collect();
    let t = read_sheet(&path, "拨付记录");
    assert_eq!(t.headers, procure::sample::DISBURSEMENT_HEADERS);
    let mut rows: Vec<(NaiveDate, String, i64, String, String)> = t
        .records
        .iter()
        .map(|r| {
            (
                date(&r[1]),
                text(&r[0]),
                fen(&r[2]),
                text(&r[3]),
                text(&r[5]),
            )
        })
        .collect();
    assert_eq!(
        fen(&t.total[2]),
        rows.iter().map(|r| r.2).sum::<i64>(),
        "合计 is the exact sum"
    );
    let vouchers: BTreeSet<&String> = rows.iter().map(|r| &r.3).collect();
    assert_eq!(vouchers.len(), rows.len(), "one voucher per payment");
    assert!(
        rows.iter().any(|r| r.0 > d(2019, 6, 30)),
        "payments continue after June 2019"
    );

    rows.sort();
    let mut paid: BTreeMap<&String, i64> = BTreeMap::new();
    for (when, code, amount, voucher, _) in &rows {
        let p = paid.entry(code).or_default();
        *p += amount;
        assert!(*p <= value[code], "{code} overpaid by {voucher} on {when}");
        assert!(*p >= 0);
    }

    let reversals: Vec<_> = rows.iter().filter(|r| r.2 < 0).collect();
    assert_eq!(reversals.len(), 1);
    let rev = reversals[0];
    assert!(
        !rev.4.is_empty(),
        "a reversal names the voucher it reverses"
    );
    assert_ne!(rev.3, rev.4, "a reversal has its own voucher");
    let wrong = rows
        .iter()
        .find(|r| r.3 == rev.4)
        .expect("the reversed voucher exists");
    assert_eq!((&wrong.1, wrong.2), (&rev.1, -rev.2));
    assert!(wrong.0 <= rev.0);
    assert_eq!(rows.iter().filter(|r| !r.4.is_empty()).count(), 1);
}

#[test]
fn the_gbk_csv_decodes_as_gbk_and_equals_the_workbook() {
    let dir = sample();
    let book = dir.path().join("sample-register.xlsx");
    let bytes = std::fs::read(dir.path().join("sample-disbursements.csv")).unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file is not UTF-8"
    );
    let text = encoding_rs::GBK
        .decode_without_bom_handling_and_without_replacement(&bytes)
        .expect("valid GBK");
    let (headers, records) = csv_records(text.as_bytes());
    let t = read_sheet(&book, "拨付记录");
    assert_eq!(headers, t.headers);
    let want: Vec<Vec<String>> = t.records.iter().map(|r| as_csv_text(&t, r)).collect();
    assert_eq!(records, want);
    assert!(records.iter().any(|r| r[2].starts_with('-')));
}

#[test]
fn the_utf8_csvs_equal_the_workbook_with_and_without_a_bom() {
    let dir = sample();
    let book = dir.path().join("sample-register.xlsx");
    for (file, sheet, bom) in [
        ("sample-contracts.csv", "项目合同", true),
        ("sample-services.csv", "服务统计", false),
    ] {
        let bytes = std::fs::read(dir.path().join(file)).unwrap();
        assert_eq!(bytes.starts_with("\u{feff}".as_bytes()), bom, "{file}");
        let body = std::str::from_utf8(&bytes)
            .unwrap()
            .trim_start_matches('\u{feff}');
        let (headers, records) = csv_records(body.as_bytes());
        let t = read_sheet(&book, sheet);
        assert_eq!(headers, t.headers, "{file}");
        let want: Vec<Vec<String>> = t.records.iter().map(|r| as_csv_text(&t, r)).collect();
        assert_eq!(records, want, "{file}");
    }
}

#[test]
fn the_template_marks_required_columns_and_explains_how_to_fill_them() {
    let dir = sample();
    let mut wb: Xlsx<_> =
        open_workbook(dir.path().join("templates/register-template.xlsx")).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "填写说明",
            "项目合同",
            "拨付记录",
            "服务统计",
            "预算项目",
            "绩效评价"
        ]
    );
    let header = |wb: &mut Xlsx<_>, name: &str| -> Vec<String> {
        let range = wb.worksheet_range(name).unwrap();
        range
            .rows()
            .next()
            .unwrap()
            .iter()
            .map(|c| c.to_string())
            .collect()
    };
    assert_eq!(
        header(&mut wb, "项目合同"),
        [
            "项目编号*",
            "项目名称*",
            "服务类别*",
            "承接机构*",
            "统一社会信用代码",
            "购买主体",
            "街道",
            "社区",
            "采购方式",
            "资金来源",
            "合同金额（元）*",
            "签订日期",
            "开始日期*",
            "结束日期*",
            "计划服务人数",
            "预算项目编码",
        ]
    );
    assert_eq!(
        header(&mut wb, "拨付记录"),
        [
            "项目编号*",
            "拨付日期*",
            "拨付金额（元）*",
            "凭证号*",
            "拨付批次",
            "冲销凭证号",
            "备注"
        ]
    );
    assert_eq!(
        header(&mut wb, "服务统计"),
        [
            "项目编号*",
            "统计期间*",
            "新增服务人数",
            "累计服务人数",
            "服务人次"
        ]
    );
    assert_eq!(
        header(&mut wb, "绩效评价"),
        [
            "项目编号*",
            "评价类型*",
            "评价机构",
            "评价机构统一社会信用代码",
            "评价日期*",
            "得分*",
            "等级",
            "主要问题",
            "整改要求",
            "整改完成日期",
            "更正评价日期"
        ]
    );
    for sheet in ["项目合同", "拨付记录", "服务统计", "绩效评价"] {
        assert_eq!(
            wb.worksheet_range(sheet).unwrap().height(),
            1,
            "{sheet} is blank"
        );
    }
    let help: String = wb
        .worksheet_range("填写说明")
        .unwrap()
        .cells()
        .map(|(_, _, c)| c.to_string())
        .collect();
    for needle in [
        "老年服务/青少年事务/残障支持/救困帮扶/其他",
        "竞争性磋商",
        "福彩公益金",
        "合计",
        "冲销凭证号",
        "负数",
        "重复上传",
        "2019-06-25",
        "合同上的项目全称；不超过500个字符",
        "选填；不超过2000个字符",
        "中期/末期/年度",
        "更正评价日期",
        "第二十五条",
    ] {
        assert!(help.contains(needle), "填写说明 mentions {needle}");
    }
}

fn options(dir: &Path, seed: u64, format: SampleFormat) -> GenerateOptions {
    GenerateOptions {
        out: dir.to_path_buf(),
        seed,
        contracts: 40,
        payments: 1_500,
        services: 400,
        format,
    }
}

#[test]
fn generate_with_a_seed_makes_the_requested_counts_and_the_same_bytes_again() {
    let (a, b, c) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let files = generate(&options(a.path(), 7, SampleFormat::Both)).unwrap();
    // budgets, contracts, disbursements, services and evaluations, as xlsx and csv
    assert_eq!(files.len(), 10);
    generate(&options(b.path(), 7, SampleFormat::Both)).unwrap();
    generate(&options(c.path(), 8, SampleFormat::Csv)).unwrap();
    for f in &files {
        let name = f.file_name().unwrap();
        let x = std::fs::read(f).unwrap();
        assert!(
            x == std::fs::read(b.path().join(name)).unwrap(),
            "{name:?} differs for one seed"
        );
    }
    assert_ne!(
        std::fs::read(a.path().join("disbursements.csv")).unwrap(),
        std::fs::read(c.path().join("disbursements.csv")).unwrap()
    );

    for (file, sheet, headers, n) in [
        (
            "contracts",
            "项目合同",
            &procure::sample::CONTRACT_HEADERS[..],
            40,
        ),
        (
            "disbursements",
            "拨付记录",
            &procure::sample::DISBURSEMENT_HEADERS[..],
            1_500,
        ),
        (
            "services",
            "服务统计",
            &procure::sample::SERVICE_HEADERS[..],
            400,
        ),
    ] {
        let t = read_sheet(&a.path().join(format!("{file}.xlsx")), sheet);
        assert_eq!(t.headers, headers);
        assert_eq!(t.records.len(), n, "{file}.xlsx");
        let bytes = std::fs::read(a.path().join(format!("{file}.csv"))).unwrap();
        let body = std::str::from_utf8(&bytes)
            .unwrap()
            .trim_start_matches('\u{feff}');
        let (h, records) = csv_records(body.as_bytes());
        assert_eq!(h, headers);
        assert_eq!(records.len(), n, "{file}.csv");
        let want: Vec<Vec<String>> = t.records.iter().map(|r| as_csv_text(&t, r)).collect();
        assert_eq!(records, want, "{file}: csv and xlsx hold the same data");
    }
    // Every contract has its end-of-term evaluation, one row each, in the same order.
    let bytes = std::fs::read(a.path().join("evaluations.csv")).unwrap();
    let body = std::str::from_utf8(&bytes)
        .unwrap()
        .trim_start_matches('\u{feff}');
    let (h, records) = csv_records(body.as_bytes());
    assert_eq!(h, procure::sample::EVALUATION_HEADERS);
    assert_eq!(records.iter().filter(|r| r[1] == "末期").count(), 40);
}

#[test]
fn generated_payments_never_exceed_their_contracts_and_reuse_no_voucher() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), 3, SampleFormat::Csv);
    opts.contracts = 5;
    opts.payments = 3_000;
    opts.services = 60;
    generate(&opts).unwrap();
    let read = |f: &str| {
        let bytes = std::fs::read(dir.path().join(f)).unwrap();
        csv_records(
            std::str::from_utf8(&bytes)
                .unwrap()
                .trim_start_matches('\u{feff}')
                .as_bytes(),
        )
        .1
    };
    let value: BTreeMap<String, i64> = read("contracts.csv")
        .into_iter()
        .map(|r| (r[0].clone(), Money::parse(&r[10]).unwrap().fen()))
        .collect();
    let mut paid: BTreeMap<String, i64> = BTreeMap::new();
    let mut vouchers = BTreeSet::new();
    for r in read("disbursements.csv") {
        *paid.entry(r[0].clone()).or_default() += Money::parse(&r[2]).unwrap().fen();
        assert!(vouchers.insert(r[3].clone()), "voucher {} reused", r[3]);
    }
    for (code, p) in paid {
        assert!(p <= value[&code], "{code}: paid {p} of {}", value[&code]);
    }
}

#[test]
fn generate_refuses_more_monthly_reports_than_three_year_terms_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), 1, SampleFormat::Csv);
    opts.contracts = 2;
    opts.services = 73;
    let err = generate(&opts).unwrap_err().to_string();
    assert!(err.contains("at least 3 contracts"), "{err}");
}
