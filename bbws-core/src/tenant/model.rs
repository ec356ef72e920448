//! The tenant aggregate and its state changes, free of I/O.

use serde_json::{Map, Value};

use super::status::TenantStatus;
use super::values::{Email, Environment, OrganizationName, Reason, UnitLabel};
use crate::error::{Error, Result};
use crate::ids::TenantId;
use crate::time::Timestamp;

/// Who did something, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stamp {
    pub at: Timestamp,
    pub by: String,
}

/// A park or a suspension: when, by whom, why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReasonedStamp {
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

/// A customer organisation hosted on the platform (digest 2.5 §2.1).
#[derive(Debug, Clone, PartialEq)]
pub struct Tenant {
    pub id: TenantId,
    pub organization_name: OrganizationName,
    pub contact_email: Email,
    pub environment: Environment,
    pub status: TenantStatus,
    pub division: Option<UnitLabel>,
    pub group: Option<UnitLabel>,
    pub team: Option<UnitLabel>,
    /// Free-form JSON object (`industry`, `tier`, ...).
    pub metadata: Map<String, Value>,
    /// The customer the tenant belongs to (C23), from the creator's `custom:customerId`.
    pub customer_id: Option<String>,
    pub created: Stamp,
    pub updated: Stamp,
    pub parked: Option<ReasonedStamp>,
    pub unparked: Option<Stamp>,
    pub suspended: Option<ReasonedStamp>,
    pub resumed: Option<Stamp>,
    pub deprovisioned: Option<Stamp>,
    /// Optimistic-locking version: 1 on create, +1 on every write.
    pub version: u64,
}

/// A validated request to create a tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct NewTenant {
    pub organization_name: OrganizationName,
    pub contact_email: Email,
    pub environment: Environment,
    pub division: Option<UnitLabel>,
    pub group: Option<UnitLabel>,
    pub team: Option<UnitLabel>,
    pub metadata: Map<String, Value>,
}

/// A set-or-clear field of a partial update: absent = keep, `Clear` = remove the value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Patch<T> {
    #[default]
    Keep,
    Set(T),
    Clear,
}

/// A validated partial update (PUT, decision C34). `metadata` is shallow-merged; a key whose
/// value is `null` is removed.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TenantPatch {
    pub organization_name: Option<OrganizationName>,
    pub contact_email: Option<Email>,
    pub division: Patch<UnitLabel>,
    pub group: Patch<UnitLabel>,
    pub team: Patch<UnitLabel>,
    pub metadata: Option<Map<String, Value>>,
    /// Immutable fields the request named (`tenantId`, `environment`, `status`, `createdAt`,
    /// `createdBy`) with the value it gave: accepted only if equal to the current value.
    pub immutable: Vec<(&'static str, String)>,
}

impl TenantPatch {
    pub fn is_empty(&self) -> bool {
        self.organization_name.is_none()
            && self.contact_email.is_none()
            && self.division == Patch::Keep
            && self.group == Patch::Keep
            && self.team == Patch::Keep
            && self.metadata.is_none()
    }
}

/// One changed field: its name and its values before and after, for the audit trail (US-3).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: Value,
    pub after: Value,
}

fn opt_label(v: Option<&UnitLabel>) -> Value {
    v.map_or(Value::Null, |l| Value::String(l.as_str().to_owned()))
}

impl Tenant {
    /// A new tenant in PENDING at version 1.
    pub fn new(
        id: TenantId,
        req: NewTenant,
        customer_id: Option<String>,
        by: &str,
        at: Timestamp,
    ) -> Self {
        let stamp = Stamp {
            at,
            by: by.to_owned(),
        };
        Self {
            id,
            organization_name: req.organization_name,
            contact_email: req.contact_email,
            environment: req.environment,
            status: TenantStatus::Pending,
            division: req.division,
            group: req.group,
            team: req.team,
            metadata: req.metadata,
            customer_id,
            created: stamp.clone(),
            updated: stamp,
            parked: None,
            unparked: None,
            suspended: None,
            resumed: None,
            deprovisioned: None,
            version: 1,
        }
    }

    fn touched(&self, by: &str, at: Timestamp) -> Self {
        let mut next = self.clone();
        next.updated = Stamp {
            at,
            by: by.to_owned(),
        };
        next.version += 1;
        next
    }

    fn refuse(&self, target: TenantStatus, message: impl Into<String>) -> Error {
        Error::InvalidStatusTransition {
            message: message.into(),
            current: self.status,
            target,
            allowed: self.status.allowed_transitions().to_vec(),
        }
    }

    fn transition(&self, target: TenantStatus, message: impl FnOnce() -> String) -> Result<()> {
        if self.status.can_transition_to(target) {
            Ok(())
        } else {
            Err(self.refuse(target, message()))
        }
    }

    /// Applies a partial update; returns the new state and the changed fields. A patch that
    /// changes nothing still bumps the version (the caller asked for a write).
    pub fn update(
        &self,
        patch: TenantPatch,
        by: &str,
        at: Timestamp,
    ) -> Result<(Self, Vec<FieldChange>)> {
        if self.status == TenantStatus::Deprovisioned {
            return Err(Error::TenantDeprovisioned {
                tenant_id: self.id.to_string(),
            });
        }
        for (field, given) in &patch.immutable {
            let current = match *field {
                "tenantId" => self.id.to_string(),
                "environment" => self.environment.as_str().to_owned(),
                "status" => self.status.as_str().to_owned(),
                "createdAt" => self.created.at.to_string(),
                "createdBy" => self.created.by.clone(),
                other => {
                    return Err(Error::field(
                        other,
                        format!("{other} is not a tenant field"),
                    ));
                }
            };
            if *given != current {
                let message = match *field {
                    "tenantId" => "Tenant ID cannot be modified".to_owned(),
                    "status" => "status cannot be changed by update; use the lifecycle operations"
                        .to_owned(),
                    other => format!("{other} cannot be modified"),
                };
                return Err(Error::field(*field, message));
            }
        }
        if patch.is_empty() {
            return Err(Error::field(
                "body",
                "At least one field to update is required",
            ));
        }
        let mut next = self.touched(by, at);
        let mut changes = Vec::new();
        if let Some(name) = patch.organization_name
            && name != self.organization_name
        {
            changes.push(FieldChange {
                field: "organizationName",
                before: self.organization_name.as_str().into(),
                after: name.as_str().into(),
            });
            next.organization_name = name;
        }
        if let Some(email) = patch.contact_email
            && email != self.contact_email
        {
            changes.push(FieldChange {
                field: "contactEmail",
                before: self.contact_email.as_str().into(),
                after: email.as_str().into(),
            });
            next.contact_email = email;
        }
        for (field, patch, slot) in [
            ("division", patch.division, &mut next.division),
            ("group", patch.group, &mut next.group),
            ("team", patch.team, &mut next.team),
        ] {
            let new = match patch {
                Patch::Keep => continue,
                Patch::Set(v) => Some(v),
                Patch::Clear => None,
            };
            if *slot != new {
                changes.push(FieldChange {
                    field,
                    before: opt_label(slot.as_ref()),
                    after: opt_label(new.as_ref()),
                });
                *slot = new;
            }
        }
        if let Some(merge) = patch.metadata {
            let before = Value::Object(self.metadata.clone());
            for (k, v) in merge {
                if v.is_null() {
                    next.metadata.remove(&k);
                } else {
                    next.metadata.insert(k, v);
                }
            }
            if next.metadata != self.metadata {
                changes.push(FieldChange {
                    field: "metadata",
                    before,
                    after: Value::Object(next.metadata.clone()),
                });
            }
        }
        Ok((next, changes))
    }

    /// ACTIVE → PARKED (BR-PARK-001, BR-PARK-003).
    pub fn park(&self, reason: &Reason, by: &str, at: Timestamp) -> Result<Self> {
        if self.status != TenantStatus::Active {
            return Err(self.refuse(
                TenantStatus::Parked,
                "Cannot park a tenant that is not ACTIVE",
            ));
        }
        let mut next = self.touched(by, at);
        next.status = TenantStatus::Parked;
        next.parked = Some(ReasonedStamp {
            at,
            by: by.to_owned(),
            reason: reason.as_str().to_owned(),
        });
        Ok(next)
    }

    /// PARKED → ACTIVE (BR-PARK-004).
    pub fn unpark(&self, by: &str, at: Timestamp) -> Result<Self> {
        if self.status != TenantStatus::Parked {
            return Err(self.refuse(TenantStatus::Active, "Only parked tenants can be unparked"));
        }
        let mut next = self.touched(by, at);
        next.status = TenantStatus::Active;
        next.unparked = Some(Stamp {
            at,
            by: by.to_owned(),
        });
        Ok(next)
    }

    /// ACTIVE → SUSPENDED (BR-STATUS-002, BR-STATUS-008).
    pub fn suspend(&self, reason: &Reason, by: &str, at: Timestamp) -> Result<Self> {
        match self.status {
            TenantStatus::Active => {}
            TenantStatus::Parked => {
                return Err(self.refuse(
                    TenantStatus::Suspended,
                    "Cannot suspend parked tenant. Unpark first.",
                ));
            }
            _ => {
                return Err(self.refuse(
                    TenantStatus::Suspended,
                    "Only active tenants can be suspended",
                ));
            }
        }
        let mut next = self.touched(by, at);
        next.status = TenantStatus::Suspended;
        next.suspended = Some(ReasonedStamp {
            at,
            by: by.to_owned(),
            reason: reason.as_str().to_owned(),
        });
        Ok(next)
    }

    /// SUSPENDED → ACTIVE (BR-STATUS-004).
    pub fn resume(&self, by: &str, at: Timestamp) -> Result<Self> {
        if self.status != TenantStatus::Suspended {
            return Err(self.refuse(
                TenantStatus::Active,
                "Only suspended tenants can be resumed",
            ));
        }
        let mut next = self.touched(by, at);
        next.status = TenantStatus::Active;
        next.resumed = Some(Stamp {
            at,
            by: by.to_owned(),
        });
        Ok(next)
    }

    /// Any status but DEPROVISIONED → DEPROVISIONED (soft delete; decision C19).
    pub fn deprovision(&self, by: &str, at: Timestamp) -> Result<Self> {
        if !self.status.can_deprovision() {
            return Err(Error::InvalidStatusTransition {
                message: "Cannot modify deprovisioned tenant".into(),
                current: self.status,
                target: TenantStatus::Deprovisioned,
                allowed: vec![],
            });
        }
        let mut next = self.touched(by, at);
        next.status = TenantStatus::Deprovisioned;
        next.deprovisioned = Some(Stamp {
            at,
            by: by.to_owned(),
        });
        Ok(next)
    }

    /// The transitions only `PATCH /status` performs (C21): PENDING → ACTIVE, PENDING → FAILED,
    /// FAILED → PENDING. Every other target has its own operation.
    pub fn change_status(&self, target: TenantStatus, by: &str, at: Timestamp) -> Result<Self> {
        self.transition(target, || {
            format!("Cannot transition from {} to {target}", self.status)
        })?;
        let mut next = self.touched(by, at);
        next.status = target;
        Ok(next)
    }
}
