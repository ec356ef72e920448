//! The ports of the instance domain: the cloud (one trait per AWS area, each call mapping onto
//! named AWS API actions) and persistence (instances, operations, the resource ledger).
//!
//! Contract of every cloud port, which adapters must keep:
//! - a `create_*` is idempotent for the same deterministic name: called again for an object that
//!   exists with that name, it returns the existing object (find-or-create; §4.7), never a second
//!   one;
//! - a `delete_*` treats "already gone" (`ResourceNotFoundException`, `NoSuchEntity`, …) as
//!   success;
//! - a `find_*` answers whether the object with that name exists (used to resume after a crash
//!   between a create call and the ledger update);
//! - errors are classified ([`CloudErrorKind`]): throttling and service-unavailable answers are
//!   [`CloudErrorKind::Transient`] and are retried with backoff by the engine; the rest are not.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;

use crate::audit::AuditEvent;
use crate::error::Result;
use crate::events::OutboxMessage;
use crate::ids::{InstanceId, OperationId, TenantId};
use crate::time::Timestamp;

use super::ledger::LedgerEntry;
use super::model::Instance;
use super::operation::Operation;

pub use super::identity::{PasswordPolicyChange, UserPoolSettings};
pub use super::logs::{ContainerLogs, LogEvent, LogEvents, LogFilter};

// ---------------------------------------------------------------------------------------------
// Cloud errors and common values
// ---------------------------------------------------------------------------------------------

/// How a cloud call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudErrorKind {
    /// `ThrottlingException`, `ServiceUnavailableException`, `RequestLimitExceeded`, network
    /// errors: worth retrying.
    Transient,
    /// The engine's step timeout ran out.
    Timeout,
    /// A conflicting object exists that is not ours (e.g. `DomainAlreadyExists` for another pool).
    Conflict,
    /// Anything else: invalid parameters, access denied, quota exceeded, …
    Permanent,
}

/// A failed cloud call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudError {
    pub kind: CloudErrorKind,
    /// The AWS service (`cognito-idp`, `ecs`, …).
    pub service: String,
    /// The API action (`CreateUserPool`, …).
    pub action: String,
    pub message: String,
}

impl CloudError {
    pub fn new(
        kind: CloudErrorKind,
        service: impl Into<String>,
        action: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            service: service.into(),
            action: action.into(),
            message: message.into(),
        }
    }

    pub fn transient(service: &str, action: &str, message: impl Into<String>) -> Self {
        Self::new(CloudErrorKind::Transient, service, action, message)
    }

    pub fn permanent(service: &str, action: &str, message: impl Into<String>) -> Self {
        Self::new(CloudErrorKind::Permanent, service, action, message)
    }

    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind,
            CloudErrorKind::Transient | CloudErrorKind::Timeout
        )
    }
}

impl fmt::Display for CloudError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.service, self.action, self.message)
    }
}

impl std::error::Error for CloudError {}

pub type CloudResult<T> = std::result::Result<T, CloudError>;

/// What a create (or find) returns: the id the delete call needs, and the ARN where it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudResource {
    pub id: String,
    pub arn: Option<String>,
}

impl CloudResource {
    pub fn new(id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            arn: None,
        }
    }

    #[must_use]
    pub fn with_arn(mut self, arn: impl Into<String>) -> Self {
        self.arn = Some(arn.into());
        self
    }
}

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(v: impl Into<String>) -> Self {
        Self(v.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretValue(***)")
    }
}

/// The unified tags (§4.3), as a sorted map so plans print stably.
pub type Tags = BTreeMap<String, String>;

// ---------------------------------------------------------------------------------------------
// Identity (Cognito)
// ---------------------------------------------------------------------------------------------

/// `MfaConfiguration` (AWS values; the API's `REQUIRED` maps to `On`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaConfiguration {
    Off,
    Optional,
    On,
}

impl MfaConfiguration {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Off => "OFF",
            Self::Optional => "OPTIONAL",
            Self::On => "ON",
        }
    }
}

/// `Policies.PasswordPolicy` (the AWS shape, hence the flags).
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub minimum_length: u8,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
    pub temporary_password_validity_days: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            minimum_length: 8,
            require_uppercase: true,
            require_lowercase: true,
            require_numbers: true,
            require_symbols: true,
            temporary_password_validity_days: 7,
        }
    }
}

/// `CreateUserPool` (§4.4 A1.1) followed by `SetUserPoolMfaConfig` (A1.2, TOTP).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPoolSpec {
    pub name: String,
    pub tenant_id: TenantId,
    pub password_policy: PasswordPolicy,
    pub mfa: MfaConfiguration,
    pub tags: Tags,
}

/// `CreateUserPoolDomain` (A1.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainSpec {
    pub user_pool_id: String,
    pub prefix: String,
}

/// `CreateUserPoolClient` (A1.4): code flow, secret generated, `openid email profile`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppClientSpec {
    pub user_pool_id: String,
    pub name: String,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
}

/// A created (or found) app client. The secret goes into the Cognito secret, nowhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppClient {
    pub client_id: String,
    pub client_secret: SecretValue,
}

/// `CreateGroup` (A1.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupSpec {
    pub name: String,
    pub precedence: u8,
    pub description: String,
}

/// The tenant's Cognito user pool and what hangs off it.
#[async_trait]
pub trait IdentityProvisioner: Send + Sync + fmt::Debug {
    /// `CreateUserPool` (tags in `UserPoolTags`) + `SetUserPoolMfaConfig`. Pool names are not
    /// unique in Cognito: the adapter looks the name up first (`ListUserPools`) and returns the
    /// existing pool.
    async fn create_user_pool(&self, spec: &UserPoolSpec) -> CloudResult<CloudResource>;
    /// `ListUserPools` by name (and `bbws:tenant-id` tag).
    async fn find_user_pool(&self, name: &str) -> CloudResult<Option<CloudResource>>;
    /// `DeleteUserPool`. The domain must be gone first.
    async fn delete_user_pool(&self, user_pool_id: &str) -> CloudResult<()>;

    /// `CreateUserPoolDomain`; the id is the prefix.
    async fn create_domain(&self, spec: &DomainSpec) -> CloudResult<CloudResource>;
    /// `DescribeUserPoolDomain`: `Some` only if the domain belongs to a pool.
    async fn find_domain(&self, prefix: &str) -> CloudResult<Option<CloudResource>>;
    /// `DeleteUserPoolDomain`.
    async fn delete_domain(&self, user_pool_id: &str, prefix: &str) -> CloudResult<()>;

    /// `CreateUserPoolClient` (`ListUserPoolClients` first: client names are not unique).
    async fn create_app_client(&self, spec: &AppClientSpec) -> CloudResult<AppClient>;
    /// `ListUserPoolClients` + `DescribeUserPoolClient` (for the secret).
    async fn find_app_client(
        &self,
        user_pool_id: &str,
        name: &str,
    ) -> CloudResult<Option<AppClient>>;
    /// `DeleteUserPoolClient`.
    async fn delete_app_client(&self, user_pool_id: &str, client_id: &str) -> CloudResult<()>;

    /// `CreateGroup` for each (`GroupExistsException` is success).
    async fn create_groups(&self, user_pool_id: &str, groups: &[GroupSpec]) -> CloudResult<()>;
    /// `DeleteGroup` for each.
    async fn delete_groups(&self, user_pool_id: &str, names: &[String]) -> CloudResult<()>;

    /// `DescribeUserPool` + `GetUserPoolMfaConfig`: the pool's settings now (no secret);
    /// `None` when the pool does not exist.
    async fn describe_user_pool(&self, user_pool_id: &str)
    -> CloudResult<Option<UserPoolSettings>>;
    /// Read-modify-write of the pool: `DescribeUserPool`, then `UpdateUserPool` carrying every
    /// settable attribute as described (`UpdateUserPool` resets what it is not given: verified
    /// attributes, message templates, e-mail and SMS configuration, admin-create-user config,
    /// tags, add-ons, deletion protection, Lambda triggers, MFA, ...) with only the password
    /// policy's rules in `change` set. Setting the same rules again changes nothing.
    async fn update_password_policy(
        &self,
        user_pool_id: &str,
        change: &PasswordPolicyChange,
    ) -> CloudResult<()>;
    /// `SetUserPoolMfaConfig(MfaConfiguration)`, with TOTP (`SoftwareTokenMfaConfiguration`)
    /// enabled unless MFA is `OFF`.
    async fn set_mfa_configuration(
        &self,
        user_pool_id: &str,
        mfa: MfaConfiguration,
    ) -> CloudResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------

/// `CreateSecret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretSpec {
    pub name: String,
    /// JSON document (`{"username", "password", ...}`).
    pub value: SecretValue,
    /// `ClientRequestToken`: the same token makes a repeat a no-op.
    pub client_request_token: String,
    pub tags: Tags,
}

/// How long a secret deleted by a deprovisioning can still be restored (`RecoveryWindowInDays`,
/// the AWS maximum): until then it still exists, scheduled for deletion.
pub const SECRET_RECOVERY_WINDOW_DAYS: u32 = 30;

#[async_trait]
pub trait SecretStore: Send + Sync + fmt::Debug {
    /// `CreateSecret`; on `ResourceExistsException` returns the existing secret's ARN.
    async fn create_secret(&self, spec: &SecretSpec) -> CloudResult<CloudResource>;
    /// `DescribeSecret`.
    async fn find_secret(&self, name: &str) -> CloudResult<Option<CloudResource>>;
    /// `DeleteSecret`: `force` = `ForceDeleteWithoutRecovery` (rollback); otherwise
    /// `RecoveryWindowInDays` [`SECRET_RECOVERY_WINDOW_DAYS`] (deprovisioning).
    async fn delete_secret(&self, id: &str, force: bool) -> CloudResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Database (shared MySQL)
// ---------------------------------------------------------------------------------------------

/// A tenant database and its user on the shared MySQL. The adapter reads the credentials from
/// `secret_arn` itself (db-admin task or VPC-attached function), never from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSpec {
    pub database: String,
    pub user: String,
    pub secret_arn: String,
}

#[async_trait]
pub trait DatabaseProvisioner: Send + Sync + fmt::Debug {
    /// `CREATE DATABASE IF NOT EXISTS … utf8mb4`, `CREATE USER IF NOT EXISTS`, `ALTER USER …
    /// IDENTIFIED BY` (re-syncs the password on retry), `GRANT ALL ON db.*`. The id is the
    /// database name.
    async fn create_database(&self, spec: &DatabaseSpec) -> CloudResult<CloudResource>;
    /// `SHOW DATABASES LIKE`.
    async fn find_database(&self, database: &str) -> CloudResult<Option<CloudResource>>;
    /// `DROP DATABASE IF EXISTS`, `DROP USER IF EXISTS`.
    async fn drop_database(&self, database: &str, user: &str) -> CloudResult<()>;
    /// `SHOW DATABASES LIKE 'tenant\_%'`: every database named like a tenant's
    /// (`tenant_{key}_db`, [`super::Names`]), sorted, for the audit.
    async fn list_databases(&self) -> CloudResult<Vec<String>>;
}

// ---------------------------------------------------------------------------------------------
// EFS
// ---------------------------------------------------------------------------------------------

/// `CreateAccessPoint` (§4.4 A3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessPointSpec {
    /// The `Name` tag.
    pub name: String,
    /// `ClientToken` (idempotency).
    pub client_token: String,
    pub file_system_id: String,
    /// `/tenant-{key}`.
    pub root_directory: String,
    pub uid: u32,
    pub gid: u32,
    pub permissions: String,
    pub tags: Tags,
}

#[async_trait]
pub trait FileStorage: Send + Sync + fmt::Debug {
    /// `CreateAccessPoint`, then `DescribeAccessPoints` until `available`. Id = `fsap-…`.
    async fn create_access_point(&self, spec: &AccessPointSpec) -> CloudResult<CloudResource>;
    /// `DescribeAccessPoints` on the file system, matched by the `Name` tag.
    async fn find_access_point(&self, name: &str) -> CloudResult<Option<CloudResource>>;
    /// `DescribeAccessPoints(AccessPointId)`: the access point's `LifeCycleState`
    /// (`available`, `creating`, …), or `None` when it does not exist.
    async fn access_point_state(&self, id: &str) -> CloudResult<Option<String>>;
    /// `DeleteAccessPoint`.
    async fn delete_access_point(&self, id: &str) -> CloudResult<()>;
    /// Removes the directory's data (a root-capable one-off task: `rm -rf`). Deleting an access
    /// point leaves its data on the shared file system, so deprovisioning purges first.
    async fn purge_directory(&self, root_directory: &str) -> CloudResult<()>;
}

// ---------------------------------------------------------------------------------------------
// ALB
// ---------------------------------------------------------------------------------------------

/// `CreateTargetGroup` + `ModifyTargetGroupAttributes` (§4.4 A4.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetGroupSpec {
    pub name: String,
    pub vpc_id: String,
    pub health_check_path: String,
    pub matcher: String,
    pub deregistration_delay_seconds: u32,
    pub tags: Tags,
}

/// `CreateRule` (§4.4 A4.3): host-header → forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerRuleSpec {
    pub listener_arn: String,
    pub priority: u32,
    pub host: String,
    pub target_group_arn: String,
    pub tags: Tags,
}

/// One registered target and its health (`DescribeTargetHealth`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetHealth {
    /// The target's id (an IP address for Fargate tasks).
    pub id: String,
    pub port: Option<u16>,
    /// `initial`, `healthy`, `unhealthy`, `unused`, `draining`, `unavailable`.
    pub state: String,
    /// `TargetHealth.Reason`/`Description`, when the target is not healthy.
    pub reason: Option<String>,
}

#[async_trait]
pub trait LoadBalancer: Send + Sync + fmt::Debug {
    /// `CreateTargetGroup` (idempotent for identical name + settings). Id = the ARN.
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> CloudResult<CloudResource>;
    /// `DescribeTargetGroups(Names)`.
    async fn find_target_group(&self, name: &str) -> CloudResult<Option<CloudResource>>;
    /// `DeleteTargetGroup`.
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()>;
    /// `DescribeTargetHealth(TargetGroupArn)`: every registered target, or `None` when the
    /// target group does not exist.
    async fn target_health(&self, arn: &str) -> CloudResult<Option<Vec<TargetHealth>>>;

    /// Reserves a listener priority for `host` (tenant range 100–49999, step 100, skipping
    /// priorities already on the listener): a conditional put per priority
    /// (`ALBPRIORITY#{listener}`/`PRIORITY#{n}`). Reserving again for the same host returns the
    /// same priority.
    async fn reserve_priority(&self, listener_arn: &str, host: &str) -> CloudResult<u32>;
    /// Releases the reservation of `host`.
    async fn release_priority(&self, listener_arn: &str, host: &str) -> CloudResult<()>;

    /// `CreateRule`. Not idempotent in AWS: the adapter runs `DescribeRules` first and returns a
    /// rule that already matches the host.
    async fn create_listener_rule(&self, spec: &ListenerRuleSpec) -> CloudResult<CloudResource>;
    /// `DescribeRules(ListenerArn)` matched by host-header.
    async fn find_listener_rule(
        &self,
        listener_arn: &str,
        host: &str,
    ) -> CloudResult<Option<CloudResource>>;
    /// `DeleteRule`.
    async fn delete_listener_rule(&self, arn: &str) -> CloudResult<()>;
}

// ---------------------------------------------------------------------------------------------
// ECS and Application Auto Scaling
// ---------------------------------------------------------------------------------------------

/// `RegisterTaskDefinition` (§4.4 step B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDefinitionSpec {
    pub family: String,
    pub cpu: u32,
    pub memory: u32,
    pub image: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub file_system_id: String,
    pub access_point_id: String,
    /// `valueFrom` of `WORDPRESS_DB_USER` / `WORDPRESS_DB_PASSWORD` (`{arn}:username::`, …).
    pub db_secret_arn: String,
    /// Plain container environment (`WORDPRESS_DB_HOST`, `WORDPRESS_DB_NAME`, …).
    pub environment: BTreeMap<String, String>,
    pub log_group: String,
    pub log_stream_prefix: String,
    pub region: String,
    pub tags: Tags,
}

/// `CreateService` (§4.4 step C).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub cluster: String,
    pub name: String,
    pub task_definition_arn: String,
    pub desired_count: u32,
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub target_group_arn: String,
    pub container_name: String,
    pub container_port: u16,
    pub health_check_grace_period_seconds: u32,
    pub minimum_healthy_percent: u32,
    pub maximum_percent: u32,
    pub enable_execute_command: bool,
    /// `clientToken`.
    pub client_token: String,
    pub tags: Tags,
}

/// `UpdateService` rolling a service onto a new task definition revision (§6 "Update
/// (rolling)", C4): a rolling deployment with the circuit breaker on and rolling back, so a
/// revision that cannot run leaves the service on the one it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceRollout {
    pub cluster: String,
    pub name: String,
    /// The revision to run (its ARN).
    pub task_definition_arn: String,
    /// 100: the running tasks stay until their replacements are healthy (BR-009, zero downtime).
    pub minimum_healthy_percent: u32,
    /// 200: room for a full set of new tasks beside the old ones.
    pub maximum_percent: u32,
}

/// `RegisterScalableTarget` + two `PutScalingPolicy` (§4.4 step C2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutoscalingSpec {
    /// `service/{cluster}/{service}`.
    pub resource_id: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
    pub cpu_policy_name: String,
    pub cpu_target: u32,
    pub memory_policy_name: String,
    pub memory_target: u32,
    pub tags: Tags,
}

#[async_trait]
pub trait Compute: Send + Sync + fmt::Debug {
    /// `RegisterTaskDefinition` (a new revision each time; harmless). Id = the revision ARN.
    async fn register_task_definition(
        &self,
        spec: &TaskDefinitionSpec,
    ) -> CloudResult<CloudResource>;
    /// `DescribeTaskDefinition(family)`: the latest ACTIVE revision.
    async fn find_task_definition(&self, family: &str) -> CloudResult<Option<CloudResource>>;
    /// `ListTaskDefinitions(familyPrefix)` + `DeregisterTaskDefinition` (+
    /// `DeleteTaskDefinitions`) for every revision.
    async fn deregister_task_definitions(&self, family: &str) -> CloudResult<()>;

    /// `CreateService` with `clientToken`; an ACTIVE service of that name is returned as is.
    async fn create_service(&self, spec: &ServiceSpec) -> CloudResult<CloudResource>;
    /// `DescribeServices`: `Some` for an ACTIVE or DRAINING service.
    async fn find_service(&self, cluster: &str, name: &str) -> CloudResult<Option<CloudResource>>;
    /// `UpdateService(desiredCount=0)`, `DeleteService(force)`, wait `services_inactive`.
    async fn delete_service(&self, cluster: &str, name: &str) -> CloudResult<()>;
    /// `DescribeServices` + `ListTasks` + `DescribeTasks`: the service's counts, deployments and
    /// tasks as ECS sees them now; `None` when no ACTIVE or DRAINING service has that name.
    async fn describe_service(
        &self,
        cluster: &str,
        name: &str,
    ) -> CloudResult<Option<ServiceStatus>>;

    /// `RegisterScalableTarget` + `PutScalingPolicy` ×2. Id = the resource id.
    async fn register_autoscaling(&self, spec: &AutoscalingSpec) -> CloudResult<CloudResource>;
    /// `DescribeScalableTargets(ResourceIds)`.
    async fn find_autoscaling(&self, resource_id: &str) -> CloudResult<Option<CloudResource>>;
    /// `DeleteScalingPolicy` ×2 + `DeregisterScalableTarget`.
    async fn deregister_autoscaling(&self, resource_id: &str) -> CloudResult<()>;

    /// `UpdateService(desiredCount)` (lifecycle: suspend/park to 0, resume/unpark, scale).
    async fn set_desired_count(&self, cluster: &str, name: &str, desired: u32) -> CloudResult<()>;
    /// `UpdateService(forceNewDeployment=true)`: a rolling restart.
    async fn force_new_deployment(&self, cluster: &str, name: &str) -> CloudResult<()>;
    /// `UpdateService(taskDefinition, deploymentConfiguration{minimumHealthyPercent,
    /// maximumPercent, deploymentCircuitBreaker{enable: true, rollback: true}})`: a rolling
    /// deployment of a new revision (C4).
    async fn deploy_revision(&self, rollout: &ServiceRollout) -> CloudResult<()>;
    /// `RegisterScalableTarget` on an existing target: its bounds, and whether scaling is
    /// suspended (`SuspendedState`, all three flags), so a suspended service stays at 0.
    async fn set_autoscaling(&self, bounds: &ScalingBounds) -> CloudResult<()>;
}

/// One deployment of a service (`DescribeServices` → `deployments`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceDeployment {
    pub id: String,
    /// `PRIMARY`, `ACTIVE` or `INACTIVE`.
    pub status: String,
    /// `IN_PROGRESS`, `COMPLETED` or `FAILED` (absent on services without the circuit breaker).
    pub rollout_state: Option<String>,
    pub rollout_state_reason: Option<String>,
    pub task_definition: String,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
}

/// One task of a service (`DescribeTasks`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceTask {
    /// The last part of the task ARN.
    pub task_id: String,
    /// `PROVISIONING`, `PENDING`, `RUNNING`, `STOPPED`, …
    pub last_status: String,
    /// `HEALTHY`, `UNHEALTHY` or `UNKNOWN`.
    pub health_status: Option<String>,
    pub started_at: Option<Timestamp>,
    /// CPU units and memory (MiB) as ECS reports them.
    pub cpu: Option<String>,
    pub memory: Option<String>,
    pub task_definition: Option<String>,
}

/// A service as ECS sees it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceStatus {
    pub arn: String,
    /// `ACTIVE` or `DRAINING`.
    pub status: String,
    pub task_definition: String,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
    pub deployments: Vec<ServiceDeployment>,
    pub tasks: Vec<ServiceTask>,
}

impl ServiceStatus {
    /// The PRIMARY deployment (the one being rolled out, or the only one).
    pub fn primary(&self) -> Option<&ServiceDeployment> {
        self.deployments.iter().find(|d| d.status == "PRIMARY")
    }

    /// Whether the rollout is done: one deployment left, and its rollout (where ECS tracks
    /// one) COMPLETED.
    pub fn rollout_completed(&self) -> bool {
        self.deployments.len() <= 1
            && self
                .primary()
                .is_none_or(|d| d.rollout_state.as_deref().is_none_or(|s| s == "COMPLETED"))
    }
}

/// The bounds and suspension of a service's scalable target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalingBounds {
    /// `service/{cluster}/{service}`.
    pub resource_id: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
    pub suspended: bool,
}

// ---------------------------------------------------------------------------------------------
// Health
// ---------------------------------------------------------------------------------------------

/// What the health wait looks at (§4.4 step D).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTarget {
    pub cluster: String,
    pub service_name: String,
    pub target_group_arn: String,
    pub desired_count: u32,
    pub host: String,
}

/// One look at the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// PRIMARY deployment COMPLETED, running == desired, every target `healthy`.
    Healthy,
    /// Still starting; the engine looks again after its interval.
    Starting(String),
    /// Failed for good (circuit breaker rolled back, tasks cannot start).
    Unhealthy(String),
}

#[async_trait]
pub trait HealthProbe: Send + Sync + fmt::Debug {
    /// `ecs:DescribeServices` + `elbv2:DescribeTargetHealth` (+ optionally `GET https://{host}/`).
    async fn check(&self, target: &HealthTarget) -> CloudResult<Health>;
}

// ---------------------------------------------------------------------------------------------
// Archive
// ---------------------------------------------------------------------------------------------

/// Where an archive goes: `s3://{bucket}/{key}`, tagged with the tenant and the deletion date,
/// expired by the bucket's lifecycle after `retention_days`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSpec {
    pub bucket: String,
    pub key: String,
    pub retention_days: u32,
    pub tags: Tags,
}

#[async_trait]
pub trait Archive: Send + Sync + fmt::Debug {
    /// A per-tenant `mysqldump {database}` to S3 (one-off task). Idempotent per key. Id = the
    /// `s3://` URI.
    async fn archive_database(
        &self,
        database: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource>;
    /// A `tar` of the access point's directory to S3 (one-off task mounting the AP).
    async fn archive_files(
        &self,
        access_point_id: &str,
        root_directory: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource>;
    /// `HeadObject`.
    async fn find_archive(&self, bucket: &str, key: &str) -> CloudResult<Option<CloudResource>>;
    /// Replaces the tables of `database` with those of the dump at `s3://{bucket}/{key}` (as
    /// [`Archive::archive_database`] wrote it): the dump is read and checked before anything is
    /// dropped.
    async fn restore_database(&self, database: &str, bucket: &str, key: &str) -> CloudResult<()>;
    /// Replaces the contents of the access point's directory with the archive at
    /// `s3://{bucket}/{key}` (one-off task mounting the AP; the archive is downloaded and listed
    /// before the directory is cleared).
    async fn restore_files(
        &self,
        access_point_id: &str,
        root_directory: &str,
        bucket: &str,
        key: &str,
    ) -> CloudResult<()>;
}

// ---------------------------------------------------------------------------------------------
// Inventory (Resource Groups Tagging API)
// ---------------------------------------------------------------------------------------------

/// A cloud object carrying the platform's tenant tags (§4.3), as the inventory lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaggedResource {
    /// The ARN (or, for a cloud without ARNs, the id the ledger records).
    pub arn: String,
    /// `{service}:{resource type}` as the tagging API names it (`secretsmanager:secret`,
    /// `ecs:task-definition`, …; [`super::ResourceType::tagged_kind`]).
    pub kind: String,
    pub tags: Tags,
}

impl TaggedResource {
    /// The `bbws:tenant-id` tag's value, if any.
    pub fn tenant_tag(&self) -> Option<&str> {
        self.tags.get(super::naming::TAG_TENANT).map(String::as_str)
    }
}

/// Every object of the platform's tenants in one environment, found by its tags (§5.3's daily
/// scan).
#[async_trait]
pub trait TaggedInventory: Send + Sync + fmt::Debug {
    /// Every object tagged `bbws:environment = {environment}` that carries a `bbws:tenant-id`
    /// (`tag:GetResources` with both tag filters, every page).
    async fn tagged_resources(
        &self,
        environment: crate::tenant::Environment,
    ) -> CloudResult<Vec<TaggedResource>>;
    /// The ledger's resource types whose objects this inventory lists whenever they exist: a
    /// live ledger entry of one of them that the inventory does not list has drifted. Types it
    /// cannot see are left out (their drift is not judged).
    fn visible_types(&self) -> Vec<super::ResourceType>;
    /// One line saying what was looked at (`AWS tag:GetResources eu-west-1`, …).
    fn describe(&self) -> String;
}

/// Whether a cloud really creates things, or only records the calls it would make.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloudMode {
    Live,
    Plan,
}

/// Every cloud port the engine needs, for wiring convenience.
#[derive(Debug, Clone)]
pub struct InstanceCloud {
    pub identity: Arc<dyn IdentityProvisioner>,
    pub secrets: Arc<dyn SecretStore>,
    pub database: Arc<dyn DatabaseProvisioner>,
    pub files: Arc<dyn FileStorage>,
    pub load_balancer: Arc<dyn LoadBalancer>,
    pub compute: Arc<dyn Compute>,
    pub health: Arc<dyn HealthProbe>,
    pub archive: Arc<dyn Archive>,
    pub logs: Arc<dyn ContainerLogs>,
    pub mode: CloudMode,
    /// One line saying what this cloud is (`AWS eu-west-1`, `plan recorder: …`).
    pub description: String,
}

impl InstanceCloud {
    /// Every port from one object implementing them all (a live adapter set).
    pub fn live<C>(cloud: &Arc<C>, description: impl Into<String>) -> Self
    where
        C: IdentityProvisioner
            + SecretStore
            + DatabaseProvisioner
            + FileStorage
            + LoadBalancer
            + Compute
            + HealthProbe
            + Archive
            + ContainerLogs
            + 'static,
    {
        Self {
            identity: cloud.clone(),
            secrets: cloud.clone(),
            database: cloud.clone(),
            files: cloud.clone(),
            load_balancer: cloud.clone(),
            compute: cloud.clone(),
            health: cloud.clone(),
            archive: cloud.clone(),
            logs: cloud.clone(),
            mode: CloudMode::Live,
            description: description.into(),
        }
    }

    pub fn describe(&self) -> &str {
        &self.description
    }
}

// ---------------------------------------------------------------------------------------------
// Persistence
// ---------------------------------------------------------------------------------------------

/// The condition a write is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteExpect {
    /// Create: must not exist.
    Absent,
    /// Update: the stored version must be this one, else `VERSION_CONFLICT`.
    Version(u64),
}

/// The tenant's one-active-instance guard (BR-002) and the resource-key guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstanceGuard {
    Keep,
    /// Claims the tenant for this instance (refused with `CONFLICT` while another instance of the
    /// tenant holds it) and claims the resource key (refused if another tenant uses it).
    Claim,
    /// Releases the tenant (the instance is DEPROVISIONED). The resource key stays with the tenant.
    Release,
}

/// A remembered provisioning/deprovisioning request (`Idempotency-Key`, 24 h).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceIdempotency {
    /// The scoped key ([`crate::idempotency::IdempotencyKey::scoped`]).
    pub key: String,
    pub fingerprint: String,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub operation_id: OperationId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// An operation change under a version condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationWrite {
    pub operation: Operation,
    pub expect: WriteExpect,
}

/// One atomic change of an instance: the instance, optionally its operation, its guards, its
/// audit event, its outbox events and its idempotency record land together or not at all (one
/// `TransactWriteItems` on DynamoDB; one write transaction on the embedded store).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceWrite {
    pub instance: Instance,
    pub expect: WriteExpect,
    pub guard: InstanceGuard,
    pub operation: Option<OperationWrite>,
    pub audit: Option<AuditEvent>,
    pub events: Vec<OutboxMessage>,
    /// Refused with `IDEMPOTENCY_KEY_REUSED` if a live record holds the key.
    pub idempotency: Option<InstanceIdempotency>,
    /// A backup created or changed with the instance (backup and restore operations).
    pub backup: Option<super::backup::BackupWrite>,
}

/// Instance persistence (items `TENANT#{id}`/`INSTANCE…`, §3).
#[async_trait]
pub trait InstanceDao: Send + Sync + fmt::Debug {
    async fn get_instance(
        &self,
        tenant: &TenantId,
        instance: &InstanceId,
    ) -> Result<Option<Instance>>;
    /// The instance holding the tenant's guard (any state but DEPROVISIONED), if any.
    async fn active_instance(&self, tenant: &TenantId) -> Result<Option<Instance>>;
    /// Every instance of the tenant, oldest first.
    async fn list_instances(&self, tenant: &TenantId) -> Result<Vec<Instance>>;
    /// Errors: `CONFLICT` (another instance holds the tenant, the resource key belongs to another
    /// tenant, or the instance exists under [`WriteExpect::Absent`]), `VERSION_CONFLICT` (instance
    /// or operation), `INSTANCE_NOT_FOUND`, `IDEMPOTENCY_KEY_REUSED`.
    async fn write_instance(&self, write: InstanceWrite) -> Result<()>;
    /// The live idempotency record under a scoped key.
    async fn get_instance_idempotency(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<InstanceIdempotency>>;
}

/// Operation persistence (`OPERATION#{id}`).
#[async_trait]
pub trait OperationDao: Send + Sync + fmt::Debug {
    async fn get_operation(&self, id: &OperationId) -> Result<Option<Operation>>;
    /// Errors: `VERSION_CONFLICT`, `OPERATION_NOT_FOUND` (update of a missing operation).
    async fn write_operation(&self, write: OperationWrite) -> Result<()>;
}

/// The resource ledger (`TENANT#{id}#INSTANCE` / `RESOURCE#{type}`).
#[async_trait]
pub trait LedgerDao: Send + Sync + fmt::Debug {
    /// The instance's entries in creation order.
    async fn ledger(&self, instance: &InstanceId) -> Result<Vec<LedgerEntry>>;
    /// Upserts one entry (one item per resource type). The embedded store also mirrors it into
    /// the tenant's resource inventory, so deleting the tenant sees live instance resources.
    async fn write_ledger(&self, entry: LedgerEntry) -> Result<()>;
}

/// Everything the instance domain stores.
pub trait InstanceBackend:
    InstanceDao + OperationDao + LedgerDao + super::backup::BackupDao
{
}
impl<T: InstanceDao + OperationDao + LedgerDao + super::backup::BackupDao> InstanceBackend for T {}
