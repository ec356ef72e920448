//! `ServiceTags` on ECS: `ListTagsForResource` on a service ARN, behind a small time-bounded
//! cache (digest 2.7 §8.4: about 5 minutes), since ECS sends many events per service (periodic
//! steady states, each deployment) and a service's `bbws:*` tags do not change.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use bbws_core::instance::ServiceTags;
use bbws_core::instance::ports::{CloudResult, Tags};

use super::classify;

/// How long a lookup is reused.
pub const CACHE_TTL: Duration = Duration::from_mins(5);
/// At most this many services are remembered; a full cache is emptied and filled again.
pub const CACHE_CAPACITY: usize = 1024;

/// The tags of ECS services.
#[derive(Debug)]
pub struct EcsServiceTags {
    client: aws_sdk_ecs::Client,
    cache: Mutex<HashMap<String, (Instant, Tags)>>,
    ttl: Duration,
}

impl EcsServiceTags {
    pub fn new(client: aws_sdk_ecs::Client) -> Self {
        Self::with_ttl(client, CACHE_TTL)
    }

    pub fn with_ttl(client: aws_sdk_ecs::Client, ttl: Duration) -> Self {
        Self {
            client,
            cache: Mutex::new(HashMap::new()),
            ttl,
        }
    }

    fn cached(&self, arn: &str) -> Option<Tags> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        cache
            .get(arn)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, tags)| tags.clone())
    }
}

#[async_trait]
impl ServiceTags for EcsServiceTags {
    async fn service_tags(&self, service_arn: &str) -> CloudResult<Tags> {
        if let Some(tags) = self.cached(service_arn) {
            return Ok(tags);
        }
        let out = self
            .client
            .list_tags_for_resource()
            .resource_arn(service_arn)
            .send()
            .await
            .map_err(|e| classify("ECS", "ListTagsForResource", &e))?;
        let tags: Tags = out
            .tags()
            .iter()
            .filter_map(|t| Some((t.key()?.to_owned(), t.value()?.to_owned())))
            .collect();
        let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        if cache.len() >= CACHE_CAPACITY {
            cache.clear();
        }
        cache.insert(service_arn.to_owned(), (Instant::now(), tags.clone()));
        Ok(tags)
    }
}
