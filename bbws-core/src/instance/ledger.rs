//! The resource ledger (digest 2.7 §2.2): one entry per cloud object an instance owns, written
//! *before* the create call (intent) and updated after it. Rollback and deprovisioning are driven
//! from it, in reverse creation order; a resumed run reads it to create nothing twice.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::ids::{InstanceId, TenantId};
use crate::time::Timestamp;

use super::operation::StepName;

/// What kind of cloud object an entry stands for (`RESOURCE#{type}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ResourceType {
    CognitoPool,
    CognitoDomain,
    CognitoClient,
    CognitoGroups,
    CognitoSecret,
    DbSecret,
    Database,
    EfsAccessPoint,
    TargetGroup,
    AlbPriority,
    ListenerRule,
    TaskDefinition,
    EcsService,
    ScalableTarget,
    /// A per-tenant `mysqldump` in the archive bucket: kept, never deleted by the engine.
    DatabaseArchive,
    /// A `tar` of the tenant's wp-content in the archive bucket: kept.
    FilesArchive,
}

impl ResourceType {
    pub const ALL: [ResourceType; 16] = [
        Self::CognitoPool,
        Self::CognitoDomain,
        Self::CognitoClient,
        Self::CognitoGroups,
        Self::CognitoSecret,
        Self::DbSecret,
        Self::Database,
        Self::EfsAccessPoint,
        Self::TargetGroup,
        Self::AlbPriority,
        Self::ListenerRule,
        Self::TaskDefinition,
        Self::EcsService,
        Self::ScalableTarget,
        Self::DatabaseArchive,
        Self::FilesArchive,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CognitoPool => "COGNITO_POOL",
            Self::CognitoDomain => "COGNITO_DOMAIN",
            Self::CognitoClient => "COGNITO_CLIENT",
            Self::CognitoGroups => "COGNITO_GROUPS",
            Self::CognitoSecret => "COGNITO_SECRET",
            Self::DbSecret => "DB_SECRET",
            Self::Database => "DATABASE",
            Self::EfsAccessPoint => "EFS_AP",
            Self::TargetGroup => "ALB_TG",
            Self::AlbPriority => "ALB_PRIORITY",
            Self::ListenerRule => "ALB_RULE",
            Self::TaskDefinition => "TASK_DEF",
            Self::EcsService => "ECS_SERVICE",
            Self::ScalableTarget => "SCALABLE_TARGET",
            Self::DatabaseArchive => "DB_ARCHIVE",
            Self::FilesArchive => "EFS_ARCHIVE",
        }
    }

    /// The provisioning step that creates it.
    pub const fn step(self) -> StepName {
        match self {
            Self::CognitoPool
            | Self::CognitoDomain
            | Self::CognitoClient
            | Self::CognitoGroups
            | Self::CognitoSecret => StepName::Cognito,
            Self::DbSecret => StepName::DbSecret,
            Self::Database => StepName::Database,
            Self::EfsAccessPoint => StepName::EfsAccessPoint,
            Self::TargetGroup | Self::AlbPriority | Self::ListenerRule => StepName::LoadBalancer,
            Self::TaskDefinition => StepName::TaskDefinition,
            Self::EcsService => StepName::Service,
            Self::ScalableTarget => StepName::Autoscaling,
            Self::DatabaseArchive => StepName::ArchiveDatabase,
            Self::FilesArchive => StepName::ArchiveFiles,
        }
    }

    /// Archives outlive the instance (90-day retention): nothing deletes them.
    pub const fn is_archive(self) -> bool {
        matches!(self, Self::DatabaseArchive | Self::FilesArchive)
    }

    /// What the tagging API calls the object (`{service}:{resource type}`), for the objects that
    /// carry the unified tags; `None` for what cannot be tagged (Cognito domains, clients and
    /// groups, the MySQL database, the listener priority reservation) and for archives (S3
    /// objects, which the tagging API does not list).
    pub const fn tagged_kind(self) -> Option<&'static str> {
        match self {
            Self::CognitoPool => Some("cognito-idp:userpool"),
            Self::CognitoSecret | Self::DbSecret => Some("secretsmanager:secret"),
            Self::EfsAccessPoint => Some("elasticfilesystem:access-point"),
            Self::TargetGroup => Some("elasticloadbalancing:targetgroup"),
            Self::ListenerRule => Some("elasticloadbalancing:listener-rule"),
            Self::TaskDefinition => Some("ecs:task-definition"),
            Self::EcsService => Some("ecs:service"),
            Self::ScalableTarget => Some("application-autoscaling:scalable-target"),
            Self::CognitoDomain
            | Self::CognitoClient
            | Self::CognitoGroups
            | Self::Database
            | Self::AlbPriority
            | Self::DatabaseArchive
            | Self::FilesArchive => None,
        }
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ResourceType {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| Error::field("resourceType", format!("Unknown resource type {s}")))
    }
}

/// Where an entry stands (§2.2 `creating|active|deleting|deleted|failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LedgerStatus {
    /// Written before the create call: the object may or may not exist.
    Intent,
    /// The create call returned: the object exists with the recorded id.
    Created,
    /// A delete is under way.
    Deleting,
    /// Gone (deleted, or found never to have existed).
    Deleted,
    /// A create or delete failed for good: the object may exist and needs attention.
    Failed,
}

impl LedgerStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Intent => "creating",
            Self::Created => "active",
            Self::Deleting => "deleting",
            Self::Deleted => "deleted",
            Self::Failed => "failed",
        }
    }

    /// Whether the object may still exist in the cloud.
    pub const fn may_exist(self) -> bool {
        !matches!(self, Self::Deleted)
    }
}

impl fmt::Display for LedgerStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LedgerStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [
            Self::Intent,
            Self::Created,
            Self::Deleting,
            Self::Deleted,
            Self::Failed,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
        .ok_or_else(|| Error::field("status", format!("Unknown ledger status {s}")))
    }
}

/// One cloud object of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEntry {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub resource_type: ResourceType,
    /// The deterministic name (§4.2), known before the object exists.
    pub name: String,
    /// What the delete call needs: pool id, secret ARN, access point id, TG/rule ARN, ...
    pub id: Option<String>,
    pub arn: Option<String>,
    pub status: LedgerStatus,
    /// Creation order within the instance; rollback and deprovisioning go in reverse.
    pub seq: u32,
    /// The last failure on this object, if any.
    pub error: Option<String>,
    pub updated_at: Timestamp,
}

/// The ledger's created object of that type, if it has one.
pub fn created(ledger: &[LedgerEntry], rt: ResourceType) -> Option<&LedgerEntry> {
    ledger
        .iter()
        .find(|e| e.resource_type == rt && e.status == LedgerStatus::Created)
}

impl LedgerEntry {
    pub fn step(&self) -> StepName {
        self.resource_type.step()
    }

    /// `TYPE name (id)` for messages and `details.resources`.
    pub fn label(&self) -> String {
        match &self.id {
            Some(id) => format!("{} {} ({id})", self.resource_type, self.name),
            None => format!("{} {}", self.resource_type, self.name),
        }
    }
}
