//! The tenant's Terraform for the `GitOps` variant (digest 2.7 §9.3–§9.5, C21): the files of
//! `tenants/{key}/` in the per-environment repository and the tenant's deploy workflow, rendered
//! from the instance record, its ledger and the platform configuration.
//!
//! The output is deterministic (same inputs, same bytes): files in path order, variables and tags
//! sorted. The resource names are the direct path's ([`Names`]), computed in `main.tf` from
//! `tenant_name` and `environment` with the same patterns, so a tenant can move between the
//! direct engine and Terraform with `terraform import`. The listener-rule priority is the one the
//! engine reserved (the ledger's `ALB_PRIORITY`); before provisioning it is `null`, which lets
//! the load balancer pick the next free one. Modules are referenced, not rendered.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::tenant::Environment;

use super::ledger::{LedgerEntry, ResourceType, created};
use super::model::Instance;
use super::naming::{Component, Names, PlatformConfig, tags};

/// The Terraform version the workflow installs and `providers.tf` requires.
pub const TERRAFORM_VERSION: &str = "1.5.7";

/// The module every tenant folder calls, relative to `tenants/{key}/`.
pub const MODULE_SOURCE: &str = "../../modules/wordpress-instance";

/// The rendered files, by path relative to the repository root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerraformFiles {
    /// The instance's resource key: the `tenants/{key}/` folder and `tenant_name`.
    pub resource_key: String,
    pub files: BTreeMap<String, String>,
}

/// The name patterns of [`Names`], as Terraform expressions over `var.tenant_name` (the
/// resource key) and `var.environment`; `(local name, expression)`.
pub const NAME_PATTERNS: [(&str, &str); 12] = [
    ("ecs_service_name", "tenant-${var.tenant_name}-wordpress"),
    ("task_family", "tenant-${var.tenant_name}-wordpress"),
    ("access_point_name", "tenant-${var.tenant_name}-wp-content"),
    ("root_directory", "/tenant-${var.tenant_name}"),
    ("database_name", "tenant_${var.tenant_name}_db"),
    ("db_user", "t_${var.tenant_name}_user"),
    (
        "db_secret_name",
        "bbws/${var.environment}/tenant-${var.tenant_name}/db",
    ),
    ("target_group_name", "bbws-${var.tenant_name}-tg"),
    ("user_pool_name", "bbws-tenant-${var.tenant_name}-user-pool"),
    ("app_client_name", "bbws-tenant-${var.tenant_name}-client"),
    (
        "cognito_domain",
        "bbws-${var.tenant_name}-${var.environment}",
    ),
    (
        "cognito_secret_name",
        "bbws/${var.environment}/tenant-${var.tenant_name}/cognito",
    ),
];

/// The value of each [`NAME_PATTERNS`] entry in [`Names`].
pub fn direct_name<'n>(names: &'n Names, local: &str) -> Option<&'n str> {
    Some(match local {
        "ecs_service_name" => &names.ecs_service,
        "task_family" => &names.task_family,
        "access_point_name" => &names.access_point,
        "root_directory" => &names.root_directory,
        "database_name" => &names.database,
        "db_user" => &names.db_user,
        "db_secret_name" => &names.db_secret,
        "target_group_name" => &names.target_group,
        "user_pool_name" => &names.user_pool,
        "app_client_name" => &names.app_client,
        "cognito_domain" => &names.cognito_domain,
        "cognito_secret_name" => &names.cognito_secret,
        _ => return None,
    })
}

/// An HCL (and YAML double-quoted) string literal: quotes, backslashes, control characters and
/// template sequences escaped, so no value can change the file's structure.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Per-environment health-check values (§9.3: PROD 60 / 3 / 2) and flags (DEV debug and exec
/// on, PROD both off).
struct EnvProfile {
    interval: u32,
    healthy: u32,
    unhealthy: u32,
    debug: bool,
    exec: bool,
}

fn profile(env: Environment) -> EnvProfile {
    match env {
        Environment::Dev => EnvProfile {
            interval: 30,
            healthy: 2,
            unhealthy: 3,
            debug: true,
            exec: true,
        },
        Environment::Sit => EnvProfile {
            interval: 30,
            healthy: 2,
            unhealthy: 3,
            debug: false,
            exec: true,
        },
        Environment::Prod => EnvProfile {
            interval: 60,
            healthy: 3,
            unhealthy: 2,
            debug: false,
            exec: false,
        },
    }
}

/// The priority the engine reserved for the instance's host, if it did.
fn reserved_priority(ledger: &[LedgerEntry]) -> Option<u32> {
    created(ledger, ResourceType::AlbPriority)
        .and_then(|e| e.id.as_deref())
        .and_then(|id| id.parse().ok())
}

/// Renders the tenant's files.
pub fn render(
    instance: &Instance,
    ledger: &[LedgerEntry],
    config: &PlatformConfig,
) -> TerraformFiles {
    let key = instance.resource_key.as_str();
    let dir = format!("tenants/{key}");
    let env = instance.environment.as_str();
    let mut files = BTreeMap::new();
    files.insert(format!("{dir}/main.tf"), main_tf());
    files.insert(format!("{dir}/variables.tf"), VARIABLES_TF.to_owned());
    files.insert(
        format!("{dir}/{env}.tfvars"),
        tfvars(instance, ledger, config),
    );
    files.insert(format!("{dir}/backend.tf"), backend_tf(instance, config));
    files.insert(format!("{dir}/providers.tf"), providers_tf());
    files.insert(format!("{dir}/outputs.tf"), OUTPUTS_TF.to_owned());
    files.insert(
        format!(".github/workflows/deploy-tenant-{key}.yml"),
        workflow(instance, config),
    );
    TerraformFiles {
        resource_key: key.to_owned(),
        files,
    }
}

const HEADER: &str =
    "# Rendered by bbws from the instance record; edit the record, not this file.\n";

fn main_tf() -> String {
    let mut s = String::from(HEADER);
    s.push_str("\n# The names of the direct provisioning path (bbws Names), so resources can be imported.\nlocals {\n");
    let width = NAME_PATTERNS
        .iter()
        .map(|(n, _)| n.len())
        .max()
        .unwrap_or(0);
    for (name, pattern) in NAME_PATTERNS {
        let _ = writeln!(s, "  {name:<width$} = \"{pattern}\"");
    }
    s.push_str("}\n\n");
    let _ = write!(
        s,
        r#"module "wordpress_instance" {{
  source = "{MODULE_SOURCE}"

  tenant_name  = var.tenant_name
  environment  = var.environment
  domain_name  = var.domain_name
  alb_priority = var.alb_priority

  ecs_cluster_name    = var.ecs_cluster_name
  vpc_id              = var.vpc_id
  private_subnet_ids  = var.private_subnet_ids
  security_group_id   = var.security_group_id
  efs_file_system_id  = var.efs_file_system_id
  alb_listener_arn    = var.alb_listener_arn
  execution_role_arn  = var.execution_role_arn
  task_role_arn       = var.task_role_arn
  log_group_name      = var.log_group_name

  wordpress_image = var.wordpress_image
  task_cpu        = var.task_cpu
  task_memory     = var.task_memory
  desired_count   = var.desired_count
  min_capacity    = var.min_capacity
  max_capacity    = var.max_capacity

  health_check_path                = var.health_check_path
  health_check_interval            = var.health_check_interval
  health_check_healthy_threshold   = var.health_check_healthy_threshold
  health_check_unhealthy_threshold = var.health_check_unhealthy_threshold

  wordpress_debug = var.wordpress_debug
  enable_ecs_exec = var.enable_ecs_exec

  service_name        = local.ecs_service_name
  task_family         = local.task_family
  access_point_name   = local.access_point_name
  root_directory      = local.root_directory
  database_name       = local.database_name
  db_user             = local.db_user
  db_secret_name      = local.db_secret_name
  target_group_name   = local.target_group_name
  user_pool_name      = local.user_pool_name
  app_client_name     = local.app_client_name
  cognito_domain      = local.cognito_domain
  cognito_secret_name = local.cognito_secret_name

  tags = var.tags
}}
"#
    );
    s
}

const VARIABLES_TF: &str = r#"# Rendered by bbws from the instance record; edit the record, not this file.

variable "tenant_name" {
  description = "The instance's resource key: every per-tenant name is derived from it."
  type        = string
  validation {
    condition     = can(regex("^[a-z0-9]+$", var.tenant_name))
    error_message = "tenant_name is lower-case letters and digits."
  }
}

variable "environment" {
  type = string
  validation {
    condition     = contains(["dev", "sit", "prod"], var.environment)
    error_message = "environment is dev, sit or prod."
  }
}

variable "domain_name" {
  description = "The host the listener rule routes to the tenant."
  type        = string
}

variable "alb_priority" {
  description = "The listener-rule priority reserved for the host; null lets the load balancer pick."
  type        = number
  default     = null
}

variable "aws_region" {
  type = string
}

variable "ecs_cluster_name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "private_subnet_ids" {
  type = list(string)
}

variable "security_group_id" {
  type = string
}

variable "efs_file_system_id" {
  type = string
}

variable "alb_listener_arn" {
  type = string
}

variable "execution_role_arn" {
  type = string
}

variable "task_role_arn" {
  type = string
}

variable "log_group_name" {
  type = string
}

variable "wordpress_image" {
  type = string
}

variable "task_cpu" {
  type    = number
  default = 256
}

variable "task_memory" {
  type    = number
  default = 512
}

variable "desired_count" {
  type    = number
  default = 1
}

variable "min_capacity" {
  type    = number
  default = 2
}

variable "max_capacity" {
  type    = number
  default = 10
}

variable "health_check_path" {
  type    = string
  default = "/"
}

variable "health_check_interval" {
  type    = number
  default = 30
}

variable "health_check_healthy_threshold" {
  type    = number
  default = 2
}

variable "health_check_unhealthy_threshold" {
  type    = number
  default = 3
}

variable "wordpress_debug" {
  type    = bool
  default = false
}

variable "enable_ecs_exec" {
  type    = bool
  default = true
}

variable "tags" {
  description = "The bbws:* tags of every tenant resource."
  type        = map(string)
  default     = {}
}
"#;

fn tfvars(instance: &Instance, ledger: &[LedgerEntry], config: &PlatformConfig) -> String {
    let p = profile(instance.environment);
    let subnets: Vec<String> = config.private_subnets.iter().map(|s| quoted(s)).collect();
    let priority = reserved_priority(ledger).map_or_else(|| "null".to_owned(), |p| p.to_string());
    let rows: Vec<(&str, String)> = vec![
        ("tenant_name", quoted(instance.resource_key.as_str())),
        ("environment", quoted(instance.environment.as_str())),
        ("domain_name", quoted(&instance.domain)),
        ("alb_priority", priority),
        ("aws_region", quoted(&config.region)),
        ("ecs_cluster_name", quoted(&config.cluster)),
        ("vpc_id", quoted(&config.vpc_id)),
        ("private_subnet_ids", format!("[{}]", subnets.join(", "))),
        ("security_group_id", quoted(&config.task_security_group)),
        ("efs_file_system_id", quoted(&config.efs_file_system_id)),
        ("alb_listener_arn", quoted(&config.listener_arn)),
        ("execution_role_arn", quoted(&config.execution_role_arn)),
        ("task_role_arn", quoted(&config.task_role_arn)),
        ("log_group_name", quoted(&config.log_group)),
        (
            "wordpress_image",
            quoted(&instance.image(&config.image_repository)),
        ),
        ("task_cpu", instance.task_size.cpu().to_string()),
        ("task_memory", instance.task_size.memory().to_string()),
        ("desired_count", instance.desired_count.get().to_string()),
        ("min_capacity", config.min_tasks.to_string()),
        ("max_capacity", config.max_tasks.to_string()),
        ("health_check_path", quoted("/")),
        ("health_check_interval", p.interval.to_string()),
        ("health_check_healthy_threshold", p.healthy.to_string()),
        ("health_check_unhealthy_threshold", p.unhealthy.to_string()),
        ("wordpress_debug", p.debug.to_string()),
        ("enable_ecs_exec", p.exec.to_string()),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut s = String::from(HEADER);
    let _ = writeln!(
        s,
        "# Instance {} of tenant {}.",
        instance.id, instance.tenant_id
    );
    for (k, v) in &rows {
        let _ = writeln!(s, "{k:<width$} = {v}");
    }
    s.push_str("\ntags = {\n");
    let tags = tags(instance, Component::Wordpress);
    let width = tags.keys().map(|k| k.len() + 2).max().unwrap_or(0);
    for (k, v) in &tags {
        let _ = writeln!(s, "  {:<width$} = {}", quoted(k), quoted(v));
    }
    s.push_str("}\n");
    s
}

/// The state bucket and lock table of an environment (§9.4).
fn state_location(env: Environment) -> (String, String) {
    let e = env.as_str();
    (
        format!("bbws-terraform-state-{e}"),
        format!("bbws-terraform-locks-{e}"),
    )
}

fn backend_tf(instance: &Instance, config: &PlatformConfig) -> String {
    let (bucket, table) = state_location(instance.environment);
    format!(
        r#"{HEADER}
terraform {{
  backend "s3" {{
    bucket         = {bucket}
    key            = {key}
    region         = {region}
    dynamodb_table = {table}
    encrypt        = true
  }}
}}
"#,
        bucket = quoted(&bucket),
        key = quoted(&format!(
            "tenants/{}/terraform.tfstate",
            instance.resource_key
        )),
        region = quoted(&config.region),
        table = quoted(&table),
    )
}

fn providers_tf() -> String {
    format!(
        r#"{HEADER}
terraform {{
  required_version = ">= {TERRAFORM_VERSION}"
  required_providers {{
    aws = {{
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }}
  }}
}}

provider "aws" {{
  region = var.aws_region
  default_tags {{
    tags = {{
      Project     = "BBWS"
      Tenant      = var.tenant_name
      Environment = var.environment
      ManagedBy   = "Terraform"
    }}
  }}
}}
"#
    )
}

const OUTPUTS_TF: &str = r#"# Rendered by bbws from the instance record; edit the record, not this file.

output "service_name" {
  value = module.wordpress_instance.service_name
}

output "task_definition_arn" {
  value = module.wordpress_instance.task_definition_arn
}

output "db_secret_arn" {
  value = module.wordpress_instance.db_secret_arn
}

output "db_name" {
  value = module.wordpress_instance.db_name
}

output "efs_access_point_id" {
  value = module.wordpress_instance.efs_access_point_id
}

output "target_group_arn" {
  value = module.wordpress_instance.target_group_arn
}

output "listener_rule_arn" {
  value = module.wordpress_instance.listener_rule_arn
}

output "listener_rule_priority" {
  value = module.wordpress_instance.listener_rule_priority
}

output "cognito_user_pool_id" {
  value = module.wordpress_instance.cognito_user_pool_id
}

output "tenant_url" {
  value = "https://${var.domain_name}"
}
"#;

/// The tenant's deploy workflow (§9.4, with the digest's fixes: a plan without
/// `-auto-approve`, the var file, OIDC permissions).
fn workflow(instance: &Instance, config: &PlatformConfig) -> String {
    let key = instance.resource_key.as_str();
    let env = instance.environment.as_str();
    format!(
        r#"{HEADER}name: Deploy tenant {key}

on:
  workflow_dispatch:
    inputs:
      action:
        description: "plan, apply or destroy"
        required: true
        type: choice
        options: [plan, apply, destroy]

permissions:
  id-token: write
  contents: read

concurrency:
  group: tenant-{key}
  cancel-in-progress: false

jobs:
  deploy:
    runs-on: ubuntu-latest
    environment: {env}
    defaults:
      run:
        working-directory: tenants/{key}
    steps:
      - uses: actions/checkout@v4
      - uses: aws-actions/configure-aws-credentials@v4
        with:
          role-to-assume: ${{{{ secrets.AWS_ROLE_ARN }}}}
          aws-region: {region}
      - uses: hashicorp/setup-terraform@v3
        with:
          terraform_version: {TERRAFORM_VERSION}
      - run: terraform init -input=false
      - if: inputs.action == 'plan'
        run: terraform plan -input=false -var-file={env}.tfvars
      - if: inputs.action == 'apply'
        run: terraform apply -input=false -auto-approve -var-file={env}.tfvars
      - if: inputs.action == 'destroy'
        run: terraform destroy -input=false -auto-approve -var-file={env}.tfvars
"#,
        region = config.region,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_cannot_break_out_of_their_literal() {
        assert_eq!(quoted(r#"a"b\c"#), r#""a\"b\\c""#);
        assert_eq!(quoted("${var.x} %{if}"), r#""$${var.x} %%{if}""#);
        assert_eq!(quoted("line\nnext"), r#""line\nnext""#);
        assert_eq!(quoted("$5 and 100%"), r#""$5 and 100%""#);
    }
}
