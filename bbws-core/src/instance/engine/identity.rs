//! Running a `CONFIGURE_IDENTITY` operation (digest 2.7 C19, §6 "Identity get / configure"):
//! the change stored on the operation is applied to the tenant's user pool, the password policy
//! by a read-modify-write of the pool (`DescribeUserPool` + `UpdateUserPool` with every other
//! setting carried over), then MFA (`SetUserPoolMfaConfig`). Each call is idempotent, so a
//! resumed run repeats a step that may have been cut short without harm.
//!
//! The instance stays ACTIVE throughout (the site keeps serving). A failed step fails the
//! operation (`PROV-005`) and leaves the instance ACTIVE: the pool keeps whatever the steps
//! before it set, which the operation's steps show.

use serde_json::json;

use crate::error::{Error, ErrorCode, Result};

use super::{ENGINE_ACTOR, ProvisioningEngine, Run, StepFailure};
use crate::instance::ledger::ResourceType;
use crate::instance::operation::{
    FailureReason, Operation, OperationStatus, OperationType, StepName, StepStatus,
};
use crate::instance::ports::{
    CloudError, InstanceGuard, InstanceWrite, OperationWrite, WriteExpect,
};
use crate::instance::records::IdentityChangeRecord;
use crate::instance::state::InstanceState;

/// The audit event and published event of a configured pool.
const CONFIGURED: &str = "INSTANCE_IDENTITY_CONFIGURED";
/// The audit event and published event of a configuration that failed.
const FAILED: &str = "INSTANCE_IDENTITY_CONFIGURATION_FAILED";

impl Run<'_> {
    /// Runs (or resumes) a `CONFIGURE_IDENTITY` operation.
    pub(super) async fn configure_identity(&self) -> Result<Operation> {
        let op = self.op().await;
        let instance = self.instance().await;
        if instance.state != InstanceState::Active {
            return Err(Error::conflict(format!(
                "Instance {} is {}, not ACTIVE as its {} operation expects",
                instance.id, instance.state, op.op_type
            )));
        }
        if op.status == OperationStatus::Pending {
            self.update_op(|o| {
                o.status = OperationStatus::InProgress;
                o.message = format!("{} in progress", o.op_type);
            })
            .await?;
        }
        let steps: Vec<StepName> = op.steps.iter().map(|s| s.name).collect();
        let first = steps
            .first()
            .copied()
            .unwrap_or(StepName::ConfigurePasswordPolicy);
        let fail = |step: StepName, error: CloudError| StepFailure {
            step,
            resource: Some(ResourceType::CognitoPool),
            error,
        };
        let Some(change) = op.identity.clone() else {
            let error = CloudError::permanent(
                "bbws",
                "configure-identity",
                "the operation holds no identity change",
            );
            return self.identity_failed(&fail(first, error)).await;
        };
        let pool = match self.id_of(ResourceType::CognitoPool) {
            Ok(p) => p,
            Err(error) => return self.identity_failed(&fail(first, error)).await,
        };
        let c = &self.engine.cloud;
        for step in steps {
            if self.op().await.step_done(step) {
                continue;
            }
            self.step_status(step, StepStatus::Running, None, None)
                .await?;
            let outcome = match (step, &change.password_policy, change.mfa) {
                (StepName::ConfigurePasswordPolicy, Some(policy), _) => {
                    self.call(step, || c.identity.update_password_policy(&pool, policy))
                        .await
                }
                (StepName::ConfigureMfa, _, Some(mfa)) => {
                    self.call(step, || c.identity.set_mfa_configuration(&pool, mfa))
                        .await
                }
                (other, _, _) => Err(CloudError::permanent(
                    "bbws",
                    "configure-identity",
                    format!("{other} has nothing to apply in this change"),
                )),
            };
            match outcome {
                Ok(()) => {
                    self.step_status(step, StepStatus::Done, Some(pool.clone()), None)
                        .await?;
                }
                Err(error) => return self.identity_failed(&fail(step, error)).await,
            }
        }
        self.identity_done(&pool).await
    }

    fn identity_detail(&self, op: &Operation, extra: serde_json::Value) -> serde_json::Value {
        let mut detail = json!({
            "tenantId": op.tenant_id.to_string(),
            "instanceId": op.instance_id.to_string(),
            "operationId": op.id.to_string(),
            "timestamp": self.now().to_string(),
            "change": op.identity.as_ref().map(IdentityChangeRecord::from),
        });
        if let (Some(d), serde_json::Value::Object(extra)) = (detail.as_object_mut(), extra) {
            d.extend(extra);
        }
        detail
    }

    async fn identity_done(&self, pool: &str) -> Result<Operation> {
        let op = self.op().await;
        let now = self.now();
        let detail =
            self.identity_detail(&op, json!({"eventType": CONFIGURED, "userPoolId": pool}));
        self.transition(
            InstanceState::Active,
            InstanceGuard::Keep,
            Some((CONFIGURED, detail.clone())),
            Some((CONFIGURED, detail)),
            |_, o| {
                o.status = OperationStatus::Completed;
                o.completed_at = Some(now);
                o.message = format!("{} completed; the user pool is configured", o.op_type);
            },
        )
        .await?;
        tracing::info!(action = CONFIGURED, tenant_id = %op.tenant_id, instance_id = %op.instance_id, "identity configured");
        Ok(self.op().await)
    }

    async fn identity_failed(&self, failure: &StepFailure) -> Result<Operation> {
        let reason = failure.reason();
        let op = self.op().await;
        let now = self.now();
        let step = failure.step;
        let msg = failure.error.to_string();
        let attempts = super::lock(&self.attempts).get(&step).copied().unwrap_or(0);
        let detail = self.identity_detail(
            &op,
            json!({"eventType": FAILED, "step": step.as_str(), "error": reason.message}),
        );
        self.transition(
            InstanceState::Active,
            InstanceGuard::Keep,
            Some((FAILED, detail.clone())),
            Some((FAILED, detail)),
            |_, o| {
                o.status = OperationStatus::Failed;
                o.error = Some(reason.clone());
                o.completed_at = Some(now);
                o.message.clone_from(&reason.message);
                if let Some(s) = o.step_mut(step) {
                    s.status = StepStatus::Failed;
                    s.attempts = s.attempts.max(attempts);
                    s.error = Some(msg);
                    s.completed_at = Some(now);
                }
            },
        )
        .await?;
        tracing::warn!(action = FAILED, tenant_id = %op.tenant_id, instance_id = %op.instance_id, step = %step, error = %reason.message, "identity configuration failed");
        Ok(self.op().await)
    }
}

impl ProvisioningEngine {
    /// A `CONFIGURE_IDENTITY` operation on a cloud that cannot carry it out: the operation ends
    /// FAILED with `CLOUD_UNAVAILABLE`; the instance stays ACTIVE (nothing was changed).
    pub(super) async fn refuse_identity(&self, op: &Operation, message: &str) -> Result<()> {
        debug_assert_eq!(op.op_type, OperationType::ConfigureIdentity);
        let Some(current) = self
            .store
            .get_instance(&op.tenant_id, &op.instance_id)
            .await?
        else {
            return Ok(());
        };
        let now = self.clock.now();
        let instance = current.touched(ENGINE_ACTOR, now);
        let mut next = op.clone();
        next.status = OperationStatus::Failed;
        next.error = Some(FailureReason {
            code: ErrorCode::CloudUnavailable,
            message: message.to_owned(),
            resources: Vec::new(),
        });
        next.message = message.to_owned();
        next.completed_at = Some(now);
        next.version = op.version + 1;
        next.lease = None;
        next.recompute(now);
        self.store
            .write_instance(InstanceWrite {
                backup: None,
                instance,
                expect: WriteExpect::Version(current.version),
                guard: InstanceGuard::Keep,
                operation: Some(OperationWrite {
                    operation: next,
                    expect: WriteExpect::Version(op.version),
                }),
                audit: None,
                events: Vec::new(),
                idempotency: None,
            })
            .await
    }
}
