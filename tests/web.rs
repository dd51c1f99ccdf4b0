//! The web application and its JSON API, in-process and on a real port, on both backends:
//! upload -> preview -> confirm bound by SHA-256, kept originals, the summary served from
//! figures kept per ledger state, readable errors with stable codes, the 413 limit.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::book::*;
use common::TestDb;
use procure::imports::{import_paths, ImportOptions};
use procure::web::router;
use procure::web::state::{AppState, WebConfig};
use serde_json::Value as Json;
use tower::ServiceExt;

fn sample() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx")
}

/// The server as a finance officer's script sees it: signed in with an API token.
struct Web {
    state: AppState,
    token: String,
}

async fn web(t: &TestDb, config: WebConfig) -> Web {
    let name = format!("finance-{}", &procure::crypto::secret()[..8]);
    let token = t.api_token(&name, procure::access::Role::Finance).await;
    Web {
        state: AppState::new(t.db.clone(), config),
        token,
    }
}

async fn app(t: &TestDb) -> Web {
    web(t, WebConfig::default()).await
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Json {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

async fn send(w: &Web, mut req: Request<Body>) -> Answer {
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {}", w.token).parse().unwrap(),
    );
    answer(w, req).await
}

/// The server's answer to `req`, as it is: no credentials added.
async fn answer(w: &Web, req: Request<Body>) -> Answer {
    let resp = router(w.state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

async fn get(state: &Web, uri: &str) -> Answer {
    send(state, Request::get(uri).body(Body::empty()).unwrap()).await
}

const BOUNDARY: &str = "procure-test-boundary-7f3a";

/// A multipart body with one `files` part per file.
fn multipart(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

async fn upload(state: &Web, uri: &str, files: &[(&str, &[u8])]) -> Answer {
    send(
        state,
        Request::post(uri)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(multipart(files)))
            .unwrap(),
    )
    .await
}

async fn commit(state: &Web, token: &str, sha256: &[&str]) -> Answer {
    send(
        state,
        Request::post(format!("/api/v1/uploads/{token}/commit"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(
                serde_json::json!({ "sha256": sha256 }).to_string(),
            ))
            .unwrap(),
    )
    .await
}

async fn import_sample(t: &TestDb) {
    let opts = ImportOptions {
        actor: "test".into(),
        ..Default::default()
    };
    let r = import_paths(&t.db, &[sample()], &opts, None).await.unwrap();
    assert!(r.ok, "{:?}", r.files[0].errors);
}

/// The total row of a summary document.
fn total(doc: &Json) -> &Json {
    &doc["total"]
}

both_backends! {
    async fn every_page_answers_on_an_empty_ledger(t: &TestDb) {
        let state = app(t).await;
        for (uri, expect) in [
            ("/", "截至"),
            ("/?as_of=2019-06-30", "项目数"),
            ("/contracts", "项目合同"),
            ("/upload", "上传登记表"),
            ("/reports", "报表下载"),
            ("/imports", "还没有导入任何登记表"),
            ("/api", "People served and sessions"),
            ("/static/app.css", "body"),
        ] {
            let a = get(&state, uri).await;
            assert_eq!(a.status, StatusCode::OK, "{uri}");
            assert!(a.text().contains(expect), "{uri} should show {expect}");
        }
        let a = get(&state, "/static/register-template.xlsx").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.body.starts_with(b"PK"));
    }
}

both_backends! {
    async fn an_upload_is_previewed_then_confirmed_exactly_once(t: &TestDb) {
        let state = app(t).await;
        let bytes = std::fs::read(sample()).unwrap();
        let a = upload(&state, "/api/v1/uploads", &[("sample-register.xlsx", &bytes)]).await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        let preview = a.json();
        let token = preview["token"].as_str().unwrap().to_string();
        let sha = preview["files"][0]["sha256"].as_str().unwrap().to_string();
        assert_eq!(sha, procure::crypto::sha256_hex(&bytes));
        assert_eq!(preview["check"]["ok"], true);
        assert_eq!(preview["check"]["files"][0]["status"], "checked");
        assert_eq!(preview["check"]["files"][0]["counts"]["contracts"]["inserted"], 97);
        // The preview wrote nothing to the ledger.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 0);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM import_batches").await, 0);

        // Confirming anything but the previewed file is refused and changes nothing.
        let wrong = commit(&state, &token, &["0".repeat(64).as_str()]).await;
        assert_eq!(wrong.status, StatusCode::CONFLICT);
        assert_eq!(wrong.json()["error"]["code"], "preview_mismatch");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 0);

        let done = commit(&state, &token, &[sha.as_str()]).await;
        assert_eq!(done.status, StatusCode::OK, "{}", done.text());
        let result = done.json();
        assert_eq!(result["result"]["files"][0]["status"], "stored");
        let batch = result["result"]["files"][0]["batch_id"].as_i64().unwrap();
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 97);

        // Confirming again imports nothing twice: it names the batch that holds the file.
        let again = commit(&state, &token, &[sha.as_str()]).await.json();
        assert_eq!(again["result"]["files"][0]["status"], "unchanged");
        assert_eq!(again["result"]["files"][0]["identical_to_batch"], batch);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM import_batches").await, 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM disbursements").await, 233);

        // The batch list offers the original, byte for byte.
        let list = get(&state, "/api/v1/imports").await.json();
        assert_eq!(list["total"], 1);
        assert_eq!(list["items"][0]["id"], batch);
        assert_eq!(list["items"][0]["has_original"], true);
        assert_eq!(list["items"][0]["sha256"], sha.as_str());
        let original = get(&state, &format!("/api/v1/imports/{batch}/original")).await;
        assert_eq!(original.status, StatusCode::OK);
        assert_eq!(original.body, bytes);
        assert!(original.headers[header::CONTENT_DISPOSITION]
            .to_str()
            .unwrap()
            .contains("sample-register.xlsx"));
        let page = get(&state, "/imports").await.text();
        assert!(page.contains(&format!("/imports/{batch}/original")));
        // A batch link lands on the line of the imports page that shows it.
        let link = get(&state, &format!("/imports/{batch}")).await;
        assert_eq!(link.status, StatusCode::SEE_OTHER);
        assert_eq!(link.headers[header::LOCATION], format!("/imports?page=1#batch-{batch}").as_str());
    }
}

both_backends! {
    async fn a_bad_register_is_previewed_with_its_cells_and_nothing_is_stored(t: &TestDb) {
        let dir = tempfile::tempdir().unwrap();
        let bad = xlsx(dir.path(), "bad.xlsx", &[("合同", vec![
            header(&CONTRACT_HEADER),
            contract("GM-1", "助老", "老年服务", "阳光社工", 1000.0, d(2019, 1, 1), d(2019, 12, 31)),
            contract("GM-2", "助残", "没有这类", "阳光社工", 1000.0, d(2019, 1, 1), d(2019, 12, 31)),
        ])]);
        let state = app(t).await;
        let bytes = std::fs::read(&bad).unwrap();
        let a = upload(&state, "/api/v1/uploads", &[("bad.xlsx", &bytes)]).await;
        assert_eq!(a.status, StatusCode::CREATED);
        let p = a.json();
        assert_eq!(p["check"]["ok"], false);
        let err = &p["check"]["files"][0]["errors"][0];
        assert_eq!(err["sheet"], "合同");
        assert_eq!(err["cell"], "C3");
        assert_eq!(err["value"], "没有这类");
        // The page shows the same cell, in Chinese, and offers no confirm button.
        let token = p["token"].as_str().unwrap();
        let page = get(&state, &format!("/upload/{token}")).await.text();
        assert!(page.contains("合同!C3"), "{page}");
        assert!(page.contains("没有这类"));
        assert!(!page.contains("id=\"confirm\""));
        // Confirming anyway stores nothing.
        let sha = p["files"][0]["sha256"].as_str().unwrap();
        let r = commit(&state, token, &[sha]).await.json();
        assert_eq!(r["result"]["ok"], false);
        assert_eq!(r["result"]["files"][0]["status"], "rejected");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 0);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM import_batches").await, 0);
    }
}

both_backends! {
    async fn the_web_upload_form_previews_and_confirms_in_the_browser_flow(t: &TestDb) {
        let state = app(t).await;
        let bytes = std::fs::read(sample()).unwrap();
        let a = upload(&state, "/upload", &[("sample-register.xlsx", &bytes)]).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        let to = a.headers[header::LOCATION].to_str().unwrap().to_string();
        let preview = get(&state, &to).await.text();
        for shown in ["项目合同", "资金拨付", "服务统计", "可以导入", "id=\"confirm\""] {
            assert!(preview.contains(shown), "preview should show {shown}");
        }
        let sha = procure::crypto::sha256_hex(&bytes);
        let r = send(
            &state,
            Request::post(format!("{to}/commit"))
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(format!("sha256={sha}")))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.text().contains("已导入"));
        assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 97);
        let dash = get(&state, "/?as_of=2019-06-30").await.text();
        assert!(dash.contains("截至2019年6月30日，共购买社会组织专业服务项目97个，累计资金1453.27万元，服务群众5.12万人。"));
    }
}

both_backends! {
    async fn a_file_imported_on_the_command_line_with_keep_original_is_kept_as_its_batchs_original(t: &TestDb) {
        let opts = ImportOptions { actor: "test".into(), keep_original: true, ..Default::default() };
        assert!(import_paths(&t.db, &[sample()], &opts, None).await.unwrap().ok);
        let state = app(t).await;
        let list = get(&state, "/api/v1/imports").await.json();
        assert_eq!(list["items"][0]["has_original"], true);
        let batch = list["items"][0]["id"].as_i64().unwrap();
        let original = get(&state, &format!("/api/v1/imports/{batch}/original")).await;
        assert_eq!(original.status, StatusCode::OK);
        assert_eq!(original.body, std::fs::read(sample()).unwrap());
        // The same bytes uploaded later store nothing new in the ledger; the upload keeps its
        // own copy (it is what the officer confirmed), and an import keeps none when the
        // bytes are kept already.
        let bytes = std::fs::read(sample()).unwrap();
        let p = upload(&state, "/api/v1/uploads", &[("again.xlsx", &bytes)]).await.json();
        let sha = p["files"][0]["sha256"].as_str().unwrap().to_string();
        let token = p["token"].as_str().unwrap().to_string();
        assert_eq!(commit(&state, &token, &[sha.as_str()]).await.json()["result"]["files"][0]["status"], "unchanged");
        assert_eq!(t.scalar(&format!("SELECT COUNT(*) FROM uploads WHERE sha256 = '{sha}' AND status = 'committed'")).await, 2);
    }
}

both_backends! {
    async fn the_summary_api_reports_the_sample_figures_in_either_language(t: &TestDb) {
        import_sample(t).await;
        let state = app(t).await;
        let a = get(&state, "/api/v1/summary?as_of=2019-06-30").await;
        assert_eq!(a.status, StatusCode::OK);
        assert_eq!(a.headers[header::CONTENT_TYPE], "application/json");
        let doc = a.json();
        assert_eq!(total(&doc)["contracts"], 97);
        assert_eq!(total(&doc)["value"], "14532700.00");
        assert_eq!(total(&doc)["people"], 51236);
        assert!(doc["statement"].as_str().unwrap().starts_with("截至2019年6月30日"));
        let en = get(&state, "/api/v1/summary?as_of=2019-06-30&lang=en").await.json();
        assert!(en["statement"].as_str().unwrap().starts_with("As of 30 June 2019"));
        assert_eq!(total(&en)["category"], "Total");
        // An earlier date is another figure.
        let early = get(&state, "/api/v1/summary?as_of=2017-12-31").await.json();
        assert!(total(&early)["contracts"].as_i64().unwrap() < 97);
    }
}

both_backends! {
    async fn the_cached_summary_follows_an_import_made_by_another_process(t: &TestDb) {
        let state = web(
            t,
            WebConfig {
                poll: Duration::from_millis(20),
                ..Default::default()
            },
        )
        .await;
        let watcher = state.state.watch();
        let before = get(&state, "/api/v1/summary?as_of=2019-06-30").await.json();
        assert_eq!(total(&before)["contracts"], 0);
        // Served twice from the same figures.
        let again = get(&state, "/api/v1/summary?as_of=2019-06-30").await.json();
        assert_eq!(before, again);
        // The command line imports on its own connection; the server notices within a poll.
        let cli = procure::db::connect(&t.url).await.unwrap();
        let opts = ImportOptions { actor: "cli".into(), ..Default::default() };
        assert!(import_paths(&cli, &[sample()], &opts, None).await.unwrap().ok);
        let mut seen = 0;
        for _ in 0..250 {
            let doc = get(&state, "/api/v1/summary?as_of=2019-06-30").await.json();
            seen = total(&doc)["contracts"].as_i64().unwrap();
            if seen == 97 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(seen, 97, "the summary never showed the new import");
        let dash = get(&state, "/?as_of=2019-06-30").await.text();
        assert!(dash.contains("97个"));
        watcher.abort();
    }
}

both_backends! {
    async fn errors_are_json_with_a_stable_code_and_a_message_in_the_readers_language(t: &TestDb) {
        import_sample(t).await;
        let state = app(t).await;
        for (uri, status, code) in [
            ("/api/v1/summary?as_of=yesterday", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/contracts/NO-SUCH", StatusCode::NOT_FOUND, "not_found"),
            ("/api/v1/contracts?category=astronomy", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/contracts?state=sleeping", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/reports/payroll", StatusCode::NOT_FOUND, "not_found"),
            ("/api/v1/reports/summary?format=pdf", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/spend?by=colour", StatusCode::BAD_REQUEST, "bad_request"),
            ("/api/v1/uploads/0123456789abcdef", StatusCode::NOT_FOUND, "not_found"),
            ("/api/v1/imports/999/original", StatusCode::NOT_FOUND, "not_found"),
            ("/api/v1/nothing-here", StatusCode::NOT_FOUND, "not_found"),
        ] {
            let a = get(&state, uri).await;
            assert_eq!(a.status, status, "{uri}");
            let doc = a.json();
            assert_eq!(doc["error"]["code"], code, "{uri}");
            assert!(!doc["error"]["message"].as_str().unwrap().is_empty());
        }
        let zh = get(&state, "/api/v1/summary?as_of=yesterday").await.json();
        assert!(zh["error"]["message"].as_str().unwrap().contains("不是日期"));
        let en = get(&state, "/api/v1/summary?as_of=yesterday&lang=en").await.json();
        assert_eq!(en["error"]["message"], "as_of is not a date: 'yesterday' (e.g. 2019-06-30)");
        // Pages answer with a readable page, not JSON.
        let page = get(&state, "/contracts/NO-SUCH").await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(page.text().contains("没有项目编号为“NO-SUCH”的合同"));
    }
}

both_backends! {
    async fn an_upload_over_the_limit_is_refused_with_413_and_a_readable_message(t: &TestDb) {
        let state = web(t, WebConfig { max_upload_bytes: 4096, ..Default::default() }).await;
        let big = vec![b'a'; 100_000];
        let a = upload(&state, "/api/v1/uploads", &[("big.csv", &big)]).await;
        assert_eq!(a.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(a.json()["error"]["code"], "too_large");
        let page = upload(&state, "/upload", &[("big.csv", &big)]).await;
        assert_eq!(page.status, StatusCode::PAYLOAD_TOO_LARGE);
        assert!(page.text().contains("上传的文件太大"), "{}", page.text());
        assert_eq!(t.scalar("SELECT COUNT(*) FROM uploads").await, 0);
        // An empty form is a plain bad request.
        let none = upload(&state, "/api/v1/uploads", &[]).await;
        assert_eq!(none.status, StatusCode::BAD_REQUEST);
    }
}

both_backends! {
    async fn contracts_are_listed_filtered_paged_and_shown_with_their_sources(t: &TestDb) {
        import_sample(t).await;
        let state = app(t).await;
        let all = get(&state, "/api/v1/contracts?as_of=2019-06-30&per_page=500").await.json();
        assert_eq!(all["total"], 97);
        let elderly = get(&state, "/api/v1/contracts?category=elderly&per_page=500").await.json();
        let n = elderly["total"].as_u64().unwrap();
        assert_eq!(elderly["items"].as_array().unwrap().len() as u64, n);
        assert!(elderly["items"].as_array().unwrap().iter().all(|c| c["category"] == "elderly"));
        let by_name = get(&state, "/api/v1/contracts?category=%E8%80%81%E5%B9%B4%E6%9C%8D%E5%8A%A1").await.json();
        assert_eq!(by_name["total"], n);
        let page2 = get(&state, "/api/v1/contracts?per_page=10&page=2").await.json();
        assert_eq!(page2["items"].as_array().unwrap().len(), 10);
        assert_eq!(page2["pages"], 10);
        assert_eq!(page2["items"][0]["code"], all["items"][10]["code"]);
        // The states partition the contracts on any date.
        let mut sum = 0;
        for s in ["not_started", "running", "ended", "unpaid"] {
            let p = get(&state, &format!("/api/v1/contracts?as_of=2019-06-30&state={s}")).await.json();
            for c in p["items"].as_array().unwrap() {
                assert_eq!(c["state"], s);
            }
            sum += p["total"].as_u64().unwrap();
        }
        assert_eq!(sum, 97);
        // Search finds by code; LIKE wildcards in the words are literal.
        let code = all["items"][0]["code"].as_str().unwrap().to_string();
        let found = get(&state, &format!("/api/v1/contracts?q={code}")).await.json();
        assert!(found["total"].as_u64().unwrap() >= 1);
        let none = get(&state, "/api/v1/contracts?q=%25%25").await.json();
        assert_eq!(none["total"], 0);

        let detail = get(&state, &format!("/api/v1/contracts/{code}?as_of=2019-06-30")).await.json();
        assert_eq!(detail["code"], code.as_str());
        assert_eq!(detail["source"]["file"], "sample-register.xlsx");
        let paid: i64 = detail["payments"].as_array().unwrap().iter()
            .map(|p| procure::Money::parse(p["amount"].as_str().unwrap()).unwrap().fen())
            .sum();
        assert_eq!(procure::Money::from_fen(paid).to_string(), detail["paid"].as_str().unwrap());
        for p in detail["payments"].as_array().unwrap() {
            assert!(p["source"]["row"].as_i64().unwrap() > 1);
            assert!(p["source"]["batch_id"].as_i64().is_some());
        }
        let page = get(&state, &format!("/contracts/{code}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("拨付记录"));
        let list = get(&state, "/contracts?category=elderly&state=running&as_of=2019-06-30").await;
        assert_eq!(list.status, StatusCode::OK);
    }
}

both_backends! {
    async fn report_downloads_are_the_files_the_command_line_writes(t: &TestDb) {
        import_sample(t).await;
        let state = app(t).await;
        let a = get(&state, "/reports/download?name=summary&as_of=2019-06-30&format=csv").await;
        assert_eq!(a.status, StatusCode::OK);
        assert!(a.headers[header::CONTENT_DISPOSITION].to_str().unwrap().contains("summary-2019-06-30.csv"));
        let kept = std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("reports/summary-2019-06-30.csv")).unwrap();
        assert_eq!(a.body, kept, "the web CSV differs from reports/summary-2019-06-30.csv");
        let x = get(&state, "/api/v1/reports/spend?as_of=2019-06-30&by=street,year&format=xlsx").await;
        assert_eq!(x.status, StatusCode::OK);
        assert!(x.body.starts_with(b"PK"));
        let j = get(&state, "/api/v1/reports/exceptions?as_of=2019-06-30").await.json();
        assert_eq!(j["report"], "exceptions");
        let spend = get(&state, "/api/v1/spend?as_of=2019-06-30&by=month").await.json();
        assert!(spend["rows"].as_array().unwrap().len() > 12);
        let people = get(&state, "/api/v1/beneficiaries?as_of=2019-06-30&by=street").await.json();
        assert_eq!(people["total"]["people"], 51236);
    }
}

#[tokio::test]
async fn the_openapi_document_describes_every_api_route() {
    let t = common::sqlite().await;
    let state = app(&t).await;
    let doc = get(&state, "/api/openapi.json").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/v1/ping",
        "/api/v1/summary",
        "/api/v1/spend",
        "/api/v1/beneficiaries",
        "/api/v1/contracts",
        "/api/v1/contracts/{code}",
        "/api/v1/imports",
        "/api/v1/imports/{id}/original",
        "/api/v1/uploads",
        "/api/v1/uploads/{token}",
        "/api/v1/uploads/{token}/commit",
        "/api/v1/reports/{name}",
        "/api/v1/audit",
        "/api/v1/budget",
        "/api/v1/providers",
        "/api/v1/providers/{uscc}",
        "/api/v1/contracts/{code}/evaluations",
        "/api/v1/disclosure",
        "/api/v1/ocds/releases",
        "/api/v1/ocds/records",
        "/api/v1/ocds/{ocid}",
    ] {
        assert!(paths.contains_key(p), "the OpenAPI document lacks {p}");
    }
    assert_eq!(paths.len(), 21, "a route was added: list it above");
    // The bodies the operations name are described, with the types inside them.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for s in [
        "ErrorBody",
        "ContractPage",
        "ContractItem",
        "ContractDetail",
        "BatchPage",
        "Preview",
        "Commit",
        "Committed",
    ] {
        assert!(
            schemas.contains_key(s),
            "the OpenAPI document lacks the schema {s}"
        );
    }
    // Every documented path answers something other than the API's 404.
    for p in paths.keys() {
        let concrete = p
            .replace("{code}", "X")
            .replace("{id}", "1")
            .replace("{token}", "t")
            .replace("{name}", "summary");
        let a = get(&state, &concrete).await;
        let not_routed = a.status == StatusCode::NOT_FOUND
            && a.json()["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("openapi");
        assert!(!not_routed, "{p} is documented but not routed");
    }
}

/// A server on a real port, as `procure serve` runs it.
async fn serve(state: AppState) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (format!("http://{addr}"), task)
}

both_backends! {
    async fn on_a_real_port_bad_files_are_refused_and_the_server_keeps_answering(t: &TestDb) {
        let w = app(t).await;
        let (base, server) = serve(w.state.clone()).await;
        let http = common::bearer(&w.token);
        let bomb = {
            // A sheet claiming cells from A1 to XFD1048576 (calamine's bounding-box allocation): refused by the guard.
            let mut out = std::io::Cursor::new(Vec::new());
            let mut z = zip::ZipWriter::new(&mut out);
            let o = zip::write::SimpleFileOptions::default();
            z.start_file("[Content_Types].xml", o).unwrap();
            std::io::Write::write_all(&mut z, b"<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"/>").unwrap();
            z.start_file("xl/workbook.xml", o).unwrap();
            std::io::Write::write_all(&mut z, b"<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><sheets><sheet name=\"S\" sheetId=\"1\" r:id=\"rId1\" xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\"/></sheets></workbook>").unwrap();
            z.start_file("xl/worksheets/sheet1.xml", o).unwrap();
            std::io::Write::write_all(&mut z, b"<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"><dimension ref=\"A1:XFD1048576\"/><sheetData><row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"1048576\"><c r=\"XFD1048576\"><v>1</v></c></row></sheetData></worksheet>").unwrap();
            z.finish().unwrap();
            out.into_inner()
        };
        for (name, bytes) in [("bomb.xlsx", bomb), ("noise.xlsx", b"PK\x03\x04 not really a zip".to_vec()), ("empty.csv", Vec::new())] {
            let form = reqwest::multipart::Form::new().part(
                "files",
                reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()),
            );
            let r = http.post(format!("{base}/api/v1/uploads")).multipart(form).send().await.unwrap();
            let status = r.status();
            let doc: Json = r.json().await.unwrap();
            assert!(status == 201 || status == 400, "{name}: {status}");
            if status == 201 {
                assert_eq!(doc["check"]["ok"], false, "{name} should be refused");
                assert!(!doc["check"]["files"][0]["errors"].as_array().unwrap().is_empty());
            }
            let health = http.get(format!("{base}/health")).send().await.unwrap();
            assert_eq!(health.status(), 200, "the server stopped answering after {name}");
        }
        assert_eq!(t.scalar("SELECT COUNT(*) FROM import_batches").await, 0);
        let sum: Json = http.get(format!("{base}/api/v1/summary")).send().await.unwrap().json().await.unwrap();
        assert_eq!(sum["report"], "summary");
        server.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_answers_other_requests_while_a_large_file_is_parsed() {
    let t = common::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let files = procure::sample::generate(&procure::sample::GenerateOptions {
        out: dir.path().to_path_buf(),
        seed: 7,
        contracts: 2_000,
        payments: 150_000,
        services: 1_000,
        format: procure::sample::SampleFormat::Xlsx,
    })
    .unwrap();
    // The contracts and a 150,000-row payments register, checked together.
    let contracts = std::fs::read(&files[0]).unwrap();
    let payments = std::fs::read(&files[1]).unwrap();
    let w = app(&t).await;
    let (base, server) = serve(w.state.clone()).await;
    let http = common::bearer(&w.token);
    let started = std::time::Instant::now();
    let upload = {
        let http = http.clone();
        let base = base.clone();
        tokio::spawn(async move {
            let form = reqwest::multipart::Form::new()
                .part(
                    "files",
                    reqwest::multipart::Part::bytes(contracts).file_name("contracts.xlsx"),
                )
                .part(
                    "files",
                    reqwest::multipart::Part::bytes(payments).file_name("disbursements.xlsx"),
                );
            let r = http
                .post(format!("{base}/api/v1/uploads"))
                .multipart(form)
                .send()
                .await
                .unwrap();
            (r.status(), r.json::<Json>().await.unwrap())
        })
    };
    // While the upload is being read and checked, pings are answered promptly.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let mut answered_during = 0;
    while !upload.is_finished() {
        let t0 = std::time::Instant::now();
        let r = http
            .get(format!("{base}/api/v1/ping"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "a ping took {:?} during the upload",
            t0.elapsed()
        );
        if !upload.is_finished() {
            answered_during += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, preview) = upload.await.unwrap();
    assert_eq!(status, 201);
    assert_eq!(
        preview["check"]["ok"], true,
        "{}",
        preview["check"]["files"][1]["errors"][0]
    );
    assert!(
        answered_during > 0,
        "the upload finished in {:?}, before any ping",
        started.elapsed()
    );
    server.abort();
}

both_backends! {
    /// The dashboard's typed figures are the figures the reports print: totals as the summary
    /// report's total row, value by category as its rows, cumulative disbursements as the
    /// spend report by month, people as the beneficiaries report by sub-district.
    async fn the_dashboard_summary_agrees_with_the_reports(t: &TestDb) {
        use procure::db::read::dashboard;
        use procure::reports::{self, Dim, ReportName, Scope};
        use procure::Lang;
        import_sample(t).await;
        for as_of in ["2018-12-31", "2019-03-31", "2019-06-30", "2030-01-01"] {
            let as_of: chrono::NaiveDate = as_of.parse().unwrap();
            let s = dashboard::summary(&t.db, as_of).await.unwrap();
            let build = |name, by: Vec<Dim>| {
                let req = reports::Request {
                    name,
                    scope: Scope { as_of, ..Default::default() },
                    by,
                    lang: Lang::Zh,
                    evaluations: Default::default(),
                };
                let db = t.db.clone();
                async move {
                    let r = reports::build(&db, &req).await.unwrap();
                    procure::reports::writers::json_doc(&r)
                }
            };
            let summary = build(ReportName::Summary, vec![]).await;
            let tot = total(&summary);
            assert_eq!(tot["contracts"], s.total.contracts, "{as_of}");
            assert_eq!(tot["providers"], s.total.providers, "{as_of}");
            assert_eq!(tot["value"], s.total.value.to_string(), "{as_of}");
            assert_eq!(tot["disbursed"], s.total.disbursed.to_string(), "{as_of}");
            assert_eq!(tot["people"], s.total.people, "{as_of}");
            let rate = tot["execution_rate"]
                .as_str()
                .map(|r| r.parse::<rust_decimal::Decimal>().unwrap());
            assert_eq!(rate, s.total.execution_rate(), "{as_of}");
            let rows = summary["rows"].as_array().unwrap();
            assert_eq!(rows.len(), s.value_by_category.len(), "{as_of}");
            for (row, (k, value)) in rows.iter().zip(&s.value_by_category) {
                assert_eq!(row["category"], k.name(Lang::Zh), "{as_of}");
                assert_eq!(row["value"], value.to_string(), "{as_of}");
            }
            let spend = build(ReportName::Spend, vec![Dim::Month]).await;
            let months: Vec<(String, String)> = spend["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["month"].as_str().unwrap().to_string(),
                        r["cumulative_disbursed"].as_str().unwrap().to_string(),
                    )
                })
                .collect();
            let ours: Vec<(String, String)> = s
                .cumulative_disbursed
                .iter()
                .map(|(m, v)| (m.clone(), v.to_string()))
                .collect();
            assert_eq!(months, ours, "{as_of}");
            let streets = build(ReportName::Beneficiaries, vec![Dim::Street]).await;
            let mut theirs: Vec<(String, i64)> = streets["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| (r["street"].as_str().unwrap().to_string(), r["people"].as_i64().unwrap()))
                .collect();
            let mut ours: Vec<(String, i64)> = s
                .people_by_street
                .iter()
                .map(|(st, n)| (dashboard::street_label(st, Lang::Zh), *n))
                .collect();
            theirs.sort();
            ours.sort();
            assert_eq!(theirs, ours, "{as_of}");
        }
    }
}

/// A request from an anonymous visitor at `ip` (the peer address the server records).
async fn anonymous(w: &Web, ip: &str, uri: &str) -> Answer {
    let mut req = Request::get(uri).body(Body::empty()).unwrap();
    req.extensions_mut()
        .insert(axum::extract::ConnectInfo(std::net::SocketAddr::new(
            ip.parse().unwrap(),
            40_000,
        )));
    answer(w, req).await
}

both_backends! {
    /// Under `--public` each new as-of date is a computation: anonymous visitors get a budget
    /// of them and are answered 429 beyond it, while a signed-in user is still answered.
    async fn anonymous_visitors_over_their_budget_get_429_while_signed_in_users_are_answered(t: &TestDb) {
        use procure::web::cache::AnonymousLimits;
        import_sample(t).await;
        let w = web(
            t,
            WebConfig {
                public: true,
                anonymous: AnonymousLimits { per_address: 1, total: 2, per_minute: 3 },
                ..Default::default()
            },
        )
        .await;
        let visitor = "198.51.100.7";
        for month in 1..=3 {
            let a = anonymous(&w, visitor, &format!("/api/v1/summary?as_of=2019-0{month}-28")).await;
            assert_eq!(a.status, StatusCode::OK, "{}", a.text());
        }
        let over = anonymous(&w, visitor, "/api/v1/summary?as_of=2019-04-28").await;
        assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(over.json()["error"]["code"], "busy");
        assert!(over.json()["error"]["message"].as_str().unwrap().contains("秒后再试"));
        let wait: u64 = over.headers[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
        assert!((1..=60).contains(&wait));
        let en = anonymous(&w, visitor, "/api/v1/summary?as_of=2019-04-28&lang=en").await;
        assert!(en.json()["error"]["message"].as_str().unwrap().contains("try again in"));
        // The public page says it too, as a page.
        let page = anonymous(&w, visitor, "/public?as_of=2019-05-28").await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS);
        assert!(page.headers.contains_key(header::RETRY_AFTER));
        assert!(page.text().contains("秒后再试"));
        // Figures already kept cost nothing and are still served.
        let kept = anonymous(&w, visitor, "/api/v1/summary?as_of=2019-01-28").await;
        assert_eq!(kept.status, StatusCode::OK);
        // Another address has its own budget.
        let other = anonymous(&w, "203.0.113.9", "/api/v1/summary?as_of=2019-04-28").await;
        assert_eq!(other.status, StatusCode::OK);
        // A signed-in user is never limited by the visitors' budget.
        for month in 5..=9 {
            let a = get(&w, &format!("/api/v1/summary?as_of=2019-0{month}-28")).await;
            assert_eq!(a.status, StatusCode::OK);
            let d = get(&w, &format!("/?as_of=2019-0{month}-27")).await;
            assert_eq!(d.status, StatusCode::OK);
        }
    }
}

both_backends! {
    /// Every as-of date asked for is kept until the byte budget is reached; then the least
    /// recently used dates go, so memory stays bounded however many dates are asked for.
    async fn the_cached_figures_stay_within_their_byte_budget_over_many_dates(t: &TestDb) {
        import_sample(t).await;
        let budget = 256 << 10;
        let w = web(t, WebConfig { cache_bytes: budget, ..Default::default() }).await;
        let start: chrono::NaiveDate = "2017-01-01".parse().unwrap();
        let mut most = 0;
        for i in 0..60 {
            let day = start + chrono::Duration::days(i * 15);
            assert_eq!(get(&w, &format!("/?as_of={day}")).await.status, StatusCode::OK);
            assert_eq!(get(&w, &format!("/api/v1/summary?as_of={day}")).await.status, StatusCode::OK);
            let kept = w.state.cache.bytes();
            assert!(kept <= budget, "{kept} bytes kept, over the budget of {budget}");
            most = most.max(kept);
        }
        assert!(most > budget / 2, "the cache never filled: {most} bytes");
    }
}

both_backends! {
    /// While anonymous computations fill the visitors' budget, another visitor is answered
    /// 429 at once rather than queued, and a signed-in user's new date is computed at once.
    async fn signed_in_users_never_wait_behind_anonymous_computations(t: &TestDb) {
        import_sample(t).await;
        let w = web(t, WebConfig { public: true, ..Default::default() }).await;
        let budget = w.state.cache.budget();
        let _a = budget.try_acquire(Some("198.51.100.1".parse().unwrap())).ok().unwrap();
        let _b = budget.try_acquire(Some("198.51.100.2".parse().unwrap())).ok().unwrap();
        let started = std::time::Instant::now();
        let third = anonymous(&w, "198.51.100.3", "/api/v1/summary?as_of=2019-02-28").await;
        assert_eq!(third.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(third.headers[header::RETRY_AFTER], "2");
        let signed_in = get(&w, "/api/v1/summary?as_of=2019-02-28").await;
        assert_eq!(signed_in.status, StatusCode::OK);
        assert_eq!(get(&w, "/?as_of=2019-02-28").await.status, StatusCode::OK);
        assert!(started.elapsed() < Duration::from_secs(20));
        // Once kept, the figures are served to the visitor too, budget or not.
        let kept = anonymous(&w, "198.51.100.3", "/api/v1/summary?as_of=2019-02-28").await;
        assert_eq!(kept.status, StatusCode::OK);
    }
}

fn contracts_csv(code: &str) -> Vec<u8> {
    format!("项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\n{code},t,老年服务,p,1000,2019-01-01,2019-12-31\n").into_bytes()
}

both_backends! {
    async fn previews_are_held_to_a_quota_per_account_and_refused_files_are_not_kept(t: &TestDb) {
        let quota = procure::web::state::Quota { previews: 2, bytes: 4096 };
        let w = web(t, WebConfig { preview_quota: quota, ..Default::default() }).await;
        // A file the guard refuses is answered at once and not kept.
        let a = upload(&w, "/api/v1/uploads", &[("noise.xlsx", b"PK\x03\x04 not really a zip")]).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{}", a.text());
        assert_eq!(a.json()["error"]["code"], "file_refused");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM uploads").await, 0);
        for code in ["C1", "C2"] {
            let a = upload(&w, "/api/v1/uploads", &[("c.csv", &contracts_csv(code))]).await;
            assert_eq!(a.status, StatusCode::CREATED, "{}", a.text());
        }
        let a = upload(&w, "/api/v1/uploads", &[("c.csv", &contracts_csv("C3"))]).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(a.json()["error"]["code"], "preview_quota");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM uploads").await, 2);
        // Another account has its own quota, in bytes as well as in previews.
        let other = web(t, WebConfig { preview_quota: quota, ..Default::default() }).await;
        let big = [contracts_csv("C4"), vec![b'\n'; 5000]].concat();
        let a = upload(&other, "/api/v1/uploads", &[("big.csv", &big)]).await;
        assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
        let a = upload(&other, "/api/v1/uploads", &[("c.csv", &contracts_csv("C4"))]).await;
        assert_eq!(a.status, StatusCode::CREATED);
        // The imports page shows what each account keeps.
        let page = get(&w, "/imports").await.text();
        assert!(page.contains("id=\"previews\""), "{page}");
        let kept = procure::db::read::uploads::kept(&t.db).await.unwrap();
        assert_eq!(kept.len(), 2);
        for k in &kept {
            assert!(page.contains(&k.account));
            assert!(page.contains(&format!("<td class=\"num\">{}</td>", k.bytes)));
        }
        assert!(kept.iter().any(|k| k.previews == 2));
    }
}

both_backends! {
    async fn a_preview_is_kept_and_checked_again_only_when_the_ledger_changed(t: &TestDb) {
        let w = app(t).await;
        let a = upload(&w, "/api/v1/uploads", &[("c.csv", &contracts_csv("C1"))]).await;
        assert_eq!(a.status, StatusCode::CREATED);
        let token = a.json()["token"].as_str().unwrap().to_string();
        assert_eq!(t.scalar("SELECT COUNT(*) FROM upload_previews").await, 1);
        assert_eq!(t.scalar("SELECT batches FROM upload_previews").await, 0);
        // A view shows the kept check, in the reader's language, without checking again.
        sea_orm::ConnectionTrait::execute_unprepared(&t.db, "UPDATE upload_previews SET report = REPLACE(report, '\"inserted\":1', '\"inserted\":41')").await.unwrap();
        let again = get(&w, &format!("/api/v1/uploads/{token}")).await.json();
        assert_eq!(again["check"]["files"][0]["counts"]["contracts"]["inserted"], 41);
        let en = get(&w, &format!("/api/v1/uploads/{token}?lang=en")).await.json();
        assert_eq!(en["check"]["files"][0]["counts"]["contracts"]["inserted"], 41);
        // The ledger changed: the next view checks once more against it, and keeps that.
        import_sample(t).await;
        let fresh = get(&w, &format!("/api/v1/uploads/{token}")).await.json();
        assert_eq!(fresh["check"]["files"][0]["counts"]["contracts"]["inserted"], 1);
        assert_eq!(t.scalar("SELECT batches FROM upload_previews").await, 1);
    }
}

both_backends! {
    async fn expired_previews_are_purged_on_a_timer_without_another_upload(t: &TestDb) {
        let w = app(t).await;
        let a = upload(&w, "/api/v1/uploads", &[("c.csv", &contracts_csv("C1"))]).await;
        assert_eq!(a.status, StatusCode::CREATED);
        let purger = tokio::spawn(procure::web::uploads::purge_every(t.db.clone(), Duration::from_millis(50)));
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(t.scalar("SELECT COUNT(*) FROM uploads").await, 1, "a fresh preview is kept");
        sea_orm::ConnectionTrait::execute_unprepared(&t.db, "UPDATE uploads SET uploaded_at = '2000-01-01 00:00:00+00:00'").await.unwrap();
        let mut left = 1;
        for _ in 0..100 {
            left = t.scalar("SELECT COUNT(*) FROM uploads").await;
            if left == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        purger.abort();
        assert_eq!(left, 0, "the expired preview was purged");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM upload_previews").await, 0);
    }
}
