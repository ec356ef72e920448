//! Ports of the organisation domain: its persistence ([`OrgDao`], written through whole
//! [`OrgWrite`] units), the identity provider ([`IdentityDirectory`]) and outgoing mail
//! ([`Mailer`]).
//!
//! An [`OrgWrite`] is what one DynamoDB `TransactWriteItems` holds (at most
//! [`MAX_TRANSACTION_ITEMS`] items, see [`OrgWrite::item_count`]): puts and deletes of entities
//! under conditions, condition checks on other items, guard items for uniqueness, counters with
//! bounds, invitation-token lookup items, the audit event, the outbox events and the
//! idempotency record. The embedded store applies it in one write transaction.

use async_trait::async_trait;

use crate::audit::AuditEvent;
use crate::auth::Role;
use crate::error::{Error, ErrorCode, Result};
use crate::events::OutboxMessage;
use crate::ids::{InvitationId, TeamId, TenantId};
use crate::pagination::{Page, PageRequest};
use crate::ports::Expect;
use crate::tenant::Email;
use crate::time::Timestamp;

use super::model::{
    Assignment, DirectoryUser, HierarchySnapshot, Invitation, MailMessage, OrgUnit, TeamMember,
    TenantGroup,
};
use super::values::{InvitationStatus, Parent, TokenHash, UnitName, UnitPath, UserId};

/// The item limit of one DynamoDB transaction.
pub const MAX_TRANSACTION_ITEMS: usize = 100;

/// The key layout shared by every backend (digest §3.5, with the hierarchy items under one
/// `HIERARCHY#` prefix so a tenant's whole tree is one range read / one Query).
pub mod keys {
    use super::{InvitationId, Parent, TeamId, TenantId, UnitPath, UserId};

    pub const HIERARCHY_PREFIX: &str = "HIERARCHY#";
    pub const USER_PREFIX: &str = "USER#";
    pub const INVITATION_PREFIX: &str = "INVITATION#";

    /// `PK` of every item of a tenant.
    pub fn tenant_pk(t: &TenantId) -> String {
        format!("TENANT#{t}")
    }

    /// `HIERARCHY#DIVISION#{d}`, `HIERARCHY#GROUP#{d}#{g}`, `HIERARCHY#TEAM#{d}#{g}#{t}`.
    pub fn unit_sk(path: UnitPath) -> String {
        match path {
            UnitPath::Division(d) => format!("HIERARCHY#DIVISION#{d}"),
            UnitPath::Group(d, g) => format!("HIERARCHY#GROUP#{d}#{g}"),
            UnitPath::Team(d, g, t) => format!("HIERARCHY#TEAM#{d}#{g}#{t}"),
        }
    }

    /// The `begins_with` prefix of a parent's children.
    pub fn children_prefix(parent: Parent) -> String {
        match parent {
            Parent::Tenant => "HIERARCHY#DIVISION#".to_owned(),
            Parent::Division(d) => format!("HIERARCHY#GROUP#{d}#"),
            Parent::Group(d, g) => format!("HIERARCHY#TEAM#{d}#{g}#"),
        }
    }

    /// `HIERARCHY#TEAMUSER#{teamId}#{userId}`.
    pub fn member_sk(team: TeamId, user: &UserId) -> String {
        format!("HIERARCHY#TEAMUSER#{team}#{user}")
    }

    pub fn members_prefix(team: TeamId) -> String {
        format!("HIERARCHY#TEAMUSER#{team}#")
    }

    /// `USER#{userId}` (and `GSI1PK` of the assignment and membership items).
    pub fn assignment_sk(user: &UserId) -> String {
        format!("USER#{user}")
    }

    pub fn invitation_sk(id: InvitationId) -> String {
        format!("INVITATION#{id}")
    }

    /// `GSI1SK` of an assignment: `TENANT#{tenantId}`.
    pub fn gsi1_assignment_sk(t: &TenantId) -> String {
        format!("TENANT#{t}")
    }

    /// `GSI1SK` of a team membership: `TEAM#{tenantId}#{teamId}`.
    pub fn gsi1_member_sk(t: &TenantId, team: TeamId) -> String {
        format!("TEAM#{t}#{team}")
    }

    /// `GSI1PK` of an invitation: `EMAIL#{lowercase email}`.
    pub fn gsi1_email_pk(email_key: &str) -> String {
        format!("EMAIL#{email_key}")
    }
}

/// A stored entity of the organisation domain.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgItem {
    Unit(OrgUnit),
    Assignment(Assignment),
    Member(TeamMember),
    Invitation(Invitation),
}

impl OrgItem {
    pub fn key(&self) -> OrgKey {
        match self {
            Self::Unit(u) => OrgKey::Unit(u.path),
            Self::Assignment(a) => OrgKey::Assignment(a.user_id.clone()),
            Self::Member(m) => OrgKey::Member(m.team, m.user_id.clone()),
            Self::Invitation(i) => OrgKey::Invitation(i.id),
        }
    }

    pub fn version(&self) -> u64 {
        match self {
            Self::Unit(u) => u.version,
            Self::Assignment(a) => a.version,
            Self::Member(m) => m.version,
            Self::Invitation(i) => i.version,
        }
    }
}

/// The key of an entity within its tenant.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OrgKey {
    Unit(UnitPath),
    Assignment(UserId),
    /// The team (a [`UnitPath::Team`]) and the user.
    Member(UnitPath, UserId),
    Invitation(InvitationId),
}

impl OrgKey {
    /// The `SK` within `TENANT#{tenantId}`.
    pub fn sort_key(&self) -> String {
        match self {
            Self::Unit(p) => keys::unit_sk(*p),
            Self::Assignment(u) => keys::assignment_sk(u),
            Self::Member(team, u) => match team.team() {
                Some(t) => keys::member_sk(t, u),
                None => format!("HIERARCHY#TEAMUSER#{}#{u}", team.id_string()),
            },
            Self::Invitation(i) => keys::invitation_sk(*i),
        }
    }

    /// What every backend answers when the item is missing under [`Expect::Version`].
    pub fn not_found(&self) -> Error {
        match self {
            Self::Unit(p) => p.not_found(),
            Self::Assignment(u) => Error::business(
                ErrorCode::AssignmentNotFound,
                format!("User {u} is not assigned to the tenant"),
            ),
            Self::Member(team, u) => Error::business(
                ErrorCode::NotFound,
                format!("User {u} is not a member of team {}", team.id_string()),
            ),
            Self::Invitation(_) => super::values::invitation_not_found(),
        }
    }

    /// What every backend answers when the item exists under [`Expect::Absent`].
    pub fn exists(&self) -> Error {
        match self {
            Self::Unit(p) => Error::conflict(format!(
                "{} {} already exists",
                p.kind().noun(),
                p.id_string()
            )),
            Self::Assignment(u) => Error::business(
                ErrorCode::UserAlreadyAssigned,
                format!("User {u} is already assigned to the tenant"),
            ),
            Self::Member(team, u) => Error::business(
                ErrorCode::UserAlreadyMember,
                format!("User {u} is already a member of team {}", team.id_string()),
            ),
            Self::Invitation(i) => Error::conflict(format!("Invitation {i} already exists")),
        }
    }
}

/// One entity change of a write.
// A write holds a handful of these, built once per request: boxing buys nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum OrgOp {
    /// Put the item under a condition (`attribute_not_exists(PK)` or `version = :v`).
    Put { item: OrgItem, expect: Expect },
    /// Delete the item; it must exist at this version.
    Delete { key: OrgKey, version: u64 },
}

/// A condition on an item the write does not change (a DynamoDB `ConditionCheck`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgCheck {
    /// The tenant exists and is ACTIVE (C32): `TENANT_NOT_FOUND` / `TENANT_NOT_ACTIVE`.
    TenantActive,
    /// The node exists and is active: `DIVISION_NOT_FOUND` / `GROUP_NOT_FOUND` / `TEAM_NOT_FOUND`.
    UnitActive(UnitPath),
    /// The user has an active assignment on the tenant: `ASSIGNMENT_NOT_FOUND`.
    Assigned(UserId),
}

/// A uniqueness guard item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardKey {
    /// A node name within its parent, regardless of case:
    /// `PK=UNITNAME#{tenantId}#{parentKey}#{lowercase name}`, `SK=UNIQUE`.
    UnitName { parent: Parent, name: UnitName },
    /// At most one PENDING invitation per e-mail and tenant:
    /// `PK=TENANT#{tenantId}`, `SK=PENDINGINVITE#{lowercase email}`.
    PendingInvitation { email: Email },
}

impl GuardKey {
    /// The stored key within the tenant (the embedded store's key; DynamoDB prefixes the tenant
    /// as shown on each variant).
    pub fn key(&self) -> String {
        match self {
            Self::UnitName { parent, name } => {
                format!("UNITNAME#{}#{}", parent.key(), name.unique_key())
            }
            Self::PendingInvitation { email } => format!("PENDINGINVITE#{}", email.normalized()),
        }
    }

    /// What every backend answers when another owner holds the key.
    pub fn taken(&self) -> Error {
        match self {
            Self::UnitName { parent, name } => Error::business(
                ErrorCode::HierarchyExists,
                format!(
                    "A {} named '{name}' already exists here",
                    parent.child_kind().noun().to_lowercase()
                ),
            ),
            Self::PendingInvitation { email } => Error::business(
                ErrorCode::DuplicateInvitation,
                format!("A pending invitation for {email} already exists"),
            ),
        }
    }
}

/// A guard change: claim (refused with [`GuardKey::taken`] if another owner holds the key) or
/// release (only if `owner` holds it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuardOp {
    Claim { key: GuardKey, owner: String },
    Release { key: GuardKey, owner: String },
}

/// A counter item: `PK=TENANT#{tenantId}`, `SK=COUNTER#…`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CounterKey {
    /// Active children of a parent (OM §8.3: at most 100).
    Children(Parent),
    /// Members of a team.
    Members(TeamId),
    /// Admin assignments of the tenant (BR-USER-004).
    Admins,
}

impl CounterKey {
    pub fn key(&self) -> String {
        match self {
            Self::Children(p) => format!("COUNTER#CHILDREN#{}", p.key()),
            Self::Members(t) => format!("COUNTER#MEMBERS#{t}"),
            Self::Admins => "COUNTER#ADMINS".to_owned(),
        }
    }
}

/// The condition on a counter's value before the change (a missing counter is 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CounterExpect {
    Any,
    /// `n < max`: room for one more child, else `HIERARCHY_LIMIT_EXCEEDED`.
    Below(u64),
    /// `n >= min`: e.g. an Admin may leave only if another stays, else `LAST_ADMIN`.
    AtLeast(u64),
    /// `n = v`: nothing was added since it was read, else `VERSION_CONFLICT` (retried).
    Equals(u64),
}

/// A change of a counter (`ADD n :delta` under the condition); `delta` 0 is a pure check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CounterOp {
    pub key: CounterKey,
    pub delta: i64,
    pub expect: CounterExpect,
}

impl CounterOp {
    pub fn holds(&self, current: u64) -> bool {
        match self.expect {
            CounterExpect::Any => true,
            CounterExpect::Below(max) => current < max,
            CounterExpect::AtLeast(min) => current >= min,
            CounterExpect::Equals(v) => current == v,
        }
    }

    /// What every backend answers when the condition fails.
    pub fn refusal(&self, current: u64) -> Error {
        match (self.expect, self.key) {
            (CounterExpect::Below(max), CounterKey::Children(p)) => Error::business(
                ErrorCode::HierarchyLimitExceeded,
                format!(
                    "At most {max} {}s are allowed here",
                    p.child_kind().noun().to_lowercase()
                ),
            ),
            (CounterExpect::AtLeast(_), CounterKey::Admins) => {
                Error::business(ErrorCode::LastAdmin, "Cannot remove last Admin from tenant")
            }
            (CounterExpect::Equals(expected), _) => Error::VersionConflict { expected, current },
            _ => Error::conflict(format!("Counter {} changed concurrently", self.key.key())),
        }
    }
}

/// A change of the invitation-token lookup item `PK=INVTOKEN#{sha256}`, `SK=METADATA`
/// (C10; `ttl` = expiresAt + 24 h on DynamoDB).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOp {
    /// Points a hash at an invitation (`attribute_not_exists(PK)`).
    Put {
        hash: TokenHash,
        invitation: InvitationId,
    },
    Delete {
        hash: TokenHash,
    },
}

/// What an idempotent create produced.
#[derive(Debug, Clone, PartialEq)]
pub enum OrgOutcome {
    Unit(OrgUnit),
    Assignment(Assignment),
    Invitation(Invitation),
}

/// A remembered create (`IDEMPOTENCY#{key}`, 24 h; the key is scoped to the operation and the
/// caller, see [`crate::idempotency::IdempotencyKey::scoped`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgIdempotencyRecord {
    pub key: String,
    pub fingerprint: String,
    pub outcome: OrgOutcome,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// One atomic change of a tenant's organisation.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgWrite {
    pub tenant_id: TenantId,
    pub checks: Vec<OrgCheck>,
    pub ops: Vec<OrgOp>,
    pub guards: Vec<GuardOp>,
    pub counters: Vec<CounterOp>,
    pub tokens: Vec<TokenOp>,
    pub audit: AuditEvent,
    pub events: Vec<OutboxMessage>,
    /// Refused with `IDEMPOTENCY_KEY_REUSED` if a live record holds the key.
    pub idempotency: Option<OrgIdempotencyRecord>,
}

impl OrgWrite {
    /// A write of nothing yet but its audit event.
    pub fn new(tenant_id: TenantId, audit: AuditEvent) -> Self {
        Self {
            tenant_id,
            checks: Vec::new(),
            ops: Vec::new(),
            guards: Vec::new(),
            counters: Vec::new(),
            tokens: Vec::new(),
            audit,
            events: Vec::new(),
            idempotency: None,
        }
    }

    /// The number of items a DynamoDB `TransactWriteItems` needs for it (each entity, check,
    /// guard, counter and token change, the audit event, each outbox event and the idempotency
    /// record); at most [`MAX_TRANSACTION_ITEMS`].
    pub fn item_count(&self) -> usize {
        self.checks.len()
            + self.ops.len()
            + self.guards.len()
            + self.counters.len()
            + self.tokens.len()
            + 1
            + self.events.len()
            + usize::from(self.idempotency.is_some())
    }
}

/// Persistence of the organisation domain.
#[async_trait]
pub trait OrgDao: Send + Sync + std::fmt::Debug {
    async fn get_unit(&self, tenant: &TenantId, path: UnitPath) -> Result<Option<OrgUnit>>;

    /// The active children of a parent, in key order.
    async fn list_units(
        &self,
        tenant: &TenantId,
        parent: Parent,
        page: &PageRequest,
    ) -> Result<Page<OrgUnit>>;

    /// Every hierarchy item of a tenant (nodes, inactive ones too, and team members): one range
    /// read (`begins_with(SK, "HIERARCHY#")`).
    async fn hierarchy(&self, tenant: &TenantId) -> Result<HierarchySnapshot>;

    /// A counter's value (0 when missing).
    async fn counter(&self, tenant: &TenantId, key: CounterKey) -> Result<u64>;

    async fn get_assignment(&self, tenant: &TenantId, user: &UserId) -> Result<Option<Assignment>>;

    /// The active assignments of a tenant, in user-id order, optionally of one role.
    async fn list_assignments(
        &self,
        tenant: &TenantId,
        role: Option<Role>,
        page: &PageRequest,
    ) -> Result<Page<Assignment>>;

    /// Every assignment of a user, in any tenant (GSI1 `USER#{userId}`, `TENANT#`).
    async fn user_assignments(&self, user: &UserId) -> Result<Vec<Assignment>>;

    /// Every team membership of a user (GSI1 `USER#{userId}`, `TEAM#`).
    async fn user_memberships(&self, user: &UserId) -> Result<Vec<TeamMember>>;

    async fn get_member(
        &self,
        tenant: &TenantId,
        team: TeamId,
        user: &UserId,
    ) -> Result<Option<TeamMember>>;

    /// The members of a team, in user-id order.
    async fn list_members(
        &self,
        tenant: &TenantId,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Page<TeamMember>>;

    async fn get_invitation(
        &self,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Option<Invitation>>;

    /// A tenant's invitations in id order; with `status`, those whose status as of `now`
    /// ([`Invitation::status_at`]) is that one.
    async fn list_invitations(
        &self,
        tenant: &TenantId,
        status: Option<InvitationStatus>,
        now: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Invitation>>;

    /// The invitation a token hash points at.
    async fn invitation_by_token(&self, hash: &TokenHash) -> Result<Option<Invitation>>;

    /// The invitation holding the pending-invitation guard of an e-mail, if any.
    async fn pending_invitation_for(
        &self,
        tenant: &TenantId,
        email: &Email,
    ) -> Result<Option<InvitationId>>;

    /// A live idempotency record (absent once past `expires_at`).
    async fn get_org_idempotency(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<OrgIdempotencyRecord>>;

    /// Applies an [`OrgWrite`] atomically, or nothing of it. Errors: those of
    /// [`OrgKey::exists`], [`OrgKey::not_found`], [`GuardKey::taken`], [`CounterOp::refusal`],
    /// `VERSION_CONFLICT`, the [`OrgCheck`] errors, `IDEMPOTENCY_KEY_REUSED`.
    async fn write_org(&self, write: OrgWrite) -> Result<()>;
}

/// The identity provider (Cognito; the local directory on the embedded store). Group changes
/// are best-effort side effects: assignments in the store decide authorization (C24).
#[async_trait]
pub trait IdentityDirectory: Send + Sync + std::fmt::Debug {
    /// The user with this e-mail (any letter case), if any (BR-USER-001).
    async fn find_by_email(&self, email: &Email) -> Result<Option<DirectoryUser>>;

    /// Adds the user to the tenant's role group, creating the group if missing.
    async fn add_to_group(&self, user: &UserId, group: TenantGroup) -> Result<()>;

    /// Removes the user from the group; a user not in it is no error.
    async fn remove_from_group(&self, user: &UserId, group: TenantGroup) -> Result<()>;
}

/// Outgoing e-mail (SES; the embedded mailbox locally).
#[async_trait]
pub trait Mailer: Send + Sync + std::fmt::Debug {
    async fn send(&self, mail: &MailMessage) -> Result<()>;
}
