//! The instance domain on AWS: the real engine on the real adapters, against moto (ECS, EFS,
//! ELBv2, Secrets Manager, S3, Cognito, Application Auto Scaling, DynamoDB) and a real MariaDB.
//!
//! Two moto gaps are bridged in the tests only, through the ports, never in production code:
//! - ECS services in moto never run tasks, so the health wait uses [`MotoHealth`]: it asks the
//!   real probe ([`AwsHealth`]: `DescribeServices`, `DescribeTargetHealth`) and requires it to
//!   answer "starting" for an ACTIVE service (rollout in progress, no running task), then
//!   reports healthy; anything else (no service, a failed rollout) fails the test;
//! - one-off tasks cannot run in moto either (and moto 5.2.5's `RunTask` with `awsvpc`
//!   networking fails inside moto: its network interfaces have no `private_dns_name`), so
//!   [`MotoTasks`] does what the admin container would have done (an archive object in S3;
//!   nothing for a purge, since moto has no file-system contents) and logs the command the ECS
//!   runner would have started.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use bbws_aws::DynamoStore;
use bbws_aws::cloud::health::AwsHealth;
use bbws_aws::cloud::tasks::{OneOffTask, TaskRunner};
use bbws_aws::cloud::{Clients, CloudSettings, assemble};
use bbws_core::ErrorCode;
use bbws_core::ids::RandomIds;
use bbws_core::instance::ports::{CloudResult, Health, HealthProbe, HealthTarget};
use bbws_core::instance::{
    DeprovisionOptions, InstanceCloud, InstanceDao, InstancePorts, InstanceService, InstanceState,
    LedgerDao, LedgerStatus, NewInstance, OperationStatus, ProvisioningEngine, ResourceType,
    TokioTimer,
};
use bbws_core::tenant::{Environment, TenantStatus};
use mysql_async::prelude::Queryable;
use serde::Deserialize;

use crate::support::{Resources, Subject, admin, sdk_config};

/// The shared platform of one test, made by `moto_platform.py`.
#[derive(Debug, Deserialize)]
pub(crate) struct Platform {
    pub(crate) vpc: String,
    pub(crate) subnets: Vec<String>,
    pub(crate) sg: String,
    pub(crate) listener: String,
    pub(crate) cluster: String,
    pub(crate) admin_task: String,
    pub(crate) fs: String,
    pub(crate) bucket: String,
    pub(crate) master_secret: String,
}

static PLATFORMS: AtomicUsize = AtomicUsize::new(0);

pub(crate) fn platform() -> Platform {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let venv = std::env::var_os("BBWS_VENV").map_or_else(
        || root.parent().expect("workspace").join(".venv"),
        std::path::PathBuf::from,
    );
    let suffix = format!(
        "t{}-{}",
        std::process::id(),
        PLATFORMS.fetch_add(1, Ordering::SeqCst)
    );
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(root.join("tests/it/moto_platform.py"))
        .arg(crate::moto::endpoint())
        .arg(&suffix)
        .output()
        .expect("the platform fixture runs");
    assert!(
        out.status.success(),
        "moto_platform.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("platform JSON")
}

/// The health wait over moto (see the module docs).
#[derive(Debug)]
struct MotoHealth(AwsHealth);

#[async_trait]
impl HealthProbe for MotoHealth {
    async fn check(&self, target: &HealthTarget) -> CloudResult<Health> {
        match self.0.check(target).await? {
            // moto's rollout never completes and its services never run a task.
            Health::Starting(why)
                if why == "deployment IN_PROGRESS" || why.starts_with("0 of ") =>
            {
                Ok(Health::Healthy)
            }
            other => panic!("the real probe answered {other:?} for a service moto cannot run"),
        }
    }
}

/// One-off tasks over moto (see the module docs).
#[derive(Debug)]
struct MotoTasks {
    s3: aws_sdk_s3::Client,
    started: Arc<std::sync::Mutex<Vec<String>>>,
}

#[async_trait]
impl TaskRunner for MotoTasks {
    async fn run(&self, task: &OneOffTask) -> CloudResult<()> {
        if let OneOffTask::ArchiveFiles { to, .. } = task {
            let empty_tar_gz = {
                let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                std::io::Write::write_all(&mut gz, &[0u8; 1024]).expect("gzip");
                gz.finish().expect("gzip")
            };
            self.s3
                .put_object()
                .bucket(&to.bucket)
                .key(&to.key)
                .body(empty_tar_gz.into())
                .send()
                .await
                .expect("the task's upload");
        }
        self.started
            .lock()
            .expect("log")
            .push(format!("{} {}", task.purpose(), task.command()[2]));
        Ok(())
    }
}

pub(crate) struct World {
    pub(crate) subject: Subject,
    pub(crate) store: Arc<DynamoStore>,
    pub(crate) platform: Platform,
    pub(crate) clients: Clients,
    pub(crate) settings: CloudSettings,
    pub(crate) engine: ProvisioningEngine,
    pub(crate) service: InstanceService,
    pub(crate) tasks: Arc<std::sync::Mutex<Vec<String>>>,
    pub(crate) db_endpoint: String,
    /// The instance-cloud variables the settings were read from.
    pub(crate) vars: BTreeMap<&'static str, String>,
}

pub(crate) async fn world() -> World {
    world_with(|clients, tasks| {
        Arc::new(MotoTasks {
            s3: clients.s3.clone(),
            started: tasks,
        })
    })
    .await
}

/// A [`World`] whose one-off tasks run on `runner` (given the clients and the log of started
/// tasks).
pub(crate) async fn world_with(
    runner: impl FnOnce(&Clients, Arc<std::sync::Mutex<Vec<String>>>) -> Arc<dyn TaskRunner>,
) -> World {
    let subject = Subject::dynamodb().await;
    let Resources::Dynamo(store) = subject.resources.clone() else {
        unreachable!("a DynamoDB subject")
    };
    let (dynamodb, table, _) = subject.dynamo.clone().expect("dynamodb");
    let platform = platform();
    let db_endpoint = crate::mariadb::endpoint();
    let vars: BTreeMap<&'static str, String> = BTreeMap::from([
        ("VPC_ID", platform.vpc.clone()),
        ("PRIVATE_SUBNET_IDS", platform.subnets.join(",")),
        ("ECS_TASK_SG_ID", platform.sg.clone()),
        ("EFS_FILE_SYSTEM_ID", platform.fs.clone()),
        ("ALB_LISTENER_ARN", platform.listener.clone()),
        (
            "ECS_EXECUTION_ROLE_ARN",
            "arn:aws:iam::123456789012:role/exec".to_owned(),
        ),
        (
            "ECS_TASK_ROLE_ARN",
            "arn:aws:iam::123456789012:role/task".to_owned(),
        ),
        ("WORDPRESS_IMAGE_REPO", "wordpress".to_owned()),
        ("EFS_ADMIN_TASK_DEF", platform.admin_task.clone()),
        ("ECS_CLUSTER", platform.cluster.clone()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("RDS_ENDPOINT", db_endpoint.clone()),
        ("RDS_MASTER_SECRET_ID", platform.master_secret.clone()),
        ("RDS_TLS", "disabled".to_owned()),
        ("ARCHIVE_BUCKET", platform.bucket.clone()),
        ("HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ]);
    let settings =
        CloudSettings::from_lookup(Environment::Dev, |k| vars.get(k).cloned()).expect("settings");
    let sdk = sdk_config().await;
    let clients = Clients::new(&sdk, true);
    let tasks = Arc::new(std::sync::Mutex::new(Vec::new()));
    let runner = runner(&clients, tasks.clone());
    let mut cloud: InstanceCloud = assemble(&clients, &settings, dynamodb, &table, runner);
    cloud.health = Arc::new(MotoHealth(AwsHealth::new(
        clients.ecs.clone(),
        clients.elb.clone(),
    )));
    let engine = ProvisioningEngine::new(
        store.clone(),
        cloud,
        settings.platform.clone(),
        subject.clock.clone(),
        Arc::new(TokioTimer),
        Arc::new(RandomIds),
    );
    let service = InstanceService::new(
        InstancePorts {
            instances: store.clone(),
            tenants: subject.backend.clone(),
            clock: subject.clock.clone(),
            ids: Arc::new(RandomIds),
        },
        settings.platform.clone(),
    )
    .with_cloud(engine.cloud().clone());
    World {
        subject,
        store,
        platform,
        clients,
        settings,
        engine,
        service,
        tasks,
        db_endpoint,
        vars,
    }
}

/// An ACTIVE tenant named `name` with an instance provisioned to ACTIVE by the real engine.
pub(crate) async fn provisioned(
    w: &World,
    name: &str,
) -> (bbws_core::tenant::Tenant, bbws_core::instance::Instance) {
    let t = w.subject.create(name).await;
    w.subject
        .service
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("tenant activated");
    let accepted = w
        .service
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), None)
        .await
        .expect("provisioning accepted")
        .value;
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("the run ends");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let instance = w
        .store
        .get_instance(&t.id, &accepted.instance.id)
        .await
        .expect("read")
        .expect("instance");
    assert_eq!(instance.state, InstanceState::Active);
    (t, instance)
}

async fn root_conn(endpoint: &str) -> mysql_async::Conn {
    let (host, port) = endpoint.split_once(':').expect("host:port");
    mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port.parse().expect("port"))
            .user(Some("root"))
            .prefer_socket(false),
    )
    .await
    .expect("root connects")
}

const TENANT_TAG: &str = "bbws:tenant-id";

/// Everything moto and MariaDB hold for a tenant: `(kind, name)` with its tenant tag.
async fn inventory(w: &World, key: &str, host: &str) -> Vec<(String, String, Option<String>)> {
    let c = &w.clients;
    let mut out = Vec::new();
    // Secrets Manager (default listing: secrets not scheduled for deletion).
    let secrets = c.secrets.list_secrets().send().await.expect("ListSecrets");
    for s in secrets.secret_list() {
        let name = s.name().unwrap_or_default();
        if name.contains(&format!("tenant-{key}/")) {
            let tag = s
                .tags()
                .iter()
                .find(|t| t.key() == Some(TENANT_TAG))
                .and_then(|t| t.value().map(str::to_owned));
            out.push(("secret".to_owned(), name.to_owned(), tag));
        }
    }
    // Cognito pools (and their domain).
    let pools = c
        .cognito
        .list_user_pools()
        .max_results(60)
        .send()
        .await
        .expect("ListUserPools");
    for p in pools.user_pools() {
        if p.name().is_some_and(|n| n.contains(key)) {
            let d = c
                .cognito
                .describe_user_pool()
                .user_pool_id(p.id().unwrap_or_default())
                .send()
                .await
                .expect("DescribeUserPool");
            let tag = d
                .user_pool()
                .and_then(|u| u.user_pool_tags())
                .and_then(|t| t.get(TENANT_TAG).cloned());
            out.push((
                "user-pool".into(),
                p.name().unwrap_or_default().into(),
                tag.clone(),
            ));
            let clients = c
                .cognito
                .list_user_pool_clients()
                .user_pool_id(p.id().unwrap_or_default())
                .send()
                .await
                .expect("ListUserPoolClients");
            for cl in clients.user_pool_clients() {
                out.push((
                    "app-client".into(),
                    cl.client_name().unwrap_or_default().into(),
                    tag.clone(),
                ));
            }
        }
    }
    let domain = c
        .cognito
        .describe_user_pool_domain()
        .domain(format!("bbws-{key}-dev"))
        .send()
        .await
        .expect("DescribeUserPoolDomain");
    if domain
        .domain_description()
        .and_then(|d| d.user_pool_id())
        .is_some_and(|id| !id.is_empty())
    {
        out.push(("domain".into(), format!("bbws-{key}-dev"), None));
    }
    // EFS access points.
    let aps = c
        .efs
        .describe_access_points()
        .file_system_id(&w.platform.fs)
        .send()
        .await
        .expect("DescribeAccessPoints");
    for ap in aps.access_points() {
        let name = ap
            .tags()
            .iter()
            .find(|t| t.key() == "Name")
            .map(|t| t.value().to_owned())
            .unwrap_or_default();
        if name.contains(key) {
            let tag = ap
                .tags()
                .iter()
                .find(|t| t.key() == TENANT_TAG)
                .map(|t| t.value().to_owned());
            out.push(("access-point".into(), name, tag));
        }
    }
    // ELBv2 target groups and rules.
    let tgs = c
        .elb
        .describe_target_groups()
        .send()
        .await
        .expect("DescribeTargetGroups");
    for tg in tgs.target_groups() {
        if tg.target_group_name().is_some_and(|n| n.contains(key)) {
            let arn = tg.target_group_arn().unwrap_or_default();
            let answer = c
                .elb
                .describe_tags()
                .resource_arns(arn)
                .send()
                .await
                .expect("DescribeTags");
            let tag = answer
                .tag_descriptions()
                .iter()
                .flat_map(aws_sdk_elasticloadbalancingv2::types::TagDescription::tags)
                .find(|t| t.key() == Some(TENANT_TAG))
                .and_then(|t| t.value().map(str::to_owned));
            out.push((
                "target-group".into(),
                tg.target_group_name().unwrap_or_default().into(),
                tag,
            ));
        }
    }
    let rules = c
        .elb
        .describe_rules()
        .listener_arn(&w.platform.listener)
        .send()
        .await
        .expect("DescribeRules");
    for r in rules.rules() {
        let routes_host = r.conditions().iter().any(|cond| {
            cond.host_header_config()
                .is_some_and(|h| h.values().iter().any(|v| v == host))
        });
        if routes_host {
            let arn = r.rule_arn().unwrap_or_default();
            let answer = c
                .elb
                .describe_tags()
                .resource_arns(arn)
                .send()
                .await
                .expect("DescribeTags");
            let tag = answer
                .tag_descriptions()
                .iter()
                .flat_map(aws_sdk_elasticloadbalancingv2::types::TagDescription::tags)
                .find(|t| t.key() == Some(TENANT_TAG))
                .and_then(|t| t.value().map(str::to_owned));
            out.push(("listener-rule".into(), host.to_owned(), tag));
        }
    }
    // ECS service, task definitions, auto scaling.
    let svc = c
        .ecs
        .describe_services()
        .cluster(&w.platform.cluster)
        .services(format!("tenant-{key}-wordpress"))
        .include(aws_sdk_ecs::types::ServiceField::Tags)
        .send()
        .await
        .expect("DescribeServices");
    for s in svc.services() {
        if s.status() == Some("ACTIVE") || s.status() == Some("DRAINING") {
            let tag = s
                .tags()
                .iter()
                .find(|t| t.key() == Some(TENANT_TAG))
                .and_then(|t| t.value().map(str::to_owned));
            out.push((
                "ecs-service".into(),
                s.service_name().unwrap_or_default().into(),
                tag,
            ));
        }
    }
    let tds = c
        .ecs
        .list_task_definitions()
        .family_prefix(format!("tenant-{key}-wordpress"))
        .send()
        .await
        .expect("ListTaskDefinitions");
    for arn in tds.task_definition_arns() {
        let answer = c
            .ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("ListTagsForResource");
        let tag = answer
            .tags()
            .iter()
            .find(|t| t.key() == Some(TENANT_TAG))
            .and_then(|t| t.value().map(str::to_owned));
        out.push(("task-definition".into(), arn.clone(), tag));
    }
    let targets = c
        .autoscaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .send()
        .await
        .expect("DescribeScalableTargets");
    for t in targets.scalable_targets() {
        if t.resource_id().contains(key) {
            let answer = c
                .autoscaling
                .list_tags_for_resource()
                .resource_arn(t.scalable_target_arn().unwrap_or_default())
                .send()
                .await
                .ok();
            let tag = answer.and_then(|o| o.tags().and_then(|m| m.get(TENANT_TAG).cloned()));
            out.push(("scalable-target".into(), t.resource_id().into(), tag));
        }
    }
    // MariaDB.
    let mut conn = root_conn(&w.db_endpoint).await;
    let dbs: Vec<String> = conn
        .query(format!("SHOW DATABASES LIKE 'tenant\\_{key}\\_db'"))
        .await
        .expect("SHOW DATABASES");
    for d in dbs {
        out.push(("database".into(), d, None));
    }
    let users: Vec<String> = conn
        .exec(
            "SELECT User FROM mysql.user WHERE User = ?",
            (format!("t_{key}_user"),),
        )
        .await
        .expect("mysql.user");
    for u in users {
        out.push(("db-user".into(), u, None));
    }
    conn.disconnect().await.expect("disconnect");
    out
}

#[tokio::test]
async fn provisioning_on_moto_and_mariadb_reaches_active_and_deprovisioning_leaves_nothing() {
    let w = world().await;
    let (t, instance) = provisioned(&w, "Moto Hosting").await;
    let key = instance.resource_key.as_str().to_owned();
    let host = instance.domain.clone();

    // Every object exists in moto/MariaDB and carries the tenant's tag where AWS tags it.
    let live = inventory(&w, &key, &host).await;
    let kinds: Vec<&str> = live.iter().map(|(k, _, _)| k.as_str()).collect();
    for kind in [
        "secret",
        "user-pool",
        "app-client",
        "domain",
        "access-point",
        "target-group",
        "listener-rule",
        "ecs-service",
        "task-definition",
        "scalable-target",
        "database",
        "db-user",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {live:#?}");
    }
    assert_eq!(
        kinds.iter().filter(|k| **k == "secret").count(),
        2,
        "{live:#?}"
    );
    for (kind, name, tag) in &live {
        if matches!(kind.as_str(), "domain" | "database" | "db-user") {
            continue; // not taggable
        }
        if kind == "scalable-target" {
            continue; // tagged in RegisterScalableTarget; moto's Application Auto Scaling keeps no tags
        }
        assert_eq!(
            tag.as_deref(),
            Some(t.id.to_string().as_str()),
            "{kind} {name} is not tagged with the tenant"
        );
    }

    // Every resource is in the ledger, created.
    let ledger = w.store.ledger(&instance.id).await.expect("ledger");
    for rt in ResourceType::ALL.into_iter().filter(|r| !r.is_archive()) {
        let e = ledger
            .iter()
            .find(|e| e.resource_type == rt)
            .unwrap_or_else(|| panic!("{rt} is not in the ledger"));
        assert_eq!(e.status, LedgerStatus::Created, "{e:?}");
    }

    // Some content for the database archive.
    let mut conn = root_conn(&w.db_endpoint).await;
    conn.query_drop(format!(
        "CREATE TABLE tenant_{key}_db.wp_options (option_id INT PRIMARY KEY, option_name VARCHAR(64), option_value TEXT)"
    ))
    .await
    .expect("table");
    conn.query_drop(format!(
        "INSERT INTO tenant_{key}_db.wp_options VALUES (1, 'blogname', 'It''s Moto')"
    ))
    .await
    .expect("row");
    conn.disconnect().await.expect("disconnect");

    let accepted = w
        .service
        .request_deprovisioning(
            &admin(),
            &t.id,
            &instance.id,
            DeprovisionOptions {
                archive_data: true,
                reason: None,
            },
            None,
        )
        .await
        .expect("deprovisioning accepted")
        .value;
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("the run ends");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let instance = w
        .store
        .get_instance(&t.id, &instance.id)
        .await
        .expect("read")
        .expect("instance");
    assert_eq!(instance.state, InstanceState::Deprovisioned);

    let left = inventory(&w, &key, &host).await;
    assert!(left.is_empty(), "left behind: {left:#?}");
    let reservations = w
        .subject
        .dynamo
        .as_ref()
        .expect("dynamodb")
        .0
        .query()
        .table_name(&w.subject.dynamo.as_ref().expect("dynamodb").1)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!(
                "ALBPRIORITY#{}",
                w.platform.listener
            )),
        )
        .send()
        .await
        .expect("Query");
    assert_eq!(
        reservations.count(),
        0,
        "the priority reservation is released"
    );

    // The archives: the dump replays the tenant's rows; the file archive came from the task.
    let ledger = w.store.ledger(&instance.id).await.expect("ledger");
    let dump = ledger
        .iter()
        .find(|e| e.resource_type == ResourceType::DatabaseArchive)
        .and_then(|e| e.id.clone())
        .expect("database archive in the ledger");
    let key_part = dump
        .strip_prefix(&format!("s3://{}/", w.platform.bucket))
        .expect("in the archive bucket");
    let obj = w
        .clients
        .s3
        .get_object()
        .bucket(&w.platform.bucket)
        .key(key_part)
        .send()
        .await
        .expect("GetObject");
    let bytes = obj.body.collect().await.expect("body").into_bytes();
    let mut sql = String::new();
    flate2::read::GzDecoder::new(&bytes[..])
        .read_to_string(&mut sql)
        .expect("gzip");
    assert!(sql.contains("CREATE TABLE `wp_options`"), "{sql}");
    assert!(
        sql.contains("INSERT INTO `wp_options` VALUES ('1','blogname','It\\'s Moto');"),
        "{sql}"
    );
    let tasks = w.tasks.lock().expect("log").clone();
    assert!(
        tasks.iter().any(|t| t.starts_with("archive-files"))
            && tasks
                .iter()
                .any(|t| t == &format!("purge rm -rf /mnt/efs/tenant-{key}")),
        "{tasks:?}"
    );

    // A second provisioning of the same tenant starts over with the same names.
    let again = w
        .service
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), None)
        .await
        .expect("a deprovisioned tenant can be provisioned again");
    assert_eq!(again.value.instance.resource_key.as_str(), key);
    let _ = &w.settings;
}

#[tokio::test]
async fn the_dynamodb_store_allows_one_active_instance_per_tenant_and_replays_keys() {
    let w = world().await;
    let t = w.subject.create("Guarded Hosting").await;
    w.subject
        .service
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("tenant activated");
    let key = bbws_core::idempotency::IdempotencyKey::parse("retry-1").expect("key");
    let first = w
        .service
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), Some(&key))
        .await
        .expect("accepted");
    assert!(!first.replayed);
    let replay = w
        .service
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), Some(&key))
        .await
        .expect("replayed");
    assert!(replay.replayed);
    assert_eq!(replay.value.operation.id, first.value.operation.id);

    let err = w
        .service
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), None)
        .await
        .expect_err("a second instance is refused");
    assert_eq!(err.code(), ErrorCode::Conflict);
    assert_eq!(
        err.details()["instanceId"],
        serde_json::json!(first.value.instance.id.to_string()),
        "{err:?}"
    );
    let active = w
        .store
        .active_instance(&t.id)
        .await
        .expect("read")
        .expect("held");
    assert_eq!(active.id, first.value.instance.id);
    assert_eq!(w.store.list_instances(&t.id).await.expect("list").len(), 1);
}

/// Receives one message from `queue_url`, long-polling until one arrives or 20 s have passed.
pub(crate) async fn receive_one(sqs: &aws_sdk_sqs::Client, queue_url: &str) -> Option<String> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::time::Instant::now() < deadline {
        let out = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .expect("ReceiveMessage");
        let mut messages = out.messages.unwrap_or_default();
        assert!(messages.len() <= 1, "one message expected: {messages:#?}");
        if let Some(m) = messages.pop() {
            sqs.delete_message()
                .queue_url(queue_url)
                .receipt_handle(m.receipt_handle.expect("receipt handle"))
                .send()
                .await
                .expect("DeleteMessage");
            return m.body;
        }
    }
    None
}

/// A DynamoDB backend opened from its environment as a Lambda opens it: the world's table and
/// instance cloud, its own EventBridge bus and the three instance queues in moto. Only the moto
/// bridges of the module docs are put in its cloud afterwards.
pub(crate) struct Queued {
    pub backend: bbws_aws::Backend,
    pub sqs: aws_sdk_sqs::Client,
    pub eventbridge: aws_sdk_eventbridge::Client,
    pub bus: String,
    pub provision: String,
    pub deprovision: String,
    pub lifecycle: String,
}

pub(crate) async fn queued_backend(w: &World) -> Queued {
    let sdk = sdk_config().await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let suffix = format!(
        "{}-{}",
        std::process::id(),
        PLATFORMS.fetch_add(1, Ordering::SeqCst)
    );
    let mut urls = Vec::new();
    for name in ["provision", "deprovision", "lifecycle"] {
        let out = sqs
            .create_queue()
            .queue_name(format!("bbws-instance-{name}-{suffix}"))
            .send()
            .await
            .expect("CreateQueue");
        urls.push(out.queue_url.expect("queue url"));
    }
    let bus = format!("bbws-events-{suffix}");
    let eventbridge = aws_sdk_eventbridge::Client::new(&sdk);
    eventbridge
        .create_event_bus()
        .name(&bus)
        .send()
        .await
        .expect("CreateEventBus");
    let (_, table, _) = w.subject.dynamo.clone().expect("dynamodb");
    let mut env: BTreeMap<&str, String> = BTreeMap::from([
        ("BBWS_BACKEND", "dynamodb".to_owned()),
        ("DYNAMODB_TABLE", table),
        ("EVENT_BUS_NAME", bus.clone()),
        ("AWS_ENDPOINT_URL", crate::moto::endpoint().to_owned()),
        ("PROVISION_QUEUE_URL", urls[0].clone()),
        ("DEPROVISION_QUEUE_URL", urls[1].clone()),
        ("LIFECYCLE_QUEUE_URL", urls[2].clone()),
    ]);
    env.extend(w.vars.iter().map(|(k, v)| (*k, v.clone())));
    let config = bbws_aws::BackendConfig::from_env(|k| env.get(k).cloned()).expect("config");
    let mut backend = bbws_aws::Backend::open_with_sdk(&config, Some(sdk.clone()))
        .await
        .expect("backend opens");
    assert_eq!(backend.cloud.mode, bbws_core::instance::CloudMode::Live);
    backend.cloud = w.engine.cloud().clone();
    let [provision, deprovision, lifecycle] = <[String; 3]>::try_from(urls).expect("three queues");
    Queued {
        backend,
        sqs,
        eventbridge,
        bus,
        provision,
        deprovision,
        lifecycle,
    }
}

#[tokio::test]
async fn accepted_operations_travel_through_sqs_to_the_worker_which_continues_through_the_queue() {
    let w = world().await;
    let q = queued_backend(&w).await;
    let (backend, sqs) = (&q.backend, &q.sqs);
    let urls = [q.provision.clone(), q.deprovision.clone()];
    let tenants = backend.tenant_service();
    let instances = backend.instance_service();
    let relay = backend.relay();
    let worker = backend.instance_worker("test-worker").expect("a worker");

    let t = tenants
        .create(
            &admin(),
            crate::support::new_tenant("Queued Hosting", Environment::Dev),
            None,
        )
        .await
        .expect("tenant")
        .value;
    tenants
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("tenant activated");

    // Accepting queues nothing by itself; publishing the outbox sends the message.
    let accepted = instances
        .request_provisioning(&admin(), &t.id, NewInstance::standard(), None)
        .await
        .expect("provisioning accepted")
        .value;
    relay
        .drain()
        .await
        .expect("the outbox drains to EventBridge and SQS");
    let body = receive_one(sqs, &urls[0])
        .await
        .expect("the provisioning message is on the provision queue");
    let message = bbws_core::instance::OperationMessage::parse(&body).expect("a message");
    assert_eq!(message.operation_id, accepted.operation.id);
    assert_eq!(message.tenant_id, t.id);

    let outcome = worker
        .handle(&body, std::time::Duration::from_mins(10))
        .await
        .expect("handled");
    let bbws_core::instance::WorkOutcome::Finished(op) = outcome else {
        panic!("the provisioning should end within its budget: {outcome:?}");
    };
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(
        w.store
            .get_instance(&t.id, &accepted.instance.id)
            .await
            .expect("read")
            .expect("instance")
            .state,
        InstanceState::Active
    );

    // Deprovisioning goes to its own queue; a worker whose budget is already spent gives the
    // operation back to that queue, and the next one finishes it.
    let accepted = instances
        .request_deprovisioning(
            &admin(),
            &t.id,
            &accepted.instance.id,
            DeprovisionOptions {
                archive_data: false,
                reason: Some("offboarding".to_owned()),
            },
            None,
        )
        .await
        .expect("deprovisioning accepted")
        .value;
    relay.drain().await.expect("drained");
    assert_eq!(
        receive_one(sqs, &urls[0]).await,
        None,
        "nothing on the provision queue"
    );
    let body = receive_one(sqs, &urls[1])
        .await
        .expect("the deprovisioning message is on the deprovision queue");
    let outcome = worker
        .handle(&body, std::time::Duration::ZERO)
        .await
        .expect("a spent budget is not a failure");
    assert_eq!(
        outcome,
        bbws_core::instance::WorkOutcome::Continued {
            operation_id: accepted.operation.id
        }
    );
    let again = receive_one(sqs, &urls[1])
        .await
        .expect("the operation is queued again");
    let continued = bbws_core::instance::OperationMessage::parse(&again).expect("a message");
    assert_eq!(continued.operation_id, accepted.operation.id);
    assert_eq!(continued.continuation, 1);
    let outcome = worker
        .handle(&again, std::time::Duration::from_mins(10))
        .await
        .expect("handled");
    let bbws_core::instance::WorkOutcome::Finished(op) = outcome else {
        panic!("the deprovisioning should end: {outcome:?}");
    };
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(
        w.store
            .get_instance(&t.id, &accepted.instance.id)
            .await
            .expect("read")
            .expect("instance")
            .state,
        InstanceState::Deprovisioned
    );
}

#[tokio::test]
async fn an_ecs_event_finds_its_tenant_through_the_service_tags_in_moto() {
    let w = world().await;
    let (t, instance) = provisioned(&w, "Event Hosting").await;
    let service_arn = instance
        .resources
        .get(&ResourceType::EcsService)
        .cloned()
        .expect("the service's ARN is on the instance");

    // ListTagsForResource on the service moto holds gives the tenant and environment.
    let tags = bbws_aws::cloud::service_tags::EcsServiceTags::new(w.clients.ecs.clone());
    let found = bbws_core::instance::ServiceTags::service_tags(&tags, &service_arn)
        .await
        .expect("ListTagsForResource");
    assert_eq!(
        found.get("bbws:tenant-id").map(String::as_str),
        Some(t.id.to_string().as_str()),
        "{found:?}"
    );

    // A steady-state event about that service (it carries no tags, as ECS sends it) is placed
    // and recorded on the DynamoDB item.
    let handler = bbws_core::instance::EcsEventHandler::new(
        w.store.clone(),
        Some(Arc::new(tags)),
        Environment::Dev,
        w.subject.clock.clone(),
        Arc::new(RandomIds),
    );
    let event = serde_json::json!({
        "version": "0", "id": "af3c496d-f4a8-65d1-70f4-a69d52e9b584",
        "detail-type": "ECS Service Action", "source": "aws.ecs",
        "account": "123456789012", "time": "2026-01-05T12:10:00Z", "region": "us-east-1",
        "resources": [service_arn],
        "detail": {"eventType": "INFO", "eventName": "SERVICE_STEADY_STATE",
                   "clusterArn": format!("arn:aws:ecs:us-east-1:123456789012:cluster/{}", w.platform.cluster),
                   "createdAt": "2026-01-05T12:10:00.695Z"}
    });
    assert_eq!(
        handler.handle(&event).await.expect("handled"),
        bbws_core::instance::SyncOutcome::Recorded {
            state: InstanceState::Active
        }
    );
    let stored = w
        .store
        .get_instance(&t.id, &instance.id)
        .await
        .expect("read")
        .expect("instance");
    let mark = stored.last_ecs_event.expect("recorded in DynamoDB");
    assert_eq!(mark.name, "SERVICE_STEADY_STATE");
    assert_eq!(mark.id, "af3c496d-f4a8-65d1-70f4-a69d52e9b584");
    assert_eq!(
        handler.handle(&event).await.expect("handled"),
        bbws_core::instance::SyncOutcome::Duplicate
    );
}

#[tokio::test]
async fn lifecycle_operations_on_moto_move_the_instance_and_the_service() {
    use bbws_core::instance::{LifecycleRequest, OperationType};
    let w = world().await;
    let (t, instance) = provisioned(&w, "Lifecycle Hosting").await;
    let service = format!("tenant-{}-wordpress", instance.resource_key);
    let scaling_id = format!("service/{}/{service}", w.platform.cluster);
    let reason = || {
        bbws_core::tenant::Reason::parse(Some("quarterly cost review"), "Reason").expect("reason")
    };
    let run = |req: LifecycleRequest| {
        let w = &w;
        let t = &t;
        let instance = &instance;
        async move {
            let accepted = w
                .service
                .request_lifecycle(&admin(), &t.id, &instance.id, req, None)
                .await?
                .value;
            let op = w
                .engine
                .run(&accepted.operation.id)
                .await
                .expect("the run ends");
            let now = w
                .store
                .get_instance(&t.id, &instance.id)
                .await
                .expect("read")
                .expect("instance");
            Ok::<_, bbws_core::Error>((op, now))
        }
    };
    let desired = || async {
        let out = w
            .clients
            .ecs
            .describe_services()
            .cluster(&w.platform.cluster)
            .services(&service)
            .send()
            .await
            .expect("DescribeServices");
        out.services()[0].desired_count()
    };
    let suspended = || async {
        let out = w
            .clients
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_ids(&scaling_id)
            .send()
            .await
            .expect("DescribeScalableTargets");
        out.scalable_targets()[0].suspended_state().and_then(
            aws_sdk_applicationautoscaling::types::SuspendedState::dynamic_scaling_in_suspended,
        )
    };

    let (op, now) = run(LifecycleRequest::Suspend { reason: reason() })
        .await
        .expect("suspend");
    assert_eq!(
        (op.op_type, op.status),
        (OperationType::Suspend, OperationStatus::Completed),
        "{op:#?}"
    );
    assert_eq!(now.state, InstanceState::Suspended);
    assert_eq!(desired().await, 0);
    assert_eq!(suspended().await, Some(true));
    // SUSPENDED refuses a scale with 422 and the transitions it allows.
    match run(LifecycleRequest::Scale { desired_count: 3 }).await {
        Err(bbws_core::Error::InstanceTransition { allowed, .. }) => {
            assert_eq!(
                allowed,
                vec![
                    InstanceState::Resuming,
                    InstanceState::PendingDeprovisioning
                ]
            );
        }
        other => panic!("{other:?}"),
    }

    let (op, now) = run(LifecycleRequest::Resume).await.expect("resume");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(now.state, InstanceState::Active);
    assert_eq!(
        desired().await,
        i32::try_from(instance.desired_count.get()).expect("count")
    );
    assert_eq!(suspended().await, Some(false));

    let (op, now) = run(LifecycleRequest::Scale { desired_count: 4 })
        .await
        .expect("scale");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(
        (now.state, now.desired_count.get()),
        (InstanceState::Active, 4)
    );
    assert_eq!(desired().await, 4);

    let (op, now) = run(LifecycleRequest::Park { reason: reason() })
        .await
        .expect("park");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(now.state, InstanceState::Parked);
    assert_eq!(desired().await, 0);
    let err = run(LifecycleRequest::Restart)
        .await
        .expect_err("a parked instance is not restarted");
    assert_eq!(err.code(), ErrorCode::InvalidStatusTransition);

    let (op, now) = run(LifecycleRequest::Unpark).await.expect("unpark");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(now.state, InstanceState::Active);
    assert_eq!(desired().await, 4, "the stored count comes back");

    let (op, now) = run(LifecycleRequest::Restart).await.expect("restart");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(now.state, InstanceState::Active);
}

#[tokio::test]
async fn status_and_health_answer_from_moto_as_the_state_allows() {
    use bbws_core::instance::{
        ComponentStatus, HealthComponent, HealthStatus, LifecycleRequest, ServiceView,
    };
    let w = world().await;
    let (t, instance) = provisioned(&w, "Live Reads Hosting").await;

    // ACTIVE: ECS answers the service with its deployment; moto never runs a task, so ECS and
    // the (empty) target group are unhealthy while the data components exist.
    let s = w
        .service
        .status(&admin(), &t.id, &instance.id)
        .await
        .expect("status");
    let ServiceView::Found(svc) = &s.service else {
        panic!("the moto service is found: {:?}", s.service);
    };
    assert_eq!(svc.desired_count, instance.desired_count.get());
    assert_eq!(svc.running_count, 0, "moto runs no task");
    assert!(
        svc.arn
            .ends_with(&format!("tenant-{}-wordpress", instance.resource_key))
    );
    assert!(!svc.deployments.is_empty(), "{svc:#?}");
    assert_eq!(
        Some(svc.task_definition.as_str()),
        instance
            .resources
            .get(&ResourceType::TaskDefinition)
            .map(String::as_str)
    );
    let h = w
        .service
        .health(&admin(), &t.id, &instance.id)
        .await
        .expect("health");
    let status = |h: &bbws_core::instance::InstanceHealth, c| h.components[&c].status;
    assert_eq!(h.status, HealthStatus::Unhealthy, "{h:#?}");
    assert_eq!(status(&h, HealthComponent::Ecs), ComponentStatus::Unhealthy);
    assert!(
        h.components[&HealthComponent::Ecs]
            .reason
            .starts_with("0 of 2 tasks running")
    );
    assert_eq!(
        status(&h, HealthComponent::Targets),
        ComponentStatus::Unhealthy
    );
    for c in [
        HealthComponent::Efs,
        HealthComponent::Database,
        HealthComponent::Cognito,
    ] {
        assert_eq!(status(&h, c), ComponentStatus::Healthy, "{c:?}: {h:#?}");
    }

    // SUSPENDED: 0 tasks is what the state promises; the targets do not apply.
    let accepted = w
        .service
        .request_lifecycle(
            &admin(),
            &t.id,
            &instance.id,
            LifecycleRequest::Suspend {
                reason: bbws_core::tenant::Reason::parse(Some("quarterly cost review"), "Reason")
                    .expect("reason"),
            },
            None,
        )
        .await
        .expect("suspend accepted")
        .value;
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("the run ends");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let h = w
        .service
        .health(&admin(), &t.id, &instance.id)
        .await
        .expect("health");
    assert_eq!(h.status, HealthStatus::Healthy, "{h:#?}");
    assert_eq!(status(&h, HealthComponent::Ecs), ComponentStatus::Healthy);
    assert_eq!(
        status(&h, HealthComponent::Targets),
        ComponentStatus::NotApplicable
    );

    // The database dropped behind the platform's back: the database is unhealthy.
    let mut conn = root_conn(&w.db_endpoint).await;
    let db = instance.resources[&ResourceType::Database].clone();
    conn.query_drop(format!("DROP DATABASE `{db}`"))
        .await
        .expect("dropped");
    let h = w
        .service
        .health(&admin(), &t.id, &instance.id)
        .await
        .expect("health");
    assert_eq!(
        status(&h, HealthComponent::Database),
        ComponentStatus::Unhealthy
    );
    assert_eq!(h.status, HealthStatus::Unhealthy);
}
