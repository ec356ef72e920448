//! [`TaggedInventory`] on the Resource Groups Tagging API: one paginated `tag:GetResources`
//! whose tag filters ask for `bbws:environment = {env}` and any `bbws:tenant-id`, so a whole
//! environment's tenant objects come back in pages of 100, whatever their service.
//!
//! `GetResources` lists every resource type (except EC2 Auto Scaling groups and IAM users and
//! roles, which the platform does not tag per tenant), so on AWS every ledger type with tags is
//! visible and its drift is judged. A stand-in that lists fewer types (moto lists no Cognito
//! pools, listener rules or scalable targets) is described with
//! [`AwsTaggedInventory::with_visible_types`].

use async_trait::async_trait;
use aws_sdk_resourcegroupstagging::Client;
use aws_sdk_resourcegroupstagging::types::TagFilter;
use bbws_core::instance::ports::{CloudResult, Tags};
use bbws_core::instance::{
    ResourceType, TAG_ENVIRONMENT, TAG_TENANT, TaggedInventory, TaggedResource,
};
use bbws_core::tenant::Environment;

use super::classify;

const SERVICE: &str = "tagging";

/// The tagging API's listing of the platform's tenant objects.
#[derive(Debug, Clone)]
pub struct AwsTaggedInventory {
    client: Client,
    visible: Vec<ResourceType>,
}

/// `{service}:{resource type}` of an ARN, as the tagging API's resource type filters name it
/// (`arn:aws:ecs:…:task-definition/f:1` → `ecs:task-definition`); an ARN whose resource part
/// has no type (`arn:aws:s3:::bucket`) gives the service alone.
pub fn kind_of(arn: &str) -> String {
    let mut parts = arn.splitn(6, ':');
    let service = parts.nth(2).unwrap_or_default();
    let resource = parts.nth(2).unwrap_or_default();
    match resource.find(['/', ':']) {
        Some(end) => format!("{service}:{}", &resource[..end]),
        None => service.to_owned(),
    }
}

impl AwsTaggedInventory {
    /// Every ledger type with tags is visible (AWS lists them all).
    pub fn new(client: Client) -> Self {
        Self {
            client,
            visible: ResourceType::ALL
                .into_iter()
                .filter(|t| t.tagged_kind().is_some())
                .collect(),
        }
    }

    /// Only these types are listed by the endpoint (a stand-in for AWS): drift is judged for
    /// them only.
    #[must_use]
    pub fn with_visible_types(mut self, types: impl IntoIterator<Item = ResourceType>) -> Self {
        self.visible = types.into_iter().collect();
        self
    }
}

#[async_trait]
impl TaggedInventory for AwsTaggedInventory {
    async fn tagged_resources(&self, environment: Environment) -> CloudResult<Vec<TaggedResource>> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .client
                .get_resources()
                .tag_filters(
                    TagFilter::builder()
                        .key(TAG_ENVIRONMENT)
                        .values(environment.as_str())
                        .build(),
                )
                .tag_filters(TagFilter::builder().key(TAG_TENANT).build())
                .resources_per_page(100)
                .set_pagination_token(token.take())
                .send()
                .await
                .map_err(|e| classify(SERVICE, "GetResources", &e))?;
            for mapping in page.resource_tag_mapping_list() {
                let Some(arn) = mapping.resource_arn() else {
                    continue;
                };
                let tags: Tags = mapping
                    .tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                out.push(TaggedResource {
                    arn: arn.to_owned(),
                    kind: kind_of(arn),
                    tags,
                });
            }
            match page.pagination_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => return Ok(out),
            }
        }
    }

    fn visible_types(&self) -> Vec<ResourceType> {
        self.visible.clone()
    }

    fn describe(&self) -> String {
        let region = self
            .client
            .config()
            .region()
            .map_or_else(|| "the default region".to_owned(), ToString::to_string);
        format!("AWS tag:GetResources in {region}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_the_tagging_apis_resource_types() {
        for (arn, kind) in [
            (
                "arn:aws:secretsmanager:af-south-1:1:secret:bbws/dev/tenant-a/db-AbCdEf",
                "secretsmanager:secret",
            ),
            (
                "arn:aws:ecs:af-south-1:1:task-definition/tenant-a-wordpress:3",
                "ecs:task-definition",
            ),
            (
                "arn:aws:ecs:af-south-1:1:service/dev/tenant-a",
                "ecs:service",
            ),
            (
                "arn:aws:elasticloadbalancing:af-south-1:1:targetgroup/bbws-a-tg/0123",
                "elasticloadbalancing:targetgroup",
            ),
            (
                "arn:aws:elasticloadbalancing:af-south-1:1:listener-rule/app/lb/1/2/3",
                "elasticloadbalancing:listener-rule",
            ),
            (
                "arn:aws:elasticfilesystem:af-south-1:1:access-point/fsap-0123",
                "elasticfilesystem:access-point",
            ),
            (
                "arn:aws:cognito-idp:af-south-1:1:userpool/af-south-1_Abc",
                "cognito-idp:userpool",
            ),
            ("arn:aws:s3:::bbws-archives-dev", "s3"),
        ] {
            assert_eq!(kind_of(arn), kind, "{arn}");
        }
        for t in ResourceType::ALL {
            if let Some(k) = t.tagged_kind() {
                assert!(k.contains(':'), "{t}: {k}");
            }
        }
    }
}
