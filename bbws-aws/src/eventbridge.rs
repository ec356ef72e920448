//! The outbox's publisher on EventBridge (digest 2.5 §7.1): bus `bbws-events-{env}`, source
//! `bbws.tenant-management`, one entry per event with its detail-type, detail and time.

use async_trait::async_trait;
use aws_sdk_eventbridge::Client;
use aws_sdk_eventbridge::primitives::DateTime;
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use bbws_core::error::{Error, Result};
use bbws_core::events::{EventPublisher, OutboxMessage};

/// `PutEvents` takes at most 10 entries.
pub const MAX_ENTRIES: usize = 10;

/// Publishes outbox events with `PutEvents`.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

impl EventBridgePublisher {
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        Self {
            client,
            bus: bus.into(),
        }
    }

    pub fn bus(&self) -> &str {
        &self.bus
    }

    fn entry(&self, m: &OutboxMessage) -> PutEventsRequestEntry {
        PutEventsRequestEntry::builder()
            .event_bus_name(&self.bus)
            .source(&m.source)
            .detail_type(&m.detail_type)
            .detail(m.detail.to_string())
            .time(DateTime::from_millis(m.time.millis()))
            .build()
    }
}

#[async_trait]
impl EventPublisher for EventBridgePublisher {
    /// Sends the events in batches of 10, in order. Any entry EventBridge refuses
    /// (`FailedEntryCount > 0`) makes the whole call an error, so the relay keeps every event of
    /// this batch in the outbox and tries again: the entries that did get through then reach the
    /// bus twice (at-least-once, as every outbox is), but no event is ever dropped.
    async fn publish(&self, events: &[OutboxMessage]) -> Result<()> {
        for chunk in events.chunks(MAX_ENTRIES) {
            let out = self
                .client
                .put_events()
                .set_entries(Some(chunk.iter().map(|m| self.entry(m)).collect()))
                .send()
                .await
                .map_err(|e| {
                    Error::Storage(crate::sdk::describe("EventBridge", "PutEvents", &e))
                })?;
            let failed = out.failed_entry_count;
            if failed > 0 {
                let first = out
                    .entries()
                    .iter()
                    .find_map(|e| e.error_code().map(|c| (c, e.error_message().unwrap_or(""))));
                let (code, message) = first.unwrap_or(("unknown", ""));
                return Err(Error::Storage(format!(
                    "EventBridge PutEvents to {}: {failed} of {} entries failed ({code}: {message})",
                    self.bus,
                    chunk.len()
                )));
            }
        }
        Ok(())
    }
}
