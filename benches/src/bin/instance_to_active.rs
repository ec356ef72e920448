//! `instance_to_active`: wall time from a provisioning request to ACTIVE through the real engine
//! and the real AWS adapters (`bbws_aws::cloud`), against moto and a private MariaDB, both
//! started here as the bbws-aws instance tests start them.
//!
//! ```text
//! cargo run --release -p bbws-benches --bin instance_to_active -- [--runs 5]
//! ```
//!
//! Each run: a new ACTIVE tenant on a DynamoDB table in moto (not timed); then, timed, the
//! provisioning request (`InstanceService::request_provisioning`, the 202) and
//! `ProvisioningEngine::run` until the operation is COMPLETED and the instance ACTIVE; then the
//! backup of the instance with [`ROWS`] rows in a table (request to COMPLETED) and its restore
//! (request to ACTIVE again: stop, pre-restore backup, replay, start), both timed, with the rows
//! checked after the restore; then the
//! deprovisioning (archives included), timed too, after which every object the run made must be
//! gone from moto and MariaDB, or the program fails (the same inventory, taken while ACTIVE,
//! must show every kind of object, so an empty one means the objects are gone). It prints min / p50 / max of both, and for
//! each step the time between its `startedAt` and `completedAt` in the operation (milliseconds:
//! the operation's timestamps have that resolution; the first steps run in parallel, so their
//! sum is more than the whole).
//!
//! Two things moto cannot do are bridged here, through the ports and only in this program, as
//! the bbws-aws instance tests do: ECS services in moto never run a task, so the health wait
//! asks the real probe (`AwsHealth`) and counts its "starting, no task running" for a live
//! service as healthy; and one-off ECS tasks cannot run, so the file archive's upload is made
//! here, and the purge and the files' restore do nothing. Everything else is the real adapter on moto's real answers.
//!
//! Needs the project's virtualenv (`scripts/python-env`: moto) and Debian's `mariadb-server`.

#[path = "../../../bbws-aws/tests/it/mariadb.rs"]
mod mariadb;
#[path = "../../../bbws-aws/tests/it/moto.rs"]
mod moto;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_dynamodb::config::{Credentials, Region};
use bbws_aws::DynamoStore;
use bbws_aws::cloud::health::AwsHealth;
use bbws_aws::cloud::tasks::{OneOffTask, TaskRunner};
use bbws_aws::cloud::{Clients, CloudSettings, assemble};
use bbws_core::auth::Actor;
use bbws_core::ids::RandomIds;
use bbws_core::instance::ports::{CloudError, CloudResult, Health, HealthProbe, HealthTarget};
use bbws_core::instance::{
    DeprovisionOptions, InstanceDao, InstancePorts, InstanceService, InstanceState, NewInstance,
    Operation, OperationStatus, ProvisioningEngine, StepName, TokioTimer,
};
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, TenantPorts, TenantService, TenantStatus,
};
use bbws_core::time::SystemClock;
use mysql_async::prelude::Queryable;
use serde_json::Value;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error + Send + Sync>>;

/// Rows in the table the backup and the restore carry (about 200 bytes each).
const ROWS: usize = 2000;

const USAGE: &str = "instance_to_active [--runs 5]";
const COMMAND: &str = "cargo run --release -p bbws-benches --bin instance_to_active --";

fn parse_runs() -> Result<usize> {
    let mut runs = 5;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .ok_or(USAGE)?
                    .parse()
                    .map_err(|_| format!("--runs takes a whole number\n{USAGE}"))?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other}\n{USAGE}").into()),
        }
    }
    if runs == 0 {
        return Err(format!("--runs must be at least 1\n{USAGE}").into());
    }
    Ok(runs)
}

/// The shared platform of digest 2.7 §4.1 in moto, made by the bbws-aws tests' fixture.
fn platform() -> Result<Value> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .ok_or("no workspace")?
        .to_owned();
    let venv = std::env::var_os("BBWS_VENV").map_or_else(|| root.join(".venv"), PathBuf::from);
    let out = std::process::Command::new(venv.join("bin/python"))
        .arg(root.join("bbws-aws/tests/it/moto_platform.py"))
        .arg(moto::endpoint())
        .arg(format!("b{}", std::process::id()))
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "moto_platform.py failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

fn field(p: &Value, k: &str) -> String {
    p[k].as_str().unwrap_or_default().to_owned()
}

/// The health wait over moto (see the module docs).
#[derive(Debug)]
struct MotoHealth(AwsHealth);

#[async_trait]
impl HealthProbe for MotoHealth {
    async fn check(&self, target: &HealthTarget) -> CloudResult<Health> {
        match self.0.check(target).await? {
            Health::Starting(why)
                if why == "deployment IN_PROGRESS" || why.starts_with("0 of ") =>
            {
                Ok(Health::Healthy)
            }
            other => Err(CloudError::permanent(
                "bench",
                "health",
                format!("the real probe answered {other:?} for a service moto cannot run"),
            )),
        }
    }
}

/// One-off tasks over moto (see the module docs).
#[derive(Debug)]
struct MotoTasks(Clients);

#[async_trait]
impl TaskRunner for MotoTasks {
    async fn run(&self, task: &OneOffTask) -> CloudResult<()> {
        if let OneOffTask::ArchiveFiles { to, .. } = task {
            self.0
                .s3
                .put_object()
                .bucket(&to.bucket)
                .key(&to.key)
                .body(b"wp-content".to_vec().into())
                .send()
                .await
                .map_err(|e| CloudError::permanent("s3", "PutObject", e.to_string()))?;
        }
        Ok(())
    }
}

struct World {
    clients: Clients,
    platform: Value,
    tenants: TenantService,
    instances: InstanceService,
    engine: ProvisioningEngine,
    store: Arc<DynamoStore>,
    admin: Actor,
    db_endpoint: String,
}

async fn world() -> Result<World> {
    let endpoint = moto::endpoint();
    let db_endpoint = mariadb::endpoint();
    let platform = platform()?;
    let sdk = bbws_aws::sdk::loader(Some(endpoint))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "instance-bench",
        ))
        .region(Region::new("us-east-1"))
        .load()
        .await;
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table = format!("bbws-instance-bench-{}", std::process::id());
    bbws_aws::create_table(&dynamodb, &table).await?;
    let store = Arc::new(DynamoStore::new(dynamodb.clone(), &table));
    let vars: BTreeMap<&str, String> = BTreeMap::from([
        ("VPC_ID", field(&platform, "vpc")),
        (
            "PRIVATE_SUBNET_IDS",
            platform["subnets"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .unwrap_or_default(),
        ),
        ("ECS_TASK_SG_ID", field(&platform, "sg")),
        ("EFS_FILE_SYSTEM_ID", field(&platform, "fs")),
        ("ALB_LISTENER_ARN", field(&platform, "listener")),
        (
            "ECS_EXECUTION_ROLE_ARN",
            "arn:aws:iam::123456789012:role/exec".to_owned(),
        ),
        (
            "ECS_TASK_ROLE_ARN",
            "arn:aws:iam::123456789012:role/task".to_owned(),
        ),
        ("WORDPRESS_IMAGE_REPO", "wordpress".to_owned()),
        ("EFS_ADMIN_TASK_DEF", field(&platform, "admin_task")),
        ("ECS_CLUSTER", field(&platform, "cluster")),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("RDS_ENDPOINT", db_endpoint.clone()),
        ("RDS_MASTER_SECRET_ID", field(&platform, "master_secret")),
        ("RDS_TLS", "disabled".to_owned()),
        ("ARCHIVE_BUCKET", field(&platform, "bucket")),
        ("HEALTH_INTERVAL_SECONDS", "0".to_owned()),
    ]);
    let settings = CloudSettings::from_lookup(Environment::Dev, |k| vars.get(k).cloned())?;
    let clients = Clients::new(&sdk, true);
    let runner = Arc::new(MotoTasks(clients.clone()));
    let mut cloud = assemble(&clients, &settings, dynamodb, &table, runner);
    cloud.health = Arc::new(MotoHealth(AwsHealth::new(
        clients.ecs.clone(),
        clients.elb.clone(),
    )));
    let clock = Arc::new(SystemClock);
    let ids = Arc::new(RandomIds);
    Ok(World {
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
            settings.platform.clone(),
        ),
        engine: ProvisioningEngine::new(
            store.clone(),
            cloud,
            settings.platform.clone(),
            clock,
            Arc::new(TokioTimer),
            ids,
        ),
        store,
        clients,
        platform,
        admin: Actor::local_admin("bench@example.com"),
        db_endpoint,
    })
}

/// Every kind of object a provisioning makes, as [`inventory`] names them.
const KINDS: [&str; 11] = [
    "secret",
    "user pool",
    "domain",
    "access point",
    "target group",
    "listener rule",
    "ECS service",
    "task definition",
    "scalable target",
    "database",
    "database user",
];

/// What moto and MariaDB hold of a tenant (`key`, routed at `host`): `(kind, name)`.
async fn inventory(w: &World, key: &str, host: &str) -> Result<Vec<(&'static str, String)>> {
    let c = &w.clients;
    let mut left = Vec::new();
    for s in c.secrets.list_secrets().send().await?.secret_list() {
        if s.name()
            .is_some_and(|n| n.contains(&format!("tenant-{key}/")))
        {
            left.push(("secret", s.name().unwrap_or_default().to_owned()));
        }
    }
    for p in c
        .cognito
        .list_user_pools()
        .max_results(60)
        .send()
        .await?
        .user_pools()
    {
        if p.name().is_some_and(|n| n.contains(key)) {
            left.push(("user pool", p.name().unwrap_or_default().to_owned()));
        }
    }
    let domain = format!("bbws-{key}-dev");
    let described = c
        .cognito
        .describe_user_pool_domain()
        .domain(&domain)
        .send()
        .await?;
    if described
        .domain_description()
        .and_then(|d| d.user_pool_id())
        .is_some_and(|id| !id.is_empty())
    {
        left.push(("domain", domain));
    }
    for ap in c
        .efs
        .describe_access_points()
        .file_system_id(field(&w.platform, "fs"))
        .send()
        .await?
        .access_points()
    {
        if ap
            .tags()
            .iter()
            .any(|t| t.key() == "Name" && t.value().contains(key))
        {
            left.push((
                "access point",
                ap.access_point_id().unwrap_or_default().to_owned(),
            ));
        }
    }
    for tg in c.elb.describe_target_groups().send().await?.target_groups() {
        if tg.target_group_name().is_some_and(|n| n.contains(key)) {
            left.push((
                "target group",
                tg.target_group_name().unwrap_or_default().to_owned(),
            ));
        }
    }
    for r in c
        .elb
        .describe_rules()
        .listener_arn(field(&w.platform, "listener"))
        .send()
        .await?
        .rules()
    {
        let routes = r.conditions().iter().any(|cond| {
            cond.host_header_config()
                .is_some_and(|h| h.values().iter().any(|v| v == host))
        });
        if routes {
            left.push(("listener rule", host.to_owned()));
        }
    }
    let service = format!("tenant-{key}-wordpress");
    for s in c
        .ecs
        .describe_services()
        .cluster(field(&w.platform, "cluster"))
        .services(&service)
        .send()
        .await?
        .services()
    {
        if matches!(s.status(), Some("ACTIVE" | "DRAINING")) {
            left.push(("ECS service", service.clone()));
        }
    }
    for arn in c
        .ecs
        .list_task_definitions()
        .family_prefix(&service)
        .send()
        .await?
        .task_definition_arns()
    {
        left.push(("task definition", arn.clone()));
    }
    for t in c
        .autoscaling
        .describe_scalable_targets()
        .service_namespace("ecs".into())
        .send()
        .await?
        .scalable_targets()
    {
        if t.resource_id().contains(key) {
            left.push(("scalable target", t.resource_id().to_owned()));
        }
    }
    let (host_part, port) = w.db_endpoint.split_once(':').ok_or("db endpoint")?;
    let mut conn = mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host_part)
            .tcp_port(port.parse()?)
            .user(Some("root"))
            .prefer_socket(false),
    )
    .await?;
    let dbs: Vec<String> = conn
        .exec(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (format!("tenant_{key}_db"),),
        )
        .await?;
    let users: Vec<String> = conn
        .exec(
            "SELECT User FROM mysql.user WHERE User = ?",
            (format!("t_{key}_user"),),
        )
        .await?;
    conn.disconnect().await?;
    left.extend(dbs.into_iter().map(|d| ("database", d)));
    left.extend(users.into_iter().map(|u| ("database user", u)));
    Ok(left)
}

/// One run's figures.
struct Run {
    to_active: Duration,
    to_backed_up: Duration,
    to_restored: Duration,
    to_deprovisioned: Duration,
    steps: Vec<(StepName, i64)>,
    restore_steps: Vec<(StepName, i64)>,
}

fn step_millis(op: &Operation) -> Vec<(StepName, i64)> {
    op.steps
        .iter()
        .filter_map(|s| Some((s.name, s.completed_at?.millis() - s.started_at?.millis())))
        .collect()
}

async fn one_run(w: &World, n: usize) -> Result<Run> {
    let tenant = w
        .tenants
        .create(
            &w.admin,
            NewTenant {
                organization_name: OrganizationName::parse(&format!("Instance Bench {n}"))?,
                contact_email: Email::parse("ops@bench.example")?,
                environment: Environment::Dev,
                division: None,
                group: None,
                team: None,
                metadata: serde_json::Map::new(),
            },
            None,
        )
        .await?
        .value;
    w.tenants
        .set_status(&w.admin, &tenant.id, TenantStatus::Active, None, None)
        .await?;

    let start = Instant::now();
    let accepted = w
        .instances
        .request_provisioning(&w.admin, &tenant.id, NewInstance::standard(), None)
        .await?
        .value;
    let op = w.engine.run(&accepted.operation.id).await?;
    let to_active = start.elapsed();
    let instance = w
        .store
        .get_instance(&tenant.id, &accepted.instance.id)
        .await?
        .ok_or("the instance disappeared")?;
    if op.status != OperationStatus::Completed || instance.state != InstanceState::Active {
        return Err(format!(
            "run {n}: provisioning ended {} with the instance {}: {:?}",
            op.status, instance.state, op.error
        )
        .into());
    }
    let steps = step_millis(&op);
    // The inventory sees every kind of object while they exist, so its empty answer after the
    // deprovisioning means something.
    let live = inventory(w, instance.resource_key.as_str(), &instance.domain).await?;
    let missing: Vec<&str> = KINDS
        .into_iter()
        .filter(|k| !live.iter().any(|(kind, _)| kind == k))
        .collect();
    if !missing.is_empty() {
        return Err(format!("run {n}: ACTIVE, but moto or MariaDB has no {missing:?}").into());
    }

    let (to_backed_up, to_restored, restore_steps) =
        backup_and_restore(w, n, &tenant.id, &instance).await?;

    let start = Instant::now();
    let accepted = w
        .instances
        .request_deprovisioning(
            &w.admin,
            &tenant.id,
            &instance.id,
            DeprovisionOptions {
                archive_data: true,
                reason: None,
            },
            None,
        )
        .await?
        .value;
    let op = w.engine.run(&accepted.operation.id).await?;
    let to_deprovisioned = start.elapsed();
    if op.status != OperationStatus::Completed {
        return Err(format!(
            "run {n}: deprovisioning ended {}: {:?}",
            op.status, op.error
        )
        .into());
    }
    let left = inventory(w, instance.resource_key.as_str(), &instance.domain).await?;
    if !left.is_empty() {
        return Err(format!("run {n}: left behind after deprovisioning: {left:?}").into());
    }
    Ok(Run {
        to_active,
        to_backed_up,
        to_restored,
        to_deprovisioned,
        steps,
        restore_steps,
    })
}

async fn tenant_db(
    w: &World,
    instance: &bbws_core::instance::Instance,
) -> Result<mysql_async::Conn> {
    let (host, port) = w.db_endpoint.split_once(':').ok_or("db endpoint")?;
    Ok(mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port.parse()?)
            .user(Some("root"))
            .db_name(Some(format!(
                "tenant_{}_db",
                instance.resource_key.as_str()
            )))
            .prefer_socket(false),
    )
    .await?)
}

/// Timed: a backup of [`ROWS`] rows, then (after the rows were deleted) its restore; the rows
/// must be back.
async fn backup_and_restore(
    w: &World,
    n: usize,
    tenant: &bbws_core::ids::TenantId,
    instance: &bbws_core::instance::Instance,
) -> Result<(Duration, Duration, Vec<(StepName, i64)>)> {
    let mut db = tenant_db(w, instance).await?;
    db.query_drop("CREATE TABLE bench_posts (id INT PRIMARY KEY, body TEXT)")
        .await?;
    let body = "x".repeat(200);
    db.exec_batch(
        "INSERT INTO bench_posts VALUES (?, ?)",
        (0..ROWS).map(|i| (i, body.as_str())),
    )
    .await?;
    db.disconnect().await?;

    let start = Instant::now();
    let accepted = w
        .instances
        .request_backup(&w.admin, tenant, &instance.id, None, None)
        .await?
        .value;
    let op = w.engine.run(&accepted.operation.id).await?;
    let to_backed_up = start.elapsed();
    let backup = op.backup_id.ok_or("no backup id")?;
    if op.status != OperationStatus::Completed {
        return Err(format!("run {n}: backup ended {}: {:?}", op.status, op.error).into());
    }

    let mut db = tenant_db(w, instance).await?;
    db.query_drop("DELETE FROM bench_posts").await?;
    db.disconnect().await?;
    let start = Instant::now();
    let accepted = w
        .instances
        .request_restore(&w.admin, tenant, &instance.id, &backup, None)
        .await?
        .value;
    let op = w.engine.run(&accepted.operation.id).await?;
    let to_restored = start.elapsed();
    if op.status != OperationStatus::Completed {
        return Err(format!("run {n}: restore ended {}: {:?}", op.status, op.error).into());
    }
    let mut db = tenant_db(w, instance).await?;
    let count: Option<usize> = db.query_first("SELECT COUNT(*) FROM bench_posts").await?;
    db.disconnect().await?;
    if count != Some(ROWS) {
        return Err(format!("run {n}: {count:?} rows after the restore, not {ROWS}").into());
    }
    Ok((to_backed_up, to_restored, step_millis(&op)))
}

/// Linear interpolation between the closest ranks.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.len() == 1 {
        return sorted[0];
    }
    #[allow(clippy::cast_precision_loss)]
    let rank = p * (sorted.len() - 1) as f64;
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let (lo, hi) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[lo] + (sorted[hi] - sorted[lo]) * (rank - rank.floor())
}

fn summary(mut xs: Vec<f64>) -> String {
    xs.sort_by(f64::total_cmp);
    format!(
        "min {:>8.1}  p50 {:>8.1}  max {:>8.1}",
        xs[0],
        percentile(&xs, 0.5),
        xs[xs.len() - 1]
    )
}

#[tokio::main]
async fn main() -> Result<()> {
    let runs = parse_runs()?;
    eprintln!("starting moto, MariaDB and the platform fixture...");
    let w = world().await?;
    let mut results = Vec::with_capacity(runs);
    for n in 1..=runs {
        let r = one_run(&w, n).await?;
        eprintln!(
            "run {n}/{runs}: ACTIVE after {:.1} ms, backup {:.1} ms, restore {:.1} ms, DEPROVISIONED after {:.1} ms, nothing left",
            r.to_active.as_secs_f64() * 1e3,
            r.to_backed_up.as_secs_f64() * 1e3,
            r.to_restored.as_secs_f64() * 1e3,
            r.to_deprovisioned.as_secs_f64() * 1e3
        );
        results.push(r);
    }

    println!("instance_to_active: {runs} runs on moto + MariaDB (milliseconds)");
    println!(
        "request -> ACTIVE          {}",
        summary(
            results
                .iter()
                .map(|r| r.to_active.as_secs_f64() * 1e3)
                .collect()
        )
    );
    println!(
        "backup ({ROWS} rows) -> COMPLETED {}",
        summary(
            results
                .iter()
                .map(|r| r.to_backed_up.as_secs_f64() * 1e3)
                .collect()
        )
    );
    println!(
        "restore -> ACTIVE again    {}",
        summary(
            results
                .iter()
                .map(|r| r.to_restored.as_secs_f64() * 1e3)
                .collect()
        )
    );
    println!(
        "request -> DEPROVISIONED   {}",
        summary(
            results
                .iter()
                .map(|r| r.to_deprovisioned.as_secs_f64() * 1e3)
                .collect()
        )
    );
    println!("provisioning steps (startedAt -> completedAt):");
    for step in StepName::PROVISION {
        #[allow(clippy::cast_precision_loss)]
        let xs: Vec<f64> = results
            .iter()
            .filter_map(|r| {
                r.steps
                    .iter()
                    .find(|(s, _)| *s == step)
                    .map(|(_, ms)| *ms as f64)
            })
            .collect();
        if !xs.is_empty() {
            println!("  {:<26}{}", step.as_str(), summary(xs));
        }
    }
    println!("restore steps (startedAt -> completedAt):");
    for step in StepName::RESTORE {
        #[allow(clippy::cast_precision_loss)]
        let xs: Vec<f64> = results
            .iter()
            .filter_map(|r| {
                r.restore_steps
                    .iter()
                    .find(|(s, _)| *s == step)
                    .map(|(_, ms)| *ms as f64)
            })
            .collect();
        if !xs.is_empty() {
            println!("  {:<26}{}", step.as_str(), summary(xs));
        }
    }
    println!("reproduce: {COMMAND} --runs {runs}");
    Ok(())
}
