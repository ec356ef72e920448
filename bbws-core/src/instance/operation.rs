//! Operations (digest 2.7 §2.3): the trackable record of long work (`GET /operations/{id}`),
//! with its steps, progress, estimated completion and failure reason.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::error::{Error, ErrorCode, Result};
use crate::ids::{BackupId, InstanceId, OperationId, TenantId};
use crate::time::Timestamp;

macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$(Self::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $wire),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| Error::field($field, format!("Unknown {} {s}", $field)))
            }
        }
    };
}

wire_enum!(
    /// What an operation does (§2.3 YAML enum + REC additions).
    OperationType, "type" {
        Provision => "PROVISION",
        Deprovision => "DEPROVISION",
        Suspend => "SUSPEND",
        Resume => "RESUME",
        Scale => "SCALE",
        Update => "UPDATE",
        ConfigureIdentity => "CONFIGURE_IDENTITY",
        Park => "PARK",
        Unpark => "UNPARK",
        Backup => "BACKUP",
        Restore => "RESTORE",
        Restart => "RESTART",
    }
);

wire_enum!(
    /// Where an operation stands.
    OperationStatus, "status" {
        Pending => "PENDING",
        InProgress => "IN_PROGRESS",
        Completed => "COMPLETED",
        Failed => "FAILED",
        RolledBack => "ROLLED_BACK",
    }
);

wire_enum!(
    /// Where one step stands.
    StepStatus, "status" {
        Pending => "PENDING",
        Running => "RUNNING",
        Done => "DONE",
        Failed => "FAILED",
        RolledBack => "ROLLED_BACK",
        Skipped => "SKIPPED",
    }
);

wire_enum!(
    /// The steps of provisioning (§4.4) and deprovisioning (§5.2), named as in LLD §4.1.
    StepName, "step" {
        Cognito => "create-cognito-pool",
        DbSecret => "store-db-credentials",
        Database => "create-rds-database",
        EfsAccessPoint => "create-efs-access-point",
        LoadBalancer => "create-alb-target-group",
        TaskDefinition => "register-task-definition",
        Service => "create-ecs-service",
        Autoscaling => "configure-autoscaling",
        HealthWait => "wait-for-health",
        Finalise => "finalise",
        ArchiveDatabase => "archive-database",
        ArchiveFiles => "archive-efs",
        DeleteResources => "delete-resources",
        FinaliseDeprovision => "finalise-deprovision",
        PauseAutoscaling => "suspend-autoscaling",
        UpdateDesiredCount => "update-service",
        WaitDrained => "wait-for-drain",
        ResumeAutoscaling => "resume-autoscaling",
        ForceDeployment => "force-new-deployment",
        BackupDatabase => "backup-database",
        BackupFiles => "backup-efs",
        StopService => "stop-service",
        RestoreDatabase => "restore-database",
        RestoreFiles => "restore-efs",
        StartService => "start-service",
        ConfigurePasswordPolicy => "configure-password-policy",
        ConfigureMfa => "configure-mfa",
        RegisterRevision => "register-task-definition-revision",
        DeployRevision => "deploy-task-definition-revision",
        WaitDeployment => "wait-for-deployment",
    }
);

wire_enum!(
    /// Whether a provisioning is still going forward or rolling back (so a resumed run after a
    /// crash mid-rollback keeps rolling back instead of creating again).
    Phase, "phase" {
        Forward => "FORWARD",
        RollingBack => "ROLLING_BACK",
    }
);

impl OperationStatus {
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::RolledBack)
    }
}

impl StepName {
    /// The provisioning steps, in display order.
    pub const PROVISION: [StepName; 10] = [
        Self::Cognito,
        Self::DbSecret,
        Self::Database,
        Self::EfsAccessPoint,
        Self::LoadBalancer,
        Self::TaskDefinition,
        Self::Service,
        Self::Autoscaling,
        Self::HealthWait,
        Self::Finalise,
    ];

    /// The deprovisioning steps, in order: archives first, then deletes.
    pub const DEPROVISION: [StepName; 4] = [
        Self::ArchiveDatabase,
        Self::ArchiveFiles,
        Self::DeleteResources,
        Self::FinaliseDeprovision,
    ];

    /// Suspend and park (§6): autoscaling paused, the service to 0 tasks, drained.
    pub const STOP: [StepName; 3] = [
        Self::PauseAutoscaling,
        Self::UpdateDesiredCount,
        Self::WaitDrained,
    ];

    /// Resume and unpark: the stored desired count back, healthy, autoscaling resumed.
    pub const START: [StepName; 3] = [
        Self::UpdateDesiredCount,
        Self::HealthWait,
        Self::ResumeAutoscaling,
    ];

    /// Scale: the new count (autoscaling bounds kept around it), healthy.
    pub const SCALE: [StepName; 2] = [Self::UpdateDesiredCount, Self::HealthWait];

    /// Restart: a new deployment of the same task definition, healthy.
    pub const RESTART: [StepName; 2] = [Self::ForceDeployment, Self::HealthWait];

    /// Backup: the database dump, then the files, both to S3.
    pub const BACKUP: [StepName; 2] = [Self::BackupDatabase, Self::BackupFiles];

    /// Restore: stopped like a suspend, a `pre-restore` backup of what is there, the chosen
    /// backup replayed (database, then files), started like a resume.
    pub const RESTORE: [StepName; 10] = [
        Self::PauseAutoscaling,
        Self::StopService,
        Self::WaitDrained,
        Self::BackupDatabase,
        Self::BackupFiles,
        Self::RestoreDatabase,
        Self::RestoreFiles,
        Self::StartService,
        Self::HealthWait,
        Self::ResumeAutoscaling,
    ];

    /// Configure identity (C19): the password policy, then MFA (an operation holds only the
    /// steps of the parts it changes, [`super::IdentityChange::steps`]).
    pub const IDENTITY: [StepName; 2] = [Self::ConfigurePasswordPolicy, Self::ConfigureMfa];

    /// Update: a new task definition revision (new image or size), rolled out by the service
    /// (minimum healthy 100 %, circuit breaker with rollback), and the wait until it runs healthy.
    pub const UPDATE: [StepName; 3] = [
        Self::RegisterRevision,
        Self::DeployRevision,
        Self::WaitDeployment,
    ];

    /// The steps of an operation type, in order.
    pub const fn for_type(t: OperationType) -> &'static [StepName] {
        match t {
            OperationType::ConfigureIdentity => &Self::IDENTITY,
            OperationType::Deprovision => &Self::DEPROVISION,
            OperationType::Suspend | OperationType::Park => &Self::STOP,
            OperationType::Resume | OperationType::Unpark => &Self::START,
            OperationType::Scale => &Self::SCALE,
            OperationType::Restart => &Self::RESTART,
            OperationType::Backup => &Self::BACKUP,
            OperationType::Restore => &Self::RESTORE,
            OperationType::Update => &Self::UPDATE,
            OperationType::Provision => &Self::PROVISION,
        }
    }

    /// The steps this one waits for (§4.4 dependency graph:
    /// `{A1, A2, A3, A4}` → B (A2, A3) → C (A4, B) → C2 → D → F (A1, D)).
    pub const fn depends_on(self) -> &'static [StepName] {
        match self {
            Self::Database => &[Self::DbSecret],
            Self::TaskDefinition => &[Self::Database, Self::EfsAccessPoint],
            Self::Service => &[Self::LoadBalancer, Self::TaskDefinition],
            Self::Autoscaling => &[Self::Service],
            Self::HealthWait => &[Self::Autoscaling],
            Self::Finalise => &[Self::HealthWait, Self::Cognito],
            Self::ArchiveFiles => &[Self::ArchiveDatabase],
            Self::DeleteResources => &[Self::ArchiveFiles],
            Self::FinaliseDeprovision => &[Self::DeleteResources],
            _ => &[],
        }
    }

    /// The typical duration, for progress and the estimated completion time (LLD §3.1, CON §6.1).
    pub const fn expected(self) -> Duration {
        Duration::from_secs(match self {
            Self::Cognito => 30,
            Self::DbSecret
            | Self::TaskDefinition
            | Self::Finalise
            | Self::FinaliseDeprovision
            | Self::PauseAutoscaling
            | Self::ResumeAutoscaling
            | Self::ForceDeployment
            | Self::RegisterRevision => 2,
            Self::EfsAccessPoint | Self::LoadBalancer | Self::Autoscaling => 10,
            Self::Database | Self::Service | Self::WaitDrained => 60,
            Self::HealthWait | Self::RestoreDatabase | Self::RestoreFiles => 180,
            Self::ArchiveDatabase
            | Self::ArchiveFiles
            | Self::BackupDatabase
            | Self::BackupFiles => 120,
            Self::DeleteResources => 90,
            Self::UpdateDesiredCount
            | Self::StopService
            | Self::StartService
            | Self::ConfigurePasswordPolicy
            | Self::ConfigureMfa
            | Self::DeployRevision => 5,
            Self::WaitDeployment => 300,
        })
    }

    /// The operational code of a failure in this step (LLD §15.1).
    pub const fn failure_code(self) -> ErrorCode {
        match self {
            Self::Cognito | Self::ConfigurePasswordPolicy | Self::ConfigureMfa => {
                ErrorCode::ProvCognito
            }
            Self::DbSecret | Self::Database | Self::RestoreDatabase => ErrorCode::ProvDatabase,
            Self::EfsAccessPoint | Self::RestoreFiles => ErrorCode::ProvEfs,
            Self::LoadBalancer => ErrorCode::ProvAlb,
            Self::ArchiveDatabase
            | Self::ArchiveFiles
            | Self::BackupDatabase
            | Self::BackupFiles => ErrorCode::ArchiveFailed,
            Self::DeleteResources => ErrorCode::ProvRollbackFailed,
            Self::TaskDefinition
            | Self::Service
            | Self::Autoscaling
            | Self::HealthWait
            | Self::Finalise
            | Self::FinaliseDeprovision
            | Self::PauseAutoscaling
            | Self::UpdateDesiredCount
            | Self::WaitDrained
            | Self::ResumeAutoscaling
            | Self::ForceDeployment
            | Self::StopService
            | Self::StartService
            | Self::RegisterRevision
            | Self::DeployRevision
            | Self::WaitDeployment => ErrorCode::ProvEcs,
        }
    }
}

/// A failure as an operation or instance records it (`lastError`, `Operation.error`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureReason {
    pub code: ErrorCode,
    pub message: String,
    /// What is left behind (PROV-006) or what failed.
    pub resources: Vec<String>,
}

impl FailureReason {
    pub fn into_error(self) -> Error {
        Error::Provisioning {
            code: self.code,
            message: self.message,
            resources: self.resources,
        }
    }
}

/// One step of an operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationStep {
    pub name: StepName,
    pub status: StepStatus,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub attempts: u32,
    /// The main id or ARN the step produced.
    pub resource_id: Option<String>,
    pub error: Option<String>,
}

impl OperationStep {
    pub fn pending(name: StepName) -> Self {
        Self {
            name,
            status: StepStatus::Pending,
            started_at: None,
            completed_at: None,
            attempts: 0,
            resource_id: None,
            error: None,
        }
    }
}

/// Deprovisioning options (C5 `archiveData`, `reason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprovisionOptions {
    pub archive_data: bool,
    pub reason: Option<String>,
}

/// Who is running an operation, and until when the claim holds unless renewed. A runner
/// (a worker invocation, `bbws serve`, the CLI) renews it with every write of the operation; a
/// second runner is refused while it holds, so the same operation never runs twice at once even
/// when its queue message is delivered twice. A runner that dies simply stops renewing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

/// A long-running operation on an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operation {
    pub id: OperationId,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub op_type: OperationType,
    pub status: OperationStatus,
    pub phase: Phase,
    pub steps: Vec<OperationStep>,
    /// 0–100.
    pub progress: u8,
    pub current_step: Option<StepName>,
    pub message: String,
    pub error: Option<FailureReason>,
    pub estimated_completion_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub requested_by: String,
    pub correlation_id: String,
    pub deprovision: Option<DeprovisionOptions>,
    /// Scale: the desired count asked for.
    pub target_count: Option<u32>,
    /// Suspend and park: why (for the audit trail and the instance).
    pub reason: Option<String>,
    /// Backup: the backup it takes; restore: the backup it replays.
    pub backup_id: Option<BackupId>,
    /// Restore: the `pre-restore` backup it takes of the data it replaces.
    pub safety_backup_id: Option<BackupId>,
    /// Configure identity: the change to apply.
    pub identity: Option<super::identity::IdentityChange>,
    /// Update: the change asked for.
    pub update: Option<super::update::InstanceUpdate>,
    /// The runner holding the operation; `None` when nobody runs it (not started, finished, or
    /// released when a worker's time budget ran out).
    pub lease: Option<Lease>,
    pub version: u64,
}

impl Operation {
    /// A new PENDING operation with every step PENDING.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: OperationId,
        tenant_id: TenantId,
        instance_id: InstanceId,
        op_type: OperationType,
        steps: &[StepName],
        requested_by: &str,
        correlation_id: String,
        now: Timestamp,
    ) -> Self {
        let mut op = Self {
            id,
            tenant_id,
            instance_id,
            op_type,
            status: OperationStatus::Pending,
            phase: Phase::Forward,
            steps: steps.iter().copied().map(OperationStep::pending).collect(),
            progress: 0,
            current_step: None,
            message: "Accepted".to_owned(),
            error: None,
            estimated_completion_at: None,
            created_at: now,
            updated_at: now,
            completed_at: None,
            requested_by: requested_by.to_owned(),
            correlation_id,
            deprovision: None,
            target_count: None,
            reason: None,
            backup_id: None,
            safety_backup_id: None,
            identity: None,
            update: None,
            lease: None,
            version: 1,
        };
        op.recompute(now);
        op
    }

    /// The lease of a runner other than `runner` that still holds at `now`.
    pub fn held_by_other(&self, runner: &str, now: Timestamp) -> Option<&Lease> {
        self.lease
            .as_ref()
            .filter(|l| l.owner != runner && l.until > now)
    }

    pub fn step(&self, name: StepName) -> Option<&OperationStep> {
        self.steps.iter().find(|s| s.name == name)
    }

    pub fn step_mut(&mut self, name: StepName) -> Option<&mut OperationStep> {
        self.steps.iter_mut().find(|s| s.name == name)
    }

    pub fn step_done(&self, name: StepName) -> bool {
        self.step(name)
            .is_some_and(|s| matches!(s.status, StepStatus::Done | StepStatus::Skipped))
    }

    /// Recomputes progress (the share of expected work done) and the estimated completion
    /// (now + the expected duration of what is left).
    pub fn recompute(&mut self, now: Timestamp) {
        let total: Duration = self.steps.iter().map(|s| s.name.expected()).sum();
        let done: Duration = self
            .steps
            .iter()
            .filter(|s| matches!(s.status, StepStatus::Done | StepStatus::Skipped))
            .map(|s| s.name.expected())
            .sum();
        let pct = if total.is_zero() {
            100
        } else {
            (done.as_millis() * 100 / total.as_millis()).min(100)
        };
        self.progress = u8::try_from(pct).unwrap_or(100);
        self.estimated_completion_at = if self.status.is_terminal() {
            None
        } else {
            Some(now.plus(total.saturating_sub(done)))
        };
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op() -> Operation {
        let t: Timestamp = "2026-01-05T12:00:00.000Z".parse().expect("valid time");
        Operation::new(
            OperationId::from_uuid(uuid::Uuid::nil()),
            TenantId::from_uuid(uuid::Uuid::nil()),
            InstanceId::from_uuid(uuid::Uuid::nil()),
            OperationType::Provision,
            &StepName::PROVISION,
            "ops@bbws.io",
            "corr".to_owned(),
            t,
        )
    }

    #[test]
    fn progress_is_the_share_of_expected_work_done_and_the_eta_what_is_left() {
        let mut o = op();
        let now = o.created_at;
        let total: Duration = StepName::PROVISION.iter().map(|s| s.expected()).sum();
        assert_eq!(o.progress, 0);
        assert_eq!(o.estimated_completion_at, Some(now.plus(total)));

        for s in [StepName::Cognito, StepName::DbSecret, StepName::Database] {
            o.step_mut(s).expect("step").status = StepStatus::Done;
        }
        o.recompute(now);
        let done = Duration::from_secs(30 + 2 + 60);
        let expected = u8::try_from(done.as_millis() * 100 / total.as_millis()).expect("pct");
        assert_eq!(o.progress, expected);
        assert_eq!(
            o.estimated_completion_at,
            Some(now.plus(total.saturating_sub(done)))
        );

        for s in &mut o.steps {
            s.status = StepStatus::Done;
        }
        o.status = OperationStatus::Completed;
        o.recompute(now);
        assert_eq!(o.progress, 100);
        assert_eq!(o.estimated_completion_at, None);
    }

    #[test]
    fn the_graph_runs_group_a_first_and_finalises_last() {
        for s in [
            StepName::Cognito,
            StepName::DbSecret,
            StepName::EfsAccessPoint,
            StepName::LoadBalancer,
        ] {
            assert!(s.depends_on().is_empty(), "{s} is in the parallel group");
        }
        assert!(
            StepName::Service
                .depends_on()
                .contains(&StepName::LoadBalancer)
        );
        assert!(
            StepName::TaskDefinition
                .depends_on()
                .contains(&StepName::Database)
        );
        assert!(StepName::Finalise.depends_on().contains(&StepName::Cognito));
        // Every dependency is an earlier step: the graph has no cycle.
        for (i, s) in StepName::PROVISION.iter().enumerate() {
            for d in s.depends_on() {
                let j = StepName::PROVISION
                    .iter()
                    .position(|x| x == d)
                    .expect("known step");
                assert!(j < i, "{s} depends on the later {d}");
            }
        }
    }
}
