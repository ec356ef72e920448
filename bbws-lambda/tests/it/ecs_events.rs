//! The ECS event handler Lambda's function: EventBridge ECS events (the fixtures of
//! `bbws-core/tests/fixtures/ecs/`) through [`EcsEventFunction`] on a memory backend, whose
//! events must carry their own tags (no ECS to ask locally).

use bbws_aws::{Backend, BackendConfig, BackendKind};
use bbws_core::auth::Actor;
use bbws_core::instance::{InstanceState, NewInstance};
use bbws_lambda::ecs_events::EcsEventFunction;
use serde_json::{Value, json};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../bbws-core/tests/fixtures/ecs")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

#[tokio::test]
async fn an_ecs_event_moves_the_instance_and_its_event_is_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let admin = Actor::local_admin("ops@bbws.example");
    let t = crate::support::active_tenant_on(&backend, &admin, "Ecs Hosting").await;
    let instances = backend.instance_service();
    let accepted = instances
        .request_provisioning(&admin, &t.id, NewInstance::standard(), None)
        .await
        .expect("accepted")
        .value;
    // The plan recorder ends the operation FAILED; the instance is FAILED and nobody runs it.
    let _ = backend
        .provisioning_engine()
        .run_or_refuse(&accepted.operation.id)
        .await;
    let function = EcsEventFunction::new(&backend);

    // The service recovered: a steady state moves the FAILED instance back to ACTIVE.
    let mut steady = fixture("service-action-steady-state.json");
    steady["resources"] = json!([format!(
        "arn:aws:ecs:eu-west-1:111122223333:service/dev-cluster/tenant-{}-wordpress",
        accepted.instance.resource_key
    )]);
    steady["detail"]["tags"] = json!([
        {"key": "bbws:tenant-id", "value": t.id.to_string()},
        {"key": "bbws:environment", "value": "dev"}
    ]);
    let answer = function.invoke(&steady).await.expect("handled");
    assert_eq!(
        answer,
        json!({"outcome": "MOVED", "from": "FAILED", "to": "ACTIVE"})
    );
    let i = instances
        .get(&admin, &t.id, &accepted.instance.id)
        .await
        .expect("readable");
    assert_eq!(i.state, InstanceState::Active);
    let log = std::fs::read_to_string(dir.path().join("events.jsonl")).expect("event log");
    assert!(
        log.lines().any(|l| l.contains("INSTANCE_STATE_CHANGED")),
        "{log}"
    );

    // The same event again, another source, an unreadable one: answered, nothing moves.
    assert_eq!(
        function.invoke(&steady).await.expect("handled"),
        json!({"outcome": "DUPLICATE"})
    );
    let mut ec2 = steady.clone();
    ec2["source"] = json!("aws.ec2");
    assert_eq!(
        function.invoke(&ec2).await.expect("handled"),
        json!({"outcome": "NOT_ECS"})
    );
    let mut broken = steady.clone();
    broken["id"] = json!("another-id");
    broken["detail"]["createdAt"] = json!("soon");
    let answer = function.invoke(&broken).await.expect("answered");
    assert_eq!(answer["outcome"], "REJECTED", "{answer}");
}
