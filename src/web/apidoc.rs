//! The API document: `/api/openapi.json` (OpenAPI 3, made from the routes' declarations),
//! `/api`, the same document rendered for people, and `/api/v1/ping`.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use minijinja::context;
use utoipa::OpenApi;
use utoipa_axum::routes;

use super::auth;
use super::ctx::Ctx;
use super::render::{base, json_bytes, page, v, OrPage, PageResult};
use super::routes::Routes;
use super::state::AppState;

pub fn router() -> Routes {
    Routes::new()
        .page(Method::GET, "/api", auth::SIGNED_IN, get(api_docs))
        .page(
            Method::GET,
            "/api/openapi.json",
            auth::SIGNED_IN,
            get(openapi_json),
        )
        .api(auth::OPEN, routes!(ping))
}

/// A constant answer: the floor the summary's speed is measured against.
#[utoipa::path(get, path = "/api/v1/ping", responses((status = 200, description = "Always {\"status\":\"ok\"}")))]
async fn ping() -> Response {
    json_bytes(Bytes::from_static(b"{\"status\":\"ok\"}"))
}

/// The document's frame; its paths and schemas come from the routes declared with it.
#[derive(OpenApi)]
#[openapi(
    modifiers(&BearerAuth),
    security(("bearer" = [])),
    info(
        title = "procure API",
        description = "The ledger of services a district buys from social organisations: figures as of any date, contracts with every payment and service report, import batches, uploads (preview, then confirm) and report downloads. Amounts are decimal strings in yuan, exact to the fen. Errors are {\"error\": {\"code\", \"message\"}}; add ?lang=en for English messages and labels."
    ),
    components(schemas(super::error::ErrorBody))
)]
pub struct ApiDoc;

/// Scripts sign in with an API token (`procure token create ACCOUNT`): `Authorization: Bearer prc_...`.
struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

async fn openapi_json(State(state): State<AppState>) -> impl IntoResponse {
    Json((*state.openapi).clone())
}

async fn api_docs(State(state): State<AppState>, ctx: Ctx) -> PageResult {
    let doc = serde_json::to_value(&*state.openapi).or_page(&ctx)?;
    page(
        &ctx,
        "api.html",
        context! { nav => "api", doc => v(doc), ..base(&ctx) },
    )
}

/// Gives every response the `description` OpenAPI requires (3.1, Response Object), where its
/// declaration has none: the error answers all have the same body, `ErrorBody`, and say what
/// went wrong in its code, so a phrase per status is what a client generator needs.
///
/// It also lists every error code an answer can carry in the error body's `code`, from
/// [`ErrorCode::ALL`](super::error::ErrorCode::ALL), so the document cannot fall behind the enum.
pub fn described(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::openapi::{RefOr, Schema};
    if let Some(components) = doc.components.as_mut() {
        if let Some(RefOr::T(Schema::Object(detail))) = components.schemas.get_mut("ErrorDetail") {
            if let Some(RefOr::T(Schema::Object(code))) = detail.properties.get_mut("code") {
                code.enum_values = Some(
                    super::error::ErrorCode::ALL
                        .iter()
                        .map(|c| c.as_str().into())
                        .collect(),
                );
            }
        }
    }
    for item in doc.paths.paths.values_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
        ];
        for op in ops.into_iter().flatten() {
            for (status, response) in op.responses.responses.iter_mut() {
                if let RefOr::T(r) = response {
                    if r.description.trim().is_empty() {
                        r.description = phrase(status).to_string();
                    }
                }
            }
        }
    }
    doc
}

fn phrase(status: &str) -> &'static str {
    match status {
        "200" => "OK",
        "201" => "Created",
        "400" => "Bad request: the error's code and message say which parameter or part (bad_request, file_refused)",
        "401" => "Not signed in, or the API token is invalid or revoked (unauthorized, bad_token)",
        "403" => "The account's role may not do this, or the CSRF check failed (forbidden, csrf)",
        "404" => "No such thing (not_found)",
        "409" => "Conflict with what is stored (preview_mismatch)",
        "413" => "The upload is larger than the server accepts (too_large)",
        "429" => "Too many requests for now; see Retry-After (busy, preview_quota)",
        "503" => "The database is busy storing an import; see Retry-After (database_busy)",
        _ => "See the error's code and message",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_response_has_a_description_and_every_error_code_is_listed() {
        let config = crate::web::state::WebConfig::default();
        let (_, doc, _) = crate::web::routes(&config).split(ApiDoc::openapi());
        let doc = serde_json::to_value(described(doc)).unwrap();
        let mut seen = 0;
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let Some(responses) = op.get("responses").and_then(|r| r.as_object()) else {
                    continue;
                };
                for (status, r) in responses {
                    seen += 1;
                    let d = r["description"].as_str().unwrap_or("");
                    assert!(
                        !d.trim().is_empty(),
                        "{method} {path} {status} has no description"
                    );
                }
            }
        }
        assert!(seen > 20, "{seen} responses");
        let codes = &doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"];
        for c in crate::web::error::ErrorCode::ALL {
            assert!(
                codes.as_array().unwrap().iter().any(|v| v == c.as_str()),
                "error code {} is not in the document",
                c.as_str()
            );
        }
    }
}
