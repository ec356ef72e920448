//! The tenant's lifecycle reaches its instance the way it does on AWS: the tenant service's
//! outbox publishes `TENANT_PARKED` to the EventBridge bus, a rule on the bus sends it to the
//! lifecycle queue, the instance worker follows it by accepting a park, whose message goes to
//! the same queue through the outbox, and the worker's next message parks the ECS service. All
//! of it on moto (EventBridge, SQS, DynamoDB, ECS, ...) and MariaDB.

use bbws_core::instance::{
    InstanceDao, InstanceState, NewInstance, OperationMessage, OperationStatus, OperationType,
    Reaction, TENANT_EVENTS_ACTOR, WorkOutcome,
};
use bbws_core::tenant::{Environment, Reason, TenantStatus};
use serde_json::{Value, json};

use crate::instances::{Queued, queued_backend, receive_one, world};
use crate::support::admin;

/// The rules of the platform's bus that route the tenant events the instance follows to the
/// lifecycle queue (`bbws-tenant-parked-{env}`, ... in the 2.5 LLD; one rule here).
async fn route_tenant_events(q: &Queued) {
    let arn = q
        .sqs
        .get_queue_attributes()
        .queue_url(&q.lifecycle)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("GetQueueAttributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("the queue's ARN");
    let rule = format!("{}-tenant-lifecycle", q.bus);
    q.eventbridge
        .put_rule()
        .name(&rule)
        .event_bus_name(&q.bus)
        .event_pattern(
            json!({"source": ["bbws.tenant-management"],
                   "detail-type": ["TENANT_PARKED", "TENANT_UNPARKED", "TENANT_DEPROVISIONED"]})
            .to_string(),
        )
        .send()
        .await
        .expect("PutRule");
    q.eventbridge
        .put_targets()
        .rule(&rule)
        .event_bus_name(&q.bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("lifecycle-queue")
                .arn(arn)
                .build()
                .expect("a target"),
        )
        .send()
        .await
        .expect("PutTargets");
}

#[tokio::test]
async fn parking_a_tenant_parks_its_instance_through_eventbridge_and_the_lifecycle_queue() {
    let w = world().await;
    let q = queued_backend(&w).await;
    route_tenant_events(&q).await;
    let tenants = q.backend.tenant_service();
    let instances = q.backend.instance_service();
    let relay = q.backend.relay();
    let worker = q.backend.instance_worker("test-worker").expect("a worker");

    let t = tenants
        .create(
            &admin(),
            crate::support::new_tenant("Parked Hosting", Environment::Dev),
            None,
        )
        .await
        .expect("tenant")
        .value;
    tenants
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("tenant activated");
    let accepted = instances
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), None)
        .await
        .expect("provisioning accepted")
        .value;
    relay.drain().await.expect("published");
    let body = receive_one(&q.sqs, &q.provision)
        .await
        .expect("the provisioning message");
    let outcome = worker
        .handle(&body, std::time::Duration::from_mins(10))
        .await
        .expect("handled");
    assert!(
        matches!(&outcome, WorkOutcome::Finished(op) if op.status == OperationStatus::Completed),
        "{outcome:?}"
    );
    let instance_id = accepted.instance.id;
    let service = format!("tenant-{}-wordpress", accepted.instance.resource_key);
    let desired = || async {
        w.clients
            .ecs
            .describe_services()
            .cluster(&w.platform.cluster)
            .services(&service)
            .send()
            .await
            .expect("DescribeServices")
            .services()[0]
            .desired_count()
    };
    assert_eq!(desired().await, 2);
    relay.drain().await.expect("published");

    // The operator parks the tenant; nothing else is called by hand but the queue's consumer.
    let reason = Reason::parse(Some("Quiet season for the shop"), "Park reason").expect("reason");
    tenants
        .park(&admin(), &t.id, &reason, None)
        .await
        .expect("the tenant parks");
    relay.drain().await.expect("TENANT_PARKED goes to the bus");

    let event = receive_one(&q.sqs, &q.lifecycle)
        .await
        .expect("the rule put TENANT_PARKED on the lifecycle queue");
    let envelope: Value = serde_json::from_str(&event).expect("JSON");
    assert_eq!(envelope["detail-type"], "TENANT_PARKED", "{envelope}");
    let outcome = worker
        .handle(&event, std::time::Duration::from_mins(10))
        .await
        .expect("followed");
    let WorkOutcome::Followed(reaction) = outcome else {
        panic!("a tenant event is followed: {outcome:?}");
    };
    let Reaction::Requested {
        accepted: park,
        replayed: false,
    } = *reaction
    else {
        panic!("an ACTIVE instance is parked: {reaction:?}");
    };
    assert_eq!(park.operation.op_type, OperationType::Park);
    assert_eq!(park.operation.requested_by, TENANT_EVENTS_ACTOR);
    assert_eq!(park.instance.state, InstanceState::Parking);

    relay.drain().await.expect("the park's request goes out");
    let body = receive_one(&q.sqs, &q.lifecycle)
        .await
        .expect("the park is queued on the lifecycle queue");
    let message = OperationMessage::parse(&body).expect("an operation message");
    assert_eq!(message.operation_id, park.operation.id);
    let outcome = worker
        .handle(&body, std::time::Duration::from_mins(10))
        .await
        .expect("handled");
    let WorkOutcome::Finished(op) = outcome else {
        panic!("the park ends within its budget: {outcome:?}");
    };
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let now = w
        .store
        .get_instance(&t.id, &instance_id)
        .await
        .expect("read")
        .expect("instance");
    assert_eq!(now.state, InstanceState::Parked);
    assert_eq!(
        now.desired_count.get(),
        2,
        "the count to come back to is kept"
    );
    assert_eq!(desired().await, 0, "the ECS service has no tasks");

    // The same event delivered again by SQS gives the same operation: nothing more is queued.
    let again = worker
        .handle(&event, std::time::Duration::from_mins(10))
        .await
        .expect("followed");
    assert!(
        matches!(&again, WorkOutcome::Followed(r) if matches!(&**r,
            Reaction::Requested { accepted, replayed: true } if accepted.operation.id == op.id)),
        "{again:?}"
    );
    relay.drain().await.expect("published");
    assert_eq!(receive_one(&q.sqs, &q.lifecycle).await, None);
}
