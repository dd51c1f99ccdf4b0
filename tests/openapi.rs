//! The API document the server serves is valid OpenAPI 3.1: it passes the OpenAPI
//! Initiative's schema for 3.1 documents, every response of every operation has its
//! description, and every error code an answer can carry is listed.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use procure::web::router;
use procure::web::state::{AppState, WebConfig};
use tower::ServiceExt;

async fn served_document() -> serde_json::Value {
    let t = common::sqlite().await;
    let token = t.api_token("ada", procure::access::Role::Auditor).await;
    let resp = router(AppState::new(t.db.clone(), WebConfig::default()))
        .oneshot(
            Request::get("/api/openapi.json")
                .header(header::AUTHORIZATION, format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    serde_json::from_slice(&body).unwrap()
}

fn oas_3_1_schema() -> serde_json::Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/openapi-3.1-schema-2022-10-07.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn the_served_api_document_is_valid_openapi_3_1() {
    let doc = served_document().await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    let validator =
        jsonschema::validator_for(&oas_3_1_schema()).expect("the OAS 3.1 schema compiles");
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[tokio::test]
async fn the_schema_check_refuses_a_response_without_a_description() {
    // The check can fail: the same document with one description removed is refused.
    let mut doc = served_document().await;
    let responses = doc["paths"]["/api/v1/summary"]["get"]["responses"]
        .as_object_mut()
        .unwrap();
    let (_, first) = responses.iter_mut().next().unwrap();
    first.as_object_mut().unwrap().remove("description");
    let validator = jsonschema::validator_for(&oas_3_1_schema()).unwrap();
    assert!(!validator.is_valid(&doc));
}

#[tokio::test]
async fn every_error_code_is_listed_and_every_response_described() {
    let doc = served_document().await;
    let codes = doc["components"]["schemas"]["ErrorDetail"]["properties"]["code"]["enum"]
        .as_array()
        .unwrap()
        .clone();
    for c in procure::web::error::ErrorCode::ALL {
        assert!(
            codes.iter().any(|v| v == c.as_str()),
            "{} is not listed",
            c.as_str()
        );
    }
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            for (status, r) in op["responses"].as_object().into_iter().flatten() {
                let d = r["description"].as_str().unwrap_or("");
                assert!(!d.trim().is_empty(), "{method} {path} {status}");
            }
        }
    }
}
