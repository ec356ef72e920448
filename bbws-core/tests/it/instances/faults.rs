//! Fault injection at every step in turn: the rollback leaves nothing behind; a failing
//! compensation ends FAILED with PROV-006 and the ledger names what is left.

use bbws_core::ErrorCode;
use bbws_core::instance::ports::Health;
use bbws_core::instance::{InstanceState, LedgerStatus, OperationStatus, ResourceType};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};

/// Every kind of create call, with the code its failure must be reported under (the two
/// secrets are created by two steps, so the Nth call decides which).
fn cases() -> Vec<(Kind, Op, Option<u32>, Vec<ErrorCode>)> {
    use ErrorCode::{ProvAlb, ProvCognito, ProvDatabase, ProvEcs, ProvEfs};
    vec![
        (Kind::UserPool, Op::Create, None, vec![ProvCognito]),
        (Kind::Domain, Op::Create, None, vec![ProvCognito]),
        (Kind::AppClient, Op::Create, None, vec![ProvCognito]),
        (Kind::Groups, Op::Create, None, vec![ProvCognito]),
        (
            Kind::Secret,
            Op::Create,
            Some(1),
            vec![ProvCognito, ProvDatabase],
        ),
        (
            Kind::Secret,
            Op::Create,
            Some(2),
            vec![ProvCognito, ProvDatabase],
        ),
        (Kind::Database, Op::Create, None, vec![ProvDatabase]),
        (Kind::AccessPoint, Op::Create, None, vec![ProvEfs]),
        (Kind::TargetGroup, Op::Create, None, vec![ProvAlb]),
        (Kind::Priority, Op::Create, None, vec![ProvAlb]),
        (Kind::ListenerRule, Op::Create, None, vec![ProvAlb]),
        (Kind::TaskDefinition, Op::Create, None, vec![ProvEcs]),
        (Kind::Service, Op::Create, None, vec![ProvEcs]),
        (Kind::Autoscaling, Op::Create, None, vec![ProvEcs]),
        (Kind::Health, Op::Check, None, vec![ProvEcs]),
    ]
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_any_step_rolls_back_everything() {
    for (kind, op_kind, nth, codes) in cases() {
        let w = World::new().await;
        w.fake.inject(Fault {
            kind,
            op: op_kind,
            nth,
            mode: FaultMode::Fail,
        });
        let (instance, op) = w.provision().await;
        let case = format!("{kind:?} {op_kind:?} #{nth:?}");

        assert_eq!(op.status, OperationStatus::RolledBack, "{case}: {op:?}");
        assert_eq!(instance.state, InstanceState::Failed, "{case}");
        let err = instance.last_error.clone().expect("last error");
        assert!(codes.contains(&err.code), "{case}: {err:?}");
        assert_eq!(op.error.as_ref().map(|e| e.code), Some(err.code), "{case}");

        // Nothing is left in the cloud (not even the EFS directory) ...
        assert!(w.fake.live().is_empty(), "{case}: left {:?}", w.fake.live());
        // ... and the ledger shows everything deleted.
        let ledger = w.ledger(&instance).await;
        assert!(!ledger.is_empty() || kind == Kind::UserPool, "{case}");
        for e in &ledger {
            assert_eq!(e.status, LedgerStatus::Deleted, "{case}: {}", e.label());
        }
        let completion = w
            .tenants
            .pending()
            .await
            .into_iter()
            .find(|m| m.detail_type == "CLUSTER_CREATION_COMPLETE")
            .expect("completion event");
        assert_eq!(completion.detail["status"], "FAILED", "{case}");
        assert_eq!(
            completion.detail["error"]["code"],
            err.code.as_str(),
            "{case}"
        );
        // The tenant's inventory no longer lists live resources.
        let inventory = bbws_core::ports::ResourceInventory::active_resources(
            w.tenants.store.as_ref(),
            &w.tenant.id,
        )
        .await
        .expect("inventory readable");
        assert!(inventory.is_empty(), "{case}: {inventory:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn an_unhealthy_service_is_rolled_back() {
    let w = World::new().await;
    w.fake.script_health(vec![Health::Unhealthy(
        "circuit breaker rolled back".into(),
    )]);
    let (instance, op) = w.provision().await;
    assert_eq!(op.status, OperationStatus::RolledBack);
    assert_eq!(
        instance.last_error.map(|e| e.code),
        Some(ErrorCode::ProvEcs)
    );
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
}

#[tokio::test(start_paused = true)]
async fn a_failing_compensation_ends_failed_with_prov_006_and_names_the_leftovers() {
    let w = World::new().await;
    w.fake.inject(Fault {
        kind: Kind::Service,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    w.fake.inject(Fault {
        kind: Kind::TargetGroup,
        op: Op::Delete,
        nth: None,
        mode: FaultMode::Fail,
    });
    let (instance, op) = w.provision().await;

    assert_eq!(op.status, OperationStatus::Failed);
    assert_eq!(instance.state, InstanceState::Failed);
    let err = instance.last_error.clone().expect("last error");
    assert_eq!(err.code, ErrorCode::ProvRollbackFailed);
    assert_eq!(err.code.as_str(), "PROV-006");
    assert!(err.message.contains("create-ecs-service"), "{err:?}");
    assert_eq!(err.resources.len(), 1, "{err:?}");
    assert!(err.resources[0].starts_with("ALB_TG bbws-"), "{err:?}");
    // The error as a caller sees it carries the list in its details.
    let as_error = err.clone().into_error();
    assert_eq!(as_error.code().as_str(), "PROV-006");
    assert_eq!(
        as_error.details()["resources"][0],
        err.resources[0].as_str()
    );

    // The ledger names exactly what is left, and the cloud agrees.
    let left = w.not_deleted(&instance).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].resource_type, ResourceType::TargetGroup);
    assert_eq!(left[0].status, LedgerStatus::Failed);
    assert!(left[0].error.is_some());
    assert_eq!(
        w.fake.live(),
        vec![(Kind::TargetGroup, left[0].name.clone())]
    );

    // Once the cause is fixed, deprovisioning the FAILED instance removes the leftover.
    w.fake.clear_faults();
    let op = w.deprovision(&instance, false).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
    assert_eq!(
        w.instance(&instance).await.state,
        InstanceState::Deprovisioned
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_provisioning_can_be_retried_and_reaches_active() {
    let w = World::new().await;
    w.fake.inject(Fault {
        kind: Kind::ListenerRule,
        op: Op::Create,
        nth: Some(1),
        mode: FaultMode::Fail,
    });
    let (instance, op) = w.provision().await;
    assert_eq!(op.status, OperationStatus::RolledBack);
    let retry = w
        .service
        .retry_provisioning(
            &crate::support::platform_admin(),
            &w.tenant.id,
            &instance.id,
        )
        .await
        .expect("a FAILED instance can be retried");
    assert_eq!(retry.instance.state, InstanceState::PendingProvisioning);
    assert_ne!(retry.operation.id, op.id);
    let op = w.run(&retry.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(w.instance(&instance).await.state, InstanceState::Active);
    for e in w.ledger(&instance).await {
        assert_eq!(e.status, LedgerStatus::Created, "{}", e.label());
    }
}
