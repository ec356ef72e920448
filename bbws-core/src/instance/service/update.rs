//! C4: accepting a rolling update (`PUT /v1.0/tenants/{tenantId}/instances/{instanceId}`).

use serde_json::json;

use crate::auth::{Actor, TenantAction};
use crate::error::{Error, Result};
use crate::idempotency::IdempotencyKey;
use crate::ids::{InstanceId, OperationId, TenantId};
use crate::tenant::Created;

use super::super::model::Instance;
use super::super::operation::{Operation, OperationStatus, OperationType, StepName, StepStatus};
use super::super::plan::{Plan, PlanRecorder, plan_update};
use super::super::records::UpdateRecord;
use super::super::state::InstanceState;
use super::super::update::{InstanceUpdate, UpdateTarget};
use super::{Acceptance, Accepted, InstanceService};

/// 422 unless the instance is ACTIVE.
fn updatable(current: &Instance) -> Result<()> {
    if current.state == InstanceState::Active {
        return Ok(());
    }
    Err(Error::InstanceTransition {
        message: format!(
            "Only an ACTIVE instance can be updated; this one is {}",
            current.state
        ),
        current: current.state,
        target: InstanceState::Active,
        allowed: current.state.allowed_transitions().to_vec(),
    })
}

fn target_json(t: &UpdateTarget) -> serde_json::Value {
    json!({
        "containerImage": t.container_image,
        "wordpressVersion": t.wordpress_version,
        "tier": t.tier.as_str(),
        "cpu": t.task_size.cpu(),
        "memory": t.task_size.memory(),
    })
}

impl InstanceService {
    /// C4: accepts a rolling update to a new container image, WordPress version and/or size tier
    /// (202 + operation `UPDATE`). Only an ACTIVE instance is updated (else 422 with
    /// `allowedTransitions`), and it stays ACTIVE while the update runs; an instance whose
    /// operation is still running is 409 `CONFLICT` naming it. `if_match` is the version the
    /// caller saw (`ETag`): another one is 409 `VERSION_CONFLICT`. The same `Idempotency-Key`
    /// with the same request replays the first answer.
    ///
    /// A request that changes nothing (the image, version and tier it resolves to are the ones
    /// the instance runs) is accepted as an operation that is already COMPLETED, its steps
    /// SKIPPED: a repeated `PUT` answers as the first did, and nothing is rolled out.
    pub async fn request_update(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        update: InstanceUpdate,
        if_match: Option<u64>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let now = self.ports.clock.now();
        let asked = UpdateRecord::from(&update);
        let idem = Self::idem(
            actor,
            key,
            OperationType::Update,
            &json!({
                "tenantId": tenant_id.to_string(),
                "instanceId": instance_id.to_string(),
                "type": OperationType::Update.as_str(),
                "containerImage": asked.container_image,
                "wordpressVersion": asked.wordpress_version,
                "tier": asked.tier,
            }),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        let current = self.load(tenant_id, instance_id).await?;
        if let Some(expected) = if_match
            && expected != current.version
        {
            return Err(Error::VersionConflict {
                expected,
                current: current.version,
            });
        }
        updatable(&current)?;
        // A restart, a backup or another update leaves the instance ACTIVE while it runs.
        self.ensure_idle(&current).await?;

        let repository = &self.config.image_repository;
        let from = UpdateTarget::current(&current, repository);
        let to = update.resolve(&current, repository);
        let unchanged = from == to;
        let instance = current.touched(actor.label(), now);
        let mut operation = Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            *tenant_id,
            *instance_id,
            OperationType::Update,
            &StepName::UPDATE,
            actor.label(),
            self.ports.ids.uuid().to_string(),
            now,
        );
        operation.update = Some(update);
        if unchanged {
            for s in &mut operation.steps {
                s.status = StepStatus::Skipped;
            }
            operation.status = OperationStatus::Completed;
            operation.completed_at = Some(now);
            operation.message = format!(
                "Nothing to change: the instance already runs {} (WordPress {}, {})",
                to.container_image, to.wordpress_version, to.tier
            );
            operation.recompute(now);
        }
        let details = json!({
            "instanceId": instance_id.to_string(),
            "operationId": operation.id.to_string(),
            "type": OperationType::Update.as_str(),
            "from": target_json(&from),
            "to": target_json(&to),
            "unchanged": unchanged,
        });
        let queue = (!unchanged).then(|| {
            let mut q = serde_json::Map::new();
            q.insert("containerImage".into(), json!(asked.container_image));
            q.insert("wordpressVersion".into(), json!(asked.wordpress_version));
            q.insert("tier".into(), json!(asked.tier));
            q
        });
        self.accept_operation(
            actor,
            Acceptance {
                current_version: current.version,
                instance,
                operation,
                details,
                queue,
                backup: None,
                idem,
                now,
            },
        )
        .await
    }

    /// `dryRun` of C4: the calls this update would make (a new task definition revision, the
    /// rolling `UpdateService`, the wait), from the instance's ledger; nothing is stored or
    /// changed. An update that changes nothing plans no call. Refused as the update itself
    /// would be when the instance is not ACTIVE.
    pub async fn plan_update(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        update: InstanceUpdate,
    ) -> Result<Plan> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let instance = self.load(tenant_id, instance_id).await?;
        updatable(&instance)?;
        let repository = &self.config.image_repository;
        if update.resolve(&instance, repository) == UpdateTarget::current(&instance, repository) {
            return Ok(Plan {
                source: PlanRecorder::new().describe().to_owned(),
                calls: Vec::new(),
            });
        }
        let ledger = self.ports.instances.ledger(&instance.id).await?;
        plan_update(&self.config, &instance, &ledger, update).await
    }
}
