//! One-off ECS tasks for what the control plane cannot reach itself: the tenant's directory on
//! the shared file system (purge before the access point goes, `tar` to S3 for the archive).
//!
//! The task definition (`EFS_ADMIN_TASK_DEF`) mounts the file system's root at `/mnt/efs` with
//! root access and has `sh`, `tar`, `gzip` and the AWS CLI; its container is named `admin`. The
//! runner starts it (`RunTask`, Fargate, the tenant tasks' subnets and security group) with the
//! command of [`OneOffTask::command`], waits until it has `STOPPED`, and requires exit code 0.
//!
//! Every value that goes into a command is validated first ([`TenantDir`], [`S3Location`]).

use std::fmt;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, ContainerOverride, LaunchType, NetworkConfiguration,
    TaskOverride,
};
use bbws_core::instance::ports::{CloudError, CloudResult};

use super::settings::CloudSettings;
use super::{build_failed, classify};

const SERVICE: &str = "ecs";

/// The container of the admin task definition.
pub const ADMIN_CONTAINER: &str = "admin";

/// Where the admin task mounts the file system root.
pub const MOUNT: &str = "/mnt/efs";

/// A tenant directory on the shared file system: exactly `/tenant-{key}` with a lowercase
/// alphanumeric key, so a purge can never name anything else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantDir(String);

impl TenantDir {
    pub fn parse(s: &str) -> CloudResult<Self> {
        let key = s.strip_prefix("/tenant-").unwrap_or_default();
        let ok = !key.is_empty()
            && key.len() <= 20
            && key
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(CloudError::permanent(
                SERVICE,
                "RunTask",
                format!("refusing to touch '{s}': not a tenant directory (/tenant-{{key}})"),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An S3 bucket and key made of characters that need no shell quoting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    pub fn parse(bucket: &str, key: &str) -> CloudResult<Self> {
        let bucket_ok = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        let key_ok = !key.is_empty()
            && key.len() <= 1024
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'/'));
        if bucket_ok && key_ok {
            Ok(Self {
                bucket: bucket.to_owned(),
                key: key.to_owned(),
            })
        } else {
            Err(CloudError::permanent(
                "s3",
                "PutObject",
                format!("invalid archive location s3://{bucket}/{key}"),
            ))
        }
    }

    pub fn uri(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }
}

/// What a one-off task does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OneOffTask {
    /// `rm -rf /mnt/efs/tenant-{key}`.
    Purge(TenantDir),
    /// `tar -czf - -C /mnt/efs/tenant-{key} . | aws s3 cp - s3://…`.
    ArchiveFiles { dir: TenantDir, to: S3Location },
    /// Downloads `s3://…`, lists it (a damaged archive stops here, before anything is deleted),
    /// empties `/mnt/efs/tenant-{key}` and unpacks the archive into it.
    RestoreFiles { dir: TenantDir, from: S3Location },
}

impl OneOffTask {
    /// The container command (`sh -c …`; every value in it was validated).
    pub fn command(&self) -> Vec<String> {
        let script = match self {
            Self::Purge(dir) => format!("rm -rf {MOUNT}{}", dir.as_str()),
            Self::ArchiveFiles { dir, to } => format!(
                "(set -o pipefail) 2>/dev/null && set -o pipefail; mkdir -p {MOUNT}{d} && tar -czf - -C {MOUNT}{d} . | aws s3 cp - {uri}",
                d = dir.as_str(),
                uri = to.uri()
            ),
            Self::RestoreFiles { dir, from } => format!(
                "set -e; f=$(mktemp); aws s3 cp {uri} \"$f\"; tar -tzf \"$f\" >/dev/null; \
                 mkdir -p {MOUNT}{d}; find {MOUNT}{d} -mindepth 1 -delete; \
                 tar -xzf \"$f\" -C {MOUNT}{d}; rm -f \"$f\"",
                d = dir.as_str(),
                uri = from.uri()
            ),
        };
        vec!["sh".to_owned(), "-c".to_owned(), script]
    }

    pub fn purpose(&self) -> &'static str {
        match self {
            Self::Purge(_) => "purge",
            Self::ArchiveFiles { .. } => "archive-files",
            Self::RestoreFiles { .. } => "restore-files",
        }
    }
}

/// Runs one-off tasks to completion.
#[async_trait]
pub trait TaskRunner: Send + Sync + fmt::Debug {
    async fn run(&self, task: &OneOffTask) -> CloudResult<()>;
}

/// One-off tasks on ECS.
#[derive(Debug, Clone)]
pub struct EcsTaskRunner {
    client: aws_sdk_ecs::Client,
    cluster: String,
    task_definition: String,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    poll: Duration,
}

impl EcsTaskRunner {
    pub fn new(client: aws_sdk_ecs::Client, settings: &CloudSettings) -> Self {
        Self {
            client,
            cluster: settings.platform.cluster.clone(),
            task_definition: settings.efs_admin_task_definition.clone(),
            subnets: settings.platform.private_subnets.clone(),
            security_groups: vec![settings.platform.task_security_group.clone()],
            poll: Duration::from_secs(5),
        }
    }

    pub fn cluster(&self) -> &str {
        &self.cluster
    }

    pub fn client(&self) -> &aws_sdk_ecs::Client {
        &self.client
    }

    /// `RunTask`; returns the task ARN.
    pub async fn start(&self, task: &OneOffTask) -> CloudResult<String> {
        let network = NetworkConfiguration::builder()
            .awsvpc_configuration(
                AwsVpcConfiguration::builder()
                    .set_subnets(Some(self.subnets.clone()))
                    .set_security_groups(Some(self.security_groups.clone()))
                    .assign_public_ip(AssignPublicIp::Disabled)
                    .build()
                    .map_err(|e| build_failed(SERVICE, "RunTask", &e))?,
            )
            .build();
        let out = self
            .client
            .run_task()
            .cluster(&self.cluster)
            .task_definition(&self.task_definition)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network)
            .started_by(format!("bbws-{}", task.purpose()))
            .overrides(
                TaskOverride::builder()
                    .container_overrides(
                        ContainerOverride::builder()
                            .name(ADMIN_CONTAINER)
                            .set_command(Some(task.command()))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .map_err(|e| classify(SERVICE, "RunTask", &e))?;
        if let Some(f) = out.failures().first() {
            return Err(CloudError::permanent(
                SERVICE,
                "RunTask",
                format!(
                    "{}: {}",
                    f.reason().unwrap_or("failure"),
                    f.detail().unwrap_or_default()
                ),
            ));
        }
        out.tasks()
            .first()
            .and_then(|t| t.task_arn())
            .map(str::to_owned)
            .ok_or_else(|| build_failed(SERVICE, "RunTask", &"no task in the answer"))
    }

    /// Polls `DescribeTasks` until the task has stopped; `Ok` only for exit code 0. The engine's
    /// step timeout bounds the wait.
    pub async fn wait(&self, task_arn: &str) -> CloudResult<()> {
        loop {
            let out = self
                .client
                .describe_tasks()
                .cluster(&self.cluster)
                .tasks(task_arn)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeTasks", &e))?;
            let Some(task) = out.tasks().first() else {
                return Err(CloudError::permanent(
                    SERVICE,
                    "DescribeTasks",
                    format!("task {task_arn} disappeared"),
                ));
            };
            if task.last_status() == Some("STOPPED") {
                let exit = task
                    .containers()
                    .iter()
                    .find(|c| c.name() == Some(ADMIN_CONTAINER))
                    .and_then(aws_sdk_ecs::types::Container::exit_code);
                return match exit {
                    Some(0) => Ok(()),
                    other => Err(CloudError::permanent(
                        SERVICE,
                        "RunTask",
                        format!(
                            "one-off task {task_arn} stopped with exit code {other:?}: {}",
                            task.stopped_reason().unwrap_or("no reason given")
                        ),
                    )),
                };
            }
            // Waiting for ECS to run the task.
            tokio::time::sleep(self.poll).await;
        }
    }
}

#[async_trait]
impl TaskRunner for EcsTaskRunner {
    async fn run(&self, task: &OneOffTask) -> CloudResult<()> {
        let arn = self.start(task).await?;
        self.wait(&arn).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tenant_directories_can_be_purged() {
        for bad in [
            "/",
            "/tenant-",
            "/tenant-../x",
            "/tenant-a b",
            "/other",
            "/tenant-A1",
        ] {
            assert!(TenantDir::parse(bad).is_err(), "{bad}");
        }
        let t = OneOffTask::Purge(TenantDir::parse("/tenant-ab12").expect("ok"));
        assert_eq!(t.command()[2], "rm -rf /mnt/efs/tenant-ab12");
    }

    #[test]
    fn archive_locations_need_no_quoting() {
        assert!(S3Location::parse("bucket", "a/b;rm -rf").is_err());
        assert!(S3Location::parse("Bucket", "a").is_err());
        let to = S3Location::parse("bbws-archives-dev", "archives/dev/t/op/wp-content.tar.gz")
            .expect("ok");
        let t = OneOffTask::ArchiveFiles {
            dir: TenantDir::parse("/tenant-ab12").expect("ok"),
            to,
        };
        assert!(
            t.command()[2].ends_with(
                "| aws s3 cp - s3://bbws-archives-dev/archives/dev/t/op/wp-content.tar.gz"
            )
        );
    }
}
