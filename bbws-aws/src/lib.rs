//! bbws-aws: the bbws ports on the AWS SDK (DynamoDB, EventBridge, SQS, S3, Secrets Manager,
//! Cognito, ECS, EFS, RDS, ELBv2).
//!
//! It also opens the configured backend for every frontend ([`backend`]). AWS SDK crates are dependencies of this crate
//! only, so the rest of the workspace builds without them.

pub mod backend;

pub use backend::{Backend, BackendConfig, BackendKind};

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
