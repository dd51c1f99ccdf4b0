//! Who may do what: every route against every role and anonymous, CSRF on forms, sessions,
//! tokens, disabled accounts, the growing wait after failed sign-ins, and the append-only
//! audit trail. Both backends.

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use common::TestDb;
use procure::access::{self, Actor, Role};
use procure::web::apidoc::ApiDoc;
use procure::web::auth::Anon;
use procure::web::gate::REFUSED_HEADER;
use procure::web::state::{AppState, WebConfig};
use procure::web::{permissions, router, routes};
use sea_orm::ConnectionTrait;
use tower::ServiceExt;
use utoipa::OpenApi;

fn me() -> Actor {
    Actor::local("test")
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn refused(&self) -> Option<&str> {
        self.headers
            .get(REFUSED_HEADER)
            .and_then(|v| v.to_str().ok())
    }

    /// The value a `Set-Cookie` header gives `name`.
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find_map(|c| {
                c.strip_prefix(&format!("{name}="))
                    .map(|r| r.split(';').next().unwrap_or("").to_string())
            })
    }
}

async fn call(state: &AppState, req: Request<Body>) -> Answer {
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

/// The route table as this test expects it: method, path, roles admitted, anonymous access.
/// A route added to the server must be added here too, or the first assertion fails.
const EXPECTED: &[(&str, &str, &[&str], Anon)] = &[
    ("GET", "/health", &[], Anon::Always),
    ("GET", "/login", &[], Anon::Always),
    ("POST", "/login", &[], Anon::Always),
    (
        "POST",
        "/logout",
        &["admin", "finance", "auditor", "manager"],
        Anon::Never,
    ),
    ("GET", "/lang/{lang}", &[], Anon::Always),
    ("GET", "/static/{file}", &[], Anon::Always),
    (
        "GET",
        "/public",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/disclosure",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/disclosure/download",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/disclosure/ocds",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/disclosure/{code}",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/",
        &["admin", "finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/contracts",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/contracts/{code}",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/providers",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/providers/{uscc}",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    ("GET", "/upload", &["finance"], Anon::Never),
    ("POST", "/upload", &["finance"], Anon::Never),
    ("GET", "/upload/{token}", &["finance"], Anon::Never),
    ("POST", "/upload/{token}/commit", &["finance"], Anon::Never),
    (
        "GET",
        "/reports",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/reports/download",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/reports/register",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/budget",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    ("GET", "/imports", &["finance", "auditor"], Anon::Never),
    ("GET", "/imports/{id}", &["finance", "auditor"], Anon::Never),
    (
        "GET",
        "/imports/{id}/original",
        &["finance", "auditor"],
        Anon::Never,
    ),
    ("GET", "/audit", &["auditor"], Anon::Never),
    ("GET", "/audit/download", &["auditor"], Anon::Never),
    ("GET", "/accounts", &["admin"], Anon::Never),
    ("POST", "/accounts", &["admin"], Anon::Never),
    ("POST", "/accounts/{name}/disable", &["admin"], Anon::Never),
    ("POST", "/accounts/{name}/enable", &["admin"], Anon::Never),
    ("POST", "/tokens", &["admin"], Anon::Never),
    ("POST", "/tokens/{id}/revoke", &["admin"], Anon::Never),
    (
        "GET",
        "/api",
        &["admin", "finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/openapi.json",
        &["admin", "finance", "auditor", "manager"],
        Anon::Never,
    ),
    ("GET", "/api/v1/ping", &[], Anon::Always),
    (
        "GET",
        "/api/v1/summary",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/api/v1/disclosure",
        &["admin", "finance", "auditor", "manager"],
        Anon::IfPublic,
    ),
    (
        "GET",
        "/api/v1/spend",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/beneficiaries",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/budget",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/ocds/releases",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/ocds/records",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/ocds/{ocid}",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/contracts",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/contracts/{code}",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/contracts/{code}/evaluations",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/providers",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/providers/{uscc}",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/imports",
        &["finance", "auditor"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/imports/{id}/original",
        &["finance", "auditor"],
        Anon::Never,
    ),
    ("POST", "/api/v1/uploads", &["finance"], Anon::Never),
    ("GET", "/api/v1/uploads/{token}", &["finance"], Anon::Never),
    (
        "POST",
        "/api/v1/uploads/{token}/commit",
        &["finance"],
        Anon::Never,
    ),
    (
        "GET",
        "/api/v1/reports/{name}",
        &["finance", "auditor", "manager"],
        Anon::Never,
    ),
    ("GET", "/api/v1/audit", &["auditor"], Anon::Never),
];

fn concrete(path: &str) -> String {
    let reports = path.starts_with("/api/v1/reports/");
    path.replace("{lang}", "en")
        .replace("{file}", "app.css")
        .replace("{code}", "NO-SUCH")
        .replace("{uscc}", "NO-SUCH")
        .replace("{ocid}", "ocds-procure-NO-SUCH")
        .replace("{token}", "0123456789abcdef")
        .replace("{id}", "999999")
        .replace("{name}", if reports { "summary" } else { "nobody" })
}

/// An account of each role, signed in with an API token.
async fn tokens(t: &TestDb) -> Vec<(Role, String)> {
    let mut out = Vec::new();
    for role in Role::ALL {
        let token = t.api_token(&format!("t-{}", role.code()), *role).await;
        out.push((*role, token));
    }
    out
}

fn request(method: &str, path: &str, token: Option<&str>) -> Request<Body> {
    let mut b = Request::builder()
        .method(Method::from_bytes(method.as_bytes()).unwrap())
        .uri(concrete(path));
    if let Some(t) = token {
        b = b.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    if method == "POST" {
        b = b.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    }
    b.body(Body::empty()).unwrap()
}

both_backends! {
    async fn every_route_admits_exactly_the_roles_it_should_and_refuses_the_rest(t: &TestDb) {
        let table = permissions(&WebConfig::default());
        let served: BTreeSet<(String, String)> = table
            .routes()
            .iter()
            .map(|r| (r.method.to_string(), r.path.clone()))
            .collect();
        let expected: BTreeSet<(String, String)> = EXPECTED
            .iter()
            .map(|(m, p, _, _)| (m.to_string(), p.to_string()))
            .collect();
        assert_eq!(served, expected, "the permission table and this test list different routes");
        let tokens = tokens(t).await;
        for public in [false, true] {
            let state = AppState::new(t.db.clone(), WebConfig { public, ..Default::default() });
            for (method, path, roles, anon) in EXPECTED {
                for (role, token) in &tokens {
                    let a = call(&state, request(method, path, Some(token))).await;
                    let admitted = roles.contains(&role.code()) || *anon == Anon::Always;
                    if admitted {
                        assert_eq!(a.refused(), None, "{method} {path} should admit {role:?}: {} {}", a.status, a.body);
                    } else {
                        assert_eq!(a.status, StatusCode::FORBIDDEN, "{method} {path} should refuse {role:?}");
                        assert_eq!(a.refused(), Some("forbidden"));
                    }
                }
                let a = call(&state, request(method, path, None)).await;
                let admitted = *anon == Anon::Always || (*anon == Anon::IfPublic && public);
                if admitted {
                    assert_eq!(a.refused(), None, "{method} {path} should admit anonymous (public={public})");
                } else {
                    assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{method} {path} should refuse anonymous (public={public})");
                    assert_eq!(a.refused(), Some("unauthorized"));
                }
            }
        }
    }
}

/// The permission table and the router are made from the same declarations; this proves
/// they name the same routes: every route of the table is routed under exactly that pattern,
/// none is declared twice, and every operation of the API document is in the table. (A
/// route the table lacks is refused to everyone by the access check.)
#[tokio::test]
async fn the_permission_table_and_the_router_name_the_same_routes() {
    let t = common::sqlite().await;
    let config = WebConfig::default();
    let (app, doc, table) = routes(&config).split(ApiDoc::openapi());
    // Answers with the route that matched instead of running its handler.
    let app = app
        .route_layer(axum::middleware::from_fn(
            |req: axum::extract::Request, _next: axum::middleware::Next| async move {
                let matched = req
                    .extensions()
                    .get::<axum::extract::MatchedPath>()
                    .map(|m| m.as_str().to_string())
                    .unwrap_or_default();
                format!("{} {matched}", req.method())
            },
        ))
        .with_state(AppState::new(t.db.clone(), config));
    let mut seen = BTreeSet::new();
    for r in table.routes() {
        assert!(
            seen.insert((r.method.clone(), r.path.clone())),
            "{} {} is declared twice",
            r.method,
            r.path
        );
        let req = Request::builder()
            .method(r.method.clone())
            .uri(concrete(&r.path))
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&body),
            format!("{} {}", r.method, r.path),
            "{} {} is in the permission table but not routed",
            r.method,
            r.path
        );
    }
    for (path, item) in doc.paths.paths.iter() {
        for (method, documented) in [
            (Method::GET, item.get.is_some()),
            (Method::POST, item.post.is_some()),
        ] {
            if documented {
                assert!(
                    table.permission(&method, path).is_some(),
                    "{method} {path} is documented but has no permission"
                );
            }
        }
    }
}

/// Signs in through the login form; returns the session cookie.
async fn sign_in(
    state: &AppState,
    name: &str,
    password: &str,
    old_session: Option<&str>,
) -> Answer {
    let form = call(state, Request::get("/login").body(Body::empty()).unwrap()).await;
    assert_eq!(form.status, StatusCode::OK);
    let login_token = form
        .cookie("procure_login")
        .expect("the login form sets its cookie");
    let mut cookies = format!("procure_login={login_token}");
    if let Some(s) = old_session {
        cookies.push_str(&format!("; procure_session={s}"));
    }
    call(
        state,
        Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::COOKIE, cookies)
            .body(Body::from(format!(
                "login_token={login_token}&name={name}&password={password}&next=/contracts"
            )))
            .unwrap(),
    )
    .await
}

fn with_session(req: axum::http::request::Builder, session: &str) -> axum::http::request::Builder {
    req.header(header::COOKIE, format!("procure_session={session}"))
}

/// The CSRF token a page gives a signed-in browser.
fn csrf_in(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..at + 64].to_string()
}

both_backends! {
    async fn a_browser_signs_in_and_its_forms_need_the_session_csrf_token(t: &TestDb) {
        access::add_account(&t.db, "fiona", Role::Finance, "password-1", &me()).await.unwrap();
        let state = AppState::new(t.db.clone(), WebConfig::default());
        let a = sign_in(&state, "fiona", "password-1", None).await;
        assert_eq!(a.status, StatusCode::SEE_OTHER);
        assert_eq!(a.headers[header::LOCATION], "/contracts");
        let set = a.headers.get_all(header::SET_COOKIE).iter().map(|v| v.to_str().unwrap().to_string()).collect::<Vec<_>>();
        let session_cookie = set.iter().find(|c| c.starts_with("procure_session=")).unwrap();
        assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Strict"), "{session_cookie}");
        let session = a.cookie("procure_session").unwrap();
        let page = call(&state, with_session(Request::get("/upload"), &session).body(Body::empty()).unwrap()).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("fiona"));
        // The token is a field of the upload form, never in its URL.
        assert!(!page.body.contains("?csrf="), "a CSRF token in a URL");
        let csrf = csrf_in(&page.body);
        let multipart = |parts: &[(&str, Option<&str>, &str)]| {
            let mut body = String::new();
            for (name, file, value) in parts {
                body.push_str("--b0undary\r\nContent-Disposition: form-data; name=\"");
                body.push_str(name);
                body.push('"');
                if let Some(f) = file {
                    body.push_str(&format!("; filename=\"{f}\""));
                }
                body.push_str(&format!("\r\n\r\n{value}\r\n"));
            }
            body.push_str("--b0undary--\r\n");
            with_session(Request::post("/upload"), &session)
                .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b0undary")
                .body(Body::from(body))
                .unwrap()
        };
        let file = ("files", Some("c.csv"), "项目编号,项目名称\n");
        let wrong = "0".repeat(64);
        for (why, parts) in [
            ("no token", vec![file]),
            ("a wrong token", vec![("csrf", None, wrong.as_str()), file]),
            ("the file before the token", vec![file, ("csrf", None, csrf.as_str())]),
        ] {
            let r = call(&state, multipart(&parts)).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{why}");
        }
        assert_eq!(t.scalar("SELECT COUNT(*) FROM uploads").await, 0, "nothing kept from a forged form");
        let r = call(&state, multipart(&[("csrf", None, csrf.as_str()), file])).await;
        assert_ne!(r.status, StatusCode::FORBIDDEN, "the form with its token is read");
        let post = |body: String| {
            with_session(Request::post("/upload/0123456789abcdef/commit"), &session)
                .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(Body::from(body))
                .unwrap()
        };
        for bad in [String::new(), "csrf=".to_string(), format!("csrf={}", "0".repeat(64))] {
            let r = call(&state, post(bad.clone())).await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{bad}");
            assert_eq!(r.refused(), Some("csrf"));
        }
        // With the token the request reaches the handler (which knows no such upload).
        let ok = call(&state, post(format!("sha256=x&csrf={csrf}"))).await;
        assert_eq!(ok.refused(), None);
        assert_eq!(ok.status, StatusCode::NOT_FOUND);
        // Signing out is a form too.
        let out = call(&state, with_session(Request::post("/logout"), &session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(Body::empty()).unwrap()).await;
        assert_eq!(out.refused(), Some("csrf"));
        let page = call(&state, with_session(Request::get("/contracts"), &session).body(Body::empty()).unwrap()).await;
        let out = call(&state, with_session(Request::post("/logout"), &session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!("csrf={}", csrf_in(&page.body)))).unwrap()).await;
        assert_eq!(out.status, StatusCode::SEE_OTHER);
        let after = call(&state, with_session(Request::get("/contracts"), &session).body(Body::empty()).unwrap()).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
        // The login form itself is bound to the browser that asked for it.
        let forged = call(&state, Request::post("/login")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from("name=fiona&password=password-1")).unwrap()).await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN);
        assert!(forged.cookie("procure_session").is_none());
    }
}

both_backends! {
    async fn the_session_id_changes_at_every_sign_in_and_the_old_one_ends(t: &TestDb) {
        access::add_account(&t.db, "mia", Role::Manager, "password-1", &me()).await.unwrap();
        let state = AppState::new(t.db.clone(), WebConfig::default());
        let first = sign_in(&state, "mia", "password-1", None).await.cookie("procure_session").unwrap();
        let second = sign_in(&state, "mia", "password-1", Some(&first)).await.cookie("procure_session").unwrap();
        assert_ne!(first, second);
        let old = call(&state, with_session(Request::get("/"), &first).body(Body::empty()).unwrap()).await;
        assert_eq!(old.status, StatusCode::UNAUTHORIZED);
        let new = call(&state, with_session(Request::get("/"), &second).body(Body::empty()).unwrap()).await;
        assert_eq!(new.status, StatusCode::OK);
        // Sessions live in the database, so a second server on it honours them.
        let other = AppState::new(procure::db::connect(&t.url).await.unwrap(), WebConfig::default());
        let there = call(&other, with_session(Request::get("/"), &second).body(Body::empty()).unwrap()).await;
        assert_eq!(there.status, StatusCode::OK);
        // The database keeps only hashes of session ids.
        let stored = t.scalar(&format!("SELECT COUNT(*) FROM sessions WHERE id_hash = '{second}'")).await;
        assert_eq!(stored, 0);
    }
}

both_backends! {
    async fn revoked_tokens_and_disabled_accounts_are_refused(t: &TestDb) {
        access::add_account(&t.db, "ada", Role::Auditor, "password-1", &me()).await.unwrap();
        let (id, token) = access::create_token(&t.db, "ada", "script", &me()).await.unwrap();
        let state = AppState::new(t.db.clone(), WebConfig::default());
        let get = |tok: String| Request::get("/api/v1/audit").header(header::AUTHORIZATION, format!("Bearer {tok}")).body(Body::empty()).unwrap();
        assert_eq!(call(&state, get(token.clone())).await.status, StatusCode::OK);
        let session = sign_in(&state, "ada", "password-1", None).await.cookie("procure_session").unwrap();
        access::set_disabled(&t.db, "ada", true, &me()).await.unwrap();
        // Changed beside the server (the command line): what its watch does at the next poll.
        state.tokens.refresh(&t.db).await.unwrap();
        let refused = call(&state, get(token.clone())).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert_eq!(refused.refused(), Some("bad_token"));
        let page = call(&state, with_session(Request::get("/audit"), &session).body(Body::empty()).unwrap()).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "a disabled account's session ends");
        let again = sign_in(&state, "ada", "password-1", None).await;
        assert_eq!(again.status, StatusCode::UNAUTHORIZED);
        assert!(again.cookie("procure_session").is_none());
        // Enabling the account again does not bring back the token it had: disabling revoked it.
        access::set_disabled(&t.db, "ada", false, &me()).await.unwrap();
        state.tokens.refresh(&t.db).await.unwrap();
        assert_eq!(call(&state, get(token.clone())).await.status, StatusCode::UNAUTHORIZED);
        assert!(access::revoke_token(&t.db, id, &me()).await.is_err(), "already revoked");
        let (new_id, new_token) = access::create_token(&t.db, "ada", "script", &me()).await.unwrap();
        assert_eq!(call(&state, get(new_token.clone())).await.status, StatusCode::OK);
        access::revoke_token(&t.db, new_id, &me()).await.unwrap();
        state.tokens.refresh(&t.db).await.unwrap();
        assert_eq!(call(&state, get(new_token)).await.status, StatusCode::UNAUTHORIZED);
        assert_eq!(call(&state, get("prc_made_up".into())).await.status, StatusCode::UNAUTHORIZED);
        // Tokens are stored hashed, and revoking twice says there is nothing to revoke.
        assert_eq!(t.scalar("SELECT COUNT(*) FROM api_tokens WHERE token_hash LIKE 'prc_%'").await, 0);
        assert!(access::revoke_token(&t.db, new_id, &me()).await.is_err());
        assert_eq!(
            t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'account.disable' AND detail = '1 API token(s) revoked'").await,
            1
        );
    }
}

both_backends! {
    async fn a_nul_in_a_sign_in_name_is_a_failed_sign_in_not_a_server_error(t: &TestDb) {
        access::add_account(&t.db, "ada", Role::Auditor, "password-1", &me()).await.unwrap();
        let state = AppState::new(t.db.clone(), WebConfig::default());
        for name in ["ada%00", "a%00da", "%00"] {
            let r = sign_in(&state, name, "password-1", None).await;
            assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
            assert!(r.cookie("procure_session").is_none(), "{name} signed in");
        }
        // The failure is recorded, with the NUL shown as a replacement character.
        assert!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'").await >= 1);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE actor LIKE 'ada%' AND action = 'login'").await, 0);
    }
}

both_backends! {
    async fn repeated_failed_sign_ins_make_that_address_wait_longer_and_only_it(t: &TestDb) {
        access::add_account(&t.db, "bob", Role::Finance, "password-1", &me()).await.unwrap();
        let guesser = Some("203.0.113.9".to_string());
        for _ in 0..3 {
            let r = access::login(&t.db, "bob", "wrong", guesser.clone()).await.unwrap();
            assert_eq!(r.err(), Some(access::LoginRefused::Invalid));
        }
        // After the third failure that address waits, even with the right password...
        match access::login(&t.db, "bob", "password-1", guesser.clone()).await.unwrap() {
            Err(access::LoginRefused::Wait(s)) => assert!((1..=2).contains(&s), "{s}"),
            other => panic!("expected a wait, got {:?}", other.map(|s| s.account)),
        }
        // ...but the owner, elsewhere, is not locked out by a stranger's guesses.
        assert!(access::login(&t.db, "bob", "password-1", Some("10.1.1.1".into())).await.unwrap().is_ok());
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert!(access::login(&t.db, "bob", "password-1", guesser.clone()).await.unwrap().is_ok());
        // A success clears the address's count.
        assert!(access::login(&t.db, "bob", "wrong", guesser.clone()).await.unwrap().is_err());
        assert!(access::login(&t.db, "bob", "password-1", guesser.clone()).await.unwrap().is_ok());
        // The failures and the successes are in the audit trail: repeats of one name from one
        // address in one minute as one row with their count, written by the success after them.
        assert_eq!(failures_recorded(t, "bob").await, 5);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log WHERE action = 'login'").await, 3);
        // An unknown name is answered exactly as a known one, waits included: no way to tell.
        for _ in 0..3 {
            let r = access::login(&t.db, "nobody", "whatever1", guesser.clone()).await.unwrap();
            assert_eq!(r.err(), Some(access::LoginRefused::Invalid));
        }
        let r = access::login(&t.db, "nobody", "whatever1", guesser).await.unwrap();
        assert!(matches!(r.err(), Some(access::LoginRefused::Wait(_))));
    }
}

both_backends! {
    async fn the_audit_trail_records_every_write_and_the_database_refuses_to_change_it(t: &TestDb) {
        access::add_account(&t.db, "root", Role::Admin, "password-1", &me()).await.unwrap();
        let opts = procure::imports::ImportOptions { actor: "clerk".into(), address: Some("10.0.0.7".into()), ..Default::default() };
        let sample = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("imports/sample-register.xlsx");
        assert!(procure::imports::import_paths(&t.db, &[sample], &opts, None).await.unwrap().ok);
        let (_, entries) = procure::audit::entries(&t.db, None, None, 100, 0).await.unwrap();
        let actions: Vec<&str> = entries.iter().rev().map(|e| e.action.as_str()).collect();
        assert_eq!(actions, ["account.add", "import.started", "import"]);
        assert_eq!(entries[0].actor, "clerk");
        assert_eq!(entries[0].address.as_deref(), Some("10.0.0.7"));
        assert!(entries[0].detail.contains("sample-register.xlsx"));
        assert!(entries[0].detail.contains("97 inserted") || entries[0].detail.contains("inserted"));
        for sql in ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log"] {
            let r = t.db.execute_unprepared(sql).await;
            assert!(r.is_err(), "{sql} should be refused by the database");
        }
        assert_eq!(t.scalar("SELECT COUNT(*) FROM audit_log").await, 3);
        // Auditors export it with the same writers as every report.
        access::add_account(&t.db, "aud", Role::Auditor, "password-1", &me()).await.unwrap();
        let (_, token) = access::create_token(&t.db, "aud", "export", &me()).await.unwrap();
        let state = AppState::new(t.db.clone(), WebConfig::default());
        let csv = call(&state, Request::get("/api/v1/audit?format=csv").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()).await;
        assert_eq!(csv.status, StatusCode::OK);
        assert!(csv.body.starts_with('\u{feff}'));
        assert!(csv.body.contains("import"));
        assert!(csv.body.contains("token.create"));
    }
}

#[tokio::test]
async fn an_admin_manages_accounts_and_tokens_on_the_accounts_page() {
    let t = common::sqlite().await;
    access::add_account(&t.db, "root", Role::Admin, "password-1", &me())
        .await
        .unwrap();
    // A finance officer's preview, not yet confirmed.
    {
        use sea_orm::{ActiveModelTrait, Set};
        procure::entities::upload::ActiveModel {
            set_token: Set("0123456789abcdef".into()),
            position: Set(0),
            file_name: Set("may.xlsx".into()),
            file_size: Set(4321),
            sha256: Set("ab".repeat(32)),
            content: Set(vec![0; 16]),
            uploaded_by: Set("fiona".into()),
            uploaded_at: Set(chrono::Utc::now()),
            status: Set("previewed".into()),
            ..Default::default()
        }
        .insert(&t.db)
        .await
        .unwrap();
    }
    let state = AppState::new(t.db.clone(), WebConfig::default());
    let session = sign_in(&state, "root", "password-1", None)
        .await
        .cookie("procure_session")
        .unwrap();
    let page = call(
        &state,
        with_session(Request::get("/accounts"), &session)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    // What each account keeps in unconfirmed previews, against the quota, is shown to admins.
    assert!(page.body.contains("id=\"previews-kept\""), "{}", page.body);
    assert!(
        page.body
            .contains("<td>fiona</td><td class=\"num\">1</td><td class=\"num\">4321</td>"),
        "{}",
        page.body
    );
    let csrf = csrf_in(&page.body);
    let post = |path: &str, body: String| {
        with_session(Request::post(path), &session)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    };
    let added = call(
        &state,
        post(
            "/accounts",
            format!("csrf={csrf}&name=carol&role=auditor&password=carol-pass"),
        ),
    )
    .await;
    assert_eq!(added.status, StatusCode::OK, "{}", added.body);
    assert!(added.body.contains("carol"));
    let weak = call(
        &state,
        post(
            "/accounts",
            format!("csrf={csrf}&name=dave&role=manager&password=short"),
        ),
    )
    .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    let made = call(
        &state,
        post(
            "/tokens",
            format!("csrf={csrf}&account=carol&label=nightly"),
        ),
    )
    .await;
    let at = made.body.find("id=\"new-token\">").unwrap() + 15;
    let token = &made.body[at..at + 68];
    assert!(token.starts_with("prc_"));
    assert_eq!(
        access::token_account(&t.db, token)
            .await
            .unwrap()
            .unwrap()
            .name,
        "carol"
    );
    call(
        &state,
        post("/accounts/carol/disable", format!("csrf={csrf}")),
    )
    .await;
    assert!(access::token_account(&t.db, token).await.unwrap().is_none());
    let (_, entries) = procure::audit::entries(&t.db, None, None, 100, 0)
        .await
        .unwrap();
    let by_root: Vec<&str> = entries
        .iter()
        .filter(|e| e.actor == "root")
        .map(|e| e.action.as_str())
        .collect();
    assert!(
        by_root.contains(&"account.add")
            && by_root.contains(&"token.create")
            && by_root.contains(&"account.disable"),
        "{by_root:?}"
    );
}

/// Failed sign-ins of `name` the audit trail records: one for each row, plus the repeats a
/// row of counted repeats ("N more failed sign-ins ...") stands for.
async fn failures_recorded(t: &TestDb, name: &str) -> i64 {
    let (_, entries) = procure::audit::entries(&t.db, None, None, 100_000, 0)
        .await
        .unwrap();
    entries
        .iter()
        .filter(|e| e.action == "login.failed" && e.actor == name)
        .map(|e| match e.detail.split_once(" more failed sign-ins") {
            Some((n, _)) => n.parse::<i64>().unwrap(),
            None => 1,
        })
        .sum()
}

/// Waits until a minute has at least `need` seconds left, so that a burst of attempts falls
/// in one minute.
async fn not_near_a_minute_boundary(need: u32) {
    use chrono::Timelike;
    let s = chrono::Utc::now().second();
    if s + need >= 60 {
        tokio::time::sleep(std::time::Duration::from_secs((61 - s) as u64)).await;
    }
}

both_backends! {
    /// A burst of failed sign-ins of one name from one address writes one audit row at once and
    /// one row with the count of the repeats when the minute has ended, not a row each.
    async fn repeated_failed_sign_ins_are_one_audit_row_with_a_count_per_minute(t: &TestDb) {
        access::add_account(&t.db, "eve", Role::Finance, "password-1", &me()).await.unwrap();
        not_near_a_minute_boundary(15).await;
        let from = Some("198.51.100.20".to_string());
        for _ in 0..10 {
            assert!(access::login(&t.db, "eve", "wrong", from.clone()).await.unwrap().is_err());
        }
        let rows = "SELECT COUNT(*) FROM audit_log WHERE action = 'login.failed'";
        assert_eq!(t.scalar(rows).await, 1, "only the first failure of the minute is a row");
        // When the minute has ended, the repeats are one row with their count.
        let later = chrono::Utc::now() + chrono::Duration::minutes(2);
        access::record_ended_failures(&t.db, later).await.unwrap();
        assert_eq!(t.scalar(rows).await, 2);
        assert_eq!(failures_recorded(t, "eve").await, 10);
        let (_, entries) = procure::audit::entries(&t.db, None, None, 10, 0).await.unwrap();
        assert_eq!(entries[0].address.as_deref(), Some("198.51.100.20"));
        assert!(entries[0].detail.starts_with("9 more failed sign-ins in the minute from "), "{}", entries[0].detail);
        // Recorded once: a second look finds nothing left to record.
        access::record_ended_failures(&t.db, later).await.unwrap();
        assert_eq!(t.scalar(rows).await, 2);
        assert_eq!(t.scalar("SELECT COUNT(*) FROM login_failure_counts").await, 0);
        // The counts are kept in their own table; the audit trail stays append-only.
        assert!(t.db.execute_unprepared("UPDATE audit_log SET detail = 'x'").await.is_err());
    }
}

both_backends! {
    /// Guessing across many names from one address is limited too: beyond the limit a minute
    /// the address waits for the next minute (other addresses do not), and the refused
    /// attempts add no audit row each.
    async fn one_address_guessing_across_many_names_is_made_to_wait(t: &TestDb) {
        access::add_account(&t.db, "fay", Role::Finance, "password-1", &me()).await.unwrap();
        not_near_a_minute_boundary(20).await;
        let guesser = Some("203.0.113.50".to_string());
        let limit = access::ADDRESS_FAILURES_PER_MINUTE;
        for i in 0..limit {
            let r = access::login(&t.db, &format!("user{i}"), "whatever1", guesser.clone()).await.unwrap();
            assert_eq!(r.err(), Some(access::LoginRefused::Invalid), "attempt {i}");
        }
        for i in 0..10 {
            // Even the right password of a real account: the address is not checked now.
            let name = if i == 0 { "fay".to_string() } else { format!("other{i}") };
            match access::login(&t.db, &name, "password-1", guesser.clone()).await.unwrap() {
                Err(access::LoginRefused::Wait(s)) => assert!((1..=60).contains(&s), "{s}"),
                other => panic!("expected a wait, got {:?}", other.map(|s| s.account)),
            }
        }
        let from_guesser = "SELECT COUNT(*) FROM audit_log WHERE address = '203.0.113.50'";
        assert_eq!(t.scalar(from_guesser).await, limit + 1, "one row a name, one for the refused");
        // Another address is not held back.
        assert!(access::login(&t.db, "fay", "password-1", Some("10.2.2.2".into())).await.unwrap().is_ok());
        // The refused attempts are counted and recorded as one row when the minute ends.
        access::record_ended_failures(&t.db, chrono::Utc::now() + chrono::Duration::minutes(2)).await.unwrap();
        assert_eq!(t.scalar(from_guesser).await, limit + 2);
        assert_eq!(failures_recorded(t, "*").await, 10);
    }
}

both_backends! {
    /// The audit trail's CSV and XLSX are written a page of entries at a time: the CSV in the
    /// same bytes the report's writer makes of the whole trail, the XLSX with the same cells
    /// and content hash.
    async fn the_audit_downloads_are_streamed_as_the_whole_report_would_be(t: &TestDb) {
        access::add_account(&t.db, "aud", Role::Auditor, "password-1", &me()).await.unwrap();
        let txn = sea_orm::TransactionTrait::begin(&t.db).await.unwrap();
        for i in 0..4_500 {
            procure::audit::record(&txn, &me(), "test.entry", &format!("entry {i}"), "=1+1").await.unwrap();
        }
        txn.commit().await.unwrap();
        let (_, token) = access::create_token(&t.db, "aud", "export", &me()).await.unwrap();
        let state = AppState::new(t.db.clone(), WebConfig::default());
        let csv = call(&state, Request::get("/api/v1/audit?format=csv").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap()).await;
        assert_eq!(csv.status, StatusCode::OK);
        let (n, entries) = procure::audit::entries(&t.db, None, None, u64::MAX >> 1, 0).await.unwrap();
        assert_eq!(n, 4_502);
        let today = procure::dates::today();
        let whole = procure::reports::audit_trail::report(&entries, None, today, procure::Lang::Zh);
        let expected = procure::reports::writers::csv(&whole).unwrap();
        assert_eq!(csv.body.as_bytes(), expected.as_slice());
        assert!(csv.body.contains("'=1+1"), "formulas are defused");
        // The XLSX is written a page at a time too: the same cells and the same content hash
        // as the whole report's workbook.
        let req = Request::get("/api/v1/audit?format=xlsx").header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
        let resp = router(state.clone()).oneshot(req).await.unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let streamed = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec();
        let whole_xlsx = procure::reports::writers::xlsx(&whole).unwrap();
        let cells = |bytes: &[u8]| {
            use calamine::Reader;
            let mut wb: calamine::Xlsx<_> = calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
            let range = wb.worksheet_range("audit").unwrap();
            range.rows().map(|r| r.to_vec()).collect::<Vec<_>>()
        };
        let got = cells(&streamed);
        assert_eq!(got.len(), 2 + 4_502);
        assert_eq!(got, cells(&whole_xlsx));
        let custom = |bytes: &[u8]| {
            let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
            let mut xml = String::new();
            std::io::Read::read_to_string(&mut zip.by_name("docProps/custom.xml").unwrap(), &mut xml).unwrap();
            xml
        };
        let sha = procure::reports::writers::content_sha256(&whole);
        assert!(custom(&streamed).contains(&sha));
        assert_eq!(custom(&streamed), custom(&whole_xlsx));
    }
}
