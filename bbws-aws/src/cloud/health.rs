//! [`HealthProbe`] on ECS and ELBv2 (digest §4.4 D): the PRIMARY deployment has completed,
//! `runningCount == desiredCount`, and every registered target is `healthy` (at least
//! `desiredCount` of them). A failed rollout (circuit breaker) is unhealthy for good.

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;
use bbws_core::instance::ports::{CloudResult, Health, HealthProbe, HealthTarget};

use super::classify;

/// The health probe.
#[derive(Debug, Clone)]
pub struct AwsHealth {
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
}

impl AwsHealth {
    pub fn new(ecs: aws_sdk_ecs::Client, elb: aws_sdk_elasticloadbalancingv2::Client) -> Self {
        Self { ecs, elb }
    }
}

#[async_trait]
impl HealthProbe for AwsHealth {
    async fn check(&self, target: &HealthTarget) -> CloudResult<Health> {
        let out = self
            .ecs
            .describe_services()
            .cluster(&target.cluster)
            .services(&target.service_name)
            .send()
            .await
            .map_err(|e| classify("ecs", "DescribeServices", &e))?;
        let Some(service) = out.services().iter().find(|s| s.status() == Some("ACTIVE")) else {
            return Err(super::ecs::no_service(
                &target.cluster,
                &target.service_name,
            ));
        };
        let deployments = service.deployments();
        let primary = deployments.iter().find(|d| d.status() == Some("PRIMARY"));
        match primary.and_then(|d| d.rollout_state().map(|s| (d, s.as_str().to_owned()))) {
            Some((d, state)) if state == "FAILED" => {
                return Ok(Health::Unhealthy(format!(
                    "the deployment failed: {}",
                    d.rollout_state_reason().unwrap_or("no reason given")
                )));
            }
            Some((_, state)) if state != "COMPLETED" => {
                return Ok(Health::Starting(format!("deployment {state}")));
            }
            None if deployments.len() > 1 => {
                return Ok(Health::Starting(format!(
                    "{} deployments in progress",
                    deployments.len()
                )));
            }
            _ => {}
        }
        let want = i32::try_from(target.desired_count).unwrap_or(i32::MAX);
        if service.running_count() < want {
            return Ok(Health::Starting(format!(
                "{} of {want} tasks running",
                service.running_count()
            )));
        }
        let th = self
            .elb
            .describe_target_health()
            .target_group_arn(&target.target_group_arn)
            .send()
            .await
            .map_err(|e| classify("elasticloadbalancing", "DescribeTargetHealth", &e))?;
        let targets = th.target_health_descriptions();
        let healthy = targets
            .iter()
            .filter(|t| {
                t.target_health().and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Healthy)
            })
            .count();
        if healthy == targets.len() && i32::try_from(healthy).unwrap_or(i32::MAX) >= want {
            Ok(Health::Healthy)
        } else {
            Ok(Health::Starting(format!(
                "{healthy} of {} targets healthy (want {want})",
                targets.len()
            )))
        }
    }
}
