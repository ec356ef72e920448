//! Persistence records of the instance domain: the stored shape (camelCase attributes, as the
//! DynamoDB items of digest 2.7 §2–§3). Reading one back parses it into domain types again, so a
//! damaged record is a storage error, never an invalid value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode, Result};
use crate::tenant::Stamp;
use crate::time::Timestamp;

use super::identity::{IdentityChange, PasswordPolicyChange};
use super::ledger::LedgerEntry;
use super::model::{EcsEventMark, Instance};
use super::operation::{DeprovisionOptions, FailureReason, Lease, Operation, OperationStep};
use super::ports::{InstanceIdempotency, MfaConfiguration};
use super::update::InstanceUpdate;
use super::values::{DesiredCount, OpportunityId, ResourceKey, TaskSize};

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Storage(format!("corrupt {what} record: {e}"))
}

fn ts(s: &str, what: &str) -> Result<Timestamp> {
    s.parse().map_err(|e| corrupt(what, e))
}

fn opt_ts(s: Option<&String>, what: &str) -> Result<Option<Timestamp>> {
    s.map(|s| ts(s, what)).transpose()
}

/// A stored failure (`lastError`, `Operation.error`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FailureRecord {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

impl From<&FailureReason> for FailureRecord {
    fn from(f: &FailureReason) -> Self {
        Self {
            code: f.code.as_str().to_owned(),
            message: f.message.clone(),
            resources: f.resources.clone(),
        }
    }
}

impl TryFrom<FailureRecord> for FailureReason {
    type Error = Error;
    fn try_from(r: FailureRecord) -> Result<Self> {
        Ok(Self {
            code: ErrorCode::parse(&r.code)
                .ok_or_else(|| corrupt("failure", format!("unknown code {}", r.code)))?,
            message: r.message,
            resources: r.resources,
        })
    }
}

/// A stored instance (`PK=TENANT#{tenantId}`, `SK=INSTANCE#{instanceId}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    pub instance_id: String,
    pub tenant_id: String,
    pub resource_key: String,
    pub environment: String,
    pub provisioning_state: String,
    pub tier: String,
    pub cpu: u32,
    pub memory: u32,
    pub desired_count: u32,
    pub wordpress_version: String,
    /// Absent on instances stored before the image was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opportunity_id: Option<String>,
    pub domain: String,
    /// `{resourceType: id-or-arn}`.
    #[serde(default)]
    pub resources: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<FailureRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_operation_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provisioning_completed_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprovisioned_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ecs_event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ecs_event_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ecs_event_id: Option<String>,
    pub version: u64,
}

impl From<&Instance> for InstanceRecord {
    fn from(i: &Instance) -> Self {
        Self {
            instance_id: i.id.to_string(),
            tenant_id: i.tenant_id.to_string(),
            resource_key: i.resource_key.as_str().to_owned(),
            environment: i.environment.as_str().to_owned(),
            provisioning_state: i.state.as_str().to_owned(),
            tier: i.tier.as_str().to_owned(),
            cpu: i.task_size.cpu(),
            memory: i.task_size.memory(),
            desired_count: i.desired_count.get(),
            wordpress_version: i.wordpress_version.clone(),
            container_image: i.container_image.clone(),
            opportunity_id: i.opportunity.as_ref().map(|o| o.as_str().to_owned()),
            domain: i.domain.clone(),
            resources: i
                .resources
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), v.clone()))
                .collect(),
            last_error: i.last_error.as_ref().map(FailureRecord::from),
            current_operation_id: i.current_operation.map(|o| o.to_string()),
            created_at: i.created.at.to_string(),
            created_by: i.created.by.clone(),
            updated_at: i.updated.at.to_string(),
            updated_by: i.updated.by.clone(),
            provisioning_completed_at: i.provisioned_at.map(|t| t.to_string()),
            deprovisioned_at: i.deprovisioned_at.map(|t| t.to_string()),
            last_ecs_event: i.last_ecs_event.as_ref().map(|m| m.name.clone()),
            last_ecs_event_time: i.last_ecs_event.as_ref().map(|m| m.time.to_string()),
            last_ecs_event_id: i.last_ecs_event.as_ref().map(|m| m.id.clone()),
            version: i.version,
        }
    }
}

impl TryFrom<InstanceRecord> for Instance {
    type Error = Error;
    fn try_from(r: InstanceRecord) -> Result<Self> {
        let c = |e: Error| corrupt("instance", e);
        let w = "instance";
        Ok(Self {
            id: r.instance_id.parse().map_err(c)?,
            tenant_id: r.tenant_id.parse().map_err(c)?,
            resource_key: ResourceKey::parse(&r.resource_key).map_err(c)?,
            environment: r.environment.parse().map_err(c)?,
            state: r.provisioning_state.parse().map_err(c)?,
            tier: r.tier.parse().map_err(c)?,
            task_size: TaskSize::new(r.cpu, r.memory).map_err(c)?,
            desired_count: DesiredCount::parse(i64::from(r.desired_count), 1).map_err(c)?,
            wordpress_version: r.wordpress_version,
            container_image: r.container_image,
            opportunity: r
                .opportunity_id
                .as_deref()
                .map(OpportunityId::parse)
                .transpose()
                .map_err(c)?,
            domain: r.domain,
            resources: r
                .resources
                .into_iter()
                .map(|(k, v)| Ok((k.parse().map_err(c)?, v)))
                .collect::<Result<_>>()?,
            last_error: r.last_error.map(TryInto::try_into).transpose()?,
            current_operation: r
                .current_operation_id
                .map(|o| o.parse())
                .transpose()
                .map_err(c)?,
            created: Stamp {
                at: ts(&r.created_at, w)?,
                by: r.created_by,
            },
            updated: Stamp {
                at: ts(&r.updated_at, w)?,
                by: r.updated_by,
            },
            provisioned_at: opt_ts(r.provisioning_completed_at.as_ref(), w)?,
            deprovisioned_at: opt_ts(r.deprovisioned_at.as_ref(), w)?,
            last_ecs_event: match (r.last_ecs_event, r.last_ecs_event_time, r.last_ecs_event_id) {
                (Some(name), Some(time), Some(id)) => Some(EcsEventMark {
                    id,
                    name,
                    time: ts(&time, w)?,
                }),
                _ => None,
            },
            version: r.version,
        })
    }
}

/// A stored ledger entry (`PK=TENANT#{tenantId}#INSTANCE`, `SK=RESOURCE#{type}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LedgerRecord {
    pub tenant_id: String,
    pub instance_id: String,
    pub resource_type: String,
    pub resource_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_arn: Option<String>,
    pub status: String,
    pub step: String,
    pub seq: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub updated_at: String,
}

impl From<&LedgerEntry> for LedgerRecord {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            tenant_id: e.tenant_id.to_string(),
            instance_id: e.instance_id.to_string(),
            resource_type: e.resource_type.as_str().to_owned(),
            resource_name: e.name.clone(),
            resource_id: e.id.clone(),
            resource_arn: e.arn.clone(),
            status: e.status.as_str().to_owned(),
            step: e.step().as_str().to_owned(),
            seq: e.seq,
            error: e.error.clone(),
            updated_at: e.updated_at.to_string(),
        }
    }
}

impl TryFrom<LedgerRecord> for LedgerEntry {
    type Error = Error;
    fn try_from(r: LedgerRecord) -> Result<Self> {
        let c = |e: Error| corrupt("ledger", e);
        Ok(Self {
            tenant_id: r.tenant_id.parse().map_err(c)?,
            instance_id: r.instance_id.parse().map_err(c)?,
            resource_type: r.resource_type.parse().map_err(c)?,
            name: r.resource_name,
            id: r.resource_id,
            arn: r.resource_arn,
            status: r.status.parse().map_err(c)?,
            seq: r.seq,
            error: r.error,
            updated_at: ts(&r.updated_at, "ledger")?,
        })
    }
}

/// A stored operation step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub name: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub attempts: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A stored password policy change (the rules a `CONFIGURE_IDENTITY` operation sets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicyChangeRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum_length: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_uppercase: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_lowercase: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_numbers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_symbols: Option<bool>,
}

/// A stored identity change (`CONFIGURE_IDENTITY`): what the operation applies when it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdentityChangeRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_policy: Option<PasswordPolicyChangeRecord>,
    /// `OFF`, `OPTIONAL` or `REQUIRED`, as the API names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_configuration: Option<String>,
}

impl From<&IdentityChange> for IdentityChangeRecord {
    fn from(c: &IdentityChange) -> Self {
        Self {
            password_policy: c
                .password_policy
                .as_ref()
                .map(|p| PasswordPolicyChangeRecord {
                    minimum_length: p.minimum_length,
                    require_uppercase: p.require_uppercase,
                    require_lowercase: p.require_lowercase,
                    require_numbers: p.require_numbers,
                    require_symbols: p.require_symbols,
                }),
            mfa_configuration: c.mfa.map(|m| m.api_name().to_owned()),
        }
    }
}

impl TryFrom<IdentityChangeRecord> for IdentityChange {
    type Error = Error;
    fn try_from(r: IdentityChangeRecord) -> Result<Self> {
        let c = |e: Error| corrupt("identity change", e);
        let password_policy = r
            .password_policy
            .map(|p| {
                PasswordPolicyChange::new(
                    p.minimum_length.map(i64::from),
                    p.require_uppercase,
                    p.require_lowercase,
                    p.require_numbers,
                    p.require_symbols,
                )
            })
            .transpose()
            .map_err(c)?;
        let mfa = r
            .mfa_configuration
            .map(|m| MfaConfiguration::parse_api(&m, "mfaConfiguration"))
            .transpose()
            .map_err(c)?;
        IdentityChange::new(password_policy, mfa).map_err(c)
    }
}

/// A stored operation (`PK=OPERATION#{operationId}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OperationRecord {
    pub operation_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    #[serde(rename = "type")]
    pub op_type: String,
    pub status: String,
    pub phase: String,
    pub steps: Vec<StepRecord>,
    pub progress: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<FailureRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_completion_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub requested_by: String,
    pub correlation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_data: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_reason: Option<String>,
    /// Update: the change asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<UpdateRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_backup_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityChangeRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<String>,
    pub version: u64,
}

impl From<&Operation> for OperationRecord {
    fn from(o: &Operation) -> Self {
        Self {
            operation_id: o.id.to_string(),
            tenant_id: o.tenant_id.to_string(),
            instance_id: o.instance_id.to_string(),
            op_type: o.op_type.as_str().to_owned(),
            status: o.status.as_str().to_owned(),
            phase: o.phase.as_str().to_owned(),
            steps: o
                .steps
                .iter()
                .map(|s| StepRecord {
                    name: s.name.as_str().to_owned(),
                    status: s.status.as_str().to_owned(),
                    started_at: s.started_at.map(|t| t.to_string()),
                    completed_at: s.completed_at.map(|t| t.to_string()),
                    attempts: s.attempts,
                    resource_id: s.resource_id.clone(),
                    error: s.error.clone(),
                })
                .collect(),
            progress: o.progress,
            current_step: o.current_step.map(|s| s.as_str().to_owned()),
            message: o.message.clone(),
            error: o.error.as_ref().map(FailureRecord::from),
            estimated_completion_at: o.estimated_completion_at.map(|t| t.to_string()),
            created_at: o.created_at.to_string(),
            updated_at: o.updated_at.to_string(),
            completed_at: o.completed_at.map(|t| t.to_string()),
            requested_by: o.requested_by.clone(),
            correlation_id: o.correlation_id.clone(),
            archive_data: o.deprovision.as_ref().map(|d| d.archive_data),
            reason: o.deprovision.as_ref().and_then(|d| d.reason.clone()),
            target_count: o.target_count,
            lifecycle_reason: o.reason.clone(),
            update: o.update.as_ref().map(UpdateRecord::from),
            backup_id: o.backup_id.map(|b| b.to_string()),
            safety_backup_id: o.safety_backup_id.map(|b| b.to_string()),
            identity: o.identity.as_ref().map(IdentityChangeRecord::from),
            lease_owner: o.lease.as_ref().map(|l| l.owner.clone()),
            lease_until: o.lease.as_ref().map(|l| l.until.to_string()),
            version: o.version,
        }
    }
}

impl TryFrom<OperationRecord> for Operation {
    type Error = Error;
    fn try_from(r: OperationRecord) -> Result<Self> {
        let c = |e: Error| corrupt("operation", e);
        let w = "operation";
        let steps = r
            .steps
            .into_iter()
            .map(|s| {
                Ok(OperationStep {
                    name: s.name.parse().map_err(c)?,
                    status: s.status.parse().map_err(c)?,
                    started_at: opt_ts(s.started_at.as_ref(), w)?,
                    completed_at: opt_ts(s.completed_at.as_ref(), w)?,
                    attempts: s.attempts,
                    resource_id: s.resource_id,
                    error: s.error,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            id: r.operation_id.parse().map_err(c)?,
            tenant_id: r.tenant_id.parse().map_err(c)?,
            instance_id: r.instance_id.parse().map_err(c)?,
            op_type: r.op_type.parse().map_err(c)?,
            status: r.status.parse().map_err(c)?,
            phase: r.phase.parse().map_err(c)?,
            steps,
            progress: r.progress.min(100),
            current_step: r.current_step.map(|s| s.parse()).transpose().map_err(c)?,
            message: r.message,
            error: r.error.map(TryInto::try_into).transpose()?,
            estimated_completion_at: opt_ts(r.estimated_completion_at.as_ref(), w)?,
            created_at: ts(&r.created_at, w)?,
            updated_at: ts(&r.updated_at, w)?,
            completed_at: opt_ts(r.completed_at.as_ref(), w)?,
            requested_by: r.requested_by,
            correlation_id: r.correlation_id,
            deprovision: r.archive_data.map(|archive_data| DeprovisionOptions {
                archive_data,
                reason: r.reason,
            }),
            target_count: r.target_count,
            reason: r.lifecycle_reason,
            update: r.update.map(TryInto::try_into).transpose()?,
            backup_id: r.backup_id.map(|b| b.parse()).transpose().map_err(c)?,
            safety_backup_id: r
                .safety_backup_id
                .map(|b| b.parse())
                .transpose()
                .map_err(c)?,
            identity: r.identity.map(TryInto::try_into).transpose()?,
            lease: match (r.lease_owner, r.lease_until) {
                (Some(owner), Some(until)) => Some(Lease {
                    owner,
                    until: ts(&until, w)?,
                }),
                _ => None,
            },
            version: r.version,
        })
    }
}

/// The change an update operation asks for (`update` of the operation item): the fields given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wordpress_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

impl From<&InstanceUpdate> for UpdateRecord {
    fn from(u: &InstanceUpdate) -> Self {
        Self {
            container_image: u.container_image().map(|i| i.as_str().to_owned()),
            wordpress_version: u.wordpress_version().map(|v| v.as_str().to_owned()),
            tier: u.tier().map(|t| t.as_str().to_owned()),
        }
    }
}

impl TryFrom<UpdateRecord> for InstanceUpdate {
    type Error = Error;
    fn try_from(r: UpdateRecord) -> Result<Self> {
        InstanceUpdate::parse(
            r.container_image.as_deref(),
            r.wordpress_version.as_deref(),
            r.tier.as_deref(),
        )
        .map_err(|e| corrupt("operation", e))
    }
}

/// A stored idempotency record of the instance API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceIdempotencyRecord {
    pub key: String,
    pub fingerprint: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub operation_id: String,
    pub created_at: String,
    pub expires_at: String,
    /// Epoch seconds, for DynamoDB TTL.
    pub ttl: i64,
}

impl From<&InstanceIdempotency> for InstanceIdempotencyRecord {
    fn from(r: &InstanceIdempotency) -> Self {
        Self {
            key: r.key.clone(),
            fingerprint: r.fingerprint.clone(),
            tenant_id: r.tenant_id.to_string(),
            instance_id: r.instance_id.to_string(),
            operation_id: r.operation_id.to_string(),
            created_at: r.created_at.to_string(),
            expires_at: r.expires_at.to_string(),
            ttl: r.expires_at.millis() / 1000,
        }
    }
}

impl TryFrom<InstanceIdempotencyRecord> for InstanceIdempotency {
    type Error = Error;
    fn try_from(r: InstanceIdempotencyRecord) -> Result<Self> {
        let c = |e: Error| corrupt("idempotency", e);
        Ok(Self {
            key: r.key,
            fingerprint: r.fingerprint,
            tenant_id: r.tenant_id.parse().map_err(c)?,
            instance_id: r.instance_id.parse().map_err(c)?,
            operation_id: r.operation_id.parse().map_err(c)?,
            created_at: ts(&r.created_at, "idempotency")?,
            expires_at: ts(&r.expires_at, "idempotency")?,
        })
    }
}
