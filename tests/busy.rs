//! SQLite under a long import.
//!
//! - An import the server runs takes its turn alone; a sign-in and a preview that arrive
//!   meanwhile wait for it and succeed, although it holds the write lock far longer than
//!   the busy timeout.
//! - A write behind a transaction the server does not know of (another process's import)
//!   that waits out the busy timeout is answered 503 `database_busy` with `Retry-After`, in
//!   the reader's language, never a 500 "database is locked"; once that transaction has
//!   committed the same request succeeds.
//!
//! SQLite only: PostgreSQL has no database-wide write lock. Its own test binary, because it
//! shortens the busy timeout for every connection the process opens (`PROCURE_SQLITE_BUSY_MS`).

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use procure::web::router;
use procure::web::state::{AppState, WebConfig};
use sea_orm::{ConnectionTrait, TransactionTrait};
use tower::ServiceExt;

/// A one-contract upload.
fn upload(token: &str) -> Request<Body> {
    multipart(
        token,
        "c.csv",
        "项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\nC1,t,老年服务,p,1000,2019-01-01,2019-12-31\n",
    )
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

/// `n` contracts: an import long enough to hold SQLite's write lock past the busy timeout.
fn contracts_csv(n: usize) -> String {
    let mut csv = String::from("项目编号,项目名称,服务类别,承接机构,合同金额,开始日期,结束日期\n");
    for i in 0..n {
        csv.push_str(&format!(
            "C{i:06},t,老年服务,p,1000,2019-01-01,2019-12-31\n"
        ));
    }
    csv
}

fn multipart(token: &str, name: &str, content: &str) -> Request<Body> {
    let body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{name}\"\r\n\r\n{content}\r\n--b0undary--\r\n"
    );
    Request::post("/api/v1/uploads?lang=en")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=b0undary",
        )
        .body(Body::from(body))
        .unwrap()
}

async fn json_of(resp: axum::response::Response) -> serde_json::Value {
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_and_a_preview_during_an_import_this_server_runs_wait_for_it_and_succeed() {
    // SAFETY: set before any connection is opened, in a test binary of its own.
    unsafe { std::env::set_var("PROCURE_SQLITE_BUSY_MS", "300") };
    let t = common::sqlite().await;
    let token = t.api_token("fiona", procure::access::Role::Finance).await;
    let state = AppState::new(t.db.clone(), WebConfig::default());

    // A large upload, previewed, then confirmed: the import runs in the server.
    let preview = router(state.clone())
        .oneshot(multipart(&token, "big.csv", &contracts_csv(40_000)))
        .await
        .unwrap();
    assert_eq!(preview.status(), StatusCode::CREATED);
    let preview = json_of(preview).await;
    let kept = preview["token"].as_str().unwrap().to_string();
    let sha: Vec<String> = preview["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["sha256"].as_str().unwrap().to_string())
        .collect();
    let started = std::time::Instant::now();
    let import = tokio::spawn({
        let state = state.clone();
        let token = token.clone();
        async move {
            let resp = router(state)
                .oneshot(
                    Request::post(format!("/api/v1/uploads/{kept}/commit"))
                        .header(header::AUTHORIZATION, format!("Bearer {token}"))
                        .header(header::CONTENT_TYPE, "application/json")
                        .body(Body::from(serde_json::json!({ "sha256": sha }).to_string()))
                        .unwrap(),
                )
                .await
                .unwrap();
            (resp.status(), started.elapsed())
        }
    });
    // The import has begun once its attempt is recorded (it has its turn by then).
    while t
        .scalar("SELECT COUNT(*) FROM import_attempts WHERE outcome IS NULL")
        .await
        == 0
    {
        assert!(!import.is_finished(), "the import ended before it was seen");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }

    // Meanwhile a person signs in and another file is previewed.
    let login_form = router(state.clone())
        .oneshot(Request::get("/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let login_token = login_form
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| c.strip_prefix("procure_login="))
        .map(|c| c.split(';').next().unwrap().to_string())
        .unwrap();
    let sign_in = router(state.clone())
        .oneshot(
            Request::post("/login")
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .header(header::COOKIE, format!("procure_login={login_token}"))
                .body(Body::from(format!(
                    "login_token={login_token}&name=fiona&password=password-1&next=/contracts"
                )))
                .unwrap(),
        )
        .await
        .unwrap();
    let signed_in_after = started.elapsed();
    let other = router(state.clone()).oneshot(upload(&token)).await.unwrap();

    let (imported, import_took) = import.await.unwrap();
    assert_eq!(imported, StatusCode::OK);
    assert!(
        import_took > std::time::Duration::from_millis(300),
        "the import must outlast the busy timeout for this test to mean anything ({import_took:?})"
    );
    assert_eq!(
        sign_in.status(),
        StatusCode::SEE_OTHER,
        "the sign-in succeeds"
    );
    assert!(
        sign_in
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .any(|c| c.to_str().unwrap().starts_with("procure_session=")),
        "with a session"
    );
    assert!(
        signed_in_after >= import_took.saturating_sub(std::time::Duration::from_millis(50)),
        "the sign-in waited for the import ({signed_in_after:?} vs {import_took:?})"
    );
    assert_eq!(other.status(), StatusCode::CREATED, "the preview succeeds");
    assert_eq!(t.scalar("SELECT COUNT(*) FROM contracts").await, 40_000);
}
