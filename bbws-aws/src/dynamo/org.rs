//! The organisation storage port ([`OrgDao`]) on the tenants table, with the keys of
//! `bbws_core::org::ports::keys` and the semantics of the embedded store (the reference).
//!
//! | Item | PK | SK | GSI1PK / GSI1SK |
//! |---|---|---|---|
//! | division, group, team | `TENANT#{t}` | `HIERARCHY#DIVISION#{d}`, `HIERARCHY#GROUP#{d}#{g}`, `HIERARCHY#TEAM#{d}#{g}#{tm}` | — |
//! | team member | `TENANT#{t}` | `HIERARCHY#TEAMUSER#{tm}#{u}` | `USER#{u}` / `TEAM#{t}#{tm}` |
//! | user assignment | `TENANT#{t}` | `USER#{u}` | `USER#{u}` / `TENANT#{t}` |
//! | invitation | `TENANT#{t}` | `INVITATION#{id}` | `EMAIL#{lower email}` / `INVITATION#{t}#{id}` |
//! | token lookup | `INVTOKEN#{sha256}` | `METADATA` (+ `ttl` = expiresAt + 24 h) | — |
//! | node-name guard | `UNITNAME#{t}#{parentKey}#{lower name}` | `UNIQUE` | — |
//! | pending-invitation guard | `TENANT#{t}` | `PENDINGINVITE#{lower email}` | — |
//! | counter | `TENANT#{t}` | `COUNTER#…` (number `n`; missing = 0) | — |
//! | idempotency record | `IDEMPOTENCY#{key}` | `METADATA` (+ `ttl`) | — |
//!
//! A tenant's whole tree is one Query (`begins_with(SK, "HIERARCHY#")`); a user's tenants and
//! teams are one GSI1 Query each.
//!
//! An [`OrgWrite`] is one `TransactWriteItems`, its items in the order the embedded store checks
//! its conditions: idempotency record, condition checks, entity puts and deletes, guards,
//! counters, token items, audit event, outbox events (leased to this store, like the tenant
//! writes). The first item whose condition failed, in that order, decides the error, so both
//! backends answer alike. Conditions on entities, checks and counters return the old item, which
//! tells the current version, tenant status or counter value.
//!
//! Guards are released only by their owner. The embedded store leaves a guard another owner
//! holds untouched; a DynamoDB delete cannot be "only if mine, else nothing", so the release is
//! a delete under `attribute_not_exists(PK) OR owner = :owner`, and when only releases failed the
//! transaction is sent again without them.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, CancellationReason, ConditionCheck, Delete, Put,
    ReturnValuesOnConditionCheckFailure, TransactWriteItem, Update,
};
use bbws_core::auth::Role;
use bbws_core::error::{Error, ErrorCode, Result};
use bbws_core::ids::{InvitationId, TeamId, TenantId};
use bbws_core::org::ports::{
    CounterExpect, CounterKey, CounterOp, GuardKey, GuardOp, OrgCheck, OrgDao,
    OrgIdempotencyRecord, OrgItem, OrgKey, OrgOp, OrgWrite, TokenOp, keys as org_keys,
};
use bbws_core::org::records::{
    AssignmentRecord, InvitationRecord, MemberRecord, OrgIdempotencyRecordRecord, UnitRecord,
};
use bbws_core::org::{
    Assignment, HierarchySnapshot, Invitation, InvitationStatus, OrgUnit, Parent, TeamMember,
    TokenHash, UnitPath, UserId,
};
use bbws_core::pagination::{Cursor, Page, PageRequest, fingerprint};
use bbws_core::ports::Expect;
use bbws_core::tenant::{Email, TenantStatus};
use bbws_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::keys::{self, GSI1, PK, SK, n, s};
use super::write::{audit_put, outbox_puts, put, with_put};
use super::{
    Collector, DynamoStore, Item, backoff, build_error, from_item, key, query_limit, sdk_error,
    storage, to_item,
};
use crate::sdk::{DYNAMODB_BACKOFF, MAX_ATTEMPTS};

/// The number attribute of a counter item.
const COUNT: &str = "n";
/// The owner attribute of a guard item.
const OWNER: &str = "owner";
/// How long a token lookup item outlives its invitation's expiry before TTL may remove it.
const TOKEN_GRACE_SECS: i64 = 24 * 3600;

/// The table key of a guard: the tenant is part of a node-name guard's partition, a pending
/// invitation guard lives in the tenant's partition.
fn guard_key(tenant: &TenantId, g: &GuardKey) -> (String, String) {
    match g {
        GuardKey::UnitName { parent, name } => (
            format!("UNITNAME#{tenant}#{}#{}", parent.key(), name.unique_key()),
            keys::UNIQUE.to_owned(),
        ),
        GuardKey::PendingInvitation { .. } => (org_keys::tenant_pk(tenant), g.key()),
    }
}

fn counter_key(tenant: &TenantId, c: CounterKey) -> Item {
    key(org_keys::tenant_pk(tenant), &c.key())
}

fn token_pk(hash: &TokenHash) -> String {
    format!("INVTOKEN#{}", hash.as_str())
}

fn pending_sk(email: &Email) -> String {
    GuardKey::PendingInvitation {
        email: email.clone(),
    }
    .key()
}

/// The token lookup item (C10).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TokenRecord {
    tenant_id: String,
    invitation_id: String,
}

/// What each transaction item is, so the cancellation reason at its index can be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Idempotency,
    Check(usize),
    Op(usize),
    Claim(usize),
    Release(usize),
    Counter(usize),
    Token(usize),
    Audit,
    Outbox,
}

/// How a cancelled transaction ends.
enum Cancelled {
    Refused(Error),
    /// Only releases of guards held by another owner failed: send it again without them.
    SkipReleases(Vec<usize>),
    /// Lost a race with another in-flight transaction, or throttled: try again.
    Transient(String),
}

fn all_old() -> ReturnValuesOnConditionCheckFailure {
    ReturnValuesOnConditionCheckFailure::AllOld
}

fn entity_type(item: &OrgItem) -> &'static str {
    match item {
        OrgItem::Unit(u) => u.kind().as_str(),
        OrgItem::Assignment(_) => "USER_ASSIGNMENT",
        OrgItem::Member(_) => "TEAM_MEMBER",
        OrgItem::Invitation(_) => "INVITATION",
    }
}

/// A stored entity: its record, table keys and GSI1 keys.
fn entity_item(tenant: &TenantId, item: &OrgItem) -> Result<Item> {
    let mut out = match item {
        OrgItem::Unit(u) => to_item(&UnitRecord::from(u), "hierarchy")?,
        OrgItem::Assignment(a) => to_item(&AssignmentRecord::from(a), "assignment")?,
        OrgItem::Member(m) => to_item(&MemberRecord::from(m), "team member")?,
        OrgItem::Invitation(i) => to_item(&InvitationRecord::from(i), "invitation")?,
    };
    let gsi1 = match item {
        OrgItem::Unit(_) => None,
        OrgItem::Assignment(a) => Some((
            org_keys::assignment_sk(&a.user_id),
            org_keys::gsi1_assignment_sk(tenant),
        )),
        OrgItem::Member(m) => m.team_id().map(|t| {
            (
                org_keys::assignment_sk(&m.user_id),
                org_keys::gsi1_member_sk(tenant, t),
            )
        }),
        OrgItem::Invitation(i) => Some((
            org_keys::gsi1_email_pk(&i.email.normalized()),
            format!("INVITATION#{tenant}#{}", i.id),
        )),
    };
    out.insert(PK.to_owned(), s(org_keys::tenant_pk(tenant)));
    out.insert(SK.to_owned(), s(item.key().sort_key()));
    out.insert(keys::ENTITY_TYPE.to_owned(), s(entity_type(item)));
    if let Some((pk, sk)) = gsi1 {
        out.insert(GSI1.pk.to_owned(), s(pk));
        out.insert(GSI1.sk.to_owned(), s(sk));
    }
    Ok(out)
}

fn sort_key_of(item: &Item) -> Result<String> {
    match item.get(SK) {
        Some(AttributeValue::S(sk)) => Ok(sk.clone()),
        _ => Err(storage("organisation item without SK")),
    }
}

/// Parses a stored entity by its sort key, as the embedded store does.
fn parse_item(item: Item) -> Result<OrgItem> {
    let sk = sort_key_of(&item)?;
    if sk.starts_with("HIERARCHY#TEAMUSER#") {
        Ok(OrgItem::Member(
            from_item::<MemberRecord>(item, "team member")?.try_into()?,
        ))
    } else if sk.starts_with(org_keys::HIERARCHY_PREFIX) {
        Ok(OrgItem::Unit(
            from_item::<UnitRecord>(item, "hierarchy")?.try_into()?,
        ))
    } else if sk.starts_with(org_keys::USER_PREFIX) {
        Ok(OrgItem::Assignment(
            from_item::<AssignmentRecord>(item, "assignment")?.try_into()?,
        ))
    } else if sk.starts_with(org_keys::INVITATION_PREFIX) {
        Ok(OrgItem::Invitation(
            from_item::<InvitationRecord>(item, "invitation")?.try_into()?,
        ))
    } else {
        Err(storage(format!("unknown organisation item {sk}")))
    }
}

fn number(item: Option<&Item>, attr: &str) -> Option<u64> {
    match item?.get(attr) {
        Some(AttributeValue::N(v)) => v.parse().ok(),
        _ => None,
    }
}

fn string<'a>(item: Option<&'a Item>, attr: &str) -> Option<&'a str> {
    match item?.get(attr) {
        Some(AttributeValue::S(v)) => Some(v.as_str()),
        _ => None,
    }
}

/// The condition of a counter change, with a missing counter read as 0.
fn counter_condition(op: &CounterOp) -> Option<(String, u64)> {
    let (cmp, bound) = match op.expect {
        CounterExpect::Any => return None,
        CounterExpect::Below(max) => ("#n < :bound", max),
        CounterExpect::AtLeast(min) => ("#n >= :bound", min),
        CounterExpect::Equals(v) => ("#n = :bound", v),
    };
    let expr = if op.holds(0) {
        format!("attribute_not_exists(#n) OR {cmp}")
    } else {
        cmp.to_owned()
    };
    Some((expr, bound))
}

/// The transaction items of a write (without the releases in `skip`), and what each is.
fn transaction(
    store: &DynamoStore,
    w: &OrgWrite,
    skip: &BTreeSet<usize>,
) -> Result<(Vec<TransactWriteItem>, Vec<Part>)> {
    let tenant = &w.tenant_id;
    let tpk = org_keys::tenant_pk(tenant);
    let mut items = Vec::with_capacity(w.item_count());
    let mut parts = Vec::with_capacity(w.item_count());
    let table = store.table();
    let built = |e: aws_sdk_dynamodb::error::BuildError| build_error(&e);

    if let Some(rec) = &w.idempotency {
        let mut item = to_item(&OrgIdempotencyRecordRecord::from(rec), "idempotency")?;
        item.insert(PK.to_owned(), s(keys::idempotency_pk(&rec.key)));
        item.insert(SK.to_owned(), s(keys::METADATA));
        item.insert(keys::ENTITY_TYPE.to_owned(), s("IDEMPOTENCY"));
        // A record past its expiry no longer holds the key, whether or not TTL removed it yet.
        let p = put(store, item)
            .condition_expression("attribute_not_exists(PK) OR expiresAt <= :now")
            .expression_attribute_values(":now", s(rec.created_at.to_string()))
            .build()
            .map_err(built)?;
        items.push(with_put(p));
        parts.push(Part::Idempotency);
    }

    for (i, check) in w.checks.iter().enumerate() {
        let c = ConditionCheck::builder()
            .table_name(table)
            .return_values_on_condition_check_failure(all_old());
        let c = match check {
            OrgCheck::TenantActive => c
                .set_key(Some(key(tpk.clone(), keys::METADATA)))
                .condition_expression("#status = :active")
                .expression_attribute_names("#status", "status")
                .expression_attribute_values(":active", s(TenantStatus::Active.as_str())),
            OrgCheck::UnitActive(path) => c
                .set_key(Some(key(tpk.clone(), &org_keys::unit_sk(*path))))
                .condition_expression("active = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true)),
            OrgCheck::Assigned(user) => c
                .set_key(Some(key(tpk.clone(), &org_keys::assignment_sk(user))))
                .condition_expression("active = :true")
                .expression_attribute_values(":true", AttributeValue::Bool(true)),
        };
        items.push(
            TransactWriteItem::builder()
                .condition_check(c.build().map_err(built)?)
                .build(),
        );
        parts.push(Part::Check(i));
    }

    for (i, op) in w.ops.iter().enumerate() {
        let item = match op {
            OrgOp::Put { item, expect } => {
                let p = Put::builder()
                    .table_name(table)
                    .set_item(Some(entity_item(tenant, item)?))
                    .return_values_on_condition_check_failure(all_old());
                let p = match expect {
                    Expect::Absent => p.condition_expression("attribute_not_exists(PK)"),
                    Expect::Version(v) => p
                        .condition_expression("version = :expected")
                        .expression_attribute_values(":expected", n(*v)),
                };
                with_put(p.build().map_err(built)?)
            }
            OrgOp::Delete { key: k, version } => {
                let d = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(tpk.clone(), &k.sort_key())))
                    .condition_expression("version = :expected")
                    .expression_attribute_values(":expected", n(*version))
                    .return_values_on_condition_check_failure(all_old())
                    .build()
                    .map_err(built)?;
                TransactWriteItem::builder().delete(d).build()
            }
        };
        items.push(item);
        parts.push(Part::Op(i));
    }

    for (i, g) in w.guards.iter().enumerate() {
        match g {
            GuardOp::Claim { key: gk, owner } => {
                let (pk, sk) = guard_key(tenant, gk);
                let item = Item::from([
                    (PK.to_owned(), s(pk)),
                    (SK.to_owned(), s(sk)),
                    (keys::ENTITY_TYPE.to_owned(), s("GUARD")),
                    ("tenantId".to_owned(), s(tenant.to_string())),
                    (OWNER.to_owned(), s(owner.clone())),
                ]);
                let p = put(store, item)
                    .condition_expression("attribute_not_exists(PK) OR #owner = :owner")
                    .expression_attribute_names("#owner", OWNER)
                    .expression_attribute_values(":owner", s(owner.clone()))
                    .build()
                    .map_err(built)?;
                items.push(with_put(p));
                parts.push(Part::Claim(i));
            }
            GuardOp::Release { key: gk, owner } => {
                if skip.contains(&i) {
                    continue;
                }
                let (pk, sk) = guard_key(tenant, gk);
                let d = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(pk, &sk)))
                    .condition_expression("attribute_not_exists(PK) OR #owner = :owner")
                    .expression_attribute_names("#owner", OWNER)
                    .expression_attribute_values(":owner", s(owner.clone()))
                    .build()
                    .map_err(built)?;
                items.push(TransactWriteItem::builder().delete(d).build());
                parts.push(Part::Release(i));
            }
        }
    }

    for (i, c) in w.counters.iter().enumerate() {
        let cond = counter_condition(c);
        let k = counter_key(tenant, c.key);
        let item = if c.delta == 0 {
            // A pure check; without a condition there is nothing to send.
            let Some((expr, bound)) = cond else { continue };
            let cc = ConditionCheck::builder()
                .table_name(table)
                .set_key(Some(k))
                .condition_expression(expr)
                .expression_attribute_names("#n", COUNT)
                .expression_attribute_values(":bound", n(bound))
                .return_values_on_condition_check_failure(all_old())
                .build()
                .map_err(built)?;
            TransactWriteItem::builder().condition_check(cc).build()
        } else {
            let mut u = Update::builder()
                .table_name(table)
                .set_key(Some(k))
                .update_expression("SET #et = :et ADD #n :delta")
                .expression_attribute_names("#et", keys::ENTITY_TYPE)
                .expression_attribute_names("#n", COUNT)
                .expression_attribute_values(":et", s("COUNTER"))
                .expression_attribute_values(":delta", n(c.delta))
                .return_values_on_condition_check_failure(all_old());
            if let Some((expr, bound)) = cond {
                u = u
                    .condition_expression(expr)
                    .expression_attribute_values(":bound", n(bound));
            }
            TransactWriteItem::builder()
                .update(u.build().map_err(built)?)
                .build()
        };
        items.push(item);
        parts.push(Part::Counter(i));
    }

    for (i, t) in w.tokens.iter().enumerate() {
        match t {
            TokenOp::Put { hash, invitation } => {
                let mut item = to_item(
                    &TokenRecord {
                        tenant_id: tenant.to_string(),
                        invitation_id: invitation.to_string(),
                    },
                    "invitation token",
                )?;
                item.insert(PK.to_owned(), s(token_pk(hash)));
                item.insert(SK.to_owned(), s(keys::METADATA));
                item.insert(keys::ENTITY_TYPE.to_owned(), s("INVITATION_TOKEN"));
                let expires = w.ops.iter().find_map(|op| match op {
                    OrgOp::Put {
                        item: OrgItem::Invitation(inv),
                        ..
                    } if inv.id == *invitation => Some(inv.expires_at),
                    _ => None,
                });
                if let Some(at) = expires {
                    let ttl = (at.millis() / 1000).saturating_add(TOKEN_GRACE_SECS);
                    item.insert(keys::TTL.to_owned(), n(ttl));
                }
                let p = put(store, item)
                    .condition_expression("attribute_not_exists(PK)")
                    .build()
                    .map_err(built)?;
                items.push(with_put(p));
            }
            TokenOp::Delete { hash } => {
                let d = Delete::builder()
                    .table_name(table)
                    .set_key(Some(key(token_pk(hash), keys::METADATA)))
                    .build()
                    .map_err(built)?;
                items.push(TransactWriteItem::builder().delete(d).build());
            }
        }
        parts.push(Part::Token(i));
    }

    items.push(audit_put(store, &w.audit)?);
    parts.push(Part::Audit);
    for item in outbox_puts(store, &w.events)? {
        items.push(item);
        parts.push(Part::Outbox);
    }
    Ok((items, parts))
}

fn not_active(tenant: &TenantId, status: &str) -> Error {
    Error::business(
        ErrorCode::TenantNotActive,
        format!("Tenant {tenant} is {status}; this needs an ACTIVE tenant"),
    )
}

/// The error of an item whose condition failed, from the old item DynamoDB returned.
fn refusal(part: Part, old: Option<&Item>, w: &OrgWrite) -> Error {
    let missing = || storage("a cancellation reason names an item the write does not have");
    match part {
        Part::Idempotency => Error::IdempotencyKeyReused,
        Part::Check(i) => match w.checks.get(i) {
            Some(OrgCheck::TenantActive) => match string(old, "status") {
                Some(status) => not_active(&w.tenant_id, status),
                None => Error::tenant_not_found(w.tenant_id),
            },
            Some(OrgCheck::UnitActive(path)) => path.not_found(),
            Some(OrgCheck::Assigned(user)) => OrgKey::Assignment(user.clone()).not_found(),
            None => missing(),
        },
        Part::Op(i) => {
            let (k, expected) = match w.ops.get(i) {
                Some(OrgOp::Put { item, expect }) => (
                    item.key(),
                    match expect {
                        Expect::Absent => None,
                        Expect::Version(v) => Some(*v),
                    },
                ),
                Some(OrgOp::Delete { key: k, version }) => (k.clone(), Some(*version)),
                None => return missing(),
            };
            match (expected, old.and_then(|o| number(Some(o), "version"))) {
                (None, _) => k.exists(),
                (Some(_), None) if old.is_none() => k.not_found(),
                (Some(expected), current) => Error::VersionConflict {
                    expected,
                    current: current.unwrap_or(expected),
                },
            }
        }
        Part::Claim(i) => match w.guards.get(i) {
            Some(GuardOp::Claim { key: gk, .. }) => gk.taken(),
            _ => missing(),
        },
        Part::Counter(i) => match w.counters.get(i) {
            Some(c) => c.refusal(number(old, COUNT).unwrap_or(0)),
            None => missing(),
        },
        Part::Token(_) => Error::conflict("Invitation token already in use"),
        Part::Release(_) | Part::Audit | Part::Outbox => {
            storage("DynamoDB TransactWriteItems: an unconditional item was refused")
        }
    }
}

/// Reads the cancellation reasons by index, in the embedded store's order of checks.
fn cancelled(reasons: &[CancellationReason], parts: &[Part], w: &OrgWrite) -> Cancelled {
    let mut releases = Vec::new();
    for (part, reason) in parts.iter().zip(reasons) {
        if reason.code() != Some("ConditionalCheckFailed") {
            continue;
        }
        match part {
            Part::Release(i) => releases.push(*i),
            other => return Cancelled::Refused(refusal(*other, reason.item.as_ref(), w)),
        }
    }
    if !releases.is_empty() {
        return Cancelled::SkipReleases(releases);
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
        Cancelled::Refused(storage(format!("DynamoDB TransactWriteItems: {what}")))
    }
}

impl DynamoStore {
    /// Writes `w` atomically (see the module docs). A transaction that raced another in-flight
    /// transaction or was throttled is sent again with backoff; one that keeps losing reports
    /// the `VERSION_CONFLICT` a lost race is, so the service reads again.
    async fn transact_org(&self, w: &OrgWrite) -> Result<()> {
        let mut skip = BTreeSet::new();
        let (mut items, mut parts) = transaction(self, w, &skip)?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let res = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items.clone()))
                .send()
                .await;
            let Err(e) = res else {
                return Ok(());
            };
            let outcome = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(tce)) => {
                    cancelled(tce.cancellation_reasons(), &parts, w)
                }
                Some(TransactWriteItemsError::TransactionInProgressException(_)) => {
                    Cancelled::Transient("transaction in progress".into())
                }
                _ => Cancelled::Refused(sdk_error("TransactWriteItems (organisation)", &e)),
            };
            match outcome {
                Cancelled::Refused(err) => return Err(err),
                Cancelled::SkipReleases(releases) if attempt <= w.guards.len() + 1 => {
                    skip.extend(releases);
                    (items, parts) = transaction(self, w, &skip)?;
                }
                Cancelled::SkipReleases(_) => {
                    return Err(storage("guard releases kept failing"));
                }
                Cancelled::Transient(what) if attempt < MAX_ATTEMPTS as usize => {
                    tracing::debug!(attempt, %what, tenant_id = %w.tenant_id, "retrying a cancelled organisation write");
                    let n = u32::try_from(attempt - 1).unwrap_or(u32::MAX);
                    tokio::time::sleep(backoff(DYNAMODB_BACKOFF, n)).await;
                }
                Cancelled::Transient(what) => {
                    tracing::warn!(%what, tenant_id = %w.tenant_id, "organisation write kept conflicting");
                    return Err(self.lost_race(w).await);
                }
            }
        }
    }

    /// The error of a write that kept losing to concurrent transactions: the `VERSION_CONFLICT`
    /// of its first versioned entity (with the version stored now), else a `CONFLICT`.
    async fn lost_race(&self, w: &OrgWrite) -> Error {
        let versioned = w.ops.iter().find_map(|op| match op {
            OrgOp::Put {
                item,
                expect: Expect::Version(v),
            } => Some((item.key(), *v)),
            OrgOp::Delete { key: k, version } => Some((k.clone(), *version)),
            OrgOp::Put { .. } => None,
        });
        let Some((k, expected)) = versioned else {
            return Error::conflict(
                "The organisation is being changed by another request; try again",
            );
        };
        let tpk = org_keys::tenant_pk(&w.tenant_id);
        match self
            .get(key(tpk, &k.sort_key()), "organisation version")
            .await
        {
            Ok(Some(item)) => Error::VersionConflict {
                expected,
                current: number(Some(&item), "version").unwrap_or(expected),
            },
            Ok(None) => k.not_found(),
            Err(e) => e,
        }
    }

    async fn get_org_item(&self, tenant: &TenantId, sk: &str) -> Result<Option<OrgItem>> {
        match self
            .get(key(org_keys::tenant_pk(tenant), sk), "organisation")
            .await?
        {
            Some(item) => Ok(Some(parse_item(item)?)),
            None => Ok(None),
        }
    }

    /// One page of a tenant's items under an SK prefix; `keep` selects and converts, and
    /// `filtered` says whether it may drop items (then each Query reads more ahead).
    #[allow(clippy::too_many_arguments)]
    async fn org_page<T>(
        &self,
        kind: &str,
        query: &[&str],
        tenant: &TenantId,
        prefix: &str,
        page: &PageRequest,
        filtered: bool,
        keep: impl Fn(OrgItem) -> Option<T>,
    ) -> Result<Page<T>> {
        let tid = tenant.to_string();
        let pk = org_keys::tenant_pk(tenant);
        let mut parts = vec![tid.as_str(), prefix];
        parts.extend_from_slice(query);
        let fp = fingerprint(&parts);
        let mut start = match &page.cursor {
            Some(c) => {
                let after = c
                    .open(kind, &fp)?
                    .get("after")
                    .and_then(Value::as_str)
                    .filter(|sk| sk.starts_with(prefix) && sk.len() <= 1024)
                    .map(str::to_owned)
                    .ok_or_else(|| Error::field("nextToken", "Invalid pagination token"))?;
                Some(key(pk.clone(), &after))
            }
            None => None,
        };
        let limit = page.limit.get();
        let mut kept = Collector::new(limit);
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .limit(query_limit(limit, filtered))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("Query ({kind})"), &e))?;
            let last = out.last_evaluated_key;
            for item in out.items.unwrap_or_default() {
                let sk = sort_key_of(&item)?;
                if let Some(v) = keep(parse_item(item)?) {
                    kept.push(v, json!({ "after": sk }));
                    if kept.full() {
                        break;
                    }
                }
            }
            if kept.full() || last.is_none() {
                break;
            }
            start = last;
        }
        let (items, next) = kept.finish();
        Ok(Page {
            items,
            next: next.map(|p| Cursor::seal(kind, &fp, &p)),
        })
    }

    /// Every item of a user in GSI1 under a sort-key prefix (`TENANT#`, `TEAM#`).
    async fn by_user(&self, user: &UserId, prefix: &str) -> Result<Vec<OrgItem>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1.name)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                .expression_attribute_names("#pk", GSI1.pk)
                .expression_attribute_names("#sk", GSI1.sk)
                .expression_attribute_values(":pk", s(org_keys::assignment_sk(user)))
                .expression_attribute_values(":prefix", s(prefix))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query (GSI1 user)", &e))?;
            for item in page.items.unwrap_or_default() {
                out.push(parse_item(item)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl OrgDao for DynamoStore {
    async fn get_unit(&self, tenant: &TenantId, path: UnitPath) -> Result<Option<OrgUnit>> {
        Ok(
            match self.get_org_item(tenant, &org_keys::unit_sk(path)).await? {
                Some(OrgItem::Unit(u)) => Some(u),
                _ => None,
            },
        )
    }

    async fn list_units(
        &self,
        tenant: &TenantId,
        parent: Parent,
        page: &PageRequest,
    ) -> Result<Page<OrgUnit>> {
        let prefix = org_keys::children_prefix(parent);
        self.org_page("units", &[], tenant, &prefix, page, true, |i| match i {
            OrgItem::Unit(u) if u.active => Some(u),
            _ => None,
        })
        .await
    }

    async fn hierarchy(&self, tenant: &TenantId) -> Result<HierarchySnapshot> {
        let pk = org_keys::tenant_pk(tenant);
        let mut snap = HierarchySnapshot::default();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(org_keys::HIERARCHY_PREFIX))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| sdk_error("Query (hierarchy)", &e))?;
            for item in page.items.unwrap_or_default() {
                match parse_item(item)? {
                    OrgItem::Unit(u) => snap.units.push(u),
                    OrgItem::Member(m) => snap.members.push(m),
                    _ => {}
                }
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(snap),
            }
        }
    }

    async fn counter(&self, tenant: &TenantId, key_: CounterKey) -> Result<u64> {
        let item = self.get(counter_key(tenant, key_), "counter").await?;
        Ok(number(item.as_ref(), COUNT).unwrap_or(0))
    }

    async fn get_assignment(&self, tenant: &TenantId, user: &UserId) -> Result<Option<Assignment>> {
        Ok(
            match self
                .get_org_item(tenant, &org_keys::assignment_sk(user))
                .await?
            {
                Some(OrgItem::Assignment(a)) => Some(a),
                _ => None,
            },
        )
    }

    async fn list_assignments(
        &self,
        tenant: &TenantId,
        role: Option<Role>,
        page: &PageRequest,
    ) -> Result<Page<Assignment>> {
        let r = role.map_or("", Role::as_str);
        self.org_page(
            "users",
            &[r],
            tenant,
            org_keys::USER_PREFIX,
            page,
            true,
            |i| match i {
                OrgItem::Assignment(a) if a.active && role.is_none_or(|r| a.role == r) => Some(a),
                _ => None,
            },
        )
        .await
    }

    async fn user_assignments(&self, user: &UserId) -> Result<Vec<Assignment>> {
        Ok(self
            .by_user(user, "TENANT#")
            .await?
            .into_iter()
            .filter_map(|i| match i {
                OrgItem::Assignment(a) => Some(a),
                _ => None,
            })
            .collect())
    }

    async fn user_memberships(&self, user: &UserId) -> Result<Vec<TeamMember>> {
        Ok(self
            .by_user(user, "TEAM#")
            .await?
            .into_iter()
            .filter_map(|i| match i {
                OrgItem::Member(m) => Some(m),
                _ => None,
            })
            .collect())
    }

    async fn get_member(
        &self,
        tenant: &TenantId,
        team: TeamId,
        user: &UserId,
    ) -> Result<Option<TeamMember>> {
        Ok(
            match self
                .get_org_item(tenant, &org_keys::member_sk(team, user))
                .await?
            {
                Some(OrgItem::Member(m)) => Some(m),
                _ => None,
            },
        )
    }

    async fn list_members(
        &self,
        tenant: &TenantId,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Page<TeamMember>> {
        let prefix = org_keys::members_prefix(team);
        self.org_page("members", &[], tenant, &prefix, page, false, |i| match i {
            OrgItem::Member(m) => Some(m),
            _ => None,
        })
        .await
    }

    async fn get_invitation(
        &self,
        tenant: &TenantId,
        id: InvitationId,
    ) -> Result<Option<Invitation>> {
        Ok(
            match self
                .get_org_item(tenant, &org_keys::invitation_sk(id))
                .await?
            {
                Some(OrgItem::Invitation(i)) => Some(i),
                _ => None,
            },
        )
    }

    async fn list_invitations(
        &self,
        tenant: &TenantId,
        status: Option<InvitationStatus>,
        now: Timestamp,
        page: &PageRequest,
    ) -> Result<Page<Invitation>> {
        let st = status.map_or("", InvitationStatus::as_str);
        self.org_page(
            "invitations",
            &[st],
            tenant,
            org_keys::INVITATION_PREFIX,
            page,
            status.is_some(),
            |i| match i {
                OrgItem::Invitation(i) if status.is_none_or(|s| i.status_at(now) == s) => Some(i),
                _ => None,
            },
        )
        .await
    }

    async fn invitation_by_token(&self, hash: &TokenHash) -> Result<Option<Invitation>> {
        let Some(item) = self
            .get(key(token_pk(hash), keys::METADATA), "invitation token")
            .await?
        else {
            return Ok(None);
        };
        let rec: TokenRecord = from_item(item, "invitation token")?;
        let corrupt = |e: Error| storage(format!("corrupt invitation token record: {e}"));
        let tenant: TenantId = rec.tenant_id.parse().map_err(corrupt)?;
        let id: InvitationId = rec.invitation_id.parse().map_err(corrupt)?;
        self.get_invitation(&tenant, id).await
    }

    async fn pending_invitation_for(
        &self,
        tenant: &TenantId,
        email: &Email,
    ) -> Result<Option<InvitationId>> {
        let item = self
            .get(
                key(org_keys::tenant_pk(tenant), &pending_sk(email)),
                "pending invitation guard",
            )
            .await?;
        match item {
            Some(item) => match string(Some(&item), OWNER) {
                Some(owner) => Ok(Some(owner.parse().map_err(|e: Error| {
                    storage(format!("corrupt pending invitation guard: {e}"))
                })?)),
                None => Err(storage("pending invitation guard without owner")),
            },
            None => Ok(None),
        }
    }

    async fn get_org_idempotency(
        &self,
        key_: &str,
        now: Timestamp,
    ) -> Result<Option<OrgIdempotencyRecord>> {
        let Some(item) = self
            .get(
                key(keys::idempotency_pk(key_), keys::METADATA),
                "idempotency",
            )
            .await?
        else {
            return Ok(None);
        };
        let rec: OrgIdempotencyRecord =
            from_item::<OrgIdempotencyRecordRecord>(item, "idempotency")?.try_into()?;
        Ok((rec.expires_at > now).then_some(rec))
    }

    async fn write_org(&self, write: OrgWrite) -> Result<()> {
        self.transact_org(&write).await?;
        if !write.events.is_empty() {
            self.hold_written(write.events);
            self.outbox_wake.notify_one();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(expect: CounterExpect) -> CounterOp {
        CounterOp {
            key: CounterKey::Admins,
            delta: -1,
            expect,
        }
    }

    #[test]
    fn a_missing_counter_counts_as_zero_in_its_condition() {
        assert_eq!(counter_condition(&op(CounterExpect::Any)), None);
        assert_eq!(
            counter_condition(&op(CounterExpect::AtLeast(2))),
            Some(("#n >= :bound".to_owned(), 2))
        );
        assert_eq!(
            counter_condition(&op(CounterExpect::Below(100))),
            Some(("attribute_not_exists(#n) OR #n < :bound".to_owned(), 100))
        );
        assert_eq!(
            counter_condition(&op(CounterExpect::Equals(0))),
            Some(("attribute_not_exists(#n) OR #n = :bound".to_owned(), 0))
        );
        assert_eq!(
            counter_condition(&op(CounterExpect::Equals(3))),
            Some(("#n = :bound".to_owned(), 3))
        );
    }
}
