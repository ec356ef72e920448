//! `bbws instance logs`, `bbws instance identity` and `bbws instance configure-identity`
//! (digest 2.7 C15, C18, C19): one service call each, printed as the API answers it.
//!
//! `logs` prints one page of the containers' logs, oldest first; when there is more, the
//! command to fetch the next page goes to stderr. `identity` reads the tenant's Cognito pool (the
//! app client by its id; never its secret). `configure-identity` accepts a change of the password
//! policy and/or MFA and runs it here, as the lifecycle commands do. The first two need a live
//! cloud: on the local backends (the plan recorder) they are refused with `CLOUD_UNAVAILABLE`.

use bbws_aws::Backend;
use bbws_core::Error;
use bbws_core::auth::Actor;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{InstanceId, TenantId};
use bbws_core::instance::{IdentityConfig, InstanceService, LogPage, LogQuery};
use bbws_lambda::api::instance_identity::{
    ConfigureIdentityRequest, IdentityResponse, PasswordPolicyRequest,
};
use bbws_lambda::api::instance_logs::InstanceLogsResponse;

use crate::instance::{json_out, run_accepted, table};
use crate::output::Output;

/// `bbws instance logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    tenant_id: String,
    instance_id: String,
    /// Start of the window, RFC 3339 (default: one hour before --until).
    #[arg(long)]
    since: Option<String>,
    /// End of the window, RFC 3339 (default: now).
    #[arg(long)]
    until: Option<String>,
    /// Entries per page, 1-1000 (default 100).
    #[arg(long)]
    limit: Option<u32>,
    /// The token the previous page printed; it holds that page's window.
    #[arg(long)]
    next_token: Option<String>,
}

/// `bbws instance identity`.
#[derive(Debug, clap::Args)]
pub struct IdentityArgs {
    tenant_id: String,
    instance_id: String,
}

/// `bbws instance configure-identity`: the rules given are set, the others kept.
#[derive(Debug, clap::Args)]
pub struct ConfigureIdentityArgs {
    tenant_id: String,
    instance_id: String,
    /// Minimum password length (8-99).
    #[arg(long)]
    min_length: Option<i64>,
    /// Require an upper-case letter (`--require-uppercase` alone means true).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    require_uppercase: Option<bool>,
    /// Require a lower-case letter.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    require_lowercase: Option<bool>,
    /// Require a digit.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    require_numbers: Option<bool>,
    /// Require a symbol.
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    require_symbols: Option<bool>,
    /// MFA: OFF, OPTIONAL or REQUIRED (a TOTP app).
    #[arg(long)]
    mfa: Option<String>,
    /// Repeat-safe: the same key and arguments accept one operation.
    #[arg(long)]
    idempotency_key: Option<String>,
}

fn ids(tenant: &str, instance: &str) -> Result<(TenantId, InstanceId), Error> {
    Ok((tenant.parse()?, instance.parse()?))
}

fn print_logs(out: Output, args: &LogsArgs, page: &LogPage) {
    let r = InstanceLogsResponse::from(page);
    if out == Output::Json {
        return json_out(&r);
    }
    eprintln!(
        "{} entries of {} from {} to {}",
        r.count, r.instance_id, r.start_time, r.end_time
    );
    if !r.entries.is_empty() {
        let mut t = table(&["timestamp", "task", "message"]);
        for e in &r.entries {
            let task = e.log_stream.rsplit('/').next().unwrap_or_default();
            t.add_row(vec![
                e.timestamp.clone(),
                task.to_owned(),
                e.message.trim_end().to_owned(),
            ]);
        }
        println!("{t}");
    }
    if let Some(token) = &r.next_token {
        eprintln!(
            "more: bbws instance logs {} {} --limit {} --next-token {token}",
            args.tenant_id, args.instance_id, r.limit
        );
    }
}

fn print_identity(out: Output, c: &IdentityConfig) {
    let r = IdentityResponse::from(c);
    if out == Output::Json {
        return json_out(&r);
    }
    let p = &r.password_policy;
    let mut t = table(&["field", "value"]);
    for (k, v) in [
        ("userPoolId", Some(r.user_pool_id.clone())),
        ("userPoolArn", r.user_pool_arn.clone()),
        ("clientId", r.client_id.clone()),
        ("domain", r.domain.clone()),
        ("minimumLength", Some(p.minimum_length.to_string())),
        ("requireUppercase", Some(p.require_uppercase.to_string())),
        ("requireLowercase", Some(p.require_lowercase.to_string())),
        ("requireNumbers", Some(p.require_numbers.to_string())),
        ("requireSymbols", Some(p.require_symbols.to_string())),
        ("mfaConfiguration", Some(r.mfa_configuration.clone())),
        ("checkedAt", Some(r.checked_at.clone())),
    ] {
        if let Some(v) = v {
            t.add_row(vec![k.to_owned(), v]);
        }
    }
    println!("{t}");
}

/// `bbws instance logs`.
pub async fn logs(
    svc: &InstanceService,
    actor: &Actor,
    out: Output,
    args: &LogsArgs,
) -> Result<(), Error> {
    let (tenant, instance) = ids(&args.tenant_id, &args.instance_id)?;
    let limit = args.limit.map(|n| n.to_string());
    let query = LogQuery::parse(
        args.since.as_deref(),
        args.until.as_deref(),
        limit.as_deref(),
        args.next_token.as_deref(),
    )?;
    let page = svc.logs(actor, &tenant, &instance, query).await?;
    print_logs(out, args, &page);
    Ok(())
}

/// `bbws instance identity`.
pub async fn identity(
    svc: &InstanceService,
    actor: &Actor,
    out: Output,
    args: &IdentityArgs,
) -> Result<(), Error> {
    let (tenant, instance) = ids(&args.tenant_id, &args.instance_id)?;
    let c = svc.identity(actor, &tenant, &instance).await?;
    print_identity(out, &c);
    Ok(())
}

/// `bbws instance configure-identity`: accepts the change (as `PUT …/identity` reads it) and
/// runs it here.
pub async fn configure_identity(
    svc: &InstanceService,
    backend: &Backend,
    actor: &Actor,
    out: Output,
    args: ConfigureIdentityArgs,
) -> Result<(), Error> {
    let (tenant, instance) = ids(&args.tenant_id, &args.instance_id)?;
    let rules = [
        args.require_uppercase,
        args.require_lowercase,
        args.require_numbers,
        args.require_symbols,
    ];
    let password_policy = (args.min_length.is_some() || rules.iter().any(Option::is_some))
        .then_some(PasswordPolicyRequest {
            minimum_length: args.min_length,
            require_uppercase: args.require_uppercase,
            require_lowercase: args.require_lowercase,
            require_numbers: args.require_numbers,
            require_symbols: args.require_symbols,
        });
    let change = ConfigureIdentityRequest {
        password_policy,
        mfa_configuration: args.mfa,
    }
    .parse()?;
    let key = args
        .idempotency_key
        .as_deref()
        .map(IdempotencyKey::parse)
        .transpose()?;
    let accepted = svc
        .request_identity_configuration(actor, &tenant, &instance, change, key.as_ref())
        .await?;
    eprintln!(
        "accepted: instance {} operation {} ({})",
        accepted.value.instance.id, accepted.value.operation.id, accepted.value.operation.op_type
    );
    run_accepted(svc, backend, actor, out, &accepted.value.operation).await
}
