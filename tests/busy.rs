//! SQLite under a long import: a write that has to wait for the import's transaction longer
//! than the busy timeout is answered 503 `database_busy` with `Retry-After`, in the
//! reader's language, never a 500 "database is locked"; once the import has committed the
//! same request succeeds. SQLite only: PostgreSQL has no database-wide write lock.
//!
//! Its own test binary, because it shortens the busy timeout for every connection the
//! process opens (`PROCURE_SQLITE_BUSY_MS`).

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use procure::web::router;
use procure::web::state::{AppState, WebConfig};
use sea_orm::{ConnectionTrait, TransactionTrait};
use tower::ServiceExt;

fn upload(token: &str) -> Request<Body> {
    let body = "--b0undary\r\nContent-Disposition: form-data; name=\"files\"; filename=\"c.csv\"\r\n\r\n\
                项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\nC1,t,老年服务,p,1000,2019-01-01,2019-12-31\n\r\n--b0undary--\r\n";
    Request::post("/api/v1/uploads?lang=en")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=b0undary",
        )
        .body(Body::from(body))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_during_a_long_import_is_told_to_wait_and_then_succeeds() {
    // SAFETY: set before any connection is opened, in a test binary of its own.
    unsafe { std::env::set_var("PROCURE_SQLITE_BUSY_MS", "300") };
    let t = common::sqlite().await;
    let token = t.api_token("fiona", procure::access::Role::Finance).await;
    let state = AppState::new(t.db.clone(), WebConfig::default());

    // A long import holds SQLite's write lock: a transaction that has written and not ended.
    let import = t.db.begin().await.unwrap();
    import
        .execute_unprepared(
            "INSERT INTO audit_log (at, actor, action, target, detail) \
             VALUES (CURRENT_TIMESTAMP, 'import', 'import.started', 'attempt x', '')",
        )
        .await
        .unwrap();

    let resp = router(state.clone()).oneshot(upload(&token)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(resp.headers()[header::RETRY_AFTER], "5");
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["code"], "database_busy");
    assert!(json["error"]["message"]
        .as_str()
        .unwrap()
        .contains("import"));
    assert_eq!(
        t.scalar("SELECT COUNT(*) FROM uploads").await,
        0,
        "nothing half-kept"
    );

    // The import commits; the same upload now goes through.
    import.commit().await.unwrap();
    let resp = router(state).oneshot(upload(&token)).await.unwrap();
    assert_eq!(resp.status(), StatusCode::CREATED);
}
