//! The live cloud's configuration, from the environment (digest 2.7 §4.1, §10.4).
//!
//! | Variable | Meaning | Default |
//! |---|---|---|
//! | `VPC_ID` | the VPC of the tenant target groups | **required** |
//! | `PRIVATE_SUBNET_IDS` | comma-separated subnets of the tasks | **required** |
//! | `ECS_TASK_SG_ID` | the tasks' security group | **required** |
//! | `EFS_FILE_SYSTEM_ID` | the shared file system | **required** |
//! | `ALB_LISTENER_ARN` | the listener the host rules go on | **required** |
//! | `ECS_EXECUTION_ROLE_ARN`, `ECS_TASK_ROLE_ARN` | the task roles | **required** |
//! | `WORDPRESS_IMAGE_REPO` | the WordPress image repository (tag = the WordPress version) | **required** |
//! | `EFS_ADMIN_TASK_DEF` | the one-off task (root EFS mount at `/mnt/efs`, `sh`, `tar`, the AWS CLI) that purges and archives tenant directories | **required** |
//! | `ECS_CLUSTER` | the cluster | `{env}-cluster` |
//! | `AWS_REGION` | the region (log configuration) | the platform's for `{env}` |
//! | `RDS_ENDPOINT` | `host[:port]` of the shared MySQL | looked up with `DescribeDBInstances(RDS_INSTANCE_ID)` |
//! | `RDS_INSTANCE_ID` | the shared DB instance | `{env}-mysql` |
//! | `RDS_MASTER_SECRET_ID` | the master credentials secret (`{"username","password"}`) | `{env}-rds-master-credentials` |
//! | `RDS_TLS` | `required` or `disabled` | `required` |
//! | `RDS_CA_BUNDLE` | a PEM file of extra roots (the RDS CA bundle) | the web PKI roots |
//! | `DOMAIN_SUFFIX` | tenant hosts are `{key}.{suffix}` | the platform's for `{env}` |
//! | `LOG_GROUP` | the tasks' log group | `/ecs/{env}` |
//! | `ARCHIVE_BUCKET` | the archive bucket | `bbws-archives-{env}` |
//! | `ARCHIVE_RETENTION_DAYS` | archive retention | `90` |
//! | `MIN_TASKS`, `MAX_TASKS` | auto scaling range | `2` (dev `1`), `10` |
//! | `HEALTH_INTERVAL_SECONDS`, `HEALTH_BUDGET_SECONDS` | the health wait | `15`, `600` |

use std::path::PathBuf;
use std::time::Duration;

use bbws_core::Error;
use bbws_core::instance::PlatformConfig;
use bbws_core::tenant::Environment;

/// How the MySQL admin connection is secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTls {
    /// TLS with the web PKI roots plus, when given, the roots of a PEM bundle.
    Required { ca_bundle: Option<PathBuf> },
    /// Plain TCP (a local test server only).
    Disabled,
}

/// Where the shared MySQL is and how to log in as its administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseSettings {
    /// `host[:port]`; `None` = `DescribeDBInstances(instance_id)`.
    pub endpoint: Option<String>,
    pub instance_id: String,
    pub master_secret_id: String,
    pub tls: DbTls,
}

/// Everything the live cloud needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudSettings {
    pub platform: PlatformConfig,
    pub database: DatabaseSettings,
    /// The one-off task definition of purges and file archives.
    pub efs_admin_task_definition: String,
}

fn config_error(msg: String) -> Error {
    Error::field("configuration", msg)
}

impl CloudSettings {
    /// Every variable this module reads.
    pub const VARIABLES: [&'static str; 25] = [
        "VPC_ID",
        "PRIVATE_SUBNET_IDS",
        "ECS_TASK_SG_ID",
        "EFS_FILE_SYSTEM_ID",
        "ALB_LISTENER_ARN",
        "ECS_EXECUTION_ROLE_ARN",
        "ECS_TASK_ROLE_ARN",
        "WORDPRESS_IMAGE_REPO",
        "EFS_ADMIN_TASK_DEF",
        "ECS_CLUSTER",
        "AWS_REGION",
        "RDS_ENDPOINT",
        "RDS_INSTANCE_ID",
        "RDS_MASTER_SECRET_ID",
        "RDS_TLS",
        "RDS_CA_BUNDLE",
        "DOMAIN_SUFFIX",
        "LOG_GROUP",
        "ARCHIVE_BUCKET",
        "ARCHIVE_RETENTION_DAYS",
        "MIN_TASKS",
        "MAX_TASKS",
        "HEALTH_INTERVAL_SECONDS",
        "HEALTH_BUDGET_SECONDS",
        "ENVIRONMENT",
    ];

    /// The settings the variables describe; every missing required variable is named in one
    /// `VALIDATION_ERROR`.
    pub fn from_lookup(
        env: Environment,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, Error> {
        let var = |k: &str| {
            var(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let required = [
            "VPC_ID",
            "PRIVATE_SUBNET_IDS",
            "ECS_TASK_SG_ID",
            "EFS_FILE_SYSTEM_ID",
            "ALB_LISTENER_ARN",
            "ECS_EXECUTION_ROLE_ARN",
            "ECS_TASK_ROLE_ARN",
            "WORDPRESS_IMAGE_REPO",
            "EFS_ADMIN_TASK_DEF",
        ];
        let missing: Vec<&str> = required
            .iter()
            .copied()
            .filter(|k| var(k).is_none())
            .collect();
        if !missing.is_empty() {
            return Err(config_error(format!(
                "The live instance cloud needs {} (see bbws_aws::cloud::settings)",
                missing.join(", ")
            )));
        }
        let req = |k: &str| var(k).unwrap_or_default();
        let number = |k: &str, default: u64| -> Result<u64, Error> {
            match var(k) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .map_err(|_| config_error(format!("{k} must be a whole number, got '{v}'"))),
            }
        };
        let small = |k: &str, default: u32| -> Result<u32, Error> {
            u32::try_from(number(k, u64::from(default))?)
                .map_err(|_| config_error(format!("{k} is too large")))
        };
        let d = PlatformConfig::defaults(env);
        let subnets: Vec<String> = req("PRIVATE_SUBNET_IDS")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        let database = DatabaseSettings {
            endpoint: var("RDS_ENDPOINT"),
            instance_id: var("RDS_INSTANCE_ID").unwrap_or_else(|| format!("{env}-mysql")),
            master_secret_id: var("RDS_MASTER_SECRET_ID")
                .unwrap_or_else(|| format!("{env}-rds-master-credentials")),
            tls: match var("RDS_TLS")
                .as_deref()
                .map(str::to_ascii_lowercase)
                .as_deref()
            {
                None | Some("required") => DbTls::Required {
                    ca_bundle: var("RDS_CA_BUNDLE").map(PathBuf::from),
                },
                Some("disabled") => DbTls::Disabled,
                Some(other) => {
                    return Err(config_error(format!(
                        "RDS_TLS must be 'required' or 'disabled', got '{other}'"
                    )));
                }
            },
        };
        let min_tasks = small("MIN_TASKS", d.min_tasks)?;
        let max_tasks = small("MAX_TASKS", d.max_tasks)?;
        if min_tasks == 0 || min_tasks > max_tasks {
            return Err(config_error(format!(
                "MIN_TASKS ({min_tasks}) must be at least 1 and at most MAX_TASKS ({max_tasks})"
            )));
        }
        let platform = PlatformConfig {
            environment: env,
            region: var("AWS_REGION").unwrap_or(d.region),
            cluster: var("ECS_CLUSTER").unwrap_or(d.cluster),
            vpc_id: req("VPC_ID"),
            private_subnets: subnets,
            task_security_group: req("ECS_TASK_SG_ID"),
            efs_file_system_id: req("EFS_FILE_SYSTEM_ID"),
            // Empty when looked up: the task definition adapter fills the host in.
            rds_endpoint: database
                .endpoint
                .as_deref()
                .map(|e| e.split(':').next().unwrap_or(e).to_owned())
                .unwrap_or_default(),
            listener_arn: req("ALB_LISTENER_ARN"),
            domain_suffix: var("DOMAIN_SUFFIX").unwrap_or(d.domain_suffix),
            execution_role_arn: req("ECS_EXECUTION_ROLE_ARN"),
            task_role_arn: req("ECS_TASK_ROLE_ARN"),
            image_repository: req("WORDPRESS_IMAGE_REPO"),
            log_group: var("LOG_GROUP").unwrap_or(d.log_group),
            archive_bucket: var("ARCHIVE_BUCKET").unwrap_or(d.archive_bucket),
            archive_retention_days: small("ARCHIVE_RETENTION_DAYS", d.archive_retention_days)?,
            min_tasks,
            max_tasks,
            retry: d.retry,
            health_interval: Duration::from_secs(number(
                "HEALTH_INTERVAL_SECONDS",
                d.health_interval.as_secs(),
            )?),
            health_budget: Duration::from_secs(number(
                "HEALTH_BUDGET_SECONDS",
                d.health_budget.as_secs(),
            )?),
        };
        if platform.private_subnets.is_empty() {
            return Err(config_error(
                "PRIVATE_SUBNET_IDS names no subnet".to_owned(),
            ));
        }
        Ok(Self {
            platform,
            database,
            efs_admin_task_definition: req("EFS_ADMIN_TASK_DEF"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |k| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
    }

    const REQUIRED: [(&str, &str); 9] = [
        ("VPC_ID", "vpc-1"),
        ("PRIVATE_SUBNET_IDS", "subnet-a, subnet-b"),
        ("ECS_TASK_SG_ID", "sg-1"),
        ("EFS_FILE_SYSTEM_ID", "fs-1"),
        ("ALB_LISTENER_ARN", "arn:listener"),
        ("ECS_EXECUTION_ROLE_ARN", "arn:exec"),
        ("ECS_TASK_ROLE_ARN", "arn:task"),
        ("WORDPRESS_IMAGE_REPO", "repo/wordpress"),
        ("EFS_ADMIN_TASK_DEF", "dev-efs-admin"),
    ];

    #[test]
    fn every_missing_required_variable_is_named() {
        let err = CloudSettings::from_lookup(Environment::Dev, env(&[("VPC_ID", "vpc-1")]))
            .expect_err("refused");
        assert_eq!(err.code(), bbws_core::ErrorCode::ValidationError);
        let msg = err.to_string();
        for k in [
            "PRIVATE_SUBNET_IDS",
            "ALB_LISTENER_ARN",
            "EFS_ADMIN_TASK_DEF",
        ] {
            assert!(msg.contains(k), "{msg}");
        }
        assert!(!msg.contains("VPC_ID"), "{msg}");
    }

    #[test]
    fn defaults_follow_the_environment_and_overrides_win() {
        let s = CloudSettings::from_lookup(Environment::Sit, env(&REQUIRED)).expect("valid");
        assert_eq!(s.platform.cluster, "sit-cluster");
        assert_eq!(s.platform.private_subnets, ["subnet-a", "subnet-b"]);
        assert_eq!(s.database.master_secret_id, "sit-rds-master-credentials");
        assert_eq!(s.database.endpoint, None);
        assert_eq!(s.platform.rds_endpoint, "");
        assert!(matches!(
            s.database.tls,
            DbTls::Required { ca_bundle: None }
        ));

        let mut more = REQUIRED.to_vec();
        more.extend([
            ("RDS_ENDPOINT", "db.internal:3307"),
            ("RDS_TLS", "disabled"),
            ("MIN_TASKS", "1"),
        ]);
        let s = CloudSettings::from_lookup(Environment::Prod, env(&more)).expect("valid");
        assert_eq!(s.platform.rds_endpoint, "db.internal");
        assert_eq!(s.database.tls, DbTls::Disabled);
        assert_eq!(s.platform.min_tasks, 1);

        more.push(("MAX_TASKS", "ten"));
        let err = CloudSettings::from_lookup(Environment::Prod, env(&more)).expect_err("bad");
        assert!(err.to_string().contains("MAX_TASKS"), "{err}");
    }
}
