//! Authorization: who the caller is ([`Actor`], built from identity claims) and what a role may
//! do (the LLD 2.5 §9.2 matrix, decision C24).
//!
//! The role a caller has on a tenant comes from `cognito:groups`:
//! - `Admins`: platform admin, Admin on every tenant;
//! - `Operators` / `Viewers`: that role on each tenant listed in `custom:tenantIds`;
//! - `{tenantId}-admins|operators|viewers`: that role on that tenant.
//!
//! The highest role wins. A caller with no role on a tenant is answered as if the tenant did not
//! exist (404), so tenant ids cannot be probed.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::ids::TenantId;

/// A role on a tenant. Ordered: `Viewer < Operator < Admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    Viewer,
    Operator,
    Admin,
}

impl Role {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "Admin",
            Self::Operator => "Operator",
            Self::Viewer => "Viewer",
        }
    }

    /// Parses `Admin`/`Operator`/`Viewer` in any letter case (C4).
    pub fn parse(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "viewer" => Ok(Self::Viewer),
            _ => Err(Error::field(
                "role",
                "Invalid role. Must be Admin, Operator, or Viewer",
            )),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The identity claims bbws reads (LLD §9.1), whatever carried them: a bearer JWT, the API
/// Gateway REST authorizer or the HTTP API JWT authorizer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub email: Option<String>,
    pub groups: Vec<String>,
    pub tenant_ids: Vec<String>,
    pub customer_id: Option<String>,
}

impl Claims {
    /// Reads claims from a JSON object. `cognito:groups` may be a JSON array, or a string as API
    /// Gateway flattens it (`"[Admins, tenant-1-admins]"`, `"Admins,Operators"` or
    /// `"Admins Operators"`); `custom:tenantIds` is a comma list or an array.
    pub fn from_json(v: &Value) -> Result<Self> {
        let obj = v
            .as_object()
            .ok_or_else(|| Error::Unauthorized("Invalid token claims".into()))?;
        let text = |k: &str| {
            obj.get(k)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let sub = text("sub")
            .ok_or_else(|| Error::Unauthorized("Token has no subject".into()))?
            .to_owned();
        Ok(Self {
            sub,
            email: text("email").map(str::to_owned),
            groups: list(obj.get("cognito:groups")),
            tenant_ids: list(obj.get("custom:tenantIds")),
            customer_id: text("custom:customerId").map(str::to_owned),
        })
    }
}

fn list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => s
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .split(|c: char| c == ',' || c.is_whitespace())
            .map(|p| p.trim().trim_matches('"'))
            .filter(|p| !p.is_empty())
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

/// What a caller may see: every tenant, the listed ones, or every tenant of a customer and the
/// listed ones (a customer admin, C23).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Only(Vec<TenantId>),
    CustomerAnd(String, Vec<TenantId>),
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    sub: String,
    email: Option<String>,
    platform_admin: bool,
    global_operator: bool,
    customer_id: Option<String>,
    customer_admin: bool,
    /// The customer whose tenants [`Self::scope`] covers (set once the roles come from the
    /// store, see [`Self::with_customer_scope`]).
    customer_scope: Option<String>,
    roles: BTreeMap<TenantId, Role>,
}

/// Something a caller asks to do to one tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TenantAction {
    /// GET a tenant, its lifecycle.
    Read,
    /// PUT.
    Update,
    /// DELETE (deprovision).
    Delete,
    /// park, unpark, suspend, resume, and PATCH to those states (Admin only, BR-STATUS-004/007).
    Lifecycle,
    /// PATCH PENDING → ACTIVE / FAILED and FAILED → PENDING (System/Operator, BR-STATUS-001).
    Provisioning,
    /// The audit trail.
    ReadAudit,
}

impl TenantAction {
    const fn min_role(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::Provisioning => Role::Operator,
            Self::Update | Self::Delete | Self::Lifecycle | Self::ReadAudit => Role::Admin,
        }
    }
}

impl Actor {
    pub const PLATFORM_ADMINS: &'static str = "Admins";
    pub const OPERATORS: &'static str = "Operators";
    pub const VIEWERS: &'static str = "Viewers";
    /// With `custom:customerId`: Admin on every tenant of that customer (C23).
    pub const CUSTOMER_ADMINS: &'static str = "CustomerAdmins";

    pub fn from_claims(claims: &Claims) -> Self {
        let mut actor = Self {
            sub: claims.sub.clone(),
            email: claims.email.clone(),
            platform_admin: false,
            global_operator: false,
            customer_id: claims.customer_id.clone(),
            customer_admin: false,
            customer_scope: None,
            roles: BTreeMap::new(),
        };
        let listed: Vec<TenantId> = claims
            .tenant_ids
            .iter()
            .filter_map(|t| t.trim().parse().ok())
            .collect();
        for group in &claims.groups {
            match group.as_str() {
                Self::PLATFORM_ADMINS => actor.platform_admin = true,
                Self::CUSTOMER_ADMINS => actor.customer_admin = actor.customer_id.is_some(),
                Self::OPERATORS => {
                    actor.global_operator = true;
                    for t in &listed {
                        actor.grant(*t, Role::Operator);
                    }
                }
                Self::VIEWERS => {
                    for t in &listed {
                        actor.grant(*t, Role::Viewer);
                    }
                }
                other => {
                    let parsed = other
                        .rsplit_once('-')
                        .and_then(|(t, r)| Some((t.parse::<TenantId>().ok()?, r)));
                    let role = match parsed {
                        Some((t, "admins")) => Some((t, Role::Admin)),
                        Some((t, "operators")) => Some((t, Role::Operator)),
                        Some((t, "viewers")) => Some((t, Role::Viewer)),
                        _ => None,
                    };
                    if let Some((t, r)) = role {
                        actor.grant(t, r);
                    }
                }
            }
        }
        actor
    }

    /// The platform administrator that operators act as from the local CLI.
    pub fn local_admin(email: &str) -> Self {
        Self::from_claims(&Claims {
            sub: format!("local:{email}"),
            email: Some(email.to_owned()),
            groups: vec![Self::PLATFORM_ADMINS.to_owned()],
            ..Claims::default()
        })
    }

    fn grant(&mut self, tenant: TenantId, role: Role) {
        let slot = self.roles.entry(tenant).or_insert(role);
        *slot = (*slot).max(role);
    }

    pub fn sub(&self) -> &str {
        &self.sub
    }

    /// The name written to `createdBy`, `parkedBy`, audit `actor`: the e-mail, else the subject.
    pub fn label(&self) -> &str {
        self.email.as_deref().unwrap_or(&self.sub)
    }

    pub fn customer_id(&self) -> Option<&str> {
        self.customer_id.as_deref()
    }

    pub fn is_platform_admin(&self) -> bool {
        self.platform_admin
    }

    /// The e-mail claim, if the token carried one.
    pub fn email(&self) -> Option<&str> {
        self.email.as_deref()
    }

    /// A member of [`Self::CUSTOMER_ADMINS`] with a `custom:customerId`: Admin on the tenants of
    /// that customer (C23).
    pub fn is_customer_admin(&self) -> bool {
        self.customer_admin && self.customer_id.is_some()
    }

    /// The same caller with its tenant roles taken from elsewhere than the claims: the stored
    /// user assignments, which are the source of truth for authorization (C24). Platform admin,
    /// `Operators` membership and the customer stay as the claims say; the tenant roles the
    /// claims listed are replaced (a removed user's token still names the tenant until it
    /// expires).
    #[must_use]
    pub fn with_tenant_roles(&self, roles: impl IntoIterator<Item = (TenantId, Role)>) -> Self {
        let mut actor = self.clone();
        actor.roles = BTreeMap::new();
        for (tenant, role) in roles {
            actor.grant(tenant, role);
        }
        actor
    }

    /// The same caller, seeing every tenant of its customer besides the ones it holds roles on,
    /// when it is a customer admin (C23). The organisation service sets this with the roles it
    /// read from the store, where a tenant's customer decides the customer admin's role.
    #[must_use]
    pub fn with_customer_scope(&self) -> Self {
        let mut actor = self.clone();
        actor.customer_scope = if actor.is_customer_admin() {
            actor.customer_id.clone()
        } else {
            None
        };
        actor
    }

    /// The caller's role on a tenant, if any.
    pub fn role_in(&self, tenant: &TenantId) -> Option<Role> {
        if self.platform_admin {
            Some(Role::Admin)
        } else {
            self.roles.get(tenant).copied()
        }
    }

    /// The tenants the caller may see.
    pub fn scope(&self) -> Scope {
        let listed = self.roles.keys().copied().collect();
        match (self.platform_admin, &self.customer_scope) {
            (true, _) => Scope::All,
            (false, Some(customer)) => Scope::CustomerAnd(customer.clone(), listed),
            (false, None) => Scope::Only(listed),
        }
    }

    /// Creating a tenant is not scoped to one: platform admins and members of `Operators`
    /// (LLD §6.4 T1: Operator, Admin).
    pub fn authorize_create(&self) -> Result<()> {
        if self.platform_admin || self.global_operator {
            Ok(())
        } else {
            Err(Error::Forbidden(
                "Creating tenants needs the Admin or Operator role".into(),
            ))
        }
    }

    /// 404 when the tenant is outside the caller's scope, 403 when the role is too low.
    pub fn authorize(&self, tenant: &TenantId, action: TenantAction) -> Result<Role> {
        let role = self
            .role_in(tenant)
            .ok_or_else(|| Error::tenant_not_found(tenant))?;
        if role >= action.min_role() {
            Ok(role)
        } else {
            Err(Error::Forbidden(format!(
                "This action needs the {} role on the tenant",
                action.min_role()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const T1: &str = "tenant-11111111-1111-4111-8111-111111111111";
    const T2: &str = "tenant-22222222-2222-4222-8222-222222222222";

    fn t(s: &str) -> TenantId {
        s.parse().expect("valid id")
    }

    fn actor(v: &Value) -> Actor {
        Actor::from_claims(&Claims::from_json(v).expect("claims"))
    }

    #[test]
    fn groups_in_every_shape() {
        for groups in [
            json!(["Admins"]),
            json!("[Admins, x]"),
            json!("x,Admins"),
            json!("x Admins"),
        ] {
            assert!(actor(&json!({"sub":"u","cognito:groups":groups})).is_platform_admin());
        }
    }

    #[test]
    fn roles_from_groups_and_tenant_ids() {
        let a = actor(
            &json!({"sub":"u","cognito:groups":["Viewers"],"custom:tenantIds":format!("{T1}, {T2}")}),
        );
        assert_eq!(a.role_in(&t(T1)), Some(Role::Viewer));
        assert!(matches!(
            a.authorize(&t(T1), TenantAction::Update),
            Err(Error::Forbidden(_))
        ));
        assert!(a.authorize(&t(T1), TenantAction::Read).is_ok());

        let a = actor(
            &json!({"sub":"u","cognito:groups":[format!("{T1}-admins"), "Viewers"],"custom:tenantIds":T1}),
        );
        assert_eq!(a.role_in(&t(T1)), Some(Role::Admin), "highest role wins");
        assert!(matches!(
            a.authorize(&t(T2), TenantAction::Read),
            Err(Error::TenantNotFound { .. })
        ));
        assert!(a.authorize_create().is_err());

        let a = actor(&json!({"sub":"u","cognito:groups":["Operators"]}));
        assert!(a.authorize_create().is_ok());
        assert_eq!(a.scope(), Scope::Only(vec![]));
    }

    #[test]
    fn claims_need_a_subject() {
        assert!(matches!(
            Claims::from_json(&json!({"email":"a@b.co"})),
            Err(Error::Unauthorized(_))
        ));
        assert!(matches!(
            Claims::from_json(&json!("x")),
            Err(Error::Unauthorized(_))
        ));
    }
}
