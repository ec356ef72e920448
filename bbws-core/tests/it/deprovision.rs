//! Deprovisioning (T5, soft delete): from any status but DEPROVISIONED (C19), refused while the
//! tenant has active resources unless forced (C31).

use bbws_core::ErrorCode;
use bbws_core::ports::TenantResource;
use bbws_core::tenant::TenantStatus;
use serde_json::json;

use crate::support::{ADMIN_EMAIL, Harness, operator, outsider, platform_admin};

fn resource(name: &str, status: &str) -> TenantResource {
    TenantResource {
        resource_type: "ecs-service".into(),
        name: name.into(),
        arn: Some(format!(
            "arn:aws:ecs:eu-west-1:123456789012:service/bbws/{name}"
        )),
        status: status.into(),
    }
}

#[tokio::test]
async fn a_pending_tenant_can_be_deprovisioned() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let gone = h
        .service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect("C19 allows it");

    assert_eq!(gone.status, TenantStatus::Deprovisioned);
    assert_eq!(gone.version, 2);
    let stamp = gone
        .deprovisioned
        .as_ref()
        .expect("the deprovision is stamped");
    assert_eq!(stamp.by, ADMIN_EMAIL);
    assert_eq!(
        h.stored(&t.id).await,
        gone,
        "soft delete: the tenant is still readable"
    );
    let audit = h.audit(&t.id).await;
    let last = audit.last().expect("an audit event");
    assert_eq!(last.event_type, "TENANT_DEPROVISIONED");
    assert_eq!(last.details["previousStatus"], "PENDING");
    assert_eq!(last.details["newStatus"], "DEPROVISIONED");
    assert_eq!(
        h.pending_types().await,
        ["TENANT_CREATED", "TENANT_DEPROVISIONED"]
    );
}

#[tokio::test]
async fn an_active_tenant_can_be_deprovisioned() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    let gone = h
        .service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect("deprovision");

    assert_eq!(gone.status, TenantStatus::Deprovisioned);
    assert_eq!(gone.version, t.version + 1);
    let pending = h.pending().await;
    let event = pending.last().expect("an outbox event");
    assert_eq!(event.detail_type, "TENANT_DEPROVISIONED");
    assert_eq!(event.detail["previousStatus"], "ACTIVE");
    assert_eq!(event.detail["status"], "DEPROVISIONED");
}

#[tokio::test]
async fn deprovisioning_twice_is_refused() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let gone = h
        .service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect("first deprovision");
    let pending = h.pending().await.len();

    let err = h
        .service
        .deprovision(&platform_admin(), &t.id, true, None)
        .await
        .expect_err("DEPROVISIONED is terminal");

    assert_eq!(err.code().http_status(), 422);
    assert_eq!(err.code(), ErrorCode::InvalidStatusTransition);
    assert_eq!(err.details()["currentStatus"], "DEPROVISIONED");
    assert_eq!(err.details()["allowedTransitions"], json!([]));
    assert_eq!(h.stored(&t.id).await, gone);
    assert_eq!(h.pending().await.len(), pending);
}

#[tokio::test]
async fn active_resources_block_deprovision_without_force() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    h.store
        .record_resource(&t.id, resource("wp-acme", "active"))
        .await
        .expect("resource recorded");
    let audit = h.audit(&t.id).await.len();
    let pending = h.pending().await.len();

    let err = h
        .service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect_err("resources are still live");

    assert_eq!(err.code(), ErrorCode::ActiveResourcesExist);
    assert_eq!(err.code().http_status(), 422);
    assert_eq!(err.details(), json!({"resources": ["ecs-service:wp-acme"]}));
    let stored = h.stored(&t.id).await;
    assert_eq!(stored.status, TenantStatus::Active);
    assert_eq!(stored.version, t.version);
    assert_eq!(h.audit(&t.id).await.len(), audit);
    assert_eq!(h.pending().await.len(), pending);
}

#[tokio::test]
async fn force_deprovisions_and_names_the_resources_in_the_audit() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    h.store
        .record_resource(&t.id, resource("wp-acme", "active"))
        .await
        .expect("resource recorded");
    h.store
        .record_resource(&t.id, resource("wp-acme-stage", "stopped"))
        .await
        .expect("resource recorded");

    let gone = h
        .service
        .deprovision(&platform_admin(), &t.id, true, None)
        .await
        .expect("force wins");

    assert_eq!(gone.status, TenantStatus::Deprovisioned);
    let audit = h.audit(&t.id).await;
    let last = audit.last().expect("an audit event");
    assert_eq!(last.event_type, "TENANT_DEPROVISIONED");
    assert_eq!(last.details["force"], true);
    assert_eq!(
        last.details["activeResources"],
        json!(["ecs-service:wp-acme", "ecs-service:wp-acme-stage"])
    );
}

#[tokio::test]
async fn deleted_resources_and_other_tenants_resources_do_not_block() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let other = h.create_active("Beta Ltd").await;
    h.store
        .record_resource(&t.id, resource("wp-acme", "deleted"))
        .await
        .expect("resource recorded");
    h.store
        .record_resource(&other.id, resource("wp-beta", "active"))
        .await
        .expect("resource recorded");

    let gone = h
        .service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect("nothing live");

    assert_eq!(gone.status, TenantStatus::Deprovisioned);
    let err = h
        .service
        .deprovision(&platform_admin(), &other.id, false, None)
        .await
        .expect_err("beta is live");
    assert_eq!(err.code(), ErrorCode::ActiveResourcesExist);
}

#[tokio::test]
async fn a_resource_marked_deleted_later_stops_blocking() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    h.store
        .record_resource(&t.id, resource("wp-acme", "active"))
        .await
        .expect("resource recorded");
    h.service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect_err("live");

    h.store
        .record_resource(&t.id, resource("wp-acme", "deleted"))
        .await
        .expect("resource updated");

    h.service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect("no longer live");
}

#[tokio::test]
async fn deprovision_leaks_nothing_to_callers_without_the_role() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    h.store
        .record_resource(&t.id, resource("wp-acme", "active"))
        .await
        .expect("resource recorded");

    let err = h
        .service
        .deprovision(&outsider(), &t.id, false, None)
        .await
        .expect_err("not theirs");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
    let err = h
        .service
        .deprovision(&operator(&[&t.id]), &t.id, true, None)
        .await
        .expect_err("operators cannot delete");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(h.stored(&t.id).await.status, TenantStatus::Active);
}
