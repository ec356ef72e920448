//! `TenantService`: every tenant use case (LLD 2.5 §3.2), each authorized, validated, audited and
//! published through the outbox in one atomic write.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::model::{NewTenant, Tenant, TenantPatch};
use super::status::TenantStatus;
use super::values::{Environment, Reason};
use crate::audit::AuditEvent;
use crate::auth::{Actor, Role, Scope, TenantAction};
use crate::error::{Error, Result};
use crate::events::{OutboxMessage, TENANT_SOURCE};
use crate::idempotency::{
    IDEMPOTENCY_TTL, IdempotencyKey, IdempotencyRecord, IdempotentOutcome, request_fingerprint,
};
use crate::ids::{EventId, IdGenerator, TenantId};
use crate::pagination::{Page, PageRequest, fingerprint};
use crate::ports::{
    AuditDao, Expect, IdempotencyStore, NameGuard, ResourceInventory, TenantBackend, TenantDao,
    TenantWrite,
};
use crate::time::{Clock, Timestamp};

/// What a tenant listing selects (T2). `scope` limits it to what the caller may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantFilter {
    pub status: Option<TenantStatus>,
    pub environment: Option<Environment>,
    /// Case-insensitive substring of the organisation name (OA1 "partial match").
    pub name_contains: Option<String>,
    pub scope: Scope,
}

impl TenantFilter {
    /// Everything, for platform admins and tools.
    pub fn all() -> Self {
        Self {
            status: None,
            environment: None,
            name_contains: None,
            scope: Scope::All,
        }
    }

    pub fn matches(&self, t: &Tenant) -> bool {
        self.status.is_none_or(|s| t.status == s)
            && self.environment.is_none_or(|e| t.environment == e)
            && self.name_contains.as_ref().is_none_or(|n| {
                t.organization_name
                    .as_str()
                    .to_lowercase()
                    .contains(&n.to_lowercase())
            })
            && match &self.scope {
                Scope::All => true,
                Scope::Only(ids) => ids.contains(&t.id),
                Scope::CustomerAnd(customer, ids) => {
                    t.customer_id.as_deref() == Some(customer.as_str()) || ids.contains(&t.id)
                }
            }
    }

    /// Binds pagination tokens to this exact query.
    pub fn fingerprint(&self) -> String {
        let scope = match &self.scope {
            Scope::All => "*".to_owned(),
            Scope::Only(ids) => ids
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
            Scope::CustomerAnd(customer, ids) => format!(
                "customer:{customer};{}",
                ids.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        };
        fingerprint(&[
            self.status.map_or("", TenantStatus::as_str),
            self.environment.map_or("", Environment::as_str),
            &self.name_contains.as_deref().unwrap_or("").to_lowercase(),
            &scope,
        ])
    }
}

/// The ports the service needs.
#[derive(Debug, Clone)]
pub struct TenantPorts {
    pub tenants: Arc<dyn TenantDao>,
    pub audit: Arc<dyn AuditDao>,
    pub idempotency: Arc<dyn IdempotencyStore>,
    pub resources: Arc<dyn ResourceInventory>,
    pub clock: Arc<dyn Clock>,
    pub ids: Arc<dyn IdGenerator>,
}

impl TenantPorts {
    /// Every storage port from one backend chosen at run time.
    pub fn from_dyn(
        backend: Arc<dyn TenantBackend>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self {
            tenants: backend.clone(),
            audit: backend.clone(),
            idempotency: backend.clone(),
            resources: backend,
            clock,
            ids,
        }
    }

    /// Every storage port from one backend, with the given clock and id source.
    pub fn from_backend<B: TenantBackend + 'static>(
        backend: &Arc<B>,
        clock: Arc<dyn Clock>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        Self::from_dyn(backend.clone(), clock, ids)
    }
}

/// Tunables.
#[derive(Debug, Clone)]
pub struct TenantServiceConfig {
    pub idempotency_ttl: Duration,
    /// How often a write without `If-Match` is tried before a lost race is reported (its change
    /// is re-evaluated on the fresh state each time). Every lost race means another write to the
    /// same tenant committed, so a writer racing N others needs at most N + 1 attempts.
    pub write_attempts: u32,
}

impl Default for TenantServiceConfig {
    fn default() -> Self {
        Self {
            idempotency_ttl: IDEMPOTENCY_TTL,
            write_attempts: 32,
        }
    }
}

/// How a deprovisioning was asked for.
#[derive(Debug, Clone, Copy)]
enum DeleteVia<'a> {
    Delete,
    Patch(Option<&'a str>),
}

impl<'a> DeleteVia<'a> {
    fn is_patch(self) -> bool {
        matches!(self, Self::Patch(_))
    }

    fn reason(self) -> Option<&'a str> {
        match self {
            Self::Delete => None,
            Self::Patch(r) => r,
        }
    }
}

/// The result of a create: the tenant, and whether this is a replay of an earlier request.
#[derive(Debug, Clone, PartialEq)]
pub struct Created<T> {
    pub value: T,
    pub replayed: bool,
}

/// A computed change, before it is written.
struct Change {
    tenant: Tenant,
    name_guard: NameGuard,
    audit_type: &'static str,
    audit_details: Value,
    event: Option<(&'static str, Value)>,
}

impl Change {
    fn status(
        prev: &Tenant,
        tenant: Tenant,
        audit_type: &'static str,
        reason: Option<&str>,
        event: (&'static str, Value),
    ) -> Self {
        let audit_details = json!({
            "previousStatus": prev.status.as_str(),
            "newStatus": tenant.status.as_str(),
            "reason": reason,
        });
        Self {
            tenant,
            name_guard: NameGuard::Keep,
            audit_type,
            audit_details,
            event: Some(event),
        }
    }
}

/// The tenant use cases.
#[derive(Debug, Clone)]
pub struct TenantService {
    ports: TenantPorts,
    config: TenantServiceConfig,
}

fn canonical(v: &Value) -> String {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let inner: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), canonical(&m[k])))
                .collect();
            format!("{{{}}}", inner.join(","))
        }
        Value::Array(a) => format!(
            "[{}]",
            a.iter().map(canonical).collect::<Vec<_>>().join(",")
        ),
        other => other.to_string(),
    }
}

fn label(l: Option<&super::values::UnitLabel>) -> Option<&str> {
    l.map(super::values::UnitLabel::as_str)
}

impl TenantService {
    pub fn new(ports: TenantPorts) -> Self {
        Self {
            ports,
            config: TenantServiceConfig::default(),
        }
    }

    #[must_use]
    pub fn with_config(mut self, config: TenantServiceConfig) -> Self {
        self.config = config;
        self
    }

    pub fn ports(&self) -> &TenantPorts {
        &self.ports
    }

    fn event(
        &self,
        tenant: &Tenant,
        detail_type: &str,
        at: Timestamp,
        detail: Value,
    ) -> OutboxMessage {
        OutboxMessage {
            id: EventId::generate(self.ports.ids.as_ref()),
            source: TENANT_SOURCE.to_owned(),
            detail_type: detail_type.to_owned(),
            time: at,
            tenant_id: Some(tenant.id),
            detail,
        }
    }

    fn audit(
        &self,
        tenant: &Tenant,
        event_type: &str,
        actor: &Actor,
        at: Timestamp,
        details: Value,
    ) -> AuditEvent {
        AuditEvent {
            event_id: EventId::generate(self.ports.ids.as_ref()),
            tenant_id: tenant.id,
            event_type: event_type.to_owned(),
            timestamp: at,
            actor: actor.label().to_owned(),
            details,
        }
    }

    /// T1: creates a tenant in PENDING. With an idempotency key, a repeat of the same request
    /// returns the first result (`replayed = true`) and creates nothing.
    pub async fn create(
        &self,
        actor: &Actor,
        req: NewTenant,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Tenant>> {
        actor.authorize_create()?;
        let now = self.ports.clock.now();
        let idem = key.map(|k| {
            let canonical_req = canonical(&json!({
                "organizationName": req.organization_name.as_str(),
                "contactEmail": req.contact_email.as_str(),
                "environment": req.environment.as_str(),
                "division": label(req.division.as_ref()),
                "group": label(req.group.as_ref()),
                "team": label(req.team.as_ref()),
                "metadata": Value::Object(req.metadata.clone()),
            }));
            (
                k.scoped("CREATE_TENANT", actor.sub()),
                request_fingerprint(&canonical_req),
            )
        });
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.ports.idempotency.get_idempotency(scoped, now).await?
        {
            return Self::replay(done, fp);
        }

        let tenant = Tenant::new(
            TenantId::generate(self.ports.ids.as_ref()),
            req,
            actor.customer_id().map(str::to_owned),
            actor.label(),
            now,
        );
        let audit = self.audit(
            &tenant,
            "TENANT_CREATED",
            actor,
            now,
            json!({
                "organizationName": tenant.organization_name.as_str(),
                "environment": tenant.environment.as_str(),
            }),
        );
        let event = self.event(
            &tenant,
            "TENANT_CREATED",
            now,
            json!({
                "tenantId": tenant.id.to_string(),
                "status": tenant.status.as_str(),
                "organizationName": tenant.organization_name.as_str(),
                "environment": tenant.environment.as_str(),
                "createdBy": tenant.created.by,
            }),
        );
        let idempotency = idem.as_ref().map(|(scoped, fp)| IdempotencyRecord {
            key: scoped.clone(),
            fingerprint: fp.clone(),
            outcome: IdempotentOutcome::TenantCreated(tenant.clone()),
            created_at: now,
            expires_at: now.plus(self.config.idempotency_ttl),
        });
        let write = TenantWrite {
            tenant: tenant.clone(),
            expect: Expect::Absent,
            name_guard: NameGuard::Claim(tenant.organization_name.unique_key()),
            audit,
            events: vec![event],
            idempotency,
        };
        match self.ports.tenants.write_tenant(write).await {
            Ok(()) => {
                tracing::info!(action = "CREATE_TENANT", tenant_id = %tenant.id, "tenant created");
                Ok(Created {
                    value: tenant,
                    replayed: false,
                })
            }
            // Another request with the same key won the race: answer as it did.
            Err(Error::IdempotencyKeyReused) => match &idem {
                Some((scoped, fp)) => {
                    match self.ports.idempotency.get_idempotency(scoped, now).await? {
                        Some(done) => Self::replay(done, fp),
                        None => Err(Error::IdempotencyKeyReused),
                    }
                }
                None => Err(Error::Internal("idempotency conflict without a key".into())),
            },
            Err(e) => Err(e),
        }
    }

    fn replay(done: IdempotencyRecord, fingerprint: &str) -> Result<Created<Tenant>> {
        if done.fingerprint != fingerprint {
            return Err(Error::IdempotencyKeyReused);
        }
        match done.outcome {
            IdempotentOutcome::TenantCreated(t) => Ok(Created {
                value: t,
                replayed: true,
            }),
        }
    }

    /// T3.
    pub async fn get(&self, actor: &Actor, id: &TenantId) -> Result<Tenant> {
        actor.authorize(id, TenantAction::Read)?;
        self.ports
            .tenants
            .get_tenant(id)
            .await?
            .ok_or_else(|| Error::tenant_not_found(id))
    }

    /// T2: the tenants the caller may see, filtered, newest first.
    pub async fn list(
        &self,
        actor: &Actor,
        status: Option<TenantStatus>,
        environment: Option<Environment>,
        name_contains: Option<String>,
        page: &PageRequest,
    ) -> Result<Page<Tenant>> {
        let filter = TenantFilter {
            status,
            environment,
            name_contains,
            scope: actor.scope(),
        };
        if let Scope::Only(ids) = &filter.scope
            && ids.is_empty()
        {
            if let Some(c) = &page.cursor {
                c.open("tenants", &filter.fingerprint())?;
            }
            return Ok(Page {
                items: vec![],
                next: None,
            });
        }
        self.ports.tenants.list_tenants(&filter, page).await
    }

    /// A tenant's audit trail, oldest first (Admin).
    pub async fn audit_trail(
        &self,
        actor: &Actor,
        id: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        actor.authorize(id, TenantAction::ReadAudit)?;
        if self.ports.tenants.get_tenant(id).await?.is_none() {
            return Err(Error::tenant_not_found(id));
        }
        self.ports.audit.list_audit(id, page).await
    }

    /// T4: partial update (C34) under optimistic locking (C33).
    pub async fn update(
        &self,
        actor: &Actor,
        id: &TenantId,
        patch: TenantPatch,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        if patch.is_empty() && patch.immutable.is_empty() {
            return Err(Error::field(
                "body",
                "At least one field to update is required",
            ));
        }
        self.mutate(
            actor,
            id,
            TenantAction::Update,
            if_match,
            |cur, _role, by, at| {
                let (next, changes) = cur.update(patch.clone(), by, at)?;
                let name_guard =
                    if next.organization_name.unique_key() == cur.organization_name.unique_key() {
                        NameGuard::Keep
                    } else {
                        NameGuard::Move {
                            from: cur.organization_name.unique_key(),
                            to: next.organization_name.unique_key(),
                        }
                    };
                let changes: Vec<Value> = changes
                    .into_iter()
                    .map(|c| json!({"field": c.field, "before": c.before, "after": c.after}))
                    .collect();
                let detail =
                    json!({"tenantId": next.id.to_string(), "changes": changes, "updatedBy": by});
                Ok(Change {
                    audit_details: json!({"changes": changes}),
                    tenant: next,
                    name_guard,
                    audit_type: "TENANT_UPDATED",
                    event: Some(("TENANT_UPDATED", detail)),
                })
            },
        )
        .await
    }

    /// L2/L6: ACTIVE → PARKED.
    pub async fn park(
        &self,
        actor: &Actor,
        id: &TenantId,
        reason: &Reason,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        self.mutate(
            actor,
            id,
            TenantAction::Lifecycle,
            if_match,
            |cur, _, by, at| park(cur, reason, by, at),
        )
        .await
    }

    /// L3/L7: PARKED → ACTIVE.
    pub async fn unpark(
        &self,
        actor: &Actor,
        id: &TenantId,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        self.mutate(
            actor,
            id,
            TenantAction::Lifecycle,
            if_match,
            |cur, _, by, at| unpark(cur, by, at),
        )
        .await
    }

    /// L4: ACTIVE → SUSPENDED.
    pub async fn suspend(
        &self,
        actor: &Actor,
        id: &TenantId,
        reason: &Reason,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        self.mutate(
            actor,
            id,
            TenantAction::Lifecycle,
            if_match,
            |cur, _, by, at| suspend(cur, reason, by, at),
        )
        .await
    }

    /// L5: SUSPENDED → ACTIVE.
    pub async fn resume(
        &self,
        actor: &Actor,
        id: &TenantId,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        self.mutate(
            actor,
            id,
            TenantAction::Lifecycle,
            if_match,
            |cur, _, by, at| resume(cur, by, at),
        )
        .await
    }

    /// T5: soft delete. Without `force`, refused while the tenant has active resources (C31).
    pub async fn deprovision(
        &self,
        actor: &Actor,
        id: &TenantId,
        force: bool,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        self.deprovision_via(actor, id, force, if_match, DeleteVia::Delete)
            .await
    }

    /// DELETE removes a tenant in any status but DEPROVISIONED (C19);
    /// `PATCH /status` keeps to the transition table (C21), so it refuses
    /// PENDING and FAILED; its reason is recorded in the audit event (BR-STATUS-005).
    async fn deprovision_via(
        &self,
        actor: &Actor,
        id: &TenantId,
        force: bool,
        if_match: Option<u64>,
        via: DeleteVia<'_>,
    ) -> Result<Tenant> {
        actor.authorize(id, TenantAction::Delete)?;
        let resources = self.ports.resources.active_resources(id).await?;
        let names: Vec<String> = resources
            .iter()
            .map(|r| format!("{}:{}", r.resource_type, r.name))
            .collect();
        if !force && !names.is_empty() {
            // Answer 404 / 422 for the tenant itself first, so the resource check leaks nothing.
            let cur = self
                .ports
                .tenants
                .get_tenant(id)
                .await?
                .ok_or_else(|| Error::tenant_not_found(id))?;
            check_deprovision(&cur, via.is_patch())?;
            cur.deprovision(actor.label(), cur.updated.at)?;
            return Err(Error::ActiveResourcesExist { resources: names });
        }
        self.mutate(
            actor,
            id,
            TenantAction::Delete,
            if_match,
            |cur, _, by, at| {
                check_deprovision(cur, via.is_patch())?;
                deprovision(cur, force, &names, via.reason(), by, at)
            },
        )
        .await
    }

    /// L1: `PATCH /status` (C21). Targets with a dedicated operation run it (with its rules and
    /// its role); PENDING → ACTIVE/FAILED and FAILED → PENDING are recorded as `STATUS_CHANGED`.
    pub async fn set_status(
        &self,
        actor: &Actor,
        id: &TenantId,
        target: TenantStatus,
        reason: Option<&str>,
        if_match: Option<u64>,
    ) -> Result<Tenant> {
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        if reason.is_some_and(|r| r.chars().count() > Reason::MAX) {
            return Err(Error::field(
                "reason",
                "reason must be at most 500 characters",
            ));
        }
        let park_reason = if target == TenantStatus::Parked {
            Some(Reason::parse(reason, "Park reason")?)
        } else {
            None
        };
        let suspend_reason = if target == TenantStatus::Suspended {
            Some(Reason::parse(reason, "Suspension reason")?)
        } else {
            None
        };
        if target == TenantStatus::Deprovisioned {
            return self
                .deprovision_via(actor, id, false, if_match, DeleteVia::Patch(reason))
                .await;
        }
        self.mutate(
            actor,
            id,
            TenantAction::Provisioning,
            if_match,
            |cur, role, by, at| {
                let lifecycle = |role: Role| {
                    if role == Role::Admin {
                        Ok(())
                    } else {
                        Err(Error::Forbidden(
                            "This status change needs the Admin role on the tenant".into(),
                        ))
                    }
                };
                match (cur.status, target) {
                    (_, TenantStatus::Parked) => {
                        lifecycle(role)?;
                        park(
                            cur,
                            park_reason
                                .as_ref()
                                .ok_or_else(|| Error::Internal("reason".into()))?,
                            by,
                            at,
                        )
                    }
                    (_, TenantStatus::Suspended) => {
                        lifecycle(role)?;
                        suspend(
                            cur,
                            suspend_reason
                                .as_ref()
                                .ok_or_else(|| Error::Internal("reason".into()))?,
                            by,
                            at,
                        )
                    }
                    (TenantStatus::Parked, TenantStatus::Active) => {
                        lifecycle(role)?;
                        unpark(cur, by, at)
                    }
                    (TenantStatus::Suspended, TenantStatus::Active) => {
                        lifecycle(role)?;
                        resume(cur, by, at)
                    }
                    _ => {
                        let next = cur.change_status(target, by, at)?;
                        let detail = json!({
                            "tenantId": cur.id.to_string(),
                            "previousStatus": cur.status.as_str(),
                            "newStatus": target.as_str(),
                            "reason": reason,
                            "changedBy": by,
                            "timestamp": at.to_string(),
                        });
                        Ok(Change::status(
                            cur,
                            next,
                            "STATUS_CHANGED",
                            reason,
                            ("TENANT_STATUS_CHANGED", detail),
                        ))
                    }
                }
            },
        )
        .await
    }

    /// Read, authorize, compute, write; retried on a lost race unless the caller pinned a version.
    async fn mutate<F>(
        &self,
        actor: &Actor,
        id: &TenantId,
        action: TenantAction,
        if_match: Option<u64>,
        f: F,
    ) -> Result<Tenant>
    where
        F: Fn(&Tenant, Role, &str, Timestamp) -> Result<Change>,
    {
        let role = actor.authorize(id, action)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let cur = self
                .ports
                .tenants
                .get_tenant(id)
                .await?
                .ok_or_else(|| Error::tenant_not_found(id))?;
            if let Some(expected) = if_match
                && expected != cur.version
            {
                return Err(Error::VersionConflict {
                    expected,
                    current: cur.version,
                });
            }
            // Keep each tenant's history strictly ordered even if the clock stalls or steps back.
            let now = self.ports.clock.now();
            let at = if now > cur.updated.at {
                now
            } else {
                cur.updated.at.next()
            };
            let change = f(&cur, role, actor.label(), at)?;
            let audit = self.audit(
                &change.tenant,
                change.audit_type,
                actor,
                at,
                change.audit_details,
            );
            let events = change
                .event
                .map(|(t, d)| vec![self.event(&change.tenant, t, at, d)])
                .unwrap_or_default();
            let write = TenantWrite {
                tenant: change.tenant.clone(),
                expect: Expect::Version(cur.version),
                name_guard: change.name_guard,
                audit,
                events,
                idempotency: None,
            };
            match self.ports.tenants.write_tenant(write).await {
                Ok(()) => {
                    tracing::info!(action = change.audit_type, tenant_id = %id, version = change.tenant.version, "tenant changed");
                    return Ok(change.tenant);
                }
                Err(Error::VersionConflict { .. })
                    if if_match.is_none() && attempt < self.config.write_attempts => {}
                Err(e) => return Err(e),
            }
        }
    }
}

fn park(cur: &Tenant, reason: &Reason, by: &str, at: Timestamp) -> Result<Change> {
    let next = cur.park(reason, by, at)?;
    let detail = json!({"tenantId": cur.id.to_string(), "reason": reason.as_str(), "parkedBy": by, "timestamp": at.to_string()});
    Ok(Change::status(
        cur,
        next,
        "TENANT_PARKED",
        Some(reason.as_str()),
        ("TENANT_PARKED", detail),
    ))
}

fn unpark(cur: &Tenant, by: &str, at: Timestamp) -> Result<Change> {
    let next = cur.unpark(by, at)?;
    let detail =
        json!({"tenantId": cur.id.to_string(), "unparkedBy": by, "timestamp": at.to_string()});
    Ok(Change::status(
        cur,
        next,
        "TENANT_UNPARKED",
        None,
        ("TENANT_UNPARKED", detail),
    ))
}

fn suspend(cur: &Tenant, reason: &Reason, by: &str, at: Timestamp) -> Result<Change> {
    let next = cur.suspend(reason, by, at)?;
    let detail = json!({"tenantId": cur.id.to_string(), "reason": reason.as_str(), "suspendedBy": by, "timestamp": at.to_string()});
    Ok(Change::status(
        cur,
        next,
        "TENANT_SUSPENDED",
        Some(reason.as_str()),
        ("TENANT_SUSPENDED", detail),
    ))
}

fn resume(cur: &Tenant, by: &str, at: Timestamp) -> Result<Change> {
    let next = cur.resume(by, at)?;
    let detail =
        json!({"tenantId": cur.id.to_string(), "resumedBy": by, "timestamp": at.to_string()});
    Ok(Change::status(
        cur,
        next,
        "TENANT_RESUMED",
        None,
        ("TENANT_RESUMED", detail),
    ))
}

/// Through `PATCH /status` only the table's sources (ACTIVE, SUSPENDED, PARKED) may be
/// deprovisioned; DEPROVISIONED itself is left to [`Tenant::deprovision`]'s own refusal.
fn check_deprovision(cur: &Tenant, via_patch: bool) -> Result<()> {
    let target = TenantStatus::Deprovisioned;
    if via_patch && cur.status != target && !cur.status.can_transition_to(target) {
        return Err(Error::InvalidStatusTransition {
            message: format!("Cannot transition from {} to {target}", cur.status),
            current: cur.status,
            target,
            allowed: cur.status.allowed_transitions().to_vec(),
        });
    }
    Ok(())
}

fn deprovision(
    cur: &Tenant,
    force: bool,
    resources: &[String],
    reason: Option<&str>,
    by: &str,
    at: Timestamp,
) -> Result<Change> {
    let next = cur.deprovision(by, at)?;
    let detail = json!({
        "tenantId": next.id.to_string(),
        "organizationName": next.organization_name.as_str(),
        "environment": next.environment.as_str(),
        "previousStatus": cur.status.as_str(),
        "status": next.status.as_str(),
        "deprovisionedBy": by,
        "timestamp": at.to_string(),
        "force": force,
        "activeResources": resources,
    });
    let mut change = Change::status(
        cur,
        next,
        "TENANT_DEPROVISIONED",
        reason,
        ("TENANT_DEPROVISIONED", detail),
    );
    if let Value::Object(m) = &mut change.audit_details {
        m.insert("force".into(), force.into());
        m.insert("activeResources".into(), json!(resources));
    }
    Ok(change)
}

/// The error every backend answers when an organisation name is taken (BR-TEN-001).
pub fn name_taken(tenant: &Tenant) -> Error {
    let mut details = Map::new();
    details.insert(
        "organizationName".into(),
        tenant.organization_name.as_str().into(),
    );
    Error::Conflict {
        message: format!("Organization '{}' already exists", tenant.organization_name),
        details,
    }
}
