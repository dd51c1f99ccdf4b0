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
