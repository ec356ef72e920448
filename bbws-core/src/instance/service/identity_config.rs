//! C18 and C19 on the instance service: the tenant's Cognito pool read live, and a change of
//! its password policy or MFA accepted as a `CONFIGURE_IDENTITY` operation
//! ([`crate::instance::identity`]).

use serde_json::json;

use crate::auth::{Actor, TenantAction};
use crate::error::{Error, Result};
use crate::idempotency::IdempotencyKey;
use crate::ids::{InstanceId, OperationId, TenantId};
use crate::tenant::Created;

use super::container_logs::read_failed;
use super::{Acceptance, Accepted, InstanceService};
use crate::instance::identity::{IdentityChange, IdentityConfig};
use crate::instance::ledger::{ResourceType, created};
use crate::instance::model::Instance;
use crate::instance::operation::{Operation, OperationType};
use crate::instance::records::IdentityChangeRecord;
use crate::instance::state::InstanceState;

/// 409: the instance has no user pool to read (or the one on record is gone).
fn no_pool(instance: &Instance, why: String) -> Error {
    let mut details = serde_json::Map::new();
    details.insert("instanceId".into(), json!(instance.id.to_string()));
    details.insert("currentStatus".into(), json!(instance.state.as_str()));
    Error::Conflict {
        message: why,
        details,
    }
}

impl InstanceService {
    /// C18: the instance's Cognito user pool as Cognito answers now (`DescribeUserPool`,
    /// `GetUserPoolMfaConfig`): ids, hosted-UI domain, password policy and MFA. The app client
    /// is named by its id; its secret is never read here. An instance with no pool on record
    /// (not provisioned, or deprovisioned) is 409 `CONFLICT`, as is a pool on record that
    /// Cognito no longer has; a cloud that only records plans is `CLOUD_UNAVAILABLE`.
    pub async fn identity(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<IdentityConfig> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        let instance = self.load(tenant_id, instance_id).await?;
        let ledger = self.ports.instances.ledger(&instance.id).await?;
        let pool = match created(&ledger, ResourceType::CognitoPool).and_then(|e| e.id.clone()) {
            Some(p) if instance.state != InstanceState::Deprovisioned => p,
            _ => {
                return Err(no_pool(
                    &instance,
                    format!(
                        "Instance {} has no Cognito user pool (it is {}); its identity can be read once it is provisioned",
                        instance.id, instance.state
                    ),
                ));
            }
        };
        let cloud = self.live_cloud()?;
        let Some(settings) = cloud
            .identity
            .describe_user_pool(&pool)
            .await
            .map_err(|e| read_failed(&e))?
        else {
            return Err(no_pool(
                &instance,
                format!(
                    "The user pool {pool} on record for instance {} does not exist in Cognito",
                    instance.id
                ),
            ));
        };
        let pool_entry = created(&ledger, ResourceType::CognitoPool);
        Ok(IdentityConfig {
            user_pool_arn: settings
                .arn
                .or_else(|| pool_entry.and_then(|e| e.arn.clone())),
            client_id: created(&ledger, ResourceType::CognitoClient).and_then(|e| e.id.clone()),
            domain: settings.domain.or_else(|| {
                created(&ledger, ResourceType::CognitoDomain).and_then(|e| e.id.clone())
            }),
            user_pool_id: settings.id,
            password_policy: settings.password_policy,
            mfa: settings.mfa,
            checked_at: self.ports.clock.now(),
            instance,
        })
    }

    /// C19: accepts a change of the pool's password policy and/or MFA (202 + a
    /// `CONFIGURE_IDENTITY` operation holding the change, which the worker applies). Only an
    /// ACTIVE instance (else 422 with `allowedTransitions`); it stays ACTIVE. The same
    /// `Idempotency-Key` with the same change replays; with another change it is refused.
    pub async fn request_identity_configuration(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        change: IdentityChange,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let now = self.ports.clock.now();
        let op_type = OperationType::ConfigureIdentity;
        let requested = serde_json::to_value(IdentityChangeRecord::from(&change))
            .map_err(|e| Error::Internal(format!("identity change: {e}")))?;
        let idem = Self::idem(
            actor,
            key,
            op_type,
            &json!({
                "tenantId": tenant_id.to_string(),
                "instanceId": instance_id.to_string(),
                "type": op_type.as_str(),
                "change": requested,
            }),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        let current = self.load(tenant_id, instance_id).await?;
        if current.state != InstanceState::Active {
            return Err(Error::InstanceTransition {
                message: format!(
                    "Only an ACTIVE instance's identity can be configured; this one is {}",
                    current.state
                ),
                current: current.state,
                target: InstanceState::Active,
                allowed: current.state.allowed_transitions().to_vec(),
            });
        }
        self.ensure_idle(&current).await?;
        let instance = current.touched(actor.label(), now);
        let mut operation = Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            *tenant_id,
            *instance_id,
            op_type,
            &change.steps(),
            actor.label(),
            self.ports.ids.uuid().to_string(),
            now,
        );
        operation.identity = Some(change);
        let details = json!({"instanceId": instance_id.to_string(),
                             "operationId": operation.id.to_string(),
                             "type": op_type.as_str(), "change": requested});
        self.accept_operation(
            actor,
            Acceptance {
                current_version: current.version,
                instance,
                operation,
                details,
                queue: Some(serde_json::Map::new()),
                backup: None,
                idem,
                now,
            },
        )
        .await
    }
}
