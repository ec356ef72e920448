//! The HTTP API: one axum router for every tenant endpoint under `/v1.0`.
//!
//! Layers, outermost first: request id (set, then echoed on the response), tracing (a span with the
//! request id, action and tenant id), the error envelope renderer, the completion log line, panic
//! catching, the body-size limit. Authentication is an extractor
//! ([`extract::Caller`]) so public routes stay public and every other route refuses without it.

pub mod auth;
pub mod dto;
pub mod error;
pub mod extract;
pub mod logging;
pub mod openapi;
pub mod public;
pub mod tenants;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{HeaderName, Request};
use axum::routing::{get, post};
use bbws_core::tenant::TenantService;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use self::auth::Authenticator;

/// The largest request body accepted (tenant bodies are a few hundred bytes; metadata is small).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What handlers share.
#[derive(Debug, Clone)]
pub struct AppState {
    pub tenants: TenantService,
    pub auth: Arc<dyn Authenticator>,
}

impl FromRef<AppState> for Arc<dyn Authenticator> {
    fn from_ref(s: &AppState) -> Self {
        s.auth.clone()
    }
}

/// The whole API.
pub fn router(state: AppState) -> Router {
    let request_id = HeaderName::from_static(error::REQUEST_ID);
    let tenant = "/v1.0/tenants/{tenantId}";
    Router::new()
        .route("/v1.0/health", get(public::health))
        .route("/v1.0/openapi.json", get(public::openapi_json))
        .route(
            "/v1.0/tenants",
            post(tenants::create_tenant).get(tenants::list_tenants),
        )
        .route(
            tenant,
            get(tenants::get_tenant)
                .put(tenants::update_tenant)
                .delete(tenants::delete_tenant),
        )
        .route(
            &format!("{tenant}/status"),
            axum::routing::patch(tenants::set_status),
        )
        .route(&format!("{tenant}/lifecycle"), get(tenants::get_lifecycle))
        .route(
            &format!("{tenant}/lifecycle/park"),
            post(tenants::park_tenant),
        )
        .route(
            &format!("{tenant}/lifecycle/unpark"),
            post(tenants::unpark_tenant),
        )
        .route(
            &format!("{tenant}/lifecycle/suspend"),
            post(tenants::suspend_tenant),
        )
        .route(
            &format!("{tenant}/lifecycle/resume"),
            post(tenants::resume_tenant),
        )
        .route(&format!("{tenant}/park"), post(tenants::park_tenant))
        .route(&format!("{tenant}/unpark"), post(tenants::unpark_tenant))
        .route(&format!("{tenant}/audit"), get(tenants::list_audit))
        .fallback(error::not_found)
        .method_not_allowed_fallback(error::method_not_allowed)
        .with_state(state)
        .layer(
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(request_id.clone(), MakeRequestUuid))
                .layer(PropagateRequestIdLayer::new(request_id))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request<_>| logging::request_span(req)),
                )
                .layer(axum::middleware::from_fn(error::render_errors))
                .layer(axum::middleware::from_fn(logging::log_completion))
                .layer(CatchPanicLayer::custom(error::panic_response))
                .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
        )
}
