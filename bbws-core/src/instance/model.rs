//! The instance aggregate (digest 2.7 §2.1).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::ids::{InstanceId, OperationId, TenantId};
use crate::tenant::{Environment, Stamp};
use crate::time::Timestamp;

use super::ledger::ResourceType;
use super::operation::FailureReason;
use super::state::InstanceState;
use super::values::{DesiredCount, OpportunityId, ResourceKey, SizeTier, TaskSize};

/// What a provisioning request asks for (C2 `CreateInstanceRequest`, parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInstance {
    pub tier: SizeTier,
    /// Overrides the tier's size (the DEV/SIT cost override); `None` = the tier's size.
    pub task_size: Option<TaskSize>,
    pub desired_count: DesiredCount,
    pub wordpress_version: String,
    pub opportunity: Option<OpportunityId>,
    /// Overrides the key derived from the tenant id (e.g. the slug of a migrated tenant).
    pub resource_key: Option<ResourceKey>,
}

impl NewInstance {
    /// A STANDARD instance with two tasks and the latest WordPress.
    pub fn standard() -> Self {
        Self {
            tier: SizeTier::Standard,
            task_size: None,
            desired_count: DesiredCount::DEFAULT,
            wordpress_version: "latest".to_owned(),
            opportunity: None,
            resource_key: None,
        }
    }
}

/// One WordPress instance of a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    pub id: InstanceId,
    pub tenant_id: TenantId,
    pub resource_key: ResourceKey,
    pub environment: Environment,
    pub state: InstanceState,
    pub tier: SizeTier,
    pub task_size: TaskSize,
    pub desired_count: DesiredCount,
    pub wordpress_version: String,
    /// The container image the service runs, as its task definition names it. `None` for an
    /// instance stored before the image was recorded: it runs the platform's image of its
    /// WordPress version ([`Self::image`]).
    pub container_image: Option<String>,
    pub opportunity: Option<OpportunityId>,
    /// The host the listener rule routes (`{key}.{DOMAIN_SUFFIX}`).
    pub domain: String,
    /// Ids and ARNs of the live resources, copied from the ledger when provisioning completes.
    pub resources: BTreeMap<ResourceType, String>,
    pub last_error: Option<FailureReason>,
    /// The operation that is driving (or last drove) the instance.
    pub current_operation: Option<OperationId>,
    pub created: Stamp,
    pub updated: Stamp,
    pub provisioned_at: Option<Timestamp>,
    pub deprovisioned_at: Option<Timestamp>,
    /// The last ECS event applied to the instance (§8.5: `lastEcsEvent`, `lastEcsEventTime`,
    /// and its id, so duplicates and older events are skipped).
    pub last_ecs_event: Option<EcsEventMark>,
    pub version: u64,
}

/// Which ECS event an instance last took in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsEventMark {
    pub id: String,
    pub name: String,
    pub time: Timestamp,
}

impl Instance {
    /// A new instance in `PENDING_PROVISIONING`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: InstanceId,
        tenant_id: TenantId,
        environment: Environment,
        req: NewInstance,
        domain_suffix: &str,
        by: &str,
        now: Timestamp,
    ) -> Self {
        let resource_key = req
            .resource_key
            .unwrap_or_else(|| ResourceKey::derive(&tenant_id));
        let domain = format!("{}.{}", resource_key, domain_suffix.trim_start_matches('.'));
        let stamp = Stamp {
            at: now,
            by: by.to_owned(),
        };
        Self {
            id,
            tenant_id,
            resource_key,
            environment,
            state: InstanceState::PendingProvisioning,
            tier: req.tier,
            task_size: req.task_size.unwrap_or_else(|| req.tier.task_size()),
            desired_count: req.desired_count,
            wordpress_version: req.wordpress_version,
            container_image: None,
            opportunity: req.opportunity,
            domain,
            resources: BTreeMap::new(),
            last_error: None,
            current_operation: None,
            created: stamp.clone(),
            updated: stamp,
            provisioned_at: None,
            deprovisioned_at: None,
            last_ecs_event: None,
            version: 1,
        }
    }

    /// This instance, changed in place (no state change), stamped.
    #[must_use]
    pub fn touched(&self, by: &str, now: Timestamp) -> Self {
        let mut next = self.clone();
        next.updated = Stamp {
            at: now,
            by: by.to_owned(),
        };
        next.version += 1;
        next
    }

    /// This instance moved to `to` (validated against §7.2), stamped.
    pub fn moved(&self, to: InstanceState, by: &str, now: Timestamp) -> Result<Self> {
        let state = self.state.transition(to)?;
        let mut next = self.clone();
        next.state = state;
        next.updated = Stamp {
            at: now,
            by: by.to_owned(),
        };
        next.version += 1;
        Ok(next)
    }

    /// The image the service runs: the recorded one, else the platform's image of the
    /// instance's WordPress version (`{image_repository}:{wordpress_version}`).
    pub fn image(&self, image_repository: &str) -> String {
        self.container_image
            .clone()
            .unwrap_or_else(|| format!("{image_repository}:{}", self.wordpress_version))
    }

    /// `https://{domain}`.
    pub fn endpoint(&self) -> String {
        format!("https://{}", self.domain)
    }
}
