//! The ECS event handler, driven by the EventBridge ECS event fixtures (`tests/fixtures/ecs/`) on
//! the embedded store: tenants found through the service's tags, guarded moves, duplicates,
//! out-of-order events, unknown tenants, and hands off while the engine runs an operation.

use std::sync::Arc;

use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    EcsEventHandler, Instance, InstanceDao, InstanceGuard, InstanceState, InstanceWrite,
    SyncOutcome, WriteExpect,
};
use bbws_core::tenant::Environment;
use bbws_core::time::Clock;
use serde_json::{Value, json};

use super::World;

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/ecs")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The fixture, about this instance's service, with its own id and times.
fn event_for(name: &str, i: &Instance, id: &str, at: &str) -> Value {
    let mut e = fixture(name);
    e["id"] = json!(id);
    e["resources"] = json!([format!(
        "arn:aws:ecs:eu-west-1:111122223333:service/dev-cluster/tenant-{}-wordpress",
        i.resource_key
    )]);
    e["time"] = json!(at);
    for field in ["createdAt", "updatedAt"] {
        if e["detail"].get(field).is_some() {
            e["detail"][field] = json!(at);
        }
    }
    e
}

fn handler(w: &World) -> EcsEventHandler {
    EcsEventHandler::new(
        w.tenants.store.clone(),
        Some(w.fake.clone()),
        Environment::Dev,
        w.tenants.clock.clone(),
        Arc::new(RandomIds),
    )
}

/// Puts the instance in `states` one after the other, as the lifecycle operations will, with no
/// operation running.
async fn drive(w: &World, i: &Instance, states: &[InstanceState]) -> Instance {
    let mut current = w.instance(i).await;
    for to in states {
        let mut next = current
            .moved(*to, "test", w.tenants.clock.now())
            .expect("allowed");
        next.current_operation = None;
        w.tenants
            .store
            .write_instance(InstanceWrite {
                backup: None,
                instance: next.clone(),
                expect: WriteExpect::Version(current.version),
                guard: InstanceGuard::Keep,
                operation: None,
                audit: None,
                events: Vec::new(),
                idempotency: None,
            })
            .await
            .expect("stored");
        current = next;
    }
    current
}

#[tokio::test(start_paused = true)]
async fn steady_states_keep_an_active_instance_and_duplicates_and_older_events_are_skipped() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let h = handler(&w);
    let steady = event_for(
        "service-action-steady-state.json",
        &i,
        "ev-1",
        "2026-01-05T12:10:00.000Z",
    );
    assert_eq!(
        h.handle(&steady).await.expect("handled"),
        SyncOutcome::Recorded {
            state: InstanceState::Active
        }
    );
    let after = w.instance(&i).await;
    assert_eq!(after.state, InstanceState::Active);
    let mark = after.last_ecs_event.clone().expect("recorded");
    assert_eq!(mark.name, "SERVICE_STEADY_STATE");
    assert_eq!(mark.time.to_string(), "2026-01-05T12:10:00.000Z");

    assert_eq!(
        h.handle(&steady).await.expect("handled"),
        SyncOutcome::Duplicate
    );
    let older = event_for(
        "service-action-task-start-impaired.json",
        &i,
        "ev-0",
        "2026-01-05T12:09:00.000Z",
    );
    assert_eq!(
        h.handle(&older).await.expect("handled"),
        SyncOutcome::OutOfOrder
    );
    assert_eq!(w.instance(&i).await, after, "nothing changed");
}

#[tokio::test(start_paused = true)]
async fn a_suspended_instance_stays_suspended_on_a_steady_state_at_desired_zero() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let i = drive(&w, &i, &[InstanceState::Suspending]).await;
    let h = handler(&w);
    let steady = |id: &str, at: &str| event_for("service-action-steady-state.json", &i, id, at);
    // Desired 0 reached: SUSPENDING -> SUSPENDED.
    assert_eq!(
        h.handle(&steady("ev-1", "2026-01-05T12:10:00.000Z"))
            .await
            .expect("handled"),
        SyncOutcome::Moved {
            from: InstanceState::Suspending,
            to: InstanceState::Suspended
        }
    );
    // The periodic steady state that follows keeps it SUSPENDED, as does a deployment completing.
    assert_eq!(
        h.handle(&steady("ev-2", "2026-01-05T12:20:00.000Z"))
            .await
            .expect("handled"),
        SyncOutcome::Recorded {
            state: InstanceState::Suspended
        }
    );
    let done = event_for(
        "deployment-completed.json",
        &i,
        "ev-3",
        "2026-01-05T12:30:00.000Z",
    );
    assert_eq!(
        h.handle(&done).await.expect("handled"),
        SyncOutcome::Recorded {
            state: InstanceState::Suspended
        }
    );
    // Tasks failing to start on a suspended service change nothing.
    let impaired = event_for(
        "service-action-task-start-impaired.json",
        &i,
        "ev-4",
        "2026-01-05T12:40:00.000Z",
    );
    assert_eq!(
        h.handle(&impaired).await.expect("handled"),
        SyncOutcome::Ignored {
            state: InstanceState::Suspended
        }
    );
    assert_eq!(w.instance(&i).await.state, InstanceState::Suspended);
}

#[tokio::test(start_paused = true)]
async fn completion_moves_provisioning_to_active_and_impairment_fails_an_active_instance() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    // An instance in PROVISIONING that no runner owns (the GitOps variant's apply).
    let i = drive(
        &w,
        &i,
        &[
            InstanceState::Failed,
            InstanceState::PendingProvisioning,
            InstanceState::Provisioning,
        ],
    )
    .await;
    let h = handler(&w);
    let done = event_for(
        "deployment-completed.json",
        &i,
        "ev-1",
        "2026-01-05T12:10:00.000Z",
    );
    assert_eq!(
        h.handle(&done).await.expect("handled"),
        SyncOutcome::Moved {
            from: InstanceState::Provisioning,
            to: InstanceState::Active
        }
    );
    // A rolling update in progress never demotes ACTIVE.
    let rolling = event_for(
        "deployment-in-progress.json",
        &i,
        "ev-2",
        "2026-01-05T12:20:00.000Z",
    );
    assert_eq!(
        h.handle(&rolling).await.expect("handled"),
        SyncOutcome::Recorded {
            state: InstanceState::Active
        }
    );
    let impaired = event_for(
        "service-action-task-start-impaired.json",
        &i,
        "ev-3",
        "2026-01-05T12:30:00.000Z",
    );
    assert_eq!(
        h.handle(&impaired).await.expect("handled"),
        SyncOutcome::Moved {
            from: InstanceState::Active,
            to: InstanceState::Failed
        }
    );
    let failed = w.instance(&i).await;
    assert_eq!(failed.state, InstanceState::Failed);
    let reason = failed.last_error.expect("a failure reason");
    assert!(
        reason.message.contains("SERVICE_TASK_START_IMPAIRED"),
        "{}",
        reason.message
    );
    // The move was audited and announced in the same write.
    let audit = w
        .tenants
        .service
        .audit_trail(
            &crate::support::platform_admin(),
            &i.tenant_id,
            &crate::support::page(100, None),
        )
        .await
        .expect("audit readable");
    let synced = audit
        .items
        .iter()
        .filter(|a| a.event_type == "INSTANCE_STATE_SYNCED")
        .count();
    assert_eq!(synced, 2, "PROVISIONING->ACTIVE and ACTIVE->FAILED");
}

#[tokio::test(start_paused = true)]
async fn while_the_engine_runs_an_operation_events_are_not_applied() {
    let w = World::new().await;
    let accepted = w.request().await;
    // ECS already knows nothing of this tenant's service: the event carries its tags itself.
    let mut e = event_for(
        "deployment-completed.json",
        &accepted.instance,
        "ev-1",
        "2026-01-05T12:10:00.000Z",
    );
    e["detail"]["tags"] = json!([
        {"key": "bbws:tenant-id", "value": w.tenant.id.to_string()},
        {"key": "bbws:environment", "value": "dev"}
    ]);
    assert_eq!(
        handler(&w).handle(&e).await.expect("handled"),
        SyncOutcome::Owned {
            state: InstanceState::PendingProvisioning
        }
    );
    assert_eq!(
        w.instance(&accepted.instance).await,
        accepted.instance,
        "untouched"
    );
}

#[tokio::test(start_paused = true)]
async fn events_of_unknown_tenants_other_environments_and_other_sources_are_dropped() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let h = handler(&w);
    let tagged = |tenant: &str, env: &str| {
        let mut e = event_for(
            "service-action-steady-state.json",
            &i,
            "ev-x",
            "2026-01-05T12:10:00.000Z",
        );
        e["detail"]["tags"] = json!([
            {"key": "bbws:tenant-id", "value": tenant},
            {"key": "bbws:environment", "value": env}
        ]);
        e
    };
    let unknown = "tenant-11111111-1111-4111-8111-111111111111";
    assert_eq!(
        h.handle(&tagged(unknown, "dev")).await.expect("handled"),
        SyncOutcome::UnknownTenant {
            tenant_id: unknown.to_owned()
        }
    );
    assert_eq!(
        h.handle(&tagged(&w.tenant.id.to_string(), "prod"))
            .await
            .expect("handled"),
        SyncOutcome::OtherEnvironment {
            environment: "prod".to_owned()
        }
    );
    // A service nobody tagged (not created by bbws).
    let mut untagged = event_for(
        "service-action-steady-state.json",
        &i,
        "ev-y",
        "2026-01-05T12:10:00.000Z",
    );
    untagged["resources"] =
        json!(["arn:aws:ecs:eu-west-1:111122223333:service/dev-cluster/legacy"]);
    assert_eq!(
        h.handle(&untagged).await.expect("handled"),
        SyncOutcome::Unmanaged
    );
    let task = fixture("task-state-change.json");
    assert!(matches!(
        h.handle(&task).await.expect("handled"),
        SyncOutcome::NotRelevant { .. }
    ));
    let mut ec2 = fixture("service-action-steady-state.json");
    ec2["source"] = json!("aws.ec2");
    assert_eq!(
        h.handle(&ec2).await.expect("handled"),
        SyncOutcome::NotEcs {
            source: "aws.ec2".to_owned()
        }
    );
    let mut broken = fixture("service-action-steady-state.json");
    broken["detail"]["createdAt"] = json!("not a time");
    assert!(h.handle(&broken).await.is_err());
    assert_eq!(
        w.instance(&i).await.last_ecs_event,
        None,
        "nothing recorded"
    );
}
