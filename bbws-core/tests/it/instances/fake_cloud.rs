//! An in-memory cloud that keeps real state (objects are created, found, listed and deleted), so
//! a test can assert that nothing is left behind. It enforces the AWS orderings the engine must
//! respect (a pool with a domain cannot be deleted; a target group used by a listener rule cannot
//! be deleted; a service needs a target group that a listener rule forwards to; archives need
//! their source), counts every create call and every object really created, and injects faults:
//! fail the Nth call of a kind of call for good or transiently, hang it, or "crash" right after
//! the object is created (the future never completes, as if the process died).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use bbws_core::instance::ports::{
    AccessPointSpec, AppClient, AppClientSpec, Archive, ArchiveSpec, AutoscalingSpec, Compute,
    DatabaseProvisioner, DatabaseSpec, DomainSpec, FileStorage, GroupSpec, Health, HealthProbe,
    HealthTarget, IdentityProvisioner, ListenerRuleSpec, LoadBalancer, ScalingBounds, SecretSpec,
    SecretStore, SecretValue, ServiceDeployment, ServiceRollout, ServiceSpec, ServiceStatus,
    ServiceTask, Tags, TargetGroupSpec, TargetHealth, TaskDefinitionSpec, UserPoolSpec,
};
use bbws_core::instance::ports::{
    ContainerLogs, LogEvent, LogEvents, LogFilter, MfaConfiguration, PasswordPolicy,
    PasswordPolicyChange, UserPoolSettings,
};
use bbws_core::instance::{
    CloudError, CloudResource, CloudResult, ResourceType, TAG_ENVIRONMENT, TAG_TENANT,
    TaggedInventory, TaggedResource,
};
use bbws_core::tenant::Environment;
use tokio::sync::Notify;

/// The kinds of objects (and of calls) the fake knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    UserPool,
    Domain,
    AppClient,
    Groups,
    Secret,
    Database,
    AccessPoint,
    /// The access point's directory on the shared file system (outlives the access point).
    Directory,
    TargetGroup,
    Priority,
    ListenerRule,
    TaskDefinition,
    Service,
    Autoscaling,
    Archive,
    Health,
    /// `UpdateService` (desired count, forced deployment) on an existing service.
    ServiceUpdate,
    /// `RegisterScalableTarget` on an existing target (bounds, suspension).
    ScalingUpdate,
    /// A restore of a database or a directory from an archive (`Op::Create`).
    Restore,
    /// `DescribeUserPool`, `UpdateUserPool` and `SetUserPoolMfaConfig` on an existing pool
    /// (`Op::Check` reads, `Op::Create` changes).
    PoolSettings,
    /// `FilterLogEvents` (`Op::Check`).
    Logs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Create,
    Delete,
    Check,
}

#[derive(Debug, Clone)]
pub enum FaultMode {
    /// A permanent error.
    Fail,
    /// A transient (throttling) error.
    Throttle,
    /// Never answers.
    Hang,
    /// Creates the object, then never answers, and signals the notifier.
    Crash(Arc<Notify>),
}

#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: Kind,
    pub op: Op,
    /// Which call (1-based) of that kind and op fails; `None` = every call.
    pub nth: Option<u32>,
    pub mode: FaultMode,
}

#[derive(Debug, Clone)]
pub struct Object {
    pub id: String,
    pub tags: Tags,
    /// A link: the pool of a domain/client/groups, the TG of a rule, ...
    pub parent: Option<String>,
}

#[derive(Debug, Default)]
struct State {
    objects: BTreeMap<(Kind, String), Object>,
    /// Create calls per kind (including repeats that returned an existing object).
    create_calls: BTreeMap<Kind, u32>,
    /// Objects really created per kind.
    created: BTreeMap<Kind, u32>,
    calls: BTreeMap<(Kind, u8), u32>,
    /// Every call in order: `"Create UserPool bbws-tenant-…"`.
    log: Vec<String>,
    faults: Vec<Fault>,
    seq: u64,
    /// Health answers to give, in order; then `Healthy`.
    health: Vec<Health>,
    /// Task definition revisions per family.
    revisions: BTreeMap<String, u32>,
    /// The desired count of each service, as last set by `UpdateService`.
    desired: BTreeMap<String, u32>,
    /// Forced deployments per service.
    deployments: BTreeMap<String, u32>,
    /// Each scalable target's `(min, max, suspended)`, as last registered.
    scaling: BTreeMap<String, (u32, u32, bool)>,
    /// The desired count each service was created with.
    created_desired: BTreeMap<String, u32>,
    /// Running tasks per service when a test says so; otherwise the service runs its desired
    /// count.
    running: BTreeMap<String, u32>,
    /// Target states per target group when a test says so; otherwise one healthy target per
    /// running task.
    targets: BTreeMap<String, Vec<String>>,
    /// Each user pool's password policy and MFA, by pool id.
    pools: BTreeMap<String, (PasswordPolicy, MfaConfiguration)>,
    /// Log events as `(group, stream, timestamp ms, message)`.
    logs: Vec<(String, String, i64, String)>,
    /// Every `FilterLogEvents` call, in order.
    log_filters: Vec<LogFilter>,
    /// At most this many events per `FilterLogEvents` answer, whatever the limit (CloudWatch
    /// answers short pages when a call hits its scan bounds).
    log_page_cap: Option<u32>,
    /// Continuation tokens are refused (they expired).
    log_tokens_expired: bool,
    /// Every task definition registered, in order.
    registered: Vec<TaskDefinitionSpec>,
    /// The revision each service runs: the one it was created with, then the one each rolling
    /// deployment moved it to.
    service_revision: BTreeMap<String, String>,
    /// Every rolling deployment asked for, in order.
    rollouts: Vec<ServiceRollout>,
    /// The next rolling deployment fails and the circuit breaker rolls it back.
    roll_back_next: bool,
    /// The revision whose deployment was rolled back, per service.
    rolled_back: BTreeMap<String, String>,
}

#[derive(Debug, Default)]
pub struct FakeCloud {
    state: Mutex<State>,
}

enum Gate {
    Go,
    Fail(CloudError),
    Hang,
    Crash(Arc<Notify>),
}

fn op_code(op: Op) -> u8 {
    match op {
        Op::Create => 0,
        Op::Delete => 1,
        Op::Check => 2,
    }
}

impl FakeCloud {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    fn st(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn inject(&self, fault: Fault) {
        self.st().faults.push(fault);
    }

    pub fn clear_faults(&self) {
        self.st().faults.clear();
    }

    pub fn script_health(&self, answers: Vec<Health>) {
        self.st().health = answers;
    }

    /// Every object that exists, as `(kind, name)`.
    pub fn objects(&self) -> Vec<(Kind, String, Object)> {
        self.st()
            .objects
            .iter()
            .map(|((k, n), o)| (*k, n.clone(), o.clone()))
            .collect()
    }

    /// Every object except archives.
    pub fn live(&self) -> Vec<(Kind, String)> {
        self.objects()
            .into_iter()
            .filter(|(k, _, _)| *k != Kind::Archive)
            .map(|(k, n, _)| (k, n))
            .collect()
    }

    pub fn archives(&self) -> Vec<String> {
        self.objects()
            .into_iter()
            .filter(|(k, _, _)| *k == Kind::Archive)
            .map(|(_, n, _)| n)
            .collect()
    }

    pub fn create_calls(&self, kind: Kind) -> u32 {
        self.st().create_calls.get(&kind).copied().unwrap_or(0)
    }

    pub fn created(&self, kind: Kind) -> u32 {
        self.st().created.get(&kind).copied().unwrap_or(0)
    }

    pub fn log(&self) -> Vec<String> {
        self.st().log.clone()
    }

    fn gate(&self, kind: Kind, op: Op, what: &str) -> Gate {
        let mut st = self.st();
        let n = {
            let c = st.calls.entry((kind, op_code(op))).or_insert(0);
            *c += 1;
            *c
        };
        if op == Op::Create {
            *st.create_calls.entry(kind).or_insert(0) += 1;
        }
        st.log.push(format!("{op:?} {kind:?} {what}"));
        let hit = st
            .faults
            .iter()
            .find(|f| f.kind == kind && f.op == op && f.nth.is_none_or(|k| k == n))
            .cloned();
        match hit.map(|f| f.mode) {
            None => Gate::Go,
            Some(FaultMode::Fail) => Gate::Fail(CloudError::permanent(
                "fake",
                &format!("{op:?}{kind:?}"),
                format!("injected failure on call {n}"),
            )),
            Some(FaultMode::Throttle) => Gate::Fail(CloudError::transient(
                "fake",
                &format!("{op:?}{kind:?}"),
                "ThrottlingException (injected)",
            )),
            Some(FaultMode::Hang) => Gate::Hang,
            Some(FaultMode::Crash(n)) => Gate::Crash(n),
        }
    }

    /// Runs a create: the gate, then find-or-create by name.
    async fn create(
        &self,
        kind: Kind,
        name: &str,
        tags: &Tags,
        parent: Option<String>,
        check: impl FnOnce(&State) -> CloudResult<()>,
    ) -> CloudResult<CloudResource> {
        let crash = match self.gate(kind, Op::Create, name) {
            Gate::Go => None,
            Gate::Fail(e) => return Err(e),
            Gate::Hang => return std::future::pending().await,
            Gate::Crash(n) => Some(n),
        };
        let res = {
            let mut st = self.st();
            if let Some(o) = st.objects.get(&(kind, name.to_owned())) {
                CloudResource::new(o.id.clone())
            } else {
                check(&st)?;
                st.seq += 1;
                let id = format!("{kind:?}-{}", st.seq).to_lowercase();
                st.objects.insert(
                    (kind, name.to_owned()),
                    Object {
                        id: id.clone(),
                        tags: tags.clone(),
                        parent,
                    },
                );
                *st.created.entry(kind).or_insert(0) += 1;
                CloudResource::new(id)
            }
        };
        if let Some(n) = crash {
            n.notify_one();
            return std::future::pending().await;
        }
        Ok(res)
    }

    async fn delete_where(
        &self,
        kind: Kind,
        what: &str,
        pred: impl Fn(&str, &Object) -> bool,
        check: impl FnOnce(&State, Option<&Object>) -> CloudResult<()>,
    ) -> CloudResult<()> {
        let crash = match self.gate(kind, Op::Delete, what) {
            Gate::Go => None,
            Gate::Fail(e) => return Err(e),
            Gate::Hang => return std::future::pending().await,
            Gate::Crash(n) => Some(n),
        };
        {
            let mut st = self.st();
            let key = st
                .objects
                .iter()
                .find(|((k, n), o)| *k == kind && pred(n, o))
                .map(|(k, _)| k.clone());
            let obj = key.as_ref().and_then(|k| st.objects.get(k)).cloned();
            check(&st, obj.as_ref())?;
            if let Some(k) = key {
                st.objects.remove(&k);
            }
        }
        if let Some(n) = crash {
            n.notify_one();
            return std::future::pending().await;
        }
        Ok(())
    }

    /// A read: the gate (faults on `Op::Check` of the kind), then `Ok`.
    async fn read_gate(&self, kind: Kind, what: &str) -> CloudResult<()> {
        match self.gate(kind, Op::Check, what) {
            Gate::Go => Ok(()),
            Gate::Fail(e) => Err(e),
            Gate::Hang | Gate::Crash(_) => std::future::pending().await,
        }
    }

    /// The service's desired count now: as last updated, else as created.
    fn desired_now(st: &State, name: &str) -> u32 {
        st.desired
            .get(name)
            .or_else(|| st.created_desired.get(name))
            .copied()
            .unwrap_or(0)
    }

    /// From now on the service runs `n` tasks whatever its desired count.
    pub fn set_running(&self, service: &str, n: u32) {
        self.st().running.insert(service.to_owned(), n);
    }

    /// From now on the target group's targets are in these states.
    pub fn set_targets(&self, target_group_id: &str, states: &[&str]) {
        self.st().targets.insert(
            target_group_id.to_owned(),
            states.iter().map(|s| (*s).to_owned()).collect(),
        );
    }

    fn find(&self, kind: Kind, name: &str) -> Option<CloudResource> {
        self.st()
            .objects
            .get(&(kind, name.to_owned()))
            .map(|o| CloudResource::new(o.id.clone()))
    }

    fn find_by_id(&self, kind: Kind, id: &str) -> Option<(String, Object)> {
        self.st()
            .objects
            .iter()
            .find(|((k, _), o)| *k == kind && o.id == id)
            .map(|((_, n), o)| (n.clone(), o.clone()))
    }
}

fn refuse(action: &str, why: &str) -> CloudError {
    CloudError::permanent("fake", action, why)
}

#[async_trait]
impl IdentityProvisioner for FakeCloud {
    async fn create_user_pool(&self, spec: &UserPoolSpec) -> CloudResult<CloudResource> {
        let pool = self
            .create(Kind::UserPool, &spec.name, &spec.tags, None, |_| Ok(()))
            .await?;
        self.st()
            .pools
            .entry(pool.id.clone())
            .or_insert_with(|| (spec.password_policy.clone(), spec.mfa));
        Ok(pool)
    }
    async fn find_user_pool(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self.find(Kind::UserPool, name))
    }
    async fn delete_user_pool(&self, id: &str) -> CloudResult<()> {
        self.delete_where(
            Kind::UserPool,
            id,
            |_, o| o.id == id,
            |st, _| {
                let has_domain = st
                    .objects
                    .iter()
                    .any(|((k, _), o)| *k == Kind::Domain && o.parent.as_deref() == Some(id));
                if has_domain {
                    Err(refuse("DeleteUserPool", "the pool still has a domain"))
                } else {
                    Ok(())
                }
            },
        )
        .await?;
        // Clients and groups go with the pool.
        self.st().objects.retain(|(k, _), o| {
            !(matches!(k, Kind::AppClient | Kind::Groups) && o.parent.as_deref() == Some(id))
        });
        Ok(())
    }
    async fn create_domain(&self, spec: &DomainSpec) -> CloudResult<CloudResource> {
        let pool = spec.user_pool_id.clone();
        if self.find_by_id(Kind::UserPool, &pool).is_none() {
            return Err(refuse("CreateUserPoolDomain", "no such pool"));
        }
        self.create(Kind::Domain, &spec.prefix, &Tags::new(), Some(pool), |_| {
            Ok(())
        })
        .await
    }
    async fn find_domain(&self, prefix: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self.find(Kind::Domain, prefix))
    }
    async fn delete_domain(&self, _pool: &str, prefix: &str) -> CloudResult<()> {
        self.delete_where(Kind::Domain, prefix, |n, _| n == prefix, |_, _| Ok(()))
            .await
    }
    async fn create_app_client(&self, spec: &AppClientSpec) -> CloudResult<AppClient> {
        let r = self
            .create(
                Kind::AppClient,
                &spec.name,
                &Tags::new(),
                Some(spec.user_pool_id.clone()),
                |_| Ok(()),
            )
            .await?;
        Ok(AppClient {
            client_secret: SecretValue::new(format!("secret-of-{}", r.id)),
            client_id: r.id,
        })
    }
    async fn find_app_client(&self, _pool: &str, name: &str) -> CloudResult<Option<AppClient>> {
        Ok(self.find(Kind::AppClient, name).map(|r| AppClient {
            client_secret: SecretValue::new(format!("secret-of-{}", r.id)),
            client_id: r.id,
        }))
    }
    async fn delete_app_client(&self, _pool: &str, client_id: &str) -> CloudResult<()> {
        self.delete_where(
            Kind::AppClient,
            client_id,
            |_, o| o.id == client_id,
            |_, _| Ok(()),
        )
        .await
    }
    async fn create_groups(&self, pool: &str, _groups: &[GroupSpec]) -> CloudResult<()> {
        self.create(
            Kind::Groups,
            pool,
            &Tags::new(),
            Some(pool.to_owned()),
            |_| Ok(()),
        )
        .await
        .map(|_| ())
    }
    async fn delete_groups(&self, pool: &str, _names: &[String]) -> CloudResult<()> {
        self.delete_where(Kind::Groups, pool, |n, _| n == pool, |_, _| Ok(()))
            .await
    }
    async fn describe_user_pool(&self, id: &str) -> CloudResult<Option<UserPoolSettings>> {
        self.read_gate(Kind::PoolSettings, id).await?;
        let Some((name, _)) = self.find_by_id(Kind::UserPool, id) else {
            return Ok(None);
        };
        let st = self.st();
        let domain = st
            .objects
            .iter()
            .find(|((k, _), o)| *k == Kind::Domain && o.parent.as_deref() == Some(id))
            .map(|((_, n), _)| n.clone());
        let (password_policy, mfa) = st
            .pools
            .get(id)
            .cloned()
            .unwrap_or((PasswordPolicy::default(), MfaConfiguration::Off));
        Ok(Some(UserPoolSettings {
            id: id.to_owned(),
            arn: Some(format!("arn:fake:userpool/{id}")),
            name,
            domain,
            password_policy,
            mfa,
        }))
    }
    async fn update_password_policy(
        &self,
        id: &str,
        change: &PasswordPolicyChange,
    ) -> CloudResult<()> {
        self.change_pool(id, |(policy, _)| *policy = change.apply(policy))
            .await
    }
    async fn set_mfa_configuration(&self, id: &str, mfa: MfaConfiguration) -> CloudResult<()> {
        self.change_pool(id, |(_, m)| *m = mfa).await
    }
}

impl FakeCloud {
    /// A change of an existing pool's settings: the gate, then `apply`.
    async fn change_pool(
        &self,
        id: &str,
        apply: impl FnOnce(&mut (PasswordPolicy, MfaConfiguration)),
    ) -> CloudResult<()> {
        match self.gate(Kind::PoolSettings, Op::Create, id) {
            Gate::Go => {}
            Gate::Fail(e) => return Err(e),
            Gate::Hang | Gate::Crash(_) => return std::future::pending().await,
        }
        if self.find_by_id(Kind::UserPool, id).is_none() {
            return Err(refuse("UpdateUserPool", "ResourceNotFoundException"));
        }
        let mut st = self.st();
        let settings = st
            .pools
            .entry(id.to_owned())
            .or_insert((PasswordPolicy::default(), MfaConfiguration::Off));
        apply(settings);
        Ok(())
    }

    /// A pool's password policy and MFA as the fake keeps them.
    pub fn pool_settings(&self, id: &str) -> Option<(PasswordPolicy, MfaConfiguration)> {
        self.st().pools.get(id).cloned()
    }

    /// Writes events to a stream, as a task's awslogs driver would: `(timestamp ms, message)`.
    pub fn put_log_events(&self, group: &str, stream: &str, events: &[(i64, &str)]) {
        let mut st = self.st();
        for (t, m) in events {
            st.logs
                .push((group.to_owned(), stream.to_owned(), *t, (*m).to_owned()));
        }
    }

    /// Every `FilterLogEvents` call so far.
    pub fn log_filters(&self) -> Vec<LogFilter> {
        self.st().log_filters.clone()
    }

    /// From now on one `FilterLogEvents` answers at most `n` events.
    pub fn cap_log_pages(&self, n: u32) {
        self.st().log_page_cap = Some(n);
    }

    /// From now on every continuation token is refused, as CloudWatch refuses expired ones.
    pub fn expire_log_tokens(&self) {
        self.st().log_tokens_expired = true;
    }
}

/// `FilterLogEvents` over the events written with [`FakeCloud::put_log_events`]: the group's
/// streams under the prefix, within the window, oldest first; the token is the offset.
#[async_trait]
impl ContainerLogs for FakeCloud {
    async fn filter_events(&self, f: &LogFilter) -> CloudResult<LogEvents> {
        self.read_gate(Kind::Logs, &f.stream_prefix).await?;
        let mut st = self.st();
        st.log_filters.push(f.clone());
        let mut matching: Vec<LogEvent> = st
            .logs
            .iter()
            .filter(|(g, s, t, _)| {
                *g == f.log_group
                    && s.starts_with(&f.stream_prefix)
                    && (f.start_ms..=f.end_ms).contains(t)
            })
            .map(|(_, s, t, m)| LogEvent {
                timestamp_ms: *t,
                message: m.clone(),
                log_stream: s.clone(),
            })
            .collect();
        matching
            .sort_by(|a, b| (a.timestamp_ms, &a.log_stream).cmp(&(b.timestamp_ms, &b.log_stream)));
        let offset = match &f.next_token {
            None => 0,
            Some(t) => match t.strip_prefix("tok-").and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if !st.log_tokens_expired => n,
                _ => return Ok(LogEvents::TokenRejected),
            },
        };
        let take = f.limit.min(st.log_page_cap.unwrap_or(u32::MAX)) as usize;
        let events: Vec<LogEvent> = matching.iter().skip(offset).take(take).cloned().collect();
        let end = offset + events.len();
        Ok(LogEvents::Page {
            next_token: (end < matching.len()).then(|| format!("tok-{end}")),
            events,
        })
    }
}

#[async_trait]
impl SecretStore for FakeCloud {
    async fn create_secret(&self, spec: &SecretSpec) -> CloudResult<CloudResource> {
        self.create(Kind::Secret, &spec.name, &spec.tags, None, |_| Ok(()))
            .await
            .map(|r| CloudResource::new(format!("arn:secret:{}", spec.name)).with_arn(r.id))
    }
    async fn find_secret(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self
            .find(Kind::Secret, name)
            .map(|r| CloudResource::new(format!("arn:secret:{name}")).with_arn(r.id)))
    }
    async fn delete_secret(&self, id: &str, _force: bool) -> CloudResult<()> {
        let name = id.trim_start_matches("arn:secret:").to_owned();
        self.delete_where(Kind::Secret, id, |n, _| n == name, |_, _| Ok(()))
            .await
    }
}

#[async_trait]
impl DatabaseProvisioner for FakeCloud {
    async fn create_database(&self, spec: &DatabaseSpec) -> CloudResult<CloudResource> {
        let secret = spec.secret_arn.trim_start_matches("arn:secret:").to_owned();
        self.create(Kind::Database, &spec.database, &Tags::new(), None, |st| {
            if st.objects.contains_key(&(Kind::Secret, secret)) {
                Ok(())
            } else {
                Err(refuse(
                    "CreateDatabase",
                    "the credentials secret does not exist",
                ))
            }
        })
        .await
        .map(|_| CloudResource::new(spec.database.clone()))
    }
    async fn find_database(&self, database: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self
            .find(Kind::Database, database)
            .map(|_| CloudResource::new(database)))
    }
    async fn drop_database(&self, database: &str, _user: &str) -> CloudResult<()> {
        self.delete_where(
            Kind::Database,
            database,
            |n, _| n == database,
            |_, _| Ok(()),
        )
        .await
    }
    async fn list_databases(&self) -> CloudResult<Vec<String>> {
        Ok(self
            .objects()
            .into_iter()
            .filter(|(k, n, _)| *k == Kind::Database && n.starts_with("tenant_"))
            .map(|(_, n, _)| n)
            .collect())
    }
}

impl FakeCloud {
    /// Plants an object the engine did not make (a leftover, a hand-made copy), with tags.
    pub fn plant(&self, kind: Kind, name: &str, tags: Tags) -> String {
        let mut st = self.st();
        st.seq += 1;
        let id = format!("{kind:?}-{}", st.seq).to_lowercase();
        st.objects.insert(
            (kind, name.to_owned()),
            Object {
                id: id.clone(),
                tags,
                parent: None,
            },
        );
        id
    }

    /// Removes an object behind the engine's back.
    pub fn remove(&self, kind: Kind, name: &str) -> bool {
        self.st().objects.remove(&(kind, name.to_owned())).is_some()
    }
}

/// The fake's objects by their tags, as the tagging API lists them (every kind the fake tags is
/// listed). Ids stand for ARNs, except a task definition, listed per family at its latest
/// revision in ECS's ARN shape, and a scalable target, listed by its resource id (what the
/// ledger records).
#[async_trait]
impl TaggedInventory for FakeCloud {
    async fn tagged_resources(&self, environment: Environment) -> CloudResult<Vec<TaggedResource>> {
        let st = self.st();
        Ok(st
            .objects
            .iter()
            .filter(|(_, o)| {
                o.tags.contains_key(TAG_TENANT)
                    && o.tags.get(TAG_ENVIRONMENT).map(String::as_str) == Some(environment.as_str())
            })
            .filter_map(|((k, name), o)| {
                let t = match k {
                    Kind::UserPool => ResourceType::CognitoPool,
                    Kind::Secret => ResourceType::DbSecret,
                    Kind::AccessPoint => ResourceType::EfsAccessPoint,
                    Kind::TargetGroup => ResourceType::TargetGroup,
                    Kind::ListenerRule => ResourceType::ListenerRule,
                    Kind::TaskDefinition => ResourceType::TaskDefinition,
                    Kind::Service => ResourceType::EcsService,
                    Kind::Autoscaling => ResourceType::ScalableTarget,
                    _ => return None,
                };
                let arn = match k {
                    Kind::TaskDefinition => format!(
                        "arn:aws:ecs:fake:000000000000:task-definition/{name}:{}",
                        st.revisions.get(name).copied().unwrap_or(1)
                    ),
                    Kind::Autoscaling => name.clone(),
                    _ => o.id.clone(),
                };
                Some(TaggedResource {
                    arn,
                    kind: t.tagged_kind()?.to_owned(),
                    tags: o.tags.clone(),
                })
            })
            .collect())
    }

    fn visible_types(&self) -> Vec<ResourceType> {
        ResourceType::ALL
            .into_iter()
            .filter(|t| t.tagged_kind().is_some())
            .collect()
    }

    fn describe(&self) -> String {
        "the in-memory test cloud's tagged objects".to_owned()
    }
}

#[async_trait]
impl FileStorage for FakeCloud {
    async fn create_access_point(&self, spec: &AccessPointSpec) -> CloudResult<CloudResource> {
        let r = self
            .create(Kind::AccessPoint, &spec.name, &spec.tags, None, |_| Ok(()))
            .await?;
        // The root directory is created on the shared file system and outlives the AP.
        let mut st = self.st();
        st.objects
            .entry((Kind::Directory, spec.root_directory.clone()))
            .or_insert(Object {
                id: spec.root_directory.clone(),
                tags: Tags::new(),
                parent: None,
            });
        Ok(r)
    }
    async fn find_access_point(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self.find(Kind::AccessPoint, name))
    }
    async fn access_point_state(&self, id: &str) -> CloudResult<Option<String>> {
        self.read_gate(Kind::AccessPoint, id).await?;
        Ok(self
            .find_by_id(Kind::AccessPoint, id)
            .map(|_| "available".to_owned()))
    }
    async fn delete_access_point(&self, id: &str) -> CloudResult<()> {
        self.delete_where(Kind::AccessPoint, id, |_, o| o.id == id, |_, _| Ok(()))
            .await
    }
    async fn purge_directory(&self, root: &str) -> CloudResult<()> {
        self.delete_where(Kind::Directory, root, |n, _| n == root, |_, _| Ok(()))
            .await
    }
}

#[async_trait]
impl LoadBalancer for FakeCloud {
    async fn create_target_group(&self, spec: &TargetGroupSpec) -> CloudResult<CloudResource> {
        self.create(Kind::TargetGroup, &spec.name, &spec.tags, None, |_| Ok(()))
            .await
    }
    async fn find_target_group(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self.find(Kind::TargetGroup, name))
    }
    async fn delete_target_group(&self, arn: &str) -> CloudResult<()> {
        self.delete_where(
            Kind::TargetGroup,
            arn,
            |_, o| o.id == arn,
            |st, _| {
                let in_use = st.objects.iter().any(|((k, _), o)| {
                    *k == Kind::ListenerRule && o.parent.as_deref() == Some(arn)
                });
                if in_use {
                    Err(refuse(
                        "DeleteTargetGroup",
                        "ResourceInUse: a listener rule uses it",
                    ))
                } else {
                    Ok(())
                }
            },
        )
        .await
    }
    async fn target_health(&self, arn: &str) -> CloudResult<Option<Vec<TargetHealth>>> {
        self.read_gate(Kind::TargetGroup, arn).await?;
        if self.find_by_id(Kind::TargetGroup, arn).is_none() {
            return Ok(None);
        }
        let st = self.st();
        let states = st.targets.get(arn).cloned().unwrap_or_else(|| {
            // One healthy target per running task of the services behind the group.
            let running: u32 = st
                .objects
                .iter()
                .filter(|((k, _), o)| *k == Kind::Service && o.parent.as_deref() == Some(arn))
                .map(|((_, n), _)| {
                    st.running
                        .get(n)
                        .copied()
                        .unwrap_or_else(|| Self::desired_now(&st, n))
                })
                .sum();
            vec!["healthy".to_owned(); usize::try_from(running).unwrap_or(0)]
        });
        Ok(Some(
            states
                .into_iter()
                .enumerate()
                .map(|(i, state)| TargetHealth {
                    id: format!("10.0.0.{}", i + 1),
                    port: Some(80),
                    reason: (state != "healthy").then(|| "Target.FailedHealthChecks".to_owned()),
                    state,
                })
                .collect(),
        ))
    }
    async fn reserve_priority(&self, _listener: &str, host: &str) -> CloudResult<u32> {
        let r = self
            .create(Kind::Priority, host, &Tags::new(), None, |_| Ok(()))
            .await?;
        let n: u32 =
            r.id.rsplit('-')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1);
        Ok(100 * n)
    }
    async fn release_priority(&self, _listener: &str, host: &str) -> CloudResult<()> {
        self.delete_where(Kind::Priority, host, |n, _| n == host, |_, _| Ok(()))
            .await
    }
    async fn create_listener_rule(&self, spec: &ListenerRuleSpec) -> CloudResult<CloudResource> {
        let tg = spec.target_group_arn.clone();
        self.create(
            Kind::ListenerRule,
            &spec.host,
            &spec.tags,
            Some(tg.clone()),
            |st| {
                if st
                    .objects
                    .iter()
                    .any(|((k, _), o)| *k == Kind::TargetGroup && o.id == tg)
                {
                    Ok(())
                } else {
                    Err(refuse("CreateRule", "TargetGroupNotFound"))
                }
            },
        )
        .await
    }
    async fn find_listener_rule(
        &self,
        _listener: &str,
        host: &str,
    ) -> CloudResult<Option<CloudResource>> {
        Ok(self.find(Kind::ListenerRule, host))
    }
    async fn delete_listener_rule(&self, arn: &str) -> CloudResult<()> {
        self.delete_where(Kind::ListenerRule, arn, |_, o| o.id == arn, |_, _| Ok(()))
            .await
    }
}

#[async_trait]
impl Compute for FakeCloud {
    async fn register_task_definition(
        &self,
        spec: &TaskDefinitionSpec,
    ) -> CloudResult<CloudResource> {
        let r = self
            .create(Kind::TaskDefinition, &spec.family, &spec.tags, None, |_| {
                Ok(())
            })
            .await?;
        let rev = {
            let mut st = self.st();
            st.registered.push(spec.clone());
            let rev = st.revisions.entry(spec.family.clone()).or_insert(0);
            *rev += 1;
            *rev
        };
        Ok(CloudResource::new(format!("{}:{rev}", r.id)))
    }
    async fn find_task_definition(&self, family: &str) -> CloudResult<Option<CloudResource>> {
        let rev = self.st().revisions.get(family).copied().unwrap_or(0);
        Ok(self
            .find(Kind::TaskDefinition, family)
            .map(|r| CloudResource::new(format!("{}:{rev}", r.id))))
    }
    async fn deregister_task_definitions(&self, family: &str) -> CloudResult<()> {
        self.delete_where(
            Kind::TaskDefinition,
            family,
            |n, _| n == family,
            |_, _| Ok(()),
        )
        .await
    }
    async fn create_service(&self, spec: &ServiceSpec) -> CloudResult<CloudResource> {
        let tg = spec.target_group_arn.clone();
        let td = spec
            .task_definition_arn
            .split(':')
            .next()
            .unwrap_or_default()
            .to_owned();
        {
            let mut st = self.st();
            st.created_desired
                .entry(spec.name.clone())
                .or_insert(spec.desired_count);
            st.service_revision
                .entry(spec.name.clone())
                .or_insert_with(|| spec.task_definition_arn.clone());
        }
        self.create(
            Kind::Service,
            &spec.name,
            &spec.tags,
            Some(tg.clone()),
            |st| {
                let routed = st.objects.iter().any(|((k, _), o)| {
                    *k == Kind::ListenerRule && o.parent.as_deref() == Some(&tg)
                });
                let has_td = st
                    .objects
                    .iter()
                    .any(|((k, _), o)| *k == Kind::TaskDefinition && o.id == td);
                if !routed {
                    Err(refuse(
                        "CreateService",
                        "the target group has no associated load balancer",
                    ))
                } else if !has_td {
                    Err(refuse("CreateService", "no such task definition"))
                } else {
                    Ok(())
                }
            },
        )
        .await
    }
    async fn find_service(&self, _cluster: &str, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self.find(Kind::Service, name))
    }
    async fn describe_service(
        &self,
        _cluster: &str,
        name: &str,
    ) -> CloudResult<Option<ServiceStatus>> {
        self.read_gate(Kind::Service, name).await?;
        let st = self.st();
        let Some(o) = st.objects.get(&(Kind::Service, name.to_owned())) else {
            return Ok(None);
        };
        let desired = Self::desired_now(&st, name);
        let running = st.running.get(name).copied().unwrap_or(desired);
        let family = st.service_revision.get(name).cloned().unwrap_or_else(|| {
            st.objects
                .iter()
                .find(|((k, _), _)| *k == Kind::TaskDefinition)
                .map(|((_, n), td)| {
                    let rev = st.revisions.get(n).copied().unwrap_or(0);
                    format!("{}:{rev}", td.id)
                })
                .unwrap_or_default()
        });
        let rolled_back = st.rolled_back.get(name).map(|failed| ServiceDeployment {
            id: format!("ecs-svc/{}-failed", o.id),
            status: "INACTIVE".to_owned(),
            rollout_state: Some("FAILED".to_owned()),
            rollout_state_reason: Some(
                "ECS deployment circuit breaker: tasks failed to start.".to_owned(),
            ),
            task_definition: failed.clone(),
            desired_count: 0,
            running_count: 0,
            pending_count: 0,
        });
        let arn = format!("arn:aws:ecs:fake:service/{}", o.id);
        Ok(Some(ServiceStatus {
            arn,
            status: "ACTIVE".to_owned(),
            task_definition: family.clone(),
            desired_count: desired,
            running_count: running,
            pending_count: desired.saturating_sub(running),
            deployments: vec![ServiceDeployment {
                id: format!("ecs-svc/{}", o.id),
                status: "PRIMARY".to_owned(),
                rollout_state: Some(
                    if running == desired {
                        "COMPLETED"
                    } else {
                        "IN_PROGRESS"
                    }
                    .to_owned(),
                ),
                rollout_state_reason: None,
                task_definition: family.clone(),
                desired_count: desired,
                running_count: running,
                pending_count: desired.saturating_sub(running),
            }]
            .into_iter()
            .chain(rolled_back)
            .collect(),
            tasks: (1..=running)
                .map(|n| ServiceTask {
                    task_id: format!("task-{n}"),
                    last_status: "RUNNING".to_owned(),
                    health_status: Some("HEALTHY".to_owned()),
                    started_at: None,
                    cpu: Some("512".to_owned()),
                    memory: Some("1024".to_owned()),
                    task_definition: Some(family.clone()),
                })
                .collect(),
        }))
    }
    async fn delete_service(&self, _cluster: &str, name: &str) -> CloudResult<()> {
        self.delete_where(Kind::Service, name, |n, _| n == name, |_, _| Ok(()))
            .await
    }
    async fn register_autoscaling(&self, spec: &AutoscalingSpec) -> CloudResult<CloudResource> {
        let service = spec
            .resource_id
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_owned();
        self.create(
            Kind::Autoscaling,
            &spec.resource_id,
            &spec.tags,
            None,
            |st| {
                if st.objects.contains_key(&(Kind::Service, service)) {
                    Ok(())
                } else {
                    Err(refuse("RegisterScalableTarget", "no such service"))
                }
            },
        )
        .await
        .map(|_| CloudResource::new(spec.resource_id.clone()))
    }
    async fn find_autoscaling(&self, resource_id: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self
            .find(Kind::Autoscaling, resource_id)
            .map(|_| CloudResource::new(resource_id)))
    }
    async fn deregister_autoscaling(&self, resource_id: &str) -> CloudResult<()> {
        self.delete_where(
            Kind::Autoscaling,
            resource_id,
            |n, _| n == resource_id,
            |_, _| Ok(()),
        )
        .await
    }
    async fn set_desired_count(&self, _cluster: &str, name: &str, desired: u32) -> CloudResult<()> {
        self.update(Kind::ServiceUpdate, Kind::Service, name, |st| {
            st.desired.insert(name.to_owned(), desired);
        })
        .await
    }
    async fn force_new_deployment(&self, _cluster: &str, name: &str) -> CloudResult<()> {
        self.update(Kind::ServiceUpdate, Kind::Service, name, |st| {
            *st.deployments.entry(name.to_owned()).or_insert(0) += 1;
        })
        .await
    }
    async fn deploy_revision(&self, rollout: &ServiceRollout) -> CloudResult<()> {
        let crash = match self.gate(Kind::ServiceUpdate, Op::Create, &rollout.name) {
            Gate::Go => None,
            Gate::Fail(e) => return Err(e),
            Gate::Hang => return std::future::pending().await,
            Gate::Crash(n) => Some(n),
        };
        self.roll_out(rollout)?;
        if let Some(n) = crash {
            n.notify_one();
            return std::future::pending().await;
        }
        Ok(())
    }
    async fn set_autoscaling(&self, b: &ScalingBounds) -> CloudResult<()> {
        self.update(
            Kind::ScalingUpdate,
            Kind::Autoscaling,
            &b.resource_id,
            |st| {
                st.scaling.insert(
                    b.resource_id.clone(),
                    (b.min_capacity, b.max_capacity, b.suspended),
                );
            },
        )
        .await
    }
}

impl FakeCloud {
    /// `UpdateService(taskDefinition)`: the service moves onto the revision, or, when a test
    /// asked for it, the circuit breaker rolls it back and it stays where it was.
    fn roll_out(&self, rollout: &ServiceRollout) -> CloudResult<()> {
        let mut st = self.st();
        if !st
            .objects
            .contains_key(&(Kind::Service, rollout.name.clone()))
        {
            return Err(refuse("UpdateService", "ServiceNotFoundException"));
        }
        let (family_id, rev) = rollout
            .task_definition_arn
            .split_once(':')
            .unwrap_or((rollout.task_definition_arn.as_str(), ""));
        let known = st.objects.iter().any(|((k, n), o)| {
            *k == Kind::TaskDefinition
                && o.id == family_id
                && rev
                    .parse::<u32>()
                    .is_ok_and(|r| r >= 1 && r <= st.revisions.get(n).copied().unwrap_or(0))
        });
        if !known {
            return Err(refuse(
                "UpdateService",
                "ClientException: no such task definition revision",
            ));
        }
        st.rollouts.push(rollout.clone());
        if std::mem::take(&mut st.roll_back_next) {
            st.rolled_back
                .insert(rollout.name.clone(), rollout.task_definition_arn.clone());
        } else {
            st.service_revision
                .insert(rollout.name.clone(), rollout.task_definition_arn.clone());
        }
        Ok(())
    }

    /// A change to an existing object: the gate, then `apply`, or a refusal when it is gone.
    async fn update(
        &self,
        call: Kind,
        of: Kind,
        name: &str,
        apply: impl FnOnce(&mut State),
    ) -> CloudResult<()> {
        match self.gate(call, Op::Create, name) {
            Gate::Go => {}
            Gate::Fail(e) => return Err(e),
            Gate::Hang | Gate::Crash(_) => return std::future::pending().await,
        }
        let mut st = self.st();
        if !st.objects.contains_key(&(of, name.to_owned())) {
            return Err(refuse("Update", "the object does not exist"));
        }
        apply(&mut st);
        Ok(())
    }

    /// The desired count `UpdateService` last set on a service, if any.
    pub fn desired(&self, service: &str) -> Option<u32> {
        self.st().desired.get(service).copied()
    }

    /// How many forced deployments a service had.
    pub fn deployments(&self, service: &str) -> u32 {
        self.st().deployments.get(service).copied().unwrap_or(0)
    }

    /// Every task definition registered so far, in order.
    pub fn registered(&self) -> Vec<TaskDefinitionSpec> {
        self.st().registered.clone()
    }

    /// Every rolling deployment asked for so far, in order.
    pub fn rollouts(&self) -> Vec<ServiceRollout> {
        self.st().rollouts.clone()
    }

    /// The revision a service runs now.
    pub fn revision_of(&self, service: &str) -> Option<String> {
        self.st().service_revision.get(service).cloned()
    }

    /// The next rolling deployment fails its tasks, and the circuit breaker rolls the service
    /// back onto the revision it ran.
    pub fn roll_back_next_deployment(&self) {
        self.st().roll_back_next = true;
    }

    /// A scalable target's `(min, max, suspended)` as last registered by a lifecycle change.
    pub fn scaling(&self, resource_id: &str) -> Option<(u32, u32, bool)> {
        self.st().scaling.get(resource_id).copied()
    }
}

#[async_trait]
impl HealthProbe for FakeCloud {
    async fn check(&self, target: &HealthTarget) -> CloudResult<Health> {
        match self.gate(Kind::Health, Op::Check, &target.service_name) {
            Gate::Go => {}
            Gate::Fail(e) => return Err(e),
            Gate::Hang | Gate::Crash(_) => return std::future::pending().await,
        }
        let mut st = self.st();
        if !st
            .objects
            .contains_key(&(Kind::Service, target.service_name.clone()))
        {
            return Err(refuse("DescribeServices", "ServiceNotFoundException"));
        }
        if st.health.is_empty() {
            Ok(Health::Healthy)
        } else {
            Ok(st.health.remove(0))
        }
    }
}

#[async_trait]
impl Archive for FakeCloud {
    async fn archive_database(
        &self,
        database: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        let db = database.to_owned();
        let uri = format!("s3://{}/{}", spec.bucket, spec.key);
        self.create(Kind::Archive, &uri, &spec.tags, None, |st| {
            if st.objects.contains_key(&(Kind::Database, db)) {
                Ok(())
            } else {
                Err(refuse("mysqldump", "no such database"))
            }
        })
        .await
        .map(|_| CloudResource::new(uri.clone()))
    }
    async fn archive_files(
        &self,
        access_point_id: &str,
        root: &str,
        spec: &ArchiveSpec,
    ) -> CloudResult<CloudResource> {
        let ap = access_point_id.to_owned();
        let dir = root.to_owned();
        let uri = format!("s3://{}/{}", spec.bucket, spec.key);
        self.create(Kind::Archive, &uri, &spec.tags, None, |st| {
            let has_ap = st
                .objects
                .iter()
                .any(|((k, _), o)| *k == Kind::AccessPoint && o.id == ap);
            if has_ap && st.objects.contains_key(&(Kind::Directory, dir)) {
                Ok(())
            } else {
                Err(refuse("tar", "no such access point or directory"))
            }
        })
        .await
        .map(|_| CloudResource::new(uri.clone()))
    }
    async fn find_archive(&self, bucket: &str, key: &str) -> CloudResult<Option<CloudResource>> {
        let uri = format!("s3://{bucket}/{key}");
        Ok(self
            .find(Kind::Archive, &uri)
            .map(|_| CloudResource::new(uri)))
    }
    async fn restore_database(&self, database: &str, bucket: &str, key: &str) -> CloudResult<()> {
        self.restore(Kind::Database, database, &format!("s3://{bucket}/{key}"))
            .await
    }
    async fn restore_files(
        &self,
        _access_point_id: &str,
        root_directory: &str,
        bucket: &str,
        key: &str,
    ) -> CloudResult<()> {
        self.restore(
            Kind::Directory,
            root_directory,
            &format!("s3://{bucket}/{key}"),
        )
        .await
    }
}

impl FakeCloud {
    /// A restore into `target` from the archive at `uri`: both must exist.
    async fn restore(&self, kind: Kind, target: &str, uri: &str) -> CloudResult<()> {
        match self.gate(Kind::Restore, Op::Create, &format!("{target} from {uri}")) {
            Gate::Go => {}
            Gate::Fail(e) => return Err(e),
            Gate::Hang | Gate::Crash(_) => return std::future::pending().await,
        }
        let st = self.st();
        if !st.objects.contains_key(&(Kind::Archive, uri.to_owned())) {
            return Err(refuse("restore", "no such archive"));
        }
        if !st.objects.contains_key(&(kind, target.to_owned())) {
            return Err(refuse("restore", "no such database or directory"));
        }
        Ok(())
    }
}

/// `ListTagsForResource` on a service: the tags it was created with, found by the service name
/// at the end of the ARN; none for a service that does not exist.
#[async_trait]
impl bbws_core::instance::ServiceTags for FakeCloud {
    async fn service_tags(&self, service_arn: &str) -> CloudResult<Tags> {
        let name = service_arn.rsplit('/').next().unwrap_or_default();
        Ok(self
            .objects()
            .into_iter()
            .find(|(k, n, _)| *k == Kind::Service && n == name)
            .map(|(_, _, o)| o.tags)
            .unwrap_or_default())
    }
}
