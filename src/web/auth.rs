//! Who is asking and whether they may: one table of every route and the roles it admits,
//! checked by one middleware before any handler runs. A route missing from the table is
//! refused to everyone (fail closed), so a new route cannot ship unguarded; the table-driven
//! test in tests/access.rs lists the same routes and fails when the two differ.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::error::WebError;
use super::AppState;
use crate::access::{self, Account, Role};

/// The session cookie: HttpOnly, SameSite=Strict, Secure over TLS.
pub const SESSION_COOKIE: &str = "procure_session";

/// The identity a request carries.
#[derive(Debug, Clone, Default)]
pub enum Who {
    #[default]
    Anonymous,
    /// Signed in through the login page: a browser, which must show a CSRF token to write.
    Session {
        account: Account,
        csrf: String,
        cookie: String,
    },
    /// An API token (`Authorization: Bearer ...`): a script; not sent by browsers on their own.
    Token { account: Account },
}

impl Who {
    pub fn account(&self) -> Option<&Account> {
        match self {
            Who::Anonymous => None,
            Who::Session { account, .. } | Who::Token { account } => Some(account),
        }
    }

    pub fn csrf(&self) -> Option<&str> {
        match self {
            Who::Session { csrf, .. } => Some(csrf),
            _ => None,
        }
    }
}

/// When anonymous visitors may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anon {
    Never,
    Always,
    /// Only when the operator runs `serve --public` (aggregate figures, no vouchers, no files).
    IfPublic,
}

#[derive(Debug, Clone, Copy)]
pub struct Perm {
    pub roles: &'static [Role],
    pub anon: Anon,
}

const ALL: &[Role] = &[Role::Admin, Role::Finance, Role::Auditor, Role::Manager];
/// Those who read the ledger: finance (operational), auditors (everything), managers.
const READERS: &[Role] = &[Role::Finance, Role::Auditor, Role::Manager];
const BOOKS: &[Role] = &[Role::Finance, Role::Auditor];
const FINANCE: &[Role] = &[Role::Finance];
const AUDITOR: &[Role] = &[Role::Auditor];
const ADMIN: &[Role] = &[Role::Admin];
const NOBODY: &[Role] = &[];

const fn p(roles: &'static [Role], anon: Anon) -> Perm {
    Perm { roles, anon }
}

/// Every route: method, path pattern (as the router has it), who may use it.
pub const PERMISSIONS: &[(&str, &str, Perm)] = &[
    ("GET", "/health", p(NOBODY, Anon::Always)),
    ("GET", "/login", p(NOBODY, Anon::Always)),
    ("POST", "/login", p(NOBODY, Anon::Always)),
    ("POST", "/logout", p(ALL, Anon::Never)),
    ("GET", "/lang/{lang}", p(NOBODY, Anon::Always)),
    ("GET", "/static/{file}", p(NOBODY, Anon::Always)),
    ("GET", "/public", p(ALL, Anon::IfPublic)),
    ("GET", "/", p(ALL, Anon::Never)),
    ("GET", "/contracts", p(READERS, Anon::Never)),
    ("GET", "/contracts/{code}", p(READERS, Anon::Never)),
    ("GET", "/upload", p(FINANCE, Anon::Never)),
    ("POST", "/upload", p(FINANCE, Anon::Never)),
    ("GET", "/upload/{token}", p(FINANCE, Anon::Never)),
    ("POST", "/upload/{token}/commit", p(FINANCE, Anon::Never)),
    ("GET", "/reports", p(READERS, Anon::Never)),
    ("GET", "/reports/download", p(READERS, Anon::Never)),
    ("GET", "/imports", p(BOOKS, Anon::Never)),
    ("GET", "/imports/{id}", p(BOOKS, Anon::Never)),
    ("GET", "/imports/{id}/original", p(BOOKS, Anon::Never)),
    ("GET", "/audit", p(AUDITOR, Anon::Never)),
    ("GET", "/audit/download", p(AUDITOR, Anon::Never)),
    ("GET", "/accounts", p(ADMIN, Anon::Never)),
    ("POST", "/accounts", p(ADMIN, Anon::Never)),
    ("POST", "/accounts/{name}/disable", p(ADMIN, Anon::Never)),
    ("POST", "/accounts/{name}/enable", p(ADMIN, Anon::Never)),
    ("POST", "/tokens", p(ADMIN, Anon::Never)),
    ("POST", "/tokens/{id}/revoke", p(ADMIN, Anon::Never)),
    ("GET", "/api", p(ALL, Anon::Never)),
    ("GET", "/api/openapi.json", p(ALL, Anon::Never)),
    ("GET", "/api/v1/ping", p(NOBODY, Anon::Always)),
    ("GET", "/api/v1/summary", p(ALL, Anon::IfPublic)),
    ("GET", "/api/v1/spend", p(READERS, Anon::Never)),
    ("GET", "/api/v1/beneficiaries", p(READERS, Anon::Never)),
    ("GET", "/api/v1/contracts", p(READERS, Anon::Never)),
    ("GET", "/api/v1/contracts/{code}", p(READERS, Anon::Never)),
    ("GET", "/api/v1/imports", p(BOOKS, Anon::Never)),
    (
        "GET",
        "/api/v1/imports/{id}/original",
        p(BOOKS, Anon::Never),
    ),
    ("POST", "/api/v1/uploads", p(FINANCE, Anon::Never)),
    ("GET", "/api/v1/uploads/{token}", p(FINANCE, Anon::Never)),
    (
        "POST",
        "/api/v1/uploads/{token}/commit",
        p(FINANCE, Anon::Never),
    ),
    ("GET", "/api/v1/reports/{name}", p(READERS, Anon::Never)),
    ("GET", "/api/v1/audit", p(AUDITOR, Anon::Never)),
];

pub fn permission(method: &Method, path: &str) -> Option<Perm> {
    // HEAD is GET without the body (load balancers' health checks use it).
    let method = if method == Method::HEAD {
        "GET"
    } else {
        method.as_str()
    };
    PERMISSIONS
        .iter()
        .find(|(m, p, _)| *m == method && *p == path)
        .map(|(_, _, perm)| *perm)
}

/// Whether `who` may use a route (for the middleware, and for the links a page shows).
pub fn allowed(method: &Method, path: &str, who: &Who, public: bool) -> bool {
    let Some(perm) = permission(method, path) else {
        return false;
    };
    match who.account() {
        None => perm.anon == Anon::Always || (perm.anon == Anon::IfPublic && public),
        Some(a) => perm.anon == Anon::Always || perm.roles.contains(&a.role),
    }
}

/// Equal in time whatever the first difference (a CSRF token is a secret).
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn identify(state: &AppState, headers: &axum::http::HeaderMap) -> Result<Who, WebError> {
    // Only a Bearer token is ours; other schemes (a proxy's Basic auth) are not our business.
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|p| p.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        });
    if let Some(token) = bearer {
        return match access::token_account(&state.db, token).await? {
            Some(account) => Ok(Who::Token { account }),
            None => Err(WebError::new(
                StatusCode::UNAUTHORIZED,
                "bad_token",
                "API 令牌无效、已撤销，或其账号已停用",
                "the API token is invalid, revoked, or its account is disabled",
            )),
        };
    }
    let jar = CookieJar::from_headers(headers);
    if let Some(c) = jar.get(SESSION_COOKIE) {
        if let Some((account, csrf)) = access::session(&state.db, c.value()).await? {
            return Ok(Who::Session {
                account,
                csrf,
                cookie: c.value().to_string(),
            });
        }
    }
    Ok(Who::Anonymous)
}

/// The CSRF token a browser's write carries: the `X-CSRF-Token` header, a `csrf` query
/// parameter (multipart forms), or a `csrf` field of a urlencoded form (the body is read
/// here and handed on unchanged).
async fn csrf_of(req: Request) -> Result<(Option<String>, Request), WebError> {
    if let Some(h) = req.headers().get("x-csrf-token") {
        return Ok((h.to_str().ok().map(str::to_string), req));
    }
    let from_query = req.uri().query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.into_owned())
    });
    if from_query.is_some() {
        return Ok((from_query, req));
    }
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Ok((None, req));
    }
    let (parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.map_err(|_| {
        WebError::bad_request("表单太大或不完整", "the form is too large or incomplete")
    })?;
    let token = url::form_urlencoded::parse(&bytes)
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.into_owned());
    Ok((token, Request::from_parts(parts, Body::from(bytes))))
}

/// Names a refusal by the access check, so scripts and tests can tell it from a handler's
/// own 403 or 404: `unauthorized`, `forbidden`, `csrf`, `bad_token`.
pub const REFUSED_HEADER: &str = "x-procure-refused";

fn refuse(state: &AppState, req: &Request, who: &Who, err: WebError) -> Response {
    let code = err.code;
    let mut resp = refusal(state, req, who, err);
    resp.headers_mut()
        .insert(REFUSED_HEADER, axum::http::HeaderValue::from_static(code));
    resp
}

fn refusal(state: &AppState, req: &Request, who: &Who, err: WebError) -> Response {
    let lang = super::ctx::lang_of_request(req);
    let path = req.uri().path();
    if path.starts_with("/api/") || matches!(who, Who::Token { .. }) {
        return err.api(lang).into_response();
    }
    if err.status == StatusCode::UNAUTHORIZED {
        // A person who is not signed in gets the login form, then comes back here.
        let back = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        return super::pages::login_page(state, lang, &back, Some(err.message(lang)), err.status);
    }
    super::pages::error_response(lang, who, state.config.public, req.uri(), err)
}

fn unauthorized() -> WebError {
    WebError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "请先登录",
        "please sign in first",
    )
}

/// Identifies the caller, checks the route's permission and, for a browser's writes, the
/// CSRF token; then runs the handler with [`Who`] in the request's extensions.
pub async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let who = match identify(&state, &headers).await {
        Ok(w) => w,
        Err(e) => return refuse(&state, &req, &Who::Anonymous, e),
    };
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
    else {
        // No route matched: the fallback answers 404 to everyone.
        return next.run(with(req, who)).await;
    };
    if permission(req.method(), &path).is_none() {
        tracing::error!(method = %req.method(), path, "route missing from the permission table: refused");
    }
    if !allowed(req.method(), &path, &who, state.config.public) {
        let err = if who.account().is_none() {
            unauthorized()
        } else {
            WebError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "您的角色没有这项权限",
                "your role does not allow this",
            )
        };
        return refuse(&state, &req, &who, err);
    }
    let mut req = req;
    // The login form has its own double-submit token (there is no session yet to tie it to).
    if req.method() != Method::GET && req.method() != Method::HEAD && path != "/login" {
        if let Who::Session { csrf, .. } = &who {
            let (token, r) = match csrf_of(req).await {
                Ok(x) => x,
                Err(e) => return refuse(&state, &Request::default(), &who, e),
            };
            req = r;
            if !token.is_some_and(|t| same(&t, csrf)) {
                let err = WebError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试",
                    "the form has expired or did not come from this site (CSRF check failed); reload the page and try again",
                );
                return refuse(&state, &req, &who, err);
            }
        }
    }
    let signed_in = who.account().is_some();
    let mut resp = next.run(with(req, who)).await;
    if signed_in && !path.starts_with("/static/") {
        // Pages and files for a signed-in person (a new API token, vouchers) stay out of
        // shared and back-button caches.
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            axum::http::HeaderValue::from_static("no-store"),
        );
    }
    resp
}

fn with(mut req: Request, who: Who) -> Request {
    req.extensions_mut().insert(who);
    req
}
