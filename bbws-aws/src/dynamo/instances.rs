//! The instance domain on DynamoDB (digest 2.7 §3), on the same table as the tenants, so one
//! [`InstanceWrite`] is one `TransactWriteItems` that also carries the audit event and the outbox
//! events the relay of this table publishes.
//!
//! | Item | PK | SK | indexes |
//! |---|---|---|---|
//! | instance | `TENANT#{tenantId}` | `INSTANCE#{instanceId}` | GSI1 `TENANT#{tenantId}#STATE` / `{state}#{updatedAt}`; GSI2 `STATE#{state}` / `{updatedAt}#{tenantId}` |
//! | one-active-instance guard (BR-002) | `TENANT#{tenantId}` | `ACTIVE_INSTANCE` | — |
//! | resource-key guard (§4.2) | `RESOURCEKEY#{key}` | `UNIQUE` | — |
//! | operation | `OPERATION#{operationId}` | `OPERATION` | GSI1 `TENANT#{tenantId}#OPS` / `{createdAt}` |
//! | ledger entry | `INSTANCE#{instanceId}` | `RESOURCE#{type}` | — |
//! | ledger mirror (the tenant's resource inventory) | `TENANT#{tenantId}` | `RESOURCE#{type}#{name}` | — |
//! | idempotency record | `IDEMPOTENCY#{scoped key}` | `IDEMPOTENCY` (+ numeric `ttl`) | — |
//! | backup (§2.4, AP9) | `TENANT#{tenantId}#INSTANCE` | `BACKUP#{createdAt}#{backupId}` | — |
//!
//! The ledger is read by instance id (the port's access pattern: a run knows its instance), so its
//! partition is the instance rather than the digest's `TENANT#{id}#INSTANCE`; instance ids are
//! unique, and the tenant-wide view is the mirror, which the tenant's deletion checks already read.
//!
//! The write of an instance, in the order the embedded store checks its conditions:
//! 1. Put instance — `attribute_not_exists(PK)` or `version = :expected` (`ALL_OLD` on failure);
//! 2. Put idempotency record — `attribute_not_exists(PK) OR expiresAt <= :now`;
//! 3. Claim: put the active guard (`attribute_not_exists(PK) OR instanceId = :iid`) and the
//!    resource-key guard (`attribute_not_exists(PK) OR tenantId = :tid`); Release: delete the
//!    active guard while this instance holds it;
//! 4. Put operation — `attribute_not_exists(PK)` or `version = :expected`; put backup, likewise;
//! 5. Put audit event; 6. put each outbox event, leased to this store (as tenant writes are).

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use bbws_core::error::{Error, ErrorCode, Result};
use bbws_core::ids::{BackupId, InstanceId, OperationId, TenantId};
use bbws_core::instance::backup::{Backup, BackupDao, BackupRecord, BackupWrite};
use bbws_core::instance::records::{
    InstanceIdempotencyRecord, InstanceRecord, LedgerRecord, OperationRecord,
};
use bbws_core::instance::{
    Instance, InstanceDao, InstanceGuard, InstanceIdempotency, InstanceWrite, LedgerDao,
    LedgerEntry, Operation, OperationDao, OperationWrite, WriteExpect,
};
use bbws_core::records::{AuditRecord, OutboxRecord};
use bbws_core::time::Timestamp;
use serde_json::{Map, json};

use super::keys::{self, PK, SK, n, s};
use super::{
    DynamoStore, Item, ResourceRecord, backoff, build_error, from_item, sdk_error, storage, to_item,
};
use crate::sdk::{DYNAMODB_BACKOFF, MAX_ATTEMPTS};

pub const INSTANCE_PREFIX: &str = "INSTANCE#";
pub const ACTIVE_INSTANCE: &str = "ACTIVE_INSTANCE";
pub const OPERATION_SK: &str = "OPERATION";
pub const IDEMPOTENCY_SK: &str = "IDEMPOTENCY";

pub fn instance_sk(instance: &str) -> String {
    format!("{INSTANCE_PREFIX}{instance}")
}

pub fn resource_key_pk(key: &str) -> String {
    format!("RESOURCEKEY#{key}")
}

pub fn operation_pk(id: &str) -> String {
    format!("OPERATION#{id}")
}

pub fn backup_pk(tenant: &str) -> String {
    format!("TENANT#{tenant}#INSTANCE")
}

pub const BACKUP_PREFIX: &str = "BACKUP#";

fn backup_item(b: &Backup) -> Result<Item> {
    let rec = BackupRecord::from(b);
    let mut item = to_item(&rec, "backup")?;
    item.insert(PK.to_owned(), s(backup_pk(&rec.tenant_id)));
    item.insert(SK.to_owned(), s(rec.sort_key()));
    item.insert(keys::ENTITY_TYPE.to_owned(), s("BACKUP"));
    Ok(item)
}

fn backup_refusal(w: &BackupWrite, current: Option<u64>) -> Error {
    let id = w.backup.id.to_string();
    versioned_refusal(
        w.expect,
        current,
        || Error::conflict(format!("Backup {id} already exists")),
        || Error::business(ErrorCode::BackupNotFound, format!("Backup {id} not found")),
    )
}

pub fn ledger_pk(instance: &str) -> String {
    format!("INSTANCE#{instance}")
}

pub fn ledger_sk(resource_type: &str) -> String {
    format!("{}{resource_type}", keys::RESOURCE_PREFIX)
}

fn key(pk: String, sk: &str) -> Item {
    Item::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

fn instance_item(instance: &Instance) -> Result<Item> {
    let rec = InstanceRecord::from(instance);
    let mut item = to_item(&rec, "instance")?;
    let tid = &rec.tenant_id;
    for (k, v) in [
        (PK, keys::tenant_pk(tid)),
        (SK, instance_sk(&rec.instance_id)),
        (keys::ENTITY_TYPE, "INSTANCE".to_owned()),
        (keys::GSI1.pk, format!("TENANT#{tid}#STATE")),
        (
            keys::GSI1.sk,
            format!("{}#{}", rec.provisioning_state, rec.updated_at),
        ),
        (keys::GSI2.pk, format!("STATE#{}", rec.provisioning_state)),
        (keys::GSI2.sk, format!("{}#{tid}", rec.updated_at)),
    ] {
        item.insert(k.to_owned(), s(v));
    }
    Ok(item)
}

fn operation_item(op: &Operation) -> Result<Item> {
    let rec = OperationRecord::from(op);
    let mut item = to_item(&rec, "operation")?;
    for (k, v) in [
        (PK, operation_pk(&rec.operation_id)),
        (SK, OPERATION_SK.to_owned()),
        (keys::ENTITY_TYPE, "OPERATION".to_owned()),
        (keys::GSI1.pk, format!("TENANT#{}#OPS", rec.tenant_id)),
        (keys::GSI1.sk, rec.created_at.clone()),
    ] {
        item.insert(k.to_owned(), s(v));
    }
    Ok(item)
}

fn version_of(item: &Item) -> Option<u64> {
    match item.get("version") {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn string_of(item: &Item, attr: &str) -> Option<String> {
    match item.get(attr) {
        Some(AttributeValue::S(v)) => Some(v.clone()),
        _ => None,
    }
}

/// What each transaction item is, so a cancellation reason at index `i` can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Instance,
    Idempotency,
    ActiveGuard,
    KeyGuard,
    Release,
    Operation,
    Backup,
    Audit,
    Outbox,
}

enum Cancelled {
    Refused(Error),
    Transient(String),
}

fn put(store: &DynamoStore, item: Item) -> aws_sdk_dynamodb::types::builders::PutBuilder {
    Put::builder()
        .table_name(store.table())
        .set_item(Some(item))
}

fn with_put(p: aws_sdk_dynamodb::types::builders::PutBuilder) -> Result<TransactWriteItem> {
    Ok(TransactWriteItem::builder()
        .put(p.build().map_err(|e| build_error(&e))?)
        .build())
}

fn versioned(
    p: aws_sdk_dynamodb::types::builders::PutBuilder,
    expect: WriteExpect,
) -> aws_sdk_dynamodb::types::builders::PutBuilder {
    let p = p.return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    match expect {
        WriteExpect::Absent => p.condition_expression("attribute_not_exists(PK)"),
        WriteExpect::Version(v) => p
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(v)),
    }
}

/// The transaction items of one instance write, and the role of each. `release` says whether
/// this instance holds the active guard (read before the write; `Release` of a guard held by
/// another instance leaves it alone, as the embedded store does).
fn items(
    store: &DynamoStore,
    w: &InstanceWrite,
    release: bool,
) -> Result<(Vec<TransactWriteItem>, Vec<Role>)> {
    let tid = w.instance.tenant_id.to_string();
    let iid = w.instance.id.to_string();
    let mut items = Vec::with_capacity(6 + w.events.len());
    let mut roles = Vec::with_capacity(items.capacity());

    let mut instance = w.instance.clone();
    if let Some(ow) = &w.operation {
        instance.current_operation = Some(ow.operation.id);
    }
    items.push(with_put(versioned(
        put(store, instance_item(&instance)?),
        w.expect,
    ))?);
    roles.push(Role::Instance);

    if let Some(rec) = &w.idempotency {
        let mut item = to_item(&InstanceIdempotencyRecord::from(rec), "idempotency")?;
        item.insert(PK.to_owned(), s(keys::idempotency_pk(&rec.key)));
        item.insert(SK.to_owned(), s(IDEMPOTENCY_SK));
        item.insert(keys::ENTITY_TYPE.to_owned(), s("INSTANCE_IDEMPOTENCY"));
        items.push(with_put(
            put(store, item)
                .condition_expression("attribute_not_exists(PK) OR expiresAt <= :now")
                .expression_attribute_values(":now", s(rec.created_at.to_string())),
        )?);
        roles.push(Role::Idempotency);
    }

    match w.guard {
        InstanceGuard::Claim => {
            let active = Item::from([
                (PK.to_owned(), s(keys::tenant_pk(&tid))),
                (SK.to_owned(), s(ACTIVE_INSTANCE)),
                (keys::ENTITY_TYPE.to_owned(), s("ACTIVE_INSTANCE")),
                ("tenantId".to_owned(), s(tid.clone())),
                ("instanceId".to_owned(), s(iid.clone())),
            ]);
            items.push(with_put(
                put(store, active)
                    .condition_expression("attribute_not_exists(PK) OR instanceId = :iid")
                    .expression_attribute_values(":iid", s(iid.clone()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    ),
            )?);
            roles.push(Role::ActiveGuard);
            let rk = w.instance.resource_key.as_str();
            let guard = Item::from([
                (PK.to_owned(), s(resource_key_pk(rk))),
                (SK.to_owned(), s(keys::UNIQUE)),
                (keys::ENTITY_TYPE.to_owned(), s("RESOURCEKEY")),
                ("tenantId".to_owned(), s(tid.clone())),
                ("resourceKey".to_owned(), s(rk)),
            ]);
            items.push(with_put(
                put(store, guard)
                    .condition_expression("attribute_not_exists(PK) OR tenantId = :tid")
                    .expression_attribute_values(":tid", s(tid.clone()))
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    ),
            )?);
            roles.push(Role::KeyGuard);
        }
        InstanceGuard::Release if release => {
            let d = Delete::builder()
                .table_name(store.table())
                .set_key(Some(key(keys::tenant_pk(&tid), ACTIVE_INSTANCE)))
                .condition_expression("attribute_not_exists(PK) OR instanceId = :iid")
                .expression_attribute_values(":iid", s(iid.clone()))
                .build()
                .map_err(|e| build_error(&e))?;
            items.push(TransactWriteItem::builder().delete(d).build());
            roles.push(Role::Release);
        }
        InstanceGuard::Keep | InstanceGuard::Release => {}
    }

    if let Some(ow) = &w.operation {
        items.push(with_put(versioned(
            put(store, operation_item(&ow.operation)?),
            ow.expect,
        ))?);
        roles.push(Role::Operation);
    }
    if let Some(bw) = &w.backup {
        items.push(with_put(versioned(
            put(store, backup_item(&bw.backup)?),
            bw.expect,
        ))?);
        roles.push(Role::Backup);
    }

    if let Some(audit) = &w.audit {
        let mut item = to_item(&AuditRecord::from(audit), "audit")?;
        item.insert(PK.to_owned(), s(keys::tenant_pk(&tid)));
        item.insert(SK.to_owned(), s(keys::audit_sk(&audit.sort_key())));
        item.insert(keys::ENTITY_TYPE.to_owned(), s("AUDIT"));
        items.push(with_put(put(store, item))?);
        roles.push(Role::Audit);
    }

    let lease_until = store.lease_until();
    for event in &w.events {
        let rec = OutboxRecord::from(event);
        let mut item = to_item(&rec, "outbox")?;
        item.insert(PK.to_owned(), s(keys::OUTBOX_PK));
        item.insert(SK.to_owned(), s(keys::outbox_sk(&rec.time, &rec.id)));
        item.insert(keys::ENTITY_TYPE.to_owned(), s("OUTBOX"));
        item.insert(keys::LEASE_UNTIL.to_owned(), n(lease_until));
        item.insert(keys::LEASE_OWNER.to_owned(), s(store.owner.clone()));
        items.push(with_put(put(store, item))?);
        roles.push(Role::Outbox);
    }
    Ok((items, roles))
}

fn failed<'r>(
    reasons: &'r [CancellationReason],
    roles: &[Role],
    role: Role,
) -> Option<&'r CancellationReason> {
    roles.iter().zip(reasons).find_map(|(r, reason)| {
        (*r == role && reason.code() == Some("ConditionalCheckFailed")).then_some(reason)
    })
}

fn versioned_refusal(
    expect: WriteExpect,
    current: Option<u64>,
    exists: impl FnOnce() -> Error,
    missing: impl FnOnce() -> Error,
) -> Error {
    match (expect, current) {
        (WriteExpect::Absent, _) => exists(),
        (WriteExpect::Version(_), None) => missing(),
        (WriteExpect::Version(expected), Some(current)) => {
            Error::VersionConflict { expected, current }
        }
    }
}

/// Reads the cancellation reasons in the embedded store's order of checks.
async fn cancelled(
    store: &DynamoStore,
    reasons: &[CancellationReason],
    roles: &[Role],
    w: &InstanceWrite,
) -> Cancelled {
    let tid = w.instance.tenant_id.to_string();
    let iid = w.instance.id.to_string();
    if let Some(r) = failed(reasons, roles, Role::Instance) {
        let current = r.item().and_then(version_of);
        return Cancelled::Refused(versioned_refusal(
            w.expect,
            current,
            || Error::conflict(format!("Instance {iid} already exists")),
            || Error::InstanceNotFound {
                tenant_id: tid.clone(),
                instance_id: iid.clone(),
            },
        ));
    }
    if failed(reasons, roles, Role::Idempotency).is_some() {
        return Cancelled::Refused(Error::IdempotencyKeyReused);
    }
    if let Some(r) = failed(reasons, roles, Role::ActiveGuard) {
        let holder = match r.item().and_then(|i| string_of(i, "instanceId")) {
            Some(h) => Some(h),
            None => store
                .get(key(keys::tenant_pk(&tid), ACTIVE_INSTANCE), "active guard")
                .await
                .ok()
                .flatten()
                .and_then(|i| string_of(&i, "instanceId")),
        };
        let state = match &holder {
            Some(h) => store
                .get(key(keys::tenant_pk(&tid), &instance_sk(h)), "instance")
                .await
                .ok()
                .flatten()
                .and_then(|i| string_of(&i, "provisioningState")),
            None => None,
        };
        let other = holder.unwrap_or_default();
        let mut details = Map::new();
        details.insert("instanceId".into(), json!(other));
        details.insert("currentStatus".into(), json!(state));
        return Cancelled::Refused(Error::Conflict {
            message: format!("Tenant {tid} already has an instance ({other})"),
            details,
        });
    }
    if let Some(r) = failed(reasons, roles, Role::KeyGuard) {
        let rk = w.instance.resource_key.as_str();
        let owner = r.item().and_then(|i| string_of(i, "tenantId"));
        let mut details = Map::new();
        details.insert("resourceKey".into(), json!(rk));
        details.insert("tenantId".into(), json!(owner));
        return Cancelled::Refused(Error::Conflict {
            message: format!("Resource key {rk} is used by another tenant"),
            details,
        });
    }
    if failed(reasons, roles, Role::Release).is_some() {
        return Cancelled::Transient("the active-instance guard changed meanwhile".into());
    }
    if let (Some(r), Some(ow)) = (failed(reasons, roles, Role::Operation), &w.operation) {
        let current = r.item().and_then(version_of);
        let id = ow.operation.id.to_string();
        return Cancelled::Refused(versioned_refusal(
            ow.expect,
            current,
            || Error::conflict(format!("Operation {id} already exists")),
            || Error::OperationNotFound {
                operation_id: id.clone(),
            },
        ));
    }
    if let (Some(r), Some(bw)) = (failed(reasons, roles, Role::Backup), &w.backup) {
        return Cancelled::Refused(backup_refusal(bw, r.item().and_then(version_of)));
    }
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(CancellationReason::code)
        .filter(|c| *c != "None")
        .collect();
    let transient = !codes.is_empty()
        && codes.iter().all(|c| {
            matches!(
                *c,
                "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
            )
        });
    let what = format!("transaction cancelled: {}", codes.join(", "));
    if transient {
        Cancelled::Transient(what)
    } else {
        Cancelled::Refused(storage(format!("DynamoDB TransactWriteItems: {what}")))
    }
}

async fn write_instance(store: &DynamoStore, w: &InstanceWrite) -> Result<()> {
    let tid = w.instance.tenant_id.to_string();
    let iid = w.instance.id.to_string();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let release = match w.guard {
            InstanceGuard::Release => store
                .get(key(keys::tenant_pk(&tid), ACTIVE_INSTANCE), "active guard")
                .await?
                .and_then(|i| string_of(&i, "instanceId"))
                .is_some_and(|h| h == iid),
            _ => false,
        };
        let (items, roles) = items(store, w, release)?;
        let res = store
            .client()
            .transact_write_items()
            .set_transact_items(Some(items))
            .send()
            .await;
        let Err(e) = res else {
            return Ok(());
        };
        let outcome = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(tce)) => {
                cancelled(store, tce.cancellation_reasons(), &roles, w).await
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                Cancelled::Transient("transaction in progress".into())
            }
            _ => Cancelled::Refused(sdk_error("TransactWriteItems", &e)),
        };
        match outcome {
            Cancelled::Refused(err) => return Err(err),
            Cancelled::Transient(what) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, %what, instance_id = %iid, "retrying a cancelled instance write");
                tokio::time::sleep(backoff(DYNAMODB_BACKOFF, attempt - 1)).await;
            }
            Cancelled::Transient(what) => {
                return Err(match w.expect {
                    WriteExpect::Absent => Error::conflict(format!(
                        "The instance is being changed by another request ({what}); try again"
                    )),
                    WriteExpect::Version(expected) => {
                        let current = store
                            .get(key(keys::tenant_pk(&tid), &instance_sk(&iid)), "instance")
                            .await?
                            .as_ref()
                            .and_then(version_of)
                            .unwrap_or(expected);
                        Error::VersionConflict { expected, current }
                    }
                });
            }
        }
    }
}

impl DynamoStore {
    async fn read_instance(&self, tid: &str, iid: &str) -> Result<Option<Instance>> {
        match self
            .get(key(keys::tenant_pk(tid), &instance_sk(iid)), "instance")
            .await?
        {
            Some(item) => Ok(Some(
                from_item::<InstanceRecord>(item, "instance")?.try_into()?,
            )),
            None => Ok(None),
        }
    }

    /// Every item of a partition (with a sort-key prefix), all pages.
    async fn query_all(&self, pk: String, prefix: &str, what: &str) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("Query ({what})"), &e))?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl InstanceDao for DynamoStore {
    async fn get_instance(
        &self,
        tenant: &TenantId,
        instance: &InstanceId,
    ) -> Result<Option<Instance>> {
        self.read_instance(&tenant.to_string(), &instance.to_string())
            .await
    }

    async fn active_instance(&self, tenant: &TenantId) -> Result<Option<Instance>> {
        let tid = tenant.to_string();
        let Some(holder) = self
            .get(key(keys::tenant_pk(&tid), ACTIVE_INSTANCE), "active guard")
            .await?
            .and_then(|i| string_of(&i, "instanceId"))
        else {
            return Ok(None);
        };
        self.read_instance(&tid, &holder).await
    }

    async fn list_instances(&self, tenant: &TenantId) -> Result<Vec<Instance>> {
        let items = self
            .query_all(
                keys::tenant_pk(&tenant.to_string()),
                INSTANCE_PREFIX,
                "instances",
            )
            .await?;
        let mut out = items
            .into_iter()
            .map(|i| from_item::<InstanceRecord>(i, "instance")?.try_into())
            .collect::<Result<Vec<Instance>>>()?;
        out.sort_by_key(|i| i.created.at);
        Ok(out)
    }

    async fn write_instance(&self, write: InstanceWrite) -> Result<()> {
        write_instance(self, &write).await?;
        if !write.events.is_empty() {
            self.hold_written(write.events);
            self.outbox_wake.notify_one();
        }
        Ok(())
    }

    async fn get_instance_idempotency(
        &self,
        key_: &str,
        now: Timestamp,
    ) -> Result<Option<InstanceIdempotency>> {
        let Some(item) = self
            .get(
                key(keys::idempotency_pk(key_), IDEMPOTENCY_SK),
                "idempotency",
            )
            .await?
        else {
            return Ok(None);
        };
        let rec: InstanceIdempotency =
            from_item::<InstanceIdempotencyRecord>(item, "idempotency")?.try_into()?;
        Ok((rec.expires_at > now).then_some(rec))
    }
}

#[async_trait]
impl OperationDao for DynamoStore {
    async fn get_operation(&self, id: &OperationId) -> Result<Option<Operation>> {
        match self
            .get(
                key(operation_pk(&id.to_string()), OPERATION_SK),
                "operation",
            )
            .await?
        {
            Some(item) => Ok(Some(
                from_item::<OperationRecord>(item, "operation")?.try_into()?,
            )),
            None => Ok(None),
        }
    }

    async fn write_operation(&self, write: OperationWrite) -> Result<()> {
        let id = write.operation.id.to_string();
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(operation_item(&write.operation)?));
        let req = match write.expect {
            WriteExpect::Absent => req.condition_expression("attribute_not_exists(PK)"),
            WriteExpect::Version(v) => req
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(v)),
        };
        let res = req.send().await;
        let Err(e) = res else {
            return Ok(());
        };
        if !matches!(
            e.as_service_error(),
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
        ) {
            return Err(sdk_error("PutItem (operation)", &e));
        }
        let current = self
            .get(key(operation_pk(&id), OPERATION_SK), "operation")
            .await?
            .as_ref()
            .and_then(version_of);
        Err(versioned_refusal(
            write.expect,
            current,
            || Error::conflict(format!("Operation {id} already exists")),
            || Error::OperationNotFound {
                operation_id: id.clone(),
            },
        ))
    }
}

#[async_trait]
impl LedgerDao for DynamoStore {
    async fn ledger(&self, instance: &InstanceId) -> Result<Vec<LedgerEntry>> {
        let items = self
            .query_all(
                ledger_pk(&instance.to_string()),
                keys::RESOURCE_PREFIX,
                "ledger",
            )
            .await?;
        let mut out = items
            .into_iter()
            .map(|i| from_item::<LedgerRecord>(i, "ledger")?.try_into())
            .collect::<Result<Vec<LedgerEntry>>>()?;
        out.sort_by_key(|e| e.seq);
        Ok(out)
    }

    /// The entry and its mirror in the tenant's resource inventory, in one transaction (archives
    /// are not mirrored: they outlive the tenant's resources by design).
    async fn write_ledger(&self, entry: LedgerEntry) -> Result<()> {
        let rec = LedgerRecord::from(&entry);
        let mut item = to_item(&rec, "ledger")?;
        item.insert(PK.to_owned(), s(ledger_pk(&rec.instance_id)));
        item.insert(SK.to_owned(), s(ledger_sk(&rec.resource_type)));
        item.insert(keys::ENTITY_TYPE.to_owned(), s("LEDGER"));
        if entry.resource_type.is_archive() {
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(|e| sdk_error("PutItem (ledger)", &e))?;
            return Ok(());
        }
        let mirror = ResourceRecord {
            tenant_id: rec.tenant_id.clone(),
            resource_type: rec.resource_type.clone(),
            name: rec.resource_name.clone(),
            arn: entry.arn.clone().or_else(|| entry.id.clone()),
            status: rec.status.clone(),
        };
        let mut m = to_item(&mirror, "resource")?;
        m.insert(PK.to_owned(), s(keys::tenant_pk(&rec.tenant_id)));
        m.insert(
            SK.to_owned(),
            s(keys::resource_sk(&rec.resource_type, &rec.resource_name)),
        );
        m.insert(keys::ENTITY_TYPE.to_owned(), s("RESOURCE"));
        self.client
            .transact_write_items()
            .transact_items(with_put(put(self, item))?)
            .transact_items(with_put(put(self, m))?)
            .send()
            .await
            .map_err(|e| sdk_error("TransactWriteItems (ledger)", &e))?;
        Ok(())
    }
}

#[async_trait]
impl BackupDao for DynamoStore {
    /// One query of the tenant's backup partition (AP9), newest first.
    async fn backups(&self, tenant: &TenantId, instance: &InstanceId) -> Result<Vec<Backup>> {
        let mut out = self.tenant_backups(tenant).await?;
        out.retain(|b| b.instance_id == *instance);
        out.reverse();
        Ok(out)
    }

    async fn backup(&self, tenant: &TenantId, id: &BackupId) -> Result<Option<Backup>> {
        Ok(self
            .tenant_backups(tenant)
            .await?
            .into_iter()
            .find(|b| b.id == *id))
    }

    async fn write_backup(&self, write: BackupWrite) -> Result<()> {
        let item = backup_item(&write.backup)?;
        let key_ = key(
            backup_pk(&write.backup.tenant_id.to_string()),
            &BackupRecord::from(&write.backup).sort_key(),
        );
        let req = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item));
        let req = match write.expect {
            WriteExpect::Absent => req.condition_expression("attribute_not_exists(PK)"),
            WriteExpect::Version(v) => req
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(v)),
        };
        let Err(e) = req.send().await else {
            return Ok(());
        };
        if !matches!(
            e.as_service_error(),
            Some(aws_sdk_dynamodb::operation::put_item::PutItemError::ConditionalCheckFailedException(_))
        ) {
            return Err(sdk_error("PutItem (backup)", &e));
        }
        let current = self
            .get(key_, "backup")
            .await?
            .as_ref()
            .and_then(version_of);
        Err(backup_refusal(&write, current))
    }
}

impl DynamoStore {
    async fn tenant_backups(&self, tenant: &TenantId) -> Result<Vec<Backup>> {
        self.query_all(backup_pk(&tenant.to_string()), BACKUP_PREFIX, "backups")
            .await?
            .into_iter()
            .map(|i| from_item::<BackupRecord>(i, "backup")?.try_into())
            .collect()
    }
}
