//! bbws-lambda: the HTTP API of bbws (axum router, DTOs, HATEOAS links, error envelope, OpenAPI)
//! and its API Gateway adapter ([`apigw`]). The same router is served by `bbws serve` locally and
//! by the `bbws-tenant-api` Lambda binary behind API Gateway.

pub mod api;
pub mod apigw;

pub use api::{AppState, router};
