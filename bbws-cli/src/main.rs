//! `bbws`: the bbws operations CLI.
//!
//! - `bbws serve`: the HTTP API on the embedded store (or in memory), with bearer-JWT auth;
//! - `bbws token issue`: mints a token `bbws serve` accepts;
//! - `bbws tenant ...`: tenant operations straight on the store of a data directory.
//!
//! Every failure exits with the code of its error class (`bbws_core::error::exit`): 3 validation,
//! 4 authentication/authorization, 5 not found, 6 conflict, 7 invalid state, 10 internal; 2 is a
//! usage error.

mod data_dir;
mod output;
mod serve;
mod tenant;
mod token;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

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
    /// Tenant operations on the store of a data directory.
    Tenant(tenant::TenantArgs),
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
    let result = runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => serve::run(args).await,
            Command::Token { command } => token::run(command),
            Command::Tenant(args) => tenant::run(args).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            output::print_error(&e);
            ExitCode::from(e.code().exit_code())
        }
    }
}
