//! Backup, list backups and restore on [`InstanceService`] (C13, C22, C14): accepting the work
//! as an operation (202), which [`super::ProvisioningEngine`] runs.

use serde_json::json;

use crate::auth::{Actor, TenantAction};
use crate::error::{Error, ErrorCode, Result};
use crate::idempotency::IdempotencyKey;
use crate::ids::{BackupId, InstanceId, OperationId, TenantId};
use crate::tenant::Created;

use super::backup::{Backup, BackupDescription, BackupReason, BackupWrite};
use super::model::Instance;
use super::operation::{Operation, OperationType, StepName};
use super::ports::WriteExpect;
use super::service::{Acceptance, Accepted, InstanceService};
use super::state::InstanceState;

/// The states a backup can be taken in: the instance has its database and files and no change
/// is under way.
const BACKUP_STATES: [InstanceState; 3] = [
    InstanceState::Active,
    InstanceState::Suspended,
    InstanceState::Parked,
];

impl InstanceService {
    /// 409 while another operation of the instance is still running (a restart, an update, a
    /// backup ...): two operations never drive one instance at once.
    pub(super) async fn ensure_idle(&self, instance: &Instance) -> Result<()> {
        let Some(current) = instance.current_operation else {
            return Ok(());
        };
        let op = self.load_operation(&current).await?;
        if op.status.is_terminal() {
            return Ok(());
        }
        Err(Error::conflict(format!(
            "Operation {current} ({}) of instance {} is still {}; try again when it has finished",
            op.op_type, instance.id, op.status
        )))
    }

    /// A new PENDING operation of `op_type` on the instance.
    fn new_operation(
        &self,
        actor: &Actor,
        instance: &Instance,
        op_type: OperationType,
    ) -> Operation {
        Operation::new(
            OperationId::generate(self.ports.ids.as_ref()),
            instance.tenant_id,
            instance.id,
            op_type,
            StepName::for_type(op_type),
            actor.label(),
            self.ports.ids.uuid().to_string(),
            self.ports.clock.now(),
        )
    }

    /// C13: accepts a backup of the instance's database and files (202 + operation; the new
    /// backup's id is `operation.backup_id`). Taken in ACTIVE, SUSPENDED or PARKED, with no
    /// other operation running; the instance's state does not change. The PENDING backup is
    /// written with the operation, its audit event and `INSTANCE_LIFECYCLE_REQUESTED`.
    pub async fn request_backup(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        description: Option<&str>,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let description = BackupDescription::parse(description)?;
        let now = self.ports.clock.now();
        let op_type = OperationType::Backup;
        let idem = Self::idem(
            actor,
            key,
            op_type,
            &json!({"tenantId": tenant_id.to_string(), "instanceId": instance_id.to_string(),
                    "type": op_type.as_str(),
                    "description": description.as_ref().map(BackupDescription::as_str)}),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        let current = self.load(tenant_id, instance_id).await?;
        if !BACKUP_STATES.contains(&current.state) {
            return Err(Error::InstanceTransition {
                message: format!(
                    "A backup needs an ACTIVE, SUSPENDED or PARKED instance; this one is {}",
                    current.state
                ),
                current: current.state,
                target: current.state,
                allowed: current.state.allowed_transitions().to_vec(),
            });
        }
        self.ensure_idle(&current).await?;
        let mut operation = self.new_operation(actor, &current, op_type);
        let backup = Backup::new(
            BackupId::generate(self.ports.ids.as_ref()),
            (*tenant_id, *instance_id),
            operation.id,
            BackupReason::Manual,
            description,
            now,
        );
        operation.backup_id = Some(backup.id);
        self.accept_write(actor, &current, operation, Some(backup), idem)
            .await
    }

    /// C22: the instance's backups, newest first (every status, so a running or failed one
    /// shows too).
    pub async fn backups(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
    ) -> Result<Vec<Backup>> {
        actor.authorize(tenant_id, TenantAction::Read)?;
        self.load(tenant_id, instance_id).await?;
        self.ports.instances.backups(tenant_id, instance_id).await
    }

    /// C14: accepts a restore of an ACTIVE instance from one of its COMPLETED, unexpired
    /// backups (202 + operation). The instance goes SUSPENDING now; the operation takes a
    /// `pre-restore` backup before it replaces anything. Another tenant's backup id is 404
    /// `BACKUP_NOT_FOUND`; another instance's, an unfinished or an expired backup is 422
    /// `BACKUP_NOT_RESTORABLE`.
    pub async fn request_restore(
        &self,
        actor: &Actor,
        tenant_id: &TenantId,
        instance_id: &InstanceId,
        backup_id: &BackupId,
        key: Option<&IdempotencyKey>,
    ) -> Result<Created<Accepted>> {
        actor.authorize(tenant_id, TenantAction::Provisioning)?;
        let now = self.ports.clock.now();
        let op_type = OperationType::Restore;
        let idem = Self::idem(
            actor,
            key,
            op_type,
            &json!({"tenantId": tenant_id.to_string(), "instanceId": instance_id.to_string(),
                    "type": op_type.as_str(), "backupId": backup_id.to_string()}),
        );
        if let Some((scoped, fp)) = &idem
            && let Some(done) = self.replayed(scoped, fp, now).await?
        {
            return Ok(done);
        }
        let current = self.load(tenant_id, instance_id).await?;
        let backup = self
            .ports
            .instances
            .backup(tenant_id, backup_id)
            .await?
            .ok_or_else(|| {
                Error::business(
                    ErrorCode::BackupNotFound,
                    format!("Backup {backup_id} not found"),
                )
            })?;
        if backup.instance_id != *instance_id {
            return Err(Error::business(
                ErrorCode::BackupNotRestorable,
                format!(
                    "Backup {backup_id} belongs to instance {}, not {instance_id}",
                    backup.instance_id
                ),
            ));
        }
        if !backup.restorable(now) {
            let why = if backup.expires_at <= now {
                format!("expired at {}", backup.expires_at)
            } else {
                format!("is {}", backup.status)
            };
            return Err(Error::business(
                ErrorCode::BackupNotRestorable,
                format!("Backup {backup_id} {why}; only a COMPLETED backup can be restored"),
            ));
        }
        self.ensure_idle(&current).await?;
        let mut operation = self.new_operation(actor, &current, op_type);
        operation.backup_id = Some(*backup_id);
        operation.safety_backup_id = Some(BackupId::generate(self.ports.ids.as_ref()));
        self.accept_write(actor, &current, operation, None, idem)
            .await
    }

    /// Writes an accepted backup or restore: the instance SUSPENDING for a restore, as it was
    /// for a backup, with the operation and the new backup ([`Self::accept_operation`]).
    async fn accept_write(
        &self,
        actor: &Actor,
        current: &Instance,
        mut operation: Operation,
        backup: Option<Backup>,
        idem: Option<(String, String)>,
    ) -> Result<Created<Accepted>> {
        let now = self.ports.clock.now();
        let op_type = operation.op_type;
        let instance = if op_type == OperationType::Restore {
            current.moved(InstanceState::Suspending, actor.label(), now)?
        } else {
            current.touched(actor.label(), now)
        };
        operation.message = format!("{op_type} accepted");
        let backup_id = operation.backup_id.map(|b| b.to_string());
        let details = json!({"instanceId": current.id.to_string(), "operationId": operation.id.to_string(),
                             "type": op_type.as_str(), "backupId": backup_id,
                             "preRestoreBackupId": operation.safety_backup_id.map(|b| b.to_string())});
        let mut queue = serde_json::Map::new();
        queue.insert("backupId".into(), json!(backup_id));
        self.accept_operation(
            actor,
            Acceptance {
                current_version: current.version,
                instance,
                operation,
                details,
                queue: Some(queue),
                backup: backup.map(|backup| BackupWrite {
                    backup,
                    expect: WriteExpect::Absent,
                }),
                idem,
                now,
            },
        )
        .await
    }
}
