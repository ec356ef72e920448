//! The tenant follows its provisioning: a PENDING tenant becomes ACTIVE when its instance does,
//! FAILED when the provisioning rolls back, and ACTIVE again when a retry succeeds; reporting
//! twice changes nothing.

use bbws_core::instance::{OperationStatus, ProvisioningEngine};
use bbws_core::tenant::TenantStatus;

use super::World;
use super::fake_cloud::{FakeCloud, Fault, FaultMode, Kind, Op};
use crate::support::{Harness, platform_admin};

/// A world whose tenant is still PENDING and whose engine reports to the tenant service.
async fn pending_world() -> World {
    let tenants = Harness::in_memory();
    let tenant = tenants.create("Pending Hosting").await;
    assert_eq!(tenant.status, TenantStatus::Pending);
    let mut w = World::with(tenants, tenant, FakeCloud::new());
    let engine: ProvisioningEngine = w
        .engine
        .clone()
        .with_tenant_sync((*w.tenants.service).clone());
    w.engine = engine;
    w
}

async fn tenant_status(w: &World) -> TenantStatus {
    w.tenants
        .service
        .get(&platform_admin(), &w.tenant.id)
        .await
        .expect("tenant readable")
        .status
}

#[tokio::test(start_paused = true)]
async fn a_completed_provisioning_activates_its_pending_tenant() {
    let w = pending_world().await;
    let accepted = w.request().await;
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(tenant_status(&w).await, TenantStatus::Active);
    // A redelivered message reports again: nothing changes, nothing fails.
    let again = w.run(&accepted.operation.id).await;
    assert_eq!(again, op);
    assert_eq!(tenant_status(&w).await, TenantStatus::Active);
}

#[tokio::test(start_paused = true)]
async fn a_rolled_back_provisioning_fails_its_tenant_and_a_successful_retry_activates_it() {
    let w = pending_world().await;
    let accepted = w.request().await;
    w.fake.inject(Fault {
        kind: Kind::Service,
        op: Op::Create,
        nth: None,
        mode: FaultMode::Fail,
    });
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::RolledBack, "{op:?}");
    assert_eq!(tenant_status(&w).await, TenantStatus::Failed);

    w.fake.clear_faults();
    let retried = w
        .service
        .retry_provisioning(&platform_admin(), &w.tenant.id, &accepted.instance.id)
        .await
        .expect("a rolled-back provisioning can be retried");
    let op = w.run(&retried.operation.id).await;
    assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
    assert_eq!(tenant_status(&w).await, TenantStatus::Active);
}
