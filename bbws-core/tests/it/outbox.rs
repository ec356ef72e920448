//! The outbox relay: every committed event is published once, in order; a failed publish
//! leaves events pending for the next drain, never dropped.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bbws_core::events::{EventPublisher, OutboxMessage, OutboxRelay};
use bbws_core::ports::Outbox;
use bbws_core::store::EventLog;
use bbws_core::tenant::TenantStatus;
use bbws_core::{Error, ErrorCode};
use serde_json::Value;

use crate::support::{Harness, platform_admin, reason};

/// A stand-in for EventBridge being unreachable after `accept` batches (an external system).
#[derive(Debug)]
struct FailsAfter {
    inner: EventLog,
    accept: usize,
    calls: AtomicUsize,
}

#[async_trait]
impl EventPublisher for FailsAfter {
    async fn publish(&self, events: &[OutboxMessage]) -> bbws_core::Result<()> {
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.accept {
            self.inner.publish(events).await
        } else {
            Err(Error::business(
                ErrorCode::EventbridgeError,
                "EventBridge is unreachable",
            ))
        }
    }
}

fn relay(h: &Harness, publisher: Arc<dyn EventPublisher>) -> OutboxRelay {
    let outbox: Arc<dyn Outbox> = h.store.clone();
    OutboxRelay::new(outbox, publisher)
}

/// The published log, one parsed JSON object per line.
fn log_lines(log: &EventLog) -> Vec<Value> {
    let text = match std::fs::read_to_string(log.path()) {
        Ok(text) => text,
        // Nothing was ever published.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => panic!("cannot read the event log: {e}"),
    };
    text.lines()
        .map(|l| serde_json::from_str(l).expect("each line is one JSON event"))
        .collect()
}

fn ids_of(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .map(|l| l["id"].as_str().expect("an id").to_owned())
        .collect()
}

/// Creates `n` tenants (one event each).
async fn make_events(h: &Harness, n: usize) {
    for i in 0..n {
        h.create(&format!("Tenant {i}")).await;
    }
}

#[tokio::test]
async fn drain_publishes_every_pending_event_once_in_order() {
    let h = Harness::in_memory();
    let dir = tempfile::tempdir().expect("temp dir");
    let t = h.create_active("Acme Corp").await;
    h.service
        .park(
            &platform_admin(),
            &t.id,
            &reason("Customer asked for a pause"),
            None,
        )
        .await
        .expect("park");
    let pending = h.pending().await;
    let log = EventLog::new(dir.path().join("events.jsonl"));

    let sent = relay(&h, Arc::new(log.clone()))
        .drain()
        .await
        .expect("drain succeeds");

    assert_eq!(sent, 3);
    assert!(h.pending().await.is_empty(), "the outbox is empty");
    let lines = log_lines(&log);
    assert_eq!(lines.len(), 3);
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["detail-type"].as_str().expect("detail-type"))
        .collect();
    assert_eq!(
        types,
        ["TENANT_CREATED", "TENANT_STATUS_CHANGED", "TENANT_PARKED"]
    );
    assert_eq!(
        ids_of(&lines),
        pending.iter().map(|m| m.id.to_string()).collect::<Vec<_>>()
    );
    assert!(
        lines
            .iter()
            .all(|l| l["source"] == "bbws.tenant-management")
    );
    assert_eq!(lines[2]["detail"]["tenantId"], t.id.to_string());

    assert_eq!(
        relay(&h, Arc::new(log.clone()))
            .drain()
            .await
            .expect("drain"),
        0,
        "nothing is sent twice"
    );
    assert_eq!(log_lines(&log).len(), 3);
}

#[tokio::test]
async fn drain_sends_more_than_one_batch() {
    let h = Harness::in_memory();
    let dir = tempfile::tempdir().expect("temp dir");
    make_events(&h, 60).await;
    let expected: Vec<String> = h.pending().await.iter().map(|m| m.id.to_string()).collect();
    let log = EventLog::new(dir.path().join("events.jsonl"));

    assert_eq!(
        relay(&h, Arc::new(log.clone()))
            .drain()
            .await
            .expect("drain"),
        60
    );

    assert_eq!(ids_of(&log_lines(&log)), expected);
    assert!(h.pending().await.is_empty());
}

#[tokio::test]
async fn a_failed_publish_keeps_the_events_for_a_later_drain() {
    let h = Harness::in_memory();
    let dir = tempfile::tempdir().expect("temp dir");
    let t = h.create_active("Acme Corp").await;
    let before = h.pending().await;
    let log = EventLog::new(dir.path().join("events.jsonl"));
    let down = FailsAfter {
        inner: log.clone(),
        accept: 0,
        calls: AtomicUsize::new(0),
    };

    let err = relay(&h, Arc::new(down))
        .drain()
        .await
        .expect_err("the publisher is down");

    assert_eq!(err.code(), ErrorCode::EventbridgeError);
    assert_eq!(h.pending().await, before, "nothing was dropped");
    assert!(log_lines(&log).is_empty());

    h.service
        .set_status(
            &platform_admin(),
            &t.id,
            TenantStatus::Suspended,
            Some("Invoice 42 overdue"),
            None,
        )
        .await
        .expect("suspend");
    let sent = relay(&h, Arc::new(log.clone()))
        .drain()
        .await
        .expect("the publisher is back");

    assert_eq!(sent, 3);
    let lines = log_lines(&log);
    let types: Vec<&str> = lines
        .iter()
        .map(|l| l["detail-type"].as_str().expect("detail-type"))
        .collect();
    assert_eq!(
        types,
        [
            "TENANT_CREATED",
            "TENANT_STATUS_CHANGED",
            "TENANT_SUSPENDED"
        ]
    );
    assert!(h.pending().await.is_empty());
}

#[tokio::test]
async fn a_failure_mid_drain_keeps_only_the_unsent_events() {
    let h = Harness::in_memory();
    let dir = tempfile::tempdir().expect("temp dir");
    make_events(&h, 30).await;
    let all: Vec<String> = h.pending().await.iter().map(|m| m.id.to_string()).collect();
    let log = EventLog::new(dir.path().join("events.jsonl"));
    let flaky = FailsAfter {
        inner: log.clone(),
        accept: 1,
        calls: AtomicUsize::new(0),
    };

    relay(&h, Arc::new(flaky))
        .drain()
        .await
        .expect_err("the second batch fails");

    let sent_first = log_lines(&log).len();
    assert!(
        sent_first > 0 && sent_first < all.len(),
        "one batch went out before the failure"
    );
    let left: Vec<String> = h.pending().await.iter().map(|m| m.id.to_string()).collect();
    assert_eq!(
        left,
        all[sent_first..],
        "exactly the unsent events wait, in order"
    );

    relay(&h, Arc::new(log.clone()))
        .drain()
        .await
        .expect("drain");

    assert_eq!(
        ids_of(&log_lines(&log)),
        all,
        "every event published exactly once, in order"
    );
}
