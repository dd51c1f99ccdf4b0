//! What every request meets before a feature does, on a real `procure serve` and both
//! backends: the browser's security headers on every answer, a form posted from another
//! site refused even with valid credentials, a NUL byte in a query answered 400 (not a 500
//! from PostgreSQL), and a client that never finishes its headers disconnected.

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::server::Server;
use serde_json::Value as Json;

fn serve(url: &str) -> Server {
    common::server::serve(url, &[])
}

both_backends! {
    async fn every_answer_carries_the_browsers_security_headers(t: &TestDb) {
        let s = serve(&t.url);
        let http = reqwest::Client::new();
        for path in ["/login", "/api/v1/ping", "/static/app.css", "/no-such-page"] {
            let r = http.get(format!("{}{path}", s.base)).send().await.unwrap();
            let h = r.headers();
            let csp = h["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("script-src 'self'") && !csp.contains("script-src 'self' 'unsafe-inline'"), "{path}: {csp}");
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(h["x-frame-options"], "DENY", "{path}");
            assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
            assert_eq!(h["referrer-policy"], "same-origin", "{path}");
        }
        // No page holds an inline script the policy would block.
        let login = http.get(format!("{}/login", s.base)).send().await.unwrap().text().await.unwrap();
        assert!(!login.contains("<script>"), "an inline script on the login page");
    }
}

both_backends! {
    async fn a_post_from_another_site_is_refused_even_with_a_valid_token(t: &TestDb) {
        let token = t.api_token("clerk", procure::access::Role::Finance).await;
        let s = serve(&t.url);
        let http = common::bearer(&token);
        let upload = |origin: Option<&'static str>| {
            let form = reqwest::multipart::Form::new().part(
                "files",
                reqwest::multipart::Part::bytes(b"x".to_vec()).file_name("x.csv"),
            );
            let mut req = http.post(format!("{}/api/v1/uploads", s.base)).multipart(form);
            if let Some(o) = origin {
                req = req.header("origin", o);
            }
            req
        };
        let r = upload(Some("https://evil.example")).send().await.unwrap();
        assert_eq!(r.status(), 403);
        let body: Json = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "csrf");
        assert_eq!(t.scalar("SELECT COUNT(*) FROM uploads").await, 0, "nothing was kept");
        // The same request from this site, or from a script that sends no Origin, goes on.
        let here: &'static str = Box::leak(s.base.clone().into_boxed_str());
        for origin in [Some(here), None] {
            let r = upload(origin).send().await.unwrap();
            assert_ne!(r.status(), 403, "origin {origin:?}");
        }
    }
}

both_backends! {
    async fn a_nul_byte_in_a_query_is_a_bad_request_not_a_server_error(t: &TestDb) {
        let token = t.api_token("reader", procure::access::Role::Auditor).await;
        let s = serve(&t.url);
        let http = common::bearer(&token);
        for path in ["/api/v1/contracts?q=a%00b", "/api/v1/summary?street=%00", "/contracts?provider=x%00"] {
            let r = http.get(format!("{}{path}", s.base)).send().await.unwrap();
            assert_eq!(r.status(), 400, "{path}");
        }
        let r = http.get(format!("{}/api/v1/contracts?q=a%00b&lang=en", s.base)).send().await.unwrap();
        let body: Json = r.json().await.unwrap();
        assert_eq!(body["error"]["code"], "bad_request");
        assert!(body["error"]["message"].as_str().unwrap().contains("NUL"));
    }
}

#[test]
fn a_client_that_never_finishes_its_headers_is_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("slow.db").display());
    let s = serve(&url);
    let addr = s.base.trim_start_matches("http://").to_string();
    let mut conn = std::net::TcpStream::connect(&addr).unwrap();
    conn.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let start = Instant::now();
    let mut buf = Vec::new();
    // The server answers (408 or nothing) and closes: the read ends.
    let _ = conn.read_to_end(&mut buf);
    let waited = start.elapsed();
    assert!(
        waited < procure::web::HEADER_READ_TIMEOUT + Duration::from_secs(10),
        "the half-sent request was kept open {waited:?}"
    );
    // And the server still answers a whole request.
    let mut ok = std::net::TcpStream::connect(&addr).unwrap();
    ok.write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    ok.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}
