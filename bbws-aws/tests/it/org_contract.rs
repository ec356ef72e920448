//! The organisation DAO contract: one suite of `OrgService` behaviours, run against every
//! backend's `OrgDao` (in memory, the embedded file store, DynamoDB on moto). The directory and
//! the mailbox are the embedded ones everywhere, so only the storage differs; the Cognito and
//! SES ports have their own tests (`org_aws`).

use std::sync::Arc;
use std::time::Duration;

use bbws_core::Error;
use bbws_core::ErrorCode;
use bbws_core::audit::AuditEvent;
use bbws_core::auth::{Actor, Claims, Role};
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{EventId, InvitationId, TeamId};
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::org::OrgWrite;
use bbws_core::org::ports::{
    CounterExpect, CounterKey, CounterOp, GuardKey, GuardOp, OrgCheck, OrgItem, OrgKey, OrgOp,
    TokenOp,
};
use bbws_core::org::{
    DirectoryUser, Invitation, InvitationStatus, InvitationToken, OrgDao, OrgPorts, OrgService,
    OrgServiceConfig, OrgUnit, Parent, StoredMail, UnitName, UnitPath, UserId,
};
use bbws_core::ports::Expect;
use bbws_core::store::{EmbeddedMailbox, EmbeddedStore};
use bbws_core::tenant::{Email, Environment, Tenant, TenantStatus};
use bbws_core::time::Clock as _;
use serde_json::json;

use crate::support::{Resources, Subject, admin, new_tenant, page};

pub const PORTAL: &str = "https://portal.bbws.test";

/// Children per parent in this suite (the service's default is 100).
const MAX_CHILDREN: u64 = 3;

/// One backend under test with the organisation service on it.
#[derive(Debug, Clone)]
pub struct OrgSubject {
    pub base: Subject,
    pub dao: Arc<dyn OrgDao>,
    pub org: Arc<OrgService>,
    /// The directory users are registered in (the embedded one on every backend).
    pub directory: Arc<EmbeddedStore>,
    pub mailbox: EmbeddedMailbox,
}

impl OrgSubject {
    pub fn on(base: Subject) -> Self {
        let (dao, directory): (Arc<dyn OrgDao>, Arc<EmbeddedStore>) = match &base.resources {
            Resources::Embedded(s) => (s.clone(), s.clone()),
            Resources::Dynamo(d) => (
                d.clone(),
                Arc::new(EmbeddedStore::in_memory().expect("in-memory directory")),
            ),
        };
        let mailbox = EmbeddedMailbox::new((*directory).clone(), base.clock.clone());
        let org = OrgService::new(OrgPorts {
            org: dao.clone(),
            tenants: base.backend.clone(),
            directory: directory.clone(),
            mailer: Arc::new(mailbox.clone()),
            clock: base.clock.clone(),
            ids: Arc::new(RandomIds),
        })
        .with_config(OrgServiceConfig {
            portal_url: format!("{PORTAL}/"),
            max_children: MAX_CHILDREN,
            ..OrgServiceConfig::default()
        });
        Self {
            base,
            dao,
            org: Arc::new(org),
            directory,
            mailbox,
        }
    }

    /// An ACTIVE tenant.
    async fn tenant(&self, name: &str) -> Tenant {
        let t = self
            .base
            .service
            .create(&admin(), new_tenant(name, Environment::Dev), None)
            .await
            .expect("tenant is created")
            .value;
        self.base
            .service
            .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
            .await
            .expect("tenant is activated")
    }

    /// Registers a user in the directory; returns the caller it signs in as.
    async fn user(&self, sub: &str, mail: &str) -> Actor {
        self.directory
            .register_user(&DirectoryUser {
                user_id: user_id(sub),
                email: email(mail),
                enabled: true,
            })
            .await
            .expect("user is registered");
        member(sub, mail)
    }

    async fn assigned(&self, t: &TenantId, sub: &str, mail: &str, role: Role) -> Actor {
        let a = self.user(sub, mail).await;
        self.org
            .assign_user(&admin(), t, &email(mail), role, None, None)
            .await
            .expect("user is assigned");
        a
    }

    async fn unit(&self, t: &TenantId, parent: Parent, name: &str) -> OrgUnit {
        self.org
            .create_unit(&admin(), t, parent, unit_name(name), None)
            .await
            .expect("node is created")
            .value
    }

    /// Division → group → team, named after `prefix`.
    async fn chain(&self, t: &TenantId, prefix: &str) -> (OrgUnit, OrgUnit, OrgUnit) {
        let d = self.unit(t, Parent::Tenant, &format!("{prefix} D")).await;
        let g = self
            .unit(
                t,
                Parent::Division(d.path.division()),
                &format!("{prefix} G"),
            )
            .await;
        let UnitPath::Group(did, gid) = g.path else {
            panic!("a group")
        };
        let tm = self
            .unit(t, Parent::Group(did, gid), &format!("{prefix} T"))
            .await;
        (d, g, tm)
    }

    async fn invite(&self, t: &TenantId, to: &str, role: Role) -> Invitation {
        self.org
            .create_invitation(&admin(), t, &email(to), role, None, None)
            .await
            .expect("invitation created")
            .value
    }

    fn mails(&self) -> Vec<StoredMail> {
        self.mailbox.list(0, 10_000).expect("mailbox is readable")
    }

    /// The token of the last invitation mail sent to `to`.
    fn last_token(&self, to: &str) -> String {
        let mail = self
            .mails()
            .into_iter()
            .rev()
            .find(|m| m.message.to.as_str() == to && m.message.subject.contains("invited"))
            .expect("an invitation mail was sent");
        token_in(&mail.message.text)
    }

    fn advance(&self, d: Duration) {
        self.base.clock.advance(d);
    }
}

/// The token in an accept link of a mail text.
pub fn token_in(text: &str) -> String {
    let marker = format!("{PORTAL}/invitations/");
    let start = text.find(&marker).expect("the mail has an accept link") + marker.len();
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

fn user_id(s: &str) -> UserId {
    UserId::parse(s).expect("valid user id")
}

fn unit_name(s: &str) -> UnitName {
    UnitName::parse(s).expect("valid name")
}

fn email(s: &str) -> Email {
    Email::parse(s).expect("valid e-mail")
}

/// A signed-in user whose roles come from the stored assignments.
fn member(sub: &str, mail: &str) -> Actor {
    Actor::from_claims(&Claims::from_json(&json!({"sub": sub, "email": mail})).expect("claims"))
}

fn code<T: std::fmt::Debug>(r: Result<T, Error>) -> ErrorCode {
    r.expect_err("refused").code()
}

// ---- hierarchy ----

pub async fn unit_names_are_unique_per_parent_in_any_case(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let sales = s.unit(&t.id, Parent::Tenant, "Sales").await;
    let err = s
        .org
        .create_unit(&admin(), &t.id, Parent::Tenant, unit_name("SALES"), None)
        .await
        .expect_err("taken in another case");
    assert_eq!(err.code(), ErrorCode::HierarchyExists);

    // The same name under another parent is another name.
    let d = Parent::Division(sales.path.division());
    s.unit(&t.id, d, "Sales").await;
    // A rename moves the guard: the old name is free, the new one taken.
    let ops = s.unit(&t.id, Parent::Tenant, "Ops").await;
    let renamed = s
        .org
        .rename_unit(&admin(), &t.id, ops.path, unit_name("Operations"), Some(1))
        .await
        .expect("renamed");
    assert_eq!(renamed.version, 2);
    s.unit(&t.id, Parent::Tenant, "ops").await;
    assert_eq!(
        code(
            s.org
                .rename_unit(&admin(), &t.id, sales.path, unit_name("OPERATIONS"), None)
                .await
        ),
        ErrorCode::HierarchyExists
    );
    // A stale version is refused; a change of case alone keeps the guard.
    assert_eq!(
        code(
            s.org
                .rename_unit(&admin(), &t.id, ops.path, unit_name("Ops Two"), Some(1))
                .await
        ),
        ErrorCode::VersionConflict
    );
    s.org
        .rename_unit(&admin(), &t.id, ops.path, unit_name("OPERATIONS"), Some(2))
        .await
        .expect("case only");
    let stored = s
        .dao
        .get_unit(&t.id, ops.path)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!((stored.name.as_str(), stored.version), ("OPERATIONS", 3));
}

pub async fn a_parent_holds_at_most_its_children_cap(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let mut made = Vec::new();
    for i in 0..MAX_CHILDREN {
        made.push(
            s.unit(&t.id, Parent::Tenant, &format!("Division {i}"))
                .await,
        );
    }
    assert_eq!(
        s.dao
            .counter(&t.id, CounterKey::Children(Parent::Tenant))
            .await
            .expect("counter"),
        MAX_CHILDREN
    );
    let err = s
        .org
        .create_unit(&admin(), &t.id, Parent::Tenant, unit_name("One more"), None)
        .await
        .expect_err("full");
    assert_eq!(err.code(), ErrorCode::HierarchyLimitExceeded);
    // A deleted child makes room.
    s.org
        .delete_unit(&admin(), &t.id, made[0].path, false, None)
        .await
        .expect("deleted");
    s.unit(&t.id, Parent::Tenant, "One more").await;
    assert_eq!(
        code(
            s.org
                .create_unit(&admin(), &t.id, Parent::Tenant, unit_name("Too many"), None)
                .await
        ),
        ErrorCode::HierarchyLimitExceeded
    );
}

pub async fn cascade_delete_soft_deletes_the_subtree(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let (d, g, tm) = s.chain(&t.id, "Sales").await;
    s.assigned(&t.id, "u-ann", "ann@acme.example", Role::Operator)
        .await;
    s.org
        .add_member(&admin(), &t.id, tm.path, &user_id("u-ann"))
        .await
        .expect("member added");

    let err = s
        .org
        .delete_unit(&admin(), &t.id, d.path, false, None)
        .await
        .expect_err("not empty");
    assert_eq!(err.code(), ErrorCode::HierarchyNotEmpty);
    assert_eq!(
        code(
            s.org
                .delete_unit(&admin(), &t.id, tm.path, false, None)
                .await
        ),
        ErrorCode::HierarchyNotEmpty,
        "a team with members is not empty"
    );

    let gone = s
        .org
        .delete_unit(&admin(), &t.id, d.path, true, None)
        .await
        .expect("cascade");
    assert!(!gone.active);
    assert!(
        s.org
            .tree(&admin(), &t.id)
            .await
            .expect("tree")
            .divisions
            .is_empty()
    );
    for p in [d.path, g.path, tm.path] {
        let stored = s.dao.get_unit(&t.id, p).await.expect("read").expect("kept");
        assert!(!stored.active, "{p:?} is soft-deleted");
        assert!(stored.deleted.is_some());
    }
    assert_eq!(
        code(s.org.get_unit(&admin(), &t.id, g.path).await),
        ErrorCode::GroupNotFound
    );
    // The division's name is free again, and the tenant has room.
    s.unit(&t.id, Parent::Tenant, "sales d").await;
    let audit: Vec<String> = s
        .base
        .service
        .audit_trail(&admin(), &t.id, &page(100, None))
        .await
        .expect("audit")
        .items
        .into_iter()
        .map(|e| e.event_type)
        .collect();
    assert_eq!(
        audit.iter().filter(|e| *e == "HIERARCHY_DELETED").count(),
        1,
        "the cascade is one change"
    );
}

pub async fn the_tree_and_a_users_tenants_are_one_read_each(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let (_, _, tm) = s.chain(&t.id, "Sales").await;
    s.chain(&t.id, "Support").await;
    s.assigned(&t.id, "u-ann", "ann@acme.example", Role::Viewer)
        .await;
    s.org
        .add_member(&admin(), &t.id, tm.path, &user_id("u-ann"))
        .await
        .expect("member");
    let other = s.tenant("Beta Ltd").await;
    s.org
        .assign_user(
            &admin(),
            &other.id,
            &email("ann@acme.example"),
            Role::Admin,
            None,
            None,
        )
        .await
        .expect("assigned to a second tenant");

    s.base.requests();
    let snap = s.dao.hierarchy(&t.id).await.expect("hierarchy");
    assert_eq!(snap.units.len(), 6);
    assert_eq!(snap.members.len(), 1);
    let tenants = s
        .dao
        .user_assignments(&user_id("u-ann"))
        .await
        .expect("tenants");
    let teams = s
        .dao
        .user_memberships(&user_id("u-ann"))
        .await
        .expect("teams");
    if s.base.dynamo.is_some() {
        assert_eq!(s.base.requests(), ["Query", "Query", "Query"]);
    }
    let mut roles: Vec<(TenantId, Role)> = tenants.iter().map(|a| (a.tenant_id, a.role)).collect();
    roles.sort_by_key(|(id, _)| id.to_string());
    let mut expected = vec![(t.id, Role::Viewer), (other.id, Role::Admin)];
    expected.sort_by_key(|(id, _)| id.to_string());
    assert_eq!(roles, expected);
    assert_eq!(teams.len(), 1);
    assert_eq!(teams[0].team, tm.path);

    let tree = s.org.tree(&admin(), &t.id).await.expect("tree");
    let names: Vec<&str> = tree
        .divisions
        .iter()
        .map(|d| d.unit.name.as_str())
        .collect();
    assert_eq!(names, ["Sales D", "Support D"]);
    assert_eq!(tree.divisions[0].groups[0].teams[0].members.len(), 1);
}

pub async fn pages_of_units_and_users_visit_each_once(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    for i in 0..MAX_CHILDREN {
        s.unit(&t.id, Parent::Tenant, &format!("Division {i}"))
            .await;
    }
    let doomed = s
        .org
        .list_units(&admin(), &t.id, Parent::Tenant, &page(1, None))
        .await
        .expect("page")
        .items[0]
        .clone();
    s.org
        .delete_unit(&admin(), &t.id, doomed.path, false, None)
        .await
        .expect("deleted");
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = s
            .org
            .list_units(&admin(), &t.id, Parent::Tenant, &page(1, cursor))
            .await
            .expect("page");
        assert!(p.items.len() <= 1);
        seen.extend(p.items.into_iter().map(|u| u.path));
        match p.next {
            Some(c) => cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 2, "active ones, each once");
    assert!(!seen.contains(&doomed.path));

    for (i, role) in [Role::Admin, Role::Viewer, Role::Viewer]
        .into_iter()
        .enumerate()
    {
        s.assigned(
            &t.id,
            &format!("u-{i}"),
            &format!("u{i}@acme.example"),
            role,
        )
        .await;
    }
    let viewers = s
        .org
        .list_users(&admin(), &t.id, Some(Role::Viewer), &page(1, None))
        .await
        .expect("page");
    assert_eq!(viewers.items.len(), 1);
    let next = viewers.next.expect("another viewer");
    let rest = s
        .org
        .list_users(
            &admin(),
            &t.id,
            Some(Role::Viewer),
            &page(1, Some(next.clone())),
        )
        .await
        .expect("page 2");
    assert_eq!(rest.items.len(), 1);
    assert!(rest.next.is_none(), "no empty page after the last viewer");
    assert_eq!(
        code(
            s.org
                .list_users(&admin(), &t.id, Some(Role::Admin), &page(1, Some(next)))
                .await
        ),
        ErrorCode::ValidationError,
        "a cursor is bound to its filter"
    );
}

pub async fn idempotent_creates_replay_and_refuse_another_body(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let key = IdempotencyKey::parse("create-sales-1").expect("key");
    let first = s
        .org
        .create_unit(
            &admin(),
            &t.id,
            Parent::Tenant,
            unit_name("Sales"),
            Some(&key),
        )
        .await
        .expect("created");
    assert!(!first.replayed);
    let again = s
        .org
        .create_unit(
            &admin(),
            &t.id,
            Parent::Tenant,
            unit_name("Sales"),
            Some(&key),
        )
        .await
        .expect("replayed");
    assert!(again.replayed);
    assert_eq!(again.value, first.value);
    assert_eq!(
        code(
            s.org
                .create_unit(
                    &admin(),
                    &t.id,
                    Parent::Tenant,
                    unit_name("Ops"),
                    Some(&key)
                )
                .await
        ),
        ErrorCode::IdempotencyKeyReused
    );
}

// ---- users ----

pub async fn the_last_admin_can_be_neither_removed_nor_demoted(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    s.assigned(&t.id, "u-ann", "ann@acme.example", Role::Admin)
        .await;
    assert_eq!(
        s.dao
            .counter(&t.id, CounterKey::Admins)
            .await
            .expect("counter"),
        1
    );
    let err = s
        .org
        .remove_user(&admin(), &t.id, &user_id("u-ann"))
        .await
        .expect_err("last Admin");
    assert_eq!(err.code(), ErrorCode::LastAdmin);
    assert_eq!(err.to_string(), "Cannot remove last Admin from tenant");
    assert_eq!(
        code(
            s.org
                .change_role(&admin(), &t.id, &user_id("u-ann"), Role::Viewer, None)
                .await
        ),
        ErrorCode::LastAdmin
    );

    s.assigned(&t.id, "u-bob", "bob@acme.example", Role::Admin)
        .await;
    let demoted = s
        .org
        .change_role(&admin(), &t.id, &user_id("u-ann"), Role::Viewer, None)
        .await
        .expect("another Admin stays");
    assert_eq!(demoted.role, Role::Viewer);
    assert_eq!(
        code(s.org.remove_user(&admin(), &t.id, &user_id("u-bob")).await),
        ErrorCode::LastAdmin,
        "now bob is the last"
    );
    s.org
        .remove_user(&admin(), &t.id, &user_id("u-ann"))
        .await
        .expect("a Viewer may go");
    assert_eq!(
        s.dao
            .get_assignment(&t.id, &user_id("u-ann"))
            .await
            .expect("read"),
        None
    );
    assert!(
        s.dao
            .user_assignments(&user_id("u-ann"))
            .await
            .expect("read")
            .is_empty(),
        "gone from the user's index too"
    );
    assert_eq!(
        code(
            s.org
                .assign_user(
                    &admin(),
                    &t.id,
                    &email("bob@acme.example"),
                    Role::Viewer,
                    None,
                    None
                )
                .await
        ),
        ErrorCode::UserAlreadyAssigned
    );
}

// ---- invitations ----

pub async fn an_accepted_invitation_makes_the_invitee_a_member(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let (_, _, team) = s.chain(&t.id, "Sales").await;
    let inv = s
        .org
        .create_invitation(
            &admin(),
            &t.id,
            &email("new.hire@acme.example"),
            Role::Operator,
            team.path.team(),
            None,
        )
        .await
        .expect("created")
        .value;
    let token = s.last_token("new.hire@acme.example");
    let hash = InvitationToken::parse(&token).expect("token").hash();
    let found = s
        .dao
        .invitation_by_token(&hash)
        .await
        .expect("read")
        .expect("the token finds it");
    assert_eq!(found.id, inv.id);
    assert_eq!(
        s.dao
            .pending_invitation_for(&t.id, &email("NEW.HIRE@acme.example"))
            .await
            .expect("read"),
        Some(inv.id)
    );
    assert!(s.org.view_invitation(&token).await.expect("view").is_valid);

    let invitee = member("u-new", "NEW.HIRE@acme.example");
    let assignment = s
        .org
        .accept_invitation(&invitee, &token)
        .await
        .expect("accepted");
    assert_eq!(assignment.role, Role::Operator);

    let tenants = s
        .org
        .user_tenants(&invitee, &user_id("u-new"))
        .await
        .expect("tenants");
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].assignment.tenant_id, t.id);
    let members = s
        .org
        .list_members(&admin(), &t.id, team.path, &page(10, None))
        .await
        .expect("members");
    assert_eq!(members.items.len(), 1);
    assert_eq!(members.items[0].user_id, user_id("u-new"));
    let stored = s
        .org
        .get_invitation(&admin(), &t.id, inv.id)
        .await
        .expect("get");
    assert_eq!(stored.status, InvitationStatus::Accepted);
    assert_eq!(stored.accepted_by, Some(user_id("u-new")));
    assert_eq!(
        s.dao
            .pending_invitation_for(&t.id, &email("new.hire@acme.example"))
            .await
            .expect("read"),
        None,
        "the e-mail's guard is released"
    );
    assert_eq!(
        code(s.org.accept_invitation(&invitee, &token).await),
        ErrorCode::InvitationAlreadyUsed
    );
}

pub async fn resend_rotates_the_token_up_to_the_limit(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let inv = s.invite(&t.id, "ann@acme.example", Role::Viewer).await;
    let mut old = s.last_token("ann@acme.example");
    for n in 1..=3u32 {
        s.advance(Duration::from_hours(24));
        let resent = s
            .org
            .resend_invitation(&admin(), &t.id, inv.id)
            .await
            .expect("resent");
        assert_eq!(resent.resend_count, n);
        let new = s.last_token("ann@acme.example");
        assert_ne!(new, old);
        assert_eq!(
            code(s.org.view_invitation(&old).await),
            ErrorCode::InvitationNotFound,
            "the old token stops working"
        );
        old = new;
    }
    assert_eq!(
        code(s.org.resend_invitation(&admin(), &t.id, inv.id).await),
        ErrorCode::ResendLimitExceeded
    );
    s.org
        .accept_invitation(&member("u-ann", "ann@acme.example"), &old)
        .await
        .expect("the latest token works");
}

pub async fn expired_and_cancelled_tokens_are_refused(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let inv = s.invite(&t.id, "ann@acme.example", Role::Viewer).await;
    let token = s.last_token("ann@acme.example");
    s.advance(Duration::from_hours(24 * 7));
    assert_eq!(
        code(
            s.org
                .accept_invitation(&member("u-ann", "ann@acme.example"), &token)
                .await
        ),
        ErrorCode::InvitationExpired
    );
    let stored = s
        .dao
        .get_invitation(&t.id, inv.id)
        .await
        .expect("read")
        .expect("kept");
    assert_eq!(
        stored.status,
        InvitationStatus::Expired,
        "the expiry is recorded"
    );
    let expired = s
        .dao
        .list_invitations(
            &t.id,
            Some(InvitationStatus::Expired),
            s.base.clock.now(),
            &page(10, None),
        )
        .await
        .expect("list");
    assert_eq!(expired.items.len(), 1);

    // The e-mail is free for a new invitation; one pending at a time.
    let second = s.invite(&t.id, "ANN@acme.example", Role::Admin).await;
    assert_eq!(
        code(
            s.org
                .create_invitation(
                    &admin(),
                    &t.id,
                    &email("ann@acme.example"),
                    Role::Viewer,
                    None,
                    None
                )
                .await
        ),
        ErrorCode::DuplicateInvitation
    );
    let second_token = s.last_token("ANN@acme.example");
    let cancelled = s
        .org
        .cancel_invitation(&admin(), &t.id, second.id)
        .await
        .expect("cancelled");
    assert_eq!(cancelled.status, InvitationStatus::Cancelled);
    assert_eq!(
        code(
            s.org
                .accept_invitation(&member("u-ann", "ann@acme.example"), &second_token)
                .await
        ),
        ErrorCode::InvitationNotFound
    );
    assert_eq!(
        code(s.org.cancel_invitation(&admin(), &t.id, second.id).await),
        ErrorCode::InvalidState
    );
    // With the guard free again, the expired one can be sent anew.
    s.org
        .resend_invitation(&admin(), &t.id, inv.id)
        .await
        .expect("an expired one can be resent");
    s.org
        .accept_invitation(
            &member("u-ann", "ann@acme.example"),
            &s.last_token("ann@acme.example"),
        )
        .await
        .expect("accepted after resend");
}

pub async fn two_concurrent_accepts_admit_exactly_one(s: OrgSubject) {
    for round in 0..3 {
        let t = s.tenant(&format!("Acme Corp {round}")).await;
        let to = format!("ann{round}@acme.example");
        s.invite(&t.id, &to, Role::Admin).await;
        let token = s.last_token(&to);
        let tasks: Vec<_> = ["laptop", "phone"]
            .into_iter()
            .map(|device| {
                let org = Arc::clone(&s.org);
                let token = token.clone();
                let who = member(&format!("u-{round}-{device}"), &to);
                tokio::spawn(async move { org.accept_invitation(&who, &token).await })
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
        let users = s
            .org
            .list_users(&admin(), &t.id, None, &page(10, None))
            .await
            .expect("list");
        assert_eq!(users.items.len(), 1, "round {round}");
        assert_eq!(
            s.dao
                .counter(&t.id, CounterKey::Admins)
                .await
                .expect("counter"),
            1,
            "round {round}"
        );
    }
}

// ---- concurrency ----

pub async fn two_admins_removed_at_once_leave_one(s: OrgSubject) {
    for round in 0..3 {
        let t = s.tenant(&format!("Acme Corp {round}")).await;
        let (first, second) = (format!("u-{round}-a"), format!("u-{round}-b"));
        s.assigned(
            &t.id,
            &first,
            &format!("a{round}@acme.example"),
            Role::Admin,
        )
        .await;
        s.assigned(
            &t.id,
            &second,
            &format!("b{round}@acme.example"),
            Role::Admin,
        )
        .await;
        let tasks: Vec<_> = [first, second]
            .into_iter()
            .map(|u| {
                let org = Arc::clone(&s.org);
                let tid = t.id;
                tokio::spawn(async move { org.remove_user(&admin(), &tid, &user_id(&u)).await })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            match task.await.expect("task completes") {
                Ok(()) => ok += 1,
                Err(e) => assert_eq!(e.code(), ErrorCode::LastAdmin, "round {round}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        assert_eq!(
            s.dao
                .counter(&t.id, CounterKey::Admins)
                .await
                .expect("counter"),
            1,
            "round {round}"
        );
    }
}

pub async fn concurrent_creates_respect_names_and_the_cap(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let spellings = ["Sales", "SALES", "sales", "SaLeS", "sALES", "Sales "];
    let tasks: Vec<_> = spellings
        .into_iter()
        .map(|name| {
            let org = Arc::clone(&s.org);
            let tid = t.id;
            tokio::spawn(async move {
                org.create_unit(&admin(), &tid, Parent::Tenant, unit_name(name), None)
                    .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task completes") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::HierarchyExists, "{e}"),
        }
    }
    assert_eq!(ok, 1, "one name in any case");

    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let org = Arc::clone(&s.org);
            let tid = t.id;
            tokio::spawn(async move {
                org.create_unit(
                    &admin(),
                    &tid,
                    Parent::Tenant,
                    unit_name(&format!("D{i}")),
                    None,
                )
                .await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task completes") {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), ErrorCode::HierarchyLimitExceeded, "{e}"),
        }
    }
    assert_eq!(
        u64::try_from(ok).expect("small"),
        MAX_CHILDREN - 1,
        "up to the cap"
    );
    let snap = s.dao.hierarchy(&t.id).await.expect("hierarchy");
    assert_eq!(snap.units.len(), 3);
    assert_eq!(
        s.dao
            .counter(&t.id, CounterKey::Children(Parent::Tenant))
            .await
            .expect("counter"),
        MAX_CHILDREN
    );
}

// ---- the store's own promises ----

fn bare_write(s: &OrgSubject, tenant: TenantId) -> OrgWrite {
    OrgWrite::new(
        tenant,
        AuditEvent {
            event_id: EventId::generate(&RandomIds),
            tenant_id: tenant,
            event_type: "TEST_WRITE".into(),
            timestamp: s.base.clock.now(),
            actor: "tests".into(),
            details: json!({}),
        },
    )
}

async fn refused(s: &OrgSubject, w: OrgWrite) -> Error {
    s.dao.write_org(w).await.expect_err("refused")
}

pub async fn refused_writes_map_to_the_domain_errors_and_apply_nothing(s: OrgSubject) {
    let t = s.tenant("Acme Corp").await;
    let sales = s.unit(&t.id, Parent::Tenant, "Sales").await;
    let v2 = s
        .org
        .rename_unit(&admin(), &t.id, sales.path, unit_name("Sales EMEA"), None)
        .await
        .expect("renamed");
    let fresh = GuardKey::UnitName {
        parent: Parent::Tenant,
        name: unit_name("Fresh"),
    };

    // A stale version, with a guard claim in the same write: neither is applied.
    let mut stale = v2.clone();
    stale.version = 3;
    let mut w = bare_write(&s, t.id);
    w.ops.push(OrgOp::Put {
        item: OrgItem::Unit(stale.clone()),
        expect: Expect::Version(1),
    });
    w.guards.push(GuardOp::Claim {
        key: fresh.clone(),
        owner: "someone".into(),
    });
    match refused(&s, w).await {
        Error::VersionConflict { expected, current } => assert_eq!((expected, current), (1, 2)),
        other => panic!("{other:?}"),
    }
    s.unit(&t.id, Parent::Tenant, "Fresh").await;

    let mut w = bare_write(&s, t.id);
    w.ops.push(OrgOp::Put {
        item: OrgItem::Unit(stale),
        expect: Expect::Absent,
    });
    assert_eq!(refused(&s, w).await.code(), ErrorCode::Conflict);

    let mut w = bare_write(&s, t.id);
    w.ops.push(OrgOp::Delete {
        key: OrgKey::Assignment(user_id("u-nobody")),
        version: 1,
    });
    assert_eq!(refused(&s, w).await.code(), ErrorCode::AssignmentNotFound);

    let unknown: TenantId = "tenant-00000000-0000-4000-8000-000000000000"
        .parse()
        .expect("id");
    let mut w = bare_write(&s, unknown);
    w.checks.push(OrgCheck::TenantActive);
    assert_eq!(refused(&s, w).await.code(), ErrorCode::TenantNotFound);
    let pending = s
        .base
        .service
        .create(&admin(), new_tenant("Beta Ltd", Environment::Dev), None)
        .await
        .expect("created")
        .value;
    let mut w = bare_write(&s, pending.id);
    w.checks.push(OrgCheck::TenantActive);
    let err = refused(&s, w).await;
    assert_eq!(err.code(), ErrorCode::TenantNotActive);
    assert!(err.to_string().contains("PENDING"), "{err}");

    let UnitPath::Division(did) = sales.path else {
        panic!("a division")
    };
    let ghost = s.unit(&t.id, Parent::Division(did), "EMEA").await.path;
    let UnitPath::Group(_, gid) = ghost else {
        panic!("a group")
    };
    let mut w = bare_write(&s, t.id);
    w.checks.push(OrgCheck::UnitActive(UnitPath::Team(
        did,
        gid,
        TeamId::generate(&RandomIds),
    )));
    assert_eq!(refused(&s, w).await.code(), ErrorCode::TeamNotFound);
    let mut w = bare_write(&s, t.id);
    w.checks.push(OrgCheck::Assigned(user_id("u-nobody")));
    assert_eq!(refused(&s, w).await.code(), ErrorCode::AssignmentNotFound);

    // Counters: the bound is checked on the stored value (a missing counter is 0).
    let children = CounterKey::Children(Parent::Tenant);
    let mut w = bare_write(&s, t.id);
    w.counters.push(CounterOp {
        key: children,
        delta: 1,
        expect: CounterExpect::Below(2),
    });
    assert_eq!(
        refused(&s, w).await.code(),
        ErrorCode::HierarchyLimitExceeded
    );
    let mut w = bare_write(&s, t.id);
    w.counters.push(CounterOp {
        key: children,
        delta: 0,
        expect: CounterExpect::Equals(5),
    });
    match refused(&s, w).await {
        Error::VersionConflict { expected, current } => assert_eq!((expected, current), (5, 2)),
        other => panic!("{other:?}"),
    }
    let mut w = bare_write(&s, t.id);
    w.counters.push(CounterOp {
        key: CounterKey::Admins,
        delta: 0,
        expect: CounterExpect::AtLeast(1),
    });
    assert_eq!(
        refused(&s, w).await.code(),
        ErrorCode::LastAdmin,
        "missing is 0"
    );
    assert_eq!(s.dao.counter(&t.id, children).await.expect("read"), 2);

    // Guards: another owner's name is taken; releasing it as someone else leaves it alone.
    let mut w = bare_write(&s, t.id);
    w.guards.push(GuardOp::Claim {
        key: fresh.clone(),
        owner: "someone-else".into(),
    });
    assert_eq!(refused(&s, w).await.code(), ErrorCode::HierarchyExists);
    let mut w = bare_write(&s, t.id);
    w.guards.push(GuardOp::Release {
        key: fresh.clone(),
        owner: "someone-else".into(),
    });
    w.counters.push(CounterOp {
        key: CounterKey::Members(TeamId::generate(&RandomIds)),
        delta: 1,
        expect: CounterExpect::Any,
    });
    s.dao
        .write_org(w)
        .await
        .expect("a release of another's guard is no error");
    assert_eq!(
        code(
            s.org
                .create_unit(&admin(), &t.id, Parent::Tenant, unit_name("FRESH"), None)
                .await
        ),
        ErrorCode::HierarchyExists,
        "the guard stayed with its owner"
    );

    // Tokens point at one invitation; a live idempotency record holds its key.
    s.invite(&t.id, "ann@acme.example", Role::Viewer).await;
    let hash = InvitationToken::parse(&s.last_token("ann@acme.example"))
        .expect("token")
        .hash();
    let mut w = bare_write(&s, t.id);
    w.tokens.push(TokenOp::Put {
        hash,
        invitation: InvitationId::generate(&RandomIds),
    });
    assert_eq!(refused(&s, w).await.code(), ErrorCode::Conflict);
    let key = IdempotencyKey::parse("k-1").expect("key");
    s.org
        .create_unit(
            &admin(),
            &t.id,
            Parent::Division(did),
            unit_name("APAC"),
            Some(&key),
        )
        .await
        .expect("created");
    let scoped = key.scoped(&format!("CREATE_UNIT:{}", t.id), admin().sub());
    let rec = s
        .dao
        .get_org_idempotency(&scoped, s.base.clock.now())
        .await
        .expect("read");
    let mut rec = rec.expect("a record under the scoped key");
    rec.created_at = s.base.clock.now();
    let mut w = bare_write(&s, t.id);
    w.idempotency = Some(rec.clone());
    assert_eq!(refused(&s, w).await.code(), ErrorCode::IdempotencyKeyReused);
    // Past its expiry the key is free, and the record reads as absent.
    assert_eq!(
        s.dao
            .get_org_idempotency(&scoped, rec.expires_at)
            .await
            .expect("read"),
        None
    );
    rec.created_at = rec.expires_at;
    let mut w = bare_write(&s, t.id);
    w.idempotency = Some(rec);
    s.dao.write_org(w).await.expect("an expired key is free");
}

/// Runs every case against one backend: `$make` is an async expression giving a fresh
/// `Subject`.
macro_rules! org_contract_for {
    ($backend:ident, $make:expr) => {
        mod $backend {
            #[allow(unused_imports)]
            use crate::support::Subject;

            org_contract_for!(@cases $make;
                unit_names_are_unique_per_parent_in_any_case,
                a_parent_holds_at_most_its_children_cap,
                cascade_delete_soft_deletes_the_subtree,
                the_tree_and_a_users_tenants_are_one_read_each,
                pages_of_units_and_users_visit_each_once,
                idempotent_creates_replay_and_refuse_another_body,
                the_last_admin_can_be_neither_removed_nor_demoted,
                an_accepted_invitation_makes_the_invitee_a_member,
                resend_rotates_the_token_up_to_the_limit,
                expired_and_cancelled_tokens_are_refused,
                two_concurrent_accepts_admit_exactly_one,
                refused_writes_map_to_the_domain_errors_and_apply_nothing,
                two_admins_removed_at_once_leave_one,
                concurrent_creates_respect_names_and_the_cap,
            );
        }
    };
    (@cases $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $case() {
                super::$case(super::OrgSubject::on($make)).await;
            }
        )*
    };
}

org_contract_for!(memory, Subject::memory());
org_contract_for!(file, Subject::file());
org_contract_for!(dynamodb, Subject::dynamodb().await);
