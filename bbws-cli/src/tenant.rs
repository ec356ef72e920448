//! `bbws tenant ...`: the tenant service on the store (the embedded store of a data directory, or
//! DynamoDB), acting as a platform administrator (whoever can read the data directory, or holds
//! AWS credentials for the table, already holds everything in it).

use bbws_aws::Backend;
use bbws_core::Error;
use bbws_core::auth::Actor;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::TenantId;
use bbws_core::pagination::{Cursor, Limit, PageRequest};
use bbws_core::tenant::{
    Email, Environment, NewTenant, OrganizationName, Patch, Reason, TenantPatch, TenantStatus,
    UnitLabel,
};
use clap::Subcommand;
use serde_json::{Map, Value};

use crate::output::{self, Output};
use crate::{BackendArgs, DataDirArg};

#[derive(Debug, clap::Args)]
pub struct TenantArgs {
    #[command(subcommand)]
    command: TenantCommand,
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

#[derive(Debug, Subcommand)]
enum TenantCommand {
    /// Create a tenant (status PENDING).
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_parser = ["dev", "sit", "prod"])]
        environment: String,
        #[arg(long)]
        division: Option<String>,
        #[arg(long)]
        group: Option<String>,
        #[arg(long)]
        team: Option<String>,
        /// A JSON object.
        #[arg(long)]
        metadata: Option<String>,
        /// Repeat-safe: the same key and arguments create the tenant once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show a tenant.
    Get { tenant_id: String },
    /// List tenants, newest first.
    List {
        #[arg(long)]
        status: Option<String>,
        #[arg(long)]
        environment: Option<String>,
        /// Part of the organisation name (any letter case).
        #[arg(long)]
        name: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Change the given fields only.
    Update {
        tenant_id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long, conflicts_with = "clear_division")]
        division: Option<String>,
        #[arg(long)]
        clear_division: bool,
        #[arg(long, conflicts_with = "clear_group")]
        group: Option<String>,
        #[arg(long)]
        clear_group: bool,
        #[arg(long, conflicts_with = "clear_team")]
        team: Option<String>,
        #[arg(long)]
        clear_team: bool,
        /// A JSON object merged into the metadata; `null` values remove keys.
        #[arg(long)]
        metadata: Option<String>,
        /// Refuse unless the tenant is at this version.
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// ACTIVE → PARKED.
    Park {
        tenant_id: String,
        #[arg(long)]
        reason: String,
    },
    /// PARKED → ACTIVE.
    Unpark { tenant_id: String },
    /// ACTIVE → SUSPENDED.
    Suspend {
        tenant_id: String,
        #[arg(long)]
        reason: String,
    },
    /// SUSPENDED → ACTIVE.
    Resume { tenant_id: String },
    /// Set a status (PENDING → ACTIVE after provisioning, ...).
    Status {
        tenant_id: String,
        status: String,
        #[arg(long)]
        reason: Option<String>,
    },
    /// Deprovision (soft delete).
    Delete {
        tenant_id: String,
        /// Even if the tenant still has active resources.
        #[arg(long)]
        force: bool,
    },
    /// The audit trail, oldest first.
    Audit {
        tenant_id: String,
        #[arg(long, default_value_t = 100)]
        limit: u32,
        #[arg(long)]
        next_token: Option<String>,
    },
}

fn metadata(raw: Option<&str>) -> Result<Option<Map<String, Value>>, Error> {
    raw.map(|s| match serde_json::from_str::<Value>(s) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Error::field("metadata", "--metadata must be a JSON object")),
    })
    .transpose()
}

fn label(v: Option<&String>, field: &str) -> Result<Option<UnitLabel>, Error> {
    v.map(|s| UnitLabel::parse(s, field)).transpose()
}

fn patch(value: Option<&String>, clear: bool, field: &str) -> Result<Patch<UnitLabel>, Error> {
    Ok(match (value, clear) {
        (Some(v), _) => Patch::Set(UnitLabel::parse(v, field)?),
        (None, true) => Patch::Clear,
        (None, false) => Patch::Keep,
    })
}

fn page(limit: u32, token: Option<&String>) -> Result<PageRequest, Error> {
    Ok(PageRequest {
        limit: Limit::new(limit)?,
        cursor: token.map(|t| Cursor::parse(t)).transpose()?,
    })
}

pub async fn run(args: TenantArgs) -> Result<(), Error> {
    let backend = Backend::open(&args.backend.config(&args.data.data_dir)?).await?;
    let svc = backend.tenant_service();
    let actor = Actor::local_admin(Email::parse_field(&args.actor, "actor")?.as_str());
    let out = args.output;
    let id = |s: &str| s.parse::<TenantId>();
    match args.command {
        TenantCommand::Create {
            name,
            email,
            environment,
            division,
            group,
            team,
            metadata: md,
            idempotency_key,
        } => {
            let req = NewTenant {
                organization_name: OrganizationName::parse(&name)?,
                contact_email: Email::parse_field(&email, "contactEmail")?,
                environment: environment.parse::<Environment>()?,
                division: label(division.as_ref(), "division")?,
                group: label(group.as_ref(), "group")?,
                team: label(team.as_ref(), "team")?,
                metadata: metadata(md.as_deref())?.unwrap_or_default(),
            };
            let key = idempotency_key
                .as_deref()
                .map(IdempotencyKey::parse)
                .transpose()?;
            let created = svc.create(&actor, req, key.as_ref()).await?;
            output::tenant(out, &created.value);
        }
        TenantCommand::Get { tenant_id } => {
            output::tenant(out, &svc.get(&actor, &id(&tenant_id)?).await?);
        }
        TenantCommand::List {
            status,
            environment,
            name,
            limit,
            next_token,
        } => {
            let status = status
                .as_deref()
                .map(str::parse::<TenantStatus>)
                .transpose()?;
            let environment = environment
                .as_deref()
                .map(str::parse::<Environment>)
                .transpose()?;
            let p = svc
                .list(
                    &actor,
                    status,
                    environment,
                    name,
                    &page(limit, next_token.as_ref())?,
                )
                .await?;
            output::tenants(out, &p.items, p.next.as_ref().map(Cursor::as_str));
        }
        TenantCommand::Update {
            tenant_id,
            name,
            email,
            division,
            clear_division,
            group,
            clear_group,
            team,
            clear_team,
            metadata: md,
            if_match,
        } => {
            let p = TenantPatch {
                organization_name: name.as_deref().map(OrganizationName::parse).transpose()?,
                contact_email: email
                    .as_deref()
                    .map(|e| Email::parse_field(e, "contactEmail"))
                    .transpose()?,
                division: patch(division.as_ref(), clear_division, "division")?,
                group: patch(group.as_ref(), clear_group, "group")?,
                team: patch(team.as_ref(), clear_team, "team")?,
                metadata: metadata(md.as_deref())?,
                immutable: vec![],
            };
            output::tenant(
                out,
                &svc.update(&actor, &id(&tenant_id)?, p, if_match).await?,
            );
        }
        TenantCommand::Park { tenant_id, reason } => {
            let reason = Reason::parse(Some(&reason), "Park reason")?;
            output::tenant(
                out,
                &svc.park(&actor, &id(&tenant_id)?, &reason, None).await?,
            );
        }
        TenantCommand::Unpark { tenant_id } => {
            output::tenant(out, &svc.unpark(&actor, &id(&tenant_id)?, None).await?);
        }
        TenantCommand::Suspend { tenant_id, reason } => {
            let reason = Reason::parse(Some(&reason), "Suspension reason")?;
            output::tenant(
                out,
                &svc.suspend(&actor, &id(&tenant_id)?, &reason, None).await?,
            );
        }
        TenantCommand::Resume { tenant_id } => {
            output::tenant(out, &svc.resume(&actor, &id(&tenant_id)?, None).await?);
        }
        TenantCommand::Status {
            tenant_id,
            status,
            reason,
        } => {
            let status = status.to_ascii_uppercase().parse::<TenantStatus>()?;
            output::tenant(
                out,
                &svc.set_status(&actor, &id(&tenant_id)?, status, reason.as_deref(), None)
                    .await?,
            );
        }
        TenantCommand::Delete { tenant_id, force } => {
            output::tenant(
                out,
                &svc.deprovision(&actor, &id(&tenant_id)?, force, None)
                    .await?,
            );
        }
        TenantCommand::Audit {
            tenant_id,
            limit,
            next_token,
        } => {
            let p = svc
                .audit_trail(&actor, &id(&tenant_id)?, &page(limit, next_token.as_ref())?)
                .await?;
            output::audit(out, &p.items, p.next.as_ref().map(Cursor::as_str));
        }
    }
    // Publish what the command wrote; whatever fails stays in the outbox for the next run.
    let relay = backend.relay();
    if let Err(e) = relay.drain().await {
        eprintln!("warning: events not yet published (kept in the outbox): {e}");
    }
    Ok(())
}
