//! The entities of a tenant's organisation: hierarchy nodes, user assignments, team members and
//! invitations. Free of I/O.

use crate::auth::Role;
use crate::ids::{InvitationId, TeamId, TenantId};
use crate::tenant::{Email, Stamp};
use crate::time::Timestamp;

use super::values::{InvitationStatus, TokenHash, UnitKind, UnitName, UnitPath, UserId};

/// A division, group or team (digest §2.4, OM §4.4). Deleted nodes stay, inactive.
#[derive(Debug, Clone, PartialEq)]
pub struct OrgUnit {
    pub tenant_id: TenantId,
    pub path: UnitPath,
    pub name: UnitName,
    pub active: bool,
    pub created: Stamp,
    pub updated: Stamp,
    pub deleted: Option<Stamp>,
    /// Optimistic-locking version: 1 on create, +1 on every write.
    pub version: u64,
}

impl OrgUnit {
    pub fn kind(&self) -> UnitKind {
        self.path.kind()
    }

    pub(crate) fn touched(&self, by: &str, at: Timestamp) -> Self {
        let mut next = self.clone();
        next.updated = Stamp {
            at,
            by: by.to_owned(),
        };
        next.version += 1;
        next
    }
}

/// A user's membership of a tenant with a role (digest §2.3).
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub tenant_id: TenantId,
    pub user_id: UserId,
    pub email: Email,
    pub role: Role,
    /// False once the tenant is deprovisioned (BRS US-5); lists show active ones only.
    pub active: bool,
    pub assigned: Stamp,
    pub updated: Stamp,
    pub version: u64,
}

/// A user in a team (digest §3.5 `TEAMUSER#`). The user must be assigned to the tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct TeamMember {
    pub tenant_id: TenantId,
    /// Always a [`UnitPath::Team`].
    pub team: UnitPath,
    pub user_id: UserId,
    pub email: Email,
    pub added: Stamp,
    pub version: u64,
}

impl TeamMember {
    pub fn team_id(&self) -> Option<TeamId> {
        self.team.team()
    }
}

/// An invitation to join a tenant with a role (digest §2.5, §4.3, C10–C14).
#[derive(Debug, Clone, PartialEq)]
pub struct Invitation {
    pub id: InvitationId,
    pub tenant_id: TenantId,
    pub email: Email,
    pub role: Role,
    /// The team the invitee joins on acceptance, if any (always a [`UnitPath::Team`]).
    pub team: Option<UnitPath>,
    /// The stored status; see [`Invitation::status_at`] for what it reads as.
    pub status: InvitationStatus,
    /// The hash of the current token; the token itself is never stored.
    pub token_hash: TokenHash,
    pub expires_at: Timestamp,
    pub resend_count: u32,
    pub created: Stamp,
    pub updated: Stamp,
    pub accepted: Option<Stamp>,
    pub accepted_by: Option<UserId>,
    pub declined: Option<Stamp>,
    pub cancelled: Option<Stamp>,
    pub version: u64,
}

impl Invitation {
    /// The status as of `now`: a PENDING invitation past its expiry reads as EXPIRED.
    pub fn status_at(&self, now: Timestamp) -> InvitationStatus {
        if self.status == InvitationStatus::Pending && now >= self.expires_at {
            InvitationStatus::Expired
        } else {
            self.status
        }
    }

    /// The soft-delete flag: false once the invitation reached a final state.
    pub fn active(&self) -> bool {
        self.status == InvitationStatus::Pending
    }

    pub(crate) fn touched(&self, by: &str, at: Timestamp) -> Self {
        let mut next = self.clone();
        next.updated = Stamp {
            at,
            by: by.to_owned(),
        };
        next.version += 1;
        next
    }
}

/// What the invitee sees from the link (INV `InvitationResponse`, C27 spelling).
#[derive(Debug, Clone, PartialEq)]
pub struct PublicInvitation {
    pub email: Email,
    pub organisation_name: String,
    pub role: Role,
    pub status: InvitationStatus,
    pub expires_at: Timestamp,
    /// PENDING and not expired: it can be accepted or declined.
    pub is_valid: bool,
}

/// A user of the identity provider (Cognito, or the embedded local directory).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryUser {
    pub user_id: UserId,
    pub email: Email,
    pub enabled: bool,
}

/// The identity-provider group that carries a role on a tenant: `{tenantId}-{role}s`, the shape
/// [`crate::auth::Actor::from_claims`] reads back from `cognito:groups`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TenantGroup {
    pub tenant_id: TenantId,
    pub role: Role,
}

impl TenantGroup {
    pub fn name(&self) -> String {
        format!("{}-{}s", self.tenant_id, self.role.as_str().to_lowercase())
    }
}

/// An e-mail to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailMessage {
    pub to: Email,
    pub subject: String,
    pub text: String,
}

/// A mail kept by the embedded mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredMail {
    pub seq: u64,
    pub message: MailMessage,
    pub sent_at: Timestamp,
}

/// Everything under a tenant's hierarchy, as one range read returns it (inactive nodes
/// included).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HierarchySnapshot {
    pub units: Vec<OrgUnit>,
    pub members: Vec<TeamMember>,
}

impl HierarchySnapshot {
    pub fn unit(&self, path: UnitPath) -> Option<&OrgUnit> {
        self.units.iter().find(|u| u.path == path)
    }

    /// The active nodes strictly below `root`.
    pub fn active_descendants(&self, root: UnitPath) -> Vec<&OrgUnit> {
        self.units
            .iter()
            .filter(|u| u.active && u.path != root && root.contains(u.path))
            .collect()
    }

    /// The members of the active teams at or below `root`.
    pub fn members_under(&self, root: UnitPath) -> Vec<&TeamMember> {
        self.members
            .iter()
            .filter(|m| root.contains(m.team) && self.unit(m.team).is_some_and(|t| t.active))
            .collect()
    }

    /// The active tree.
    pub fn tree(&self) -> OrgTree {
        let active = |kind: UnitKind| {
            let mut v: Vec<&OrgUnit> = self
                .units
                .iter()
                .filter(|u| u.active && u.kind() == kind)
                .collect();
            v.sort_by_key(|u| u.name.unique_key());
            v
        };
        let (divisions, groups, teams) = (
            active(UnitKind::Division),
            active(UnitKind::Group),
            active(UnitKind::Team),
        );
        OrgTree {
            divisions: divisions
                .into_iter()
                .map(|d| DivisionNode {
                    unit: d.clone(),
                    groups: groups
                        .iter()
                        .filter(|g| g.path.parent().as_unit() == Some(d.path))
                        .map(|g| GroupNode {
                            unit: (*g).clone(),
                            teams: teams
                                .iter()
                                .filter(|t| t.path.parent().as_unit() == Some(g.path))
                                .map(|t| TeamNode {
                                    unit: (*t).clone(),
                                    members: self
                                        .members
                                        .iter()
                                        .filter(|m| m.team == t.path)
                                        .cloned()
                                        .collect(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A tenant's active hierarchy as a tree (H1), children ordered by name.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OrgTree {
    pub divisions: Vec<DivisionNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DivisionNode {
    pub unit: OrgUnit,
    pub groups: Vec<GroupNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GroupNode {
    pub unit: OrgUnit,
    pub teams: Vec<TeamNode>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TeamNode {
    pub unit: OrgUnit,
    pub members: Vec<TeamMember>,
}
