//! User use cases (U1–U7): assignments of users to tenants with a role, the last-Admin rule
//! (BR-USER-004), a user's tenants and profile.

use serde_json::json;

use crate::auth::{Actor, Role};
use crate::error::{Error, ErrorCode, Result};
use crate::idempotency::IdempotencyKey;
use crate::ids::TenantId;
use crate::pagination::{Page, PageRequest};
use crate::ports::Expect;
use crate::tenant::{Created, Email, Stamp};

use super::hierarchy::check_version;
use super::model::{Assignment, TeamMember, TenantGroup};
use super::ports::{
    CounterExpect, CounterKey, CounterOp, OrgCheck, OrgItem, OrgKey, OrgOp, OrgOutcome,
};
use super::service::{OrgAction, OrgService, foreign_outcome};
use super::values::UserId;

/// The warning of BR-USER-002 (C36).
pub const ALREADY_IN_ANOTHER_TENANT: &str = "User already assigned to another tenant";

/// A new assignment and the warnings that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    pub assignment: Assignment,
    pub warnings: Vec<String>,
}

/// One of a user's tenants (U6).
#[derive(Debug, Clone, PartialEq)]
pub struct UserTenant {
    pub assignment: Assignment,
    /// The tenant's name; absent if the tenant record is gone.
    pub organization_name: Option<String>,
}

/// A user's profile (U7): identity, tenants and teams.
#[derive(Debug, Clone, PartialEq)]
pub struct UserProfile {
    pub user_id: UserId,
    pub email: Option<Email>,
    pub tenants: Vec<Assignment>,
    pub teams: Vec<TeamMember>,
}

/// The counter change a role change brings: the Admin count may not drop to zero.
fn admin_delta(before: Option<Role>, after: Option<Role>) -> Option<CounterOp> {
    let was = before == Some(Role::Admin);
    let is = after == Some(Role::Admin);
    match (was, is) {
        (true, false) => Some(CounterOp {
            key: CounterKey::Admins,
            delta: -1,
            expect: CounterExpect::AtLeast(2),
        }),
        (false, true) => Some(CounterOp {
            key: CounterKey::Admins,
            delta: 1,
            expect: CounterExpect::Any,
        }),
        _ => None,
    }
}

impl OrgService {
    /// U2: assigns a user, found in the identity provider by e-mail (BR-USER-001, C16), to the
    /// tenant with a role. `user_id`, if given, must be that user's.
    pub async fn assign_user(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        email: &Email,
        role: Role,
        user_id: Option<&UserId>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Assigned>> {
        let (t, _) = self.access(actor, tenant, OrgAction::Manage).await?;
        let now = self.now();
        let idem = Self::idem(
            key,
            "ASSIGN_USER",
            actor,
            tenant,
            &json!({"email": email.normalized(), "role": role.as_str(), "userId": user_id.map(UserId::as_str)}),
        );
        if let Some(done) = self.replay(&idem, now).await? {
            return replayed_assignment(done);
        }
        Self::require_active(&t)?;
        let user = self
            .ports
            .directory
            .find_by_email(email)
            .await?
            .filter(|u| u.enabled)
            .ok_or_else(|| {
                Error::business(
                    ErrorCode::UserNotFound,
                    "User not found in identity provider",
                )
            })?;
        if let Some(given) = user_id
            && *given != user.user_id
        {
            return Err(Error::field(
                "userId",
                "userId does not match the user with this email",
            ));
        }
        let others = self.ports.org.user_assignments(&user.user_id).await?;
        let warnings = if others.iter().any(|a| a.active && a.tenant_id != *tenant) {
            vec![ALREADY_IN_ANOTHER_TENANT.to_owned()]
        } else {
            vec![]
        };
        let stamp = Stamp {
            at: now,
            by: actor.label().to_owned(),
        };
        let assignment = Assignment {
            tenant_id: *tenant,
            user_id: user.user_id.clone(),
            email: user.email.clone(),
            role,
            active: true,
            assigned: stamp.clone(),
            updated: stamp,
            version: 1,
        };
        let mut w = self.write(
            tenant,
            "USER_ASSIGNED",
            actor.label(),
            now,
            json!({"userId": user.user_id.as_str(), "email": user.email.as_str(), "role": role.as_str()}),
        );
        w.checks.push(OrgCheck::TenantActive);
        w.ops.push(OrgOp::Put {
            item: OrgItem::Assignment(assignment.clone()),
            expect: Expect::Absent,
        });
        w.counters.extend(admin_delta(None, Some(role)));
        w.idempotency = self.idem_record(&idem, OrgOutcome::Assignment(assignment.clone()), now);
        if let Some(done) = self.commit_create(w, &idem, now).await? {
            return replayed_assignment(done);
        }
        self.join_group(&assignment.user_id, *tenant, role).await;
        tracing::info!(action = "ASSIGN_USER", tenant_id = %tenant, user_id = %assignment.user_id, "user assigned");
        Ok(Created {
            value: Assigned {
                assignment,
                warnings,
            },
            replayed: false,
        })
    }

    /// U1: the tenant's active assignments, optionally of one role.
    pub async fn list_users(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        role: Option<Role>,
        page: &PageRequest,
    ) -> Result<Page<Assignment>> {
        self.access(actor, tenant, OrgAction::ReadUsers).await?;
        self.ports.org.list_assignments(tenant, role, page).await
    }

    /// U3: one active assignment.
    pub async fn get_assignment(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Assignment> {
        self.access(actor, tenant, OrgAction::ReadUsers).await?;
        self.active_assignment(tenant, user).await
    }

    async fn active_assignment(&self, tenant: &TenantId, user: &UserId) -> Result<Assignment> {
        self.ports
            .org
            .get_assignment(tenant, user)
            .await?
            .filter(|a| a.active)
            .ok_or_else(|| OrgKey::Assignment(user.clone()).not_found())
    }

    /// U5: changes a user's role. Demoting the last Admin is refused (`LAST_ADMIN`).
    pub async fn change_role(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        user: &UserId,
        role: Role,
        if_match: Option<u64>,
    ) -> Result<Assignment> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        let (before, after) = self
            .retrying(if_match.is_some(), || {
                self.change_role_once(actor, tenant, user, role, if_match)
            })
            .await?;
        if before.role != after.role {
            self.leave_group(user, *tenant, before.role).await;
            self.join_group(user, *tenant, after.role).await;
        }
        Ok(after)
    }

    async fn change_role_once(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        user: &UserId,
        role: Role,
        if_match: Option<u64>,
    ) -> Result<(Assignment, Assignment)> {
        let cur = self.active_assignment(tenant, user).await?;
        check_version(if_match, cur.version)?;
        if cur.role == role {
            return Ok((cur.clone(), cur));
        }
        let at = self.now().max(cur.updated.at.next());
        let mut next = cur.clone();
        next.role = role;
        next.updated = Stamp {
            at,
            by: actor.label().to_owned(),
        };
        next.version += 1;
        let mut w = self.write(
            tenant,
            "USER_ROLE_CHANGED",
            actor.label(),
            at,
            json!({"userId": user.as_str(), "previousRole": cur.role.as_str(), "newRole": role.as_str()}),
        );
        w.ops.push(OrgOp::Put {
            item: OrgItem::Assignment(next.clone()),
            expect: Expect::Version(cur.version),
        });
        w.counters.extend(admin_delta(Some(cur.role), Some(role)));
        self.ports.org.write_org(w).await?;
        Ok((cur, next))
    }

    /// U4: removes a user from the tenant (C17: the assignment is deleted, with the user's team
    /// memberships in the tenant). Removing the last Admin is refused (`LAST_ADMIN`).
    pub async fn remove_user(&self, actor: &Actor, tenant: &TenantId, user: &UserId) -> Result<()> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        let removed = self
            .retrying(false, || self.remove_once(actor, tenant, user))
            .await?;
        self.leave_group(user, *tenant, removed.role).await;
        Ok(())
    }

    async fn remove_once(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Assignment> {
        let cur = self.active_assignment(tenant, user).await?;
        let teams: Vec<TeamMember> = self
            .ports
            .org
            .user_memberships(user)
            .await?
            .into_iter()
            .filter(|m| m.tenant_id == *tenant)
            .collect();
        let mut w = self.write(
            tenant,
            "USER_REMOVED",
            actor.label(),
            self.now(),
            json!({
                "userId": user.as_str(),
                "email": cur.email.as_str(),
                "role": cur.role.as_str(),
                "teams": teams.iter().map(|m| m.team.id_string()).collect::<Vec<_>>(),
            }),
        );
        w.ops.push(OrgOp::Delete {
            key: OrgKey::Assignment(user.clone()),
            version: cur.version,
        });
        for m in &teams {
            w.ops.push(OrgOp::Delete {
                key: OrgKey::Member(m.team, user.clone()),
                version: m.version,
            });
            if let Some(team) = m.team_id() {
                w.counters.push(CounterOp {
                    key: CounterKey::Members(team),
                    delta: -1,
                    expect: CounterExpect::Any,
                });
            }
        }
        w.counters.extend(admin_delta(Some(cur.role), None));
        Self::fits(&w, "Removing this user")?;
        self.ports.org.write_org(w).await?;
        Ok(cur)
    }

    /// U6: the tenants a user belongs to (self, or a platform admin).
    pub async fn user_tenants(&self, actor: &Actor, user: &UserId) -> Result<Vec<UserTenant>> {
        self_or_admin(actor, user)?;
        let mut out = Vec::new();
        for a in self.ports.org.user_assignments(user).await? {
            if !a.active {
                continue;
            }
            let organization_name = self
                .ports
                .tenants
                .get_tenant(&a.tenant_id)
                .await?
                .map(|t| t.organization_name.as_str().to_owned());
            out.push(UserTenant {
                assignment: a,
                organization_name,
            });
        }
        Ok(out)
    }

    /// U7: a user's profile by user id or e-mail (C15), with tenants and teams.
    pub async fn get_user(&self, actor: &Actor, user_or_email: &str) -> Result<UserProfile> {
        let (user, email) = if user_or_email.contains('@') {
            let email = Email::parse_field(user_or_email, "userId")?;
            let found = self
                .ports
                .directory
                .find_by_email(&email)
                .await?
                .ok_or_else(|| Error::business(ErrorCode::UserNotFound, "User not found"))?;
            (found.user_id, Some(found.email))
        } else {
            (UserId::parse(user_or_email)?, None)
        };
        self_or_admin(actor, &user)?;
        let tenants: Vec<Assignment> = self
            .ports
            .org
            .user_assignments(&user)
            .await?
            .into_iter()
            .filter(|a| a.active)
            .collect();
        let teams = self.ports.org.user_memberships(&user).await?;
        let email = email.or_else(|| tenants.first().map(|a| a.email.clone()));
        if email.is_none() && tenants.is_empty() {
            return Err(Error::business(ErrorCode::UserNotFound, "User not found"));
        }
        Ok(UserProfile {
            user_id: user,
            email,
            tenants,
            teams,
        })
    }

    /// Best effort (C24): the store decides authorization; the group only mirrors it.
    pub(super) async fn join_group(&self, user: &UserId, tenant: TenantId, role: Role) {
        let group = TenantGroup {
            tenant_id: tenant,
            role,
        };
        if let Err(e) = self.ports.directory.add_to_group(user, group).await {
            tracing::warn!(error = %e, user_id = %user, group = %group.name(), "could not add the user to the group");
        }
    }

    pub(super) async fn leave_group(&self, user: &UserId, tenant: TenantId, role: Role) {
        let group = TenantGroup {
            tenant_id: tenant,
            role,
        };
        if let Err(e) = self.ports.directory.remove_from_group(user, group).await {
            tracing::warn!(error = %e, user_id = %user, group = %group.name(), "could not remove the user from the group");
        }
    }
}

fn self_or_admin(actor: &Actor, user: &UserId) -> Result<()> {
    if actor.is_platform_admin() || actor.sub() == user.as_str() {
        Ok(())
    } else {
        Err(Error::Forbidden(
            "Only the user themselves or a platform admin may read this".into(),
        ))
    }
}

fn replayed_assignment(done: OrgOutcome) -> Result<Created<Assigned>> {
    match done {
        OrgOutcome::Assignment(a) => Ok(Created {
            value: Assigned {
                assignment: a,
                warnings: vec![],
            },
            replayed: true,
        }),
        _ => Err(foreign_outcome()),
    }
}
