//! The access check every request passes before any handler runs: who is asking (a session
//! cookie or an API token), whether the route's permission admits them, and for a browser's
//! writes the CSRF token.

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::CookieJar;

use super::ctx::{CsrfInBody, Who};
use super::error::{ErrorCode, WebError};
use super::render;
use super::state::AppState;
use crate::access;
use crate::crypto::same;

/// The session cookie: HttpOnly, SameSite=Strict, Secure over TLS.
pub const SESSION_COOKIE: &str = "procure_session";

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
        let hash = crate::crypto::sha256_hex(token.as_bytes());
        if let Some(account) = state.tokens.get(&hash) {
            return Ok(Who::Token { account });
        }
        return match access::token_account(&state.db, token).await? {
            Some(account) => {
                state.tokens.put(hash, account.clone());
                Ok(Who::Token { account })
            }
            None => Err(ErrorCode::BadToken.into()),
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
    let code = err.code.as_str();
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
    if err.status() == StatusCode::UNAUTHORIZED {
        // A person who is not signed in gets the login form, then comes back here.
        let back = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        return render::login_page(state, lang, &back, Some(err.message(lang)), err.status());
    }
    render::error_response(state, lang, who, req.uri(), err)
}

/// Identifies the caller, checks the route's permission and, for a browser's writes, the
/// CSRF token; then runs the handler with [`Who`] in the request's extensions.
pub async fn authorize(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let who = match identify(&state, &headers).await {
        Ok(w) => w,
        Err(e) => return refuse(&state, &req, &Who::Anonymous, e),
    };
    if let Some(err) = super::hardening::screen(&req) {
        return refuse(&state, &req, &who, err);
    }
    let Some(path) = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
    else {
        // No route matched: the fallback answers 404 to everyone.
        return next.run(with(req, who)).await;
    };
    if state.perms.permission(req.method(), &path).is_none() {
        tracing::error!(method = %req.method(), path, "route missing from the permission table: refused");
    }
    if !state
        .perms
        .allowed(req.method(), &path, who.account(), state.config.public)
    {
        let err = if who.account().is_none() {
            ErrorCode::Unauthorized.into()
        } else {
            ErrorCode::Forbidden.into()
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
            let multipart = req
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("multipart/form-data"));
            if token.is_none() && multipart {
                // The form's first field carries it; the upload handler checks it.
                let expected = CsrfInBody(csrf.clone());
                req.extensions_mut().insert(expected);
            } else if !token.is_some_and(|t| same(&t, csrf)) {
                return refuse(&state, &req, &who, ErrorCode::Csrf.into());
            }
        }
    }
    let signed_in = who.account().is_some();
    let mut resp = if req.method() == Method::GET || req.method() == Method::HEAD {
        next.run(with(req, who)).await
    } else {
        // A write takes its turn: after any import this server is running (SQLite).
        let (bare, asker) = (bare(&req), who.clone());
        let resp = match state.writes.shared(next.run(with(req, who))).await {
            Ok(resp) => resp,
            Err(err) => refusal(&state, &bare, &asker, err),
        };
        // A write may have revoked a token or disabled an account: look tokens up again.
        state.tokens.clear();
        resp
    };
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

/// The parts of a request its refusal is made from (language, path), without its body.
fn bare(req: &Request) -> Request {
    let mut bare = Request::new(Body::empty());
    *bare.method_mut() = req.method().clone();
    *bare.uri_mut() = req.uri().clone();
    *bare.headers_mut() = req.headers().clone();
    bare
}

fn with(mut req: Request, who: Who) -> Request {
    req.extensions_mut().insert(who);
    req
}
