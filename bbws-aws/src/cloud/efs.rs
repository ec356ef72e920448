//! [`FileStorage`] on EFS: access points on the shared file system, found by their `Name` tag,
//! and the purge of a tenant directory through a one-off task ([`super::tasks`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_efs::types::{CreationInfo, LifeCycleState, PosixUser, RootDirectory, Tag};
use bbws_core::instance::ports::{
    AccessPointSpec, CloudError, CloudResource, CloudResult, FileStorage,
};

use super::tasks::{OneOffTask, TaskRunner, TenantDir};
use super::{build_failed, classify, code_of};

const SERVICE: &str = "elasticfilesystem";

/// The EFS adapter.
#[derive(Debug, Clone)]
pub struct AwsFiles {
    client: aws_sdk_efs::Client,
    file_system_id: String,
    runner: Arc<dyn TaskRunner>,
    poll: Duration,
}

impl AwsFiles {
    pub fn new(
        client: aws_sdk_efs::Client,
        file_system_id: &str,
        runner: Arc<dyn TaskRunner>,
    ) -> Self {
        Self {
            client,
            file_system_id: file_system_id.to_owned(),
            runner,
            poll: Duration::from_secs(2),
        }
    }

    fn resource(ap: &aws_sdk_efs::types::AccessPointDescription) -> Option<CloudResource> {
        let id = ap.access_point_id()?;
        let mut r = CloudResource::new(id);
        if let Some(arn) = ap.access_point_arn() {
            r = r.with_arn(arn);
        }
        Some(r)
    }

    /// Every access point of the file system whose `Name` tag is `name` and that is not being
    /// deleted.
    async fn by_name(&self, name: &str) -> CloudResult<Vec<CloudResource>> {
        let mut out = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .describe_access_points()
                .file_system_id(&self.file_system_id)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeAccessPoints", &e))?;
            for ap in page.access_points() {
                let named = ap.name() == Some(name)
                    || ap
                        .tags()
                        .iter()
                        .any(|t| t.key() == "Name" && t.value() == name);
                let live = !matches!(
                    ap.life_cycle_state(),
                    Some(LifeCycleState::Deleting | LifeCycleState::Deleted)
                );
                if named && live {
                    out.extend(Self::resource(ap));
                }
            }
            match page.next_token {
                Some(t) => token = Some(t),
                None => return Ok(out),
            }
        }
    }

    async fn wait_available(&self, id: &str) -> CloudResult<()> {
        loop {
            let out = self
                .client
                .describe_access_points()
                .access_point_id(id)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "DescribeAccessPoints", &e))?;
            match out
                .access_points()
                .first()
                .and_then(|a| a.life_cycle_state())
            {
                Some(LifeCycleState::Available) => return Ok(()),
                Some(LifeCycleState::Creating | LifeCycleState::Updating) => {}
                other => {
                    return Err(CloudError::permanent(
                        SERVICE,
                        "DescribeAccessPoints",
                        format!("access point {id} is {other:?}, not available"),
                    ));
                }
            }
            // Waiting for EFS to finish creating the access point.
            tokio::time::sleep(self.poll).await;
        }
    }
}

#[async_trait]
impl FileStorage for AwsFiles {
    async fn create_access_point(&self, spec: &AccessPointSpec) -> CloudResult<CloudResource> {
        if let Some(found) = self.by_name(&spec.name).await?.into_iter().next() {
            return Ok(found);
        }
        let tags = spec
            .tags
            .iter()
            .map(|(k, v)| {
                Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
                    .map_err(|e| build_failed(SERVICE, "CreateAccessPoint", &e))
            })
            .collect::<CloudResult<Vec<_>>>()?;
        let uid = i64::from(spec.uid);
        let gid = i64::from(spec.gid);
        let out = self
            .client
            .create_access_point()
            .client_token(&spec.client_token)
            .file_system_id(&spec.file_system_id)
            .posix_user(
                PosixUser::builder()
                    .uid(uid)
                    .gid(gid)
                    .build()
                    .map_err(|e| build_failed(SERVICE, "CreateAccessPoint", &e))?,
            )
            .root_directory(
                RootDirectory::builder()
                    .path(&spec.root_directory)
                    .creation_info(
                        CreationInfo::builder()
                            .owner_uid(uid)
                            .owner_gid(gid)
                            .permissions(&spec.permissions)
                            .build()
                            .map_err(|e| build_failed(SERVICE, "CreateAccessPoint", &e))?,
                    )
                    .build(),
            )
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateAccessPoint", &e))?;
        let id = out
            .access_point_id()
            .ok_or_else(|| build_failed(SERVICE, "CreateAccessPoint", &"no id in the answer"))?
            .to_owned();
        self.wait_available(&id).await?;
        let mut r = CloudResource::new(id);
        if let Some(arn) = out.access_point_arn() {
            r = r.with_arn(arn);
        }
        Ok(r)
    }

    async fn find_access_point(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self.by_name(name).await?.into_iter().next())
    }

    async fn access_point_state(&self, id: &str) -> CloudResult<Option<String>> {
        match self
            .client
            .describe_access_points()
            .access_point_id(id)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .access_points()
                .iter()
                .find(|a| a.access_point_id() == Some(id))
                .map(|a| {
                    a.life_cycle_state()
                        .map_or_else(|| "unknown".to_owned(), |s| s.as_str().to_owned())
                })),
            Err(e) if code_of(&e) == Some("AccessPointNotFound") => Ok(None),
            Err(e) => Err(classify(SERVICE, "DescribeAccessPoints", &e)),
        }
    }

    async fn delete_access_point(&self, id: &str) -> CloudResult<()> {
        match self
            .client
            .delete_access_point()
            .access_point_id(id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("AccessPointNotFound") => Ok(()),
            Err(e) => Err(classify(SERVICE, "DeleteAccessPoint", &e)),
        }
    }

    async fn purge_directory(&self, root_directory: &str) -> CloudResult<()> {
        let dir = TenantDir::parse(root_directory)?;
        self.runner.run(&OneOffTask::Purge(dir)).await
    }
}
