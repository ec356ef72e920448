//! Persistence records: the stored shape of each aggregate (camelCase attributes, as in the
//! DynamoDB items of digest 2.5 §3.5). Every backend stores these; reading one back parses it into
//! domain types again, so a damaged record is an error, never an invalid value.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::audit::AuditEvent;
use crate::error::{Error, Result};
use crate::events::OutboxMessage;
use crate::idempotency::{IdempotencyRecord, IdempotentOutcome};
use crate::tenant::{Email, OrganizationName, ReasonedStamp, Stamp, Tenant, UnitLabel};
use crate::time::Timestamp;

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("corrupt {what} record: {e}"))
}

fn ts(s: &str, what: &str) -> Result<Timestamp> {
    s.parse().map_err(|e| corrupt(what, e))
}

/// A stored tenant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    pub tenant_id: String,
    pub organization_name: String,
    pub contact_email: String,
    pub environment: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub division: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    #[serde(default)]
    pub metadata: Map<String, Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub park_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparked_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unparked_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprovisioned_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprovisioned_by: Option<String>,
    pub version: u64,
}

fn split_stamp(s: Option<&Stamp>) -> (Option<String>, Option<String>) {
    s.map_or((None, None), |s| {
        (Some(s.at.to_string()), Some(s.by.clone()))
    })
}

fn split_reasoned(s: Option<&ReasonedStamp>) -> (Option<String>, Option<String>, Option<String>) {
    s.map_or((None, None, None), |s| {
        (
            Some(s.at.to_string()),
            Some(s.by.clone()),
            Some(s.reason.clone()),
        )
    })
}

fn join_stamp(at: Option<&String>, by: Option<&String>) -> Result<Option<Stamp>> {
    match (at, by) {
        (Some(at), Some(by)) => Ok(Some(Stamp {
            at: ts(at, "tenant")?,
            by: by.clone(),
        })),
        _ => Ok(None),
    }
}

fn join_reasoned(
    at: Option<&String>,
    by: Option<&String>,
    reason: Option<&String>,
) -> Result<Option<ReasonedStamp>> {
    match (at, by) {
        (Some(at), Some(by)) => Ok(Some(ReasonedStamp {
            at: ts(at, "tenant")?,
            by: by.clone(),
            reason: reason.cloned().unwrap_or_default(),
        })),
        _ => Ok(None),
    }
}

impl From<&Tenant> for TenantRecord {
    fn from(t: &Tenant) -> Self {
        let (parked_at, parked_by, park_reason) = split_reasoned(t.parked.as_ref());
        let (suspended_at, suspended_by, suspend_reason) = split_reasoned(t.suspended.as_ref());
        let (unparked_at, unparked_by) = split_stamp(t.unparked.as_ref());
        let (resumed_at, resumed_by) = split_stamp(t.resumed.as_ref());
        let (deprovisioned_at, deprovisioned_by) = split_stamp(t.deprovisioned.as_ref());
        Self {
            tenant_id: t.id.to_string(),
            organization_name: t.organization_name.as_str().to_owned(),
            contact_email: t.contact_email.as_str().to_owned(),
            environment: t.environment.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            division: t.division.as_ref().map(|l| l.as_str().to_owned()),
            group: t.group.as_ref().map(|l| l.as_str().to_owned()),
            team: t.team.as_ref().map(|l| l.as_str().to_owned()),
            metadata: t.metadata.clone(),
            customer_id: t.customer_id.clone(),
            created_at: t.created.at.to_string(),
            created_by: t.created.by.clone(),
            updated_at: t.updated.at.to_string(),
            updated_by: t.updated.by.clone(),
            parked_at,
            parked_by,
            park_reason,
            unparked_at,
            unparked_by,
            suspended_at,
            suspended_by,
            suspend_reason,
            resumed_at,
            resumed_by,
            deprovisioned_at,
            deprovisioned_by,
            version: t.version,
        }
    }
}

impl TryFrom<TenantRecord> for Tenant {
    type Error = Error;
    fn try_from(r: TenantRecord) -> Result<Self> {
        let c = |e: Error| corrupt("tenant", e);
        let label =
            |v: Option<&String>, f: &str| v.map(|s| UnitLabel::parse(s, f)).transpose().map_err(c);
        Ok(Self {
            id: r.tenant_id.parse().map_err(c)?,
            organization_name: OrganizationName::parse(&r.organization_name).map_err(c)?,
            contact_email: Email::parse(&r.contact_email).map_err(c)?,
            environment: r.environment.parse().map_err(c)?,
            status: r.status.parse().map_err(c)?,
            division: label(r.division.as_ref(), "division")?,
            group: label(r.group.as_ref(), "group")?,
            team: label(r.team.as_ref(), "team")?,
            metadata: r.metadata,
            customer_id: r.customer_id,
            created: Stamp {
                at: ts(&r.created_at, "tenant")?,
                by: r.created_by,
            },
            updated: Stamp {
                at: ts(&r.updated_at, "tenant")?,
                by: r.updated_by,
            },
            parked: join_reasoned(
                r.parked_at.as_ref(),
                r.parked_by.as_ref(),
                r.park_reason.as_ref(),
            )?,
            unparked: join_stamp(r.unparked_at.as_ref(), r.unparked_by.as_ref())?,
            suspended: join_reasoned(
                r.suspended_at.as_ref(),
                r.suspended_by.as_ref(),
                r.suspend_reason.as_ref(),
            )?,
            resumed: join_stamp(r.resumed_at.as_ref(), r.resumed_by.as_ref())?,
            deprovisioned: join_stamp(r.deprovisioned_at.as_ref(), r.deprovisioned_by.as_ref())?,
            version: r.version,
        })
    }
}

/// A stored audit event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    pub event_id: String,
    pub tenant_id: String,
    pub event_type: String,
    pub timestamp: String,
    pub actor: String,
    pub details: Value,
}

impl From<&AuditEvent> for AuditRecord {
    fn from(e: &AuditEvent) -> Self {
        Self {
            event_id: e.event_id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            event_type: e.event_type.clone(),
            timestamp: e.timestamp.to_string(),
            actor: e.actor.clone(),
            details: e.details.clone(),
        }
    }
}

impl TryFrom<AuditRecord> for AuditEvent {
    type Error = Error;
    fn try_from(r: AuditRecord) -> Result<Self> {
        let c = |e: Error| corrupt("audit", e);
        Ok(Self {
            event_id: r.event_id.parse().map_err(c)?,
            tenant_id: r.tenant_id.parse().map_err(c)?,
            event_type: r.event_type,
            timestamp: ts(&r.timestamp, "audit")?,
            actor: r.actor,
            details: r.details,
        })
    }
}

/// A stored outbox event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboxRecord {
    pub id: String,
    pub source: String,
    pub detail_type: String,
    pub time: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    pub detail: Value,
}

impl From<&OutboxMessage> for OutboxRecord {
    fn from(m: &OutboxMessage) -> Self {
        Self {
            id: m.id.to_string(),
            source: m.source.clone(),
            detail_type: m.detail_type.clone(),
            time: m.time.to_string(),
            tenant_id: m.tenant_id.map(|t| t.to_string()),
            detail: m.detail.clone(),
        }
    }
}

impl TryFrom<OutboxRecord> for OutboxMessage {
    type Error = Error;
    fn try_from(r: OutboxRecord) -> Result<Self> {
        let c = |e: Error| corrupt("outbox", e);
        Ok(Self {
            id: r.id.parse().map_err(c)?,
            source: r.source,
            detail_type: r.detail_type,
            time: ts(&r.time, "outbox")?,
            tenant_id: r.tenant_id.map(|t| t.parse()).transpose().map_err(c)?,
            detail: r.detail,
        })
    }
}

/// The stored outcome of an idempotent request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OutcomeRecord {
    TenantCreated { tenant: TenantRecord },
}

/// A stored idempotency record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdempotencyRecordRecord {
    pub key: String,
    pub fingerprint: String,
    pub outcome: OutcomeRecord,
    pub created_at: String,
    pub expires_at: String,
    /// Epoch seconds, for DynamoDB TTL.
    pub ttl: i64,
}

impl From<&IdempotencyRecord> for IdempotencyRecordRecord {
    fn from(r: &IdempotencyRecord) -> Self {
        Self {
            key: r.key.clone(),
            fingerprint: r.fingerprint.clone(),
            outcome: match &r.outcome {
                IdempotentOutcome::TenantCreated(t) => {
                    OutcomeRecord::TenantCreated { tenant: t.into() }
                }
            },
            created_at: r.created_at.to_string(),
            expires_at: r.expires_at.to_string(),
            ttl: r.expires_at.millis() / 1000,
        }
    }
}

impl TryFrom<IdempotencyRecordRecord> for IdempotencyRecord {
    type Error = Error;
    fn try_from(r: IdempotencyRecordRecord) -> Result<Self> {
        Ok(Self {
            key: r.key,
            fingerprint: r.fingerprint,
            outcome: match r.outcome {
                OutcomeRecord::TenantCreated { tenant } => {
                    IdempotentOutcome::TenantCreated(tenant.try_into()?)
                }
            },
            created_at: ts(&r.created_at, "idempotency")?,
            expires_at: ts(&r.expires_at, "idempotency")?,
        })
    }
}
