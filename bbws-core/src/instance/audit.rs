//! The orphan and drift audit (digest 2.7 §5.3 "zero orphaned resources", §5.2 row 12): the
//! daily reconciliation of what the cloud holds for the platform's tenants against what the
//! store says they should hold.
//!
//! [`InstanceAudit::run`] reads, for one environment, every tenant with its instances and their
//! resource ledgers, then every object the [`TaggedInventory`] lists with the tenant tags, and
//! every database on the shared MySQL named like a tenant's ([`DatabaseProvisioner::list_databases`]).
//! The [`AuditReport`] it returns names:
//!
//! - **orphans**: tagged objects no instance holds: the tag names no tenant of the environment,
//!   the tenant has no instance that is not DEPROVISIONED, its live instance's ledger does not
//!   hold the object, or a ledger says the object was deleted and it is still there;
//! - **untracked databases**: tenant databases whose name no live instance's names claim;
//! - **drift**: ledger entries marked live (`active`) whose object is not there, for the types
//!   the inventory lists ([`TaggedInventory::visible_types`]) and for the database.
//!
//! What is expected and not a finding: archives in S3 (they outlive the instance); objects of a
//! kind the ledger does not track (ECS tasks carry their service's tags) while the tenant has a
//! live instance; a secret a deprovisioning deleted, within its recovery window
//! ([`SECRET_RECOVERY_WINDOW_DAYS`]: it still exists, scheduled for deletion, and is reported
//! as pending deletion). A tenant whose instance is being provisioned or deprovisioned, or whose
//! instances changed while the audit looked, is not judged (its objects come and go): it is
//! listed as in progress, so one stuck in such a state still shows.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::ids::{InstanceId, TenantId};
use crate::pagination::{Limit, PageRequest};
use crate::ports::TenantDao;
use crate::tenant::{Environment, TenantFilter};
use crate::time::{Clock, Timestamp};

use super::ledger::{LedgerEntry, LedgerStatus, ResourceType};
use super::model::Instance;
use super::naming::Names;
use super::ports::{
    DatabaseProvisioner, InstanceBackend, SECRET_RECOVERY_WINDOW_DAYS, TaggedInventory,
    TaggedResource,
};
use super::state::InstanceState;

/// The ports the audit reads.
#[derive(Debug, Clone)]
pub struct AuditPorts {
    pub instances: Arc<dyn InstanceBackend>,
    pub tenants: Arc<dyn TenantDao>,
    pub inventory: Arc<dyn TaggedInventory>,
    /// The shared MySQL (only [`DatabaseProvisioner::list_databases`] is called).
    pub databases: Arc<dyn DatabaseProvisioner>,
    pub clock: Arc<dyn Clock>,
}

/// The audit of one environment.
#[derive(Debug, Clone)]
pub struct InstanceAudit {
    ports: AuditPorts,
    environment: Environment,
}

/// Why a tagged object is an orphan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrphanReason {
    /// The `bbws:tenant-id` tag names no tenant of this environment.
    UnknownTenant,
    /// The tenant has no instance that is not DEPROVISIONED.
    NoLiveInstance,
    /// The tenant's live instance's ledger does not hold the object.
    NotInLedger { instance_id: InstanceId },
    /// A ledger marks the object deleted, yet it is still there.
    DeletedInLedger {
        instance_id: InstanceId,
        resource_type: ResourceType,
        deleted_at: Timestamp,
    },
}

impl OrphanReason {
    /// A stable code for scripts (`UNKNOWN_TENANT`, `NO_LIVE_INSTANCE`, `NOT_IN_LEDGER`,
    /// `DELETED_IN_LEDGER`).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::UnknownTenant => "UNKNOWN_TENANT",
            Self::NoLiveInstance => "NO_LIVE_INSTANCE",
            Self::NotInLedger { .. } => "NOT_IN_LEDGER",
            Self::DeletedInLedger { .. } => "DELETED_IN_LEDGER",
        }
    }

    /// One line for people.
    pub fn describe(&self) -> String {
        match self {
            Self::UnknownTenant => "no tenant of this environment has this id".to_owned(),
            Self::NoLiveInstance => {
                "the tenant has no instance that is not DEPROVISIONED".to_owned()
            }
            Self::NotInLedger { instance_id } => {
                format!("not in the ledger of the tenant's instance {instance_id}")
            }
            Self::DeletedInLedger {
                instance_id,
                resource_type,
                deleted_at,
            } => format!(
                "{resource_type} of instance {instance_id}, deleted in the ledger at {deleted_at}"
            ),
        }
    }
}

/// A tagged object no instance holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Orphan {
    pub arn: String,
    /// As the inventory names it ([`TaggedResource::kind`]).
    pub kind: String,
    /// The `bbws:tenant-id` tag as found (empty when missing).
    pub tenant: String,
    pub reason: OrphanReason,
}

/// A tenant database no live instance claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UntrackedDatabase {
    pub name: String,
    /// The DEPROVISIONED instance whose names include it (its drop did not happen), if any.
    pub deprovisioned: Option<(TenantId, InstanceId)>,
}

/// A live ledger entry whose object is not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Drift {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub state: InstanceState,
    pub resource_type: ResourceType,
    /// The deterministic name (§4.2).
    pub name: String,
    /// The id or ARN the ledger recorded.
    pub id: Option<String>,
}

/// An object a deprovisioning deleted that still exists within its recovery window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingDeletion {
    pub arn: String,
    pub kind: String,
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub resource_type: ResourceType,
    pub deleted_at: Timestamp,
    /// When it should be gone; still there after that, it is an orphan.
    pub gone_by: Timestamp,
}

/// An instance whose resources were changing while the audit looked: its tenant was not judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InProgress {
    pub tenant_id: TenantId,
    pub instance_id: InstanceId,
    pub state: InstanceState,
}

/// What the audit found in one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditReport {
    pub environment: Environment,
    /// When the audit started.
    pub at: Timestamp,
    /// What was looked at ([`TaggedInventory::describe`]).
    pub source: String,
    /// Tenants, instances, tagged objects and tenant databases seen.
    pub tenants: usize,
    pub instances: usize,
    pub resources: usize,
    pub databases: usize,
    pub orphans: Vec<Orphan>,
    pub untracked_databases: Vec<UntrackedDatabase>,
    pub drift: Vec<Drift>,
    pub pending_deletion: Vec<PendingDeletion>,
    pub in_progress: Vec<InProgress>,
    /// Ledger types with tags that the inventory does not list: their drift is not judged.
    pub unchecked_types: Vec<ResourceType>,
}

impl AuditReport {
    /// Orphans, untracked databases and drift: what needs someone's attention.
    pub fn findings(&self) -> usize {
        self.orphans.len() + self.untracked_databases.len() + self.drift.len()
    }

    /// Nothing needs attention.
    pub fn is_clean(&self) -> bool {
        self.findings() == 0
    }
}

/// An instance and its ledger, as read.
#[derive(Debug, Clone)]
struct Held {
    instance: Instance,
    ledger: Vec<LedgerEntry>,
}

/// Everything the audit read, for [`reconcile`].
#[derive(Debug, Clone)]
struct Observed {
    environment: Environment,
    at: Timestamp,
    source: String,
    /// Every tenant of the environment with its instances (of the environment).
    tenants: BTreeMap<TenantId, Vec<Held>>,
    /// Tenants whose instances changed between the reads (or that appeared): not judged.
    settling: BTreeMap<TenantId, Vec<Instance>>,
    resources: Vec<TaggedResource>,
    databases: Vec<String>,
    visible: Vec<ResourceType>,
}

/// Provisioning or deprovisioning: objects are being created or deleted.
const fn in_flux(state: InstanceState) -> bool {
    matches!(
        state,
        InstanceState::PendingProvisioning
            | InstanceState::Committing
            | InstanceState::WorkflowQueued
            | InstanceState::WorkflowRunning
            | InstanceState::Provisioning
            | InstanceState::PendingDeprovisioning
            | InstanceState::Deprovisioning
    )
}

/// How long an object of this type may still exist after its deletion: a secret is only
/// scheduled for deletion by a deprovisioning.
fn deletion_window(t: ResourceType) -> Option<Duration> {
    matches!(t, ResourceType::DbSecret | ResourceType::CognitoSecret)
        .then(|| Duration::from_hours(24 * u64::from(SECRET_RECOVERY_WINDOW_DAYS)))
}

/// The task definition family of an ECS task definition ARN (`…:task-definition/{family}:{rev}`).
fn task_family(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once("task-definition/")?;
    rest.split(':').next()
}

/// Whether the ledger entry stands for this object: same kind, and the recorded id or ARN is the
/// object's ARN or its last path segment (pool ids, access point ids); a task definition entry
/// stands for every revision of its family (a retried registration leaves older ones).
fn holds(e: &LedgerEntry, r: &TaggedResource) -> bool {
    if e.resource_type.tagged_kind() != Some(r.kind.as_str()) {
        return false;
    }
    let last = r.arn.rsplit_once('/').map(|(_, id)| id);
    let by_id = [e.id.as_deref(), e.arn.as_deref()]
        .into_iter()
        .flatten()
        .any(|id| id == r.arn || Some(id) == last);
    by_id
        || (e.resource_type == ResourceType::TaskDefinition
            && task_family(&r.arn) == Some(e.name.as_str()))
}

/// An entry that may stand for an object whose id the ledger never learned (the create call was
/// cut short): an object of its kind is taken to be that one.
fn may_hold_unknown(e: &LedgerEntry, r: &TaggedResource) -> bool {
    e.id.is_none()
        && e.arn.is_none()
        && !matches!(e.status, LedgerStatus::Created | LedgerStatus::Deleted)
        && e.resource_type.tagged_kind() == Some(r.kind.as_str())
}

/// Archives (S3) outlive the instance.
fn is_archive_kind(kind: &str) -> bool {
    kind == "s3" || kind.starts_with("s3:")
}

/// Whether any ledger type is listed under this kind.
fn tracked_kind(kind: &str) -> bool {
    ResourceType::ALL
        .into_iter()
        .any(|t| t.tagged_kind() == Some(kind))
}

/// The findings from what was read: no I/O.
#[allow(clippy::too_many_lines)]
fn reconcile(o: &Observed) -> AuditReport {
    let mut report = AuditReport {
        environment: o.environment,
        at: o.at,
        source: o.source.clone(),
        tenants: o.tenants.len(),
        instances: o.tenants.values().map(Vec::len).sum(),
        resources: o.resources.len(),
        databases: o.databases.len(),
        orphans: Vec::new(),
        untracked_databases: Vec::new(),
        drift: Vec::new(),
        pending_deletion: Vec::new(),
        in_progress: Vec::new(),
        unchecked_types: ResourceType::ALL
            .into_iter()
            .filter(|t| t.tagged_kind().is_some() && !o.visible.contains(t))
            .collect(),
    };

    // Tenants not judged: an instance mid-operation, or instances that changed while we looked.
    let mut busy: BTreeSet<TenantId> = BTreeSet::new();
    for (tenant, held) in &o.tenants {
        for h in held.iter().filter(|h| in_flux(h.instance.state)) {
            busy.insert(*tenant);
            report.in_progress.push(InProgress {
                tenant_id: *tenant,
                instance_id: h.instance.id,
                state: h.instance.state,
            });
        }
    }
    for (tenant, now) in &o.settling {
        busy.insert(*tenant);
        for i in now {
            let listed = report
                .in_progress
                .iter()
                .any(|p| p.instance_id == i.id && p.state == i.state);
            if !listed {
                report.in_progress.push(InProgress {
                    tenant_id: *tenant,
                    instance_id: i.id,
                    state: i.state,
                });
            }
        }
    }

    // Orphans.
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    for r in &o.resources {
        if !seen.insert(r.arn.as_str()) || is_archive_kind(&r.kind) {
            continue;
        }
        let tenant = r.tenant_tag().and_then(|t| t.parse::<TenantId>().ok());
        if tenant.is_some_and(|t| busy.contains(&t)) {
            continue;
        }
        let orphan = |reason| Orphan {
            arn: r.arn.clone(),
            kind: r.kind.clone(),
            tenant: r.tenant_tag().unwrap_or_default().to_owned(),
            reason,
        };
        let Some((tenant_id, held)) = tenant.and_then(|t| o.tenants.get(&t).map(|h| (t, h))) else {
            report.orphans.push(orphan(OrphanReason::UnknownTenant));
            continue;
        };
        let live: Vec<&Held> = held
            .iter()
            .filter(|h| h.instance.state != InstanceState::Deprovisioned)
            .collect();
        let claimed = live.iter().any(|h| {
            h.ledger
                .iter()
                .any(|e| e.status.may_exist() && (holds(e, r) || may_hold_unknown(e, r)))
        });
        if claimed || (!live.is_empty() && !tracked_kind(&r.kind)) {
            continue;
        }
        let deleted = held
            .iter()
            .flat_map(|h| h.ledger.iter().map(move |e| (h, e)))
            .filter(|(_, e)| e.status == LedgerStatus::Deleted && holds(e, r))
            .max_by_key(|(_, e)| e.updated_at);
        if let Some((h, e)) = deleted {
            if let Some(window) = deletion_window(e.resource_type) {
                let gone_by = e.updated_at.plus(window);
                if o.at < gone_by {
                    report.pending_deletion.push(PendingDeletion {
                        arn: r.arn.clone(),
                        kind: r.kind.clone(),
                        tenant_id,
                        instance_id: h.instance.id,
                        resource_type: e.resource_type,
                        deleted_at: e.updated_at,
                        gone_by,
                    });
                    continue;
                }
            }
            report.orphans.push(orphan(OrphanReason::DeletedInLedger {
                instance_id: h.instance.id,
                resource_type: e.resource_type,
                deleted_at: e.updated_at,
            }));
        } else if let Some(h) = live.first() {
            report.orphans.push(orphan(OrphanReason::NotInLedger {
                instance_id: h.instance.id,
            }));
        } else {
            report.orphans.push(orphan(OrphanReason::NoLiveInstance));
        }
    }

    // Drift.
    let databases: BTreeSet<&str> = o.databases.iter().map(String::as_str).collect();
    for (tenant, held) in &o.tenants {
        if busy.contains(tenant) {
            continue;
        }
        for h in held {
            for e in h
                .ledger
                .iter()
                .filter(|e| e.status == LedgerStatus::Created && !e.resource_type.is_archive())
            {
                let missing = if e.resource_type == ResourceType::Database {
                    !databases.contains(e.name.as_str())
                } else if e.resource_type.tagged_kind().is_some()
                    && o.visible.contains(&e.resource_type)
                {
                    !o.resources.iter().any(|r| holds(e, r))
                } else {
                    false
                };
                if missing {
                    report.drift.push(Drift {
                        tenant_id: *tenant,
                        instance_id: h.instance.id,
                        state: h.instance.state,
                        resource_type: e.resource_type,
                        name: e.name.clone(),
                        id: e.arn.clone().or_else(|| e.id.clone()),
                    });
                }
            }
        }
    }

    // Untracked databases: every instance that is not DEPROVISIONED claims its database's name
    // (names are deterministic, so an instance mid-operation claims it too).
    let all = o
        .tenants
        .values()
        .flatten()
        .map(|h| &h.instance)
        .chain(o.settling.values().flatten());
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    let mut previous: BTreeMap<String, (TenantId, InstanceId, Timestamp)> = BTreeMap::new();
    for i in all {
        let db = Names::new(&i.resource_key, i.environment).database;
        if i.state == InstanceState::Deprovisioned {
            let when = i.deprovisioned_at.unwrap_or(i.updated.at);
            let newer = previous.get(&db).is_none_or(|(_, _, at)| *at < when);
            if newer {
                previous.insert(db, (i.tenant_id, i.id, when));
            }
        } else {
            claimed.insert(db);
        }
    }
    let mut listed: Vec<&String> = o.databases.iter().collect();
    listed.sort();
    listed.dedup();
    for db in listed {
        if !claimed.contains(db) {
            report.untracked_databases.push(UntrackedDatabase {
                name: db.clone(),
                deprovisioned: previous.get(db).map(|(t, i, _)| (*t, *i)),
            });
        }
    }

    report
        .orphans
        .sort_by(|a, b| (&a.tenant, &a.kind, &a.arn).cmp(&(&b.tenant, &b.kind, &b.arn)));
    report.pending_deletion.sort_by(|a, b| a.arn.cmp(&b.arn));
    report
        .in_progress
        .sort_by_key(|p| (p.tenant_id, p.instance_id));
    report
}

fn cloud_failed(what: &str, e: &impl std::fmt::Display) -> Error {
    Error::Internal(format!("the audit could not list {what}: {e}"))
}

impl InstanceAudit {
    pub fn new(ports: AuditPorts, environment: Environment) -> Self {
        Self { ports, environment }
    }

    pub fn environment(&self) -> Environment {
        self.environment
    }

    /// What the inventory looks at ([`TaggedInventory::describe`]).
    pub fn source(&self) -> String {
        self.ports.inventory.describe()
    }

    /// Every tenant of the environment with its instances of the environment, each with its
    /// ledger.
    async fn holdings(&self) -> Result<BTreeMap<TenantId, Vec<Held>>> {
        let filter = TenantFilter {
            environment: Some(self.environment),
            ..TenantFilter::all()
        };
        let mut page = PageRequest {
            limit: Limit::new(Limit::MAX)?,
            cursor: None,
        };
        let mut out = BTreeMap::new();
        loop {
            let got = self.ports.tenants.list_tenants(&filter, &page).await?;
            for t in got.items {
                let mut held = Vec::new();
                for instance in self.instances_of(&t.id).await? {
                    let ledger = self.ports.instances.ledger(&instance.id).await?;
                    held.push(Held { instance, ledger });
                }
                out.insert(t.id, held);
            }
            match got.next {
                Some(next) => page.cursor = Some(next),
                None => return Ok(out),
            }
        }
    }

    async fn instances_of(&self, tenant: &TenantId) -> Result<Vec<Instance>> {
        Ok(self
            .ports
            .instances
            .list_instances(tenant)
            .await?
            .into_iter()
            .filter(|i| i.environment == self.environment)
            .collect())
    }

    /// Reads the store, then the cloud, then the store's instances again (to leave alone the
    /// tenants whose instances changed meanwhile), and reconciles.
    pub async fn run(&self) -> Result<AuditReport> {
        let at = self.ports.clock.now();
        let tenants = self.holdings().await?;
        let resources = self
            .ports
            .inventory
            .tagged_resources(self.environment)
            .await
            .map_err(|e| cloud_failed("the tagged resources", &e))?;
        let databases = self
            .ports
            .databases
            .list_databases()
            .await
            .map_err(|e| cloud_failed("the tenant databases", &e))?;

        let mut settling = BTreeMap::new();
        for (tenant, held) in &tenants {
            let now = self.instances_of(tenant).await?;
            let before: Vec<(InstanceId, u64)> = held
                .iter()
                .map(|h| (h.instance.id, h.instance.version))
                .collect();
            let after: Vec<(InstanceId, u64)> = now.iter().map(|i| (i.id, i.version)).collect();
            if before != after {
                settling.insert(*tenant, now);
            }
        }
        // A tenant created while the audit looked has tagged objects but was not read.
        let unknown: BTreeSet<TenantId> = resources
            .iter()
            .filter_map(|r| r.tenant_tag().and_then(|t| t.parse::<TenantId>().ok()))
            .filter(|t| !tenants.contains_key(t))
            .collect();
        for tenant in unknown {
            if let Some(t) = self.ports.tenants.get_tenant(&tenant).await?
                && t.environment == self.environment
            {
                settling.insert(tenant, self.instances_of(&tenant).await?);
            }
        }

        Ok(reconcile(&Observed {
            environment: self.environment,
            at,
            source: self.ports.inventory.describe(),
            tenants,
            settling,
            resources,
            databases,
            visible: self.ports.inventory.visible_types(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::RandomIds;
    use crate::instance::model::NewInstance;
    use crate::instance::naming::{Component, tags};
    use crate::instance::values::ResourceKey;

    const T0: &str = "2025-06-01T00:00:00.000Z";

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn instance(tenant: TenantId, key: &str, state: InstanceState) -> Instance {
        let mut i = Instance::new(
            InstanceId::generate(&RandomIds),
            tenant,
            Environment::Dev,
            NewInstance {
                resource_key: Some(ResourceKey::parse(key).expect("key")),
                ..NewInstance::standard()
            },
            "wpdev.example",
            "test",
            at(T0),
        );
        i.state = state;
        i
    }

    fn entry(
        i: &Instance,
        t: ResourceType,
        id: Option<&str>,
        status: LedgerStatus,
        updated_at: &str,
    ) -> LedgerEntry {
        let names = Names::new(&i.resource_key, i.environment);
        let name = match t {
            ResourceType::Database => names.database,
            ResourceType::TaskDefinition => names.task_family,
            ResourceType::DbSecret => names.db_secret,
            _ => format!("{t}"),
        };
        LedgerEntry {
            tenant_id: i.tenant_id,
            instance_id: i.id,
            resource_type: t,
            name,
            id: id.map(str::to_owned),
            arn: None,
            status,
            seq: 0,
            error: None,
            updated_at: at(updated_at),
        }
    }

    fn tagged(i: &Instance, kind: &str, arn: &str) -> TaggedResource {
        TaggedResource {
            arn: arn.to_owned(),
            kind: kind.to_owned(),
            tags: tags(i, Component::Secrets),
        }
    }

    fn observed(held: Vec<Held>) -> Observed {
        let mut tenants: BTreeMap<TenantId, Vec<Held>> = BTreeMap::new();
        for h in held {
            tenants.entry(h.instance.tenant_id).or_default().push(h);
        }
        Observed {
            environment: Environment::Dev,
            at: at("2025-06-10T00:00:00.000Z"),
            source: "test inventory".to_owned(),
            tenants,
            settling: BTreeMap::new(),
            resources: Vec::new(),
            databases: Vec::new(),
            visible: ResourceType::ALL.to_vec(),
        }
    }

    fn tenant_id() -> TenantId {
        TenantId::generate(&RandomIds)
    }

    const SECRET: &str = "secretsmanager:secret";
    const TD: &str = "ecs:task-definition";

    #[test]
    fn an_instance_holding_all_it_lists_is_clean() {
        let i = instance(tenant_id(), "acme", InstanceState::Active);
        let arn = "arn:aws:secretsmanager:eu-west-1:1:secret:bbws/dev/tenant-acme/db-AbCdEf";
        let ledger = vec![
            entry(
                &i,
                ResourceType::DbSecret,
                Some(arn),
                LedgerStatus::Created,
                T0,
            ),
            entry(
                &i,
                ResourceType::Database,
                Some("tenant_acme_db"),
                LedgerStatus::Created,
                T0,
            ),
            entry(
                &i,
                ResourceType::EfsAccessPoint,
                Some("fsap-0123"),
                LedgerStatus::Created,
                T0,
            ),
            entry(
                &i,
                ResourceType::TaskDefinition,
                Some("arn:aws:ecs:eu-west-1:1:task-definition/tenant-acme-wordpress:3"),
                LedgerStatus::Created,
                T0,
            ),
        ];
        let mut o = observed(vec![Held {
            instance: i.clone(),
            ledger,
        }]);
        o.resources = vec![
            tagged(&i, SECRET, arn),
            // The access point by its ARN, the ledger holding its id.
            tagged(
                &i,
                "elasticfilesystem:access-point",
                "arn:aws:elasticfilesystem:eu-west-1:1:access-point/fsap-0123",
            ),
            // An older revision of the family, from a retried registration.
            tagged(
                &i,
                TD,
                "arn:aws:ecs:eu-west-1:1:task-definition/tenant-acme-wordpress:2",
            ),
            tagged(
                &i,
                TD,
                "arn:aws:ecs:eu-west-1:1:task-definition/tenant-acme-wordpress:3",
            ),
            // Running tasks carry their service's tags.
            tagged(&i, "ecs:task", "arn:aws:ecs:eu-west-1:1:task/dev/0abc"),
            // Archives stay.
            tagged(&i, "s3", "arn:aws:s3:::bbws-archives-dev"),
        ];
        o.databases = vec!["tenant_acme_db".to_owned()];
        let r = reconcile(&o);
        assert!(r.is_clean(), "{r:#?}");
        assert_eq!(
            (r.tenants, r.instances, r.resources, r.databases),
            (1, 1, 6, 1)
        );
        assert!(r.unchecked_types.is_empty());
    }

    #[test]
    fn objects_nobody_holds_are_orphans_with_their_reason() {
        let live = instance(tenant_id(), "live", InstanceState::Active);
        let gone = instance(tenant_id(), "gone", InstanceState::Deprovisioned);
        let stranger = instance(tenant_id(), "who", InstanceState::Active);
        let mut o = observed(vec![
            Held {
                instance: live.clone(),
                ledger: vec![entry(
                    &live,
                    ResourceType::TargetGroup,
                    Some("arn:tg/live"),
                    LedgerStatus::Created,
                    T0,
                )],
            },
            Held {
                instance: gone.clone(),
                ledger: Vec::new(),
            },
        ]);
        let mut untagged = tagged(&live, SECRET, "arn:secret:untagged");
        untagged.tags.remove(super::super::naming::TAG_TENANT);
        o.resources = vec![
            tagged(&live, "elasticloadbalancing:targetgroup", "arn:tg/live"),
            tagged(&live, "elasticloadbalancing:targetgroup", "arn:tg/extra"),
            tagged(&gone, SECRET, "arn:secret:gone"),
            tagged(&gone, "ecs:task", "arn:task:gone"),
            tagged(&stranger, "ecs:service", "arn:svc:who"),
            untagged,
        ];
        let r = reconcile(&o);
        let got: Vec<(&str, &str)> = r
            .orphans
            .iter()
            .map(|x| (x.arn.as_str(), x.reason.code()))
            .collect();
        let mut want = vec![
            ("arn:tg/extra", "NOT_IN_LEDGER"),
            ("arn:secret:gone", "NO_LIVE_INSTANCE"),
            ("arn:task:gone", "NO_LIVE_INSTANCE"),
            ("arn:svc:who", "UNKNOWN_TENANT"),
            ("arn:secret:untagged", "UNKNOWN_TENANT"),
        ];
        let mut got_sorted = got.clone();
        got_sorted.sort_unstable();
        want.sort_unstable();
        assert_eq!(got_sorted, want, "{r:#?}");
        assert_eq!(r.findings(), 5);
        let extra = r
            .orphans
            .iter()
            .find(|x| x.arn == "arn:tg/extra")
            .expect("extra");
        assert_eq!(
            extra.reason,
            OrphanReason::NotInLedger {
                instance_id: live.id
            }
        );
        assert_eq!(extra.tenant, live.tenant_id.to_string());
    }

    #[test]
    fn a_deleted_secret_waits_out_its_recovery_window_then_is_an_orphan() {
        let i = instance(tenant_id(), "old", InstanceState::Deprovisioned);
        let tg = entry(
            &i,
            ResourceType::TargetGroup,
            Some("arn:tg/old"),
            LedgerStatus::Deleted,
            "2025-06-09T00:00:00.000Z",
        );
        let secret = entry(
            &i,
            ResourceType::DbSecret,
            Some("arn:secret:old"),
            LedgerStatus::Deleted,
            "2025-06-09T00:00:00.000Z",
        );
        let mut o = observed(vec![Held {
            instance: i.clone(),
            ledger: vec![tg, secret],
        }]);
        o.resources = vec![
            tagged(&i, SECRET, "arn:secret:old"),
            tagged(&i, "elasticloadbalancing:targetgroup", "arn:tg/old"),
        ];
        let r = reconcile(&o);
        assert_eq!(r.pending_deletion.len(), 1, "{r:#?}");
        assert_eq!(r.pending_deletion[0].arn, "arn:secret:old");
        assert_eq!(
            r.pending_deletion[0].gone_by,
            at("2025-07-09T00:00:00.000Z")
        );
        assert_eq!(r.orphans.len(), 1, "{r:#?}");
        assert_eq!(r.orphans[0].arn, "arn:tg/old");
        assert_eq!(r.orphans[0].reason.code(), "DELETED_IN_LEDGER");

        o.at = at("2025-07-10T00:00:00.000Z");
        let r = reconcile(&o);
        assert!(r.pending_deletion.is_empty());
        assert_eq!(r.orphans.len(), 2, "{r:#?}");
    }

    #[test]
    fn live_entries_whose_object_is_gone_are_drift_for_visible_types_only() {
        let i = instance(tenant_id(), "drift", InstanceState::Active);
        let mut o = observed(vec![Held {
            instance: i.clone(),
            ledger: vec![
                entry(
                    &i,
                    ResourceType::DbSecret,
                    Some("arn:secret:d"),
                    LedgerStatus::Created,
                    T0,
                ),
                entry(
                    &i,
                    ResourceType::CognitoPool,
                    Some("pool-1"),
                    LedgerStatus::Created,
                    T0,
                ),
                entry(
                    &i,
                    ResourceType::Database,
                    Some("tenant_drift_db"),
                    LedgerStatus::Created,
                    T0,
                ),
                entry(
                    &i,
                    ResourceType::CognitoDomain,
                    Some("dom"),
                    LedgerStatus::Created,
                    T0,
                ),
                entry(
                    &i,
                    ResourceType::TargetGroup,
                    Some("arn:tg/d"),
                    LedgerStatus::Deleted,
                    T0,
                ),
                entry(
                    &i,
                    ResourceType::DatabaseArchive,
                    Some("s3://a/b"),
                    LedgerStatus::Created,
                    T0,
                ),
            ],
        }]);
        o.visible = vec![ResourceType::DbSecret, ResourceType::TargetGroup];
        let r = reconcile(&o);
        let drift: Vec<ResourceType> = r.drift.iter().map(|d| d.resource_type).collect();
        assert_eq!(
            drift,
            vec![ResourceType::DbSecret, ResourceType::Database],
            "{r:#?}"
        );
        assert_eq!(r.drift[0].id.as_deref(), Some("arn:secret:d"));
        assert!(r.unchecked_types.contains(&ResourceType::CognitoPool));
        assert!(!r.unchecked_types.contains(&ResourceType::Database));
    }

    #[test]
    fn databases_no_live_instance_claims_are_untracked() {
        let live = instance(tenant_id(), "live", InstanceState::Suspended);
        let gone = instance(tenant_id(), "gone", InstanceState::Deprovisioned);
        let mut o = observed(vec![
            Held {
                instance: live,
                ledger: Vec::new(),
            },
            Held {
                instance: gone.clone(),
                ledger: Vec::new(),
            },
        ]);
        o.databases = vec![
            "tenant_live_db".to_owned(),
            "tenant_gone_db".to_owned(),
            "tenant_stray_db".to_owned(),
        ];
        let r = reconcile(&o);
        assert_eq!(
            r.untracked_databases,
            vec![
                UntrackedDatabase {
                    name: "tenant_gone_db".to_owned(),
                    deprovisioned: Some((gone.tenant_id, gone.id)),
                },
                UntrackedDatabase {
                    name: "tenant_stray_db".to_owned(),
                    deprovisioned: None,
                },
            ]
        );
    }

    #[test]
    fn a_tenant_mid_operation_is_listed_not_judged() {
        let i = instance(tenant_id(), "busy", InstanceState::Provisioning);
        let mut o = observed(vec![Held {
            instance: i.clone(),
            ledger: vec![entry(
                &i,
                ResourceType::TargetGroup,
                Some("arn:tg/busy"),
                LedgerStatus::Created,
                T0,
            )],
        }]);
        o.resources = vec![tagged(&i, SECRET, "arn:secret:just-made")];
        o.databases = vec!["tenant_busy_db".to_owned()];
        let r = reconcile(&o);
        assert!(r.is_clean(), "{r:#?}");
        assert_eq!(
            r.in_progress,
            vec![InProgress {
                tenant_id: i.tenant_id,
                instance_id: i.id,
                state: InstanceState::Provisioning,
            }]
        );

        // The same tenant, seen ACTIVE, whose instance changed while the audit looked.
        let mut active = i.clone();
        active.state = InstanceState::Active;
        o.tenants.get_mut(&i.tenant_id).expect("tenant")[0].instance = active.clone();
        o.settling.insert(i.tenant_id, vec![active]);
        let r = reconcile(&o);
        assert!(r.is_clean(), "{r:#?}");
        assert_eq!(r.in_progress.len(), 1);
    }

    #[test]
    fn an_object_whose_id_the_ledger_never_learned_is_held_by_its_open_entry() {
        let i = instance(tenant_id(), "cut", InstanceState::Failed);
        let mut o = observed(vec![Held {
            instance: i.clone(),
            ledger: vec![entry(
                &i,
                ResourceType::DbSecret,
                None,
                LedgerStatus::Intent,
                T0,
            )],
        }]);
        o.resources = vec![tagged(&i, SECRET, "arn:secret:cut")];
        assert!(reconcile(&o).is_clean());
        o.resources.push(tagged(&i, "ecs:service", "arn:svc:cut"));
        assert_eq!(reconcile(&o).orphans.len(), 1);
    }

    #[test]
    fn task_families_come_from_task_definition_arns() {
        assert_eq!(
            task_family("arn:aws:ecs:r:1:task-definition/tenant-a-wordpress:12"),
            Some("tenant-a-wordpress")
        );
        assert_eq!(task_family("arn:aws:ecs:r:1:service/c/s"), None);
    }
}
