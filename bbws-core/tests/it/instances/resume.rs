//! A run that dies part-way (its future is dropped right after a create call reached the cloud,
//! before the ledger heard the answer) is resumed by a second run of the same operation, which
//! finishes without creating anything twice.

use std::sync::Arc;

use bbws_core::instance::{
    InstanceState, LedgerStatus, OperationDao, OperationStatus, Phase, StepStatus,
};
use tokio::sync::Notify;

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};

/// Runs `op` until the fake signals the crash, then drops the run.
async fn run_until_crash(w: &World, op: &bbws_core::ids::OperationId, crash: &Arc<Notify>) {
    tokio::select! {
        biased;
        () = crash.notified() => {}
        r = w.engine.run(op) => panic!("the run should have died, it ended with {r:?}"),
    }
}

/// Kinds whose create the engine looks up before calling again after a crash.
const LOOKED_UP: [Kind; 11] = [
    Kind::UserPool,
    Kind::Domain,
    Kind::AppClient,
    Kind::Secret,
    Kind::Database,
    Kind::AccessPoint,
    Kind::TargetGroup,
    Kind::ListenerRule,
    Kind::TaskDefinition,
    Kind::Service,
    Kind::Autoscaling,
];

#[tokio::test(start_paused = true)]
async fn a_crash_after_any_create_resumes_without_creating_anything_twice() {
    for crash_at in LOOKED_UP.into_iter().chain([Kind::Groups, Kind::Priority]) {
        let w = World::new().await;
        let accepted = w.request().await;
        let crash = Arc::new(Notify::new());
        w.fake.inject(Fault {
            kind: crash_at,
            op: Op::Create,
            nth: Some(1),
            mode: FaultMode::Crash(crash.clone()),
        });
        run_until_crash(&w, &accepted.operation.id, &crash).await;

        // The dead run left the operation in progress, part-way.
        let mid = w
            .tenants
            .store
            .get_operation(&accepted.operation.id)
            .await
            .expect("readable")
            .expect("stored");
        assert_eq!(mid.status, OperationStatus::InProgress, "{crash_at:?}");
        assert!(mid.progress < 100, "{crash_at:?}");
        assert!(mid.estimated_completion_at.is_some(), "{crash_at:?}");
        assert_eq!(
            w.instance(&accepted.instance).await.state,
            InstanceState::Provisioning
        );

        w.fake.clear_faults();
        let op = w.run(&accepted.operation.id).await;
        assert_eq!(
            op.status,
            OperationStatus::Completed,
            "{crash_at:?}: {op:?}"
        );
        assert_eq!(
            w.instance(&accepted.instance).await.state,
            InstanceState::Active,
            "{crash_at:?}"
        );

        // Every object was created exactly once ...
        for kind in LOOKED_UP.into_iter().chain([Kind::Groups, Kind::Priority]) {
            let expected = if kind == Kind::Secret { 2 } else { 1 };
            assert_eq!(
                w.fake.created(kind),
                expected,
                "crash at {crash_at:?}: {kind:?}"
            );
        }
        // ... and where the cloud can be asked, not even asked twice.
        for kind in LOOKED_UP {
            let expected = if kind == Kind::Secret { 2 } else { 1 };
            assert_eq!(
                w.fake.create_calls(kind),
                expected,
                "crash at {crash_at:?}: create calls of {kind:?}"
            );
        }
        for e in w.ledger(&accepted.instance).await {
            assert_eq!(
                e.status,
                LedgerStatus::Created,
                "{crash_at:?}: {}",
                e.label()
            );
        }
    }
}

#[tokio::test(start_paused = true)]
async fn running_a_finished_operation_again_changes_nothing() {
    let w = World::new().await;
    let accepted = w.request().await;
    let first = w.run(&accepted.operation.id).await;
    let calls = w.fake.log().len();
    let again = w.run(&accepted.operation.id).await;
    assert_eq!(first, again);
    assert_eq!(
        w.fake.log().len(),
        calls,
        "no cloud call on a finished operation"
    );
}

#[tokio::test(start_paused = true)]
async fn a_crash_during_rollback_resumes_as_a_rollback() {
    let w = World::new().await;
    let accepted = w.request().await;
    let crash = Arc::new(Notify::new());
    w.fake.inject(Fault {
        kind: Kind::Autoscaling,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    w.fake.inject(Fault {
        kind: Kind::TaskDefinition,
        op: Op::Delete,
        nth: Some(1),
        mode: FaultMode::Crash(crash.clone()),
    });
    run_until_crash(&w, &accepted.operation.id, &crash).await;
    let mid = w
        .tenants
        .store
        .get_operation(&accepted.operation.id)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(mid.phase, Phase::RollingBack);

    w.fake.clear_faults();
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::RolledBack, "{op:?}");
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
    // The resumed run did not create anything again.
    assert_eq!(w.fake.created(Kind::Service), 1);
    assert_eq!(w.fake.create_calls(Kind::Service), 1);
    assert!(w.not_deleted(&accepted.instance).await.is_empty());
    assert!(
        op.steps
            .iter()
            .all(|s| s.status != StepStatus::Running && s.status != StepStatus::Pending),
        "{:?}",
        op.steps
    );
}
