//! Wire shapes of the organisation API (digest 2.5 §1.2 D, G, M, H, U, F, G-public; §1.3), their
//! OpenAPI schemas, and their conversion from domain types. Request bodies are strict: unknown
//! fields are refused.

use bbws_core::auth::Role;
use bbws_core::error::{Error, FieldError};
use bbws_core::ids::{TeamId, TenantId};
use bbws_core::org::{
    Assignment, Invitation, InvitationStatus, OrgTree, OrgUnit, PublicInvitation, TeamMember,
    UnitName, UnitPath, UserId, UserProfile, UserTenant,
};
use bbws_core::tenant::Email;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{Link, Links, tenant_href};

/// The validation errors of an error (any other error becomes one `body` error).
fn field_errors(e: Error) -> Vec<FieldError> {
    match e {
        Error::Validation { fields, .. } => fields,
        other => vec![FieldError::new("body", other.to_string())],
    }
}

// ---------------------------------------------------------------- hrefs

/// The href of a hierarchy node.
pub fn unit_href(tenant: &TenantId, path: UnitPath) -> String {
    let base = tenant_href(tenant);
    match path {
        UnitPath::Division(d) => format!("{base}/divisions/{d}"),
        UnitPath::Group(d, g) => format!("{base}/divisions/{d}/groups/{g}"),
        UnitPath::Team(d, g, t) => format!("{base}/divisions/{d}/groups/{g}/teams/{t}"),
    }
}

/// The href of a tenant's user assignment.
pub fn assignment_href(tenant: &TenantId, user: &UserId) -> String {
    format!(
        "{}/users/{}",
        tenant_href(tenant),
        encode_segment(user.as_str())
    )
}

/// The href of a user.
pub fn user_href(user: &UserId) -> String {
    format!("/v1.0/users/{}", encode_segment(user.as_str()))
}

/// The href of an invitation.
pub fn invitation_href(i: &Invitation) -> String {
    format!("{}/invitations/{}", tenant_href(&i.tenant_id), i.id)
}

/// Percent-encodes one path segment (user ids may hold any visible character but `#`).
pub fn encode_segment(v: &str) -> String {
    use std::fmt::Write as _;
    v.bytes().fold(String::new(), |mut s, b| {
        if b.is_ascii_alphanumeric() || b"-._~@:".contains(&b) {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
        s
    })
}

// ---------------------------------------------------------------- hierarchy

/// A division, group or team (OA2 `Division`; groups and teams by analogy).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgUnitResponse {
    /// `DIVISION`, `GROUP` or `TEAM`.
    #[schema(example = "DIVISION")]
    pub kind: String,
    pub tenant_id: String,
    #[schema(example = "div-123e4567-e89b-12d3-a456-426614174000")]
    pub division_id: String,
    /// Set on groups and teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// Set on teams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team_id: Option<String>,
    pub name: String,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    pub version: u64,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&OrgUnit> for OrgUnitResponse {
    fn from(u: &OrgUnit) -> Self {
        let href = unit_href(&u.tenant_id, u.path);
        let mut links = Links::new();
        links.insert("self".into(), Link::get(&href));
        links.insert("tenant".into(), Link::get(tenant_href(&u.tenant_id)));
        links.insert(
            "hierarchy".into(),
            Link::get(format!("{}/hierarchy", tenant_href(&u.tenant_id))),
        );
        let (group_id, team_id) = match u.path {
            UnitPath::Division(_) => {
                links.insert("groups".into(), Link::get(format!("{href}/groups")));
                (None, None)
            }
            UnitPath::Group(d, g) => {
                links.insert("teams".into(), Link::get(format!("{href}/teams")));
                links.insert(
                    "parent".into(),
                    Link::get(unit_href(&u.tenant_id, UnitPath::Division(d))),
                );
                (Some(g.to_string()), None)
            }
            UnitPath::Team(d, g, t) => {
                links.insert("users".into(), Link::get(format!("{href}/users")));
                links.insert(
                    "parent".into(),
                    Link::get(unit_href(&u.tenant_id, UnitPath::Group(d, g))),
                );
                (Some(g.to_string()), Some(t.to_string()))
            }
        };
        if u.active {
            links.insert("update".into(), Link::action("PUT", &href));
            links.insert("delete".into(), Link::action("DELETE", &href));
        }
        Self {
            kind: u.kind().as_str().to_owned(),
            tenant_id: u.tenant_id.to_string(),
            division_id: u.path.division().to_string(),
            group_id,
            team_id,
            name: u.name.as_str().to_owned(),
            created_at: u.created.at.to_string(),
            created_by: u.created.by.clone(),
            updated_at: u.updated.at.to_string(),
            updated_by: u.updated.by.clone(),
            version: u.version,
            links,
        }
    }
}

/// A page of divisions, groups or teams.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrgUnitListResponse {
    pub items: Vec<OrgUnitResponse>,
    pub count: usize,
    /// Pass back as `nextToken` for the next page; `null` on the last page.
    pub next_token: Option<String>,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// Body of `POST …/divisions`, `…/groups`, `…/teams` and of their `PUT`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitNameRequest {
    /// 2–50 characters: letters, digits, spaces and `- _ ' & . ( )`; unique within the parent
    /// regardless of case.
    #[schema(
        required = true,
        nullable = false,
        min_length = 2,
        max_length = 50,
        pattern = r"^[A-Za-z0-9_&.()'-]+( [A-Za-z0-9_&.()'-]+)*$",
        example = "Sales"
    )]
    pub name: Option<String>,
    /// On `PUT`: alternative to `If-Match`.
    #[schema(nullable = false, minimum = 1)]
    pub version: Option<u64>,
}

impl UnitNameRequest {
    pub fn parse(self) -> Result<(UnitName, Option<u64>), Error> {
        let name = self
            .name
            .ok_or_else(|| Error::field("name", "name is required"))?;
        Ok((UnitName::parse(&name)?, self.version))
    }
}

/// A member of a team.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberResponse {
    pub tenant_id: String,
    pub division_id: String,
    pub group_id: String,
    pub team_id: String,
    pub user_id: String,
    pub email: String,
    pub added_at: String,
    pub added_by: String,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&TeamMember> for TeamMemberResponse {
    fn from(m: &TeamMember) -> Self {
        let team = unit_href(&m.tenant_id, m.team);
        let href = format!("{team}/users/{}", encode_segment(m.user_id.as_str()));
        let mut links = Links::new();
        links.insert("team".into(), Link::get(&team));
        links.insert(
            "assignment".into(),
            Link::get(assignment_href(&m.tenant_id, &m.user_id)),
        );
        links.insert("remove".into(), Link::action("DELETE", href));
        let (group_id, team_id) = match m.team {
            UnitPath::Team(_, g, t) => (g.to_string(), t.to_string()),
            UnitPath::Group(_, g) => (g.to_string(), String::new()),
            UnitPath::Division(_) => (String::new(), String::new()),
        };
        Self {
            tenant_id: m.tenant_id.to_string(),
            division_id: m.team.division().to_string(),
            group_id,
            team_id,
            user_id: m.user_id.as_str().to_owned(),
            email: m.email.as_str().to_owned(),
            added_at: m.added.at.to_string(),
            added_by: m.added.by.clone(),
            links,
        }
    }
}

/// A page of team members.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamMemberListResponse {
    pub items: Vec<TeamMemberResponse>,
    pub count: usize,
    pub next_token: Option<String>,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// Body of `POST …/teams/{teamId}/users`: a user assigned to the tenant.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddMemberRequest {
    #[schema(
        required = true,
        nullable = false,
        min_length = 1,
        max_length = 128,
        pattern = r"^[^\s#\x00-\x1f\x7f-\x9f]{1,128}$"
    )]
    pub user_id: Option<String>,
}

impl AddMemberRequest {
    pub fn parse(self) -> Result<UserId, Error> {
        let raw = self
            .user_id
            .ok_or_else(|| Error::field("userId", "userId is required"))?;
        UserId::parse(&raw)
    }
}

/// A team in the tree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TeamTreeNode {
    pub team_id: String,
    pub name: String,
    pub members: Vec<TeamMemberResponse>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// A group in the tree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupTreeNode {
    pub group_id: String,
    pub name: String,
    pub teams: Vec<TeamTreeNode>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// A division in the tree.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DivisionTreeNode {
    pub division_id: String,
    pub name: String,
    pub groups: Vec<GroupTreeNode>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// A tenant's whole active hierarchy (H1), children ordered by name.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HierarchyTreeResponse {
    pub tenant_id: String,
    pub divisions: Vec<DivisionTreeNode>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

fn self_link(href: String) -> Links {
    let mut l = Links::new();
    l.insert("self".into(), Link::get(href));
    l
}

impl HierarchyTreeResponse {
    pub fn new(tenant: &TenantId, tree: &OrgTree) -> Self {
        let base = tenant_href(tenant);
        let mut links = self_link(format!("{base}/hierarchy"));
        links.insert("tenant".into(), Link::get(&base));
        links.insert("divisions".into(), Link::get(format!("{base}/divisions")));
        Self {
            tenant_id: tenant.to_string(),
            divisions: tree
                .divisions
                .iter()
                .map(|d| DivisionTreeNode {
                    division_id: d.unit.path.id_string(),
                    name: d.unit.name.as_str().to_owned(),
                    links: self_link(unit_href(tenant, d.unit.path)),
                    groups: d
                        .groups
                        .iter()
                        .map(|g| GroupTreeNode {
                            group_id: g.unit.path.id_string(),
                            name: g.unit.name.as_str().to_owned(),
                            links: self_link(unit_href(tenant, g.unit.path)),
                            teams: g
                                .teams
                                .iter()
                                .map(|t| TeamTreeNode {
                                    team_id: t.unit.path.id_string(),
                                    name: t.unit.name.as_str().to_owned(),
                                    links: self_link(unit_href(tenant, t.unit.path)),
                                    members: t
                                        .members
                                        .iter()
                                        .map(TeamMemberResponse::from)
                                        .collect(),
                                })
                                .collect(),
                        })
                        .collect(),
                })
                .collect(),
            links,
        }
    }
}

/// Body of the compatibility `POST`/`PUT /hierarchy` (OA1 `HierarchyRequest`, C8).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HierarchyRequest {
    #[schema(
        required = true,
        nullable = false,
        min_length = 2,
        max_length = 50,
        pattern = r"^[A-Za-z0-9_&.()'-]+( [A-Za-z0-9_&.()'-]+)*$",
        example = "Sales"
    )]
    pub division: Option<String>,
    #[schema(
        nullable = false,
        min_length = 2,
        max_length = 50,
        pattern = r"^[A-Za-z0-9_&.()'-]+( [A-Za-z0-9_&.()'-]+)*$"
    )]
    pub group: Option<String>,
    /// Needs `group`.
    #[schema(
        nullable = false,
        min_length = 2,
        max_length = 50,
        pattern = r"^[A-Za-z0-9_&.()'-]+( [A-Za-z0-9_&.()'-]+)*$"
    )]
    pub team: Option<String>,
    /// `PUT` only, and required there: the new name of the deepest named level.
    #[schema(
        nullable = false,
        min_length = 2,
        max_length = 50,
        pattern = r"^[A-Za-z0-9_&.()'-]+( [A-Za-z0-9_&.()'-]+)*$"
    )]
    pub new_name: Option<String>,
    /// `PUT` only: alternative to `If-Match` (the version of the node renamed).
    #[schema(nullable = false, minimum = 1)]
    pub version: Option<u64>,
}

/// The names of a hierarchy path.
#[derive(Debug, Clone)]
pub struct NamedPath {
    pub division: UnitName,
    pub group: Option<UnitName>,
    pub team: Option<UnitName>,
}

/// Parses the three levels of a path of names, collecting every field error.
pub fn named_path(
    division: Option<&str>,
    group: Option<&str>,
    team: Option<&str>,
) -> Result<NamedPath, Error> {
    let mut errors = Vec::new();
    let mut level = |v: Option<&str>, field: &str| -> Option<UnitName> {
        match UnitName::parse_field(v?, field) {
            Ok(n) => Some(n),
            Err(e) => {
                errors.extend(field_errors(e));
                None
            }
        }
    };
    let d = level(division, "division");
    let g = level(group, "group");
    let t = level(team, "team");
    if division.is_none() {
        errors.push(FieldError::new("division", "division is required"));
    }
    if group.is_none() && team.is_some() {
        errors.push(FieldError::new("group", "A team needs a group"));
    }
    match d {
        Some(division) if errors.is_empty() => Ok(NamedPath {
            division,
            group: g,
            team: t,
        }),
        _ => Err(Error::fields(errors)),
    }
}

impl HierarchyRequest {
    /// For `POST`: the path; `newName` and `version` are not allowed.
    pub fn parse_create(self) -> Result<NamedPath, Error> {
        if self.new_name.is_some() {
            return Err(Error::field("newName", "newName is only for PUT"));
        }
        if self.version.is_some() {
            return Err(Error::field("version", "version is only for PUT"));
        }
        named_path(
            self.division.as_deref(),
            self.group.as_deref(),
            self.team.as_deref(),
        )
    }

    /// For `PUT`: the path, the new name and the version named in the body.
    pub fn parse_rename(self) -> Result<(NamedPath, UnitName, Option<u64>), Error> {
        let path = named_path(
            self.division.as_deref(),
            self.group.as_deref(),
            self.team.as_deref(),
        );
        let name = match self.new_name.as_deref() {
            None => Err(Error::field("newName", "newName is required")),
            Some(n) => UnitName::parse_field(n, "newName"),
        };
        match (path, name) {
            (Ok(p), Ok(n)) => Ok((p, n, self.version)),
            (Err(a), Err(b)) => {
                let mut fields = field_errors(a);
                fields.extend(field_errors(b));
                Err(Error::fields(fields))
            }
            (Err(e), _) | (_, Err(e)) => Err(e),
        }
    }
}

/// One path of the hierarchy (OA1 `Hierarchy`), with the ids of its levels.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HierarchyPathResponse {
    pub tenant_id: String,
    pub division: String,
    pub division_id: String,
    pub group: Option<String>,
    pub group_id: Option<String>,
    pub team: Option<String>,
    pub team_id: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The version of the deepest level (its `ETag`).
    pub version: u64,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl HierarchyPathResponse {
    /// From the nodes of a path, division first; `None` if there are none.
    pub fn new(nodes: &[OrgUnit]) -> Option<Self> {
        let first = nodes.first()?;
        let last = nodes.last()?;
        let of = |i: usize| nodes.get(i);
        let name = |i: usize| of(i).map(|u| u.name.as_str().to_owned());
        let id = |i: usize| of(i).map(|u| u.path.id_string());
        let tenant = &first.tenant_id;
        let mut links = self_link(unit_href(tenant, last.path));
        links.insert(
            "hierarchy".into(),
            Link::get(format!("{}/hierarchy", tenant_href(tenant))),
        );
        Some(Self {
            tenant_id: tenant.to_string(),
            division: first.name.as_str().to_owned(),
            division_id: first.path.id_string(),
            group: name(1),
            group_id: id(1),
            team: name(2),
            team_id: id(2),
            created_at: last.created.at.to_string(),
            updated_at: last.updated.at.to_string(),
            version: last.version,
            links,
        })
    }
}

// ---------------------------------------------------------------- users

/// A user's assignment to a tenant (`UserAssignment`).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignmentResponse {
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    /// `Admin`, `Operator` or `Viewer`.
    #[schema(example = "Operator")]
    pub role: String,
    pub active: bool,
    pub assigned_at: String,
    pub assigned_by: String,
    pub updated_at: String,
    pub updated_by: String,
    pub version: u64,
    /// On assignment: e.g. "User already assigned to another tenant" (BR-USER-002).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&Assignment> for UserAssignmentResponse {
    fn from(a: &Assignment) -> Self {
        let href = assignment_href(&a.tenant_id, &a.user_id);
        let mut links = self_link(href.clone());
        links.insert("tenant".into(), Link::get(tenant_href(&a.tenant_id)));
        links.insert("user".into(), Link::get(user_href(&a.user_id)));
        links.insert("update".into(), Link::action("PUT", &href));
        links.insert("remove".into(), Link::action("DELETE", &href));
        Self {
            tenant_id: a.tenant_id.to_string(),
            user_id: a.user_id.as_str().to_owned(),
            email: a.email.as_str().to_owned(),
            role: a.role.as_str().to_owned(),
            active: a.active,
            assigned_at: a.assigned.at.to_string(),
            assigned_by: a.assigned.by.clone(),
            updated_at: a.updated.at.to_string(),
            updated_by: a.updated.by.clone(),
            version: a.version,
            warnings: Vec::new(),
            links,
        }
    }
}

/// A page of a tenant's users.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserAssignmentListResponse {
    pub items: Vec<UserAssignmentResponse>,
    pub count: usize,
    pub next_token: Option<String>,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// Body of `POST /v1.0/tenants/{tenantId}/users` (C16).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AssignUserRequest {
    /// The user is found in the identity provider by this e-mail (BR-USER-001).
    #[schema(
        required = true,
        nullable = false,
        format = "email",
        example = "jane@acme.example"
    )]
    pub email: Option<String>,
    /// `Admin`, `Operator` or `Viewer`, any letter case (C4).
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(Admin|Operator|Viewer|ADMIN|OPERATOR|VIEWER|admin|operator|viewer)$",
        example = "Operator"
    )]
    pub role: Option<String>,
    /// Optional; must be the user with this e-mail.
    #[schema(nullable = false, min_length = 1, max_length = 128)]
    pub user_id: Option<String>,
}

fn take<T>(errors: &mut Vec<FieldError>, r: Result<T, Error>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(e) => {
            errors.extend(field_errors(e));
            None
        }
    }
}

fn required<T>(errors: &mut Vec<FieldError>, v: Option<T>, field: &str) -> Option<T> {
    if v.is_none() {
        errors.push(FieldError::new(field, format!("{field} is required")));
    }
    v
}

impl AssignUserRequest {
    pub fn parse(self) -> Result<(Email, Role, Option<UserId>), Error> {
        let mut errors = Vec::new();
        let email = required(&mut errors, self.email, "email")
            .and_then(|e| take(&mut errors, Email::parse_field(&e, "email")));
        let role = required(&mut errors, self.role, "role")
            .and_then(|r| take(&mut errors, Role::parse(&r)));
        let user = match self.user_id {
            None => Some(None),
            Some(u) => take(&mut errors, UserId::parse(&u)).map(Some),
        };
        match (email, role, user) {
            (Some(e), Some(r), Some(u)) if errors.is_empty() => Ok((e, r, u)),
            _ => Err(Error::fields(errors)),
        }
    }
}

/// Body of `PUT /v1.0/tenants/{tenantId}/users/{userId}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeRoleRequest {
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(Admin|Operator|Viewer|ADMIN|OPERATOR|VIEWER|admin|operator|viewer)$",
        example = "Admin"
    )]
    pub role: Option<String>,
    /// Alternative to `If-Match`.
    #[schema(nullable = false, minimum = 1)]
    pub version: Option<u64>,
}

impl ChangeRoleRequest {
    pub fn parse(self) -> Result<(Role, Option<u64>), Error> {
        let role = self
            .role
            .ok_or_else(|| Error::field("role", "role is required"))?;
        Ok((Role::parse(&role)?, self.version))
    }
}

/// One of a user's tenants (OA1 `UserTenantListResponse` item).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTenantResponse {
    pub tenant_id: String,
    pub organization_name: Option<String>,
    pub role: String,
    pub assigned_at: String,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&Assignment> for UserTenantResponse {
    fn from(a: &Assignment) -> Self {
        let mut links = self_link(tenant_href(&a.tenant_id));
        links.insert(
            "assignment".into(),
            Link::get(assignment_href(&a.tenant_id, &a.user_id)),
        );
        Self {
            tenant_id: a.tenant_id.to_string(),
            organization_name: None,
            role: a.role.as_str().to_owned(),
            assigned_at: a.assigned.at.to_string(),
            links,
        }
    }
}

impl From<&UserTenant> for UserTenantResponse {
    fn from(t: &UserTenant) -> Self {
        let mut r = Self::from(&t.assignment);
        r.organization_name.clone_from(&t.organization_name);
        r
    }
}

/// A user's tenants (U6).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTenantListResponse {
    pub user_id: String,
    pub items: Vec<UserTenantResponse>,
    pub count: usize,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// A team a user belongs to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserTeamResponse {
    pub tenant_id: String,
    pub division_id: String,
    pub group_id: String,
    pub team_id: String,
    pub added_at: String,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// A user's profile with tenants and teams (U7).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserProfileResponse {
    pub user_id: String,
    pub email: Option<String>,
    pub tenants: Vec<UserTenantResponse>,
    pub teams: Vec<UserTeamResponse>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&UserProfile> for UserProfileResponse {
    fn from(p: &UserProfile) -> Self {
        let href = user_href(&p.user_id);
        let mut links = self_link(href.clone());
        links.insert("tenants".into(), Link::get(format!("{href}/tenants")));
        Self {
            user_id: p.user_id.as_str().to_owned(),
            email: p.email.as_ref().map(|e| e.as_str().to_owned()),
            tenants: p.tenants.iter().map(UserTenantResponse::from).collect(),
            teams: p
                .teams
                .iter()
                .map(|m| {
                    let m = TeamMemberResponse::from(m);
                    UserTeamResponse {
                        tenant_id: m.tenant_id,
                        division_id: m.division_id,
                        group_id: m.group_id,
                        team_id: m.team_id,
                        added_at: m.added_at,
                        links: m.links,
                    }
                })
                .collect(),
            links,
        }
    }
}

// ---------------------------------------------------------------- invitations

/// An invitation as its tenant's admins see it (C39): the stored fields without the token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationResponse {
    #[schema(example = "inv-123e4567-e89b-12d3-a456-426614174000")]
    pub invitation_id: String,
    pub tenant_id: String,
    pub email: String,
    pub role: String,
    pub team_id: Option<String>,
    /// PENDING, ACCEPTED, DECLINED, EXPIRED or CANCELLED.
    #[schema(example = "PENDING")]
    pub status: String,
    pub active: bool,
    pub expires_at: String,
    pub resend_count: u32,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    pub accepted_at: Option<String>,
    pub accepted_by: Option<String>,
    pub declined_at: Option<String>,
    pub cancelled_at: Option<String>,
    pub cancelled_by: Option<String>,
    pub version: u64,
    /// Set on resend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl InvitationResponse {
    /// The representation, with the actions its state allows (`max_resends` from the service).
    pub fn new(i: &Invitation, max_resends: u32) -> Self {
        let href = invitation_href(i);
        let mut links = self_link(href.clone());
        links.insert("tenant".into(), Link::get(tenant_href(&i.tenant_id)));
        if i.status == InvitationStatus::Pending {
            links.insert("cancel".into(), Link::action("DELETE", &href));
            links.insert(
                "revoke".into(),
                Link::action("POST", format!("{href}/revoke")),
            );
        }
        if matches!(
            i.status,
            InvitationStatus::Pending | InvitationStatus::Expired
        ) && i.resend_count < max_resends
        {
            links.insert(
                "resend".into(),
                Link::action("POST", format!("{href}/resend")),
            );
        }
        Self {
            invitation_id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            email: i.email.as_str().to_owned(),
            role: i.role.as_str().to_owned(),
            team_id: i.team.and_then(UnitPath::team).map(|t| t.to_string()),
            status: i.status.as_str().to_owned(),
            active: i.active(),
            expires_at: i.expires_at.to_string(),
            resend_count: i.resend_count,
            created_at: i.created.at.to_string(),
            created_by: i.created.by.clone(),
            updated_at: i.updated.at.to_string(),
            updated_by: i.updated.by.clone(),
            accepted_at: i.accepted.as_ref().map(|s| s.at.to_string()),
            accepted_by: i.accepted_by.as_ref().map(|u| u.as_str().to_owned()),
            declined_at: i.declined.as_ref().map(|s| s.at.to_string()),
            cancelled_at: i.cancelled.as_ref().map(|s| s.at.to_string()),
            cancelled_by: i.cancelled.as_ref().map(|s| s.by.clone()),
            version: i.version,
            message: None,
            links,
        }
    }
}

/// A page of invitations.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InvitationListResponse {
    pub items: Vec<InvitationResponse>,
    pub count: usize,
    pub next_token: Option<String>,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// Body of `POST /v1.0/tenants/{tenantId}/invitations` (OA2 `CreateInvitationRequest`).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateInvitationRequest {
    #[schema(
        required = true,
        nullable = false,
        format = "email",
        example = "jane@acme.example"
    )]
    pub email: Option<String>,
    /// `Admin`, `Operator` or `Viewer`, any letter case (OA2 spells them `ADMIN`, ...).
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(Admin|Operator|Viewer|ADMIN|OPERATOR|VIEWER|admin|operator|viewer)$",
        example = "VIEWER"
    )]
    pub role: Option<String>,
    /// The team the invitee joins on acceptance.
    #[schema(
        nullable = false,
        pattern = "^team-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    pub team_id: Option<String>,
}

impl CreateInvitationRequest {
    pub fn parse(self) -> Result<(Email, Role, Option<TeamId>), Error> {
        let mut errors = Vec::new();
        let email = required(&mut errors, self.email, "email")
            .and_then(|e| take(&mut errors, Email::parse_field(&e, "email")));
        let role = required(&mut errors, self.role, "role")
            .and_then(|r| take(&mut errors, Role::parse(&r)));
        let team = match self.team_id {
            None => Some(None),
            Some(t) => take(&mut errors, t.parse::<TeamId>()).map(Some),
        };
        match (email, role, team) {
            (Some(e), Some(r), Some(t)) if errors.is_empty() => Ok((e, r, t)),
            _ => Err(Error::fields(errors)),
        }
    }
}

/// What the invitee sees from the link (INV `InvitationResponse`, C39).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PublicInvitationResponse {
    pub email: String,
    pub organisation_name: String,
    pub role: String,
    pub status: String,
    pub expires_at: String,
    pub is_valid: bool,
    /// Set on decline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl PublicInvitationResponse {
    pub fn new(p: &PublicInvitation, href: &str) -> Self {
        let mut links = Links::new();
        if p.is_valid {
            links.insert("self".into(), Link::get(href));
            links.insert(
                "accept".into(),
                Link::action("POST", format!("{href}/accept")),
            );
            links.insert(
                "decline".into(),
                Link::action("POST", format!("{href}/decline")),
            );
        }
        Self {
            email: p.email.as_str().to_owned(),
            organisation_name: p.organisation_name.clone(),
            role: p.role.as_str().to_owned(),
            status: p.status.as_str().to_owned(),
            expires_at: p.expires_at.to_string(),
            is_valid: p.is_valid,
            message: None,
            links,
        }
    }
}

/// The answer to an accepted invitation: the new assignment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AcceptInvitationResponse {
    #[schema(example = "Invitation accepted")]
    pub message: String,
    pub tenant_id: String,
    pub user_id: String,
    pub email: String,
    pub role: String,
    pub assigned_at: String,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&Assignment> for AcceptInvitationResponse {
    fn from(a: &Assignment) -> Self {
        let mut links = Links::new();
        links.insert("tenant".into(), Link::get(tenant_href(&a.tenant_id)));
        links.insert(
            "tenants".into(),
            Link::get(format!("{}/tenants", user_href(&a.user_id))),
        );
        Self {
            message: "Invitation accepted".into(),
            tenant_id: a.tenant_id.to_string(),
            user_id: a.user_id.as_str().to_owned(),
            email: a.email.as_str().to_owned(),
            role: a.role.as_str().to_owned(),
            assigned_at: a.assigned.at.to_string(),
            links,
        }
    }
}
