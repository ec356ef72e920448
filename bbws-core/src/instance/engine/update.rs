//! The rolling update (digest 2.7 §6 "Update (rolling)" and "Vertical scale / tier change", C4).
//!
//! The instance stays ACTIVE throughout. Its task definition is registered again as the update
//! leaves the instance (the new image, WordPress version or tier's task size; everything else as
//! provisioning registers it), the service is moved onto that revision with a rolling
//! deployment (minimum healthy 100 %, maximum 200 %, circuit breaker with rollback), and the
//! engine waits until the service runs it healthy through the same health probe the lifecycle
//! uses, then checks that the service really runs the new revision (a circuit breaker that
//! rolled back ends healthy on the old one). Only then does the instance take the new values,
//! its task definition ARN (in `resources` and in the ledger), an `INSTANCE_UPDATED` audit event
//! with old → new, and the `INSTANCE_UPDATED` event.
//!
//! A failed step leaves the instance FAILED with the step's reason (§7.2: ACTIVE → FAILED on a
//! failed deployment), as a failed lifecycle operation does. A resumed run skips the steps done;
//! the registered revision is recorded as the register step's `resourceId` in the same write
//! that marks the step done, so a run resumed after it deploys that revision instead of
//! registering another.

use serde_json::{Value, json};

use crate::error::{Error, Result};

use super::super::ledger::{LedgerStatus, ResourceType};
use super::super::model::Instance;
use super::super::operation::{Operation, OperationStatus, StepName, StepStatus};
use super::super::ports::{
    CloudError, CloudErrorKind, CloudMode, CloudResource, InstanceGuard, ServiceRollout,
};
use super::super::state::InstanceState;
use super::super::update::UpdateTarget;
use super::{Run, StepFailure};

/// The published event (and audit type) of a completed update.
pub const INSTANCE_UPDATED: &str = "INSTANCE_UPDATED";

fn target_json(t: &UpdateTarget, task_definition: Option<&str>) -> Value {
    json!({
        "containerImage": t.container_image,
        "wordpressVersion": t.wordpress_version,
        "tier": t.tier.as_str(),
        "cpu": t.task_size.cpu(),
        "memory": t.task_size.memory(),
        "taskDefinitionArn": task_definition,
    })
}

impl Run<'_> {
    /// Runs (or resumes) an update operation.
    pub(super) async fn update(&self) -> Result<Operation> {
        let op = self.op().await;
        let instance = self.instance().await;
        if instance.state != InstanceState::Active {
            return Err(Error::conflict(format!(
                "Instance {} is {}, not ACTIVE as its UPDATE operation expects",
                instance.id, instance.state
            )));
        }
        let Some(change) = op.update.clone() else {
            return Err(Error::Internal(format!(
                "update operation {} does not say what to change",
                op.id
            )));
        };
        let target = change.resolve(&instance, &self.cfg().image_repository);
        if op.status == OperationStatus::Pending {
            self.update_op(|o| {
                o.status = OperationStatus::InProgress;
                "UPDATE in progress".clone_into(&mut o.message);
            })
            .await?;
        }
        let mut revision = op
            .step(StepName::RegisterRevision)
            .filter(|s| s.status == StepStatus::Done)
            .and_then(|s| s.resource_id.clone());
        for step in StepName::UPDATE {
            if self.op().await.step_done(step) {
                continue;
            }
            self.step_status(step, StepStatus::Running, None, None)
                .await?;
            let outcome = match step {
                StepName::RegisterRevision => self.register_revision(&target).await.map(Some),
                StepName::DeployRevision => self.deploy_revision(revision.as_deref()).await,
                _ => self.wait_deployed(revision.as_deref()).await,
            };
            match outcome {
                Ok(rid) => {
                    if rid.is_some() {
                        revision.clone_from(&rid);
                    }
                    self.step_status(step, StepStatus::Done, rid, None).await?;
                }
                Err(failure) => return self.lifecycle_failed(&failure).await,
            }
        }
        let Some(revision) = revision else {
            return Err(Error::Internal(format!(
                "update operation {} ended its steps without a revision",
                op.id
            )));
        };
        self.update_done(&target, &revision).await
    }

    /// The instance as the update leaves it (what the new revision is registered for).
    fn updated(instance: &Instance, target: &UpdateTarget) -> Instance {
        let mut next = instance.clone();
        next.container_image = Some(target.container_image.clone());
        next.wordpress_version.clone_from(&target.wordpress_version);
        next.tier = target.tier;
        next.task_size = target.task_size;
        next
    }

    /// `RegisterTaskDefinition` for the updated instance; the revision's ARN.
    async fn register_revision(
        &self,
        target: &UpdateTarget,
    ) -> std::result::Result<String, StepFailure> {
        let step = StepName::RegisterRevision;
        let fail = |error: CloudError| StepFailure {
            step,
            resource: Some(ResourceType::TaskDefinition),
            error,
        };
        let next = Self::updated(&self.instance().await, target);
        let spec = self.task_definition_spec(&next).map_err(fail)?;
        let compute = &self.engine.cloud.compute;
        let res = self
            .call(step, || compute.register_task_definition(&spec))
            .await
            .map_err(fail)?;
        Ok(res.id)
    }

    /// `UpdateService` onto the revision, rolling (100 % / 200 %, circuit breaker + rollback).
    async fn deploy_revision(
        &self,
        revision: Option<&str>,
    ) -> std::result::Result<Option<String>, StepFailure> {
        let step = StepName::DeployRevision;
        let fail = |error: CloudError| StepFailure {
            step,
            resource: Some(ResourceType::EcsService),
            error,
        };
        let revision = revision.ok_or_else(|| fail(no_revision()))?;
        let rollout = ServiceRollout {
            cluster: self.cfg().cluster.clone(),
            name: self.names.ecs_service.clone(),
            task_definition_arn: revision.to_owned(),
            minimum_healthy_percent: 100,
            maximum_percent: 200,
        };
        let compute = &self.engine.cloud.compute;
        self.call(step, || compute.deploy_revision(&rollout))
            .await
            .map_err(fail)?;
        Ok(None)
    }

    /// Waits until the service runs its desired count healthy, then checks that it runs
    /// `revision`: a deployment the circuit breaker rolled back ends healthy on the old one.
    async fn wait_deployed(
        &self,
        revision: Option<&str>,
    ) -> std::result::Result<Option<String>, StepFailure> {
        let step = StepName::WaitDeployment;
        let fail = |error: CloudError| StepFailure {
            step,
            resource: Some(ResourceType::EcsService),
            error,
        };
        let revision = revision.ok_or_else(|| fail(no_revision()))?;
        let desired = self.instance().await.desired_count.get();
        self.wait_for(step, desired).await?;
        if self.engine.cloud.mode == CloudMode::Plan {
            // The plan recorder knows no service to look at; the plan lists the calls.
            return Ok(None);
        }
        let cluster = self.cfg().cluster.clone();
        let service = self.names.ecs_service.clone();
        let compute = &self.engine.cloud.compute;
        let status = self
            .call(step, || compute.describe_service(&cluster, &service))
            .await
            .map_err(fail)?
            .ok_or_else(|| {
                fail(CloudError::permanent(
                    "ecs",
                    "DescribeServices",
                    format!("the service {service} is gone"),
                ))
            })?;
        // The service's task definition follows its deployments: the new revision once
        // UpdateService took it, the old one again after a circuit breaker rollback.
        let running = status.task_definition.as_str();
        if running == revision {
            Ok(None)
        } else {
            let why = status
                .deployments
                .iter()
                .find(|d| d.task_definition == revision)
                .and_then(|d| d.rollout_state_reason.clone())
                .unwrap_or_else(|| "the deployment did not complete".to_owned());
            Err(fail(CloudError::new(
                CloudErrorKind::Permanent,
                "ecs",
                "DescribeServices",
                format!(
                    "the deployment of {revision} failed and was rolled back; the service runs {running}: {why}"
                ),
            )))
        }
    }

    /// Records the new revision in the ledger and moves the instance onto the new values, with
    /// the audit event (old → new) and the published event.
    async fn update_done(&self, target: &UpdateTarget, revision: &str) -> Result<Operation> {
        let before = self.instance().await;
        let op = self.op().await;
        let now = self.now();
        let repository = self.cfg().image_repository.clone();
        let from = UpdateTarget::current(&before, &repository);
        let previous_revision = before.resources.get(&ResourceType::TaskDefinition).cloned();

        // The ledger first: writing it again on a resumed run changes nothing.
        let rt = ResourceType::TaskDefinition;
        let entry = self.entry(rt);
        let res = match entry.as_ref().and_then(|e| e.arn.as_ref()) {
            Some(_) => CloudResource::new(revision).with_arn(revision),
            None => CloudResource::new(revision),
        };
        if entry.is_none() {
            self.write_intent(rt).await?;
        }
        self.set_entry(rt, LedgerStatus::Created, Some(&res), None)
            .await?;

        let details = json!({
            "operationId": op.id.to_string(),
            "from": target_json(&from, previous_revision.as_deref()),
            "to": target_json(target, Some(revision)),
        });
        let event = json!({
            "eventType": INSTANCE_UPDATED,
            "tenantId": before.tenant_id.to_string(),
            "instanceId": before.id.to_string(),
            "operationId": op.id.to_string(),
            "timestamp": now.to_string(),
            "previous": target_json(&from, previous_revision.as_deref()),
            "current": target_json(target, Some(revision)),
            "correlationId": op.correlation_id,
        });
        let next = Self::updated(&before, target);
        self.transition(
            InstanceState::Active,
            InstanceGuard::Keep,
            Some((INSTANCE_UPDATED, details)),
            Some((INSTANCE_UPDATED, event)),
            |inst, o| {
                inst.container_image.clone_from(&next.container_image);
                inst.wordpress_version.clone_from(&next.wordpress_version);
                inst.tier = next.tier;
                inst.task_size = next.task_size;
                inst.resources.insert(rt, revision.to_owned());
                inst.last_error = None;
                o.status = OperationStatus::Completed;
                o.completed_at = Some(now);
                o.message = format!(
                    "UPDATE completed; the instance runs {} (WordPress {}, {})",
                    next.image(&repository),
                    next.wordpress_version,
                    next.tier
                );
            },
        )
        .await?;
        tracing::info!(action = "UPDATE_INSTANCE", tenant_id = %before.tenant_id, instance_id = %before.id,
            image = %target.container_image, revision, "instance updated");
        Ok(self.op().await)
    }
}

fn no_revision() -> CloudError {
    CloudError::permanent(
        "bbws",
        "update",
        "no task definition revision was registered for this update",
    )
}
