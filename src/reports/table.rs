//! The shape every report takes before a writer sees it: named columns, typed values, rows
//! and a total row that is the exact sum of the rows.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::Money;
use crate::Lang;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Val {
    Text(String),
    Money(Money),
    Int(i64),
    /// A percentage with two decimals, or none when undefined (division by zero).
    Pct(Option<Decimal>),
    Date(Option<NaiveDate>),
    Empty,
}

impl Val {
    pub fn text(s: impl Into<String>) -> Val {
        Val::Text(s.into())
    }

    /// The value as CSV and the terminal show it.
    pub fn plain(&self) -> String {
        match self {
            Val::Text(s) => s.clone(),
            Val::Money(m) => m.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Pct(Some(p)) => format!("{p:.2}"),
            Val::Pct(None) | Val::Date(None) | Val::Empty => String::new(),
            Val::Date(Some(d)) => d.to_string(),
        }
    }

    pub fn is_numeric(&self) -> bool {
        matches!(self, Val::Money(_) | Val::Int(_) | Val::Pct(_))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub key: &'static str,
    #[serde(skip)]
    pub zh: &'static str,
    #[serde(skip)]
    pub en: &'static str,
}

impl Column {
    pub fn new(key: &'static str, zh: &'static str, en: &'static str) -> Column {
        Column { key, zh, en }
    }

    pub fn label(&self, lang: Lang) -> &'static str {
        lang.pick(self.zh, self.en)
    }
}

/// A finished report.
#[derive(Debug, Clone)]
pub struct Report {
    /// summary, spend, beneficiaries, contracts, exceptions, history
    pub name: &'static str,
    pub title_zh: String,
    pub title_en: String,
    pub as_of: NaiveDate,
    pub from: Option<NaiveDate>,
    pub as_recorded: Option<NaiveDate>,
    /// The sentence a bureau writes upward (summary only).
    pub statement: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Val>>,
    pub total: Option<Vec<Val>>,
    pub lang: Lang,
}

impl Report {
    pub fn title(&self) -> &str {
        match self.lang {
            Lang::Zh => &self.title_zh,
            Lang::En => &self.title_en,
        }
    }

    /// One line with the dates the report is for.
    pub fn dates_line(&self) -> String {
        let recorded = self.as_recorded.map(|d| d.to_string());
        match self.lang {
            Lang::Zh => {
                let mut s = format!("截至 {}", self.as_of);
                if let Some(f) = self.from {
                    s = format!("{f} 至 {}", self.as_of);
                }
                if let Some(r) = recorded {
                    s.push_str(&format!("；按 {r} 已导入的记录"));
                }
                s
            }
            Lang::En => {
                let mut s = format!("as of {}", self.as_of);
                if let Some(f) = self.from {
                    s = format!("from {f} to {}", self.as_of);
                }
                if let Some(r) = recorded {
                    s.push_str(&format!("; as recorded on {r}"));
                }
                s
            }
        }
    }
}
