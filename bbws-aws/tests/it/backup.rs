//! A backup followed by a restore brings back the tenant's database and files, checked by
//! content: the real engine and adapters against moto (S3, ECS, EFS, ...) and MariaDB.
//!
//! The admin task's commands (`tar | aws s3 cp`, `aws s3 cp | tar -x`) cannot run in moto's
//! ECS, so [`LocalTasks`] runs each command exactly as the task would, with `sh`, `tar` and the
//! AWS CLI from the project's virtualenv pointed at moto, and a temporary directory standing in
//! for the file system mounted at `/mnt/efs`. The database side is the production adapter
//! itself (dump and replay over the administrator's connection to MariaDB).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bbws_aws::cloud::tasks::{MOUNT, OneOffTask, TaskRunner};
use bbws_core::ErrorCode;
use bbws_core::instance::backup::{BackupReason, BackupStatus};
use bbws_core::instance::ports::{CloudError, CloudResult};
use bbws_core::instance::{InstanceDao, InstanceState, Names, OperationStatus};
use bbws_core::tenant::Environment;
use mysql_async::prelude::Queryable;

use crate::instances::{World, provisioned, world_with};
use crate::support::admin;

/// Runs the admin task's command here: `sh -c` with `/mnt/efs` replaced by `mount`.
#[derive(Debug)]
struct LocalTasks {
    mount: PathBuf,
    started: Arc<std::sync::Mutex<Vec<String>>>,
}

#[async_trait]
impl TaskRunner for LocalTasks {
    async fn run(&self, task: &OneOffTask) -> CloudResult<()> {
        let script = task.command()[2].replace(MOUNT, &self.mount.display().to_string());
        self.started
            .lock()
            .expect("log")
            .push(format!("{} {script}", task.purpose()));
        let bin = crate::moto::venv().join("bin");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c")
            .arg(&script)
            .env("PATH", path)
            .env("AWS_ENDPOINT_URL", crate::moto::endpoint())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_DEFAULT_REGION", "us-east-1");
        let out = tokio::task::spawn_blocking(move || cmd.output())
            .await
            .map_err(|e| CloudError::permanent("ecs", "RunTask", e.to_string()))?
            .map_err(|e| CloudError::permanent("ecs", "RunTask", e.to_string()))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(CloudError::permanent(
                "ecs",
                "RunTask",
                format!(
                    "the {} task exited with {}: {}",
                    task.purpose(),
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                ),
            ))
        }
    }
}

/// Every file under `dir` with its contents, by relative path.
fn tree(dir: &Path) -> BTreeMap<String, String> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                walk(base, &path, out);
            } else {
                let rel = path.strip_prefix(base).expect("under base");
                out.insert(
                    rel.display().to_string(),
                    std::fs::read_to_string(&path).expect("read file"),
                );
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn write(dir: &Path, rel: &str, text: &str) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, text).expect("write");
}

async fn conn(w: &World, db: &str) -> mysql_async::Conn {
    let (host, port) = w.db_endpoint.split_once(':').expect("host:port");
    mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port.parse().expect("port"))
            .user(Some("root"))
            .db_name(Some(db))
            .prefer_socket(false),
    )
    .await
    .expect("root connects")
}

type Rows = Vec<(i64, Option<String>, Option<f64>)>;

/// The tables of the database and the rows of `wp_posts`.
async fn db_content(w: &World, db: &str) -> (Vec<String>, Rows) {
    let mut c = conn(w, db).await;
    let tables: Vec<String> = c.query("SHOW TABLES").await.expect("tables");
    let rows: Rows = c
        .query("SELECT id, title, score FROM wp_posts ORDER BY id")
        .await
        .expect("rows");
    c.disconnect().await.expect("disconnect");
    (tables, rows)
}

async fn s3_text(w: &World, uri: &str) -> String {
    let (bucket, key) = uri
        .strip_prefix("s3://")
        .and_then(|r| r.split_once('/'))
        .expect("s3 uri");
    let body = w
        .clients
        .s3
        .get_object()
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
    flate2::read::GzDecoder::new(&body[..])
        .read_to_string(&mut text)
        .expect("gzip");
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_then_a_restore_brings_back_the_database_and_the_files() {
    let mount = tempfile::tempdir().expect("a directory for the file system");
    let started = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (m, s) = (mount.path().to_owned(), started.clone());
    let w = world_with(move |_, _| {
        Arc::new(LocalTasks {
            mount: m,
            started: s,
        })
    })
    .await;
    let (tenant, instance) = provisioned(&w, "Backup Restore Ltd").await;
    let names = Names::new(&instance.resource_key, Environment::Dev);
    let dir = mount
        .path()
        .join(names.root_directory.trim_start_matches('/'));

    // What the tenant has: posts (with quotes, a statement separator, a line break, NULLs and
    // non-ASCII text) and files.
    let mut c = conn(&w, &names.database).await;
    c.query_drop(
        "CREATE TABLE wp_posts (id BIGINT PRIMARY KEY, title TEXT, score DOUBLE) \
         DEFAULT CHARSET=utf8mb4",
    )
    .await
    .expect("create");
    c.exec_drop(
        "INSERT INTO wp_posts VALUES (?, ?, ?), (?, ?, ?), (?, ?, ?)",
        (
            1,
            "Hello, world",
            1.5,
            2,
            "It's done;\nnext line — Grüße",
            None::<f64>,
            3,
            None::<String>,
            -2.25,
        ),
    )
    .await
    .expect("insert");
    c.disconnect().await.expect("disconnect");
    write(
        &dir,
        "wp-content/uploads/2026/12/hello.txt",
        "hello from the tenant\n",
    );
    write(
        &dir,
        "wp-content/themes/bbws/style.css",
        "body { color: #333; }\n",
    );
    let files_before = tree(&dir);
    let db_before = db_content(&w, &names.database).await;

    // The backup.
    let accepted = w
        .service
        .request_backup(
            &admin(),
            &tenant.id,
            &instance.id,
            Some("before the redesign"),
            None,
        )
        .await
        .expect("backup accepted")
        .value;
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("backup runs");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let backup_id = op.backup_id.expect("backup id");
    let backups = w
        .service
        .backups(&admin(), &tenant.id, &instance.id)
        .await
        .expect("listed");
    let backup = backups.iter().find(|b| b.id == backup_id).expect("listed");
    assert_eq!(backup.status, BackupStatus::Completed);
    let dump = s3_text(&w, backup.db_artifact.as_deref().expect("db artifact")).await;
    assert!(dump.contains("wp_posts"), "{dump}");

    // Then the tenant's data changes: a row changed, one deleted, a table added; a file
    // changed, one deleted, one added.
    let mut c = conn(&w, &names.database).await;
    c.query_drop(
        "UPDATE wp_posts SET title = 'defaced' WHERE id = 1; DELETE FROM wp_posts WHERE id = 3; \
         CREATE TABLE wp_extra (k INT); INSERT INTO wp_extra VALUES (42)",
    )
    .await
    .expect("change");
    c.disconnect().await.expect("disconnect");
    write(
        &dir,
        "wp-content/themes/bbws/style.css",
        "body { color: red; }\n",
    );
    std::fs::remove_file(dir.join("wp-content/uploads/2026/12/hello.txt")).expect("rm");
    write(&dir, "wp-content/plugins/evil.php", "<?php // planted\n");
    assert_ne!(tree(&dir), files_before);

    // The restore.
    let accepted = w
        .service
        .request_restore(&admin(), &tenant.id, &instance.id, &backup_id, None)
        .await
        .expect("restore accepted")
        .value;
    assert_eq!(accepted.instance.state, InstanceState::Suspending);
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("restore runs");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");

    assert_eq!(tree(&dir), files_before, "the files are the backup's");
    assert_eq!(
        db_content(&w, &names.database).await,
        db_before,
        "the tables and rows are the backup's"
    );
    let after = w
        .store
        .get_instance(&tenant.id, &instance.id)
        .await
        .expect("read")
        .expect("instance");
    assert_eq!(after.state, InstanceState::Active);
    let service = w
        .clients
        .ecs
        .describe_services()
        .cluster(&w.platform.cluster)
        .services(&names.ecs_service)
        .send()
        .await
        .expect("DescribeServices");
    assert_eq!(
        service.services()[0].desired_count(),
        i32::try_from(instance.desired_count.get()).expect("count"),
        "the service runs its stored count again"
    );

    // The data the restore replaced is kept in the pre-restore backup.
    let safety_id = op.safety_backup_id.expect("pre-restore backup");
    let safety = w
        .service
        .backups(&admin(), &tenant.id, &instance.id)
        .await
        .expect("listed")
        .into_iter()
        .find(|b| b.id == safety_id)
        .expect("listed");
    assert_eq!(safety.reason, BackupReason::PreRestore);
    assert_eq!(safety.status, BackupStatus::Completed);
    let replaced = s3_text(&w, safety.db_artifact.as_deref().expect("artifact")).await;
    assert!(replaced.contains("wp_extra") && replaced.contains("defaced"));
    let log = started.lock().expect("log").clone();
    assert!(
        log.iter().any(|l| l.starts_with("restore-files ")),
        "the files came back through the admin task's command: {log:#?}"
    );

    // A backup of another tenant's instance is not this tenant's to restore.
    let (other, other_instance) = provisioned(&w, "Other Backups Ltd").await;
    let err = w
        .service
        .request_restore(&admin(), &other.id, &other_instance.id, &backup_id, None)
        .await
        .expect_err("not the other tenant's backup");
    assert_eq!(err.code(), ErrorCode::BackupNotFound);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_dump_is_refused_before_any_table_is_dropped() {
    let mount = tempfile::tempdir().expect("dir");
    let m = mount.path().to_owned();
    let w = world_with(move |_, started| Arc::new(LocalTasks { mount: m, started })).await;
    let (_, instance) = provisioned(&w, "Damaged Dump Ltd").await;
    let names = Names::new(&instance.resource_key, Environment::Dev);
    let mut c = conn(&w, &names.database).await;
    c.query_drop("CREATE TABLE wp_options (k VARCHAR(10) PRIMARY KEY); INSERT INTO wp_options VALUES ('kept')")
        .await
        .expect("create");
    c.disconnect().await.expect("disconnect");
    let key = format!("backups/dev/damaged/{}/database.sql.gz", instance.id);
    w.clients
        .s3
        .put_object()
        .bucket(&w.platform.bucket)
        .key(&key)
        .body(b"DROP DATABASE mysql;".to_vec().into())
        .send()
        .await
        .expect("put");
    let err = w
        .engine
        .cloud()
        .archive
        .restore_database(&names.database, &w.platform.bucket, &key)
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("gzip"), "{err}");
    let mut c = conn(&w, &names.database).await;
    let tables: Vec<String> = c.query("SHOW TABLES").await.expect("tables");
    c.disconnect().await.expect("disconnect");
    assert_eq!(tables, vec!["wp_options".to_owned()], "nothing was dropped");
}
