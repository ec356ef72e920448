//! Partial update (T4, C34) under optimistic locking (C33).

use bbws_core::ErrorCode;
use bbws_core::tenant::{Patch, TenantPatch, UnitLabel};
use serde_json::json;

use crate::support::{Harness, email, merge, new_tenant, object, platform_admin, rename};

#[tokio::test]
async fn an_update_changes_only_the_given_fields() {
    let h = Harness::in_memory();
    let mut req = new_tenant("Acme Corp");
    req.metadata = object(json!({"tier": "gold"}));
    let t = h
        .service
        .create(&platform_admin(), req, None)
        .await
        .expect("create")
        .value;

    let patch = TenantPatch {
        contact_email: Some(email("billing@acme.example")),
        ..TenantPatch::default()
    };
    let updated = h
        .service
        .update(&platform_admin(), &t.id, patch, None)
        .await
        .expect("update");

    assert_eq!(updated.contact_email.as_str(), "billing@acme.example");
    assert_eq!(updated.organization_name, t.organization_name);
    assert_eq!(updated.metadata, t.metadata);
    assert_eq!(updated.status, t.status);
    assert_eq!(updated.created, t.created);
    assert_eq!(updated.version, 2);
    assert_eq!(h.stored(&t.id).await, updated);
}

#[tokio::test]
async fn metadata_is_merged_and_null_removes_a_key() {
    let h = Harness::in_memory();
    let mut req = new_tenant("Acme Corp");
    req.metadata = object(json!({"tier": "gold", "industry": "retail"}));
    let t = h
        .service
        .create(&platform_admin(), req, None)
        .await
        .expect("create")
        .value;

    let updated = h
        .service
        .update(
            &platform_admin(),
            &t.id,
            merge(json!({"tier": null, "region": "eu-west-1"})),
            None,
        )
        .await
        .expect("update");

    assert_eq!(
        updated.metadata,
        object(json!({"industry": "retail", "region": "eu-west-1"}))
    );
    assert_eq!(h.stored(&t.id).await.metadata, updated.metadata);
}

#[tokio::test]
async fn labels_can_be_set_and_cleared() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let label = |s: &str, f: &str| UnitLabel::parse(s, f).expect("valid label");

    let set = TenantPatch {
        division: Patch::Set(label("Retail", "division")),
        team: Patch::Set(label("Web", "team")),
        ..TenantPatch::default()
    };
    let t1 = h
        .service
        .update(&platform_admin(), &t.id, set, None)
        .await
        .expect("set");
    assert_eq!(t1.division.as_ref().map(UnitLabel::as_str), Some("Retail"));
    assert_eq!(t1.team.as_ref().map(UnitLabel::as_str), Some("Web"));

    let clear = TenantPatch {
        team: Patch::Clear,
        ..TenantPatch::default()
    };
    let t2 = h
        .service
        .update(&platform_admin(), &t.id, clear, None)
        .await
        .expect("clear");
    assert_eq!(
        t2.division.as_ref().map(UnitLabel::as_str),
        Some("Retail"),
        "kept"
    );
    assert_eq!(t2.team, None);
}

#[tokio::test]
async fn a_stale_if_match_is_a_version_conflict() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let v2 = h
        .service
        .update(&platform_admin(), &t.id, merge(json!({"a": 1})), Some(1))
        .await
        .expect("the current version is accepted");

    let err = h
        .service
        .update(&platform_admin(), &t.id, merge(json!({"b": 2})), Some(1))
        .await
        .expect_err("version 1 is stale");

    assert_eq!(err.code(), ErrorCode::VersionConflict);
    assert_eq!(err.code().http_status(), 409);
    assert_eq!(err.details()["currentVersion"], 2);
    assert_eq!(err.details()["expectedVersion"], 1);
    assert_eq!(h.stored(&t.id).await, v2, "the stale write changed nothing");
}

#[tokio::test]
async fn a_deprovisioned_tenant_cannot_be_updated() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let gone = h
        .service
        .deprovision(&platform_admin(), &t.id, false, None)
        .await
        .expect("deprovision");

    let err = h
        .service
        .update(&platform_admin(), &t.id, rename("Acme Holdings"), None)
        .await
        .expect_err("BR-STATUS-003");

    assert_eq!(err.code(), ErrorCode::TenantDeprovisioned);
    assert_eq!(err.code().http_status(), 422);
    assert_eq!(h.stored(&t.id).await, gone);
}

#[tokio::test]
async fn an_empty_update_is_a_validation_error() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let err = h
        .service
        .update(&platform_admin(), &t.id, TenantPatch::default(), None)
        .await
        .expect_err("nothing to update");

    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert_eq!(err.code().http_status(), 400);
    assert_eq!(h.stored(&t.id).await.version, 1);
}

#[tokio::test]
async fn immutable_fields_are_accepted_only_unchanged() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let moved = TenantPatch {
        immutable: vec![("environment", "prod".into())],
        ..merge(json!({"a": 1}))
    };
    let err = h
        .service
        .update(&platform_admin(), &t.id, moved, None)
        .await
        .expect_err("environment is immutable");
    assert_eq!(err.code(), ErrorCode::ValidationError);
    assert_eq!(err.details()["fields"][0]["field"], "environment");
    assert_eq!(h.stored(&t.id).await.version, 1);

    let same = TenantPatch {
        immutable: vec![("environment", "dev".into())],
        ..merge(json!({"a": 1}))
    };
    h.service
        .update(&platform_admin(), &t.id, same, None)
        .await
        .expect("an unchanged value is accepted");
}

#[tokio::test]
async fn the_update_audit_lists_before_and_after_of_changed_fields_only() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let patch = TenantPatch {
        organization_name: Some(t.organization_name.clone()),
        contact_email: Some(email("billing@acme.example")),
        metadata: Some(object(json!({"tier": "gold"}))),
        ..TenantPatch::default()
    };
    h.service
        .update(&platform_admin(), &t.id, patch, None)
        .await
        .expect("update");

    let audit = h.audit(&t.id).await;
    let last = audit.last().expect("an audit event");
    assert_eq!(last.event_type, "TENANT_UPDATED");
    assert_eq!(
        last.details["changes"],
        json!([
            {"field": "contactEmail", "before": "ops@acme.example", "after": "billing@acme.example"},
            {"field": "metadata", "before": {}, "after": {"tier": "gold"}},
        ]),
        "the unchanged name is not listed"
    );
    let pending = h.pending().await;
    let event = pending.last().expect("an outbox event");
    assert_eq!(event.detail_type, "TENANT_UPDATED");
    assert_eq!(event.detail["changes"], last.details["changes"]);
}
