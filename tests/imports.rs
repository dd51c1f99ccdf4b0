//! Importing registers: every format, alias and form; all-or-nothing; cell-level errors;
//! safe re-import; reversals; over-payment; total rows. Both backends.

mod common;

use common::book::*;
use common::TestDb;
use procure::imports::{import_paths, FileStatus, ImportOptions, ImportReport};
use procure::register::columns::SheetKind;
use procure::Lang;
use sea_orm::{ConnectionTrait, Statement};

fn opts() -> ImportOptions {
    ImportOptions {
        actor: "test".into(),
        ..Default::default()
    }
}

async fn import(t: &TestDb, files: &[std::path::PathBuf]) -> ImportReport {
    import_paths(&t.db, files, &opts(), None).await.unwrap()
}

async fn import_with(t: &TestDb, files: &[std::path::PathBuf], o: &ImportOptions) -> ImportReport {
    import_paths(&t.db, files, o, None).await.unwrap()
}

async fn scalar(t: &TestDb, sql: &str) -> i64 {
    t.scalar(sql).await
}

async fn text(t: &TestDb, sql: &str) -> String {
    let row =
        t.db.query_one_raw(Statement::from_string(t.db.get_database_backend(), sql))
            .await
            .unwrap()
            .unwrap();
    row.try_get_by_index::<String>(0).unwrap()
}

/// Every row count of the ledger, to show that a rejected file changed nothing.
async fn ledger_counts(t: &TestDb) -> Vec<i64> {
    let mut v = Vec::new();
    for table in [
        "import_batches",
        "providers",
        "contracts",
        "disbursements",
        "service_reports",
        "change_history",
    ] {
        v.push(scalar(t, &format!("SELECT COUNT(*) FROM {table}")).await);
    }
    v
}

fn errors(r: &ImportReport) -> Vec<String> {
    r.files
        .iter()
        .flat_map(|f| f.errors.iter().map(|p| p.line(Lang::Zh)))
        .collect()
}

/// A small register as a finance office keeps it: title rows, header, records, a total.
fn register(dir: &std::path::Path) -> std::path::PathBuf {
    xlsx(
        dir,
        "register.xlsx",
        &[
            (
                "项目合同",
                vec![
                    vec![s("官渡区政府购买社会组织服务项目台账")],
                    vec![],
                    header(&CONTRACT_HEADER),
                    contract(
                        "GD-001",
                        "居家养老服务",
                        "老年服务",
                        "甲社会工作服务中心",
                        100_000.0,
                        d(2019, 1, 1),
                        d(2019, 12, 31),
                    ),
                    contract(
                        "GD-002",
                        "青少年成长营",
                        "青少年事务",
                        "乙社会工作服务中心",
                        250_000.5,
                        d(2019, 3, 1),
                        d(2020, 2, 29),
                    ),
                    vec![
                        s("合计"),
                        V::Blank,
                        V::Blank,
                        V::Blank,
                        V::Blank,
                        V::Blank,
                        V::Blank,
                        n(350_000.5),
                    ],
                ],
            ),
            (
                "拨付记录",
                vec![
                    vec![s("资金拨付明细")],
                    header(&PAYMENT_HEADER),
                    payment("GD-001", d(2019, 1, 15), 50_000.0, "记-2019-01-001"),
                    payment("GD-002", d(2019, 3, 20), 0.1 + 0.2, "记-2019-03-002"),
                    payment("GD-001", d(2019, 7, 1), 30_000.0, "记-2019-07-003"),
                    vec![s("合计"), V::Blank, n(80_000.3)],
                ],
            ),
            (
                "服务统计",
                vec![
                    header(&SERVICE_HEADER),
                    vec![s("GD-001"), s("2019-01"), n(30.0), n(30.0), n(120.0)],
                    vec![s("GD-001"), s("2019年2月"), n(20.0), n(50.0), n(100.0)],
                    vec![
                        s("GD-002"),
                        s("2019.03.01-2019.05.31"),
                        n(15.0),
                        V::Blank,
                        n(40.0),
                    ],
                ],
            ),
            (
                "通讯录",
                vec![vec![s("姓名"), s("电话")], vec![s("张三"), s("123")]],
            ),
        ],
    )
}

both_backends! {
    async fn a_workbook_with_three_registers_is_stored_whole(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let r = import(t, &[register(dir.path())]).await;
        assert!(r.ok, "{:?}", errors(&r));
        let f = &r.files[0];
        assert_eq!(f.status, FileStatus::Stored);
        assert_eq!(f.format, Some("xlsx"));
        assert_eq!(f.counts[&SheetKind::Contracts].inserted, 2);
        assert_eq!(f.counts[&SheetKind::Disbursements].inserted, 3);
        assert_eq!(f.counts[&SheetKind::Services].inserted, 3);
        let skipped: Vec<_> = f.sheets.iter().filter(|s| s.skipped).map(|s| s.name.as_str()).collect();
        assert_eq!(skipped, ["通讯录"]);
        assert_eq!(f.sheets[0].header_row, Some(3));
        assert_eq!(scalar(t, "SELECT CAST(SUM(value_fen) AS BIGINT) FROM contracts").await, 35_000_050);
        assert_eq!(scalar(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await, 8_000_030);
        assert_eq!(scalar(t, "SELECT CAST(SUM(new_people) AS BIGINT) FROM service_reports").await, 65);
        // provenance: batch, sheet and row of every record
        assert_eq!(text(t, "SELECT source_sheet || '!' || CAST(source_row AS TEXT) FROM disbursements WHERE voucher = '记-2019-03-002'").await, "拨付记录!4");
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements WHERE batch_id = 1").await, 3);
        // the payment after the term (GD-001 ends 2019-12-31? no: 2019-07-01 is inside) gives no warning
        // (no warning but that these contracts name no budget line)
        assert!(f.warnings.iter().all(|w| w.code == "no_budget"), "{:?}", f.warnings);
        let batch = text(t, "SELECT file_name || ' ' || sha256 || ' ' || actor FROM import_batches").await;
        assert!(batch.starts_with("register.xlsx ") && batch.ends_with(" test"), "{batch}");
    }
}

both_backends! {
    async fn importing_the_same_file_again_changes_nothing_and_says_so(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = register(dir.path());
        assert!(import(t, std::slice::from_ref(&file)).await.ok);
        let before = ledger_counts(t).await;
        let r = import(t, &[file]).await;
        assert!(r.ok);
        assert_eq!(r.files[0].status, FileStatus::Unchanged);
        assert_eq!(r.files[0].identical_to_batch, Some(1));
        assert_eq!(r.files[0].total.unchanged, 8);
        assert_eq!(ledger_counts(t).await, before);
    }
}

both_backends! {
    async fn a_changed_register_row_updates_the_contract_and_records_each_field(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(import(t, &[register(dir.path())]).await.ok);
        let changed = xlsx(dir.path(), "changed.xlsx", &[("项目合同", vec![
            header(&CONTRACT_HEADER),
            contract("GD-001", "居家养老服务（续）", "老年服务", "甲社会工作服务中心", 120_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            contract("GD-002", "青少年成长营", "青少年事务", "乙社会工作服务中心", 250_000.5, d(2019, 3, 1), d(2020, 2, 29)),
        ])]);
        let r = import(t, &[changed]).await;
        assert!(r.ok, "{:?}", errors(&r));
        let c = r.files[0].counts[&SheetKind::Contracts];
        assert_eq!((c.inserted, c.updated, c.unchanged), (0, 1, 1));
        assert_eq!(scalar(t, "SELECT value_fen FROM contracts WHERE code = 'GD-001'").await, 12_000_000);
        let h = text(t, "SELECT field || ':' || old_value || '->' || new_value FROM change_history WHERE field = 'value'").await;
        assert_eq!(h, "value:100000.00->120000.00");
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM change_history WHERE batch_id = 2").await, 2);
    }
}

both_backends! {
    async fn every_error_names_its_cell_and_nothing_is_stored(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let bad = xlsx(dir.path(), "bad.xlsx", &[("项目合同", vec![
            header(&CONTRACT_HEADER),
            contract("GD-001", "居家养老", "老年服务", "甲中心", 100_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            vec![s("GD-002"), s("助残"), s("宠物服务"), s("乙中心"), s("123"), s("东华街道"), V::Blank, s("十万元"), V::Blank, s("2019-13-01"), V::D(d(2019, 12, 31))],
            vec![s("GD-003"), V::Blank, s("残障支持"), s("丙中心"), V::Blank, V::Blank, V::Blank, n(1.005_000_1), V::Blank, V::D(d(2019, 1, 1)), V::D(d(2023, 1, 1))],
            contract("GD-001", "重复", "老年服务", "甲中心", 1.0, d(2019, 1, 1), d(2019, 12, 31)),
        ])]);
        let r = import(t, &[bad]).await;
        assert!(!r.ok);
        assert_eq!(r.files[0].status, FileStatus::Rejected);
        let e = errors(&r);
        let has = |needle: &str| assert!(e.iter().any(|l| l.contains(needle)), "no '{needle}' in {e:#?}");
        has("项目合同!C3 值“宠物服务”: 不是有效的服务类别");
        has("项目合同!E3 值“123”: 统一社会信用代码应为18位");
        has("项目合同!H3 值“十万元”: 不是有效金额");
        has("项目合同!J3 值“2019-13-01”: 不是有效日期");
        has("项目合同!B4: “项目名称”为必填项");
        has("项目合同!H4 值“1.0050001”: 金额精确到分");
        has("项目合同!K4 值“2023-01-01”: 服务期限超过3年");
        has("项目合同!A5 值“GD-001”: 与本表第2行重复");
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
        // the same in English
        let en = ImportOptions { lang: Lang::En, ..opts() };
        let r = import_with(t, &[dir.path().join("bad.xlsx")], &en).await;
        let line = r.files[0].errors.iter().map(|p| p.line(Lang::En)).find(|l| l.contains("C3")).unwrap();
        assert_eq!(line, "bad.xlsx 项目合同!C3 value '宠物服务': not a known category; expected one of: 老年服务/青少年事务/残障支持/救困帮扶/其他");
    }
}

both_backends! {
    async fn a_file_with_one_bad_row_stores_nothing(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let f = xlsx(dir.path(), "one-bad.xlsx", &[
            ("合同", vec![
                header(&CONTRACT_HEADER),
                contract("GD-001", "居家养老", "老年服务", "甲中心", 100_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            ]),
            ("拨付", vec![
                header(&PAYMENT_HEADER),
                payment("GD-001", d(2019, 2, 1), 10_000.0, "V1"),
                vec![s("GD-001"), s("2019年2月30日"), n(10.0), s("V2")],
            ]),
        ]);
        let r = import(t, &[f]).await;
        assert!(!r.ok);
        assert_eq!(errors(&r).len(), 1, "{:?}", errors(&r));
        assert!(errors(&r)[0].contains("拨付!B3"));
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
    }
}

both_backends! {
    async fn payments_never_exceed_the_contract_value(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(import(t, &[register(dir.path())]).await.ok);
        // GD-001 is worth 100,000.00 and has 80,000.00 paid
        let over = xlsx(dir.path(), "over.xlsx", &[("拨付", vec![
            header(&PAYMENT_HEADER),
            payment("GD-001", d(2019, 9, 1), 15_000.0, "V-10"),
            payment("GD-001", d(2019, 10, 1), 5_000.01, "V-11"),
        ])]);
        let r = import(t, &[over]).await;
        assert!(!r.ok);
        let e = errors(&r);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].contains("拨付!C3") && e[0].contains("累计拨付将达 100000.01 元，超过合同金额 100000.00 元"), "{}", e[0]);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements").await, 3);
        // exactly the value is allowed
        let exact = xlsx(dir.path(), "exact.xlsx", &[("拨付", vec![
            header(&PAYMENT_HEADER),
            payment("GD-001", d(2019, 9, 1), 20_000.0, "V-12"),
        ])]);
        assert!(import(t, &[exact]).await.ok);
    }
}

both_backends! {
    async fn a_payment_is_corrected_by_a_reversal_never_edited(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(import(t, &[register(dir.path())]).await.ok);
        // the same voucher with another amount is refused
        let edit = xlsx(dir.path(), "edit.xlsx", &[("拨付", vec![
            header(&PAYMENT_HEADER),
            payment("GD-001", d(2019, 1, 15), 5_000.0, "记-2019-01-001"),
        ])]);
        let r = import(t, &[edit]).await;
        assert!(errors(&r)[0].contains("该凭证号已登记为 2019-01-15 50000.00"), "{:?}", errors(&r));
        // a reversal names its voucher; then the right amount is paid again
        let fix = xlsx(dir.path(), "fix.xlsx", &[("拨付", vec![
            header(&PAYMENT_HEADER),
            vec![s("GD-001"), V::D(d(2019, 8, 1)), n(-50_000.0), s("记-2019-08-001"), s("冲销"), s("记-2019-01-001")],
            payment("GD-001", d(2019, 8, 1), 5_000.0, "记-2019-08-002"),
        ])]);
        let r = import(t, &[fix]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(scalar(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements WHERE contract_id = 1").await, 3_500_000);
        let reverses = scalar(t, "SELECT reverses_id FROM disbursements WHERE voucher = '记-2019-08-001'").await;
        assert_eq!(reverses, scalar(t, "SELECT id FROM disbursements WHERE voucher = '记-2019-01-001'").await);
        // reversing it twice, an unknown voucher, or a negative without a voucher is refused
        let twice = xlsx(dir.path(), "twice.xlsx", &[("拨付", vec![
            header(&PAYMENT_HEADER),
            vec![s("GD-001"), V::D(d(2019, 8, 2)), n(-1.0), s("X-1"), V::Blank, s("记-2019-01-001")],
            vec![s("GD-001"), V::D(d(2019, 8, 2)), n(-1.0), s("X-2"), V::Blank, s("NOPE")],
            vec![s("GD-001"), V::D(d(2019, 8, 2)), n(-1.0), s("X-3")],
        ])]);
        let e = errors(&import(t, &[twice]).await);
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(e[0].contains("已被冲销过") && e[1].contains("“NOPE”在该项目下不存在") && e[2].contains("须在“冲销凭证号”列注明"), "{e:?}");
    }
}

both_backends! {
    async fn a_total_row_that_does_not_match_is_an_error(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let f = xlsx(dir.path(), "total.xlsx", &[("合同", vec![
            header(&CONTRACT_HEADER),
            contract("GD-001", "居家养老", "老年服务", "甲中心", 100_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            contract("GD-002", "助残", "残障支持", "乙中心", 0.01, d(2019, 1, 1), d(2019, 12, 31)),
            vec![s("合 计"), V::Blank, V::Blank, V::Blank, V::Blank, V::Blank, V::Blank, n(100_000.0)],
        ])]);
        let r = import(t, &[f]).await;
        let e = errors(&r);
        assert_eq!(e, ["total.xlsx 合同!H4 值“100000”: 合计行的“合同金额”与上方各行之和 100000.01 不符"]);
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
    }
}

both_backends! {
    async fn unknown_contracts_are_errors_unless_an_earlier_file_brings_them(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let pay = write(dir.path(), "pay.csv", "项目编号,拨付日期,拨付金额,凭证号\nGD-001,2019-02-01,100,V1\n");
        let r = import(t, std::slice::from_ref(&pay)).await;
        assert_eq!(errors(&r), ["pay.csv pay!A2 值“GD-001”: 项目编号“GD-001”不存在：请先导入该项目合同"]);
        let con = write(dir.path(), "con.csv", "项目编号,项目名称,服务类别,承接机构,合同金额,服务期限\nGD-001,居家养老,老年服务,甲中心,1000,2019.01.01-2019.12.31\n");
        let r = import(t, &[con, pay]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM import_batches").await, 2);
    }
}

both_backends! {
    async fn a_dry_run_checks_everything_and_stores_nothing(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let con = write(dir.path(), "con.csv", "项目编号,项目名称,服务类别,承接机构,合同金额,服务期限\nGD-001,居家养老,老年服务,甲中心,1000,2019.01.01-2019.12.31\n");
        let pay = write(dir.path(), "pay.csv", "项目编号,拨付日期,拨付金额,凭证号\nGD-001,2019-02-01,100,V1\n");
        let o = ImportOptions { dry_run: true, ..opts() };
        let r = import_with(t, &[con, pay], &o).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert!(r.files.iter().all(|f| f.status == FileStatus::Checked));
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
    }
}

both_backends! {
    async fn every_header_alias_and_unit(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        // English headers, a 万元 column, a term range, full-width and bracket variants
        let con = write(dir.path(), "en.csv", "Contract Code,Title,CATEGORY,Provider,USCC,Sub-district,Community,Procurement Method,Funding Source,金额（万元）,Signed,服务周期,Target\n\
            GD-001,Elderly care,elderly,Sunrise Centre,,East,Star,open tender,general budget,12.5,2019-01-01,2019年1月-12月,300\n");
        let con2 = write(dir.path(), "zh.csv", "合同编号,合同名称,项目类别,承接主体,信用代码,服务街道,服务社区,采购方式,资金来源,项目金额(元),签约日期,服务开始日期,服务结束日期,目标人数\n\
            GD-002,助残,残障支持,明德中心,,西,月,竞争性磋商,福彩公益金,\"1,000.00\",2019/1/1,2019/1/1,2019/6/30,10\n");
        let pay = write(dir.path(), "pay.csv", "合同编号,支付日期,支付金额,凭证编号,批次,备注\nGD-001,2019.2.1,1.5万,V1,首期,ok\n");
        let pay2 = write(dir.path(), "pay2.csv", "code,date,amount,voucher,tranche,note\nGD-002,20190201,(0.00),V1,,\n");
        let svc = write(dir.path(), "svc.csv", "项目代码,月份,新增服务对象,cumulative people,sessions\nGD-001,2019年1月,10,10,20\nGD-001,2019-02,,25,\n");
        let r = import(t, &[con, con2, pay, svc]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(scalar(t, "SELECT value_fen FROM contracts WHERE code = 'GD-001'").await, 12_500_000);
        assert_eq!(text(t, "SELECT method || ',' || funding || ',' || CAST(end_on AS TEXT) FROM contracts WHERE code = 'GD-002'").await, "competitive_consultation,welfare_lottery,2019-06-30");
        assert_eq!(text(t, "SELECT CAST(end_on AS TEXT) FROM contracts WHERE code = 'GD-001'").await, "2019-12-31");
        assert_eq!(scalar(t, "SELECT amount_fen FROM disbursements").await, 1_500_000);
        // only the cumulative figure given: the new people are what it adds
        assert_eq!(scalar(t, "SELECT new_people FROM service_reports WHERE period_label = '2019-02'").await, 15);
        // a zero amount is refused with its cell
        let r = import(t, &[pay2]).await;
        assert_eq!(errors(&r), ["pay2.csv pay2!C2 值“(0.00)”: 金额应大于0（冲销请填负数并注明冲销凭证号）"]);
    }
}

both_backends! {
    async fn every_amount_and_date_form(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let con = write(dir.path(), "con.csv", "项目编号,项目名称,服务类别,承接机构,合同金额（元）,开始日期,结束日期\n\
            A,t,老年服务,p,\"1,234.50\",2019-06-25,2019-12-31\n\
            B,t,老年服务,p,\"¥1,234.50\",2019/6/25,2019/12/31\n\
            C,t,老年服务,p,1234.5元,2019年6月25日,2019年12月31日\n\
            D,t,老年服务,p,１２３４.５０,2019.6.25,2019.12.31\n\
            E,t,老年服务,p,\u{a0}1\u{a0}234.50 ,20190625,20191231\n\
            F,t,老年服务,p,0.12345万,2019-06-25,2019-12-31\n");
        let r = import(t, &[con]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(scalar(t, "SELECT COUNT(DISTINCT value_fen) FROM contracts").await, 1);
        assert_eq!(scalar(t, "SELECT COUNT(DISTINCT start_on) FROM contracts").await, 1);
        assert_eq!(scalar(t, "SELECT MIN(value_fen) FROM contracts").await, 123_450);
        // negative in brackets is a reversal
        let pay = write(dir.path(), "pay.csv", "项目编号,拨付日期,拨付金额（元）,凭证号,冲销凭证号\nA,2019-07-01,1000,V1,\nA,2019-07-02,\"(1,000.00)\",V2,V1\n");
        assert!(import(t, &[pay]).await.ok);
        assert_eq!(scalar(t, "SELECT MIN(amount_fen) FROM disbursements").await, -100_000);
    }
}

both_backends! {
    async fn gbk_csv_and_unicode_tsv_are_read(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let text_csv = "项目编号,项目名称,服务类别,承接机构,合同金额（元）,开始日期,结束日期\nGD-001,居家养老服务,老年服务,甲社会工作服务中心,1000,2019-01-01,2019-12-31\n";
        let (gbk, _, _) = encoding_rs::GBK.encode(text_csv);
        let f = write(dir.path(), "gbk.csv", &gbk);
        let r = import(t, &[f]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(text(t, "SELECT title FROM contracts").await, "居家养老服务");
        // Excel's "Unicode text": UTF-16LE with BOM, tab-separated
        let tsv = "项目编号\t拨付日期\t拨付金额（元）\t凭证号\nGD-001\t2019-02-01\t100.00\t记-1\n";
        let mut bytes = vec![0xff, 0xfe];
        for u in tsv.encode_utf16() {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let f = write(dir.path(), "pay.txt", &bytes);
        let r = import(t, &[f]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(scalar(t, "SELECT amount_fen FROM disbursements").await, 10_000);
    }
}

both_backends! {
    async fn cumulative_people_must_agree_with_the_running_total(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        assert!(import(t, &[register(dir.path())]).await.ok);
        // GD-001 has 30 + 20 = 50 so far
        let svc = xlsx(dir.path(), "svc.xlsx", &[("服务", vec![
            header(&SERVICE_HEADER),
            vec![s("GD-001"), s("2019-03"), n(10.0), n(61.0)],
            vec![s("GD-001"), s("2019-04")],
        ])]);
        let e = errors(&import(t, &[svc]).await);
        assert_eq!(e, [
            "svc.xlsx 服务!D2 值“61”: 累计服务人数应为此前新增人数之和 60",
            "svc.xlsx 服务!C3: 新增服务人数与累计服务人数至少填写一项",
        ]);
        let overlap = xlsx(dir.path(), "overlap.xlsx", &[("服务", vec![
            header(&SERVICE_HEADER),
            vec![s("GD-001"), s("2019.02.15-2019.03.15"), n(1.0)],
        ])]);
        let e = errors(&import(t, &[overlap]).await);
        assert_eq!(e, ["overlap.xlsx 服务!B2 值“2019-02-15..2019-03-15”: 统计期间与已有期间 2019-02 重叠，人数会被重复计算"]);
    }
}

both_backends! {
    async fn a_term_over_one_year_and_a_payment_outside_it_are_warnings(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let f = xlsx(dir.path(), "warn.xlsx", &[
            ("合同", vec![
                header(&CONTRACT_HEADER),
                contract("GD-001", "居家养老", "老年服务", "甲中心", 100_000.0, d(2019, 1, 1), d(2020, 6, 30)),
            ]),
            ("拨付", vec![header(&PAYMENT_HEADER), payment("GD-001", d(2020, 8, 1), 100.0, "V1")]),
        ]);
        let r = import(t, &[f]).await;
        assert!(r.ok, "{:?}", errors(&r));
        // (and no_budget: the contract names no budget line)
        let w: Vec<&str> = r.files[0].warnings.iter().map(|p| p.code).filter(|c| *c != "no_budget").collect();
        // Paid after the term with no end-of-term evaluation (Order 102 art. 25) as well.
        assert_eq!(w, ["term_over_1_year", "payment_outside_term", "final_payment_before_evaluation"]);
        assert_eq!(scalar(t, "SELECT warnings FROM import_batches").await, 4);
    }
}

both_backends! {
    async fn one_uscc_under_two_names_is_a_warning(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let u = procure::providers::Uscc::complete("52530111MJ0000001");
        let con = write(dir.path(), "con.csv", format!("项目编号,项目名称,服务类别,承接机构,统一社会信用代码,合同金额,开始日期,结束日期\n\
            A,t,老年服务,甲中心,{u},1000,2019-01-01,2019-12-31\nB,t,老年服务,甲社工中心,{u},1000,2019-01-01,2019-12-31\n"));
        let r = import(t, &[con]).await;
        assert!(r.ok, "{:?}", errors(&r));
        let w = r.files[0].warnings.iter().find(|w| w.code != "no_budget").unwrap();
        assert_eq!(w.code, "uscc_many_names");
        assert_eq!(w.at.cell.as_deref(), Some("E3"));
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM providers").await, 1);
    }
}

both_backends! {
    async fn files_that_are_not_registers_are_refused_clearly(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let none = write(dir.path(), "list.csv", "姓名,电话\n张三,123\n");
        let r = import(t, &[none]).await;
        assert!(errors(&r)[0].contains("没有找到可识别的登记表"), "{:?}", errors(&r));
        let pdf = write(dir.path(), "x.xlsx", b"%PDF-1.4 garbage");
        let r = import(t, &[pdf]).await;
        assert!(!r.ok);
        let empty = write(dir.path(), "empty.xlsx", b"");
        assert!(!import(t, &[empty]).await.ok);
        let missing = write(dir.path(), "m.csv", "项目编号,拨付金额,凭证号\nA,1,V\n");
        assert_eq!(errors(&import(t, &[missing]).await), ["m.csv [m]: 缺少必填列“拨付日期”"]);
        let blank = write(dir.path(), "blank.csv", "项目编号,拨付日期,拨付金额,凭证号\n");
        assert!(errors(&import(t, &[blank]).await)[0].contains("表头下面没有任何记录"));
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
    }
}

both_backends! {
    async fn xls_and_ods_written_by_an_office_program_give_the_same_ledger(t: &TestDb) {
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let dir = tempfile::tempdir().unwrap();
        // The format comes from the bytes, not the name.
        let renamed = dir.path().join("register-from-excel.csv");
        std::fs::copy(fixtures.join("register.xls"), &renamed).unwrap();
        let r = import(t, &[renamed]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(r.files[0].format, Some("xls"));
        assert_eq!(r.files[0].total.inserted, 8);
        let sums = "SELECT CAST((SELECT SUM(value_fen) FROM contracts) + (SELECT SUM(amount_fen) FROM disbursements) + (SELECT SUM(new_people) FROM service_reports) AS BIGINT)";
        assert_eq!(scalar(t, sums).await, 35_000_050 + 8_000_030 + 65);
        // the ods holds the same records: all unchanged
        let r = import(t, &[fixtures.join("register.ods")]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(r.files[0].format, Some("ods"));
        assert_eq!(r.files[0].status, FileStatus::Unchanged);
        assert_eq!(r.files[0].total.unchanged, 8);
    }
}

/// Writes the small register as xlsx for the format fixtures in `tests/fixtures/`
/// (converted to xls and ods by LibreOffice; see tests/fixtures/README.md).
#[test]
#[ignore]
fn write_fixture_source() {
    let dir = std::path::PathBuf::from(std::env::var("FIXTURE_DIR").expect("FIXTURE_DIR"));
    register(&dir);
}

/// Copies a zip, replacing (or adding) one entry.
fn rezip(src: &std::path::Path, name: &str, body: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut input = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut replaced = false;
    for i in 0..input.len() {
        let mut f = input.by_index(i).unwrap();
        let entry = f.name().unwrap().to_string();
        out.start_file(entry.as_str(), opts).unwrap();
        if entry == name {
            out.write_all(body).unwrap();
            replaced = true;
        } else {
            let mut buf = Vec::new();
            f.read_to_end(&mut buf).unwrap();
            out.write_all(&buf).unwrap();
        }
    }
    if !replaced {
        out.start_file(name, opts).unwrap();
        out.write_all(body).unwrap();
    }
    out.finish().unwrap().into_inner()
}

/// The register with 300 MB of zeros added: made once per test run (deflating it is slow in
/// a debug build), the same bytes for both backends.
fn bomb(good: &std::path::Path) -> Vec<u8> {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| rezip(good, "xl/media/zeros.bin", &vec![0u8; 300 << 20]))
        .clone()
}

both_backends! {
    async fn crafted_workbooks_are_refused_and_the_program_lives_on(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let good = register(dir.path());
        // calamine's shared-strings reservation: a shared-strings table declaring 10^12 strings
        let sst = br#"<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1000000000000"><si><t>x</t></si></sst>"#;
        let f684 = write(dir.path(), "684.xlsx", rezip(&good, "xl/sharedStrings.xml", sst));
        // calamine's bounding-box allocation: a sheet spanning A1:XFD1048576
        let sheet = br#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><dimension ref="A1:XFD1048576"/><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a</t></is></c></row><row r="1048576"><c r="XFD1048576"><v>1</v></c></row></sheetData></worksheet>"#;
        let f693 = write(dir.path(), "693.xlsx", rezip(&good, "xl/worksheets/sheet1.xml", sheet));
        // a zip bomb: 300 MB of zeros inside a small file
        let bomb = write(dir.path(), "bomb.xlsx", bomb(&good));
        for f in [f684, f693, bomb] {
            let r = import(t, std::slice::from_ref(&f)).await;
            assert!(!r.ok, "{}", f.display());
            let e = errors(&r);
            assert_eq!(e.len(), 1, "{e:?}");
            assert_eq!(r.files[0].errors[0].code, "file_unreadable");
        }
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
        // and the next file imports as usual
        assert!(import(t, &[good]).await.ok);
    }
}

/// An xlsb workbook whose one sheet names a relationship the package does not have:
/// calamine looks it up by indexing a map (src/xlsb/mod.rs, `relationships[&*relid]`) and
/// panics with "no entry found for key", as it did on real .xlsb files.
fn xlsb_naming_a_missing_relationship() -> Vec<u8> {
    use std::io::Write;
    let utf16 = |s: &str| {
        s.encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect::<Vec<u8>>()
    };
    // BrtBundleSh (MS-XLSB 2.4.304): hsState, iTabID, strRelID, strName.
    let mut body = Vec::new();
    body.extend(0u32.to_le_bytes());
    body.extend(1u32.to_le_bytes());
    body.extend(4u32.to_le_bytes());
    body.extend(utf16("rId9"));
    body.extend(2u32.to_le_bytes());
    body.extend(utf16("S1"));
    // Record type 0x9C in two 7-bit bytes, then the size in one.
    let mut workbook = vec![0x9C, 0x01, body.len() as u8];
    workbook.extend(body);
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    out.start_file("[Content_Types].xml", opts).unwrap();
    out.write_all(br#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#).unwrap();
    out.start_file("xl/workbook.bin", opts).unwrap();
    out.write_all(&workbook).unwrap();
    out.finish().unwrap().into_inner()
}

both_backends! {
    async fn a_reader_that_fails_inside_is_reported_like_any_unreadable_file_naming_the_file_and_the_reader(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "登记表.xlsb", xlsb_naming_a_missing_relationship());
        for lang in [Lang::Zh, Lang::En] {
            let o = ImportOptions { lang, ..opts() };
            let r = import_with(t, std::slice::from_ref(&f), &o).await;
            assert!(!r.ok);
            let problems = &r.files[0].errors;
            assert_eq!(problems.len(), 1, "{problems:?}");
            assert_eq!(problems[0].code, "file_unreadable");
            let line = problems[0].line(lang);
            assert!(line.contains("登记表.xlsb"), "names the file: {line}");
            assert!(line.contains("xlsb"), "names the reader: {line}");
            assert!(line.contains(lang.pick("xlsb 读取器无法处理", "the xlsb reader could not handle")), "the reader failed inside: {line}");
            assert!(!line.contains("panic") && !line.contains("no entry"), "no internals: {line}");
            if lang == Lang::Zh {
                assert!(line.contains("文件无法读取") && !line.contains("reader"), "in Chinese: {line}");
            }
        }
        assert_eq!(ledger_counts(t).await, vec![0; 6]);
    }
}

/// GD-001 (100,000 yuan) and GD-002 (5,000 yuan), both for 2019, under their header.
fn two_contracts() -> Vec<Vec<V>> {
    vec![
        header(&CONTRACT_HEADER),
        contract(
            "GD-001",
            "居家养老",
            "老年服务",
            "甲中心",
            100_000.0,
            d(2019, 1, 1),
            d(2019, 12, 31),
        ),
        contract(
            "GD-002",
            "助残",
            "残障支持",
            "乙中心",
            5_000.0,
            d(2019, 1, 1),
            d(2019, 12, 31),
        ),
    ]
}

/// One month of service to GD-001, under its header.
fn one_service_month() -> Vec<Vec<V>> {
    vec![
        header(&SERVICE_HEADER),
        vec![s("GD-001"), s("2019-01"), n(30.0), n(30.0), n(120.0)],
    ]
}

/// A register of `count` payments of 1.00 yuan to GD-001 and GD-002 in turn, vouchers V-0 ...
fn many_payments(count: usize) -> Vec<Vec<V>> {
    let mut rows = vec![header(&PAYMENT_HEADER)];
    for i in 0..count {
        let code = if i % 2 == 0 { "GD-001" } else { "GD-002" };
        rows.push(vec![
            s(code),
            V::D(d(2019, 6, 1)),
            n(1.0),
            V::T(format!("V-{i}")),
        ]);
    }
    rows
}

both_backends! {
    async fn a_payments_sheet_after_its_contracts_is_stored_while_it_is_read(t: &TestDb) {
        // The last sheet holds payments: they are checked and written in chunks while the
        // sheet is still being parsed, after the contracts of the sheets before it. 10,000
        // rows are several chunks.
        let dir = tempfile::tempdir().unwrap();
        let (contracts, services) = (two_contracts(), one_service_month());
        let good = xlsx(dir.path(), "good.xlsx", &[
            ("合同", contracts),
            ("服务", services.clone()),
            ("拨付", many_payments(10_000)),
        ]);
        let r = import(t, std::slice::from_ref(&good)).await;
        assert!(r.ok, "{:?}", errors(&r));
        let f = &r.files[0];
        assert_eq!(f.counts[&SheetKind::Disbursements].read, 10_000);
        assert_eq!(f.counts[&SheetKind::Disbursements].inserted, 10_000);
        assert_eq!(f.counts[&SheetKind::Contracts].inserted, 2);
        assert_eq!(f.counts[&SheetKind::Services].inserted, 1);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements").await, 10_000);
        assert_eq!(scalar(t, "SELECT CAST(SUM(amount_fen) AS BIGINT) FROM disbursements").await, 1_000_000);
        assert_eq!(text(t, "SELECT kind FROM import_batches").await, "contracts+services+disbursements");
        assert_eq!(scalar(t, "SELECT rows_read FROM import_batches").await, 10_003);
        // The same file again changes nothing.
        let r = import(t, std::slice::from_ref(&good)).await;
        assert_eq!(r.files[0].status, FileStatus::Unchanged, "{:?}", errors(&r));

        // Errors far apart in a streamed sheet are all found, with their cells, and nothing
        // of the file is stored: a voucher repeated thousands of rows later (a later chunk),
        // a payment to a contract of nowhere, and GD-002, fully paid by the file above, paid
        // once more by the one new row for it (V-10001; the other rows are already stored).
        let mut pays = many_payments(10_002);
        pays[9_001] = vec![s("GD-001"), V::D(d(2019, 6, 1)), n(1.0), s("V-10")];
        pays[9_002] = vec![s("GD-999"), V::D(d(2019, 6, 1)), n(1.0), s("X-1")];
        let before = ledger_counts(t).await;
        let bad = xlsx(dir.path(), "bad.xlsx", &[
            ("合同", vec![
                header(&CONTRACT_HEADER),
                contract("GD-003", "助残", "残障支持", "丙中心", 5_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            ]),
            ("拨付", pays),
        ]);
        let r = import(t, &[bad]).await;
        let e = errors(&r);
        assert_eq!(e, [
            "bad.xlsx 拨付!D9002 值“V-10”: 与本表第12行重复",
            "bad.xlsx 拨付!A9003 值“GD-999”: 项目编号“GD-999”不存在：请先导入该项目合同",
            "bad.xlsx 拨付!C10003 值“1.00”: 累计拨付将达 5001.00 元，超过合同金额 5000.00 元（此前已拨付 5000.00 元）",
        ]);
        assert_eq!(r.files[0].counts[&SheetKind::Disbursements].unchanged, 9_998);
        assert_eq!(ledger_counts(t).await, before);
    }
}

both_backends! {
    async fn payments_of_an_earlier_sheet_are_stored_with_those_of_the_last(t: &TestDb) {
        // Two payments sheets: the first is read whole, the last streamed; both are stored.
        let dir = tempfile::tempdir().unwrap();
        assert!(import(t, &[register(dir.path())]).await.ok);
        let before = scalar(t, "SELECT COUNT(*) FROM disbursements").await;
        let two = xlsx(dir.path(), "two.xlsx", &[
            ("上半年", vec![
                header(&PAYMENT_HEADER),
                payment("GD-001", d(2019, 2, 1), 1_000.0, "A-1"),
                payment("GD-002", d(2019, 4, 1), 2_000.0, "A-2"),
            ]),
            ("下半年", vec![
                header(&PAYMENT_HEADER),
                payment("GD-001", d(2019, 8, 1), 3_000.0, "B-1"),
            ]),
        ]);
        let r = import(t, &[two]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(r.files[0].counts[&SheetKind::Disbursements].read, 3);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements").await, before + 3);
        assert_eq!(text(t, "SELECT source_sheet FROM disbursements WHERE voucher = 'A-2'").await, "上半年");
        assert_eq!(text(t, "SELECT source_sheet FROM disbursements WHERE voucher = 'B-1'").await, "下半年");
    }
}

both_backends! {
    async fn a_payments_sheet_before_its_contracts_is_stored_after_them_while_it_is_read(t: &TestDb) {
        // The sample register's order: payments first, the contracts they pay after. The
        // payments sheet is read after the others, and streamed (see the parser test below);
        // the report still lists the sheets in the workbook's order, each with its rows.
        let dir = tempfile::tempdir().unwrap();
        let (contracts, services) = (two_contracts(), one_service_month());
        let file = xlsx(dir.path(), "first.xlsx", &[
            ("拨付", many_payments(10_000)),
            ("合同", contracts),
            ("服务", services),
        ]);
        let r = import(t, std::slice::from_ref(&file)).await;
        assert!(r.ok, "{:?}", errors(&r));
        let f = &r.files[0];
        let sheets: Vec<(&str, u64)> = f.sheets.iter().map(|s| (s.name.as_str(), s.rows)).collect();
        assert_eq!(sheets, [("拨付", 10_000), ("合同", 2), ("服务", 1)]);
        assert_eq!(f.counts[&SheetKind::Disbursements].inserted, 10_000);
        assert_eq!(f.counts[&SheetKind::Contracts].inserted, 2);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements WHERE source_sheet = '拨付'").await, 10_000);
        assert_eq!(scalar(t, "SELECT MIN(source_row) FROM disbursements").await, 2);

        // Two payments sheets around the contracts: read in their own order after them, so a
        // voucher of the second repeating one of the first is found at the second's row.
        let two = xlsx(dir.path(), "two.xlsx", &[
            ("上半年", vec![
                header(&PAYMENT_HEADER),
                payment("GD-003", d(2019, 2, 1), 1_000.0, "A-1"),
            ]),
            ("合同", vec![
                header(&CONTRACT_HEADER),
                contract("GD-003", "助残", "残障支持", "丙中心", 5_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            ]),
            ("下半年", vec![
                header(&PAYMENT_HEADER),
                payment("GD-003", d(2019, 8, 1), 1_000.0, "B-1"),
                payment("GD-003", d(2019, 9, 1), 1_000.0, "A-1"),
            ]),
        ]);
        let before = ledger_counts(t).await;
        let r = import(t, std::slice::from_ref(&two)).await;
        let e = errors(&r);
        assert_eq!(e.len(), 1, "{e:?}");
        assert!(e[0].starts_with("two.xlsx 下半年!D3 值“A-1”"), "{e:?}");
        assert_eq!(ledger_counts(t).await, before);
        let sheets: Vec<&str> = r.files[0].sheets.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(sheets, ["上半年", "合同", "下半年"]);
    }
}

#[test]
fn a_payments_sheet_with_sheets_after_it_streams_after_the_contracts_they_hold() {
    // What the store is sent, in order: first the contracts of every sheet (also those after
    // the payments), then the payments in chunks while they are parsed; none is held to the end.
    use procure::imports::parse::Streamed;
    let dir = tempfile::tempdir().unwrap();
    let file = xlsx(
        dir.path(),
        "p.xlsx",
        &[("拨付", many_payments(10_000)), ("合同", two_contracts())],
    );
    let bytes = std::fs::read(&file).unwrap();
    let (tap, mut rx) = tokio::sync::mpsc::channel(2);
    let parse = std::thread::spawn(move || {
        procure::imports::parse_bytes("p.xlsx", &bytes, &opts(), None, Some(tap))
    });
    match rx.blocking_recv() {
        Some(Streamed::Start {
            contracts,
            payments,
            ..
        }) => {
            assert_eq!(contracts.len(), 2);
            assert!(payments.is_empty());
        }
        _ => panic!("the payments were not streamed"),
    }
    let (mut chunks, mut rows) = (0, 0);
    while let Some(Streamed::Payments(chunk)) = rx.blocking_recv() {
        assert_eq!(
            chunk.first().map(|p| p.src.row),
            Some(rows as u32 + 2),
            "in order"
        );
        chunks += 1;
        rows += chunk.len();
    }
    assert_eq!(rows, 10_000);
    assert!(chunks > 1, "in chunks: {chunks}");
    let parsed = parse.join().unwrap().parsed;
    assert!(parsed.payments.is_empty() && parsed.contracts.is_empty());
    assert!(parsed.problems.is_empty(), "{:?}", parsed.problems);
}

#[test]
fn a_file_changed_or_gone_after_it_was_fingerprinted_is_refused_naming_why() {
    // A file on disk is hashed in one pass and parsed in another: if it changes in between,
    // what was stored might not be what the batch's hash names, so the file is refused.
    use procure::imports::source::{fingerprint, Content};
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "pay.csv",
        "项目编号,拨付日期,拨付金额,凭证号\nGD-001,2019-02-01,100,V1\n",
    );
    let print = fingerprint(&path).unwrap();
    let parse = |print| {
        let content = Content::Disk { path: &path, print };
        procure::imports::parse_content("pay.csv", content, &opts(), None, None)
    };
    let fine = parse(&print);
    assert!(
        fine.parsed.problems.is_empty(),
        "{:?}",
        fine.parsed.problems
    );
    assert_eq!(fine.parsed.payments.len(), 1);

    // Saved again, same size, a second later.
    let file = std::fs::File::options().write(true).open(&path).unwrap();
    let later = file.metadata().unwrap().modified().unwrap() + std::time::Duration::from_secs(1);
    file.set_modified(later).unwrap();
    let changed = parse(&print);
    let lines: Vec<String> = changed
        .parsed
        .problems
        .iter()
        .map(|p| p.line(Lang::Zh))
        .collect();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("pay.csv") && lines[0].contains("文件在读取过程中被修改"),
        "{lines:?}"
    );

    // Gone: the reader names the file and says it cannot be read.
    std::fs::remove_file(&path).unwrap();
    let gone = parse(&print);
    let lines: Vec<String> = gone
        .parsed
        .problems
        .iter()
        .map(|p| p.line(Lang::Zh))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("pay.csv") && l.contains("文件无法读取")),
        "{lines:?}"
    );
}

both_backends! {
    async fn a_large_csv_on_disk_is_read_alike_in_utf8_gbk_and_utf16(t: &TestDb) {
        // Over 64 KiB, so that the delimiter is judged from the head and the rest is read from
        // disk; with a byte-order mark and tabs in UTF-8; GBK and UTF-16 are decoded whole.
        let dir = tempfile::tempdir().unwrap();
        let mut tsv = "项目编号\t项目名称\t服务类别\t承接机构\t合同金额（元）\t开始日期\t结束日期\n".to_string();
        for i in 0..2_000 {
            tsv.push_str(&format!("GD-{i:04}\t居家养老服务第{i}期\t老年服务\t甲社会工作服务中心\t1000\t2019-01-01\t2019-12-31\n"));
        }
        assert!(tsv.len() > 100_000);
        let utf8 = write(dir.path(), "utf8.txt", format!("\u{feff}{tsv}"));
        let r = import(t, &[utf8]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM contracts").await, 2_000);
        assert_eq!(text(t, "SELECT title FROM contracts WHERE code = 'GD-1999'").await, "居家养老服务第1999期");
        // The same contracts in GBK and in UTF-16 change nothing: they are read the same.
        let (gbk, _, _) = encoding_rs::GBK.encode(&tsv);
        let mut utf16 = vec![0xff, 0xfe];
        for u in tsv.encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        let gbk = write(dir.path(), "gbk.txt", &gbk);
        let utf16 = write(dir.path(), "utf16.txt", &utf16);
        let r = import(t, &[gbk, utf16]).await;
        assert!(r.files.iter().all(|f| f.status == FileStatus::Unchanged), "{:?}", errors(&r));
    }
}

both_backends! {
    async fn text_with_backslashes_tabs_and_line_breaks_is_stored_as_written(t: &TestDb) {
        // On PostgreSQL payments go in by COPY, whose text format gives backslash, tab and
        // line break meanings of their own (`\N` is NULL). A note typed with Alt+Enter has
        // line breaks; the reader makes every run of white space one space, as in any cell.
        let dir = tempfile::tempdir().unwrap();
        assert!(import(t, &[register(dir.path())]).await.ok);
        let mut head = header(&PAYMENT_HEADER);
        head.push(s("备注"));
        let note = "第一行\n第二行\r\n路径 C:\\票据\\2019\t已核 \\N";
        let mut row = payment("GD-001", d(2019, 3, 1), 1_000.0, "V\\1\\N");
        row.push(s(""));
        row.push(s(note));
        let file = xlsx(dir.path(), "escapes.xlsx", &[("拨付", vec![head, row])]);
        let r = import(t, &[file]).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(
            text(t, "SELECT note FROM disbursements WHERE voucher = 'V\\1\\N'").await,
            "第一行 第二行 路径 C:\\票据\\2019 已核 \\N"
        );
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM disbursements WHERE voucher = 'V\\1\\N' AND reverses_id IS NULL AND tranche = '首期'").await, 1);
    }
}

both_backends! {
    async fn each_import_attempt_has_a_row_with_its_process_and_its_one_end(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let file = register(dir.path());
        assert_eq!(import(t, std::slice::from_ref(&file)).await.files[0].status, FileStatus::Stored);
        assert_eq!(import(t, std::slice::from_ref(&file)).await.files[0].status, FileStatus::Unchanged);
        let bad = xlsx(dir.path(), "bad.xlsx", &[
            ("合同", vec![
                header(&CONTRACT_HEADER),
                contract("GD-001", "居家养老", "老年服务", "甲中心", 100_000.0, d(2019, 1, 1), d(2019, 12, 31)),
            ]),
            ("拨付", vec![header(&PAYMENT_HEADER), vec![s("GD-001"), s("2019年2月30日"), n(10.0), s("V2")]]),
        ]);
        assert_eq!(import(t, &[bad]).await.files[0].status, FileStatus::Rejected);
        // A dry run keeps nothing, not even an attempt.
        let dry = ImportOptions { dry_run: true, ..opts() };
        assert!(import_with(t, std::slice::from_ref(&file), &dry).await.ok);

        let outcomes = "SELECT COUNT(*) FROM import_attempts WHERE ended_at IS NOT NULL AND outcome = ";
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM import_attempts").await, 3);
        assert_eq!(scalar(t, &format!("{outcomes} 'committed' AND batch_id = 1")).await, 1);
        assert_eq!(scalar(t, &format!("{outcomes} 'unchanged' AND batch_id IS NULL")).await, 1);
        assert_eq!(scalar(t, &format!("{outcomes} 'rejected' AND batch_id IS NULL")).await, 1);
        assert_eq!(
            scalar(t, &format!("SELECT COUNT(*) FROM import_attempts WHERE actor = 'test' AND pid = {}", std::process::id())).await,
            3
        );
        // The auditors' records name the same attempts.
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM audit_log a JOIN import_attempts i ON a.target = 'attempt ' || i.id WHERE a.action = 'import.started'").await, 3);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'import.finished'").await, 2);
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM audit_log WHERE action = 'import'").await, 1);

        // An attempt whose process is gone (another boot), and one on another host.
        for (id, host, boot) in [("dead", "host", "'another-boot'"), ("away", "'elsewhere'", "boot_id")] {
            t.db.execute_unprepared(&format!(
                "INSERT INTO import_attempts (id, file_name, file_size, sha256, actor, address, host, pid, boot_id, process_start, started_at) \
                 SELECT '{id}', 'x.csv', 10, 'ab', 'clerk', '10.0.0.7', {host}, 4242, {boot}, 7, started_at FROM import_attempts WHERE batch_id = 1",
            ))
            .await
            .unwrap();
        }
        assert_eq!(procure::imports::recover_interrupted(&t.db).await.unwrap(), 1);
        assert_eq!(procure::imports::recover_interrupted(&t.db).await.unwrap(), 0, "recorded once");
        assert_eq!(text(t, "SELECT outcome FROM import_attempts WHERE id = 'dead'").await, "interrupted");
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM import_attempts WHERE id = 'away' AND ended_at IS NULL").await, 1);
        let host = text(t, "SELECT host FROM import_attempts WHERE id = 'dead'").await;
        assert_eq!(
            text(t, "SELECT detail FROM audit_log WHERE action = 'import.interrupted' AND target = 'attempt dead' AND actor = 'clerk'").await,
            format!("x.csv (10 bytes, sha256 ab) [host {host} boot another-boot pid 4242 start 7]: the process ended before the import did; nothing of it was stored")
        );
        // The imports page lists it from the attempts table, not from the trail's wording.
        let page = procure::db::read::batches::batches(&t.db, 1, 50).await.unwrap();
        let listed: Vec<(&str, &str, i64, &str)> =
            page.interrupted.iter().map(|i| (i.file_name.as_str(), i.actor.as_str(), i.file_size, i.host.as_str())).collect();
        assert_eq!(listed, vec![("x.csv", "clerk", 10, host.as_str())]);
    }
}

both_backends! {
    async fn text_longer_than_its_column_allows_is_refused_naming_the_cell(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let long = |c: &str, n: usize| V::T(c.repeat(n));
        let payment_header = header(&["项目编号", "拨付日期", "拨付金额（元）", "凭证号", "拨付批次", "冲销凭证号", "备注"]);
        let contract_row = |code: &'static str, title: V, provider: V, community: V| {
            let mut row = contract(code, "", "老年服务", "", 100_000.0, d(2019, 1, 1), d(2019, 12, 31));
            row[1] = title;
            row[3] = provider;
            row[6] = community;
            row
        };
        let payment_row = |voucher: V, note: V| {
            vec![s("GD-001"), V::D(d(2019, 2, 1)), n(1_000.0), voucher, s("首期"), V::Blank, note]
        };
        let too_long = xlsx(dir.path(), "too-long.xlsx", &[
            ("项目合同", vec![
                header(&CONTRACT_HEADER),
                // An XLSX cell holds at most 32,767 characters; the CSV below holds more.
                contract_row("GD-001", long("居", 30_000), s("甲中心"), s("金星社区")),
                contract_row("GD-002", s("助残"), long("x", 501), long("社", 501)),
            ]),
            ("拨付记录", vec![
                payment_header.clone(),
                payment_row(long("V", 501), s("")),
                payment_row(s("V2"), long("备", 2_001)),
            ]),
        ]);
        let r = import(t, std::slice::from_ref(&too_long)).await;
        assert!(!r.ok);
        assert_eq!(r.files[0].status, FileStatus::Rejected);
        let e = errors(&r);
        let has = |needle: &str| assert!(e.iter().any(|l| l.contains(needle)), "no '{needle}' in {e:#?}");
        has("项目合同!B2 值“居居居");
        has("“项目名称”过长：共 30000 个字符，最多 500 个字符");
        has("项目合同!D3 值“xxx");
        has("“承接机构”过长：共 501 个字符，最多 500 个字符");
        has("项目合同!G3 值“社社社");
        has("拨付记录!D2 值“VVV");
        has("“凭证号”过长：共 501 个字符，最多 500 个字符");
        has("拨付记录!G3 值“备备备");
        has("“备注”过长：共 2001 个字符，最多 2000 个字符");
        let problems: Vec<_> = r.files[0].errors.iter().collect();
        assert!(problems.iter().all(|p| p.code == "text_too_long"), "too long, and nothing else: {e:#?}");
        assert_eq!(problems.len(), 5, "{e:#?}");
        // A problem keeps enough of the value to find the cell, not the whole of it.
        assert!(problems.iter().all(|p| p.value.as_ref().unwrap().chars().count() <= 201));
        assert_eq!(ledger_counts(t).await, vec![0; 6]);

        let csv = write(dir.path(), "too-long.csv", format!(
            "项目编号,项目名称,服务类别,承接机构,合同金额（元）,开始日期,结束日期\n\
             GD-009,{},老年服务,甲中心,1000,2019-01-01,2019-12-31\n",
            "题".repeat(40_000)
        ));
        let r = import(t, &[csv]).await;
        assert!(!r.ok);
        let e = errors(&r);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("too-long.csv too-long!B2 值“题题题"), "{}", e[0]);
        assert!(e[0].ends_with(": “项目名称”过长：共 40000 个字符，最多 500 个字符"), "{}", e[0]);
        assert_eq!(ledger_counts(t).await, vec![0; 6]);

        let en = ImportOptions { lang: Lang::En, ..opts() };
        let r = import_with(t, &[too_long], &en).await;
        let line = r.files[0].errors.iter().map(|p| p.line(Lang::En)).find(|l| l.contains("!G3")).unwrap();
        assert!(line.ends_with(": the note is too long: 2001 characters, at most 2000"), "{line}");

        // At the limit, counted after trimming, everything is stored as it was.
        let at_limit = xlsx(dir.path(), "at-limit.xlsx", &[
            ("项目合同", vec![
                header(&CONTRACT_HEADER),
                contract_row("GD-001", V::T(format!("  {}  ", "居".repeat(500))), long("x", 500), long("社", 500)),
            ]),
            ("拨付记录", vec![payment_header, payment_row(long("V", 500), long("备", 2_000))]),
        ]);
        let r = import(t, &[at_limit]).await;
        assert!(r.ok, "{:#?}", errors(&r));
        assert_eq!(text(t, "SELECT title FROM contracts").await, "居".repeat(500));
        assert_eq!(text(t, "SELECT note FROM disbursements").await, "备".repeat(2_000));
    }
}

both_backends! {
    async fn errors_are_listed_up_to_a_thousand_of_each_kind_and_all_counted(t: &TestDb) {
        // 1,500 bad dates and one bad amount: every row is read (the bad amounts' list is not
        // full), the dates are listed up to 1,000 and all counted.
        let mut body = String::from("项目编号,拨付日期,拨付金额,凭证号\n");
        for i in 0..1_500 {
            body.push_str(&format!("C1,x,100,V{i}\n"));
        }
        body.push_str("C1,2019-01-01,y,V-last\n");
        let file = write(t.dir.path(), "dates.csv", body);
        let r = import(t, &[file]).await;
        let f = &r.files[0];
        assert_eq!(f.status, FileStatus::Rejected);
        assert_eq!(f.error_counts.get("bad_date"), Some(&1_500));
        assert_eq!(f.error_counts.get("bad_amount"), Some(&1));
        assert_eq!(f.errors.iter().filter(|e| e.code == "bad_date").count(), 1_000);
        assert!(f.errors.iter().any(|e| e.code == "bad_amount" && e.at.row == Some(1_502)));
        assert!(!f.errors.iter().any(|e| e.code == "check_stopped"));
        assert_eq!(f.error_total, f.error_counts.values().sum::<u64>());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["files"][0]["error_counts"]["bad_date"], 1_500);

        // Once refused with every kind's list full and 100,000 errors counted, the rest of
        // the file is not read: four errors a row stop it at its 25,000th record.
        let mut body = String::from("项目编号,拨付日期,拨付金额（元）,凭证号,冲销凭证号\n");
        for _ in 0..40_000 {
            body.push_str("\x01,x,y,,z\n");
        }
        let file = write(t.dir.path(), "stop.csv", body);
        let r = import(t, &[file]).await;
        let f = &r.files[0];
        assert_eq!(f.status, FileStatus::Rejected);
        let stop = f.errors.iter().find(|e| e.code == "check_stopped").expect("a stop is reported");
        assert_eq!(stop.at.row, Some(25_001));
        assert!(f.error_total >= 100_000, "{}", f.error_total);
        for (code, n) in &f.error_counts {
            let listed = f.errors.iter().filter(|e| e.code == *code).count() as u64;
            assert_eq!(listed, (*n).min(1_000), "{code}");
        }
        assert_eq!(scalar(t, "SELECT COUNT(*) FROM import_batches").await, 0);
    }
}
