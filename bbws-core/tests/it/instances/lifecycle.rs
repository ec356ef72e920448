//! Lifecycle operations (digest 2.7 §6) through the engine and the Operation resource:
//! suspend, resume, park, unpark, scale and restart move the instance through their states,
//! change the service and its autoscaling as §6 says, refuse the wrong states with 422 and the
//! allowed transitions, and leave the instance FAILED with the step's reason when a call fails.

use bbws_core::instance::{
    Instance, InstanceState, LifecycleRequest, Names, Operation, OperationStatus, StepName,
};
use bbws_core::tenant::{Environment, Reason};
use bbws_core::{Error, ErrorCode};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};
use crate::support::{operator, platform_admin, viewer};

fn reason() -> Reason {
    Reason::parse(Some("customer asked for a pause"), "Suspension reason").expect("valid reason")
}

async fn change(w: &World, i: &Instance, req: LifecycleRequest) -> bbws_core::Result<Operation> {
    let accepted = w
        .service
        .request_lifecycle(&platform_admin(), &w.tenant.id, &i.id, req, None)
        .await?
        .value;
    Ok(w.run(&accepted.operation.id).await)
}

fn names(i: &Instance) -> Names {
    Names::new(&i.resource_key, Environment::Dev)
}

fn scaling_id(i: &Instance) -> String {
    format!("service/dev-cluster/{}", names(i).ecs_service)
}

#[tokio::test(start_paused = true)]
async fn suspend_drains_the_service_with_autoscaling_paused_and_resume_brings_back_the_stored_count()
 {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let service = names(&i).ecs_service;
    let accepted = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend { reason: reason() },
            None,
        )
        .await
        .expect("accepted")
        .value;
    assert_eq!(accepted.instance.state, InstanceState::Suspending);
    assert_eq!(accepted.operation.status, OperationStatus::Pending);
    assert_eq!(
        accepted
            .operation
            .steps
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>(),
        StepName::STOP
    );
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(op.reason.as_deref(), Some("customer asked for a pause"));
    let suspended = w.instance(&i).await;
    assert_eq!(suspended.state, InstanceState::Suspended);
    assert_eq!(
        suspended.desired_count, i.desired_count,
        "the stored count is kept"
    );
    assert_eq!(w.fake.desired(&service), Some(0));
    let (_, _, paused) = w
        .fake
        .scaling(&scaling_id(&i))
        .expect("autoscaling touched");
    assert!(paused, "autoscaling is suspended with the service");

    let op = change(&w, &i, LifecycleRequest::Resume)
        .await
        .expect("accepted");
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);
    assert_eq!(w.fake.desired(&service), Some(i.desired_count.get()));
    let (min, max, paused) = w
        .fake
        .scaling(&scaling_id(&i))
        .expect("autoscaling touched");
    assert!(!paused, "autoscaling resumes");
    assert!(min <= i.desired_count.get() && i.desired_count.get() <= max);
}

#[tokio::test(start_paused = true)]
async fn park_and_unpark_go_through_their_own_states() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let op = change(&w, &i, LifecycleRequest::Park { reason: reason() })
        .await
        .expect("accepted");
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(w.instance(&i).await.state, InstanceState::Parked);
    assert_eq!(w.fake.desired(&names(&i).ecs_service), Some(0));
    let op = change(&w, &i, LifecycleRequest::Unpark)
        .await
        .expect("accepted");
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);
}

#[tokio::test(start_paused = true)]
async fn scale_stores_the_new_count_and_keeps_the_autoscaling_bounds_around_it() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let op = change(&w, &i, LifecycleRequest::Scale { desired_count: 7 })
        .await
        .expect("accepted");
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(op.target_count, Some(7));
    let scaled = w.instance(&i).await;
    assert_eq!(scaled.state, InstanceState::Active);
    assert_eq!(scaled.desired_count.get(), 7);
    assert_eq!(w.fake.desired(&names(&i).ecs_service), Some(7));
    let (min, max, paused) = w.fake.scaling(&scaling_id(&i)).expect("bounds kept");
    assert!(min <= 7 && 7 <= max && !paused, "({min}, {max}, {paused})");

    // Outside the platform's bounds: 422 SCALE_LIMIT_EXCEEDED, nothing accepted.
    for n in [0, 11] {
        let err = w
            .service
            .request_lifecycle(
                &platform_admin(),
                &w.tenant.id,
                &i.id,
                LifecycleRequest::Scale { desired_count: n },
                None,
            )
            .await
            .expect_err("refused");
        assert_eq!(err.code(), ErrorCode::ScaleLimitExceeded, "{n}: {err}");
    }
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);
}

#[tokio::test(start_paused = true)]
async fn restart_forces_a_new_deployment_and_keeps_the_instance_active() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let op = change(&w, &i, LifecycleRequest::Restart)
        .await
        .expect("accepted");
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(w.fake.deployments(&names(&i).ecs_service), 1);
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);
}

#[tokio::test(start_paused = true)]
async fn the_wrong_state_is_422_with_the_allowed_transitions_and_roles_are_checked() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    // ACTIVE cannot be resumed or unparked.
    for req in [LifecycleRequest::Resume, LifecycleRequest::Unpark] {
        match change(&w, &i, req).await {
            Err(Error::InstanceTransition {
                current, allowed, ..
            }) => {
                assert_eq!(current, InstanceState::Active);
                assert!(allowed.contains(&InstanceState::Suspending));
            }
            other => panic!("{other:?}"),
        }
    }
    change(&w, &i, LifecycleRequest::Suspend { reason: reason() })
        .await
        .expect("suspended");
    // SUSPENDED cannot be suspended, parked, scaled or restarted.
    for req in [
        LifecycleRequest::Suspend { reason: reason() },
        LifecycleRequest::Park { reason: reason() },
        LifecycleRequest::Scale { desired_count: 3 },
        LifecycleRequest::Restart,
    ] {
        let err = change(&w, &i, req).await.expect_err("refused");
        assert_eq!(err.code(), ErrorCode::InvalidStatusTransition, "{err}");
    }
    // A viewer may not; an operator of the tenant may.
    let err = w
        .service
        .request_lifecycle(
            &viewer(&[&w.tenant.id]),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Resume,
            None,
        )
        .await
        .expect_err("a viewer may not resume");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    w.service
        .request_lifecycle(
            &operator(&[&w.tenant.id]),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Resume,
            None,
        )
        .await
        .expect("an operator may");
}

#[tokio::test(start_paused = true)]
async fn a_failed_call_leaves_the_instance_failed_with_the_step_and_a_rerun_changes_nothing() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    w.fake.inject(Fault {
        kind: Kind::ServiceUpdate,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    let accepted = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend { reason: reason() },
            None,
        )
        .await
        .expect("accepted")
        .value;
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:?}");
    let error = op.error.clone().expect("a failure reason");
    assert_eq!(error.code, ErrorCode::ProvEcs);
    assert!(
        error.message.contains("update-service"),
        "{}",
        error.message
    );
    let step = op.step(StepName::UpdateDesiredCount).expect("step");
    assert_eq!(step.status, bbws_core::instance::StepStatus::Failed);
    let failed = w.instance(&i).await;
    assert_eq!(failed.state, InstanceState::Failed);
    assert_eq!(failed.last_error.map(|e| e.code), Some(ErrorCode::ProvEcs));
    w.fake.clear_faults();
    assert_eq!(
        w.run(&accepted.operation.id).await,
        op,
        "a finished operation stays as it ended"
    );
}

#[tokio::test(start_paused = true)]
async fn the_same_idempotency_key_replays_the_same_lifecycle_operation() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let key = bbws_core::idempotency::IdempotencyKey::parse("restart-1").expect("key");
    let first = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Restart,
            Some(&key),
        )
        .await
        .expect("accepted");
    let again = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Restart,
            Some(&key),
        )
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.value.operation.id, first.value.operation.id);
}
