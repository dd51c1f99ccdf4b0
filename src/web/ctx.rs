//! What every request carries: the reader's language (remembered in a cookie, Chinese by
//! default), who is asking (set by the access check, `web::gate`) and from where.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Uri};
use axum_extra::extract::CookieJar;

use super::auth::Permissions;
use super::state::AppState;
use crate::access::Account;
use crate::Lang;

/// The cookie that remembers the language switch.
pub const LANG_COOKIE: &str = "procure_lang";

/// A browser's multipart form whose CSRF token travels in the body, as its first field
/// `csrf` (never in the URL, where logs and the Referer would keep it): the access check
/// cannot read the body without holding the whole upload, so the handler that reads the
/// form checks the token against this one before it reads any file.
#[derive(Debug, Clone)]
pub struct CsrfInBody(pub String);

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
    /// The client: the peer, or behind a trusted proxy the address it forwarded for.
    pub client: Option<IpAddr>,
    /// Every route's permission: which links this reader's pages show.
    pub perms: Arc<Permissions>,
}

/// The client's address: the nearest address in `X-Forwarded-For` that is not one of our
/// trusted proxies, when the peer is one of them; otherwise the peer (a header from anyone
/// else could be forged).
pub fn client_address(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let peer = peer?;
    if !trusted.contains(&peer) {
        return Some(peer);
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| a.trim().parse().ok())
        .collect();
    Some(
        forwarded
            .into_iter()
            .rev()
            .find(|a| !trusted.contains(a))
            .unwrap_or(peer),
    )
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
        self.client.map(|ip| ip.to_string())
    }

    /// Whether this reader may follow a link to `path` (a GET route).
    pub fn can(&self, path: &str) -> bool {
        self.perms.allowed(
            &axum::http::Method::GET,
            path,
            self.who.account(),
            self.public,
        )
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
        let addr = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(Ctx {
            lang: lang_of(&parts.uri, &parts.headers),
            client: client_address(
                addr.map(|a| a.ip()),
                &parts.headers,
                &state.config.trusted_proxies,
            ),
            addr,
            back: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
            who: parts.extensions.get::<Who>().cloned().unwrap_or_default(),
            public: state.config.public,
            https,
            perms: state.perms.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_client_is_recorded() {
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let got = client_address(Some(lb), &headers("198.51.100.7, 10.0.0.2"), &[lb]);
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn a_forwarded_header_from_anyone_else_is_ignored() {
        let stranger: IpAddr = "203.0.113.5".parse().unwrap();
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let got = client_address(Some(stranger), &headers("1.2.3.4"), &[lb]);
        assert_eq!(got, Some(stranger));
    }

    #[test]
    fn a_client_cannot_hide_behind_addresses_it_prepends() {
        // The client sent "X-Forwarded-For: 1.2.3.4"; the proxy appended the real address.
        let lb: IpAddr = "10.0.0.2".parse().unwrap();
        let got = client_address(Some(lb), &headers("1.2.3.4, 198.51.100.7"), &[lb]);
        assert_eq!(got, Some("198.51.100.7".parse().unwrap()));
    }
}
