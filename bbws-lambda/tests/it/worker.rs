//! The instance worker Lambda's handler: a real SQS event (`tests/fixtures/sqs/`) through
//! [`WorkerFunction`] on a memory backend, whose cloud is the plan recorder. What a queue would
//! see: records that are done are left out of `batchItemFailures` (SQS deletes them); records
//! that failed are listed (SQS delivers them again, then dead-letters them); with no time left,
//! every record is listed untouched.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use bbws_aws::{Backend, BackendConfig, BackendKind};
use bbws_core::auth::Actor;
use bbws_core::instance::{
    InstanceWorker, NewInstance, OperationMessage, OperationQueue, OperationStatus,
};
use bbws_lambda::worker::WorkerFunction;
use serde_json::Value;

/// The queue of the worker's continuations (SQS itself is exercised against moto in bbws-aws).
#[derive(Debug, Default)]
struct Continuations(Mutex<Vec<OperationMessage>>);

#[async_trait]
impl OperationQueue for Continuations {
    async fn enqueue(&self, message: &OperationMessage) -> bbws_core::Result<()> {
        self.0.lock().expect("lock").push(message.clone());
        Ok(())
    }
}

struct Setup {
    function: WorkerFunction,
    backend: Backend,
    /// The fixture's text with its placeholders replaced.
    event: SqsEvent,
    finished: String,
    pending: String,
}

async fn setup() -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let admin = Actor::local_admin("ops@bbws.example");
    let instances = backend.instance_service();
    let engine = backend.provisioning_engine();
    let mut ids = Vec::new();
    for name in ["Finished Hosting", "Pending Hosting"] {
        let t = crate::support::active_tenant_on(&backend, &admin, name).await;
        let accepted = instances
            .request_provisioning(&admin, &t.id, NewInstance::standard(), None)
            .await
            .expect("accepted")
            .value;
        ids.push((t.id, accepted.instance.id, accepted.operation.id));
    }
    // The first operation already ended (the plan recorder refused it): its message is a
    // duplicate the worker acknowledges.
    let refused = engine.run_or_refuse(&ids[0].2).await;
    assert!(refused.is_err(), "the plan recorder runs nothing");

    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqs/instance-worker-batch.json");
    let text = std::fs::read_to_string(&path)
        .expect("fixture")
        .replace("TENANT_OF_FINISHED", &ids[0].0.to_string())
        .replace("INSTANCE_OF_FINISHED", &ids[0].1.to_string())
        .replace("FINISHED_OPERATION", &ids[0].2.to_string())
        .replace("TENANT_OF_PENDING", &ids[1].0.to_string())
        .replace("INSTANCE_OF_PENDING", &ids[1].1.to_string())
        .replace("PENDING_OPERATION", &ids[1].2.to_string());
    let event: SqsEvent = serde_json::from_str(&text).expect("an SQS event");
    let worker = InstanceWorker::new(engine, Arc::new(Continuations::default()));
    let function = WorkerFunction::from_parts(worker, backend.relay(), Duration::from_secs(45));
    drop(dir);
    Setup {
        function,
        backend,
        event,
        finished: ids[0].2.to_string(),
        pending: ids[1].2.to_string(),
    }
}

fn failures(response: &Value) -> Vec<String> {
    response["batchItemFailures"]
        .as_array()
        .expect("batchItemFailures")
        .iter()
        .map(|f| {
            f["itemIdentifier"]
                .as_str()
                .expect("itemIdentifier")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn done_records_are_acknowledged_and_failed_ones_come_back() {
    let s = Box::pin(setup()).await;
    let response = s
        .function
        .invoke(s.event, SystemTime::now() + Duration::from_mins(15))
        .await;
    let response = serde_json::to_value(&response).expect("the response serialises");
    // The malformed body and the operation the plan recorder cannot run come back; the
    // finished operation's duplicate is acknowledged.
    assert_eq!(
        failures(&response),
        vec![
            "2e1424d4-f796-459a-8184-9c92662be6da".to_owned(),
            "b6ad1c6c-2f0e-4c3b-9d17-5a8e4f2c1d90".to_owned(),
        ],
        "{response}"
    );
    let ops = s.backend.instance_service();
    let admin = Actor::local_admin("ops@bbws.example");
    let finished = ops
        .operation(&admin, &s.finished.parse().expect("id"))
        .await
        .expect("readable");
    assert_eq!(finished.status, OperationStatus::Failed);
    let pending = ops
        .operation(&admin, &s.pending.parse().expect("id"))
        .await
        .expect("readable");
    assert_eq!(
        pending.status,
        OperationStatus::Pending,
        "the worker refuses without touching it"
    );
}

#[tokio::test]
async fn with_no_time_left_every_record_comes_back_untouched() {
    let s = Box::pin(setup()).await;
    let ids: Vec<String> = s
        .event
        .records
        .iter()
        .map(|r| r.message_id.clone().expect("id"))
        .collect();
    // Less than the 45 s margin is left.
    let response = s
        .function
        .invoke(s.event, SystemTime::now() + Duration::from_secs(30))
        .await;
    let response = serde_json::to_value(&response).expect("the response serialises");
    assert_eq!(failures(&response), ids);
}

/// Tenant events an EventBridge rule put on the lifecycle queue (`tests/fixtures/sqs/
/// tenant-events-batch.json`): a `TENANT_PARKED` for a tenant whose instance ended FAILED is
/// followed and needs nothing (acknowledged, the instance untouched); one whose tenant id is not
/// one is listed, so it ends in the dead-letter queue rather than vanishing.
#[tokio::test]
async fn tenant_events_on_the_lifecycle_queue_are_followed_or_handed_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let admin = Actor::local_admin("ops@bbws.example");
    let instances = backend.instance_service();
    let engine = backend.provisioning_engine();
    let t = crate::support::active_tenant_on(&backend, &admin, "Parked Hosting").await;
    let accepted = instances
        .request_provisioning(&admin, &t.id, NewInstance::standard(), None)
        .await
        .expect("accepted")
        .value;
    assert!(engine.run_or_refuse(&accepted.operation.id).await.is_err());

    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/sqs/tenant-events-batch.json");
    let text = std::fs::read_to_string(&path)
        .expect("fixture")
        .replace("PARKED_TENANT", &t.id.to_string());
    let event: SqsEvent = serde_json::from_str(&text).expect("an SQS event");
    let worker = InstanceWorker::new(engine, Arc::new(Continuations::default()))
        .with_tenant_events(instances.clone());
    let function = WorkerFunction::from_parts(worker, backend.relay(), Duration::from_secs(45));
    let response = function
        .invoke(event, SystemTime::now() + Duration::from_mins(15))
        .await;
    let response = serde_json::to_value(&response).expect("the response serialises");
    assert_eq!(
        failures(&response),
        vec!["a9e0c7d1-5b2f-4f8a-8c3e-6d1b0f9a2e45".to_owned()],
        "{response}"
    );
    let instance = instances
        .get(&admin, &t.id, &accepted.instance.id)
        .await
        .expect("readable");
    assert_eq!(
        instance.state,
        bbws_core::instance::InstanceState::Failed,
        "a FAILED instance has nothing to park"
    );
}

/// On the local backends no worker exists: a tenant event is followed as the outbox publishes
/// it, and the operation it starts is run at once like one the API accepted. On the plan
/// recorder that run is refused: the deprovisioning that follows a deleted tenant ends FAILED
/// with `CLOUD_UNAVAILABLE` instead of waiting forever.
#[tokio::test]
async fn locally_a_deleted_tenant_s_instance_deprovisioning_is_run_where_it_is_accepted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let admin = Actor::local_admin("ops@bbws.example");
    let instances = backend.instance_service();
    let t = crate::support::active_tenant_on(&backend, &admin, "Leaving Hosting").await;
    let accepted = instances
        .request_provisioning(&admin, &t.id, NewInstance::standard(), None)
        .await
        .expect("accepted")
        .value;
    assert!(
        backend
            .provisioning_engine()
            .run_or_refuse(&accepted.operation.id)
            .await
            .is_err()
    );

    backend
        .tenant_service()
        .deprovision(&admin, &t.id, true, None)
        .await
        .expect("the tenant is deprovisioned");
    backend.relay().drain().await.expect("the outbox drains");

    let instance = instances
        .get(&admin, &t.id, &accepted.instance.id)
        .await
        .expect("readable");
    let op_id = instance.current_operation.expect("the deprovisioning");
    assert_ne!(op_id, accepted.operation.id);
    let op = instances.operation(&admin, &op_id).await.expect("readable");
    assert_eq!(op.op_type, bbws_core::instance::OperationType::Deprovision);
    assert_eq!(op.requested_by, bbws_core::instance::TENANT_EVENTS_ACTOR);
    assert_eq!(op.status, OperationStatus::Failed);
    assert_eq!(
        op.error.as_ref().map(|e| e.code),
        Some(bbws_core::ErrorCode::CloudUnavailable),
        "{op:?}"
    );
    assert_eq!(instance.state, bbws_core::instance::InstanceState::Failed);
}
