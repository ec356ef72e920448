//! bbws-aws: the bbws ports on the AWS SDK (DynamoDB, EventBridge, Cognito, SES, SQS, S3,
//! Secrets Manager, ECS, EFS, RDS, ELBv2).
//!
//! - [`dynamo`]: [`DynamoStore`], every tenant and organisation storage port on one DynamoDB
//!   table (digest 2.5 §3.5 keys), and [`create_table`];
//! - [`eventbridge`]: [`EventBridgePublisher`], the outbox relay's publisher;
//! - [`cognito`]: [`CognitoDirectory`], the organisation domain's identity directory;
//! - [`ses`]: [`SesMailer`], its outgoing mail;
//! - [`sqs`]: [`SqsOperationQueue`], the instance queues the worker consumes;
//! - [`cloud`]: the instance cloud (ECS, EFS, RDS + MySQL, ELBv2, Secrets Manager, S3, Cognito);
//! - [`sdk`]: the SDK configuration and clients (HTTPS client, region, retries), built once;
//! - [`backend`]: opens the configured backend (memory, embedded, DynamoDB) for every frontend.
//!
//! AWS SDK crates are dependencies of this crate only, so `bbws-core` builds without them and no
//! SDK type crosses into it.

pub mod backend;
pub mod cloud;
pub mod cognito;
pub mod dynamo;
pub mod eventbridge;
pub mod sdk;
pub mod ses;
pub mod sqs;

pub use backend::{Backend, BackendConfig, BackendKind};
pub use cognito::{CognitoDirectory, UserPoolId};
pub use dynamo::{DynamoStore, create_table};
pub use eventbridge::EventBridgePublisher;
pub use ses::SesMailer;
pub use sqs::{QueueUrls, SqsOperationQueue};

use bbws_core::tenant::Environment;

/// Resource names of one deployment, defaulting to the LLD names for its environment
/// (LLD 2.5 §5.1, §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsNames {
    /// `DYNAMODB_TABLE`, default `bbws-tenants-{env}`.
    pub tenants_table: String,
    /// `EVENT_BUS_NAME`, default `bbws-events-{env}`.
    pub event_bus: String,
}

impl AwsNames {
    /// The LLD defaults for an environment.
    pub fn defaults(env: Environment) -> Self {
        Self {
            tenants_table: format!("bbws-tenants-{env}"),
            event_bus: format!("bbws-events-{env}"),
        }
    }

    /// The defaults, overridden by `DYNAMODB_TABLE` and `EVENT_BUS_NAME` when set.
    pub fn from_lookup(env: Environment, var: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::defaults(env);
        Self {
            tenants_table: var("DYNAMODB_TABLE")
                .filter(|v| !v.is_empty())
                .unwrap_or(d.tenants_table),
            event_bus: var("EVENT_BUS_NAME")
                .filter(|v| !v.is_empty())
                .unwrap_or(d.event_bus),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lld_defaults_and_overrides() {
        let d = AwsNames::defaults(Environment::Sit);
        assert_eq!(d.tenants_table, "bbws-tenants-sit");
        assert_eq!(d.event_bus, "bbws-events-sit");
        let o = AwsNames::from_lookup(Environment::Dev, |k| {
            (k == "DYNAMODB_TABLE").then(|| "custom".to_owned())
        });
        assert_eq!(o.tenants_table, "custom");
        assert_eq!(o.event_bus, "bbws-events-dev");
    }
}
