//! Errors at the HTTP boundary: JSON with a stable code for the API, a readable page for
//! people. Internal causes are logged, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;

use crate::Lang;

/// What went wrong, in both languages; the boundary picks one.
#[derive(Debug, Clone)]
pub struct WebError {
    pub status: StatusCode,
    /// Stable, for programs: `not_found`, `bad_request`, `too_large`, ...
    pub code: &'static str,
    pub zh: String,
    pub en: String,
}

impl WebError {
    pub fn new(
        status: StatusCode,
        code: &'static str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        WebError {
            status,
            code,
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub fn not_found(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", zh, en)
    }

    pub fn bad_request(zh: impl Into<String>, en: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", zh, en)
    }

    /// Logs the cause and answers 500 without it.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "服务器内部错误，已记录日志，请稍后再试",
            "internal error; it has been logged, please try again later",
        )
    }

    pub fn too_large(limit_bytes: u64) -> Self {
        let mb = limit_bytes as f64 / 1_048_576.0;
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
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
    /// Stable: not_found, bad_request, too_large, conflict, internal ...
    pub code: String,
    /// For people, in the request's language.
    pub message: String,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.err.code.to_string(),
                message: self.err.message(self.lang).to_string(),
            },
        };
        (self.err.status, Json(body)).into_response()
    }
}

impl From<sea_orm::DbErr> for ApiError {
    fn from(e: sea_orm::DbErr) -> Self {
        WebError::from(e).api(Lang::Zh)
    }
}
