//! The happy path, retries, timeouts and the health wait.

use std::time::Duration;

use bbws_core::ErrorCode;
use bbws_core::instance::ports::Health;
use bbws_core::instance::{
    InstanceState, LedgerStatus, OperationStatus, ResourceType, StepName, StepStatus,
};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};

const TAG_KEYS: [&str; 6] = [
    "bbws:tenant-id",
    "bbws:project",
    "bbws:cost-center",
    "bbws:managed-by",
    "bbws:environment",
    "bbws:component",
];

#[tokio::test(start_paused = true)]
async fn provisioning_reaches_active_with_every_resource_in_the_ledger_and_tagged() {
    let w = World::new().await;
    let (instance, op) = w.provision().await;

    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(op.progress, 100);
    assert_eq!(op.estimated_completion_at, None);
    assert!(op.error.is_none());
    assert!(
        op.steps.iter().all(|s| s.status == StepStatus::Done),
        "{:?}",
        op.steps
    );
    assert_eq!(instance.state, InstanceState::Active);
    assert!(instance.provisioned_at.is_some());

    // Every resource type of provisioning is in the ledger, created, with an id.
    let ledger = w.ledger(&instance).await;
    let types: Vec<ResourceType> = ledger.iter().map(|e| e.resource_type).collect();
    for t in ResourceType::ALL.into_iter().filter(|t| !t.is_archive()) {
        assert!(types.contains(&t), "{t} missing from the ledger");
    }
    for e in &ledger {
        assert_eq!(e.status, LedgerStatus::Created, "{}", e.label());
        assert!(e.id.is_some(), "{} has no id", e.label());
    }
    // The instance carries the ids and ARNs of what it owns.
    assert!(instance.resources.contains_key(&ResourceType::EcsService));
    assert!(
        instance
            .resources
            .contains_key(&ResourceType::EfsAccessPoint)
    );

    // The cloud holds what the ledger says, each taggable object with the unified tags.
    let objects = w.fake.objects();
    assert!(!objects.is_empty());
    for (kind, name, obj) in &objects {
        let taggable = matches!(
            kind,
            Kind::UserPool
                | Kind::Secret
                | Kind::AccessPoint
                | Kind::TargetGroup
                | Kind::ListenerRule
                | Kind::TaskDefinition
                | Kind::Service
                | Kind::Autoscaling
        );
        if taggable {
            for key in TAG_KEYS {
                assert!(obj.tags.contains_key(key), "{kind:?} {name} lacks {key}");
            }
            assert_eq!(
                obj.tags.get("bbws:tenant-id"),
                Some(&w.tenant.id.to_string())
            );
            assert!(!obj.tags.contains_key("bbws:opportunity"), "empty tag sent");
        }
    }
    // Exactly one object per create; nothing created twice.
    for kind in [
        Kind::UserPool,
        Kind::Domain,
        Kind::AppClient,
        Kind::Database,
        Kind::AccessPoint,
        Kind::TargetGroup,
        Kind::ListenerRule,
        Kind::Service,
        Kind::Autoscaling,
    ] {
        assert_eq!(w.fake.created(kind), 1, "{kind:?}");
    }
    assert_eq!(w.fake.created(Kind::Secret), 2);

    // The tenant's resource inventory sees the instance's live resources.
    let inventory = bbws_core::ports::ResourceInventory::active_resources(
        w.tenants.store.as_ref(),
        &w.tenant.id,
    )
    .await
    .expect("inventory readable");
    assert!(inventory.iter().any(|r| r.resource_type == "ECS_SERVICE"));

    // Events and audit.
    let types = w.tenants.pending_types().await;
    assert!(types.contains(&"INSTANCE_PROVISIONING_REQUESTED".to_owned()));
    assert!(types.contains(&"CLUSTER_CREATION_COMPLETE".to_owned()));
    let done = w
        .tenants
        .pending()
        .await
        .into_iter()
        .find(|m| m.detail_type == "CLUSTER_CREATION_COMPLETE")
        .expect("completion event");
    assert_eq!(done.detail["status"], "SUCCESS");
    assert!(done.detail["resources"]["ecsServiceArn"].is_string());
    let audit = w.tenants.audit_types(&w.tenant.id).await;
    assert!(
        audit.contains(&"INSTANCE_PROVISIONED".to_owned()),
        "{audit:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_service_is_created_only_after_its_listener_rule_and_task_definition() {
    let w = World::new().await;
    w.provision().await;
    let log = w.fake.log();
    let pos = |needle: &str| {
        log.iter()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle} not called: {log:?}"))
    };
    let service = pos("Create Service");
    assert!(pos("Create ListenerRule") < service);
    assert!(pos("Create TaskDefinition") < service);
    assert!(pos("Create Database") < pos("Create TaskDefinition"));
    assert!(pos("Create AccessPoint") < pos("Create TaskDefinition"));
    assert!(service < pos("Create Autoscaling"));
    assert!(pos("Create Autoscaling") < pos("Check Health"));
}

#[tokio::test(start_paused = true)]
async fn throttled_calls_are_retried_with_exponential_backoff() {
    let w = World::new().await;
    for nth in [1, 2] {
        w.fake.inject(Fault {
            kind: Kind::TargetGroup,
            op: Op::Create,
            nth: Some(nth),
            mode: FaultMode::Throttle,
        });
    }
    let started = tokio::time::Instant::now();
    let (instance, op) = w.provision().await;
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(instance.state, InstanceState::Active);
    assert_eq!(w.fake.create_calls(Kind::TargetGroup), 3);
    assert_eq!(w.fake.created(Kind::TargetGroup), 1);
    // 1 s then 2 s of backoff on the paused clock.
    assert!(started.elapsed() >= Duration::from_secs(3));
    let lb = op.step(StepName::LoadBalancer).expect("step");
    assert!(lb.attempts >= 3, "{lb:?}");
}

#[tokio::test(start_paused = true)]
async fn throttling_beyond_the_retry_budget_fails_the_step_and_rolls_back() {
    let w = World::new().await;
    w.fake.inject(Fault {
        kind: Kind::AccessPoint,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Throttle,
    });
    let (instance, op) = w.provision().await;
    assert_eq!(w.fake.create_calls(Kind::AccessPoint), 3);
    assert_eq!(op.status, OperationStatus::RolledBack);
    assert_eq!(
        instance.last_error.as_ref().map(|e| e.code),
        Some(ErrorCode::ProvEfs)
    );
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
}

#[tokio::test(start_paused = true)]
async fn a_call_that_never_answers_times_out_and_the_provisioning_rolls_back() {
    let w = World::new().await;
    w.fake.inject(Fault {
        kind: Kind::Database,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Hang,
    });
    let started = tokio::time::Instant::now();
    let (instance, op) = w.provision().await;
    // Three attempts of 120 s each, plus 1 s and 2 s of backoff.
    assert!(started.elapsed() >= Duration::from_secs(363));
    assert_eq!(w.fake.create_calls(Kind::Database), 3);
    assert_eq!(op.status, OperationStatus::RolledBack);
    assert_eq!(
        instance.last_error.as_ref().map(|e| e.code),
        Some(ErrorCode::ProvDatabase)
    );
    let error = op.error.expect("failure reason");
    assert!(
        error.message.contains("no answer within 120 s"),
        "{error:?}"
    );
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
    assert!(w.not_deleted(&instance).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_health_wait_polls_until_the_service_is_healthy() {
    let w = World::new().await;
    w.fake.script_health(vec![
        Health::Starting("0/2 running".into()),
        Health::Starting("1/2 running".into()),
        Health::Starting("targets initial".into()),
    ]);
    let started = tokio::time::Instant::now();
    let (instance, op) = w.provision().await;
    assert_eq!(instance.state, InstanceState::Active);
    assert_eq!(op.status, OperationStatus::Completed);
    assert!(started.elapsed() >= Duration::from_secs(45), "3 × 15 s");
}

#[tokio::test(start_paused = true)]
async fn a_service_that_never_becomes_healthy_fails_with_prov_003_and_rolls_back() {
    let w = World::new().await;
    w.fake
        .script_health(vec![Health::Starting("pending".into()); 100]);
    let (instance, op) = w.provision().await;
    assert_eq!(op.status, OperationStatus::RolledBack);
    let err = instance.last_error.expect("last error");
    assert_eq!(err.code, ErrorCode::ProvEcs);
    assert_eq!(err.code.as_str(), "PROV-003");
    assert!(err.message.contains("did not become healthy"), "{err:?}");
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
}

#[tokio::test(start_paused = true)]
async fn a_late_failure_rolls_back_the_done_steps_and_skips_the_rest() {
    let w = World::new().await;
    let accepted = w.request().await;
    let before = accepted.operation.clone();
    assert_eq!(before.status, OperationStatus::Pending);
    assert_eq!(before.progress, 0);
    let eta = before
        .estimated_completion_at
        .expect("an ETA while pending");
    assert!(eta > before.created_at);
    // Fail late so the operation records partial progress before rolling back.
    w.fake.inject(Fault {
        kind: Kind::Autoscaling,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    let op = w.run(&accepted.operation.id).await;
    let rolled: Vec<StepName> = op
        .steps
        .iter()
        .filter(|s| s.status == StepStatus::RolledBack)
        .map(|s| s.name)
        .collect();
    assert!(rolled.contains(&StepName::Service), "{:?}", op.steps);
    assert_eq!(
        op.step(StepName::Autoscaling).map(|s| s.status),
        Some(StepStatus::Failed)
    );
    assert_eq!(
        op.step(StepName::HealthWait).map(|s| s.status),
        Some(StepStatus::Skipped)
    );
    assert_eq!(op.estimated_completion_at, None, "no ETA once it has ended");
}
