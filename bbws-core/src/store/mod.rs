//! The embedded store: every storage port on [redb], in memory or in one file.
//!
//! It keeps the semantics of the DynamoDB design (digest 2.5 §3.5): a tenant write is one
//! transaction holding the tenant, its audit event, its outbox events, its organisation-name
//! guard and its idempotency record, under a version (or not-exists) condition. The file variant
//! commits with `Durability::Immediate` (fsync before acknowledging), so an acknowledged write
//! survives `kill -9`. The in-memory variant is the same code on redb's in-memory backend.
//!
//! Tables:
//! - `tenants`: tenantId → tenant record (JSON)
//! - `tenants_by_created`: `{createdAt}#{tenantId}` → tenantId (newest-first listing)
//! - `org_names`: lower-cased name → tenantId (the uniqueness guard)
//! - `audit`: (tenantId, `{timestamp}#{eventId}`) → audit record
//! - `outbox`: sequence → outbox record
//! - `idempotency`: scoped key → idempotency record
//! - `resources`: (tenantId, `{type}#{name}`) → resource record (instance ledger entries are
//!   mirrored here)
//! - the organisation tables (hierarchy, users, invitations, local directory, mailbox): see
//!   the `org` module.
//! - the instance tables: see [`instances`]

mod event_log;
pub mod instances;
mod org;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::Notify;

pub use event_log::EventLog;
pub use org::EmbeddedMailbox;

use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::events::OutboxMessage;
use crate::idempotency::IdempotencyRecord;
use crate::ids::{EventId, TenantId};
use crate::pagination::{Cursor, Page, PageRequest};
use crate::ports::{
    AuditDao, Expect, IdempotencyStore, NameGuard, Outbox, ResourceInventory, TenantDao,
    TenantResource, TenantWrite,
};
use crate::records::{AuditRecord, IdempotencyRecordRecord, OutboxRecord, TenantRecord};
use crate::tenant::{Tenant, TenantFilter, name_taken};
use crate::time::Timestamp;

const TENANTS: TableDefinition<&str, &[u8]> = TableDefinition::new("tenants");
const BY_CREATED: TableDefinition<&str, &str> = TableDefinition::new("tenants_by_created");
const ORG_NAMES: TableDefinition<&str, &str> = TableDefinition::new("org_names");
const AUDIT: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("audit");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
const RESOURCES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("resources");

/// The file name of the store inside a data directory.
pub const STORE_FILE: &str = "bbws.redb";

/// The file name of the published-events log ([`EventLog`]) inside a data directory.
pub const EVENT_LOG_FILE: &str = "events.jsonl";

fn storage(e: impl std::fmt::Display) -> Error {
    Error::Storage(e.to_string())
}

fn to_json<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(storage)
}

fn from_json<'a, T: Deserialize<'a>>(b: &'a [u8], what: &str) -> Result<T> {
    serde_json::from_slice(b).map_err(|e| Error::Storage(format!("corrupt {what} record: {e}")))
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResourceRecord {
    resource_type: String,
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    arn: Option<String>,
    status: String,
}

/// The embedded store. Cheap to clone; clones share the database.
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
    path: Option<PathBuf>,
    outbox_wake: Arc<Notify>,
    /// Commits so far (the in-memory store makes every [`DURABLE_EVERY`]th one durable).
    commits: Arc<AtomicU64>,
}

/// How often the in-memory store makes a durable commit. Its other commits skip the commit
/// slot update a durable commit needs: nothing outlives the process, so durability buys it
/// nothing, but redb only returns pages freed by non-durable commits at a durable one, so an
/// occasional durable commit keeps a long-running memory store from growing.
const DURABLE_EVERY: u64 = 64;

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// A store that lives in memory only (tests, `--backend memory`).
    pub fn in_memory() -> Result<Self> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(storage)?;
        Self::init(db, None)
    }

    /// Opens (or creates) the store file `path`. Only one process may hold it open.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let db = Database::create(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => Error::Storage(format!(
                "{} is in use by another process (is `bbws serve` running on this data directory?)",
                path.display()
            )),
            other => Error::Storage(format!("cannot open {}: {other}", path.display())),
        })?;
        Self::init(db, Some(path.to_owned()))
    }

    /// Opens the store inside a data directory, creating the directory if needed.
    pub fn open_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::Storage(format!("cannot create {}: {e}", dir.display())))?;
        Self::open(dir.join(STORE_FILE))
    }

    fn init(db: Database, path: Option<PathBuf>) -> Result<Self> {
        let tx = db.begin_write().map_err(storage)?;
        {
            tx.open_table(TENANTS).map_err(storage)?;
            tx.open_table(BY_CREATED).map_err(storage)?;
            tx.open_table(ORG_NAMES).map_err(storage)?;
            tx.open_table(AUDIT).map_err(storage)?;
            tx.open_table(OUTBOX).map_err(storage)?;
            tx.open_table(IDEMPOTENCY).map_err(storage)?;
            tx.open_table(RESOURCES).map_err(storage)?;
            org::create_tables(&tx)?;
            instances::create_tables(&tx)?;
        }
        tx.commit().map_err(storage)?;
        Ok(Self {
            db: Arc::new(db),
            path,
            outbox_wake: Arc::new(Notify::new()),
            commits: Arc::default(),
        })
    }

    /// The file behind the store, if any.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// Notified after every commit that added outbox events (wakes the relay).
    pub fn outbox_notifier(&self) -> Arc<Notify> {
        self.outbox_wake.clone()
    }

    /// Runs a write transaction; on the file store it runs on the blocking pool, since a commit
    /// waits for fsync.
    async fn write<T, F>(&self, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&WriteTransaction) -> Result<T> + Send + 'static,
    {
        let db = self.db.clone();
        let in_memory = self.path.is_none();
        let nth = self.commits.fetch_add(1, Ordering::Relaxed) + 1;
        let run = move || {
            let mut tx = db.begin_write().map_err(storage)?;
            if in_memory && !nth.is_multiple_of(DURABLE_EVERY) {
                tx.set_durability(Durability::None).map_err(storage)?;
            }
            match f(&tx) {
                Ok(v) => {
                    tx.commit().map_err(storage)?;
                    Ok(v)
                }
                Err(e) => {
                    tx.abort().map_err(storage)?;
                    Err(e)
                }
            }
        };
        if self.path.is_some() && tokio::runtime::Handle::try_current().is_ok() {
            tokio::task::spawn_blocking(run)
                .await
                .map_err(|e| Error::Internal(format!("store task failed: {e}")))?
        } else {
            run()
        }
    }

    /// Records a cloud resource of a tenant (the 2.7 instance integration writes these).
    pub async fn record_resource(&self, tenant: &TenantId, resource: TenantResource) -> Result<()> {
        let tenant = tenant.to_string();
        self.write(move |tx| {
            let rec = ResourceRecord {
                resource_type: resource.resource_type.clone(),
                name: resource.name.clone(),
                arn: resource.arn.clone(),
                status: resource.status.clone(),
            };
            let key = format!("{}#{}", resource.resource_type, resource.name);
            tx.open_table(RESOURCES)
                .map_err(storage)?
                .insert((tenant.as_str(), key.as_str()), to_json(&rec)?.as_slice())
                .map_err(storage)?;
            Ok(())
        })
        .await
    }
}

fn apply_write(tx: &WriteTransaction, w: &TenantWrite) -> Result<()> {
    let id = w.tenant.id.to_string();
    let mut tenants = tx.open_table(TENANTS).map_err(storage)?;
    let current: Option<TenantRecord> = match tenants.get(id.as_str()).map_err(storage)? {
        Some(g) => Some(from_json(g.value(), "tenant")?),
        None => None,
    };
    match (w.expect, &current) {
        (Expect::Absent, Some(_)) => {
            return Err(Error::conflict(format!("Tenant {id} already exists")));
        }
        (Expect::Version(_), None) => return Err(Error::tenant_not_found(&id)),
        (Expect::Version(expected), Some(cur)) if cur.version != expected => {
            return Err(Error::VersionConflict {
                expected,
                current: cur.version,
            });
        }
        _ => {}
    }

    // The idempotency key is checked before the name guard: a retry racing its own first
    // request must be answered as a replay, not as a conflict with the name it just claimed.
    if let Some(rec) = &w.idempotency {
        let mut idem = tx.open_table(IDEMPOTENCY).map_err(storage)?;
        if let Some(g) = idem.get(rec.key.as_str()).map_err(storage)? {
            let old: IdempotencyRecordRecord = from_json(g.value(), "idempotency")?;
            let live = old
                .expires_at
                .parse::<Timestamp>()
                .map_or(true, |exp| exp > rec.created_at);
            if live {
                return Err(Error::IdempotencyKeyReused);
            }
        }
        idem.insert(
            rec.key.as_str(),
            to_json(&IdempotencyRecordRecord::from(rec))?.as_slice(),
        )
        .map_err(storage)?;
    }

    let mut names = tx.open_table(ORG_NAMES).map_err(storage)?;
    let held_by_other = |names: &redb::Table<&str, &str>, key: &str| -> Result<bool> {
        Ok(names
            .get(key)
            .map_err(storage)?
            .is_some_and(|g| g.value() != id))
    };
    match &w.name_guard {
        NameGuard::Keep => {}
        NameGuard::Claim(key) => {
            if held_by_other(&names, key)? {
                return Err(name_taken(&w.tenant));
            }
            names.insert(key.as_str(), id.as_str()).map_err(storage)?;
        }
        NameGuard::Move { from, to } => {
            if held_by_other(&names, to)? {
                return Err(name_taken(&w.tenant));
            }
            if !held_by_other(&names, from)? {
                names.remove(from.as_str()).map_err(storage)?;
            }
            names.insert(to.as_str(), id.as_str()).map_err(storage)?;
        }
    }

    let record = TenantRecord::from(&w.tenant);
    tenants
        .insert(id.as_str(), to_json(&record)?.as_slice())
        .map_err(storage)?;
    if w.expect == Expect::Absent {
        let key = format!("{}#{}", record.created_at, id);
        tx.open_table(BY_CREATED)
            .map_err(storage)?
            .insert(key.as_str(), id.as_str())
            .map_err(storage)?;
    }

    put_audit(tx, &w.audit)?;
    put_events(tx, &w.events)
}

/// Appends an audit event to its tenant's trail.
fn put_audit(tx: &WriteTransaction, audit: &AuditEvent) -> Result<()> {
    let record = AuditRecord::from(audit);
    tx.open_table(AUDIT)
        .map_err(storage)?
        .insert(
            (record.tenant_id.as_str(), audit.sort_key().as_str()),
            to_json(&record)?.as_slice(),
        )
        .map_err(storage)?;
    Ok(())
}

/// Appends events to the outbox, in order.
fn put_events(tx: &WriteTransaction, events: &[OutboxMessage]) -> Result<()> {
    if !events.is_empty() {
        let mut outbox = tx.open_table(OUTBOX).map_err(storage)?;
        let first = outbox
            .last()
            .map_err(storage)?
            .map_or(0, |(k, _)| k.value() + 1);
        for (seq, e) in (first..).zip(events) {
            outbox
                .insert(seq, to_json(&OutboxRecord::from(e))?.as_slice())
                .map_err(storage)?;
        }
    }
    Ok(())
}

#[async_trait]
impl TenantDao for EmbeddedStore {
    async fn get_tenant(&self, id: &TenantId) -> Result<Option<Tenant>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(TENANTS).map_err(storage)?;
        let Some(g) = table.get(id.to_string().as_str()).map_err(storage)? else {
            return Ok(None);
        };
        let rec: TenantRecord = from_json(g.value(), "tenant")?;
        Ok(Some(rec.try_into()?))
    }

    async fn list_tenants(
        &self,
        filter: &TenantFilter,
        page: &PageRequest,
    ) -> Result<Page<Tenant>> {
        let fp = filter.fingerprint();
        let before = match &page.cursor {
            Some(c) => Some(
                c.open("tenants", &fp)?
                    .get("before")
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| Error::field("nextToken", "Invalid pagination token"))?,
            ),
            None => None,
        };
        let tx = self.db.begin_read().map_err(storage)?;
        let index = tx.open_table(BY_CREATED).map_err(storage)?;
        let tenants = tx.open_table(TENANTS).map_err(storage)?;
        let range = match &before {
            Some(b) => index.range::<&str>(..b.as_str()).map_err(storage)?,
            None => index.range::<&str>(..).map_err(storage)?,
        };
        let limit = page.limit.get();
        let mut items = Vec::with_capacity(limit);
        let mut last_key = None;
        let mut more = false;
        for entry in range.rev() {
            let (k, v) = entry.map_err(storage)?;
            let Some(g) = tenants.get(v.value()).map_err(storage)? else {
                continue;
            };
            let t: Tenant = from_json::<TenantRecord>(g.value(), "tenant")?.try_into()?;
            if !filter.matches(&t) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            last_key = Some(k.value().to_owned());
            items.push(t);
        }
        let next = match (more, last_key) {
            (true, Some(k)) => Some(Cursor::seal("tenants", &fp, &json!({ "before": k }))),
            _ => None,
        };
        Ok(Page { items, next })
    }

    async fn write_tenant(&self, write: TenantWrite) -> Result<()> {
        let has_events = !write.events.is_empty();
        self.write(move |tx| apply_write(tx, &write)).await?;
        if has_events {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }
}

#[async_trait]
impl AuditDao for EmbeddedStore {
    async fn list_audit(&self, tenant: &TenantId, page: &PageRequest) -> Result<Page<AuditEvent>> {
        let tid = tenant.to_string();
        let fp = crate::pagination::fingerprint(&[&tid]);
        let after = match &page.cursor {
            Some(c) => c
                .open("audit", &fp)?
                .get("after")
                .and_then(serde_json::Value::as_str)
                .map(str::to_owned),
            None => None,
        };
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(AUDIT).map_err(storage)?;
        let start = after.clone().unwrap_or_default();
        let limit = page.limit.get();
        let mut items = Vec::with_capacity(limit);
        let mut more = false;
        let mut last = None;
        for entry in table
            .range((tid.as_str(), start.as_str())..)
            .map_err(storage)?
        {
            let (k, v) = entry.map_err(storage)?;
            let (t, sk) = k.value();
            if t != tid {
                break;
            }
            if after.as_deref() == Some(sk) {
                continue;
            }
            if items.len() == limit {
                more = true;
                break;
            }
            last = Some(sk.to_owned());
            items.push(from_json::<AuditRecord>(v.value(), "audit")?.try_into()?);
        }
        let next = match (more, last) {
            (true, Some(sk)) => Some(Cursor::seal("audit", &fp, &json!({ "after": sk }))),
            _ => None,
        };
        Ok(Page { items, next })
    }
}

#[async_trait]
impl Outbox for EmbeddedStore {
    async fn pending(&self, limit: usize) -> Result<Vec<OutboxMessage>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(OUTBOX).map_err(storage)?;
        let mut out = Vec::new();
        for entry in table.range::<u64>(..).map_err(storage)?.take(limit) {
            let (_, v) = entry.map_err(storage)?;
            out.push(from_json::<OutboxRecord>(v.value(), "outbox")?.try_into()?);
        }
        Ok(out)
    }

    async fn mark_published(&self, ids: &[EventId]) -> Result<()> {
        let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
        self.write(move |tx| {
            let mut table = tx.open_table(OUTBOX).map_err(storage)?;
            let mut done = Vec::new();
            for entry in table.range::<u64>(..).map_err(storage)? {
                let (k, v) = entry.map_err(storage)?;
                let rec: OutboxRecord = from_json(v.value(), "outbox")?;
                if ids.contains(&rec.id) {
                    done.push(k.value());
                    if done.len() == ids.len() {
                        break;
                    }
                }
            }
            for k in done {
                table.remove(k).map_err(storage)?;
            }
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl IdempotencyStore for EmbeddedStore {
    async fn get_idempotency(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<IdempotencyRecord>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(IDEMPOTENCY).map_err(storage)?;
        let Some(g) = table.get(key).map_err(storage)? else {
            return Ok(None);
        };
        let rec: IdempotencyRecord =
            from_json::<IdempotencyRecordRecord>(g.value(), "idempotency")?.try_into()?;
        Ok((rec.expires_at > now).then_some(rec))
    }
}

#[async_trait]
impl ResourceInventory for EmbeddedStore {
    async fn active_resources(&self, tenant: &TenantId) -> Result<Vec<TenantResource>> {
        let tid = tenant.to_string();
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(RESOURCES).map_err(storage)?;
        let mut out = Vec::new();
        for entry in table.range((tid.as_str(), "")..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            if k.value().0 != tid {
                break;
            }
            let r: ResourceRecord = from_json(v.value(), "resource")?;
            if r.status != "deleted" {
                out.push(TenantResource {
                    resource_type: r.resource_type,
                    name: r.name,
                    arn: r.arn,
                    status: r.status,
                });
            }
        }
        Ok(out)
    }
}
