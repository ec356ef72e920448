//! The BACKUP and RESTORE operations (digest 2.7 §6, C13/C14).
//!
//! A backup dumps the tenant's database and archives its files to S3 under the backup's keys;
//! the instance's state does not change. A restore goes ACTIVE → SUSPENDING → SUSPENDED (the
//! service stopped and drained, autoscaling paused), takes a `pre-restore` backup of the data it
//! is about to replace, replays the chosen backup (database, then files), and goes RESUMING →
//! ACTIVE (the stored desired count back, healthy, autoscaling resumed). Every step is
//! idempotent, so a run resumed after a crash skips what is done and repeats at most one step.

use serde_json::json;

use super::{Run, StepFailure};
use crate::error::{Error, Result};
use crate::ids::BackupId;
use crate::instance::backup::{Backup, BackupReason, BackupStatus, BackupWrite};
use crate::instance::ledger::ResourceType;
use crate::instance::naming::{Component, tags};
use crate::instance::operation::{Operation, OperationStatus, OperationType, StepName, StepStatus};
use crate::instance::ports::{ArchiveSpec, CloudError, InstanceGuard, ScalingBounds, WriteExpect};
use crate::instance::state::InstanceState;

/// `s3://bucket/key` → (bucket, key).
fn split_uri(uri: &str) -> Option<(&str, &str)> {
    uri.strip_prefix("s3://")?
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
}

impl Run<'_> {
    /// The backup the BACKUP steps write: the operation's own backup, or a restore's
    /// `pre-restore` one.
    fn target_backup(op: &Operation) -> Option<BackupId> {
        match op.op_type {
            OperationType::Restore => op.safety_backup_id,
            _ => op.backup_id,
        }
    }

    async fn load_backup(&self, id: BackupId) -> Result<Backup> {
        let tenant = self.instance().await.tenant_id;
        self.engine
            .store
            .backup(&tenant, &id)
            .await?
            .ok_or_else(|| Error::Internal(format!("backup {id} of the operation is missing")))
    }

    /// The backup the BACKUP steps write, created (`pre-restore`) if the restore has not yet.
    async fn backup_being_taken(&self) -> Result<Backup> {
        let op = self.op().await;
        let id = Self::target_backup(&op)
            .ok_or_else(|| Error::Internal(format!("operation {} names no backup", op.id)))?;
        let tenant = op.tenant_id;
        if let Some(b) = self.engine.store.backup(&tenant, &id).await? {
            return Ok(b);
        }
        let b = Backup::new(
            id,
            (op.tenant_id, op.instance_id),
            op.id,
            BackupReason::PreRestore,
            None,
            self.now(),
        );
        self.engine
            .store
            .write_backup(BackupWrite {
                backup: b.clone(),
                expect: WriteExpect::Absent,
            })
            .await?;
        Ok(b)
    }

    /// Writes a changed backup under its version; returns it as stored.
    async fn save_backup(&self, mut b: Backup, f: impl FnOnce(&mut Backup)) -> Result<Backup> {
        let expect = WriteExpect::Version(b.version);
        f(&mut b);
        b.version += 1;
        self.engine
            .store
            .write_backup(BackupWrite {
                backup: b.clone(),
                expect,
            })
            .await?;
        Ok(b)
    }

    async fn backup_spec(&self, key: String) -> ArchiveSpec {
        ArchiveSpec {
            bucket: self.cfg().archive_bucket.clone(),
            key,
            retention_days: crate::instance::backup::BACKUP_RETENTION_DAYS,
            tags: tags(&self.instance().await, Component::Archive),
        }
    }

    /// One of the two BACKUP steps: the artifact's `s3://` URI.
    async fn backup_step(&self, step: StepName) -> std::result::Result<String, StepFailure> {
        let fail = |resource: ResourceType| {
            move |error: CloudError| StepFailure {
                step,
                resource: Some(resource),
                error,
            }
        };
        let internal = |e: Error| StepFailure {
            step,
            resource: None,
            error: CloudError::permanent("bbws", "backup", e.to_string()),
        };
        let backup = self.backup_being_taken().await.map_err(internal)?;
        let (db_key, files_key) = backup.keys(self.instance().await.environment);
        let archive = &self.engine.cloud.archive;
        if step == StepName::BackupDatabase {
            let spec = self.backup_spec(db_key).await;
            let db = self.names.database.clone();
            return self
                .call(step, || archive.archive_database(&db, &spec))
                .await
                .map(|r| r.id)
                .map_err(fail(ResourceType::Database));
        }
        let spec = self.backup_spec(files_key).await;
        let ap = self
            .id_of(ResourceType::EfsAccessPoint)
            .map_err(fail(ResourceType::EfsAccessPoint))?;
        let root = self.names.root_directory.clone();
        self.call(step, || archive.archive_files(&ap, &root, &spec))
            .await
            .map(|r| r.id)
            .map_err(fail(ResourceType::EfsAccessPoint))
    }

    /// Runs the two BACKUP steps (skipping those done), then records the artifacts on the
    /// backup: COMPLETED, or FAILED with the step's error.
    async fn take_backup(&self) -> Result<std::result::Result<Backup, StepFailure>> {
        let mut backup = self.backup_being_taken().await?;
        if backup.status == BackupStatus::Pending {
            backup = self
                .save_backup(backup, |b| b.status = BackupStatus::InProgress)
                .await?;
        }
        for step in StepName::BACKUP {
            if self.op().await.step_done(step) {
                continue;
            }
            self.step_status(step, StepStatus::Running, None, None)
                .await?;
            match self.backup_step(step).await {
                Ok(uri) => {
                    self.step_status(step, StepStatus::Done, Some(uri), None)
                        .await?;
                }
                Err(f) => {
                    let msg = f.error.to_string();
                    self.save_backup(backup, |b| {
                        b.status = BackupStatus::Failed;
                        b.error = Some(msg);
                    })
                    .await?;
                    return Ok(Err(f));
                }
            }
        }
        let op = self.op().await;
        let artifact = |s: StepName| op.step(s).and_then(|st| st.resource_id.clone());
        let (db, files) = (
            artifact(StepName::BackupDatabase),
            artifact(StepName::BackupFiles),
        );
        let now = self.now();
        if backup.status != BackupStatus::Completed {
            backup = self
                .save_backup(backup, |b| {
                    b.status = BackupStatus::Completed;
                    b.db_artifact = db;
                    b.efs_artifact = files;
                    b.completed_at = Some(now);
                    b.error = None;
                })
                .await?;
        }
        Ok(Ok(backup))
    }

    /// BACKUP: both artifacts, then the operation COMPLETED with the instance as it was.
    pub(super) async fn backup(&self) -> Result<Operation> {
        if self.op().await.status == OperationStatus::Pending {
            self.update_op(|o| {
                o.status = OperationStatus::InProgress;
                "BACKUP in progress".clone_into(&mut o.message);
            })
            .await?;
        }
        let backup = match self.take_backup().await? {
            Ok(b) => b,
            Err(failure) => {
                let state = self.instance().await.state;
                return self
                    .end_failed(
                        &failure,
                        failure.reason(),
                        state,
                        "INSTANCE_BACKUP_FAILED",
                        false,
                    )
                    .await;
            }
        };
        let now = self.now();
        let instance = self.instance().await;
        let detail = json!({
            "eventType": "INSTANCE_BACKUP_COMPLETED",
            "tenantId": instance.tenant_id.to_string(),
            "instanceId": instance.id.to_string(),
            "operationId": self.op().await.id.to_string(),
            "backupId": backup.id.to_string(),
            "dbArtifact": backup.db_artifact,
            "efsArtifact": backup.efs_artifact,
            "timestamp": now.to_string(),
        });
        self.transition(
            instance.state,
            InstanceGuard::Keep,
            Some(("INSTANCE_BACKED_UP", detail.clone())),
            Some(("INSTANCE_BACKUP_COMPLETED", detail)),
            |_, o| {
                o.status = OperationStatus::Completed;
                o.completed_at = Some(now);
                o.message = format!("BACKUP completed; backup {} is ready", backup.id);
            },
        )
        .await?;
        tracing::info!(action = "BACKUP_INSTANCE", tenant_id = %instance.tenant_id, instance_id = %instance.id, backup_id = %backup.id, "backup completed");
        Ok(self.op().await)
    }

    /// The backup a restore replays, with its two artifacts as (bucket, key).
    async fn restore_source(&self) -> std::result::Result<[(String, String); 2], CloudError> {
        let bad = |m: String| CloudError::permanent("bbws", "restore", m);
        let op = self.op().await;
        let id = op
            .backup_id
            .ok_or_else(|| bad("the restore names no backup".into()))?;
        let b = self.load_backup(id).await.map_err(|e| bad(e.to_string()))?;
        let split = |a: &Option<String>, what: &str| {
            a.as_deref()
                .and_then(split_uri)
                .map(|(b, k)| (b.to_owned(), k.to_owned()))
                .ok_or_else(|| bad(format!("backup {id} has no {what} artifact")))
        };
        Ok([
            split(&b.db_artifact, "database")?,
            split(&b.efs_artifact, "files")?,
        ])
    }

    async fn restore_step(&self, step: StepName) -> std::result::Result<(), StepFailure> {
        let on = |resource: ResourceType| {
            move |error: CloudError| StepFailure {
                step,
                resource: Some(resource),
                error,
            }
        };
        let ecs = on(ResourceType::EcsService);
        let c = &self.engine.cloud;
        let cfg = self.cfg();
        let service = self.names.ecs_service.clone();
        let count = self.instance().await.desired_count.get();
        let bounds = |suspended: bool| ScalingBounds {
            resource_id: self.scaling_resource_id(),
            min_capacity: cfg.min_tasks.min(count.max(1)),
            max_capacity: cfg.max_tasks.max(count),
            suspended,
        };
        match step {
            StepName::PauseAutoscaling => {
                let b = bounds(true);
                self.call(step, || c.compute.set_autoscaling(&b))
                    .await
                    .map_err(ecs)
            }
            StepName::StopService => self
                .call(step, || {
                    c.compute.set_desired_count(&cfg.cluster, &service, 0)
                })
                .await
                .map_err(ecs),
            StepName::WaitDrained => self.wait_for(step, 0).await,
            StepName::RestoreDatabase => {
                let [(bucket, key), _] = self
                    .restore_source()
                    .await
                    .map_err(on(ResourceType::Database))?;
                let db = self.names.database.clone();
                self.call(step, || c.archive.restore_database(&db, &bucket, &key))
                    .await
                    .map_err(on(ResourceType::Database))
            }
            StepName::RestoreFiles => {
                let fail = on(ResourceType::EfsAccessPoint);
                let [_, (bucket, key)] = self.restore_source().await.map_err(fail)?;
                let ap = self.id_of(ResourceType::EfsAccessPoint).map_err(fail)?;
                let root = self.names.root_directory.clone();
                self.call(step, || c.archive.restore_files(&ap, &root, &bucket, &key))
                    .await
                    .map_err(fail)
            }
            StepName::StartService => self
                .call(step, || {
                    c.compute.set_desired_count(&cfg.cluster, &service, count)
                })
                .await
                .map_err(ecs),
            StepName::HealthWait => self.wait_for(step, count).await,
            StepName::ResumeAutoscaling => {
                let b = bounds(false);
                self.call(step, || c.compute.set_autoscaling(&b))
                    .await
                    .map_err(ecs)
            }
            other => Err(ecs(CloudError::permanent(
                "bbws",
                "restore",
                format!("{other} is not a restore step"),
            ))),
        }
    }

    /// Moves the instance from `from` to `to` mid-run (SUSPENDING → SUSPENDED after the drain,
    /// SUSPENDED → RESUMING before the start); already there after a resumed run: nothing.
    async fn restore_phase(&self, from: InstanceState, to: InstanceState) -> Result<()> {
        if self.instance().await.state == from {
            self.transition(to, InstanceGuard::Keep, None, None, |_, _| {})
                .await?;
        }
        Ok(())
    }

    /// A failed restore step. Before the service is stopped or once it is starting again, the
    /// instance goes FAILED as in any lifecycle operation; while it is SUSPENDED (the backup
    /// and the replay) it stays SUSPENDED, serving nothing, and the message names the
    /// `pre-restore` backup that holds the data as it was.
    async fn restore_failed(&self, failure: &StepFailure) -> Result<Operation> {
        if self.instance().await.state != InstanceState::Suspended {
            return self.lifecycle_failed(failure).await;
        }
        let mut reason = failure.reason();
        let op = self.op().await;
        if let Some(safety) = op.safety_backup_id
            && failure.step != StepName::BackupDatabase
            && failure.step != StepName::BackupFiles
        {
            reason.message = format!(
                "{}. The instance stays SUSPENDED; backup {safety} holds its data from before \
                 the restore",
                reason.message
            );
        } else {
            reason.message = format!(
                "{}. Nothing was replaced; the instance stays SUSPENDED",
                reason.message
            );
        }
        self.end_failed(
            failure,
            reason,
            InstanceState::Suspended,
            "INSTANCE_RESTORE_FAILED",
            true,
        )
        .await
    }

    /// RESTORE (see the module documentation).
    pub(super) async fn restore(&self) -> Result<Operation> {
        let op = self.op().await;
        let state = self.instance().await.state;
        if !matches!(
            state,
            InstanceState::Suspending | InstanceState::Suspended | InstanceState::Resuming
        ) {
            return Err(Error::conflict(format!(
                "Instance {} is {state}, not SUSPENDING as its RESTORE operation expects",
                op.instance_id
            )));
        }
        if op.status == OperationStatus::Pending {
            self.update_op(|o| {
                o.status = OperationStatus::InProgress;
                "RESTORE in progress".clone_into(&mut o.message);
            })
            .await?;
        }
        for step in StepName::RESTORE {
            if step == StepName::BackupDatabase {
                self.restore_phase(InstanceState::Suspending, InstanceState::Suspended)
                    .await?;
                match self.take_backup().await? {
                    Ok(_) => continue,
                    Err(failure) => return self.restore_failed(&failure).await,
                }
            }
            if step == StepName::BackupFiles {
                continue;
            }
            if step == StepName::StartService {
                self.restore_phase(InstanceState::Suspended, InstanceState::Resuming)
                    .await?;
            }
            if self.op().await.step_done(step) {
                continue;
            }
            self.step_status(step, StepStatus::Running, None, None)
                .await?;
            match self.restore_step(step).await {
                Ok(()) => {
                    self.step_status(step, StepStatus::Done, None, None).await?;
                }
                Err(failure) => return self.restore_failed(&failure).await,
            }
        }
        let op = self.op().await;
        let instance = self.instance().await;
        let now = self.now();
        let detail = json!({
            "eventType": "INSTANCE_RESTORED",
            "tenantId": instance.tenant_id.to_string(),
            "instanceId": instance.id.to_string(),
            "operationId": op.id.to_string(),
            "backupId": op.backup_id.map(|b| b.to_string()),
            "preRestoreBackupId": op.safety_backup_id.map(|b| b.to_string()),
            "timestamp": now.to_string(),
        });
        self.transition(
            InstanceState::Active,
            InstanceGuard::Keep,
            Some(("INSTANCE_RESTORED", detail.clone())),
            Some(("INSTANCE_RESTORED", detail)),
            |inst, o| {
                inst.last_error = None;
                o.status = OperationStatus::Completed;
                o.completed_at = Some(now);
                "RESTORE completed; the instance is ACTIVE".clone_into(&mut o.message);
            },
        )
        .await?;
        tracing::info!(action = "RESTORE_INSTANCE", tenant_id = %instance.tenant_id, instance_id = %instance.id, "restore completed");
        Ok(self.op().await)
    }
}

#[cfg(test)]
mod tests {
    use super::split_uri;

    #[test]
    fn artifact_uris_split_into_bucket_and_key() {
        assert_eq!(
            split_uri("s3://bbws-archives-dev/backups/dev/t/b/database.sql.gz"),
            Some(("bbws-archives-dev", "backups/dev/t/b/database.sql.gz"))
        );
        assert_eq!(split_uri("s3://bucket/"), None);
        assert_eq!(split_uri("https://bucket/key"), None);
    }
}
