//! Invitations: create → mail → view → accept puts the user in the tenant (and team); resend
//! rotates the token at most three times; expiry, cancel and use make a token fail; two
//! concurrent accepts admit exactly one.

use std::sync::Arc;
use std::time::Duration;

use bbws_core::ErrorCode;
use bbws_core::ids::TenantId;
use bbws_core::org::{InvitationStatus, OrgDao, Parent, UnitPath};

use crate::org_support::{Role, Setup, member, user_id};
use crate::support::{email, page, platform_admin};

async fn invite(o: &Setup, t: &TenantId, to: &str, role: Role) -> bbws_core::org::Invitation {
    o.org
        .create_invitation(&platform_admin(), t, &email(to), role, None, None)
        .await
        .expect("invitation created")
        .value
}

#[tokio::test]
async fn create_mail_view_accept_makes_the_invitee_a_member() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let d = o.division(&t.id, "Sales").await;
    let g = o
        .unit(&t.id, Parent::Division(d.path.division()), "EMEA")
        .await;
    let UnitPath::Group(did, gid) = g.path else {
        panic!("a group")
    };
    let team = o.unit(&t.id, Parent::Group(did, gid), "Closers").await;

    let inv = o
        .org
        .create_invitation(
            &platform_admin(),
            &t.id,
            &email("new.hire@acme.example"),
            Role::Operator,
            team.path.team(),
            None,
        )
        .await
        .expect("created")
        .value;
    assert_eq!(inv.status, InvitationStatus::Pending);
    assert_eq!(
        inv.expires_at,
        crate::support::ts("2026-01-12T12:00:00.000Z")
    );

    let mail = o.mails().pop().expect("mailed");
    assert_eq!(mail.message.to.as_str(), "new.hire@acme.example");
    assert_eq!(
        mail.message.subject,
        "You've been invited to join Acme Corp on BBWS"
    );
    let token = o.last_token("new.hire@acme.example");
    assert_eq!(token.len(), 43);
    assert!(
        mail.message
            .text
            .contains(&format!("https://portal.bbws.test/invitations/{token}"))
    );
    // Only the hash is stored.
    let stored = o
        .store
        .get_invitation(&t.id, inv.id)
        .await
        .expect("read")
        .expect("stored");
    assert_ne!(stored.token_hash.as_str(), token);
    assert_eq!(
        stored.token_hash,
        bbws_core::org::InvitationToken::parse(&token)
            .expect("token")
            .hash()
    );

    let view = o.org.view_invitation(&token).await.expect("public view");
    assert_eq!(view.organisation_name, "Acme Corp");
    assert!(view.is_valid);
    assert_eq!(view.role, Role::Operator);

    let invitee = member("u-new", "NEW.HIRE@acme.example");
    let assignment = o
        .org
        .accept_invitation(&invitee, &token)
        .await
        .expect("accepted");
    assert_eq!(assignment.role, Role::Operator);
    assert_eq!(assignment.user_id, user_id("u-new"));

    let tenants = o
        .org
        .user_tenants(&invitee, &user_id("u-new"))
        .await
        .expect("tenants");
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].assignment.tenant_id, t.id);
    let members = o
        .org
        .list_members(&platform_admin(), &t.id, team.path, &page(10, None))
        .await
        .expect("members");
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].user_id, user_id("u-new"));
    let inv = o
        .org
        .get_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect("get");
    assert_eq!(inv.status, InvitationStatus::Accepted);
    assert_eq!(inv.accepted_by, Some(user_id("u-new")));

    // A used token is refused.
    let err = o
        .org
        .accept_invitation(&invitee, &token)
        .await
        .expect_err("used");
    assert_eq!(err.code(), ErrorCode::InvitationAlreadyUsed);
    let err = o.org.decline_invitation(&token).await.expect_err("used");
    assert_eq!(err.code(), ErrorCode::InvitationAlreadyUsed);
    assert!(!o.org.view_invitation(&token).await.expect("view").is_valid);

    let audit: Vec<String> = o
        .audit_of(&t.id)
        .await
        .into_iter()
        .map(|e| e.event_type)
        .filter(|e| e.starts_with("INVITATION_"))
        .collect();
    assert_eq!(audit, ["INVITATION_CREATED", "INVITATION_ACCEPTED"]);
    let events: Vec<String> = crate::support::pending_in(&o.store)
        .await
        .into_iter()
        .map(|m| m.detail_type)
        .rev()
        .take(2)
        .collect();
    assert_eq!(events, ["USER_ASSIGNED", "INVITATION_ACCEPTED"]);
}

#[tokio::test]
async fn accept_needs_the_invited_email() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    invite(&o, &t.id, "ann@acme.example", Role::Viewer).await;
    let token = o.last_token("ann@acme.example");

    let err = o
        .org
        .accept_invitation(&member("u-eve", "eve@acme.example"), &token)
        .await
        .expect_err("another e-mail");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let err = o
        .org
        .accept_invitation(
            &crate::support::actor(&serde_json::json!({"sub": "u-x"})),
            &token,
        )
        .await
        .expect_err("no e-mail");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    o.org
        .accept_invitation(&member("u-ann", "ann@acme.example"), &token)
        .await
        .expect("the invitee");
    for bad in ["", "nope", &"A".repeat(43)] {
        let err = o.org.view_invitation(bad).await.expect_err("unknown token");
        assert_eq!(err.code(), ErrorCode::InvitationNotFound);
    }
}

#[tokio::test]
async fn resend_rotates_the_token_at_most_three_times() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let inv = invite(&o, &t.id, "ann@acme.example", Role::Viewer).await;
    let mut old = o.last_token("ann@acme.example");

    for n in 1..=3u32 {
        o.clock.advance(Duration::from_hours(24));
        let resent = o
            .org
            .resend_invitation(&platform_admin(), &t.id, inv.id)
            .await
            .expect("resent");
        assert_eq!(resent.resend_count, n);
        assert_eq!(
            resent.expires_at,
            o.clock_now().plus(Duration::from_hours(24 * 7))
        );
        let new = o.last_token("ann@acme.example");
        assert_ne!(new, old);
        let err = o.org.view_invitation(&old).await.expect_err("rotated");
        assert_eq!(err.code(), ErrorCode::InvitationNotFound);
        let err = o
            .org
            .accept_invitation(&member("u-ann", "ann@acme.example"), &old)
            .await
            .expect_err("rotated");
        assert_eq!(err.code(), ErrorCode::InvitationNotFound);
        old = new;
    }
    let err = o
        .org
        .resend_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect_err("4th resend");
    assert_eq!(err.code(), ErrorCode::ResendLimitExceeded);
    assert_eq!(err.code().http_status(), 400);
    // The last token still works.
    o.org
        .accept_invitation(&member("u-ann", "ann@acme.example"), &old)
        .await
        .expect("latest token");
}

#[tokio::test]
async fn an_expired_invitation_reads_as_expired_and_its_token_is_refused() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let inv = invite(&o, &t.id, "ann@acme.example", Role::Viewer).await;
    let token = o.last_token("ann@acme.example");

    o.clock
        .advance(Duration::from_hours(24 * 7) - Duration::from_millis(1));
    assert!(o.org.view_invitation(&token).await.expect("view").is_valid);
    o.clock.advance(Duration::from_millis(1));

    let listed = o
        .org
        .list_invitations(
            &platform_admin(),
            &t.id,
            Some(InvitationStatus::Expired),
            &page(10, None),
        )
        .await
        .expect("list");
    assert_eq!(listed.items.len(), 1);
    assert_eq!(listed.items[0].status, InvitationStatus::Expired);
    let view = o.org.view_invitation(&token).await.expect("view");
    assert_eq!(view.status, InvitationStatus::Expired);
    assert!(!view.is_valid);
    let err = o
        .org
        .accept_invitation(&member("u-ann", "ann@acme.example"), &token)
        .await
        .expect_err("expired");
    assert_eq!(err.code(), ErrorCode::InvitationExpired);
    let stored = o
        .store
        .get_invitation(&t.id, inv.id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.status, InvitationStatus::Expired, "recorded (C13)");

    // The e-mail may be invited again; or the old one resent.
    let err = o
        .org
        .cancel_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect_err("not pending");
    assert_eq!(err.code(), ErrorCode::InvalidState);
    let resent = o
        .org
        .resend_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect("an expired one can be resent");
    assert_eq!(resent.status, InvitationStatus::Pending);
    o.org
        .accept_invitation(
            &member("u-ann", "ann@acme.example"),
            &o.last_token("ann@acme.example"),
        )
        .await
        .expect("accepted after resend");
}

#[tokio::test]
async fn cancel_makes_the_token_fail_and_frees_the_email() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let inv = invite(&o, &t.id, "ann@acme.example", Role::Admin).await;
    let token = o.last_token("ann@acme.example");

    let err = o
        .org
        .create_invitation(
            &platform_admin(),
            &t.id,
            &email("ANN@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("one pending per e-mail");
    assert_eq!(err.code(), ErrorCode::DuplicateInvitation);

    let cancelled = o
        .org
        .revoke_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect("cancelled");
    assert_eq!(cancelled.status, InvitationStatus::Cancelled);
    assert!(cancelled.cancelled.is_some());
    let err = o
        .org
        .accept_invitation(&member("u-ann", "ann@acme.example"), &token)
        .await
        .expect_err("cancelled");
    assert_eq!(err.code(), ErrorCode::InvitationNotFound);
    let err = o
        .org
        .cancel_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect_err("not pending");
    assert_eq!(err.code(), ErrorCode::InvalidState);
    let err = o
        .org
        .resend_invitation(&platform_admin(), &t.id, inv.id)
        .await
        .expect_err("cancelled is final");
    assert_eq!(err.code(), ErrorCode::InvalidState);

    invite(&o, &t.id, "ann@acme.example", Role::Viewer).await;
}

#[tokio::test]
async fn decline_notifies_the_tenant_and_members_cannot_be_invited() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    invite(&o, &t.id, "ann@acme.example", Role::Viewer).await;
    let token = o.last_token("ann@acme.example");

    let view = o.org.decline_invitation(&token).await.expect("declined");
    assert_eq!(view.status, InvitationStatus::Declined);
    let notice = o.mails().pop().expect("notice");
    assert_eq!(notice.message.to, t.contact_email);
    assert!(notice.message.subject.contains("declined"));
    let err = o.org.decline_invitation(&token).await.expect_err("used");
    assert_eq!(err.code(), ErrorCode::InvitationAlreadyUsed);

    o.assigned(&t.id, "u-bob", "bob@acme.example", Role::Viewer)
        .await;
    let err = o
        .org
        .create_invitation(
            &platform_admin(),
            &t.id,
            &email("bob@acme.example"),
            Role::Admin,
            None,
            None,
        )
        .await
        .expect_err("already a member");
    assert_eq!(err.code(), ErrorCode::UserAlreadyMember);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_accepts_admit_exactly_one() {
    for round in 0..8 {
        let o = Setup::in_memory();
        let t = o.tenant("Acme Corp").await;
        invite(&o, &t.id, "ann@acme.example", Role::Admin).await;
        let token = o.last_token("ann@acme.example");

        let tasks: Vec<_> = ["u-ann-laptop", "u-ann-phone"]
            .into_iter()
            .map(|sub| {
                let org = Arc::clone(&o.org);
                let token = token.clone();
                tokio::spawn(async move {
                    org.accept_invitation(&member(sub, "ann@acme.example"), &token)
                        .await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.expect("task completes") {
                Ok(_) => ok += 1,
                Err(e) => assert_eq!(e.code(), ErrorCode::InvitationAlreadyUsed, "round {round}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        let users = o
            .org
            .list_users(&platform_admin(), &t.id, None, &page(10, None))
            .await
            .expect("list");
        assert_eq!(users.items.len(), 1, "round {round}");
        let accepted = o
            .audit_of(&t.id)
            .await
            .into_iter()
            .filter(|e| e.event_type == "INVITATION_ACCEPTED")
            .count();
        assert_eq!(accepted, 1);
    }
}

#[tokio::test]
async fn invitations_need_an_active_tenant_and_an_admin() {
    let o = Setup::in_memory();
    let t = o.tenant("Acme Corp").await;
    let op = o
        .assigned(&t.id, "u-op", "op@acme.example", Role::Operator)
        .await;
    let err = o
        .org
        .create_invitation(
            &op,
            &t.id,
            &email("x@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("Operator");
    assert_eq!(err.code(), ErrorCode::Forbidden);
    let err = o
        .org
        .create_invitation(
            &platform_admin(),
            &t.id,
            &email("x@acme.example"),
            Role::Viewer,
            Some(
                "team-00000000-0000-4000-8000-000000000000"
                    .parse()
                    .expect("id"),
            ),
            None,
        )
        .await
        .expect_err("no such team");
    assert_eq!(err.code(), ErrorCode::TeamNotFound);
    let pending = o.tenant("Pending Co").await;
    o.tenants
        .suspend(
            &platform_admin(),
            &pending.id,
            &bbws_core::tenant::Reason::parse(Some("Payment overdue for months"), "r").expect("r"),
            None,
        )
        .await
        .expect("suspend");
    let err = o
        .org
        .create_invitation(
            &platform_admin(),
            &pending.id,
            &email("x@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("suspended");
    assert_eq!(err.code(), ErrorCode::TenantNotActive);
}
