//! C4: `PUT /v1.0/tenants/{tenantId}/instances/{instanceId}` (digest 2.7 §1.1, §1.3
//! `UpdateInstanceRequest`, §6): a rolling update of an ACTIVE instance to a new container
//! image, WordPress version and/or size tier, accepted as an `UPDATE` operation (202,
//! `Location: /v1.0/operations/{id}`) which the instance worker runs (or this process, under
//! `bbws serve`). The instance stays ACTIVE while the new task definition revision rolls out.
//!
//! - The body names at least one of `containerImage` (`repository[:tag][@sha256:digest]`),
//!   `wordpressVersion` (`latest`, `6.4`, `6.4.2`) and `tier`; unknown fields and bad values
//!   are 400 with the field. A version alone selects the platform's image of that version; an
//!   image given wins.
//! - `If-Match` with the instance's `ETag`: another version is 409 `VERSION_CONFLICT`.
//! - Not ACTIVE: 422 with `allowedTransitions`. The instance's own operation still running: 409.
//! - A request that changes nothing is accepted as an operation already COMPLETED (its steps
//!   SKIPPED), so a repeated `PUT` answers as the first did.
//! - `?dryRun=true`: 200 with the plan (the new revision, the rollout), nothing changed.
//!
//! Who may call: the platform operators and admins of the tenant (`Provisioning`).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use bbws_core::Error;
use bbws_core::instance::InstanceUpdate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::extract::{
    Caller, IdempotencyHeader, IfMatch, JsonBody, PathParams, QueryPairs, query_bool,
};
use super::instance_dto::{AcceptedResponse, PlanResponse};
use super::instances::{InstancesState, accepted_and_run, instance_id};

type ApiResult = Result<axum::response::Response, super::error::ApiError>;

/// The `message` of an accepted update.
pub const UPDATE_ACCEPTED: &str = "Instance update accepted";

/// Body of `PUT …/instances/{instanceId}` (C4); also how an operation shows the change it
/// carries (`update` of an `UPDATE` operation).
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateInstanceRequest {
    /// The image to run: `repository[:tag][@sha256:digest]`, at most 255 characters of
    /// repository and 128 of tag. Wins over `wordpressVersion` for the image.
    #[schema(example = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bbws/wordpress:6.4.2")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_image: Option<String>,
    /// `latest` or a dotted version; alone, it selects the platform's image of that version.
    #[schema(
        example = "6.4.2",
        pattern = "^(latest|[0-9]{1,3}(\\.[0-9]{1,3}){0,2})$"
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wordpress_version: Option<String>,
    /// The size tier; the new revision gets its CPU and memory.
    #[schema(
        example = "PROFESSIONAL",
        pattern = "^(STARTER|STANDARD|PROFESSIONAL|ENTERPRISE)$"
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
}

impl UpdateInstanceRequest {
    /// Parses into an [`InstanceUpdate`]: every bad field is reported; none given is 400.
    pub fn parse(&self) -> Result<InstanceUpdate, Error> {
        InstanceUpdate::parse(
            self.container_image.as_deref(),
            self.wordpress_version.as_deref(),
            self.tier.as_deref(),
        )
    }
}

impl From<&InstanceUpdate> for UpdateInstanceRequest {
    fn from(u: &InstanceUpdate) -> Self {
        Self {
            container_image: u.container_image().map(|i| i.as_str().to_owned()),
            wordpress_version: u.wordpress_version().map(|v| v.as_str().to_owned()),
            tier: u.tier().map(|t| t.as_str().to_owned()),
        }
    }
}

/// Update an instance (C4): a rolling update to a new image, WordPress version or tier.
#[utoipa::path(
    put, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}", tag = "instances",
    request_body = UpdateInstanceRequest,
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("dryRun" = Option<bool>, Query, description = "true: answer the plan, change nothing"),
        ("If-Match" = Option<String>, Header, description = "The instance's ETag the change is based on; a stale one is 409 VERSION_CONFLICT"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h; another body with the same key is 409"),
    ),
    responses(
        (status = 202, description = "Accepted: the operation rolls the update out (COMPLETED at once when nothing changes)", body = AcceptedResponse,
            headers(("Location" = String, description = "The operation"))),
        (status = 200, description = "dryRun: the plan", body = PlanResponse),
    )
)]
pub async fn update_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    q: QueryPairs,
    IfMatch(if_match): IfMatch,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<UpdateInstanceRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let dry_run = query_bool(&q, "dryRun")?;
    let update = body.parse()?;
    if dry_run {
        let plan = s
            .instances
            .plan_update(&actor, &tenant, &id, update)
            .await?;
        return Ok(Json(PlanResponse::from(&plan)).into_response());
    }
    let created = s
        .instances
        .request_update(&actor, &tenant, &id, update, if_match, key.as_ref())
        .await?;
    Ok(accepted_and_run(&s, &actor, created, UPDATE_ACCEPTED).await)
}
