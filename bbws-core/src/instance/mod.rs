//! WordPress instances (LLD 2.7): one per tenant at a time, provisioned on ECS/EFS/RDS/Cognito/ALB.
//!
//! - [`Instance`] with its state machine ([`InstanceState`], §7) and values ([`ResourceKey`],
//!   [`SizeTier`], [`TaskSize`], [`DesiredCount`]);
//! - the resource ledger ([`LedgerEntry`], §2.2) and [`Operation`]s (§2.3);
//! - the ports ([`ports`]): one trait per AWS area, and the persistence write units;
//! - [`ProvisioningEngine`]: the step graph with retries, timeouts, ledger-driven rollback and
//!   resume, and forward-only deprovisioning;
//! - [`PlanRecorder`]: the cloud that only records the calls a run would make;
//! - [`InstanceService`]: accepting work (202 + operation) and reading state.

mod engine;
mod ledger;
mod model;
mod naming;
mod operation;
mod plan;
pub mod ports;
pub mod records;
mod service;
mod state;
mod values;

pub use engine::{ENGINE_ACTOR, INSTANCE_SOURCE, ProvisioningEngine, Timer, TokioTimer};
pub use ledger::{LedgerEntry, LedgerStatus, ResourceType};
pub use model::{Instance, NewInstance};
pub use naming::{Component, Names, PlatformConfig, RetryPolicy, tags};
pub use operation::{
    DeprovisionOptions, FailureReason, Operation, OperationStatus, OperationStep, OperationType,
    Phase, StepName, StepStatus,
};
pub use plan::{Plan, PlanRecorder, PlannedCall, plan_deprovisioning, plan_provisioning};
pub use ports::{
    CloudError, CloudErrorKind, CloudMode, CloudResource, CloudResult, InstanceBackend,
    InstanceCloud, InstanceDao, InstanceGuard, InstanceIdempotency, InstanceWrite, LedgerDao,
    OperationDao, OperationWrite, WriteExpect,
};
pub use service::{Accepted, InstancePorts, InstanceService};
pub use state::InstanceState;
pub use values::{DesiredCount, OpportunityId, ResourceKey, SizeTier, TaskSize};
