//! What every request carries: the reader's language (remembered in a cookie, Chinese by
//! default), who is asking (set by [`super::auth::authorize`]) and from where.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum_extra::extract::CookieJar;

use super::auth::Who;
use super::AppState;
use crate::Lang;

/// The cookie that remembers the language switch.
pub const LANG_COOKIE: &str = "procure_lang";

#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub addr: Option<SocketAddr>,
    /// This request's path and query: where the language switch returns to.
    pub back: String,
    pub who: Who,
    /// `serve --public`: anonymous visitors may see the aggregate figures.
    pub public: bool,
    /// Served over TLS (directly or behind a proxy that says so): cookies get `Secure`.
    pub https: bool,
}

impl Ctx {
    /// The actor recorded on a batch or an audit entry made through the web.
    pub fn actor(&self) -> String {
        match self.who.account() {
            Some(a) => a.name.clone(),
            None => "anonymous".to_string(),
        }
    }

    pub fn address(&self) -> Option<String> {
        self.addr.map(|a| a.ip().to_string())
    }

    pub fn audit_actor(&self) -> crate::access::Actor {
        crate::access::Actor {
            name: self.actor(),
            address: self.address(),
        }
    }
}

/// `?lang=en` on the request, else the remembered cookie, else Chinese.
pub fn lang_of(uri: &Uri, headers: &HeaderMap) -> Lang {
    let from_query = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| parse_lang(&v))
    });
    from_query.unwrap_or_else(|| {
        CookieJar::from_headers(headers)
            .get(LANG_COOKIE)
            .and_then(|c| parse_lang(c.value()))
            .unwrap_or_default()
    })
}

pub fn lang_of_request(req: &axum::extract::Request) -> Lang {
    lang_of(req.uri(), req.headers())
}

pub fn parse_lang(s: &str) -> Option<Lang> {
    match s {
        "zh" | "zh-CN" | "cn" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let https = parts
            .headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
            || state.config.secure_cookies;
        Ok(Ctx {
            lang: lang_of(&parts.uri, &parts.headers),
            addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            back: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            who: parts.extensions.get::<Who>().cloned().unwrap_or_default(),
            public: state.config.public,
            https,
        })
    }
}
