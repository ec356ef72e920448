//! `bbws instance update`: a rolling update (C4) to a new container image, WordPress version
//! or size tier, accepted and run here with its steps drawn as they complete, as the lifecycle
//! commands do.

use bbws_core::Error;
use bbws_core::auth::Actor;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{InstanceId, TenantId};
use bbws_core::instance::InstanceService;
use bbws_lambda::api::instance_update::UpdateInstanceRequest;

use super::run_accepted;
use crate::output::Output;

/// What an update asks for: at least one of `--image`, `--wordpress-version`, `--tier`.
#[derive(Debug, Clone, clap::Args)]
pub(super) struct UpdateArgs {
    tenant_id: String,
    instance_id: String,
    /// The container image to run: repository[:tag][@sha256:digest]. Wins over
    /// --wordpress-version for the image.
    #[arg(long)]
    image: Option<String>,
    /// `latest` or a version such as 6.4 or 6.4.2; alone, it selects the platform's image of
    /// that version.
    #[arg(long)]
    wordpress_version: Option<String>,
    /// STARTER, STANDARD, PROFESSIONAL or ENTERPRISE: the new revision gets its CPU and memory.
    #[arg(long)]
    tier: Option<String>,
    /// Refuse the update if the instance is no longer at this version (its `ETag`).
    #[arg(long)]
    if_match: Option<u64>,
    /// Repeat-safe: the same key and arguments accept one operation.
    #[arg(long)]
    idempotency_key: Option<String>,
}

/// Accepts the update and runs it here (an update that changes nothing is complete at once).
pub(super) async fn run(
    svc: &InstanceService,
    backend: &bbws_aws::Backend,
    actor: &Actor,
    out: Output,
    args: UpdateArgs,
) -> Result<(), Error> {
    let tenant = args.tenant_id.parse::<TenantId>()?;
    let instance = args.instance_id.parse::<InstanceId>()?;
    let update = UpdateInstanceRequest {
        container_image: args.image,
        wordpress_version: args.wordpress_version,
        tier: args.tier,
    }
    .parse()?;
    let key = args
        .idempotency_key
        .as_deref()
        .map(IdempotencyKey::parse)
        .transpose()?;
    let accepted = svc
        .request_update(
            actor,
            &tenant,
            &instance,
            update,
            args.if_match,
            key.as_ref(),
        )
        .await?;
    let op = &accepted.value.operation;
    eprintln!(
        "accepted: instance {} operation {} ({}): {}",
        accepted.value.instance.id, op.id, op.op_type, op.message
    );
    run_accepted(svc, backend, actor, out, op).await
}
