//! Ports: the traits every storage and external-system adapter implements. Services depend on
//! these only, so they run unchanged on the embedded store and on AWS.
//!
//! Writes are whole units ([`TenantWrite`]): the aggregate, its audit event, its outbox events
//! and its uniqueness guard land together or not at all (one `TransactWriteItems` on DynamoDB,
//! one write transaction on the embedded store).

use async_trait::async_trait;

use crate::audit::AuditEvent;
use crate::error::Result;
use crate::events::OutboxMessage;
use crate::idempotency::IdempotencyRecord;
use crate::ids::{EventId, TenantId};
use crate::pagination::{Page, PageRequest};
use crate::tenant::{Tenant, TenantFilter};
use crate::time::Timestamp;

/// The condition a tenant write is made under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Create: the tenant must not exist (`attribute_not_exists(PK)`).
    Absent,
    /// Update: the stored version must be this one (`version = :v`), else `VERSION_CONFLICT`.
    Version(u64),
}

/// The organisation-name guard item (C35) changes of one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameGuard {
    /// The name does not change.
    Keep,
    /// Claim a name key (create); refused with `CONFLICT` if another tenant holds it.
    Claim(String),
    /// Release one key and claim another (rename), atomically.
    Move { from: String, to: String },
}

/// One atomic change of a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct TenantWrite {
    pub tenant: Tenant,
    pub expect: Expect,
    pub name_guard: NameGuard,
    pub audit: AuditEvent,
    pub events: Vec<OutboxMessage>,
    /// Remembered with the change (create with an `Idempotency-Key`); refused with
    /// `IDEMPOTENCY_KEY_REUSED` if a live record already holds the key.
    pub idempotency: Option<IdempotencyRecord>,
}

/// Tenant persistence (LLD §3.2 `TenantDao`).
#[async_trait]
pub trait TenantDao: Send + Sync + std::fmt::Debug {
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>>;

    /// Tenants matching `filter`, newest first, one page at a time.
    async fn list_tenants(&self, filter: &TenantFilter, page: &PageRequest)
    -> Result<Page<Tenant>>;

    /// Applies a [`TenantWrite`] atomically. Errors: `CONFLICT` (name taken, or the tenant exists
    /// under [`Expect::Absent`]), `VERSION_CONFLICT`, `TENANT_NOT_FOUND` (under
    /// [`Expect::Version`]), `IDEMPOTENCY_KEY_REUSED`.
    async fn write_tenant(&self, write: TenantWrite) -> Result<()>;
}

/// The audit trail (LLD §3.2 `AuditLogger`; writes go through [`TenantWrite`]).
#[async_trait]
pub trait AuditDao: Send + Sync + std::fmt::Debug {
    /// A tenant's audit events, oldest first.
    async fn list_audit(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<AuditEvent>>;
}

/// The transactional outbox (writes go through [`TenantWrite`]).
#[async_trait]
pub trait Outbox: Send + Sync + std::fmt::Debug {
    /// Up to `limit` unpublished events, oldest first. A backend shared by several processes
    /// (DynamoDB) claims them for a lease, so two relays never publish the same event in normal
    /// operation; an event whose lease lapsed (its relay died) is handed out again.
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>>;
    /// Forgets published events.
    async fn mark_published(&self, ids: &[EventId]) -> Result<()>;
    /// Up to `limit` of the events this store itself committed and no relay has taken yet, oldest
    /// first, for publishing right after the write. A shared backend (DynamoDB) writes its events
    /// already leased to the writer and keeps them in memory, so this costs no request and no
    /// other relay takes them while the lease runs; what the writer fails to publish goes out
    /// through [`Outbox::pending`] once the lease lapses. A backend only one process uses hands
    /// out everything pending.
    async fn take_written(&self, limit: usize) -> Result<Vec<OutboxMessage>> {
        self.pending(limit).await
    }
}

/// Idempotency records (writes go through [`TenantWrite`]).
#[async_trait]
pub trait IdempotencyStore: Send + Sync + std::fmt::Debug {
    /// The live record under a scoped key; a record past `expires_at` (relative to `now`) is absent.
    async fn get_idempotency(&self, key: &str, now: Timestamp)
    -> Result<Option<IdempotencyRecord>>;
}

/// A cloud resource that belongs to a tenant (digest §2.7 `RESOURCE#{type}`, C31).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantResource {
    pub resource_type: String,
    pub name: String,
    pub arn: Option<String>,
    pub status: String,
}

/// Answers "does this tenant still have live resources?" for DELETE without `force` (C31).
#[async_trait]
pub trait ResourceInventory: Send + Sync + std::fmt::Debug {
    /// The tenant's resources whose status is not `deleted`.
    async fn active_resources(&self, tenant: &TenantId) -> Result<Vec<TenantResource>>;
}

/// Everything a full backend provides, for wiring convenience.
pub trait TenantBackend:
    TenantDao + AuditDao + Outbox + IdempotencyStore + ResourceInventory
{
}
impl<T: TenantDao + AuditDao + Outbox + IdempotencyStore + ResourceInventory> TenantBackend for T {}
