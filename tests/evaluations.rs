//! Evaluations (绩效评价): imported with their grade checked against the score, never edited
//! but corrected by a row naming what it replaces; the rules on paying against them warned
//! at the cell on import and listed by the exceptions report with their source row; the
//! provider scorecard. Both backends.

mod common;

use chrono::NaiveDate;
use common::book::write;
use common::TestDb;
use procure::evaluations::{Score, Settings};
use procure::imports::{import_paths, FileStatus, ImportOptions, ImportReport};
use procure::reports::{build, Report, ReportName, Request, Scope, Val};
use procure::Lang;

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn opts() -> ImportOptions {
    ImportOptions {
        actor: "test".into(),
        ..Default::default()
    }
}

async fn import(t: &TestDb, name: &str, csv: &str) -> ImportReport {
    let path = write(t.dir.path(), name, csv);
    import_paths(&t.db, &[path], &opts(), None).await.unwrap()
}

/// Two contracts of 100,000.00 yuan for 2018-07-01 to 2019-06-30, by two providers.
const CONTRACTS: &str = "\
项目编号,项目名称,服务类别,承接机构,统一社会信用代码,合同金额（元）,签订日期,开始日期,结束日期
GD-001,居家养老服务,老年服务,甲社会工作服务中心,52530111MJ0000013K,100000,2018-06-20,2018-07-01,2019-06-30
GD-002,青少年成长营,青少年事务,乙青少年服务中心,,100000,2018-06-20,2018-07-01,2019-06-30
";

const EVAL_HEADER: &str =
    "项目编号,评价类型,评价机构,评价机构统一社会信用代码,评价日期,得分,等级,主要问题,整改要求,整改完成日期,更正评价日期\n";

fn errors(r: &ImportReport) -> Vec<(String, Option<String>, String)> {
    r.files
        .iter()
        .flat_map(|f| f.errors.iter())
        .map(|p| (p.code.to_string(), p.at.cell.clone(), p.line(Lang::En)))
        .collect()
}

fn warnings(r: &ImportReport) -> Vec<(String, Option<String>, String)> {
    r.files
        .iter()
        .flat_map(|f| f.warnings.iter())
        .map(|p| (p.code.to_string(), p.at.cell.clone(), p.line(Lang::Zh)))
        .collect()
}

async fn report(t: &TestDb, name: ReportName, as_of: NaiveDate, settings: Settings) -> Report {
    let req = Request {
        name,
        scope: Scope {
            as_of,
            ..Default::default()
        },
        by: Vec::new(),
        lang: Lang::Zh,
        evaluations: settings,
    };
    build(&t.db, &req).await.unwrap()
}

/// The exceptions report's rows of one kind: (contract, date, amount, source).
fn exceptions_of(r: &Report, kind: &str) -> Vec<(String, String, String, String)> {
    r.rows
        .iter()
        .filter(|row| row[0].plain() == kind)
        .map(|row| {
            (
                row[1].plain(),
                row[3].plain(),
                row[4].plain(),
                row[5].plain(),
            )
        })
        .collect()
}

both_backends! {
    async fn evaluations_import_with_their_grade_derived_and_reimport_unchanged(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let csv = format!(
            "{EVAL_HEADER}GD-001,中期,丙评估事务所,,2019-01-10,86.5,,,,,\n\
             GD-001,末期,丙评估事务所,91530100MA6N00000P,2019-07-20,92,优秀,,,,\n\
             GD-002,末期评价,丙评估事务所,,2019-07-25,59.99,不合格,台账不全,补齐服务台账,2019-08-30,\n"
        );
        let r = import(t, "evaluations.csv", &csv).await;
        assert!(r.ok, "{:?}", errors(&r));
        let f = &r.files[0];
        assert_eq!(f.status, FileStatus::Stored);
        assert_eq!(f.sheets[0].kind, Some(procure::register::columns::SheetKind::Evaluations));
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations").await, 3);
        assert_eq!(t.scalar("SELECT score_centi FROM evaluations WHERE kind = 'interim'").await, 8650);
        // The grade left blank is the score's: 86.5 is 良好.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations WHERE kind = 'interim' AND grade = 'good'").await, 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations WHERE grade = 'fail' AND fixed_on = '2019-08-30'").await, 1);

        // The same file again changes nothing.
        let again = import(t, "evaluations-again.csv", &csv).await;
        assert_eq!(again.files[0].status, FileStatus::Unchanged, "{:?}", errors(&again));
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations").await, 3);
    }
}

both_backends! {
    async fn bad_evaluation_cells_are_refused_each_at_its_cell(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let csv = format!(
            "{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,85,优秀,,,,\n\
             GD-001,中期,丙评估事务所,,2019-01-10,100.5,,,,,\n\
             GD-002,季度,丙评估事务所,,2019-07-20,70,,,,,\n\
             GD-002,末期,丙评估事务所,91530100MA6N00000Q,2019-07-20,70,,,,,\n\
             GD-002,中期,丙评估事务所,,2019-01-10,50,不合格,,,2019-01-01,\n\
             GD-404,末期,丙评估事务所,,2019-07-20,70,,,,,\n"
        );
        let r = import(t, "bad.csv", &csv).await;
        assert!(!r.ok);
        let found: Vec<(String, Option<String>)> = errors(&r).into_iter().map(|(c, cell, _)| (c, cell)).collect();
        for expected in [
            ("grade_mismatch", "G2"),
            ("bad_score", "F3"),
            ("bad_value", "B4"),
            ("bad_uscc", "D5"),
            ("fixed_before_evaluation", "J6"),
            ("unknown_contract", "A7"),
        ] {
            assert!(
                found.contains(&(expected.0.to_string(), Some(expected.1.to_string()))),
                "{expected:?} not in {found:?}"
            );
        }
        let lines = errors(&r);
        let mismatch = lines.iter().find(|e| e.0 == "grade_mismatch").unwrap();
        assert!(mismatch.2.contains("bad.csv") && mismatch.2.contains("'Good'"), "{}", mismatch.2);
        // Nothing of a refused file is stored.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations").await, 0);
    }
}

both_backends! {
    async fn a_recorded_evaluation_is_never_edited_and_a_correction_replaces_it(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let first = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,58,,账目不清,整改,,\n");
        assert!(import(t, "first.csv", &first).await.ok);

        // The same identity with another score is an edit: refused at the score's cell.
        let edited = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,68,,账目不清,整改,,\n");
        let r = import(t, "edited.csv", &edited).await;
        assert!(!r.ok);
        let e = errors(&r);
        assert_eq!((e[0].0.as_str(), e[0].1.as_deref()), ("evaluation_edited", Some("F2")), "{e:?}");
        assert!(e[0].2.contains("never edited") && e[0].2.contains("58.00"), "{}", e[0].2);

        // A correction naming an evaluation that does not exist is refused at 更正评价日期.
        let unknown = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,68,,,,,2019-07-21\n");
        let r = import(t, "unknown.csv", &unknown).await;
        let e = errors(&r);
        assert_eq!((e[0].0.as_str(), e[0].1.as_deref()), ("corrects_unknown_evaluation", Some("K2")), "{e:?}");

        // A correction of the same date replaces it; both are kept.
        let corrected = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,68,合格,,,,2019-07-20\n");
        let r = import(t, "corrected.csv", &corrected).await;
        assert!(r.ok, "{:?}", errors(&r));
        assert_eq!(r.files[0].total.updated, 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations").await, 2);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations WHERE replaces_id IS NOT NULL AND grade = 'pass' AND revision = 1").await, 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM change_history WHERE entity = 'evaluation'").await, 1);
        // ...and uploading it again is unchanged; correcting the replaced one again is refused.
        let again = import(t, "corrected-again.csv", &corrected).await;
        assert_eq!(again.files[0].status, FileStatus::Unchanged, "{:?}", errors(&again));
        let twice = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-22,75,,,,,2019-07-20\n");
        let r = import(t, "twice.csv", &twice).await;
        assert!(r.ok, "the latest at that date is the correction, which may be corrected: {:?}", errors(&r));
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations").await, 3);

        // The history shows all three; the scorecard uses the standing one (75, 合格).
        let rows = procure::db::read::evaluations::evaluations(&t.db, &Scope { as_of: day(2019, 12, 31), ..Default::default() }, None).await.unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows.iter().filter(|e| e.replaced_by.is_none()).count(), 1);
        let card = report(t, ReportName::Providers, day(2019, 12, 31), Settings::default()).await;
        let gd1 = card.rows.iter().find(|r| r[0].plain() == "52530111MJ0000013K").unwrap();
        assert_eq!(gd1[8].plain(), "1");
        assert_eq!(gd1[9].plain(), "75.00");
        assert_eq!(gd1[10].plain(), "合格");
        assert_eq!(gd1[12].plain(), "0");
    }
}

both_backends! {
    async fn a_final_payment_before_the_end_of_term_evaluation_is_warned_and_reported(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let payments = "\
项目编号,拨付日期,拨付金额（元）,凭证号,拨付批次
GD-001,2018-07-05,40000,记-1,首期
GD-001,2019-06-20,60000,记-2,尾款
GD-002,2018-07-05,40000,记-3,首期
GD-002,2019-07-30,60000,记-4,尾款
";
        let evals = format!("{EVAL_HEADER}GD-002,末期,丙评估事务所,,2019-07-25,85,,,,,\n");
        assert!(import(t, "evaluations.csv", &evals).await.ok);
        let r = import(t, "payments.csv", payments).await;
        assert!(r.ok, "{:?}", errors(&r));
        // GD-001's completing payment, row 3, amount in column C; GD-002's was evaluated first.
        let w: Vec<_> = warnings(&r).into_iter().filter(|w| w.0 == "final_payment_before_evaluation").collect();
        assert_eq!(w.len(), 1, "{w:?}");
        assert_eq!(w[0].1.as_deref(), Some("C3"));
        assert!(w[0].2.contains("payments.csv") && w[0].2.contains("第二十五条"), "{}", w[0].2);

        let ex = report(t, ReportName::Exceptions, day(2019, 6, 30), Settings::default()).await;
        assert_eq!(
            exceptions_of(&ex, "末期评价前付款"),
            vec![("GD-001".into(), "2019-06-20".into(), "60000.00".into(), "payments.csv payments!3".into())]
        );
    }
}

both_backends! {
    async fn a_payment_after_the_term_is_warned_until_an_end_of_term_evaluation_precedes_it(t: &TestDb) {
        // Neither contract is paid in full: these are found as the payments are checked, not by
        // the running totals kept for contracts that could be completed.
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let evals = format!("{EVAL_HEADER}GD-002,末期,丙评估事务所,,2019-07-10,85,,,,,\n");
        assert!(import(t, "evaluations.csv", &evals).await.ok);
        let payments = "\
项目编号,拨付日期,拨付金额（元）,凭证号,拨付批次
GD-001,2018-07-05,40000,记-1,首期
GD-001,2019-07-20,30000,记-2,尾款
GD-002,2019-07-05,30000,记-3,中期
GD-002,2019-07-20,30000,记-4,尾款
";
        let r = import(t, "payments.csv", payments).await;
        assert!(r.ok, "{:?}", errors(&r));
        // GD-001's payment after its term, row 3; GD-002's first late one, paid before its
        // evaluation of 10 July; not its second.
        let w: Vec<_> = warnings(&r).into_iter().filter(|w| w.0 == "final_payment_before_evaluation").collect();
        let cells: Vec<_> = w.iter().map(|w| w.1.clone().unwrap()).collect();
        assert_eq!(cells, vec!["C3", "C4"], "{w:?}");
    }
}

both_backends! {
    async fn a_payment_while_failed_is_warned_and_reported_until_the_fixes_are_done(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let evals = format!(
            "{EVAL_HEADER}GD-001,中期,丙评估事务所,,2019-01-10,55,不合格,服务记录缺失,补齐记录,2019-03-01,\n\
             GD-002,中期,丙评估事务所,,2019-01-10,45,,,,,\n"
        );
        assert!(import(t, "evaluations.csv", &evals).await.ok);
        let payments = "\
项目编号,拨付日期,拨付金额（元）,凭证号,拨付批次
GD-001,2019-02-01,10000,记-1,中期
GD-001,2019-03-01,10000,记-2,中期
GD-002,2019-04-01,10000,记-3,中期
";
        let r = import(t, "payments.csv", payments).await;
        assert!(r.ok);
        let w: Vec<_> = warnings(&r).into_iter().filter(|w| w.0 == "payment_while_failed").collect();
        let cells: Vec<_> = w.iter().map(|w| w.1.clone().unwrap()).collect();
        assert_eq!(cells, vec!["B2", "B4"], "{w:?}");

        let ex = report(t, ReportName::Exceptions, day(2019, 6, 30), Settings::default()).await;
        let found = exceptions_of(&ex, "评价不合格期间拨付");
        assert_eq!(found.len(), 2, "{found:?}");
        assert_eq!(found[0], ("GD-001".into(), "2019-02-01".into(), "10000.00".into(), "payments.csv payments!2".into()));
        assert_eq!(found[1].3, "payments.csv payments!4");
        // Before the payments were made, nothing is found.
        let early = report(t, ReportName::Exceptions, day(2019, 1, 31), Settings::default()).await;
        assert!(exceptions_of(&early, "评价不合格期间拨付").is_empty());
    }
}

both_backends! {
    async fn an_end_of_term_evaluation_is_overdue_after_the_set_days(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let evals = format!("{EVAL_HEADER}GD-002,末期,丙评估事务所,,2019-08-15,85,,,,,\n");
        assert!(import(t, "evaluations.csv", &evals).await.ok);
        let overdue = |r: &Report| exceptions_of(r, "绩效评价逾期");
        // 2019-06-30 + 90 days = 2019-09-28.
        let on_time = report(t, ReportName::Exceptions, day(2019, 9, 28), Settings::default()).await;
        assert!(overdue(&on_time).is_empty());
        let late = report(t, ReportName::Exceptions, day(2019, 9, 29), Settings::default()).await;
        assert_eq!(
            overdue(&late),
            vec![("GD-001".into(), "2019-09-28".into(), String::new(), "contracts.csv contracts!2".into())]
        );
        // With 30 days set, GD-001 is overdue in August, and GD-002 (evaluated 2019-08-15) on
        // 2019-08-01 too: its evaluation came later.
        let strict = Settings { overdue_days: 30, ..Settings::default() };
        let aug = report(t, ReportName::Exceptions, day(2019, 8, 1), strict).await;
        let codes: Vec<String> = overdue(&aug).into_iter().map(|r| r.0).collect();
        assert_eq!(codes, vec!["GD-001", "GD-002"]);
        // The scorecard counts every open exception of the provider's contracts.
        let card = report(t, ReportName::Providers, day(2019, 8, 1), strict).await;
        let open = |code: &str| aug.rows.iter().filter(|r| r[1].plain() == code).count() as i64;
        let jia = card.rows.iter().find(|r| r[1].plain() == "甲社会工作服务中心").unwrap();
        assert_eq!(jia.last().unwrap(), &Val::Int(open("GD-001")));
        assert_eq!(card.total.as_ref().unwrap().last().unwrap(), &Val::Int(aug.rows.len() as i64));
    }
}

both_backends! {
    async fn grade_thresholds_are_settings(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let strict = Settings {
            excellent: Score::new(95.into()).unwrap(),
            ..Settings::default()
        };
        let o = ImportOptions { evaluations: strict, ..opts() };
        let csv = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,92,优秀,,,,\n");
        let path = write(t.dir.path(), "strict.csv", &csv);
        let r = import_paths(&t.db, std::slice::from_ref(&path), &o, None).await.unwrap();
        let e = errors(&r);
        assert_eq!((e[0].0.as_str(), e[0].1.as_deref()), ("grade_mismatch", Some("G2")));
        // With the default thresholds the same row is 优秀.
        let r = import_paths(&t.db, &[path], &opts(), None).await.unwrap();
        assert!(r.ok, "{:?}", errors(&r));
    }
}

/// The web application signed in with an API token of `role`, in-process.
struct Web {
    state: procure::web::state::AppState,
    token: String,
}

impl Web {
    async fn new(t: &TestDb, role: procure::access::Role) -> Web {
        let name = format!("{}-{}", role.code(), &procure::crypto::secret()[..8]);
        let token = t.api_token(&name, role).await;
        Web {
            state: procure::web::state::AppState::new(t.db.clone(), Default::default()),
            token,
        }
    }

    async fn send(&self, req: axum::http::Request<axum::body::Body>) -> (u16, String) {
        use tower::ServiceExt;
        let mut req = req;
        req.headers_mut().insert(
            axum::http::header::AUTHORIZATION,
            format!("Bearer {}", self.token).parse().unwrap(),
        );
        let resp = procure::web::router(self.state.clone())
            .oneshot(req)
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn get(&self, uri: &str) -> (u16, String) {
        self.send(
            axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await
    }
}

fn sample(file: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("imports")
        .join(file)
}

both_backends! {
    async fn the_provider_pages_and_api_show_scorecards_scores_and_evaluations(t: &TestDb) {
        let r = import_paths(&t.db, &[sample("sample-register.xlsx")], &opts(), None).await.unwrap();
        assert!(r.ok);
        let w = Web::new(t, procure::access::Role::Auditor).await;
        let (status, page) = w.get("/providers?as_of=2019-06-30").await;
        assert_eq!(status, 200);
        assert!(page.contains("承接机构评价档案") && page.contains("平均得分"), "{page}");

        // The provider paid while failed (GDGM-2017-026): its page, chart and evaluations.
        let uscc: String = {
            use sea_orm::{ConnectionTrait, Statement};
            let row = t.db.query_one_raw(Statement::from_string(t.db.get_database_backend(),
                "SELECT p.uscc FROM contracts c JOIN providers p ON p.id = c.provider_id WHERE c.code = 'GDGM-2017-026'"))
                .await.unwrap().unwrap();
            row.try_get_by_index(0).unwrap()
        };
        assert!(page.contains(&format!("/providers/{uscc}?as_of=2019-06-30")));
        let (status, page) = w.get(&format!("/providers/{uscc}?as_of=2019-06-30")).await;
        assert_eq!(status, 200);
        assert!(page.contains("<svg") && page.contains("GDGM-2017-026") && page.contains("不合格"), "{page}");
        let (status, doc) = w.get(&format!("/api/v1/providers/{uscc}?as_of=2019-06-30")).await;
        assert_eq!(status, 200);
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc["uscc"], uscc.as_str());
        assert!(doc["scorecard"]["fails"].as_i64().unwrap() >= 1, "{doc}");
        assert!(doc["scorecard"]["open_exceptions"].as_i64().unwrap() >= 1, "{doc}");
        let evaluations = doc["evaluations"].as_array().unwrap();
        assert!(evaluations.iter().any(|e| e["contract"] == "GDGM-2017-026" && e["grade"] == "fail"));
        assert!(evaluations.iter().all(|e| e["source"].as_str().unwrap().starts_with("sample-register.xlsx 绩效评价!")));

        // The corrected evaluation and its correction, on the API and the contract page.
        let (status, list) = w.get("/api/v1/contracts/GDGM-2017-023/evaluations").await;
        assert_eq!(status, 200);
        let list: Vec<serde_json::Value> = serde_json::from_str(&list).unwrap();
        let finals: Vec<_> = list.iter().filter(|e| e["kind"] == "final").collect();
        assert_eq!(finals.len(), 2);
        assert_eq!(finals[0]["replaced_by"], finals[1]["id"]);
        assert_eq!(finals[1]["replaces"], finals[0]["id"]);
        let (status, page) = w.get("/contracts/GDGM-2017-023").await;
        assert_eq!(status, 200);
        assert!(page.contains("id=\"evaluations\"") && page.contains("（更正）"), "{page}");

        let (status, _) = w.get("/api/v1/providers/NO-SUCH").await;
        assert_eq!(status, 404);
        let (status, _) = w.get("/api/v1/contracts/NO-SUCH/evaluations").await;
        assert_eq!(status, 404);
        let (status, doc) = w.get("/api/v1/providers?as_of=2019-06-30").await;
        assert_eq!(status, 200);
        assert_eq!(serde_json::from_str::<serde_json::Value>(&doc).unwrap()["report"], "providers");
    }
}

both_backends! {
    async fn an_evaluations_upload_is_previewed_with_its_new_and_unchanged_rows(t: &TestDb) {
        // The budget lines first: the sample's contracts name them.
        let r = import_paths(&t.db, &[sample("sample-budgets.csv"), sample("sample-contracts.csv")], &opts(), None).await.unwrap();
        assert!(r.ok);
        let w = Web::new(t, procure::access::Role::Finance).await;
        let bytes = std::fs::read(sample("sample-evaluations.csv")).unwrap();
        let upload = |bytes: Vec<u8>| {
            let boundary = "procure-evaluations-boundary";
            let mut body = format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"sample-evaluations.csv\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .into_bytes();
            body.extend_from_slice(&bytes);
            body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
            axum::http::Request::post("/api/v1/uploads")
                .header(axum::http::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
                .body(axum::body::Body::from(body))
                .unwrap()
        };
        let (status, doc) = w.send(upload(bytes.clone())).await;
        assert_eq!(status, 201, "{doc}");
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        let counts = &doc["check"]["files"][0]["counts"]["evaluations"];
        let rows = bytes.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count() as i64 - 1;
        assert_eq!(counts["read"].as_i64(), Some(rows), "{doc}");
        // The one correction is a change; every other row is new.
        assert_eq!(counts["updated"].as_i64(), Some(1), "{doc}");
        assert_eq!(counts["inserted"].as_i64(), Some(rows - 1), "{doc}");
        // The preview page names the kind with its new, changed and unchanged rows.
        let (status, page) = w.get(&format!("/upload/{}", doc["token"].as_str().unwrap())).await;
        assert_eq!(status, 200);
        assert!(page.contains("<td>绩效评价</td>"), "{page}");
        // Nothing is stored before the upload is confirmed.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM evaluations").await, 0);
        import_paths(&t.db, &[sample("sample-evaluations.csv")], &opts(), None).await.unwrap();
        let (_, doc) = w.send(upload(bytes)).await;
        let doc: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(doc["check"]["files"][0]["counts"]["evaluations"]["unchanged"].as_i64(), Some(rows), "{doc}");
    }
}

both_backends! {
    async fn the_settings_reach_import_and_report_from_the_command_line_and_the_environment(t: &TestDb) {
        let procure = || std::process::Command::new(env!("CARGO_BIN_EXE_procure"));
        let sample = sample("sample-register.xlsx");
        let out = procure().args(["--database", &t.url, "import"]).arg(&sample).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        // The import warned at the planted final payment's amount cell.
        let shown = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        assert!(shown.contains("第二十五条"), "{shown}");
        let exceptions = |extra: &[&str], env: Option<(&str, &str)>| {
            let mut cmd = procure();
            cmd.args(["--database", &t.url]).args(extra).args(["report", "exceptions", "--as-of", "2019-06-30", "--format", "csv", "--output", "-"]);
            if let Some((k, v)) = env {
                cmd.env(k, v);
            }
            let out = cmd.output().unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap()
        };
        // GDGM-2017-006 ended 2017-11-07: overdue after 90 days, not after 800.
        assert!(exceptions(&[], None).contains("绩效评价逾期,GDGM-2017-006"));
        assert!(!exceptions(&["--evaluation-overdue-days", "800"], None).contains("绩效评价逾期"));
        assert!(!exceptions(&[], Some(("PROCURE_EVALUATION_OVERDUE_DAYS", "800"))).contains("绩效评价逾期"));
        // Thresholds that do not descend are refused before anything runs.
        let out = procure().args(["--database", &t.url, "--grade-pass", "95", "report", "summary"]).output().unwrap();
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("must descend"));
        let out = procure().args(["--database", &t.url, "--grade-good", "80.555", "report", "summary"]).output().unwrap();
        assert!(!out.status.success());
    }
}

both_backends! {
    async fn an_evaluation_recorded_after_the_as_recorded_day_does_not_count(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        // The contracts were recorded long ago; the evaluation is recorded today.
        use sea_orm::ConnectionTrait;
        t.db.execute_unprepared("UPDATE import_batches SET recorded_at = '2019-01-02 00:00:00+00:00'").await.unwrap();
        let evals = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-08-15,85,,,,,\n");
        assert!(import(t, "evaluations.csv", &evals).await.ok);
        let at = |as_recorded: Option<NaiveDate>| {
            let req = Request {
                name: ReportName::Exceptions,
                scope: Scope { as_of: day(2019, 12, 31), as_recorded, ..Default::default() },
                by: Vec::new(),
                lang: Lang::Zh,
                evaluations: Settings::default(),
            };
            async move { build(&t.db, &req).await.unwrap() }
        };
        let now = at(None).await;
        assert_eq!(exceptions_of(&now, "绩效评价逾期").into_iter().map(|r| r.0).collect::<Vec<_>>(), vec!["GD-002"]);
        let then = at(Some(day(2019, 12, 31))).await;
        assert_eq!(exceptions_of(&then, "绩效评价逾期").into_iter().map(|r| r.0).collect::<Vec<_>>(), vec!["GD-001", "GD-002"]);
    }
}

both_backends! {
    async fn the_scorecard_groups_like_the_other_reports(t: &TestDb) {
        assert!(import(t, "contracts.csv", CONTRACTS).await.ok);
        let evals = format!("{EVAL_HEADER}GD-001,末期,丙评估事务所,,2019-07-20,92,,,,,\nGD-002,末期,丙评估事务所,,2019-07-20,81,,,,,\n");
        assert!(import(t, "evaluations.csv", &evals).await.ok);
        let req = Request {
            name: ReportName::Providers,
            scope: Scope { as_of: day(2019, 12, 31), ..Default::default() },
            by: vec![procure::reports::Dim::Category],
            lang: Lang::En,
            evaluations: Settings::default(),
        };
        let r = build(&t.db, &req).await.unwrap();
        let keys: Vec<&str> = r.columns.iter().map(|c| c.key).collect();
        assert_eq!(&keys[..4], ["category", "uscc", "provider", "contracts"]);
        assert_eq!(r.rows.len(), 2);
        assert_eq!(r.rows[0][0].plain(), "Elderly care");
        let total = r.total.as_ref().unwrap();
        // The average of 92 and 81; the last grade is a provider's, blank in the total.
        assert_eq!(total[10].plain(), "86.50");
        assert_eq!(total[11].plain(), "");
    }
}
