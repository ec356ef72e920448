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

#[derive(Debug, Deserialize)]
struct Platform {
    vpc: String,
    subnets: Vec<String>,
    sg: String,
    listener: String,
    cluster: String,
    admin_task: String,
    fs: String,
    bucket: String,
    master_secret: String,
}

static PLATFORMS: AtomicUsize = AtomicUsize::new(0);

fn platform() -> Platform {
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

struct World {
    subject: Subject,
    store: Arc<DynamoStore>,
    platform: Platform,
    clients: Clients,
    settings: CloudSettings,
    engine: ProvisioningEngine,
    service: InstanceService,
    tasks: Arc<std::sync::Mutex<Vec<String>>>,
    db_endpoint: String,
}

async fn world() -> World {
    let subject = Subject::dynamodb().await;
    let Resources::Dynamo(store) = subject.resources.clone() else {
        unreachable!("a DynamoDB subject")
    };
    let (dynamodb, table, _) = subject.dynamo.clone().expect("dynamodb");
    let platform = platform();
    let db_endpoint = crate::mariadb::endpoint();
    let vars: BTreeMap<&str, String> = BTreeMap::from([
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
    let runner = Arc::new(MotoTasks {
        s3: clients.s3.clone(),
        started: tasks.clone(),
    });
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
    );
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
    }
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
    let t = w.subject.create("Moto Hosting").await;
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
