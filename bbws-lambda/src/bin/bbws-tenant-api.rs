//! `bbws-tenant-api`: the tenant API as an AWS Lambda function behind API Gateway (REST API and
//! HTTP API proxy integrations).
//!
//! At init it opens the backend named by the environment once; each invocation is served by
//! [`ApiFunction::invoke`]: the router with identity from the authorizer claims, then a drain of
//! the outbox. Logs are JSON on stderr (CloudWatch), filtered by `LOG_LEVEL`.
//!
//! Environment: the backend's ([`lambda_backend_config`]: `BBWS_BACKEND` `memory`, `embedded`
//! or `dynamodb`, `ENVIRONMENT`, `DYNAMODB_TABLE`, `EVENT_BUS_NAME`, `AWS_ENDPOINT_URL`), with
//! `BBWS_DATA_DIR` defaulting to `/tmp/bbws-data`; `LOG_LEVEL` (default `info`).

use std::convert::Infallible;

use bbws_aws::{Backend, BackendKind};
use bbws_lambda::apigw::{ApiFunction, lambda_backend_config};
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    bbws_lambda::init_lambda_logging();
    let config = lambda_backend_config(|name| std::env::var(name).ok())?;
    // Opened once per execution environment: the store (or the SDK clients) serve every event.
    let backend = Backend::open(&config).await?;
    match config.kind {
        BackendKind::DynamoDb => tracing::info!(
            backend = config.kind.as_str(),
            table = %config.table,
            event_bus = %config.event_bus,
            "bbws-tenant-api initialised"
        ),
        BackendKind::Memory | BackendKind::Embedded => tracing::info!(
            backend = config.kind.as_str(),
            data_dir = %config.data_dir.display(),
            "bbws-tenant-api initialised"
        ),
    }
    let function = ApiFunction::new(&backend);
    // The runtime runs each invocation in a span carrying its Lambda request id. The payload is
    // taken as raw JSON text and read once, straight into the API Gateway request.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Box<RawValue>>| {
        let function = &function;
        async move { Ok::<Value, Infallible>(function.invoke_text(event.payload.get()).await) }
    }))
    .await
}
