//! Each adapter of the instance cloud (`bbws_aws::cloud`) on its own, against moto (and the
//! private MariaDB for the database): the find-or-create idempotency the engine relies on to
//! retry and resume without duplicating anything (digest 2.7 §4.7, the contract in
//! `bbws_core::instance::ports`).
//!
//! For every adapter: a second create with the same spec returns the same id and leaves exactly
//! one object (counted by listing it in moto); the lookup the engine makes on resume (intent
//! written, no result) finds the object from a fresh adapter; a second delete, or a delete of
//! something already gone, succeeds and leaves nothing; every created object carries the unified
//! `bbws:*` tags (§4.3), read back through the service's own tag API.
//!
//! What moto does not do, and how the tests deal with it:
//! - Application Auto Scaling in moto keeps no tags (`RegisterScalableTarget` ignores `Tags`
//!   and there is no `ListTagsForResource`), so the scalable target's tags are not checked;
//! - moto ignores EFS `ClientToken` and replaces an ECS service or a Cognito domain created
//!   again under the same name instead of refusing or returning it, so the tests check that the
//!   adapter looked first (same id, and a change made in between survives the second create);
//! - ECS services in moto never run a task, so the health probe can only be seen answering
//!   "starting" for a live service and failing for a deleted one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, HostHeaderConditionConfig, RuleCondition,
};
use bbws_aws::cloud::Clients;
use bbws_aws::cloud::archive::S3Archive;
use bbws_aws::cloud::cognito::AwsIdentity;
use bbws_aws::cloud::database::{DbEndpoint, MySqlDatabases};
use bbws_aws::cloud::ecs::AwsCompute;
use bbws_aws::cloud::efs::AwsFiles;
use bbws_aws::cloud::elb::AwsLoadBalancer;
use bbws_aws::cloud::health::AwsHealth;
use bbws_aws::cloud::secrets::AwsSecrets;
use bbws_aws::cloud::settings::{DatabaseSettings, DbTls};
use bbws_aws::cloud::tasks::{OneOffTask, TaskRunner};
use bbws_core::ids::{InstanceId, RandomIds, TenantId};
use bbws_core::instance::ports::{
    AccessPointSpec, AppClientSpec, Archive, ArchiveSpec, AutoscalingSpec, CloudErrorKind,
    CloudResult, Compute, DatabaseProvisioner, DatabaseSpec, DomainSpec, FileStorage, GroupSpec,
    Health, HealthProbe, HealthTarget, IdentityProvisioner, ListenerRuleSpec, LoadBalancer,
    MfaConfiguration, PasswordPolicy, SecretSpec, SecretStore, SecretValue, ServiceSpec, Tags,
    TargetGroupSpec, TaskDefinitionSpec, UserPoolSpec,
};
use bbws_core::instance::{Component, Instance, Names, NewInstance, OpportunityId, tags};
use bbws_core::tenant::Environment;
use mysql_async::prelude::Queryable;

use crate::instances::{Platform, platform};
use crate::support::{START, fresh_table, sdk_config};

const TENANT_TAG: &str = "bbws:tenant-id";
const SUFFIX: &str = "wpdev.adapters.test";

// ---------------------------------------------------------------------------------------------
// Set-up
// ---------------------------------------------------------------------------------------------

/// One tenant's instance: its names and its tags, as the engine derives them.
struct Tenant {
    instance: Instance,
    names: Names,
}

impl Tenant {
    fn new() -> Self {
        let mut req = NewInstance::standard();
        req.opportunity = Some(OpportunityId::parse("ACE-1234").expect("opportunity"));
        let instance = Instance::new(
            InstanceId::generate(&RandomIds),
            TenantId::generate(&RandomIds),
            Environment::Dev,
            req,
            SUFFIX,
            "adapter-tests",
            START.parse().expect("start"),
        );
        let names = Names::new(&instance.resource_key, Environment::Dev);
        Self { instance, names }
    }

    fn tags(&self, component: Component) -> Tags {
        tags(&self.instance, component)
    }

    fn host(&self) -> &str {
        &self.instance.domain
    }
}

async fn clients() -> Clients {
    Clients::new(&sdk_config().await, true)
}

static NAMES: AtomicUsize = AtomicUsize::new(0);

/// A name no other test of this binary uses.
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::SeqCst)
    )
}

/// Every tag of `expected` is on the object (`actual` may have more, e.g. `Name`).
#[track_caller]
fn assert_tagged(what: &str, actual: &BTreeMap<String, String>, expected: &Tags) {
    for (k, v) in expected {
        assert_eq!(
            actual.get(k),
            Some(v),
            "{what} lacks the tag {k}={v}; it has {actual:?}"
        );
    }
    assert!(
        expected.contains_key(TENANT_TAG) && expected.contains_key("bbws:opportunity"),
        "the expected tags are the unified ones: {expected:?}"
    );
}

/// A 32-character token (`ClientRequestToken` needs 32 to 64).
fn token() -> String {
    uuid_like()
}

fn uuid_like() -> String {
    InstanceId::generate(&RandomIds).uuid().simple().to_string()
}

// ---------------------------------------------------------------------------------------------
// Secrets Manager
// ---------------------------------------------------------------------------------------------

/// Every secret of that exact name, including those scheduled for deletion: `(arn, deleted)`.
async fn secrets_named(c: &Clients, name: &str) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = c
            .secrets
            .list_secrets()
            .include_planned_deletion(true)
            .filters(
                aws_sdk_secretsmanager::types::Filter::builder()
                    .key(aws_sdk_secretsmanager::types::FilterNameStringType::Name)
                    .values(name)
                    .build(),
            )
            .set_next_token(next)
            .send()
            .await
            .expect("ListSecrets");
        for s in page.secret_list() {
            if s.name() == Some(name) {
                out.push((
                    s.arn().unwrap_or_default().to_owned(),
                    s.deleted_date().is_some(),
                ));
            }
        }
        match page.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return out,
        }
    }
}

async fn secret_tags(c: &Clients, id: &str) -> BTreeMap<String, String> {
    c.secrets
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .expect("DescribeSecret")
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
        .collect()
}

async fn secret_value(c: &Clients, id: &str) -> String {
    c.secrets
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .expect("GetSecretValue")
        .secret_string()
        .expect("a string secret")
        .to_owned()
}

fn secret_spec(t: &Tenant, value: &str) -> SecretSpec {
    SecretSpec {
        name: t.names.db_secret.clone(),
        value: SecretValue::new(value),
        client_request_token: token(),
        tags: t.tags(Component::Secrets),
    }
}

#[tokio::test]
async fn secrets_are_found_or_created_once_and_deleted_idempotently() {
    let c = clients().await;
    let t = Tenant::new();
    let secrets = AwsSecrets::new(c.secrets.clone());
    let spec = secret_spec(&t, r#"{"username":"u","password":"first"}"#);

    assert_eq!(
        secrets.find_secret(&spec.name).await.expect("find"),
        None,
        "nothing to resume before the first create"
    );
    let first = secrets.create_secret(&spec).await.expect("create");
    // A retry with another token and value (a second run generates a new password): the
    // existing secret is returned and keeps its value.
    let mut again = secret_spec(&t, r#"{"username":"u","password":"second"}"#);
    again.client_request_token = token();
    let second = secrets.create_secret(&again).await.expect("create again");
    assert_eq!(second, first);
    assert!(first.id.starts_with("arn:aws:secretsmanager:"), "{first:?}");
    assert_eq!(
        secrets_named(&c, &spec.name).await,
        [(first.id.clone(), false)],
        "exactly one secret of that name"
    );
    assert_eq!(
        secret_value(&c, &first.id).await,
        r#"{"username":"u","password":"first"}"#
    );
    assert_tagged(
        "the secret",
        &secret_tags(&c, &first.id).await,
        &t.tags(Component::Secrets),
    );

    // Two attempts at once (a redelivered message while the first still runs): one secret.
    let other = Tenant::new();
    let spec2 = secret_spec(&other, r#"{"username":"v","password":"p"}"#);
    let (a, b) = tokio::join!(secrets.create_secret(&spec2), secrets.create_secret(&spec2));
    assert_eq!(a.expect("first attempt"), b.expect("second attempt"));
    assert_eq!(secrets_named(&c, &spec2.name).await.len(), 1);

    // Resume: a fresh adapter finds what the first one created.
    let resumed = AwsSecrets::new(c.secrets.clone());
    assert_eq!(
        resumed.find_secret(&spec.name).await.expect("find"),
        Some(first.clone())
    );

    // Deprovisioning (recovery window) twice: scheduled once, not live, not refused.
    secrets
        .delete_secret(&first.id, false)
        .await
        .expect("delete");
    secrets
        .delete_secret(&first.id, false)
        .await
        .expect("a second delete of a secret scheduled for deletion succeeds");
    assert_eq!(
        secrets_named(&c, &spec.name).await,
        [(first.id.clone(), true)]
    );
    assert_eq!(secrets.find_secret(&spec.name).await.expect("find"), None);

    // Rollback (force) on a secret already scheduled: gone now; and again: still success.
    secrets.delete_secret(&first.id, true).await.expect("force");
    secrets
        .delete_secret(&first.id, true)
        .await
        .expect("forcing the deletion of a secret that is gone succeeds");
    secrets
        .delete_secret(&first.id, false)
        .await
        .expect("scheduling the deletion of a secret that is gone succeeds");
    assert!(secrets_named(&c, &spec.name).await.is_empty());
}

#[tokio::test]
async fn a_secret_scheduled_for_deletion_is_restored_and_reused_by_create() {
    let c = clients().await;
    let t = Tenant::new();
    let secrets = AwsSecrets::new(c.secrets.clone());
    let old = secrets
        .create_secret(&secret_spec(&t, r#"{"password":"old"}"#))
        .await
        .expect("create");
    // The tenant is deprovisioned: the secret enters its 30-day recovery window.
    secrets.delete_secret(&old.id, false).await.expect("delete");
    assert_eq!(
        secrets_named(&c, &t.names.db_secret).await,
        [(old.id.clone(), true)]
    );

    // Provisioned again within the window: same name, so the old secret comes back.
    let spec = secret_spec(&t, r#"{"password":"new"}"#);
    let restored = secrets
        .create_secret(&spec)
        .await
        .expect("a create over a secret scheduled for deletion restores it");
    assert_eq!(restored.id, old.id, "the same secret, not a second one");
    assert_eq!(
        secrets_named(&c, &t.names.db_secret).await,
        [(old.id.clone(), false)],
        "restored: no longer scheduled for deletion, and still the only one"
    );
    assert_eq!(
        secret_value(&c, &restored.id).await,
        r#"{"password":"new"}"#,
        "the restored secret holds the new value"
    );
    assert_tagged(
        "the restored secret",
        &secret_tags(&c, &restored.id).await,
        &t.tags(Component::Secrets),
    );
    assert_eq!(
        secrets.find_secret(&t.names.db_secret).await.expect("find"),
        Some(restored.clone())
    );
    secrets
        .delete_secret(&restored.id, true)
        .await
        .expect("clean up");
}

// ---------------------------------------------------------------------------------------------
// MySQL (MariaDB)
// ---------------------------------------------------------------------------------------------

/// The database adapter on this binary's MariaDB, logging in with a master secret in moto.
async fn databases(c: &Clients) -> Arc<MySqlDatabases> {
    let master = c
        .secrets
        .create_secret()
        .name(unique("rds-master"))
        .secret_string(r#"{"username":"root","password":""}"#)
        .send()
        .await
        .expect("master secret");
    Arc::new(MySqlDatabases::new(
        c.secrets.clone(),
        c.rds.clone(),
        DatabaseSettings {
            endpoint: Some(crate::mariadb::endpoint()),
            instance_id: "unused".to_owned(),
            master_secret_id: master.arn().expect("arn").to_owned(),
            tls: DbTls::Disabled,
        },
    ))
}

async fn connect(
    user: &str,
    password: &str,
    db: Option<&str>,
) -> mysql_async::Result<mysql_async::Conn> {
    let endpoint = crate::mariadb::endpoint();
    let (host, port) = endpoint.split_once(':').expect("host:port");
    mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port.parse().expect("port"))
            .user(Some(user))
            .pass(Some(password))
            .db_name(db)
            .prefer_socket(false),
    )
    .await
}

/// `(databases named db, accounts named user)` on the server.
async fn db_objects(db: &str, user: &str) -> (usize, usize) {
    let mut root = connect("root", "", None).await.expect("root connects");
    let dbs: Vec<String> = root
        .exec(
            "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
            (db,),
        )
        .await
        .expect("schemata");
    let users: Vec<String> = root
        .exec("SELECT User FROM mysql.user WHERE User = ?", (user,))
        .await
        .expect("mysql.user");
    root.disconnect().await.expect("disconnect");
    (dbs.len(), users.len())
}

#[tokio::test]
async fn databases_are_created_once_resync_the_password_and_drop_idempotently() {
    let c = clients().await;
    let t = Tenant::new();
    let mysql = databases(&c).await;
    let (db, user) = (t.names.database.clone(), t.names.db_user.clone());
    let first_pw = uuid_like();
    let secret = c
        .secrets
        .create_secret()
        .name(&t.names.db_secret)
        .secret_string(format!(
            r#"{{"username":"{user}","password":"{first_pw}"}}"#
        ))
        .send()
        .await
        .expect("tenant secret");
    let spec = DatabaseSpec {
        database: db.clone(),
        user: user.clone(),
        secret_arn: secret.arn().expect("arn").to_owned(),
    };

    assert_eq!(mysql.find_database(&db).await.expect("find"), None);
    let first = mysql.create_database(&spec).await.expect("create");
    assert_eq!(first.id, db);
    assert_eq!(
        mysql.create_database(&spec).await.expect("create again"),
        first
    );
    assert_eq!(
        db_objects(&db, &user).await,
        (1, 1),
        "one database, one user"
    );

    // The tenant's user works in its database with the secret's password.
    let mut conn = connect(&user, &first_pw, Some(&db))
        .await
        .expect("the tenant user logs in");
    conn.query_drop("CREATE TABLE wp_posts (id INT PRIMARY KEY)")
        .await
        .expect("the tenant user may create tables");
    conn.disconnect().await.expect("disconnect");

    // A retry after the secret got a new password: the user follows the secret.
    let second_pw = uuid_like();
    c.secrets
        .put_secret_value()
        .secret_id(&spec.secret_arn)
        .secret_string(format!(
            r#"{{"username":"{user}","password":"{second_pw}"}}"#
        ))
        .send()
        .await
        .expect("new password");
    assert_eq!(mysql.create_database(&spec).await.expect("retry"), first);
    assert!(
        connect(&user, &first_pw, Some(&db)).await.is_err(),
        "the old password no longer works"
    );
    let mut conn = connect(&user, &second_pw, Some(&db))
        .await
        .expect("the new password works");
    let tables: Vec<String> = conn.query("SHOW TABLES").await.expect("tables");
    assert_eq!(tables, ["wp_posts"], "the retry kept the tenant's data");
    conn.disconnect().await.expect("disconnect");
    assert_eq!(db_objects(&db, &user).await, (1, 1));

    // Resume: a fresh adapter finds the database.
    let resumed = databases(&c).await;
    assert_eq!(
        resumed.find_database(&db).await.expect("find"),
        Some(first.clone())
    );

    mysql.drop_database(&db, &user).await.expect("drop");
    mysql
        .drop_database(&db, &user)
        .await
        .expect("dropping what is gone succeeds");
    assert_eq!(db_objects(&db, &user).await, (0, 0), "nothing left");
    assert_eq!(mysql.find_database(&db).await.expect("find"), None);
}

// ---------------------------------------------------------------------------------------------
// EFS
// ---------------------------------------------------------------------------------------------

/// A one-off task runner that does nothing but count (the EFS adapter only needs it to purge).
#[derive(Debug, Default)]
struct CountingTasks {
    s3: Option<aws_sdk_s3::Client>,
    runs: std::sync::Mutex<Vec<String>>,
}

#[async_trait]
impl TaskRunner for CountingTasks {
    async fn run(&self, task: &OneOffTask) -> CloudResult<()> {
        // What the admin container's `tar | aws s3 cp` leaves behind: an untagged object.
        if let (OneOffTask::ArchiveFiles { to, .. }, Some(s3)) = (task, &self.s3) {
            s3.put_object()
                .bucket(&to.bucket)
                .key(&to.key)
                .body(b"tar".to_vec().into())
                .send()
                .await
                .expect("the task's upload");
        }
        self.runs
            .lock()
            .expect("runs")
            .push(task.command()[2].clone());
        Ok(())
    }
}

impl CountingTasks {
    fn runs(&self) -> Vec<String> {
        self.runs.lock().expect("runs").clone()
    }
}

/// Access points of the file system named `name` (by their `Name` tag).
async fn access_points_named(c: &Clients, fs: &str, name: &str) -> Vec<String> {
    c.efs
        .describe_access_points()
        .file_system_id(fs)
        .send()
        .await
        .expect("DescribeAccessPoints")
        .access_points()
        .iter()
        .filter(|ap| {
            ap.tags()
                .iter()
                .any(|t| t.key() == "Name" && t.value() == name)
        })
        .filter_map(|ap| ap.access_point_id().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn access_points_are_found_or_created_once_and_deleted_idempotently() {
    let c = clients().await;
    let t = Tenant::new();
    let fs = c
        .efs
        .create_file_system()
        .creation_token(unique("efs"))
        .send()
        .await
        .expect("file system")
        .file_system_id
        .clone();
    let runner = Arc::new(CountingTasks::default());
    let files = AwsFiles::new(c.efs.clone(), &fs, runner.clone());
    let mut tags = t.tags(Component::Efs);
    tags.insert("Name".to_owned(), t.names.access_point.clone());
    let spec = AccessPointSpec {
        name: t.names.access_point.clone(),
        client_token: format!("{}-wp-content", t.instance.resource_key),
        file_system_id: fs.clone(),
        root_directory: t.names.root_directory.clone(),
        uid: 33,
        gid: 33,
        permissions: "755".to_owned(),
        tags: tags.clone(),
    };

    assert_eq!(
        files.find_access_point(&spec.name).await.expect("find"),
        None
    );
    let first = files.create_access_point(&spec).await.expect("create");
    assert!(first.id.starts_with("fsap-"), "{first:?}");
    assert_eq!(
        files
            .create_access_point(&spec)
            .await
            .expect("create again"),
        first
    );
    assert_eq!(
        access_points_named(&c, &fs, &spec.name).await,
        [first.id.as_str()]
    );
    let described = c
        .efs
        .describe_access_points()
        .access_point_id(&first.id)
        .send()
        .await
        .expect("DescribeAccessPoints");
    let ap = described.access_points().first().expect("the access point");
    assert_eq!(
        ap.root_directory().and_then(|r| r.path()),
        Some(t.names.root_directory.as_str())
    );
    assert_eq!(ap.posix_user().map(|p| (p.uid(), p.gid())), Some((33, 33)));
    let actual: BTreeMap<String, String> = c
        .efs
        .list_tags_for_resource()
        .resource_id(&first.id)
        .send()
        .await
        .expect("ListTagsForResource")
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect();
    assert_tagged("the access point", &actual, &tags);
    assert_eq!(actual.get("Name"), Some(&t.names.access_point));

    let resumed = AwsFiles::new(c.efs.clone(), &fs, runner.clone());
    assert_eq!(
        resumed.find_access_point(&spec.name).await.expect("find"),
        Some(first.clone())
    );

    files.delete_access_point(&first.id).await.expect("delete");
    files
        .delete_access_point(&first.id)
        .await
        .expect("deleting an access point that is gone succeeds");
    assert!(access_points_named(&c, &fs, &spec.name).await.is_empty());
    assert_eq!(
        files.find_access_point(&spec.name).await.expect("find"),
        None
    );
    assert!(runner.runs().is_empty(), "create and delete start no task");
}

// ---------------------------------------------------------------------------------------------
// ELBv2: target groups, listener rules, priority reservations
// ---------------------------------------------------------------------------------------------

struct ElbRig {
    c: Clients,
    platform: Platform,
    lb: AwsLoadBalancer,
    dynamodb: aws_sdk_dynamodb::Client,
    table: String,
}

async fn elb_rig() -> ElbRig {
    let c = clients().await;
    let (dynamodb, table, _) = fresh_table().await;
    let platform = platform();
    let lb = AwsLoadBalancer::new(c.elb.clone(), dynamodb.clone(), &table);
    ElbRig {
        c,
        platform,
        lb,
        dynamodb,
        table,
    }
}

impl ElbRig {
    fn fresh_adapter(&self) -> AwsLoadBalancer {
        AwsLoadBalancer::new(self.c.elb.clone(), self.dynamodb.clone(), &self.table)
    }

    fn tg_spec(&self, t: &Tenant) -> TargetGroupSpec {
        TargetGroupSpec {
            name: t.names.target_group.clone(),
            vpc_id: self.platform.vpc.clone(),
            health_check_path: "/".to_owned(),
            matcher: "200,301,302".to_owned(),
            deregistration_delay_seconds: 30,
            tags: t.tags(Component::Alb),
        }
    }

    async fn tags_of(&self, arn: &str) -> BTreeMap<String, String> {
        self.c
            .elb
            .describe_tags()
            .resource_arns(arn)
            .send()
            .await
            .expect("DescribeTags")
            .tag_descriptions()
            .iter()
            .flat_map(aws_sdk_elasticloadbalancingv2::types::TagDescription::tags)
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect()
    }

    async fn target_groups_named(&self, name: &str) -> Vec<String> {
        self.c
            .elb
            .describe_target_groups()
            .send()
            .await
            .expect("DescribeTargetGroups")
            .target_groups()
            .iter()
            .filter(|g| g.target_group_name() == Some(name))
            .filter_map(|g| g.target_group_arn().map(str::to_owned))
            .collect()
    }

    /// `(rule ARN, priority)` of the listener's rules that route `host`.
    async fn rules_for(&self, host: &str) -> Vec<(String, String)> {
        self.c
            .elb
            .describe_rules()
            .listener_arn(&self.platform.listener)
            .send()
            .await
            .expect("DescribeRules")
            .rules()
            .iter()
            .filter(|r| {
                r.conditions().iter().any(|c| {
                    c.host_header_config()
                        .is_some_and(|h| h.values().iter().any(|v| v == host))
                })
            })
            .map(|r| {
                (
                    r.rule_arn().unwrap_or_default().to_owned(),
                    r.priority().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    /// A rule made outside the reservations (the platform's own, or a tenant's from before
    /// them): a fixed response for `host` at `priority`.
    async fn foreign_rule(&self, host: &str, priority: i32) -> String {
        self.c
            .elb
            .create_rule()
            .listener_arn(&self.platform.listener)
            .priority(priority)
            .conditions(
                RuleCondition::builder()
                    .field("host-header")
                    .host_header_config(HostHeaderConditionConfig::builder().values(host).build())
                    .build(),
            )
            .actions(
                Action::builder()
                    .r#type(ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        FixedResponseActionConfig::builder()
                            .status_code("200")
                            .content_type("text/plain")
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("CreateRule")
            .rules()
            .first()
            .and_then(|r| r.rule_arn())
            .expect("rule ARN")
            .to_owned()
    }

    /// `(priority, host)` of every reservation on the listener, as stored.
    async fn reservations(&self) -> Vec<(u32, String)> {
        let out = self
            .dynamodb
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk")
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S(format!(
                    "ALBPRIORITY#{}",
                    self.platform.listener
                )),
            )
            .consistent_read(true)
            .send()
            .await
            .expect("Query");
        out.items()
            .iter()
            .map(|i| {
                let p = i
                    .get("priority")
                    .and_then(|v| v.as_n().ok())
                    .and_then(|n| n.parse().ok())
                    .expect("priority");
                let h = i
                    .get("host")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .expect("host");
                (p, h)
            })
            .collect()
    }
}

#[tokio::test]
async fn target_groups_are_found_or_created_once_and_deleted_idempotently() {
    let rig = elb_rig().await;
    let t = Tenant::new();
    let spec = rig.tg_spec(&t);

    assert_eq!(
        rig.lb.find_target_group(&spec.name).await.expect("find"),
        None
    );
    let first = rig.lb.create_target_group(&spec).await.expect("create");
    assert_eq!(
        rig.lb
            .create_target_group(&spec)
            .await
            .expect("create again"),
        first
    );
    assert_eq!(
        rig.target_groups_named(&spec.name).await,
        [first.id.as_str()]
    );
    assert_tagged(
        "the target group",
        &rig.tags_of(&first.id).await,
        &t.tags(Component::Alb),
    );
    let attributes = rig
        .c
        .elb
        .describe_target_group_attributes()
        .target_group_arn(&first.id)
        .send()
        .await
        .expect("DescribeTargetGroupAttributes");
    assert!(
        attributes.attributes().iter().any(|a| {
            a.key() == Some("deregistration_delay.timeout_seconds") && a.value() == Some("30")
        }),
        "{attributes:?}"
    );
    assert_eq!(
        rig.fresh_adapter()
            .find_target_group(&spec.name)
            .await
            .expect("find"),
        Some(first.clone())
    );

    rig.lb.delete_target_group(&first.id).await.expect("delete");
    rig.lb
        .delete_target_group(&first.id)
        .await
        .expect("deleting a target group that is gone succeeds");
    assert!(rig.target_groups_named(&spec.name).await.is_empty());
    assert_eq!(
        rig.lb.find_target_group(&spec.name).await.expect("find"),
        None
    );
}

#[tokio::test]
async fn listener_rules_are_found_by_host_created_once_and_deleted_idempotently() {
    let rig = elb_rig().await;
    let t = Tenant::new();
    let tg = rig
        .lb
        .create_target_group(&rig.tg_spec(&t))
        .await
        .expect("target group");
    let spec = ListenerRuleSpec {
        listener_arn: rig.platform.listener.clone(),
        priority: 100,
        host: t.host().to_owned(),
        target_group_arn: tg.id.clone(),
        tags: t.tags(Component::Alb),
    };

    assert_eq!(
        rig.lb
            .find_listener_rule(&spec.listener_arn, &spec.host)
            .await
            .expect("find"),
        None
    );
    let first = rig.lb.create_listener_rule(&spec).await.expect("create");
    // CreateRule is not idempotent in AWS: the second call must find the rule by its host,
    // even when it asks for another priority (a reservation made again after a crash).
    let mut elsewhere = spec.clone();
    elsewhere.priority = 200;
    assert_eq!(
        rig.lb
            .create_listener_rule(&elsewhere)
            .await
            .expect("again"),
        first
    );
    assert_eq!(
        rig.rules_for(&spec.host).await,
        [(first.id.clone(), "100".to_owned())],
        "exactly one rule routes the host"
    );
    assert_tagged(
        "the listener rule",
        &rig.tags_of(&first.id).await,
        &t.tags(Component::Alb),
    );
    assert_eq!(
        rig.fresh_adapter()
            .find_listener_rule(&spec.listener_arn, &spec.host)
            .await
            .expect("find"),
        Some(first.clone())
    );

    // While the rule forwards to it, the target group cannot go (a retryable refusal).
    let refused = rig
        .lb
        .delete_target_group(&tg.id)
        .await
        .expect_err("the rule still uses the target group");
    assert_eq!(refused.kind, CloudErrorKind::Transient, "{refused}");

    rig.lb
        .delete_listener_rule(&first.id)
        .await
        .expect("delete");
    rig.lb
        .delete_listener_rule(&first.id)
        .await
        .expect("deleting a rule that is gone succeeds");
    assert!(rig.rules_for(&spec.host).await.is_empty());
    assert_eq!(
        rig.lb
            .find_listener_rule(&spec.listener_arn, &spec.host)
            .await
            .expect("find"),
        None
    );
    rig.lb
        .delete_target_group(&tg.id)
        .await
        .expect("then it can");
}

#[tokio::test]
async fn listener_priorities_are_reserved_once_per_host_and_released() {
    let rig = elb_rig().await;
    let listener = rig.platform.listener.clone();
    let (a, b, c, d) = ("a.test", "b.test", "c.test", "d.test");

    let pa = rig.lb.reserve_priority(&listener, a).await.expect("a");
    let pb = rig.lb.reserve_priority(&listener, b).await.expect("b");
    assert_eq!((pa, pb), (100, 200), "two hosts, two priorities");
    assert_eq!(
        rig.fresh_adapter()
            .reserve_priority(&listener, a)
            .await
            .expect("a again"),
        100,
        "the same host keeps its priority"
    );
    assert_eq!(
        rig.reservations().await.len(),
        2,
        "{:?}",
        rig.reservations().await
    );

    // A platform rule at 300 on the listener: skipped.
    rig.foreign_rule("platform.test", 300).await;
    assert_eq!(rig.lb.reserve_priority(&listener, c).await.expect("c"), 400);

    // Released: the priority is free for the next host; releasing again is a no-op.
    rig.lb
        .release_priority(&listener, a)
        .await
        .expect("release");
    rig.lb
        .release_priority(&listener, a)
        .await
        .expect("releasing a released priority succeeds");
    assert!(
        !rig.reservations().await.iter().any(|(_, h)| h == a),
        "{:?}",
        rig.reservations().await
    );
    assert_eq!(rig.lb.reserve_priority(&listener, d).await.expect("d"), 100);
    let mut held = rig.reservations().await;
    held.sort();
    assert_eq!(
        held,
        [
            (100, d.to_owned()),
            (200, b.to_owned()),
            (400, c.to_owned())
        ]
    );
}

#[tokio::test]
async fn a_host_whose_rule_predates_the_reservations_keeps_the_rule_priority() {
    let rig = elb_rig().await;
    let listener = rig.platform.listener.clone();
    // A tenant routed before reservations existed (or a rule created just before a crash).
    rig.foreign_rule("old.test", 700).await;
    assert_eq!(
        rig.lb
            .reserve_priority(&listener, "old.test")
            .await
            .expect("old"),
        700,
        "the reservation matches the rule that routes the host"
    );
    assert_eq!(rig.reservations().await, [(700, "old.test".to_owned())]);
    assert_eq!(
        rig.lb
            .reserve_priority(&listener, "new.test")
            .await
            .expect("new"),
        100
    );
}

// ---------------------------------------------------------------------------------------------
// ECS and Application Auto Scaling
// ---------------------------------------------------------------------------------------------

/// `WORDPRESS_DB_HOST` when the spec leaves it empty.
#[derive(Debug)]
struct FixedDbHost;

#[async_trait]
impl DbEndpoint for FixedDbHost {
    async fn host(&self) -> CloudResult<String> {
        Ok("mysql.platform.test".to_owned())
    }
}

struct EcsRig {
    c: Clients,
    platform: Platform,
    compute: AwsCompute,
    target_group: String,
}

async fn ecs_rig() -> EcsRig {
    let c = clients().await;
    let platform = platform();
    let compute = AwsCompute::new(c.ecs.clone(), c.autoscaling.clone(), Arc::new(FixedDbHost));
    let target_group = c
        .elb
        .create_target_group()
        .name(unique("tg").replace('_', "-"))
        .protocol(aws_sdk_elasticloadbalancingv2::types::ProtocolEnum::Http)
        .port(80)
        .vpc_id(&platform.vpc)
        .target_type(aws_sdk_elasticloadbalancingv2::types::TargetTypeEnum::Ip)
        .send()
        .await
        .expect("target group")
        .target_groups()
        .first()
        .and_then(|g| g.target_group_arn())
        .expect("ARN")
        .to_owned();
    EcsRig {
        c,
        platform,
        compute,
        target_group,
    }
}

impl EcsRig {
    fn fresh_adapter(&self) -> AwsCompute {
        AwsCompute::new(
            self.c.ecs.clone(),
            self.c.autoscaling.clone(),
            Arc::new(FixedDbHost),
        )
    }

    fn task_spec(t: &Tenant) -> TaskDefinitionSpec {
        TaskDefinitionSpec {
            family: t.names.task_family.clone(),
            cpu: 512,
            memory: 1024,
            image: "wordpress:latest".to_owned(),
            execution_role_arn: "arn:aws:iam::123456789012:role/exec".to_owned(),
            task_role_arn: "arn:aws:iam::123456789012:role/task".to_owned(),
            file_system_id: "fs-12345678".to_owned(),
            access_point_id: "fsap-12345678".to_owned(),
            db_secret_arn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:db".to_owned(),
            environment: BTreeMap::from([
                ("WORDPRESS_DB_HOST".to_owned(), String::new()),
                ("WORDPRESS_DB_NAME".to_owned(), t.names.database.clone()),
            ]),
            log_group: "/ecs/dev".to_owned(),
            log_stream_prefix: t.instance.resource_key.to_string(),
            region: "us-east-1".to_owned(),
            tags: t.tags(Component::Wordpress),
        }
    }

    fn service_spec(&self, t: &Tenant, task_definition_arn: &str) -> ServiceSpec {
        ServiceSpec {
            cluster: self.platform.cluster.clone(),
            name: t.names.ecs_service.clone(),
            task_definition_arn: task_definition_arn.to_owned(),
            desired_count: 2,
            subnets: self.platform.subnets.clone(),
            security_groups: vec![self.platform.sg.clone()],
            target_group_arn: self.target_group.clone(),
            container_name: "wordpress".to_owned(),
            container_port: 80,
            health_check_grace_period_seconds: 60,
            minimum_healthy_percent: 100,
            maximum_percent: 200,
            enable_execute_command: true,
            client_token: token(),
            tags: t.tags(Component::Wordpress),
        }
    }

    /// A tenant's service, on a task definition of its own.
    async fn service(&self, t: &Tenant) -> String {
        let td = self
            .compute
            .register_task_definition(&Self::task_spec(t))
            .await
            .expect("task definition");
        self.compute
            .create_service(&self.service_spec(t, &td.id))
            .await
            .expect("service")
            .id
    }

    async fn revisions(&self, family: &str, status: &str) -> Vec<String> {
        self.c
            .ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(status.into())
            .send()
            .await
            .expect("ListTaskDefinitions")
            .task_definition_arns()
            .to_vec()
    }

    /// `(ARN, desired count)` of the ACTIVE or DRAINING services of that name, and their tags.
    async fn live_services(&self, name: &str) -> Vec<(String, i32, BTreeMap<String, String>)> {
        let arns = self
            .c
            .ecs
            .list_services()
            .cluster(&self.platform.cluster)
            .send()
            .await
            .expect("ListServices")
            .service_arns()
            .to_vec();
        if arns.is_empty() {
            return Vec::new();
        }
        self.c
            .ecs
            .describe_services()
            .cluster(&self.platform.cluster)
            .set_services(Some(arns))
            .include(aws_sdk_ecs::types::ServiceField::Tags)
            .send()
            .await
            .expect("DescribeServices")
            .services()
            .iter()
            .filter(|s| s.service_name() == Some(name))
            .filter(|s| matches!(s.status(), Some("ACTIVE" | "DRAINING")))
            .map(|s| {
                (
                    s.service_arn().unwrap_or_default().to_owned(),
                    s.desired_count(),
                    s.tags()
                        .iter()
                        .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
                        .collect(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn task_definitions_add_revisions_and_deregister_every_one_idempotently() {
    let rig = ecs_rig().await;
    let t = Tenant::new();
    let spec = EcsRig::task_spec(&t);

    assert_eq!(
        rig.compute
            .find_task_definition(&spec.family)
            .await
            .expect("find"),
        None
    );
    // Registration is append-only by design (digest §4.7: revisions are harmless): a retry adds
    // a revision, and the lookup on resume answers the latest.
    let first = rig
        .compute
        .register_task_definition(&spec)
        .await
        .expect("register");
    let second = rig
        .compute
        .register_task_definition(&spec)
        .await
        .expect("register again");
    assert_ne!(first, second);
    assert!(second.id.ends_with(":2"), "{second:?}");
    assert_eq!(
        rig.revisions(&spec.family, "ACTIVE").await,
        [first.id.clone(), second.id.clone()]
    );
    assert_eq!(
        rig.fresh_adapter()
            .find_task_definition(&spec.family)
            .await
            .expect("find"),
        Some(second.clone())
    );
    for arn in [&first.id, &second.id] {
        let tags: BTreeMap<String, String> = rig
            .c
            .ecs
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .expect("ListTagsForResource")
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect();
        assert_tagged("the task definition", &tags, &t.tags(Component::Wordpress));
    }
    let described = rig
        .c
        .ecs
        .describe_task_definition()
        .task_definition(&second.id)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let env: BTreeMap<&str, &str> = described
        .task_definition()
        .and_then(|d| d.container_definitions().first())
        .map(|c| {
            c.environment()
                .iter()
                .filter_map(|kv| Some((kv.name()?, kv.value()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        env.get("WORDPRESS_DB_HOST"),
        Some(&"mysql.platform.test"),
        "an empty host is filled from the database endpoint"
    );

    rig.compute
        .deregister_task_definitions(&spec.family)
        .await
        .expect("deregister");
    rig.compute
        .deregister_task_definitions(&spec.family)
        .await
        .expect("deregistering a family with no revision left succeeds");
    assert!(rig.revisions(&spec.family, "ACTIVE").await.is_empty());
    assert!(
        rig.revisions(&spec.family, "INACTIVE").await.is_empty(),
        "the inactive revisions are deleted too"
    );
    assert_eq!(
        rig.compute
            .find_task_definition(&spec.family)
            .await
            .expect("find"),
        None
    );
}

#[tokio::test]
async fn services_are_found_or_created_once_and_deleted_idempotently() {
    let rig = ecs_rig().await;
    let t = Tenant::new();
    let td = rig
        .compute
        .register_task_definition(&EcsRig::task_spec(&t))
        .await
        .expect("task definition");
    let spec = rig.service_spec(&t, &td.id);

    assert_eq!(
        rig.compute
            .find_service(&spec.cluster, &spec.name)
            .await
            .expect("find"),
        None
    );
    let first = rig.compute.create_service(&spec).await.expect("create");
    // Scaled in between (the autoscaler, or an operator): a second create must return the
    // running service, not replace it with a new one at the spec's count.
    rig.c
        .ecs
        .update_service()
        .cluster(&spec.cluster)
        .service(&spec.name)
        .desired_count(3)
        .send()
        .await
        .expect("UpdateService");
    let mut retry = spec.clone();
    retry.client_token = token();
    assert_eq!(
        rig.compute
            .create_service(&retry)
            .await
            .expect("create again"),
        first
    );
    let live = rig.live_services(&spec.name).await;
    assert_eq!(live.len(), 1, "exactly one service: {live:?}");
    assert_eq!(live[0].0, first.id);
    assert_eq!(live[0].1, 3, "the running service was kept as it was");
    assert_tagged("the service", &live[0].2, &t.tags(Component::Wordpress));
    assert_eq!(
        rig.fresh_adapter()
            .find_service(&spec.cluster, &spec.name)
            .await
            .expect("find"),
        Some(first.clone())
    );

    rig.compute
        .delete_service(&spec.cluster, &spec.name)
        .await
        .expect("delete");
    rig.compute
        .delete_service(&spec.cluster, &spec.name)
        .await
        .expect("deleting a service that is gone succeeds");
    assert!(rig.live_services(&spec.name).await.is_empty());
    assert_eq!(
        rig.compute
            .find_service(&spec.cluster, &spec.name)
            .await
            .expect("find"),
        None
    );
    rig.compute
        .delete_service("no-such-cluster", &spec.name)
        .await
        .expect("a service in a cluster that does not exist is gone");
}

#[tokio::test]
async fn autoscaling_is_registered_once_and_deregistered_idempotently() {
    let rig = ecs_rig().await;
    let t = Tenant::new();
    rig.service(&t).await;
    let resource_id = format!("service/{}/{}", rig.platform.cluster, t.names.ecs_service);
    let spec = AutoscalingSpec {
        resource_id: resource_id.clone(),
        min_capacity: 2,
        max_capacity: 10,
        cpu_policy_name: t.names.cpu_policy.clone(),
        cpu_target: 70,
        memory_policy_name: t.names.memory_policy.clone(),
        memory_target: 80,
        // Sent with RegisterScalableTarget; moto keeps no tags for it (see the module docs).
        tags: t.tags(Component::Wordpress),
    };
    let targets = || async {
        rig.c
            .autoscaling
            .describe_scalable_targets()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_ids(&resource_id)
            .send()
            .await
            .expect("DescribeScalableTargets")
            .scalable_targets()
            .iter()
            .map(|s| (s.min_capacity(), s.max_capacity()))
            .collect::<Vec<_>>()
    };
    let policies = || async {
        let mut names: Vec<String> = rig
            .c
            .autoscaling
            .describe_scaling_policies()
            .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
            .resource_id(&resource_id)
            .send()
            .await
            .expect("DescribeScalingPolicies")
            .scaling_policies()
            .iter()
            .filter(|p| p.resource_id() == resource_id)
            .map(|p| p.policy_name().to_owned())
            .collect();
        names.sort();
        names
    };

    assert_eq!(
        rig.compute
            .find_autoscaling(&resource_id)
            .await
            .expect("find"),
        None
    );
    let first = rig
        .compute
        .register_autoscaling(&spec)
        .await
        .expect("register");
    assert_eq!(first.id, resource_id);
    assert_eq!(
        rig.compute
            .register_autoscaling(&spec)
            .await
            .expect("again"),
        first
    );
    assert_eq!(targets().await, [(2, 10)], "one scalable target");
    let mut want = vec![t.names.cpu_policy.clone(), t.names.memory_policy.clone()];
    want.sort();
    assert_eq!(policies().await, want, "two policies, not four");
    assert_eq!(
        rig.fresh_adapter()
            .find_autoscaling(&resource_id)
            .await
            .expect("find"),
        Some(first.clone())
    );

    rig.compute
        .deregister_autoscaling(&resource_id)
        .await
        .expect("deregister");
    rig.compute
        .deregister_autoscaling(&resource_id)
        .await
        .expect("deregistering a target that is gone succeeds");
    assert!(targets().await.is_empty());
    assert!(policies().await.is_empty());
    assert_eq!(
        rig.compute
            .find_autoscaling(&resource_id)
            .await
            .expect("find"),
        None
    );
}

#[tokio::test]
async fn the_health_probe_never_reports_a_service_without_tasks_healthy() {
    let rig = ecs_rig().await;
    let t = Tenant::new();
    rig.service(&t).await;
    let probe = AwsHealth::new(rig.c.ecs.clone(), rig.c.elb.clone());
    let target = HealthTarget {
        cluster: rig.platform.cluster.clone(),
        service_name: t.names.ecs_service.clone(),
        target_group_arn: rig.target_group.clone(),
        desired_count: 2,
        host: t.host().to_owned(),
    };
    // moto's services run no task: the probe must keep the wait going, however often it looks.
    for _ in 0..2 {
        let h = probe.check(&target).await.expect("check");
        assert!(matches!(h, Health::Starting(_)), "{h:?}");
    }
    rig.compute
        .delete_service(&target.cluster, &target.service_name)
        .await
        .expect("delete");
    // A deleted service fails the wait at once instead of "starting" until the budget ends.
    let err = probe.check(&target).await.expect_err("no service");
    assert_eq!(err.kind, CloudErrorKind::Permanent, "{err}");
}

// ---------------------------------------------------------------------------------------------
// Cognito
// ---------------------------------------------------------------------------------------------

fn pool_spec(t: &Tenant) -> UserPoolSpec {
    UserPoolSpec {
        name: t.names.user_pool.clone(),
        tenant_id: t.instance.tenant_id,
        password_policy: PasswordPolicy::default(),
        mfa: MfaConfiguration::Optional,
        tags: t.tags(Component::Cognito),
    }
}

/// Ids of the pools named `name`.
async fn pools_named(c: &Clients, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut next = None;
    loop {
        let page = c
            .cognito
            .list_user_pools()
            .max_results(60)
            .set_next_token(next)
            .send()
            .await
            .expect("ListUserPools");
        out.extend(
            page.user_pools()
                .iter()
                .filter(|p| p.name() == Some(name))
                .filter_map(|p| p.id().map(str::to_owned)),
        );
        match page.next_token {
            Some(t) if !t.is_empty() => next = Some(t),
            _ => return out,
        }
    }
}

async fn domain_owner(c: &Clients, prefix: &str) -> Option<String> {
    c.cognito
        .describe_user_pool_domain()
        .domain(prefix)
        .send()
        .await
        .expect("DescribeUserPoolDomain")
        .domain_description()
        .and_then(|d| d.user_pool_id())
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
}

#[tokio::test]
async fn user_pools_are_found_or_created_once_per_tenant_and_deleted_idempotently() {
    let c = clients().await;
    let t = Tenant::new();
    let identity = AwsIdentity::new(c.cognito.clone());
    let spec = pool_spec(&t);

    assert_eq!(
        identity.find_user_pool(&spec.name).await.expect("find"),
        None
    );
    let first = identity.create_user_pool(&spec).await.expect("create");
    assert_eq!(
        identity
            .create_user_pool(&spec)
            .await
            .expect("create again"),
        first
    );
    assert_eq!(pools_named(&c, &spec.name).await, [first.id.as_str()]);
    let described = c
        .cognito
        .describe_user_pool()
        .user_pool_id(&first.id)
        .send()
        .await
        .expect("DescribeUserPool");
    let pool = described.user_pool().expect("pool");
    assert_eq!(first.arn.as_deref(), pool.arn());
    let pool_tags: BTreeMap<String, String> = pool
        .user_pool_tags()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .collect();
    assert_tagged("the user pool", &pool_tags, &t.tags(Component::Cognito));
    let mfa = c
        .cognito
        .get_user_pool_mfa_config()
        .user_pool_id(&first.id)
        .send()
        .await
        .expect("GetUserPoolMfaConfig");
    assert_eq!(
        mfa.mfa_configuration(),
        Some(&aws_sdk_cognitoidentityprovider::types::UserPoolMfaType::Optional)
    );
    assert_eq!(
        mfa.software_token_mfa_configuration()
            .map(aws_sdk_cognitoidentityprovider::types::SoftwareTokenMfaConfigType::enabled),
        Some(true),
        "TOTP is on"
    );
    assert_eq!(
        AwsIdentity::new(c.cognito.clone())
            .find_user_pool(&spec.name)
            .await
            .expect("find"),
        Some(first.clone())
    );

    identity.delete_user_pool(&first.id).await.expect("delete");
    identity
        .delete_user_pool(&first.id)
        .await
        .expect("deleting a pool that is gone succeeds");
    assert!(pools_named(&c, &spec.name).await.is_empty());
    assert_eq!(
        identity.find_user_pool(&spec.name).await.expect("find"),
        None
    );
}

#[tokio::test]
async fn a_pool_of_the_same_name_tagged_for_another_tenant_is_not_reused() {
    let c = clients().await;
    let t = Tenant::new();
    let identity = AwsIdentity::new(c.cognito.clone());
    let foreign = c
        .cognito
        .create_user_pool()
        .pool_name(&t.names.user_pool)
        .user_pool_tags(TENANT_TAG, "tenant-00000000-0000-4000-8000-000000000000")
        .send()
        .await
        .expect("a foreign pool")
        .user_pool()
        .and_then(|p| p.id())
        .expect("id")
        .to_owned();
    let ours = identity
        .create_user_pool(&pool_spec(&t))
        .await
        .expect("create");
    assert_ne!(ours.id, foreign);
    let mut both = pools_named(&c, &t.names.user_pool).await;
    both.sort();
    let mut want = vec![foreign.clone(), ours.id.clone()];
    want.sort();
    assert_eq!(both, want);
    assert_eq!(
        identity
            .create_user_pool(&pool_spec(&t))
            .await
            .expect("again"),
        ours,
        "the second create finds the tenant's own pool"
    );
    for id in [&foreign, &ours.id] {
        identity.delete_user_pool(id).await.expect("clean up");
    }
}

#[tokio::test]
async fn domains_clients_and_groups_are_created_once_and_deleted_idempotently() {
    let c = clients().await;
    let t = Tenant::new();
    let identity = AwsIdentity::new(c.cognito.clone());
    let pool = identity
        .create_user_pool(&pool_spec(&t))
        .await
        .expect("pool")
        .id;

    // Domain.
    let prefix = t.names.cognito_domain.clone();
    let domain = DomainSpec {
        user_pool_id: pool.clone(),
        prefix: prefix.clone(),
    };
    assert_eq!(identity.find_domain(&prefix).await.expect("find"), None);
    let d = identity.create_domain(&domain).await.expect("domain");
    assert_eq!(d.id, prefix);
    assert_eq!(identity.create_domain(&domain).await.expect("again"), d);
    assert_eq!(
        domain_owner(&c, &prefix).await.as_deref(),
        Some(pool.as_str())
    );
    // The prefix is taken: another pool asking for it is refused, and the domain stays.
    let other = c
        .cognito
        .create_user_pool()
        .pool_name(unique("other-pool"))
        .send()
        .await
        .expect("another pool")
        .user_pool()
        .and_then(|p| p.id())
        .expect("id")
        .to_owned();
    let taken = identity
        .create_domain(&DomainSpec {
            user_pool_id: other.clone(),
            prefix: prefix.clone(),
        })
        .await
        .expect_err("the prefix belongs to the tenant's pool");
    assert_eq!(taken.kind, CloudErrorKind::Conflict, "{taken}");
    assert_eq!(
        domain_owner(&c, &prefix).await.as_deref(),
        Some(pool.as_str())
    );
    assert_eq!(
        AwsIdentity::new(c.cognito.clone())
            .find_domain(&prefix)
            .await
            .expect("find"),
        Some(d.clone())
    );

    // App client: names are not unique in Cognito, so the adapter looks first.
    let client = AppClientSpec {
        user_pool_id: pool.clone(),
        name: t.names.app_client.clone(),
        callback_urls: vec![format!("https://{}/wp-login.php", t.host())],
        logout_urls: vec![format!("https://{}/", t.host())],
    };
    assert_eq!(
        identity
            .find_app_client(&pool, &client.name)
            .await
            .expect("find"),
        None
    );
    let first = identity.create_app_client(&client).await.expect("client");
    let second = identity.create_app_client(&client).await.expect("again");
    assert_eq!(second.client_id, first.client_id);
    assert_eq!(
        second.client_secret, first.client_secret,
        "the same secret, so the Cognito secret stays right"
    );
    assert!(
        !first.client_secret.expose().is_empty(),
        "a secret is generated"
    );
    let clients_listed = c
        .cognito
        .list_user_pool_clients()
        .user_pool_id(&pool)
        .send()
        .await
        .expect("ListUserPoolClients");
    assert_eq!(clients_listed.user_pool_clients().len(), 1);
    assert_eq!(
        AwsIdentity::new(c.cognito.clone())
            .find_app_client(&pool, &client.name)
            .await
            .expect("find"),
        Some(first.clone())
    );

    // Groups.
    let groups: Vec<GroupSpec> = [("Admin", 1), ("Operator", 2), ("Viewer", 3)]
        .into_iter()
        .map(|(name, precedence)| GroupSpec {
            name: name.to_owned(),
            precedence,
            description: format!("{name} group"),
        })
        .collect();
    identity
        .create_groups(&pool, &groups)
        .await
        .expect("groups");
    identity
        .create_groups(&pool, &groups)
        .await
        .expect("existing groups are success");
    let listed = || async {
        let mut g: Vec<(String, Option<i32>)> = c
            .cognito
            .list_groups()
            .user_pool_id(&pool)
            .send()
            .await
            .expect("ListGroups")
            .groups()
            .iter()
            .map(|g| {
                (
                    g.group_name().unwrap_or_default().to_owned(),
                    g.precedence(),
                )
            })
            .collect();
        g.sort();
        g
    };
    assert_eq!(
        listed().await,
        [
            ("Admin".to_owned(), Some(1)),
            ("Operator".to_owned(), Some(2)),
            ("Viewer".to_owned(), Some(3))
        ]
    );

    // Deleted in the engine's order, each twice.
    let names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    identity.delete_groups(&pool, &names).await.expect("groups");
    identity
        .delete_groups(&pool, &names)
        .await
        .expect("deleting groups that are gone succeeds");
    assert!(listed().await.is_empty());
    identity
        .delete_app_client(&pool, &first.client_id)
        .await
        .expect("client");
    identity
        .delete_app_client(&pool, &first.client_id)
        .await
        .expect("deleting a client that is gone succeeds");
    assert_eq!(
        identity
            .find_app_client(&pool, &client.name)
            .await
            .expect("find"),
        None
    );
    identity
        .delete_domain(&pool, &prefix)
        .await
        .expect("domain");
    identity
        .delete_domain(&pool, &prefix)
        .await
        .expect("deleting a domain that is gone succeeds");
    assert_eq!(domain_owner(&c, &prefix).await, None);
    assert_eq!(identity.find_domain(&prefix).await.expect("find"), None);
    identity.delete_user_pool(&pool).await.expect("pool");
    // What hangs off a deleted pool is gone with it.
    identity
        .delete_groups(&pool, &names)
        .await
        .expect("groups of a deleted pool");
    identity
        .delete_app_client(&pool, &first.client_id)
        .await
        .expect("client of a deleted pool");
    identity
        .delete_domain(&pool, &prefix)
        .await
        .expect("domain of a deleted pool");
    identity.delete_user_pool(&other).await.expect("clean up");
}

// ---------------------------------------------------------------------------------------------
// S3 archives
// ---------------------------------------------------------------------------------------------

async fn object_tags(c: &Clients, bucket: &str, key: &str) -> BTreeMap<String, String> {
    c.s3.get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("GetObjectTagging")
        .tag_set()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

async fn keys_under(c: &Clients, bucket: &str, prefix: &str) -> Vec<String> {
    c.s3.list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .send()
        .await
        .expect("ListObjectsV2")
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect()
}

async fn object_text(c: &Clients, bucket: &str, key: &str) -> String {
    let bytes =
        c.s3.get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("GetObject")
            .body
            .collect()
            .await
            .expect("body")
            .into_bytes();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
        .expect("gzip");
    text
}

#[tokio::test]
async fn archives_are_written_once_per_key_and_always_tagged() {
    let c = clients().await;
    let t = Tenant::new();
    let bucket = unique("bbws-archives").replace('_', "-");
    c.s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("bucket");
    let mysql = databases(&c).await;
    let runner = Arc::new(CountingTasks {
        s3: Some(c.s3.clone()),
        ..CountingTasks::default()
    });
    let archive = S3Archive::new(c.s3.clone(), mysql.clone(), runner.clone());
    let prefix = format!("archives/dev/{}/op-1", t.instance.tenant_id);
    let spec = |file: &str| ArchiveSpec {
        bucket: bucket.clone(),
        key: format!("{prefix}/{file}"),
        retention_days: 90,
        tags: t.tags(Component::Archive),
    };

    // A database with one row.
    let db = t.names.database.clone();
    let mut root = connect("root", "", None).await.expect("root");
    root.query_drop(format!("CREATE DATABASE `{db}`"))
        .await
        .expect("db");
    root.query_drop(format!(
        "CREATE TABLE `{db}`.wp_options (id INT PRIMARY KEY, v TEXT)"
    ))
    .await
    .expect("table");
    root.query_drop(format!("INSERT INTO `{db}`.wp_options VALUES (1, 'first')"))
        .await
        .expect("row");

    let dump = spec("database.sql.gz");
    assert_eq!(
        archive
            .find_archive(&bucket, &dump.key)
            .await
            .expect("find"),
        None
    );
    let first = archive.archive_database(&db, &dump).await.expect("archive");
    assert_eq!(first.id, format!("s3://{bucket}/{}", dump.key));
    // Changed after the archive: a retry keeps the archive that was made, not a second dump.
    root.query_drop(format!(
        "UPDATE `{db}`.wp_options SET v = 'later' WHERE id = 1"
    ))
    .await
    .expect("update");
    assert_eq!(
        archive.archive_database(&db, &dump).await.expect("again"),
        first
    );
    assert_eq!(keys_under(&c, &bucket, &prefix).await, [dump.key.as_str()]);
    let sql = object_text(&c, &bucket, &dump.key).await;
    assert!(sql.contains("'first'") && !sql.contains("'later'"), "{sql}");
    let tags = object_tags(&c, &bucket, &dump.key).await;
    assert_tagged("the database archive", &tags, &t.tags(Component::Archive));
    assert_eq!(
        tags.get("bbws:retention-days").map(String::as_str),
        Some("90")
    );
    assert_eq!(
        archive
            .find_archive(&bucket, &dump.key)
            .await
            .expect("find"),
        Some(first.clone())
    );

    // Files: the task runs once; a retry finds the object.
    let files = spec("wp-content.tar.gz");
    let ap = "fsap-12345678";
    let f = archive
        .archive_files(ap, &t.names.root_directory, &files)
        .await
        .expect("files");
    assert_eq!(
        archive
            .archive_files(ap, &t.names.root_directory, &files)
            .await
            .expect("again"),
        f
    );
    assert_eq!(runner.runs().len(), 1, "{:?}", runner.runs());
    assert_tagged(
        "the file archive",
        &object_tags(&c, &bucket, &files.key).await,
        &t.tags(Component::Archive),
    );

    // The task uploaded, then tagging failed (or the run died): the retry tags the object
    // instead of leaving an archive no tag scan or lifecycle rule can see.
    let late = spec("late/wp-content.tar.gz");
    c.s3.put_object()
        .bucket(&bucket)
        .key(&late.key)
        .body(b"tar".to_vec().into())
        .send()
        .await
        .expect("the task's upload");
    archive
        .archive_files(ap, &t.names.root_directory, &late)
        .await
        .expect("retry");
    assert_eq!(runner.runs().len(), 1, "the task is not run again");
    assert_tagged(
        "the retried file archive",
        &object_tags(&c, &bucket, &late.key).await,
        &t.tags(Component::Archive),
    );

    root.query_drop(format!("DROP DATABASE `{db}`"))
        .await
        .expect("clean up");
    root.disconnect().await.expect("disconnect");
}
