//! bbws-lambda: the HTTP API of bbws (axum router, DTOs, HATEOAS links, error envelope, OpenAPI)
//! and, later, the Lambda event handlers. The same router is served by `bbws serve` locally and by
//! `lambda_http` in AWS Lambda.

pub mod api;

pub use api::{AppState, router};
