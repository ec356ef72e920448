//! What only the DynamoDB backend has: requests per operation, leases between relays, the
//! single-table key design, table creation, and how SDK failures surface.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, BillingMode, ProjectionType, TimeToLiveStatus};
use bbws_aws::DynamoStore;
use bbws_aws::dynamo::keys;
use bbws_core::ErrorCode;
use bbws_core::events::{EventPublisher, OutboxMessage, OutboxRelay};
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ports::{Outbox, TenantDao};
use bbws_core::tenant::{Environment, TenantStatus};
use bbws_core::time::ManualClock;
use serde_json::json;

use crate::support::{Subject, admin, fresh_table, new_tenant, page, reason, sdk_config};

fn ops(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The must-show: what each operation costs in DynamoDB requests, counted by an interceptor on
/// the client (`read_before_transmit`, so retries would count too).
#[tokio::test]
async fn each_operation_costs_the_requests_of_its_access_pattern() {
    let s = Subject::dynamodb().await;
    let svc = &s.service;

    let t = svc
        .create(&admin(), new_tenant("Acme Corp", Environment::Dev), None)
        .await
        .expect("create")
        .value;
    assert_eq!(s.requests(), ops(&["TransactWriteItems"]), "create");

    let key = IdempotencyKey::parse("k-1").expect("key");
    svc.create(
        &admin(),
        new_tenant("Beta Ltd", Environment::Prod),
        Some(&key),
    )
    .await
    .expect("create with a key");
    assert_eq!(
        s.requests(),
        ops(&["GetItem", "TransactWriteItems"]),
        "create with an Idempotency-Key reads the key first"
    );
    svc.create(
        &admin(),
        new_tenant("Beta Ltd", Environment::Prod),
        Some(&key),
    )
    .await
    .expect("replay");
    assert_eq!(s.requests(), ops(&["GetItem"]), "a replay is one read");

    svc.get(&admin(), &t.id).await.expect("get");
    assert_eq!(s.requests(), ops(&["GetItem"]), "get");

    svc.create(&admin(), new_tenant("Gamma Inc", Environment::Dev), None)
        .await
        .expect("create");
    s.requests();
    let first = svc
        .list(&admin(), None, None, None, &page(2, None))
        .await
        .expect("list");
    assert_eq!(first.items.len(), 2);
    assert_eq!(s.requests(), ops(&["Query"]), "one page of all tenants");
    let second = svc
        .list(&admin(), None, None, None, &page(2, first.next))
        .await
        .expect("list");
    assert_eq!((second.items.len(), second.next), (1, None));
    assert_eq!(s.requests(), ops(&["Query"]), "the last page");
    svc.list(
        &admin(),
        Some(TenantStatus::Pending),
        None,
        None,
        &page(20, None),
    )
    .await
    .expect("list by status");
    assert_eq!(s.requests(), ops(&["Query"]), "one page by status");
    svc.list(
        &admin(),
        None,
        Some(Environment::Dev),
        None,
        &page(20, None),
    )
    .await
    .expect("list by environment");
    assert_eq!(s.requests(), ops(&["Query"]), "one page by environment");

    svc.set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("activate");
    s.requests();
    svc.park(&admin(), &t.id, &reason("Customer asked for a pause"), None)
        .await
        .expect("park");
    assert_eq!(
        s.requests(),
        ops(&["GetItem", "TransactWriteItems"]),
        "park: read, then state + audit + outbox in one transaction"
    );

    svc.audit_trail(&admin(), &t.id, &page(20, None))
        .await
        .expect("audit");
    assert_eq!(s.requests(), ops(&["GetItem", "Query"]), "audit page");

    svc.deprovision(&admin(), &t.id, false, None)
        .await
        .expect("deprovision");
    assert_eq!(
        s.requests(),
        ops(&["Query", "GetItem", "TransactWriteItems"]),
        "deprovision: resources, tenant, write"
    );
}

#[derive(Debug, Default)]
struct Recorder(std::sync::Mutex<Vec<String>>);

#[async_trait]
impl EventPublisher for Recorder {
    async fn publish(&self, events: &[OutboxMessage]) -> bbws_core::Result<()> {
        // Let the other relay run meanwhile, as a real network call would.
        tokio::task::yield_now().await;
        self.0
            .lock()
            .expect("recorder")
            .extend(events.iter().map(|m| m.id.to_string()));
        Ok(())
    }
}

/// Two stores on one table, as two processes would have; one clock.
async fn two_stores() -> (Subject, Arc<DynamoStore>, Arc<DynamoStore>) {
    let s = Subject::dynamodb().await;
    let (client, table, _) = s.dynamo.clone().expect("dynamodb subject");
    let other_client = aws_sdk_dynamodb::Client::new(&sdk_config().await);
    let a = Arc::new(DynamoStore::new(client, &table).with_clock(s.clock.clone()));
    let b = Arc::new(DynamoStore::new(other_client, &table).with_clock(s.clock.clone()));
    (s, a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_relays_on_one_table_never_publish_the_same_event() {
    let (s, a, b) = two_stores().await;
    for i in 0..40 {
        s.create(&format!("Tenant {i}")).await;
    }
    let recorders = [Arc::new(Recorder::default()), Arc::new(Recorder::default())];
    let relays = [
        OutboxRelay::new(a.clone(), recorders[0].clone()),
        OutboxRelay::new(b.clone(), recorders[1].clone()),
    ];
    let [ra, rb] = relays;
    // The writer (a third store) died before publishing: its lease on its events lapses.
    s.clock
        .advance(bbws_aws::dynamo::DEFAULT_OUTBOX_LEASE + Duration::from_millis(1));
    let (na, nb) = tokio::join!(
        tokio::spawn(async move { ra.drain().await }),
        tokio::spawn(async move { rb.drain().await })
    );
    let (na, nb) = (
        na.expect("task").expect("drain"),
        nb.expect("task").expect("drain"),
    );

    let got_a: Vec<String> = recorders[0].0.lock().expect("a").clone();
    let got_b: Vec<String> = recorders[1].0.lock().expect("b").clone();
    assert_eq!((got_a.len(), got_b.len()), (na, nb));
    let set_a: HashSet<&String> = got_a.iter().collect();
    let set_b: HashSet<&String> = got_b.iter().collect();
    assert!(set_a.is_disjoint(&set_b), "no event went out twice");
    assert_eq!(na + nb, 40, "every event went out");
    s.clock.advance(Duration::from_mins(5));
    assert!(a.pending(100).await.expect("pending").is_empty());
}

#[tokio::test]
async fn the_writer_publishes_its_own_events_without_reading_the_outbox() {
    let (s, _, b) = two_stores().await;
    let t = s.create("Acme Corp").await;
    s.requests();
    assert!(
        b.pending(10).await.expect("b").is_empty(),
        "another process leaves the writer's events alone"
    );

    let recorder = Arc::new(Recorder::default());
    let relay = OutboxRelay::new(s.backend.clone(), recorder.clone());
    assert_eq!(relay.drain_written().await.expect("publish"), 1);
    assert_eq!(
        s.requests(),
        ops(&["BatchWriteItem"]),
        "no read: the event came from the write, and only its delete is a request"
    );
    assert_eq!(relay.drain_written().await.expect("again"), 0, "once");
    assert!(s.requests().is_empty());
    let published = recorder.0.lock().expect("recorder").clone();
    assert_eq!(published.len(), 1);

    s.clock.advance(Duration::from_mins(5));
    assert!(
        b.pending(10).await.expect("b").is_empty(),
        "published means gone, lease or not"
    );
    let audit = s
        .service
        .audit_trail(&admin(), &t.id, &page(10, None))
        .await
        .expect("audit");
    assert_eq!(audit.items.len(), 1, "the write itself is untouched");
}

#[tokio::test]
async fn a_writer_that_dies_before_publishing_leaves_its_events_to_the_sweep() {
    let (s, a, _) = two_stores().await;
    let t = s.create("Acme Corp").await;
    assert!(a.pending(10).await.expect("a").is_empty(), "leased");
    s.clock
        .advance(bbws_aws::dynamo::DEFAULT_OUTBOX_LEASE + Duration::from_millis(1));
    let swept = a.pending(10).await.expect("a sweeps");
    assert_eq!(swept.len(), 1);
    assert_eq!(swept[0].tenant_id, Some(t.id));
}

#[tokio::test]
async fn a_lease_keeps_other_relays_off_until_it_lapses() {
    let (s, a, b) = two_stores().await;
    for i in 0..3 {
        s.create(&format!("Tenant {i}")).await;
    }
    // The writer died before publishing.
    s.clock
        .advance(bbws_aws::dynamo::DEFAULT_OUTBOX_LEASE + Duration::from_millis(1));
    let held = a.pending(10).await.expect("a claims");
    assert_eq!(held.len(), 3);
    assert!(b.pending(10).await.expect("b").is_empty(), "leased to a");
    assert!(
        a.pending(10).await.expect("a").is_empty(),
        "even to a itself"
    );

    // a dies without publishing; after the lease b gets the events, oldest first.
    s.clock
        .advance(bbws_aws::dynamo::DEFAULT_OUTBOX_LEASE + Duration::from_millis(1));
    let taken = b.pending(10).await.expect("b claims");
    assert_eq!(
        taken.iter().map(|m| m.id).collect::<Vec<_>>(),
        held.iter().map(|m| m.id).collect::<Vec<_>>()
    );
    // Any store can mark events published, even ones another store handed out.
    a.mark_published(&[taken[0].id]).await.expect("a marks");
    b.mark_published(&[taken[1].id, taken[2].id])
        .await
        .expect("b marks");
    s.clock.advance(Duration::from_mins(5));
    assert!(b.pending(10).await.expect("b").is_empty());
}

fn get_s<'a>(item: &'a std::collections::HashMap<String, AttributeValue>, k: &str) -> &'a str {
    match item.get(k) {
        Some(AttributeValue::S(v)) => v,
        other => panic!("{k}: expected a string, got {other:?}"),
    }
}

#[tokio::test]
async fn items_follow_the_single_table_key_design() {
    let s = Subject::dynamodb().await;
    let (client, table, _) = s.dynamo.clone().expect("dynamodb subject");
    let key = IdempotencyKey::parse("k-1").expect("key");
    let t = s
        .service
        .create(
            &admin(),
            new_tenant("Acme Corp", Environment::Sit),
            Some(&key),
        )
        .await
        .expect("create")
        .value;
    let id = t.id.to_string();
    s.clock.advance(Duration::from_secs(1));
    s.service
        .update(
            &admin(),
            &t.id,
            bbws_core::tenant::TenantPatch {
                organization_name: Some(
                    bbws_core::tenant::OrganizationName::parse("Acme Group").expect("name"),
                ),
                ..Default::default()
            },
            None,
        )
        .await
        .expect("rename");

    let scan = client.scan().table_name(&table).send().await.expect("scan");
    let items = scan.items();
    let find = |pk: &str, sk_prefix: &str| {
        items
            .iter()
            .filter(|i| get_s(i, "PK") == pk && get_s(i, "SK").starts_with(sk_prefix))
            .collect::<Vec<_>>()
    };

    let tenant = find(&format!("TENANT#{id}"), "METADATA");
    assert_eq!(tenant.len(), 1);
    let tenant = tenant[0];
    let created = t.created.at.to_string();
    let updated = s
        .service
        .get(&admin(), &t.id)
        .await
        .expect("get")
        .updated
        .at
        .to_string();
    assert_eq!(get_s(tenant, "GSI1PK"), "ORG#Acme Group");
    assert_eq!(get_s(tenant, "GSI1SK"), format!("TENANT#{id}"));
    assert_eq!(get_s(tenant, "GSI2PK"), "STATUS#PENDING");
    assert_eq!(get_s(tenant, "GSI2SK"), format!("{updated}#{id}"));
    assert_eq!(get_s(tenant, "GSI3PK"), "ENV#sit");
    assert_eq!(get_s(tenant, "GSI3SK"), format!("{created}#{id}"));
    assert_eq!(get_s(tenant, "GSI4PK"), "TENANTS");
    assert_eq!(get_s(tenant, "GSI4SK"), format!("{created}#{id}"));
    assert_eq!(get_s(tenant, "organizationName"), "Acme Group");
    assert_eq!(tenant.get("version"), Some(&AttributeValue::N("2".into())));

    assert!(
        find("ORGNAME#acme corp", "UNIQUE").is_empty(),
        "old guard gone"
    );
    let guard = find("ORGNAME#acme group", "UNIQUE");
    assert_eq!(guard.len(), 1);
    assert_eq!(get_s(guard[0], "tenantId"), id);

    let audit = find(&format!("TENANT#{id}"), "EVENT#");
    assert_eq!(audit.len(), 2);
    assert!(get_s(audit[0], "SK").starts_with(&format!("EVENT#{created}#evt-")));

    let idem: Vec<_> = items
        .iter()
        .filter(|i| get_s(i, "PK").starts_with("IDEMPOTENCY#"))
        .collect();
    assert_eq!(idem.len(), 1);
    assert_eq!(get_s(idem[0], "SK"), "METADATA");
    let expiry = t.created.at.plus(Duration::from_hours(24));
    assert_eq!(
        idem[0].get("ttl"),
        Some(&AttributeValue::N((expiry.millis() / 1000).to_string())),
        "numeric ttl, epoch seconds, 24 h on"
    );

    let outbox = find(keys::OUTBOX_PK, "");
    assert_eq!(outbox.len(), 2);
    assert!(get_s(outbox[0], "SK").starts_with(&format!("{created}#evt-")));
    assert_eq!(items.len(), 1 + 1 + 2 + 1 + 2, "nothing else is stored");
}

#[tokio::test]
async fn creating_the_table_twice_is_harmless() {
    let (client, table, _) = fresh_table().await;
    assert!(
        !bbws_aws::create_table(&client, &table)
            .await
            .expect("second run succeeds"),
        "reports that the table already existed"
    );
    let desc = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .expect("describe")
        .table
        .expect("table");
    let mut names: Vec<&str> = desc
        .global_secondary_indexes()
        .iter()
        .map(|i| {
            assert_eq!(
                i.projection().and_then(|p| p.projection_type()),
                Some(&ProjectionType::All)
            );
            i.index_name().expect("name")
        })
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["GSI1", "GSI2", "GSI3", "GSI4"]);
    assert_eq!(
        desc.billing_mode_summary().and_then(|b| b.billing_mode()),
        Some(&BillingMode::PayPerRequest)
    );
    let ttl = client
        .describe_time_to_live()
        .table_name(&table)
        .send()
        .await
        .expect("ttl");
    let ttl = ttl.time_to_live_description().expect("ttl description");
    assert_eq!(ttl.attribute_name(), Some("ttl"));
    assert_eq!(ttl.time_to_live_status(), Some(&TimeToLiveStatus::Enabled));
}

#[tokio::test]
async fn a_missing_table_is_a_storage_error_that_names_it_but_hides_from_callers() {
    let sdk = sdk_config().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), "no-such-table").with_clock(
        Arc::new(ManualClock::new(crate::support::START.parse().expect("t"))),
    );
    let id = "tenant-00000000-0000-4000-8000-000000000000"
        .parse()
        .expect("id");
    let err = store.get_tenant(&id).await.expect_err("no table");
    assert_eq!(err.code(), ErrorCode::StorageError);
    assert_eq!(err.code().http_status(), 500);
    assert!(
        err.to_string().contains("ResourceNotFoundException"),
        "{err}"
    );
    assert_eq!(err.public_message(), "Internal server error");
    assert_eq!(
        json!(err.details()),
        json!({}),
        "no internals in the error details"
    );
}
