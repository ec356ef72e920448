//! The instance cloud on AWS (digest 2.7 §4–§5): one module per port of
//! `bbws_core::instance::ports`, each on the AWS SDK (MySQL through `mysql_async`).
//!
//! - [`secrets::AwsSecrets`]: Secrets Manager (restores a name still scheduled for deletion);
//! - [`database::MySqlDatabases`]: tenant databases and users on the shared MySQL;
//! - [`efs::AwsFiles`]: EFS access points, and directory purges through a one-off task;
//! - [`elb::AwsLoadBalancer`]: target groups, host-header listener rules, and the listener
//!   priority reservations (DynamoDB conditional puts);
//! - [`ecs::AwsCompute`]: task definitions, services and ECS auto scaling;
//! - [`health::AwsHealth`]: the health wait's look at ECS and the target group;
//! - [`cognito::AwsIdentity`]: the tenant's user pool, MFA, domain, app client and groups, and
//!   its configuration (a read-modify-write of the pool, C19);
//! - [`logs::AwsLogs`]: the containers' logs in CloudWatch Logs (C15);
//! - [`archive::S3Archive`]: per-tenant database dumps and file archives in S3;
//! - [`inventory::AwsTaggedInventory`]: the tenant objects of an environment by their tags
//!   (`tag:GetResources`), for the orphan and drift audit;
//! - [`service_tags::EcsServiceTags`]: a service's tags for the ECS event handler, cached;
//! - [`tasks`]: one-off ECS tasks (purge, file archive) the Lambda cannot do itself.
//!
//! Every call's failure is classified by [`classify`]: throttling and service-unavailable
//! answers (and transport failures) are transient, and the engine retries them.
//!
//! Configuration ([`CloudSettings::from_lookup`]) comes from the environment (digest §10.4).

pub mod archive;
pub mod cognito;
pub mod database;
pub mod ecs;
pub mod efs;
pub mod elb;
pub mod health;
pub mod inventory;
pub mod logs;
pub mod secrets;
pub mod service_tags;
pub mod settings;
pub mod tasks;

use std::sync::Arc;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use bbws_core::instance::ports::{CloudError, CloudErrorKind};
use bbws_core::instance::{CloudMode, InstanceCloud};

pub use settings::CloudSettings;

/// AWS error codes that mean "try again later" (LLD §15.2, plus their per-service spellings).
const TRANSIENT_CODES: [&str; 12] = [
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "ServiceException",
    "InternalFailure",
    "InternalServerError",
    "InternalErrorException",
    "SlowDown",
];

/// Whether an AWS error code is one of the transient ones.
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}

/// The error code of a service error, if the call reached the service.
pub(crate) fn code_of<E, R>(e: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match e {
        SdkError::ServiceError(s) => s.err().code(),
        _ => None,
    }
}

/// A failed SDK call as a [`CloudError`]: transport failures, timeouts and the transient codes
/// are [`CloudErrorKind::Transient`], everything else [`CloudErrorKind::Permanent`].
pub(crate) fn classify<E, R>(service: &str, action: &str, e: &SdkError<E, R>) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = crate::sdk::describe(service, action, e);
    let kind = match e {
        SdkError::ServiceError(s) => {
            if s.err().code().is_some_and(is_transient_code) {
                CloudErrorKind::Transient
            } else {
                CloudErrorKind::Permanent
            }
        }
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            CloudErrorKind::Transient
        }
        _ => CloudErrorKind::Permanent,
    };
    CloudError::new(kind, service, action, message)
}

/// A request that could not be built (a bug or an invalid value): permanent.
pub(crate) fn build_failed(service: &str, action: &str, e: &impl std::fmt::Display) -> CloudError {
    CloudError::permanent(service, action, format!("cannot build the request: {e}"))
}

/// The live instance cloud: every port on the AWS clients of `sdk`, configured by `settings`.
/// `dynamodb` + `table` hold the listener priority reservations. `local_endpoint` = the SDK
/// points at a local endpoint (S3 then uses path-style addressing). Sends no request.
pub fn live_cloud(
    sdk: &SdkConfig,
    settings: &CloudSettings,
    dynamodb: aws_sdk_dynamodb::Client,
    table: &str,
    local_endpoint: bool,
) -> InstanceCloud {
    let clients = Clients::new(sdk, local_endpoint);
    let runner: Arc<dyn tasks::TaskRunner> =
        Arc::new(tasks::EcsTaskRunner::new(clients.ecs.clone(), settings));
    assemble(&clients, settings, dynamodb, table, runner)
}

/// The SDK clients of the instance cloud, built once.
#[derive(Debug, Clone)]
pub struct Clients {
    pub secrets: aws_sdk_secretsmanager::Client,
    pub rds: aws_sdk_rds::Client,
    pub efs: aws_sdk_efs::Client,
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub autoscaling: aws_sdk_applicationautoscaling::Client,
    pub cognito: aws_sdk_cognitoidentityprovider::Client,
    pub s3: aws_sdk_s3::Client,
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    pub fn new(sdk: &SdkConfig, local_endpoint: bool) -> Self {
        Self {
            secrets: aws_sdk_secretsmanager::Client::new(sdk),
            rds: aws_sdk_rds::Client::new(sdk),
            efs: aws_sdk_efs::Client::new(sdk),
            elb: aws_sdk_elasticloadbalancingv2::Client::new(sdk),
            ecs: aws_sdk_ecs::Client::new(sdk),
            autoscaling: aws_sdk_applicationautoscaling::Client::new(sdk),
            cognito: aws_sdk_cognitoidentityprovider::Client::new(sdk),
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(local_endpoint)
                    .build(),
            ),
            tagging: aws_sdk_resourcegroupstagging::Client::new(sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(sdk),
        }
    }
}

/// The cloud from built clients and a one-off task runner (tests pass a runner that completes
/// the tasks moto starts but never runs).
pub fn assemble(
    clients: &Clients,
    settings: &CloudSettings,
    dynamodb: aws_sdk_dynamodb::Client,
    table: &str,
    runner: Arc<dyn tasks::TaskRunner>,
) -> InstanceCloud {
    let secrets = Arc::new(secrets::AwsSecrets::new(clients.secrets.clone()));
    let mysql = Arc::new(database::MySqlDatabases::new(
        clients.secrets.clone(),
        clients.rds.clone(),
        settings.database.clone(),
    ));
    let platform = &settings.platform;
    InstanceCloud {
        identity: Arc::new(cognito::AwsIdentity::new(clients.cognito.clone())),
        secrets,
        database: mysql.clone(),
        files: Arc::new(efs::AwsFiles::new(
            clients.efs.clone(),
            &platform.efs_file_system_id,
            runner.clone(),
        )),
        load_balancer: Arc::new(elb::AwsLoadBalancer::new(
            clients.elb.clone(),
            dynamodb,
            table,
        )),
        compute: Arc::new(ecs::AwsCompute::new(
            clients.ecs.clone(),
            clients.autoscaling.clone(),
            mysql.clone(),
        )),
        health: Arc::new(health::AwsHealth::new(
            clients.ecs.clone(),
            clients.elb.clone(),
        )),
        archive: Arc::new(archive::S3Archive::new(clients.s3.clone(), mysql, runner)),
        logs: Arc::new(logs::AwsLogs::new(clients.logs.clone())),
        mode: CloudMode::Live,
        description: format!(
            "AWS {} (cluster {}, listener {})",
            platform.region, platform.cluster, platform.listener_arn
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_unavailability_are_transient() {
        for c in [
            "ThrottlingException",
            "ServiceUnavailableException",
            "RequestLimitExceeded",
        ] {
            assert!(is_transient_code(c), "{c}");
        }
        for c in [
            "AccessDeniedException",
            "ValidationException",
            "ResourceInUse",
        ] {
            assert!(!is_transient_code(c), "{c}");
        }
    }
}
