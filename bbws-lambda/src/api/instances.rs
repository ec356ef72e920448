//! Instance endpoints (digest 2.7 §1.1 C1–C3, C5, C6, C17, C20 and the retry of US-2.7-005). Each handler
//! parses, calls one service method, renders. Work is accepted with 202 and an operation; the
//! engine runs it elsewhere (the instance worker), or here when the router is given an engine
//! to run accepted operations with (`bbws serve`).
//!
//! Who may call: the platform operators and admins of the tenant (the service authorizes
//! `Provisioning` for C2 and retry, `Delete` for C5, `Read` for C1, C3, C6, C17 and C20); a caller outside
//! the tenant gets 404.

use axum::Json;
use axum::extract::{FromRef, OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bbws_core::Error;
use bbws_core::auth::Actor;
use bbws_core::ids::{InstanceId, OperationId};
use bbws_core::instance::{Accepted, CloudMode, InstanceService, ProvisioningEngine, StepName};
use std::sync::Arc;

use super::auth::Authenticator;
use super::error::ApiError;
use super::extract::{
    Caller, IdempotencyHeader, OptionalJsonBody, PathParams, QueryPairs, query_bool,
};
use super::instance_dto::{
    AcceptedResponse, CreateInstanceRequest, InstanceHealthResponse, InstanceListResponse,
    InstanceResponse, InstanceStatusResponse, OperationResponse, PlanResponse, deprovision_options,
    operation_href,
};
use super::tenants::etag;

type ApiResult = Result<Response, ApiError>;

/// The `message` of an accepted provisioning.
pub const PROVISIONING_ACCEPTED: &str = "Instance provisioning accepted";
/// The `message` of an accepted deprovisioning.
pub const DEPROVISIONING_ACCEPTED: &str = "Instance deprovisioning accepted";

/// What the instance handlers share.
#[derive(Debug, Clone)]
pub struct InstancesState {
    pub instances: InstanceService,
    /// Runs accepted operations in this process. On a cloud that only records plans the run is
    /// refused at once and the operation ends FAILED with `CLOUD_UNAVAILABLE`, which the 202
    /// answer already shows; on a live cloud the run continues in the background.
    pub engine: Option<ProvisioningEngine>,
    pub auth: Arc<dyn Authenticator>,
}

impl FromRef<InstancesState> for Arc<dyn Authenticator> {
    fn from_ref(s: &InstancesState) -> Self {
        s.auth.clone()
    }
}

pub(crate) fn instance_id(p: &PathParams) -> Result<InstanceId, Error> {
    p.raw("instanceId")?
        .parse::<InstanceId>()
        .map_err(|_| Error::field("instanceId", "Invalid instance ID format"))
}

fn instance_response(status: StatusCode, i: &bbws_core::instance::Instance) -> Response {
    let mut res = (status, Json(InstanceResponse::from(i))).into_response();
    res.headers_mut().insert(header::ETAG, etag(i.version));
    res
}

/// Runs the accepted operation here if this router was given an engine.
pub(crate) async fn run_here(
    s: &InstancesState,
    actor: &Actor,
    mut accepted: Accepted,
) -> Accepted {
    let Some(engine) = s.engine.clone() else {
        return accepted;
    };
    let op = accepted.operation.id;
    if engine.cloud().mode == CloudMode::Plan {
        match engine.run_or_refuse(&op).await {
            Ok(done) => accepted.operation = done,
            Err(e) => {
                tracing::warn!(operation_id = %op, error = %e, "operation refused: this server's cloud only records plans");
            }
        }
        if let Ok(o) = s.instances.operation(actor, &op).await {
            accepted.operation = o;
        }
        if let Ok(i) = s
            .instances
            .get(actor, &accepted.instance.tenant_id, &accepted.instance.id)
            .await
        {
            accepted.instance = i;
        }
    } else {
        tokio::spawn(async move {
            if let Err(e) = engine.run(&op).await {
                tracing::warn!(operation_id = %op, error = %e, "operation stopped; it resumes when run again");
            }
        });
    }
    accepted
}

/// An accepted operation run here first (`bbws serve`), unless it is a replay: a replay answers
/// as the first request did.
pub(crate) async fn settle(
    s: &InstancesState,
    actor: &Actor,
    created: bbws_core::tenant::Created<Accepted>,
) -> Accepted {
    if created.replayed {
        created.value
    } else {
        Box::pin(run_here(s, actor, created.value)).await
    }
}

/// The 202 of an accepted operation ([`settle`]d first): `Location` names the operation.
pub(crate) async fn accepted_and_run(
    s: &InstancesState,
    actor: &Actor,
    created: bbws_core::tenant::Created<Accepted>,
    message: &str,
) -> Response {
    let replayed = created.replayed;
    let accepted = settle(s, actor, created).await;
    accepted_response(&accepted, message, replayed)
}

pub(crate) fn accepted_response(a: &Accepted, message: &str, replayed: bool) -> Response {
    accepted_with_body(&AcceptedResponse::new(a, message), a, replayed)
}

/// A 202 for `a` with `body` (the accepted operation, or a shape that holds it).
pub(crate) fn accepted_with_body(
    body: &impl serde::Serialize,
    a: &Accepted,
    replayed: bool,
) -> Response {
    let mut res = (StatusCode::ACCEPTED, Json(body)).into_response();
    if let Ok(loc) = HeaderValue::from_str(&operation_href(&a.operation.id)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    res
}

/// List a tenant's instances (C1).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances", tag = "instances",
    params(("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$")),
    responses((status = 200, description = "The tenant's instances, oldest first", body = InstanceListResponse))
)]
pub async fn list_instances(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    OriginalUri(uri): OriginalUri,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let items = s.instances.list(&actor, &tenant).await?;
    Ok(Json(InstanceListResponse::new(&tenant, &items, uri.path())).into_response())
}

/// Provision an instance (C2): 202 with the operation, `Location: /v1.0/operations/{id}`.
/// `?dryRun=true` answers 200 with the plan (the AWS calls and names) and stores nothing.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances", tag = "instances",
    request_body(content = Option<CreateInstanceRequest>, description = "Optional: defaults to a STANDARD instance with 2 tasks and the latest WordPress"),
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("dryRun" = Option<bool>, Query, description = "true: answer the plan, create nothing"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h; another body with the same key is 409"),
    ),
    responses(
        (status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
            headers(("Location" = String, description = "The operation"))),
        (status = 200, description = "dryRun: the plan", body = PlanResponse),
    )
)]
pub async fn provision_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    q: QueryPairs,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJsonBody(body): OptionalJsonBody<CreateInstanceRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let dry_run = query_bool(&q, "dryRun")?;
    let req = body
        .unwrap_or_default()
        .parse(s.instances.config().min_tasks)?;
    if dry_run {
        let plan = s.instances.plan_provisioning(&actor, &tenant, req).await?;
        return Ok(Json(PlanResponse::from(&plan)).into_response());
    }
    let created = s
        .instances
        .request_provisioning(&actor, &tenant, req, key.as_ref())
        .await?;
    Ok(accepted_and_run(&s, &actor, created, PROVISIONING_ACCEPTED).await)
}

/// An instance (C3).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses((status = 200, description = "The instance", body = InstanceResponse,
        headers(("ETag" = String, description = "The version"))))
)]
pub async fn get_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let i = s.instances.get(&actor, &tenant, &id).await?;
    Ok(instance_response(StatusCode::OK, &i))
}

/// The live running status of an instance (C6): the ECS service's counts, deployments and
/// tasks as ECS answers now, with the stored provisioning state. ECS failing to answer is shown
/// (`serviceStatus` `UNKNOWN` with the reason), not an error.
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/status", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses((status = 200, description = "The live status", body = InstanceStatusResponse))
)]
pub async fn get_instance_status(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let status = s.instances.status(&actor, &tenant, &id).await?;
    Ok(Json(InstanceStatusResponse::from(&status)).into_response())
}

/// The composite health of an instance (C17) over the ECS service, its targets, the EFS access
/// point, the tenant database and the Cognito pool, as far as its state has them. A component
/// that cannot be asked is `UNKNOWN` with the reason.
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/health", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses((status = 200, description = "The composite health", body = InstanceHealthResponse))
)]
pub async fn get_instance_health(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let health = s.instances.health(&actor, &tenant, &id).await?;
    Ok(Json(InstanceHealthResponse::from(&health)).into_response())
}

/// Deprovision an instance (C5): 202 with the operation. `archiveData` (default true) archives
/// the database and files first. `?dryRun=true` answers 200 with the plan.
#[utoipa::path(
    delete, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("archiveData" = Option<bool>, Query, description = "Archive the database and files before deleting (default true)"),
        ("reason" = Option<String>, Query, description = "Why, for the audit trail (at most 500 characters)"),
        ("dryRun" = Option<bool>, Query, description = "true: answer the plan, delete nothing"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses(
        (status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
            headers(("Location" = String, description = "The operation"))),
        (status = 200, description = "dryRun: the plan", body = PlanResponse),
    )
)]
pub async fn deprovision_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    q: QueryPairs,
    IdempotencyHeader(key): IdempotencyHeader,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let archive_data = match q.get("archiveData") {
        None => true,
        Some(_) => query_bool(&q, "archiveData")?,
    };
    let options = deprovision_options(archive_data, q.get("reason").map(str::to_owned))?;
    if query_bool(&q, "dryRun")? {
        let plan = s
            .instances
            .plan_deprovisioning(&actor, &tenant, &id, options)
            .await?;
        return Ok(Json(PlanResponse::from(&plan)).into_response());
    }
    let created = s
        .instances
        .request_deprovisioning(&actor, &tenant, &id, options, key.as_ref())
        .await?;
    Ok(accepted_and_run(&s, &actor, created, DEPROVISIONING_ACCEPTED).await)
}

/// Retry a failed provisioning (US-2.7-005): FAILED → `PENDING_PROVISIONING` with a new
/// operation that resumes from the resource ledger and creates nothing twice.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/retry", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses((status = 202, description = "Accepted: a new operation resumes the provisioning", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn retry_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let accepted = s.instances.retry_provisioning(&actor, &tenant, &id).await?;
    let accepted = run_here(&s, &actor, accepted).await;
    Ok(accepted_response(&accepted, PROVISIONING_ACCEPTED, false))
}

/// An operation (C20): status, steps, progress, estimated completion, failure reason.
#[utoipa::path(
    get, path = "/v1.0/operations/{operationId}", tag = "instances",
    params(("operationId" = String, Path, pattern = "^op-[0-9a-f-]{36}$")),
    responses((status = 200, description = "The operation", body = OperationResponse,
        headers(("ETag" = String, description = "The version"))))
)]
pub async fn get_operation(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let id = p
        .raw("operationId")?
        .parse::<OperationId>()
        .map_err(|_| Error::field("operationId", "Invalid operation ID format"))?;
    let op = s.instances.operation(&actor, &id).await?;
    let mut res = Json(OperationResponse::from(&op)).into_response();
    res.headers_mut().insert(header::ETAG, etag(op.version));
    Ok(res)
}

/// The steps of a provisioning, for documentation and clients that show them.
pub fn provisioning_steps() -> Vec<&'static str> {
    StepName::PROVISION.iter().map(|s| s.as_str()).collect()
}
