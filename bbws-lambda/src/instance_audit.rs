//! The orphan and drift audit (digest 2.7 §5.3) as a scheduled Lambda function, and the report's
//! wire shape ([`AuditReportResponse`]), which `bbws instance audit --output json` prints too.
//!
//! The function is the target of an EventBridge schedule rule (`Scheduled Event` from
//! `aws.events`, daily): each invocation runs one [`InstanceAudit`] of the backend's
//! environment, logs the report as one JSON line (`warn` when it has findings, so a metric
//! filter or alarm can count them) and returns it. An event that is not a scheduled event is
//! answered `REJECTED` (the rule is wired wrong; retrying cannot help); a failed audit (AWS,
//! MySQL or storage unreachable) fails the invocation, so the asynchronous invocation is retried.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use bbws_aws::Backend;
use bbws_core::Error;
use bbws_core::instance::{
    AuditReport, Drift, InProgress, InstanceAudit, Orphan, OrphanReason, PendingDeletion,
    UntrackedDatabase,
};
use serde::Serialize;
use serde_json::{Value, json};

/// `AuditReport` on the wire (camelCase).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditReportResponse {
    pub environment: String,
    /// When the audit started (RFC 3339, milliseconds, `Z`).
    pub at: String,
    pub source: String,
    /// No orphans, untracked databases or drift.
    pub clean: bool,
    pub findings: usize,
    pub counts: AuditCounts,
    pub orphans: Vec<OrphanResponse>,
    pub untracked_databases: Vec<UntrackedDatabaseResponse>,
    pub drift: Vec<DriftResponse>,
    pub pending_deletion: Vec<PendingDeletionResponse>,
    pub in_progress: Vec<InProgressResponse>,
    /// Ledger types the inventory does not list: their drift was not judged.
    pub unchecked_types: Vec<String>,
}

/// What the audit looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditCounts {
    pub tenants: usize,
    pub instances: usize,
    pub resources: usize,
    pub databases: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OrphanResponse {
    pub arn: String,
    pub kind: String,
    pub tenant_id: String,
    /// `UNKNOWN_TENANT`, `NO_LIVE_INSTANCE`, `NOT_IN_LEDGER` or `DELETED_IN_LEDGER`.
    pub reason: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UntrackedDatabaseResponse {
    pub name: String,
    /// The DEPROVISIONED instance whose database it was, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftResponse {
    pub tenant_id: String,
    pub instance_id: String,
    pub status: String,
    pub resource_type: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PendingDeletionResponse {
    pub arn: String,
    pub kind: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub resource_type: String,
    pub deleted_at: String,
    pub gone_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InProgressResponse {
    pub tenant_id: String,
    pub instance_id: String,
    pub status: String,
}

impl From<&Orphan> for OrphanResponse {
    fn from(o: &Orphan) -> Self {
        let instance_id = match &o.reason {
            OrphanReason::NotInLedger { instance_id }
            | OrphanReason::DeletedInLedger { instance_id, .. } => Some(instance_id.to_string()),
            OrphanReason::UnknownTenant | OrphanReason::NoLiveInstance => None,
        };
        Self {
            arn: o.arn.clone(),
            kind: o.kind.clone(),
            tenant_id: o.tenant.clone(),
            reason: o.reason.code().to_owned(),
            detail: o.reason.describe(),
            instance_id,
        }
    }
}

impl From<&UntrackedDatabase> for UntrackedDatabaseResponse {
    fn from(d: &UntrackedDatabase) -> Self {
        Self {
            name: d.name.clone(),
            tenant_id: d.deprovisioned.map(|(t, _)| t.to_string()),
            instance_id: d.deprovisioned.map(|(_, i)| i.to_string()),
        }
    }
}

impl From<&Drift> for DriftResponse {
    fn from(d: &Drift) -> Self {
        Self {
            tenant_id: d.tenant_id.to_string(),
            instance_id: d.instance_id.to_string(),
            status: d.state.as_str().to_owned(),
            resource_type: d.resource_type.as_str().to_owned(),
            name: d.name.clone(),
            resource_id: d.id.clone(),
        }
    }
}

impl From<&PendingDeletion> for PendingDeletionResponse {
    fn from(p: &PendingDeletion) -> Self {
        Self {
            arn: p.arn.clone(),
            kind: p.kind.clone(),
            tenant_id: p.tenant_id.to_string(),
            instance_id: p.instance_id.to_string(),
            resource_type: p.resource_type.as_str().to_owned(),
            deleted_at: p.deleted_at.to_string(),
            gone_by: p.gone_by.to_string(),
        }
    }
}

impl From<&InProgress> for InProgressResponse {
    fn from(p: &InProgress) -> Self {
        Self {
            tenant_id: p.tenant_id.to_string(),
            instance_id: p.instance_id.to_string(),
            status: p.state.as_str().to_owned(),
        }
    }
}

impl From<&AuditReport> for AuditReportResponse {
    fn from(r: &AuditReport) -> Self {
        Self {
            environment: r.environment.as_str().to_owned(),
            at: r.at.to_string(),
            source: r.source.clone(),
            clean: r.is_clean(),
            findings: r.findings(),
            counts: AuditCounts {
                tenants: r.tenants,
                instances: r.instances,
                resources: r.resources,
                databases: r.databases,
            },
            orphans: r.orphans.iter().map(OrphanResponse::from).collect(),
            untracked_databases: r
                .untracked_databases
                .iter()
                .map(UntrackedDatabaseResponse::from)
                .collect(),
            drift: r.drift.iter().map(DriftResponse::from).collect(),
            pending_deletion: r
                .pending_deletion
                .iter()
                .map(PendingDeletionResponse::from)
                .collect(),
            in_progress: r.in_progress.iter().map(InProgressResponse::from).collect(),
            unchecked_types: r
                .unchecked_types
                .iter()
                .map(|t| t.as_str().to_owned())
                .collect(),
        }
    }
}

/// A Lambda function auditing the backend's environment on a schedule.
#[derive(Debug, Clone)]
pub struct AuditFunction {
    audit: InstanceAudit,
}

impl AuditFunction {
    /// On a backend without a live cloud this is refused with `CLOUD_UNAVAILABLE`.
    pub fn new(backend: &Backend) -> Result<Self, Error> {
        Ok(Self::from_audit(backend.instance_audit()?))
    }

    pub fn from_audit(audit: InstanceAudit) -> Self {
        Self { audit }
    }

    /// Runs the audit for one scheduled event and answers the report.
    pub async fn invoke(&self, event: &Value) -> Result<Value, Error> {
        let scheduled = serde_json::from_value::<EventBridgeEvent>(event.clone())
            .map_err(|e| format!("not an EventBridge event: {e}"))
            .and_then(|e| {
                if e.source == "aws.events" && e.detail_type == "Scheduled Event" {
                    Ok(e)
                } else {
                    Err(format!(
                        "not a scheduled event: source {}, detail-type {}",
                        e.source, e.detail_type
                    ))
                }
            });
        let scheduled = match scheduled {
            Ok(e) => e,
            Err(why) => {
                tracing::error!(error = %why, "the audit runs on a schedule only; event dropped");
                return Ok(json!({"outcome": "REJECTED", "error": why}));
            }
        };
        let event_id = scheduled.id.unwrap_or_default();
        let rule = scheduled
            .resources
            .unwrap_or_default()
            .into_iter()
            .next()
            .unwrap_or_default();
        let report = match self.audit.run().await {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(event_id, rule, error_code = e.code().as_str(), error = %e, "the instance audit failed");
                return Err(e);
            }
        };
        let response = AuditReportResponse::from(&report);
        let answer = serde_json::to_value(&response)
            .map_err(|e| Error::Internal(format!("cannot render the audit report: {e}")))?;
        let line = answer.to_string();
        if report.is_clean() {
            tracing::info!(event_id, rule, action = "AUDIT_INSTANCES", findings = 0, report = %line, "instance audit: clean");
        } else {
            tracing::warn!(
                event_id,
                rule,
                action = "AUDIT_INSTANCES",
                findings = report.findings(),
                orphans = report.orphans.len(),
                untracked_databases = report.untracked_databases.len(),
                drift = report.drift.len(),
                report = %line,
                "instance audit: findings"
            );
        }
        Ok(answer)
    }
}
