//! Choosing and opening a storage backend from configuration, for every frontend (the CLI, the
//! Lambda binaries, the Python module): one place decides what "the embedded store" or "DynamoDB"
//! means, so they all see the same data.
//!
//! Environment (LLD 2.5 §7.2, plus ours):
//!
//! | Variable | Meaning | Default |
//! |---|---|---|
//! | `BBWS_BACKEND` | `memory`, `embedded` or `dynamodb` | `dynamodb` when `DYNAMODB_TABLE` is set, else `embedded` |
//! | `ENVIRONMENT` | `dev`, `sit` or `prod` | `dev` |
//! | `DYNAMODB_TABLE` | the tenants table | `bbws-tenants-{env}` |
//! | `EVENT_BUS_NAME` | the EventBridge bus | `bbws-events-{env}` |
//! | `AWS_ENDPOINT_URL` | a local endpoint (moto) for every AWS client | AWS itself |
//! | `BBWS_DATA_DIR` | the embedded store's directory | `./bbws-data` |
//!
//! Region and credentials come from the SDK's default chains (`AWS_REGION`, `AWS_PROFILE`,
//! `AWS_ACCESS_KEY_ID`, the Lambda role, ...); the region falls back to `af-south-1`.
//!
//! Instances (digest 2.7): every backend also carries the instance store (the same store as the
//! tenants) and the instance cloud. The memory and embedded backends use the plan recorder, which
//! creates nothing: the engine refuses to run operations on it (`CLOUD_UNAVAILABLE`) and plans
//! work. The DynamoDB backend uses the live AWS cloud configured by the variables of
//! [`crate::cloud::CloudSettings`]; a missing required one is a `VALIDATION_ERROR` from
//! [`Backend::open`], which still sends no request.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use bbws_core::Error;
use bbws_core::events::{EventPublisher, OutboxRelay};
use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    InstanceBackend, InstanceCloud, InstancePorts, InstanceService, PlanRecorder, PlatformConfig,
    ProvisioningEngine, TokioTimer,
};
use bbws_core::ports::TenantBackend;
use bbws_core::store::{EVENT_LOG_FILE, EmbeddedStore, EventLog};
use bbws_core::tenant::{Environment, TenantPorts, TenantService};
use bbws_core::time::SystemClock;
use tokio::sync::Notify;

use crate::AwsNames;
use crate::dynamo::DynamoStore;
use crate::eventbridge::EventBridgePublisher;

/// The data directory when `BBWS_DATA_DIR` is not set.
pub const DEFAULT_DATA_DIR: &str = "./bbws-data";

/// Which store backs the services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    /// In memory, gone with the process.
    Memory,
    /// The persistent embedded store in a data directory.
    Embedded,
    /// A DynamoDB table, with events published to EventBridge.
    DynamoDb,
}

impl BackendKind {
    /// Parses `memory` / `embedded` / `dynamodb` (the `BBWS_BACKEND` values).
    pub fn parse(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "memory" => Ok(Self::Memory),
            "embedded" => Ok(Self::Embedded),
            "dynamodb" => Ok(Self::DynamoDb),
            other => Err(Error::field(
                "backend",
                format!("Unknown backend '{other}': use memory, embedded or dynamodb"),
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Memory => "memory",
            Self::Embedded => "embedded",
            Self::DynamoDb => "dynamodb",
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    pub kind: BackendKind,
    /// The embedded store's directory; the memory backend keeps its event log here too.
    pub data_dir: PathBuf,
    /// The deployment environment the AWS names default from.
    pub environment: Environment,
    /// The DynamoDB tenants table.
    pub table: String,
    /// The EventBridge bus events are published to.
    pub event_bus: String,
    /// An endpoint for every AWS client instead of AWS itself (a local moto server).
    pub endpoint_url: Option<String>,
    /// The instance-cloud variables as set ([`crate::cloud::CloudSettings::VARIABLES`]); parsed
    /// when a DynamoDB backend opens.
    pub cloud_env: BTreeMap<String, String>,
}

impl BackendConfig {
    /// A local backend (memory or embedded) in `data_dir`, AWS names at their `dev` defaults.
    pub fn local(kind: BackendKind, data_dir: impl Into<PathBuf>) -> Self {
        let names = AwsNames::defaults(Environment::Dev);
        Self {
            kind,
            data_dir: data_dir.into(),
            environment: Environment::Dev,
            table: names.tenants_table,
            event_bus: names.event_bus,
            endpoint_url: None,
            cloud_env: BTreeMap::new(),
        }
    }

    /// The configuration the environment describes (see the module docs); `var` looks a variable
    /// up (`|k| std::env::var(k).ok()`). Empty values count as unset.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let var = |k: &str| var(k).filter(|v| !v.trim().is_empty());
        let environment = match var("ENVIRONMENT") {
            Some(e) => e.trim().to_ascii_lowercase().parse::<Environment>()?,
            None => Environment::Dev,
        };
        let kind = match var("BBWS_BACKEND") {
            Some(b) => BackendKind::parse(&b)?,
            None if var("DYNAMODB_TABLE").is_some() => BackendKind::DynamoDb,
            None => BackendKind::Embedded,
        };
        let names = AwsNames::from_lookup(environment, var);
        Ok(Self {
            kind,
            data_dir: var("BBWS_DATA_DIR").map_or_else(|| DEFAULT_DATA_DIR.into(), PathBuf::from),
            environment,
            table: names.tenants_table,
            event_bus: names.event_bus,
            endpoint_url: var("AWS_ENDPOINT_URL"),
            cloud_env: crate::cloud::CloudSettings::VARIABLES
                .iter()
                .filter_map(|k| var(k).map(|v| ((*k).to_owned(), v)))
                .collect(),
        })
    }
}

/// An open backend: the storage ports, where its events are published, and what wakes the relay.
#[derive(Debug, Clone)]
pub struct Backend {
    pub store: Arc<dyn TenantBackend>,
    pub publisher: Arc<dyn EventPublisher>,
    /// Notified after this process committed writes that added outbox events. On DynamoDB,
    /// writes by other processes never notify it: a Lambda drains after each request, and
    /// `bbws serve` also drains on a timer.
    pub wake: Arc<Notify>,
    /// Instances, operations and the resource ledger (the same store as `store`).
    pub instances: Arc<dyn InstanceBackend>,
    /// The cloud instances are provisioned on: live AWS, or the plan recorder.
    pub cloud: InstanceCloud,
    /// The shared platform inputs (cluster, VPC, listener, ...) and the engine's budgets.
    pub platform: PlatformConfig,
}

impl Backend {
    /// Opens the configured backend. For DynamoDB this loads the AWS SDK configuration once
    /// (region, credentials, endpoint) and builds the DynamoDB and EventBridge clients from it;
    /// it does not touch the network, so a missing table shows on the first request.
    pub async fn open(config: &BackendConfig) -> Result<Self, Error> {
        let local = |store: EmbeddedStore, log: EventLog| {
            let wake = store.outbox_notifier();
            let store = Arc::new(store);
            Self {
                store: store.clone(),
                publisher: Arc::new(log),
                wake,
                instances: store,
                cloud: InstanceCloud::plan(&Arc::new(PlanRecorder::new())),
                platform: PlatformConfig::defaults(config.environment),
            }
        };
        let log_path = config.data_dir.join(EVENT_LOG_FILE);
        if matches!(config.kind, BackendKind::Memory | BackendKind::Embedded) {
            // The embedded store and the local event log live in the data directory.
            std::fs::create_dir_all(&config.data_dir).map_err(|e| {
                Error::Storage(format!("cannot create {}: {e}", config.data_dir.display()))
            })?;
        }
        match config.kind {
            BackendKind::Memory => Ok(local(
                EmbeddedStore::in_memory()?,
                EventLog::volatile(log_path),
            )),
            BackendKind::Embedded => Ok(local(
                EmbeddedStore::open_dir(&config.data_dir)?,
                EventLog::new(log_path),
            )),
            BackendKind::DynamoDb => {
                let settings = crate::cloud::CloudSettings::from_lookup(config.environment, |k| {
                    config.cloud_env.get(k).cloned()
                })?;
                let sdk = crate::sdk::load(config.endpoint_url.as_deref()).await;
                let store = DynamoStore::new(crate::sdk::dynamodb(&sdk), &config.table);
                let wake = store.outbox_notifier();
                let cloud = crate::cloud::live_cloud(
                    &sdk,
                    &settings,
                    crate::sdk::dynamodb(&sdk),
                    &config.table,
                    config.endpoint_url.is_some(),
                );
                let store = Arc::new(store);
                Ok(Self {
                    store: store.clone(),
                    publisher: Arc::new(EventBridgePublisher::new(
                        crate::sdk::eventbridge(&sdk),
                        &config.event_bus,
                    )),
                    wake,
                    instances: store,
                    cloud,
                    platform: settings.platform,
                })
            }
        }
    }

    /// The tenant service on this backend, with the system clock and random ids.
    pub fn tenant_service(&self) -> TenantService {
        TenantService::new(TenantPorts::from_dyn(
            self.store.clone(),
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        ))
    }

    /// The instance service (accepting provisioning and deprovisioning, reading instances,
    /// operations and ledgers) on this backend, with the system clock and random ids.
    pub fn instance_service(&self) -> InstanceService {
        InstanceService::new(
            InstancePorts {
                instances: self.instances.clone(),
                tenants: self.store.clone(),
                clock: Arc::new(SystemClock),
                ids: Arc::new(RandomIds),
            },
            self.platform.clone(),
        )
    }

    /// The engine that runs operations (`run(&operation_id)`) on this backend's cloud. On the
    /// plan recorder it refuses with `CLOUD_UNAVAILABLE`.
    pub fn provisioning_engine(&self) -> ProvisioningEngine {
        ProvisioningEngine::new(
            self.instances.clone(),
            self.cloud.clone(),
            self.platform.clone(),
            Arc::new(SystemClock),
            Arc::new(TokioTimer),
            Arc::new(RandomIds),
        )
    }

    /// The relay that publishes this backend's outbox.
    pub fn relay(&self) -> OutboxRelay {
        OutboxRelay::new(self.store.clone(), self.publisher.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    #[test]
    fn nothing_set_is_the_embedded_store_in_dev() {
        let c = BackendConfig::from_env(env(&[])).expect("valid");
        assert_eq!(c.kind, BackendKind::Embedded);
        assert_eq!(c.environment, Environment::Dev);
        assert_eq!(c.table, "bbws-tenants-dev");
        assert_eq!(c.event_bus, "bbws-events-dev");
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.endpoint_url, None);
    }

    #[test]
    fn the_lld_variables_select_dynamodb_and_name_its_resources() {
        let c = BackendConfig::from_env(env(&[
            ("ENVIRONMENT", "prod"),
            ("DYNAMODB_TABLE", "tenants-blue"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"),
        ]))
        .expect("valid");
        assert_eq!(c.kind, BackendKind::DynamoDb);
        assert_eq!(c.environment, Environment::Prod);
        assert_eq!(c.table, "tenants-blue");
        assert_eq!(c.event_bus, "bbws-events-prod");
        assert_eq!(c.endpoint_url.as_deref(), Some("http://127.0.0.1:5000"));

        let c =
            BackendConfig::from_env(env(&[("BBWS_BACKEND", "DynamoDB"), ("ENVIRONMENT", "sit")]))
                .expect("valid");
        assert_eq!(c.kind, BackendKind::DynamoDb);
        assert_eq!(c.table, "bbws-tenants-sit");
        assert_eq!(
            BackendConfig::from_env(env(&[("BBWS_BACKEND", "memory"), ("DYNAMODB_TABLE", "t")]))
                .expect("valid")
                .kind,
            BackendKind::Memory,
            "an explicit backend wins"
        );
    }

    #[tokio::test]
    async fn a_dynamodb_backend_without_its_cloud_settings_is_refused_at_open() {
        let config = BackendConfig::from_env(env(&[("BBWS_BACKEND", "dynamodb")])).expect("valid");
        let err = Backend::open(&config).await.expect_err("refused");
        assert_eq!(err.code(), bbws_core::ErrorCode::ValidationError);
        assert!(err.to_string().contains("ALB_LISTENER_ARN"), "{err}");
    }

    #[tokio::test]
    async fn local_backends_plan_but_refuse_to_run_operations() {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
            .await
            .expect("opens");
        assert_eq!(backend.cloud.mode, bbws_core::instance::CloudMode::Plan);
        let op = bbws_core::ids::OperationId::generate(&RandomIds);
        let err = backend
            .provisioning_engine()
            .run(&op)
            .await
            .expect_err("refused");
        assert_eq!(err.code(), bbws_core::ErrorCode::CloudUnavailable);
        assert!(err.to_string().contains("plan recorder"), "{err}");
    }

    #[test]
    fn bad_values_are_validation_errors() {
        for bad in [[("BBWS_BACKEND", "postgres")], [("ENVIRONMENT", "staging")]] {
            let err = BackendConfig::from_env(env(&bad)).expect_err("refused");
            assert_eq!(err.code(), bbws_core::ErrorCode::ValidationError);
        }
    }
}
