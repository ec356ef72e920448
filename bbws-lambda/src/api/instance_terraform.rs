//! C21 `GET /v1.0/tenants/{tenantId}/instances/{instanceId}/terraform`: the tenant's Terraform for
//! the `GitOps` variant (digest 2.7 §9.5), as `{files: {path: content}}`. The files are rendered
//! from the instance record by `bbws_core::instance::terraform`; reading them takes the right to
//! provision (they name the platform's shared resources).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bbws_core::Error;
use bbws_core::ids::InstanceId;
use serde::Serialize;
use utoipa::ToSchema;

use super::dto::{Link, Links};
use super::error::ApiError;
use super::extract::{Caller, PathParams};
use super::instance_dto::instance_href;
use super::instances::InstancesState;

/// The tenant's Terraform files.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TerraformResponse {
    pub tenant_id: String,
    pub instance_id: String,
    pub resource_key: String,
    /// File contents by path from the repository root (`tenants/{key}/main.tf`,
    /// `.github/workflows/deploy-tenant-{key}.yml`, ...), in path order.
    pub files: BTreeMap<String, String>,
    #[serde(rename = "_links")]
    #[schema(value_type = Object)]
    pub links: Links,
}

/// The tenant's Terraform for the `GitOps` variant (C21).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/terraform", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses((status = 200, description = "The rendered files", body = TerraformResponse))
)]
pub async fn get_terraform(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> Result<Response, ApiError> {
    let tenant = p.tenant()?;
    let id = p
        .raw("instanceId")?
        .parse::<InstanceId>()
        .map_err(|_| Error::field("instanceId", "Invalid instance ID format"))?;
    let files = s.instances.terraform(&actor, &tenant, &id).await?;
    let instance = instance_href(&tenant, &id);
    let links = Links::from([
        (
            "self".to_owned(),
            Link::get(format!("{instance}/terraform")),
        ),
        ("instance".to_owned(), Link::get(instance)),
    ]);
    Ok((
        StatusCode::OK,
        Json(TerraformResponse {
            tenant_id: tenant.to_string(),
            instance_id: id.to_string(),
            resource_key: files.resource_key,
            files: files.files,
            links,
        }),
    )
        .into_response())
}
