//! User assignments: found in the directory by e-mail, one per tenant, the last Admin can be
//! neither removed nor demoted, a user's tenants, and the stored role decides authorization.

use std::sync::Arc;

use bbws_core::ErrorCode;
use bbws_core::auth::TenantAction;
use bbws_core::org::{ALREADY_IN_ANOTHER_TENANT, TenantGroup};

use crate::org_support::{Role, Setup, member, user_id};
use crate::support::{email, page, platform_admin};

#[tokio::test]
async fn assign_finds_the_user_by_email_and_refuses_duplicates_and_strangers() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    o.user("u-ann", "Ann@Acme.example").await;

    let assigned = o
        .org
        .assign_user(
            &platform_admin(),
            &t.id,
            &email("ann@ACME.example"),
            Role::Operator,
            None,
            None,
        )
        .await
        .expect("found in any letter case");
    assert_eq!(assigned.value.assignment.user_id, user_id("u-ann"));
    assert_eq!(assigned.value.assignment.role, Role::Operator);
    assert!(assigned.value.warnings.is_empty());

    let err = o
        .org
        .assign_user(
            &platform_admin(),
            &t.id,
            &email("ann@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("already assigned");
    assert_eq!(err.code(), ErrorCode::UserAlreadyAssigned);
    let err = o
        .org
        .assign_user(
            &platform_admin(),
            &t.id,
            &email("nobody@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("not in the directory");
    assert_eq!(err.code(), ErrorCode::UserNotFound);
    o.user("u-bob", "bob@acme.example").await;
    let err = o
        .org
        .assign_user(
            &platform_admin(),
            &t.id,
            &email("bob@acme.example"),
            Role::Viewer,
            Some(&user_id("u-ann")),
            None,
        )
        .await
        .expect_err("userId of someone else");
    assert_eq!(err.code(), ErrorCode::ValidationError);

    // BR-USER-002: a second tenant succeeds with a warning.
    let beta = o.tenant("Beta Ltd").await;
    let second = o
        .org
        .assign_user(
            &platform_admin(),
            &beta.id,
            &email("ann@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect("second tenant");
    assert_eq!(second.value.warnings, [ALREADY_IN_ANOTHER_TENANT]);

    // The directory group mirrors the assignment.
    let group = TenantGroup {
        tenant_id: t.id,
        role: Role::Operator,
    };
    assert_eq!(group.name(), format!("{}-operators", t.id));
    assert_eq!(
        o.store.group_members(&group.name()).expect("group"),
        Some(vec![user_id("u-ann")])
    );
    let listed = o
        .org
        .list_users(&platform_admin(), &t.id, None, &page(10, None))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    let admins = o
        .org
        .list_users(&platform_admin(), &t.id, Some(Role::Admin), &page(10, None))
        .await
        .expect("list admins");
    assert!(admins.items.is_empty());
}

#[tokio::test]
async fn the_last_admin_can_be_neither_removed_nor_demoted() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    o.assigned(&t.id, "u-adm", "adm@acme.example", Role::Admin)
        .await;
    o.assigned(&t.id, "u-op", "op@acme.example", Role::Operator)
        .await;

    let err = o
        .org
        .remove_user(&platform_admin(), &t.id, &user_id("u-adm"))
        .await
        .expect_err("last Admin");
    assert_eq!(err.code(), ErrorCode::LastAdmin);
    assert_eq!(err.code().http_status(), 422);
    assert_eq!(err.to_string(), "Cannot remove last Admin from tenant");
    let err = o
        .org
        .change_role(
            &platform_admin(),
            &t.id,
            &user_id("u-adm"),
            Role::Viewer,
            None,
        )
        .await
        .expect_err("last Admin");
    assert_eq!(err.code(), ErrorCode::LastAdmin);
    // Others come and go freely.
    o.org
        .remove_user(&platform_admin(), &t.id, &user_id("u-op"))
        .await
        .expect("an Operator leaves");

    // With a second Admin, one may step down; then the other is the last again.
    o.assigned(&t.id, "u-adm2", "adm2@acme.example", Role::Viewer)
        .await;
    let promoted = o
        .org
        .change_role(
            &platform_admin(),
            &t.id,
            &user_id("u-adm2"),
            Role::Admin,
            Some(1),
        )
        .await
        .expect("promote");
    assert_eq!((promoted.role, promoted.version), (Role::Admin, 2));
    o.org
        .change_role(
            &platform_admin(),
            &t.id,
            &user_id("u-adm"),
            Role::Operator,
            None,
        )
        .await
        .expect("demote one of two");
    let err = o
        .org
        .remove_user(&platform_admin(), &t.id, &user_id("u-adm2"))
        .await
        .expect_err("now the last");
    assert_eq!(err.code(), ErrorCode::LastAdmin);

    let events: Vec<String> = crate::support::pending_in(&o.store)
        .await
        .into_iter()
        .map(|m| m.detail_type)
        .filter(|e| e.starts_with("USER_"))
        .collect();
    let expected = [
        "USER_ASSIGNED",
        "USER_ASSIGNED",
        "USER_REMOVED",
        "USER_ASSIGNED",
        "USER_ROLE_CHANGED",
        "USER_ROLE_CHANGED",
    ];
    assert_eq!(events, expected);
    let mut audit: Vec<String> = o
        .audit_of(&t.id)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .filter(|e| e.starts_with("USER_"))
        .collect();
    audit.sort();
    let mut sorted = expected.to_vec();
    sorted.sort_unstable();
    assert_eq!(audit, sorted, "each change has its audit row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_admins_removing_each_other_at_once_leave_one() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    o.assigned(&t.id, "u-a", "a@acme.example", Role::Admin)
        .await;
    o.assigned(&t.id, "u-b", "b@acme.example", Role::Admin)
        .await;

    let tasks: Vec<_> = ["u-a", "u-b"]
        .into_iter()
        .map(|u| {
            let org = Arc::clone(&o.org);
            let tid = t.id;
            tokio::spawn(async move { org.remove_user(&platform_admin(), &tid, &user_id(u)).await })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task completes") {
            Ok(()) => ok += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::LastAdmin),
        }
    }
    assert_eq!(ok, 1);
    let admins = o
        .org
        .list_users(&platform_admin(), &t.id, Some(Role::Admin), &page(10, None))
        .await
        .expect("list");
    assert_eq!(admins.items.len(), 1);
}

#[tokio::test]
async fn a_users_tenants_and_profile() {
    let o = Setup::in_memory();
    let acme = o.tenant("Acme Corp").await;
    let beta = o.tenant("Beta Ltd").await;
    let ann = o
        .assigned(&acme.id, "u-ann", "ann@acme.example", Role::Admin)
        .await;
    o.org
        .assign_user(
            &platform_admin(),
            &beta.id,
            &email("ann@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect("second tenant");

    let mut tenants = o
        .org
        .user_tenants(&ann, &user_id("u-ann"))
        .await
        .expect("self");
    tenants.sort_by_key(|t| t.organization_name.clone());
    let names: Vec<_> = tenants
        .iter()
        .map(|t| (t.organization_name.as_deref(), t.assignment.role))
        .collect();
    assert_eq!(
        names,
        [
            (Some("Acme Corp"), Role::Admin),
            (Some("Beta Ltd"), Role::Viewer)
        ]
    );
    let err = o
        .org
        .user_tenants(&member("u-other", "o@acme.example"), &user_id("u-ann"))
        .await
        .expect_err("not self");
    assert_eq!(err.code(), ErrorCode::Forbidden);

    let profile = o
        .org
        .get_user(
            &platform_admin(),
            "ANN%40acme.example".replace("%40", "@").as_str(),
        )
        .await
        .expect("by e-mail");
    assert_eq!(profile.user_id, user_id("u-ann"));
    assert_eq!(profile.tenants.len(), 2);
    let err = o
        .org
        .get_user(&platform_admin(), "u-ghost")
        .await
        .expect_err("unknown");
    assert_eq!(err.code(), ErrorCode::UserNotFound);
}

#[tokio::test]
async fn the_stored_role_resolves_the_caller_for_the_tenant_service() {
    let o = Setup::in_memory();
    let acme = o.tenant("Acme Corp").await;
    let beta = o.tenant("Beta Ltd").await;
    let viewer = o
        .assigned(&acme.id, "u-v", "v@acme.example", Role::Viewer)
        .await;

    // From the claims alone, the caller sees nothing.
    assert!(o.tenants.get(&viewer, &acme.id).await.is_err());
    let resolved = o
        .org
        .resolve_actor(&viewer, &acme.id)
        .await
        .expect("resolve");
    assert_eq!(resolved.role_in(&acme.id), Some(Role::Viewer));
    o.tenants.get(&resolved, &acme.id).await.expect("reads");
    assert!(resolved.authorize(&acme.id, TenantAction::Update).is_err());
    let scoped = o.org.resolve_scope(&viewer).await.expect("scope");
    let listed = o
        .tenants
        .list(&scoped, None, None, None, &page(10, None))
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].id, acme.id);
    assert_eq!(resolved.role_in(&beta.id), None);

    // A customer admin is Admin on the customer's tenants (C23).
    let customer_admin = crate::support::actor(&serde_json::json!({
        "sub": "u-cust", "email": "boss@acme.example",
        "cognito:groups": ["CustomerAdmins"], "custom:customerId": "cust-1",
    }));
    let owned = o
        .tenants
        .create(
            &crate::support::actor(&serde_json::json!({
                "sub": "sub-admin", "email": "admin@bbws.io",
                "cognito:groups": ["Admins"], "custom:customerId": "cust-1",
            })),
            crate::support::new_tenant("Owned Tenant"),
            None,
        )
        .await
        .expect("created for the customer")
        .value;
    let r = o
        .org
        .resolve_actor(&customer_admin, &owned.id)
        .await
        .expect("resolve");
    assert_eq!(r.role_in(&owned.id), Some(Role::Admin));
    let r = o
        .org
        .resolve_actor(&customer_admin, &acme.id)
        .await
        .expect("resolve");
    assert_eq!(r.role_in(&acme.id), None, "another customer's tenant");
}
