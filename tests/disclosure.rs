//! 信息公开: anonymous visitors under `serve --public` see each contract's 财预〔2017〕87号
//! items by year and category, as pages, CSV, XLSX and JSON; nothing else (no vouchers, no
//! files, no person); and the figures are read once per ledger state, so varying the query
//! never makes the server aggregate again. Both backends.

mod common;

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::TestDb;
use procure::imports::{import_paths, ImportOptions};
use procure::web::cache::AnonymousLimits;
use procure::web::router;
use procure::web::state::{AppState, WebConfig};
use tower::ServiceExt;

struct Answer {
    status: StatusCode,
    mime: String,
    body: Vec<u8>,
}

impl Answer {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn get(state: &AppState, path: &str) -> Answer {
    let req = Request::builder().uri(path).body(Body::empty()).unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let mime = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer { status, mime, body }
}

async fn with_sample(t: &TestDb) {
    let opts = ImportOptions {
        actor: "test".into(),
        ..Default::default()
    };
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx");
    let r = import_paths(&t.db, &[sample], &opts, None).await.unwrap();
    assert!(r.ok);
}

fn public(t: &TestDb, per_minute: u32) -> AppState {
    AppState::new(
        t.db.clone(),
        WebConfig {
            public: true,
            anonymous: AnonymousLimits {
                per_address: 1,
                total: 1,
                per_minute,
            },
            ..Default::default()
        },
    )
}

both_backends! {
    async fn anonymous_visitors_see_every_contract_by_year_and_category_and_its_87_items(t: &TestDb) {
        with_sample(t).await;
        let state = public(t, 20);
        let a = get(&state, "/disclosure").await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        let page = a.text();
        assert!(page.contains("共 97 个项目，合同金额"), "{page}");
        assert_eq!(page.matches("href=\"/disclosure/GDGM-").count(), 97);

        let json = get(&state, "/api/v1/disclosure").await;
        assert_eq!(json.status, StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
        let all = doc["contracts"].as_array().unwrap();
        assert_eq!(all.len(), 97);
        let total: i64 = all.iter().map(|c| procure::Money::parse(c["amount"].as_str().unwrap()).unwrap().fen()).sum();
        assert_eq!(total, t.scalar("SELECT CAST(SUM(value_fen) AS BIGINT) FROM contracts").await);

        // By year and by category: the same contracts, filtered.
        let y2018 = all.iter().filter(|c| c["year"] == 2018).count();
        let a = get(&state, "/api/v1/disclosure?year=2018").await;
        let doc: serde_json::Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(doc["contracts"].as_array().unwrap().len(), y2018);
        let elderly = all.iter().filter(|c| c["category"] == "elderly" && c["year"] == 2018).count();
        let a = get(&state, "/disclosure?year=2018&category=elderly").await;
        assert_eq!(a.text().matches("href=\"/disclosure/GDGM-").count(), elderly);
        assert_eq!(get(&state, "/disclosure?year=abc").await.status, StatusCode::BAD_REQUEST);

        // One contract's items: content, method, provider and USCC, amount, yearly funding, term.
        let c = &all[0];
        let code = c["code"].as_str().unwrap();
        let a = get(&state, &format!("/disclosure/{code}")).await;
        assert_eq!(a.status, StatusCode::OK);
        let page = a.text();
        for field in ["title", "provider", "uscc", "amount", "start", "end"] {
            assert!(page.contains(c[field].as_str().unwrap()), "{field} missing: {page}");
        }
        assert!(page.contains(c["method_name"].as_str().unwrap()));
        assert!(page.contains("年度资金安排"));
        assert!(page.contains("绩效评价结果"));
        let paid: i64 = c["yearly"].as_array().unwrap().iter().map(|y| procure::Money::parse(y["disbursed"].as_str().unwrap()).unwrap().fen()).sum();
        let ledger = t.scalar(&format!("SELECT CAST(SUM(d.amount_fen) AS BIGINT) FROM disbursements d JOIN contracts c ON c.id = d.contract_id WHERE c.code = '{code}'")).await;
        assert_eq!(paid, ledger);
        // The evaluation's result, where there is one.
        let evaluated = all.iter().find(|c| c["evaluation"].is_string()).expect("an evaluated contract");
        let a = get(&state, &format!("/disclosure/{}", evaluated["code"].as_str().unwrap())).await;
        assert!(a.text().contains(evaluated["evaluation"].as_str().unwrap()));
        assert!(all.iter().any(|c| c["evaluation"].is_null()));
        // English too, at the same link.
        let a = get(&state, &format!("/disclosure/{code}?lang=en")).await;
        assert!(a.text().contains("Yearly funding"), "{}", a.text());
        assert_eq!(get(&state, "/disclosure/NO-SUCH").await.status, StatusCode::NOT_FOUND);

        // Downloads: CSV and XLSX of what the list shows.
        let csv = get(&state, "/disclosure/download?format=csv&year=2018").await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.mime.starts_with("text/csv"));
        let text = csv.text();
        assert!(text.contains("统一社会信用代码"));
        assert_eq!(text.matches("GDGM-").count(), y2018);
        let xlsx = get(&state, "/disclosure/download?format=xlsx").await;
        assert_eq!(xlsx.status, StatusCode::OK);
        assert!(xlsx.mime.contains("spreadsheetml"));

        // Nothing beyond the 87号 items: no voucher, no file, no batch, no account.
        let vouchers = t.scalar("SELECT COUNT(*) FROM disbursements").await;
        assert!(vouchers > 0);
        for body in [get(&state, "/disclosure").await.text(), page, text, String::from_utf8_lossy(&json.body).into_owned()] {
            for secret in ["记-", "sample-register.xlsx", "凭证", "test"] {
                assert!(!body.contains(secret), "{secret} disclosed");
            }
        }
    }
}

both_backends! {
    async fn varying_the_query_never_makes_the_server_aggregate_again(t: &TestDb) {
        with_sample(t).await;
        // One uncomputed figure a minute for anonymous visitors: the first request reads the
        // ledger; every later one, whatever it asks, must be served from the kept copy.
        let state = public(t, 1);
        assert_eq!(get(&state, "/disclosure").await.status, StatusCode::OK);
        let kept = state.cache.bytes();
        assert!(kept > 0);
        let codes: Vec<String> = {
            let doc: serde_json::Value = serde_json::from_slice(&get(&state, "/api/v1/disclosure").await.body).unwrap();
            doc["contracts"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap().to_string()).collect()
        };
        let mut asked = 0;
        for year in ["", "2017", "2018", "2019", "2020", "1999"] {
            for category in ["", "elderly", "youth", "relief"] {
                for path in ["/disclosure", "/api/v1/disclosure", "/disclosure/download"] {
                    let a = get(&state, &format!("{path}?year={year}&category={category}&lang=en&x={asked}")).await;
                    assert_eq!(a.status, StatusCode::OK, "{path} {year} {category}: {}", a.text());
                    asked += 1;
                }
            }
        }
        for code in codes.iter().take(20) {
            assert_eq!(get(&state, &format!("/disclosure/{code}")).await.status, StatusCode::OK);
        }
        assert_eq!(state.cache.bytes(), kept, "nothing new was computed or kept");

        // A new batch is a new state of the ledger: read once again, then kept.
        let dir = tempfile::tempdir().unwrap();
        let extra = dir.path().join("extra.csv");
        std::fs::write(&extra, "项目编号,项目名称,服务类别,承接机构,合同金额（元）,开始日期,结束日期\nNEW-1,新增项目,老年服务,官渡区新机构,1000.00,2020-01-01,2020-12-31\n").unwrap();
        let opts = ImportOptions { actor: "test".into(), ..Default::default() };
        assert!(import_paths(&t.db, &[extra], &opts, None).await.unwrap().ok);
        state.cache.refresh(&t.db).await.unwrap();
        let fresh = public(t, 5);
        let doc: serde_json::Value = serde_json::from_slice(&get(&fresh, "/api/v1/disclosure").await.body).unwrap();
        assert_eq!(doc["contracts"].as_array().unwrap().len(), 98);
    }
}

both_backends! {
    async fn without_public_anonymous_visitors_are_refused(t: &TestDb) {
        with_sample(t).await;
        let state = AppState::new(t.db.clone(), WebConfig::default());
        for path in ["/disclosure", "/disclosure/download", "/api/v1/disclosure"] {
            assert_eq!(get(&state, path).await.status, StatusCode::UNAUTHORIZED, "{path}");
        }
    }
}

both_backends! {
    async fn anonymous_visitors_download_the_ocds_package_made_once_per_ledger_state(t: &TestDb) {
        // An empty ledger has no package to give (a package holds at least one release).
        assert_eq!(get(&public(t, 5), "/disclosure/ocds").await.status, StatusCode::NOT_FOUND);
        with_sample(t).await;
        // Two uncached computations a minute for anonymous visitors: the kept contracts (for
        // the page) and the package. Every later download is served from the kept package;
        // made again, it would be refused (429).
        let state = public(t, 2);
        let page = get(&state, "/disclosure").await;
        assert!(page.text().contains("id=\"disclosure-ocds\""), "the list links the package");
        let first = get(&state, "/disclosure/ocds").await;
        assert_eq!(first.status, StatusCode::OK, "{}", first.text());
        assert!(first.mime.starts_with("application/json"), "{}", first.mime);
        let package: serde_json::Value = serde_json::from_slice(&first.body).unwrap();
        let releases = package["releases"].as_array().unwrap();
        let ocids: std::collections::BTreeSet<&str> =
            releases.iter().map(|r| r["ocid"].as_str().unwrap()).collect();
        assert_eq!(ocids.len(), 97, "one ocid per contract");
        for _ in 0..5 {
            let again = get(&state, "/disclosure/ocds").await;
            assert_eq!(again.status, StatusCode::OK);
            assert_eq!(again.body, first.body, "the same kept bytes");
        }
        // Nothing a visitor should not see: no voucher numbers of the payments, no file names.
        assert!(!first.text().contains("sample-register.xlsx"));
    }
}
