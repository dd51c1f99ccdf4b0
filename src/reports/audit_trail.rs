//! The audit trail as a report.

use chrono::NaiveDate;

use super::{Column, Report, Val};
use crate::audit::Entry;
use crate::Lang;

/// The trail as a report, so it is exported by the same writers (CSV with BOM and formula
/// defusing, XLSX) as every other report.
pub fn report(entries: &[Entry], from: Option<NaiveDate>, to: NaiveDate, lang: Lang) -> Report {
    Report {
        name: "audit",
        title_zh: "审计日志".into(),
        title_en: "Audit trail".into(),
        as_of: to,
        from,
        as_recorded: None,
        statement: None,
        columns: vec![
            Column::new("id", "序号", "No."),
            Column::new("at", "时间", "Time"),
            Column::new("actor", "操作人", "Who"),
            Column::new("address", "来源地址", "Address"),
            Column::new("action", "操作", "Action"),
            Column::new("target", "对象", "Target"),
            Column::new("detail", "内容", "Detail"),
        ],
        rows: entries.iter().map(row).collect(),
        total: None,
        lang,
    }
}

/// One entry as a row of the report.
pub fn row(e: &Entry) -> Vec<Val> {
    vec![
        Val::Int(e.id),
        Val::text(&e.at),
        Val::text(&e.actor),
        Val::text(e.address.clone().unwrap_or_default()),
        Val::text(&e.action),
        Val::text(&e.target),
        Val::text(&e.detail),
    ]
}
