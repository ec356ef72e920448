//! `write_tenant` as one `TransactWriteItems`, and its cancellation reasons mapped, by index, to
//! the errors the embedded store returns.
//!
//! The items, in order (the order the embedded store checks its conditions in, which is also the
//! order the reasons are read in):
//! 1. Put tenant — `attribute_not_exists(PK)` (create) or `version = :expected` (update), with
//!    `ReturnValuesOnConditionCheckFailure=ALL_OLD` so a failure tells the current version;
//! 2. Put idempotency record — `attribute_not_exists(PK) OR expiresAt <= :now`;
//! 3. Put organisation-name guard — `attribute_not_exists(PK) OR tenantId = :id` (create, rename);
//! 4. Delete the old guard — `attribute_not_exists(PK) OR tenantId = :id` (rename);
//! 5. Put audit event;
//! 6. Put each outbox event, leased to this store (it publishes them right after the commit).

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, Delete, Put, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem,
};
use bbws_core::audit::AuditEvent;
use bbws_core::error::{Error, Result};
use bbws_core::events::OutboxMessage;
use bbws_core::ports::{Expect, NameGuard, TenantWrite};
use bbws_core::records::{AuditRecord, IdempotencyRecordRecord, OutboxRecord, TenantRecord};
use bbws_core::tenant::name_taken;

use super::keys::{self, PK, SK, n, s};
use super::{DynamoStore, Item, backoff, build_error, sdk_error, tenant_item, to_item};
use crate::sdk::{DYNAMODB_BACKOFF, MAX_ATTEMPTS};

/// What each transaction item is, so a cancellation reason at index `i` can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Tenant,
    Idempotency,
    Guard,
    OldGuard,
    Audit,
    Outbox,
}

/// How a cancelled transaction ends.
enum Cancelled {
    /// A condition failed: the caller's error.
    Refused(Error),
    /// Lost a race with another in-flight transaction, or throttled: try again.
    Transient(String),
}

pub(super) fn put(
    store: &DynamoStore,
    item: Item,
) -> aws_sdk_dynamodb::types::builders::PutBuilder {
    Put::builder()
        .table_name(store.table())
        .set_item(Some(item))
}

pub(super) fn with_put(put: Put) -> TransactWriteItem {
    TransactWriteItem::builder().put(put).build()
}

fn guard_item(key: &str, tenant_id: &str) -> Item {
    Item::from([
        (PK.to_owned(), s(keys::guard_pk(key))),
        (SK.to_owned(), s(keys::UNIQUE)),
        (keys::ENTITY_TYPE.to_owned(), s("ORGNAME")),
        ("tenantId".to_owned(), s(tenant_id)),
        ("uniqueKey".to_owned(), s(key)),
    ])
}

/// The transaction items of one write, and the role of each.
fn items(store: &DynamoStore, w: &TenantWrite) -> Result<(Vec<TransactWriteItem>, Vec<Role>)> {
    let record = TenantRecord::from(&w.tenant);
    let id = record.tenant_id.clone();
    let mut items = Vec::with_capacity(4 + w.events.len());
    let mut roles = Vec::with_capacity(items.capacity());

    let tenant = put(store, tenant_item(&record)?)
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld);
    let tenant = match w.expect {
        Expect::Absent => tenant.condition_expression("attribute_not_exists(PK)"),
        Expect::Version(v) => tenant
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(v)),
    };
    items.push(with_put(tenant.build().map_err(|e| build_error(&e))?));
    roles.push(Role::Tenant);

    if let Some(rec) = &w.idempotency {
        let mut item = to_item(&IdempotencyRecordRecord::from(rec), "idempotency")?;
        item.insert(PK.to_owned(), s(keys::idempotency_pk(&rec.key)));
        item.insert(SK.to_owned(), s(keys::METADATA));
        item.insert(keys::ENTITY_TYPE.to_owned(), s("IDEMPOTENCY"));
        // A record past its expiry no longer holds the key, whether or not TTL removed it yet.
        let p = put(store, item)
            .condition_expression("attribute_not_exists(PK) OR expiresAt <= :now")
            .expression_attribute_values(":now", s(rec.created_at.to_string()));
        items.push(with_put(p.build().map_err(|e| build_error(&e))?));
        roles.push(Role::Idempotency);
    }

    let claim = |key: &str| -> Result<TransactWriteItem> {
        let p = put(store, guard_item(key, &id))
            .condition_expression("attribute_not_exists(PK) OR tenantId = :id")
            .expression_attribute_values(":id", s(id.clone()));
        Ok(with_put(p.build().map_err(|e| build_error(&e))?))
    };
    match &w.name_guard {
        NameGuard::Keep => {}
        NameGuard::Claim(key) => {
            items.push(claim(key)?);
            roles.push(Role::Guard);
        }
        NameGuard::Move { from, to } => {
            items.push(claim(to)?);
            roles.push(Role::Guard);
            let d = Delete::builder()
                .table_name(store.table())
                .key(PK, s(keys::guard_pk(from)))
                .key(SK, s(keys::UNIQUE))
                .condition_expression("attribute_not_exists(PK) OR tenantId = :id")
                .expression_attribute_values(":id", s(id.clone()))
                .build()
                .map_err(|e| build_error(&e))?;
            items.push(TransactWriteItem::builder().delete(d).build());
            roles.push(Role::OldGuard);
        }
    }

    items.push(audit_put(store, &w.audit)?);
    roles.push(Role::Audit);
    for item in outbox_puts(store, &w.events)? {
        items.push(item);
        roles.push(Role::Outbox);
    }
    Ok((items, roles))
}

/// The audit event's item (`TENANT#{id}` / `EVENT#{timestamp}#{eventId}`).
pub(super) fn audit_put(store: &DynamoStore, event: &AuditEvent) -> Result<TransactWriteItem> {
    let mut audit = to_item(&AuditRecord::from(event), "audit")?;
    audit.insert(
        PK.to_owned(),
        s(keys::tenant_pk(&event.tenant_id.to_string())),
    );
    audit.insert(SK.to_owned(), s(keys::audit_sk(&event.sort_key())));
    audit.insert(keys::ENTITY_TYPE.to_owned(), s("AUDIT"));
    Ok(with_put(
        put(store, audit).build().map_err(|e| build_error(&e))?,
    ))
}

/// The outbox items of a write. The writer holds the lease on its own events: it publishes them
/// right after the commit (`Outbox::take_written`), and other relays leave them alone unless
/// that lease lapses.
pub(super) fn outbox_puts(
    store: &DynamoStore,
    events: &[OutboxMessage],
) -> Result<Vec<TransactWriteItem>> {
    let lease_until = store.lease_until();
    events
        .iter()
        .map(|event| {
            let rec = OutboxRecord::from(event);
            let mut item = to_item(&rec, "outbox")?;
            item.insert(PK.to_owned(), s(keys::OUTBOX_PK));
            item.insert(SK.to_owned(), s(keys::outbox_sk(&rec.time, &rec.id)));
            item.insert(keys::ENTITY_TYPE.to_owned(), s("OUTBOX"));
            item.insert(keys::LEASE_UNTIL.to_owned(), n(lease_until));
            item.insert(keys::LEASE_OWNER.to_owned(), s(store.owner.clone()));
            Ok(with_put(
                put(store, item).build().map_err(|e| build_error(&e))?,
            ))
        })
        .collect()
}

fn failed(reasons: &[CancellationReason], roles: &[Role], role: Role) -> Option<usize> {
    roles
        .iter()
        .zip(reasons)
        .enumerate()
        .find_map(|(i, (r, reason))| {
            (*r == role && reason.code() == Some("ConditionalCheckFailed")).then_some(i)
        })
}

/// Reads the cancellation reasons by index, in the embedded store's order of checks.
fn cancelled(reasons: &[CancellationReason], roles: &[Role], w: &TenantWrite) -> Cancelled {
    if let Some(i) = failed(reasons, roles, Role::Tenant) {
        let current = reasons[i]
            .item()
            .and_then(|item| match item.get("version") {
                Some(AttributeValue::N(v)) => v.parse::<u64>().ok(),
                _ => None,
            });
        return Cancelled::Refused(match (w.expect, current) {
            (Expect::Absent, _) => {
                Error::conflict(format!("Tenant {} already exists", w.tenant.id))
            }
            (Expect::Version(_), None) => Error::tenant_not_found(w.tenant.id),
            (Expect::Version(expected), Some(current)) => {
                Error::VersionConflict { expected, current }
            }
        });
    }
    if failed(reasons, roles, Role::Idempotency).is_some() {
        return Cancelled::Refused(Error::IdempotencyKeyReused);
    }
    if failed(reasons, roles, Role::Guard).is_some() {
        return Cancelled::Refused(name_taken(&w.tenant));
    }
    if failed(reasons, roles, Role::OldGuard).is_some() {
        return Cancelled::Refused(Error::Storage(format!(
            "the previous organisation-name guard of tenant {} belongs to another tenant",
            w.tenant.id
        )));
    }
    let codes: Vec<&str> = reasons
        .iter()
        .filter_map(CancellationReason::code)
        .filter(|c| *c != "None")
        .collect();
    let transient = codes.iter().all(|c| {
        matches!(
            *c,
            "TransactionConflict" | "ThrottlingError" | "ProvisionedThroughputExceeded"
        )
    });
    let what = format!("transaction cancelled: {}", codes.join(", "));
    if transient && !codes.is_empty() {
        Cancelled::Transient(what)
    } else {
        Cancelled::Refused(Error::Storage(format!(
            "DynamoDB TransactWriteItems: {what}"
        )))
    }
}

/// Writes `w` atomically. A transaction cancelled only because it raced another in-flight
/// transaction on the same items (`TransactionConflict`) or was throttled is sent again with
/// backoff (3 retries from 100 ms; the SDK's retry strategy does not retry cancellations); an
/// update that still loses reports `VERSION_CONFLICT`, a create `CONFLICT` ([`lost_race`]).
pub(super) async fn write_tenant(store: &DynamoStore, w: &TenantWrite) -> Result<()> {
    let (items, roles) = items(store, w)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        let res = store
            .client()
            .transact_write_items()
            .set_transact_items(Some(items.clone()))
            .send()
            .await;
        let Err(e) = res else {
            return Ok(());
        };
        let outcome = match e.as_service_error() {
            Some(TransactWriteItemsError::TransactionCanceledException(tce)) => {
                cancelled(tce.cancellation_reasons(), &roles, w)
            }
            Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                Cancelled::Transient("transaction in progress".into())
            }
            _ => Cancelled::Refused(sdk_error("TransactWriteItems", &e)),
        };
        match outcome {
            Cancelled::Refused(err) => return Err(err),
            Cancelled::Transient(what) if attempt < MAX_ATTEMPTS => {
                tracing::debug!(attempt, %what, tenant_id = %w.tenant.id, "retrying a cancelled tenant write");
                tokio::time::sleep(backoff(DYNAMODB_BACKOFF, attempt - 1)).await;
            }
            Cancelled::Transient(what) => {
                tracing::warn!(%what, tenant_id = %w.tenant.id, "tenant write kept conflicting");
                return Err(lost_race(store, w).await);
            }
        }
    }
}

/// The error for a write that kept losing to concurrent transactions: for an update, the
/// `VERSION_CONFLICT` a lost race is (with the version stored now), so the service re-reads and
/// tries again when the caller did not pin a version; for a create, a `CONFLICT`.
async fn lost_race(store: &DynamoStore, w: &TenantWrite) -> Error {
    let Expect::Version(expected) = w.expect else {
        return Error::conflict("The tenant is being changed by another request; try again");
    };
    let key = Item::from([
        (PK.to_owned(), s(keys::tenant_pk(&w.tenant.id.to_string()))),
        (SK.to_owned(), s(keys::METADATA)),
    ]);
    match store.get(key, "tenant version").await {
        Ok(Some(item)) => Error::VersionConflict {
            expected,
            current: version_of(&item).unwrap_or(expected),
        },
        Ok(None) => Error::tenant_not_found(w.tenant.id),
        Err(e) => e,
    }
}

fn version_of(item: &Item) -> Option<u64> {
    match item.get("version") {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use bbws_core::audit::AuditEvent;
    use bbws_core::idempotency::{IdempotencyRecord, IdempotentOutcome};
    use bbws_core::ids::{EventId, RandomIds, TenantId};
    use bbws_core::tenant::{Email, Environment, NewTenant, OrganizationName, Tenant};
    use bbws_core::time::Timestamp;
    use serde_json::json;

    use super::*;

    fn write(expect: Expect, guard: NameGuard, idempotent: bool) -> TenantWrite {
        let at: Timestamp = "2026-01-05T12:00:00.000Z".parse().expect("time");
        let tenant = Tenant::new(
            TenantId::generate(&RandomIds),
            NewTenant {
                organization_name: OrganizationName::parse("Acme Corp").expect("name"),
                contact_email: Email::parse("ops@acme.example").expect("email"),
                environment: Environment::Dev,
                division: None,
                group: None,
                team: None,
                metadata: serde_json::Map::new(),
            },
            None,
            "admin@bbws.io",
            at,
        );
        TenantWrite {
            audit: AuditEvent {
                event_id: EventId::generate(&RandomIds),
                tenant_id: tenant.id,
                event_type: "TENANT_CREATED".into(),
                timestamp: at,
                actor: "admin@bbws.io".into(),
                details: json!({}),
            },
            idempotency: idempotent.then(|| IdempotencyRecord {
                key: "k".into(),
                fingerprint: "f".into(),
                outcome: IdempotentOutcome::TenantCreated(tenant.clone()),
                created_at: at,
                expires_at: at,
            }),
            tenant,
            expect,
            name_guard: guard,
            events: vec![],
        }
    }

    fn reason(code: &str, version: Option<u64>) -> CancellationReason {
        let mut r = CancellationReason::builder().code(code);
        if let Some(v) = version {
            r = r.item("version", n(v));
        }
        r.build()
    }

    fn refused(c: Cancelled) -> Error {
        match c {
            Cancelled::Refused(e) => e,
            Cancelled::Transient(what) => panic!("expected a refusal, got transient {what}"),
        }
    }

    #[test]
    fn reasons_are_read_by_index_in_the_embedded_store_order() {
        let ok = || reason("None", None);
        let ccf = |v| reason("ConditionalCheckFailed", v);
        let claim = NameGuard::Claim("acme corp".into());
        let create = write(Expect::Absent, claim.clone(), true);
        let roles = [Role::Tenant, Role::Idempotency, Role::Guard, Role::Audit];

        let e = refused(cancelled(
            &[ccf(Some(1)), ok(), ok(), ok()],
            &roles,
            &create,
        ));
        assert!(e.to_string().contains("already exists"), "{e}");
        assert_eq!(
            refused(cancelled(
                &[ok(), ccf(None), ccf(None), ok()],
                &roles,
                &create
            ))
            .code(),
            bbws_core::ErrorCode::IdempotencyKeyReused,
            "the key is answered before the name, as the embedded store does"
        );
        let e = refused(cancelled(&[ok(), ok(), ccf(None), ok()], &roles, &create));
        assert_eq!(e.details(), json!({"organizationName": "Acme Corp"}));

        let update = write(Expect::Version(3), NameGuard::Keep, false);
        let roles = [Role::Tenant, Role::Audit];
        match refused(cancelled(&[ccf(Some(5)), ok()], &roles, &update)) {
            Error::VersionConflict { expected, current } => assert_eq!((expected, current), (3, 5)),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            refused(cancelled(&[ccf(None), ok()], &roles, &update)).code(),
            bbws_core::ErrorCode::TenantNotFound
        );
    }

    #[test]
    fn races_and_throttling_are_transient_anything_else_a_storage_error() {
        let update = write(Expect::Version(3), NameGuard::Keep, false);
        let roles = [Role::Tenant, Role::Audit];
        for codes in [
            ["TransactionConflict", "None"],
            ["None", "ThrottlingError"],
            ["TransactionConflict", "ProvisionedThroughputExceeded"],
        ] {
            let reasons: Vec<_> = codes.iter().map(|c| reason(c, None)).collect();
            assert!(
                matches!(
                    cancelled(&reasons, &roles, &update),
                    Cancelled::Transient(_)
                ),
                "{codes:?}"
            );
        }
        let e = refused(cancelled(
            &[reason("ValidationError", None), reason("None", None)],
            &roles,
            &update,
        ));
        assert_eq!(e.code(), bbws_core::ErrorCode::StorageError);
        assert!(e.to_string().contains("ValidationError"), "{e}");
    }
}
