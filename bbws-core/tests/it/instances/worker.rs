//! The instance worker: accepted operations reach the queue through the outbox, a worker runs
//! each within its time budget, continues through the queue when the budget runs out, and a
//! worker killed part-way is followed by one that finishes without creating anything twice.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bbws_core::events::{EventPublisher, OutboxMessage, OutboxRelay};
use bbws_core::ids::{OperationId, RandomIds};
use bbws_core::instance::ports::Health;
use bbws_core::instance::{
    DEFAULT_LEASE_TTL, InstanceCloud, InstanceState, InstanceWorker, OperationDao,
    OperationDispatch, OperationMessage, OperationQueue, OperationStatus, PlatformConfig,
    ProvisioningEngine, QueueKind, TokioTimer, WorkOutcome,
};
use bbws_core::ports::Outbox;
use bbws_core::tenant::Environment;
use bbws_core::{Error, ErrorCode};
use tokio::sync::Notify;

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};

/// The kinds of objects a provisioning creates (with how many of each).
const CREATED: [(Kind, u32); 13] = [
    (Kind::UserPool, 1),
    (Kind::Domain, 1),
    (Kind::AppClient, 1),
    (Kind::Groups, 1),
    // The database secret and the Cognito client secret.
    (Kind::Secret, 2),
    (Kind::Database, 1),
    (Kind::AccessPoint, 1),
    (Kind::TargetGroup, 1),
    (Kind::Priority, 1),
    (Kind::ListenerRule, 1),
    (Kind::TaskDefinition, 1),
    (Kind::Service, 1),
    (Kind::Autoscaling, 1),
];

/// A Lambda's 15 minutes less the worker's margin.
const BUDGET: Duration = Duration::from_mins(14);

/// A queue that keeps what it was given (SQS itself is exercised against moto in bbws-aws).
#[derive(Debug, Default)]
struct MemoryQueue(Mutex<Vec<OperationMessage>>);

impl MemoryQueue {
    fn messages(&self) -> Vec<OperationMessage> {
        self.0.lock().expect("queue lock").clone()
    }

    fn take(&self) -> Vec<OperationMessage> {
        std::mem::take(&mut *self.0.lock().expect("queue lock"))
    }
}

#[async_trait]
impl OperationQueue for MemoryQueue {
    async fn enqueue(&self, message: &OperationMessage) -> bbws_core::Result<()> {
        self.0.lock().expect("queue lock").push(message.clone());
        Ok(())
    }
}

/// The bus the outbox publishes to, keeping the events.
#[derive(Debug, Default)]
struct Bus(Mutex<Vec<OutboxMessage>>);

#[async_trait]
impl EventPublisher for Bus {
    async fn publish(&self, events: &[OutboxMessage]) -> bbws_core::Result<()> {
        self.0.lock().expect("bus lock").extend_from_slice(events);
        Ok(())
    }
}

/// A second runner (another worker invocation) on the same store, cloud and clock.
fn other_engine(w: &World, runner: &str) -> ProvisioningEngine {
    ProvisioningEngine::new(
        w.tenants.store.clone(),
        InstanceCloud::live(&w.fake, "in-memory test cloud"),
        PlatformConfig::defaults(Environment::Dev),
        w.tenants.clock.clone(),
        Arc::new(TokioTimer),
        Arc::new(RandomIds),
    )
    .with_runner(runner)
}

fn worker(engine: ProvisioningEngine, queue: &Arc<MemoryQueue>) -> InstanceWorker {
    InstanceWorker::new(engine, queue.clone())
}

fn message_for(w: &World, op: &bbws_core::instance::Operation) -> OperationMessage {
    OperationMessage {
        kind: QueueKind::Provision,
        tenant_id: w.tenant.id,
        instance_id: op.instance_id,
        operation_id: op.id,
        correlation_id: Some(op.correlation_id.clone()),
        continuation: 0,
    }
}

async fn stored_op(w: &World, id: &OperationId) -> bbws_core::instance::Operation {
    w.tenants
        .store
        .get_operation(id)
        .await
        .expect("readable")
        .expect("stored")
}

fn assert_created_once(w: &World) {
    for (kind, n) in CREATED {
        assert_eq!(w.fake.created(kind), n, "{kind:?} created");
    }
}

#[tokio::test(start_paused = true)]
async fn an_accepted_provisioning_is_queued_through_the_outbox_and_a_worker_runs_it() {
    let w = World::new().await;
    let queue = Arc::new(MemoryQueue::default());
    let bus = Arc::new(Bus::default());
    let outbox: Arc<dyn Outbox> = w.tenants.store.clone();
    let relay = OutboxRelay::new(
        outbox,
        Arc::new(OperationDispatch::new(bus.clone(), queue.clone())),
    );

    let accepted = w.request().await;
    relay.drain().await.expect("the outbox drains");

    // Exactly one message, for that operation; the event itself went to the bus as well.
    let queued = queue.take();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(queued[0].operation_id, accepted.operation.id);
    assert_eq!(queued[0].kind, QueueKind::Provision);
    assert!(
        bus.0
            .lock()
            .expect("bus lock")
            .iter()
            .any(|e| e.detail_type == "INSTANCE_PROVISIONING_REQUESTED")
    );

    // The worker reads the body as it travels.
    let outcome = worker(w.engine.clone(), &queue)
        .handle(&queued[0].to_json(), BUDGET)
        .await
        .expect("the message is handled");
    let WorkOutcome::Finished(op) = outcome else {
        panic!("the run should end within its budget: {outcome:?}");
    };
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(op.lease, None, "a finished operation is nobody's");
    assert_eq!(
        w.instance(&accepted.instance).await.state,
        InstanceState::Active
    );
    assert_created_once(&w);
    assert!(queue.messages().is_empty(), "nothing left to continue");

    // A duplicate delivery finds the operation finished and calls nothing.
    let calls = w.fake.log().len();
    let again = worker(other_engine(&w, "worker-dup"), &queue)
        .handle(&queued[0].to_json(), BUDGET)
        .await
        .expect("a duplicate is handled");
    assert_eq!(again, WorkOutcome::Finished(op));
    assert_eq!(w.fake.log().len(), calls);
}

#[tokio::test(start_paused = true)]
async fn a_spent_budget_gives_up_the_lease_and_queues_the_operation_to_continue() {
    let w = World::new().await;
    let queue = Arc::new(MemoryQueue::default());
    let accepted = w.request().await;
    // The health wait does not answer: the budget runs out there, after every create.
    w.fake.inject(Fault {
        kind: Kind::Health,
        op: Op::Check,
        nth: None,
        mode: FaultMode::Hang,
    });
    let first = worker(w.engine.clone(), &queue);
    let message = message_for(&w, &accepted.operation);
    let outcome = first
        .handle_message(&message, Duration::from_mins(1))
        .await
        .expect("a spent budget is not a failure");
    assert_eq!(
        outcome,
        WorkOutcome::Continued {
            operation_id: accepted.operation.id
        }
    );
    let mid = stored_op(&w, &accepted.operation.id).await;
    assert_eq!(mid.status, OperationStatus::InProgress);
    assert_eq!(mid.lease, None, "the lease was given up");
    let queued = queue.take();
    assert_eq!(queued, vec![message.continued()]);

    // The next invocation (another runner, at once: no lease to wait for) finishes it.
    w.fake.clear_faults();
    let outcome = worker(other_engine(&w, "worker-2"), &queue)
        .handle(&queued[0].to_json(), BUDGET)
        .await
        .expect("the continuation is handled");
    let WorkOutcome::Finished(op) = outcome else {
        panic!("the continuation should finish: {outcome:?}");
    };
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_created_once(&w);
}

#[tokio::test(start_paused = true)]
async fn a_worker_killed_mid_provisioning_is_followed_by_one_that_creates_nothing_twice() {
    let w = World::new().await;
    let queue = Arc::new(MemoryQueue::default());
    let accepted = w.request().await;
    let message = message_for(&w, &accepted.operation);
    let body = message.to_json();

    // The first worker dies right after ECS created the service, before anything was recorded.
    let crash = Arc::new(Notify::new());
    w.fake.inject(Fault {
        kind: Kind::Service,
        op: Op::Create,
        nth: Some(1),
        mode: FaultMode::Crash(crash.clone()),
    });
    let first = worker(w.engine.clone(), &queue);
    let killed = tokio::spawn({
        let body = body.clone();
        async move { first.handle(&body, BUDGET).await }
    });
    crash.notified().await;
    killed.abort();
    assert!(
        killed
            .await
            .expect_err("the worker was killed")
            .is_cancelled(),
        "the first worker must not finish"
    );
    w.fake.clear_faults();

    let mid = stored_op(&w, &accepted.operation.id).await;
    assert_eq!(mid.status, OperationStatus::InProgress);
    let lease = mid
        .lease
        .clone()
        .expect("the dead worker's lease is still there");
    assert_eq!(lease.owner, w.engine.runner());

    // A redelivery while the dead worker's lease holds is refused, and the message comes back.
    let second = worker(other_engine(&w, "worker-2"), &queue);
    match second.handle(&body, BUDGET).await {
        Err(Error::Conflict { message, .. }) => {
            assert!(message.contains(w.engine.runner()), "{message}");
        }
        other => panic!("a held operation must be refused: {other:?}"),
    }

    // Once the lease has lapsed (SQS redelivers after its visibility timeout), it finishes.
    w.tenants
        .clock
        .advance(DEFAULT_LEASE_TTL + Duration::from_secs(1));
    let outcome = second
        .handle(&body, BUDGET)
        .await
        .expect("the redelivery is handled");
    let WorkOutcome::Finished(op) = outcome else {
        panic!("the second worker should finish: {outcome:?}");
    };
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(
        w.instance(&accepted.instance).await.state,
        InstanceState::Active
    );
    // The service the dead worker created is found, not created again; nor is anything else.
    assert_created_once(&w);
    assert!(queue.messages().is_empty());
}

#[tokio::test(start_paused = true)]
async fn two_workers_given_the_same_message_at_once_run_it_once() {
    let w = World::new().await;
    let queue = Arc::new(MemoryQueue::default());
    let accepted = w.request().await;
    let body = message_for(&w, &accepted.operation).to_json();
    // The service takes two health polls to start, so the first runner is still at it (waiting
    // between polls) when the second one reads the operation.
    w.fake.script_health(vec![
        Health::Starting("0 of 2 tasks running".to_owned()),
        Health::Starting("1 of 2 tasks running".to_owned()),
    ]);
    let a = worker(other_engine(&w, "worker-a"), &queue);
    let b = worker(other_engine(&w, "worker-b"), &queue);
    let (ra, rb) = tokio::join!(a.handle(&body, BUDGET), async {
        // b starts once a is inside the run (a's first poll ran to its first wait).
        tokio::task::yield_now().await;
        b.handle(&body, BUDGET).await
    });

    let outcomes = [ra, rb];
    let finished: Vec<_> = outcomes
        .iter()
        .filter_map(|r| match r {
            Ok(WorkOutcome::Finished(op)) => Some(op),
            _ => None,
        })
        .collect();
    assert_eq!(finished.len(), 1, "exactly one runs it: {outcomes:?}");
    assert_eq!(finished[0].status, OperationStatus::Completed);
    let refused = outcomes
        .iter()
        .filter(|r| {
            matches!(r, Err(e) if matches!(e.code(), ErrorCode::Conflict | ErrorCode::VersionConflict))
        })
        .count();
    assert_eq!(refused, 1, "the other is refused: {outcomes:?}");
    assert_created_once(&w);
}

#[tokio::test(start_paused = true)]
async fn a_malformed_message_is_refused_and_runs_nothing() {
    let w = World::new().await;
    let queue = Arc::new(MemoryQueue::default());
    let accepted = w.request().await;
    let worker = worker(w.engine.clone(), &queue);
    for body in [
        "{".to_owned(),
        r#"{"eventType":"START_CLUSTER_CREATION"}"#.to_owned(),
        format!(
            r#"{{"eventType":"START_CLUSTER_CREATION","tenantId":"{}","instanceId":"{}","operationId":"op-nope"}}"#,
            w.tenant.id, accepted.instance.id
        ),
    ] {
        match worker.handle(&body, BUDGET).await {
            Err(e) => assert_eq!(e.code(), ErrorCode::ValidationError, "{body}: {e}"),
            Ok(o) => panic!("{body} should be refused, got {o:?}"),
        }
    }
    assert!(w.fake.log().is_empty(), "nothing was called");
    assert_eq!(
        stored_op(&w, &accepted.operation.id).await.status,
        OperationStatus::Pending
    );
}
