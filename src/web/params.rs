//! Query parameters as the pages and the API take them, parsed into checked values: dates,
//! categories, contract states, report requests, pages. A bad value is a 400 naming the
//! parameter.

use chrono::NaiveDate;
use clap::ValueEnum;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::WebError;
use crate::contracts::state::ContractState;
use crate::contracts::Category;
use crate::db::read::contracts::ListQuery;
use crate::reports::writers::OutputFormat;
use crate::reports::{self, Dim, ReportName, Scope};
use crate::Lang;

/// An `as_of` parameter: any date form the registers use; today when absent.
pub fn parse_as_of(raw: Option<&str>, today: NaiveDate) -> Result<NaiveDate, WebError> {
    parse_opt_date("as_of", raw).map(|d| d.unwrap_or(today))
}

pub fn parse_opt_date(field: &str, raw: Option<&str>) -> Result<Option<NaiveDate>, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => crate::dates::parse_date(s).map(Some).ok_or_else(|| {
            WebError::bad_request(
                format!("{field} 不是日期：“{s}”（例如 2019-06-30）"),
                format!("{field} is not a date: '{s}' (e.g. 2019-06-30)"),
            )
        }),
    }
}

/// A parameter's text, trimmed; none when blank.
pub fn text(s: &Option<String>) -> Option<String> {
    s.as_ref()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// A category parameter: code, Chinese or English name.
pub fn parse_category(raw: Option<&str>) -> Result<Option<Category>, WebError> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(c) => Category::parse(c).map(Some).ok_or_else(|| {
            WebError::bad_request(
                format!("未知的服务类别“{c}”：可选 {}", Category::expected()),
                format!("unknown category '{c}': use elderly, youth, disability, relief or other"),
            )
        }),
    }
}

/// The parameters every report takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReportParams {
    /// The date the figures are for (default today, China Standard Time).
    pub as_of: Option<String>,
    /// Count payments, service periods and changes from this date.
    pub from: Option<String>,
    /// What the report would have said on this day: only what had been imported by then.
    pub as_recorded: Option<String>,
    /// Group by, comma-separated: category, provider, street, community, purchaser, funding, method, month, quarter, year.
    pub by: Option<String>,
    /// Only this category (code, Chinese or English name).
    pub category: Option<String>,
    /// Only this sub-district (街道).
    pub street: Option<String>,
    /// Only this provider (name or USCC).
    pub provider: Option<String>,
    /// json (default for the API), csv or xlsx.
    pub format: Option<String>,
    /// zh (default) or en: labels and messages.
    pub lang: Option<String>,
}

impl ReportParams {
    /// The report request these parameters ask for.
    pub fn request(&self, name: ReportName, lang: Lang) -> Result<reports::Request, WebError> {
        let category = parse_category(self.category.as_deref())?;
        let mut by = Vec::new();
        for part in self
            .by
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            by.push(Dim::from_str(part, true).map_err(|_| {
                WebError::bad_request(
                    format!("不能按“{part}”分组：可选 category、provider、street、community、purchaser、funding、method、month、quarter、year"),
                    format!("cannot group by '{part}': use category, provider, street, community, purchaser, funding, method, month, quarter or year"),
                )
            })?);
        }
        Ok(reports::Request {
            name,
            scope: Scope {
                as_of: parse_as_of(self.as_of.as_deref(), crate::dates::today())?,
                from: parse_opt_date("from", self.from.as_deref())?,
                as_recorded: parse_opt_date("as_recorded", self.as_recorded.as_deref())?,
                category,
                street: text(&self.street),
                provider: text(&self.provider),
            },
            by,
            lang,
            evaluations: crate::evaluations::Settings::current(),
        })
    }

    pub fn format(&self, default: OutputFormat) -> Result<OutputFormat, WebError> {
        match self
            .format
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => Ok(default),
            Some(f) => match OutputFormat::from_str(f, true) {
                Ok(OutputFormat::Table) | Err(_) => Err(WebError::bad_request(
                    format!("不支持的格式“{f}”：可选 csv、xlsx、json"),
                    format!("unsupported format '{f}': use csv, xlsx or json"),
                )),
                Ok(ok) => Ok(ok),
            },
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AsOf {
    /// The date the figures are for (default today, China Standard Time).
    pub as_of: Option<String>,
    /// zh (default) or en.
    // Listed for the OpenAPI document; the request's language is read by `Ctx`.
    #[allow(dead_code)]
    pub lang: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// 1-based page number.
    pub page: Option<u64>,
    /// Rows a page (default 50, at most 500).
    pub per_page: Option<u64>,
}

/// Filters of the contract list; every one optional.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContractFilter {
    /// Words in the code, title or provider name.
    pub q: Option<String>,
    /// Category code or name (elderly, youth, disability, relief, other; or 老年服务 ...).
    pub category: Option<String>,
    /// Sub-district (街道), exactly.
    pub street: Option<String>,
    /// Provider name (part of it) or USCC.
    pub provider: Option<String>,
    /// not_started, running, ended or unpaid (ended with a balance unpaid), on `as_of`.
    pub state: Option<String>,
    /// The date states and payments are taken on (default today).
    pub as_of: Option<String>,
    /// 1-based page number.
    pub page: Option<u64>,
    /// Contracts a page (default 50, at most 500).
    pub per_page: Option<u64>,
}

/// Parses the filter; an unknown category, state or date is an error naming the field.
pub fn parse_filter(f: &ContractFilter, today: NaiveDate) -> Result<ListQuery, WebError> {
    let blank = text;
    let category = parse_category(f.category.as_deref())?;
    let state = match blank(&f.state) {
        None => None,
        Some(s) => Some(
            ContractState::ALL
                .iter()
                .copied()
                .find(|k| k.code() == s)
                .ok_or_else(|| {
                    WebError::bad_request(
                        format!("未知的状态“{s}”：可选 not_started、running、ended、unpaid"),
                        format!("unknown state '{s}': use not_started, running, ended or unpaid"),
                    )
                })?,
        ),
    };
    Ok(ListQuery {
        q: blank(&f.q),
        category,
        street: blank(&f.street),
        provider: blank(&f.provider),
        state,
        as_of: parse_as_of(f.as_of.as_deref(), today)?,
        page: f.page.unwrap_or(1).max(1),
        per_page: f.per_page.unwrap_or(50).clamp(1, 500),
    })
}

/// The fields of a urlencoded form.
pub fn form(body: &[u8]) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(body).into_owned().collect()
}
