//! `InstanceService`: one instance per tenant, idempotency keys, state refusals, scoping and
//! persistence.

use bbws_core::ErrorCode;
use bbws_core::instance::{
    DeprovisionOptions, InstanceDao, InstanceState, NewInstance, OperationStatus, OperationType,
    ResourceKey,
};
use bbws_core::store::EmbeddedStore;

use super::World;
use crate::support::{Harness, platform_admin, tenant_admin};

#[tokio::test(start_paused = true)]
async fn a_second_provisioning_while_one_exists_is_a_409_naming_it() {
    let w = World::new().await;
    let first = w.request().await;
    assert_eq!(first.instance.state, InstanceState::PendingProvisioning);
    assert_eq!(first.operation.op_type, OperationType::Provision);
    assert_eq!(first.operation.status, OperationStatus::Pending);

    let err = w
        .service
        .request_provisioning(
            &platform_admin(),
            &w.tenant.id,
            NewInstance::standard(),
            None,
        )
        .await
        .expect_err("one instance per tenant");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(err.code().http_status(), 409);
    assert_eq!(err.details()["instanceId"], first.instance.id.to_string());
    assert_eq!(err.details()["currentStatus"], "PENDING_PROVISIONING");

    // Still refused once ACTIVE.
    w.run(&first.operation.id).await;
    let err = w
        .service
        .request_provisioning(
            &platform_admin(),
            &w.tenant.id,
            NewInstance::standard(),
            None,
        )
        .await
        .expect_err("one instance per tenant");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(err.details()["currentStatus"], "ACTIVE");
}

#[tokio::test(start_paused = true)]
async fn the_guard_holds_even_when_the_pre_check_is_bypassed() {
    // Two requests racing past the read: the guard written with the instance decides.
    let w = World::new().await;
    let (a, b) = tokio::join!(w.request_with_key("race-a"), w.request_with_key("race-b"));
    let oks = [&a, &b].iter().filter(|r| r.is_ok()).count();
    assert_eq!(oks, 1, "{a:?} {b:?}");
    let err = a.err().or(b.err()).expect("one refused");
    assert_eq!(err.code(), ErrorCode::Conflict);
}

#[tokio::test(start_paused = true)]
async fn the_same_idempotency_key_replays_the_same_operation() {
    let w = World::new().await;
    let first = w.request_with_key("prov-1").await.expect("accepted");
    let again = w
        .service
        .request_provisioning(
            &platform_admin(),
            &w.tenant.id,
            NewInstance::standard(),
            Some(&bbws_core::idempotency::IdempotencyKey::parse("prov-1").expect("key")),
        )
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.value.operation.id, first.operation.id);
    assert_eq!(again.value.instance.id, first.instance.id);
    let instances = w
        .tenants
        .store
        .list_instances(&w.tenant.id)
        .await
        .expect("listable");
    assert_eq!(instances.len(), 1);

    // The same key with another body is refused.
    let mut other = NewInstance::standard();
    other.tier = bbws_core::instance::SizeTier::Enterprise;
    let err = w
        .service
        .request_provisioning(
            &platform_admin(),
            &w.tenant.id,
            other,
            Some(&bbws_core::idempotency::IdempotencyKey::parse("prov-1").expect("key")),
        )
        .await
        .expect_err("key reused");
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);
}

#[tokio::test(start_paused = true)]
async fn provisioning_needs_a_live_tenant() {
    let w = World::new().await;
    let missing: bbws_core::ids::TenantId = "tenant-99999999-9999-4999-8999-999999999999"
        .parse()
        .expect("valid id");
    let err = w
        .service
        .request_provisioning(&platform_admin(), &missing, NewInstance::standard(), None)
        .await
        .expect_err("no tenant");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);

    w.tenants
        .service
        .deprovision(&platform_admin(), &w.tenant.id, false, None)
        .await
        .expect("tenant deprovisioned");
    let err = w
        .service
        .request_provisioning(
            &platform_admin(),
            &w.tenant.id,
            NewInstance::standard(),
            None,
        )
        .await
        .expect_err("deprovisioned tenant");
    assert_eq!(err.code(), ErrorCode::TenantDeprovisioned);
}

#[tokio::test(start_paused = true)]
async fn deprovisioning_a_provisioning_instance_is_a_422_with_the_allowed_transitions() {
    let w = World::new().await;
    let accepted = w.request().await;
    let err = w
        .service
        .request_deprovisioning(
            &platform_admin(),
            &w.tenant.id,
            &accepted.instance.id,
            DeprovisionOptions {
                archive_data: true,
                reason: None,
            },
            None,
        )
        .await
        .expect_err("not from PENDING_PROVISIONING");
    assert_eq!(err.code(), ErrorCode::InvalidStatusTransition);
    assert_eq!(err.code().http_status(), 422);
    assert_eq!(err.details()["currentStatus"], "PENDING_PROVISIONING");
    assert_eq!(
        err.details()["allowedTransitions"],
        serde_json::json!(["PROVISIONING", "COMMITTING"])
    );
}

#[tokio::test(start_paused = true)]
async fn callers_outside_the_tenant_cannot_see_its_instances_or_operations() {
    let w = World::new().await;
    let accepted = w.request().await;
    let other: bbws_core::ids::TenantId = "tenant-88888888-8888-4888-8888-888888888888"
        .parse()
        .expect("valid id");
    let outsider = tenant_admin(&other);
    let err = w
        .service
        .get(&outsider, &w.tenant.id, &accepted.instance.id)
        .await
        .expect_err("outside scope");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
    let err = w
        .service
        .operation(&outsider, &accepted.operation.id)
        .await
        .expect_err("outside scope");
    assert_eq!(err.code(), ErrorCode::OperationNotFound);
    // The tenant's own admin may read but not provision (operators and platform admins do).
    let own = tenant_admin(&w.tenant.id);
    assert!(
        w.service
            .get(&own, &w.tenant.id, &accepted.instance.id)
            .await
            .is_ok()
    );
    let op = w
        .service
        .operation(&own, &accepted.operation.id)
        .await
        .expect("readable");
    assert_eq!(op.id, accepted.operation.id);
}

#[tokio::test(start_paused = true)]
async fn a_resource_key_belongs_to_one_tenant() {
    let w = World::new().await;
    let mut req = NewInstance::standard();
    req.resource_key = Some(ResourceKey::parse("goldencrust").expect("valid key"));
    w.service
        .request_provisioning(&platform_admin(), &w.tenant.id, req.clone(), None)
        .await
        .expect("accepted");
    let other = w.tenants.create_active("Other Org").await;
    let err = w
        .service
        .request_provisioning(&platform_admin(), &other.id, req, None)
        .await
        .expect_err("key taken");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(err.details()["resourceKey"], "goldencrust");
}

#[tokio::test(start_paused = true)]
async fn instances_operations_and_the_ledger_survive_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bbws.redb");
    let (tenant, instance, op_id) = {
        let w = World::on(EmbeddedStore::open(&path).expect("store opens")).await;
        let (instance, op) = w.provision().await;
        (w.tenant.clone(), instance, op.id)
    };
    let h = Harness::on(EmbeddedStore::open(&path).expect("store reopens"));
    let w = World::with(h, tenant, super::fake_cloud::FakeCloud::new());
    let stored = w.instance(&instance).await;
    assert_eq!(stored.state, InstanceState::Active);
    assert_eq!(stored, instance);
    let op = w
        .service
        .operation(&platform_admin(), &op_id)
        .await
        .expect("operation survives");
    assert_eq!(op.status, OperationStatus::Completed);
    assert_eq!(op.steps.len(), 10);
    let ledger = w
        .service
        .ledger(&platform_admin(), &tenant_id(&w), &instance.id)
        .await
        .expect("ledger survives");
    assert!(ledger.len() >= 14, "{ledger:?}");
    assert_eq!(
        w.tenants
            .store
            .active_instance(&w.tenant.id)
            .await
            .expect("readable")
            .map(|i| i.id),
        Some(instance.id)
    );
}

fn tenant_id(w: &World) -> bbws_core::ids::TenantId {
    w.tenant.id
}
