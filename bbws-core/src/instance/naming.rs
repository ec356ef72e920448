//! Deterministic names (digest 2.7 §4.2 REC column), the unified tags (§4.3) and the shared
//! platform inputs (§4.1, §10.4) the provisioner needs.

use std::time::Duration;

use crate::tenant::Environment;

use super::model::Instance;
use super::ports::Tags;
use super::values::ResourceKey;

/// Every per-tenant name, derived from the resource key and the environment only, so a retry, a
/// resumed run and the `GitOps` renderer all arrive at the same names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub ecs_service: String,
    pub task_family: String,
    pub access_point: String,
    pub root_directory: String,
    pub database: String,
    pub db_user: String,
    pub db_secret: String,
    pub target_group: String,
    pub user_pool: String,
    pub app_client: String,
    pub cognito_domain: String,
    pub cognito_secret: String,
    pub log_stream_prefix: String,
    pub cpu_policy: String,
    pub memory_policy: String,
}

impl Names {
    pub fn new(key: &ResourceKey, env: Environment) -> Self {
        let k = key.as_str();
        let e = env.as_str();
        Self {
            ecs_service: format!("tenant-{k}-wordpress"),
            task_family: format!("tenant-{k}-wordpress"),
            access_point: format!("tenant-{k}-wp-content"),
            root_directory: format!("/tenant-{k}"),
            database: format!("tenant_{k}_db"),
            db_user: format!("t_{k}_user"),
            db_secret: format!("bbws/{e}/tenant-{k}/db"),
            target_group: format!("bbws-{k}-tg"),
            user_pool: format!("bbws-tenant-{k}-user-pool"),
            app_client: format!("bbws-tenant-{k}-client"),
            cognito_domain: format!("bbws-{k}-{e}"),
            cognito_secret: format!("bbws/{e}/tenant-{k}/cognito"),
            log_stream_prefix: k.to_owned(),
            cpu_policy: format!("{k}-cpu-scaling"),
            memory_policy: format!("{k}-memory-scaling"),
        }
    }
}

/// `bbws:component` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Component {
    Wordpress,
    Efs,
    Alb,
    Cognito,
    Secrets,
    Archive,
}

impl Component {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Wordpress => "wordpress",
            Self::Efs => "efs",
            Self::Alb => "alb",
            Self::Cognito => "cognito",
            Self::Secrets => "secrets",
            Self::Archive => "archive",
        }
    }
}

pub const TAG_TENANT: &str = "bbws:tenant-id";
pub const TAG_PROJECT: &str = "bbws:project";
pub const TAG_COST_CENTER: &str = "bbws:cost-center";
pub const TAG_OPPORTUNITY: &str = "bbws:opportunity";
pub const TAG_MANAGED_BY: &str = "bbws:managed-by";
pub const TAG_ENVIRONMENT: &str = "bbws:environment";
pub const TAG_COMPONENT: &str = "bbws:component";

/// The unified tags of §4.3 for one resource. `bbws:opportunity` is omitted when there is none
/// (never sent empty).
pub fn tags(instance: &Instance, component: Component) -> Tags {
    let mut t = Tags::new();
    t.insert(TAG_TENANT.into(), instance.tenant_id.to_string());
    t.insert(TAG_PROJECT.into(), "BBWS-Phase-2.1-ECS".into());
    t.insert(TAG_COST_CENTER.into(), "BBWS-AWS".into());
    if let Some(o) = &instance.opportunity {
        t.insert(TAG_OPPORTUNITY.into(), o.as_str().into());
    }
    t.insert(TAG_MANAGED_BY.into(), "instance-management".into());
    t.insert(
        TAG_ENVIRONMENT.into(),
        instance.environment.as_str().to_owned(),
    );
    t.insert(TAG_COMPONENT.into(), component.as_str().into());
    t
}

/// Retries of one cloud call (LLD §15.2: 3 attempts, 1 s initial, factor 2, 60 s cap).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub initial: Duration,
    pub max: Duration,
    pub factor: u32,
}

impl RetryPolicy {
    /// The wait before attempt `n + 1` after `n` failed attempts (`n` ≥ 1).
    pub fn delay(&self, failed_attempts: u32) -> Duration {
        let exp = failed_attempts.saturating_sub(1).min(16);
        self.initial
            .saturating_mul(self.factor.saturating_pow(exp))
            .min(self.max)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            initial: Duration::from_secs(1),
            max: Duration::from_mins(1),
            factor: 2,
        }
    }
}

/// The shared ("once-off") platform inputs and the engine's budgets. Passed as configuration
/// (env vars in Lambda), never looked up by tag at run time (§4.1 REC).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlatformConfig {
    pub environment: Environment,
    pub region: String,
    pub cluster: String,
    pub vpc_id: String,
    pub private_subnets: Vec<String>,
    pub task_security_group: String,
    pub efs_file_system_id: String,
    pub rds_endpoint: String,
    pub listener_arn: String,
    pub domain_suffix: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub image_repository: String,
    pub log_group: String,
    pub archive_bucket: String,
    pub archive_retention_days: u32,
    pub min_tasks: u32,
    pub max_tasks: u32,
    pub retry: RetryPolicy,
    /// How often the health wait looks (CON: 15 s) and how long it waits in all (600 s).
    pub health_interval: Duration,
    pub health_budget: Duration,
}

impl PlatformConfig {
    /// The LLD/TF defaults for an environment; the ids of shared resources are placeholders a
    /// deployment overrides.
    pub fn defaults(environment: Environment) -> Self {
        let e = environment.as_str();
        let (region, suffix) = match environment {
            Environment::Dev => ("eu-west-1", "wpdev.kimmyai.io"),
            Environment::Sit => ("eu-west-1", "wpsit.kimmyai.io"),
            Environment::Prod => ("af-south-1", "wp.kimmyai.io"),
        };
        Self {
            environment,
            region: region.to_owned(),
            cluster: format!("{e}-cluster"),
            vpc_id: format!("{e}-vpc"),
            private_subnets: vec![format!("{e}-private-a"), format!("{e}-private-b")],
            task_security_group: format!("{e}-ecs-tasks-sg"),
            efs_file_system_id: format!("{e}-efs"),
            rds_endpoint: format!("{e}-mysql.internal"),
            listener_arn: format!("{e}-alb-listener"),
            domain_suffix: suffix.to_owned(),
            execution_role_arn: format!("{e}-ecs-task-execution-role"),
            task_role_arn: format!("{e}-ecs-task-role"),
            image_repository: format!("{e}-wordpress"),
            log_group: format!("/ecs/{e}"),
            archive_bucket: format!("bbws-archives-{e}"),
            archive_retention_days: 90,
            min_tasks: if environment == Environment::Dev {
                1
            } else {
                2
            },
            max_tasks: 10,
            retry: RetryPolicy::default(),
            health_interval: Duration::from_secs(15),
            health_budget: Duration::from_mins(10),
        }
    }

    /// The timeout of one cloud call in a step (LLD §4.1).
    pub fn step_timeout(step: super::operation::StepName) -> Duration {
        use super::operation::StepName as S;
        Duration::from_secs(match step {
            S::EfsAccessPoint
            | S::LoadBalancer
            | S::TaskDefinition
            | S::Autoscaling
            | S::PauseAutoscaling
            | S::ResumeAutoscaling
            | S::UpdateDesiredCount
            | S::ForceDeployment
            | S::StopService
            | S::StartService
            | S::ConfigurePasswordPolicy
            | S::ConfigureMfa
            | S::RegisterRevision
            | S::DeployRevision => 60,
            // The suspend drain (LLD §5: waiter 10 s × 12) among them.
            S::Cognito | S::Database | S::DeleteResources | S::WaitDrained => 120,
            S::ArchiveDatabase
            | S::ArchiveFiles
            | S::BackupDatabase
            | S::BackupFiles
            | S::RestoreDatabase
            | S::RestoreFiles => 300,
            S::Service | S::HealthWait | S::WaitDeployment => 600,
            S::DbSecret | S::Finalise | S::FinaliseDeprovision => 30,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_aws_and_mysql_limits_for_the_longest_key() {
        let key = ResourceKey::parse(&"k".repeat(ResourceKey::MAX_LEN)).expect("valid key");
        let n = Names::new(&key, Environment::Prod);
        assert!(n.target_group.len() <= 32, "{}", n.target_group);
        assert!(n.db_user.len() <= 32, "{}", n.db_user);
        assert!(n.database.len() <= 64, "{}", n.database);
        assert!(n.cognito_domain.len() <= 63, "{}", n.cognito_domain);
        assert!(n.ecs_service.len() <= 255);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(2), Duration::from_secs(2));
        assert_eq!(p.delay(3), Duration::from_secs(4));
        assert_eq!(p.delay(10), Duration::from_mins(1));
    }
}
