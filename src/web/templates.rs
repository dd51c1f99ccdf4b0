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
    "budget.html",
    "imports.html",
    "api.html",
    "error.html",
    "login.html",
    "audit.html",
    "accounts.html",
    "providers.html",
    "provider.html",
    "evaluations.html",
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles() {
        for (name, _) in TEMPLATES {
            ENV.get_template(name).unwrap();
        }
    }
}
