//! The organisation commands on the store: `bbws division|group|team ...` (the hierarchy),
//! `bbws team member ...`, `bbws hierarchy show`, `bbws user ...` (assignments and the local
//! directory), `bbws invitation ...` and `bbws mail list` (the embedded mailbox).
//!
//! Like `bbws tenant`, they act as a platform administrator (`--actor`), unless `--as-sub` /
//! `--as-email` name a user to act as: that user's rights then come from its assignments, and it
//! is the user who accepts an invitation.

use bbws_aws::Backend;
use bbws_core::Error;
use bbws_core::auth::{Actor, Claims, Role};
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{DivisionId, GroupId, InvitationId, TeamId, TenantId};
use bbws_core::org::{
    DirectoryUser, InvitationStatus, OrgService, OrgUnit, Parent, UnitName, UnitPath, UserId,
};
use bbws_core::pagination::{Cursor, Limit, PageRequest};
use bbws_core::tenant::Email;
use clap::Subcommand;

use crate::output::{self, Output};
use crate::{BackendArgs, DataDirArg};

/// What every organisation command shares: the store, the output format and the actor.
#[derive(Debug, Clone, clap::Args)]
pub struct Common {
    #[command(flatten)]
    data: DataDirArg,
    #[command(flatten)]
    backend: BackendArgs,
    /// How to print results.
    #[arg(long, short = 'o', value_enum, default_value_t = Output::Table, global = true)]
    output: Output,
    /// The e-mail of the platform administrator the command acts as.
    #[arg(
        long,
        env = "BBWS_ACTOR",
        default_value = "operator@localhost.localdomain",
        global = true
    )]
    actor: String,
    /// Act as this user (the identity provider's sub) instead of as a platform administrator;
    /// its rights come from its assignments.
    #[arg(long, global = true)]
    as_sub: Option<String>,
    /// Act as the user with this e-mail (its sub is looked up in the directory unless --as-sub
    /// gives it). Accepting an invitation needs it.
    #[arg(long, global = true)]
    as_email: Option<String>,
}

impl Common {
    /// The actor: the user named by `--as-sub`/`--as-email`, else the platform administrator.
    async fn actor(&self, backend: &Backend) -> Result<Actor, Error> {
        if self.as_sub.is_none() && self.as_email.is_none() {
            return Ok(Actor::local_admin(
                Email::parse_field(&self.actor, "actor")?.as_str(),
            ));
        }
        let email = self
            .as_email
            .as_deref()
            .map(|e| Email::parse_field(e, "asEmail"))
            .transpose()?;
        let sub = match (&self.as_sub, &email) {
            (Some(s), _) => UserId::parse(s)?,
            (None, Some(e)) => {
                backend
                    .directory
                    .find_by_email(e)
                    .await?
                    .ok_or_else(|| {
                        Error::field(
                            "asEmail",
                            format!("No user with e-mail {e} in the directory; give --as-sub"),
                        )
                    })?
                    .user_id
            }
            (None, None) => return Err(Error::field("asSub", "--as-sub or --as-email is needed")),
        };
        Ok(Actor::from_claims(&Claims {
            sub: sub.as_str().to_owned(),
            email: email.map(|e| e.as_str().to_owned()),
            ..Claims::default()
        }))
    }
}

fn page(limit: u32, token: Option<&String>) -> Result<PageRequest, Error> {
    Ok(PageRequest {
        limit: Limit::new(limit)?,
        cursor: token.map(|t| Cursor::parse(t)).transpose()?,
    })
}

fn key(raw: Option<&String>) -> Result<Option<IdempotencyKey>, Error> {
    raw.map(|k| IdempotencyKey::parse(k)).transpose()
}

fn tenant_id(raw: &str) -> Result<TenantId, Error> {
    raw.parse::<TenantId>()
        .map_err(|_| Error::field("tenantId", format!("Invalid tenant ID: {raw}")))
}

fn id<T: std::str::FromStr<Err = Error>>(raw: &str) -> Result<T, Error> {
    raw.parse::<T>()
}

fn role(raw: &str) -> Result<Role, Error> {
    Role::parse(raw)
}

/// Publishes what the command wrote; whatever fails stays in the outbox for the next run.
async fn drain(backend: &Backend) {
    if let Err(e) = backend.relay().drain().await {
        eprintln!("warning: events not yet published (kept in the outbox): {e}");
    }
}

/// Exits with a usage error (exit code 2), as a wrong flag does.
fn usage(message: &str) -> ! {
    clap::Error::raw(clap::error::ErrorKind::InvalidValue, format!("{message}\n")).exit()
}

// ------------------------------------------------------------------------------- hierarchy

/// Where a division, group or team sits.
pub trait Level: clap::Args + std::fmt::Debug {
    /// The tenant and the parent new nodes are created under.
    fn parent(&self) -> Result<(TenantId, Parent), Error>;
    /// The node with this id under the parent.
    fn path(&self, id: &str) -> Result<(TenantId, UnitPath), Error>;
}

#[derive(Debug, Clone, clap::Args)]
pub struct AtTenant {
    /// The tenant.
    #[arg(long)]
    tenant: String,
}

impl Level for AtTenant {
    fn parent(&self) -> Result<(TenantId, Parent), Error> {
        Ok((tenant_id(&self.tenant)?, Parent::Tenant))
    }
    fn path(&self, raw: &str) -> Result<(TenantId, UnitPath), Error> {
        Ok((tenant_id(&self.tenant)?, UnitPath::Division(id(raw)?)))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct AtDivision {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The division (`div-…`).
    #[arg(long)]
    division: String,
}

impl Level for AtDivision {
    fn parent(&self) -> Result<(TenantId, Parent), Error> {
        Ok((
            tenant_id(&self.tenant)?,
            Parent::Division(id::<DivisionId>(&self.division)?),
        ))
    }
    fn path(&self, raw: &str) -> Result<(TenantId, UnitPath), Error> {
        Ok((
            tenant_id(&self.tenant)?,
            UnitPath::Group(id(&self.division)?, id(raw)?),
        ))
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct AtGroup {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// The division (`div-…`).
    #[arg(long)]
    division: String,
    /// The group (`grp-…`).
    #[arg(long)]
    group: String,
}

impl Level for AtGroup {
    fn parent(&self) -> Result<(TenantId, Parent), Error> {
        Ok((
            tenant_id(&self.tenant)?,
            Parent::Group(id(&self.division)?, id::<GroupId>(&self.group)?),
        ))
    }
    fn path(&self, raw: &str) -> Result<(TenantId, UnitPath), Error> {
        Ok((
            tenant_id(&self.tenant)?,
            UnitPath::Team(id(&self.division)?, id(&self.group)?, id::<TeamId>(raw)?),
        ))
    }
}

#[derive(Debug, Subcommand)]
pub enum UnitCommand<L: Level> {
    /// Create one (names are unique among siblings, in any letter case).
    Create {
        #[command(flatten)]
        at: L,
        #[arg(long)]
        name: String,
        /// Repeat-safe: the same key and arguments create it once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// Show one.
    Get {
        #[command(flatten)]
        at: L,
        id: String,
    },
    /// List them, by name.
    List {
        #[command(flatten)]
        at: L,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Rename one.
    Update {
        #[command(flatten)]
        at: L,
        id: String,
        #[arg(long)]
        name: String,
        /// Refuse unless it is at this version.
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Delete one; refused while it has children or members, unless --cascade.
    Delete {
        #[command(flatten)]
        at: L,
        id: String,
        /// Delete everything below it too.
        #[arg(long)]
        cascade: bool,
        /// Refuse unless it is at this version.
        #[arg(long)]
        if_match: Option<u64>,
    },
}

#[derive(Debug, clap::Args)]
pub struct DivisionArgs {
    #[command(subcommand)]
    command: UnitCommand<AtTenant>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub struct GroupArgs {
    #[command(subcommand)]
    command: UnitCommand<AtDivision>,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, clap::Args)]
pub struct TeamArgs {
    #[command(subcommand)]
    command: TeamCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    #[command(flatten)]
    Unit(UnitCommand<AtGroup>),
    /// A team's members (users assigned to the tenant).
    Member {
        #[command(subcommand)]
        command: MemberCommand,
    },
}

#[derive(Debug, Subcommand)]
enum MemberCommand {
    /// Add a user assigned to the tenant to the team.
    Add {
        #[command(flatten)]
        at: AtGroup,
        /// The team (`team-…`).
        #[arg(long)]
        team: String,
        /// The user's id (sub).
        #[arg(long)]
        user: String,
    },
    /// The team's members.
    List {
        #[command(flatten)]
        at: AtGroup,
        /// The team (`team-…`).
        #[arg(long)]
        team: String,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Remove a user from the team.
    Remove {
        #[command(flatten)]
        at: AtGroup,
        /// The team (`team-…`).
        #[arg(long)]
        team: String,
        /// The user's id (sub).
        #[arg(long)]
        user: String,
    },
}

#[derive(Debug, clap::Args)]
pub struct HierarchyArgs {
    #[command(subcommand)]
    command: HierarchyCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Subcommand)]
enum HierarchyCommand {
    /// The tenant's active hierarchy as a tree, with team members.
    Show {
        #[arg(long)]
        tenant: String,
    },
}

async fn unit_command<L: Level>(
    svc: &OrgService,
    actor: &Actor,
    out: Output,
    command: UnitCommand<L>,
) -> Result<(), Error> {
    match command {
        UnitCommand::Create {
            at,
            name,
            idempotency_key,
        } => {
            let (tenant, parent) = at.parent()?;
            let name = UnitName::parse_field(&name, "name")?;
            let created = svc
                .create_unit(
                    actor,
                    &tenant,
                    parent,
                    name,
                    key(idempotency_key.as_ref())?.as_ref(),
                )
                .await?;
            output::unit(out, &created.value);
        }
        UnitCommand::Get { at, id } => {
            let (tenant, path) = at.path(&id)?;
            output::unit(out, &svc.get_unit(actor, &tenant, path).await?);
        }
        UnitCommand::List {
            at,
            limit,
            next_token,
        } => {
            let (tenant, parent) = at.parent()?;
            let p = svc
                .list_units(actor, &tenant, parent, &page(limit, next_token.as_ref())?)
                .await?;
            output::units(out, &p.items, p.next.as_ref().map(Cursor::as_str));
        }
        UnitCommand::Update {
            at,
            id,
            name,
            if_match,
        } => {
            let (tenant, path) = at.path(&id)?;
            let name = UnitName::parse_field(&name, "name")?;
            let u: OrgUnit = svc
                .rename_unit(actor, &tenant, path, name, if_match)
                .await?;
            output::unit(out, &u);
        }
        UnitCommand::Delete {
            at,
            id,
            cascade,
            if_match,
        } => {
            let (tenant, path) = at.path(&id)?;
            let u = svc
                .delete_unit(actor, &tenant, path, cascade, if_match)
                .await?;
            output::unit(out, &u);
        }
    }
    Ok(())
}

async fn open(common: &Common) -> Result<(Backend, Actor), Error> {
    let backend = Backend::open(&common.backend.config(&common.data.data_dir)?).await?;
    let actor = common.actor(&backend).await?;
    Ok((backend, actor))
}

pub async fn division(args: DivisionArgs) -> Result<(), Error> {
    let (backend, actor) = open(&args.common).await?;
    unit_command(
        &backend.org_service(),
        &actor,
        args.common.output,
        args.command,
    )
    .await?;
    drain(&backend).await;
    Ok(())
}

pub async fn group(args: GroupArgs) -> Result<(), Error> {
    let (backend, actor) = open(&args.common).await?;
    unit_command(
        &backend.org_service(),
        &actor,
        args.common.output,
        args.command,
    )
    .await?;
    drain(&backend).await;
    Ok(())
}

pub async fn team(args: TeamArgs) -> Result<(), Error> {
    let (backend, actor) = open(&args.common).await?;
    let svc = backend.org_service();
    let out = args.common.output;
    let team_path = |at: &AtGroup, team: &str| at.path(team);
    match args.command {
        TeamCommand::Unit(c) => unit_command(&svc, &actor, out, c).await?,
        TeamCommand::Member { command } => match command {
            MemberCommand::Add { at, team, user } => {
                let (tenant, path) = team_path(&at, &team)?;
                let m = svc
                    .add_member(&actor, &tenant, path, &UserId::parse(&user)?)
                    .await?;
                output::member(out, &m);
            }
            MemberCommand::List {
                at,
                team,
                limit,
                next_token,
            } => {
                let (tenant, path) = team_path(&at, &team)?;
                let p = svc
                    .list_members(&actor, &tenant, path, &page(limit, next_token.as_ref())?)
                    .await?;
                output::members(out, &p.items, p.next.as_ref().map(Cursor::as_str));
            }
            MemberCommand::Remove { at, team, user } => {
                let (tenant, path) = team_path(&at, &team)?;
                let user = UserId::parse(&user)?;
                svc.remove_member(&actor, &tenant, path, &user).await?;
                output::done(out, &format!("removed {user} from team {team}"));
            }
        },
    }
    drain(&backend).await;
    Ok(())
}

pub async fn hierarchy(args: HierarchyArgs) -> Result<(), Error> {
    let (backend, actor) = open(&args.common).await?;
    let svc = backend.org_service();
    match args.command {
        HierarchyCommand::Show { tenant } => {
            let tenant = tenant_id(&tenant)?;
            let tree = svc.tree(&actor, &tenant).await?;
            output::tree(args.common.output, &tenant, &tree);
        }
    }
    Ok(())
}

// ----------------------------------------------------------------------------------- users

#[derive(Debug, clap::Args)]
pub struct UserArgs {
    #[command(subcommand)]
    command: UserCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Assign a user of the directory (found by e-mail) to a tenant with a role.
    Assign {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// The user's id, if known (it must be the directory's user of that e-mail).
        #[arg(long)]
        user_id: Option<String>,
        /// Repeat-safe: the same key and arguments assign once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// A tenant's users.
    List {
        #[arg(long)]
        tenant: String,
        /// Only users with this role.
        #[arg(long)]
        role: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        next_token: Option<String>,
    },
    /// A user's assignment to a tenant; without --tenant, the user's profile (by id or e-mail).
    Get {
        user: String,
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Change a user's role on a tenant (a tenant keeps at least one admin).
    Role {
        user: String,
        /// admin, operator or viewer.
        role: String,
        #[arg(long)]
        tenant: String,
        /// Refuse unless the assignment is at this version.
        #[arg(long)]
        if_match: Option<u64>,
    },
    /// Remove a user from a tenant (and from its teams).
    Remove {
        user: String,
        #[arg(long)]
        tenant: String,
    },
    /// The tenants a user is assigned to.
    Tenants { user: String },
    /// Register a user in the local directory (embedded and memory stores; on DynamoDB users
    /// live in Cognito).
    Add {
        #[arg(long)]
        email: String,
        /// The user's id (the identity provider's sub); a new one by default.
        #[arg(long)]
        sub: Option<String>,
    },
    /// The local directory's users (embedded and memory stores).
    Directory,
}

/// A new subject in the shape of an identity provider's: a random UUID.
fn new_sub() -> Result<UserId, Error> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| Error::Internal(format!("no randomness: {e}")))?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex = b.iter().fold(String::with_capacity(32), |mut s, x| {
        use std::fmt::Write as _;
        let _ = write!(s, "{x:02x}");
        s
    });
    UserId::parse(&format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

fn local_directory(backend: &Backend) -> &bbws_core::store::EmbeddedStore {
    match &backend.embedded {
        Some(store) => store,
        None => usage(
            "the local user directory exists on the embedded and memory stores only; on DynamoDB users live in Cognito",
        ),
    }
}

pub async fn user(args: UserArgs) -> Result<(), Error> {
    let (backend, actor) = open(&args.common).await?;
    let svc = backend.org_service();
    let out = args.common.output;
    match args.command {
        UserCommand::Assign {
            tenant,
            email,
            role: r,
            user_id,
            idempotency_key,
        } => {
            let user_id = user_id.as_deref().map(UserId::parse).transpose()?;
            let assigned = svc
                .assign_user(
                    &actor,
                    &tenant_id(&tenant)?,
                    &Email::parse_field(&email, "email")?,
                    role(&r)?,
                    user_id.as_ref(),
                    key(idempotency_key.as_ref())?.as_ref(),
                )
                .await?;
            for w in &assigned.value.warnings {
                eprintln!("warning: {w}");
            }
            output::assignment(out, &assigned.value.assignment, &assigned.value.warnings);
        }
        UserCommand::List {
            tenant,
            role: r,
            limit,
            next_token,
        } => {
            let p = svc
                .list_users(
                    &actor,
                    &tenant_id(&tenant)?,
                    r.as_deref().map(role).transpose()?,
                    &page(limit, next_token.as_ref())?,
                )
                .await?;
            output::assignments(out, &p.items, p.next.as_ref().map(Cursor::as_str));
        }
        UserCommand::Get { user, tenant } => match tenant {
            Some(t) => {
                let a = svc
                    .get_assignment(&actor, &tenant_id(&t)?, &UserId::parse(&user)?)
                    .await?;
                output::assignment(out, &a, &[]);
            }
            None => output::profile(out, &svc.get_user(&actor, &user).await?),
        },
        UserCommand::Role {
            user,
            role: r,
            tenant,
            if_match,
        } => {
            let a = svc
                .change_role(
                    &actor,
                    &tenant_id(&tenant)?,
                    &UserId::parse(&user)?,
                    role(&r)?,
                    if_match,
                )
                .await?;
            output::assignment(out, &a, &[]);
        }
        UserCommand::Remove { user, tenant } => {
            let user = UserId::parse(&user)?;
            svc.remove_user(&actor, &tenant_id(&tenant)?, &user).await?;
            output::done(out, &format!("removed {user} from {tenant}"));
        }
        UserCommand::Tenants { user } => {
            let user = UserId::parse(&user)?;
            let tenants = svc.user_tenants(&actor, &user).await?;
            output::user_tenants(out, &user, &tenants);
        }
        UserCommand::Add { email, sub } => {
            let store = local_directory(&backend);
            let user = DirectoryUser {
                user_id: match sub {
                    Some(s) => UserId::parse(&s)?,
                    None => new_sub()?,
                },
                email: Email::parse_field(&email, "email")?,
                enabled: true,
            };
            store.register_user(&user).await?;
            output::directory(out, std::slice::from_ref(&user));
        }
        UserCommand::Directory => {
            let users = local_directory(&backend).directory_users()?;
            output::directory(out, &users);
        }
    }
    drain(&backend).await;
    Ok(())
}

// ----------------------------------------------------------------------------- invitations

#[derive(Debug, clap::Args)]
pub struct InvitationArgs {
    #[command(subcommand)]
    command: InvitationCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Subcommand)]
enum InvitationCommand {
    /// Invite an e-mail address to a tenant with a role; the link goes out by mail.
    Create {
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        email: String,
        /// admin, operator or viewer.
        #[arg(long)]
        role: String,
        /// The team (`team-…`) the invitee joins on acceptance.
        #[arg(long)]
        team: Option<String>,
        /// Repeat-safe: the same key and arguments invite once.
        #[arg(long)]
        idempotency_key: Option<String>,
    },
    /// A tenant's invitations, newest first.
    List {
        #[arg(long)]
        tenant: String,
        /// PENDING, ACCEPTED, DECLINED, EXPIRED or CANCELLED.
        #[arg(long)]
        status: Option<String>,
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[arg(long)]
        next_token: Option<String>,
    },
    /// Show an invitation.
    Get {
        invitation_id: String,
        #[arg(long)]
        tenant: String,
    },
    /// Cancel a pending invitation.
    Cancel {
        invitation_id: String,
        #[arg(long)]
        tenant: String,
    },
    /// Revoke a pending invitation (the same as cancel).
    Revoke {
        invitation_id: String,
        #[arg(long)]
        tenant: String,
    },
    /// Mail a new link (the old one stops working).
    Resend {
        invitation_id: String,
        #[arg(long)]
        tenant: String,
    },
    /// What the invitee sees, by the token (or the whole link).
    View { token: String },
    /// Accept as the invited user (--as-email, and --as-sub unless the directory knows it).
    Accept { token: String },
    /// Decline, by the token (or the whole link).
    Decline { token: String },
}

/// The token from a token or a whole accept link.
fn token(raw: &str) -> &str {
    let raw = raw.trim().trim_end_matches('/');
    raw.rsplit_once("/invitations/").map_or(raw, |(_, t)| t)
}

pub async fn invitation(args: InvitationArgs) -> Result<(), Error> {
    let (backend, actor) = open(&args.common).await?;
    let svc = backend.org_service();
    let out = args.common.output;
    let max = svc.config().max_resends;
    let inv_id = |s: &str| s.parse::<InvitationId>();
    match args.command {
        InvitationCommand::Create {
            tenant,
            email,
            role: r,
            team,
            idempotency_key,
        } => {
            let created = svc
                .create_invitation(
                    &actor,
                    &tenant_id(&tenant)?,
                    &Email::parse_field(&email, "email")?,
                    role(&r)?,
                    team.as_deref().map(id::<TeamId>).transpose()?,
                    key(idempotency_key.as_ref())?.as_ref(),
                )
                .await?;
            output::invitation(out, &created.value, max);
        }
        InvitationCommand::List {
            tenant,
            status,
            limit,
            next_token,
        } => {
            let status = status
                .as_deref()
                .map(|s| s.to_ascii_uppercase().parse::<InvitationStatus>())
                .transpose()?;
            let p = svc
                .list_invitations(
                    &actor,
                    &tenant_id(&tenant)?,
                    status,
                    &page(limit, next_token.as_ref())?,
                )
                .await?;
            output::invitations(out, &p.items, max, p.next.as_ref().map(Cursor::as_str));
        }
        InvitationCommand::Get {
            invitation_id,
            tenant,
        } => {
            let i = svc
                .get_invitation(&actor, &tenant_id(&tenant)?, inv_id(&invitation_id)?)
                .await?;
            output::invitation(out, &i, max);
        }
        InvitationCommand::Cancel {
            invitation_id,
            tenant,
        } => {
            let i = svc
                .cancel_invitation(&actor, &tenant_id(&tenant)?, inv_id(&invitation_id)?)
                .await?;
            output::invitation(out, &i, max);
        }
        InvitationCommand::Revoke {
            invitation_id,
            tenant,
        } => {
            let i = svc
                .revoke_invitation(&actor, &tenant_id(&tenant)?, inv_id(&invitation_id)?)
                .await?;
            output::invitation(out, &i, max);
        }
        InvitationCommand::Resend {
            invitation_id,
            tenant,
        } => {
            let i = svc
                .resend_invitation(&actor, &tenant_id(&tenant)?, inv_id(&invitation_id)?)
                .await?;
            output::invitation(out, &i, max);
        }
        InvitationCommand::View { token: t } => {
            output::public_invitation(out, &svc.view_invitation(token(&t)).await?);
        }
        InvitationCommand::Accept { token: t } => {
            if args.common.as_email.is_none() {
                return Err(Error::field(
                    "asEmail",
                    "Accepting needs the invited user: give --as-email (and --as-sub unless the directory knows the e-mail)",
                ));
            }
            let a = svc.accept_invitation(&actor, token(&t)).await?;
            output::assignment(out, &a, &[]);
        }
        InvitationCommand::Decline { token: t } => {
            output::public_invitation(out, &svc.decline_invitation(token(&t)).await?);
        }
    }
    drain(&backend).await;
    Ok(())
}

// ------------------------------------------------------------------------------------ mail

#[derive(Debug, clap::Args)]
pub struct MailArgs {
    #[command(subcommand)]
    command: MailCommand,
    #[command(flatten)]
    common: Common,
}

#[derive(Debug, Subcommand)]
enum MailCommand {
    /// The mail the embedded store kept (invitations with their accept links), oldest first.
    List {
        /// Start at this sequence number.
        #[arg(long, default_value_t = 0)]
        from: u64,
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

pub async fn mail(args: MailArgs) -> Result<(), Error> {
    let backend = Backend::open(&args.common.backend.config(&args.common.data.data_dir)?).await?;
    match args.command {
        MailCommand::List { from, limit } => {
            let Some(mailbox) = &backend.mailbox else {
                usage(
                    "the mailbox exists on the embedded and memory stores only; on DynamoDB mail goes out through SES",
                )
            };
            output::mails(args.common.output, &mailbox.list(from, limit)?);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::token;

    #[test]
    fn a_link_or_a_token_gives_the_token() {
        assert_eq!(token("https://portal/invitations/abc"), "abc");
        assert_eq!(token("https://portal/invitations/abc/"), "abc");
        assert_eq!(token(" abc "), "abc");
    }
}
