//! Deprovisioning: archives first, then everything goes; forward-only and resumable.

use std::sync::Arc;

use bbws_core::ErrorCode;
use bbws_core::instance::{
    InstanceState, LedgerStatus, OperationStatus, ResourceType, StepName, StepStatus,
};
use tokio::sync::Notify;

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};

#[tokio::test(start_paused = true)]
async fn deprovisioning_an_active_instance_archives_first_and_leaves_nothing() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let calls_before = w.fake.log().len();
    // The tenant cannot be deleted while its instance has live resources.
    let err = w
        .tenants
        .service
        .deprovision(&crate::support::platform_admin(), &w.tenant.id, false, None)
        .await
        .expect_err("live resources");
    assert_eq!(err.code(), ErrorCode::ActiveResourcesExist);

    let op = w.deprovision(&instance, true).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(op.progress, 100);
    let stored = w.instance(&instance).await;
    assert_eq!(stored.state, InstanceState::Deprovisioned);
    assert!(stored.deprovisioned_at.is_some());

    // Nothing is left but the two archives.
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
    let archives = w.fake.archives();
    assert_eq!(archives.len(), 2, "{archives:?}");
    assert!(archives.iter().any(|a| a.ends_with("database.sql.gz")));
    assert!(archives.iter().any(|a| a.ends_with("wp-content.tar.gz")));
    assert!(
        archives
            .iter()
            .all(|a| a.contains(&w.tenant.id.to_string()))
    );

    // Both archives were taken before anything was deleted.
    let log: Vec<String> = w.fake.log().into_iter().skip(calls_before).collect();
    let last_archive = log
        .iter()
        .rposition(|l| l.starts_with("Create Archive"))
        .expect("archived");
    let first_delete = log
        .iter()
        .position(|l| l.starts_with("Delete"))
        .expect("deleted");
    assert!(last_archive < first_delete, "{log:?}");

    // The ledger shows every object deleted and the archives kept.
    for e in w.ledger(&instance).await {
        if e.resource_type.is_archive() {
            assert_eq!(e.status, LedgerStatus::Created, "{}", e.label());
        } else {
            assert_eq!(e.status, LedgerStatus::Deleted, "{}", e.label());
        }
    }
    let inventory = bbws_core::ports::ResourceInventory::active_resources(
        w.tenants.store.as_ref(),
        &w.tenant.id,
    )
    .await
    .expect("inventory readable");
    assert!(inventory.is_empty(), "{inventory:?}");

    let done = w
        .tenants
        .pending()
        .await
        .into_iter()
        .find(|m| m.detail_type == "CLUSTER_DELETION_COMPLETE")
        .expect("completion event");
    assert_eq!(done.detail["archives"].as_array().map(Vec::len), Some(2));

    // The tenant is free for a new instance.
    let (again, op) = w.provision().await;
    assert_ne!(again.id, instance.id);
    assert_eq!(op.status, OperationStatus::Completed);
}

#[tokio::test(start_paused = true)]
async fn without_archive_data_nothing_is_archived() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let op = w.deprovision(&instance, false).await;
    assert_eq!(op.status, OperationStatus::Completed);
    assert!(w.fake.archives().is_empty());
    assert_eq!(
        op.step(StepName::ArchiveDatabase).map(|s| s.status),
        Some(StepStatus::Skipped)
    );
    assert!(w.fake.live().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_archive_failure_stops_before_anything_is_deleted() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let live = w.fake.live();
    w.fake.inject(Fault {
        kind: Kind::Archive,
        op: Op::Create,
        nth: Some(2),
        mode: FaultMode::Fail,
    });
    let op = w.deprovision(&instance, true).await;
    assert_eq!(op.status, OperationStatus::Failed);
    let stored = w.instance(&instance).await;
    assert_eq!(stored.state, InstanceState::Failed);
    assert_eq!(
        stored.last_error.map(|e| e.code),
        Some(ErrorCode::ArchiveFailed)
    );
    assert_eq!(w.fake.live(), live, "nothing was deleted");
    assert!(!w.fake.log().iter().any(|l| l.starts_with("Delete")));
}

#[tokio::test(start_paused = true)]
async fn a_failed_deprovisioning_resumes_where_it_stopped() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    w.fake.inject(Fault {
        kind: Kind::UserPool,
        op: Op::Delete,
        nth: None,
        mode: FaultMode::Fail,
    });
    let op = w.deprovision(&instance, true).await;
    assert_eq!(op.status, OperationStatus::Failed);
    let stored = w.instance(&instance).await;
    assert_eq!(stored.state, InstanceState::Failed);
    let err = stored.last_error.expect("last error");
    assert!(
        err.resources.iter().any(|r| r.starts_with("COGNITO_POOL")),
        "{err:?}"
    );
    let left = w.not_deleted(&instance).await;
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(left[0].resource_type, ResourceType::CognitoPool);
    let deletes_before = w
        .fake
        .log()
        .iter()
        .filter(|l| l.starts_with("Delete"))
        .count();

    // Again, with the cause fixed: only what is left is touched, and nothing is re-created.
    w.fake.clear_faults();
    let op = w.deprovision(&instance, true).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
    let deletes: Vec<String> = w
        .fake
        .log()
        .into_iter()
        .filter(|l| l.starts_with("Delete"))
        .skip(deletes_before)
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert!(deletes[0].starts_with("Delete UserPool"));
    assert_eq!(w.fake.archives().len(), 2, "archives are not taken twice");
    assert_eq!(w.fake.created(Kind::UserPool), 1);
}

#[tokio::test(start_paused = true)]
async fn a_deprovisioning_that_died_resumes_forward() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let crash = Arc::new(Notify::new());
    w.fake.inject(Fault {
        kind: Kind::Service,
        op: Op::Delete,
        nth: Some(1),
        mode: FaultMode::Crash(crash.clone()),
    });
    let accepted = w
        .service
        .request_deprovisioning(
            &crate::support::platform_admin(),
            &w.tenant.id,
            &instance.id,
            bbws_core::instance::DeprovisionOptions {
                archive_data: true,
                reason: None,
            },
            None,
        )
        .await
        .expect("accepted")
        .value;
    tokio::select! {
        biased;
        () = crash.notified() => {}
        r = w.engine.run(&accepted.operation.id) => panic!("should have died: {r:?}"),
    }
    assert_eq!(
        w.instance(&instance).await.state,
        InstanceState::Deprovisioning
    );
    w.fake.clear_faults();
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert!(w.fake.live().is_empty(), "{:?}", w.fake.live());
    assert_eq!(w.fake.archives().len(), 2);
    // Nothing was created while deprovisioning, apart from the archives.
    assert_eq!(w.fake.created(Kind::Service), 1);
}
