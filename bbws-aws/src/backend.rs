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
//! | `COGNITO_USER_POOL_ID` | the user pool users are found in and role groups kept in (DynamoDB) | none |
//! | `MAIL_FROM` | the SES sender of invitation mail, a verified identity (DynamoDB) | none |
//! | `PORTAL_URL` | the customer portal; accept links are `{PORTAL_URL}/invitations/{token}` | `http://localhost:8080` |
//! | `PROVISION_QUEUE_URL`, `DEPROVISION_QUEUE_URL` | the instance queues (SQS, DynamoDB backend): both or neither | none |
//!
//! Region and credentials come from the SDK's default chains (`AWS_REGION`, `AWS_PROFILE`,
//! `AWS_ACCESS_KEY_ID`, the Lambda role, ...); the region falls back to `af-south-1`.
//!
//! The organisation ports: on DynamoDB, the table ([`DynamoStore`]), Cognito
//! ([`CognitoDirectory`]) and SES ([`SesMailer`]); locally, the embedded store's own directory
//! and its mailbox ([`EmbeddedMailbox`], which keeps every mail sent). An invalid
//! `COGNITO_USER_POOL_ID`, `MAIL_FROM` or `PORTAL_URL` is refused by [`BackendConfig::from_env`].
//! A DynamoDB backend opened without a user pool or a sender still serves the tenant API (which
//! needs neither); it logs a warning at open, and every directory lookup or mail then fails with
//! an error naming the missing variable.
//! Instances (digest 2.7): every backend also carries the instance store (the same store as the
//! tenants) and the instance cloud. The memory and embedded backends use the plan recorder, which
//! creates nothing: the engine refuses to run operations on it (`CLOUD_UNAVAILABLE`) and plans
//! work. The DynamoDB backend uses the live AWS cloud configured by the variables of
//! [`crate::cloud::CloudSettings`]; once one of the platform variables is set, a missing or
//! invalid required one is a `VALIDATION_ERROR` from [`Backend::open`], which still sends no
//! request. With none set (a tenant API that provisions nothing), it logs a warning and uses the
//! plan recorder, like the local backends.
//! The orphan and drift audit ([`Backend::instance_audit`]) needs a cloud to look at: on the
//! live cloud it lists the environment's tagged objects (`tag:GetResources`) and the tenant
//! databases; on the plan recorder it is refused with `CLOUD_UNAVAILABLE`.
//! With the queue URLs set, the DynamoDB backend's outbox publisher also sends the message of
//! every accepted instance operation to its queue ([`OperationDispatch`]), and
//! [`Backend::instance_worker`] runs them; without them, a live cloud logs a warning at open.
//! Tenant events drive the tenant's instance (`TENANT_PARKED` parks it, `TENANT_UNPARKED`
//! unparks it, `TENANT_DEPROVISIONED` deprovisions it). On the local backends the outbox
//! publisher follows them in-process ([`TenantEventRouting`]). On DynamoDB the services are
//! separate Lambdas: EventBridge rules on the bus route the three events to the lifecycle
//! queue, and [`Backend::instance_worker`] follows them there.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use bbws_core::events::{EventPublisher, OutboxRelay};
use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    AuditPorts, CloudMode, EcsEventHandler, InstanceAudit, InstanceBackend, InstanceCloud,
    InstancePorts, InstanceService, InstanceWorker, OperationDispatch, OperationQueue,
    PlanRecorder, PlatformConfig, ProvisioningEngine, ServiceTags, TaggedInventory,
    TenantEventRouting, TokioTimer,
};
use bbws_core::org::{
    DirectoryUser, IdentityDirectory, MailMessage, Mailer, OrgDao, OrgPorts, OrgService,
    OrgServiceConfig, TenantGroup, UserId,
};
use bbws_core::ports::TenantBackend;
use bbws_core::store::{EVENT_LOG_FILE, EmbeddedMailbox, EmbeddedStore, EventLog};
use bbws_core::tenant::{Email, Environment, TenantPorts, TenantService};
use bbws_core::time::SystemClock;
use bbws_core::{Error, ErrorCode};
use tokio::sync::Notify;

use crate::AwsNames;
use crate::cloud::inventory::AwsTaggedInventory;
use crate::cloud::service_tags::EcsServiceTags;
use crate::cognito::{CognitoDirectory, UserPoolId};
use crate::dynamo::DynamoStore;
use crate::eventbridge::EventBridgePublisher;
use crate::ses::SesMailer;
use crate::sqs::{QueueUrls, SqsOperationQueue};

/// The data directory when `BBWS_DATA_DIR` is not set.
pub const DEFAULT_DATA_DIR: &str = "./bbws-data";

/// The portal URL when `PORTAL_URL` is not set (`bbws serve`'s default address).
pub const DEFAULT_PORTAL_URL: &str = "http://localhost:8080";

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
    /// The Cognito user pool of the DynamoDB backend's identity directory.
    pub user_pool_id: Option<UserPoolId>,
    /// The SES sender of the DynamoDB backend's mail.
    pub mail_from: Option<Email>,
    /// The customer portal the invitation links point at (no trailing slash needed).
    pub portal_url: String,
    /// The instance-cloud variables as set ([`crate::cloud::CloudSettings::VARIABLES`]); parsed
    /// when a DynamoDB backend opens.
    pub cloud_env: BTreeMap<String, String>,
    /// The instance queues (`PROVISION_QUEUE_URL`, `DEPROVISION_QUEUE_URL`): where a DynamoDB
    /// backend queues accepted operations for the worker.
    pub queues: Option<QueueUrls>,
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
            user_pool_id: None,
            mail_from: None,
            portal_url: DEFAULT_PORTAL_URL.to_owned(),
            cloud_env: BTreeMap::new(),
            queues: None,
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
        let user_pool_id = var("COGNITO_USER_POOL_ID")
            .map(|v| UserPoolId::parse(&v))
            .transpose()?;
        let mail_from = var("MAIL_FROM")
            .map(|v| Email::parse_field(v.trim(), "MAIL_FROM"))
            .transpose()?;
        let portal_url = match var("PORTAL_URL") {
            Some(u) => parse_portal_url(&u)?,
            None => DEFAULT_PORTAL_URL.to_owned(),
        };
        let names = AwsNames::from_lookup(environment, var);
        Ok(Self {
            kind,
            data_dir: var("BBWS_DATA_DIR").map_or_else(|| DEFAULT_DATA_DIR.into(), PathBuf::from),
            environment,
            table: names.tenants_table,
            event_bus: names.event_bus,
            endpoint_url: var("AWS_ENDPOINT_URL"),
            user_pool_id,
            mail_from,
            portal_url,
            cloud_env: crate::cloud::CloudSettings::VARIABLES
                .iter()
                .filter_map(|k| var(k).map(|v| ((*k).to_owned(), v)))
                .collect(),
            queues: QueueUrls::from_lookup(var)?,
        })
    }
}

/// An absolute `http(s)://` URL without whitespace; a trailing slash is dropped.
fn parse_portal_url(raw: &str) -> Result<String, Error> {
    let u = raw.trim().trim_end_matches('/');
    let rest = u
        .strip_prefix("https://")
        .or_else(|| u.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !u.chars().any(char::is_whitespace) => Ok(u.to_owned()),
        _ => Err(Error::field(
            "PORTAL_URL",
            format!(
                "Invalid portal URL '{}': expected http(s)://host[/path]",
                raw.trim()
            ),
        )),
    }
}

/// Stands in for the identity directory or the mailer of a DynamoDB backend opened without its
/// configuration: every call fails with an error naming the missing variable.
#[derive(Debug, Clone, Copy)]
struct Unconfigured {
    variable: &'static str,
    purpose: &'static str,
}

impl Unconfigured {
    fn error(self) -> Error {
        Error::Internal(format!(
            "{} is not set: the dynamodb backend needs it to {}",
            self.variable, self.purpose
        ))
    }
}

#[async_trait]
impl IdentityDirectory for Unconfigured {
    async fn find_by_email(&self, _: &Email) -> Result<Option<DirectoryUser>, Error> {
        Err(self.error())
    }

    async fn add_to_group(&self, _: &UserId, _: TenantGroup) -> Result<(), Error> {
        Err(self.error())
    }

    async fn remove_from_group(&self, _: &UserId, _: TenantGroup) -> Result<(), Error> {
        Err(self.error())
    }
}

#[async_trait]
impl Mailer for Unconfigured {
    async fn send(&self, _: &MailMessage) -> Result<(), Error> {
        Err(self.error())
    }
}

/// An open backend: the storage ports, where its events are published, what wakes the relay,
/// and the organisation domain's ports.
#[derive(Debug, Clone)]
pub struct Backend {
    pub store: Arc<dyn TenantBackend>,
    pub publisher: Arc<dyn EventPublisher>,
    /// Notified after this process committed writes that added outbox events. On DynamoDB,
    /// writes by other processes never notify it: a Lambda drains after each request, and
    /// `bbws serve` also drains on a timer.
    pub wake: Arc<Notify>,
    /// The organisation store: the same store (table) as `store`.
    pub org: Arc<dyn OrgDao>,
    /// Cognito on DynamoDB, the embedded store's local directory otherwise.
    pub directory: Arc<dyn IdentityDirectory>,
    /// SES on DynamoDB, the embedded mailbox otherwise.
    pub mailer: Arc<dyn Mailer>,
    /// The embedded mailbox (memory and embedded backends), for listing what was sent.
    pub mailbox: Option<EmbeddedMailbox>,
    /// The embedded store itself (memory and embedded backends), for what only it offers, such
    /// as registering users in its local directory (`EmbeddedStore::register_user`).
    pub embedded: Option<EmbeddedStore>,
    /// Where invitation links point (`PORTAL_URL`).
    pub portal_url: String,
    /// Instances, operations and the resource ledger (the same store as `store`).
    pub instances: Arc<dyn InstanceBackend>,
    /// The cloud instances are provisioned on: live AWS, or the plan recorder.
    pub cloud: InstanceCloud,
    /// The shared platform inputs (cluster, VPC, listener, ...) and the engine's budgets.
    pub platform: PlatformConfig,
    /// The instance queues (SQS), when configured: accepted operations are sent there through
    /// the outbox, and the worker queues an operation again when its budget runs out.
    pub queue: Option<Arc<dyn OperationQueue>>,
    /// ECS service tags for the ECS event handler (DynamoDB backend: `ListTagsForResource`);
    /// locally none, so only events carrying their own tags can be placed.
    pub service_tags: Option<Arc<dyn ServiceTags>>,
    /// The deployment environment (`ENVIRONMENT`): the ECS event handler's filter and the
    /// environment the audit looks at.
    pub environment: Environment,
    /// The tagged objects of the live cloud (`tag:GetResources`), for the audit; none on the
    /// plan recorder.
    pub inventory: Option<Arc<dyn TaggedInventory>>,
}

/// The instance-cloud variables naming the platform's own resources: a DynamoDB backend with
/// none of them set has no cloud to provision on (the region and the like have defaults).
const CLOUD_PLATFORM_VARS: [&str; 9] = [
    "VPC_ID",
    "PRIVATE_SUBNET_IDS",
    "ECS_TASK_SG_ID",
    "EFS_FILE_SYSTEM_ID",
    "ALB_LISTENER_ARN",
    "ECS_EXECUTION_ROLE_ARN",
    "ECS_TASK_ROLE_ARN",
    "WORDPRESS_IMAGE_REPO",
    "EFS_ADMIN_TASK_DEF",
];

impl Backend {
    /// Opens the configured backend. For DynamoDB this loads the AWS SDK configuration once
    /// (region, credentials, endpoint) and builds the DynamoDB and EventBridge clients from it;
    /// it does not touch the network, so a missing table shows on the first request.
    pub async fn open(config: &BackendConfig) -> Result<Self, Error> {
        Self::open_with_sdk(config, None).await
    }

    /// [`Self::open`] with the AWS SDK configuration given rather than loaded from the
    /// environment (`None` loads it): e.g. static credentials for a local endpoint. Only a
    /// DynamoDB backend uses it.
    pub async fn open_with_sdk(
        config: &BackendConfig,
        sdk: Option<aws_config::SdkConfig>,
    ) -> Result<Self, Error> {
        let local = |store: EmbeddedStore, log: EventLog| {
            let wake = store.outbox_notifier();
            let mailbox = EmbeddedMailbox::new(store.clone(), Arc::new(SystemClock));
            let embedded = store.clone();
            let store = Arc::new(store);
            let mut backend = Self {
                store: store.clone(),
                publisher: Arc::new(log),
                wake,
                org: store.clone(),
                directory: store.clone(),
                mailer: Arc::new(mailbox.clone()),
                mailbox: Some(mailbox),
                embedded: Some(embedded),
                portal_url: config.portal_url.clone(),
                instances: store,
                cloud: InstanceCloud::plan(&Arc::new(PlanRecorder::new())),
                platform: PlatformConfig::defaults(config.environment),
                queue: None,
                service_tags: None,
                environment: config.environment,
                inventory: None,
            };
            // Tenant and instance services share this process: tenant events are followed
            // by the instance as they are published.
            backend.publisher = Arc::new(
                TenantEventRouting::new(backend.publisher.clone(), backend.instance_service())
                    .with_runner(backend.provisioning_engine()),
            );
            backend
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
                // Without any of the instance-cloud variables the backend serves tenants and their
                // organisation, and instances only plan; once one is set, all must be valid.
                let settings = if config
                    .cloud_env
                    .keys()
                    .any(|k| CLOUD_PLATFORM_VARS.contains(&k.as_str()))
                {
                    Some(crate::cloud::CloudSettings::from_lookup(
                        config.environment,
                        |k| config.cloud_env.get(k).cloned(),
                    )?)
                } else {
                    tracing::warn!(
                        "no instance-cloud variables (VPC_ID, ALB_LISTENER_ARN, ...) are set: instances can be planned, not provisioned"
                    );
                    None
                };
                let sdk = match sdk {
                    Some(sdk) => sdk,
                    None => crate::sdk::load(config.endpoint_url.as_deref()).await,
                };
                let store = Arc::new(DynamoStore::new(crate::sdk::dynamodb(&sdk), &config.table));
                let wake = store.outbox_notifier();
                let directory: Arc<dyn IdentityDirectory> = if let Some(pool) = &config.user_pool_id
                {
                    Arc::new(CognitoDirectory::new(
                        crate::sdk::cognito(&sdk),
                        pool.clone(),
                    ))
                } else {
                    tracing::warn!(
                        "COGNITO_USER_POOL_ID is not set: user lookups and role groups will fail"
                    );
                    Arc::new(Unconfigured {
                        variable: "COGNITO_USER_POOL_ID",
                        purpose: "find users and keep their role groups",
                    })
                };
                let mailer: Arc<dyn Mailer> = if let Some(from) = &config.mail_from {
                    Arc::new(SesMailer::new(crate::sdk::sesv2(&sdk), from.clone()))
                } else {
                    tracing::warn!("MAIL_FROM is not set: invitation mail will not be sent");
                    Arc::new(Unconfigured {
                        variable: "MAIL_FROM",
                        purpose: "send invitation mail",
                    })
                };
                let (cloud, platform, inventory) = match settings {
                    Some(settings) => (
                        crate::cloud::live_cloud(
                            &sdk,
                            &settings,
                            crate::sdk::dynamodb(&sdk),
                            &config.table,
                            config.endpoint_url.is_some(),
                        ),
                        settings.platform,
                        Some(Arc::new(AwsTaggedInventory::new(
                            aws_sdk_resourcegroupstagging::Client::new(&sdk),
                        )) as Arc<dyn TaggedInventory>),
                    ),
                    None => (
                        InstanceCloud::plan(&Arc::new(PlanRecorder::new())),
                        PlatformConfig::defaults(config.environment),
                        None,
                    ),
                };
                let bus: Arc<dyn EventPublisher> = Arc::new(EventBridgePublisher::new(
                    crate::sdk::eventbridge(&sdk),
                    &config.event_bus,
                ));
                let queue: Option<Arc<dyn OperationQueue>> = config.queues.clone().map(|urls| {
                    Arc::new(SqsOperationQueue::new(crate::sdk::sqs(&sdk), urls))
                        as Arc<dyn OperationQueue>
                });
                let publisher: Arc<dyn EventPublisher> = if let Some(queue) = &queue {
                    Arc::new(OperationDispatch::new(bus, queue.clone()))
                } else {
                    if cloud.mode == CloudMode::Live {
                        tracing::warn!(
                            "PROVISION_QUEUE_URL and DEPROVISION_QUEUE_URL are not set: accepted instance operations are published as events but not queued for the worker"
                        );
                    }
                    bus
                };
                Ok(Self {
                    store: store.clone(),
                    publisher,
                    wake,
                    org: store.clone(),
                    directory,
                    mailer,
                    mailbox: None,
                    embedded: None,
                    portal_url: config.portal_url.clone(),
                    instances: store,
                    cloud,
                    platform,
                    queue,
                    service_tags: Some(Arc::new(EcsServiceTags::new(aws_sdk_ecs::Client::new(
                        &sdk,
                    )))),
                    environment: config.environment,
                    inventory,
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

    /// The organisation service on this backend (hierarchy, users, invitations), with the system
    /// clock, random ids and the configured portal URL.
    pub fn org_service(&self) -> OrgService {
        OrgService::new(OrgPorts {
            org: self.org.clone(),
            tenants: self.store.clone(),
            directory: self.directory.clone(),
            mailer: self.mailer.clone(),
            clock: Arc::new(SystemClock),
            ids: Arc::new(RandomIds),
        })
        .with_config(OrgServiceConfig {
            portal_url: self.portal_url.clone(),
            ..OrgServiceConfig::default()
        })
    }

    /// The instance service (accepting provisioning and deprovisioning, reading instances,
    /// operations and ledgers, and the live status and health from this backend's cloud) on
    /// this backend, with the system clock and random ids.
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
        .with_cloud(self.cloud.clone())
    }

    /// The engine that runs operations (`run(&operation_id)`) on this backend's cloud, reporting
    /// the end of each provisioning to the tenant service. On the plan recorder it refuses with
    /// `CLOUD_UNAVAILABLE`.
    pub fn provisioning_engine(&self) -> ProvisioningEngine {
        ProvisioningEngine::new(
            self.instances.clone(),
            self.cloud.clone(),
            self.platform.clone(),
            Arc::new(SystemClock),
            Arc::new(TokioTimer),
            Arc::new(RandomIds),
        )
        .with_tenant_sync(self.tenant_service())
    }

    /// The worker that runs queued operations on this backend ([`Self::provisioning_engine`]
    /// named `runner`), continuing through the configured queues. Without queues there is
    /// nowhere to continue, so it is refused naming the variables.
    pub fn instance_worker(&self, runner: &str) -> Result<InstanceWorker, Error> {
        let queue = self.queue.clone().ok_or_else(|| {
            Error::field(
                "PROVISION_QUEUE_URL",
                "The instance worker needs PROVISION_QUEUE_URL and DEPROVISION_QUEUE_URL (a DynamoDB backend with the instance queues)",
            )
        })?;
        Ok(
            InstanceWorker::new(self.provisioning_engine().with_runner(runner), queue)
                .with_tenant_events(self.instance_service()),
        )
    }

    /// The ECS event handler on this backend (digest 2.7 §8), for the services of its
    /// environment.
    pub fn ecs_event_handler(&self) -> EcsEventHandler {
        EcsEventHandler::new(
            self.instances.clone(),
            self.service_tags.clone(),
            self.environment,
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        )
    }

    /// The orphan and drift audit of this backend's environment: its store against the live
    /// cloud's tagged objects and the shared MySQL's tenant databases. A backend without a live
    /// cloud (the plan recorder: memory, embedded, or DynamoDB without the instance-cloud
    /// variables) has nothing to look at: refused with `CLOUD_UNAVAILABLE`.
    pub fn instance_audit(&self) -> Result<InstanceAudit, Error> {
        let inventory = match (&self.inventory, self.cloud.mode) {
            (Some(inventory), CloudMode::Live) => inventory.clone(),
            _ => {
                return Err(Error::business(
                    ErrorCode::CloudUnavailable,
                    format!(
                        "The audit compares the store with the cloud, and this backend has no cloud to look at ({}); run it on the DynamoDB backend with the instance-cloud variables set",
                        self.cloud.describe()
                    ),
                ));
            }
        };
        Ok(InstanceAudit::new(
            AuditPorts {
                instances: self.instances.clone(),
                tenants: self.store.clone(),
                inventory,
                databases: self.cloud.database.clone(),
                clock: Arc::new(SystemClock),
            },
            self.environment,
        ))
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
    async fn a_dynamodb_backend_with_part_of_its_cloud_settings_is_refused_at_open() {
        let config =
            BackendConfig::from_env(env(&[("BBWS_BACKEND", "dynamodb"), ("VPC_ID", "vpc-1")]))
                .expect("valid");
        let err = Backend::open(&config).await.expect_err("refused");
        assert_eq!(err.code(), bbws_core::ErrorCode::ValidationError);
        assert!(err.to_string().contains("ALB_LISTENER_ARN"), "{err}");
    }

    #[tokio::test]
    async fn a_dynamodb_backend_without_cloud_settings_serves_tenants_and_only_plans() {
        let config = BackendConfig::from_env(env(&[("BBWS_BACKEND", "dynamodb")])).expect("valid");
        let backend = Backend::open(&config).await.expect("opens");
        assert_eq!(backend.cloud.mode, bbws_core::instance::CloudMode::Plan);
        let op = bbws_core::ids::OperationId::generate(&RandomIds);
        let err = backend
            .provisioning_engine()
            .run(&op)
            .await
            .expect_err("refused");
        assert_eq!(err.code(), bbws_core::ErrorCode::CloudUnavailable);
    }

    #[tokio::test]
    async fn the_audit_is_refused_where_there_is_no_cloud_to_look_at() {
        let dir = tempfile::tempdir().expect("temp dir");
        let local = Backend::open(&BackendConfig::local(BackendKind::Embedded, dir.path()))
            .await
            .expect("opens");
        let without_cloud = Backend::open(
            &BackendConfig::from_env(env(&[("BBWS_BACKEND", "dynamodb")])).expect("valid"),
        )
        .await
        .expect("opens");
        for backend in [local, without_cloud] {
            let err = backend.instance_audit().expect_err("refused");
            assert_eq!(err.code(), ErrorCode::CloudUnavailable);
            assert!(err.to_string().contains("no cloud to look at"), "{err}");
            assert!(err.to_string().contains("plan recorder"), "{err}");
        }
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
    fn the_organisation_settings_are_parsed_once() {
        let c = BackendConfig::from_env(env(&[])).expect("valid");
        assert_eq!(c.user_pool_id, None);
        assert_eq!(c.mail_from, None);
        assert_eq!(c.portal_url, DEFAULT_PORTAL_URL);
        let c = BackendConfig::from_env(env(&[
            ("COGNITO_USER_POOL_ID", "af-south-1_AbC123"),
            ("MAIL_FROM", "no-reply@bbws.io"),
            ("PORTAL_URL", "https://portal.bbws.io/"),
        ]))
        .expect("valid");
        assert_eq!(
            c.user_pool_id.as_ref().map(UserPoolId::as_str),
            Some("af-south-1_AbC123")
        );
        assert_eq!(
            c.mail_from.as_ref().map(Email::as_str),
            Some("no-reply@bbws.io")
        );
        assert_eq!(c.portal_url, "https://portal.bbws.io");
    }

    #[tokio::test]
    async fn a_dynamodb_backend_without_pool_or_sender_names_what_is_missing() {
        let mut config = BackendConfig::local(BackendKind::DynamoDb, "unused");
        config.endpoint_url = Some("http://127.0.0.1:9".to_owned());
        let backend = Backend::open(&config)
            .await
            .expect("opens without the network");
        let err = backend
            .directory
            .find_by_email(&Email::parse("a@b.example").expect("email"))
            .await
            .expect_err("no pool");
        assert!(err.to_string().contains("COGNITO_USER_POOL_ID"), "{err}");
        let err = backend
            .mailer
            .send(&MailMessage {
                to: Email::parse("a@b.example").expect("email"),
                subject: "s".into(),
                text: "t".into(),
            })
            .await
            .expect_err("no sender");
        assert!(err.to_string().contains("MAIL_FROM"), "{err}");
        assert_eq!(
            backend.org_service().config().portal_url,
            DEFAULT_PORTAL_URL
        );
    }

    #[tokio::test]
    async fn a_local_backend_wires_the_organisation_service_on_its_own_store() {
        use bbws_core::auth::{Actor, Claims, Role};
        use bbws_core::tenant::{NewTenant, OrganizationName, TenantStatus};

        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = BackendConfig::local(BackendKind::Memory, dir.path());
        config.portal_url = "https://portal.bbws.test".to_owned();
        let backend = Backend::open(&config).await.expect("opens");
        let admin = Actor::from_claims(
            &Claims::from_json(&serde_json::json!({
                "sub": "sub-admin", "email": "admin@bbws.io", "cognito:groups": ["Admins"]
            }))
            .expect("claims"),
        );
        let tenants = backend.tenant_service();
        let t = tenants
            .create(
                &admin,
                NewTenant {
                    organization_name: OrganizationName::parse("Acme Corp").expect("name"),
                    contact_email: Email::parse("ops@acme.example").expect("email"),
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
        tenants
            .set_status(&admin, &t.id, TenantStatus::Active, None, None)
            .await
            .expect("active");
        let ann = Email::parse("ann@acme.example").expect("email");
        backend
            .embedded
            .as_ref()
            .expect("a local backend exposes its store")
            .register_user(&DirectoryUser {
                user_id: UserId::parse("u-ann").expect("id"),
                email: ann.clone(),
                enabled: true,
            })
            .await
            .expect("registered");
        let org = backend.org_service();
        org.assign_user(&admin, &t.id, &ann, Role::Admin, None, None)
            .await
            .expect("found in the local directory");
        org.create_invitation(
            &admin,
            &t.id,
            &Email::parse("bob@acme.example").expect("email"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect("invited");
        let mails = backend
            .mailbox
            .as_ref()
            .expect("a local backend keeps its mail")
            .list(0, 10)
            .expect("mailbox");
        assert_eq!(mails.len(), 1);
        assert!(
            mails[0]
                .message
                .text
                .contains("https://portal.bbws.test/invitations/"),
            "{}",
            mails[0].message.text
        );
    }

    #[test]
    fn bad_values_are_validation_errors() {
        for bad in [
            [("BBWS_BACKEND", "postgres")],
            [("ENVIRONMENT", "staging")],
            [("COGNITO_USER_POOL_ID", "no-underscore")],
            [("MAIL_FROM", "not an address")],
            [("PORTAL_URL", "portal.bbws.io")],
        ] {
            let err = BackendConfig::from_env(env(&bad)).expect_err("refused");
            assert_eq!(err.code(), bbws_core::ErrorCode::ValidationError);
        }
    }
}
