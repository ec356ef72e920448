//! Hierarchy use cases (D1–D5, G1–G5, M1–M8, H1–H4): divisions, groups, teams and team
//! members.

use serde_json::{Value, json};

use crate::auth::Actor;
use crate::error::{Error, ErrorCode, Result};
use crate::idempotency::IdempotencyKey;
use crate::ids::{DivisionId, GroupId, TeamId, TenantId};
use crate::pagination::{Page, PageRequest};
use crate::ports::Expect;
use crate::tenant::{Created, Stamp};

use super::model::{HierarchySnapshot, OrgTree, OrgUnit, TeamMember};
use super::ports::{
    CounterExpect, CounterKey, CounterOp, GuardKey, GuardOp, OrgCheck, OrgItem, OrgKey, OrgOp,
    OrgOutcome,
};
use super::service::{OrgAction, OrgService, foreign_outcome};
use super::values::{Parent, UnitName, UnitPath, UserId};

fn unit_json(u: &OrgUnit) -> Value {
    json!({
        "kind": u.kind().as_str(),
        "id": u.path.id_string(),
        "name": u.name.as_str(),
        "parentId": u.path.parent().as_unit().map(UnitPath::id_string),
    })
}

impl OrgService {
    /// D2 / G2 / M2: creates a node under `parent` (a division under the tenant, a group under a
    /// division, a team under a group). The name is unique within the parent regardless of case;
    /// a parent holds at most `max_children` active children.
    pub async fn create_unit(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        parent: Parent,
        name: UnitName,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<OrgUnit>> {
        let (t, _) = self.access(actor, tenant, OrgAction::Manage).await?;
        let now = self.now();
        let idem = Self::idem(
            key,
            "CREATE_UNIT",
            actor,
            tenant,
            &json!({"parent": parent.key(), "name": name.as_str()}),
        );
        if let Some(done) = self.replay(&idem, now).await? {
            return replayed_unit(done);
        }
        Self::require_active(&t)?;
        if let Some(p) = parent.as_unit() {
            self.active_unit(tenant, p).await?;
        }
        let path = parent.new_child(self.ports.ids.as_ref());
        let stamp = Stamp {
            at: now,
            by: actor.label().to_owned(),
        };
        let unit = OrgUnit {
            tenant_id: *tenant,
            path,
            name: name.clone(),
            active: true,
            created: stamp.clone(),
            updated: stamp,
            deleted: None,
            version: 1,
        };
        let mut w = self.write(
            tenant,
            "HIERARCHY_CREATED",
            actor.label(),
            now,
            unit_json(&unit),
        );
        w.checks.push(OrgCheck::TenantActive);
        if let Some(p) = parent.as_unit() {
            w.checks.push(OrgCheck::UnitActive(p));
        }
        w.ops.push(OrgOp::Put {
            item: OrgItem::Unit(unit.clone()),
            expect: Expect::Absent,
        });
        w.guards.push(GuardOp::Claim {
            key: GuardKey::UnitName { parent, name },
            owner: path.id_string(),
        });
        w.counters.push(CounterOp {
            key: CounterKey::Children(parent),
            delta: 1,
            expect: CounterExpect::Below(self.config.max_children),
        });
        w.idempotency = self.idem_record(&idem, OrgOutcome::Unit(unit.clone()), now);
        if let Some(done) = self.commit_create(w, &idem, now).await? {
            return replayed_unit(done);
        }
        tracing::info!(action = "CREATE_HIERARCHY", tenant_id = %tenant, unit = %path.id_string(), "hierarchy node created");
        Ok(Created {
            value: unit,
            replayed: false,
        })
    }

    /// D2.
    pub async fn create_division(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        name: UnitName,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<OrgUnit>> {
        self.create_unit(actor, tenant, Parent::Tenant, name, key)
            .await
    }

    /// G2.
    pub async fn create_group(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        division: DivisionId,
        name: UnitName,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<OrgUnit>> {
        self.create_unit(actor, tenant, Parent::Division(division), name, key)
            .await
    }

    /// M2.
    pub async fn create_team(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        division: DivisionId,
        group: GroupId,
        name: UnitName,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<OrgUnit>> {
        self.create_unit(actor, tenant, Parent::Group(division, group), name, key)
            .await
    }

    pub(super) async fn active_unit(&self, tenant: &TenantId, path: UnitPath) -> Result<OrgUnit> {
        self.ports
            .org
            .get_unit(tenant, path)
            .await?
            .filter(|u| u.active)
            .ok_or_else(|| path.not_found())
    }

    /// D3 / G3 / M3: an active node.
    pub async fn get_unit(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        path: UnitPath,
    ) -> Result<OrgUnit> {
        self.access(actor, tenant, OrgAction::Read).await?;
        self.active_unit(tenant, path).await
    }

    /// D1 / G1 / M1: the active children of a parent, one page at a time.
    pub async fn list_units(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        parent: Parent,
        page: &PageRequest,
    ) -> Result<Page<OrgUnit>> {
        self.access(actor, tenant, OrgAction::Read).await?;
        if let Some(p) = parent.as_unit() {
            self.active_unit(tenant, p).await?;
        }
        self.ports.org.list_units(tenant, parent, page).await
    }

    /// H1: the tenant's active hierarchy with team members, from one range read.
    pub async fn tree(&self, actor: &Actor, tenant: &TenantId) -> Result<OrgTree> {
        self.access(actor, tenant, OrgAction::Read).await?;
        Ok(self.ports.org.hierarchy(tenant).await?.tree())
    }

    /// D4 / G4 / M4: renames a node under optimistic locking.
    pub async fn rename_unit(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        path: UnitPath,
        name: UnitName,
        if_match: Option<u64>,
    ) -> Result<OrgUnit> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        self.retrying(if_match.is_some(), || {
            self.rename_once(actor, tenant, path, &name, if_match)
        })
        .await
    }

    async fn rename_once(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        path: UnitPath,
        name: &UnitName,
        if_match: Option<u64>,
    ) -> Result<OrgUnit> {
        let cur = self.active_unit(tenant, path).await?;
        check_version(if_match, cur.version)?;
        let at = self.now().max(cur.updated.at.next());
        let mut next = cur.touched(actor.label(), at);
        next.name = name.clone();
        let mut w = self.write(
            tenant,
            "HIERARCHY_UPDATED",
            actor.label(),
            at,
            json!({
                "kind": path.kind().as_str(),
                "id": path.id_string(),
                "changes": [{"field": "name", "before": cur.name.as_str(), "after": name.as_str()}],
            }),
        );
        if cur.name.unique_key() != name.unique_key() {
            let parent = path.parent();
            w.guards.push(GuardOp::Release {
                key: GuardKey::UnitName {
                    parent,
                    name: cur.name.clone(),
                },
                owner: path.id_string(),
            });
            w.guards.push(GuardOp::Claim {
                key: GuardKey::UnitName {
                    parent,
                    name: name.clone(),
                },
                owner: path.id_string(),
            });
        }
        w.ops.push(OrgOp::Put {
            item: OrgItem::Unit(next.clone()),
            expect: Expect::Version(cur.version),
        });
        self.ports.org.write_org(w).await?;
        Ok(next)
    }

    /// D5 / G5 / M5: soft-deletes a node. Refused (`HIERARCHY_NOT_EMPTY`) while it has active
    /// children or team members, unless `cascade`, which soft-deletes the whole subtree in the
    /// same write (C9). Returns the deleted node.
    pub async fn delete_unit(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        path: UnitPath,
        cascade: bool,
        if_match: Option<u64>,
    ) -> Result<OrgUnit> {
        self.access(actor, tenant, OrgAction::Manage).await?;
        self.retrying(if_match.is_some(), || {
            self.delete_once(actor, tenant, path, cascade, if_match)
        })
        .await
    }

    async fn delete_once(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        path: UnitPath,
        cascade: bool,
        if_match: Option<u64>,
    ) -> Result<OrgUnit> {
        let snap = self.ports.org.hierarchy(tenant).await?;
        let cur = snap
            .unit(path)
            .filter(|u| u.active)
            .cloned()
            .ok_or_else(|| path.not_found())?;
        check_version(if_match, cur.version)?;
        let below = snap.active_descendants(path);
        let members = snap.members_under(path);
        if !cascade && (!below.is_empty() || !members.is_empty()) {
            return Err(Error::business(
                ErrorCode::HierarchyNotEmpty,
                format!(
                    "{} {} has {} active child node(s) and {} team member(s); delete them first \
                     or use cascade=true",
                    path.kind().noun(),
                    path.id_string(),
                    below.len(),
                    members.len()
                ),
            ));
        }
        let at = self.now().max(cur.updated.at.next());
        let deleted = |u: &OrgUnit| {
            let mut next = u.touched(actor.label(), at);
            next.active = false;
            next.deleted = Some(next.updated.clone());
            next
        };
        let next = deleted(&cur);
        let mut ids = vec![path.id_string()];
        ids.extend(below.iter().map(|u| u.path.id_string()));
        let mut w = self.write(
            tenant,
            "HIERARCHY_DELETED",
            actor.label(),
            at,
            json!({
                "kind": path.kind().as_str(),
                "id": path.id_string(),
                "name": cur.name.as_str(),
                "cascade": cascade,
                "deleted": ids,
            }),
        );
        for u in std::iter::once(&cur).chain(below.iter().copied()) {
            let item = if u.path == path {
                next.clone()
            } else {
                deleted(u)
            };
            w.ops.push(OrgOp::Put {
                item: OrgItem::Unit(item),
                expect: Expect::Version(u.version),
            });
            // Nothing may have been added below a node since the snapshot.
            if let Some(p) = u.path.as_parent() {
                w.counters.push(CounterOp {
                    key: CounterKey::Children(p),
                    delta: 0,
                    expect: CounterExpect::Equals(count_children(&snap, u.path)),
                });
            }
        }
        if let (false, Some(team)) = (cascade, path.team()) {
            w.counters.push(CounterOp {
                key: CounterKey::Members(team),
                delta: 0,
                expect: CounterExpect::Equals(0),
            });
        }
        w.counters.push(CounterOp {
            key: CounterKey::Children(path.parent()),
            delta: -1,
            expect: CounterExpect::Any,
        });
        w.guards.push(GuardOp::Release {
            key: GuardKey::UnitName {
                parent: path.parent(),
                name: cur.name.clone(),
            },
            owner: path.id_string(),
        });
        Self::fits(&w, "Deleting this subtree")?;
        self.ports.org.write_org(w).await?;
        tracing::info!(action = "DELETE_HIERARCHY", tenant_id = %tenant, unit = %path.id_string(), cascade, "hierarchy node deleted");
        Ok(next)
    }

    /// M7: adds a user assigned to the tenant to an active team.
    pub async fn add_member(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        team: UnitPath,
        user: &UserId,
    ) -> Result<TeamMember> {
        let Some(team_id) = team.team() else {
            return Err(Error::field("teamId", "Members belong to teams"));
        };
        self.access(actor, tenant, OrgAction::ManageMembers).await?;
        self.active_unit(tenant, team).await?;
        let assignment = self
            .ports
            .org
            .get_assignment(tenant, user)
            .await?
            .filter(|a| a.active)
            .ok_or_else(|| OrgKey::Assignment(user.clone()).not_found())?;
        let now = self.now();
        let member = TeamMember {
            tenant_id: *tenant,
            team,
            user_id: user.clone(),
            email: assignment.email,
            added: Stamp {
                at: now,
                by: actor.label().to_owned(),
            },
            version: 1,
        };
        let mut w = self.write(
            tenant,
            "HIERARCHY_MEMBER_ADDED",
            actor.label(),
            now,
            json!({"teamId": team_id.to_string(), "userId": user.as_str()}),
        );
        w.checks.push(OrgCheck::UnitActive(team));
        w.checks.push(OrgCheck::Assigned(user.clone()));
        w.ops.push(OrgOp::Put {
            item: OrgItem::Member(member.clone()),
            expect: Expect::Absent,
        });
        w.counters.push(CounterOp {
            key: CounterKey::Members(team_id),
            delta: 1,
            expect: CounterExpect::Any,
        });
        self.ports.org.write_org(w).await?;
        Ok(member)
    }

    /// M6: a team's members.
    pub async fn list_members(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        team: UnitPath,
        page: &PageRequest,
    ) -> Result<Page<TeamMember>> {
        let Some(team_id) = team.team() else {
            return Err(Error::field("teamId", "Members belong to teams"));
        };
        self.access(actor, tenant, OrgAction::Read).await?;
        self.active_unit(tenant, team).await?;
        self.ports.org.list_members(tenant, team_id, page).await
    }

    /// M8: removes a user from a team.
    pub async fn remove_member(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        team: UnitPath,
        user: &UserId,
    ) -> Result<()> {
        let Some(team_id) = team.team() else {
            return Err(Error::field("teamId", "Members belong to teams"));
        };
        self.access(actor, tenant, OrgAction::ManageMembers).await?;
        self.active_unit(tenant, team).await?;
        let key = OrgKey::Member(team, user.clone());
        let member = self
            .ports
            .org
            .get_member(tenant, team_id, user)
            .await?
            .ok_or_else(|| key.not_found())?;
        let mut w = self.write(
            tenant,
            "HIERARCHY_MEMBER_REMOVED",
            actor.label(),
            self.now(),
            json!({"teamId": team_id.to_string(), "userId": user.as_str()}),
        );
        w.ops.push(OrgOp::Delete {
            key,
            version: member.version,
        });
        w.counters.push(CounterOp {
            key: CounterKey::Members(team_id),
            delta: -1,
            expect: CounterExpect::Any,
        });
        self.ports.org.write_org(w).await
    }

    /// H2 (C8): gets or creates the path Division → Group → Team by names. Refused with
    /// `HIERARCHY_EXISTS` when every named level already exists. Returns the nodes of the path.
    pub async fn ensure_path(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        division: UnitName,
        group: Option<UnitName>,
        team: Option<UnitName>,
    ) -> Result<Vec<OrgUnit>> {
        if group.is_none() && team.is_some() {
            return Err(Error::field("group", "A team needs a group"));
        }
        self.access(actor, tenant, OrgAction::Manage).await?;
        let snap = self.ports.org.hierarchy(tenant).await?;
        let mut parent = Parent::Tenant;
        let mut out = Vec::new();
        let mut created = false;
        for name in std::iter::once(division).chain(group).chain(team) {
            let unit = match find_child(&snap, parent, &name) {
                Some(u) if !created => u.clone(),
                _ => {
                    created = true;
                    self.create_unit(actor, tenant, parent, name, None)
                        .await?
                        .value
                }
            };
            parent = unit.path.as_parent().unwrap_or(parent);
            out.push(unit);
        }
        if created {
            Ok(out)
        } else {
            Err(Error::business(
                ErrorCode::HierarchyExists,
                "Hierarchy already exists",
            ))
        }
    }

    /// H4 (C8): deletes the deepest named node of the path (`HIERARCHY_NOT_EMPTY` unless it is
    /// empty or `cascade`).
    pub async fn delete_path(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        division: &UnitName,
        group: Option<&UnitName>,
        team: Option<&UnitName>,
        cascade: bool,
    ) -> Result<OrgUnit> {
        if group.is_none() && team.is_some() {
            return Err(Error::field("group", "A team needs a group"));
        }
        self.access(actor, tenant, OrgAction::Manage).await?;
        let snap = self.ports.org.hierarchy(tenant).await?;
        let nodes = resolve_names(&snap, division, group, team)?;
        let path = nodes
            .last()
            .map(|u| u.path)
            .ok_or_else(|| Error::field("division", "division is required"))?;
        self.delete_unit(actor, tenant, path, cascade, None).await
    }

    /// H3 (C8): renames the deepest named node of the path Division → Group → Team to `name`
    /// (`if_match` is that node's version). Returns the nodes of the path, the last one renamed.
    #[allow(clippy::too_many_arguments)] // the path's three levels, the new name and the version
    pub async fn rename_path(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        division: &UnitName,
        group: Option<&UnitName>,
        team: Option<&UnitName>,
        name: UnitName,
        if_match: Option<u64>,
    ) -> Result<Vec<OrgUnit>> {
        if group.is_none() && team.is_some() {
            return Err(Error::field("group", "A team needs a group"));
        }
        self.access(actor, tenant, OrgAction::Manage).await?;
        let snap = self.ports.org.hierarchy(tenant).await?;
        let mut nodes = resolve_names(&snap, division, group, team)?;
        let Some(last) = nodes.pop() else {
            return Err(Error::field("division", "division is required"));
        };
        let renamed = self
            .rename_unit(actor, tenant, last.path, name, if_match)
            .await?;
        nodes.push(renamed);
        Ok(nodes)
    }

    /// Resolves a team by its id alone (invitations name only `teamId`).
    pub(super) async fn find_team(&self, tenant: &TenantId, team: TeamId) -> Result<UnitPath> {
        let snap = self.ports.org.hierarchy(tenant).await?;
        snap.units
            .iter()
            .find(|u| u.active && u.path.team() == Some(team))
            .map(|u| u.path)
            .ok_or_else(|| {
                Error::business(ErrorCode::TeamNotFound, format!("Team {team} not found"))
            })
    }
}

fn find_child<'a>(
    snap: &'a HierarchySnapshot,
    parent: Parent,
    name: &UnitName,
) -> Option<&'a OrgUnit> {
    snap.units
        .iter()
        .find(|u| u.active && u.path.parent() == parent && u.name.unique_key() == name.unique_key())
}

/// The active nodes named by a path of names, from the division down.
fn resolve_names(
    snap: &HierarchySnapshot,
    division: &UnitName,
    group: Option<&UnitName>,
    team: Option<&UnitName>,
) -> Result<Vec<OrgUnit>> {
    let mut parent = Parent::Tenant;
    let mut out = Vec::new();
    for name in std::iter::once(division).chain(group).chain(team) {
        let unit = find_child(snap, parent, name).ok_or_else(|| {
            Error::business(
                parent.child_kind().not_found_code(),
                format!("{} '{name}' not found", parent.child_kind().noun()),
            )
        })?;
        parent = unit.path.as_parent().unwrap_or(parent);
        out.push(unit.clone());
    }
    Ok(out)
}

fn count_children(snap: &HierarchySnapshot, path: UnitPath) -> u64 {
    snap.units
        .iter()
        .filter(|u| u.active && u.path.parent().as_unit() == Some(path))
        .count() as u64
}

pub(super) fn check_version(if_match: Option<u64>, current: u64) -> Result<()> {
    match if_match {
        Some(expected) if expected != current => Err(Error::VersionConflict { expected, current }),
        _ => Ok(()),
    }
}

fn replayed_unit(done: OrgOutcome) -> Result<Created<OrgUnit>> {
    match done {
        OrgOutcome::Unit(u) => Ok(Created {
            value: u,
            replayed: true,
        }),
        _ => Err(foreign_outcome()),
    }
}
