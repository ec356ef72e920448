//! `bbws token issue`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bbws_core::Error;
use bbws_core::auth::Claims;
use bbws_core::tenant::Email;
use bbws_lambda::api::auth::issue_token;
use clap::Subcommand;

use crate::DataDirArg;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a bearer token signed with the data directory's secret.
    Issue {
        /// The subject (user id).
        #[arg(long)]
        sub: String,
        /// The user's e-mail (recorded as createdBy, parkedBy, ...).
        #[arg(long)]
        email: String,
        /// Cognito groups, comma-separated: Admins, Operators, Viewers, {tenantId}-admins, ...
        #[arg(long, value_delimiter = ',')]
        groups: Vec<String>,
        /// Tenant ids for the Operators and Viewers groups, comma-separated.
        #[arg(long = "tenant-ids", value_delimiter = ',')]
        tenant_ids: Vec<String>,
        /// The customer id claim.
        #[arg(long = "customer-id")]
        customer_id: Option<String>,
        /// How long the token lives (e.g. 15m, 1h, 7d).
        #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
        ttl: Duration,
        #[command(flatten)]
        data: DataDirArg,
    },
}

pub fn run(cmd: TokenCommand) -> Result<(), Error> {
    let TokenCommand::Issue {
        sub,
        email,
        groups,
        tenant_ids,
        customer_id,
        ttl,
        data,
    } = cmd;
    if sub.trim().is_empty() {
        return Err(Error::field("sub", "--sub must not be empty"));
    }
    let email = Email::parse(&email)?;
    if ttl.is_zero() {
        return Err(Error::field("ttl", "--ttl must be positive"));
    }
    let secret = crate::data_dir::secret(&data.data_dir)?;
    let claims = Claims {
        sub,
        email: Some(email.as_str().to_owned()),
        groups: groups
            .into_iter()
            .map(|g| g.trim().to_owned())
            .filter(|g| !g.is_empty())
            .collect(),
        tenant_ids: tenant_ids
            .into_iter()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        customer_id,
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_err(|e| Error::Internal(e.to_string()))?
        .as_secs();
    println!("{}", issue_token(&secret, &claims, ttl, now)?);
    Ok(())
}
