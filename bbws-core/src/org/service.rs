//! `OrgService`: the organisation use cases of a tenant (hierarchy, users, invitations), each
//! authorized from the stored assignments, validated, audited and published through the outbox
//! in one atomic [`OrgWrite`].

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::audit::AuditEvent;
use crate::auth::{Actor, Role};
use crate::error::{Error, ErrorCode, Result};
use crate::events::{OutboxMessage, TENANT_SOURCE};
use crate::idempotency::{IDEMPOTENCY_TTL, IdempotencyKey, request_fingerprint};
use crate::ids::{EventId, IdGenerator, TenantId};
use crate::ports::TenantDao;
use crate::tenant::{Tenant, TenantStatus};
use crate::time::{Clock, Timestamp};

use super::ports::{
    IdentityDirectory, MAX_TRANSACTION_ITEMS, Mailer, OrgDao, OrgIdempotencyRecord, OrgOutcome,
    OrgWrite,
};

/// What a caller asks to do within a tenant's organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrgAction {
    /// Read the hierarchy and team members (any member, OM).
    Read,
    /// Read the tenant's users (LLD U1/U3: Admin, Operator).
    ReadUsers,
    /// Add and remove team members (OM: Admin, Operator).
    ManageMembers,
    /// Create, rename and delete nodes; assign, re-role and remove users; invitations (Admin).
    Manage,
}

impl OrgAction {
    pub const fn min_role(self) -> Role {
        match self {
            Self::Read => Role::Viewer,
            Self::ReadUsers | Self::ManageMembers => Role::Operator,
            Self::Manage => Role::Admin,
        }
    }
}

/// The ports the service needs. Storage comes from one backend; the directory and the mailer
/// may come from elsewhere (Cognito, SES).
#[derive(Debug, Clone)]
pub struct OrgPorts {
    pub org: Arc<dyn OrgDao>,
    pub tenants: Arc<dyn TenantDao>,
    pub directory: Arc<dyn IdentityDirectory>,
    pub mailer: Arc<dyn Mailer>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct OrgServiceConfig {
    /// The customer portal; accept links are `{portal_url}/invitations/{token}`.
    pub portal_url: String,
    /// BR-INV-001: 7 days.
    pub invitation_ttl: Duration,
    /// C14: 3.
    pub max_resends: u32,
    /// OM §8.3: 100 divisions per tenant, groups per division, teams per group.
    pub max_children: u64,
    pub idempotency_ttl: Duration,
    /// How often a write without `If-Match` is tried before a lost race is reported.
    pub write_attempts: u32,
}

impl Default for OrgServiceConfig {
    fn default() -> Self {
        Self {
            portal_url: "http://localhost:8080".to_owned(),
            invitation_ttl: Duration::from_hours(24 * 7),
            max_resends: 3,
            max_children: 100,
            idempotency_ttl: IDEMPOTENCY_TTL,
            write_attempts: 32,
        }
    }
}

/// The organisation use cases. Methods live in `hierarchy.rs`, `users.rs` and `invitations.rs`.
#[derive(Debug, Clone)]
pub struct OrgService {
    pub(super) ports: OrgPorts,
    pub(super) config: OrgServiceConfig,
}

/// An idempotent create's scoped key and request fingerprint.
pub(super) type Idem = Option<(String, String)>;

impl OrgService {
    pub fn new(ports: OrgPorts) -> Self {
        Self {
            ports,
            config: OrgServiceConfig::default(),
        }
    }

    #[must_use]
    pub fn with_config(mut self, config: OrgServiceConfig) -> Self {
        self.config = config;
        self
    }

    pub fn ports(&self) -> &OrgPorts {
        &self.ports
    }

    pub fn config(&self) -> &OrgServiceConfig {
        &self.config
    }

    pub(super) fn now(&self) -> Timestamp {
        self.ports.clock.now()
    }

    pub(super) async fn load_tenant(&self, id: &TenantId) -> Result<Tenant> {
        self.ports
            .tenants
            .get_tenant(id)
            .await?
            .ok_or_else(|| Error::tenant_not_found(id))
    }

    /// The caller's role on a tenant (C23, C24): platform admin → Admin; customer admin of the
    /// tenant's customer → Admin; else the stored, active assignment's role.
    pub async fn role_on(&self, actor: &Actor, tenant: &Tenant) -> Result<Option<Role>> {
        if actor.is_platform_admin() {
            return Ok(Some(Role::Admin));
        }
        if actor.is_customer_admin()
            && tenant.customer_id.is_some()
            && tenant.customer_id.as_deref() == actor.customer_id()
        {
            return Ok(Some(Role::Admin));
        }
        let Ok(user) = super::values::UserId::parse(actor.sub()) else {
            return Ok(None);
        };
        Ok(self
            .ports
            .org
            .get_assignment(&tenant.id, &user)
            .await?
            .filter(|a| a.active)
            .map(|a| a.role))
    }

    /// The caller with its role on one tenant resolved from the store, for the services that
    /// read roles from an [`Actor`] (e.g. [`crate::tenant::TenantService`]).
    pub async fn resolve_actor(&self, actor: &Actor, tenant: &TenantId) -> Result<Actor> {
        let role = match self.ports.tenants.get_tenant(tenant).await? {
            Some(t) => self.role_on(actor, &t).await?,
            None => None,
        };
        Ok(actor.with_tenant_roles(role.map(|r| (*tenant, r))))
    }

    /// The caller with its roles on every tenant it is assigned to (one GSI1 query), for
    /// listings scoped to the caller; a customer admin also sees every tenant of its customer.
    pub async fn resolve_scope(&self, actor: &Actor) -> Result<Actor> {
        let Ok(user) = super::values::UserId::parse(actor.sub()) else {
            return Ok(actor.with_tenant_roles([]).with_customer_scope());
        };
        let assignments = self.ports.org.user_assignments(&user).await?;
        Ok(actor
            .with_tenant_roles(
                assignments
                    .into_iter()
                    .filter(|a| a.active)
                    .map(|a| (a.tenant_id, a.role)),
            )
            .with_customer_scope())
    }

    /// Loads the tenant and checks the caller's role: 404 outside the caller's scope, 403 when
    /// the role is too low.
    pub(super) async fn access(
        &self,
        actor: &Actor,
        tenant: &TenantId,
        action: OrgAction,
    ) -> Result<(Tenant, Role)> {
        let t = self.load_tenant(tenant).await?;
        let role = self
            .role_on(actor, &t)
            .await?
            .ok_or_else(|| Error::tenant_not_found(tenant))?;
        if role >= action.min_role() {
            Ok((t, role))
        } else {
            Err(Error::Forbidden(format!(
                "This action needs the {} role on the tenant",
                action.min_role()
            )))
        }
    }

    /// C32: mutating child operations need an ACTIVE tenant.
    pub(super) fn require_active(tenant: &Tenant) -> Result<()> {
        if tenant.status == TenantStatus::Active {
            Ok(())
        } else {
            Err(Error::business(
                ErrorCode::TenantNotActive,
                format!(
                    "Tenant {} is {}; this needs an ACTIVE tenant",
                    tenant.id, tenant.status
                ),
            ))
        }
    }

    pub(super) fn audit(
        &self,
        tenant: &TenantId,
        event_type: &str,
        actor: &str,
        at: Timestamp,
        details: Value,
    ) -> AuditEvent {
        AuditEvent {
            event_id: EventId::generate(self.ports.ids.as_ref()),
            tenant_id: *tenant,
            event_type: event_type.to_owned(),
            timestamp: at,
            actor: actor.to_owned(),
            details,
        }
    }

    pub(super) fn event(
        &self,
        tenant: &TenantId,
        detail_type: &str,
        at: Timestamp,
        mut detail: Value,
    ) -> OutboxMessage {
        if let Value::Object(m) = &mut detail {
            m.insert("tenantId".into(), tenant.to_string().into());
            m.insert("timestamp".into(), at.to_string().into());
        }
        OutboxMessage {
            id: EventId::generate(self.ports.ids.as_ref()),
            source: TENANT_SOURCE.to_owned(),
            detail_type: detail_type.to_owned(),
            time: at,
            tenant_id: Some(*tenant),
            detail,
        }
    }

    /// A write whose audit event and outbox event carry the same type and details.
    pub(super) fn write(
        &self,
        tenant: &TenantId,
        event_type: &str,
        actor: &str,
        at: Timestamp,
        details: Value,
    ) -> OrgWrite {
        let mut w = OrgWrite::new(
            *tenant,
            self.audit(tenant, event_type, actor, at, details.clone()),
        );
        w.events.push(self.event(tenant, event_type, at, details));
        w
    }

    /// Refuses a write one DynamoDB transaction could not hold.
    pub(super) fn fits(w: &OrgWrite, what: &str) -> Result<()> {
        let n = w.item_count();
        if n > MAX_TRANSACTION_ITEMS {
            Err(Error::business(
                ErrorCode::HierarchyNotEmpty,
                format!(
                    "{what} would change {n} items, more than one atomic write holds \
                     ({MAX_TRANSACTION_ITEMS}); remove some children first"
                ),
            ))
        } else {
            Ok(())
        }
    }

    /// Runs one attempt of a read-decide-write; a lost race is tried again on fresh state
    /// unless the caller pinned a version.
    pub(super) async fn retrying<T, F, Fut>(&self, pinned: bool, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut n = 0;
        loop {
            n += 1;
            match attempt().await {
                Err(Error::VersionConflict { .. }) if !pinned && n < self.config.write_attempts => {
                }
                other => return other,
            }
        }
    }

    /// The scoped key and fingerprint of an idempotent create.
    pub(super) fn idem(
        key: Option<&IdempotencyKey>,
        operation: &str,
        actor: &Actor,
        tenant: &TenantId,
        request: &Value,
    ) -> Idem {
        key.map(|k| {
            (
                k.scoped(&format!("{operation}:{tenant}"), actor.sub()),
                request_fingerprint(&request.to_string()),
            )
        })
    }

    /// The earlier outcome of this create, if the key was used before; `IDEMPOTENCY_KEY_REUSED`
    /// if it was used with another request.
    pub(super) async fn replay(&self, idem: &Idem, now: Timestamp) -> Result<Option<OrgOutcome>> {
        let Some((key, fp)) = idem else {
            return Ok(None);
        };
        match self.ports.org.get_org_idempotency(key, now).await? {
            Some(done) if done.fingerprint == *fp => Ok(Some(done.outcome)),
            Some(_) => Err(Error::IdempotencyKeyReused),
            None => Ok(None),
        }
    }

    pub(super) fn idem_record(
        &self,
        idem: &Idem,
        outcome: OrgOutcome,
        now: Timestamp,
    ) -> Option<OrgIdempotencyRecord> {
        idem.as_ref().map(|(key, fp)| OrgIdempotencyRecord {
            key: key.clone(),
            fingerprint: fp.clone(),
            outcome,
            created_at: now,
            expires_at: now.plus(self.config.idempotency_ttl),
        })
    }

    /// Commits a create; if a concurrent request with the same key won, answers as it did.
    pub(super) async fn commit_create(
        &self,
        write: OrgWrite,
        idem: &Idem,
        now: Timestamp,
    ) -> Result<Option<OrgOutcome>> {
        match self.ports.org.write_org(write).await {
            Ok(()) => Ok(None),
            Err(Error::IdempotencyKeyReused) => match self.replay(idem, now).await? {
                Some(done) => Ok(Some(done)),
                None => Err(Error::IdempotencyKeyReused),
            },
            Err(e) => Err(e),
        }
    }
}

/// A JSON string or null.
pub(super) fn opt_str(v: Option<impl ToString>) -> Value {
    v.map_or(Value::Null, |s| json!(s.to_string()))
}

/// An outcome of another kind than the operation creates: the key was reused across operations.
pub(super) fn foreign_outcome() -> Error {
    Error::IdempotencyKeyReused
}
