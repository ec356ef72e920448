//! Test set-up: SDK clients on this binary's moto server ([`crate::moto`]), a fresh DynamoDB
//! table per test, the three backends behind one [`Subject`], and a log of the DynamoDB requests
//! each test sends.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Credentials, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use bbws_aws::DynamoStore;
use bbws_core::auth::{Actor, Claims};
use bbws_core::ids::RandomIds;
use bbws_core::pagination::{Cursor, Limit, PageRequest};
use bbws_core::ports::{TenantBackend, TenantResource};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, Reason, Tenant, TenantPorts, TenantService,
};
use bbws_core::time::ManualClock;
use serde_json::{Map, json};

/// Where every test clock starts.
pub const START: &str = "2026-01-05T12:00:00.000Z";

/// SDK configuration for moto: static test credentials and region on this config only.
pub async fn sdk_config() -> SdkConfig {
    bbws_aws::sdk::loader(Some(crate::moto::endpoint()))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "bbws-tests",
        ))
        .region(Region::new("us-east-1"))
        .load()
        .await
}

// ---- request counting ----

/// Records the operation name of every DynamoDB request sent (each attempt, as billed).
#[derive(Debug, Clone, Default)]
pub struct RequestLog(Arc<Mutex<Vec<String>>>);

impl RequestLog {
    /// Everything recorded since the last call, and forgets it.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().expect("request log"))
    }
}

impl Intercept for RequestLog {
    fn name(&self) -> &'static str {
        "RequestLog"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let op = cfg
            .load::<Metadata>()
            .map_or_else(|| "?".to_owned(), |m| m.name().to_owned());
        self.0.lock().expect("request log").push(op);
        Ok(())
    }
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// A DynamoDB client on moto that logs its requests, and a fresh table.
pub async fn fresh_table() -> (aws_sdk_dynamodb::Client, String, RequestLog) {
    let sdk = sdk_config().await;
    let log = RequestLog::default();
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&sdk)
            .interceptor(log.clone())
            .build(),
    );
    let table = format!(
        "bbws-test-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::SeqCst)
    );
    assert!(
        bbws_aws::create_table(&client, &table)
            .await
            .expect("table is created"),
        "the table is new"
    );
    log.take();
    (client, table, log)
}

// ---- the backends under test ----

/// A way to record a tenant resource (the ports have no write for it; each store has its own).
#[derive(Debug, Clone)]
pub enum Resources {
    Embedded(Arc<EmbeddedStore>),
    Dynamo(Arc<DynamoStore>),
}

/// One backend under test, with the service on it.
#[derive(Debug, Clone)]
pub struct Subject {
    pub backend: Arc<dyn TenantBackend>,
    pub clock: Arc<ManualClock>,
    pub service: Arc<TenantService>,
    pub resources: Resources,
    /// DynamoDB only: its requests, and what is needed to open a second store on its table.
    pub dynamo: Option<(aws_sdk_dynamodb::Client, String, RequestLog)>,
    _dir: Option<Arc<tempfile::TempDir>>,
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(START.parse().expect("valid start")))
}

impl Subject {
    fn on(
        backend: Arc<dyn TenantBackend>,
        clock: Arc<ManualClock>,
        resources: Resources,
        dynamo: Option<(aws_sdk_dynamodb::Client, String, RequestLog)>,
        dir: Option<tempfile::TempDir>,
    ) -> Self {
        let ports = TenantPorts::from_dyn(backend.clone(), clock.clone(), Arc::new(RandomIds));
        Self {
            backend,
            clock,
            service: Arc::new(TenantService::new(ports)),
            resources,
            dynamo,
            _dir: dir.map(Arc::new),
        }
    }

    pub fn memory() -> Self {
        let store = Arc::new(EmbeddedStore::in_memory().expect("in-memory store"));
        Self::on(
            store.clone(),
            clock(),
            Resources::Embedded(store),
            None,
            None,
        )
    }

    pub fn file() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(EmbeddedStore::open(dir.path().join("bbws.redb")).expect("store"));
        Self::on(
            store.clone(),
            clock(),
            Resources::Embedded(store),
            None,
            Some(dir),
        )
    }

    pub async fn dynamodb() -> Self {
        let (client, table, log) = fresh_table().await;
        let clock = clock();
        let store = Arc::new(DynamoStore::new(client.clone(), &table).with_clock(clock.clone()));
        Self::on(
            store.clone(),
            clock,
            Resources::Dynamo(store),
            Some((client, table, log)),
            None,
        )
    }

    /// The DynamoDB requests sent since the last call (empty on the embedded store).
    pub fn requests(&self) -> Vec<String> {
        self.dynamo
            .as_ref()
            .map(|(_, _, l)| l.take())
            .unwrap_or_default()
    }

    pub async fn record_resource(&self, tenant: &Tenant, resource_type: &str, status: &str) {
        let r = TenantResource {
            resource_type: resource_type.to_owned(),
            name: format!("{resource_type}-1"),
            arn: None,
            status: status.to_owned(),
        };
        match &self.resources {
            Resources::Embedded(s) => s.record_resource(&tenant.id, r).await,
            Resources::Dynamo(s) => s.record_resource(&tenant.id, r).await,
        }
        .expect("resource is recorded");
    }

    /// Creates a PENDING tenant in `dev` as the platform admin.
    pub async fn create(&self, name: &str) -> Tenant {
        self.create_in(name, Environment::Dev).await
    }

    pub async fn create_in(&self, name: &str, env: Environment) -> Tenant {
        self.service
            .create(&admin(), new_tenant(name, env), None)
            .await
            .expect("test tenant is created")
            .value
    }
}

// ---- values and callers ----

pub fn new_tenant(name: &str, environment: Environment) -> NewTenant {
    NewTenant {
        organization_name: OrganizationName::parse(name).expect("valid name"),
        contact_email: Email::parse("ops@acme.example").expect("valid e-mail"),
        environment,
        division: None,
        group: None,
        team: None,
        metadata: Map::new(),
    }
}

pub fn reason(s: &str) -> Reason {
    Reason::parse(Some(s), "Reason").expect("valid reason")
}

pub fn page(limit: u32, cursor: Option<Cursor>) -> PageRequest {
    PageRequest {
        limit: Limit::new(limit).expect("valid limit"),
        cursor,
    }
}

/// A platform administrator.
pub fn admin() -> Actor {
    Actor::from_claims(
        &Claims::from_json(
            &json!({"sub": "sub-admin", "email": "admin@bbws.io", "cognito:groups": ["Admins"]}),
        )
        .expect("valid claims"),
    )
}
