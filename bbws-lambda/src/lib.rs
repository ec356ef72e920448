//! bbws-lambda: the HTTP API of bbws (axum router, DTOs, HATEOAS links, error envelope, OpenAPI)
//! and its API Gateway adapter ([`apigw`]). The same router is served by `bbws serve` locally and
//! by the `bbws-tenant-api` Lambda binary behind API Gateway. [`worker`] is the instance worker
//! Lambda's handler: SQS records in, operations run, partial batch failures out. [`ecs_events`]
//! is the ECS event handler Lambda's: EventBridge ECS events applied to instance states.
//! [`instance_audit`] is the scheduled audit Lambda's: orphans, untracked databases and drift of
//! an environment, logged and returned as JSON.

pub mod api;
pub mod apigw;
pub mod ecs_events;
pub mod instance_audit;
pub mod worker;

pub use api::{AppState, router};

/// The Lambda binaries' logging: JSON lines on stderr (CloudWatch) with the current span (the
/// runtime's, carrying the Lambda request id), filtered by `LOG_LEVEL` (default `info`).
pub fn init_lambda_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("LOG_LEVEL")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(true)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
