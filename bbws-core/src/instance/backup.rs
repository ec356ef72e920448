//! Backups of an instance (digest 2.7 §2.4, C13/C14/C22): a per-tenant database dump and an
//! archive of the instance's files, both in S3, recorded as a [`Backup`] item next to the
//! instance (`PK=TENANT#{tenantId}#INSTANCE`, `SK=BACKUP#{createdAt}#{backupId}`).
//!
//! A backup is taken by a BACKUP operation and used by a RESTORE operation, which stops the
//! service, takes a `pre-restore` backup of what is there, replays the chosen backup and starts
//! the service again.

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::{BackupId, InstanceId, OperationId, TenantId};
use crate::tenant::Environment;
use crate::time::Timestamp;

use super::ports::WriteExpect;

/// How long a backup is kept (BRS: 90 days); the archive bucket's lifecycle expires the objects.
pub const BACKUP_RETENTION_DAYS: u32 = 90;

/// Where a backup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackupStatus {
    Pending,
    InProgress,
    Completed,
    Failed,
}

impl BackupStatus {
    pub const ALL: [Self; 4] = [
        Self::Pending,
        Self::InProgress,
        Self::Completed,
        Self::Failed,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::InProgress => "IN_PROGRESS",
            Self::Completed => "COMPLETED",
            Self::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| Error::field("status", format!("Unknown backup status {s}")))
    }
}

impl fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a backup was taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackupReason {
    /// Asked for through `POST …/backup`.
    Manual,
    /// Taken by a restore before it overwrites the instance's data.
    PreRestore,
}

impl BackupReason {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Manual => "manual",
            Self::PreRestore => "pre-restore",
        }
    }

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "manual" => Ok(Self::Manual),
            "pre-restore" => Ok(Self::PreRestore),
            other => Err(Error::field(
                "reason",
                format!("Unknown backup reason {other}"),
            )),
        }
    }
}

/// An optional note on a backup (at most 500 characters, no control characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupDescription(String);

impl BackupDescription {
    pub const MAX: usize = 500;

    /// `None` for an absent or blank description.
    pub fn parse(s: Option<&str>) -> Result<Option<Self>> {
        let Some(s) = s.map(str::trim).filter(|s| !s.is_empty()) else {
            return Ok(None);
        };
        if s.chars().count() > Self::MAX {
            return Err(Error::field(
                "description",
                format!("description is at most {} characters", Self::MAX),
            ));
        }
        if s.chars().any(char::is_control) {
            return Err(Error::field(
                "description",
                "description must not contain control characters",
            ));
        }
        Ok(Some(Self(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One backup of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backup {
    pub id: BackupId,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    /// The operation that takes it.
    pub operation_id: OperationId,
    pub status: BackupStatus,
    pub reason: BackupReason,
    pub description: Option<BackupDescription>,
    /// `s3://…/database.sql.gz`, once written.
    pub db_artifact: Option<String>,
    /// `s3://…/files.tar.gz`, once written.
    pub efs_artifact: Option<String>,
    pub created_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub expires_at: Timestamp,
    /// Why it failed.
    pub error: Option<String>,
    pub version: u64,
}

impl Backup {
    /// A new PENDING backup, expiring after [`BACKUP_RETENTION_DAYS`].
    pub fn new(
        id: BackupId,
        instance: (TenantId, InstanceId),
        operation_id: OperationId,
        reason: BackupReason,
        description: Option<BackupDescription>,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            tenant_id: instance.0,
            instance_id: instance.1,
            operation_id,
            status: BackupStatus::Pending,
            reason,
            description,
            db_artifact: None,
            efs_artifact: None,
            created_at: now,
            completed_at: None,
            expires_at: now.plus(Duration::from_hours(24 * u64::from(BACKUP_RETENTION_DAYS))),
            error: None,
            version: 0,
        }
    }

    /// The S3 keys of its two artifacts in the archive bucket:
    /// `backups/{env}/{tenantId}/{backupId}/database.sql.gz` and `…/files.tar.gz`.
    pub fn keys(&self, env: Environment) -> (String, String) {
        let prefix = format!("backups/{env}/{}/{}", self.tenant_id, self.id);
        (
            format!("{prefix}/database.sql.gz"),
            format!("{prefix}/files.tar.gz"),
        )
    }

    /// Whether a restore may use it now.
    pub fn restorable(&self, now: Timestamp) -> bool {
        self.status == BackupStatus::Completed
            && self.db_artifact.is_some()
            && self.efs_artifact.is_some()
            && self.expires_at > now
    }
}

/// A conditional write of one backup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupWrite {
    pub backup: Backup,
    pub expect: WriteExpect,
}

/// The backups of the tenants' instances.
#[async_trait]
pub trait BackupDao: Send + Sync + fmt::Debug {
    /// The backups of one instance, newest first (one query).
    async fn backups(&self, tenant: &TenantId, instance: &InstanceId) -> Result<Vec<Backup>>;
    /// One backup of a tenant, whichever instance it belongs to.
    async fn backup(&self, tenant: &TenantId, id: &BackupId) -> Result<Option<Backup>>;
    /// Writes one backup under its version (`Absent` for a new one).
    async fn write_backup(&self, write: BackupWrite) -> Result<()>;
}

/// The stored shape of a backup (camelCase attributes of the DynamoDB item).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BackupRecord {
    pub backup_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub operation_id: String,
    pub status: String,
    pub reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub db_artifact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_artifact: Option<String>,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<String>,
    pub expires_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub version: u64,
}

impl BackupRecord {
    /// The sort key: `BACKUP#{createdAt}#{backupId}` (newest last in key order).
    pub fn sort_key(&self) -> String {
        format!("BACKUP#{}#{}", self.created_at, self.backup_id)
    }
}

impl From<&Backup> for BackupRecord {
    fn from(b: &Backup) -> Self {
        Self {
            backup_id: b.id.to_string(),
            tenant_id: b.tenant_id.to_string(),
            instance_id: b.instance_id.to_string(),
            operation_id: b.operation_id.to_string(),
            status: b.status.as_str().to_owned(),
            reason: b.reason.as_str().to_owned(),
            description: b.description.as_ref().map(|d| d.as_str().to_owned()),
            db_artifact: b.db_artifact.clone(),
            efs_artifact: b.efs_artifact.clone(),
            created_at: b.created_at.to_string(),
            completed_at: b.completed_at.map(|t| t.to_string()),
            expires_at: b.expires_at.to_string(),
            error: b.error.clone(),
            version: b.version,
        }
    }
}

impl TryFrom<BackupRecord> for Backup {
    type Error = Error;
    fn try_from(r: BackupRecord) -> Result<Self> {
        let c = |e: Error| Error::Storage(format!("corrupt backup record: {e}"));
        let t = |s: &str| s.parse::<Timestamp>().map_err(c);
        Ok(Self {
            id: r.backup_id.parse().map_err(c)?,
            tenant_id: r.tenant_id.parse().map_err(c)?,
            instance_id: r.instance_id.parse().map_err(c)?,
            operation_id: r.operation_id.parse().map_err(c)?,
            status: BackupStatus::parse(&r.status).map_err(c)?,
            reason: BackupReason::parse(&r.reason).map_err(c)?,
            description: BackupDescription::parse(r.description.as_deref()).map_err(c)?,
            db_artifact: r.db_artifact,
            efs_artifact: r.efs_artifact,
            created_at: t(&r.created_at)?,
            completed_at: r.completed_at.as_deref().map(t).transpose()?,
            expires_at: t(&r.expires_at)?,
            error: r.error,
            version: r.version,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{IdGenerator, RandomIds};

    #[test]
    fn a_record_reads_back_as_the_backup() {
        let ids = RandomIds;
        let now: Timestamp = "2026-12-06T10:00:00.000Z".parse().expect("ts");
        let mut b = Backup::new(
            BackupId::generate(&ids),
            (
                TenantId::from_uuid(ids.uuid()),
                InstanceId::from_uuid(ids.uuid()),
            ),
            OperationId::generate(&ids),
            BackupReason::Manual,
            BackupDescription::parse(Some("before the plugin upgrade")).expect("ok"),
            now,
        );
        b.db_artifact = Some("s3://b/k/database.sql.gz".into());
        let back: Backup = BackupRecord::from(&b).try_into().expect("parses");
        assert_eq!(back, b);
        assert_eq!(back.expires_at.to_string(), "2027-03-06T10:00:00.000Z");
    }

    #[test]
    fn descriptions_are_bounded_and_printable() {
        assert_eq!(BackupDescription::parse(Some("  ")).expect("blank"), None);
        assert!(BackupDescription::parse(Some(&"x".repeat(501))).is_err());
        assert!(BackupDescription::parse(Some("a\u{7}b")).is_err());
    }
}
