//! Errors at the HTTP boundary: JSON with a stable code for the API, a readable page for
//! people. Internal causes are logged, never shown. The language is chosen at the boundary,
//! from the request: nothing here picks one.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::Lang;

/// Every code an error answer carries, each with its HTTP status and a message in both
/// languages (used when the error has no more specific one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    BadRequest,
    Unauthorized,
    BadToken,
    Forbidden,
    Csrf,
    NotFound,
    PreviewMismatch,
    FileRefused,
    PreviewQuota,
    TooLarge,
    Busy,
    DatabaseBusy,
    Internal,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 13] = [
        ErrorCode::BadRequest,
        ErrorCode::Unauthorized,
        ErrorCode::BadToken,
        ErrorCode::Forbidden,
        ErrorCode::Csrf,
        ErrorCode::NotFound,
        ErrorCode::PreviewMismatch,
        ErrorCode::FileRefused,
        ErrorCode::PreviewQuota,
        ErrorCode::TooLarge,
        ErrorCode::Busy,
        ErrorCode::DatabaseBusy,
        ErrorCode::Internal,
    ];

    /// Stable, for programs.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadRequest => "bad_request",
            ErrorCode::Unauthorized => "unauthorized",
            ErrorCode::BadToken => "bad_token",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::Csrf => "csrf",
            ErrorCode::NotFound => "not_found",
            ErrorCode::PreviewMismatch => "preview_mismatch",
            ErrorCode::FileRefused => "file_refused",
            ErrorCode::PreviewQuota => "preview_quota",
            ErrorCode::TooLarge => "too_large",
            ErrorCode::Busy => "busy",
            ErrorCode::DatabaseBusy => "database_busy",
            ErrorCode::Internal => "internal",
        }
    }

    pub fn status(self) -> StatusCode {
        match self {
            ErrorCode::BadRequest | ErrorCode::FileRefused => StatusCode::BAD_REQUEST,
            ErrorCode::PreviewQuota => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Unauthorized | ErrorCode::BadToken => StatusCode::UNAUTHORIZED,
            ErrorCode::Forbidden | ErrorCode::Csrf => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::PreviewMismatch => StatusCode::CONFLICT,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::Busy => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::DatabaseBusy => StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message in Chinese and in English.
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            ErrorCode::BadRequest => ("请求有误", "bad request"),
            ErrorCode::Unauthorized => ("请先登录", "please sign in first"),
            ErrorCode::BadToken => (
                "API 令牌无效、已撤销，或其账号已停用",
                "the API token is invalid, revoked, or its account is disabled",
            ),
            ErrorCode::Forbidden => ("您的角色没有这项权限", "your role does not allow this"),
            ErrorCode::Csrf => (
                "表单已过期或来源不明（CSRF 校验失败），请刷新页面后重试",
                "the form has expired or did not come from this site (CSRF check failed); reload the page and try again",
            ),
            ErrorCode::NotFound => ("页面不存在", "page not found"),
            ErrorCode::PreviewMismatch => (
                "确认的文件与预览的文件不一致（SHA-256 不同），没有导入任何内容。请重新预览后再确认。",
                "the files confirmed are not the files previewed (their SHA-256 differ); nothing was imported. Preview again, then confirm.",
            ),
            ErrorCode::FileRefused => (
                "文件无法读取（不是电子表格，或结构异常），没有保存",
                "the file cannot be read (not a spreadsheet, or crafted); it was not kept",
            ),
            ErrorCode::PreviewQuota => (
                "未确认的预览已达上限：请先确认或等待过期后再上传",
                "too many unconfirmed previews: confirm them or let them expire before uploading more",
            ),
            ErrorCode::TooLarge => ("上传的文件太大", "the upload is too large"),
            ErrorCode::Busy => (
                "请求太多：服务器正在为其他访客计算数据，请稍后再试",
                "too many requests: the server is computing figures for other visitors; please try again shortly",
            ),
            ErrorCode::DatabaseBusy => (
                "数据库正在写入一次导入（较大的文件），暂时无法保存；请稍候片刻再试，已有的内容不受影响",
                "the database is busy storing an import (a large file) and cannot save this now; try again in a moment; nothing already stored is affected",
            ),
            ErrorCode::Internal => (
                "服务器内部错误，已记录日志，请稍后再试",
                "internal error; it has been logged, please try again later",
            ),
        }
    }
}

/// What went wrong, in both languages; the boundary picks one.
#[derive(Debug, Clone)]
pub struct WebError {
    pub code: ErrorCode,
    pub zh: String,
    pub en: String,
}

impl From<ErrorCode> for WebError {
    fn from(code: ErrorCode) -> Self {
        let (zh, en) = code.message();
        WebError::new(code, zh, en)
    }
}

impl WebError {
    /// An error with a message more specific than its code's.
    pub fn new(code: ErrorCode, zh: impl Into<String>, en: impl Into<String>) -> Self {
        WebError {
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        self.code.status()
    }

    pub fn not_found(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, zh, en)
    }

    pub fn bad_request(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(ErrorCode::BadRequest, zh, en)
    }

    /// Logs the cause and answers 500 without it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        ErrorCode::Internal.into()
    }

    pub fn too_large(limit_bytes: u64) -> Self {
        let mb = limit_bytes as f64 / 1_048_576.0;
        Self::new(
            ErrorCode::TooLarge,
            format!("上传的文件太大：一次最多 {mb:.0} MB。请拆分文件或联系管理员调整上限。"),
            format!("the upload is too large: at most {mb:.0} MB at a time. Split the file or ask the administrator to raise the limit."),
        )
    }

    pub fn message(&self, lang: Lang) -> &str {
        lang.pick(&self.zh, &self.en)
    }

    pub fn api(self, lang: Lang) -> ApiError {
        ApiError { err: self, lang }
    }
}

impl From<sea_orm::DbErr> for WebError {
    fn from(e: sea_orm::DbErr) -> Self {
        if database_busy(&e) {
            tracing::warn!(error = %e, "a write waited out the busy timeout behind an import");
            return ErrorCode::DatabaseBusy.into();
        }
        WebError::internal(e)
    }
}

/// SQLite's "database is locked" (SQLITE_BUSY, SQLITE_LOCKED and their extended codes): a
/// write that waited its whole busy timeout for another's transaction, which on this
/// ledger is a long import. It is the bureau's timing, not a fault: answered 503 with a
/// retry, never 500.
pub fn database_busy(e: &sea_orm::DbErr) -> bool {
    use sea_orm::{DbErr, RuntimeErr};
    let sqlx = match e {
        DbErr::Exec(RuntimeErr::SqlxError(s))
        | DbErr::Query(RuntimeErr::SqlxError(s))
        | DbErr::Conn(RuntimeErr::SqlxError(s)) => s,
        _ => return false,
    };
    sqlx.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i32>().ok())
        .is_some_and(|c| matches!(c & 0xff, 5 | 6))
}

impl From<axum::http::header::InvalidHeaderValue> for WebError {
    fn from(e: axum::http::header::InvalidHeaderValue) -> Self {
        WebError::internal(e)
    }
}

impl From<serde_json::Error> for WebError {
    fn from(e: serde_json::Error) -> Self {
        WebError::internal(e)
    }
}

/// A [`WebError`] answered as JSON: `{"error": {"code": ..., "message": ...}}`.
#[derive(Debug)]
pub struct ApiError {
    pub err: WebError,
    pub lang: Lang,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs: one of `ErrorCode::ALL` (the document lists them).
    pub code: String,
    /// For people, in the request's language.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.err.code.as_str().to_string(),
                message: self.err.message(self.lang).to_string(),
            },
        };
        let mut resp = (self.err.status(), Json(body)).into_response();
        self.err.code.retry_after(&mut resp);
        resp
    }
}

impl ErrorCode {
    /// An answer told to wait (`database_busy`) says for how long, as a page or in the API.
    pub fn retry_after(self, resp: &mut Response) {
        if self == ErrorCode::DatabaseBusy {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("5"),
            );
        }
    }
}

/// `.or_api(lang)`: any error a JSON handler meets, answered in the reader's language.
pub trait OrApi<T> {
    fn or_api(self, lang: Lang) -> Result<T, ApiError>;
}

impl<T, E: Into<WebError>> OrApi<T> for Result<T, E> {
    fn or_api(self, lang: Lang) -> Result<T, ApiError> {
        self.map_err(|e| e.into().api(lang))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_its_own_name_a_status_and_both_messages() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
        for c in ErrorCode::ALL {
            assert!(c.status().is_client_error() || c.status().is_server_error());
            let (zh, en) = c.message();
            assert!(!zh.is_empty() && !en.is_empty());
        }
    }

    #[test]
    fn the_readme_lists_every_code() {
        let readme = include_str!("../../README.md");
        for c in ErrorCode::ALL {
            assert!(
                readme.contains(&format!("`{}`", c.as_str())),
                "README.md does not list the error code {}",
                c.as_str()
            );
        }
    }
}
