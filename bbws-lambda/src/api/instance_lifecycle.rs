//! Lifecycle endpoints of an instance (digest 2.7 §1.1 C8–C12, C16; §6): each accepts the change
//! as an operation (202, `Location: /v1.0/operations/{id}`), which the instance worker runs (or
//! this process, under `bbws serve`). The wrong state is 422 with `allowedTransitions`.
//!
//! | Endpoint | Body | From | Through |
//! |---|---|---|---|
//! | `POST …/suspend` | `{reason}` (10–500 characters) | ACTIVE | SUSPENDING → SUSPENDED |
//! | `POST …/resume` | – | SUSPENDED | RESUMING → ACTIVE |
//! | `POST …/park` | `{reason}` | ACTIVE | PARKING → PARKED |
//! | `POST …/unpark` | – | PARKED | UNPARKING → ACTIVE |
//! | `PUT …/size` | `{desiredCount}` (the platform's bounds) | ACTIVE | SCALING → ACTIVE |
//! | `POST …/restart` | – | ACTIVE | ACTIVE (a new deployment) |
//!
//! Who may call: the platform operators and admins of the tenant (`Provisioning`).

use axum::extract::State;
use bbws_core::instance::LifecycleRequest;
use serde::Deserialize;
use utoipa::ToSchema;

use super::extract::{Caller, IdempotencyHeader, JsonBody, PathParams};
use super::instance_dto::AcceptedResponse;
use super::instances::{InstancesState, accepted_and_run, instance_id};

type ApiResult = Result<axum::response::Response, super::error::ApiError>;

/// Body of `POST …/suspend` and `POST …/park`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReasonRequest {
    /// Why (10–500 characters), for the audit trail.
    #[schema(min_length = 10, max_length = 500)]
    pub reason: Option<String>,
}

/// Body of `PUT …/size`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SizeRequest {
    /// The new number of tasks (the platform's bounds, 2–10 outside DEV).
    pub desired_count: i64,
}

async fn accept(
    s: InstancesState,
    actor: bbws_core::auth::Actor,
    p: &PathParams,
    key: Option<bbws_core::idempotency::IdempotencyKey>,
    req: LifecycleRequest,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(p)?;
    let message = format!("Instance {} accepted", req.operation_type());
    let created = s
        .instances
        .request_lifecycle(&actor, &tenant, &id, req, key.as_ref())
        .await?;
    Ok(accepted_and_run(&s, &actor, created, &message).await)
}

/// Suspend an instance (C9): the service to 0 tasks with autoscaling paused; data kept.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/suspend", tag = "instances",
    request_body = ReasonRequest,
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn suspend_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> ApiResult {
    let req = LifecycleRequest::parse("suspend", body.reason.as_deref(), None)?;
    accept(s, actor, &p, key, req).await
}

/// Resume a suspended instance (C10): the stored desired count back, autoscaling resumed.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/resume", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn resume_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
) -> ApiResult {
    accept(s, actor, &p, key, LifecycleRequest::Resume).await
}

/// Park an instance (C11): as suspend, in the PARKING/PARKED states.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/park", tag = "instances",
    request_body = ReasonRequest,
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn park_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> ApiResult {
    let req = LifecycleRequest::parse("park", body.reason.as_deref(), None)?;
    accept(s, actor, &p, key, req).await
}

/// Unpark a parked instance (C12).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/unpark", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn unpark_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
) -> ApiResult {
    accept(s, actor, &p, key, LifecycleRequest::Unpark).await
}

/// Scale an instance (C8): a new desired count, kept inside the autoscaling bounds.
#[utoipa::path(
    put, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/size", tag = "instances",
    request_body = SizeRequest,
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn scale_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<SizeRequest>,
) -> ApiResult {
    let req = LifecycleRequest::parse("scale", None, Some(body.desired_count))?;
    accept(s, actor, &p, key, req).await
}

/// Restart an instance (C16): a rolling new deployment of the same task definition.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/restart", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn restart_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
) -> ApiResult {
    accept(s, actor, &p, key, LifecycleRequest::Restart).await
}
