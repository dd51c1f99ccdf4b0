//! Server-rendered pages (minijinja; the templates are compiled into the binary). Every page
//! is Chinese by default; `t("中文", "English")` in a template picks by the reader's language.

use std::sync::LazyLock;

use axum::response::Html;
use minijinja::{Environment, State, Value};

use super::error::WebError;

macro_rules! templates {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("templates/", $name)))),*]
    };
}

const TEMPLATES: &[(&str, &str)] = templates!(
    "base.html",
    "macros.html",
    "dashboard.html",
    "contracts.html",
    "contract.html",
    "upload.html",
    "preview.html",
    "reports.html",
    "imports.html",
    "api.html",
    "error.html",
    "login.html",
    "audit.html",
    "accounts.html",
);

static ENV: LazyLock<Environment<'static>> = LazyLock::new(|| {
    let mut env = Environment::new();
    for (name, source) in TEMPLATES {
        // A broken template is a build mistake; tests render every page.
        env.add_template(name, source)
            .unwrap_or_else(|e| panic!("template {name}: {e}"));
    }
    env.add_function("t", |state: &State, zh: String, en: String| -> String {
        let en_page = state
            .lookup("lang")
            .map(|v| v.as_str() == Some("en"))
            .unwrap_or(false);
        if en_page {
            en
        } else {
            zh
        }
    });
    env
});

/// Renders a page; the context must hold `lang` ("zh" or "en").
pub fn render(name: &str, ctx: Value) -> Result<Html<String>, WebError> {
    let tmpl = ENV.get_template(name).map_err(WebError::internal)?;
    tmpl.render(ctx).map(Html).map_err(WebError::internal)
}

/// `14532700.00` as `14,532,700.00`; `51236` as `51,236`.
pub fn group_digits(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    out.push_str(sign);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            ENV.get_template(name).unwrap();
        }
    }

    #[test]
    fn digits_are_grouped_by_thousands_and_the_fen_kept() {
        assert_eq!(group_digits("14532700.00"), "14,532,700.00");
        assert_eq!(group_digits("-1000.50"), "-1,000.50");
        assert_eq!(group_digits("51236"), "51,236");
        assert_eq!(group_digits("999"), "999");
        assert_eq!(group_digits("0.00"), "0.00");
    }
}
