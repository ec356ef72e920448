//! `InstanceService`: the synchronous side of the instance API (C1–C3, C5, C20): accept a
//! provisioning or deprovisioning (202 + operation), read instances, operations and the ledger.
//! The work itself runs in [`super::ProvisioningEngine`], driven by a worker.

mod container_logs;
mod identity_config;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::audit::AuditEvent;
use crate::auth::{Actor, TenantAction};
use crate::error::{Error, ErrorCode, Result};
use crate::events::OutboxMessage;
use crate::idempotency::{IDEMPOTENCY_TTL, IdempotencyKey, request_fingerprint};
use crate::ids::{EventId, IdGenerator, InstanceId, OperationId, TenantId};
use crate::ports::TenantDao;
use crate::tenant::{Created, Reason, TenantStatus};
use crate::time::{Clock, Timestamp};

use super::engine::INSTANCE_SOURCE;
use super::engine::lifecycle_states;
use super::ledger::LedgerEntry;
use super::live::{InstanceHealth, InstanceStatus, LiveReader};
use super::model::{Instance, NewInstance};
use super::naming::PlatformConfig;
use super::operation::{DeprovisionOptions, Operation, OperationType, StepName};
use super::plan::{Plan, plan_deprovisioning, plan_provisioning};
use super::ports::{
    InstanceBackend, InstanceCloud, InstanceGuard, InstanceIdempotency, InstanceWrite,
    OperationWrite, WriteExpect,
};
use super::state::InstanceState;
use super::terraform::TerraformFiles;
use super::worker::QueueKind;

mod update;

/// The ports the service needs.
#[derive(Debug, Clone)]
pub struct InstancePorts {
    pub instances: Arc<dyn InstanceBackend>,
    pub tenants: Arc<dyn TenantDao>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
}

/// A lifecycle change of an instance (digest 2.7 §6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LifecycleRequest {
    /// C9 (C7 stop): the service to 0 tasks, autoscaling paused; data kept.
    Suspend { reason: Reason },
    /// C10 (C7 start): the stored desired count back.
    Resume,
    /// C11 (tenant parked): as suspend, in the PARKING/PARKED states.
    Park { reason: Reason },
    /// C12.
    Unpark,
    /// C8: a new desired count (the platform's bounds), stored when it is reached.
    Scale { desired_count: u32 },
    /// C16: a rolling restart (a new deployment of the same task definition).
    Restart,
}

impl LifecycleRequest {
    /// The change a frontend names: `action` is `suspend`, `resume`, `park`, `unpark`, `scale`
    /// or `restart`; suspend and park need a `reason` (10–500 characters), scale a
    /// `desired_count` (a negative or huge one is `SCALE_LIMIT_EXCEEDED`, as one above the
    /// platform's bounds is when the change is requested).
    pub fn parse(action: &str, reason: Option<&str>, desired_count: Option<i64>) -> Result<Self> {
        Ok(match action {
            "suspend" => Self::Suspend {
                reason: Reason::parse(reason, "Suspension reason")?,
            },
            "park" => Self::Park {
                reason: Reason::parse(reason, "Park reason")?,
            },
            "resume" => Self::Resume,
            "unpark" => Self::Unpark,
            "restart" => Self::Restart,
            "scale" => {
                let n = desired_count.ok_or_else(|| {
                    Error::field("desiredCount", "desiredCount is required to scale")
                })?;
                Self::Scale {
                    desired_count: u32::try_from(n).map_err(|_| {
                        Error::business(
                            ErrorCode::ScaleLimitExceeded,
                            format!("desiredCount {n} is outside the platform's bounds"),
                        )
                    })?,
                }
            }
            other => {
                return Err(Error::field(
                    "action",
                    format!(
                        "Unknown action {other}: suspend, resume, park, unpark, scale or restart"
                    ),
                ));
            }
        })
    }

    pub const fn operation_type(&self) -> OperationType {
        match self {
            Self::Suspend { .. } => OperationType::Suspend,
            Self::Resume => OperationType::Resume,
            Self::Park { .. } => OperationType::Park,
            Self::Unpark => OperationType::Unpark,
            Self::Scale { .. } => OperationType::Scale,
            Self::Restart => OperationType::Restart,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Suspend { reason } | Self::Park { reason } => Some(reason.as_str()),
            _ => None,
        }
    }

    pub const fn desired_count(&self) -> Option<u32> {
        match self {
            Self::Scale { desired_count } => Some(*desired_count),
            _ => None,
        }
    }
}

/// An accepted request: the instance as it now is and the operation that will do the work
/// (rendered as 202 with `operationId` and `_links.operation`).
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub instance: Instance,
    pub operation: Operation,
}

/// An accepted lifecycle-like operation (a lifecycle change, an update, an identity
/// configuration, a backup, a restore) as [`InstanceService::accept_operation`] writes it.
pub(super) struct Acceptance {
    /// The instance as read (its version is the write's condition).
    pub current_version: u64,
    /// The instance as it will be.
    pub instance: Instance,
    pub operation: Operation,
    /// The audit event's details (`INSTANCE_{type}_REQUESTED`).
    pub details: Value,
    /// Fields the queue message carries beyond the common ones; `None` for an operation that is
    /// already done and queues nothing.
    pub queue: Option<serde_json::Map<String, Value>>,
    pub backup: Option<super::backup::BackupWrite>,
    pub idem: Option<(String, String)>,
    pub now: Timestamp,
}

/// The instance use cases.
#[derive(Debug, Clone)]
pub struct InstanceService {
    pub(super) ports: InstancePorts,
    config: PlatformConfig,
    idempotency_ttl: Duration,
    /// The cloud the live reads (status, health) ask; without it they answer unknown.
    cloud: Option<InstanceCloud>,
}

impl InstanceService {
    pub fn new(ports: InstancePorts, config: PlatformConfig) -> Self {
        Self {
            ports,
            config,
            idempotency_ttl: IDEMPOTENCY_TTL,
            cloud: None,
        }
    }

    /// The cloud the live reads (C6 status, C17 health) ask.
    #[must_use]
    pub fn with_cloud(mut self, cloud: InstanceCloud) -> Self {
        self.cloud = Some(cloud);
        self
    }

    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    pub(super) fn audit(
        &self,
        tenant: TenantId,
        t: &str,
        actor: &Actor,
        at: Timestamp,
        d: Value,
    ) -> AuditEvent {
        AuditEvent {
            event_id: EventId::generate(self.ports.ids.as_ref()),
            tenant_id: tenant,
            event_type: t.to_owned(),
            timestamp: at,
            actor: actor.label().to_owned(),
            details: d,
        }
    }

    pub(super) fn event(
        &self,
        tenant: TenantId,
        t: &str,
        at: Timestamp,
        d: Value,
    ) -> OutboxMessage {
        OutboxMessage {
            id: EventId::generate(self.ports.ids.as_ref()),
            source: INSTANCE_SOURCE.to_owned(),
            detail_type: t.to_owned(),
            time: at,
            tenant_id: Some(tenant),
            detail: d,
        }
    }

    /// The replay of an earlier request with the same key, if any.
    /// The answer when the same key won a race to the write: the winner's, replayed.
    /// The idempotency record of an accepted request, when it came with a key.
    pub(super) fn idempotency_record(
        &self,
        idem: Option<&(String, String)>,
        tenant_id: TenantId,
        instance_id: InstanceId,
        operation_id: OperationId,
        now: Timestamp,
    ) -> Option<InstanceIdempotency> {
        idem.map(|(scoped, fp)| InstanceIdempotency {
            key: scoped.clone(),
            fingerprint: fp.clone(),
            tenant_id,
            instance_id,
            operation_id,
            created_at: now,
            expires_at: now.plus(self.idempotency_ttl),
        })
    }

    /// Writes an accepted request (instance, operation, audit, event and idempotency record in
    /// one transaction). When the same key won a race meanwhile, answers as that request did.
    pub(super) async fn commit(
        &self,
        write: InstanceWrite,
        accepted: Accepted,
        idem: Option<&(String, String)>,
        now: Timestamp,
        action: &str,
    ) -> Result<Created<Accepted>> {
        match self.ports.instances.write_instance(write).await {
            Ok(()) => {
                tracing::info!(action, tenant_id = %accepted.instance.tenant_id,
                    instance_id = %accepted.instance.id, operation_id = %accepted.operation.id,
                    "instance operation accepted");
                Ok(Created {
                    value: accepted,
                    replayed: false,
                })
            }
            Err(Error::IdempotencyKeyReused) => self.lost_key_race(idem, now).await,
            Err(e) => Err(e),
        }
    }

    /// Writes an accepted operation: the instance (pointing at the operation), the PENDING
    /// operation, the audit event, `INSTANCE_LIFECYCLE_REQUESTED` for the worker, a new backup
    /// and the idempotency record, in one transaction. When the same key won a race meanwhile,
    /// answers as that request did.
    pub(super) async fn accept_operation(
        &self,
        actor: &Actor,
        a: Acceptance,
    ) -> Result<Created<Accepted>> {
        let Acceptance {
            current_version,
            mut instance,
            operation,
            details,
            queue,
            backup,
            idem,
            now,
        } = a;
        let op_type = operation.op_type;
        let (tenant_id, instance_id) = (instance.tenant_id, instance.id);
        instance.current_operation = Some(operation.id);
        let events = queue
            .map(|extra| {
                let mut detail = serde_json::Map::new();
                for (k, v) in [
                    (
                        "eventType",
                        json!(QueueKind::for_operation(op_type).event_type()),
                    ),
                    ("tenantId", json!(tenant_id.to_string())),
                    ("instanceId", json!(instance_id.to_string())),
                    ("operationId", json!(operation.id.to_string())),
                    ("requestedBy", json!(actor.label())),
                    ("correlationId", json!(operation.correlation_id)),
                ] {
                    detail.insert(k.to_owned(), v);
                }
                detail.extend(extra);
                self.event(
                    tenant_id,
                    super::worker::LIFECYCLE_REQUESTED,
                    now,
                    Value::Object(detail),
                )
            })
            .into_iter()
            .collect();
        let write = InstanceWrite {
            instance: instance.clone(),
            expect: WriteExpect::Version(current_version),
            guard: InstanceGuard::Keep,
            operation: Some(OperationWrite {
                operation: operation.clone(),
                expect: WriteExpect::Absent,
            }),
            audit: Some(self.audit(
                tenant_id,
                &format!("INSTANCE_{op_type}_REQUESTED"),
                actor,
                now,
                details,
            )),
            events,
            idempotency: self.idempotency_record(
                idem.as_ref(),
                tenant_id,
                instance_id,
                operation.id,
                now,
            ),
            backup,
        };
        let accepted = Accepted {
            instance,
            operation,
        };
        let action = format!("{op_type}_INSTANCE");
        self.commit(write, accepted, idem.as_ref(), now, &action)
            .await
    }

    async fn lost_key_race(
        &self,
        idem: Option<&(String, String)>,
        now: Timestamp,
    ) -> Result<Created<Accepted>> {
        match idem {
            Some((scoped, fp)) => self
                .replayed(scoped, fp, now)
                .await?
                .ok_or(Error::IdempotencyKeyReused),
            None => Err(Error::Internal("idempotency conflict without a key".into())),
        }
    }

    /// The scoped key and fingerprint of a request with an `Idempotency-Key`.
    pub(super) fn idem(
        actor: &Actor,
        key: Option<&IdempotencyKey>,
        op_type: OperationType,
        canonical: &serde_json::Value,
    ) -> Option<(String, String)> {
        key.map(|k| {
            (
                k.scoped(&format!("{op_type}_INSTANCE"), actor.sub()),
                request_fingerprint(&canonical.to_string()),
            )
        })
    }

    pub(super) async fn replayed(
        &self,
        scoped: &str,
        fingerprint: &str,
        now: Timestamp,
    ) -> Result<Option<Created<Accepted>>> {
        let Some(done) = self
            .ports
            .instances
            .get_instance_idempotency(scoped, now)
            .await?
        else {
            return Ok(None);
        };
        if done.fingerprint != fingerprint {
            return Err(Error::IdempotencyKeyReused);
        }
        let operation = self.load_operation(&done.operation_id).await?;
        let instance = self.load(&done.tenant_id, &done.instance_id).await?;
        Ok(Some(Created {
            value: Accepted {
                instance,
                operation,
            },
            replayed: true,
        }))
    }

    pub(super) async fn load(&self, tenant: &TenantId, id: &InstanceId) -> Result<Instance> {
        self.ports
            .instances
            .get_instance(tenant, id)
            .await?
            .ok_or_else(|| Error::InstanceNotFound {
                tenant_id: tenant.to_string(),
                instance_id: id.to_string(),
            })
    }

    /// Every instance of the tenant, oldest first, whatever the tenant's status (for the
    /// system's own follow-ups, which may run after the tenant was deprovisioned).
    pub(super) async fn instances_of(&self, tenant: &TenantId) -> Result<Vec<Instance>> {
        self.ports.instances.list_instances(tenant).await
    }

    pub(super) async fn load_operation(&self, id: &OperationId) -> Result<Operation> {
        self.ports
            .instances
            .get_operation(id)
            .await?
            .ok_or_else(|| Error::OperationNotFound {
                operation_id: id.to_string(),
            })
    }

    /// BR-001: the tenant exists and is not deprovisioned.
    async fn live_tenant(&self, tenant: &TenantId) -> Result<crate::tenant::Tenant> {
        let t = self
            .ports
            .tenants
            .get_tenant(tenant)
            .await?
            .ok_or_else(|| Error::tenant_not_found(tenant))?;
        if t.status == TenantStatus::Deprovisioned {
            return Err(Error::TenantDeprovisioned {
                tenant_id: tenant.to_string(),
            });
        }
        Ok(t)
    }

    fn conflict_with(existing: &Instance) -> Error {
        let mut details = serde_json::Map::new();
        details.insert("instanceId".into(), json!(existing.id.to_string()));
        details.insert("currentStatus".into(), json!(existing.state.as_str()));
        Error::Conflict {
            message: format!(
                "Tenant {} already has an instance ({}, {})",
                existing.tenant_id, existing.id, existing.state
            ),
            details,
        }
    }

    fn new_instance(
        &self,
        tenant: &crate::tenant::Tenant,
        req: NewInstance,
        actor: &Actor,
        now: Timestamp,
    ) -> Instance {
        let mut instance = Instance::new(
            InstanceId::generate(self.ports.ids.as_ref()),
            tenant.id,
            tenant.environment,
            req,
            &self.config.domain_suffix,
            actor.label(),
            now,
        );
        instance.container_image = Some(instance.image(&self.config.image_repository));
        instance
    }

    /// C2: accepts a provisioning (202). Creates the instance in `PENDING_PROVISIONING` and its
    /// PENDING operation, claims the tenant's one-active-instance guard and the resource key,
    /// and queues `INSTANCE_PROVISIONING_REQUESTED` for the worker, in one write. A second
    /// provisioning while an instance exists is a 409 `CONFLICT` naming it; the same
    /// `Idempotency-Key` with the same request replays the first answer.
    pub async fn request_provisioning(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        req: NewInstance,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let now = self.ports.clock.now();
        let idem = Self::idem(
            actor,
            key,
            OperationType::Provision,
            &json!({
                "tenantId": tenant_id.to_string(),
                "tier": req.tier.as_str(),
                "cpu": req.task_size.map(super::values::TaskSize::cpu),
                "memory": req.task_size.map(super::values::TaskSize::memory),
                "desiredCount": req.desired_count.get(),
                "wordpressVersion": req.wordpress_version,
                "opportunityId": req.opportunity.as_ref().map(|o| o.as_str().to_owned()),
                "resourceKey": req.resource_key.as_ref().map(|k| k.as_str().to_owned()),
            }),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        let tenant = self.live_tenant(tenant_id).await?;
        if let Some(existing) = self.ports.instances.active_instance(tenant_id).await? {
            return Err(Self::conflict_with(&existing));
        }
        if req.desired_count.get() < self.config.min_tasks {
            return Err(Error::field(
                "desiredCount",
                format!(
                    "desiredCount must be between {} and 10",
                    self.config.min_tasks
                ),
            ));
        }
        let mut instance = self.new_instance(&tenant, req, actor, now);
        let correlation = self.ports.ids.uuid().to_string();
        let operation = Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            tenant.id,
            instance.id,
            OperationType::Provision,
            &StepName::PROVISION,
            actor.label(),
            correlation.clone(),
            now,
        );
        instance.current_operation = Some(operation.id);
        let write = InstanceWrite {
            backup: None,
            instance: instance.clone(),
            expect: WriteExpect::Absent,
            guard: InstanceGuard::Claim,
            operation: Some(OperationWrite {
                operation: operation.clone(),
                expect: WriteExpect::Absent,
            }),
            audit: Some(self.audit(
                tenant.id,
                "INSTANCE_PROVISIONING_REQUESTED",
                actor,
                now,
                json!({"instanceId": instance.id.to_string(), "operationId": operation.id.to_string(),
                       "tier": instance.tier.as_str(), "resourceKey": instance.resource_key.as_str()}),
            )),
            events: vec![self.event(
                tenant.id,
                "INSTANCE_PROVISIONING_REQUESTED",
                now,
                json!({"eventType": "START_CLUSTER_CREATION", "tenantId": tenant.id.to_string(),
                       "instanceId": instance.id.to_string(), "operationId": operation.id.to_string(),
                       "organizationName": tenant.organization_name.as_str(),
                       "contactEmail": tenant.contact_email.as_str(),
                       "requestedBy": actor.label(), "timestamp": now.to_string(),
                       "correlationId": correlation}),
            )],
            idempotency: self.idempotency_record(idem.as_ref(), tenant.id, instance.id, operation.id, now),
        };
        let accepted = Accepted {
            instance,
            operation,
        };
        self.commit(write, accepted, idem.as_ref(), now, "PROVISION_INSTANCE")
            .await
    }

    /// Retries a FAILED provisioning (US-2.7-005): FAILED → `PENDING_PROVISIONING` with a new
    /// operation; the engine resumes from the ledger and creates nothing twice.
    pub async fn retry_provisioning(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<Accepted> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        self.live_tenant(tenant_id).await?;
        let current = self.load(tenant_id, instance_id).await?;
        let now = self.ports.clock.now();
        let mut instance = current.moved(InstanceState::PendingProvisioning, actor.label(), now)?;
        let operation = Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            *tenant_id,
            *instance_id,
            OperationType::Provision,
            &StepName::PROVISION,
            actor.label(),
            self.ports.ids.uuid().to_string(),
            now,
        );
        instance.current_operation = Some(operation.id);
        instance.last_error = None;
        self.ports
            .instances
            .write_instance(InstanceWrite {
                backup: None,
                instance: instance.clone(),
                expect: WriteExpect::Version(current.version),
                guard: InstanceGuard::Keep,
                operation: Some(OperationWrite {
                    operation: operation.clone(),
                    expect: WriteExpect::Absent,
                }),
                audit: Some(self.audit(
                    *tenant_id,
                    "INSTANCE_PROVISIONING_RETRIED",
                    actor,
                    now,
                    json!({"instanceId": instance_id.to_string(), "operationId": operation.id.to_string()}),
                )),
                events: vec![self.event(
                    *tenant_id,
                    "INSTANCE_PROVISIONING_REQUESTED",
                    now,
                    json!({"eventType": "START_CLUSTER_CREATION", "tenantId": tenant_id.to_string(),
                           "instanceId": instance_id.to_string(), "operationId": operation.id.to_string(),
                           "correlationId": operation.correlation_id}),
                )],
                idempotency: None,
            })
            .await?;
        Ok(Accepted {
            instance,
            operation,
        })
    }

    /// C5: accepts a deprovisioning (202) from ACTIVE, SUSPENDED, PARKED, FAILED or
    /// `WORKFLOW_FAILED` (else 422 with the allowed transitions). Re-issued after a failed
    /// deprovisioning it resumes at the first object not yet deleted.
    pub async fn request_deprovisioning(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        options: DeprovisionOptions,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Delete)?;
        let now = self.ports.clock.now();
        let idem = Self::idem(
            actor,
            key,
            OperationType::Deprovision,
            &json!({
                "tenantId": tenant_id.to_string(),
                "instanceId": instance_id.to_string(),
                "archiveData": options.archive_data,
                "reason": options.reason,
            }),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        let current = self.load(tenant_id, instance_id).await?;
        let mut instance =
            current.moved(InstanceState::PendingDeprovisioning, actor.label(), now)?;
        let mut operation = Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            *tenant_id,
            *instance_id,
            OperationType::Deprovision,
            &StepName::DEPROVISION,
            actor.label(),
            self.ports.ids.uuid().to_string(),
            now,
        );
        operation.deprovision = Some(options.clone());
        instance.current_operation = Some(operation.id);
        let write = InstanceWrite {
            backup: None,
            instance: instance.clone(),
            expect: WriteExpect::Version(current.version),
            guard: InstanceGuard::Keep,
            operation: Some(OperationWrite {
                operation: operation.clone(),
                expect: WriteExpect::Absent,
            }),
            audit: Some(self.audit(
                *tenant_id,
                "INSTANCE_DEPROVISIONING_REQUESTED",
                actor,
                now,
                json!({"instanceId": instance_id.to_string(), "operationId": operation.id.to_string(),
                       "archiveData": options.archive_data, "reason": options.reason}),
            )),
            events: vec![self.event(
                *tenant_id,
                "INSTANCE_DEPROVISIONING_REQUESTED",
                now,
                json!({"eventType": "START_CLUSTER_DELETION", "tenantId": tenant_id.to_string(),
                       "instanceId": instance_id.to_string(), "operationId": operation.id.to_string(),
                       "archiveData": options.archive_data, "reason": options.reason,
                       "requestedBy": actor.label(), "correlationId": operation.correlation_id}),
            )],
            idempotency: self.idempotency_record(idem.as_ref(), *tenant_id, *instance_id, operation.id, now),
        };
        let accepted = Accepted {
            instance,
            operation,
        };
        self.commit(write, accepted, idem.as_ref(), now, "DEPROVISION_INSTANCE")
            .await
    }

    /// C7–C12, C16: accepts a lifecycle change (202 + operation). The instance moves to its
    /// in-between state (SUSPENDING, RESUMING, PARKING, UNPARKING, SCALING; a restart keeps it
    /// ACTIVE) in the same write as the PENDING operation, its audit event and
    /// `INSTANCE_LIFECYCLE_REQUESTED` for the worker. A state that does not allow the change is
    /// 422 with `allowedTransitions`; a count outside the platform's bounds is 422
    /// `SCALE_LIMIT_EXCEEDED`. The same `Idempotency-Key` with the same request replays.
    pub async fn request_lifecycle(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        req: LifecycleRequest,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let now = self.ports.clock.now();
        let op_type = req.operation_type();
        let idem = Self::idem(
            actor,
            key,
            op_type,
            &json!({
                "tenantId": tenant_id.to_string(),
                "instanceId": instance_id.to_string(),
                "type": op_type.as_str(),
                "reason": req.reason(),
                "desiredCount": req.desired_count(),
            }),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        if let Some(n) = req.desired_count()
            && !(self.config.min_tasks..=self.config.max_tasks).contains(&n)
        {
            return Err(Error::business(
                ErrorCode::ScaleLimitExceeded,
                format!(
                    "desiredCount must be between {} and {}, not {n}",
                    self.config.min_tasks, self.config.max_tasks
                ),
            ));
        }
        let current = self.load(tenant_id, instance_id).await?;
        let (during, _) = lifecycle_states(op_type);
        // A restart or a backup leaves the state as it is while it runs: wait for it.
        self.ensure_idle(&current).await?;
        let instance = if op_type == OperationType::Restart {
            if current.state != InstanceState::Active {
                return Err(Error::InstanceTransition {
                    message: format!(
                        "Only an ACTIVE instance can be restarted; this one is {}",
                        current.state
                    ),
                    current: current.state,
                    target: InstanceState::Active,
                    allowed: current.state.allowed_transitions().to_vec(),
                });
            }
            current.touched(actor.label(), now)
        } else {
            current.moved(during, actor.label(), now)?
        };
        let mut operation = Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            *tenant_id,
            *instance_id,
            op_type,
            StepName::for_type(op_type),
            actor.label(),
            self.ports.ids.uuid().to_string(),
            now,
        );
        operation.reason = req.reason().map(str::to_owned);
        operation.target_count = req.desired_count();
        let details = json!({"instanceId": instance_id.to_string(), "operationId": operation.id.to_string(),
                             "type": op_type.as_str(), "reason": req.reason(),
                             "previousCount": current.desired_count.get(), "desiredCount": req.desired_count()});
        let mut queue = serde_json::Map::new();
        queue.insert("reason".into(), json!(req.reason()));
        queue.insert("desiredCount".into(), json!(req.desired_count()));
        self.accept_operation(
            actor,
            Acceptance {
                current_version: current.version,
                instance,
                operation,
                details,
                queue: Some(queue),
                backup: None,
                idem,
                now,
            },
        )
        .await
    }

    /// C3.
    pub async fn get(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<Instance> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        self.load(tenant_id, instance_id).await
    }

    /// C6: the live running status: the stored state with the ECS service's counts,
    /// deployments and tasks as ECS answers now (`DescribeServices`, `ListTasks`,
    /// `DescribeTasks`). ECS failing to answer is part of the answer, not an error.
    pub async fn status(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<InstanceStatus> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        let instance = self.load(tenant_id, instance_id).await?;
        let ledger = self.ports.instances.ledger(&instance.id).await?;
        let service = self.reader(&instance, &ledger).service().await;
        Ok(InstanceStatus {
            instance,
            service,
            checked_at: self.ports.clock.now(),
        })
    }

    /// C17: the composite health over the ECS service, its targets, the EFS access point, the
    /// tenant database and the Cognito pool, as far as the instance's state has them. A
    /// component that cannot be asked is UNKNOWN with the reason.
    pub async fn health(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<InstanceHealth> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        let instance = self.load(tenant_id, instance_id).await?;
        let ledger = self.ports.instances.ledger(&instance.id).await?;
        let (status, components) = self.reader(&instance, &ledger).health().await;
        Ok(InstanceHealth {
            instance,
            status,
            components,
            checked_at: self.ports.clock.now(),
        })
    }

    fn reader<'a>(&'a self, instance: &'a Instance, ledger: &'a [LedgerEntry]) -> LiveReader<'a> {
        LiveReader {
            cloud: self.cloud.as_ref(),
            config: &self.config,
            instance,
            ledger,
        }
    }

    /// C1: every instance of the tenant, oldest first.
    pub async fn list(&self, actor: &Actor, tenant_id: &TenantId) -> Result<Vec<Instance>> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        self.live_tenant(tenant_id).await?;
        self.ports.instances.list_instances(tenant_id).await
    }

    /// C20. An operation of a tenant outside the caller's scope is `OPERATION_NOT_FOUND`.
    pub async fn operation(&self, actor: &Actor, id: &OperationId) -> Result<Operation> {
        let op = self.load_operation(id).await?;
        match actor.authorize(&op.tenant_id, TenantAction::Read) {
            Ok(_) => Ok(op),
            Err(Error::TenantNotFound { .. }) => Err(Error::OperationNotFound {
                operation_id: id.to_string(),
            }),
            Err(e) => Err(e),
        }
    }

    /// The resource ledger of an instance, in creation order.
    pub async fn ledger(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<Vec<LedgerEntry>> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        let instance = self.load(tenant_id, instance_id).await?;
        self.ports.instances.ledger(&instance.id).await
    }

    /// C21: the tenant's Terraform for the `GitOps` variant ([`super::terraform`]). It names the
    /// platform's shared resources, so it takes the right to provision, not just to read.
    pub async fn terraform(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<TerraformFiles> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let instance = self.load(tenant_id, instance_id).await?;
        let ledger = self.ports.instances.ledger(&instance.id).await?;
        Ok(super::terraform::render(&instance, &ledger, &self.config))
    }

    /// `dryRun` of C2: the calls provisioning would make; nothing is stored or created.
    pub async fn plan_provisioning(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        req: NewInstance,
    ) -> Result<Plan> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let tenant = self.live_tenant(tenant_id).await?;
        let now = self.ports.clock.now();
        let instance = self.new_instance(&tenant, req, actor, now);
        plan_provisioning(&self.config, &instance).await
    }

    /// `dryRun` of C5: the calls deprovisioning this instance would make, from its ledger.
    pub async fn plan_deprovisioning(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        options: DeprovisionOptions,
    ) -> Result<Plan> {
        actor.authorize(tenant_id, TenantAction::Delete)?;
        let instance = self.load(tenant_id, instance_id).await?;
        instance
            .state
            .transition(InstanceState::PendingDeprovisioning)?;
        let ledger = self.ports.instances.ledger(&instance.id).await?;
        plan_deprovisioning(&self.config, &instance, &ledger, options).await
    }
}
