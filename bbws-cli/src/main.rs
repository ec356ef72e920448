//! `bbws`: the bbws operations CLI.
//!
//! - `bbws serve`: the HTTP API on the embedded store (or in memory, or on DynamoDB), with
//!   bearer-JWT auth;
//! - `bbws token issue`: mints a token `bbws serve` accepts;
//! - `bbws tenant ...`: tenant operations straight on the store (a data directory or DynamoDB);
//! - `bbws division|group|team|hierarchy|user|invitation|mail ...`: the organisation of a tenant
//!   (hierarchy, users and roles, invitations) on the same store;
//! - `bbws instance ...`: plan, provision and deprovision WordPress instances (the engine runs
//!   in process), show instances and operations, audit the cloud for orphans and drift;
//! - `bbws table create`: creates a service's DynamoDB table.
//!
//! Every failure exits with the code of its error class (`bbws_core::error::exit`): 3 validation,
//! 4 authentication/authorization, 5 not found, 6 conflict, 7 invalid state, 10 internal; 2 is a
//! usage error. `bbws instance audit` exits 1 when it finds orphans, untracked databases or
//! drift.

mod data_dir;
mod instance;
mod instance_identity_logs;
mod org;
mod output;
mod serve;
mod table;
mod tenant;
mod token;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bbws_aws::{BackendConfig, BackendKind};
use bbws_core::Error;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "bbws",
    version,
    about = "Control plane for multi-tenant WordPress hosting"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API.
    Serve(serve::ServeArgs),
    /// Bearer tokens for `bbws serve`.
    Token {
        #[command(subcommand)]
        command: token::TokenCommand,
    },
    /// Tenant operations on the store (a data directory, or DynamoDB).
    Tenant(tenant::TenantArgs),
    /// A tenant's divisions.
    Division(org::DivisionArgs),
    /// A tenant's groups (in a division).
    Group(org::GroupArgs),
    /// A tenant's teams (in a group) and their members.
    Team(org::TeamArgs),
    /// A tenant's whole organisation hierarchy.
    Hierarchy(org::HierarchyArgs),
    /// Users: tenant assignments and roles, and the local directory.
    User(org::UserArgs),
    /// Invitations to join a tenant.
    Invitation(org::InvitationArgs),
    /// The mail the embedded store kept.
    Mail(org::MailArgs),
    /// WordPress instances: plan, provision, deprovision, inspect operations, audit.
    Instance(instance::InstanceArgs),
    /// DynamoDB tables.
    Table {
        #[command(subcommand)]
        command: table::TableCommand,
    },
}

/// Where a command keeps its state.
#[derive(Debug, Clone, clap::Args)]
struct DataDirArg {
    /// The data directory (store file, JWT secret, event log).
    #[arg(
        long,
        env = "BBWS_DATA_DIR",
        default_value = "./bbws-data",
        global = true
    )]
    data_dir: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum BackendArg {
    /// The persistent embedded store in the data directory.
    Embedded,
    /// An in-memory store, gone when the process exits.
    Memory,
    /// A DynamoDB table (events go to EventBridge).
    #[value(name = "dynamodb")]
    DynamoDb,
}

impl BackendArg {
    fn kind(self) -> BackendKind {
        match self {
            Self::Embedded => BackendKind::Embedded,
            Self::Memory => BackendKind::Memory,
            Self::DynamoDb => BackendKind::DynamoDb,
        }
    }
}

/// Which store a command works on. Each flag overrides the environment variable of the same
/// meaning, read as `bbws_aws::BackendConfig::from_env` reads it (so `--table` alone, like
/// `DYNAMODB_TABLE` alone, selects DynamoDB).
#[derive(Debug, Clone, clap::Args)]
struct BackendArgs {
    #[arg(
        long,
        value_enum,
        global = true,
        help = "The store [env: BBWS_BACKEND; default: dynamodb when a table is named, else embedded]"
    )]
    backend: Option<BackendArg>,
    #[arg(
        long,
        global = true,
        help = "The DynamoDB tenants table [env: DYNAMODB_TABLE; default: bbws-tenants-{ENVIRONMENT}]"
    )]
    table: Option<String>,
    #[arg(
        long,
        global = true,
        help = "Send AWS requests to this endpoint, e.g. a local moto server [env: AWS_ENDPOINT_URL]"
    )]
    endpoint_url: Option<String>,
}

impl BackendArgs {
    /// The backend configuration: these flags over the environment, with `data_dir`.
    fn config(&self, data_dir: &Path) -> Result<BackendConfig, Error> {
        let mut config = backend_config(|k| match k {
            "BBWS_BACKEND" => self.backend.map(|b| b.kind().as_str().to_owned()),
            "DYNAMODB_TABLE" => self.table.clone(),
            "AWS_ENDPOINT_URL" => self.endpoint_url.clone(),
            _ => None,
        })?;
        data_dir.clone_into(&mut config.data_dir);
        Ok(config)
    }
}

/// `BackendConfig::from_env` over the process environment, with `flag` values taking precedence.
fn backend_config(flag: impl Fn(&str) -> Option<String>) -> Result<BackendConfig, Error> {
    BackendConfig::from_env(|k| flag(k).or_else(|| std::env::var(k).ok()))
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(bbws_core::error::exit::INTERNAL);
        }
    };
    let done = |r: Result<(), Error>| r.map(|()| ExitCode::SUCCESS);
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => done(serve::run(args).await),
            Command::Token { command } => done(token::run(command)),
            Command::Tenant(args) => done(tenant::run(args).await),
            Command::Table { command } => done(table::run(command).await),
            Command::Division(args) => done(org::division(args).await),
            Command::Group(args) => done(org::group(args).await),
            Command::Team(args) => done(org::team(args).await),
            Command::Hierarchy(args) => done(org::hierarchy(args).await),
            Command::User(args) => done(org::user(args).await),
            Command::Invitation(args) => done(org::invitation(args).await),
            Command::Mail(args) => done(org::mail(args).await),
            Command::Instance(args) => Box::pin(instance::run(args)).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(e.code().exit_code())
        }
    }
}
