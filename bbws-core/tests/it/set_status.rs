//! `PATCH /status` (L1, decision C21): targets with a dedicated operation run it with its rules
//! and its role; the PATCH-only transitions keep strictly to the table.

use bbws_core::ErrorCode;
use bbws_core::ports::TenantResource;
use bbws_core::tenant::TenantStatus;
use serde_json::json;

use crate::support::{Harness, operator, platform_admin};

fn live_resource() -> TenantResource {
    TenantResource {
        resource_type: "ecs-service".into(),
        name: "wp-acme".into(),
        arn: None,
        status: "active".into(),
    }
}

#[tokio::test]
async fn parked_without_a_reason_is_a_validation_error() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    for missing in [None, Some(""), Some("   "), Some("too short")] {
        let err = h
            .service
            .set_status(
                &platform_admin(),
                &t.id,
                TenantStatus::Parked,
                missing,
                None,
            )
            .await
            .expect_err("a park needs a reason of 10-500 characters");
        assert_eq!(err.code(), ErrorCode::ValidationError, "{missing:?}");
        assert_eq!(err.details()["fields"][0]["field"], "reason");
    }
    assert_eq!(h.stored(&t.id).await, t, "nothing changed");
}

#[tokio::test]
async fn parked_by_an_operator_is_forbidden() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    let err = h
        .service
        .set_status(
            &operator(&[&t.id]),
            &t.id,
            TenantStatus::Parked,
            Some("Customer asked for a pause"),
            None,
        )
        .await
        .expect_err("parking needs Admin (BR-STATUS-006)");

    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(err.code().http_status(), 403);
    assert_eq!(h.stored(&t.id).await.status, TenantStatus::Active);
}

#[tokio::test]
async fn parked_by_an_admin_runs_the_park_operation() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    let parked = h
        .service
        .set_status(
            &platform_admin(),
            &t.id,
            TenantStatus::Parked,
            Some("Customer asked for a pause"),
            None,
        )
        .await
        .expect("admins may park through PATCH");

    assert_eq!(parked.status, TenantStatus::Parked);
    assert_eq!(
        parked.parked.as_ref().map(|p| p.reason.as_str()),
        Some("Customer asked for a pause")
    );
    assert_eq!(
        h.audit_types(&t.id).await.last().map(String::as_str),
        Some("TENANT_PARKED")
    );
    assert_eq!(
        h.pending_types().await.last().map(String::as_str),
        Some("TENANT_PARKED")
    );
}

#[tokio::test]
async fn active_from_parked_or_suspended_runs_unpark_or_resume() {
    let h = Harness::in_memory();
    let admin = platform_admin();
    let t = h.create_active("Acme Corp").await;

    h.service
        .set_status(
            &admin,
            &t.id,
            TenantStatus::Parked,
            Some("Customer asked for a pause"),
            None,
        )
        .await
        .expect("park");
    let t2 = h
        .service
        .set_status(&admin, &t.id, TenantStatus::Active, None, None)
        .await
        .expect("unpark");
    assert!(t2.unparked.is_some());
    h.service
        .set_status(
            &admin,
            &t.id,
            TenantStatus::Suspended,
            Some("Invoice 42 overdue"),
            None,
        )
        .await
        .expect("suspend");
    let t3 = h
        .service
        .set_status(&admin, &t.id, TenantStatus::Active, None, None)
        .await
        .expect("resume");
    assert!(t3.resumed.is_some());

    assert_eq!(
        h.audit_types(&t.id).await,
        [
            "TENANT_CREATED",
            "STATUS_CHANGED",
            "TENANT_PARKED",
            "TENANT_UNPARKED",
            "TENANT_SUSPENDED",
            "TENANT_RESUMED"
        ]
    );
}

#[tokio::test]
async fn unparking_through_patch_needs_the_admin_role() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    h.service
        .set_status(
            &platform_admin(),
            &t.id,
            TenantStatus::Parked,
            Some("Customer asked for a pause"),
            None,
        )
        .await
        .expect("park");

    let err = h
        .service
        .set_status(&operator(&[&t.id]), &t.id, TenantStatus::Active, None, None)
        .await
        .expect_err("unparking needs Admin (BR-STATUS-007)");

    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(h.stored(&t.id).await.status, TenantStatus::Parked);
}

#[tokio::test]
async fn deprovisioned_is_refused_while_resources_are_active() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    h.store
        .record_resource(&t.id, live_resource())
        .await
        .expect("resource recorded");

    let err = h
        .service
        .set_status(
            &platform_admin(),
            &t.id,
            TenantStatus::Deprovisioned,
            None,
            None,
        )
        .await
        .expect_err("PATCH never forces");

    assert_eq!(err.code(), ErrorCode::ActiveResourcesExist);
    assert_eq!(err.details(), json!({"resources": ["ecs-service:wp-acme"]}));
    assert_eq!(h.stored(&t.id).await, t);
}

#[tokio::test]
async fn deprovisioned_without_resources_deprovisions_an_active_tenant() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    let gone = h
        .service
        .set_status(
            &platform_admin(),
            &t.id,
            TenantStatus::Deprovisioned,
            Some("Contract ended last month"),
            None,
        )
        .await
        .expect("ACTIVE → DEPROVISIONED is in the table");

    assert_eq!(gone.status, TenantStatus::Deprovisioned);
    let last = h.audit(&t.id).await.pop().expect("an audit event");
    assert_eq!(last.event_type, "TENANT_DEPROVISIONED");
    assert_eq!(
        last.details["reason"], "Contract ended last month",
        "BR-STATUS-005: the reason is recorded"
    );
    assert_eq!(
        h.pending_types().await.last().map(String::as_str),
        Some("TENANT_DEPROVISIONED")
    );
}

/// Decision C19: PENDING and FAILED tenants are removed through DELETE only; PATCH keeps to the
/// transition table, which has no PENDING → DEPROVISIONED or FAILED → DEPROVISIONED.
#[tokio::test]
async fn deprovisioned_from_pending_or_failed_is_refused_through_patch() {
    let h = Harness::in_memory();
    let admin = platform_admin();
    let pending = h.create("Acme Corp").await;
    let failed = h.create("Beta Ltd").await;
    let failed = h
        .service
        .set_status(&admin, &failed.id, TenantStatus::Failed, None, None)
        .await
        .expect("fail");

    for (t, current, allowed) in [
        (&pending, "PENDING", json!(["ACTIVE", "FAILED"])),
        (&failed, "FAILED", json!(["PENDING"])),
    ] {
        let err = h
            .service
            .set_status(&admin, &t.id, TenantStatus::Deprovisioned, None, None)
            .await
            .expect_err("PATCH keeps to the table");
        assert_eq!(err.code(), ErrorCode::InvalidStatusTransition, "{current}");
        assert_eq!(err.details()["currentStatus"], current);
        assert_eq!(err.details()["allowedTransitions"], allowed);
        assert_eq!(&h.stored(&t.id).await, t, "nothing changed");
    }
}

#[tokio::test]
async fn transitions_outside_the_table_are_refused() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;

    for target in [
        TenantStatus::Pending,
        TenantStatus::Failed,
        TenantStatus::Active,
    ] {
        let err = h
            .service
            .set_status(&platform_admin(), &t.id, target, None, None)
            .await
            .expect_err("not allowed from ACTIVE");
        assert_eq!(err.code(), ErrorCode::InvalidStatusTransition, "{target}");
        assert_eq!(
            err.details()["allowedTransitions"],
            json!(["SUSPENDED", "PARKED", "DEPROVISIONED"])
        );
        assert_eq!(
            err.to_string(),
            format!("Cannot transition from ACTIVE to {target}")
        );
    }
    assert_eq!(h.stored(&t.id).await, t);
}

#[tokio::test]
async fn a_failed_tenant_can_be_retried_by_an_operator() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let op = operator(&[&t.id]);

    h.service
        .set_status(
            &op,
            &t.id,
            TenantStatus::Failed,
            Some("Cluster creation failed"),
            None,
        )
        .await
        .expect("fail");
    let retried = h
        .service
        .set_status(&op, &t.id, TenantStatus::Pending, None, None)
        .await
        .expect("retry");

    assert_eq!(retried.status, TenantStatus::Pending);
    assert_eq!(retried.version, 3);
    let audit = h.audit(&t.id).await;
    let last = audit.last().expect("an audit event");
    assert_eq!(last.details["previousStatus"], "FAILED");
    assert_eq!(last.details["newStatus"], "PENDING");
}
