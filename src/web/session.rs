//! Signing in and out, and the language switch.

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;

use super::auth;
use super::ctx::{Ctx, Who, LANG_COOKIE};
use super::error::WebError;
use super::gate::SESSION_COOKIE;
use super::params::form;
use super::render::{
    cookie, fail, lang_code, local_path, login_page, OrPage, PageResult, LOGIN_COOKIE,
};
use super::routes::Routes;
use super::state::AppState;
use crate::Lang;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/login", auth::OPEN, get(login_form))
        .page(Method::POST, "/login", auth::OPEN, post(login))
        .page(Method::POST, "/logout", auth::SIGNED_IN, post(logout))
        .page(Method::GET, "/lang/{lang}", auth::OPEN, get(switch_lang))
}

#[derive(Debug, Deserialize)]
pub struct BackQuery {
    back: Option<String>,
}

/// Remembers the language for a year and returns to the page the reader was on.
async fn switch_lang(ctx: Ctx, Path(lang): Path<String>, Query(q): Query<BackQuery>) -> PageResult {
    let Some(lang) = super::ctx::parse_lang(&lang) else {
        return Err(fail(
            &ctx,
            WebError::not_found("没有这种语言", "no such language"),
        ));
    };
    // Only a path on this site: never an open redirect.
    let back = local_path(q.back.as_deref());
    let cookie = format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
        lang_code(lang)
    );
    Ok((
        [(
            header::SET_COOKIE,
            HeaderValue::from_str(&cookie).or_page(&ctx)?,
        )],
        Redirect::to(&back),
    )
        .into_response())
}

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

async fn login_form(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Response {
    login_page(
        &state,
        ctx.lang,
        &local_path(q.next.as_deref()),
        None,
        axum::http::StatusCode::OK,
    )
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    jar: axum_extra::extract::CookieJar,
    body: Bytes,
) -> PageResult {
    let f = form(&body);
    let next = local_path(f.get("next").map(String::as_str));
    let bound = jar.get(LOGIN_COOKIE).map(|c| c.value().to_string());
    if bound.is_none() || bound.as_deref() != f.get("login_token").map(String::as_str) {
        return Ok(login_page(
            &state,
            ctx.lang,
            &next,
            Some(ctx.lang.pick(
                "登录表单已过期，请重新输入",
                "the sign-in form expired; please sign in again",
            )),
            axum::http::StatusCode::FORBIDDEN,
        ));
    }
    let name = f.get("name").map(|s| s.trim()).unwrap_or("");
    let password = f.get("password").map(String::as_str).unwrap_or("");
    let outcome = crate::access::login(&state.db, name, password, ctx.address())
        .await
        .map_err(|e| match e {
            crate::access::AccessError::Db(db) => WebError::from(db),
            other => WebError::internal(other),
        })
        .or_page(&ctx)?;
    match outcome {
        Ok(session) => {
            // The old session, if any, ends: one browser, one session, a new id at each login.
            if let Some(old) = jar.get(SESSION_COOKIE) {
                let _ = crate::access::logout(&state.db, old.value(), &ctx.audit_actor()).await;
            }
            let max_age = crate::access::SESSION_LIFETIME.num_seconds();
            // Two cookies: headers in an array would replace each other; these append.
            Ok((
                axum::response::AppendHeaders([
                    (
                        header::SET_COOKIE,
                        cookie(SESSION_COOKIE, &session.cookie, "/", max_age, ctx.https),
                    ),
                    (
                        header::SET_COOKIE,
                        cookie(LOGIN_COOKIE, "", "/login", 0, ctx.https),
                    ),
                ]),
                Redirect::to(&next),
            )
                .into_response())
        }
        Err(refused) => {
            let msg = match refused {
                crate::access::LoginRefused::Invalid => ctx
                    .lang
                    .pick(
                        "用户名或密码错误，或账号已停用",
                        "wrong name or password, or the account is disabled",
                    )
                    .to_string(),
                crate::access::LoginRefused::Wait(s) => match ctx.lang {
                    Lang::Zh => format!("失败次数过多，请 {s} 秒后再试"),
                    Lang::En => format!("too many failed attempts; try again in {s} seconds"),
                },
            };
            Ok(login_page(
                &state,
                ctx.lang,
                &next,
                Some(&msg),
                axum::http::StatusCode::UNAUTHORIZED,
            ))
        }
    }
}

async fn logout(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    if let Who::Session { cookie: c, .. } = &ctx.who {
        crate::access::logout(&state.db, c, &ctx.audit_actor())
            .await
            .or_page(&ctx)?;
    }
    Ok((
        [(
            header::SET_COOKIE,
            cookie(SESSION_COOKIE, "", "/", 0, ctx.https),
        )],
        Redirect::to("/login"),
    )
        .into_response())
}
