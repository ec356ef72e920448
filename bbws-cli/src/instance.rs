//! `bbws instance ...`: WordPress instances on the store (a data directory or DynamoDB) and its
//! cloud, acting as a platform administrator.
//!
//! `provision` and `deprovision` accept the operation and run it right here with the engine,
//! drawing the steps as they complete. On the local backends the cloud is the plan recorder,
//! which creates nothing: the run is refused, the operation ends FAILED with
//! `CLOUD_UNAVAILABLE`, and the command says so and exits with that code's exit status (10).
//! `plan` prints the exact AWS calls and names a provisioning (or, with `--instance`, a
//! deprovisioning) would make, on every backend.
//!
//! `audit` reconciles the environment's tagged cloud objects and tenant databases with the
//! store (orphans, untracked databases, drift); it exits 1 when it finds any, so cron and
//! scripts can act on the status. Without a live cloud it is refused (`CLOUD_UNAVAILABLE`, 10).

use std::process::ExitCode;
use std::time::Duration;

use bbws_aws::Backend;
use bbws_core::auth::Actor;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{BackupId, InstanceId, OperationId, TenantId};
use bbws_core::instance::backup::Backup;
use bbws_core::instance::{
    AuditReport, CloudMode, DeprovisionOptions, Instance, InstanceHealth, InstanceService,
    InstanceStatus, LifecycleRequest, Operation, ProvisioningEngine, StepStatus,
};
use bbws_core::tenant::Email;
use bbws_core::{Error, ErrorCode};
use bbws_lambda::api::instance_backups::BackupResponse;
use bbws_lambda::api::instance_dto::{
    CreateInstanceRequest, InstanceHealthResponse, InstanceResponse, InstanceStatusResponse,
    OperationResponse, PlanResponse,
};
use bbws_lambda::instance_audit::AuditReportResponse;
use clap::Subcommand;
use comfy_table::presets::UTF8_BORDERS_ONLY;
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};

use crate::output::Output;
use crate::{BackendArgs, DataDirArg};

mod update;

#[derive(Debug, clap::Args)]
pub struct InstanceArgs {
    #[command(subcommand)]
    command: InstanceCommand,
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    backend: BackendArgs,
    /// How to print results.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table, global = true)]
    output: Output,
    /// The e-mail recorded as the actor of changes.
    #[arg(
        long,
        env = "BBWS_ACTOR",
        default_value = "operator@localhost.localdomain",
        global = true
    )]
    actor: String,
}

/// What a provisioning asks for (as the API's `CreateInstanceRequest`).
#[derive(Debug, Clone, clap::Args)]
struct SpecArgs {
    /// STARTER, STANDARD, PROFESSIONAL or ENTERPRISE.
    #[arg(long, default_value = "STANDARD")]
    tier: String,
    /// Tasks to run (2-10; 1-10 where the deployment allows).
    #[arg(long)]
    desired_count: Option<i64>,
    #[arg(long)]
    wordpress_version: Option<String>,
    /// The short key used in AWS names (default: derived from the tenant id).
    #[arg(long)]
    resource_key: Option<String>,
    #[arg(long)]
    opportunity_id: Option<String>,
}

impl SpecArgs {
    fn request(self) -> CreateInstanceRequest {
        CreateInstanceRequest {
            tier: Some(self.tier),
            desired_count: self.desired_count,
            wordpress_version: self.wordpress_version,
            resource_key: self.resource_key,
            opportunity_id: self.opportunity_id,
            ..CreateInstanceRequest::default()
        }
    }
}

#[derive(Debug, Subcommand)]
enum InstanceCommand {
    /// Print the AWS calls and names a provisioning would make (or, with --instance, a
    /// deprovisioning). Creates nothing; works on every backend.
    Plan {
        tenant_id: String,
        /// Plan the deprovisioning of this instance instead.
        #[arg(long)]
        instance: Option<String>,
        #[command(flatten)]
        spec: SpecArgs,
    },
    /// Provision an instance and run the operation here, showing its steps.
    Provision {
        tenant_id: String,
        #[command(flatten)]
        spec: SpecArgs,
        /// Repeat-safe: the same key and arguments accept one operation.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Deprovision an instance and run the operation here, showing its steps.
    Deprovision {
        tenant_id: String,
        instance_id: String,
        /// Delete without archiving the database and files first.
        #[arg(long)]
        no_archive: bool,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show an instance.
    Get {
        tenant_id: String,
        instance_id: String,
    },
    /// Show an instance's live status: the ECS service's counts, deployments and tasks.
    Status {
        tenant_id: String,
        instance_id: String,
    },
    /// Show an instance's composite health: ECS, targets, EFS, database, Cognito.
    Health {
        tenant_id: String,
        instance_id: String,
    },
    /// Show one page of an instance's container logs (CloudWatch Logs), oldest first.
    Logs(crate::instance_identity_logs::LogsArgs),
    /// Show an instance's Cognito pool: ids, domain, password policy, MFA (never the secret).
    Identity(crate::instance_identity_logs::IdentityArgs),
    /// Change an ACTIVE instance's password policy and/or MFA and run it here.
    ConfigureIdentity(crate::instance_identity_logs::ConfigureIdentityArgs),
    /// List a tenant's instances.
    List { tenant_id: String },
    /// Show an operation: status, steps, progress, failure reason.
    Operation { operation_id: String },
    /// Suspend an ACTIVE instance (0 tasks, autoscaling paused; data kept) and run it here.
    Suspend {
        tenant_id: String,
        instance_id: String,
        /// Why (10-500 characters), for the audit trail.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Resume a SUSPENDED instance (its stored task count) and run it here.
    Resume {
        tenant_id: String,
        instance_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Park an ACTIVE instance (as suspend, in the PARKED state) and run it here.
    Park {
        tenant_id: String,
        instance_id: String,
        /// Why (10-500 characters), for the audit trail.
        #[arg(long)]
        reason: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Unpark a PARKED instance and run it here.
    Unpark {
        tenant_id: String,
        instance_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Scale an ACTIVE instance to a new task count and run it here.
    Scale {
        tenant_id: String,
        instance_id: String,
        /// The new number of tasks (the platform's bounds).
        desired_count: u32,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Restart an ACTIVE instance (a rolling new deployment) and run it here.
    Restart {
        tenant_id: String,
        instance_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Update an ACTIVE instance to a new image, WordPress version or tier (a new task
    /// definition revision, rolled out with zero downtime) and run it here.
    Update(update::UpdateArgs),
    /// Back up an ACTIVE, SUSPENDED or PARKED instance (database dump and files to S3) and run
    /// it here; prints the operation, whose backupId names the backup.
    Backup {
        tenant_id: String,
        instance_id: String,
        /// A note shown in the list (at most 500 characters).
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// List an instance's backups, newest first.
    Backups {
        tenant_id: String,
        instance_id: String,
    },
    /// Restore an ACTIVE instance from one of its COMPLETED backups and run it here: stopped,
    /// a pre-restore backup taken, the backup replayed, started again.
    Restore {
        tenant_id: String,
        instance_id: String,
        /// The backup to replay (backup-{uuid}), from `bbws instance backups`.
        backup_id: String,
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Find orphans, untracked databases and drift in the environment's cloud.
    ///
    /// Reconciles every object tagged `bbws:environment` = ENVIRONMENT with a `bbws:tenant-id`
    /// (tag:GetResources) and every `tenant_%` database on the shared MySQL with the tenants,
    /// instances and resource ledgers in the store: orphans are tagged objects no instance
    /// holds, untracked databases are tenant databases no live instance claims, drift is a
    /// ledger entry marked live whose object is gone. Archives in S3 are expected to stay; a
    /// secret deleted by a deprovisioning is pending deletion for its recovery window; a tenant
    /// whose instance is being provisioned or deprovisioned is listed, not judged. Needs a live
    /// cloud: the DynamoDB backend with the instance-cloud variables.
    #[command(
        after_help = "Exit status: 0 clean; 1 orphans, untracked databases or drift \
found (the report says which); 10 the audit could not run (CLOUD_UNAVAILABLE on a backend \
without a live cloud, or AWS, MySQL or the store unreachable); 3/4/... as for any command. \
For cron: `bbws instance audit --quiet` prints nothing when clean."
    )]
    Audit {
        /// Print nothing when the audit is clean.
        #[arg(long, short = 'q')]
        quiet: bool,
    },
    /// Render the tenant's Terraform for the `GitOps` variant: print the files, or write them
    /// under --out as the per-environment repository lays them out.
    Terraform {
        tenant_id: String,
        instance_id: String,
        /// The repository root to write `tenants/{key}/...` and the workflow into.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

pub(crate) fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_header(header.to_vec());
    t
}

pub(crate) fn json_out(v: &impl serde::Serialize) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot render JSON: {e}"),
    }
}

fn print_instance(out: Output, i: &Instance) {
    let r = InstanceResponse::from(i);
    if out == Output::Json {
        return json_out(&r);
    }
    let mut t = table(&["field", "value"]);
    let error = r
        .last_error
        .as_ref()
        .map(|e| format!("{} {}", e["code"], e["message"]));
    for (k, v) in [
        ("instanceId", Some(r.instance_id.clone())),
        ("tenantId", Some(r.tenant_id.clone())),
        ("status", Some(r.status.clone())),
        ("tier", Some(r.tier.clone())),
        ("cpu/memory", Some(format!("{}/{}", r.cpu, r.memory))),
        ("desiredCount", Some(r.desired_count.to_string())),
        ("wordpressVersion", Some(r.wordpress_version.clone())),
        ("containerImage", r.container_image.clone()),
        ("resourceKey", Some(r.resource_key.clone())),
        ("domain", Some(r.domain.clone())),
        ("operation", r.current_operation_id.clone()),
        ("lastError", error),
        ("updatedAt", Some(r.updated_at.clone())),
    ] {
        if let Some(v) = v {
            t.add_row(vec![k.to_owned(), v]);
        }
    }
    println!("{t}");
}

fn print_status(out: Output, s: &InstanceStatus) {
    let r = InstanceStatusResponse::from(s);
    if out == Output::Json {
        return json_out(&r);
    }
    let count = |n: Option<u32>| n.map_or_else(|| "-".to_owned(), |n| n.to_string());
    println!(
        "{} {} service {} desired {} running {} pending {}{}",
        r.instance_id,
        r.provisioning_state,
        r.service_status,
        count(r.desired_count),
        count(r.running_count),
        count(r.pending_count),
        r.reason
            .as_deref()
            .map(|why| format!(" ({why})"))
            .unwrap_or_default()
    );
    if !r.deployments.is_empty() {
        let mut t = table(&[
            "deployment",
            "status",
            "rollout",
            "running/desired",
            "taskDefinition",
        ]);
        for d in &r.deployments {
            t.add_row(vec![
                d.id.clone(),
                d.status.clone(),
                d.rollout_state.clone().unwrap_or_default(),
                format!("{}/{}", d.running_count, d.desired_count),
                d.task_definition.clone(),
            ]);
        }
        println!("{t}");
    }
    if !r.tasks.is_empty() {
        let mut t = table(&["task", "lastStatus", "health", "startedAt", "cpu", "memory"]);
        for task in &r.tasks {
            t.add_row(vec![
                task.task_id.clone(),
                task.last_status.clone(),
                task.health_status.clone().unwrap_or_default(),
                task.started_at.clone().unwrap_or_default(),
                task.cpu.clone().unwrap_or_default(),
                task.memory.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
    }
}

fn print_health(out: Output, h: &InstanceHealth) {
    let r = InstanceHealthResponse::from(h);
    if out == Output::Json {
        return json_out(&r);
    }
    println!(
        "{} {} {}",
        r.instance_id, r.provisioning_state, r.health_status
    );
    let mut t = table(&["component", "status", "reason", "resource"]);
    for (name, c) in &r.components {
        t.add_row(vec![
            name.clone(),
            c.status.clone(),
            c.reason.clone(),
            c.resource.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
}

fn print_backups(out: Output, items: &[Backup]) {
    if out == Output::Json {
        let list: Vec<BackupResponse> = items.iter().map(BackupResponse::from).collect();
        json_out(&list);
        return;
    }
    let mut t = table(&[
        "BACKUP",
        "STATUS",
        "REASON",
        "CREATED",
        "EXPIRES",
        "DESCRIPTION",
    ]);
    for b in items {
        t.add_row(vec![
            b.id.to_string(),
            b.status.to_string(),
            b.reason.as_str().to_owned(),
            b.created_at.to_string(),
            b.expires_at.to_string(),
            b.description
                .as_ref()
                .map_or_else(String::new, |d| d.as_str().to_owned()),
        ]);
    }
    println!("{t}");
}

fn print_instances(out: Output, items: &[Instance]) {
    if out == Output::Json {
        let v: Vec<InstanceResponse> = items.iter().map(InstanceResponse::from).collect();
        return json_out(&v);
    }
    let mut t = table(&["instanceId", "status", "tier", "domain", "operation"]);
    for i in items {
        t.add_row(vec![
            i.id.to_string(),
            i.state.to_string(),
            i.tier.to_string(),
            i.domain.clone(),
            i.current_operation
                .map(|o| o.to_string())
                .unwrap_or_default(),
        ]);
    }
    println!("{t}");
}

fn print_operation(out: Output, o: &Operation) {
    let r = OperationResponse::from(o);
    if out == Output::Json {
        return json_out(&r);
    }
    println!(
        "{} {} {} {}% ({})",
        r.operation_id, r.r#type, r.status, r.progress, r.message
    );
    if let Some(e) = &r.error {
        println!("error: {} {}", e["code"], e["message"]);
    }
    let mut t = table(&["step", "status", "attempts", "resource", "error"]);
    for s in &r.steps {
        t.add_row(vec![
            s.name.clone(),
            s.status.clone(),
            s.attempts.to_string(),
            s.resource_id.clone().unwrap_or_default(),
            s.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
}

/// The exit status of an audit with findings.
pub const AUDIT_FINDINGS: u8 = 1;

fn print_audit(out: Output, r: &AuditReport) {
    let v = AuditReportResponse::from(r);
    if out == Output::Json {
        return json_out(&v);
    }
    println!(
        "audit of {} at {} ({}): {} tenants, {} instances, {} tagged objects, {} tenant databases",
        v.environment,
        v.at,
        v.source,
        v.counts.tenants,
        v.counts.instances,
        v.counts.resources,
        v.counts.databases
    );
    if v.clean {
        println!("clean: no orphans, untracked databases or drift");
    } else {
        println!(
            "{} findings: {} orphans, {} untracked databases, {} drift",
            v.findings,
            v.orphans.len(),
            v.untracked_databases.len(),
            v.drift.len()
        );
    }
    if !v.orphans.is_empty() {
        println!("\nOrphans ({})", v.orphans.len());
        let mut t = table(&["tenantId", "kind", "arn", "reason"]);
        for o in &v.orphans {
            t.add_row(vec![
                o.tenant_id.clone(),
                o.kind.clone(),
                o.arn.clone(),
                format!("{}: {}", o.reason, o.detail),
            ]);
        }
        println!("{t}");
    }
    if !v.untracked_databases.is_empty() {
        println!("\nUntracked databases ({})", v.untracked_databases.len());
        let mut t = table(&["database", "was of"]);
        for d in &v.untracked_databases {
            let was = match (&d.tenant_id, &d.instance_id) {
                (Some(t), Some(i)) => format!("{t} {i} (DEPROVISIONED)"),
                _ => "no instance".to_owned(),
            };
            t.add_row(vec![d.name.clone(), was]);
        }
        println!("{t}");
    }
    if !v.drift.is_empty() {
        println!(
            "\nDrift ({}): live in the ledger, not in the cloud",
            v.drift.len()
        );
        let mut t = table(&["tenantId", "instanceId", "status", "resource", "name", "id"]);
        for d in &v.drift {
            t.add_row(vec![
                d.tenant_id.clone(),
                d.instance_id.clone(),
                d.status.clone(),
                d.resource_type.clone(),
                d.name.clone(),
                d.resource_id.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
    }
    if !v.pending_deletion.is_empty() {
        println!(
            "\nPending deletion ({}): deleted by a deprovisioning, gone by the date shown",
            v.pending_deletion.len()
        );
        let mut t = table(&["tenantId", "resource", "arn", "goneBy"]);
        for p in &v.pending_deletion {
            t.add_row(vec![
                p.tenant_id.clone(),
                p.resource_type.clone(),
                p.arn.clone(),
                p.gone_by.clone(),
            ]);
        }
        println!("{t}");
    }
    if !v.in_progress.is_empty() {
        println!(
            "\nNot judged ({}): resources changing while the audit looked",
            v.in_progress.len()
        );
        let mut t = table(&["tenantId", "instanceId", "status"]);
        for p in &v.in_progress {
            t.add_row(vec![
                p.tenant_id.clone(),
                p.instance_id.clone(),
                p.status.clone(),
            ]);
        }
        println!("{t}");
    }
    if !v.unchecked_types.is_empty() {
        println!(
            "\ndrift not judged for (not listed by the inventory): {}",
            v.unchecked_types.join(", ")
        );
    }
}

fn done_steps(o: &Operation) -> Vec<String> {
    o.steps
        .iter()
        .filter(|s| matches!(s.status, StepStatus::Done | StepStatus::Skipped))
        .map(|s| s.name.as_str().to_owned())
        .collect()
}

/// Runs the operation here, drawing a bar of its steps (on a terminal) and naming each step as
/// it completes. On a plan-only cloud the run is refused and the operation ends FAILED.
async fn run_with_progress(
    svc: &InstanceService,
    engine: ProvisioningEngine,
    actor: &Actor,
    op: &Operation,
) -> Result<Operation, Error> {
    let id = op.id;
    let bar = ProgressBar::new(op.steps.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut task = tokio::spawn(async move { engine.run_or_refuse(&id).await });
    let mut seen: Vec<String> = Vec::new();
    let result = loop {
        let finished = tokio::select! {
            r = &mut task => Some(r),
            () = tokio::time::sleep(Duration::from_millis(250)) => None,
        };
        if let Ok(now) = svc.operation(actor, &id).await {
            for step in done_steps(&now) {
                if !seen.contains(&step) {
                    bar.inc(1);
                    if bar.is_hidden() {
                        eprintln!("done: {step}");
                    } else {
                        bar.println(format!("done: {step}"));
                    }
                    seen.push(step);
                }
            }
            bar.set_message(now.current_step.map_or_else(String::new, |s| s.to_string()));
        }
        if let Some(r) = finished {
            break r.map_err(|e| Error::Internal(format!("the engine stopped: {e}")))?;
        }
    };
    bar.finish_and_clear();
    result
}

pub(crate) async fn run_accepted(
    svc: &InstanceService,
    backend: &Backend,
    actor: &Actor,
    out: Output,
    op: &Operation,
) -> Result<(), Error> {
    if backend.cloud.mode == CloudMode::Plan {
        eprintln!(
            "The plan recorder cannot run operations: this backend's cloud only records the AWS calls an operation would make ({}). Use `bbws instance plan` to see them, or configure a live cloud.",
            backend.cloud.describe()
        );
    }
    let result = run_with_progress(svc, backend.provisioning_engine(), actor, op).await;
    let now = svc.operation(actor, &op.id).await?;
    print_operation(out, &now);
    let ended = result?;
    match &ended.error {
        Some(e) if e.code == ErrorCode::CloudUnavailable => {
            Err(Error::business(e.code, e.message.clone()))
        }
        Some(e) => Err(e.clone().into_error()),
        None => Ok(()),
    }
}

/// Accepts a lifecycle change and runs it here, as `provision` does.
async fn lifecycle(
    svc: &InstanceService,
    backend: &Backend,
    actor: &Actor,
    out: Output,
    (tenant_id, instance_id): (&TenantId, &InstanceId),
    req: LifecycleRequest,
    key: Option<IdempotencyKey>,
) -> Result<(), Error> {
    let accepted = svc
        .request_lifecycle(actor, tenant_id, instance_id, req, key.as_ref())
        .await?;
    eprintln!(
        "accepted: instance {} operation {} ({})",
        accepted.value.instance.id, accepted.value.operation.id, accepted.value.operation.op_type
    );
    run_accepted(svc, backend, actor, out, &accepted.value.operation).await
}

/// Runs a command; a clean audit and every other command that succeeds exit 0, an audit with
/// findings [`AUDIT_FINDINGS`].
pub async fn run(args: InstanceArgs) -> Result<ExitCode, Error> {
    let backend = Backend::open(&args.backend.config(&args.data.data_dir)?).await?;
    let svc = backend.instance_service();
    let actor = Actor::local_admin(Email::parse_field(&args.actor, "actor")?.as_str());
    let out = args.output;
    let tenant = |s: &str| s.parse::<TenantId>();
    let instance = |s: &str| s.parse::<InstanceId>();
    let key = |k: Option<String>| k.as_deref().map(IdempotencyKey::parse).transpose();
    // Every lifecycle command: accept the change, then run it here.
    let change = async |t: String, i: String, req: LifecycleRequest, k: Option<String>| {
        let target = (&tenant(&t)?, &instance(&i)?);
        lifecycle(&svc, &backend, &actor, out, target, req, key(k)?).await
    };
    match args.command {
        InstanceCommand::Plan {
            tenant_id,
            instance: None,
            spec,
        } => {
            let req = spec.request().parse(svc.config().min_tasks)?;
            let plan = svc
                .plan_provisioning(&actor, &tenant(&tenant_id)?, req)
                .await?;
            match out {
                Output::Json => json_out(&PlanResponse::from(&plan)),
                Output::Table => print!("{}", plan.render()),
            }
        }
        InstanceCommand::Plan {
            tenant_id,
            instance: Some(i),
            ..
        } => {
            let plan = svc
                .plan_deprovisioning(
                    &actor,
                    &tenant(&tenant_id)?,
                    &instance(&i)?,
                    DeprovisionOptions {
                        archive_data: true,
                        reason: None,
                    },
                )
                .await?;
            match out {
                Output::Json => json_out(&PlanResponse::from(&plan)),
                Output::Table => print!("{}", plan.render()),
            }
        }
        InstanceCommand::Provision {
            tenant_id,
            spec,
            idempotency_key,
        } => {
            let req = spec.request().parse(svc.config().min_tasks)?;
            let accepted = svc
                .request_provisioning(
                    &actor,
                    &tenant(&tenant_id)?,
                    req,
                    key(idempotency_key)?.as_ref(),
                )
                .await?;
            eprintln!(
                "accepted: instance {} operation {}",
                accepted.value.instance.id, accepted.value.operation.id
            );
            run_accepted(&svc, &backend, &actor, out, &accepted.value.operation).await?;
        }
        InstanceCommand::Deprovision {
            tenant_id,
            instance_id,
            no_archive,
            reason,
            idempotency_key,
        } => {
            let accepted = svc
                .request_deprovisioning(
                    &actor,
                    &tenant(&tenant_id)?,
                    &instance(&instance_id)?,
                    DeprovisionOptions {
                        archive_data: !no_archive,
                        reason,
                    },
                    key(idempotency_key)?.as_ref(),
                )
                .await?;
            eprintln!(
                "accepted: instance {} operation {}",
                accepted.value.instance.id, accepted.value.operation.id
            );
            run_accepted(&svc, &backend, &actor, out, &accepted.value.operation).await?;
        }
        InstanceCommand::Get {
            tenant_id,
            instance_id,
        } => {
            let i = svc
                .get(&actor, &tenant(&tenant_id)?, &instance(&instance_id)?)
                .await?;
            print_instance(out, &i);
        }
        InstanceCommand::Status {
            tenant_id,
            instance_id,
        } => {
            let s = svc
                .status(&actor, &tenant(&tenant_id)?, &instance(&instance_id)?)
                .await?;
            print_status(out, &s);
        }
        InstanceCommand::Health {
            tenant_id,
            instance_id,
        } => {
            let h = svc
                .health(&actor, &tenant(&tenant_id)?, &instance(&instance_id)?)
                .await?;
            print_health(out, &h);
        }
        InstanceCommand::Logs(a) => {
            crate::instance_identity_logs::logs(&svc, &actor, out, &a).await?;
        }
        InstanceCommand::Identity(a) => {
            crate::instance_identity_logs::identity(&svc, &actor, out, &a).await?;
        }
        InstanceCommand::ConfigureIdentity(a) => {
            crate::instance_identity_logs::configure_identity(&svc, &backend, &actor, out, a)
                .await?;
        }
        InstanceCommand::List { tenant_id } => {
            print_instances(out, &svc.list(&actor, &tenant(&tenant_id)?).await?);
        }
        InstanceCommand::Operation { operation_id } => {
            let o = svc
                .operation(&actor, &operation_id.parse::<OperationId>()?)
                .await?;
            print_operation(out, &o);
        }
        InstanceCommand::Suspend {
            tenant_id,
            instance_id,
            reason,
            idempotency_key,
        } => {
            let req = LifecycleRequest::parse("suspend", Some(&reason), None)?;
            change(tenant_id, instance_id, req, idempotency_key).await?;
        }
        InstanceCommand::Resume {
            tenant_id,
            instance_id,
            idempotency_key,
        } => {
            change(
                tenant_id,
                instance_id,
                LifecycleRequest::Resume,
                idempotency_key,
            )
            .await?;
        }
        InstanceCommand::Park {
            tenant_id,
            instance_id,
            reason,
            idempotency_key,
        } => {
            let req = LifecycleRequest::parse("park", Some(&reason), None)?;
            change(tenant_id, instance_id, req, idempotency_key).await?;
        }
        InstanceCommand::Unpark {
            tenant_id,
            instance_id,
            idempotency_key,
        } => {
            change(
                tenant_id,
                instance_id,
                LifecycleRequest::Unpark,
                idempotency_key,
            )
            .await?;
        }
        InstanceCommand::Scale {
            tenant_id,
            instance_id,
            desired_count,
            idempotency_key,
        } => {
            let req = LifecycleRequest::Scale { desired_count };
            change(tenant_id, instance_id, req, idempotency_key).await?;
        }
        InstanceCommand::Restart {
            tenant_id,
            instance_id,
            idempotency_key,
        } => {
            change(
                tenant_id,
                instance_id,
                LifecycleRequest::Restart,
                idempotency_key,
            )
            .await?;
        }
        InstanceCommand::Update(args) => {
            Box::pin(update::run(&svc, &backend, &actor, out, args)).await?;
        }
        InstanceCommand::Backup {
            tenant_id,
            instance_id,
            description,
            idempotency_key,
        } => {
            let accepted = svc
                .request_backup(
                    &actor,
                    &tenant(&tenant_id)?,
                    &instance(&instance_id)?,
                    description.as_deref(),
                    key(idempotency_key)?.as_ref(),
                )
                .await?;
            let op = &accepted.value.operation;
            eprintln!(
                "accepted: backup {} operation {}",
                op.backup_id.map(|b| b.to_string()).unwrap_or_default(),
                op.id
            );
            run_accepted(&svc, &backend, &actor, out, op).await?;
        }
        InstanceCommand::Backups {
            tenant_id,
            instance_id,
        } => {
            let list = svc
                .backups(&actor, &tenant(&tenant_id)?, &instance(&instance_id)?)
                .await?;
            print_backups(out, &list);
        }
        InstanceCommand::Restore {
            tenant_id,
            instance_id,
            backup_id,
            idempotency_key,
        } => {
            let accepted = svc
                .request_restore(
                    &actor,
                    &tenant(&tenant_id)?,
                    &instance(&instance_id)?,
                    &backup_id.parse::<BackupId>()?,
                    key(idempotency_key)?.as_ref(),
                )
                .await?;
            let op = &accepted.value.operation;
            eprintln!(
                "accepted: restore of {backup_id} operation {} (pre-restore backup {})",
                op.id,
                op.safety_backup_id
                    .map(|b| b.to_string())
                    .unwrap_or_default()
            );
            run_accepted(&svc, &backend, &actor, out, op).await?;
        }
        InstanceCommand::Audit { quiet } => {
            let report = backend.instance_audit()?.run().await?;
            if !(quiet && report.is_clean()) {
                print_audit(out, &report);
            }
            if !report.is_clean() {
                return Ok(ExitCode::from(AUDIT_FINDINGS));
            }
        }
        InstanceCommand::Terraform {
            tenant_id,
            instance_id,
            out: dir,
        } => {
            let files = svc
                .terraform(&actor, &tenant(&tenant_id)?, &instance(&instance_id)?)
                .await?;
            match (dir, out) {
                (Some(dir), _) => {
                    for (path, content) in &files.files {
                        let target = dir.join(path);
                        if let Some(parent) = target.parent() {
                            std::fs::create_dir_all(parent).map_err(|e| {
                                Error::Storage(format!("cannot create {}: {e}", parent.display()))
                            })?;
                        }
                        std::fs::write(&target, content).map_err(|e| {
                            Error::Storage(format!("cannot write {}: {e}", target.display()))
                        })?;
                        println!("{}", target.display());
                    }
                }
                (None, Output::Json) => json_out(&files.files),
                (None, Output::Table) => {
                    for (path, content) in &files.files {
                        println!("# ==> {path} <==");
                        print!("{content}");
                        println!();
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
