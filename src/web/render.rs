//! What every page shares: the frame (language, the way back, who is signed in, the links
//! their role may follow, the CSRF token), error pages, the login page (also the answer to a
//! page asked for without signing in), and reports sent as files.

use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use minijinja::context;
use serde::Serialize;
use serde_json::json;

use super::ctx::{Ctx, Who};
use super::error::WebError;
use super::state::AppState;
use super::templates::render;
use crate::reports::writers::{self, OutputFormat};
use crate::Lang;

/// The language's code in URLs, cookies and templates.
pub fn lang_code(lang: Lang) -> &'static str {
    match lang {
        Lang::Zh => "zh",
        Lang::En => "en",
    }
}

/// A Rust value for a template.
pub fn v<T: Serialize>(x: T) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(x))
}

/// What every page's frame needs: language, the way back, who is signed in, the links their
/// role may follow, and the CSRF token their forms carry.
pub fn base(ctx: &Ctx) -> minijinja::Value {
    let user = ctx.who.account().map(
        |a| json!({"name": a.name, "role": a.role.code(), "role_name": a.role.name(ctx.lang)}),
    );
    context! {
        lang => lang_code(ctx.lang),
        back => ctx.back.clone(),
        user => v(user),
        csrf => ctx.who.csrf().unwrap_or(""),
        can => v(json!({
            "dashboard": ctx.can("/"),
            "contracts": ctx.can("/contracts"),
            "upload": ctx.can("/upload"),
            "reports": ctx.can("/reports"),
            "budget": ctx.can("/budget"),
            "imports": ctx.can("/imports"),
            "audit": ctx.can("/audit"),
            "accounts": ctx.can("/accounts"),
            "api": ctx.can("/api"),
            "public": ctx.can("/public"),
            "disclosure": ctx.can("/disclosure"),
        })),
    }
}

/// A page, or the error page in its place.
pub fn page(ctx: &Ctx, template: &str, vars: minijinja::Value) -> PageResult {
    Ok(render(template, vars).or_page(ctx)?.into_response())
}

/// An error page, ready to send.
pub struct PageError(Box<Response>);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        *self.0
    }
}

pub type PageResult = Result<Response, PageError>;

/// An error as a page, in the reader's language.
pub fn fail(ctx: &Ctx, err: WebError) -> PageError {
    PageError(Box::new(error_page(ctx, err)))
}

pub trait OrPage<T> {
    fn or_page(self, ctx: &Ctx) -> Result<T, PageError>;
}

impl<T, E: Into<WebError>> OrPage<T> for Result<T, E> {
    fn or_page(self, ctx: &Ctx) -> Result<T, PageError> {
        self.map_err(|e| fail(ctx, e.into()))
    }
}

pub fn error_page(ctx: &Ctx, err: WebError) -> Response {
    let page = render(
        "error.html",
        context! {
            nav => "",
            status => err.status().as_u16(),
            message => err.message(ctx.lang),
            ..base(ctx)
        },
    );
    let mut resp = match page {
        Ok(html) => (err.status(), html).into_response(),
        Err(_) => (err.status(), err.message(ctx.lang).to_string()).into_response(),
    };
    err.code.retry_after(&mut resp);
    resp
}

/// The frame of a page for a request no handler has seen (the access check answered it).
fn bare_ctx(state: &AppState, lang: Lang, back: String, who: Who) -> Ctx {
    Ctx {
        lang,
        addr: None,
        back,
        who,
        public: state.config.public,
        https: state.config.secure_cookies,
        client: None,
        perms: state.perms.clone(),
    }
}

/// An error page for a request no handler has seen (the access check refused it).
pub fn error_response(
    state: &AppState,
    lang: Lang,
    who: &Who,
    uri: &Uri,
    err: WebError,
) -> Response {
    let back = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let mut ctx = bare_ctx(state, lang, back, who.clone());
    ctx.https = false;
    error_page(&ctx, err)
}

/// The login cookie that binds the login form to the browser that asked for it (there is
/// no session yet to hold a CSRF token).
pub const LOGIN_COOKIE: &str = "procure_login";

/// Only a path on this site: never an open redirect.
pub fn local_path(p: Option<&str>) -> String {
    // Browsers drop tabs and newlines from URLs, so "/\t/evil" would become "//evil".
    p.filter(|b| {
        b.starts_with('/')
            && !b.starts_with("//")
            && !b.contains('\\')
            && !b.chars().any(|c| c.is_control() || c.is_whitespace())
    })
    .unwrap_or("/")
    .to_string()
}

pub fn cookie(name: &str, value: &str, path: &str, max_age: i64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}")
}

/// The login form (also the answer to a page asked for without signing in, with 401).
pub fn login_page(
    state: &AppState,
    lang: Lang,
    next: &str,
    message: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = crate::crypto::secret();
    let ctx = bare_ctx(state, lang, "/login".into(), Who::Anonymous);
    let html = render(
        "login.html",
        context! { nav => "login", next => local_path(Some(next)), message, login_token => token.clone(), ..base(&ctx) },
    );
    match html {
        Ok(html) => (
            status,
            [(
                header::SET_COOKIE,
                cookie(LOGIN_COOKIE, &token, "/login", 3600, ctx.https),
            )],
            html,
        )
            .into_response(),
        Err(e) => error_page(&ctx, e),
    }
}

/// Sends a built report as a file (CSV with BOM for Excel, XLSX, or JSON).
pub fn send_report(
    report: &crate::reports::Report,
    format: OutputFormat,
) -> Result<Response, WebError> {
    let bytes = writers::write(report, format).map_err(WebError::internal)?;
    let (mime, disposition) = match format {
        OutputFormat::Json => ("application/json; charset=utf-8", "inline"),
        OutputFormat::Csv => ("text/csv; charset=utf-8", "attachment"),
        OutputFormat::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "attachment",
        ),
        OutputFormat::Table => ("text/plain; charset=utf-8", "inline"),
    };
    let file = format!("{}-{}.{}", report.name, report.as_of, format.extension());
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&format!("{disposition}; filename=\"{file}\""))
                    .map_err(WebError::internal)?,
            ),
        ],
        bytes,
    )
        .into_response())
}

/// JSON already serialised.
pub fn json_bytes(body: axum::body::Bytes) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// Names of an import's file statuses and register kinds, as the preview and the imports
/// pages show them.
pub fn import_names(lang: Lang) -> (serde_json::Value, serde_json::Value) {
    (
        json!({
            "stored": lang.pick("已导入", "stored"),
            "checked": lang.pick("可以导入", "ready to import"),
            "unchanged": lang.pick("内容已在台账中，不会重复导入", "already in the ledger; nothing to import"),
            "rejected": lang.pick("有错误，不能导入", "has errors; not imported"),
        }),
        json!({
            "contracts": lang.pick("项目合同", "contracts"),
            "disbursements": lang.pick("资金拨付", "disbursements"),
            "services": lang.pick("服务统计", "service reports"),
            "budgets": lang.pick("预算项目", "budget lines"),
            "evaluations": lang.pick("绩效评价", "evaluations"),
        }),
    )
}
