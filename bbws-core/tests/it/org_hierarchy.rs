//! Divisions, groups and teams: names unique within their parent regardless of case, at most 100
//! children per parent, delete refused while not empty and cascading on request, team members,
//! the tree, audit and outbox rows with every change.

use bbws_core::ErrorCode;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::org::{Parent, UnitPath};
use bbws_core::tenant::Reason;

use crate::org_support::{Role, Setup, member, unit_name, user_id};
use crate::support::{page, platform_admin};

#[tokio::test]
async fn names_are_unique_within_their_parent_regardless_of_case() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let sales = o.division(&t.id, "Sales").await;

    for spelling in ["sales", "SALES", "  Sales "] {
        let err = o
            .org
            .create_division(&platform_admin(), &t.id, unit_name(spelling), None)
            .await
            .expect_err("the name is taken in any case");
        assert_eq!(err.code(), ErrorCode::HierarchyExists, "{spelling:?}");
    }
    // The same name under another parent is fine.
    let group = o
        .unit(&t.id, Parent::Division(sales.path.division()), "Sales")
        .await;
    assert_eq!(group.path.parent(), Parent::Division(sales.path.division()));
    // And in another tenant.
    let other = o.tenant("Beta Ltd").await;
    o.division(&other.id, "SALES").await;

    // Renaming onto a taken name is refused; a case-only rename of one's own name is not.
    let ops = o.division(&t.id, "Operations").await;
    let err = o
        .org
        .rename_unit(&platform_admin(), &t.id, ops.path, unit_name("sAlEs"), None)
        .await
        .expect_err("taken");
    assert_eq!(err.code(), ErrorCode::HierarchyExists);
    let renamed = o
        .org
        .rename_unit(
            &platform_admin(),
            &t.id,
            ops.path,
            unit_name("OPERATIONS"),
            None,
        )
        .await
        .expect("own name in another case");
    assert_eq!(renamed.name.as_str(), "OPERATIONS");
    assert_eq!(renamed.version, 2);

    // A rename frees the old name; a delete frees the name too.
    o.org
        .rename_unit(&platform_admin(), &t.id, ops.path, unit_name("Ops"), None)
        .await
        .expect("rename");
    o.division(&t.id, "operations").await;
    o.org
        .delete_unit(&platform_admin(), &t.id, sales.path, true, None)
        .await
        .expect("delete");
    o.division(&t.id, "Sales").await;
}

#[tokio::test]
async fn a_parent_holds_at_most_100_children() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let mut first = None;
    for i in 0..100 {
        let d = o.division(&t.id, &format!("Division {i}")).await;
        first.get_or_insert(d);
    }

    let err = o
        .org
        .create_division(&platform_admin(), &t.id, unit_name("One Too Many"), None)
        .await
        .expect_err("the 101st is refused");
    assert_eq!(err.code(), ErrorCode::HierarchyLimitExceeded);
    assert_eq!(err.code().http_status(), 422);

    let first = first.expect("created");
    o.org
        .delete_unit(&platform_admin(), &t.id, first.path, false, None)
        .await
        .expect("an empty division is deleted");
    o.division(&t.id, "One Too Many").await;

    let err = o
        .org
        .create_division(&platform_admin(), &t.id, unit_name("Again Too Many"), None)
        .await
        .expect_err("full again");
    assert_eq!(err.code(), ErrorCode::HierarchyLimitExceeded);
    // The cap is per parent: a division still takes groups.
    let top = o
        .org
        .list_units(&platform_admin(), &t.id, Parent::Tenant, &page(1, None))
        .await
        .expect("list");
    let g = o
        .unit(
            &t.id,
            Parent::Division(top.items[0].path.division()),
            "Group",
        )
        .await;
    assert!(g.active);
}

#[tokio::test]
async fn delete_is_refused_while_not_empty_and_cascade_soft_deletes_the_subtree() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let div = o.division(&t.id, "Sales").await;
    let grp = o
        .unit(&t.id, Parent::Division(div.path.division()), "EMEA")
        .await;
    let UnitPath::Group(did, gid) = grp.path else {
        panic!("a group")
    };
    let team = o.unit(&t.id, Parent::Group(did, gid), "Closers").await;
    let other = o.division(&t.id, "Support").await;
    o.assigned(&t.id, "u-ann", "ann@acme.example", Role::Viewer)
        .await;
    o.org
        .add_member(&platform_admin(), &t.id, team.path, &user_id("u-ann"))
        .await
        .expect("member added");

    for path in [div.path, grp.path] {
        let err = o
            .org
            .delete_unit(&platform_admin(), &t.id, path, false, None)
            .await
            .expect_err("has children");
        assert_eq!(err.code(), ErrorCode::HierarchyNotEmpty);
    }
    let err = o
        .org
        .delete_unit(&platform_admin(), &t.id, team.path, false, None)
        .await
        .expect_err("has members");
    assert_eq!(err.code(), ErrorCode::HierarchyNotEmpty);

    let deleted = o
        .org
        .delete_unit(&platform_admin(), &t.id, div.path, true, None)
        .await
        .expect("cascade");
    assert!(!deleted.active);
    assert!(deleted.deleted.is_some());

    for path in [div.path, grp.path, team.path] {
        let err = o
            .org
            .get_unit(&platform_admin(), &t.id, path)
            .await
            .expect_err("soft-deleted");
        assert_eq!(err.code(), path.kind().not_found_code());
    }
    let snap = bbws_core::org::OrgDao::hierarchy(o.store.as_ref(), &t.id)
        .await
        .expect("snapshot");
    for path in [div.path, grp.path, team.path] {
        let u = snap.unit(path).expect("still stored");
        assert!(!u.active && u.deleted.is_some(), "{path:?} is soft-deleted");
    }
    let tree = o.org.tree(&platform_admin(), &t.id).await.expect("tree");
    assert_eq!(tree.divisions.len(), 1);
    assert_eq!(tree.divisions[0].unit.path, other.path);

    // Nothing can be created under a deleted node.
    let err = o
        .org
        .create_group(&platform_admin(), &t.id, did, unit_name("APAC"), None)
        .await
        .expect_err("parent is gone");
    assert_eq!(err.code(), ErrorCode::DivisionNotFound);

    let audit = o.audit_of(&t.id).await;
    let last = audit
        .iter()
        .find(|e| e.event_type == "HIERARCHY_DELETED")
        .expect("audited");
    assert_eq!(last.details["cascade"], true);
    assert_eq!(last.details["deleted"].as_array().map(Vec::len), Some(3));
}

#[tokio::test]
async fn every_change_writes_its_audit_row_and_outbox_event() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let before_audit = o.audit_of(&t.id).await.len();
    let before_events = crate::support::pending_in(&o.store).await.len();

    let d = o.division(&t.id, "Sales").await;
    o.org
        .rename_unit(
            &platform_admin(),
            &t.id,
            d.path,
            unit_name("Sales EMEA"),
            Some(1),
        )
        .await
        .expect("rename");
    let team_group = o
        .unit(&t.id, Parent::Division(d.path.division()), "Inside")
        .await;
    let UnitPath::Group(did, gid) = team_group.path else {
        panic!("a group")
    };
    let team = o.unit(&t.id, Parent::Group(did, gid), "Closers").await;
    o.assigned(&t.id, "u-bob", "bob@acme.example", Role::Operator)
        .await;
    o.org
        .add_member(&platform_admin(), &t.id, team.path, &user_id("u-bob"))
        .await
        .expect("add");
    o.org
        .remove_member(&platform_admin(), &t.id, team.path, &user_id("u-bob"))
        .await
        .expect("remove");
    o.org
        .delete_unit(&platform_admin(), &t.id, team.path, false, None)
        .await
        .expect("delete");

    // The audit trail sorts by time (then event id); the outbox keeps commit order.
    let mut audit: Vec<String> = o
        .audit_of(&t.id)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .filter(|e| e != "TENANT_CREATED" && e != "STATUS_CHANGED")
        .collect();
    assert_eq!(audit.len() + before_audit, o.audit_of(&t.id).await.len());
    audit.sort();
    let expected = [
        "HIERARCHY_CREATED",
        "HIERARCHY_UPDATED",
        "HIERARCHY_CREATED",
        "HIERARCHY_CREATED",
        "USER_ASSIGNED",
        "HIERARCHY_MEMBER_ADDED",
        "HIERARCHY_MEMBER_REMOVED",
        "HIERARCHY_DELETED",
    ];
    let mut sorted = expected.to_vec();
    sorted.sort_unstable();
    assert_eq!(audit, sorted);
    let events: Vec<String> = crate::support::pending_in(&o.store).await[before_events..]
        .iter()
        .map(|m| m.detail_type.clone())
        .collect();
    assert_eq!(events, expected);
    let pending = crate::support::pending_in(&o.store).await;
    assert!(
        pending[before_events..]
            .iter()
            .all(|m| m.tenant_id == Some(t.id) && m.detail["tenantId"] == t.id.to_string())
    );
}

#[tokio::test]
async fn stale_versions_and_inactive_tenants_are_refused() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let d = o.division(&t.id, "Sales").await;
    let err = o
        .org
        .rename_unit(
            &platform_admin(),
            &t.id,
            d.path,
            unit_name("X Sales"),
            Some(7),
        )
        .await
        .expect_err("stale");
    assert_eq!(err.code(), ErrorCode::VersionConflict);
    let err = o
        .org
        .delete_unit(&platform_admin(), &t.id, d.path, false, Some(3))
        .await
        .expect_err("stale");
    assert_eq!(err.code(), ErrorCode::VersionConflict);

    o.tenants
        .park(
            &platform_admin(),
            &t.id,
            &Reason::parse(Some("Customer asked for a pause"), "Park reason").expect("reason"),
            None,
        )
        .await
        .expect("park");
    let err = o
        .org
        .create_division(&platform_admin(), &t.id, unit_name("Support"), None)
        .await
        .expect_err("parked");
    assert_eq!(err.code(), ErrorCode::TenantNotActive);
    // Reads still work.
    assert_eq!(
        o.org
            .list_units(&platform_admin(), &t.id, Parent::Tenant, &page(10, None))
            .await
            .expect("list")
            .items,
        vec![d]
    );
}

#[tokio::test]
async fn listing_pages_through_children_in_order() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let div = o.division(&t.id, "Sales").await;
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(
            o.unit(
                &t.id,
                Parent::Division(div.path.division()),
                &format!("Group {i}"),
            )
            .await
            .path,
        );
    }
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = o
            .org
            .list_units(
                &platform_admin(),
                &t.id,
                Parent::Division(div.path.division()),
                &page(2, cursor),
            )
            .await
            .expect("page");
        seen.extend(p.items.into_iter().map(|u| u.path));
        match p.next {
            Some(n) => cursor = Some(n),
            None => break,
        }
    }
    made.sort();
    seen.sort();
    assert_eq!(seen, made);
    // Divisions are not listed among groups.
    let top = o
        .org
        .list_units(&platform_admin(), &t.id, Parent::Tenant, &page(100, None))
        .await
        .expect("divisions");
    assert_eq!(top.items.len(), 1);
}

#[tokio::test]
async fn roles_come_from_the_stored_assignments() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let admin = o
        .assigned(&t.id, "u-adm", "adm@acme.example", Role::Admin)
        .await;
    let viewer = o
        .assigned(&t.id, "u-view", "view@acme.example", Role::Viewer)
        .await;
    let stranger = member("u-none", "none@elsewhere.example");

    let d = o
        .org
        .create_division(&admin, &t.id, unit_name("Sales"), None)
        .await
        .expect("an assigned Admin manages the hierarchy")
        .value;
    assert_eq!(d.created.by, "adm@acme.example");
    o.org
        .get_unit(&viewer, &t.id, d.path)
        .await
        .expect("a Viewer reads");
    let err = o
        .org
        .create_division(&viewer, &t.id, unit_name("Support"), None)
        .await
        .expect_err("a Viewer does not manage");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let err = o
        .org
        .get_unit(&stranger, &t.id, d.path)
        .await
        .expect_err("outside the tenant");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
    // A tenant group in the claims alone grants nothing here: the store decides.
    let claimed = crate::support::tenant_admin(&t.id);
    let err = o
        .org
        .tree(&claimed, &t.id)
        .await
        .expect_err("no assignment");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);

    // Once removed, the Admin loses access (another Admin stays, BR-USER-004).
    o.assigned(&t.id, "u-adm2", "adm2@acme.example", Role::Admin)
        .await;
    o.org
        .remove_user(&platform_admin(), &t.id, &user_id("u-adm"))
        .await
        .expect("removed");
    let err = o.org.tree(&admin, &t.id).await.expect_err("removed");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
}

#[tokio::test]
async fn idempotent_creates_replay_and_refuse_another_body() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let key = IdempotencyKey::parse("div-sales-1").expect("key");
    let first = o
        .org
        .create_division(&platform_admin(), &t.id, unit_name("Sales"), Some(&key))
        .await
        .expect("create");
    assert!(!first.replayed);
    let again = o
        .org
        .create_division(&platform_admin(), &t.id, unit_name("Sales"), Some(&key))
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(again.value, first.value);
    let err = o
        .org
        .create_division(&platform_admin(), &t.id, unit_name("Support"), Some(&key))
        .await
        .expect_err("another body");
    assert_eq!(err.code(), ErrorCode::IdempotencyKeyReused);
    let tree = o.org.tree(&platform_admin(), &t.id).await.expect("tree");
    assert_eq!(tree.divisions.len(), 1);
}

#[tokio::test]
async fn the_compatibility_path_operations_get_or_create_and_delete_by_names() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let path = o
        .org
        .ensure_path(
            &platform_admin(),
            &t.id,
            unit_name("Sales"),
            Some(unit_name("EMEA")),
            None,
        )
        .await
        .expect("created");
    assert_eq!(path.len(), 2);
    let longer = o
        .org
        .ensure_path(
            &platform_admin(),
            &t.id,
            unit_name("sales"),
            Some(unit_name("emea")),
            Some(unit_name("Closers")),
        )
        .await
        .expect("extends the existing path");
    assert_eq!(longer[0].path, path[0].path);
    assert_eq!(longer[1].path, path[1].path);
    let err = o
        .org
        .ensure_path(&platform_admin(), &t.id, unit_name("SALES"), None, None)
        .await
        .expect_err("exists");
    assert_eq!(err.code(), ErrorCode::HierarchyExists);

    let err = o
        .org
        .delete_path(
            &platform_admin(),
            &t.id,
            &unit_name("Sales"),
            Some(&unit_name("EMEA")),
            None,
            false,
        )
        .await
        .expect_err("has a team");
    assert_eq!(err.code(), ErrorCode::HierarchyNotEmpty);
    let gone = o
        .org
        .delete_path(
            &platform_admin(),
            &t.id,
            &unit_name("Sales"),
            Some(&unit_name("EMEA")),
            None,
            true,
        )
        .await
        .expect("cascade");
    assert_eq!(gone.path, path[1].path);
    let tree = o.org.tree(&platform_admin(), &t.id).await.expect("tree");
    assert_eq!(tree.divisions.len(), 1);
    assert!(tree.divisions[0].groups.is_empty());
}

#[tokio::test]
async fn a_cascade_larger_than_one_atomic_write_is_refused_whole() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let div = o.division(&t.id, "Sales").await;
    for i in 0..50 {
        o.unit(
            &t.id,
            Parent::Division(div.path.division()),
            &format!("Group {i}"),
        )
        .await;
    }

    let err = o
        .org
        .delete_unit(&platform_admin(), &t.id, div.path, true, None)
        .await
        .expect_err("more items than one DynamoDB transaction holds");
    assert_eq!(err.code(), ErrorCode::HierarchyNotEmpty);
    assert!(err.to_string().contains("atomic write"), "{err}");
    let tree = o.org.tree(&platform_admin(), &t.id).await.expect("tree");
    assert_eq!(tree.divisions[0].groups.len(), 50, "nothing was deleted");
}

#[tokio::test]
async fn the_compatibility_rename_renames_the_deepest_named_node() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let path = o
        .org
        .ensure_path(
            &platform_admin(),
            &t.id,
            unit_name("Sales"),
            Some(unit_name("EMEA")),
            None,
        )
        .await
        .expect("created");
    let renamed = o
        .org
        .rename_path(
            &platform_admin(),
            &t.id,
            &unit_name("sales"),
            Some(&unit_name("emea")),
            None,
            unit_name("Europe"),
            Some(path[1].version),
        )
        .await
        .expect("renamed");
    assert_eq!(renamed.len(), 2);
    assert_eq!(renamed[0], path[0], "the division is untouched");
    assert_eq!(renamed[1].path, path[1].path);
    assert_eq!(renamed[1].name.as_str(), "Europe");
    assert_eq!(renamed[1].version, path[1].version + 1);

    let err = o
        .org
        .rename_path(
            &platform_admin(),
            &t.id,
            &unit_name("Sales"),
            Some(&unit_name("Europe")),
            None,
            unit_name("Asia"),
            Some(path[1].version),
        )
        .await
        .expect_err("a stale version");
    assert_eq!(err.code(), ErrorCode::VersionConflict);
    let err = o
        .org
        .rename_path(
            &platform_admin(),
            &t.id,
            &unit_name("Sales"),
            Some(&unit_name("EMEA")),
            None,
            unit_name("Asia"),
            None,
        )
        .await
        .expect_err("the old name is gone");
    assert_eq!(err.code(), ErrorCode::GroupNotFound);
    let err = o
        .org
        .rename_path(
            &member("nobody", "nobody@acme.example"),
            &t.id,
            &unit_name("Sales"),
            None,
            None,
            unit_name("Revenue"),
            None,
        )
        .await
        .expect_err("outside the tenant");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
    let events: Vec<String> = o
        .audit_of(&t.id)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        events.iter().filter(|e| *e == "HIERARCHY_UPDATED").count(),
        1
    );
}
