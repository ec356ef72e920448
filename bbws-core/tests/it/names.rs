//! Organisation-name uniqueness (BR-TEN-001, C35): case-insensitive, whitespace-normalised,
//! kept by guard items written in the same transaction as the tenant.

use bbws_core::ErrorCode;

use crate::support::{Harness, new_tenant, platform_admin, rename};

#[tokio::test]
async fn a_name_differing_only_in_case_or_spacing_is_a_conflict() {
    let h = Harness::in_memory();
    h.create("Acme Corp").await;

    for taken in ["ACME corp", "  acme   CORP  ", "Acme Corp"] {
        let err = h
            .service
            .create(&platform_admin(), new_tenant(taken), None)
            .await
            .expect_err("the name is taken");
        assert_eq!(err.code(), ErrorCode::Conflict, "{taken:?}");
        assert_eq!(err.code().http_status(), 409);
    }

    assert_eq!(
        h.list_all(&platform_admin(), 100).await.len(),
        1,
        "no second tenant stored"
    );
    assert_eq!(
        h.pending().await.len(),
        1,
        "a refused create queues no event"
    );
}

#[tokio::test]
async fn renaming_onto_a_taken_name_is_a_conflict_and_changes_nothing() {
    let h = Harness::in_memory();
    h.create("Acme Corp").await;
    let beta = h.create("Beta Ltd").await;

    let err = h
        .service
        .update(&platform_admin(), &beta.id, rename("ACME  corp"), None)
        .await
        .expect_err("the name is taken");

    assert_eq!(err.code(), ErrorCode::Conflict);
    let stored = h.stored(&beta.id).await;
    assert_eq!(stored.organization_name.as_str(), "Beta Ltd");
    assert_eq!(stored.version, 1);
    assert_eq!(h.audit_types(&beta.id).await, ["TENANT_CREATED"]);
}

#[tokio::test]
async fn a_rename_frees_the_old_name_and_takes_the_new_one() {
    let h = Harness::in_memory();
    let acme = h.create("Acme Corp").await;

    h.service
        .update(&platform_admin(), &acme.id, rename("Acme Holdings"), None)
        .await
        .expect("rename succeeds");

    h.service
        .create(&platform_admin(), new_tenant("acme corp"), None)
        .await
        .expect("the old name is free again");
    let err = h
        .service
        .create(&platform_admin(), new_tenant("ACME HOLDINGS"), None)
        .await
        .expect_err("the new name is taken");
    assert_eq!(err.code(), ErrorCode::Conflict);
}

#[tokio::test]
async fn changing_only_the_case_of_its_own_name_keeps_the_name_reserved() {
    let h = Harness::in_memory();
    let acme = h.create("Acme Corp").await;

    let t = h
        .service
        .update(&platform_admin(), &acme.id, rename("ACME Corp"), None)
        .await
        .expect("a tenant may change the case of its own name");

    assert_eq!(t.organization_name.as_str(), "ACME Corp");
    let err = h
        .service
        .create(&platform_admin(), new_tenant("acme corp"), None)
        .await
        .expect_err("the name is still reserved");
    assert_eq!(err.code(), ErrorCode::Conflict);
}
