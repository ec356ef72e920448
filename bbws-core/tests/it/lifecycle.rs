//! The tenant lifecycle (digest 2.5 §4.1–§4.2): activation, park, unpark, suspend, resume.

use bbws_core::ErrorCode;
use bbws_core::auth::Actor;
use bbws_core::ids::TenantId;
use bbws_core::tenant::{Tenant, TenantStatus};
use serde_json::json;

use crate::support::{ADMIN_EMAIL, Harness, operator, platform_admin, reason};

const PARK_REASON: &str = "Customer asked for a pause";
const SUSPEND_REASON: &str = "Invoice 42 overdue by 60 days";

/// Runs one lifecycle step and checks what every step must do: bump the version by one, append
/// exactly one audit event (with the status change) and exactly one outbox event.
async fn step<F, Fut>(
    h: &Harness,
    before: &Tenant,
    run: F,
    audit_type: &str,
    detail_type: &str,
) -> Tenant
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = bbws_core::Result<Tenant>>,
{
    let audit_before = h.audit(&before.id).await.len();
    let pending_before = h.pending().await.len();

    let after = run().await.expect("lifecycle step succeeds");

    assert_eq!(
        after.version,
        before.version + 1,
        "{audit_type} bumps the version by one"
    );
    assert_eq!(h.stored(&after.id).await, after, "{audit_type} is stored");
    let audit = h.audit(&after.id).await;
    assert_eq!(
        audit.len(),
        audit_before + 1,
        "{audit_type} writes one audit event"
    );
    let last = audit.last().expect("an audit event");
    assert_eq!(last.event_type, audit_type);
    assert_eq!(last.details["previousStatus"], before.status.as_str());
    assert_eq!(last.details["newStatus"], after.status.as_str());
    let pending = h.pending().await;
    assert_eq!(
        pending.len(),
        pending_before + 1,
        "{audit_type} queues one event"
    );
    let event = pending.last().expect("an outbox event");
    assert_eq!(event.detail_type, detail_type);
    assert_eq!(event.tenant_id, Some(after.id));
    after
}

#[tokio::test]
async fn every_lifecycle_step_bumps_the_version_and_records_one_audit_and_one_event() {
    let h = Harness::in_memory();
    let admin = platform_admin();
    let t = h.create("Acme Corp").await;
    let id = t.id;
    let op = operator(&[&id]);
    let s = &h.service;
    let (park_reason, suspend_reason) = (reason(PARK_REASON), reason(SUSPEND_REASON));

    let t = step(
        &h,
        &t,
        || s.set_status(&op, &id, TenantStatus::Active, None, None),
        "STATUS_CHANGED",
        "TENANT_STATUS_CHANGED",
    )
    .await;
    assert_eq!(t.status, TenantStatus::Active);
    let t = step(
        &h,
        &t,
        || s.park(&admin, &id, &park_reason, None),
        "TENANT_PARKED",
        "TENANT_PARKED",
    )
    .await;
    assert_eq!(t.status, TenantStatus::Parked);
    let t = step(
        &h,
        &t,
        || s.unpark(&admin, &id, None),
        "TENANT_UNPARKED",
        "TENANT_UNPARKED",
    )
    .await;
    assert_eq!(t.status, TenantStatus::Active);
    let t = step(
        &h,
        &t,
        || s.suspend(&admin, &id, &suspend_reason, None),
        "TENANT_SUSPENDED",
        "TENANT_SUSPENDED",
    )
    .await;
    assert_eq!(t.status, TenantStatus::Suspended);
    let t = step(
        &h,
        &t,
        || s.resume(&admin, &id, None),
        "TENANT_RESUMED",
        "TENANT_RESUMED",
    )
    .await;
    assert_eq!(t.status, TenantStatus::Active);
    assert_eq!(t.version, 6);

    assert_eq!(
        h.audit_types(&id).await,
        [
            "TENANT_CREATED",
            "STATUS_CHANGED",
            "TENANT_PARKED",
            "TENANT_UNPARKED",
            "TENANT_SUSPENDED",
            "TENANT_RESUMED"
        ],
        "the audit trail lists the steps oldest first"
    );
    assert_eq!(
        h.pending_types().await,
        [
            "TENANT_CREATED",
            "TENANT_STATUS_CHANGED",
            "TENANT_PARKED",
            "TENANT_UNPARKED",
            "TENANT_SUSPENDED",
            "TENANT_RESUMED"
        ],
    );
}

#[tokio::test]
async fn an_operator_activates_a_pending_tenant_assigned_to_them() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let t = h
        .service
        .set_status(
            &operator(&[&t.id]),
            &t.id,
            TenantStatus::Active,
            Some("Provisioning complete"),
            None,
        )
        .await
        .expect("operators may activate");

    assert_eq!(t.status, TenantStatus::Active);
    assert_eq!(t.updated.by, "operator@bbws.io");
    let audit = h.audit(&t.id).await;
    let last = audit.last().expect("an audit event");
    assert_eq!(
        last.details,
        json!({"previousStatus": "PENDING", "newStatus": "ACTIVE", "reason": "Provisioning complete"})
    );
    assert_eq!(last.actor, "operator@bbws.io");
}

#[tokio::test]
async fn park_records_who_parked_when_and_why() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    let parked = h
        .service
        .park(&platform_admin(), &t.id, &reason(PARK_REASON), None)
        .await
        .expect("an active tenant can be parked");

    assert_eq!(parked.status, TenantStatus::Parked);
    let stamp = parked.parked.as_ref().expect("the park is stamped");
    assert_eq!(stamp.by, ADMIN_EMAIL);
    assert_eq!(stamp.reason, PARK_REASON);
    assert_eq!(stamp.at, parked.updated.at);
    assert_eq!(h.stored(&t.id).await.parked.as_ref(), Some(stamp));

    let audit = h.audit(&t.id).await;
    assert_eq!(
        audit.last().expect("an audit event").details["reason"],
        PARK_REASON
    );
    let pending = h.pending().await;
    let event = pending.last().expect("an outbox event");
    assert_eq!(event.detail["reason"], PARK_REASON);
    assert_eq!(event.detail["parkedBy"], ADMIN_EMAIL);
}

/// Asserts that `err` is a 422 refusal from `current`, offering `allowed`, and that the tenant
/// did not change.
async fn assert_refused(
    h: &Harness,
    id: &TenantId,
    err: &bbws_core::Error,
    current: &str,
    allowed: &[&str],
    version: u64,
) {
    assert_eq!(err.code(), ErrorCode::InvalidStatusTransition, "{err}");
    assert_eq!(err.code().http_status(), 422);
    assert_eq!(err.details()["currentStatus"], current);
    assert_eq!(err.details()["allowedTransitions"], json!(allowed));
    assert_eq!(
        h.stored(id).await.version,
        version,
        "a refused transition changes nothing"
    );
}

#[tokio::test]
async fn parking_a_parked_tenant_is_refused_with_the_allowed_transitions() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let parked = h
        .service
        .park(&platform_admin(), &t.id, &reason(PARK_REASON), None)
        .await
        .expect("park");
    let audit_len = h.audit(&t.id).await.len();

    let err = h
        .service
        .park(&platform_admin(), &t.id, &reason(PARK_REASON), None)
        .await
        .expect_err("already parked");

    assert_refused(
        &h,
        &t.id,
        &err,
        "PARKED",
        &["ACTIVE", "DEPROVISIONED"],
        parked.version,
    )
    .await;
    assert_eq!(err.details()["targetStatus"], "PARKED");
    assert_eq!(
        h.audit(&t.id).await.len(),
        audit_len,
        "a refusal is not audited as a change"
    );
}

#[tokio::test]
async fn suspending_a_parked_tenant_asks_to_unpark_first() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let parked = h
        .service
        .park(&platform_admin(), &t.id, &reason(PARK_REASON), None)
        .await
        .expect("park");

    let err = h
        .service
        .suspend(&platform_admin(), &t.id, &reason(SUSPEND_REASON), None)
        .await
        .expect_err("parked tenants cannot be suspended (BR-STATUS-008)");

    assert_eq!(
        err.to_string(),
        "Cannot suspend parked tenant. Unpark first."
    );
    assert_refused(
        &h,
        &t.id,
        &err,
        "PARKED",
        &["ACTIVE", "DEPROVISIONED"],
        parked.version,
    )
    .await;
}

#[tokio::test]
async fn a_suspended_tenant_cannot_be_parked() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let suspended = h
        .service
        .suspend(&platform_admin(), &t.id, &reason(SUSPEND_REASON), None)
        .await
        .expect("suspend");

    let err = h
        .service
        .park(&platform_admin(), &t.id, &reason(PARK_REASON), None)
        .await
        .expect_err("SUSPENDED → PARKED is forbidden (C20)");

    assert_refused(
        &h,
        &t.id,
        &err,
        "SUSPENDED",
        &["ACTIVE", "DEPROVISIONED"],
        suspended.version,
    )
    .await;
}

#[tokio::test]
async fn unpark_and_resume_refuse_tenants_in_other_states() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let admin = platform_admin();

    let err = h
        .service
        .unpark(&admin, &t.id, None)
        .await
        .expect_err("not parked");
    assert_refused(
        &h,
        &t.id,
        &err,
        "ACTIVE",
        &["SUSPENDED", "PARKED", "DEPROVISIONED"],
        t.version,
    )
    .await;
    let err = h
        .service
        .resume(&admin, &t.id, None)
        .await
        .expect_err("not suspended");
    assert_refused(
        &h,
        &t.id,
        &err,
        "ACTIVE",
        &["SUSPENDED", "PARKED", "DEPROVISIONED"],
        t.version,
    )
    .await;
}

#[tokio::test]
async fn a_pending_tenant_cannot_be_parked_before_activation() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let err = h
        .service
        .park(&platform_admin(), &t.id, &reason(PARK_REASON), None)
        .await
        .expect_err("only active tenants can be parked (BR-PARK-001)");

    assert_refused(&h, &t.id, &err, "PENDING", &["ACTIVE", "FAILED"], 1).await;
}

#[tokio::test]
async fn lifecycle_operations_need_the_admin_role() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let op: Actor = operator(&[&t.id]);

    let err = h
        .service
        .park(&op, &t.id, &reason(PARK_REASON), None)
        .await
        .expect_err("operators cannot park");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let err = h
        .service
        .suspend(&op, &t.id, &reason(SUSPEND_REASON), None)
        .await
        .expect_err("nor suspend");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(h.stored(&t.id).await.status, TenantStatus::Active);
}

#[tokio::test]
async fn a_stale_if_match_on_a_lifecycle_call_is_a_version_conflict() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    let err = h
        .service
        .park(
            &platform_admin(),
            &t.id,
            &reason(PARK_REASON),
            Some(t.version - 1),
        )
        .await
        .expect_err("stale version");

    assert_eq!(err.code(), ErrorCode::VersionConflict);
    assert_eq!(err.details()["currentVersion"], t.version);
    assert_eq!(h.stored(&t.id).await.status, TenantStatus::Active);
    h.service
        .park(
            &platform_admin(),
            &t.id,
            &reason(PARK_REASON),
            Some(t.version),
        )
        .await
        .expect("the current version is accepted");
}
