//! What every response and every request goes through before any feature sees it: the
//! browser's security headers, a second line against cross-site forms (the `Origin` of a
//! POST must be this site), and queries the database could not take (a NUL byte, which
//! PostgreSQL refuses in text with an error that would otherwise surface as a 500).

use axum::extract::Request;
use axum::http::{header, HeaderMap, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::Response;

use super::error::{ErrorCode, WebError};

/// Pages load scripts, styles and images only from this site; no page may be framed. The
/// charts are inline SVG whose text carries `style` attributes, hence the inline styles;
/// scripts are never inline (the copy button's code is `/static/app.js`).
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
                   img-src 'self' data:; object-src 'none'; base-uri 'none'; \
                   form-action 'self'; frame-ancestors 'none'";

/// Adds the security headers to every response.
pub async fn headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    for (name, value) in [
        (header::CONTENT_SECURITY_POLICY, CSP),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ] {
        h.entry(name).or_insert(HeaderValue::from_static(value));
    }
    resp
}

/// What a request must not be, whoever sends it: a state-changing request that a browser
/// sent from another site, or a query holding a NUL byte. The access check ([`super::gate`])
/// asks this first and answers with its refusal, like any other.
pub fn screen(req: &Request) -> Option<WebError> {
    if req.uri().query().is_some_and(has_nul) {
        return Some(WebError::bad_request(
            "查询参数中含有空字符（NUL），无法处理",
            "a query parameter holds a NUL character",
        ));
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && cross_site(req.headers())
    {
        return Some(WebError::new(
            ErrorCode::Csrf,
            "请求来自其他网站，已拒绝（来源校验失败）；请在本系统的页面中操作",
            "the request came from another site and was refused (origin check failed); use this site's own pages",
        ));
    }
    None
}

/// `%00` in any case, or a raw NUL: what would reach the database as a NUL character.
fn has_nul(query: &str) -> bool {
    query.contains('\0') || query.as_bytes().windows(3).any(|w| w == b"%00")
}

/// Whether a browser says the request comes from another site: an `Origin` whose host is not
/// the request's `Host`, or `Sec-Fetch-Site: cross-site`. Programs (scripts with API tokens)
/// send neither header and pass; the CSRF token remains the first line for forms.
fn cross_site(h: &HeaderMap) -> bool {
    let text = |name: &str| h.get(name).and_then(|v| v.to_str().ok());
    if text("sec-fetch-site").is_some_and(|s| s.eq_ignore_ascii_case("cross-site")) {
        return true;
    }
    let Some(origin) = text(header::ORIGIN.as_str()) else {
        return false;
    };
    // A sandboxed page or a privacy-minded redirect sends the literal `null`.
    if origin == "null" {
        return true;
    }
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin)
        .trim_end_matches('/');
    let forwarded = text("x-forwarded-host");
    let host = forwarded.or(text(header::HOST.as_str()));
    host.is_none_or(|host| !origin_host.eq_ignore_ascii_case(host))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn a_form_from_this_site_passes_and_one_from_another_does_not() {
        assert!(!cross_site(&with(&[
            ("host", "procure.local:8080"),
            ("origin", "http://procure.local:8080")
        ])));
        assert!(cross_site(&with(&[
            ("host", "procure.local:8080"),
            ("origin", "https://evil.example")
        ])));
        assert!(cross_site(&with(&[
            ("host", "procure.local"),
            ("origin", "null")
        ])));
        assert!(cross_site(&with(&[
            ("host", "procure.local"),
            ("sec-fetch-site", "cross-site")
        ])));
        // A script with a token sends no Origin.
        assert!(!cross_site(&with(&[("host", "procure.local")])));
        // Behind a proxy the browser's host is the forwarded one.
        assert!(!cross_site(&with(&[
            ("host", "10.0.0.5:8080"),
            ("x-forwarded-host", "procure.gov.example"),
            ("origin", "https://procure.gov.example"),
        ])));
    }

    #[test]
    fn a_nul_in_a_query_is_seen_in_any_spelling() {
        assert!(has_nul("q=a%00b"));
        assert!(has_nul("q=a\0b"));
        assert!(!has_nul("q=100&as_of=2019-06-30"));
    }
}
