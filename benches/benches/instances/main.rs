//! What the provisioning engine itself costs: a whole provisioning (request →
//! `ProvisioningEngine::run` → ACTIVE) and a whole deprovisioning on the in-memory store, with a
//! cloud whose every call answers at once (`InstantCloud`, a bench double). What is left to
//! measure is the engine's own work: the resource ledger (an intent and a result per cloud
//! object), the operation's step and progress updates, the instance's transitions, their audit
//! and outbox records, each its own store transaction.
//!
//! `cargo bench -p bbws-benches --bench instances` (see `benches/README.md`).

mod instant_cloud;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bbws_core::auth::Actor;
use bbws_core::ids::{InstanceId, RandomIds, TenantId};
use bbws_core::instance::{
    DeprovisionOptions, InstanceCloud, InstanceDao, InstancePorts, InstanceService, InstanceState,
    LedgerDao, NewInstance, Operation, OperationStatus, PlatformConfig, ProvisioningEngine,
    TokioTimer,
};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, TenantPorts, TenantService, TenantStatus,
};
use bbws_core::time::SystemClock;
use criterion::{Criterion, criterion_group, criterion_main};
use tokio::runtime::Runtime;

use instant_cloud::InstantCloud;

const ADMIN: &str = "bench@example.com";

/// The in-memory store with the tenant service, the instance service and the engine on it.
struct Rig {
    store: Arc<EmbeddedStore>,
    tenants: TenantService,
    instances: InstanceService,
    engine: ProvisioningEngine,
    admin: Actor,
    names: AtomicU64,
}

impl Rig {
    fn new() -> Self {
        let store = Arc::new(EmbeddedStore::in_memory().expect("in-memory store"));
        let clock = Arc::new(SystemClock);
        let ids = Arc::new(RandomIds);
        let platform = PlatformConfig::defaults(Environment::Dev);
        let cloud = InstanceCloud::live(&Arc::new(InstantCloud), "instant bench double");
        Self {
            tenants: TenantService::new(TenantPorts::from_backend(
                &store,
                clock.clone(),
                ids.clone(),
            )),
            instances: InstanceService::new(
                InstancePorts {
                    instances: store.clone(),
                    tenants: store.clone(),
                    clock: clock.clone(),
                    ids: ids.clone(),
                },
                platform.clone(),
            ),
            engine: ProvisioningEngine::new(
                store.clone(),
                cloud,
                platform,
                clock,
                Arc::new(TokioTimer),
                ids,
            ),
            store,
            admin: Actor::local_admin(ADMIN),
            names: AtomicU64::new(0),
        }
    }

    /// A new ACTIVE tenant (instances need one).
    async fn active_tenant(&self) -> TenantId {
        let n = self.names.fetch_add(1, Ordering::Relaxed);
        let tenant = self
            .tenants
            .create(
                &self.admin,
                NewTenant {
                    organization_name: OrganizationName::parse(&format!("Instance Bench {n}"))
                        .expect("valid name"),
                    contact_email: Email::parse("ops@bench.example").expect("valid e-mail"),
                    environment: Environment::Dev,
                    division: None,
                    group: None,
                    team: None,
                    metadata: serde_json::Map::new(),
                },
                None,
            )
            .await
            .expect("tenant")
            .value;
        self.tenants
            .set_status(&self.admin, &tenant.id, TenantStatus::Active, None, None)
            .await
            .expect("tenant activated");
        tenant.id
    }

    /// Provisioning, accepted and run to its end.
    async fn provision(&self, tenant: &TenantId) -> (InstanceId, Operation) {
        let accepted = self
            .instances
            .request_provisioning(&self.admin, tenant, NewInstance::standard(), None)
            .await
            .expect("provisioning accepted")
            .value;
        let op = self
            .engine
            .run(&accepted.operation.id)
            .await
            .expect("the run ends");
        assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
        (accepted.instance.id, op)
    }

    /// Deprovisioning (with the archives), accepted and run to its end.
    async fn deprovision(&self, tenant: &TenantId, instance: &InstanceId) -> Operation {
        let accepted = self
            .instances
            .request_deprovisioning(
                &self.admin,
                tenant,
                instance,
                DeprovisionOptions {
                    archive_data: true,
                    reason: None,
                },
                None,
            )
            .await
            .expect("deprovisioning accepted")
            .value;
        let op = self
            .engine
            .run(&accepted.operation.id)
            .await
            .expect("the run ends");
        assert_eq!(op.status, OperationStatus::Completed, "{op:?}");
        op
    }
}

/// One untimed cycle first: both runs must complete, and what they stored is printed (the
/// writes the timed iterations repeat).
fn check_and_describe(rt: &Runtime, rig: &Rig) {
    rt.block_on(async {
        let tenant = rig.active_tenant().await;
        let (instance, prov) = rig.provision(&tenant).await;
        let active = rig
            .store
            .get_instance(&tenant, &instance)
            .await
            .expect("read")
            .expect("instance");
        assert_eq!(active.state, InstanceState::Active);
        let ledger = rig.store.ledger(&instance).await.expect("ledger").len();
        let active_version = active.version;
        let deprov = rig.deprovision(&tenant, &instance).await;
        let gone = rig
            .store
            .get_instance(&tenant, &instance)
            .await
            .expect("read")
            .expect("instance");
        assert_eq!(gone.state, InstanceState::Deprovisioned);
        println!(
            "one provisioning: {ledger} ledger entries, operation version {} ({} steps), \
             instance version {active_version}; one deprovisioning: operation version {} \
             ({} steps), instance version {} -> {}",
            prov.version,
            prov.steps.len(),
            deprov.version,
            deprov.steps.len(),
            active_version,
            gone.version,
        );
    });
}

fn bench_engine(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let rig = Rig::new();
    check_and_describe(&rt, &rig);

    let mut group = c.benchmark_group("instance");
    group
        .measurement_time(Duration::from_secs(10))
        .sample_size(30);

    // Timed: the request (202 + operation) and the run to ACTIVE. Not timed: the tenant.
    group.bench_function("provision", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let rig = &rig;
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let tenant = rig.active_tenant().await;
                    let start = Instant::now();
                    black_box(rig.provision(&tenant).await);
                    spent += start.elapsed();
                }
                spent
            }
        });
    });

    // Timed: the request and the run to DEPROVISIONED, archives included. Not timed: the
    // tenant and its provisioning.
    group.bench_function("deprovision", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let rig = &rig;
            async move {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    let tenant = rig.active_tenant().await;
                    let (instance, _) = rig.provision(&tenant).await;
                    let start = Instant::now();
                    black_box(rig.deprovision(&tenant, &instance).await);
                    spent += start.elapsed();
                }
                spent
            }
        });
    });
    group.finish();
}

criterion_group!(benches, bench_engine);
criterion_main!(benches);
