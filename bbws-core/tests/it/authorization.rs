//! Authorization (LLD §9.2 matrix, C23/C24): roles from claims, and 404 — never 403 — for a
//! tenant outside the caller's scope.

use bbws_core::ErrorCode;
use bbws_core::ids::TenantId;
use bbws_core::tenant::TenantStatus;
use serde_json::json;

use crate::support::{
    Harness, actor, merge, new_tenant, operator, outsider, page, platform_admin, reason,
    tenant_admin, unknown_id, viewer,
};

fn ids(tenants: &[bbws_core::tenant::Tenant]) -> Vec<TenantId> {
    tenants.iter().map(|t| t.id).collect()
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_update() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let v = viewer(&[&t.id]);

    assert_eq!(h.service.get(&v, &t.id).await.expect("viewers read"), t);
    let err = h
        .service
        .update(&v, &t.id, merge(json!({"a": 1})), None)
        .await
        .expect_err("viewers cannot write");

    assert_eq!(err.code(), ErrorCode::Forbidden);
    assert_eq!(err.code().http_status(), 403);
    assert_eq!(h.stored(&t.id).await.version, 1);
}

#[tokio::test]
async fn an_operator_reads_but_cannot_update() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let op = operator(&[&t.id]);

    h.service
        .get(&op, &t.id)
        .await
        .expect("operators read assigned tenants");
    let err = h
        .service
        .update(&op, &t.id, merge(json!({"a": 1})), None)
        .await
        .expect_err("update is Admin only");
    assert_eq!(err.code(), ErrorCode::Forbidden);
}

#[tokio::test]
async fn an_outsider_is_told_the_tenant_does_not_exist() {
    let h = Harness::in_memory();
    let t = h.create_active("Acme Corp").await;
    let o = outsider();

    let errors = [
        h.service.get(&o, &t.id).await.expect_err("get"),
        h.service
            .update(&o, &t.id, merge(json!({"a": 1})), None)
            .await
            .expect_err("update"),
        h.service
            .park(&o, &t.id, &reason("Customer asked for a pause"), None)
            .await
            .expect_err("park"),
        h.service
            .set_status(
                &o,
                &t.id,
                TenantStatus::Suspended,
                Some("Invoice 42 overdue"),
                None,
            )
            .await
            .expect_err("patch"),
        h.service
            .audit_trail(&o, &t.id, &page(10, None))
            .await
            .expect_err("audit"),
    ];

    for err in errors {
        assert_eq!(err.code(), ErrorCode::TenantNotFound, "{err}");
        assert_eq!(err.code().http_status(), 404);
        assert_eq!(err.to_string(), format!("Tenant {} not found", t.id));
    }
    assert_eq!(h.stored(&t.id).await, t, "nothing changed");
}

#[tokio::test]
async fn a_tenant_admin_answers_alike_for_a_foreign_tenant_and_a_missing_one() {
    let h = Harness::in_memory();
    let mine = h.create_active("Acme Corp").await;
    let theirs = h.create_active("Beta Ltd").await;
    let a = tenant_admin(&mine.id);

    h.service
        .park(&a, &mine.id, &reason("Customer asked for a pause"), None)
        .await
        .expect("own tenant");
    let foreign = h
        .service
        .get(&a, &theirs.id)
        .await
        .expect_err("foreign tenant");
    let missing = h
        .service
        .get(&a, &unknown_id())
        .await
        .expect_err("no such tenant");
    let missing_for_admin = h
        .service
        .get(&platform_admin(), &unknown_id())
        .await
        .expect_err("no such tenant");

    assert_eq!(foreign.code(), ErrorCode::TenantNotFound);
    assert_eq!(missing.code(), ErrorCode::TenantNotFound);
    assert_eq!(missing_for_admin.code(), ErrorCode::TenantNotFound);
}

#[tokio::test]
async fn a_viewer_lists_only_the_tenants_assigned_to_them() {
    let h = Harness::in_memory();
    let a = h.create("Acme Corp").await;
    h.create("Beta Ltd").await;
    let c = h.create("Gamma Inc").await;

    let seen = h.list_all(&viewer(&[&a.id, &c.id]), 10).await;

    let mut seen = ids(&seen);
    seen.sort();
    let mut expected = vec![a.id, c.id];
    expected.sort();
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn a_caller_without_tenant_roles_gets_an_empty_list() {
    let h = Harness::in_memory();
    h.create("Acme Corp").await;
    h.create("Beta Ltd").await;

    for caller in [outsider(), operator(&[]), viewer(&[])] {
        let p = h
            .service
            .list(&caller, None, None, None, &page(10, None))
            .await
            .expect("listing succeeds");
        assert!(p.items.is_empty());
        assert!(p.next.is_none());
    }
    assert_eq!(
        h.list_all(&platform_admin(), 10).await.len(),
        2,
        "admins see everything"
    );
}

#[tokio::test]
async fn only_admins_and_operators_create_tenants() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;
    let refused = [
        viewer(&[&t.id]),
        tenant_admin(&t.id),
        outsider(),
        actor(&json!({"sub": "u", "cognito:groups": ["admins", "Admin"]})),
    ];

    for caller in refused {
        let err = h
            .service
            .create(&caller, new_tenant("Beta Ltd"), None)
            .await
            .expect_err("needs Admins or Operators");
        assert_eq!(err.code(), ErrorCode::Forbidden);
    }
    h.service
        .create(&operator(&[]), new_tenant("Beta Ltd"), None)
        .await
        .expect("operators create");
    h.service
        .create(&platform_admin(), new_tenant("Gamma Inc"), None)
        .await
        .expect("admins create");
    assert_eq!(h.list_all(&platform_admin(), 10).await.len(), 3);
}

#[tokio::test]
async fn the_audit_trail_is_for_admins_only() {
    let h = Harness::in_memory();
    let t = h.create("Acme Corp").await;

    let err = h
        .service
        .audit_trail(&operator(&[&t.id]), &t.id, &page(10, None))
        .await
        .expect_err("operator");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let trail = h
        .service
        .audit_trail(&tenant_admin(&t.id), &t.id, &page(10, None))
        .await
        .expect("tenant admin");
    assert_eq!(trail.items.len(), 1);
}
