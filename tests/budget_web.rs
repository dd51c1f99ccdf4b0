//! Budgets in the web application, on both backends: the `/budget` page and its chart, the
//! JSON endpoint, the dashboard's budget card, a contract's budget line, and the upload
//! preview of a budgets register (new, then unchanged).

mod common;

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use procure::imports::{import_paths, ImportOptions};
use procure::web::router;
use procure::web::state::{AppState, WebConfig};
use tower::ServiceExt;

fn imports() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("imports")
}

async fn send(state: &AppState, token: &str, mut req: Request<Body>) -> (StatusCode, String) {
    req.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

async fn get(state: &AppState, token: &str, uri: &str) -> (StatusCode, String) {
    send(state, token, Request::get(uri).body(Body::empty()).unwrap()).await
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

const BOUNDARY: &str = "procure-budget-boundary";

async fn preview(state: &AppState, token: &str, name: &str, bytes: &[u8]) -> serde_json::Value {
    let mut body = format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    let req = Request::post("/api/v1/uploads")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    let (status, text) = send(state, token, req).await;
    assert_eq!(status, StatusCode::CREATED, "{text}");
    json(&text)
}

both_backends! {
    async fn the_budget_page_api_card_contract_line_and_upload_preview_show_the_sample_budgets(t: &TestDb) {
        let token = t.api_token("finance-budget", procure::access::Role::Finance).await;
        let state = AppState::new(t.db.clone(), WebConfig::default());
        // A budgets register previews as new lines before anything is stored.
        let budgets = std::fs::read(imports().join("sample-budgets.csv")).unwrap();
        let p = preview(&state, &token, "sample-budgets.csv", &budgets).await;
        assert_eq!(p["check"]["files"][0]["status"], "checked");
        assert_eq!(p["check"]["files"][0]["counts"]["budgets"]["inserted"], 32);
        assert_eq!(p["check"]["files"][0]["sheets"][0]["kind"], "budgets");

        let opts = ImportOptions { actor: "test".into(), ..Default::default() };
        let r = import_paths(&t.db, &[imports().join("sample-register.xlsx")], &opts, None).await.unwrap();
        assert!(r.ok);
        let p = preview(&state, &token, "sample-budgets.csv", &budgets).await;
        assert_eq!(p["check"]["files"][0]["status"], "unchanged");
        assert_eq!(p["check"]["files"][0]["counts"]["budgets"]["unchanged"], 32);

        let (status, body) = get(&state, &token, "/api/v1/budget?as_of=2019-06-30").await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let doc = json(&body);
        assert_eq!(doc["total"]["execution_rate"], "61.94");
        assert_eq!(doc["total"]["committed"], "14441700.00");
        assert!(doc["statement"].as_str().unwrap().contains("预算执行率61.94%"));
        let (_, by_year) = get(&state, &token, "/api/v1/budget?as_of=2019-06-30&by=year").await;
        assert_eq!(json(&by_year)["rows"].as_array().unwrap().len(), 3);

        let (status, page) = get(&state, &token, "/budget?as_of=2019-06-30").await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("预算执行率61.94%") && page.contains("<svg") && page.contains("budget-table"), "{page}");

        let (_, dashboard) = get(&state, &token, "/?as_of=2019-06-30").await;
        assert!(dashboard.contains("card-budget") && dashboard.contains("61.94"), "{dashboard}");

        let (_, carried) = get(&state, &token, "/api/v1/contracts/GDGM-2018-001?as_of=2019-06-30").await;
        let line = &json(&carried)["budget_line"];
        assert_eq!(line["code"], "YS-2017-05");
        assert_eq!(line["other_year"], true);
        let (_, page) = get(&state, &token, "/contracts/GDGM-2018-001").await;
        assert!(page.contains("YS-2017-05") && page.contains("非签约年度的预算"), "{page}");
        let (_, page) = get(&state, &token, "/contracts/GDGM-2019-033").await;
        assert!(page.contains("未填写预算项目"), "{page}");
    }
}
