//! The ECS event handler's service (digest 2.7 §8.4–§8.6): finds the tenant of an ECS event,
//! skips duplicates and older events, and applies the decision of [`super::ecs_events::decide`]
//! to the tenant's instance in one version-checked write (with its audit event and outbox event
//! when the state moves).
//!
//! The tenant comes from the event's own tags when it carries them, else from the service's tags
//! through the [`ServiceTags`] port (`ListTagsForResource`); a service without `bbws:tenant-id`
//! is not ours, and one tagged for another environment is ignored. An event for a tenant with no
//! instance is dropped, never turned into a stub. While a runner owns the instance's operation
//! nothing is written: the engine decides, and a write would break its version-checked run.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::audit::AuditEvent;
use crate::error::{Error, ErrorCode, Result};
use crate::events::OutboxMessage;
use crate::ids::{EventId, IdGenerator, TenantId};
use crate::tenant::Environment;
use crate::time::Clock;

use super::ecs_events::{EcsDecision, EcsEvent, EcsEventKind, ParsedEvent, decide, parse_event};
use super::engine::INSTANCE_SOURCE;
use super::model::{EcsEventMark, Instance};
use super::naming::{TAG_ENVIRONMENT, TAG_TENANT};
use super::operation::FailureReason;
use super::ports::{CloudResult, InstanceBackend, InstanceGuard, InstanceWrite, Tags, WriteExpect};
use super::state::InstanceState;

/// The actor the handler writes into stamps and audit events.
pub const ECS_HANDLER_ACTOR: &str = "system:ecs-event-handler";

/// How many times a write that lost a race is read and decided again.
const ATTEMPTS: u32 = 3;

/// The tags of an ECS service (`ecs:ListTagsForResource`).
#[async_trait]
pub trait ServiceTags: Send + Sync + fmt::Debug {
    async fn service_tags(&self, service_arn: &str) -> CloudResult<Tags>;
}

/// What the handler did with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncOutcome {
    /// Not an ECS event.
    NotEcs { source: String },
    /// An ECS event that says nothing about instance states (task changes, other names).
    NotRelevant { event: String },
    /// The service has no `bbws:tenant-id` tag.
    Unmanaged,
    /// The service belongs to another environment.
    OtherEnvironment { environment: String },
    /// No instance of that tenant (unknown tenant, or never provisioned).
    UnknownTenant { tenant_id: String },
    /// This very event was already taken in.
    Duplicate,
    /// An event older than the last one taken in.
    OutOfOrder,
    /// A runner owns the instance's operation: nothing written.
    Owned { state: InstanceState },
    /// The guards say this event means nothing for the instance now.
    Ignored { state: InstanceState },
    /// Recorded as the last event; the state stays.
    Recorded { state: InstanceState },
    /// The instance moved.
    Moved {
        from: InstanceState,
        to: InstanceState,
    },
}

impl SyncOutcome {
    /// A stable name for logs and metrics.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::NotEcs { .. } => "NOT_ECS",
            Self::NotRelevant { .. } => "NOT_RELEVANT",
            Self::Unmanaged => "UNMANAGED_SERVICE",
            Self::OtherEnvironment { .. } => "OTHER_ENVIRONMENT",
            Self::UnknownTenant { .. } => "UNKNOWN_TENANT",
            Self::Duplicate => "DUPLICATE",
            Self::OutOfOrder => "OUT_OF_ORDER",
            Self::Owned { .. } => "OPERATION_RUNNING",
            Self::Ignored { .. } => "IGNORED",
            Self::Recorded { .. } => "RECORDED",
            Self::Moved { .. } => "MOVED",
        }
    }
}

/// Applies ECS events to instances.
#[derive(Debug, Clone)]
pub struct EcsEventHandler {
    store: Arc<dyn InstanceBackend>,
    tags: Option<Arc<dyn ServiceTags>>,
    environment: Environment,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
}

impl EcsEventHandler {
    /// A handler for the services of `environment`. Without `tags`, only events that carry their
    /// own tags can be placed.
    pub fn new(
        store: Arc<dyn InstanceBackend>,
        tags: Option<Arc<dyn ServiceTags>>,
        environment: Environment,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            store,
            tags,
            environment,
            clock,
            ids,
        }
    }

    /// Handles one EventBridge event. `VALIDATION_ERROR` for an ECS event that cannot be read;
    /// storage and tag-lookup failures are errors the caller may retry.
    pub async fn handle(&self, event: &Value) -> Result<SyncOutcome> {
        let e = match parse_event(event)? {
            ParsedEvent::NotEcs { source } => return Ok(SyncOutcome::NotEcs { source }),
            ParsedEvent::Ecs(e) => e,
        };
        if matches!(
            e.kind,
            EcsEventKind::TaskStateChange | EcsEventKind::Other(_)
        ) {
            return Ok(SyncOutcome::NotRelevant {
                event: e.kind.to_string(),
            });
        }
        let tags = self.tags_of(&e).await?;
        let Some(tenant) = tags.get(TAG_TENANT) else {
            return Ok(SyncOutcome::Unmanaged);
        };
        let environment = tags.get(TAG_ENVIRONMENT).map_or("", String::as_str);
        if environment != self.environment.as_str() {
            return Ok(SyncOutcome::OtherEnvironment {
                environment: environment.to_owned(),
            });
        }
        let Ok(tenant_id) = tenant.parse::<TenantId>() else {
            return Ok(SyncOutcome::UnknownTenant {
                tenant_id: tenant.clone(),
            });
        };
        for _ in 0..ATTEMPTS {
            match self.apply(&tenant_id, &e).await {
                Err(Error::VersionConflict { .. }) => {}
                other => return other,
            }
        }
        Err(Error::conflict(format!(
            "The instance of {tenant_id} kept changing while ECS event {} was applied",
            e.id
        )))
    }

    async fn tags_of(&self, e: &EcsEvent) -> Result<Tags> {
        if !e.tags.is_empty() {
            return Ok(e.tags.clone());
        }
        match (&self.tags, e.resource_arn.as_deref()) {
            (Some(port), Some(arn)) if arn.contains(":service/") => {
                port.service_tags(arn).await.map_err(|err| {
                    Error::business(
                        ErrorCode::ProvEcs,
                        format!("Tags of {arn} could not be read: {err}"),
                    )
                })
            }
            _ => Ok(Tags::new()),
        }
    }

    async fn apply(&self, tenant_id: &TenantId, e: &EcsEvent) -> Result<SyncOutcome> {
        let Some(current) = self.store.active_instance(tenant_id).await? else {
            return Ok(SyncOutcome::UnknownTenant {
                tenant_id: tenant_id.to_string(),
            });
        };
        if let Some(mark) = &current.last_ecs_event {
            if mark.id == e.id {
                return Ok(SyncOutcome::Duplicate);
            }
            if mark.time > e.time {
                return Ok(SyncOutcome::OutOfOrder);
            }
        }
        if let Some(op) = current.current_operation {
            let running = self
                .store
                .get_operation(&op)
                .await?
                .is_some_and(|o| !o.status.is_terminal());
            if running {
                return Ok(SyncOutcome::Owned {
                    state: current.state,
                });
            }
        }
        let from = current.state;
        let now = self.clock.now();
        let mark = EcsEventMark {
            id: e.id.clone(),
            name: e.kind.to_string(),
            time: e.time,
        };
        let (mut next, outcome) = match decide(from, &e.kind, false) {
            EcsDecision::Ignore => return Ok(SyncOutcome::Ignored { state: from }),
            EcsDecision::Record => {
                let mut next = current.clone();
                next.version = current.version + 1;
                (next, SyncOutcome::Recorded { state: from })
            }
            EcsDecision::Move(to) => (
                current.moved(to, ECS_HANDLER_ACTOR, now)?,
                SyncOutcome::Moved { from, to },
            ),
        };
        next.last_ecs_event = Some(mark);
        let (audit, events) = match outcome {
            SyncOutcome::Moved { to, .. } => {
                if to == InstanceState::Failed {
                    next.last_error = Some(FailureReason {
                        code: ErrorCode::ProvEcs,
                        message: format!(
                            "ECS reported {}{}",
                            e.kind,
                            e.reason
                                .as_deref()
                                .map(|r| format!(": {r}"))
                                .unwrap_or_default()
                        ),
                        resources: e.resource_arn.iter().cloned().collect(),
                    });
                } else if to == InstanceState::Active {
                    next.last_error = None;
                }
                self.records(&next, from, to, e, now)
            }
            _ => (None, Vec::new()),
        };
        self.store
            .write_instance(InstanceWrite {
                backup: None,
                instance: next,
                expect: WriteExpect::Version(current.version),
                guard: InstanceGuard::Keep,
                operation: None,
                audit,
                events,
                idempotency: None,
            })
            .await?;
        Ok(outcome)
    }

    fn records(
        &self,
        instance: &Instance,
        from: InstanceState,
        to: InstanceState,
        e: &EcsEvent,
        now: crate::time::Timestamp,
    ) -> (Option<AuditEvent>, Vec<OutboxMessage>) {
        let details = json!({
            "instanceId": instance.id.to_string(),
            "from": from.as_str(),
            "to": to.as_str(),
            "ecsEvent": e.kind.to_string(),
            "ecsEventId": e.id,
            "ecsEventTime": e.time.to_string(),
            "reason": e.reason,
        });
        let audit = AuditEvent {
            event_id: EventId::generate(self.ids.as_ref()),
            tenant_id: instance.tenant_id,
            event_type: "INSTANCE_STATE_SYNCED".to_owned(),
            timestamp: now,
            actor: ECS_HANDLER_ACTOR.to_owned(),
            details: details.clone(),
        };
        let mut detail = details;
        if let Value::Object(o) = &mut detail {
            o.insert("tenantId".into(), json!(instance.tenant_id.to_string()));
        }
        let event = OutboxMessage {
            id: EventId::generate(self.ids.as_ref()),
            source: INSTANCE_SOURCE.to_owned(),
            detail_type: "INSTANCE_STATE_CHANGED".to_owned(),
            time: now,
            tenant_id: Some(instance.tenant_id),
            detail,
        };
        (Some(audit), vec![event])
    }
}
