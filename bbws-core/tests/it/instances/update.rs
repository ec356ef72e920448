//! The rolling update (digest 2.7 C4, §6): accepted only for an ACTIVE instance under the
//! caller's `If-Match`, run by the engine as a new task definition revision the service rolls
//! out (minimum healthy 100 %, maximum 200 %), the instance taking the new image, version, tier
//! and revision only once the service runs it healthy; a failed or rolled-back deployment leaves
//! the instance FAILED with the step's reason; a resumed run registers nothing twice.

use std::sync::Arc;

use bbws_core::idempotency::IdempotencyKey;
use bbws_core::instance::ports::Health;
use bbws_core::instance::records::InstanceRecord;
use bbws_core::instance::{
    Accepted, ContainerImage, Instance, InstanceState, InstanceUpdate, LedgerStatus,
    LifecycleRequest, Names, OperationDao, OperationStatus, OperationType, ResourceType, SizeTier,
    StepName, StepStatus, TaskSize, WordPressVersion,
};
use bbws_core::tenant::{Environment, Reason};
use bbws_core::{Error, ErrorCode};
use tokio::sync::Notify;

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};
use crate::support::{platform_admin, viewer};

fn version(v: &str) -> InstanceUpdate {
    InstanceUpdate::parse(None, Some(v), None).expect("a valid update")
}

fn service_of(i: &Instance) -> String {
    Names::new(&i.resource_key, Environment::Dev).ecs_service
}

async fn accept(w: &World, i: &Instance, update: InstanceUpdate) -> bbws_core::Result<Accepted> {
    w.service
        .request_update(&platform_admin(), &w.tenant.id, &i.id, update, None, None)
        .await
        .map(|c| c.value)
}

#[tokio::test(start_paused = true)]
async fn a_new_wordpress_version_is_rolled_out_as_a_new_revision_and_recorded_once_it_runs() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    assert_eq!(
        i.container_image.as_deref(),
        Some("dev-wordpress:latest"),
        "provisioning records the image it runs"
    );
    let first_revision = i.resources[&ResourceType::TaskDefinition].clone();
    let before = w.fake.registered();

    let accepted = accept(&w, &i, version("6.4.2")).await.expect("accepted");
    assert_eq!(
        accepted.instance.state,
        InstanceState::Active,
        "it stays ACTIVE"
    );
    assert_eq!(accepted.operation.op_type, OperationType::Update);
    assert_eq!(accepted.operation.status, OperationStatus::Pending);
    let steps: Vec<StepName> = accepted.operation.steps.iter().map(|s| s.name).collect();
    assert_eq!(steps, StepName::UPDATE);
    assert_eq!(
        accepted
            .operation
            .update
            .as_ref()
            .and_then(|u| u.wordpress_version().map(WordPressVersion::as_str)),
        Some("6.4.2"),
        "the operation carries the change for whoever runs it"
    );
    // Stored with the operation, so a worker reading it later knows the change too.
    let stored = w
        .tenants
        .store
        .get_operation(&accepted.operation.id)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(stored.update, accepted.operation.update);

    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");

    // One new revision, as provisioning registers it but for the new image.
    let registered = w.fake.registered();
    assert_eq!(registered.len(), before.len() + 1);
    let new = registered.last().expect("registered");
    let old = before.last().expect("provisioned");
    assert_eq!(new.image, "dev-wordpress:6.4.2");
    assert_eq!((new.cpu, new.memory), (old.cpu, old.memory));
    assert_eq!(new.family, old.family);
    assert_eq!(new.environment, old.environment);
    assert_eq!(new.db_secret_arn, old.db_secret_arn);
    assert_eq!(new.access_point_id, old.access_point_id);

    // The service rolls onto it with zero downtime and the circuit breaker.
    let revision = op
        .step(StepName::RegisterRevision)
        .and_then(|s| s.resource_id.clone())
        .expect("the revision is recorded on its step");
    assert_ne!(revision, first_revision);
    let rollouts = w.fake.rollouts();
    assert_eq!(rollouts.len(), 1);
    assert_eq!(rollouts[0].task_definition_arn, revision);
    assert_eq!(
        (
            rollouts[0].minimum_healthy_percent,
            rollouts[0].maximum_percent
        ),
        (100, 200)
    );
    assert_eq!(w.fake.revision_of(&service_of(&i)), Some(revision.clone()));

    // The instance now says what runs, and the ledger names the revision.
    let updated = w.instance(&i).await;
    assert_eq!(updated.state, InstanceState::Active);
    assert_eq!(updated.wordpress_version, "6.4.2");
    assert_eq!(
        updated.container_image.as_deref(),
        Some("dev-wordpress:6.4.2")
    );
    assert_eq!(
        updated.resources.get(&ResourceType::TaskDefinition),
        Some(&revision)
    );
    assert_eq!(updated.current_operation, Some(op.id));
    let entry = w
        .ledger(&i)
        .await
        .into_iter()
        .find(|e| e.resource_type == ResourceType::TaskDefinition)
        .expect("ledger entry");
    assert_eq!(entry.id.as_deref(), Some(revision.as_str()));
    assert_eq!(entry.status, LedgerStatus::Created);

    // Audited old -> new, and published.
    let audit = w.tenants.audit(&w.tenant.id).await;
    let requested = audit
        .iter()
        .find(|e| e.event_type == "INSTANCE_UPDATE_REQUESTED")
        .expect("the request is audited");
    assert_eq!(requested.details["from"]["wordpressVersion"], "latest");
    assert_eq!(requested.details["to"]["wordpressVersion"], "6.4.2");
    let done = audit
        .iter()
        .find(|e| e.event_type == "INSTANCE_UPDATED")
        .expect("the update is audited");
    assert_eq!(
        done.details["from"]["containerImage"],
        "dev-wordpress:latest"
    );
    assert_eq!(done.details["to"]["containerImage"], "dev-wordpress:6.4.2");
    assert_eq!(done.details["from"]["taskDefinitionArn"], first_revision);
    assert_eq!(done.details["to"]["taskDefinitionArn"], revision);
    let pending = w.tenants.pending().await;
    let queued = pending
        .iter()
        .find(|m| {
            m.detail_type == "INSTANCE_LIFECYCLE_REQUESTED"
                && m.detail["operationId"] == op.id.to_string()
        })
        .expect("the operation is announced for the worker");
    assert_eq!(queued.detail["eventType"], "UPDATE_CLUSTER");
    let event = pending
        .iter()
        .find(|m| m.detail_type == "INSTANCE_UPDATED")
        .expect("the update is published");
    assert_eq!(event.detail["current"]["wordpressVersion"], "6.4.2");
    assert_eq!(event.detail["previous"]["wordpressVersion"], "latest");
}

#[tokio::test(start_paused = true)]
async fn a_tier_change_registers_the_tiers_task_size_and_an_image_wins_over_a_version() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let op = w
        .run(
            &accept(
                &w,
                &i,
                InstanceUpdate::parse(None, None, Some("ENTERPRISE")).expect("valid"),
            )
            .await
            .expect("accepted")
            .operation
            .id,
        )
        .await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let new = w.fake.registered().pop().expect("registered");
    assert_eq!((new.cpu, new.memory), (2048, 4096));
    assert_eq!(new.image, "dev-wordpress:latest", "the image is kept");
    let updated = w.instance(&i).await;
    assert_eq!(updated.tier, SizeTier::Enterprise);
    assert_eq!(
        updated.task_size,
        TaskSize::new(2048, 4096).expect("a Fargate size")
    );

    let custom = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bbws/wordpress:6.5-custom";
    let op = w
        .run(
            &accept(
                &w,
                &updated,
                InstanceUpdate::parse(Some(custom), Some("6.5"), None).expect("valid"),
            )
            .await
            .expect("accepted")
            .operation
            .id,
        )
        .await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let new = w.fake.registered().pop().expect("registered");
    assert_eq!(new.image, custom, "the given image wins");
    assert_eq!((new.cpu, new.memory), (2048, 4096), "the tier is kept");
    let updated = w.instance(&i).await;
    assert_eq!(updated.container_image.as_deref(), Some(custom));
    assert_eq!(updated.wordpress_version, "6.5");

    // A version alone goes back to the platform's image of that version.
    let op = w
        .run(
            &accept(&w, &updated, version("6.6"))
                .await
                .expect("accepted")
                .operation
                .id,
        )
        .await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(
        w.instance(&i).await.container_image.as_deref(),
        Some("dev-wordpress:6.6")
    );
}

#[tokio::test(start_paused = true)]
async fn only_an_active_instance_under_the_callers_version_is_updated() {
    let w = World::new().await;
    let (i, _) = w.provision().await;

    // A stale If-Match: 409 VERSION_CONFLICT, nothing accepted.
    let err = w
        .service
        .request_update(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            version("6.4"),
            Some(i.version - 1),
            None,
        )
        .await
        .expect_err("stale");
    match err {
        Error::VersionConflict { expected, current } => {
            assert_eq!((expected, current), (i.version - 1, i.version));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(w.instance(&i).await.version, i.version);
    // The current one is accepted.
    let accepted = w
        .service
        .request_update(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            version("6.4"),
            Some(i.version),
            None,
        )
        .await
        .expect("accepted")
        .value;

    // While it runs, a second update is 409 CONFLICT naming it.
    let err = accept(&w, &i, version("6.5")).await.expect_err("busy");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert!(
        err.to_string().contains(&accepted.operation.id.to_string()),
        "{err}"
    );
    w.run(&accepted.operation.id).await;

    // A viewer may not.
    let err = w
        .service
        .request_update(
            &viewer(&[&w.tenant.id]),
            &w.tenant.id,
            &i.id,
            version("6.5"),
            None,
            None,
        )
        .await
        .expect_err("a viewer may not update");
    assert_eq!(err.code(), ErrorCode::Forbidden);

    // SUSPENDED: 422 with where it stands and where it may go.
    let reason =
        Reason::parse(Some("customer asked for a pause"), "Suspension reason").expect("reason");
    let suspend = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend { reason },
            None,
        )
        .await
        .expect("accepted")
        .value;
    w.run(&suspend.operation.id).await;
    match accept(&w, &i, version("6.5")).await {
        Err(Error::InstanceTransition {
            current, allowed, ..
        }) => {
            assert_eq!(current, InstanceState::Suspended);
            assert!(allowed.contains(&InstanceState::Resuming), "{allowed:?}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_invalid_image_or_version_is_a_400_on_its_field() {
    for (image, version, field) in [
        (Some("WordPress:Latest"), None, "containerImage"),
        (Some("wordpress:6.4; rm -rf /"), None, "containerImage"),
        (Some(""), None, "containerImage"),
        (None, Some("6.4-beta"), "wordpressVersion"),
        (None, None, "body"),
    ] {
        match InstanceUpdate::parse(image, version, None) {
            Err(Error::Validation { fields, .. }) => {
                assert_eq!(fields[0].field, field, "{image:?} {version:?}");
            }
            other => panic!("{image:?} {version:?}: {other:?}"),
        }
    }
    assert!(ContainerImage::parse("wordpress:6.4.2-php8.2-apache").is_ok());
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_deployment_leaves_the_instance_failed_on_its_old_revision() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let old_revision = i.resources[&ResourceType::TaskDefinition].clone();
    w.fake.roll_back_next_deployment();
    let accepted = accept(&w, &i, version("6.4.2")).await.expect("accepted");
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    let error = op.error.clone().expect("a reason");
    assert_eq!(error.code, ErrorCode::ProvEcs);
    assert!(
        error.message.contains("wait-for-deployment") && error.message.contains("rolled back"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("circuit breaker"),
        "ECS's reason is kept: {}",
        error.message
    );
    assert_eq!(
        op.step(StepName::WaitDeployment).map(|s| s.status),
        Some(StepStatus::Failed)
    );
    let failed = w.instance(&i).await;
    assert_eq!(failed.state, InstanceState::Failed);
    assert_eq!(failed.last_error.map(|e| e.code), Some(ErrorCode::ProvEcs));
    // What runs is still the old revision, and the instance says so.
    assert_eq!(failed.wordpress_version, "latest");
    assert_eq!(
        failed.container_image.as_deref(),
        Some("dev-wordpress:latest")
    );
    assert_eq!(
        failed.resources.get(&ResourceType::TaskDefinition),
        Some(&old_revision)
    );
    assert_eq!(
        w.fake.revision_of(&service_of(&i)),
        Some(old_revision.clone())
    );
    let entry = w
        .ledger(&i)
        .await
        .into_iter()
        .find(|e| e.resource_type == ResourceType::TaskDefinition)
        .expect("ledger entry");
    assert_eq!(entry.id.as_deref(), Some(old_revision.as_str()));
    assert!(
        w.tenants
            .audit_types(&w.tenant.id)
            .await
            .contains(&"INSTANCE_LIFECYCLE_FAILED".to_owned())
    );
    assert_eq!(
        w.run(&accepted.operation.id).await,
        op,
        "a finished operation stays as it ended"
    );
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_deployment_or_a_refused_call_fails_the_update_at_its_step() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    w.fake.script_health(vec![Health::Unhealthy(
        "the deployment failed: tasks failed to start".to_owned(),
    )]);
    let op = w
        .run(
            &accept(&w, &i, version("6.4"))
                .await
                .expect("accepted")
                .operation
                .id,
        )
        .await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    assert!(
        op.error
            .as_ref()
            .is_some_and(|e| e.message.contains("tasks failed to start")),
        "{op:#?}"
    );
    assert_eq!(w.instance(&i).await.state, InstanceState::Failed);

    // Another instance: UpdateService refused.
    let w = World::new().await;
    let (i, _) = w.provision().await;
    w.fake.inject(Fault {
        kind: Kind::ServiceUpdate,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    let op = w
        .run(
            &accept(&w, &i, version("6.4"))
                .await
                .expect("accepted")
                .operation
                .id,
        )
        .await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:#?}");
    assert_eq!(
        op.step(StepName::DeployRevision).map(|s| s.status),
        Some(StepStatus::Failed)
    );
    assert_eq!(
        op.step(StepName::WaitDeployment).map(|s| s.status),
        Some(StepStatus::Pending)
    );
    assert_eq!(w.instance(&i).await.wordpress_version, "latest");
}

#[tokio::test(start_paused = true)]
async fn a_run_that_died_after_the_rollout_resumes_with_the_revision_it_registered() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let provisioned = w.fake.registered().len();
    let accepted = accept(&w, &i, version("6.4.2")).await.expect("accepted");
    let crash = Arc::new(Notify::new());
    w.fake.inject(Fault {
        kind: Kind::ServiceUpdate,
        op: Op::Create,
        nth: Some(1),
        mode: FaultMode::Crash(crash.clone()),
    });
    tokio::select! {
        biased;
        () = crash.notified() => {}
        r = w.engine.run(&accepted.operation.id) => panic!("the run should have died: {r:?}"),
    }
    let mid = w
        .tenants
        .store
        .get_operation(&accepted.operation.id)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(mid.status, OperationStatus::InProgress);
    assert!(mid.step_done(StepName::RegisterRevision));
    let registered = mid
        .step(StepName::RegisterRevision)
        .and_then(|s| s.resource_id.clone())
        .expect("recorded");

    w.fake.clear_faults();
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(
        w.fake.registered().len(),
        provisioned + 1,
        "no second revision"
    );
    assert!(
        w.fake
            .rollouts()
            .iter()
            .all(|r| r.task_definition_arn == registered)
    );
    assert_eq!(
        w.instance(&i)
            .await
            .resources
            .get(&ResourceType::TaskDefinition),
        Some(&registered)
    );
}

#[tokio::test(start_paused = true)]
async fn a_request_that_changes_nothing_is_complete_at_once_and_rolls_out_nothing() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let registered = w.fake.registered().len();
    for same in [
        version("latest"),
        InstanceUpdate::parse(Some("dev-wordpress:latest"), None, Some("STARTER")).expect("valid"),
    ] {
        let accepted = accept(&w, &w.instance(&i).await, same)
            .await
            .expect("accepted");
        assert_eq!(
            accepted.operation.status,
            OperationStatus::Completed,
            "{:#?}",
            accepted.operation
        );
        assert!(
            accepted
                .operation
                .steps
                .iter()
                .all(|s| s.status == StepStatus::Skipped)
        );
        assert!(
            accepted.operation.message.starts_with("Nothing to change"),
            "{}",
            accepted.operation.message
        );
        let op = w.run(&accepted.operation.id).await;
        assert_eq!(op, accepted.operation, "running it changes nothing");
    }
    assert_eq!(w.fake.registered().len(), registered);
    assert!(w.fake.rollouts().is_empty());
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);
}

#[tokio::test(start_paused = true)]
async fn the_same_idempotency_key_replays_and_another_body_under_it_is_refused() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let key = IdempotencyKey::parse("update-6-4").expect("key");
    let update = |v: &str| {
        let w = &w;
        let i = &i;
        let key = &key;
        let u = version(v);
        async move {
            w.service
                .request_update(&platform_admin(), &w.tenant.id, &i.id, u, None, Some(key))
                .await
        }
    };
    let first = update("6.4").await.expect("accepted");
    let again = update("6.4").await.expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.value.operation.id, first.value.operation.id);
    let err = update("6.5").await.expect_err("another body");
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);
}

#[test]
fn an_instance_stored_before_the_image_was_recorded_still_reads_and_runs_its_version() {
    let now = "2026-01-05T12:00:00.000Z".parse().expect("time");
    let tenant = bbws_core::ids::TenantId::from_uuid(uuid::Uuid::from_u128(7));
    let mut i = Instance::new(
        bbws_core::ids::InstanceId::from_uuid(uuid::Uuid::from_u128(8)),
        tenant,
        Environment::Dev,
        bbws_core::instance::NewInstance::standard(),
        "wpdev.kimmyai.io",
        "ops@bbws.io",
        now,
    );
    i.wordpress_version = "6.3".to_owned();
    let mut json = serde_json::to_value(InstanceRecord::from(&i)).expect("serialises");
    assert!(json.get("containerImage").is_none(), "{json}");
    json.as_object_mut()
        .expect("an object")
        .remove("containerImage");
    let back: Instance = serde_json::from_value::<InstanceRecord>(json)
        .expect("an old record parses")
        .try_into()
        .expect("and converts");
    assert_eq!(back.container_image, None);
    assert_eq!(back.image("dev-wordpress"), "dev-wordpress:6.3");

    i.container_image = Some("dev-wordpress:6.4".to_owned());
    let json = serde_json::to_value(InstanceRecord::from(&i)).expect("serialises");
    assert_eq!(json["containerImage"], "dev-wordpress:6.4");
}

#[tokio::test(start_paused = true)]
async fn the_plan_of_an_update_lists_the_revision_and_the_rollout_and_changes_nothing() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let registered = w.fake.registered().len();
    let plan = w
        .service
        .plan_update(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            InstanceUpdate::parse(None, Some("6.4.2"), Some("PROFESSIONAL")).expect("valid"),
        )
        .await
        .expect("planned");
    let actions: Vec<String> = plan
        .calls
        .iter()
        .map(|c| format!("{}:{}", c.service, c.action))
        .collect();
    assert_eq!(
        actions.first().map(String::as_str),
        Some("ecs:RegisterTaskDefinition"),
        "{actions:?}"
    );
    let register = &plan.calls[0];
    assert_eq!(register.params["image"], "dev-wordpress:6.4.2");
    assert_eq!(
        (&register.params["cpu"], &register.params["memory"]),
        (&serde_json::json!("1024"), &serde_json::json!("2048"))
    );
    let rollout = plan
        .calls
        .iter()
        .find(|c| c.action == "UpdateService")
        .expect("the rollout is planned");
    assert_eq!(rollout.resource, service_of(&i));
    assert_eq!(
        rollout.params["deploymentConfiguration"]["minimumHealthyPercent"],
        100
    );
    assert_eq!(
        rollout.params["deploymentConfiguration"]["deploymentCircuitBreaker"]["rollback"],
        true
    );
    assert!(
        actions
            .iter()
            .any(|a| a == "ecs:DescribeServices (wait for steady state)"),
        "{actions:?}"
    );
    // Nothing happened: no revision, no change to the instance.
    assert_eq!(w.fake.registered().len(), registered);
    assert_eq!(w.instance(&i).await, i);

    let nothing = w
        .service
        .plan_update(&platform_admin(), &w.tenant.id, &i.id, version("latest"))
        .await
        .expect("planned");
    assert!(nothing.calls.is_empty(), "{:?}", nothing.calls);
}
