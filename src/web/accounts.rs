//! Accounts and API tokens (administrators only): add, disable and enable accounts; create
//! and revoke tokens.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::Method;
use axum::routing::{get, post};
use minijinja::context;
use serde_json::json;

use super::auth;
use super::ctx::Ctx;
use super::error::WebError;
use super::params::form;
use super::render::{base, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/accounts", auth::ADMIN, get(accounts))
        .page(Method::POST, "/accounts", auth::ADMIN, post(add_account))
        .page(
            Method::POST,
            "/accounts/{name}/disable",
            auth::ADMIN,
            post(disable_account),
        )
        .page(
            Method::POST,
            "/accounts/{name}/enable",
            auth::ADMIN,
            post(enable_account),
        )
        .page(Method::POST, "/tokens", auth::ADMIN, post(create_token))
        .page(
            Method::POST,
            "/tokens/{id}/revoke",
            auth::ADMIN,
            post(revoke_token),
        )
}

async fn accounts_page(
    state: &AppState,
    ctx: &Ctx,
    message: Option<String>,
    new_token: Option<String>,
) -> PageResult {
    let accounts = crate::access::list_accounts(&state.db)
        .await
        .map_err(WebError::internal)
        .or_page(ctx)?;
    let tokens = crate::access::list_tokens(&state.db)
        .await
        .map_err(WebError::internal)
        .or_page(ctx)?;
    let accounts: Vec<_> = accounts
        .iter()
        .map(|a| json!({"name": a.name, "role": a.role.name(ctx.lang), "disabled": a.disabled, "created_at": crate::dates::local_time(a.created_at)}))
        .collect();
    let tokens: Vec<_> = tokens
        .iter()
        .map(|t| json!({"id": t.id, "account": t.account, "label": t.label, "created_at": crate::dates::local_time(t.created_at), "created_by": t.created_by, "revoked_at": t.revoked_at.map(crate::dates::local_time)}))
        .collect();
    // An admin watches what each account keeps in unconfirmed previews against its quota.
    let previews = crate::db::read::uploads::kept(&state.db)
        .await
        .map_err(WebError::internal)
        .or_page(ctx)?;
    let quota = state.config.preview_quota;
    let roles: Vec<_> = crate::access::Role::ALL
        .iter()
        .map(|r| json!({"code": r.code(), "name": r.name(ctx.lang)}))
        .collect();
    page(
        ctx,
        "accounts.html",
        context! {
            nav => "accounts", accounts => v(accounts), tokens => v(tokens), roles => v(roles), message, new_token,
            previews => v(previews), quota_previews => quota.previews, quota_mb => quota.bytes >> 20, ..base(ctx)
        },
    )
}

async fn accounts(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    accounts_page(&state, &ctx, None, None).await
}

/// An account-page action's outcome: the page again with what happened, or what went wrong.
async fn after(
    state: &AppState,
    ctx: &Ctx,
    r: Result<String, crate::access::AccessError>,
    token: Option<String>,
) -> PageResult {
    match r {
        Ok(msg) => accounts_page(state, ctx, Some(msg), token).await,
        Err(e) => {
            let msg = e.to_string();
            let mut page = accounts_page(state, ctx, Some(msg), None).await?;
            *page.status_mut() = axum::http::StatusCode::BAD_REQUEST;
            Ok(page)
        }
    }
}

async fn add_account(State(state): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let f = form(&body);
    let name = f
        .get("name")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let role = f.get("role").and_then(|r| crate::access::Role::parse(r));
    let r = match role {
        None => Err(crate::access::AccessError::BadName),
        Some(role) => crate::access::add_account(
            &state.db,
            &name,
            role,
            f.get("password").map(String::as_str).unwrap_or(""),
            &ctx.audit_actor(),
        )
        .await
        .map(|_| format!("{} {name}", ctx.lang.pick("已添加账号", "added account"))),
    };
    after(&state, &ctx, r, None).await
}

async fn set_disabled(state: AppState, ctx: Ctx, name: String, disabled: bool) -> PageResult {
    let r = crate::access::set_disabled(&state.db, &name, disabled, &ctx.audit_actor())
        .await
        .map(|_| {
            format!(
                "{name}: {}",
                if disabled {
                    ctx.lang.pick("已停用", "disabled")
                } else {
                    ctx.lang.pick("已启用", "enabled")
                }
            )
        });
    after(&state, &ctx, r, None).await
}

async fn disable_account(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> PageResult {
    set_disabled(state, ctx, name, true).await
}

async fn enable_account(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(name): Path<String>,
) -> PageResult {
    set_disabled(state, ctx, name, false).await
}

async fn create_token(State(state): State<AppState>, ctx: Ctx, body: Bytes) -> PageResult {
    let f = form(&body);
    let account = f
        .get("account")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    let label = f
        .get("label")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    match crate::access::create_token(&state.db, &account, &label, &ctx.audit_actor()).await {
        Ok((id, token)) => {
            let msg = format!("{} {id}", ctx.lang.pick("已创建令牌", "created token"));
            after(&state, &ctx, Ok(msg), Some(token)).await
        }
        Err(e) => after(&state, &ctx, Err(e), None).await,
    }
}

async fn revoke_token(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let r = crate::access::revoke_token(&state.db, id, &ctx.audit_actor())
        .await
        .map(|_| format!("{} {id}", ctx.lang.pick("已撤销令牌", "revoked token")));
    after(&state, &ctx, r, None).await
}
