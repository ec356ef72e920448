//! Building the AWS SDK configuration and clients, once per process.
//!
//! - HTTPS: the SDK's hyper-1 client with rustls on `ring` (plain `http://` works too, for local
//!   endpoints such as moto).
//! - Region: `AWS_REGION` / `AWS_DEFAULT_REGION` (always set on Lambda and ECS), else the
//!   profile's, else `af-south-1` (the platform's home region). The instance-metadata lookup of
//!   the SDK's default chain is left out: off EC2 it only adds a connect timeout to every start.
//! - Credentials: the SDK's default chain (environment, profile, web identity, ECS, IMDS).
//! - Retries (LLD §11.3): the SDK's standard strategy — throttling and transient errors (5xx,
//!   timeouts, connection failures) retried with exponential backoff and jitter — with 3 retries
//!   (4 attempts) from a base of 100 ms for DynamoDB and 200 ms for EventBridge.

use std::time::Duration;

use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::profile::ProfileFileRegionProvider;
use aws_config::retry::RetryConfig;
use aws_config::{BehaviorVersion, ConfigLoader, Region, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};

/// The region used when nothing else names one.
pub const DEFAULT_REGION: &str = "af-south-1";

/// Attempts per request, including the first (LLD §11.3: 3 retries).
pub const MAX_ATTEMPTS: u32 = 4;

/// The first backoff of DynamoDB retries (LLD §11.3).
pub const DYNAMODB_BACKOFF: Duration = Duration::from_millis(100);

/// The first backoff of EventBridge retries (LLD §11.3, digest §7.1).
pub const EVENTBRIDGE_BACKOFF: Duration = Duration::from_millis(200);

/// The HTTPS client every SDK client of this process shares.
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// A config loader with our HTTP client, region fallback and, when given, an endpoint override
/// (`AWS_ENDPOINT_URL` / `--endpoint-url`, e.g. a local moto server). Callers may add more (tests
/// set static credentials here) before `load()`.
pub fn loader(endpoint_url: Option<&str>) -> ConfigLoader {
    let region = RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
        .or_else(ProfileFileRegionProvider::new())
        .or_else(Region::new(DEFAULT_REGION));
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(https_client())
        .region(region)
        .retry_config(retry(DYNAMODB_BACKOFF));
    if let Some(url) = endpoint_url.filter(|u| !u.is_empty()) {
        loader = loader.endpoint_url(url);
    }
    loader
}

/// Loads the shared SDK configuration (see [`loader`]).
pub async fn load(endpoint_url: Option<&str>) -> SdkConfig {
    loader(endpoint_url).load().await
}

fn retry(base: Duration) -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(MAX_ATTEMPTS)
        .with_initial_backoff(base)
}

/// A DynamoDB client: 3 retries from 100 ms.
pub fn dynamodb(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(config)
            .retry_config(retry(DYNAMODB_BACKOFF))
            .build(),
    )
}

/// An EventBridge client: 3 retries from 200 ms.
pub fn eventbridge(config: &SdkConfig) -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(
        aws_sdk_eventbridge::config::Builder::from(config)
            .retry_config(retry(EVENTBRIDGE_BACKOFF))
            .build(),
    )
}

/// A Cognito user-pools client (the shared configuration's retries: 3 from 100 ms).
pub fn cognito(config: &SdkConfig) -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(config)
}

/// An SES v2 client (the shared configuration's retries: 3 from 100 ms).
pub fn sesv2(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(config)
}

/// An SQS client (the shared configuration's retries: 3 from 100 ms).
pub fn sqs(config: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(config)
}

/// A log-safe description of an SDK failure: the service's error code and message, or the
/// transport failure (e.g. "connection refused"). The SDK never renders credentials or request
/// bodies into these; callers never see them anyway (server errors answer "Internal server error").
pub(crate) fn describe<E, R>(
    service: &str,
    op: &str,
    e: &aws_sdk_dynamodb::error::SdkError<E, R>,
) -> String
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    use aws_sdk_dynamodb::error::{DisplayErrorContext, SdkError};
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{service} {op} failed: {}: {}",
                err.code().unwrap_or("unknown error"),
                err.message().unwrap_or("no message")
            )
        }
        other => format!("{service} {op} failed: {}", DisplayErrorContext(other)),
    }
}
