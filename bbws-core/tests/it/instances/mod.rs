//! Instances: the provisioning engine and `InstanceService` on the real embedded store, against
//! an in-memory cloud that keeps real state. Retries, timeouts and health waits run on tokio's
//! paused clock, so nothing really waits.

mod audit;
mod backup;
mod deprovision;
mod ecs_sync;
mod fake_cloud;
mod faults;
mod identity;
mod lifecycle;
mod logs;
mod plan;
mod provisioning;
mod resume;
mod service;
mod status_health;
mod tenant_events;
mod tenant_sync;
mod terraform;
mod update;
mod worker;

use std::sync::Arc;

use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{OperationId, RandomIds};
use bbws_core::instance::{
    Accepted, DeprovisionOptions, Instance, InstanceCloud, InstanceDao, InstancePorts,
    InstanceService, LedgerDao, LedgerEntry, LedgerStatus, NewInstance, Operation, PlatformConfig,
    ProvisioningEngine, TokioTimer,
};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{Environment, Tenant};

use crate::support::{Harness, platform_admin};
use fake_cloud::FakeCloud;

/// A tenant, an instance service and an engine on one store and one fake cloud.
#[derive(Debug)]
pub struct World {
    pub tenants: Harness,
    pub fake: Arc<FakeCloud>,
    pub engine: ProvisioningEngine,
    pub service: InstanceService,
    pub tenant: Tenant,
}

impl World {
    pub async fn new() -> Self {
        Self::on(EmbeddedStore::in_memory().expect("in-memory store opens")).await
    }

    pub async fn on(store: EmbeddedStore) -> Self {
        let tenants = Harness::on(store);
        let tenant = tenants.create_active("Acme Hosting").await;
        Self::with(tenants, tenant, FakeCloud::new())
    }

    pub fn with(tenants: Harness, tenant: Tenant, fake: Arc<FakeCloud>) -> Self {
        let config = PlatformConfig::defaults(Environment::Dev);
        let engine = ProvisioningEngine::new(
            tenants.store.clone(),
            InstanceCloud::live(&fake, "in-memory test cloud"),
            config.clone(),
            tenants.clock.clone(),
            Arc::new(TokioTimer),
            Arc::new(RandomIds),
        );
        let service = InstanceService::new(
            InstancePorts {
                instances: tenants.store.clone(),
                tenants: tenants.store.clone(),
                clock: tenants.clock.clone(),
                ids: Arc::new(RandomIds),
            },
            config,
        )
        .with_cloud(InstanceCloud::live(&fake, "in-memory test cloud"));
        Self {
            tenants,
            fake,
            engine,
            service,
            tenant,
        }
    }

    /// Accepts a STANDARD provisioning for the tenant.
    pub async fn request(&self) -> Accepted {
        self.service
            .request_provisioning(
                &platform_admin(),
                &self.tenant.id,
                NewInstance::standard(),
                None,
            )
            .await
            .expect("provisioning is accepted")
            .value
    }

    pub async fn request_with_key(&self, key: &str) -> bbws_core::Result<Accepted> {
        let key = IdempotencyKey::parse(key).expect("valid key");
        self.service
            .request_provisioning(
                &platform_admin(),
                &self.tenant.id,
                NewInstance::standard(),
                Some(&key),
            )
            .await
            .map(|c| c.value)
    }

    pub async fn run(&self, op: &OperationId) -> Operation {
        self.engine.run(op).await.expect("the run goes to its end")
    }

    /// Accepts and runs a provisioning; returns the instance and the finished operation.
    pub async fn provision(&self) -> (Instance, Operation) {
        let accepted = self.request().await;
        let op = self.run(&accepted.operation.id).await;
        (self.instance(&accepted.instance).await, op)
    }

    pub async fn deprovision(&self, instance: &Instance, archive: bool) -> Operation {
        let accepted = self
            .service
            .request_deprovisioning(
                &platform_admin(),
                &self.tenant.id,
                &instance.id,
                DeprovisionOptions {
                    archive_data: archive,
                    reason: Some("customer offboarding".to_owned()),
                },
                None,
            )
            .await
            .expect("deprovisioning is accepted")
            .value;
        self.run(&accepted.operation.id).await
    }

    /// The stored instance, fresh.
    pub async fn instance(&self, i: &Instance) -> Instance {
        self.tenants
            .store
            .get_instance(&i.tenant_id, &i.id)
            .await
            .expect("store readable")
            .expect("instance stored")
    }

    pub async fn ledger(&self, i: &Instance) -> Vec<LedgerEntry> {
        self.tenants
            .store
            .ledger(&i.id)
            .await
            .expect("ledger readable")
    }

    /// Entries that may still exist in the cloud (archives excepted).
    pub async fn not_deleted(&self, i: &Instance) -> Vec<LedgerEntry> {
        self.ledger(i)
            .await
            .into_iter()
            .filter(|e| e.status != LedgerStatus::Deleted && !e.resource_type.is_archive())
            .collect()
    }
}
