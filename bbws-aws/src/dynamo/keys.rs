//! The single-table key design of the tenants table (digest 2.5 §3.5, C7, C30, C35).
//!
//! | Item | PK | SK | indexes |
//! |---|---|---|---|
//! | tenant | `TENANT#{id}` | `METADATA` | GSI1 `ORG#{organizationName}` / `TENANT#{id}`; GSI2 `STATUS#{status}` / `{updatedAt}#{id}`; GSI3 `ENV#{environment}` / `{createdAt}#{id}`; GSI4 `TENANTS` / `{createdAt}#{id}` |
//! | organisation-name guard | `ORGNAME#{lower(trim(name))}` | `UNIQUE` | — |
//! | audit event | `TENANT#{id}` | `EVENT#{timestamp}#{eventId}` | — |
//! | tenant resource | `TENANT#{id}` | `RESOURCE#{type}#{name}` | — |
//! | idempotency record | `IDEMPOTENCY#{scoped key}` | `METADATA` (+ numeric `ttl`) | — |
//! | outbox event | `OUTBOX` | `{time}#{eventId}` (+ `leaseUntil`, `leaseOwner` while claimed) | — |
//!
//! GSI4 is sparse (only tenant items carry `GSI4PK`): it is the "all tenants, newest first"
//! listing of C30 as one Query per page, where the digest's alternatives (a Scan, or six STATUS#
//! queries merged) cost several requests per page and lose the order.

use aws_sdk_dynamodb::types::AttributeValue;

pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const TTL: &str = "ttl";
pub const ENTITY_TYPE: &str = "entityType";
pub const LEASE_UNTIL: &str = "leaseUntil";
pub const LEASE_OWNER: &str = "leaseOwner";

pub const METADATA: &str = "METADATA";
pub const UNIQUE: &str = "UNIQUE";
pub const OUTBOX_PK: &str = "OUTBOX";
pub const ALL_TENANTS: &str = "TENANTS";
pub const EVENT_PREFIX: &str = "EVENT#";
pub const RESOURCE_PREFIX: &str = "RESOURCE#";

/// A global secondary index: its name and key attributes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Index {
    pub name: &'static str,
    pub pk: &'static str,
    pub sk: &'static str,
}

/// Organisation name → tenant (LLD access pattern 2; uniqueness is the guard item's job).
pub const GSI1: Index = Index {
    name: "GSI1",
    pk: "GSI1PK",
    sk: "GSI1SK",
};
/// Tenants by status, most recently changed first.
pub const GSI2: Index = Index {
    name: "GSI2",
    pk: "GSI2PK",
    sk: "GSI2SK",
};
/// Tenants by environment, newest first (C7).
pub const GSI3: Index = Index {
    name: "GSI3",
    pk: "GSI3PK",
    sk: "GSI3SK",
};
/// Every tenant, newest first (sparse; C30).
pub const GSI4: Index = Index {
    name: "GSI4",
    pk: "GSI4PK",
    sk: "GSI4SK",
};

pub const INDEXES: [Index; 4] = [GSI1, GSI2, GSI3, GSI4];

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl Into<i128>) -> AttributeValue {
    AttributeValue::N(v.into().to_string())
}

pub fn tenant_pk(id: &str) -> String {
    format!("TENANT#{id}")
}

pub fn guard_pk(unique_key: &str) -> String {
    format!("ORGNAME#{unique_key}")
}

pub fn idempotency_pk(scoped: &str) -> String {
    format!("IDEMPOTENCY#{scoped}")
}

pub fn audit_sk(sort_key: &str) -> String {
    format!("{EVENT_PREFIX}{sort_key}")
}

pub fn resource_sk(resource_type: &str, name: &str) -> String {
    format!("{RESOURCE_PREFIX}{resource_type}#{name}")
}

pub fn outbox_sk(time: &str, event_id: &str) -> String {
    format!("{time}#{event_id}")
}
