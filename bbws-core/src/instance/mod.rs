//! WordPress instances (LLD 2.7): one per tenant at a time, provisioned on ECS/EFS/RDS/Cognito/ALB.
//!
//! - [`Instance`] with its state machine ([`InstanceState`], §7) and values ([`ResourceKey`],
//!   [`SizeTier`], [`TaskSize`], [`DesiredCount`]);
//! - the resource ledger ([`LedgerEntry`], §2.2) and [`Operation`]s (§2.3);
//! - the ports ([`ports`]): one trait per AWS area, and the persistence write units;
//! - [`ProvisioningEngine`]: the step graph with retries, timeouts, ledger-driven rollback and
//!   resume, and forward-only deprovisioning;
//! - [`PlanRecorder`]: the cloud that only records the calls a run would make;
//! - [`InstanceService`]: accepting work (202 + operation) and reading state, including the
//!   live status and composite health ([`InstanceStatus`], [`InstanceHealth`]), the containers'
//!   logs ([`LogPage`], C15) and the Cognito pool's configuration ([`IdentityConfig`], C18),
//!   changed by a `CONFIGURE_IDENTITY` operation ([`IdentityChange`], C19);
//! - [`ecs_events`]: ECS service events read and mapped to instance states with the guards of
//!   §8.3 (the event handler's decision); [`EcsEventHandler`] applies them to instances;
//! - [`TenantEvent`]s (parked, unparked, deprovisioned) followed by the tenant's instance
//!   ([`InstanceService::follow_tenant_event`], [`TenantEventRouting`] in one process);
//! - [`terraform`]: the tenant's Terraform for the `GitOps` variant (C21);
//! - [`InstanceWorker`]: running queued operations within a time budget, continuing through the
//!   [`OperationQueue`]; [`OperationDispatch`] queues each accepted operation from the outbox;
//! - [`InstanceUpdate`]: a rolling update (C4) to a new image, WordPress version or tier, run
//!   by the engine as a new task definition revision the service rolls out;
//! - [`InstanceAudit`]: the orphan and drift audit (§5.3) of the tagged cloud objects, the tenant
//!   databases and the ledgers of one environment.

mod audit;
pub mod backup;
mod backups;
pub mod ecs_events;
mod ecs_sync;
mod engine;
mod identity;
mod ledger;
mod live;
mod logs;
mod model;
mod naming;
mod operation;
mod plan;
pub mod ports;
pub mod records;
mod service;
mod state;
mod tenant_events;
pub mod terraform;
mod update;
mod values;
mod worker;

pub use audit::{
    AuditPorts, AuditReport, Drift, InProgress, InstanceAudit, Orphan, OrphanReason,
    PendingDeletion, UntrackedDatabase,
};
pub use ecs_sync::{ECS_HANDLER_ACTOR, EcsEventHandler, ServiceTags, SyncOutcome};
pub use engine::{
    DEFAULT_LEASE_TTL, ENGINE_ACTOR, INSTANCE_SOURCE, ProvisioningEngine, Timer, TokioTimer,
};
pub use identity::{
    IdentityChange, IdentityConfig, PASSWORD_LENGTH, PasswordPolicyChange, UserPoolSettings,
};
pub use ledger::{LedgerEntry, LedgerStatus, ResourceType};
pub use live::{
    Component as HealthComponent, ComponentHealth, ComponentStatus, HealthStatus, InstanceHealth,
    InstanceStatus, ServiceView,
};
pub use logs::{DEFAULT_LOG_WINDOW, LogEntry, LogLimit, LogPage, LogQuery, WORDPRESS_CONTAINER};
pub use model::{EcsEventMark, Instance, NewInstance};
pub use naming::{
    Component, Names, PlatformConfig, RetryPolicy, TAG_ENVIRONMENT, TAG_TENANT, tags,
};
pub use operation::{
    DeprovisionOptions, FailureReason, Lease, Operation, OperationStatus, OperationStep,
    OperationType, Phase, StepName, StepStatus,
};
pub use plan::{
    Plan, PlanRecorder, PlannedCall, plan_deprovisioning, plan_provisioning, plan_update,
};
pub use ports::{
    CloudError, CloudErrorKind, CloudMode, CloudResource, CloudResult, InstanceBackend,
    InstanceCloud, InstanceDao, InstanceGuard, InstanceIdempotency, InstanceWrite, LedgerDao,
    MfaConfiguration, OperationDao, OperationWrite, PasswordPolicy, SECRET_RECOVERY_WINDOW_DAYS,
    TaggedInventory, TaggedResource, WriteExpect,
};
pub use service::{Accepted, InstancePorts, InstanceService, LifecycleRequest};
pub use state::InstanceState;
pub use tenant_events::{
    Reaction, TENANT_EVENTS_ACTOR, TenantEvent, TenantEventKind, TenantEventRouting,
};
pub use terraform::TerraformFiles;
pub use update::{ContainerImage, InstanceUpdate, UpdateTarget, WordPressVersion};
pub use values::{DesiredCount, OpportunityId, ResourceKey, SizeTier, TaskSize};
pub use worker::{
    DEPROVISIONING_REQUESTED, InstanceWorker, LIFECYCLE_REQUESTED, OperationDispatch,
    OperationMessage, OperationQueue, PROVISIONING_REQUESTED, Queue, QueueKind, WorkOutcome,
};
