//! The plan recorder: an implementation of every cloud port that creates nothing and records
//! the exact calls (service, API action, resource name, tags, parameters) a provisioning,
//! deprovisioning or update would make, so `plan` / `dryRun` can print them. It is the embedded backend's
//! default cloud: on a laptop with no AWS configuration, operations can be planned, not run
//! ([`super::ProvisioningEngine::run`] refuses a plan-only cloud with `CLOUD_UNAVAILABLE`).
//!
//! Ids a create would return are unknown before the call; the recorder answers with a
//! placeholder naming the call (`<cognito-idp:CreateUserPool:bbws-tenant-…-user-pool>`), which
//! later calls then show as their input.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::error::Result;
use crate::ids::{IdGenerator, OperationId, RandomIds};
use crate::store::EmbeddedStore;
use crate::time::{Clock, SystemClock};

use super::engine::{ENGINE_ACTOR, ProvisioningEngine, Timer};
use super::ledger::LedgerEntry;
use super::model::Instance;
use super::naming::PlatformConfig;
use super::operation::{DeprovisionOptions, Operation, OperationStatus, OperationType, StepName};
use super::ports::{
    AccessPointSpec, AppClient, AppClientSpec, Archive, ArchiveSpec, AutoscalingSpec, CloudMode,
    CloudResource, CloudResult, Compute, DatabaseProvisioner, DatabaseSpec, DomainSpec,
    FileStorage, GroupSpec, Health, HealthProbe, HealthTarget, IdentityProvisioner, InstanceCloud,
    InstanceDao, InstanceGuard, InstanceWrite, LedgerDao, ListenerRuleSpec, LoadBalancer,
    OperationWrite, ScalingBounds, SecretSpec, SecretStore, SecretValue, ServiceRollout,
    ServiceSpec, ServiceStatus, Tags, TargetGroupSpec, TargetHealth, TaskDefinitionSpec,
    UserPoolSpec, WriteExpect,
};
use super::ports::{
    ContainerLogs, LogEvents, LogFilter, MfaConfiguration, PasswordPolicyChange, UserPoolSettings,
};
use super::state::InstanceState;
use super::update::InstanceUpdate;

/// One call the plan would make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedCall {
    /// The AWS service (`cognito-idp`, `secretsmanager`, `elasticfilesystem`,
    /// `elasticloadbalancing`, `ecs`, `application-autoscaling`, `s3`, `mysql`).
    pub service: String,
    /// The API action (`CreateUserPool`, …; `mysql` lists SQL statements).
    pub action: String,
    /// The resource's name (or id, for deletes).
    pub resource: String,
    pub tags: Tags,
    /// The other parameters, as the AWS API names them.
    pub params: Value,
}

impl fmt::Display for PlannedCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{} {}", self.service, self.action, self.resource)?;
        if !self.tags.is_empty() {
            let t: Vec<String> = self.tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            write!(f, " tags[{}]", t.join(", "))?;
        }
        if self.params != Value::Null && self.params != json!({}) {
            write!(f, " {}", self.params)?;
        }
        Ok(())
    }
}

/// The recorded calls of one plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// What produced it ([`PlanRecorder::describe`]).
    pub source: String,
    pub calls: Vec<PlannedCall>,
}

impl Plan {
    /// One call per line, numbered.
    pub fn render(&self) -> String {
        let mut out = format!("# {}\n", self.source);
        for (i, c) in self.calls.iter().enumerate() {
            let _ = writeln!(out, "{:>3}. {c}", i + 1);
        }
        out
    }
}

/// Records calls; creates nothing.
#[derive(Debug, Default)]
pub struct PlanRecorder {
    calls: Mutex<Vec<PlannedCall>>,
}

impl PlanRecorder {
    pub fn new() -> Self {
        Self::default()
    }

    /// What this cloud is.
    pub fn describe(&self) -> &'static str {
        "plan recorder: records the AWS calls an operation would make and creates nothing"
    }

    /// Every call recorded so far, in order.
    pub fn calls(&self) -> Vec<PlannedCall> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record(&self, service: &str, action: &str, resource: &str, tags: &Tags, params: Value) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(PlannedCall {
                service: service.to_owned(),
                action: action.to_owned(),
                resource: resource.to_owned(),
                tags: tags.clone(),
                params,
            });
    }

    fn plain(&self, service: &str, action: &str, resource: &str, params: Value) {
        self.record(service, action, resource, &Tags::new(), params);
    }

    fn placeholder(service: &str, action: &str, name: &str) -> CloudResource {
        CloudResource::new(format!("<{service}:{action}:{name}>"))
    }
}

/// The cloud of the embedded backend by default: every port on one recorder.
impl InstanceCloud {
    pub fn plan(recorder: &Arc<PlanRecorder>) -> Self {
        let mut cloud = Self::live(recorder, recorder.describe());
        cloud.mode = CloudMode::Plan;
        cloud
    }
}

#[async_trait]
impl IdentityProvisioner for PlanRecorder {
    async fn create_user_pool(&self, spec: &UserPoolSpec) -> CloudResult<CloudResource> {
        let p = &spec.password_policy;
        self.record(
            "cognito-idp",
            "CreateUserPool",
            &spec.name,
            &spec.tags,
            json!({
                "Policies": {"PasswordPolicy": {
                    "MinimumLength": p.minimum_length, "RequireUppercase": p.require_uppercase,
                    "RequireLowercase": p.require_lowercase, "RequireNumbers": p.require_numbers,
                    "RequireSymbols": p.require_symbols,
                    "TemporaryPasswordValidityDays": p.temporary_password_validity_days}},
                "AutoVerifiedAttributes": ["email"], "UsernameAttributes": ["email"],
                "MfaConfiguration": spec.mfa.as_str(),
                "Schema": ["email", "name", "custom:tenant_id"],
            }),
        );
        let pool = Self::placeholder("cognito-idp", "CreateUserPool", &spec.name);
        self.plain(
            "cognito-idp",
            "SetUserPoolMfaConfig",
            &pool.id,
            json!({"SoftwareTokenMfaConfiguration": {"Enabled": true}, "MfaConfiguration": spec.mfa.as_str()}),
        );
        Ok(pool)
    }
    async fn find_user_pool(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        self.plain("cognito-idp", "ListUserPools", name, Value::Null);
        Ok(None)
    }
    async fn delete_user_pool(&self, user_pool_id: &str) -> CloudResult<()> {
        self.plain("cognito-idp", "DeleteUserPool", user_pool_id, Value::Null);
        Ok(())
    }
    async fn create_domain(&self, spec: &DomainSpec) -> CloudResult<CloudResource> {
        self.plain(
            "cognito-idp",
            "CreateUserPoolDomain",
            &spec.prefix,
            json!({"UserPoolId": spec.user_pool_id}),
        );
        Ok(CloudResource::new(spec.prefix.clone()))
    }
    async fn find_domain(&self, prefix: &str) -> CloudResult<Option<CloudResource>> {
        self.plain("cognito-idp", "DescribeUserPoolDomain", prefix, Value::Null);
        Ok(None)
    }
    async fn delete_domain(&self, user_pool_id: &str, prefix: &str) -> CloudResult<()> {
        self.plain(
            "cognito-idp",
            "DeleteUserPoolDomain",
            prefix,
            json!({"UserPoolId": user_pool_id}),
        );
        Ok(())
    }
    async fn create_app_client(&self, spec: &AppClientSpec) -> CloudResult<AppClient> {
        self.plain(
            "cognito-idp",
            "CreateUserPoolClient",
            &spec.name,
            json!({
                "UserPoolId": spec.user_pool_id, "GenerateSecret": true,
                "AllowedOAuthFlows": ["code"], "AllowedOAuthScopes": ["openid", "email", "profile"],
                "CallbackURLs": spec.callback_urls, "LogoutURLs": spec.logout_urls,
            }),
        );
        Ok(AppClient {
            client_id: Self::placeholder("cognito-idp", "CreateUserPoolClient", &spec.name).id,
            client_secret: SecretValue::new("<generated by Cognito>"),
        })
    }
    async fn find_app_client(
        &self,
        user_pool_id: &str,
        name: &str,
    ) -> CloudResult<Option<AppClient>> {
        self.plain(
            "cognito-idp",
            "ListUserPoolClients",
            name,
            json!({"UserPoolId": user_pool_id}),
        );
        Ok(None)
    }
    async fn delete_app_client(&self, user_pool_id: &str, client_id: &str) -> CloudResult<()> {
        self.plain(
            "cognito-idp",
            "DeleteUserPoolClient",
            client_id,
            json!({"UserPoolId": user_pool_id}),
        );
        Ok(())
    }
    async fn create_groups(&self, user_pool_id: &str, groups: &[GroupSpec]) -> CloudResult<()> {
        for g in groups {
            self.plain(
                "cognito-idp",
                "CreateGroup",
                &g.name,
                json!({"UserPoolId": user_pool_id, "Precedence": g.precedence}),
            );
        }
        Ok(())
    }
    async fn delete_groups(&self, user_pool_id: &str, names: &[String]) -> CloudResult<()> {
        for n in names {
            self.plain(
                "cognito-idp",
                "DeleteGroup",
                n,
                json!({"UserPoolId": user_pool_id}),
            );
        }
        Ok(())
    }
    async fn describe_user_pool(
        &self,
        user_pool_id: &str,
    ) -> CloudResult<Option<UserPoolSettings>> {
        self.plain("cognito-idp", "DescribeUserPool", user_pool_id, Value::Null);
        self.plain(
            "cognito-idp",
            "GetUserPoolMfaConfig",
            user_pool_id,
            Value::Null,
        );
        Ok(None)
    }
    async fn update_password_policy(
        &self,
        user_pool_id: &str,
        change: &PasswordPolicyChange,
    ) -> CloudResult<()> {
        self.plain("cognito-idp", "DescribeUserPool", user_pool_id, Value::Null);
        let mut policy = serde_json::Map::new();
        for (k, v) in [
            ("MinimumLength", change.minimum_length.map(|n| json!(n))),
            (
                "RequireUppercase",
                change.require_uppercase.map(|b| json!(b)),
            ),
            (
                "RequireLowercase",
                change.require_lowercase.map(|b| json!(b)),
            ),
            ("RequireNumbers", change.require_numbers.map(|b| json!(b))),
            ("RequireSymbols", change.require_symbols.map(|b| json!(b))),
        ] {
            if let Some(v) = v {
                policy.insert(k.to_owned(), v);
            }
        }
        self.plain(
            "cognito-idp",
            "UpdateUserPool",
            user_pool_id,
            json!({"Policies": {"PasswordPolicy": policy},
                   "everythingElse": "as DescribeUserPool answered"}),
        );
        Ok(())
    }
    async fn set_mfa_configuration(
        &self,
        user_pool_id: &str,
        mfa: MfaConfiguration,
    ) -> CloudResult<()> {
        let params = if mfa == MfaConfiguration::Off {
            json!({"MfaConfiguration": mfa.as_str()})
        } else {
            json!({"MfaConfiguration": mfa.as_str(),
                   "SoftwareTokenMfaConfiguration": {"Enabled": true}})
        };
        self.plain("cognito-idp", "SetUserPoolMfaConfig", user_pool_id, params);
        Ok(())
    }
}

#[async_trait]
impl ContainerLogs for PlanRecorder {
    async fn filter_events(&self, filter: &LogFilter) -> CloudResult<LogEvents> {
        self.plain(
            "logs",
            "FilterLogEvents",
            &filter.log_group,
            json!({"logStreamNamePrefix": filter.stream_prefix, "startTime": filter.start_ms,
                   "endTime": filter.end_ms, "limit": filter.limit,
                   "nextToken": filter.next_token}),
        );
        Ok(LogEvents::Page {
            events: Vec::new(),
            next_token: None,
        })
    }
}

#[async_trait]
impl SecretStore for PlanRecorder {
    async fn create_secret(&self, spec: &SecretSpec) -> CloudResult<CloudResource> {
        // The value is never part of a plan.
        self.record(
            "secretsmanager",
            "CreateSecret",
            &spec.name,
            &spec.tags,
            json!({"ClientRequestToken": spec.client_request_token}),
        );
        Ok(Self::placeholder(
            "secretsmanager",
            "CreateSecret",
            &spec.name,
        ))
    }
    async fn find_secret(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        self.plain("secretsmanager", "DescribeSecret", name, Value::Null);
        Ok(None)
    }
    async fn delete_secret(&self, id: &str, force: bool) -> CloudResult<()> {
        let params = if force {
            json!({"ForceDeleteWithoutRecovery": true})
        } else {
            json!({ "RecoveryWindowInDays": super::ports::SECRET_RECOVERY_WINDOW_DAYS })
        };
        self.plain("secretsmanager", "DeleteSecret", id, params);
        Ok(())
    }
}

#[async_trait]
impl DatabaseProvisioner for PlanRecorder {
    async fn create_database(&self, spec: &DatabaseSpec) -> CloudResult<CloudResource> {
        self.plain(
            "mysql",
            "CREATE DATABASE IF NOT EXISTS; CREATE USER IF NOT EXISTS; ALTER USER; GRANT ALL",
            &spec.database,
            json!({"user": spec.user, "credentialsSecret": spec.secret_arn, "charset": "utf8mb4"}),
        );
        Ok(CloudResource::new(spec.database.clone()))
    }
    async fn find_database(&self, database: &str) -> CloudResult<Option<CloudResource>> {
        self.plain("mysql", "SHOW DATABASES LIKE", database, Value::Null);
        Ok(None)
    }
    async fn drop_database(&self, database: &str, user: &str) -> CloudResult<()> {
        self.plain(
            "mysql",
            "DROP DATABASE IF EXISTS; DROP USER IF EXISTS",
            database,
            json!({"user": user}),
        );
        Ok(())
    }
    async fn list_databases(&self) -> CloudResult<Vec<String>> {
        self.plain("mysql", "SHOW DATABASES LIKE", "tenant\\_%", Value::Null);
        Ok(Vec::new())
    }
}

#[async_trait]
impl FileStorage for PlanRecorder {
    async fn create_access_point(&self, spec: &AccessPointSpec) -> CloudResult<CloudResource> {
        self.record(
            "elasticfilesystem",
            "CreateAccessPoint",
            &spec.name,
            &spec.tags,
            json!({
                "ClientToken": spec.client_token, "FileSystemId": spec.file_system_id,
                "PosixUser": {"Uid": spec.uid, "Gid": spec.gid},
                "RootDirectory": {"Path": spec.root_directory, "CreationInfo": {
                    "OwnerUid": spec.uid, "OwnerGid": spec.gid, "Permissions": spec.permissions}},
            }),
        );
        Ok(Self::placeholder(
            "elasticfilesystem",
            "CreateAccessPoint",
            &spec.name,
        ))
    }
    async fn find_access_point(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        self.plain(
            "elasticfilesystem",
            "DescribeAccessPoints",
            name,
            Value::Null,
        );
        Ok(None)
    }
    async fn access_point_state(&self, id: &str) -> CloudResult<Option<String>> {
        self.plain("elasticfilesystem", "DescribeAccessPoints", id, Value::Null);
        Ok(None)
    }
    async fn delete_access_point(&self, id: &str) -> CloudResult<()> {
        self.plain("elasticfilesystem", "DeleteAccessPoint", id, Value::Null);
        Ok(())
    }
    async fn purge_directory(&self, root_directory: &str) -> CloudResult<()> {
        self.plain(
            "ecs",
            "RunTask (purge directory)",
            root_directory,
            Value::Null,
        );
        Ok(())
    }
}

#[async_trait]
impl LoadBalancer for PlanRecorder {
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> CloudResult<CloudResource> {
        self.record(
            "elasticloadbalancing",
            "CreateTargetGroup",
            &spec.name,
            &spec.tags,
            json!({
                "Protocol": "HTTP", "Port": 80, "VpcId": spec.vpc_id, "TargetType": "ip",
                "HealthCheckPath": spec.health_check_path, "Matcher": {"HttpCode": spec.matcher},
            }),
        );
        let tg = Self::placeholder("elasticloadbalancing", "CreateTargetGroup", &spec.name);
        self.plain(
            "elasticloadbalancing",
            "ModifyTargetGroupAttributes",
            &tg.id,
            json!({"deregistration_delay.timeout_seconds": spec.deregistration_delay_seconds}),
        );
        Ok(tg)
    }
    async fn find_target_group(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        self.plain(
            "elasticloadbalancing",
            "DescribeTargetGroups",
            name,
            Value::Null,
        );
        Ok(None)
    }
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        self.plain(
            "elasticloadbalancing",
            "DeleteTargetGroup",
            arn,
            Value::Null,
        );
        Ok(())
    }
    async fn target_health(&self, arn: &str) -> CloudResult<Option<Vec<TargetHealth>>> {
        self.plain(
            "elasticloadbalancing",
            "DescribeTargetHealth",
            arn,
            Value::Null,
        );
        Ok(None)
    }
    async fn reserve_priority(&self, listener_arn: &str, host: &str) -> CloudResult<u32> {
        self.plain(
            "elasticloadbalancing",
            "DescribeRules + reserve priority",
            host,
            json!({"ListenerArn": listener_arn, "range": "100-49999/100"}),
        );
        Ok(100)
    }
    async fn release_priority(&self, listener_arn: &str, host: &str) -> CloudResult<()> {
        self.plain(
            "elasticloadbalancing",
            "release priority",
            host,
            json!({"ListenerArn": listener_arn}),
        );
        Ok(())
    }
    async fn create_listener_rule(&self, spec: &ListenerRuleSpec) -> CloudResult<CloudResource> {
        self.record(
            "elasticloadbalancing",
            "CreateRule",
            &spec.host,
            &spec.tags,
            json!({
                "ListenerArn": spec.listener_arn, "Priority": spec.priority,
                "Conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": [spec.host]}}],
                "Actions": [{"Type": "forward", "TargetGroupArn": spec.target_group_arn}],
            }),
        );
        Ok(Self::placeholder(
            "elasticloadbalancing",
            "CreateRule",
            &spec.host,
        ))
    }
    async fn find_listener_rule(
        &self,
        listener_arn: &str,
        host: &str,
    ) -> CloudResult<Option<CloudResource>> {
        self.plain(
            "elasticloadbalancing",
            "DescribeRules",
            host,
            json!({"ListenerArn": listener_arn}),
        );
        Ok(None)
    }
    async fn delete_listener_rule(&self, arn: &str) -> CloudResult<()> {
        self.plain("elasticloadbalancing", "DeleteRule", arn, Value::Null);
        Ok(())
    }
}

#[async_trait]
impl Compute for PlanRecorder {
    async fn register_task_definition(
        &self,
        spec: &TaskDefinitionSpec,
    ) -> CloudResult<CloudResource> {
        self.record(
            "ecs",
            "RegisterTaskDefinition",
            &spec.family,
            &spec.tags,
            json!({
                "cpu": spec.cpu.to_string(), "memory": spec.memory.to_string(),
                "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
                "image": spec.image, "executionRoleArn": spec.execution_role_arn,
                "taskRoleArn": spec.task_role_arn,
                "efsVolumeConfiguration": {"fileSystemId": spec.file_system_id,
                    "transitEncryption": "ENABLED",
                    "authorizationConfig": {"accessPointId": spec.access_point_id, "iam": "ENABLED"}},
                "secrets": [
                    {"name": "WORDPRESS_DB_USER", "valueFrom": format!("{}:username::", spec.db_secret_arn)},
                    {"name": "WORDPRESS_DB_PASSWORD", "valueFrom": format!("{}:password::", spec.db_secret_arn)}],
                "environment": spec.environment.keys().collect::<Vec<_>>(),
                "logConfiguration": {"awslogs-group": spec.log_group,
                    "awslogs-stream-prefix": spec.log_stream_prefix, "awslogs-region": spec.region},
            }),
        );
        Ok(Self::placeholder(
            "ecs",
            "RegisterTaskDefinition",
            &spec.family,
        ))
    }
    async fn find_task_definition(&self, family: &str) -> CloudResult<Option<CloudResource>> {
        self.plain("ecs", "DescribeTaskDefinition", family, Value::Null);
        Ok(None)
    }
    async fn deregister_task_definitions(&self, family: &str) -> CloudResult<()> {
        self.plain(
            "ecs",
            "ListTaskDefinitions + DeregisterTaskDefinition + DeleteTaskDefinitions",
            family,
            Value::Null,
        );
        Ok(())
    }
    async fn create_service(&self, spec: &ServiceSpec) -> CloudResult<CloudResource> {
        self.record(
            "ecs",
            "CreateService",
            &spec.name,
            &spec.tags,
            json!({
                "cluster": spec.cluster, "taskDefinition": spec.task_definition_arn,
                "desiredCount": spec.desired_count, "launchType": "FARGATE", "platformVersion": "1.4.0",
                "networkConfiguration": {"awsvpcConfiguration": {"subnets": spec.subnets,
                    "securityGroups": spec.security_groups, "assignPublicIp": "DISABLED"}},
                "loadBalancers": [{"targetGroupArn": spec.target_group_arn,
                    "containerName": spec.container_name, "containerPort": spec.container_port}],
                "healthCheckGracePeriodSeconds": spec.health_check_grace_period_seconds,
                "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true},
                    "minimumHealthyPercent": spec.minimum_healthy_percent,
                    "maximumPercent": spec.maximum_percent},
                "propagateTags": "SERVICE", "enableECSManagedTags": true,
                "enableExecuteCommand": spec.enable_execute_command, "clientToken": spec.client_token,
            }),
        );
        Ok(Self::placeholder("ecs", "CreateService", &spec.name))
    }
    async fn find_service(&self, cluster: &str, name: &str) -> CloudResult<Option<CloudResource>> {
        self.plain("ecs", "DescribeServices", name, json!({"cluster": cluster}));
        Ok(None)
    }
    async fn delete_service(&self, cluster: &str, name: &str) -> CloudResult<()> {
        self.plain(
            "ecs",
            "UpdateService",
            name,
            json!({"cluster": cluster, "desiredCount": 0}),
        );
        self.plain(
            "ecs",
            "DeleteService",
            name,
            json!({"cluster": cluster, "force": true}),
        );
        Ok(())
    }
    async fn describe_service(
        &self,
        cluster: &str,
        name: &str,
    ) -> CloudResult<Option<ServiceStatus>> {
        self.plain("ecs", "DescribeServices", name, json!({"cluster": cluster}));
        self.plain(
            "ecs",
            "ListTasks + DescribeTasks",
            name,
            json!({"cluster": cluster}),
        );
        Ok(None)
    }
    async fn register_autoscaling(&self, spec: &AutoscalingSpec) -> CloudResult<CloudResource> {
        self.record(
            "application-autoscaling",
            "RegisterScalableTarget",
            &spec.resource_id,
            &spec.tags,
            json!({"ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount",
                   "MinCapacity": spec.min_capacity, "MaxCapacity": spec.max_capacity}),
        );
        for (name, metric, target) in [
            (
                &spec.cpu_policy_name,
                "ECSServiceAverageCPUUtilization",
                spec.cpu_target,
            ),
            (
                &spec.memory_policy_name,
                "ECSServiceAverageMemoryUtilization",
                spec.memory_target,
            ),
        ] {
            self.plain(
                "application-autoscaling",
                "PutScalingPolicy",
                name,
                json!({"PolicyType": "TargetTrackingScaling", "PredefinedMetricType": metric,
                       "TargetValue": target, "ScaleInCooldown": 300, "ScaleOutCooldown": 60}),
            );
        }
        Ok(CloudResource::new(spec.resource_id.clone()))
    }
    async fn find_autoscaling(&self, resource_id: &str) -> CloudResult<Option<CloudResource>> {
        self.plain(
            "application-autoscaling",
            "DescribeScalableTargets",
            resource_id,
            Value::Null,
        );
        Ok(None)
    }
    async fn deregister_autoscaling(&self, resource_id: &str) -> CloudResult<()> {
        self.plain(
            "application-autoscaling",
            "DeleteScalingPolicy ×2 + DeregisterScalableTarget",
            resource_id,
            Value::Null,
        );
        Ok(())
    }
    async fn set_desired_count(&self, cluster: &str, name: &str, desired: u32) -> CloudResult<()> {
        self.plain(
            "ecs",
            "UpdateService",
            name,
            json!({"cluster": cluster, "desiredCount": desired}),
        );
        Ok(())
    }
    async fn force_new_deployment(&self, cluster: &str, name: &str) -> CloudResult<()> {
        self.plain(
            "ecs",
            "UpdateService",
            name,
            json!({"cluster": cluster, "forceNewDeployment": true}),
        );
        Ok(())
    }
    async fn deploy_revision(&self, rollout: &ServiceRollout) -> CloudResult<()> {
        self.plain(
            "ecs",
            "UpdateService",
            &rollout.name,
            json!({"cluster": rollout.cluster, "taskDefinition": rollout.task_definition_arn,
                   "deploymentConfiguration": {"deploymentCircuitBreaker": {"enable": true, "rollback": true},
                       "minimumHealthyPercent": rollout.minimum_healthy_percent,
                       "maximumPercent": rollout.maximum_percent}}),
        );
        Ok(())
    }
    async fn set_autoscaling(&self, bounds: &ScalingBounds) -> CloudResult<()> {
        self.plain(
            "application-autoscaling",
            "RegisterScalableTarget",
            &bounds.resource_id,
            json!({"minCapacity": bounds.min_capacity, "maxCapacity": bounds.max_capacity,
                   "suspendedState": {"dynamicScalingInSuspended": bounds.suspended,
                                      "dynamicScalingOutSuspended": bounds.suspended,
                                      "scheduledScalingSuspended": bounds.suspended}}),
        );
        Ok(())
    }
}

#[async_trait]
impl HealthProbe for PlanRecorder {
    async fn check(&self, target: &HealthTarget) -> CloudResult<Health> {
        self.plain(
            "ecs",
            "DescribeServices (wait for steady state)",
            &target.service_name,
            json!({"cluster": target.cluster, "desiredCount": target.desired_count}),
        );
        self.plain(
            "elasticloadbalancing",
            "DescribeTargetHealth (wait for healthy)",
            &target.target_group_arn,
            Value::Null,
        );
        Ok(Health::Healthy)
    }
}

#[async_trait]
impl Archive for PlanRecorder {
    async fn archive_database(
        &self,
        database: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        self.record(
            "ecs",
            "RunTask (mysqldump to s3)",
            database,
            &spec.tags,
            json!({"destination": format!("s3://{}/{}", spec.bucket, spec.key),
                   "retentionDays": spec.retention_days}),
        );
        Ok(CloudResource::new(format!(
            "s3://{}/{}",
            spec.bucket, spec.key
        )))
    }
    async fn archive_files(
        &self,
        access_point_id: &str,
        root_directory: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        self.record(
            "ecs",
            "RunTask (tar wp-content to s3)",
            root_directory,
            &spec.tags,
            json!({"accessPointId": access_point_id,
                   "destination": format!("s3://{}/{}", spec.bucket, spec.key),
                   "retentionDays": spec.retention_days}),
        );
        Ok(CloudResource::new(format!(
            "s3://{}/{}",
            spec.bucket, spec.key
        )))
    }
    async fn find_archive(&self, bucket: &str, key: &str) -> CloudResult<Option<CloudResource>> {
        self.plain(
            "s3",
            "HeadObject",
            &format!("s3://{bucket}/{key}"),
            Value::Null,
        );
        Ok(None)
    }
    async fn restore_database(&self, database: &str, bucket: &str, key: &str) -> CloudResult<()> {
        self.plain(
            "rds",
            "Replace the tables from a dump",
            database,
            json!({"source": format!("s3://{bucket}/{key}")}),
        );
        Ok(())
    }
    async fn restore_files(
        &self,
        access_point_id: &str,
        root_directory: &str,
        bucket: &str,
        key: &str,
    ) -> CloudResult<()> {
        self.plain(
            "ecs",
            "RunTask (untar wp-content from s3)",
            root_directory,
            json!({"accessPointId": access_point_id, "source": format!("s3://{bucket}/{key}")}),
        );
        Ok(())
    }
}

/// Plans never wait.
#[derive(Debug)]
struct NoWait;

#[async_trait]
impl Timer for NoWait {
    async fn sleep(&self, _d: Duration) {}
}

/// Runs one operation of `instance` on a scratch in-memory store against a fresh recorder.
async fn record(
    config: &PlatformConfig,
    mut instance: Instance,
    state: InstanceState,
    op_type: OperationType,
    ledger: &[LedgerEntry],
    asked: impl FnOnce(&mut Operation),
) -> Result<Plan> {
    let scratch = Arc::new(EmbeddedStore::in_memory()?);
    let recorder = Arc::new(PlanRecorder::new());
    let ids: Arc<dyn IdGenerator> = Arc::new(RandomIds);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let now = clock.now();
    instance.state = state;
    instance.version = 1;
    let mut op = Operation::new(
        OperationId::generate(ids.as_ref()),
        instance.tenant_id,
        instance.id,
        op_type,
        StepName::for_type(op_type),
        ENGINE_ACTOR,
        "plan".to_owned(),
        now,
    );
    asked(&mut op);
    for e in ledger {
        scratch.write_ledger(e.clone()).await?;
    }
    scratch
        .write_instance(InstanceWrite {
            backup: None,
            instance,
            expect: WriteExpect::Absent,
            guard: InstanceGuard::Claim,
            operation: Some(OperationWrite {
                operation: op.clone(),
                expect: WriteExpect::Absent,
            }),
            audit: None,
            events: Vec::new(),
            idempotency: None,
        })
        .await?;
    let engine = ProvisioningEngine::new(
        scratch,
        InstanceCloud::plan(&recorder),
        config.clone(),
        clock,
        Arc::new(NoWait),
        ids,
    );
    let ran = engine.run_any(&op.id).await?;
    // The recorder answers every call, so a planned run stops only where the real one would
    // too (an update of an instance whose ledger lacks what the task definition needs).
    if let Some(reason) = ran
        .error
        .filter(|_| ran.status != OperationStatus::Completed)
    {
        return Err(reason.into_error());
    }
    Ok(Plan {
        source: recorder.describe().to_owned(),
        calls: recorder.calls(),
    })
}

/// The calls provisioning `instance` would make, in order. Nothing is created or stored.
pub async fn plan_provisioning(config: &PlatformConfig, instance: &Instance) -> Result<Plan> {
    record(
        config,
        instance.clone(),
        InstanceState::PendingProvisioning,
        OperationType::Provision,
        &[],
        |_| {},
    )
    .await
}

/// The calls deprovisioning `instance` (with its `ledger`) would make, in order.
pub async fn plan_deprovisioning(
    config: &PlatformConfig,
    instance: &Instance,
    ledger: &[LedgerEntry],
    options: DeprovisionOptions,
) -> Result<Plan> {
    record(
        config,
        instance.clone(),
        InstanceState::PendingDeprovisioning,
        OperationType::Deprovision,
        ledger,
        |op| op.deprovision = Some(options),
    )
    .await
}

/// The calls updating `instance` (ACTIVE, with its `ledger`) would make, in order: the new
/// revision, the rolling deployment and the wait for it.
pub async fn plan_update(
    config: &PlatformConfig,
    instance: &Instance,
    ledger: &[LedgerEntry],
    update: InstanceUpdate,
) -> Result<Plan> {
    record(
        config,
        instance.clone(),
        InstanceState::Active,
        OperationType::Update,
        ledger,
        |op| op.update = Some(update),
    )
    .await
}
