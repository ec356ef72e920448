//! `bbws-tenant-api`: the tenant API as an AWS Lambda function behind API Gateway (REST API and
//! HTTP API proxy integrations).
//!
//! At init it opens the backend named by the environment once; each invocation is served by
//! [`ApiFunction::invoke`]: the router with identity from the authorizer claims, then a drain of
//! the outbox. Logs are JSON on stderr (CloudWatch), filtered by `LOG_LEVEL`.
//!
//! Environment: the backend's ([`BackendConfig::from_env`]: `BBWS_BACKEND` `memory`, `embedded`
//! or `dynamodb`, `ENVIRONMENT`, `DYNAMODB_TABLE`, `EVENT_BUS_NAME`, `AWS_ENDPOINT_URL`), with
//! `BBWS_DATA_DIR` defaulting to `/tmp/bbws-data`; `LOG_LEVEL` (default `info`).

use std::convert::Infallible;

use bbws_aws::{Backend, BackendConfig, BackendKind};
use bbws_core::Error;
use bbws_lambda::apigw::ApiFunction;
use lambda_http::lambda_runtime::{self, LambdaEvent, service_fn};
use serde_json::Value;

/// Where the embedded store lives when `BBWS_DATA_DIR` is not set: `/tmp` is the only writable
/// directory in Lambda.
const DEFAULT_DATA_DIR: &str = "/tmp/bbws-data";

/// The backend the environment names ([`BackendConfig::from_env`]: `BBWS_BACKEND`, `ENVIRONMENT`,
/// `DYNAMODB_TABLE`, `EVENT_BUS_NAME`, `AWS_ENDPOINT_URL`, `BBWS_DATA_DIR`), with the data
/// directory defaulting to `/tmp/bbws-data`.
fn backend_config_from_env() -> Result<BackendConfig, Error> {
    backend_config(|name| std::env::var(name).ok())
}

fn backend_config(var: impl Fn(&str) -> Option<String>) -> Result<BackendConfig, Error> {
    let mut config = BackendConfig::from_env(&var)?;
    if var("BBWS_DATA_DIR").is_none_or(|v| v.trim().is_empty()) {
        config.data_dir = DEFAULT_DATA_DIR.into();
    }
    Ok(config)
}

fn init_logging() {
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

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    init_logging();
    let config = backend_config_from_env()?;
    if matches!(config.kind, BackendKind::Memory | BackendKind::Embedded) {
        // The embedded store and the local event log live in the data directory.
        std::fs::create_dir_all(&config.data_dir).map_err(|e| {
            Error::Storage(format!("cannot create {}: {e}", config.data_dir.display()))
        })?;
    }
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
    // The runtime runs each invocation in a span carrying its Lambda request id.
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| {
        let function = &function;
        async move { Ok::<Value, Infallible>(function.invoke(event.payload).await) }
    }))
    .await
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_embedded_store_lives_in_tmp_unless_told_otherwise() {
        let c = backend_config(env(&[])).expect("valid");
        assert_eq!(c.kind, BackendKind::Embedded);
        assert_eq!(c.data_dir, Path::new("/tmp/bbws-data"));

        let c = backend_config(env(&[
            ("BBWS_BACKEND", "memory"),
            ("BBWS_DATA_DIR", "/x/y"),
        ]))
        .expect("valid");
        assert_eq!(c.kind, BackendKind::Memory);
        assert_eq!(c.data_dir, Path::new("/x/y"));

        let c = backend_config(env(&[("DYNAMODB_TABLE", "t1")])).expect("valid");
        assert_eq!(c.kind, BackendKind::DynamoDb);
        assert_eq!(c.table, "t1");

        assert!(backend_config(env(&[("BBWS_BACKEND", "sqlite")])).is_err());
    }
}
