//! The EventBridge publisher on moto: what reaches the bus is counted by archives whose event
//! patterns match source, detail-type and detail, so each assertion also checks those fields.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_eventbridge::Client;
use bbws_aws::EventBridgePublisher;
use bbws_core::ErrorCode;
use bbws_core::events::{EventPublisher, OutboxMessage, OutboxRelay, TENANT_SOURCE};
use bbws_core::ids::{EventId, RandomIds};
use bbws_core::ports::Outbox;
use bbws_core::tenant::TenantStatus;
use serde_json::{Value, json};

use crate::support::{Subject, admin, reason, sdk_config};

static BUSES: AtomicUsize = AtomicUsize::new(0);

async fn bus(client: &Client) -> (String, String) {
    let name = format!(
        "bbws-events-test-{}-{}",
        std::process::id(),
        BUSES.fetch_add(1, Ordering::SeqCst)
    );
    let arn = client
        .create_event_bus()
        .name(&name)
        .send()
        .await
        .expect("bus")
        .event_bus_arn
        .expect("bus arn");
    (name, arn)
}

/// An archive of the bus's events that match `pattern`; returns its name.
async fn archive(client: &Client, bus_arn: &str, name: &str, pattern: &Value) -> String {
    client
        .create_archive()
        .archive_name(name)
        .event_source_arn(bus_arn)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .expect("archive");
    name.to_owned()
}

async fn count(client: &Client, archive: &str) -> i64 {
    client
        .describe_archive()
        .archive_name(archive)
        .send()
        .await
        .expect("describe archive")
        .event_count
}

fn message(detail_type: &str, detail: Value) -> OutboxMessage {
    OutboxMessage {
        id: EventId::generate(&RandomIds),
        source: TENANT_SOURCE.to_owned(),
        detail_type: detail_type.to_owned(),
        time: crate::support::START.parse().expect("time"),
        tenant_id: None,
        detail,
    }
}

#[tokio::test]
async fn every_event_reaches_the_bus_in_batches_of_ten() {
    let client = Client::new(&sdk_config().await);
    let (name, arn) = bus(&client).await;
    let all = archive(
        &client,
        &arn,
        &format!("{name}-all"),
        &json!({"source": [TENANT_SOURCE]}),
    )
    .await;
    let parked = archive(
        &client,
        &arn,
        &format!("{name}-parked"),
        &json!({"detail-type": ["TENANT_PARKED"], "detail": {"reason": ["Quiet season"]}}),
    )
    .await;
    let events: Vec<OutboxMessage> = (0..23)
        .map(|i| {
            if i % 10 == 3 {
                message(
                    "TENANT_PARKED",
                    json!({"tenantId": format!("t{i}"), "reason": "Quiet season"}),
                )
            } else {
                message(
                    "TENANT_CREATED",
                    json!({"tenantId": format!("t{i}"), "status": "PENDING"}),
                )
            }
        })
        .collect();

    EventBridgePublisher::new(client.clone(), &name)
        .publish(&events)
        .await
        .expect("published");

    assert_eq!(
        count(&client, &all).await,
        23,
        "23 events in 3 PutEvents calls"
    );
    let parked_sent = events
        .iter()
        .filter(|m| m.detail_type == "TENANT_PARKED")
        .count();
    assert_eq!(parked_sent, 2);
    assert_eq!(
        count(&client, &parked).await,
        2,
        "detail-type and detail as sent"
    );
}

#[tokio::test]
async fn a_refused_entry_or_a_missing_bus_is_an_error_so_the_relay_retries() {
    let client = Client::new(&sdk_config().await);
    let (name, _) = bus(&client).await;

    // EventBridge accepts the call but refuses an entry (FailedEntryCount = 1).
    let mut bad = message("TENANT_CREATED", json!({"tenantId": "t1"}));
    bad.source = String::new();
    let err = EventBridgePublisher::new(client.clone(), &name)
        .publish(&[message("TENANT_CREATED", json!({"tenantId": "t0"})), bad])
        .await
        .expect_err("one entry failed");
    assert_eq!(err.code(), ErrorCode::StorageError);
    assert!(err.to_string().contains("1 of 2 entries failed"), "{err}");

    let err = EventBridgePublisher::new(client, "no-such-bus")
        .publish(&[message("TENANT_CREATED", json!({"tenantId": "t0"}))])
        .await
        .expect_err("no bus");
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
}

#[tokio::test]
async fn the_relay_drains_the_dynamodb_outbox_to_eventbridge() {
    let s = Subject::dynamodb().await;
    let client = Client::new(&sdk_config().await);
    let (name, arn) = bus(&client).await;
    let all = archive(
        &client,
        &arn,
        &format!("{name}-all"),
        &json!({"source": [TENANT_SOURCE]}),
    )
    .await;
    let t = s.create("Acme Corp").await;
    s.service
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("activate");
    s.service
        .park(&admin(), &t.id, &reason("Quiet season for the shop"), None)
        .await
        .expect("park");
    let parked = archive(
        &client,
        &arn,
        &format!("{name}-parked"),
        &json!({"detail-type": ["TENANT_PARKED"], "detail": {"tenantId": [t.id.to_string()]}}),
    )
    .await;

    let outbox: Arc<dyn Outbox> = s.backend.clone();
    let relay = OutboxRelay::new(
        outbox,
        Arc::new(EventBridgePublisher::new(client.clone(), &name)),
    );
    assert_eq!(relay.drain().await.expect("drain"), 3);

    assert_eq!(count(&client, &all).await, 3);
    assert_eq!(count(&client, &parked).await, 1);
    s.clock.advance(std::time::Duration::from_mins(5));
    assert!(
        s.backend.pending(10).await.expect("pending").is_empty(),
        "published events left the outbox"
    );
}
