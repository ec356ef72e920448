//! The tenant's lifecycle drives its instance: parking a tenant through the tenant service parks
//! its instance (the service scaled to 0), unparking brings the stored count back, and
//! deprovisioning the tenant archives and deprovisions the instance. The events travel through
//! the outbox exactly as in `bbws serve` ([`TenantEventRouting`] around the publisher); an event
//! delivered twice gives the same operation, and events an instance cannot follow change
//! nothing.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bbws_core::events::{EventPublisher, OutboxMessage, OutboxRelay};
use bbws_core::instance::{
    InstanceState, InstanceWorker, LifecycleRequest, Names, Operation, OperationMessage,
    OperationQueue, OperationStatus, OperationType, Reaction, TENANT_EVENTS_ACTOR, TenantEvent,
    TenantEventKind, TenantEventRouting, WorkOutcome,
};
use bbws_core::ports::Outbox;
use bbws_core::tenant::{Environment, TenantStatus};
use bbws_core::{Error, ErrorCode};
use serde_json::json;

use super::World;
use crate::support::{platform_admin, reason};

/// The bus, as far as these tests care: what was published, in order.
#[derive(Debug, Default)]
struct Published(Mutex<Vec<OutboxMessage>>);

#[async_trait]
impl EventPublisher for Published {
    async fn publish(&self, events: &[OutboxMessage]) -> bbws_core::Result<()> {
        self.0.lock().expect("lock").extend_from_slice(events);
        Ok(())
    }
}

impl Published {
    fn of_type(&self, detail_type: &str) -> Vec<OutboxMessage> {
        self.0
            .lock()
            .expect("lock")
            .iter()
            .filter(|m| m.detail_type == detail_type)
            .cloned()
            .collect()
    }
}

/// The relay of the world's store, following tenant events on the way to `bus`.
fn relay(w: &World, bus: &Arc<Published>) -> OutboxRelay {
    let outbox: Arc<dyn Outbox> = w.tenants.store.clone();
    OutboxRelay::new(
        outbox,
        Arc::new(TenantEventRouting::new(bus.clone(), w.service.clone())),
    )
}

/// Runs every operation whose `detail_type` request event was published; returns them.
async fn run_requested(w: &World, bus: &Published, detail_type: &str) -> Vec<Operation> {
    let mut ops = Vec::new();
    for event in bus.of_type(detail_type) {
        let message = OperationMessage::for_event(&event)
            .expect("a well-formed request")
            .expect("carries a message");
        ops.push(w.run(&message.operation_id).await);
    }
    ops
}

fn service_of(i: &bbws_core::instance::Instance) -> String {
    Names::new(&i.resource_key, Environment::Dev).ecs_service
}

#[tokio::test(start_paused = true)]
async fn parking_a_tenant_parks_its_instance_and_unparking_brings_the_stored_count_back() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    assert_eq!(i.state, InstanceState::Active);
    let bus = Arc::new(Published::default());
    let relay = relay(&w, &bus);
    relay.drain().await.expect("provisioning events out");

    w.tenants
        .service
        .park(
            &platform_admin(),
            &w.tenant.id,
            &reason("Quiet season for the shop"),
            None,
        )
        .await
        .expect("the tenant parks");
    relay.drain().await.expect("published");

    let parks = run_requested(&w, &bus, "INSTANCE_LIFECYCLE_REQUESTED").await;
    assert_eq!(parks.len(), 1, "one park for one TENANT_PARKED");
    let park = &parks[0];
    assert_eq!(park.op_type, OperationType::Park);
    assert_eq!(park.status, OperationStatus::Completed, "{park:?}");
    assert_eq!(park.requested_by, TENANT_EVENTS_ACTOR);
    assert_eq!(park.reason.as_deref(), Some("Quiet season for the shop"));
    let parked = w.instance(&i).await;
    assert_eq!(parked.state, InstanceState::Parked);
    assert_eq!(w.fake.desired(&service_of(&i)), Some(0));

    // The same event delivered again (a queue redelivery) gives the same, finished, operation
    // and queues nothing new.
    let event = TenantEvent::from_outbox(&bus.of_type("TENANT_PARKED")[0]).expect("followed");
    match w
        .service
        .follow_tenant_event(&event)
        .await
        .expect("follows")
    {
        Reaction::Requested { accepted, replayed } => {
            assert!(replayed);
            assert_eq!(accepted.operation.id, park.id);
        }
        other => panic!("a parked instance is not parked twice: {other:?}"),
    }
    let requested = bus.of_type("INSTANCE_LIFECYCLE_REQUESTED").len();
    relay.drain().await.expect("published");
    assert_eq!(bus.of_type("INSTANCE_LIFECYCLE_REQUESTED").len(), requested);
    // Another TENANT_PARKED (a new event) for the parked instance changes nothing.
    let other = TenantEvent {
        id: "evt-parked-again".to_owned(),
        ..event.clone()
    };
    match w
        .service
        .follow_tenant_event(&other)
        .await
        .expect("follows")
    {
        Reaction::Ignored(why) => assert!(why.contains("already parked"), "{why}"),
        other => panic!("{other:?}"),
    }

    w.tenants
        .service
        .unpark(&platform_admin(), &w.tenant.id, None)
        .await
        .expect("the tenant unparks");
    let before = bus.of_type("INSTANCE_LIFECYCLE_REQUESTED").len();
    relay.drain().await.expect("published");
    let requested = bus.of_type("INSTANCE_LIFECYCLE_REQUESTED");
    assert_eq!(requested.len(), before + 1);
    let message = OperationMessage::for_event(&requested[before])
        .expect("well-formed")
        .expect("a message");
    let unpark = w.run(&message.operation_id).await;
    assert_eq!(unpark.op_type, OperationType::Unpark);
    assert_eq!(unpark.status, OperationStatus::Completed, "{unpark:?}");
    let back = w.instance(&i).await;
    assert_eq!(back.state, InstanceState::Active);
    assert_eq!(w.fake.desired(&service_of(&i)), Some(i.desired_count.get()));
}

#[tokio::test(start_paused = true)]
async fn an_event_followed_twice_before_its_operation_ran_gives_the_same_operation() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let event = TenantEvent {
        id: "5e1f9c1a-0d1b-4c47-a3f1-6f1c0b7c2a9e".to_owned(),
        kind: TenantEventKind::Parked,
        tenant_id: w.tenant.id,
        reason: Some("Quiet season for the shop".to_owned()),
        by: Some("ops@bbws.io".to_owned()),
    };
    let Reaction::Requested {
        accepted: first,
        replayed: false,
    } = w.service.follow_tenant_event(&event).await.expect("ok")
    else {
        panic!("an ACTIVE instance is parked");
    };
    let Reaction::Requested {
        accepted: again,
        replayed: true,
    } = w.service.follow_tenant_event(&event).await.expect("ok")
    else {
        panic!("the same event replays its operation");
    };
    assert_eq!(again.operation.id, first.operation.id);
    assert_eq!(w.instance(&i).await.state, InstanceState::Parking);
}

#[tokio::test(start_paused = true)]
async fn deprovisioning_a_tenant_archives_and_deprovisions_its_instance() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let bus = Arc::new(Published::default());
    let relay = relay(&w, &bus);

    w.tenants
        .service
        .deprovision(&platform_admin(), &w.tenant.id, true, None)
        .await
        .expect("the tenant is deprovisioned");
    relay.drain().await.expect("published");

    let ops = run_requested(&w, &bus, "INSTANCE_DEPROVISIONING_REQUESTED").await;
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].op_type, OperationType::Deprovision);
    assert_eq!(ops[0].status, OperationStatus::Completed, "{:?}", ops[0]);
    assert!(
        ops[0].deprovision.as_ref().is_some_and(|d| d.archive_data),
        "data is archived before it is deleted"
    );
    assert_eq!(w.instance(&i).await.state, InstanceState::Deprovisioned);
    assert_eq!(w.fake.live(), vec![], "nothing of the tenant is left");
    assert!(!w.fake.archives().is_empty(), "{:?}", w.fake.archives());
    let tenant = w
        .tenants
        .service
        .get(&platform_admin(), &w.tenant.id)
        .await
        .expect("kept for audit");
    assert_eq!(tenant.status, TenantStatus::Deprovisioned);
}

#[tokio::test(start_paused = true)]
async fn events_an_instance_cannot_follow_change_nothing_and_a_busy_one_waits() {
    let w = World::new().await;
    let bus = Arc::new(Published::default());
    let relay = relay(&w, &bus);

    // No instance at all: parking the tenant requests nothing.
    w.tenants
        .service
        .park(
            &platform_admin(),
            &w.tenant.id,
            &reason("Quiet season for the shop"),
            None,
        )
        .await
        .expect("parks");
    relay.drain().await.expect("published");
    assert_eq!(bus.of_type("TENANT_PARKED").len(), 1, "still published");
    assert!(bus.of_type("INSTANCE_LIFECYCLE_REQUESTED").is_empty());
    w.tenants
        .service
        .unpark(&platform_admin(), &w.tenant.id, None)
        .await
        .expect("unparks");

    // A suspended instance has nothing to park.
    let (i, _) = w.provision().await;
    let suspended = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend {
                reason: reason("Unpaid invoice for March"),
            },
            None,
        )
        .await
        .expect("accepted")
        .value;
    w.run(&suspended.operation.id).await;
    let parked = TenantEvent {
        id: "evt-suspended".to_owned(),
        kind: TenantEventKind::Parked,
        tenant_id: w.tenant.id,
        reason: None,
        by: None,
    };
    assert!(matches!(
        w.service.follow_tenant_event(&parked).await.expect("ok"),
        Reaction::Ignored(_)
    ));
    assert_eq!(w.instance(&i).await.state, InstanceState::Suspended);

    // An instance in the middle of an operation: the deprovisioning must wait, and the worker
    // hands the message back so the queue delivers it again.
    let resumed = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Resume,
            None,
        )
        .await
        .expect("accepted")
        .value;
    let gone = TenantEvent {
        id: "evt-busy".to_owned(),
        kind: TenantEventKind::Deprovisioned,
        tenant_id: w.tenant.id,
        reason: None,
        by: None,
    };
    assert!(matches!(
        w.service.follow_tenant_event(&gone).await.expect("ok"),
        Reaction::Deferred(_)
    ));
    let worker = InstanceWorker::new(w.engine.clone(), Arc::new(NoQueue))
        .with_tenant_events(w.service.clone());
    let body = json!({"version": "0", "id": "evt-busy", "detail-type": "TENANT_DEPROVISIONED",
                      "source": "bbws.tenant-management",
                      "detail": {"tenantId": w.tenant.id.to_string()}})
    .to_string();
    match worker
        .handle(&body, std::time::Duration::from_mins(1))
        .await
    {
        Err(e) => assert_eq!(e.code(), ErrorCode::Conflict, "{e}"),
        Ok(other) => panic!("a busy instance cannot be deprovisioned yet: {other:?}"),
    }
    // Once the resume ran, the redelivered event is followed.
    w.run(&resumed.operation.id).await;
    match worker
        .handle(&body, std::time::Duration::from_mins(1))
        .await
    {
        Ok(WorkOutcome::Followed(r)) => match *r {
            Reaction::Requested {
                accepted: a,
                replayed: false,
            } => {
                assert_eq!(a.operation.op_type, OperationType::Deprovision);
                assert_eq!(a.instance.state, InstanceState::PendingDeprovisioning);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    // A worker not set up for tenant events refuses them rather than dropping them.
    let plain = InstanceWorker::new(w.engine.clone(), Arc::new(NoQueue));
    assert!(matches!(
        plain.handle(&body, std::time::Duration::from_mins(1)).await,
        Err(Error::Validation { .. })
    ));
}

/// A queue the worker never reaches in these tests (no budget runs out).
#[derive(Debug)]
struct NoQueue;

#[async_trait]
impl OperationQueue for NoQueue {
    async fn enqueue(&self, _: &OperationMessage) -> bbws_core::Result<()> {
        Err(Error::Internal(
            "no operation is continued in these tests".to_owned(),
        ))
    }
}
