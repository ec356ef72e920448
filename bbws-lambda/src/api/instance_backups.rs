//! Backups of an instance (digest 2.7 §1.1 C13, C14, C22; §2.4): take one, list them, restore
//! one. Taking and restoring are operations (202, `Location: /v1.0/operations/{id}`).
//!
//! | Endpoint | Body | From | Through |
//! |---|---|---|---|
//! | `POST …/backup` | `{description?}` (≤ 500 characters) | ACTIVE, SUSPENDED, PARKED | unchanged |
//! | `GET …/backups` | – | any | – |
//! | `POST …/restore` | `{backupId}` (a COMPLETED backup of this instance) | ACTIVE | SUSPENDING → SUSPENDED → RESUMING → ACTIVE |
//!
//! Who may call: `Provisioning` for backup and restore, `Read` for the list.

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use bbws_core::error::Error;
use bbws_core::ids::BackupId;
use bbws_core::instance::backup::Backup;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{Link, Links};
use super::extract::{Caller, IdempotencyHeader, JsonBody, OptionalJsonBody, PathParams};
use super::instance_dto::{AcceptedResponse, instance_href, operation_href};
use super::instances::{InstancesState, accepted_and_run, accepted_with_body, instance_id, settle};

type ApiResult = Result<axum::response::Response, super::error::ApiError>;

/// Body of `POST …/backup`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupRequest {
    /// A note shown in the list (at most 500 characters).
    #[schema(max_length = 500)]
    pub description: Option<String>,
}

/// Body of `POST …/restore`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RestoreRequest {
    /// The backup to replay (`backup-{uuid}`), from `GET …/backups`.
    #[schema(pattern = "^backup-[0-9a-f-]{36}$")]
    pub backup_id: Option<String>,
}

/// One backup (§2.4).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupResponse {
    pub backup_id: String,
    pub tenant_id: String,
    pub instance_id: String,
    pub operation_id: String,
    /// `PENDING`, `IN_PROGRESS`, `COMPLETED` or `FAILED`.
    pub status: String,
    /// `manual` or `pre-restore`.
    pub reason: String,
    pub description: Option<String>,
    /// `s3://…/database.sql.gz` once written.
    pub db_artifact: Option<String>,
    /// `s3://…/files.tar.gz` once written.
    pub efs_artifact: Option<String>,
    pub created_at: String,
    pub completed_at: Option<String>,
    /// 90 days after it was taken.
    pub expires_at: String,
    pub error: Option<String>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&Backup> for BackupResponse {
    fn from(b: &Backup) -> Self {
        let base = instance_href(&b.tenant_id, &b.instance_id);
        let mut links = Links::new();
        links.insert("instance".into(), Link::get(&base));
        links.insert(
            "operation".into(),
            Link::get(operation_href(&b.operation_id)),
        );
        if b.status == bbws_core::instance::backup::BackupStatus::Completed {
            links.insert(
                "restore".into(),
                Link::action("POST", format!("{base}/restore")),
            );
        }
        Self {
            backup_id: b.id.to_string(),
            tenant_id: b.tenant_id.to_string(),
            instance_id: b.instance_id.to_string(),
            operation_id: b.operation_id.to_string(),
            status: b.status.as_str().to_owned(),
            reason: b.reason.as_str().to_owned(),
            description: b.description.as_ref().map(|d| d.as_str().to_owned()),
            db_artifact: b.db_artifact.clone(),
            efs_artifact: b.efs_artifact.clone(),
            created_at: b.created_at.to_string(),
            completed_at: b.completed_at.map(|t| t.to_string()),
            expires_at: b.expires_at.to_string(),
            error: b.error.clone(),
            links,
        }
    }
}

/// `GET …/backups`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupListResponse {
    /// Newest first.
    pub backups: Vec<BackupResponse>,
    pub count: usize,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// The 202 of `POST …/backup`: the accepted operation and the id of the backup it takes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BackupAcceptedResponse {
    pub backup_id: String,
    #[serde(flatten)]
    pub accepted: AcceptedResponse,
}

/// Take a backup of an instance (C13): its database and files to S3.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/backup", tag = "instances",
    request_body(content = Option<BackupRequest>, description = "Optional: a description"),
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation takes the backup", body = BackupAcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn backup_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    OptionalJsonBody(body): OptionalJsonBody<BackupRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let body = body.unwrap_or_default();
    let created = s
        .instances
        .request_backup(
            &actor,
            &tenant,
            &id,
            body.description.as_deref(),
            key.as_ref(),
        )
        .await?;
    let replayed = created.replayed;
    let accepted = settle(&s, &actor, created).await;
    let body = BackupAcceptedResponse {
        backup_id: accepted
            .operation
            .backup_id
            .map(|b| b.to_string())
            .unwrap_or_default(),
        accepted: AcceptedResponse::new(&accepted, "Instance BACKUP accepted"),
    };
    Ok(accepted_with_body(&body, &accepted, replayed))
}

/// List an instance's backups (C22), newest first.
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/backups", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses((status = 200, description = "The instance's backups", body = BackupListResponse))
)]
pub async fn list_backups(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let backups = s.instances.backups(&actor, &tenant, &id).await?;
    let base = instance_href(&tenant, &id);
    let mut links = Links::new();
    links.insert("self".into(), Link::get(format!("{base}/backups")));
    links.insert("instance".into(), Link::get(&base));
    links.insert(
        "backup".into(),
        Link::action("POST", format!("{base}/backup")),
    );
    Ok(Json(BackupListResponse {
        count: backups.len(),
        backups: backups.iter().map(BackupResponse::from).collect(),
        links,
    })
    .into_response())
}

/// Restore an instance from one of its backups (C14): stopped, a `pre-restore` backup taken,
/// the backup replayed, started again.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/restore", tag = "instances",
    request_body = RestoreRequest,
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response within 24 h"),
    ),
    responses((status = 202, description = "Accepted: the operation restores the instance", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn restore_instance(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<RestoreRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let backup = body
        .backup_id
        .ok_or_else(|| Error::field("backupId", "backupId is required"))?
        .parse::<BackupId>()?;
    let created = s
        .instances
        .request_restore(&actor, &tenant, &id, &backup, key.as_ref())
        .await?;
    Ok(accepted_and_run(&s, &actor, created, "Instance RESTORE accepted").await)
}
