//! `InstantCloud`: a **bench double** of the instance cloud. Every port call answers at once
//! with an id derived from the name it was given, and creates nothing anywhere; the health probe
//! answers healthy at the first look. It exists only in this bench, so that a run measures the
//! engine and the store and nothing else. Never use it outside benches: it does not keep state,
//! so its `find_*` never finds anything (a run that is not resumed never asks).

use async_trait::async_trait;
use bbws_core::instance::ports::{
    AccessPointSpec, AppClient, AppClientSpec, Archive, ArchiveSpec, AutoscalingSpec,
    CloudResource, CloudResult, Compute, DatabaseProvisioner, DatabaseSpec, DomainSpec,
    FileStorage, GroupSpec, Health, HealthProbe, HealthTarget, IdentityProvisioner,
    ListenerRuleSpec, LoadBalancer, ScalingBounds, SecretSpec, SecretStore, SecretValue,
    ServiceRollout, ServiceSpec, ServiceStatus, TargetGroupSpec, TargetHealth, TaskDefinitionSpec,
    UserPoolSpec,
};
use bbws_core::instance::ports::{
    ContainerLogs, LogEvents, LogFilter, MfaConfiguration, PasswordPolicyChange, UserPoolSettings,
};

/// The bench double (see the module docs).
#[derive(Debug, Default)]
pub struct InstantCloud;

fn made(kind: &str, name: &str) -> CloudResource {
    CloudResource::new(format!("instant-{kind}-{name}"))
        .with_arn(format!("arn:instant:{kind}:{name}"))
}

#[async_trait]
impl IdentityProvisioner for InstantCloud {
    async fn create_user_pool(&self, spec: &UserPoolSpec) -> CloudResult<CloudResource> {
        Ok(made("pool", &spec.name))
    }
    async fn find_user_pool(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn delete_user_pool(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn create_domain(&self, spec: &DomainSpec) -> CloudResult<CloudResource> {
        Ok(CloudResource::new(spec.prefix.clone()))
    }
    async fn find_domain(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn delete_domain(&self, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn create_app_client(&self, spec: &AppClientSpec) -> CloudResult<AppClient> {
        Ok(AppClient {
            client_id: format!("instant-client-{}", spec.name),
            client_secret: SecretValue::new("instant-client-secret"),
        })
    }
    async fn find_app_client(&self, _: &str, _: &str) -> CloudResult<Option<AppClient>> {
        Ok(None)
    }
    async fn delete_app_client(&self, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn create_groups(&self, _: &str, _: &[GroupSpec]) -> CloudResult<()> {
        Ok(())
    }
    async fn delete_groups(&self, _: &str, _: &[String]) -> CloudResult<()> {
        Ok(())
    }
    async fn describe_user_pool(&self, _: &str) -> CloudResult<Option<UserPoolSettings>> {
        Ok(None)
    }
    async fn update_password_policy(&self, _: &str, _: &PasswordPolicyChange) -> CloudResult<()> {
        Ok(())
    }
    async fn set_mfa_configuration(&self, _: &str, _: MfaConfiguration) -> CloudResult<()> {
        Ok(())
    }
}

#[async_trait]
impl ContainerLogs for InstantCloud {
    async fn filter_events(&self, _: &LogFilter) -> CloudResult<LogEvents> {
        Ok(LogEvents::Page {
            events: Vec::new(),
            next_token: None,
        })
    }
}

#[async_trait]
impl SecretStore for InstantCloud {
    async fn create_secret(&self, spec: &SecretSpec) -> CloudResult<CloudResource> {
        Ok(made("secret", &spec.name))
    }
    async fn find_secret(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn delete_secret(&self, _: &str, _: bool) -> CloudResult<()> {
        Ok(())
    }
}

#[async_trait]
impl DatabaseProvisioner for InstantCloud {
    async fn create_database(&self, spec: &DatabaseSpec) -> CloudResult<CloudResource> {
        Ok(CloudResource::new(spec.database.clone()))
    }
    async fn find_database(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn drop_database(&self, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn list_databases(&self) -> CloudResult<Vec<String>> {
        Ok(Vec::new())
    }
}

#[async_trait]
impl FileStorage for InstantCloud {
    async fn create_access_point(&self, spec: &AccessPointSpec) -> CloudResult<CloudResource> {
        Ok(made("fsap", &spec.name))
    }
    async fn find_access_point(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn access_point_state(&self, _: &str) -> CloudResult<Option<String>> {
        Ok(None)
    }
    async fn delete_access_point(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn purge_directory(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
}

#[async_trait]
impl LoadBalancer for InstantCloud {
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> CloudResult<CloudResource> {
        Ok(made("tg", &spec.name))
    }
    async fn target_health(&self, _: &str) -> CloudResult<Option<Vec<TargetHealth>>> {
        Ok(None)
    }
    async fn find_target_group(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn delete_target_group(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn reserve_priority(&self, _: &str, _: &str) -> CloudResult<u32> {
        Ok(100)
    }
    async fn release_priority(&self, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn create_listener_rule(&self, spec: &ListenerRuleSpec) -> CloudResult<CloudResource> {
        Ok(made("rule", &spec.host))
    }
    async fn find_listener_rule(&self, _: &str, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn delete_listener_rule(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
}

#[async_trait]
impl Compute for InstantCloud {
    async fn register_task_definition(
        &self,
        spec: &TaskDefinitionSpec,
    ) -> CloudResult<CloudResource> {
        Ok(made("task-definition", &format!("{}:1", spec.family)))
    }
    async fn find_task_definition(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn deregister_task_definitions(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn create_service(&self, spec: &ServiceSpec) -> CloudResult<CloudResource> {
        Ok(made("service", &spec.name))
    }
    async fn describe_service(&self, _: &str, _: &str) -> CloudResult<Option<ServiceStatus>> {
        Ok(None)
    }
    async fn find_service(&self, _: &str, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn delete_service(&self, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn register_autoscaling(&self, spec: &AutoscalingSpec) -> CloudResult<CloudResource> {
        Ok(CloudResource::new(spec.resource_id.clone()))
    }
    async fn find_autoscaling(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn deregister_autoscaling(&self, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn set_desired_count(&self, _: &str, _: &str, _: u32) -> CloudResult<()> {
        Ok(())
    }
    async fn force_new_deployment(&self, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn deploy_revision(&self, _: &ServiceRollout) -> CloudResult<()> {
        Ok(())
    }
    async fn set_autoscaling(&self, _: &ScalingBounds) -> CloudResult<()> {
        Ok(())
    }
}

#[async_trait]
impl HealthProbe for InstantCloud {
    async fn check(&self, _: &HealthTarget) -> CloudResult<Health> {
        Ok(Health::Healthy)
    }
}

#[async_trait]
impl Archive for InstantCloud {
    async fn archive_database(&self, _: &str, spec: &ArchiveSpec) -> CloudResult<CloudResource> {
        Ok(CloudResource::new(format!(
            "s3://{}/{}",
            spec.bucket, spec.key
        )))
    }
    async fn archive_files(
        &self,
        _: &str,
        _: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        Ok(CloudResource::new(format!(
            "s3://{}/{}",
            spec.bucket, spec.key
        )))
    }
    async fn find_archive(&self, _: &str, _: &str) -> CloudResult<Option<CloudResource>> {
        Ok(None)
    }
    async fn restore_database(&self, _: &str, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
    async fn restore_files(&self, _: &str, _: &str, _: &str, _: &str) -> CloudResult<()> {
        Ok(())
    }
}
