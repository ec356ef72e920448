//! Domain events and the transactional outbox.
//!
//! A state change stores its events in the same transaction as the change ([`crate::ports::TenantWrite`]);
//! the [`OutboxRelay`] then hands them to an [`EventPublisher`] (EventBridge on AWS, a local
//! JSON-lines log on the embedded store) and removes them once published. A failed publish is
//! retried later, never dropped; an acknowledged change's event survives a crash.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Notify;

use crate::error::Result;
use crate::ids::{EventId, TenantId};
use crate::ports::Outbox;
use crate::time::Timestamp;

/// The EventBridge `source` of tenant events (digest §7.1).
pub const TENANT_SOURCE: &str = "bbws.tenant-management";

/// An event waiting in the outbox, in EventBridge terms.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMessage {
    pub id: EventId,
    pub source: String,
    /// `TENANT_CREATED`, `TENANT_PARKED`, ...
    pub detail_type: String,
    pub time: Timestamp,
    pub tenant_id: Option<TenantId>,
    pub detail: Value,
}

/// Where published events go.
#[async_trait]
pub trait EventPublisher: Send + Sync + std::fmt::Debug {
    /// Publishes a batch; returns only when every event is accepted.
    async fn publish(&self, events: &[OutboxMessage]) -> Result<()>;
}

/// Moves events from the outbox to a publisher.
#[derive(Debug, Clone)]
pub struct OutboxRelay {
    outbox: Arc<dyn Outbox>,
    publisher: Arc<dyn EventPublisher>,
    batch: usize,
}

impl OutboxRelay {
    pub fn new(outbox: Arc<dyn Outbox>, publisher: Arc<dyn EventPublisher>) -> Self {
        Self {
            outbox,
            publisher,
            batch: 25,
        }
    }

    /// Publishes everything pending, oldest first; returns how many events went out.
    /// Stops at the first failure, leaving the rest (and the failed batch) in the outbox.
    pub async fn drain(&self) -> Result<usize> {
        let mut sent = 0;
        loop {
            let pending = self.outbox.pending(self.batch).await?;
            if pending.is_empty() {
                return Ok(sent);
            }
            self.publisher.publish(&pending).await?;
            let ids: Vec<EventId> = pending.iter().map(|m| m.id).collect();
            self.outbox.mark_published(&ids).await?;
            sent += pending.len();
        }
    }

    /// Runs until `shutdown` resolves: drains whenever `wake` is notified (after each committed
    /// write) and, after a failure, again with exponential backoff (200 ms base, LLD §11.3, capped
    /// at 30 s).
    pub async fn run(self, wake: Arc<Notify>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff: Option<Duration> = None;
        loop {
            match self.drain().await {
                Ok(_) => backoff = None,
                Err(e) => {
                    let next = backoff.map_or(Duration::from_millis(200), |b| {
                        (b * 2).min(Duration::from_secs(30))
                    });
                    tracing::warn!(error = %e, retry_in_ms = next.as_millis(), "event publishing failed; will retry");
                    backoff = Some(next);
                }
            }
            let retry = async {
                match backoff {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => return,
                () = wake.notified() => {}
                () = retry => {}
            }
        }
    }
}
