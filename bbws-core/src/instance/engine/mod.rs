//! The provisioning engine (digest 2.7 §4.4–§4.7, §5.1, §5.2).
//!
//! Provisioning is a dependency graph of idempotent steps (`{Cognito, DB secret → database, EFS
//! access point, target group + listener rule}` in parallel → task definition → service →
//! autoscaling → health wait → finalise). Each cloud object is recorded in the resource ledger
//! *before* its create call (intent) and *after* it (result); each call has a timeout and is
//! retried with exponential backoff when the failure is transient.
//!
//! On failure, the engine rolls back from the ledger in reverse creation order, logging and
//! continuing past failed deletes; if any delete fails the instance ends FAILED with `PROV-006`
//! and the ledger names what is left. A run that died (process killed, future dropped) is
//! resumed by running the same operation again: steps whose objects are in the ledger are
//! skipped, an object whose create call may have happened (intent written, no result) is looked
//! up before it is created, and a rollback in progress continues as a rollback.
//!
//! Deprovisioning is forward-only and resumable: archives first (database dump and wp-content to
//! S3), then every ledger object is deleted in reverse creation order; a failure stops with the
//! instance FAILED and a new deprovisioning resumes at the first object not yet deleted.

mod backup;
mod identity;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

use crate::audit::AuditEvent;
use crate::auth::Actor;
use crate::error::{Error, ErrorCode, Result};
use crate::events::OutboxMessage;
use crate::idempotency::request_fingerprint;
use crate::ids::{EventId, IdGenerator, OperationId};
use crate::tenant::{TenantService, TenantStatus};
use crate::time::{Clock, Timestamp};

use super::backup::BackupWrite;
use super::ledger::{LedgerEntry, LedgerStatus, ResourceType};
use super::model::Instance;
use super::naming::{Component, Names, PlatformConfig, tags};
use super::operation::{
    FailureReason, Lease, Operation, OperationStatus, OperationType, Phase, StepName, StepStatus,
};
use super::ports::{
    AccessPointSpec, AppClientSpec, ArchiveSpec, AutoscalingSpec, CloudError, CloudErrorKind,
    CloudMode, CloudResource, CloudResult, DatabaseSpec, DomainSpec, GroupSpec, Health,
    HealthTarget, InstanceBackend, InstanceCloud, InstanceGuard, InstanceWrite, ListenerRuleSpec,
    MfaConfiguration, OperationWrite, PasswordPolicy, ScalingBounds, SecretSpec, SecretValue,
    ServiceSpec, TargetGroupSpec, TaskDefinitionSpec, UserPoolSpec, WriteExpect,
};
use super::state::InstanceState;
use super::values::DesiredCount;

mod update;

/// The EventBridge `source` of instance events.
pub const INSTANCE_SOURCE: &str = "bbws.instance-management";

/// The actor name the engine writes into stamps and audit events.
pub const ENGINE_ACTOR: &str = "system:instance-engine";

/// Waiting, as a port: production sleeps on tokio's timer; tests run it on tokio's paused clock
/// (or on a recording timer), so nothing really waits.
#[async_trait]
pub trait Timer: Send + Sync + fmt::Debug {
    async fn sleep(&self, d: Duration);
}

/// `tokio::time::sleep`.
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, d: Duration) {
        tokio::time::sleep(d).await;
    }
}

/// Why a step failed.
#[derive(Debug, Clone)]
struct StepFailure {
    step: StepName,
    resource: Option<ResourceType>,
    error: CloudError,
}

impl StepFailure {
    fn reason(&self) -> FailureReason {
        let what = self
            .resource
            .map_or_else(|| self.step.as_str().to_owned(), |r| r.as_str().to_owned());
        FailureReason {
            code: self.step.failure_code(),
            message: format!("{} failed on {what}: {}", self.step, self.error),
            resources: self
                .resource
                .map(|r| vec![r.as_str().to_owned()])
                .unwrap_or_default(),
        }
    }
}

/// The engine. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ProvisioningEngine {
    store: Arc<dyn InstanceBackend>,
    cloud: InstanceCloud,
    config: PlatformConfig,
    clock: Arc<dyn Clock>,
    timer: Arc<dyn Timer>,
    ids: Arc<dyn IdGenerator>,
    /// This runner's name in operation leases.
    runner: String,
    /// How long a lease holds after the runner's last write of the operation.
    lease_ttl: Duration,
    /// The tenant service the end of a provisioning is reported to (tenant PENDING → ACTIVE,
    /// or FAILED), when set.
    tenants: Option<TenantService>,
}

/// How long a runner's claim on an operation holds after its last write of it, by default:
/// long enough for the slowest single call (the health wait polls within it), short enough
/// that a runner that died lets the next delivery of the message continue soon.
pub const DEFAULT_LEASE_TTL: Duration = Duration::from_mins(5);

type StepFuture<'a> =
    Pin<Box<dyn Future<Output = (StepName, std::result::Result<(), StepFailure>)> + Send + 'a>>;

/// Polls every in-flight step; returns the first to finish. `inflight` must not be empty.
async fn next_finished(
    inflight: &mut Vec<StepFuture<'_>>,
) -> (StepName, std::result::Result<(), StepFailure>) {
    std::future::poll_fn(|cx| {
        for i in 0..inflight.len() {
            if let Poll::Ready(out) = inflight[i].as_mut().poll(cx) {
                drop(inflight.swap_remove(i));
                return Poll::Ready(out);
            }
        }
        Poll::Pending
    })
    .await
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl ProvisioningEngine {
    pub fn new(
        store: Arc<dyn InstanceBackend>,
        cloud: InstanceCloud,
        config: PlatformConfig,
        clock: Arc<dyn Clock>,
        timer: Arc<dyn Timer>,
        ids: Arc<dyn IdGenerator>,
    ) -> Self {
        let runner = format!("runner-{}", ids.uuid());
        Self {
            store,
            cloud,
            config,
            clock,
            timer,
            ids,
            runner,
            lease_ttl: DEFAULT_LEASE_TTL,
            tenants: None,
        }
    }

    /// Reports the end of every provisioning this engine runs (or finds already ended) to the
    /// tenant service: a COMPLETED one moves a PENDING (or FAILED) tenant to ACTIVE, a failed or
    /// rolled-back one moves a PENDING tenant to FAILED (digest 2.7 §7.2, 2.5 C-status).
    /// Repeating it changes nothing, so a redelivered message heals a report that was lost.
    #[must_use]
    pub fn with_tenant_sync(mut self, tenants: TenantService) -> Self {
        self.tenants = Some(tenants);
        self
    }

    /// Names this runner in the leases it takes (default `runner-{uuid}`): a worker names
    /// itself after its invocation, so the operation shows who runs it.
    #[must_use]
    pub fn with_runner(mut self, runner: impl Into<String>) -> Self {
        self.runner = runner.into();
        self
    }

    /// How long a lease holds after this runner's last write ([`DEFAULT_LEASE_TTL`]).
    #[must_use]
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.lease_ttl = ttl;
        self
    }

    pub fn runner(&self) -> &str {
        &self.runner
    }

    /// Gives up this runner's lease on `operation` (when its time budget ran out), so the
    /// next runner need not wait for it to lapse. Does nothing when the operation is finished or
    /// held by someone else. A failed release is harmless: the lease lapses on its own.
    pub async fn release(&self, operation: &OperationId) -> Result<()> {
        let Some(op) = self.store.get_operation(operation).await? else {
            return Ok(());
        };
        if op.status.is_terminal() || op.lease.as_ref().is_none_or(|l| l.owner != self.runner) {
            return Ok(());
        }
        let mut next = op.clone();
        next.lease = None;
        next.version = op.version + 1;
        next.updated_at = self.clock.now();
        self.store
            .write_operation(OperationWrite {
                operation: next,
                expect: WriteExpect::Version(op.version),
            })
            .await
    }

    /// The lease this runner writes with an operation at `now`: renewed while the operation
    /// runs, dropped when it ends.
    fn lease_for(&self, op: &Operation, now: Timestamp) -> Option<Lease> {
        (!op.status.is_terminal()).then(|| Lease {
            owner: self.runner.clone(),
            until: now.plus(self.lease_ttl),
        })
    }

    pub fn config(&self) -> &PlatformConfig {
        &self.config
    }

    pub fn cloud(&self) -> &InstanceCloud {
        &self.cloud
    }

    /// Runs (or resumes) an operation to its end and returns it as it ended. The operation's
    /// outcome (`COMPLETED`, `ROLLED_BACK`, `FAILED`) is in the returned value; `Err` means the run
    /// itself could not go on (storage failure, another worker owns the operation, the cloud only
    /// records plans) and the operation can be run again later.
    pub async fn run(&self, operation: &OperationId) -> Result<Operation> {
        if self.cloud.mode == CloudMode::Plan {
            // A finished operation is answered as it ended, whatever the cloud; anything else
            // (not finished, not found, unreadable) cannot run here.
            if let Ok(Some(op)) = self.store.get_operation(operation).await
                && op.status.is_terminal()
            {
                return Ok(op);
            }
            return Err(Error::business(
                ErrorCode::CloudUnavailable,
                format!(
                    "The configured cloud creates nothing ({}); configure a live cloud to run operations",
                    self.cloud.describe()
                ),
            ));
        }
        self.run_any(operation).await
    }

    /// Runs the operation where it was accepted (`bbws serve`, the CLI). On a cloud that only
    /// records plans the operation cannot run anywhere, so instead of leaving it PENDING it ends
    /// FAILED with `CLOUD_UNAVAILABLE` (the instance FAILED too, so it can be deprovisioned or
    /// retried on a live cloud) and the refusal is returned as the error.
    pub async fn run_or_refuse(&self, operation: &OperationId) -> Result<Operation> {
        match self.run(operation).await {
            Err(Error::Business { code, message, .. }) if code == ErrorCode::CloudUnavailable => {
                self.refuse(operation, &message).await?;
                Err(Error::business(code, message))
            }
            other => other,
        }
    }

    /// Ends a not yet terminal operation FAILED with `CLOUD_UNAVAILABLE`, nothing created.
    async fn refuse(&self, operation: &OperationId, message: &str) -> Result<()> {
        let Some(op) = self.store.get_operation(operation).await? else {
            return Ok(());
        };
        if op.status.is_terminal() {
            return Ok(());
        }
        if op.op_type == OperationType::ConfigureIdentity {
            return self.refuse_identity(&op, message).await;
        }
        let Some(current) = self
            .store
            .get_instance(&op.tenant_id, &op.instance_id)
            .await?
        else {
            return Ok(());
        };
        let now = self.clock.now();
        let (during, _) = lifecycle_states(op.op_type);
        let via = match (op.op_type, current.state) {
            (_, InstanceState::PendingProvisioning) => Some(InstanceState::Provisioning),
            (_, InstanceState::PendingDeprovisioning) => Some(InstanceState::Deprovisioning),
            // A lifecycle change accepted on a cloud that cannot carry it out.
            (
                OperationType::Suspend
                | OperationType::Resume
                | OperationType::Park
                | OperationType::Unpark
                | OperationType::Scale
                | OperationType::Restart
                | OperationType::Update,
                state,
            ) if state == during => None,
            (OperationType::Restore, InstanceState::Suspending) | (OperationType::Backup, _) => {
                None
            }
            _ => return Ok(()),
        };
        let reason = FailureReason {
            code: ErrorCode::CloudUnavailable,
            message: message.to_owned(),
            resources: Vec::new(),
        };
        // A backup or an update changes nothing of the instance until it has run: only its
        // operation (and the backup) fail.
        let keep = matches!(op.op_type, OperationType::Backup | OperationType::Update);
        let mut instance = if keep {
            current.touched(ENGINE_ACTOR, now)
        } else {
            let through = match via {
                Some(via) => current.moved(via, ENGINE_ACTOR, now)?,
                None => current.clone(),
            };
            let mut failed = through.moved(InstanceState::Failed, ENGINE_ACTOR, now)?;
            failed.last_error = Some(reason.clone());
            failed
        };
        instance.version = current.version + 1;
        let backup = match op.backup_id.filter(|_| keep) {
            Some(id) => self.store.backup(&op.tenant_id, &id).await?.map(|mut b| {
                let expect = WriteExpect::Version(b.version);
                b.status = super::backup::BackupStatus::Failed;
                b.error = Some(message.to_owned());
                b.version += 1;
                BackupWrite { backup: b, expect }
            }),
            None => None,
        };
        let mut next = op.clone();
        next.status = OperationStatus::Failed;
        next.error = Some(reason);
        next.message = message.to_owned();
        next.completed_at = Some(now);
        next.version = op.version + 1;
        next.lease = None;
        next.recompute(now);
        self.store
            .write_instance(InstanceWrite {
                backup,
                instance,
                expect: WriteExpect::Version(current.version),
                guard: InstanceGuard::Keep,
                operation: Some(OperationWrite {
                    operation: next,
                    expect: WriteExpect::Version(op.version),
                }),
                audit: None,
                events: Vec::new(),
                idempotency: None,
            })
            .await
    }

    /// [`Self::run`] without the live-cloud check: the plan recorder runs operations this way on
    /// a scratch store.
    pub(crate) async fn run_any(&self, operation: &OperationId) -> Result<Operation> {
        let op = self.run_operation(operation).await?;
        self.report_to_tenant(&op).await?;
        Ok(op)
    }

    /// Moves the operation's tenant after a provisioning ended (see [`Self::with_tenant_sync`]).
    async fn report_to_tenant(&self, op: &Operation) -> Result<()> {
        let Some(tenants) = &self.tenants else {
            return Ok(());
        };
        if op.op_type != OperationType::Provision || !op.status.is_terminal() {
            return Ok(());
        }
        let actor = Actor::local_admin(ENGINE_ACTOR);
        let tenant = tenants.get(&actor, &op.tenant_id).await?;
        let steps: &[TenantStatus] = match (op.status, tenant.status) {
            (OperationStatus::Completed, TenantStatus::Pending) => &[TenantStatus::Active],
            (OperationStatus::Completed, TenantStatus::Failed) => {
                &[TenantStatus::Pending, TenantStatus::Active]
            }
            (OperationStatus::Failed | OperationStatus::RolledBack, TenantStatus::Pending) => {
                &[TenantStatus::Failed]
            }
            _ => &[],
        };
        for to in steps {
            let reason = format!("Instance provisioning {} ({})", op.status, op.id);
            tenants
                .set_status(&actor, &op.tenant_id, *to, Some(&reason), None)
                .await?;
            tracing::info!(tenant_id = %op.tenant_id, operation_id = %op.id, status = %to, "tenant status follows its provisioning");
        }
        Ok(())
    }

    async fn run_operation(&self, operation: &OperationId) -> Result<Operation> {
        let op =
            self.store
                .get_operation(operation)
                .await?
                .ok_or_else(|| Error::OperationNotFound {
                    operation_id: operation.to_string(),
                })?;
        if op.status.is_terminal() {
            return Ok(op);
        }
        let instance = self
            .store
            .get_instance(&op.tenant_id, &op.instance_id)
            .await?
            .ok_or_else(|| Error::InstanceNotFound {
                tenant_id: op.tenant_id.to_string(),
                instance_id: op.instance_id.to_string(),
            })?;
        if let Some(current) = instance.current_operation.filter(|c| *c != op.id) {
            return Err(Error::conflict(format!(
                "Operation {} was superseded by {current} on instance {}",
                op.id, instance.id
            )));
        }
        if let Some(lease) = op.held_by_other(&self.runner, self.clock.now()) {
            return Err(Error::conflict(format!(
                "Operation {} is being run by {} (its claim holds until {})",
                op.id, lease.owner, lease.until
            )));
        }
        let ledger = self.store.ledger(&instance.id).await?;
        let run = Run::new(self, instance, op, ledger);
        // Claim the operation before touching the cloud: a version-checked write, so of two
        // runners that read it at the same time exactly one goes on.
        run.update_op(|_| {}).await?;
        match run.op().await.op_type {
            OperationType::Provision => run.provision().await,
            OperationType::Deprovision => run.deprovision().await,
            OperationType::Suspend
            | OperationType::Resume
            | OperationType::Park
            | OperationType::Unpark
            | OperationType::Scale
            | OperationType::Restart => run.lifecycle().await,
            OperationType::Update => run.update().await,
            OperationType::Backup => run.backup().await,
            OperationType::Restore => run.restore().await,
            OperationType::ConfigureIdentity => run.configure_identity().await,
        }
    }
}

/// The mutable state of a run: the instance and its operation, written together.
#[derive(Debug)]
struct Snapshot {
    instance: Instance,
    op: Operation,
}

/// One run of one operation.
struct Run<'e> {
    engine: &'e ProvisioningEngine,
    names: Names,
    /// The host the listener rule routes; fixed for the instance's life.
    domain: String,
    state: tokio::sync::Mutex<Snapshot>,
    ledger: Mutex<BTreeMap<ResourceType, LedgerEntry>>,
    attempts: Mutex<HashMap<StepName, u32>>,
    client_secret: Mutex<Option<SecretValue>>,
}

impl<'e> Run<'e> {
    fn new(
        engine: &'e ProvisioningEngine,
        instance: Instance,
        op: Operation,
        ledger: Vec<LedgerEntry>,
    ) -> Self {
        let names = Names::new(&instance.resource_key, instance.environment);
        Self {
            engine,
            names,
            domain: instance.domain.clone(),
            state: tokio::sync::Mutex::new(Snapshot { instance, op }),
            ledger: Mutex::new(ledger.into_iter().map(|e| (e.resource_type, e)).collect()),
            attempts: Mutex::new(HashMap::new()),
            client_secret: Mutex::new(None),
        }
    }

    fn cfg(&self) -> &PlatformConfig {
        &self.engine.config
    }

    fn now(&self) -> Timestamp {
        self.engine.clock.now()
    }

    async fn op(&self) -> Operation {
        self.state.lock().await.op.clone()
    }

    async fn instance(&self) -> Instance {
        self.state.lock().await.instance.clone()
    }

    // -----------------------------------------------------------------------------------------
    // Persistence of the run
    // -----------------------------------------------------------------------------------------

    /// Changes the operation alone (progress, steps), under its version.
    async fn update_op(&self, f: impl FnOnce(&mut Operation)) -> Result<()> {
        let mut st = self.state.lock().await;
        let mut next = st.op.clone();
        f(&mut next);
        next.version = st.op.version + 1;
        let now = self.now();
        next.lease = self.engine.lease_for(&next, now);
        next.recompute(now);
        self.engine
            .store
            .write_operation(OperationWrite {
                operation: next.clone(),
                expect: WriteExpect::Version(st.op.version),
            })
            .await?;
        st.op = next;
        Ok(())
    }

    /// Moves the instance to `to` and changes the operation with it, in one write.
    async fn transition(
        &self,
        to: InstanceState,
        guard: InstanceGuard,
        audit: Option<(&str, Value)>,
        event: Option<(&str, Value)>,
        f: impl FnOnce(&mut Instance, &mut Operation),
    ) -> Result<()> {
        self.transition_with(to, guard, audit, event, None, f).await
    }

    /// [`Self::transition`] that also writes a backup in the same transaction.
    async fn transition_with(
        &self,
        to: InstanceState,
        guard: InstanceGuard,
        audit: Option<(&str, Value)>,
        event: Option<(&str, Value)>,
        backup: Option<BackupWrite>,
        f: impl FnOnce(&mut Instance, &mut Operation),
    ) -> Result<()> {
        let now = self.now();
        let mut st = self.state.lock().await;
        let mut instance = if to == st.instance.state {
            st.instance.touched(ENGINE_ACTOR, now)
        } else {
            st.instance.moved(to, ENGINE_ACTOR, now)?
        };
        let mut op = st.op.clone();
        f(&mut instance, &mut op);
        op.version = st.op.version + 1;
        op.lease = self.engine.lease_for(&op, now);
        op.recompute(now);
        let ids = self.engine.ids.as_ref();
        let write = InstanceWrite {
            backup,
            expect: WriteExpect::Version(st.instance.version),
            guard,
            operation: Some(OperationWrite {
                operation: op.clone(),
                expect: WriteExpect::Version(st.op.version),
            }),
            audit: audit.map(|(t, details)| AuditEvent {
                event_id: EventId::generate(ids),
                tenant_id: instance.tenant_id,
                event_type: t.to_owned(),
                timestamp: now,
                actor: ENGINE_ACTOR.to_owned(),
                details,
            }),
            events: event
                .map(|(t, detail)| OutboxMessage {
                    id: EventId::generate(ids),
                    source: super::engine::INSTANCE_SOURCE.to_owned(),
                    detail_type: t.to_owned(),
                    time: now,
                    tenant_id: Some(instance.tenant_id),
                    detail,
                })
                .into_iter()
                .collect(),
            idempotency: None,
            instance: instance.clone(),
        };
        self.engine.store.write_instance(write).await?;
        st.instance = instance;
        st.op = op;
        Ok(())
    }

    async fn step_status(
        &self,
        step: StepName,
        status: StepStatus,
        resource_id: Option<String>,
        error: Option<String>,
    ) -> Result<()> {
        let now = self.now();
        let attempts = lock(&self.attempts).get(&step).copied().unwrap_or(0);
        self.update_op(|op| {
            if status == StepStatus::Running {
                op.current_step = Some(step);
            }
            if let Some(s) = op.step_mut(step) {
                s.status = status;
                s.attempts = s.attempts.max(attempts);
                match status {
                    StepStatus::Running => {
                        s.started_at = Some(now);
                        s.completed_at = None;
                        s.error = None;
                    }
                    _ => s.completed_at = Some(now),
                }
                if resource_id.is_some() {
                    s.resource_id = resource_id;
                }
                if error.is_some() {
                    s.error = error;
                }
            }
            op.message = format!("{step}: {status}");
        })
        .await
    }

    fn entry(&self, rt: ResourceType) -> Option<LedgerEntry> {
        lock(&self.ledger).get(&rt).cloned()
    }

    fn entries(&self) -> Vec<LedgerEntry> {
        let mut v: Vec<LedgerEntry> = lock(&self.ledger).values().cloned().collect();
        v.sort_by_key(|e| e.seq);
        v
    }

    /// Writes an entry (store first, then the in-memory copy).
    async fn put_entry(&self, entry: LedgerEntry) -> Result<()> {
        self.engine.store.write_ledger(entry.clone()).await?;
        lock(&self.ledger).insert(entry.resource_type, entry);
        Ok(())
    }

    async fn set_entry(
        &self,
        rt: ResourceType,
        status: LedgerStatus,
        res: Option<&CloudResource>,
        error: Option<String>,
    ) -> Result<LedgerEntry> {
        let mut e = self.entry(rt).ok_or_else(|| {
            Error::Internal(format!("ledger entry {rt} missing while updating it"))
        })?;
        e.status = status;
        if let Some(r) = res {
            e.id = Some(r.id.clone());
            e.arn.clone_from(&r.arn);
        }
        e.error = error;
        e.updated_at = self.now();
        self.put_entry(e.clone()).await?;
        Ok(e)
    }

    /// The intent entry of `rt`, assigned the next creation sequence number.
    async fn write_intent(&self, rt: ResourceType) -> Result<()> {
        let (tenant_id, instance_id) = {
            let st = self.state.lock().await;
            (st.instance.tenant_id, st.instance.id)
        };
        let entry = {
            let ledger = lock(&self.ledger);
            let seq = ledger.values().map(|e| e.seq).max().map_or(1, |s| s + 1);
            LedgerEntry {
                tenant_id,
                instance_id,
                resource_type: rt,
                name: self.name_of(rt),
                id: None,
                arn: None,
                status: LedgerStatus::Intent,
                seq,
                error: None,
                updated_at: self.now(),
            }
        };
        self.put_entry(entry).await
    }

    // -----------------------------------------------------------------------------------------
    // Calls: timeout + retries with backoff
    // -----------------------------------------------------------------------------------------

    async fn call<T, F, Fut>(&self, step: StepName, mut f: F) -> CloudResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<T>> + Send,
    {
        let policy = self.cfg().retry;
        let timeout = PlatformConfig::step_timeout(step);
        let mut failed = 0;
        loop {
            *lock(&self.attempts).entry(step).or_insert(0) += 1;
            let sleep = self.engine.timer.sleep(timeout);
            let outcome = tokio::select! {
                biased;
                r = f() => r,
                () = sleep => Err(CloudError::new(
                    CloudErrorKind::Timeout,
                    "bbws",
                    step.as_str(),
                    format!("no answer within {} s", timeout.as_secs()),
                )),
            };
            match outcome {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() && failed + 1 < policy.max_attempts => {
                    failed += 1;
                    tracing::warn!(step = %step, error = %e, attempt = failed, "retrying cloud call");
                    self.engine.timer.sleep(policy.delay(failed)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Names and the per-type cloud calls
    // -----------------------------------------------------------------------------------------

    fn name_of(&self, rt: ResourceType) -> String {
        let n = &self.names;
        match rt {
            ResourceType::CognitoPool => n.user_pool.clone(),
            ResourceType::CognitoDomain => n.cognito_domain.clone(),
            ResourceType::CognitoClient => n.app_client.clone(),
            ResourceType::CognitoGroups => "Admin,Operator,Viewer".to_owned(),
            ResourceType::CognitoSecret => n.cognito_secret.clone(),
            ResourceType::DbSecret => n.db_secret.clone(),
            ResourceType::Database => n.database.clone(),
            ResourceType::EfsAccessPoint => n.access_point.clone(),
            ResourceType::TargetGroup => n.target_group.clone(),
            ResourceType::AlbPriority | ResourceType::ListenerRule => self.domain.clone(),
            ResourceType::TaskDefinition => n.task_family.clone(),
            ResourceType::EcsService => n.ecs_service.clone(),
            ResourceType::ScalableTarget => self.scaling_resource_id(),
            ResourceType::DatabaseArchive => "database.sql.gz".to_owned(),
            ResourceType::FilesArchive => "wp-content.tar.gz".to_owned(),
        }
    }

    fn scaling_resource_id(&self) -> String {
        format!("service/{}/{}", self.cfg().cluster, self.names.ecs_service)
    }

    /// The id of a created dependency.
    fn id_of(&self, rt: ResourceType) -> CloudResult<String> {
        self.entry(rt).and_then(|e| e.id).ok_or_else(|| {
            CloudError::permanent("bbws", "dependency", format!("{rt} has not been created"))
        })
    }

    fn groups() -> Vec<GroupSpec> {
        [
            ("Admin", 1, "Full administrative access"),
            ("Operator", 2, "Content and site operations"),
            ("Viewer", 3, "Read-only access"),
        ]
        .into_iter()
        .map(|(name, precedence, description)| GroupSpec {
            name: name.to_owned(),
            precedence,
            description: description.to_owned(),
        })
        .collect()
    }

    fn archive_spec(&self, instance: &Instance, op: &Operation, file: &str) -> ArchiveSpec {
        ArchiveSpec {
            bucket: self.cfg().archive_bucket.clone(),
            key: format!(
                "archives/{}/{}/{}/{file}",
                instance.environment, instance.tenant_id, op.id
            ),
            retention_days: self.cfg().archive_retention_days,
            tags: tags(instance, Component::Archive),
        }
    }

    /// The archive key recorded in the ledger (resume), else a fresh one for this operation.
    fn archive_key(&self, rt: ResourceType, fresh: &ArchiveSpec) -> ArchiveSpec {
        let mut spec = fresh.clone();
        if let Some(arn) = self.entry(rt).and_then(|e| e.arn) {
            spec.key = arn;
        }
        spec
    }

    /// The task definition of `instance` (§4.4 step B): its image and task size, the tenant's
    /// database and access point, the logs. Provisioning registers it; an update registers it
    /// again for the instance as the update leaves it.
    fn task_definition_spec(&self, instance: &Instance) -> CloudResult<TaskDefinitionSpec> {
        let cfg = self.cfg();
        let n = &self.names;
        let host = &instance.domain;
        let environment = BTreeMap::from([
            ("WORDPRESS_DB_HOST".to_owned(), cfg.rds_endpoint.clone()),
            ("WORDPRESS_DB_NAME".to_owned(), n.database.clone()),
            ("WORDPRESS_TABLE_PREFIX".to_owned(), "wp_".to_owned()),
            (
                "WORDPRESS_DEBUG".to_owned(),
                if instance.environment == crate::tenant::Environment::Dev {
                    "1"
                } else {
                    "0"
                }
                .to_owned(),
            ),
            (
                "WORDPRESS_CONFIG_EXTRA".to_owned(),
                format!(
                    "if ((isset($_SERVER['HTTP_X_FORWARDED_PROTO']) && $_SERVER['HTTP_X_FORWARDED_PROTO'] === 'https') || (isset($_SERVER['HTTP_CLOUDFRONT_FORWARDED_PROTO']) && $_SERVER['HTTP_CLOUDFRONT_FORWARDED_PROTO'] === 'https')) {{ $_SERVER['HTTPS'] = 'on'; }} define('FORCE_SSL_ADMIN', true); define('WP_HOME', 'https://{host}'); define('WP_SITEURL', 'https://{host}');"
                ),
            ),
        ]);
        Ok(TaskDefinitionSpec {
            family: n.task_family.clone(),
            cpu: instance.task_size.cpu(),
            memory: instance.task_size.memory(),
            image: instance.image(&cfg.image_repository),
            execution_role_arn: cfg.execution_role_arn.clone(),
            task_role_arn: cfg.task_role_arn.clone(),
            file_system_id: cfg.efs_file_system_id.clone(),
            access_point_id: self.id_of(ResourceType::EfsAccessPoint)?,
            db_secret_arn: self.id_of(ResourceType::DbSecret)?,
            environment,
            log_group: cfg.log_group.clone(),
            log_stream_prefix: n.log_stream_prefix.clone(),
            region: cfg.region.clone(),
            tags: tags(instance, Component::Wordpress),
        })
    }

    async fn find(&self, rt: ResourceType) -> CloudResult<Option<CloudResource>> {
        let c = &self.engine.cloud;
        let cfg = self.cfg();
        let n = &self.names;
        let instance = self.instance().await;
        let op = self.op().await;
        match rt {
            ResourceType::CognitoPool => c.identity.find_user_pool(&n.user_pool).await,
            ResourceType::CognitoDomain => c.identity.find_domain(&n.cognito_domain).await,
            ResourceType::CognitoClient => {
                let Ok(pool) = self.id_of(ResourceType::CognitoPool) else {
                    return Ok(None);
                };
                let found = c.identity.find_app_client(&pool, &n.app_client).await?;
                Ok(found.map(|a| {
                    let id = a.client_id.clone();
                    *lock(&self.client_secret) = Some(a.client_secret);
                    CloudResource::new(id)
                }))
            }
            ResourceType::CognitoSecret => c.secrets.find_secret(&n.cognito_secret).await,
            ResourceType::DbSecret => c.secrets.find_secret(&n.db_secret).await,
            ResourceType::Database => c.database.find_database(&n.database).await,
            ResourceType::EfsAccessPoint => c.files.find_access_point(&n.access_point).await,
            ResourceType::TargetGroup => c.load_balancer.find_target_group(&n.target_group).await,
            ResourceType::ListenerRule => {
                c.load_balancer
                    .find_listener_rule(&cfg.listener_arn, &instance.domain)
                    .await
            }
            ResourceType::TaskDefinition => c.compute.find_task_definition(&n.task_family).await,
            ResourceType::EcsService => c.compute.find_service(&cfg.cluster, &n.ecs_service).await,
            ResourceType::ScalableTarget => {
                c.compute
                    .find_autoscaling(&self.scaling_resource_id())
                    .await
            }
            ResourceType::DatabaseArchive | ResourceType::FilesArchive => {
                let file = self.name_of(rt);
                let spec = self.archive_key(rt, &self.archive_spec(&instance, &op, &file));
                c.archive.find_archive(&spec.bucket, &spec.key).await
            }
            // Creating these again is a no-op by contract (group exists / same host, same
            // priority), so there is nothing to look up.
            ResourceType::CognitoGroups | ResourceType::AlbPriority => Ok(None),
        }
    }

    async fn create(&self, rt: ResourceType) -> CloudResult<CloudResource> {
        let c = &self.engine.cloud;
        let cfg = self.cfg().clone();
        let n = &self.names;
        let instance = self.instance().await;
        let op = self.op().await;
        let step = rt.step();
        match rt {
            ResourceType::CognitoPool => {
                let spec = UserPoolSpec {
                    name: n.user_pool.clone(),
                    tenant_id: instance.tenant_id,
                    password_policy: PasswordPolicy::default(),
                    mfa: MfaConfiguration::Optional,
                    tags: tags(&instance, Component::Cognito),
                };
                self.call(step, || c.identity.create_user_pool(&spec)).await
            }
            ResourceType::CognitoDomain => {
                let spec = DomainSpec {
                    user_pool_id: self.id_of(ResourceType::CognitoPool)?,
                    prefix: n.cognito_domain.clone(),
                };
                self.call(step, || c.identity.create_domain(&spec)).await
            }
            ResourceType::CognitoClient => {
                let host = &instance.domain;
                let spec = AppClientSpec {
                    user_pool_id: self.id_of(ResourceType::CognitoPool)?,
                    name: n.app_client.clone(),
                    callback_urls: vec![
                        format!("https://{host}/wp-login.php"),
                        format!("https://{host}/wp-admin/admin-ajax.php"),
                    ],
                    logout_urls: vec![
                        format!("https://{host}/"),
                        format!("https://{host}/wp-login.php?loggedout=true"),
                    ],
                };
                let client = self
                    .call(step, || c.identity.create_app_client(&spec))
                    .await?;
                let id = client.client_id.clone();
                *lock(&self.client_secret) = Some(client.client_secret);
                Ok(CloudResource::new(id))
            }
            ResourceType::CognitoGroups => {
                let pool = self.id_of(ResourceType::CognitoPool)?;
                let groups = Self::groups();
                self.call(step, || c.identity.create_groups(&pool, &groups))
                    .await?;
                Ok(CloudResource::new(pool))
            }
            ResourceType::CognitoSecret => {
                let pool = self.id_of(ResourceType::CognitoPool)?;
                let client_id = self.id_of(ResourceType::CognitoClient)?;
                let known = lock(&self.client_secret).clone();
                let secret = match known {
                    Some(s) => s,
                    None => self
                        .call(step, || c.identity.find_app_client(&pool, &n.app_client))
                        .await?
                        .map(|a| a.client_secret)
                        .ok_or_else(|| {
                            CloudError::permanent(
                                "cognito-idp",
                                "DescribeUserPoolClient",
                                "the app client has disappeared",
                            )
                        })?,
                };
                let domain_url = format!(
                    "https://{}.auth.{}.amazoncognito.com",
                    n.cognito_domain, cfg.region
                );
                let value = json!({
                    "user_pool_id": pool,
                    "client_id": client_id,
                    "client_secret": secret.expose(),
                    "domain": n.cognito_domain,
                    "region": cfg.region,
                    "domain_url": domain_url,
                });
                let spec = SecretSpec {
                    name: n.cognito_secret.clone(),
                    value: SecretValue::new(value.to_string()),
                    client_request_token: request_fingerprint(&n.cognito_secret),
                    tags: tags(&instance, Component::Secrets),
                };
                self.call(step, || c.secrets.create_secret(&spec)).await
            }
            ResourceType::DbSecret => {
                let ids = self.engine.ids.as_ref();
                let password = format!("{}{}", ids.uuid().simple(), ids.uuid().simple());
                let value = json!({
                    "username": n.db_user,
                    "password": password,
                    "database": n.database,
                    "host": cfg.rds_endpoint,
                    "port": 3306,
                });
                let spec = SecretSpec {
                    name: n.db_secret.clone(),
                    value: SecretValue::new(value.to_string()),
                    client_request_token: request_fingerprint(&n.db_secret),
                    tags: tags(&instance, Component::Secrets),
                };
                self.call(step, || c.secrets.create_secret(&spec)).await
            }
            ResourceType::Database => {
                let spec = DatabaseSpec {
                    database: n.database.clone(),
                    user: n.db_user.clone(),
                    secret_arn: self.id_of(ResourceType::DbSecret)?,
                };
                self.call(step, || c.database.create_database(&spec)).await
            }
            ResourceType::EfsAccessPoint => {
                let mut t = tags(&instance, Component::Efs);
                t.insert("Name".to_owned(), n.access_point.clone());
                let spec = AccessPointSpec {
                    name: n.access_point.clone(),
                    client_token: format!("{}-wp-content", instance.resource_key),
                    file_system_id: cfg.efs_file_system_id.clone(),
                    root_directory: n.root_directory.clone(),
                    uid: 33,
                    gid: 33,
                    permissions: "755".to_owned(),
                    tags: t,
                };
                self.call(step, || c.files.create_access_point(&spec)).await
            }
            ResourceType::TargetGroup => {
                let spec = TargetGroupSpec {
                    name: n.target_group.clone(),
                    vpc_id: cfg.vpc_id.clone(),
                    health_check_path: "/".to_owned(),
                    matcher: "200,301,302".to_owned(),
                    deregistration_delay_seconds: 30,
                    tags: tags(&instance, Component::Alb),
                };
                self.call(step, || c.load_balancer.create_target_group(&spec))
                    .await
            }
            ResourceType::AlbPriority => {
                let p = self
                    .call(step, || {
                        c.load_balancer
                            .reserve_priority(&cfg.listener_arn, &instance.domain)
                    })
                    .await?;
                Ok(CloudResource::new(p.to_string()))
            }
            ResourceType::ListenerRule => {
                let priority = self
                    .id_of(ResourceType::AlbPriority)?
                    .parse::<u32>()
                    .map_err(|e| CloudError::permanent("bbws", "priority", e.to_string()))?;
                let spec = ListenerRuleSpec {
                    listener_arn: cfg.listener_arn.clone(),
                    priority,
                    host: instance.domain.clone(),
                    target_group_arn: self.id_of(ResourceType::TargetGroup)?,
                    tags: tags(&instance, Component::Alb),
                };
                self.call(step, || c.load_balancer.create_listener_rule(&spec))
                    .await
            }
            ResourceType::TaskDefinition => {
                let spec = self.task_definition_spec(&instance)?;
                self.call(step, || c.compute.register_task_definition(&spec))
                    .await
            }
            ResourceType::EcsService => {
                let spec = ServiceSpec {
                    cluster: cfg.cluster.clone(),
                    name: n.ecs_service.clone(),
                    task_definition_arn: self.id_of(ResourceType::TaskDefinition)?,
                    desired_count: instance.desired_count.get(),
                    subnets: cfg.private_subnets.clone(),
                    security_groups: vec![cfg.task_security_group.clone()],
                    target_group_arn: self.id_of(ResourceType::TargetGroup)?,
                    container_name: "wordpress".to_owned(),
                    container_port: 80,
                    health_check_grace_period_seconds: 60,
                    minimum_healthy_percent: 100,
                    maximum_percent: 200,
                    enable_execute_command: instance.environment
                        != crate::tenant::Environment::Prod,
                    client_token: request_fingerprint(&n.ecs_service)
                        .chars()
                        .take(32)
                        .collect(),
                    tags: tags(&instance, Component::Wordpress),
                };
                self.call(step, || c.compute.create_service(&spec)).await
            }
            ResourceType::ScalableTarget => {
                let spec = AutoscalingSpec {
                    resource_id: self.scaling_resource_id(),
                    min_capacity: instance.desired_count.get().max(cfg.min_tasks),
                    max_capacity: cfg.max_tasks,
                    cpu_policy_name: n.cpu_policy.clone(),
                    cpu_target: 70,
                    memory_policy_name: n.memory_policy.clone(),
                    memory_target: 80,
                    tags: tags(&instance, Component::Wordpress),
                };
                self.call(step, || c.compute.register_autoscaling(&spec))
                    .await
            }
            ResourceType::DatabaseArchive => {
                let spec = self.archive_spec(&instance, &op, "database.sql.gz");
                self.call(step, || c.archive.archive_database(&n.database, &spec))
                    .await
                    .map(|r| with_key(r, &spec))
            }
            ResourceType::FilesArchive => {
                let spec = self.archive_spec(&instance, &op, "wp-content.tar.gz");
                let ap = self.id_of(ResourceType::EfsAccessPoint)?;
                self.call(step, || {
                    c.archive.archive_files(&ap, &n.root_directory, &spec)
                })
                .await
                .map(|r| with_key(r, &spec))
            }
        }
    }

    /// Deletes one object; "already gone" is success by the port contract.
    async fn delete(&self, entry: &LedgerEntry, id: &str, force_secrets: bool) -> CloudResult<()> {
        let c = &self.engine.cloud;
        let cfg = self.cfg();
        let n = &self.names;
        let step = StepName::DeleteResources;
        let pool = || {
            self.entry(ResourceType::CognitoPool)
                .and_then(|e| e.id)
                .unwrap_or_default()
        };
        match entry.resource_type {
            ResourceType::CognitoPool => self.call(step, || c.identity.delete_user_pool(id)).await,
            ResourceType::CognitoDomain => {
                let p = pool();
                self.call(step, || c.identity.delete_domain(&p, &n.cognito_domain))
                    .await
            }
            ResourceType::CognitoClient => {
                let p = pool();
                self.call(step, || c.identity.delete_app_client(&p, id))
                    .await
            }
            ResourceType::CognitoGroups => {
                let p = pool();
                let names: Vec<String> = Self::groups().into_iter().map(|g| g.name).collect();
                self.call(step, || c.identity.delete_groups(&p, &names))
                    .await
            }
            ResourceType::CognitoSecret | ResourceType::DbSecret => {
                self.call(step, || c.secrets.delete_secret(id, force_secrets))
                    .await
            }
            ResourceType::Database => {
                self.call(step, || c.database.drop_database(&n.database, &n.db_user))
                    .await
            }
            ResourceType::EfsAccessPoint => {
                self.call(step, || c.files.purge_directory(&n.root_directory))
                    .await?;
                self.call(step, || c.files.delete_access_point(id)).await
            }
            ResourceType::TargetGroup => {
                self.call(step, || c.load_balancer.delete_target_group(id))
                    .await
            }
            ResourceType::AlbPriority => {
                self.call(step, || {
                    c.load_balancer
                        .release_priority(&cfg.listener_arn, &self.domain)
                })
                .await
            }
            ResourceType::ListenerRule => {
                self.call(step, || c.load_balancer.delete_listener_rule(id))
                    .await
            }
            ResourceType::TaskDefinition => {
                self.call(step, || {
                    c.compute.deregister_task_definitions(&n.task_family)
                })
                .await
            }
            ResourceType::EcsService => {
                self.call(step, || {
                    c.compute.delete_service(&cfg.cluster, &n.ecs_service)
                })
                .await
            }
            ResourceType::ScalableTarget => {
                let rid = self.scaling_resource_id();
                self.call(step, || c.compute.deregister_autoscaling(&rid))
                    .await
            }
            ResourceType::DatabaseArchive | ResourceType::FilesArchive => Ok(()),
        }
    }

    // -----------------------------------------------------------------------------------------
    // Ensure one object exists (intent → call → result)
    // -----------------------------------------------------------------------------------------

    async fn ensure(&self, rt: ResourceType) -> std::result::Result<String, StepFailure> {
        let fail = |error: CloudError| StepFailure {
            step: rt.step(),
            resource: Some(rt),
            error,
        };
        let store_fail = |e: Error| {
            fail(CloudError::new(
                CloudErrorKind::Permanent,
                "bbws",
                "ledger",
                e.to_string(),
            ))
        };
        let existing = self.entry(rt);
        if let Some(e) = &existing
            && e.status == LedgerStatus::Created
        {
            return Ok(e.id.clone().unwrap_or_default());
        }
        if existing.is_none() {
            self.write_intent(rt).await.map_err(store_fail)?;
        } else {
            // The create call may have happened before the run died: look before creating.
            let found = self.find(rt).await.map_err(fail)?;
            if let Some(res) = found {
                let e = self
                    .set_entry(rt, LedgerStatus::Created, Some(&res), None)
                    .await
                    .map_err(store_fail)?;
                return Ok(e.id.unwrap_or_default());
            }
            self.set_entry(rt, LedgerStatus::Intent, None, None)
                .await
                .map_err(store_fail)?;
        }
        match self.create(rt).await {
            Ok(res) => {
                let e = self
                    .set_entry(rt, LedgerStatus::Created, Some(&res), None)
                    .await
                    .map_err(store_fail)?;
                Ok(e.id.unwrap_or_default())
            }
            Err(err) => {
                // The object may exist (e.g. a timeout after AWS acted): rollback looks it up.
                self.set_entry(rt, LedgerStatus::Failed, None, Some(err.to_string()))
                    .await
                    .map_err(store_fail)?;
                Err(fail(err))
            }
        }
    }

    // -----------------------------------------------------------------------------------------
    // Provisioning
    // -----------------------------------------------------------------------------------------

    async fn provision(&self) -> Result<Operation> {
        let instance = self.instance().await;
        match instance.state {
            InstanceState::PendingProvisioning => {
                self.transition(
                    InstanceState::Provisioning,
                    InstanceGuard::Keep,
                    Some(("INSTANCE_PROVISIONING_STARTED", json!({}))),
                    None,
                    |_, op| {
                        op.status = OperationStatus::InProgress;
                        "Provisioning".clone_into(&mut op.message);
                    },
                )
                .await?;
            }
            InstanceState::Provisioning => {}
            other => {
                return Err(other
                    .transition(InstanceState::Provisioning)
                    .err()
                    .unwrap_or_else(|| {
                        Error::Internal("provisioning from an unexpected state".into())
                    }));
            }
        }
        let op = self.op().await;
        if op.phase == Phase::RollingBack {
            let reason = op.error.clone().unwrap_or_else(|| FailureReason {
                code: ErrorCode::InternalError,
                message: "rollback resumed without a recorded cause".to_owned(),
                resources: Vec::new(),
            });
            return self.roll_back(reason).await;
        }
        match self.forward().await? {
            None => self.finalise().await,
            Some(failure) => {
                let reason = failure.reason();
                let failed_step = failure.step;
                let msg = failure.error.to_string();
                self.update_op(|op| {
                    op.phase = Phase::RollingBack;
                    op.error = Some(reason.clone());
                    op.message = format!("Rolling back: {}", reason.message);
                    if let Some(s) = op.step_mut(failed_step) {
                        s.status = StepStatus::Failed;
                        s.error = Some(msg);
                    }
                })
                .await?;
                self.roll_back(reason).await
            }
        }
    }

    /// Runs the graph; `Ok(Some(failure))` when a step failed (every in-flight step is let
    /// finish first, so the ledger is complete for the rollback).
    async fn forward(&self) -> Result<Option<StepFailure>> {
        let graph: Vec<StepName> = StepName::PROVISION
            .into_iter()
            .filter(|s| *s != StepName::Finalise)
            .collect();
        let mut started: Vec<StepName> = Vec::new();
        let mut done: Vec<StepName> = {
            let op = self.op().await;
            graph.iter().copied().filter(|s| op.step_done(*s)).collect()
        };
        let mut inflight: Vec<StepFuture<'_>> = Vec::new();
        let mut failure: Option<StepFailure> = None;
        loop {
            if failure.is_none() {
                for s in &graph {
                    let ready = !done.contains(s)
                        && !started.contains(s)
                        && s.depends_on()
                            .iter()
                            .all(|d| done.contains(d) || !graph.contains(d));
                    if ready {
                        started.push(*s);
                        let step = *s;
                        inflight.push(Box::pin(async move { (step, self.run_step(step).await) }));
                    }
                }
            }
            if inflight.is_empty() {
                return Ok(failure);
            }
            let (step, outcome) = next_finished(&mut inflight).await;
            match outcome {
                Ok(()) => done.push(step),
                Err(f) => {
                    if matches!(f.error.kind, CloudErrorKind::Permanent)
                        && f.error.service == "bbws"
                        && f.error.action == "ledger"
                    {
                        return Err(Error::Storage(f.error.message));
                    }
                    failure.get_or_insert(f);
                }
            }
        }
    }

    async fn run_step(&self, step: StepName) -> std::result::Result<(), StepFailure> {
        let as_failure = |e: Error| StepFailure {
            step,
            resource: None,
            error: CloudError::new(CloudErrorKind::Permanent, "bbws", "ledger", e.to_string()),
        };
        self.step_status(step, StepStatus::Running, None, None)
            .await
            .map_err(as_failure)?;
        let outcome = match step {
            StepName::Cognito => {
                let mut last = String::new();
                for rt in [
                    ResourceType::CognitoPool,
                    ResourceType::CognitoDomain,
                    ResourceType::CognitoClient,
                    ResourceType::CognitoGroups,
                    ResourceType::CognitoSecret,
                ] {
                    let id = self.ensure(rt).await?;
                    if rt == ResourceType::CognitoPool {
                        last = id;
                    }
                }
                Ok(last)
            }
            StepName::DbSecret => self.ensure(ResourceType::DbSecret).await,
            StepName::Database => self.ensure(ResourceType::Database).await,
            StepName::EfsAccessPoint => self.ensure(ResourceType::EfsAccessPoint).await,
            StepName::LoadBalancer => {
                self.ensure(ResourceType::TargetGroup).await?;
                self.ensure(ResourceType::AlbPriority).await?;
                self.ensure(ResourceType::ListenerRule).await
            }
            StepName::TaskDefinition => self.ensure(ResourceType::TaskDefinition).await,
            StepName::Service => self.ensure(ResourceType::EcsService).await,
            StepName::Autoscaling => self.ensure(ResourceType::ScalableTarget).await,
            StepName::HealthWait => self.wait_healthy().await.map(|()| String::new()),
            _ => Ok(String::new()),
        };
        let (status, rid, err) = match &outcome {
            Ok(id) => (StepStatus::Done, (!id.is_empty()).then(|| id.clone()), None),
            Err(f) => (StepStatus::Failed, None, Some(f.error.to_string())),
        };
        self.step_status(step, status, rid, err)
            .await
            .map_err(as_failure)?;
        outcome.map(|_| ())
    }

    async fn wait_healthy(&self) -> std::result::Result<(), StepFailure> {
        let desired = self.instance().await.desired_count.get();
        self.wait_for(StepName::HealthWait, desired).await
    }

    /// Waits until the service runs `desired` tasks, healthy (0: drained).
    async fn wait_for(&self, step: StepName, desired: u32) -> std::result::Result<(), StepFailure> {
        let fail = |error: CloudError| StepFailure {
            step,
            resource: Some(ResourceType::EcsService),
            error,
        };
        let instance = self.instance().await;
        let target = HealthTarget {
            cluster: self.cfg().cluster.clone(),
            service_name: self.names.ecs_service.clone(),
            target_group_arn: self.id_of(ResourceType::TargetGroup).map_err(fail)?,
            desired_count: desired,
            host: instance.domain.clone(),
        };
        let interval = self.cfg().health_interval;
        let budget = self.cfg().health_budget;
        let mut waited = Duration::ZERO;
        loop {
            let health = self
                .call(step, || self.engine.cloud.health.check(&target))
                .await
                .map_err(fail)?;
            match health {
                Health::Healthy => return Ok(()),
                Health::Unhealthy(why) => {
                    return Err(fail(CloudError::permanent(
                        "ecs",
                        "DescribeServices",
                        format!("the service is unhealthy: {why}"),
                    )));
                }
                Health::Starting(why) => {
                    if waited >= budget {
                        return Err(fail(CloudError::new(
                            CloudErrorKind::Timeout,
                            "ecs",
                            "DescribeServices",
                            format!(
                                "the service did not become healthy within {} s: {why}",
                                budget.as_secs()
                            ),
                        )));
                    }
                    self.engine.timer.sleep(interval).await;
                    waited += interval;
                }
            }
        }
    }

    async fn finalise(&self) -> Result<Operation> {
        let now = self.now();
        let resources: BTreeMap<ResourceType, String> = self
            .entries()
            .into_iter()
            .filter(|e| e.status == LedgerStatus::Created)
            .filter_map(|e| {
                let v = e.arn.or(e.id)?;
                Some((e.resource_type, v))
            })
            .collect();
        let detail_resources = json!({
            "ecsServiceArn": resources.get(&ResourceType::EcsService),
            "efsAccessPointId": self.entry(ResourceType::EfsAccessPoint).and_then(|e| e.id),
            "cognitoUserPoolId": self.entry(ResourceType::CognitoPool).and_then(|e| e.id),
        });
        let instance = self.instance().await;
        let op = self.op().await;
        let event = json!({
            "eventType": "CLUSTER_CREATION_COMPLETE",
            "tenantId": instance.tenant_id.to_string(),
            "instanceId": instance.id.to_string(),
            "timestamp": now.to_string(),
            "status": "SUCCESS",
            "resources": detail_resources,
            "correlationId": op.correlation_id,
        });
        self.transition(
            InstanceState::Active,
            InstanceGuard::Keep,
            Some((
                "INSTANCE_PROVISIONED",
                json!({"operationId": op.id.to_string(), "resourceKey": instance.resource_key.as_str()}),
            )),
            Some(("CLUSTER_CREATION_COMPLETE", event)),
            |inst, op| {
                inst.resources = resources;
                inst.provisioned_at = Some(now);
                inst.last_error = None;
                op.status = OperationStatus::Completed;
                op.completed_at = Some(now);
                op.current_step = Some(StepName::Finalise);
                "Instance is ACTIVE".clone_into(&mut op.message);
                if let Some(s) = op.step_mut(StepName::Finalise) {
                    s.status = StepStatus::Done;
                    s.started_at.get_or_insert(now);
                    s.completed_at = Some(now);
                }
            },
        )
        .await?;
        tracing::info!(action = "PROVISION_INSTANCE", tenant_id = %instance.tenant_id, instance_id = %instance.id, "instance provisioned");
        Ok(self.op().await)
    }

    // -----------------------------------------------------------------------------------------
    // Lifecycle (§6): suspend, resume, park, unpark, scale, restart
    // -----------------------------------------------------------------------------------------

    /// Runs a lifecycle operation. The instance was put in its in-between state when the
    /// operation was accepted; the steps run in order (a resumed run skips those done), the end
    /// moves the instance on, and a failed step leaves it FAILED with the step's reason.
    async fn lifecycle(&self) -> Result<Operation> {
        let op = self.op().await;
        let (during, _) = lifecycle_states(op.op_type);
        let instance = self.instance().await;
        if instance.state != during {
            return Err(Error::conflict(format!(
                "Instance {} is {}, not {} as its {} operation expects",
                instance.id, instance.state, during, op.op_type
            )));
        }
        if op.status == OperationStatus::Pending {
            self.update_op(|o| {
                o.status = OperationStatus::InProgress;
                o.message = format!("{} in progress", o.op_type);
            })
            .await?;
        }
        for step in StepName::for_type(op.op_type) {
            if self.op().await.step_done(*step) {
                continue;
            }
            self.step_status(*step, StepStatus::Running, None, None)
                .await?;
            match self.lifecycle_step(*step, &op).await {
                Ok(()) => {
                    self.step_status(*step, StepStatus::Done, None, None)
                        .await?;
                }
                Err(failure) => return self.lifecycle_failed(&failure).await,
            }
        }
        self.lifecycle_done().await
    }

    /// The desired count a lifecycle operation sets.
    fn lifecycle_count(op: &Operation, instance: &Instance) -> u32 {
        match op.op_type {
            OperationType::Suspend | OperationType::Park => 0,
            OperationType::Scale => op.target_count.unwrap_or(instance.desired_count.get()),
            _ => instance.desired_count.get(),
        }
    }

    async fn lifecycle_step(
        &self,
        step: StepName,
        op: &Operation,
    ) -> std::result::Result<(), StepFailure> {
        let fail = |error: CloudError| StepFailure {
            step,
            resource: Some(ResourceType::EcsService),
            error,
        };
        let c = &self.engine.cloud;
        let cfg = self.cfg();
        let instance = self.instance().await;
        let service = self.names.ecs_service.clone();
        let count = Self::lifecycle_count(op, &instance);
        let bounds = |suspended: bool| ScalingBounds {
            resource_id: self.scaling_resource_id(),
            min_capacity: cfg.min_tasks.min(count.max(1)),
            max_capacity: cfg.max_tasks.max(count),
            suspended,
        };
        match step {
            StepName::PauseAutoscaling => {
                let b = ScalingBounds {
                    min_capacity: cfg.min_tasks,
                    max_capacity: cfg.max_tasks,
                    ..bounds(true)
                };
                self.call(step, || c.compute.set_autoscaling(&b))
                    .await
                    .map_err(fail)
            }
            StepName::UpdateDesiredCount => {
                if op.op_type == OperationType::Scale {
                    // Keep MinCapacity <= n <= MaxCapacity, or the scaler undoes the change.
                    let b = bounds(false);
                    self.call(step, || c.compute.set_autoscaling(&b))
                        .await
                        .map_err(fail)?;
                }
                self.call(step, || {
                    c.compute.set_desired_count(&cfg.cluster, &service, count)
                })
                .await
                .map_err(fail)
            }
            StepName::WaitDrained => self.wait_for(step, 0).await,
            StepName::HealthWait => self.wait_for(step, count).await,
            StepName::ResumeAutoscaling => {
                let b = ScalingBounds {
                    min_capacity: cfg.min_tasks.min(count.max(1)),
                    max_capacity: cfg.max_tasks.max(count),
                    ..bounds(false)
                };
                self.call(step, || c.compute.set_autoscaling(&b))
                    .await
                    .map_err(fail)
            }
            StepName::ForceDeployment => self
                .call(step, || {
                    c.compute.force_new_deployment(&cfg.cluster, &service)
                })
                .await
                .map_err(fail),
            other => Err(fail(CloudError::permanent(
                "bbws",
                "lifecycle",
                format!("{other} is not a lifecycle step"),
            ))),
        }
    }

    async fn lifecycle_done(&self) -> Result<Operation> {
        let op = self.op().await;
        let (_, end) = lifecycle_states(op.op_type);
        let (audit, event) = lifecycle_names(op.op_type);
        let instance = self.instance().await;
        let now = self.now();
        let detail = json!({
            "eventType": event,
            "tenantId": instance.tenant_id.to_string(),
            "instanceId": instance.id.to_string(),
            "operationId": op.id.to_string(),
            "timestamp": now.to_string(),
            "desiredCount": Self::lifecycle_count(&op, &instance),
            "reason": op.reason,
        });
        let target = op.target_count;
        self.transition(
            end,
            InstanceGuard::Keep,
            Some((audit, detail.clone())),
            Some((event, detail)),
            |inst, o| {
                if o.op_type == OperationType::Scale
                    && let Some(n) = target
                    && let Ok(count) = DesiredCount::parse(i64::from(n), 1)
                {
                    inst.desired_count = count;
                }
                inst.last_error = None;
                o.status = OperationStatus::Completed;
                o.completed_at = Some(now);
                o.message = format!("{} completed; the instance is {end}", o.op_type);
            },
        )
        .await?;
        tracing::info!(action = audit, tenant_id = %instance.tenant_id, instance_id = %instance.id, "lifecycle operation completed");
        Ok(self.op().await)
    }

    async fn lifecycle_failed(&self, failure: &StepFailure) -> Result<Operation> {
        self.end_failed(
            failure,
            failure.reason(),
            InstanceState::Failed,
            "INSTANCE_LIFECYCLE_FAILED",
            true,
        )
        .await
    }

    /// Ends the operation FAILED at the failure's step with `reason`, the instance moved to `to`
    /// (kept where it is when `to` is its state; `reason` its last error when `mark`), and
    /// `event` audited and published.
    async fn end_failed(
        &self,
        failure: &StepFailure,
        reason: FailureReason,
        to: InstanceState,
        event: &str,
        mark: bool,
    ) -> Result<Operation> {
        let op = self.op().await;
        let now = self.now();
        let step = failure.step;
        let msg = failure.error.to_string();
        let audit = json!({"operationId": op.id.to_string(), "type": op.op_type.as_str(),
                           "step": step.as_str(), "error": reason.message});
        self.transition(
            to,
            InstanceGuard::Keep,
            Some((event, audit.clone())),
            Some((event, audit)),
            |inst, o| {
                if mark {
                    inst.last_error = Some(reason.clone());
                }
                o.status = OperationStatus::Failed;
                o.error = Some(reason.clone());
                o.completed_at = Some(now);
                o.message.clone_from(&reason.message);
                if let Some(s) = o.step_mut(step) {
                    s.status = StepStatus::Failed;
                    s.error = Some(msg);
                    s.completed_at = Some(now);
                }
            },
        )
        .await?;
        Ok(self.op().await)
    }

    /// Deletes every object that may exist, in reverse creation order, continuing past failures.
    /// Returns the labels of what is left.
    async fn delete_all(&self, force_secrets: bool) -> Result<Vec<String>> {
        let mut left = Vec::new();
        let mut entries = self.entries();
        entries.reverse();
        for entry in entries {
            if !entry.status.may_exist() || entry.resource_type.is_archive() {
                continue;
            }
            let rt = entry.resource_type;
            self.set_entry(rt, LedgerStatus::Deleting, None, None)
                .await?;
            let id = match &entry.id {
                Some(id) => Ok(Some(id.clone())),
                None => match rt {
                    // Deleted by name or by host: no id needed.
                    ResourceType::CognitoGroups
                    | ResourceType::AlbPriority
                    | ResourceType::Database
                    | ResourceType::TaskDefinition
                    | ResourceType::EcsService
                    | ResourceType::ScalableTarget
                    | ResourceType::CognitoDomain => Ok(Some(entry.name.clone())),
                    _ => self.find(rt).await.map(|f| f.map(|r| r.id)),
                },
            };
            let outcome = match id {
                Ok(None) => Ok(()),
                Ok(Some(id)) => {
                    let mut e = entry.clone();
                    e.id = Some(id.clone());
                    self.delete(&e, &id, force_secrets).await
                }
                Err(e) => Err(e),
            };
            match outcome {
                Ok(()) => {
                    self.set_entry(rt, LedgerStatus::Deleted, None, None)
                        .await?;
                }
                Err(err) => {
                    tracing::error!(resource = %rt, error = %err, "delete failed; continuing");
                    let e = self
                        .set_entry(rt, LedgerStatus::Failed, None, Some(err.to_string()))
                        .await?;
                    left.push(e.label());
                }
            }
        }
        Ok(left)
    }

    async fn roll_back(&self, cause: FailureReason) -> Result<Operation> {
        let left = self.delete_all(true).await?;
        let now = self.now();
        let instance = self.instance().await;
        let op = self.op().await;
        let (reason, status) = if left.is_empty() {
            (cause.clone(), OperationStatus::RolledBack)
        } else {
            (
                FailureReason {
                    code: ErrorCode::ProvRollbackFailed,
                    message: format!(
                        "Rollback failed after: {}. Left behind (manual intervention needed): {}",
                        cause.message,
                        left.join(", ")
                    ),
                    resources: left.clone(),
                },
                OperationStatus::Failed,
            )
        };
        let event = json!({
            "eventType": "CLUSTER_CREATION_COMPLETE",
            "tenantId": instance.tenant_id.to_string(),
            "instanceId": instance.id.to_string(),
            "timestamp": now.to_string(),
            "status": "FAILED",
            "error": {"code": reason.code.as_str(), "message": reason.message},
            "correlationId": op.correlation_id,
        });
        let audit = json!({
            "operationId": op.id.to_string(),
            "code": reason.code.as_str(),
            "message": reason.message,
            "leftBehind": left,
        });
        let r = reason.clone();
        self.transition(
            InstanceState::Failed,
            InstanceGuard::Keep,
            Some(("INSTANCE_PROVISIONING_FAILED", audit)),
            Some(("CLUSTER_CREATION_COMPLETE", event)),
            move |inst, op| {
                inst.last_error = Some(r.clone());
                op.status = status;
                op.error = Some(r.clone());
                op.completed_at = Some(now);
                op.message.clone_from(&r.message);
                for s in &mut op.steps {
                    match s.status {
                        StepStatus::Done if status == OperationStatus::RolledBack => {
                            s.status = StepStatus::RolledBack;
                        }
                        StepStatus::Pending | StepStatus::Running => {
                            s.status = StepStatus::Skipped;
                        }
                        _ => {}
                    }
                }
            },
        )
        .await?;
        tracing::warn!(action = "PROVISION_INSTANCE", tenant_id = %instance.tenant_id, code = reason.code.as_str(), "provisioning failed");
        Ok(self.op().await)
    }

    // -----------------------------------------------------------------------------------------
    // Deprovisioning
    // -----------------------------------------------------------------------------------------

    async fn deprovision(&self) -> Result<Operation> {
        let instance = self.instance().await;
        match instance.state {
            InstanceState::PendingDeprovisioning => {
                self.transition(
                    InstanceState::Deprovisioning,
                    InstanceGuard::Keep,
                    Some(("INSTANCE_DEPROVISIONING_STARTED", json!({}))),
                    None,
                    |_, op| {
                        op.status = OperationStatus::InProgress;
                        "Deprovisioning".clone_into(&mut op.message);
                    },
                )
                .await?;
            }
            InstanceState::Deprovisioning => {}
            other => {
                return Err(other
                    .transition(InstanceState::Deprovisioning)
                    .err()
                    .unwrap_or_else(|| Error::Internal("unexpected state".into())));
            }
        }
        let op = self.op().await;
        let archive = op.deprovision.as_ref().is_none_or(|d| d.archive_data);

        for (step, rt, source) in [
            (
                StepName::ArchiveDatabase,
                ResourceType::DatabaseArchive,
                ResourceType::Database,
            ),
            (
                StepName::ArchiveFiles,
                ResourceType::FilesArchive,
                ResourceType::EfsAccessPoint,
            ),
        ] {
            if self.op().await.step_done(step) {
                continue;
            }
            let has_source = self.entry(source).is_some_and(|e| e.status.may_exist());
            if !archive || !has_source {
                self.step_status(step, StepStatus::Skipped, None, None)
                    .await?;
                continue;
            }
            self.step_status(step, StepStatus::Running, None, None)
                .await?;
            match self.ensure(rt).await {
                Ok(id) => {
                    self.step_status(step, StepStatus::Done, Some(id), None)
                        .await?;
                }
                Err(f) => {
                    // Nothing destructive has happened: stop here (BR-011).
                    self.step_status(step, StepStatus::Failed, None, Some(f.error.to_string()))
                        .await?;
                    return self.deprovision_failed(f.reason(), Vec::new()).await;
                }
            }
        }

        let step = StepName::DeleteResources;
        self.step_status(step, StepStatus::Running, None, None)
            .await?;
        let left = self.delete_all(false).await?;
        if !left.is_empty() {
            self.step_status(step, StepStatus::Failed, None, Some(left.join(", ")))
                .await?;
            let reason = FailureReason {
                code: ErrorCode::ProvRollbackFailed,
                message: format!(
                    "Deprovisioning stopped; left behind: {}. Deprovision again to resume",
                    left.join(", ")
                ),
                resources: left.clone(),
            };
            return self.deprovision_failed(reason, left).await;
        }
        self.step_status(step, StepStatus::Done, None, None).await?;

        let now = self.now();
        let instance = self.instance().await;
        let op = self.op().await;
        let archives: Vec<String> = self
            .entries()
            .into_iter()
            .filter(|e| e.resource_type.is_archive() && e.status == LedgerStatus::Created)
            .filter_map(|e| e.id)
            .collect();
        let event = json!({
            "eventType": "CLUSTER_DELETION_COMPLETE",
            "tenantId": instance.tenant_id.to_string(),
            "instanceId": instance.id.to_string(),
            "timestamp": now.to_string(),
            "status": "SUCCESS",
            "archives": archives,
            "correlationId": op.correlation_id,
        });
        self.transition(
            InstanceState::Deprovisioned,
            InstanceGuard::Release,
            Some((
                "INSTANCE_DEPROVISIONED",
                json!({"operationId": op.id.to_string(), "archives": archives, "reason": op.deprovision.as_ref().and_then(|d| d.reason.clone())}),
            )),
            Some(("CLUSTER_DELETION_COMPLETE", event)),
            |inst, op| {
                inst.deprovisioned_at = Some(now);
                inst.resources.clear();
                inst.last_error = None;
                op.status = OperationStatus::Completed;
                op.completed_at = Some(now);
                op.current_step = Some(StepName::FinaliseDeprovision);
                "Instance is DEPROVISIONED".clone_into(&mut op.message);
                if let Some(s) = op.step_mut(StepName::FinaliseDeprovision) {
                    s.status = StepStatus::Done;
                    s.started_at.get_or_insert(now);
                    s.completed_at = Some(now);
                }
            },
        )
        .await?;
        tracing::info!(action = "DEPROVISION_INSTANCE", tenant_id = %instance.tenant_id, instance_id = %instance.id, "instance deprovisioned");
        Ok(self.op().await)
    }

    async fn deprovision_failed(
        &self,
        reason: FailureReason,
        left: Vec<String>,
    ) -> Result<Operation> {
        let now = self.now();
        let op = self.op().await;
        let r = reason.clone();
        self.transition(
            InstanceState::Failed,
            InstanceGuard::Keep,
            Some((
                "INSTANCE_DEPROVISIONING_FAILED",
                json!({"operationId": op.id.to_string(), "code": reason.code.as_str(), "message": reason.message, "leftBehind": left}),
            )),
            None,
            move |inst, op| {
                inst.last_error = Some(r.clone());
                op.status = OperationStatus::Failed;
                op.error = Some(r.clone());
                op.completed_at = Some(now);
                op.message.clone_from(&r.message);
                for s in &mut op.steps {
                    if matches!(s.status, StepStatus::Pending | StepStatus::Running) {
                        s.status = StepStatus::Skipped;
                    }
                }
            },
        )
        .await?;
        Ok(self.op().await)
    }
}

/// Archives record their object key as the ARN, so a resumed run finds them again.
fn with_key(mut r: CloudResource, spec: &ArchiveSpec) -> CloudResource {
    r.arn = Some(spec.key.clone());
    r
}

/// The state an instance is in while a lifecycle operation runs, and the one it ends in.
pub(crate) const fn lifecycle_states(t: OperationType) -> (InstanceState, InstanceState) {
    match t {
        OperationType::Suspend => (InstanceState::Suspending, InstanceState::Suspended),
        OperationType::Park => (InstanceState::Parking, InstanceState::Parked),
        OperationType::Resume => (InstanceState::Resuming, InstanceState::Active),
        OperationType::Unpark => (InstanceState::Unparking, InstanceState::Active),
        OperationType::Scale => (InstanceState::Scaling, InstanceState::Active),
        _ => (InstanceState::Active, InstanceState::Active),
    }
}

/// The audit event and the published event of a completed lifecycle operation (LLD §5, 2.5 HLD).
const fn lifecycle_names(t: OperationType) -> (&'static str, &'static str) {
    match t {
        OperationType::Suspend => ("INSTANCE_SUSPENDED", "CLUSTER_SUSPEND_COMPLETE"),
        OperationType::Resume => ("INSTANCE_RESUMED", "CLUSTER_RESUME_COMPLETE"),
        OperationType::Park => ("INSTANCE_PARKED", "CLUSTER_PARK_COMPLETE"),
        OperationType::Unpark => ("INSTANCE_UNPARKED", "CLUSTER_UNPARK_COMPLETE"),
        OperationType::Scale => ("INSTANCE_SCALED", "INSTANCE_SCALED"),
        _ => ("INSTANCE_RESTARTED", "INSTANCE_RESTARTED"),
    }
}
