//! The instance worker (digest 2.7 §2.5, §12 decision 28): accepted operations reach a queue as
//! `START_CLUSTER_CREATION` / `START_CLUSTER_DELETION` messages; a worker runs each with the
//! [`ProvisioningEngine`] within its time budget and, when the budget runs out first, gives up
//! its lease and queues the same message again, so the next invocation continues from the
//! ledger. Nothing here knows SQS or Lambda: the queue is the [`OperationQueue`] port, and the
//! budget is what the caller has left.
//!
//! How the first message gets queued: [`OperationDispatch`] wraps the outbox's publisher and
//! sends the message of every `INSTANCE_PROVISIONING_REQUESTED` /
//! `INSTANCE_DEPROVISIONING_REQUESTED` / `INSTANCE_LIFECYCLE_REQUESTED` event to the queue before publishing the events, so an
//! accepted operation is queued exactly when its event is published (at least once, like every
//! outbox delivery; a duplicate finds the operation finished or claimed).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::events::{EventPublisher, OutboxMessage};
use crate::ids::{InstanceId, OperationId, TenantId};

use super::engine::ProvisioningEngine;
use super::operation::{Operation, OperationType};
use super::service::InstanceService;
use super::tenant_events::{Reaction, TenantEvent};

/// The outbox event that asks for a provisioning.
pub const PROVISIONING_REQUESTED: &str = "INSTANCE_PROVISIONING_REQUESTED";
/// The outbox event that asks for a deprovisioning.
pub const DEPROVISIONING_REQUESTED: &str = "INSTANCE_DEPROVISIONING_REQUESTED";
/// The outbox event that asks for a lifecycle change (suspend, resume, park, unpark, scale,
/// restart, update) or an identity configuration.
pub const LIFECYCLE_REQUESTED: &str = "INSTANCE_LIFECYCLE_REQUESTED";

/// What a message asks for, by its `eventType` (§2.5; the lifecycle names of the 2.5 HLD, with
/// `SCALE_CLUSTER`, `RESTART_CLUSTER`, `UPDATE_CLUSTER` and `CONFIGURE_IDENTITY` for the changes
/// it does not name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueKind {
    Provision,
    Deprovision,
    Suspend,
    Resume,
    Park,
    Unpark,
    Scale,
    Restart,
    Update,
    Backup,
    Restore,
    ConfigureIdentity,
}

/// The queue a message goes on (LLD §11.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// `bbws-instance-provision-{env}`.
    Provision,
    /// `bbws-instance-deprovision-{env}`.
    Deprovision,
    /// `bbws-instance-lifecycle-{env}`.
    Lifecycle,
}

impl QueueKind {
    const ALL: [QueueKind; 12] = [
        Self::Provision,
        Self::Deprovision,
        Self::Suspend,
        Self::Resume,
        Self::Park,
        Self::Unpark,
        Self::Scale,
        Self::Restart,
        Self::Update,
        Self::Backup,
        Self::Restore,
        Self::ConfigureIdentity,
    ];

    /// The message's `eventType`.
    pub const fn event_type(self) -> &'static str {
        match self {
            Self::Provision => "START_CLUSTER_CREATION",
            Self::Deprovision => "START_CLUSTER_DELETION",
            Self::Suspend => "SUSPEND_CLUSTER",
            Self::Resume => "RESUME_CLUSTER",
            Self::Park => "START_CLUSTER_PARK",
            Self::Unpark => "START_CLUSTER_UNPARK",
            Self::Scale => "SCALE_CLUSTER",
            Self::Restart => "RESTART_CLUSTER",
            Self::Update => "UPDATE_CLUSTER",
            Self::Backup => "BACKUP_CLUSTER",
            Self::Restore => "RESTORE_CLUSTER",
            Self::ConfigureIdentity => "CONFIGURE_IDENTITY",
        }
    }

    /// The queue of this kind of message.
    pub const fn queue(self) -> Queue {
        match self {
            Self::Provision => Queue::Provision,
            Self::Deprovision => Queue::Deprovision,
            _ => Queue::Lifecycle,
        }
    }

    /// The kind of message that runs an operation of type `t`.
    pub const fn for_operation(t: OperationType) -> Self {
        match t {
            OperationType::Deprovision => Self::Deprovision,
            OperationType::Suspend => Self::Suspend,
            OperationType::Resume => Self::Resume,
            OperationType::Park => Self::Park,
            OperationType::Unpark => Self::Unpark,
            OperationType::Scale => Self::Scale,
            OperationType::Restart => Self::Restart,
            OperationType::Update => Self::Update,
            OperationType::Backup => Self::Backup,
            OperationType::Restore => Self::Restore,
            OperationType::ConfigureIdentity => Self::ConfigureIdentity,
            OperationType::Provision => Self::Provision,
        }
    }

    fn parse(event_type: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.event_type() == event_type)
            .ok_or_else(|| {
                Error::field(
                    "eventType",
                    format!(
                        "Unknown eventType {event_type}: expected START_CLUSTER_CREATION, START_CLUSTER_DELETION or a lifecycle event"
                    ),
                )
            })
    }
}

impl fmt::Display for QueueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.event_type())
    }
}

/// A message on an instance queue: which operation to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationMessage {
    pub kind: QueueKind,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub operation_id: OperationId,
    pub correlation_id: Option<String>,
    /// How many times a worker has queued this operation again after its budget ran out.
    pub continuation: u32,
}

/// The message's JSON (the event's detail, §2.5): the fields the worker needs; the event's
/// other fields (`organizationName`, `requestedBy`, ...) are allowed and ignored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageWire {
    event_type: String,
    tenant_id: String,
    instance_id: String,
    operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    correlation_id: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero")]
    continuation: u32,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl OperationMessage {
    /// Reads a queue message body: the event detail itself (what [`OperationDispatch`] sends),
    /// or a whole EventBridge event carrying it in `detail` (what an EventBridge rule with an
    /// SQS target delivers).
    pub fn parse(body: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| Error::field("body", format!("The message is not JSON: {e}")))?;
        Self::from_value(value)
    }

    /// [`Self::parse`] on parsed JSON.
    pub fn from_value(value: Value) -> Result<Self> {
        let value = match value {
            Value::Object(mut o) if o.contains_key("detail-type") => {
                o.remove("detail").unwrap_or(Value::Null)
            }
            other => other,
        };
        let wire: MessageWire = serde_json::from_value(value)
            .map_err(|e| Error::field("body", format!("Not an instance operation message: {e}")))?;
        Ok(Self {
            kind: QueueKind::parse(&wire.event_type)?,
            tenant_id: wire
                .tenant_id
                .parse()
                .map_err(|_| Error::field("tenantId", "tenantId is not a tenant id"))?,
            instance_id: wire
                .instance_id
                .parse()
                .map_err(|_| Error::field("instanceId", "instanceId is not an instance id"))?,
            operation_id: wire
                .operation_id
                .parse()
                .map_err(|_| Error::field("operationId", "operationId is not an operation id"))?,
            correlation_id: wire.correlation_id,
            continuation: wire.continuation,
        })
    }

    /// The message an outbox event asks for, if it asks for one.
    pub fn for_event(event: &OutboxMessage) -> Result<Option<Self>> {
        match event.detail_type.as_str() {
            PROVISIONING_REQUESTED | DEPROVISIONING_REQUESTED | LIFECYCLE_REQUESTED => {
                Self::from_value(event.detail.clone()).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The body to queue.
    pub fn to_json(&self) -> String {
        let wire = MessageWire {
            event_type: self.kind.event_type().to_owned(),
            tenant_id: self.tenant_id.to_string(),
            instance_id: self.instance_id.to_string(),
            operation_id: self.operation_id.to_string(),
            correlation_id: self.correlation_id.clone(),
            continuation: self.continuation,
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// The same message, to queue again after a budget ran out.
    #[must_use]
    pub fn continued(&self) -> Self {
        Self {
            continuation: self.continuation.saturating_add(1),
            ..self.clone()
        }
    }
}

/// Where operation messages are queued (SQS on AWS).
#[async_trait]
pub trait OperationQueue: Send + Sync + fmt::Debug {
    /// Queues one message on the queue of its kind; returns once the queue accepted it.
    async fn enqueue(&self, message: &OperationMessage) -> Result<()>;
}

/// An outbox publisher that also queues the operation message of every
/// `INSTANCE_*_REQUESTED` event, before publishing the events themselves. If queueing fails the
/// whole batch fails, so the relay keeps every event and tries again: a message may be queued
/// twice, never lost.
#[derive(Debug, Clone)]
pub struct OperationDispatch {
    inner: Arc<dyn EventPublisher>,
    queue: Arc<dyn OperationQueue>,
}

impl OperationDispatch {
    pub fn new(inner: Arc<dyn EventPublisher>, queue: Arc<dyn OperationQueue>) -> Self {
        Self { inner, queue }
    }
}

#[async_trait]
impl EventPublisher for OperationDispatch {
    async fn publish(&self, events: &[OutboxMessage]) -> Result<()> {
        for event in events {
            match OperationMessage::for_event(event) {
                Ok(Some(message)) => self.queue.enqueue(&message).await?,
                Ok(None) => {}
                // Our own event without the fields of a message: queueing it can never work,
                // and holding the outbox back would stop every other event.
                Err(e) => tracing::error!(
                    event_id = %event.id,
                    detail_type = %event.detail_type,
                    error = %e,
                    "an operation event carries no usable message; nothing queued"
                ),
            }
        }
        self.inner.publish(events).await
    }
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkOutcome {
    /// The operation ran to its end (`COMPLETED`, `ROLLED_BACK` or `FAILED`; it may have ended
    /// before this message, when it was a duplicate).
    Finished(Box<Operation>),
    /// The budget ran out first: the lease was given up and the message queued again.
    Continued { operation_id: OperationId },
    /// A tenant event, followed: the operation it started, or why none was needed.
    Followed(Box<Reaction>),
}

/// Runs queued operations, and follows the tenant events routed to its queue.
#[derive(Debug, Clone)]
pub struct InstanceWorker {
    engine: ProvisioningEngine,
    queue: Arc<dyn OperationQueue>,
    tenant_events: Option<InstanceService>,
}

impl InstanceWorker {
    pub fn new(engine: ProvisioningEngine, queue: Arc<dyn OperationQueue>) -> Self {
        Self {
            engine,
            queue,
            tenant_events: None,
        }
    }

    /// Makes the worker follow `TENANT_PARKED`, `TENANT_UNPARKED` and `TENANT_DEPROVISIONED`
    /// events (EventBridge envelopes an EventBridge rule put on its queue) with `service`
    /// ([`InstanceService::follow_tenant_event`]). Without it such a message is refused.
    #[must_use]
    pub fn with_tenant_events(mut self, service: InstanceService) -> Self {
        self.tenant_events = Some(service);
        self
    }

    pub fn engine(&self) -> &ProvisioningEngine {
        &self.engine
    }

    /// Handles one message body within `budget`. `Err` means the message must come back (a
    /// malformed message, a store or queue failure, the operation claimed by another runner):
    /// the queue redelivers it after its visibility timeout and, after its receive count,
    /// moves it to the dead-letter queue.
    ///
    /// A tenant event (see [`Self::with_tenant_events`]) is followed at once: the operation it
    /// asks for is accepted, and reaches the queue through the outbox like one the API
    /// accepted. An event the instance cannot follow yet (it is busy) is an `Err`, so it comes
    /// back.
    pub async fn handle(&self, body: &str, budget: Duration) -> Result<WorkOutcome> {
        let value: Value = serde_json::from_str(body)
            .map_err(|e| Error::field("body", format!("The message is not JSON: {e}")))?;
        if let Some(event) = TenantEvent::from_json(&value)? {
            return self.follow(&event).await;
        }
        let message = OperationMessage::from_value(value)?;
        self.handle_message(&message, budget).await
    }

    async fn follow(&self, event: &TenantEvent) -> Result<WorkOutcome> {
        let Some(service) = &self.tenant_events else {
            return Err(Error::field(
                "detail-type",
                format!(
                    "This worker does not follow tenant events such as {}",
                    event.kind
                ),
            ));
        };
        match service.follow_tenant_event(event).await? {
            Reaction::Deferred(why) => Err(Error::Conflict {
                message: format!(
                    "{} for tenant {} must wait: {why}",
                    event.kind, event.tenant_id
                ),
                details: serde_json::Map::new(),
            }),
            reaction => Ok(WorkOutcome::Followed(Box::new(reaction))),
        }
    }

    /// [`Self::handle`] on a parsed message.
    pub async fn handle_message(
        &self,
        message: &OperationMessage,
        budget: Duration,
    ) -> Result<WorkOutcome> {
        let id = message.operation_id;
        tracing::info!(
            operation_id = %id,
            tenant_id = %message.tenant_id,
            event_type = %message.kind,
            continuation = message.continuation,
            budget_ms = u64::try_from(budget.as_millis()).unwrap_or(u64::MAX),
            "running operation"
        );
        if let Ok(outcome) = tokio::time::timeout(budget, self.engine.run(&id)).await {
            let op = outcome?;
            tracing::info!(operation_id = %id, status = %op.status, "operation ended");
            return Ok(WorkOutcome::Finished(Box::new(op)));
        }
        // The run was dropped between two awaits: every step it finished is in the ledger and
        // the operation, and the next run resumes from there.
        if let Err(e) = self.engine.release(&id).await {
            tracing::warn!(operation_id = %id, error = %e, "could not give up the lease; it lapses on its own");
        }
        self.queue.enqueue(&message.continued()).await?;
        tracing::info!(operation_id = %id, "time budget spent; operation queued to continue");
        Ok(WorkOutcome::Continued { operation_id: id })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::EventId;
    use crate::time::Timestamp;
    use serde_json::json;

    const T: &str = "tenant-0b0c6a55-8f4e-4b53-9a43-5c1fd2ba3e01";
    const I: &str = "inst-6a1e4b1c-2f0d-4a8b-9c3e-7d5f1e2a3b4c";
    const O: &str = "op-9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a";

    fn detail() -> Value {
        json!({"eventType": "START_CLUSTER_CREATION", "tenantId": T, "instanceId": I,
               "operationId": O, "organizationName": "Acme", "correlationId": "c-1"})
    }

    #[test]
    fn a_detail_and_an_eventbridge_envelope_give_the_same_message() {
        let direct = OperationMessage::parse(&detail().to_string()).expect("detail parses");
        let envelope = json!({"version": "0", "detail-type": PROVISIONING_REQUESTED,
                              "source": "bbws.tenant-management", "detail": detail()});
        let wrapped = OperationMessage::parse(&envelope.to_string()).expect("envelope parses");
        assert_eq!(direct, wrapped);
        assert_eq!(direct.kind, QueueKind::Provision);
        assert_eq!(direct.operation_id.to_string(), O);
        assert_eq!(direct.correlation_id.as_deref(), Some("c-1"));
    }

    #[test]
    fn a_message_survives_its_own_json_and_counts_continuations() {
        let m = OperationMessage::parse(&detail().to_string()).expect("parses");
        let again = m.continued().continued();
        assert_eq!(again.continuation, 2);
        assert_eq!(
            OperationMessage::parse(&again.to_json()).expect("own json parses"),
            again
        );
    }

    #[test]
    fn bad_messages_are_validation_errors_naming_the_field() {
        for (body, field) in [
            ("not json".to_owned(), "body"),
            (json!({"eventType": "START_CLUSTER_CREATION"}).to_string(), "body"),
            (
                json!({"eventType": "DELETE_EVERYTHING", "tenantId": T, "instanceId": I, "operationId": O})
                    .to_string(),
                "eventType",
            ),
            (
                json!({"eventType": "START_CLUSTER_DELETION", "tenantId": "acme", "instanceId": I, "operationId": O})
                    .to_string(),
                "tenantId",
            ),
            (
                json!({"eventType": "START_CLUSTER_DELETION", "tenantId": T, "instanceId": I, "operationId": "op-1"})
                    .to_string(),
                "operationId",
            ),
        ] {
            match OperationMessage::parse(&body) {
                Err(Error::Validation { fields, .. }) => {
                    assert_eq!(fields[0].field, field, "{body}");
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }

    #[test]
    fn only_the_requested_events_carry_a_message() {
        let event = |detail_type: &str, detail: Value| OutboxMessage {
            id: EventId::from_uuid(uuid::Uuid::nil()),
            source: "bbws.instance-management".to_owned(),
            detail_type: detail_type.to_owned(),
            time: Timestamp::from_millis(0).expect("epoch"),
            tenant_id: None,
            detail,
        };
        assert!(
            OperationMessage::for_event(&event(PROVISIONING_REQUESTED, detail()))
                .expect("parses")
                .is_some()
        );
        assert!(
            OperationMessage::for_event(&event("INSTANCE_PROVISIONED", detail()))
                .expect("not an operation event")
                .is_none()
        );
    }
}
