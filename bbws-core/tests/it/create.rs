//! Creating a tenant (T1).

use bbws_core::tenant::{Environment, TenantStatus, UnitLabel};
use serde_json::json;

use crate::support::{
    ADMIN_EMAIL, Harness, START, new_tenant, object, operator, platform_admin, ts,
};

#[tokio::test]
async fn create_starts_pending_at_version_one_stamped_with_the_creator() {
    let h = Harness::in_memory();

    let created = h
        .service
        .create(&platform_admin(), new_tenant("Acme Corp"), None)
        .await
        .expect("create succeeds");

    assert!(!created.replayed);
    let t = created.value;
    assert_eq!(t.status, TenantStatus::Pending);
    assert_eq!(t.version, 1);
    assert_eq!(t.created.by, ADMIN_EMAIL);
    assert_eq!(t.created.at, ts(START));
    assert_eq!(t.updated, t.created, "updatedAt is set on create (C7)");
    assert_eq!(
        h.stored(&t.id).await,
        t,
        "what was returned is what was stored"
    );
}

#[tokio::test]
async fn create_writes_a_tenant_created_audit_event() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let audit = h.audit(&t.id).await;

    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event_type, "TENANT_CREATED");
    assert_eq!(audit[0].actor, ADMIN_EMAIL);
    assert_eq!(audit[0].tenant_id, t.id);
    assert_eq!(audit[0].details["organizationName"], "Acme Corp");
}

#[tokio::test]
async fn create_queues_a_tenant_created_event_in_the_outbox() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let pending = h.pending().await;

    assert_eq!(pending.len(), 1);
    let e = &pending[0];
    assert_eq!(e.detail_type, "TENANT_CREATED");
    assert_eq!(e.source, "bbws.tenant-management");
    assert_eq!(e.tenant_id, Some(t.id));
    assert_eq!(e.detail["tenantId"], t.id.to_string());
    assert_eq!(e.detail["status"], "PENDING");
}

#[tokio::test]
async fn create_by_an_operator_stores_every_given_field() {
    let h = Harness::in_memory();
    let mut req = new_tenant("  Acme   Corp ");
    req.environment = Environment::Prod;
    req.division = Some(UnitLabel::parse("Retail", "division").expect("valid label"));
    req.metadata = object(json!({"tier": "gold"}));

    let t = h
        .service
        .create(&operator(&[]), req, None)
        .await
        .expect("operators may create tenants")
        .value;

    let stored = h.stored(&t.id).await;
    assert_eq!(
        stored.organization_name.as_str(),
        "Acme Corp",
        "whitespace is normalised"
    );
    assert_eq!(stored.environment, Environment::Prod);
    assert_eq!(
        stored.division.as_ref().map(UnitLabel::as_str),
        Some("Retail")
    );
    assert_eq!(stored.metadata, object(json!({"tier": "gold"})));
    assert_eq!(stored.created.by, "operator@bbws.io");
}
