//! The instance domain on the embedded store: instances, operations, the resource ledger and
//! their guards, with the same semantics as the DynamoDB design of digest 2.7 §3 (conditional
//! writes; one transaction per [`InstanceWrite`] holding the instance, its operation, its guards,
//! its audit event, its outbox events and its idempotency record).
//!
//! Tables:
//! - `instances`: (tenantId, instanceId) → instance record
//! - `instance_active`: tenantId → instanceId (the one-active-instance guard, BR-002)
//! - `resource_keys`: resourceKey → tenantId (the resource-key uniqueness guard, §4.2)
//! - `instance_ledger`: (instanceId, resourceType) → ledger record
//! - `operations`: operationId → operation record
//! - `instance_idempotency`: scoped key → idempotency record
//! - `instance_backups`: (tenantId, `BACKUP#{createdAt}#{backupId}`) → backup record

use async_trait::async_trait;
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use serde_json::{Map, json};

use super::{AUDIT, OUTBOX, RESOURCES};
use super::{EmbeddedStore, ResourceRecord, from_json, storage, to_json};
use crate::error::{Error, Result};
use crate::ids::{BackupId, InstanceId, OperationId, TenantId};
use crate::instance::backup::{Backup, BackupDao, BackupRecord, BackupWrite};
use crate::instance::records::{
    InstanceIdempotencyRecord, InstanceRecord, LedgerRecord, OperationRecord,
};
use crate::instance::{
    Instance, InstanceDao, InstanceGuard, InstanceIdempotency, InstanceWrite, LedgerDao,
    LedgerEntry, Operation, OperationDao, OperationWrite, WriteExpect,
};
use crate::records::{AuditRecord, OutboxRecord};
use crate::time::Timestamp;

const INSTANCES: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("instances");
const ACTIVE: TableDefinition<&str, &str> = TableDefinition::new("instance_active");
const RESOURCE_KEYS: TableDefinition<&str, &str> = TableDefinition::new("resource_keys");
const LEDGER: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("instance_ledger");
const OPERATIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("operations");
const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("instance_idempotency");
const BACKUPS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("instance_backups");

/// Creates the tables (called once when the store opens).
pub(super) fn create_tables(tx: &WriteTransaction) -> Result<()> {
    tx.open_table(INSTANCES).map_err(storage)?;
    tx.open_table(ACTIVE).map_err(storage)?;
    tx.open_table(RESOURCE_KEYS).map_err(storage)?;
    tx.open_table(LEDGER).map_err(storage)?;
    tx.open_table(OPERATIONS).map_err(storage)?;
    tx.open_table(IDEMPOTENCY).map_err(storage)?;
    tx.open_table(BACKUPS).map_err(storage)?;
    Ok(())
}

fn apply_backup(tx: &WriteTransaction, w: &BackupWrite) -> Result<()> {
    let rec = BackupRecord::from(&w.backup);
    let tid = rec.tenant_id.clone();
    let sk = rec.sort_key();
    let mut table = tx.open_table(BACKUPS).map_err(storage)?;
    let current: Option<BackupRecord> =
        match table.get((tid.as_str(), sk.as_str())).map_err(storage)? {
            Some(g) => Some(from_json(g.value(), "backup")?),
            None => None,
        };
    match (w.expect, &current) {
        (WriteExpect::Absent, Some(_)) => {
            return Err(Error::conflict(format!(
                "Backup {} already exists",
                rec.backup_id
            )));
        }
        (WriteExpect::Version(_), None) => {
            return Err(Error::business(
                crate::error::ErrorCode::BackupNotFound,
                format!("Backup {} not found", rec.backup_id),
            ));
        }
        (WriteExpect::Version(expected), Some(cur)) if cur.version != expected => {
            return Err(Error::VersionConflict {
                expected,
                current: cur.version,
            });
        }
        _ => {}
    }
    table
        .insert((tid.as_str(), sk.as_str()), to_json(&rec)?.as_slice())
        .map_err(storage)?;
    Ok(())
}

/// Every backup record of a tenant, oldest first (key order).
fn tenant_backups(store: &EmbeddedStore, tenant: &TenantId) -> Result<Vec<Backup>> {
    let tid = tenant.to_string();
    let tx = store.db.begin_read().map_err(storage)?;
    let table = tx.open_table(BACKUPS).map_err(storage)?;
    let mut out = Vec::new();
    for entry in table.range((tid.as_str(), "")..).map_err(storage)? {
        let (k, v) = entry.map_err(storage)?;
        if k.value().0 != tid {
            break;
        }
        out.push(from_json::<BackupRecord>(v.value(), "backup")?.try_into()?);
    }
    Ok(out)
}

#[async_trait]
impl BackupDao for EmbeddedStore {
    async fn backups(&self, tenant: &TenantId, instance: &InstanceId) -> Result<Vec<Backup>> {
        let mut all = tenant_backups(self, tenant)?;
        all.retain(|b| b.instance_id == *instance);
        all.reverse();
        Ok(all)
    }

    async fn backup(&self, tenant: &TenantId, id: &BackupId) -> Result<Option<Backup>> {
        Ok(tenant_backups(self, tenant)?
            .into_iter()
            .find(|b| b.id == *id))
    }

    async fn write_backup(&self, write: BackupWrite) -> Result<()> {
        self.write(move |tx| apply_backup(tx, &write)).await
    }
}

fn apply_operation(tx: &WriteTransaction, w: &OperationWrite) -> Result<()> {
    let id = w.operation.id.to_string();
    let mut ops = tx.open_table(OPERATIONS).map_err(storage)?;
    let current: Option<OperationRecord> = match ops.get(id.as_str()).map_err(storage)? {
        Some(g) => Some(from_json(g.value(), "operation")?),
        None => None,
    };
    match (w.expect, &current) {
        (WriteExpect::Absent, Some(_)) => {
            return Err(Error::conflict(format!("Operation {id} already exists")));
        }
        (WriteExpect::Version(_), None) => {
            return Err(Error::OperationNotFound { operation_id: id });
        }
        (WriteExpect::Version(expected), Some(cur)) if cur.version != expected => {
            return Err(Error::VersionConflict {
                expected,
                current: cur.version,
            });
        }
        _ => {}
    }
    ops.insert(
        id.as_str(),
        to_json(&OperationRecord::from(&w.operation))?.as_slice(),
    )
    .map_err(storage)?;
    Ok(())
}

fn apply_instance(tx: &WriteTransaction, w: &InstanceWrite) -> Result<()> {
    let tid = w.instance.tenant_id.to_string();
    let iid = w.instance.id.to_string();
    let mut instances = tx.open_table(INSTANCES).map_err(storage)?;
    let current: Option<InstanceRecord> = match instances
        .get((tid.as_str(), iid.as_str()))
        .map_err(storage)?
    {
        Some(g) => Some(from_json(g.value(), "instance")?),
        None => None,
    };
    match (w.expect, &current) {
        (WriteExpect::Absent, Some(_)) => {
            return Err(Error::conflict(format!("Instance {iid} already exists")));
        }
        (WriteExpect::Version(_), None) => {
            return Err(Error::InstanceNotFound {
                tenant_id: tid,
                instance_id: iid,
            });
        }
        (WriteExpect::Version(expected), Some(cur)) if cur.version != expected => {
            return Err(Error::VersionConflict {
                expected,
                current: cur.version,
            });
        }
        _ => {}
    }

    // A retry racing its own first request is answered as a replay, so the key goes first.
    if let Some(rec) = &w.idempotency {
        let mut idem = tx.open_table(IDEMPOTENCY).map_err(storage)?;
        if let Some(g) = idem.get(rec.key.as_str()).map_err(storage)? {
            let old: InstanceIdempotencyRecord = from_json(g.value(), "idempotency")?;
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
            to_json(&InstanceIdempotencyRecord::from(rec))?.as_slice(),
        )
        .map_err(storage)?;
    }

    match w.guard {
        InstanceGuard::Keep => {}
        InstanceGuard::Claim => {
            let mut active = tx.open_table(ACTIVE).map_err(storage)?;
            let holder = active
                .get(tid.as_str())
                .map_err(storage)?
                .map(|g| g.value().to_owned());
            if let Some(other) = holder.filter(|h| *h != iid) {
                let state = instances
                    .get((tid.as_str(), other.as_str()))
                    .map_err(storage)?
                    .map(|g| from_json::<InstanceRecord>(g.value(), "instance"))
                    .transpose()?
                    .map(|r| r.provisioning_state);
                let mut details = Map::new();
                details.insert("instanceId".into(), json!(other));
                details.insert("currentStatus".into(), json!(state));
                return Err(Error::Conflict {
                    message: format!("Tenant {tid} already has an instance ({other})"),
                    details,
                });
            }
            active.insert(tid.as_str(), iid.as_str()).map_err(storage)?;
            let key = w.instance.resource_key.as_str();
            let mut keys = tx.open_table(RESOURCE_KEYS).map_err(storage)?;
            let owner = keys
                .get(key)
                .map_err(storage)?
                .map(|g| g.value().to_owned());
            if let Some(other) = owner.filter(|o| *o != tid) {
                let mut details = Map::new();
                details.insert("resourceKey".into(), json!(key));
                details.insert("tenantId".into(), json!(other));
                return Err(Error::Conflict {
                    message: format!("Resource key {key} is used by another tenant"),
                    details,
                });
            }
            keys.insert(key, tid.as_str()).map_err(storage)?;
        }
        InstanceGuard::Release => {
            let mut active = tx.open_table(ACTIVE).map_err(storage)?;
            let held = active
                .get(tid.as_str())
                .map_err(storage)?
                .is_some_and(|g| g.value() == iid);
            if held {
                active.remove(tid.as_str()).map_err(storage)?;
            }
        }
    }

    if let Some(ow) = &w.operation {
        apply_operation(tx, ow)?;
    }
    if let Some(bw) = &w.backup {
        apply_backup(tx, bw)?;
    }

    let mut instance = w.instance.clone();
    if let Some(ow) = &w.operation {
        instance.current_operation = Some(ow.operation.id);
    }
    instances
        .insert(
            (tid.as_str(), iid.as_str()),
            to_json(&InstanceRecord::from(&instance))?.as_slice(),
        )
        .map_err(storage)?;

    if let Some(audit) = &w.audit {
        tx.open_table(AUDIT)
            .map_err(storage)?
            .insert(
                (tid.as_str(), audit.sort_key().as_str()),
                to_json(&AuditRecord::from(audit))?.as_slice(),
            )
            .map_err(storage)?;
    }
    if !w.events.is_empty() {
        let mut outbox = tx.open_table(OUTBOX).map_err(storage)?;
        let first = outbox
            .last()
            .map_err(storage)?
            .map_or(0, |(k, _)| k.value() + 1);
        for (seq, e) in (first..).zip(&w.events) {
            outbox
                .insert(seq, to_json(&OutboxRecord::from(e))?.as_slice())
                .map_err(storage)?;
        }
    }
    Ok(())
}

fn read_instance(
    table: &impl ReadableTable<(&'static str, &'static str), &'static [u8]>,
    tenant: &str,
    instance: &str,
) -> Result<Option<Instance>> {
    match table.get((tenant, instance)).map_err(storage)? {
        Some(g) => Ok(Some(
            from_json::<InstanceRecord>(g.value(), "instance")?.try_into()?,
        )),
        None => Ok(None),
    }
}

#[async_trait]
impl InstanceDao for EmbeddedStore {
    async fn get_instance(
        &self,
        tenant: &TenantId,
        instance: &InstanceId,
    ) -> Result<Option<Instance>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(INSTANCES).map_err(storage)?;
        read_instance(&table, &tenant.to_string(), &instance.to_string())
    }

    async fn active_instance(&self, tenant: &TenantId) -> Result<Option<Instance>> {
        let tid = tenant.to_string();
        let tx = self.db.begin_read().map_err(storage)?;
        let active = tx.open_table(ACTIVE).map_err(storage)?;
        let Some(iid) = active
            .get(tid.as_str())
            .map_err(storage)?
            .map(|g| g.value().to_owned())
        else {
            return Ok(None);
        };
        let table = tx.open_table(INSTANCES).map_err(storage)?;
        read_instance(&table, &tid, &iid)
    }

    async fn list_instances(&self, tenant: &TenantId) -> Result<Vec<Instance>> {
        let tid = tenant.to_string();
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(INSTANCES).map_err(storage)?;
        let mut out: Vec<Instance> = Vec::new();
        for entry in table.range((tid.as_str(), "")..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            if k.value().0 != tid {
                break;
            }
            out.push(from_json::<InstanceRecord>(v.value(), "instance")?.try_into()?);
        }
        out.sort_by_key(|i| i.created.at);
        Ok(out)
    }

    async fn write_instance(&self, write: InstanceWrite) -> Result<()> {
        let has_events = !write.events.is_empty();
        self.write(move |tx| apply_instance(tx, &write)).await?;
        if has_events {
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    async fn get_instance_idempotency(
        &self,
        key: &str,
        now: Timestamp,
    ) -> Result<Option<InstanceIdempotency>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(IDEMPOTENCY).map_err(storage)?;
        let Some(g) = table.get(key).map_err(storage)? else {
            return Ok(None);
        };
        let rec: InstanceIdempotency =
            from_json::<InstanceIdempotencyRecord>(g.value(), "idempotency")?.try_into()?;
        Ok((rec.expires_at > now).then_some(rec))
    }
}

#[async_trait]
impl OperationDao for EmbeddedStore {
    async fn get_operation(&self, id: &OperationId) -> Result<Option<Operation>> {
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(OPERATIONS).map_err(storage)?;
        match table.get(id.to_string().as_str()).map_err(storage)? {
            Some(g) => Ok(Some(
                from_json::<OperationRecord>(g.value(), "operation")?.try_into()?,
            )),
            None => Ok(None),
        }
    }

    async fn write_operation(&self, write: OperationWrite) -> Result<()> {
        self.write(move |tx| apply_operation(tx, &write)).await
    }
}

#[async_trait]
impl LedgerDao for EmbeddedStore {
    async fn ledger(&self, instance: &InstanceId) -> Result<Vec<LedgerEntry>> {
        let iid = instance.to_string();
        let tx = self.db.begin_read().map_err(storage)?;
        let table = tx.open_table(LEDGER).map_err(storage)?;
        let mut out: Vec<LedgerEntry> = Vec::new();
        for entry in table.range((iid.as_str(), "")..).map_err(storage)? {
            let (k, v) = entry.map_err(storage)?;
            if k.value().0 != iid {
                break;
            }
            out.push(from_json::<LedgerRecord>(v.value(), "ledger")?.try_into()?);
        }
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    async fn write_ledger(&self, entry: LedgerEntry) -> Result<()> {
        self.write(move |tx| {
            let rec = LedgerRecord::from(&entry);
            let iid = entry.instance_id.to_string();
            tx.open_table(LEDGER)
                .map_err(storage)?
                .insert(
                    (iid.as_str(), entry.resource_type.as_str()),
                    to_json(&rec)?.as_slice(),
                )
                .map_err(storage)?;
            if !entry.resource_type.is_archive() {
                let tid = entry.tenant_id.to_string();
                let key = format!("{}#{}", entry.resource_type.as_str(), entry.name);
                let mirror = ResourceRecord {
                    resource_type: entry.resource_type.as_str().to_owned(),
                    name: entry.name.clone(),
                    arn: entry.arn.clone().or_else(|| entry.id.clone()),
                    status: entry.status.as_str().to_owned(),
                };
                tx.open_table(RESOURCES)
                    .map_err(storage)?
                    .insert((tid.as_str(), key.as_str()), to_json(&mirror)?.as_slice())
                    .map_err(storage)?;
            }
            Ok(())
        })
        .await
    }
}
