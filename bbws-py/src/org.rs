//! `bbws.OrgService`: the organisation use cases for Python (a tenant's hierarchy of divisions,
//! groups and teams, its users and their roles, invitations), opened like `bbws.TenantService`,
//! taking the caller's claims and returning dicts in the API's camelCase shapes.
//!
//! On the local backends it also registers users in the local directory (as an identity
//! provider's sign-up would) and reads the embedded mailbox, where invitation mail lands.

use std::path::PathBuf;
use std::sync::Arc;

use bbws_core::Error;
use bbws_core::auth::{Actor, Role};
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{DivisionId, GroupId, InvitationId, TeamId};
use bbws_core::org::{
    DirectoryUser, InvitationStatus, OrgUnit, Parent, PublicInvitation, StoredMail, UnitName,
    UnitPath, UserId,
};
use bbws_core::tenant::Email;
use bbws_lambda::api::org_dto::{
    HierarchyTreeResponse, InvitationResponse, OrgUnitResponse, TeamMemberResponse,
    UserAssignmentResponse, UserProfileResponse, UserTenantResponse,
};
use pyo3::prelude::*;
use serde_json::{Value, json};

use crate::convert::{self, Failure};
use crate::service::{self, Open, PageBody, PyTenantService, actor, if_match, page};

/// The organisation service on one backend (see the module docs).
#[pyclass(module = "bbws", name = "OrgService", frozen)]
#[derive(Debug)]
pub struct PyOrgService {
    inner: PyTenantService,
}

fn unit_name(raw: &str, field: &str) -> Result<UnitName, Error> {
    UnitName::parse_field(raw, field)
}

fn user(raw: &str) -> Result<UserId, Error> {
    UserId::parse(raw)
}

fn email(raw: &str, field: &str) -> Result<Email, Error> {
    Email::parse_field(raw, field)
}

fn key(raw: Option<&str>) -> Result<Option<IdempotencyKey>, Error> {
    raw.map(IdempotencyKey::parse).transpose()
}

/// The node the ids name: a division, a group (with its division) or a team (with both).
fn path(division: &str, group: Option<&str>, team: Option<&str>) -> Result<UnitPath, Error> {
    let d = division.parse::<DivisionId>()?;
    match (group, team) {
        (None, None) => Ok(UnitPath::Division(d)),
        (Some(g), None) => Ok(UnitPath::Group(d, g.parse::<GroupId>()?)),
        (Some(g), Some(t)) => Ok(UnitPath::Team(
            d,
            g.parse::<GroupId>()?,
            t.parse::<TeamId>()?,
        )),
        (None, Some(_)) => Err(Error::field("groupId", "A team is named with its group")),
    }
}

fn team_path(division: &str, group: &str, team: &str) -> Result<UnitPath, Error> {
    path(division, Some(group), Some(team))
}

fn parent(division: Option<&str>, group: Option<&str>) -> Result<Parent, Error> {
    match (division, group) {
        (None, None) => Ok(Parent::Tenant),
        (Some(d), None) => Ok(Parent::Division(d.parse()?)),
        (Some(d), Some(g)) => Ok(Parent::Group(d.parse()?, g.parse()?)),
        (None, Some(_)) => Err(Error::field(
            "divisionId",
            "A group is named with its division",
        )),
    }
}

fn units_body(units: &[OrgUnit]) -> Vec<OrgUnitResponse> {
    units.iter().map(OrgUnitResponse::from).collect()
}

fn public_body(p: &PublicInvitation) -> Value {
    json!({
        "email": p.email.as_str(),
        "organisationName": p.organisation_name,
        "role": p.role.as_str(),
        "status": p.status.as_str(),
        "expiresAt": p.expires_at.to_string(),
        "isValid": p.is_valid,
    })
}

fn directory_body(u: &DirectoryUser) -> Value {
    json!({"userId": u.user_id.as_str(), "email": u.email.as_str(), "enabled": u.enabled})
}

/// The first link in a mail's text that leads to an invitation.
fn accept_link(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find(|w| w.starts_with("http") && w.contains("/invitations/"))
}

fn mail_body(m: &StoredMail) -> Value {
    json!({
        "seq": m.seq,
        "to": m.message.to.as_str(),
        "subject": m.message.subject,
        "text": m.message.text,
        "sentAt": m.sent_at.to_string(),
        "link": accept_link(&m.message.text),
    })
}

/// The token from a token or a whole accept link.
fn token(raw: &str) -> String {
    let raw = raw.trim().trim_end_matches('/');
    raw.rsplit_once("/invitations/")
        .map_or(raw, |(_, t)| t)
        .to_owned()
}

fn local_only(what: &str) -> Error {
    Error::field(
        "backend",
        format!(
            "{what} exists on the memory and embedded backends only; on DynamoDB users live in Cognito and mail goes out through SES"
        ),
    )
}

impl PyOrgService {
    fn call<T, F, Fut>(&self, py: Python<'_>, write: bool, f: F) -> Result<T, Failure>
    where
        F: FnOnce(Arc<Open>) -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send,
        T: Send,
    {
        self.inner.run(py, write, f)
    }
}

#[pymethods]
impl PyOrgService {
    /// Opens a backend exactly as `TenantService` does: `memory` (default), `embedded`
    /// (`data_dir`, locked while open) or `dynamodb` (`table`, `endpoint_url`).
    #[new]
    #[pyo3(signature = (backend = "memory", table = None, data_dir = None, endpoint_url = None))]
    fn new(
        py: Python<'_>,
        backend: &str,
        table: Option<String>,
        data_dir: Option<PathBuf>,
        endpoint_url: Option<String>,
    ) -> Result<Self, Failure> {
        Ok(Self {
            inner: PyTenantService::open_with(py, backend, table, data_dir, endpoint_url)?,
        })
    }

    /// A `TenantService` on this same backend (the tenants this organisation belongs to).
    fn tenant_service(&self) -> PyResult<PyTenantService> {
        Ok(PyTenantService::from_open(
            self.inner.current()?,
            self.inner.describe().to_owned(),
        ))
    }

    /// Releases the backend (once no `TenantService` from `tenant_service()` holds it either).
    fn close(&self) {
        self.inner.shut();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { ", closed" } else { "" };
        format!("OrgService({}{state})", self.inner.describe())
    }

    // ------------------------------------------------------------------------- hierarchy

    /// Creates a division (POST …/divisions); names are unique among siblings in any case.
    #[pyo3(signature = (claims, tenant_id, name, idempotency_key = None))]
    fn create_division<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.create_unit(py, claims, tenant_id, name, None, None, idempotency_key)
    }

    /// Creates a group in a division (POST …/divisions/{divisionId}/groups).
    #[pyo3(signature = (claims, tenant_id, division_id, name, idempotency_key = None))]
    fn create_group<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: &str,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.create_unit(
            py,
            claims,
            tenant_id,
            name,
            Some(division_id),
            None,
            idempotency_key,
        )
    }

    /// Creates a team in a group (POST …/groups/{groupId}/teams).
    #[pyo3(signature = (claims, tenant_id, division_id, group_id, name, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_team<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: &str,
        group_id: &str,
        name: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.create_unit(
            py,
            claims,
            tenant_id,
            name,
            Some(division_id),
            Some(group_id),
            idempotency_key,
        )
    }

    /// Creates a node under the tenant (no ids), a division, or a group (both ids).
    #[pyo3(signature = (claims, tenant_id, name, division_id = None, group_id = None, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_unit<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        name: &str,
        division_id: Option<&str>,
        group_id: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let p = parent(division_id, group_id)?;
        let name = unit_name(name, "name")?;
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.org.create_unit(&actor, &t, p, name, key.as_ref()).await
        })?;
        convert::serialize(py, &OrgUnitResponse::from(&created.value))
    }

    /// A division, group or team, named by its ids.
    #[pyo3(signature = (claims, tenant_id, division_id, group_id = None, team_id = None))]
    fn get_unit<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: &str,
        group_id: Option<&str>,
        team_id: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let at = path(division_id, group_id, team_id)?;
        let u = self.call(py, false, move |o| async move {
            o.org.get_unit(&actor, &t, at).await
        })?;
        convert::serialize(py, &OrgUnitResponse::from(&u))
    }

    /// The divisions of the tenant, the groups of a division, or the teams of a group, by name:
    /// `{items, count, nextToken, moreAvailable}`.
    #[pyo3(signature = (claims, tenant_id, division_id = None, group_id = None, limit = 20, next_token = None))]
    #[allow(clippy::too_many_arguments)]
    fn list_units<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: Option<&str>,
        group_id: Option<&str>,
        limit: i64,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let p = parent(division_id, group_id)?;
        let pg = page(limit, next_token)?;
        let result = self.call(py, false, move |o| async move {
            o.org.list_units(&actor, &t, p, &pg).await
        })?;
        convert::serialize(py, &PageBody::new(result, |u| OrgUnitResponse::from(u)))
    }

    /// Renames a node; `if_match` pins its version.
    #[pyo3(signature = (claims, tenant_id, name, division_id, group_id = None, team_id = None, if_match = None))]
    #[allow(clippy::too_many_arguments)]
    fn rename_unit<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        name: &str,
        division_id: &str,
        group_id: Option<&str>,
        team_id: Option<&str>,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let at = path(division_id, group_id, team_id)?;
        let name = unit_name(name, "name")?;
        let expected = self::if_match(if_match)?;
        let u = self.call(py, true, move |o| async move {
            o.org.rename_unit(&actor, &t, at, name, expected).await
        })?;
        convert::serialize(py, &OrgUnitResponse::from(&u))
    }

    /// Deletes a node (soft); refused with `HierarchyNotEmptyError` while it has children or
    /// members, unless `cascade`. Returns the deleted node.
    #[pyo3(signature = (claims, tenant_id, division_id, group_id = None, team_id = None, cascade = false, if_match = None))]
    #[allow(clippy::too_many_arguments)]
    fn delete_unit<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: &str,
        group_id: Option<&str>,
        team_id: Option<&str>,
        cascade: bool,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let at = path(division_id, group_id, team_id)?;
        let expected = self::if_match(if_match)?;
        let u = self.call(py, true, move |o| async move {
            o.org.delete_unit(&actor, &t, at, cascade, expected).await
        })?;
        convert::serialize(py, &OrgUnitResponse::from(&u))
    }

    /// The tenant's active hierarchy as a tree, with team members (GET …/hierarchy).
    fn tree<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let tree = self.call(
            py,
            false,
            move |o| async move { o.org.tree(&actor, &t).await },
        )?;
        convert::serialize(py, &HierarchyTreeResponse::new(&t, &tree))
    }

    /// Gets or creates the path division → group → team by names (`HierarchyExistsError` when
    /// every level exists). Returns the path's nodes.
    #[pyo3(signature = (claims, tenant_id, division, group = None, team = None))]
    fn ensure_path<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division: &str,
        group: Option<&str>,
        team: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let d = unit_name(division, "division")?;
        let g = group.map(|g| unit_name(g, "group")).transpose()?;
        let tm = team.map(|x| unit_name(x, "team")).transpose()?;
        let nodes = self.call(py, true, move |o| async move {
            o.org.ensure_path(&actor, &t, d, g, tm).await
        })?;
        convert::serialize(py, &units_body(&nodes))
    }

    /// Renames the deepest node of a path named by names. Returns the path's nodes.
    #[pyo3(signature = (claims, tenant_id, name, division, group = None, team = None, if_match = None))]
    #[allow(clippy::too_many_arguments)]
    fn rename_path<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        name: &str,
        division: &str,
        group: Option<&str>,
        team: Option<&str>,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let d = unit_name(division, "division")?;
        let g = group.map(|g| unit_name(g, "group")).transpose()?;
        let tm = team.map(|x| unit_name(x, "team")).transpose()?;
        let name = unit_name(name, "name")?;
        let expected = self::if_match(if_match)?;
        let nodes = self.call(py, true, move |o| async move {
            o.org
                .rename_path(&actor, &t, &d, g.as_ref(), tm.as_ref(), name, expected)
                .await
        })?;
        convert::serialize(py, &units_body(&nodes))
    }

    /// Deletes the deepest node of a path named by names (unless it is empty, only with
    /// `cascade`). Returns the deleted node.
    #[pyo3(signature = (claims, tenant_id, division, group = None, team = None, cascade = false))]
    #[allow(clippy::too_many_arguments)]
    fn delete_path<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division: &str,
        group: Option<&str>,
        team: Option<&str>,
        cascade: bool,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let d = unit_name(division, "division")?;
        let g = group.map(|g| unit_name(g, "group")).transpose()?;
        let tm = team.map(|x| unit_name(x, "team")).transpose()?;
        let u = self.call(py, true, move |o| async move {
            o.org
                .delete_path(&actor, &t, &d, g.as_ref(), tm.as_ref(), cascade)
                .await
        })?;
        convert::serialize(py, &OrgUnitResponse::from(&u))
    }

    /// Adds a user assigned to the tenant to a team.
    #[pyo3(signature = (claims, tenant_id, division_id, group_id, team_id, user_id))]
    #[allow(clippy::too_many_arguments)]
    fn add_member<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: &str,
        group_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let at = team_path(division_id, group_id, team_id)?;
        let u = user(user_id)?;
        let m = self.call(py, true, move |o| async move {
            o.org.add_member(&actor, &t, at, &u).await
        })?;
        convert::serialize(py, &TeamMemberResponse::from(&m))
    }

    /// A team's members: `{items, count, nextToken, moreAvailable}`.
    #[pyo3(signature = (claims, tenant_id, division_id, group_id, team_id, limit = 20, next_token = None))]
    #[allow(clippy::too_many_arguments)]
    fn list_members<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        division_id: &str,
        group_id: &str,
        team_id: &str,
        limit: i64,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let at = team_path(division_id, group_id, team_id)?;
        let pg = page(limit, next_token)?;
        let result = self.call(py, false, move |o| async move {
            o.org.list_members(&actor, &t, at, &pg).await
        })?;
        convert::serialize(py, &PageBody::new(result, |m| TeamMemberResponse::from(m)))
    }

    /// Removes a user from a team.
    #[pyo3(signature = (claims, tenant_id, division_id, group_id, team_id, user_id))]
    #[allow(clippy::too_many_arguments)]
    fn remove_member(
        &self,
        py: Python<'_>,
        claims: &Bound<'_, PyAny>,
        tenant_id: &str,
        division_id: &str,
        group_id: &str,
        team_id: &str,
        user_id: &str,
    ) -> Result<(), Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let at = team_path(division_id, group_id, team_id)?;
        let u = user(user_id)?;
        self.call(py, true, move |o| async move {
            o.org.remove_member(&actor, &t, at, &u).await
        })
    }

    // ----------------------------------------------------------------------------- users

    /// Assigns a user of the directory, found by e-mail, to the tenant with a role (`Admin`,
    /// `Operator` or `Viewer`, any case). The result carries `warnings`.
    #[pyo3(signature = (claims, tenant_id, email, role, user_id = None, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn assign_user<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        email: &str,
        role: &str,
        user_id: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let e = self::email(email, "email")?;
        let r = Role::parse(role)?;
        let u = user_id.map(user).transpose()?;
        let key = key(idempotency_key)?;
        let done = self.call(py, true, move |o| async move {
            o.org
                .assign_user(&actor, &t, &e, r, u.as_ref(), key.as_ref())
                .await
        })?;
        let mut body = UserAssignmentResponse::from(&done.value.assignment);
        body.warnings = done.value.warnings;
        convert::serialize(py, &body)
    }

    /// The tenant's users, optionally of one role: `{items, count, nextToken, moreAvailable}`.
    #[pyo3(signature = (claims, tenant_id, role = None, limit = 20, next_token = None))]
    fn list_users<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        role: Option<&str>,
        limit: i64,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let r = role.map(Role::parse).transpose()?;
        let pg = page(limit, next_token)?;
        let result = self.call(py, false, move |o| async move {
            o.org.list_users(&actor, &t, r, &pg).await
        })?;
        convert::serialize(
            py,
            &PageBody::new(result, |a| UserAssignmentResponse::from(a)),
        )
    }

    /// A user's assignment to the tenant.
    fn get_assignment<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let u = user(user_id)?;
        let a = self.call(py, false, move |o| async move {
            o.org.get_assignment(&actor, &t, &u).await
        })?;
        convert::serialize(py, &UserAssignmentResponse::from(&a))
    }

    /// Changes a user's role; the tenant keeps at least one Admin (`LastAdminError`).
    #[pyo3(signature = (claims, tenant_id, user_id, role, if_match = None))]
    fn change_role<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        user_id: &str,
        role: &str,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let u = user(user_id)?;
        let r = Role::parse(role)?;
        let expected = self::if_match(if_match)?;
        let a = self.call(py, true, move |o| async move {
            o.org.change_role(&actor, &t, &u, r, expected).await
        })?;
        convert::serialize(py, &UserAssignmentResponse::from(&a))
    }

    /// Removes a user from the tenant and its teams (not the last Admin).
    fn remove_user(
        &self,
        py: Python<'_>,
        claims: &Bound<'_, PyAny>,
        tenant_id: &str,
        user_id: &str,
    ) -> Result<(), Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let u = user(user_id)?;
        self.call(py, true, move |o| async move {
            o.org.remove_user(&actor, &t, &u).await
        })
    }

    /// The tenants a user is assigned to (the user themself or a platform admin):
    /// `{userId, items, count}`.
    fn user_tenants<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        user_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let u = user(user_id)?;
        let uid = u.as_str().to_owned();
        let tenants = self.call(py, false, move |o| async move {
            o.org.user_tenants(&actor, &u).await
        })?;
        let items: Vec<UserTenantResponse> = tenants.iter().map(UserTenantResponse::from).collect();
        convert::serialize(
            py,
            &json!({"userId": uid, "count": items.len(), "items": items}),
        )
    }

    /// A user's profile (tenants and teams), by user id or e-mail.
    fn get_user<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        user_id_or_email: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let who = user_id_or_email.to_owned();
        let p = self.call(py, false, move |o| async move {
            o.org.get_user(&actor, &who).await
        })?;
        convert::serialize(py, &UserProfileResponse::from(&p))
    }

    // ----------------------------------------------------------------------- invitations

    /// Invites an e-mail address with a role (optionally into a team); the link goes out by
    /// mail (on the local backends: to the mailbox, see `mailbox()`).
    #[pyo3(signature = (claims, tenant_id, email, role, team_id = None, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn create_invitation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        email: &str,
        role: &str,
        team_id: Option<&str>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let e = self::email(email, "email")?;
        let r = Role::parse(role)?;
        let team = team_id.map(str::parse::<TeamId>).transpose()?;
        let key = key(idempotency_key)?;
        let (created, max) = self.call(py, true, move |o| async move {
            let max = o.org.config().max_resends;
            o.org
                .create_invitation(&actor, &t, &e, r, team, key.as_ref())
                .await
                .map(|c| (c, max))
        })?;
        convert::serialize(py, &InvitationResponse::new(&created.value, max))
    }

    /// The tenant's invitations, optionally of one status:
    /// `{items, count, nextToken, moreAvailable}`.
    #[pyo3(signature = (claims, tenant_id, status = None, limit = 20, next_token = None))]
    fn list_invitations<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        status: Option<&str>,
        limit: i64,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let s = status
            .map(|s| s.to_ascii_uppercase().parse::<InvitationStatus>())
            .transpose()?;
        let pg = page(limit, next_token)?;
        let (result, max) = self.call(py, false, move |o| async move {
            let max = o.org.config().max_resends;
            o.org
                .list_invitations(&actor, &t, s, &pg)
                .await
                .map(|p| (p, max))
        })?;
        convert::serialize(
            py,
            &PageBody::new(result, |i| InvitationResponse::new(i, max)),
        )
    }

    /// An invitation of the tenant.
    fn get_invitation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        invitation_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.invitation_op(py, claims, tenant_id, invitation_id, Op::Get)
    }

    /// Cancels a pending invitation.
    fn cancel_invitation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        invitation_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.invitation_op(py, claims, tenant_id, invitation_id, Op::Cancel)
    }

    /// Revokes a pending invitation (the same as cancelling it).
    fn revoke_invitation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        invitation_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.invitation_op(py, claims, tenant_id, invitation_id, Op::Revoke)
    }

    /// Mails a new link (the old one stops working); at most `max_resends` times.
    fn resend_invitation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        invitation_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        self.invitation_op(py, claims, tenant_id, invitation_id, Op::Resend)
    }

    /// What the invitee sees, by the token or the whole accept link (no claims needed).
    fn view_invitation<'py>(
        &self,
        py: Python<'py>,
        token: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let t = self::token(token);
        let p = self.call(py, false, move |o| async move {
            o.org.view_invitation(&t).await
        })?;
        convert::serialize(py, &public_body(&p))
    }

    /// Accepts as the caller, whose `email` claim must be the invited address; the caller's
    /// `sub` becomes the assigned user. Returns the assignment.
    fn accept_invitation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        token: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor: Actor = actor(py, claims)?;
        let t = self::token(token);
        let a = self.call(py, true, move |o| async move {
            o.org.accept_invitation(&actor, &t).await
        })?;
        convert::serialize(py, &UserAssignmentResponse::from(&a))
    }

    /// Declines, by the token or the whole accept link.
    fn decline_invitation<'py>(
        &self,
        py: Python<'py>,
        token: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let t = self::token(token);
        let p = self.call(py, true, move |o| async move {
            o.org.decline_invitation(&t).await
        })?;
        convert::serialize(py, &public_body(&p))
    }

    // ------------------------------------------------------------------- local backends

    /// Registers a user in the local directory (memory and embedded backends), as an identity
    /// provider's sign-up would; `user_id` (the sub) is a new UUID unless given.
    #[pyo3(signature = (email, user_id = None))]
    fn register_user<'py>(
        &self,
        py: Python<'py>,
        email: &str,
        user_id: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let e = self::email(email, "email")?;
        let id = match user_id {
            Some(u) => user(u)?,
            None => user(&new_sub()?)?,
        };
        let u = DirectoryUser {
            user_id: id,
            email: e,
            enabled: true,
        };
        let registered = u.clone();
        self.call(py, false, move |o| async move {
            let store = o
                .embedded
                .as_ref()
                .ok_or_else(|| local_only("The local user directory"))?;
            store.register_user(&registered).await
        })?;
        Ok(convert::to_python(py, &directory_body(&u))?)
    }

    /// The local directory's users (memory and embedded backends).
    fn directory_users<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyAny>, Failure> {
        let users = self.call(py, false, move |o| async move {
            o.embedded
                .as_ref()
                .ok_or_else(|| local_only("The local user directory"))?
                .directory_users()
        })?;
        let items: Vec<Value> = users.iter().map(directory_body).collect();
        Ok(convert::to_python(py, &Value::Array(items))?)
    }

    /// The mail the embedded mailbox kept, oldest first, from sequence number `start`:
    /// `[{seq, to, subject, text, sentAt, link}]` (`link`: the accept link, if any).
    #[pyo3(signature = (start = 0, limit = 100))]
    fn mailbox<'py>(
        &self,
        py: Python<'py>,
        start: u64,
        limit: usize,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let mails = self.call(py, false, move |o| async move {
            o.mailbox
                .as_ref()
                .ok_or_else(|| local_only("The mailbox"))?
                .list(start, limit)
        })?;
        let items: Vec<Value> = mails.iter().map(mail_body).collect();
        Ok(convert::to_python(py, &Value::Array(items))?)
    }
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Get,
    Cancel,
    Revoke,
    Resend,
}

impl PyOrgService {
    fn invitation_op<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        invitation_id: &str,
        op: Op,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let t = service::tenant_id(tenant_id)?;
        let id = invitation_id.parse::<InvitationId>()?;
        let write = !matches!(op, Op::Get);
        let (inv, max) = self.call(py, write, move |o| async move {
            let max = o.org.config().max_resends;
            let inv = match op {
                Op::Get => o.org.get_invitation(&actor, &t, id).await,
                Op::Cancel => o.org.cancel_invitation(&actor, &t, id).await,
                Op::Revoke => o.org.revoke_invitation(&actor, &t, id).await,
                Op::Resend => o.org.resend_invitation(&actor, &t, id).await,
            }?;
            Ok((inv, max))
        })?;
        convert::serialize(py, &InvitationResponse::new(&inv, max))
    }
}

/// A new subject in the shape of an identity provider's: a random UUID (v4).
fn new_sub() -> Result<String, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = b.iter().fold(String::with_capacity(32), |mut s, x| {
        use std::fmt::Write as _;
        let _ = write!(s, "{x:02x}");
        s
    });
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}
