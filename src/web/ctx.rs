//! What every request carries: the reader's language (remembered in a cookie, Chinese by
//! default) and who is asking (the client address until accounts exist).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum_extra::extract::CookieJar;

use crate::Lang;

/// The cookie that remembers the language switch.
pub const LANG_COOKIE: &str = "procure_lang";

#[derive(Debug, Clone)]
pub struct Ctx {
    pub lang: Lang,
    pub addr: Option<SocketAddr>,
    /// This request's path and query: where the language switch returns to.
    pub back: String,
}

impl Ctx {
    /// The actor recorded on a batch made through the web.
    pub fn actor(&self) -> String {
        match self.addr {
            Some(a) => format!("web@{}", a.ip()),
            None => "web".to_string(),
        }
    }
}

/// `?lang=en` on the request, else the remembered cookie, else Chinese.
pub fn lang_of(parts: &Parts) -> Lang {
    let from_query = parts.uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| parse_lang(&v))
    });
    from_query.unwrap_or_else(|| {
        CookieJar::from_headers(&parts.headers)
            .get(LANG_COOKIE)
            .and_then(|c| parse_lang(c.value()))
            .unwrap_or_default()
    })
}

pub fn parse_lang(s: &str) -> Option<Lang> {
    match s {
        "zh" | "zh-CN" | "cn" => Some(Lang::Zh),
        "en" => Some(Lang::En),
        _ => None,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Ctx {
            lang: lang_of(parts),
            addr: parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            back: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
        })
    }
}
