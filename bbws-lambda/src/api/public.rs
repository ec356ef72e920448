//! Unauthenticated endpoints: health and the OpenAPI document.

use axum::Json;
use axum::response::IntoResponse;
use utoipa::OpenApi as _;

use super::dto::HealthResponse;
use super::openapi::ApiDoc;

/// Liveness: the process serves requests.
#[utoipa::path(get, path = "/v1.0/health", tag = "meta", responses((status = 200, description = "Alive", body = HealthResponse)))]
pub async fn health() -> impl IntoResponse {
    Json(HealthResponse {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/v1.0/openapi.json", tag = "meta", responses((status = 200, description = "The OpenAPI document", content_type = "application/json", body = Object)))]
pub async fn openapi_json() -> impl IntoResponse {
    Json(ApiDoc::openapi())
}
