//! The ECS event handler as a Lambda function (digest 2.7 §8): the target of the EventBridge
//! rule on `aws.ecs` service events (§8.2's resources-prefix pattern). Each event goes through
//! [`EcsEventHandler`]; what it wrote is published from the outbox before the invocation ends.
//!
//! Errors: an ECS event that cannot be read is logged and answered (retrying cannot help, and
//! the log names it); a storage or tag-lookup failure fails the invocation, so EventBridge
//! retries it and, when its retries run out, sends it to the rule's dead-letter queue.

use bbws_aws::Backend;
use bbws_core::Error;
use bbws_core::events::OutboxRelay;
use bbws_core::instance::{EcsEventHandler, SyncOutcome};
use serde_json::{Value, json};

use crate::apigw::publish_written;

/// A Lambda function applying ECS events to instances.
#[derive(Debug, Clone)]
pub struct EcsEventFunction {
    handler: EcsEventHandler,
    relay: OutboxRelay,
}

impl EcsEventFunction {
    pub fn new(backend: &Backend) -> Self {
        Self::from_parts(backend.ecs_event_handler(), backend.relay())
    }

    pub fn from_parts(handler: EcsEventHandler, relay: OutboxRelay) -> Self {
        Self { handler, relay }
    }

    /// Handles one event; the answer says what became of it (`{"outcome": "MOVED", ...}`).
    pub async fn invoke(&self, event: &Value) -> Result<Value, Error> {
        let id = event.get("id").and_then(Value::as_str).unwrap_or_default();
        let outcome = match self.handler.handle(event).await {
            Ok(outcome) => outcome,
            Err(e @ Error::Validation { .. }) => {
                tracing::error!(event_id = id, error = %e, "an ECS event that cannot be read; dropped");
                return Ok(json!({"outcome": "REJECTED", "error": e.to_string()}));
            }
            Err(e) => {
                tracing::warn!(event_id = id, error_code = e.code().as_str(), error = %e, "ECS event not applied; EventBridge retries it");
                return Err(e);
            }
        };
        match &outcome {
            SyncOutcome::Moved { from, to } => {
                tracing::info!(event_id = id, outcome = outcome.code(), from = %from, to = %to, "instance state synchronised");
            }
            other => tracing::info!(event_id = id, outcome = other.code(), "ECS event handled"),
        }
        publish_written(&self.relay).await;
        let mut answer = json!({"outcome": outcome.code()});
        if let SyncOutcome::Moved { from, to } = outcome {
            answer["from"] = json!(from.as_str());
            answer["to"] = json!(to.as_str());
        }
        Ok(answer)
    }
}
