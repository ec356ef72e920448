//! [`SecretStore`] on Secrets Manager.
//!
//! Create is find-or-create by name: `ResourceExistsException` returns the existing secret. A
//! name still scheduled for deletion (a deprovisioned tenant's secret inside its 30-day recovery
//! window) cannot be created again: the adapter restores it, writes the new value as its current
//! version and re-tags it, so a re-provisioned tenant gets its deterministic name back.

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::types::Tag;
use bbws_core::instance::ports::{
    CloudResource, CloudResult, SECRET_RECOVERY_WINDOW_DAYS, SecretSpec, SecretStore, Tags,
};

use super::{build_failed, classify, code_of};

const SERVICE: &str = "secretsmanager";

/// The Secrets Manager adapter.
#[derive(Debug, Clone)]
pub struct AwsSecrets {
    client: Client,
}

pub(crate) fn tags(tags: &Tags) -> CloudResult<Vec<Tag>> {
    tags.iter()
        .map(|(k, v)| Ok(Tag::builder().key(k).value(v).build()))
        .collect()
}

/// What `DescribeSecret` says about a name.
enum Found {
    Live(CloudResource),
    PendingDeletion(CloudResource),
    Missing,
}

impl AwsSecrets {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    async fn describe(&self, id: &str) -> CloudResult<Found> {
        match self.client.describe_secret().secret_id(id).send().await {
            Ok(out) => {
                let Some(arn) = out.arn else {
                    return Ok(Found::Missing);
                };
                let res = CloudResource::new(arn.clone()).with_arn(arn);
                Ok(if out.deleted_date.is_some() {
                    Found::PendingDeletion(res)
                } else {
                    Found::Live(res)
                })
            }
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => Ok(Found::Missing),
            Err(e) => Err(classify(SERVICE, "DescribeSecret", &e)),
        }
    }

    /// Brings a secret scheduled for deletion back with `spec`'s value and tags.
    async fn restore(&self, spec: &SecretSpec, res: CloudResource) -> CloudResult<CloudResource> {
        self.client
            .restore_secret()
            .secret_id(&res.id)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "RestoreSecret", &e))?;
        self.client
            .put_secret_value()
            .secret_id(&res.id)
            .secret_string(spec.value.expose())
            .send()
            .await
            .map_err(|e| classify(SERVICE, "PutSecretValue", &e))?;
        self.client
            .tag_resource()
            .secret_id(&res.id)
            .set_tags(Some(tags(&spec.tags)?))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "TagResource", &e))?;
        Ok(res)
    }
}

#[async_trait]
impl SecretStore for AwsSecrets {
    async fn create_secret(&self, spec: &SecretSpec) -> CloudResult<CloudResource> {
        match self.describe(&spec.name).await? {
            Found::Live(res) => return Ok(res),
            Found::PendingDeletion(res) => return self.restore(spec, res).await,
            Found::Missing => {}
        }
        let out = self
            .client
            .create_secret()
            .name(&spec.name)
            .secret_string(spec.value.expose())
            .client_request_token(&spec.client_request_token)
            .set_tags(Some(tags(&spec.tags)?))
            .send()
            .await;
        match out {
            Ok(out) => {
                let arn = out.arn.ok_or_else(|| {
                    build_failed(SERVICE, "CreateSecret", &"no ARN in the answer")
                })?;
                Ok(CloudResource::new(arn.clone()).with_arn(arn))
            }
            // Created meanwhile (a concurrent or earlier attempt): the existing one is ours.
            Err(e) if code_of(&e) == Some("ResourceExistsException") => {
                match self.describe(&spec.name).await? {
                    Found::Live(res) => Ok(res),
                    Found::PendingDeletion(res) => self.restore(spec, res).await,
                    Found::Missing => Err(classify(SERVICE, "CreateSecret", &e)),
                }
            }
            Err(e) => Err(classify(SERVICE, "CreateSecret", &e)),
        }
    }

    async fn find_secret(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        Ok(match self.describe(name).await? {
            Found::Live(res) => Some(res),
            Found::PendingDeletion(_) | Found::Missing => None,
        })
    }

    async fn delete_secret(&self, id: &str, force: bool) -> CloudResult<()> {
        if force {
            // A secret already scheduled for deletion is removed now too.
            if let Found::Missing = self.describe(id).await? {
                return Ok(());
            }
        } else if !matches!(self.describe(id).await?, Found::Live(_)) {
            return Ok(());
        }
        let req = self.client.delete_secret().secret_id(id);
        let req = if force {
            req.force_delete_without_recovery(true)
        } else {
            req.recovery_window_in_days(i64::from(SECRET_RECOVERY_WINDOW_DAYS))
        };
        match req.send().await {
            Ok(_) => Ok(()),
            Err(e) if code_of(&e) == Some("ResourceNotFoundException") => Ok(()),
            Err(e) => Err(classify(SERVICE, "DeleteSecret", &e)),
        }
    }
}

/// Reads a secret's current string value (the database credentials).
pub(crate) async fn secret_string(client: &Client, id: &str) -> CloudResult<String> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .map_err(|e| classify(SERVICE, "GetSecretValue", &e))?;
    out.secret_string.ok_or_else(|| {
        bbws_core::instance::ports::CloudError::permanent(
            SERVICE,
            "GetSecretValue",
            format!("secret {id} has no string value"),
        )
    })
}
