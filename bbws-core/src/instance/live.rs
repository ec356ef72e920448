//! What an instance looks like in the cloud right now (digest 2.7 C6 and C17): the ECS service's
//! counts, deployments and tasks (status), and a composite health over the service, its
//! targets, the EFS access point, the tenant database and the Cognito pool (health).
//!
//! Reads only: nothing is written, and a part that cannot be asked (a cloud error, or a cloud
//! that only records plans) is reported as unknown with the reason, never as a failure of the
//! whole answer. What is looked at follows the instance's state: an instance that has nothing
//! provisioned (not yet, or no longer) is not asked about, and one stopped on purpose
//! (SUSPENDED, PARKED) is healthy at 0 tasks.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

use crate::time::Timestamp;

use super::ledger::{LedgerEntry, ResourceType, created};
use super::model::Instance;
use super::naming::{Names, PlatformConfig};
use super::ports::{CloudError, CloudMode, InstanceCloud, ServiceStatus, TargetHealth};
use super::state::InstanceState;

/// The service part of a status: what ECS answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceView {
    /// The service as ECS sees it.
    Found(ServiceStatus),
    /// The instance should have a service, and ECS has none of that name.
    Missing,
    /// The instance has no service in its state (not yet provisioned, or deprovisioned).
    NotProvisioned,
    /// ECS could not be asked; the reason.
    Unknown(String),
}

/// C6: the live running status of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceStatus {
    pub instance: Instance,
    pub service: ServiceView,
    pub checked_at: Timestamp,
}

/// The overall answer of C17.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
    Unknown,
}

impl HealthStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Unhealthy => "UNHEALTHY",
            Self::Unknown => "UNKNOWN",
        }
    }
}

impl fmt::Display for HealthStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One component of C17.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ComponentStatus {
    Healthy,
    Unhealthy,
    /// It could not be asked, or the instance is changing state.
    Unknown,
    /// The component does not exist in the instance's state (not looked at).
    NotApplicable,
}

impl ComponentStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Unhealthy => "UNHEALTHY",
            Self::Unknown => "UNKNOWN",
            Self::NotApplicable => "NOT_APPLICABLE",
        }
    }
}

/// The components of C17, in their wire names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Component {
    /// The ECS service: running == desired, deployment completed.
    Ecs,
    /// The target group's registered targets.
    Targets,
    /// The EFS access point.
    Efs,
    /// The tenant database on the shared MySQL.
    Database,
    /// The tenant's Cognito user pool.
    Cognito,
}

impl Component {
    pub const ALL: [Component; 5] = [
        Self::Ecs,
        Self::Targets,
        Self::Efs,
        Self::Database,
        Self::Cognito,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ecs => "ecs",
            Self::Targets => "targetGroup",
            Self::Efs => "efsAccessPoint",
            Self::Database => "database",
            Self::Cognito => "cognitoUserPool",
        }
    }
}

/// One component's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentHealth {
    pub status: ComponentStatus,
    /// What was seen, or why it is unknown.
    pub reason: String,
    /// The id or name that was looked at.
    pub resource: Option<String>,
}

impl ComponentHealth {
    fn new(status: ComponentStatus, reason: impl Into<String>, resource: Option<&str>) -> Self {
        Self {
            status,
            reason: reason.into(),
            resource: resource.map(str::to_owned),
        }
    }
}

/// C17: the composite health of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceHealth {
    pub instance: Instance,
    pub status: HealthStatus,
    pub components: BTreeMap<Component, ComponentHealth>,
    pub checked_at: Timestamp,
}

/// How the state of an instance shapes what is looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Nothing exists (or nothing yet): not asked.
    Nothing,
    /// Running: `desiredCount` tasks, healthy targets.
    Running,
    /// Stopped on purpose: 0 tasks, no targets.
    Stopped,
    /// Between states: what is seen is reported, as unknown.
    Changing,
    /// FAILED: looked at as if running; the instance itself is unhealthy.
    Failed,
}

const fn expect(state: InstanceState) -> Expect {
    use InstanceState as S;
    match state {
        S::PendingProvisioning
        | S::Committing
        | S::WorkflowQueued
        | S::WorkflowRunning
        | S::Deprovisioned => Expect::Nothing,
        S::Active => Expect::Running,
        S::Suspended | S::Parked => Expect::Stopped,
        S::Failed | S::WorkflowFailed => Expect::Failed,
        S::Provisioning
        | S::Scaling
        | S::Suspending
        | S::Resuming
        | S::Parking
        | S::Unparking
        | S::PendingDeprovisioning
        | S::Deprovisioning => Expect::Changing,
    }
}

/// The live reads of one instance.
pub(crate) struct LiveReader<'a> {
    pub cloud: Option<&'a InstanceCloud>,
    pub config: &'a PlatformConfig,
    pub instance: &'a Instance,
    pub ledger: &'a [LedgerEntry],
}

impl LiveReader<'_> {
    /// The cloud to ask, or why it cannot be asked.
    fn cloud(&self) -> Result<&InstanceCloud, String> {
        match self.cloud {
            Some(c) if c.mode == CloudMode::Live => Ok(c),
            Some(c) => Err(format!(
                "the configured cloud creates nothing ({}); configure a live cloud to see it",
                c.describe()
            )),
            None => Err("no cloud is configured for live reads".to_owned()),
        }
    }

    /// The id of a created ledger object of that type.
    fn created(&self, rt: ResourceType) -> Option<&str> {
        created(self.ledger, rt).and_then(|e| e.id.as_deref())
    }

    fn names(&self) -> Names {
        Names::new(&self.instance.resource_key, self.instance.environment)
    }

    /// C6: the service as ECS sees it.
    pub async fn service(&self) -> ServiceView {
        if expect(self.instance.state) == Expect::Nothing
            || (self.created(ResourceType::EcsService).is_none()
                && matches!(
                    self.instance.state,
                    InstanceState::Provisioning
                        | InstanceState::Failed
                        | InstanceState::WorkflowFailed
                ))
        {
            return ServiceView::NotProvisioned;
        }
        let cloud = match self.cloud() {
            Ok(c) => c,
            Err(why) => return ServiceView::Unknown(why),
        };
        match cloud
            .compute
            .describe_service(&self.config.cluster, &self.names().ecs_service)
            .await
        {
            Ok(Some(s)) => ServiceView::Found(s),
            Ok(None) => ServiceView::Missing,
            Err(e) => ServiceView::Unknown(e.to_string()),
        }
    }

    /// C17: every component, and the verdict.
    pub async fn health(&self) -> (HealthStatus, BTreeMap<Component, ComponentHealth>) {
        let state = self.instance.state;
        let mode = expect(state);
        let mut components = BTreeMap::new();
        if mode == Expect::Nothing {
            let why = if state == InstanceState::Deprovisioned {
                "the instance is DEPROVISIONED: its resources are deleted".to_owned()
            } else {
                format!("the instance is {state}: nothing is provisioned yet")
            };
            for c in Component::ALL {
                components.insert(
                    c,
                    ComponentHealth::new(ComponentStatus::NotApplicable, why.clone(), None),
                );
            }
            return (HealthStatus::Unknown, components);
        }
        let service = self.service().await;
        components.insert(Component::Ecs, self.ecs(mode, &service));
        components.insert(Component::Targets, self.targets(mode, &service).await);
        components.insert(Component::Efs, self.efs(mode).await);
        components.insert(Component::Database, self.database(mode).await);
        components.insert(Component::Cognito, self.cognito(mode).await);
        let statuses: Vec<ComponentStatus> = components.values().map(|c| c.status).collect();
        let verdict = if mode == Expect::Failed || statuses.contains(&ComponentStatus::Unhealthy) {
            HealthStatus::Unhealthy
        } else if mode == Expect::Changing
            || statuses.contains(&ComponentStatus::Unknown)
            || !statuses.contains(&ComponentStatus::Healthy)
        {
            HealthStatus::Unknown
        } else {
            HealthStatus::Healthy
        };
        (verdict, components)
    }

    /// A component that should exist in the state but is not in the ledger.
    fn not_created(mode: Expect, what: &str) -> ComponentHealth {
        match mode {
            Expect::Running | Expect::Stopped => ComponentHealth::new(
                ComponentStatus::Unhealthy,
                format!("the instance has no {what} on record"),
                None,
            ),
            _ => ComponentHealth::new(
                ComponentStatus::NotApplicable,
                format!("no {what} has been created"),
                None,
            ),
        }
    }

    /// An observation, as unknown while the instance changes state.
    fn seen(mode: Expect, state: InstanceState, c: ComponentHealth) -> ComponentHealth {
        if mode == Expect::Changing && c.status != ComponentStatus::Unknown {
            ComponentHealth {
                status: ComponentStatus::Unknown,
                reason: format!("{state} in progress: {}", c.reason),
                ..c
            }
        } else {
            c
        }
    }

    fn ecs(&self, mode: Expect, service: &ServiceView) -> ComponentHealth {
        let name = self.names().ecs_service;
        let state = self.instance.state;
        let c = match service {
            ServiceView::NotProvisioned => return Self::not_created(mode, "ECS service"),
            ServiceView::Unknown(why) => {
                ComponentHealth::new(ComponentStatus::Unknown, why.clone(), Some(&name))
            }
            ServiceView::Missing => ComponentHealth::new(
                ComponentStatus::Unhealthy,
                "the ECS service does not exist",
                Some(&name),
            ),
            ServiceView::Found(s) => {
                let rollout = s
                    .primary()
                    .and_then(|d| d.rollout_state.clone())
                    .unwrap_or_else(|| "no rollout state".to_owned());
                let seen = format!(
                    "{} of {} tasks running, {} pending; {} deployment(s), primary {rollout}",
                    s.running_count,
                    s.desired_count,
                    s.pending_count,
                    s.deployments.len()
                );
                let ok = if mode == Expect::Stopped {
                    s.desired_count == 0 && s.running_count == 0
                } else {
                    s.desired_count > 0
                        && s.running_count == s.desired_count
                        && s.rollout_completed()
                };
                let status = if ok {
                    ComponentStatus::Healthy
                } else {
                    ComponentStatus::Unhealthy
                };
                let reason = if mode == Expect::Stopped {
                    format!("{state}: {seen}")
                } else {
                    seen
                };
                ComponentHealth::new(status, reason, Some(&s.arn))
            }
        };
        Self::seen(mode, state, c)
    }

    async fn targets(&self, mode: Expect, service: &ServiceView) -> ComponentHealth {
        let state = self.instance.state;
        if mode == Expect::Stopped {
            return ComponentHealth::new(
                ComponentStatus::NotApplicable,
                format!("no tasks run while {state}"),
                self.created(ResourceType::TargetGroup),
            );
        }
        let Some(arn) = self.created(ResourceType::TargetGroup) else {
            return Self::not_created(mode, "target group");
        };
        let cloud = match self.cloud() {
            Ok(c) => c,
            Err(why) => return ComponentHealth::new(ComponentStatus::Unknown, why, Some(arn)),
        };
        let c = match cloud.load_balancer.target_health(arn).await {
            Err(e) => ComponentHealth::new(ComponentStatus::Unknown, e.to_string(), Some(arn)),
            Ok(None) => ComponentHealth::new(
                ComponentStatus::Unhealthy,
                "the target group does not exist",
                Some(arn),
            ),
            Ok(Some(targets)) => {
                let want = match service {
                    ServiceView::Found(s) => s.desired_count.max(1),
                    _ => 1,
                };
                target_verdict(&targets, want, arn)
            }
        };
        Self::seen(mode, state, c)
    }

    async fn efs(&self, mode: Expect) -> ComponentHealth {
        let Some(id) = self.created(ResourceType::EfsAccessPoint) else {
            return Self::not_created(mode, "EFS access point");
        };
        let c = self
            .exists(id, |cloud| async move {
                cloud.files.access_point_state(id).await.map(|s| {
                    s.map(|s| {
                        if s == "available" {
                            (true, "the access point is available".to_owned())
                        } else {
                            (false, format!("the access point is {s}"))
                        }
                    })
                })
            })
            .await;
        Self::seen(mode, self.instance.state, c)
    }

    async fn database(&self, mode: Expect) -> ComponentHealth {
        let Some(db) = self.created(ResourceType::Database) else {
            return Self::not_created(mode, "database");
        };
        let c = self
            .exists(db, |cloud| async move {
                cloud.database.find_database(db).await.map(|found| {
                    found.map(|_| (true, "the database exists on the shared MySQL".to_owned()))
                })
            })
            .await;
        Self::seen(mode, self.instance.state, c)
    }

    async fn cognito(&self, mode: Expect) -> ComponentHealth {
        let Some(pool) = self.created(ResourceType::CognitoPool) else {
            return Self::not_created(mode, "Cognito user pool");
        };
        let name = self.names().user_pool;
        let name = name.as_str();
        let c = self
            .exists(pool, |cloud| async move {
                cloud.identity.find_user_pool(name).await.map(|found| {
                    found.map(|p| {
                        if p.id == pool {
                            (true, "the user pool exists".to_owned())
                        } else {
                            (
                                false,
                                format!("the pool named {name} is {}, not {pool}", p.id),
                            )
                        }
                    })
                })
            })
            .await;
        Self::seen(mode, self.instance.state, c)
    }

    /// Asks `f` whether `resource` exists and is fine: `Some((ok, what))`, `None` = missing.
    async fn exists<'s, F, Fut>(&'s self, resource: &str, f: F) -> ComponentHealth
    where
        F: FnOnce(&'s InstanceCloud) -> Fut,
        Fut: std::future::Future<Output = Result<Option<(bool, String)>, CloudError>>,
    {
        let cloud = match self.cloud() {
            Ok(c) => c,
            Err(why) => return ComponentHealth::new(ComponentStatus::Unknown, why, Some(resource)),
        };
        match f(cloud).await {
            Ok(Some((true, what))) => {
                ComponentHealth::new(ComponentStatus::Healthy, what, Some(resource))
            }
            Ok(Some((false, what))) => {
                ComponentHealth::new(ComponentStatus::Unhealthy, what, Some(resource))
            }
            Ok(None) => ComponentHealth::new(
                ComponentStatus::Unhealthy,
                "it does not exist",
                Some(resource),
            ),
            Err(e) => ComponentHealth::new(ComponentStatus::Unknown, e.to_string(), Some(resource)),
        }
    }
}

/// Every registered target healthy, and at least `want` of them.
fn target_verdict(targets: &[TargetHealth], want: u32, arn: &str) -> ComponentHealth {
    let healthy = targets.iter().filter(|t| t.state == "healthy").count();
    let enough = u32::try_from(healthy).unwrap_or(u32::MAX) >= want;
    let mut reason = format!("{healthy} of {} targets healthy", targets.len());
    if let Some(t) = targets.iter().find(|t| t.state != "healthy") {
        let _ = write!(
            reason,
            "; {} is {}{}",
            t.id,
            t.state,
            t.reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        );
    } else if !enough {
        let _ = write!(reason, " (want {want})");
    }
    let status = if healthy == targets.len() && enough {
        ComponentStatus::Healthy
    } else {
        ComponentStatus::Unhealthy
    };
    ComponentHealth::new(status, reason, Some(arn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(id: &str, state: &str) -> TargetHealth {
        TargetHealth {
            id: id.to_owned(),
            port: Some(80),
            state: state.to_owned(),
            reason: (state != "healthy").then(|| "Target.FailedHealthChecks".to_owned()),
        }
    }

    #[test]
    fn targets_are_healthy_only_when_all_are_and_enough_are_registered() {
        let two = [target("10.0.0.1", "healthy"), target("10.0.0.2", "healthy")];
        assert_eq!(
            target_verdict(&two, 2, "tg").status,
            ComponentStatus::Healthy
        );
        assert_eq!(
            target_verdict(&two[..1], 2, "tg").status,
            ComponentStatus::Unhealthy
        );
        let mixed = [
            target("10.0.0.1", "healthy"),
            target("10.0.0.2", "unhealthy"),
        ];
        let v = target_verdict(&mixed, 2, "tg");
        assert_eq!(v.status, ComponentStatus::Unhealthy);
        assert!(v.reason.contains("10.0.0.2 is unhealthy"), "{}", v.reason);
        assert_eq!(
            target_verdict(&[], 1, "tg").status,
            ComponentStatus::Unhealthy
        );
    }

    #[test]
    fn every_state_has_an_expectation() {
        assert_eq!(expect(InstanceState::Active), Expect::Running);
        assert_eq!(expect(InstanceState::Suspended), Expect::Stopped);
        assert_eq!(expect(InstanceState::Parked), Expect::Stopped);
        assert_eq!(expect(InstanceState::Deprovisioned), Expect::Nothing);
        assert_eq!(expect(InstanceState::Failed), Expect::Failed);
        assert_eq!(expect(InstanceState::Scaling), Expect::Changing);
    }
}
