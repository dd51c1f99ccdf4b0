//! 下载台账: the register as recorded, in the import template's layout, from the reports
//! page (`crate::reports::register`): a workbook, or its csv files in one zip.

use std::io::Write;

use axum::extract::{Query, State};
use axum::http::{header, HeaderValue, Method};
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Deserialize;

use super::auth;
use super::ctx::Ctx;
use super::error::WebError;
use super::params::parse_opt_date;
use super::render::{OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;
use crate::reports::register::{self, RegisterFormat};

pub fn router() -> Routes {
    Routes::new().page(
        Method::GET,
        "/reports/register",
        auth::READERS_ONLY,
        get(register_download),
    )
}

#[derive(Debug, Deserialize)]
pub struct RegisterQuery {
    /// Only what had happened by this date (everything when absent).
    as_of: Option<String>,
    /// `xlsx` (default) or `csv` (a zip of one csv per sheet).
    format: Option<String>,
}

fn parse_format(raw: Option<&str>) -> Result<RegisterFormat, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None | Some("xlsx") => Ok(RegisterFormat::Xlsx),
        Some("csv") => Ok(RegisterFormat::Csv),
        Some(other) => Err(WebError::bad_request(
            format!("format 只能是 xlsx 或 csv：“{other}”"),
            format!("format must be xlsx or csv: '{other}'"),
        )),
    }
}

async fn register_download(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<RegisterQuery>,
) -> PageResult {
    let as_of = parse_opt_date("as_of", q.as_of.as_deref()).or_page(&ctx)?;
    let format = parse_format(q.format.as_deref()).or_page(&ctx)?;
    let reg = register::load(&state.db, as_of).await.or_page(&ctx)?;
    let stem = match as_of {
        Some(d) => format!("register-{d}"),
        None => "register".to_string(),
    };
    let (bytes, mime, file) = match format {
        RegisterFormat::Xlsx => (
            register::xlsx(&reg, as_of)
                .map_err(WebError::internal)
                .or_page(&ctx)?,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            format!("{stem}.xlsx"),
        ),
        RegisterFormat::Csv => (
            zip_csvs(&reg).map_err(WebError::internal).or_page(&ctx)?,
            "application/zip",
            format!("{stem}-csv.zip"),
        ),
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file}\""))
        .map_err(WebError::from)
        .or_page(&ctx)?;
    Ok((
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(mime)),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}

/// The csv files in one zip, in the order to import them.
fn zip_csvs(reg: &register::Register) -> anyhow::Result<Vec<u8>> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in register::csvs(reg)? {
        zip.start_file(name, options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}
