//! Shared set-up: a `TenantService` on the real embedded store, callers built from identity
//! claims exactly as the frontends build them, and small readers of what the store holds.

use std::sync::Arc;

use bbws_core::audit::AuditEvent;
use bbws_core::auth::{Actor, Claims};
use bbws_core::events::OutboxMessage;
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::pagination::{Cursor, Limit, PageRequest};
use bbws_core::ports::Outbox;
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, Reason, Tenant, TenantPatch, TenantPorts,
    TenantService, TenantStatus,
};
use bbws_core::time::{ManualClock, Timestamp};
use serde_json::{Map, Value, json};

/// Where every test clock starts.
pub const START: &str = "2026-01-05T12:00:00.000Z";

pub const ADMIN_EMAIL: &str = "admin@bbws.io";

/// A service on a store, with the clock it reads so tests can move time.
#[derive(Debug, Clone)]
pub struct Harness {
    pub store: Arc<EmbeddedStore>,
    pub clock: Arc<ManualClock>,
    pub service: Arc<TenantService>,
}

impl Harness {
    /// A service on a fresh in-memory store.
    pub fn in_memory() -> Self {
        Self::on(EmbeddedStore::in_memory().expect("in-memory store opens"))
    }

    /// A service on the given store, with a manual clock at [`START`] and random ids.
    pub fn on(store: EmbeddedStore) -> Self {
        let store = Arc::new(store);
        let clock = Arc::new(ManualClock::new(START.parse().expect("valid start time")));
        let ports = TenantPorts::from_backend(&store, clock.clone(), Arc::new(RandomIds));
        Self {
            store,
            clock,
            service: Arc::new(TenantService::new(ports)),
        }
    }

    /// Creates a PENDING tenant as the platform admin.
    pub async fn create(&self, name: &str) -> Tenant {
        self.service
            .create(&platform_admin(), new_tenant(name), None)
            .await
            .expect("test tenant is created")
            .value
    }

    /// Creates a tenant and activates it (PENDING → ACTIVE), as the platform admin.
    pub async fn create_active(&self, name: &str) -> Tenant {
        let t = self.create(name).await;
        self.service
            .set_status(&platform_admin(), &t.id, TenantStatus::Active, None, None)
            .await
            .expect("test tenant is activated")
    }

    /// The stored tenant, read as the platform admin.
    pub async fn stored(&self, id: &TenantId) -> Tenant {
        self.service
            .get(&platform_admin(), id)
            .await
            .expect("tenant is stored")
    }

    /// The whole audit trail of a tenant, oldest first.
    pub async fn audit(&self, id: &TenantId) -> Vec<AuditEvent> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .service
                .audit_trail(&platform_admin(), id, &page(100, cursor))
                .await
                .expect("audit trail is readable");
            out.extend(page.items);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    }

    /// The audit event types of a tenant, oldest first.
    pub async fn audit_types(&self, id: &TenantId) -> Vec<String> {
        self.audit(id)
            .await
            .into_iter()
            .map(|e| e.event_type)
            .collect()
    }

    /// Every event waiting in the outbox, oldest first.
    pub async fn pending(&self) -> Vec<OutboxMessage> {
        pending_in(&self.store).await
    }

    /// The detail-types waiting in the outbox, oldest first.
    pub async fn pending_types(&self) -> Vec<String> {
        self.pending()
            .await
            .into_iter()
            .map(|m| m.detail_type)
            .collect()
    }

    /// Every tenant `actor` sees, following `next` until it is `None`.
    pub async fn list_all(&self, actor: &Actor, limit: u32) -> Vec<Tenant> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let p = self
                .service
                .list(actor, None, None, None, &page(limit, cursor))
                .await
                .expect("listing succeeds");
            out.extend(p.items);
            match p.next {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    }
}

/// Every event waiting in a store's outbox, oldest first.
pub async fn pending_in(store: &EmbeddedStore) -> Vec<OutboxMessage> {
    Outbox::pending(store, 10_000)
        .await
        .expect("outbox is readable")
}

/// A page request.
pub fn page(limit: u32, cursor: Option<Cursor>) -> PageRequest {
    PageRequest {
        limit: Limit::new(limit).expect("valid limit"),
        cursor,
    }
}

/// A valid create request for `name` in `dev`.
pub fn new_tenant(name: &str) -> NewTenant {
    new_tenant_in(name, Environment::Dev)
}

pub fn new_tenant_in(name: &str, environment: Environment) -> NewTenant {
    NewTenant {
        organization_name: org(name),
        contact_email: email("ops@acme.example"),
        environment,
        division: None,
        group: None,
        team: None,
        metadata: Map::new(),
    }
}

pub fn org(name: &str) -> OrganizationName {
    OrganizationName::parse(name).expect("valid organisation name")
}

pub fn email(s: &str) -> Email {
    Email::parse(s).expect("valid e-mail")
}

pub fn reason(s: &str) -> Reason {
    Reason::parse(Some(s), "Reason").expect("valid reason")
}

/// A metadata object from a JSON literal.
pub fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("expected a JSON object, got {other}"),
    }
}

/// A patch that only renames.
pub fn rename(name: &str) -> TenantPatch {
    TenantPatch {
        organization_name: Some(org(name)),
        ..TenantPatch::default()
    }
}

/// A patch that only merges metadata.
pub fn merge(v: Value) -> TenantPatch {
    TenantPatch {
        metadata: Some(object(v)),
        ..TenantPatch::default()
    }
}

pub fn ts(s: &str) -> Timestamp {
    s.parse().expect("valid timestamp")
}

// ---- callers, built from claims as the frontends build them ----

pub fn actor(claims: &Value) -> Actor {
    Actor::from_claims(&Claims::from_json(claims).expect("valid claims"))
}

fn id_list(tenants: &[&TenantId]) -> String {
    tenants
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A platform administrator (`cognito:groups: ["Admins"]`).
pub fn platform_admin() -> Actor {
    actor(&json!({"sub": "sub-admin", "email": ADMIN_EMAIL, "cognito:groups": ["Admins"]}))
}

/// The Admin of one tenant (`{tenantId}-admins`).
pub fn tenant_admin(tenant: &TenantId) -> Actor {
    actor(&json!({
        "sub": "sub-tenant-admin",
        "email": "owner@acme.example",
        "cognito:groups": [format!("{tenant}-admins")],
    }))
}

/// A member of `Operators`, with the role on the listed tenants.
pub fn operator(tenants: &[&TenantId]) -> Actor {
    actor(&json!({
        "sub": "sub-operator",
        "email": "operator@bbws.io",
        "cognito:groups": ["Operators"],
        "custom:tenantIds": id_list(tenants),
    }))
}

/// A member of `Viewers`, with the role on the listed tenants.
pub fn viewer(tenants: &[&TenantId]) -> Actor {
    actor(&json!({
        "sub": "sub-viewer",
        "email": "viewer@acme.example",
        "cognito:groups": ["Viewers"],
        "custom:tenantIds": id_list(tenants),
    }))
}

/// An authenticated user with no role anywhere.
pub fn outsider() -> Actor {
    actor(&json!({"sub": "sub-outsider", "email": "someone@elsewhere.example"}))
}

/// A tenant id that no tenant has.
pub fn unknown_id() -> TenantId {
    "tenant-00000000-0000-4000-8000-000000000000"
        .parse()
        .expect("valid tenant id")
}
