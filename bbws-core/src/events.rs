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
    sweep_every: Option<Duration>,
}

impl OutboxRelay {
    pub fn new(outbox: Arc<dyn Outbox>, publisher: Arc<dyn EventPublisher>) -> Self {
        Self {
            outbox,
            publisher,
            batch: 25,
            sweep_every: None,
        }
    }

    /// Makes [`OutboxRelay::run`] also look for everyone's pending events every `every`, not only
    /// at start and after a failure: for a backend shared by several processes (DynamoDB), where
    /// another writer may die between its commit and its publish.
    #[must_use]
    pub fn with_sweep_interval(mut self, every: Duration) -> Self {
        self.sweep_every = Some(every);
        self
    }

    /// Publishes the events this process's own writes put in the outbox
    /// ([`Outbox::take_written`]); on DynamoDB that reads nothing, so it costs one `PutEvents`
    /// and one delete per batch. Returns how many events went out.
    pub async fn drain_written(&self) -> Result<usize> {
        let mut sent = 0;
        loop {
            let written = self.outbox.take_written(self.batch).await?;
            if written.is_empty() {
                return Ok(sent);
            }
            sent += self.publish(&written).await?;
        }
    }

    /// Publishes everything pending, oldest first: this process's own events, then everyone's
    /// ([`Outbox::pending`]). Returns how many events went out. Stops at the first failure,
    /// leaving the rest (and the failed batch) in the outbox.
    pub async fn drain(&self) -> Result<usize> {
        let mut sent = self.drain_written().await?;
        loop {
            let pending = self.outbox.pending(self.batch).await?;
            if pending.is_empty() {
                return Ok(sent);
            }
            sent += self.publish(&pending).await?;
        }
    }

    async fn publish(&self, events: &[OutboxMessage]) -> Result<usize> {
        self.publisher.publish(events).await?;
        let ids: Vec<EventId> = events.iter().map(|m| m.id).collect();
        self.outbox.mark_published(&ids).await?;
        Ok(events.len())
    }

    /// Runs until `shutdown` resolves: a full [`OutboxRelay::drain`] at start, then
    /// [`OutboxRelay::drain_written`] whenever `wake` is notified (after each committed write
    /// with events); after a failure, full drains again with exponential backoff (200 ms base,
    /// LLD §11.3, capped at 30 s); and, with [`OutboxRelay::with_sweep_interval`], a full drain
    /// that often. At shutdown, a last [`OutboxRelay::drain_written`].
    pub async fn run(self, wake: Arc<Notify>, shutdown: impl std::future::Future<Output = ()>) {
        tokio::pin!(shutdown);
        let mut backoff: Option<Duration> = None;
        let mut full = true;
        loop {
            let outcome = if full {
                self.drain().await
            } else {
                self.drain_written().await
            };
            match outcome {
                Ok(_) => backoff = None,
                Err(e) => {
                    let next = backoff.map_or(Duration::from_millis(200), |b| {
                        (b * 2).min(Duration::from_secs(30))
                    });
                    tracing::warn!(error = %e, retry_in_ms = next.as_millis(), "event publishing failed; will retry");
                    backoff = Some(next);
                }
            }
            let timer = backoff.or(self.sweep_every);
            let retry = async {
                match timer {
                    Some(d) => tokio::time::sleep(d).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut shutdown => {
                    // What this process wrote last goes out before it stops.
                    if let Err(e) = self.drain_written().await {
                        tracing::warn!(error = %e, "events left in the outbox at shutdown");
                    }
                    return;
                }
                () = wake.notified() => full = backoff.is_some(),
                () = retry => full = true,
            }
        }
    }
}
