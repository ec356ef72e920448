//! Audit events (digest 2.5 §2.6, §6.4): written in the same transaction as the change they record.

use serde_json::Value;

use crate::ids::{EventId, TenantId};
use crate::time::Timestamp;

/// One entry of a tenant's audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub event_id: EventId,
    pub tenant_id: TenantId,
    /// `TENANT_CREATED`, `TENANT_UPDATED`, `TENANT_PARKED`, `STATUS_CHANGED`, ...
    pub event_type: String,
    pub timestamp: Timestamp,
    /// The e-mail (or subject) of the caller.
    pub actor: String,
    /// `{previousStatus, newStatus, reason}`, `{changes: [...]}`, ...
    pub details: Value,
}

impl AuditEvent {
    /// The sort key within a tenant: `{timestamp}#{eventId}` (digest §3.5 `EVENT#…`).
    pub fn sort_key(&self) -> String {
        format!("{}#{}", self.timestamp, self.event_id)
    }
}
