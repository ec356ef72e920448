//! The file store keeps the organisation across a close and reopen: nodes, name guards,
//! assignments, counters, invitations with their token lookups, the directory and the mailbox.

use bbws_core::ErrorCode;
use bbws_core::org::{InvitationStatus, Parent};
use bbws_core::store::EmbeddedStore;

use crate::org_support::{Role, Setup, member, unit_name, user_id};
use crate::support::{email, page, platform_admin};

#[tokio::test]
async fn the_organisation_survives_a_reopen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bbws.redb");

    let (tenant, tree_before, mails_before, token) = {
        let o = Setup::on(EmbeddedStore::open(&path).expect("store opens"));
        let t = o.tenant("Acme Corp").await;
        let d = o.division(&t.id, "Sales").await;
        o.unit(&t.id, Parent::Division(d.path.division()), "EMEA")
            .await;
        o.assigned(&t.id, "u-adm", "adm@acme.example", Role::Admin)
            .await;
        o.org
            .create_invitation(
                &platform_admin(),
                &t.id,
                &email("ann@acme.example"),
                Role::Viewer,
                None,
                None,
            )
            .await
            .expect("invite");
        let token = o.last_token("ann@acme.example");
        let tree = o.org.tree(&platform_admin(), &t.id).await.expect("tree");
        (t, tree, o.mails(), token)
    };

    let o = Setup::on(EmbeddedStore::open(&path).expect("store reopens"));
    assert_eq!(
        o.org
            .tree(&platform_admin(), &tenant.id)
            .await
            .expect("tree"),
        tree_before
    );
    assert_eq!(o.mails(), mails_before);
    let err = o
        .org
        .create_division(&platform_admin(), &tenant.id, unit_name("SALES"), None)
        .await
        .expect_err("the name guard survived");
    assert_eq!(err.code(), ErrorCode::HierarchyExists);
    let err = o
        .org
        .remove_user(&platform_admin(), &tenant.id, &user_id("u-adm"))
        .await
        .expect_err("the Admin counter survived");
    assert_eq!(err.code(), ErrorCode::LastAdmin);
    let admin = member("u-adm", "adm@acme.example");
    o.org
        .create_division(&admin, &tenant.id, unit_name("Support"), None)
        .await
        .expect("the stored role survived");
    assert!(
        o.org
            .view_invitation(&token)
            .await
            .expect("token survived")
            .is_valid
    );
    let err = o
        .org
        .create_invitation(
            &platform_admin(),
            &tenant.id,
            &email("ann@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("the pending guard survived");
    assert_eq!(err.code(), ErrorCode::DuplicateInvitation);
    o.org
        .accept_invitation(&member("u-ann", "ann@acme.example"), &token)
        .await
        .expect("accept after reopen");
    let invs = o
        .org
        .list_invitations(&platform_admin(), &tenant.id, None, &page(10, None))
        .await
        .expect("list");
    assert_eq!(invs.items[0].status, InvitationStatus::Accepted);
    assert!(
        o.store
            .directory_users()
            .expect("directory")
            .iter()
            .any(|u| u.user_id == user_id("u-adm"))
    );
}
