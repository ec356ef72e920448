//! [`Compute`] on ECS and Application Auto Scaling (digest §4.4 B, C, C2; §5.2 #3–4).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace, SuspendedState,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition,
    DeploymentCircuitBreaker, DeploymentConfiguration, EfsAuthorizationConfig,
    EfsAuthorizationConfigIam, EfsTransitEncryption, EfsVolumeConfiguration, HealthCheck,
    KeyValuePair, LaunchType, LoadBalancer as EcsLoadBalancer, LogConfiguration, LogDriver,
    MountPoint, NetworkConfiguration, NetworkMode, PortMapping, PropagateTags, Secret, Tag,
    TaskDefinitionStatus, TransportProtocol, Volume,
};
use bbws_core::instance::ports::{
    AutoscalingSpec, CloudError, CloudResource, CloudResult, Compute, ScalingBounds,
    ServiceDeployment, ServiceRollout, ServiceSpec, ServiceStatus, ServiceTask, Tags,
    TaskDefinitionSpec,
};
use bbws_core::time::Timestamp;

use super::database::DbEndpoint;
use super::{build_failed, classify, code_of};

const SERVICE: &str = "ecs";
const SCALING: &str = "application-autoscaling";
const CONTAINER: &str = "wordpress";

/// The ECS + auto scaling adapter.
#[derive(Debug, Clone)]
pub struct AwsCompute {
    ecs: aws_sdk_ecs::Client,
    scaling: aws_sdk_applicationautoscaling::Client,
    /// Fills `WORDPRESS_DB_HOST` when the endpoint is looked up rather than configured.
    db: Arc<dyn DbEndpoint>,
    poll: Duration,
}

fn ecs_tags(tags: &Tags) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn build<T, E: std::fmt::Display>(action: &str, r: Result<T, E>) -> CloudResult<T> {
    r.map_err(|e| build_failed(SERVICE, action, &e))
}

/// The family of a task definition ARN (`…:task-definition/{family}:{revision}`).
fn family_of(arn: &str) -> &str {
    let tail = arn.rsplit('/').next().unwrap_or(arn);
    tail.rsplit_once(':').map_or(tail, |(f, _)| f)
}

impl AwsCompute {
    pub fn new(
        ecs: aws_sdk_ecs::Client,
        scaling: aws_sdk_applicationautoscaling::Client,
        db: Arc<dyn DbEndpoint>,
    ) -> Self {
        Self {
            ecs,
            scaling,
            db,
            poll: Duration::from_secs(5),
        }
    }

    /// Every task definition ARN of `family` with `status`.
    async fn revisions(
        &self,
        family: &str,
        status: TaskDefinitionStatus,
    ) -> CloudResult<Vec<String>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .ecs
                .list_task_definitions()
                .family_prefix(family)
                .status(status.clone())
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListTaskDefinitions", &e))?;
            out.extend(
                page.task_definition_arns()
                    .iter()
                    .filter(|a| family_of(a) == family)
                    .cloned(),
            );
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    /// The service's ARN and status, if ECS knows it.
    async fn lookup_service(
        &self,
        cluster: &str,
        name: &str,
    ) -> CloudResult<Option<(String, String)>> {
        let out = match self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code_of(&e) == Some("ClusterNotFoundException") => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "DescribeServices", &e)),
        };
        Ok(out
            .services()
            .iter()
            .find_map(|s| Some((s.service_arn()?.to_owned(), s.status()?.to_owned()))))
    }
}

#[async_trait]
impl Compute for AwsCompute {
    async fn register_task_definition(
        &self,
        spec: &TaskDefinitionSpec,
    ) -> CloudResult<CloudResource> {
        let mut env = spec.environment.clone();
        if env.get("WORDPRESS_DB_HOST").is_none_or(String::is_empty) {
            env.insert("WORDPRESS_DB_HOST".to_owned(), self.db.host().await?);
        }
        let a = "RegisterTaskDefinition";
        let container = ContainerDefinition::builder()
            .name(CONTAINER)
            .image(&spec.image)
            .essential(true)
            .port_mappings(
                PortMapping::builder()
                    .container_port(80)
                    .protocol(TransportProtocol::Tcp)
                    .build(),
            )
            .mount_points(
                MountPoint::builder()
                    .source_volume("wp-content")
                    .container_path("/var/www/html/wp-content")
                    .read_only(false)
                    .build(),
            )
            .set_environment(Some(
                env.iter()
                    .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
                    .collect(),
            ))
            .secrets(build(
                a,
                Secret::builder()
                    .name("WORDPRESS_DB_USER")
                    .value_from(format!("{}:username::", spec.db_secret_arn))
                    .build(),
            )?)
            .secrets(build(
                a,
                Secret::builder()
                    .name("WORDPRESS_DB_PASSWORD")
                    .value_from(format!("{}:password::", spec.db_secret_arn))
                    .build(),
            )?)
            .health_check(build(
                a,
                HealthCheck::builder()
                    .command("CMD-SHELL")
                    .command("curl -f http://localhost/ || exit 1")
                    .interval(30)
                    .timeout(5)
                    .retries(3)
                    .start_period(60)
                    .build(),
            )?)
            .log_configuration(build(
                a,
                LogConfiguration::builder()
                    .log_driver(LogDriver::Awslogs)
                    .options("awslogs-group", &spec.log_group)
                    .options("awslogs-region", &spec.region)
                    .options("awslogs-stream-prefix", &spec.log_stream_prefix)
                    .build(),
            )?)
            .build();
        let volume = Volume::builder()
            .name("wp-content")
            .efs_volume_configuration(build(
                a,
                EfsVolumeConfiguration::builder()
                    .file_system_id(&spec.file_system_id)
                    .transit_encryption(EfsTransitEncryption::Enabled)
                    .authorization_config(
                        EfsAuthorizationConfig::builder()
                            .access_point_id(&spec.access_point_id)
                            .iam(EfsAuthorizationConfigIam::Enabled)
                            .build(),
                    )
                    .build(),
            )?)
            .build();
        let out = self
            .ecs
            .register_task_definition()
            .family(&spec.family)
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .execution_role_arn(&spec.execution_role_arn)
            .task_role_arn(&spec.task_role_arn)
            .volumes(volume)
            .container_definitions(container)
            .set_tags(Some(ecs_tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, a, &e))?;
        let arn = out
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .ok_or_else(|| build_failed(SERVICE, a, &"no ARN in the answer"))?;
        Ok(CloudResource::new(arn).with_arn(arn))
    }

    async fn find_task_definition(&self, family: &str) -> CloudResult<Option<CloudResource>> {
        let latest = self
            .revisions(family, TaskDefinitionStatus::Active)
            .await?
            .into_iter()
            .max_by_key(|a| {
                a.rsplit(':')
                    .next()
                    .and_then(|r| r.parse::<u64>().ok())
                    .unwrap_or(0)
            });
        Ok(latest.map(|arn| CloudResource::new(arn.clone()).with_arn(arn)))
    }

    async fn deregister_task_definitions(&self, family: &str) -> CloudResult<()> {
        for arn in self.revisions(family, TaskDefinitionStatus::Active).await? {
            match self
                .ecs
                .deregister_task_definition()
                .task_definition(&arn)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("ClientException") => {
                    // Already inactive (a concurrent deregistration): nothing to do.
                }
                Err(e) => return Err(classify(SERVICE, "DeregisterTaskDefinition", &e)),
            }
        }
        let inactive = self
            .revisions(family, TaskDefinitionStatus::Inactive)
            .await?;
        for chunk in inactive.chunks(10) {
            self.ecs
                .delete_task_definitions()
                .set_task_definitions(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DeleteTaskDefinitions", &e))?;
        }
        Ok(())
    }

    async fn create_service(&self, spec: &ServiceSpec) -> CloudResult<CloudResource> {
        if let Some(found) = self.find_service(&spec.cluster, &spec.name).await? {
            return Ok(found);
        }
        let a = "CreateService";
        let out = self
            .ecs
            .create_service()
            .cluster(&spec.cluster)
            .service_name(&spec.name)
            .task_definition(&spec.task_definition_arn)
            .desired_count(i32::try_from(spec.desired_count).unwrap_or(i32::MAX))
            .launch_type(LaunchType::Fargate)
            .platform_version("1.4.0")
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(build(
                        a,
                        AwsVpcConfiguration::builder()
                            .set_subnets(Some(spec.subnets.clone()))
                            .set_security_groups(Some(spec.security_groups.clone()))
                            .assign_public_ip(AssignPublicIp::Disabled)
                            .build(),
                    )?)
                    .build(),
            )
            .load_balancers(
                EcsLoadBalancer::builder()
                    .target_group_arn(&spec.target_group_arn)
                    .container_name(&spec.container_name)
                    .container_port(i32::from(spec.container_port))
                    .build(),
            )
            .health_check_grace_period_seconds(
                i32::try_from(spec.health_check_grace_period_seconds).unwrap_or(60),
            )
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .minimum_healthy_percent(
                        i32::try_from(spec.minimum_healthy_percent).unwrap_or(100),
                    )
                    .maximum_percent(i32::try_from(spec.maximum_percent).unwrap_or(200))
                    .build(),
            )
            .propagate_tags(PropagateTags::Service)
            .enable_ecs_managed_tags(true)
            .enable_execute_command(spec.enable_execute_command)
            .client_token(&spec.client_token)
            .set_tags(Some(ecs_tags(&spec.tags)))
            .send()
            .await
            .map_err(|e| classify(SERVICE, a, &e))?;
        let arn = out
            .service()
            .and_then(|s| s.service_arn())
            .ok_or_else(|| build_failed(SERVICE, a, &"no ARN in the answer"))?;
        Ok(CloudResource::new(arn).with_arn(arn))
    }

    async fn find_service(&self, cluster: &str, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self
            .lookup_service(cluster, name)
            .await?
            .filter(|(_, status)| status == "ACTIVE" || status == "DRAINING")
            .map(|(arn, _)| CloudResource::new(arn.clone()).with_arn(arn)))
    }

    async fn describe_service(
        &self,
        cluster: &str,
        name: &str,
    ) -> CloudResult<Option<ServiceStatus>> {
        let out = match self
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(name)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if code_of(&e) == Some("ClusterNotFoundException") => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "DescribeServices", &e)),
        };
        let Some(service) = out
            .services()
            .iter()
            .find(|s| matches!(s.status(), Some("ACTIVE" | "DRAINING")))
        else {
            return Ok(None);
        };
        let count = |n: i32| u32::try_from(n).unwrap_or(0);
        let deployments = service
            .deployments()
            .iter()
            .map(|d| ServiceDeployment {
                id: d.id().unwrap_or_default().to_owned(),
                status: d.status().unwrap_or_default().to_owned(),
                rollout_state: d.rollout_state().map(|r| r.as_str().to_owned()),
                rollout_state_reason: d.rollout_state_reason().map(str::to_owned),
                task_definition: d.task_definition().unwrap_or_default().to_owned(),
                desired_count: count(d.desired_count()),
                running_count: count(d.running_count()),
                pending_count: count(d.pending_count()),
            })
            .collect();
        let mut task_arns = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = self
                .ecs
                .list_tasks()
                .cluster(cluster)
                .service_name(name)
                .set_next_token(next.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListTasks", &e))?;
            task_arns.extend(page.task_arns().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_owned()),
                _ => break,
            }
        }
        let mut tasks = Vec::new();
        // DescribeTasks takes at most 100 tasks per call.
        for chunk in task_arns.chunks(100) {
            let described = self
                .ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeTasks", &e))?;
            tasks.extend(described.tasks().iter().map(|t| {
                let arn = t.task_arn().unwrap_or_default();
                ServiceTask {
                    task_id: arn.rsplit('/').next().unwrap_or(arn).to_owned(),
                    last_status: t.last_status().unwrap_or_default().to_owned(),
                    health_status: t.health_status().map(|h| h.as_str().to_owned()),
                    started_at: t
                        .started_at()
                        .and_then(|d| d.to_millis().ok())
                        .and_then(Timestamp::from_millis),
                    cpu: t.cpu().map(str::to_owned),
                    memory: t.memory().map(str::to_owned),
                    task_definition: t.task_definition_arn().map(str::to_owned),
                }
            }));
        }
        tasks.sort_by(|a, b| a.task_id.cmp(&b.task_id));
        Ok(Some(ServiceStatus {
            arn: service.service_arn().unwrap_or_default().to_owned(),
            status: service.status().unwrap_or_default().to_owned(),
            task_definition: service.task_definition().unwrap_or_default().to_owned(),
            desired_count: count(service.desired_count()),
            running_count: count(service.running_count()),
            pending_count: count(service.pending_count()),
            deployments,
            tasks,
        }))
    }

    async fn delete_service(&self, cluster: &str, name: &str) -> CloudResult<()> {
        match self.lookup_service(cluster, name).await? {
            None => return Ok(()),
            Some((_, status)) if status == "INACTIVE" => return Ok(()),
            Some((_, status)) if status == "ACTIVE" => {
                match self
                    .ecs
                    .update_service()
                    .cluster(cluster)
                    .service(name)
                    .desired_count(0)
                    .send()
                    .await
                {
                    Ok(_) => {}
                    Err(e)
                        if matches!(
                            code_of(&e),
                            Some("ServiceNotActiveException" | "ServiceNotFoundException")
                        ) => {}
                    Err(e) => return Err(classify(SERVICE, "UpdateService", &e)),
                }
            }
            Some(_) => {}
        }
        match self
            .ecs
            .delete_service()
            .cluster(cluster)
            .service(name)
            .force(true)
            .send()
            .await
        {
            Ok(_) => {}
            Err(e) if code_of(&e) == Some("ServiceNotFoundException") => return Ok(()),
            Err(e) => return Err(classify(SERVICE, "DeleteService", &e)),
        }
        // services_inactive: the engine's step timeout bounds the wait.
        loop {
            match self.lookup_service(cluster, name).await? {
                None => return Ok(()),
                Some((_, status)) if status == "INACTIVE" => return Ok(()),
                Some(_) => tokio::time::sleep(self.poll).await,
            }
        }
    }

    async fn register_autoscaling(&self, spec: &AutoscalingSpec) -> CloudResult<CloudResource> {
        let a = "RegisterScalableTarget";
        let arn = self
            .scaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&spec.resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(i32::try_from(spec.min_capacity).unwrap_or(1))
            .max_capacity(i32::try_from(spec.max_capacity).unwrap_or(10))
            .set_tags(Some(spec.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| classify(SCALING, a, &e))?
            .scalable_target_arn;
        for (name, metric, target) in [
            (
                &spec.cpu_policy_name,
                MetricType::EcsServiceAverageCpuUtilization,
                spec.cpu_target,
            ),
            (
                &spec.memory_policy_name,
                MetricType::EcsServiceAverageMemoryUtilization,
                spec.memory_target,
            ),
        ] {
            self.scaling
                .put_scaling_policy()
                .policy_name(name)
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(&spec.resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .policy_type(
                    aws_sdk_applicationautoscaling::types::PolicyType::TargetTrackingScaling,
                )
                .target_tracking_scaling_policy_configuration(
                    TargetTrackingScalingPolicyConfiguration::builder()
                        .target_value(f64::from(target))
                        .predefined_metric_specification(
                            PredefinedMetricSpecification::builder()
                                .predefined_metric_type(metric)
                                .build()
                                .map_err(|e| build_failed(SCALING, "PutScalingPolicy", &e))?,
                        )
                        .scale_in_cooldown(300)
                        .scale_out_cooldown(60)
                        .build()
                        .map_err(|e| build_failed(SCALING, "PutScalingPolicy", &e))?,
                )
                .send()
                .await
                .map_err(|e| classify(SCALING, "PutScalingPolicy", &e))?;
        }
        let mut r = CloudResource::new(spec.resource_id.clone());
        if let Some(arn) = arn {
            r = r.with_arn(arn);
        }
        Ok(r)
    }

    async fn find_autoscaling(&self, resource_id: &str) -> CloudResult<Option<CloudResource>> {
        let out = self
            .scaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(|e| classify(SCALING, "DescribeScalableTargets", &e))?;
        Ok(out
            .scalable_targets()
            .iter()
            .find(|t| t.resource_id() == resource_id)
            .map(|t| {
                let r = CloudResource::new(resource_id);
                match t.scalable_target_arn() {
                    Some(arn) => r.with_arn(arn),
                    None => r,
                }
            }))
    }

    async fn deregister_autoscaling(&self, resource_id: &str) -> CloudResult<()> {
        // Nothing registered (a second deregistration, a resumed deprovisioning): done. Asked to
        // deregister a missing target, AWS answers ObjectNotFoundException (handled below too),
        // but other endpoints (moto) answer ValidationException, which cannot be told apart from
        // a real refusal; looking first makes the repeat a no-op everywhere.
        if self.find_autoscaling(resource_id).await?.is_none() {
            return Ok(());
        }
        let policies = self
            .scaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
            .map_err(|e| classify(SCALING, "DescribeScalingPolicies", &e))?;
        for p in policies.scaling_policies() {
            match self
                .scaling
                .delete_scaling_policy()
                .policy_name(p.policy_name())
                .service_namespace(ServiceNamespace::Ecs)
                .resource_id(resource_id)
                .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("ObjectNotFoundException") => {}
                Err(e) => return Err(classify(SCALING, "DeleteScalingPolicy", &e)),
            }
        }
        match self
            .scaling
            .deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("ObjectNotFoundException") => Ok(()),
            Err(e) => Err(classify(SCALING, "DeregisterScalableTarget", &e)),
        }
    }

    async fn set_desired_count(&self, cluster: &str, name: &str, desired: u32) -> CloudResult<()> {
        let count = i32::try_from(desired).map_err(|_| {
            CloudError::permanent(SERVICE, "UpdateService", "desired count too large")
        })?;
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(name)
            .desired_count(count)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateService", &e))?;
        Ok(())
    }

    async fn force_new_deployment(&self, cluster: &str, name: &str) -> CloudResult<()> {
        self.ecs
            .update_service()
            .cluster(cluster)
            .service(name)
            .force_new_deployment(true)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateService", &e))?;
        Ok(())
    }

    async fn deploy_revision(&self, rollout: &ServiceRollout) -> CloudResult<()> {
        let a = "UpdateService";
        let percent = |n: u32| {
            i32::try_from(n)
                .map_err(|_| CloudError::permanent(SERVICE, a, "deployment percentage too large"))
        };
        self.ecs
            .update_service()
            .cluster(&rollout.cluster)
            .service(&rollout.name)
            .task_definition(&rollout.task_definition_arn)
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .minimum_healthy_percent(percent(rollout.minimum_healthy_percent)?)
                    .maximum_percent(percent(rollout.maximum_percent)?)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify(SERVICE, a, &e))?;
        Ok(())
    }

    async fn set_autoscaling(&self, bounds: &ScalingBounds) -> CloudResult<()> {
        let to_i32 = |n: u32| {
            i32::try_from(n).map_err(|_| {
                CloudError::permanent(SCALING, "RegisterScalableTarget", "capacity too large")
            })
        };
        let suspended = SuspendedState::builder()
            .dynamic_scaling_in_suspended(bounds.suspended)
            .dynamic_scaling_out_suspended(bounds.suspended)
            .scheduled_scaling_suspended(bounds.suspended)
            .build();
        self.scaling
            .register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&bounds.resource_id)
            .scalable_dimension(ScalableDimension::EcsServiceDesiredCount)
            .min_capacity(to_i32(bounds.min_capacity)?)
            .max_capacity(to_i32(bounds.max_capacity)?)
            .suspended_state(suspended)
            .send()
            .await
            .map_err(|e| classify(SCALING, "RegisterScalableTarget", &e))?;
        Ok(())
    }
}

/// A permanent error about a service that is not there (for the health probe).
pub(crate) fn no_service(cluster: &str, name: &str) -> CloudError {
    CloudError::permanent(
        SERVICE,
        "DescribeServices",
        format!("ServiceNotFoundException: {name} in {cluster}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_read_from_revision_arns() {
        assert_eq!(
            family_of("arn:aws:ecs:us-east-1:1:task-definition/tenant-ab-wordpress:7"),
            "tenant-ab-wordpress"
        );
        assert_eq!(family_of("tenant-ab-wordpress:7"), "tenant-ab-wordpress");
    }
}
