//! Stored shapes of the organisation entities (camelCase, as the DynamoDB items of digest §3.5).
//! Reading one back parses it into domain types again; a damaged record is a storage error.

use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::error::{Error, Result};
use crate::ids::{DivisionId, GroupId, TeamId};
use crate::tenant::{Email, Stamp};
use crate::time::Timestamp;

use super::model::{Assignment, DirectoryUser, Invitation, MailMessage, OrgUnit, TeamMember};
use super::ports::{OrgIdempotencyRecord, OrgOutcome};
use super::values::{TokenHash, UnitKind, UnitName, UnitPath, UserId};

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("corrupt {what} record: {e}"))
}

fn ts(s: &str, what: &str) -> Result<Timestamp> {
    s.parse().map_err(|e| corrupt(what, e))
}

fn stamp(at: &str, by: String, what: &str) -> Result<Stamp> {
    Ok(Stamp {
        at: ts(at, what)?,
        by,
    })
}

fn opt_stamp(at: Option<&String>, by: Option<&String>, what: &str) -> Result<Option<Stamp>> {
    match (at, by) {
        (Some(at), Some(by)) => Ok(Some(stamp(at, by.clone(), what)?)),
        _ => Ok(None),
    }
}

fn split(s: Option<&Stamp>) -> (Option<String>, Option<String>) {
    s.map_or((None, None), |s| {
        (Some(s.at.to_string()), Some(s.by.clone()))
    })
}

/// The ids of a node as stored (`divisionId`, `groupId`, `teamId`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathRecord {
    pub division_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
}

impl From<UnitPath> for PathRecord {
    fn from(p: UnitPath) -> Self {
        match p {
            UnitPath::Division(d) => Self {
                division_id: d.to_string(),
                group_id: None,
                team_id: None,
            },
            UnitPath::Group(d, g) => Self {
                division_id: d.to_string(),
                group_id: Some(g.to_string()),
                team_id: None,
            },
            UnitPath::Team(d, g, t) => Self {
                division_id: d.to_string(),
                group_id: Some(g.to_string()),
                team_id: Some(t.to_string()),
            },
        }
    }
}

impl PathRecord {
    fn parse(&self, what: &str) -> Result<UnitPath> {
        let c = |e: Error| corrupt(what, e);
        let d: DivisionId = self.division_id.parse().map_err(c)?;
        let g: Option<GroupId> = self
            .group_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(c)?;
        let t: Option<TeamId> = self
            .team_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(c)?;
        match (g, t) {
            (None, None) => Ok(UnitPath::Division(d)),
            (Some(g), None) => Ok(UnitPath::Group(d, g)),
            (Some(g), Some(t)) => Ok(UnitPath::Team(d, g, t)),
            (None, Some(_)) => Err(corrupt(what, "teamId without groupId")),
        }
    }
}

/// A stored division, group or team.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitRecord {
    pub tenant_id: String,
    /// `DIVISION`, `GROUP` or `TEAM`.
    pub kind: String,
    #[serde(flatten)]
    pub path: PathRecord,
    pub name: String,
    pub active: bool,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_by: Option<String>,
    pub version: u64,
}

impl From<&OrgUnit> for UnitRecord {
    fn from(u: &OrgUnit) -> Self {
        let (deleted_at, deleted_by) = split(u.deleted.as_ref());
        Self {
            tenant_id: u.tenant_id.to_string(),
            kind: u.kind().as_str().to_owned(),
            path: u.path.into(),
            name: u.name.as_str().to_owned(),
            active: u.active,
            created_at: u.created.at.to_string(),
            created_by: u.created.by.clone(),
            updated_at: u.updated.at.to_string(),
            updated_by: u.updated.by.clone(),
            deleted_at,
            deleted_by,
            version: u.version,
        }
    }
}

impl TryFrom<UnitRecord> for OrgUnit {
    type Error = Error;
    fn try_from(r: UnitRecord) -> Result<Self> {
        const W: &str = "hierarchy";
        let path = r.path.parse(W)?;
        let kind = [UnitKind::Division, UnitKind::Group, UnitKind::Team]
            .into_iter()
            .find(|k| k.as_str() == r.kind);
        if kind != Some(path.kind()) {
            return Err(corrupt(
                W,
                format!("kind {} does not match its ids", r.kind),
            ));
        }
        Ok(Self {
            tenant_id: r.tenant_id.parse().map_err(|e| corrupt(W, e))?,
            path,
            name: UnitName::parse(&r.name).map_err(|e| corrupt(W, e))?,
            active: r.active,
            created: stamp(&r.created_at, r.created_by, W)?,
            updated: stamp(&r.updated_at, r.updated_by, W)?,
            deleted: opt_stamp(r.deleted_at.as_ref(), r.deleted_by.as_ref(), W)?,
            version: r.version,
        })
    }
}

/// A stored user assignment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentRecord {
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub active: bool,
    pub assigned_at: String,
    pub assigned_by: String,
    pub updated_at: String,
    pub updated_by: String,
    pub version: u64,
}

impl From<&Assignment> for AssignmentRecord {
    fn from(a: &Assignment) -> Self {
        Self {
            tenant_id: a.tenant_id.to_string(),
            user_id: a.user_id.to_string(),
            email: a.email.as_str().to_owned(),
            role: a.role.as_str().to_owned(),
            active: a.active,
            assigned_at: a.assigned.at.to_string(),
            assigned_by: a.assigned.by.clone(),
            updated_at: a.updated.at.to_string(),
            updated_by: a.updated.by.clone(),
            version: a.version,
        }
    }
}

impl TryFrom<AssignmentRecord> for Assignment {
    type Error = Error;
    fn try_from(r: AssignmentRecord) -> Result<Self> {
        const W: &str = "assignment";
        let c = |e: Error| corrupt(W, e);
        Ok(Self {
            tenant_id: r.tenant_id.parse().map_err(c)?,
            user_id: UserId::parse(&r.user_id).map_err(c)?,
            email: Email::parse(&r.email).map_err(c)?,
            role: Role::parse(&r.role).map_err(c)?,
            active: r.active,
            assigned: stamp(&r.assigned_at, r.assigned_by, W)?,
            updated: stamp(&r.updated_at, r.updated_by, W)?,
            version: r.version,
        })
    }
}

/// A stored team membership.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberRecord {
    pub tenant_id: String,
    #[serde(flatten)]
    pub team: PathRecord,
    pub user_id: String,
    pub email: String,
    pub added_at: String,
    pub added_by: String,
    pub version: u64,
}

impl From<&TeamMember> for MemberRecord {
    fn from(m: &TeamMember) -> Self {
        Self {
            tenant_id: m.tenant_id.to_string(),
            team: m.team.into(),
            user_id: m.user_id.to_string(),
            email: m.email.as_str().to_owned(),
            added_at: m.added.at.to_string(),
            added_by: m.added.by.clone(),
            version: m.version,
        }
    }
}

impl TryFrom<MemberRecord> for TeamMember {
    type Error = Error;
    fn try_from(r: MemberRecord) -> Result<Self> {
        const W: &str = "team member";
        let c = |e: Error| corrupt(W, e);
        let team = r.team.parse(W)?;
        if team.team().is_none() {
            return Err(corrupt(W, "membership of a node that is not a team"));
        }
        Ok(Self {
            tenant_id: r.tenant_id.parse().map_err(c)?,
            team,
            user_id: UserId::parse(&r.user_id).map_err(c)?,
            email: Email::parse(&r.email).map_err(c)?,
            added: stamp(&r.added_at, r.added_by, W)?,
            version: r.version,
        })
    }
}

/// A stored invitation (the token itself is never stored, only its hash).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationRecord {
    pub invitation_id: String,
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<PathRecord>,
    pub status: String,
    pub token_hash: String,
    pub expires_at: String,
    pub resend_count: u32,
    pub active: bool,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_by_user_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declined_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled_by: Option<String>,
    pub version: u64,
}

impl From<&Invitation> for InvitationRecord {
    fn from(i: &Invitation) -> Self {
        let (accepted_at, accepted_by) = split(i.accepted.as_ref());
        let (declined_at, declined_by) = split(i.declined.as_ref());
        let (cancelled_at, cancelled_by) = split(i.cancelled.as_ref());
        Self {
            invitation_id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            email: i.email.as_str().to_owned(),
            role: i.role.as_str().to_owned(),
            team: i.team.map(PathRecord::from),
            status: i.status.as_str().to_owned(),
            token_hash: i.token_hash.as_str().to_owned(),
            expires_at: i.expires_at.to_string(),
            resend_count: i.resend_count,
            active: i.active(),
            created_at: i.created.at.to_string(),
            created_by: i.created.by.clone(),
            updated_at: i.updated.at.to_string(),
            updated_by: i.updated.by.clone(),
            accepted_at,
            accepted_by,
            accepted_by_user_id: i.accepted_by.as_ref().map(ToString::to_string),
            declined_at,
            declined_by,
            cancelled_at,
            cancelled_by,
            version: i.version,
        }
    }
}

impl TryFrom<InvitationRecord> for Invitation {
    type Error = Error;
    fn try_from(r: InvitationRecord) -> Result<Self> {
        const W: &str = "invitation";
        let c = |e: Error| corrupt(W, e);
        let team = r.team.as_ref().map(|p| p.parse(W)).transpose()?;
        if team.is_some_and(|t| t.team().is_none()) {
            return Err(corrupt(W, "team is not a team"));
        }
        Ok(Self {
            id: r.invitation_id.parse().map_err(c)?,
            tenant_id: r.tenant_id.parse().map_err(c)?,
            email: Email::parse(&r.email).map_err(c)?,
            role: Role::parse(&r.role).map_err(c)?,
            team,
            status: r.status.parse().map_err(c)?,
            token_hash: TokenHash::parse(&r.token_hash).map_err(c)?,
            expires_at: ts(&r.expires_at, W)?,
            resend_count: r.resend_count,
            created: stamp(&r.created_at, r.created_by, W)?,
            updated: stamp(&r.updated_at, r.updated_by, W)?,
            accepted: opt_stamp(r.accepted_at.as_ref(), r.accepted_by.as_ref(), W)?,
            accepted_by: r
                .accepted_by_user_id
                .as_deref()
                .map(UserId::parse)
                .transpose()
                .map_err(c)?,
            declined: opt_stamp(r.declined_at.as_ref(), r.declined_by.as_ref(), W)?,
            cancelled: opt_stamp(r.cancelled_at.as_ref(), r.cancelled_by.as_ref(), W)?,
            version: r.version,
        })
    }
}

/// The stored outcome of an idempotent create.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OrgOutcomeRecord {
    UnitCreated { unit: UnitRecord },
    UserAssigned { assignment: AssignmentRecord },
    InvitationCreated { invitation: InvitationRecord },
}

/// A stored idempotency record of an organisation create.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgIdempotencyRecordRecord {
    pub key: String,
    pub fingerprint: String,
    pub outcome: OrgOutcomeRecord,
    pub created_at: String,
    pub expires_at: String,
    /// Epoch seconds, for DynamoDB TTL.
    pub ttl: i64,
}

impl From<&OrgIdempotencyRecord> for OrgIdempotencyRecordRecord {
    fn from(r: &OrgIdempotencyRecord) -> Self {
        Self {
            key: r.key.clone(),
            fingerprint: r.fingerprint.clone(),
            outcome: match &r.outcome {
                OrgOutcome::Unit(u) => OrgOutcomeRecord::UnitCreated { unit: u.into() },
                OrgOutcome::Assignment(a) => OrgOutcomeRecord::UserAssigned {
                    assignment: a.into(),
                },
                OrgOutcome::Invitation(i) => OrgOutcomeRecord::InvitationCreated {
                    invitation: i.into(),
                },
            },
            created_at: r.created_at.to_string(),
            expires_at: r.expires_at.to_string(),
            ttl: r.expires_at.millis() / 1000,
        }
    }
}

impl TryFrom<OrgIdempotencyRecordRecord> for OrgIdempotencyRecord {
    type Error = Error;
    fn try_from(r: OrgIdempotencyRecordRecord) -> Result<Self> {
        Ok(Self {
            key: r.key,
            fingerprint: r.fingerprint,
            outcome: match r.outcome {
                OrgOutcomeRecord::UnitCreated { unit } => OrgOutcome::Unit(unit.try_into()?),
                OrgOutcomeRecord::UserAssigned { assignment } => {
                    OrgOutcome::Assignment(assignment.try_into()?)
                }
                OrgOutcomeRecord::InvitationCreated { invitation } => {
                    OrgOutcome::Invitation(invitation.try_into()?)
                }
            },
            created_at: ts(&r.created_at, "idempotency")?,
            expires_at: ts(&r.expires_at, "idempotency")?,
        })
    }
}

/// A user of the embedded local directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryUserRecord {
    pub user_id: String,
    pub email: String,
    pub enabled: bool,
}

impl From<&DirectoryUser> for DirectoryUserRecord {
    fn from(u: &DirectoryUser) -> Self {
        Self {
            user_id: u.user_id.to_string(),
            email: u.email.as_str().to_owned(),
            enabled: u.enabled,
        }
    }
}

impl TryFrom<DirectoryUserRecord> for DirectoryUser {
    type Error = Error;
    fn try_from(r: DirectoryUserRecord) -> Result<Self> {
        let c = |e: Error| corrupt("directory user", e);
        Ok(Self {
            user_id: UserId::parse(&r.user_id).map_err(c)?,
            email: Email::parse(&r.email).map_err(c)?,
            enabled: r.enabled,
        })
    }
}

/// A mail kept by the embedded mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MailRecord {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub sent_at: String,
}

impl MailRecord {
    pub fn new(m: &MailMessage, sent_at: Timestamp) -> Self {
        Self {
            to: m.to.as_str().to_owned(),
            subject: m.subject.clone(),
            text: m.text.clone(),
            sent_at: sent_at.to_string(),
        }
    }

    pub fn parse(self) -> Result<(MailMessage, Timestamp)> {
        Ok((
            MailMessage {
                to: Email::parse(&self.to).map_err(|e| corrupt("mail", e))?,
                subject: self.subject,
                text: self.text,
            },
            ts(&self.sent_at, "mail")?,
        ))
    }
}
