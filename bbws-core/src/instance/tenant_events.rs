//! Tenant lifecycle events driving the tenant's instance (digest 2.7 §2.5, §6; 2.5 LLD §8):
//! `TENANT_PARKED` parks the instance, `TENANT_UNPARKED` unparks it and `TENANT_DEPROVISIONED`
//! deprovisions it (archiving first).
//!
//! The tenant service only publishes the events; the instance side follows them with
//! [`InstanceService::follow_tenant_event`], which accepts the operation exactly as the API
//! would (PENDING operation, audit, `INSTANCE_*_REQUESTED` in the outbox) under an idempotency
//! key made from the event's id, so an event delivered twice gives the same operation.
//!
//! Two deliveries:
//! - on AWS, EventBridge rules on the bus (`bbws-tenant-parked-{env}`, ...) send the events to
//!   the lifecycle queue, where the instance worker reads them ([`TenantEvent::from_json`]);
//! - in one process (the embedded store, `bbws serve`, the CLI), [`TenantEventRouting`] wraps
//!   the outbox's publisher and follows each event before publishing it.

use std::fmt;

use async_trait::async_trait;
use serde_json::Value;

use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::events::{EventPublisher, OutboxMessage, TENANT_SOURCE};
use crate::idempotency::IdempotencyKey;
use crate::ids::TenantId;
use crate::tenant::Reason;

use super::model::Instance;
use super::operation::DeprovisionOptions;
use super::service::{Accepted, InstanceService, LifecycleRequest};
use super::state::InstanceState;

/// Who the operations started by tenant events are requested by (audit, `requestedBy`).
pub const TENANT_EVENTS_ACTOR: &str = "system:tenant-events";

/// What happened to the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantEventKind {
    Parked,
    Unparked,
    Deprovisioned,
}

impl TenantEventKind {
    /// The event's `detail-type`.
    pub const fn detail_type(self) -> &'static str {
        match self {
            Self::Parked => "TENANT_PARKED",
            Self::Unparked => "TENANT_UNPARKED",
            Self::Deprovisioned => "TENANT_DEPROVISIONED",
        }
    }

    fn from_detail_type(s: &str) -> Option<Self> {
        [Self::Parked, Self::Unparked, Self::Deprovisioned]
            .into_iter()
            .find(|k| k.detail_type() == s)
    }
}

impl fmt::Display for TenantEventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.detail_type())
    }
}

/// A tenant event the instance follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantEvent {
    /// The event's id (the outbox id, which is also the EventBridge entry's id once published).
    pub id: String,
    pub kind: TenantEventKind,
    pub tenant_id: TenantId,
    /// The park reason, when the tenant service gave one.
    pub reason: Option<String>,
    /// Who parked, unparked or deprovisioned the tenant.
    pub by: Option<String>,
}

impl TenantEvent {
    /// The event in the outbox, if it is one the instance follows.
    pub fn from_outbox(m: &OutboxMessage) -> Option<Self> {
        if m.source != TENANT_SOURCE {
            return None;
        }
        let kind = TenantEventKind::from_detail_type(&m.detail_type)?;
        let tenant_id = m.tenant_id.or_else(|| {
            m.detail
                .get("tenantId")
                .and_then(Value::as_str)
                .and_then(|s| s.parse().ok())
        })?;
        Some(Self::new(m.id.to_string(), kind, tenant_id, &m.detail))
    }

    /// An EventBridge event as a rule delivers it to a queue (`{"id", "source",
    /// "detail-type", "detail": {"tenantId", ...}}`). `Ok(None)`: an EventBridge event of
    /// another kind; `Err`: one of ours without a usable id or tenant.
    pub fn from_json(value: &Value) -> Result<Option<Self>> {
        let Some(detail_type) = value.get("detail-type").and_then(Value::as_str) else {
            return Ok(None);
        };
        let Some(kind) = TenantEventKind::from_detail_type(detail_type) else {
            return Ok(None);
        };
        if value.get("source").and_then(Value::as_str) != Some(TENANT_SOURCE) {
            return Ok(None);
        }
        let id = value
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| Error::field("id", format!("A {kind} event without an id")))?;
        let detail = value.get("detail").unwrap_or(&Value::Null);
        let tenant_id = detail
            .get("tenantId")
            .and_then(Value::as_str)
            .and_then(|s| s.parse::<TenantId>().ok())
            .ok_or_else(|| {
                Error::field(
                    "detail.tenantId",
                    format!("A {kind} event without a valid tenantId"),
                )
            })?;
        Ok(Some(Self::new(id.to_owned(), kind, tenant_id, detail)))
    }

    fn new(id: String, kind: TenantEventKind, tenant_id: TenantId, detail: &Value) -> Self {
        let text = |k: &str| detail.get(k).and_then(Value::as_str).map(str::to_owned);
        let by = match kind {
            TenantEventKind::Parked => text("parkedBy"),
            TenantEventKind::Unparked => text("unparkedBy"),
            TenantEventKind::Deprovisioned => text("deprovisionedBy"),
        };
        Self {
            id,
            kind,
            tenant_id,
            reason: text("reason"),
            by,
        }
    }

    /// The idempotency key of the operation this event starts: one per event.
    fn key(&self) -> Result<IdempotencyKey> {
        IdempotencyKey::parse(&format!("tenant-event:{}", self.id))
    }

    /// The reason recorded on the operation.
    fn operation_reason(&self) -> String {
        let by = self.by.as_deref().unwrap_or("the tenant service");
        match self.kind {
            TenantEventKind::Parked => self
                .reason
                .as_deref()
                .filter(|r| Reason::parse(Some(r), "Park reason").is_ok())
                .map_or_else(|| format!("Tenant parked by {by}"), str::to_owned),
            TenantEventKind::Unparked => format!("Tenant unparked by {by}"),
            TenantEventKind::Deprovisioned => format!("Tenant deprovisioned by {by}"),
        }
    }
}

/// What following an event did.
#[derive(Debug, Clone, PartialEq)]
pub enum Reaction {
    /// An operation was accepted for the instance; `replayed` when the event was seen before
    /// and this is the operation it started then.
    Requested {
        accepted: Box<Accepted>,
        replayed: bool,
    },
    /// Nothing to do, and why: no instance, or the instance already where the event leads.
    Ignored(String),
    /// Not now: the instance is in the middle of another operation. The event should come back
    /// later (a queue redelivers it).
    Deferred(String),
}

impl InstanceService {
    /// Follows a tenant event: parks, unparks or deprovisions the tenant's instance (see the
    /// module documentation). An instance that is already where the event leads, or none at
    /// all, is [`Reaction::Ignored`]; one busy with another operation is [`Reaction::Deferred`].
    pub async fn follow_tenant_event(&self, event: &TenantEvent) -> Result<Reaction> {
        let instances = self.instances_of(&event.tenant_id).await?;
        let Some(instance) = instances.iter().rev().find(|i| i.state.holds_tenant()) else {
            return Ok(Reaction::Ignored(format!(
                "tenant {} has no instance",
                event.tenant_id
            )));
        };
        let reaction = match plan(event.kind, instance.state) {
            Step::Go => self.follow_with(event, instance).await?,
            // Where the event leads already: the event's own operation if this is a redelivery
            // (its key replays it), else nothing to do.
            Step::Already(why) => match self.follow_with(event, instance).await {
                Err(Error::InstanceTransition { .. }) => {
                    Reaction::Ignored(format!("instance {} {why}", instance.id))
                }
                other => other?,
            },
            Step::Later => Reaction::Deferred(format!(
                "instance {} is {}; {} waits until its operation ends",
                instance.id, instance.state, event.kind
            )),
        };
        match &reaction {
            Reaction::Requested { accepted, replayed } => tracing::info!(
                tenant_id = %event.tenant_id, event_id = %event.id, event = %event.kind,
                operation_id = %accepted.operation.id, operation = %accepted.operation.op_type,
                replayed, "tenant event followed"
            ),
            Reaction::Ignored(why) | Reaction::Deferred(why) => tracing::info!(
                tenant_id = %event.tenant_id, event_id = %event.id, event = %event.kind,
                why = %why, "tenant event needs no operation now"
            ),
        }
        Ok(reaction)
    }

    /// Requests the operation the event asks for, under the event's idempotency key.
    async fn follow_with(&self, event: &TenantEvent, instance: &Instance) -> Result<Reaction> {
        let actor = Actor::local_admin(TENANT_EVENTS_ACTOR);
        let key = event.key()?;
        let lifecycle =
            |req| self.request_lifecycle(&actor, &event.tenant_id, &instance.id, req, Some(&key));
        let created = match event.kind {
            TenantEventKind::Parked => {
                lifecycle(LifecycleRequest::Park {
                    reason: Reason::parse(Some(&event.operation_reason()), "Park reason")?,
                })
                .await?
            }
            TenantEventKind::Unparked => lifecycle(LifecycleRequest::Unpark).await?,
            TenantEventKind::Deprovisioned => {
                self.request_deprovisioning(
                    &actor,
                    &event.tenant_id,
                    &instance.id,
                    DeprovisionOptions {
                        archive_data: true,
                        reason: Some(event.operation_reason()),
                    },
                    Some(&key),
                )
                .await?
            }
        };
        Ok(Reaction::Requested {
            accepted: Box::new(created.value),
            replayed: created.replayed,
        })
    }
}

enum Step {
    /// Request the operation.
    Go,
    /// The instance is where the event leads, or cannot go there.
    Already(&'static str),
    /// The instance is busy with another operation.
    Later,
}

/// The table of what an event does to an instance in each state.
fn plan(kind: TenantEventKind, state: InstanceState) -> Step {
    use InstanceState as S;
    use TenantEventKind as K;
    match (kind, state) {
        (K::Parked, S::Active) | (K::Unparked, S::Parked) => Step::Go,
        (K::Deprovisioned, s) if s.can_transition_to(S::PendingDeprovisioning) => Step::Go,
        (K::Parked, S::Parking | S::Parked) => Step::Already("is already parked"),
        (K::Unparked, S::Unparking | S::Active) => Step::Already("is already running"),
        (K::Deprovisioned, S::PendingDeprovisioning | S::Deprovisioning) => {
            Step::Already("is already being deprovisioned")
        }
        // A stopped or broken instance has nothing to park or unpark: parking exists to stop
        // the tasks, and an unpark of an instance that was never parked would start a
        // suspended one.
        (K::Parked | K::Unparked, S::Suspended | S::Failed | S::WorkflowFailed) => {
            Step::Already("has no running service to park or unpark")
        }
        _ => Step::Later,
    }
}

/// An outbox publisher that follows the tenant events it publishes
/// ([`InstanceService::follow_tenant_event`]) before handing them on, for backends where the
/// tenant and instance services share one process and no queue sits between them.
///
/// A follow-up that fails (a store error) fails the batch, so the relay keeps the events and
/// tries again; the event's idempotency key makes the retry replay rather than duplicate. A
/// deferred event is logged and published: in one process nothing would deliver it again.
#[derive(Debug, Clone)]
pub struct TenantEventRouting {
    inner: std::sync::Arc<dyn EventPublisher>,
    instances: InstanceService,
}

impl TenantEventRouting {
    pub fn new(inner: std::sync::Arc<dyn EventPublisher>, instances: InstanceService) -> Self {
        Self { inner, instances }
    }
}

#[async_trait]
impl EventPublisher for TenantEventRouting {
    async fn publish(&self, events: &[OutboxMessage]) -> Result<()> {
        for event in events.iter().filter_map(TenantEvent::from_outbox) {
            if let Reaction::Deferred(why) = self.instances.follow_tenant_event(&event).await? {
                tracing::warn!(tenant_id = %event.tenant_id, event = %event.kind, why = %why,
                    "tenant event not followed: the instance is busy; repeat the tenant change once it settles");
            }
        }
        self.inner.publish(events).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T: &str = "tenant-0b0c6a55-8f4e-4b53-9a43-5c1fd2ba3e01";

    // Takes the detail by value so each test writes its `json!` in place.
    #[allow(clippy::needless_pass_by_value)]
    fn envelope(detail_type: &str, detail: Value) -> Value {
        json!({"version": "0", "id": "5e1f9c1a-0d1b-4c47-a3f1-6f1c0b7c2a9e",
               "detail-type": detail_type, "source": TENANT_SOURCE, "account": "123456789012",
               "time": "2026-12-05T10:00:00Z", "region": "af-south-1", "resources": [],
               "detail": detail})
    }

    #[test]
    fn an_eventbridge_envelope_names_the_tenant_the_reason_and_who() {
        let e = TenantEvent::from_json(&envelope(
            "TENANT_PARKED",
            json!({"tenantId": T, "reason": "Quiet season for the shop", "parkedBy": "ops@bbws.io"}),
        ))
        .expect("valid")
        .expect("followed");
        assert_eq!(e.kind, TenantEventKind::Parked);
        assert_eq!(e.tenant_id.to_string(), T);
        assert_eq!(e.operation_reason(), "Quiet season for the shop");
        assert_eq!(e.by.as_deref(), Some("ops@bbws.io"));
        assert_eq!(
            e.key().expect("key").as_str(),
            "tenant-event:5e1f9c1a-0d1b-4c47-a3f1-6f1c0b7c2a9e"
        );
    }

    #[test]
    fn other_events_are_not_followed_and_broken_ones_are_errors() {
        for other in [
            envelope("TENANT_CREATED", json!({"tenantId": T})),
            json!({"eventType": "START_CLUSTER_CREATION", "tenantId": T}),
            {
                let mut e = envelope("TENANT_PARKED", json!({"tenantId": T}));
                e["source"] = json!("someone.else");
                e
            },
        ] {
            assert_eq!(TenantEvent::from_json(&other).expect("not an error"), None);
        }
        let no_tenant = envelope("TENANT_UNPARKED", json!({"tenantId": "acme"}));
        match TenantEvent::from_json(&no_tenant) {
            Err(Error::Validation { fields, .. }) => assert_eq!(fields[0].field, "detail.tenantId"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_reason_too_short_for_an_operation_is_replaced_by_who_parked() {
        let e = TenantEvent::from_json(&envelope(
            "TENANT_PARKED",
            json!({"tenantId": T, "reason": "quiet", "parkedBy": "ops@bbws.io"}),
        ))
        .expect("valid")
        .expect("followed");
        assert_eq!(e.operation_reason(), "Tenant parked by ops@bbws.io");
    }
}
