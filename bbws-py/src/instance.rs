//! `bbws.InstanceService`: a tenant's WordPress instances for Python (digest 2.7: C1–C3, C5,
//! C6–C12, C15–C21, the retry of a failed provisioning, the `dryRun` plans), opened like
//! `bbws.TenantService`, taking the caller's claims and returning dicts in the API's camelCase
//! shapes.
//!
//! Accepting work and running it are two calls, as in the deployed system: `request_provisioning`
//! / `request_deprovisioning` / `retry_provisioning` accept an operation (the 202 body of the API)
//! and announce it through the outbox; `run(operation_id)` runs it here with the engine, as
//! `bbws serve` and `bbws instance provision` do (`ProvisioningEngine::run_or_refuse`). On the
//! local backends the cloud is the plan recorder, which creates nothing: the run is refused, the
//! operation ends FAILED with `CLOUD_UNAVAILABLE`, and `CloudUnavailableError` is raised.

use std::path::PathBuf;
use std::sync::Arc;

use bbws_core::auth::Actor;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::{BackupId, InstanceId, OperationId, TenantId};
use bbws_core::instance::{
    Accepted, LedgerEntry, LifecycleRequest, LogQuery, NewInstance, Operation,
};
use bbws_core::{Error, ErrorCode};
use bbws_lambda::api::extract::parse_json;
use bbws_lambda::api::instance_backups::{BackupAcceptedResponse, BackupResponse};
use bbws_lambda::api::instance_dto::{
    AcceptedResponse, CreateInstanceRequest, InstanceHealthResponse, InstanceListResponse,
    InstanceResponse, InstanceStatusResponse, OperationResponse, PlanResponse, deprovision_options,
};
use bbws_lambda::api::instance_identity::{
    ConfigureIdentityRequest, IDENTITY_ACCEPTED, IdentityResponse,
};
use bbws_lambda::api::instance_logs::InstanceLogsResponse;
use bbws_lambda::api::instance_update::{UPDATE_ACCEPTED, UpdateInstanceRequest};
use bbws_lambda::api::instances::{DEPROVISIONING_ACCEPTED, PROVISIONING_ACCEPTED};
use pyo3::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::convert::{self, Failure};
use crate::errors;
use crate::service::{self, Open, PyTenantService, actor};

/// The instance service on one backend (see the module docs).
#[pyclass(module = "bbws", name = "InstanceService", frozen)]
#[derive(Debug)]
pub struct PyInstanceService {
    inner: PyTenantService,
}

fn instance_id(raw: &str) -> Result<InstanceId, Error> {
    raw.parse::<InstanceId>()
        .map_err(|_| Error::field("instanceId", "Invalid instance ID format"))
}

/// The caller and the instance a method names, parsed.
fn target(
    py: Python<'_>,
    claims: &Bound<'_, PyAny>,
    tenant_id: &str,
    instance_id: &str,
) -> Result<(Actor, TenantId, InstanceId), Failure> {
    Ok((
        actor(py, claims)?,
        service::tenant_id(tenant_id)?,
        self::instance_id(instance_id)?,
    ))
}

fn operation_id(raw: &str) -> Result<OperationId, Error> {
    raw.parse::<OperationId>()
        .map_err(|_| Error::field("operationId", "Invalid operation ID format"))
}

fn key(raw: Option<&str>) -> Result<Option<IdempotencyKey>, Error> {
    raw.map(IdempotencyKey::parse).transpose()
}

/// A provisioning body as the API reads it (strict: unknown fields are refused); none is the
/// API's empty body (a STANDARD instance with the default count and WordPress version).
fn new_instance(
    py: Python<'_>,
    body: Option<&Bound<'_, PyAny>>,
    min_tasks: u32,
) -> Result<NewInstance, Failure> {
    let req = match body.filter(|b| !b.is_none()) {
        Some(b) => parse_json::<CreateInstanceRequest>(&convert::body_bytes(py, b)?)?,
        None => CreateInstanceRequest::default(),
    };
    Ok(req.parse(min_tasks)?)
}

/// One entry of the resource ledger: a cloud object of the instance, in creation order.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct LedgerEntryBody {
    tenant_id: String,
    instance_id: String,
    seq: u32,
    resource_type: &'static str,
    /// The provisioning step that creates it.
    step: &'static str,
    name: String,
    id: Option<String>,
    arn: Option<String>,
    status: &'static str,
    error: Option<String>,
    updated_at: String,
}

impl From<&LedgerEntry> for LedgerEntryBody {
    fn from(e: &LedgerEntry) -> Self {
        Self {
            tenant_id: e.tenant_id.to_string(),
            instance_id: e.instance_id.to_string(),
            seq: e.seq,
            resource_type: e.resource_type.as_str(),
            step: e.step().as_str(),
            name: e.name.clone(),
            id: e.id.clone(),
            arn: e.arn.clone(),
            status: e.status.as_str(),
            error: e.error.clone(),
            updated_at: e.updated_at.to_string(),
        }
    }
}

fn accepted<'py>(
    py: Python<'py>,
    a: &Accepted,
    message: &str,
) -> Result<Bound<'py, PyAny>, Failure> {
    convert::serialize(py, &AcceptedResponse::new(a, message))
}

impl PyInstanceService {
    fn call<T, F, Fut>(&self, py: Python<'_>, write: bool, f: F) -> Result<T, Failure>
    where
        F: FnOnce(Arc<Open>) -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send,
        T: Send,
    {
        self.inner.run(py, write, f)
    }

    /// The deployment's minimum task count, which bounds `desiredCount`.
    fn min_tasks(&self) -> PyResult<u32> {
        Ok(self.inner.current()?.instances.config().min_tasks)
    }
}

#[pymethods]
impl PyInstanceService {
    /// Opens a backend exactly as `TenantService` does: `memory` (default), `embedded`
    /// (`data_dir`, locked while open) or `dynamodb` (`table`, `endpoint_url`). The memory and
    /// embedded backends plan on the plan recorder; DynamoDB runs on the AWS cloud the
    /// environment configures (`VPC_ID`, `ALB_LISTENER_ARN`, ...), or only plans without it.
    #[new]
    #[pyo3(signature = (backend = "memory", table = None, data_dir = None, endpoint_url = None))]
    fn new(
        py: Python<'_>,
        backend: &str,
        table: Option<String>,
        data_dir: Option<PathBuf>,
        endpoint_url: Option<String>,
    ) -> Result<Self, Failure> {
        Ok(Self {
            inner: PyTenantService::open_with(py, backend, table, data_dir, endpoint_url)?,
        })
    }

    /// A `TenantService` on this same backend (the tenants instances belong to).
    fn tenant_service(&self) -> PyResult<PyTenantService> {
        Ok(PyTenantService::from_open(
            self.inner.current()?,
            self.inner.describe().to_owned(),
        ))
    }

    /// What operations run on: `plan recorder: …` (creates nothing) or the live AWS cloud.
    #[getter]
    fn cloud(&self) -> PyResult<String> {
        Ok(self.inner.current()?.engine.cloud().describe().to_owned())
    }

    /// Releases the backend (once no `TenantService` from `tenant_service()` holds it either).
    fn close(&self) {
        self.inner.shut();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close();
        false
    }

    fn __repr__(&self) -> String {
        let state = if self.closed() { ", closed" } else { "" };
        format!("InstanceService({}{state})", self.inner.describe())
    }

    /// Accepts a provisioning (POST /v1.0/tenants/{tenantId}/instances): the instance is
    /// `PENDING_PROVISIONING` and its PENDING operation does the work once run (`run`, or a
    /// worker). Returns the API's 202 body (`operationId`, `_links.operation`, ...). `body` takes
    /// the API's fields (`tier`/`plan`, `cpu`+`memory`, `desiredCount`, `wordpressVersion`,
    /// `opportunityId`, `resourceKey`, `configuration`); none is a STANDARD instance. A tenant has
    /// one instance at a time (`ConflictError` names it); the same `idempotency_key` and body
    /// again returns the first operation.
    #[pyo3(signature = (claims, tenant_id, body = None, idempotency_key = None))]
    fn request_provisioning<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        body: Option<&Bound<'py, PyAny>>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let tenant = service::tenant_id(tenant_id)?;
        let key = key(idempotency_key)?;
        let req = new_instance(py, body, self.min_tasks()?)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_provisioning(&actor, &tenant, req, key.as_ref())
                .await
        })?;
        accepted(py, &created.value, PROVISIONING_ACCEPTED)
    }

    /// Retries a FAILED provisioning (POST …/instances/{instanceId}/retry): a new operation that
    /// resumes from the resource ledger and creates nothing twice. Returns the 202 body.
    fn retry_provisioning<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let a = self.call(py, true, move |o| async move {
            o.instances.retry_provisioning(&actor, &tenant, &id).await
        })?;
        accepted(py, &a, PROVISIONING_ACCEPTED)
    }

    /// Accepts a deprovisioning (DELETE …/instances/{instanceId}) from ACTIVE, SUSPENDED, PARKED,
    /// FAILED or `WORKFLOW_FAILED` (else `InvalidStatusTransitionError`). `archive_data` archives
    /// the database and files first; `reason` (at most 500 characters) goes to the audit trail.
    /// Returns the 202 body.
    #[pyo3(signature = (claims, tenant_id, instance_id, archive_data = true, reason = None, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn request_deprovisioning<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        archive_data: bool,
        reason: Option<String>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let options = deprovision_options(archive_data, reason)?;
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_deprovisioning(&actor, &tenant, &id, options, key.as_ref())
                .await
        })?;
        accepted(py, &created.value, DEPROVISIONING_ACCEPTED)
    }

    /// Accepts a lifecycle change of an instance (the API's `POST …/suspend|resume|park|unpark|
    /// restart` and `PUT …/size`): `action` is one of `suspend`, `resume`, `park`, `unpark`,
    /// `scale`, `restart`; `reason` (10–500 characters) is required to suspend and park,
    /// `desired_count` to scale. Returns the 202 body; run it with `run(operationId)`. The wrong
    /// state raises `InvalidStatusTransitionError`, a count outside the bounds
    /// `ScaleLimitExceededError`.
    #[pyo3(signature = (claims, tenant_id, instance_id, action, reason = None, desired_count = None, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn request_lifecycle<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        action: &str,
        reason: Option<&str>,
        desired_count: Option<i64>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let req = LifecycleRequest::parse(action, reason, desired_count)?;
        let message = format!("Instance {} accepted", req.operation_type());
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_lifecycle(&actor, &tenant, &id, req, key.as_ref())
                .await
        })?;
        accepted(py, &created.value, &message)
    }

    /// Accepts a rolling update of an ACTIVE instance (the API's `PUT …/instances/{instanceId}`):
    /// a new `container_image` (`repository[:tag][@sha256:digest]`, wins for the image),
    /// `wordpress_version` (`latest`, `6.4`, `6.4.2`; alone it selects the platform's image of
    /// that version) and/or `tier` (the new revision gets its CPU and memory); at least one.
    /// `if_match` is the instance `version` the change is based on (another is
    /// `VersionConflictError`). Returns the 202 body with the `UPDATE` operation; run it with
    /// `run(operationId)`. An update that changes nothing is already COMPLETED. Not ACTIVE:
    /// `InvalidStatusTransitionError`; another operation of the instance still running:
    /// `ConflictError`; a bad value: `ValidationError` naming the field.
    #[pyo3(signature = (claims, tenant_id, instance_id, container_image = None, wordpress_version = None, tier = None, if_match = None, idempotency_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn update<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        container_image: Option<String>,
        wordpress_version: Option<String>,
        tier: Option<String>,
        if_match: Option<u64>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let update = UpdateInstanceRequest {
            container_image,
            wordpress_version,
            tier,
        }
        .parse()?;
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_update(&actor, &tenant, &id, update, if_match, key.as_ref())
                .await
        })?;
        accepted(py, &created.value, UPDATE_ACCEPTED)
    }

    /// Accepts a backup of an ACTIVE, SUSPENDED or PARKED instance (the API's `POST …/backup`):
    /// the 202 body with `backupId`; run it with `run(operationId)`.
    #[pyo3(signature = (claims, tenant_id, instance_id, description = None, idempotency_key = None))]
    fn request_backup<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        description: Option<String>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_backup(&actor, &tenant, &id, description.as_deref(), key.as_ref())
                .await
        })?;
        let a = &created.value;
        convert::serialize(
            py,
            &BackupAcceptedResponse {
                backup_id: a
                    .operation
                    .backup_id
                    .map(|b| b.to_string())
                    .unwrap_or_default(),
                accepted: AcceptedResponse::new(a, "Instance BACKUP accepted"),
            },
        )
    }

    /// The instance's backups, newest first (the API's `GET …/backups` items).
    fn backups<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let list = self.call(py, false, move |o| async move {
            o.instances.backups(&actor, &tenant, &id).await
        })?;
        let items: Vec<BackupResponse> = list.iter().map(BackupResponse::from).collect();
        convert::serialize(py, &items)
    }

    /// Accepts a restore of an ACTIVE instance from one of its COMPLETED backups (the API's
    /// `POST …/restore`); run it with `run(operationId)`. An unknown backup raises
    /// `BackupNotFoundError`, another instance's or an unfinished one `BackupNotRestorableError`.
    #[pyo3(signature = (claims, tenant_id, instance_id, backup_id, idempotency_key = None))]
    fn request_restore<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        backup_id: &str,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let backup = backup_id.parse::<BackupId>()?;
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_restore(&actor, &tenant, &id, &backup, key.as_ref())
                .await
        })?;
        accepted(py, &created.value, "Instance RESTORE accepted")
    }

    /// An instance (GET …/instances/{instanceId}).
    fn get<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let i = self.call(py, false, move |o| async move {
            o.instances.get(&actor, &tenant, &id).await
        })?;
        convert::serialize(py, &InstanceResponse::from(&i))
    }

    /// The live running status (GET …/instances/{instanceId}/status): the ECS service's counts,
    /// deployments and tasks as ECS answers now.
    fn status<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let s = self.call(py, false, move |o| async move {
            o.instances.status(&actor, &tenant, &id).await
        })?;
        convert::serialize(py, &InstanceStatusResponse::from(&s))
    }

    /// The composite health (GET …/instances/{instanceId}/health): `{healthStatus, components}`.
    fn health<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let h = self.call(py, false, move |o| async move {
            o.instances.health(&actor, &tenant, &id).await
        })?;
        convert::serialize(py, &InstanceHealthResponse::from(&h))
    }

    /// One page of the containers' logs, oldest first (GET …/instances/{instanceId}/logs):
    /// `{entries: [{timestamp, message, logStream}], count, startTime, endTime, nextToken?,
    /// moreAvailable, _links}`. Times are RFC 3339 (default: the hour before `end_time`, which
    /// defaults to now); `limit` 1–1000 (default 100); `next_token` from the previous page holds
    /// its window. An instance that never ran has none (an empty page); otherwise needs a live
    /// cloud: on the local backends `CloudUnavailableError`.
    #[pyo3(signature = (claims, tenant_id, instance_id, start_time = None, end_time = None, limit = None, next_token = None))]
    #[allow(clippy::too_many_arguments)]
    fn logs<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        start_time: Option<&str>,
        end_time: Option<&str>,
        limit: Option<i64>,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let limit = limit.map(|n| n.to_string());
        let query = LogQuery::parse(start_time, end_time, limit.as_deref(), next_token)?;
        let page = self.call(py, false, move |o| async move {
            o.instances.logs(&actor, &tenant, &id, query).await
        })?;
        convert::serialize(py, &InstanceLogsResponse::from(&page))
    }

    /// The instance's Cognito pool read live (GET …/instances/{instanceId}/identity): ids,
    /// domain, password policy, `mfaConfiguration` (OFF/OPTIONAL/REQUIRED); never the client
    /// secret. No pool is `ConflictError`; on the local backends `CloudUnavailableError`.
    fn identity<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let c = self.call(py, false, move |o| async move {
            o.instances.identity(&actor, &tenant, &id).await
        })?;
        convert::serialize(py, &IdentityResponse::from(&c))
    }

    /// Accepts a change of the pool's password policy and/or MFA (the API's `PUT …/identity`;
    /// `body` as its JSON: `{passwordPolicy?: {minimumLength?, requireUppercase?, ...},
    /// mfaConfiguration?}`). Returns the 202 body with a `CONFIGURE_IDENTITY` operation; run it
    /// with `run(operationId)`. Only an ACTIVE instance (`InvalidStatusTransitionError`).
    #[pyo3(signature = (claims, tenant_id, instance_id, body, idempotency_key = None))]
    fn request_identity_configuration<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        body: &Bound<'py, PyAny>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let change =
            parse_json::<ConfigureIdentityRequest>(&convert::body_bytes(py, body)?)?.parse()?;
        let key = key(idempotency_key)?;
        let created = self.call(py, true, move |o| async move {
            o.instances
                .request_identity_configuration(&actor, &tenant, &id, change, key.as_ref())
                .await
        })?;
        accepted(py, &created.value, IDENTITY_ACCEPTED)
    }

    /// A tenant's instances, oldest first (GET /v1.0/tenants/{tenantId}/instances):
    /// `{instances, count, moreAvailable, _links}`.
    fn list<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let tenant = service::tenant_id(tenant_id)?;
        let items = self.call(py, false, move |o| async move {
            o.instances.list(&actor, &tenant).await
        })?;
        let href = format!("/v1.0/tenants/{tenant}/instances");
        convert::serialize(py, &InstanceListResponse::new(&tenant, &items, &href))
    }

    /// An operation (GET /v1.0/operations/{operationId}): status, steps, progress, estimated
    /// completion and failure reason. One of a tenant outside the caller's scope is
    /// `OperationNotFoundError`.
    fn operation<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        operation_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::operation_id(operation_id)?;
        let op = self.call(py, false, move |o| async move {
            o.instances.operation(&actor, &id).await
        })?;
        convert::serialize(py, &OperationResponse::from(&op))
    }

    /// The instance's resource ledger, in creation order: one entry per cloud object
    /// (`resourceType`, `name`, `id`, `arn`, `status` creating/active/deleting/deleted/failed).
    fn ledger<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let entries = self.call(py, false, move |o| async move {
            o.instances.ledger(&actor, &tenant, &id).await
        })?;
        let body: Vec<LedgerEntryBody> = entries.iter().map(LedgerEntryBody::from).collect();
        convert::serialize(py, &body)
    }

    /// The tenant's Terraform for the `GitOps` variant (the API's `GET …/terraform`): file contents
    /// by path (`tenants/{key}/main.tf`, `.github/workflows/deploy-tenant-{key}.yml`, ...).
    /// Needs the right to provision.
    fn terraform<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let files = self.call(py, false, move |o| async move {
            o.instances.terraform(&actor, &tenant, &id).await
        })?;
        convert::serialize(py, &files.files)
    }

    /// The exact AWS calls and names a provisioning with this `body` would make (the API's
    /// `?dryRun=true`): `{dryRun, source, calls: [{service, action, resource, tags, params}],
    /// rendered}`. Nothing is stored or created.
    #[pyo3(signature = (claims, tenant_id, body = None))]
    fn plan_provisioning<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        body: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let tenant = service::tenant_id(tenant_id)?;
        let req = new_instance(py, body, self.min_tasks()?)?;
        let plan = self.call(py, false, move |o| async move {
            o.instances.plan_provisioning(&actor, &tenant, req).await
        })?;
        convert::serialize(py, &PlanResponse::from(&plan))
    }

    /// The calls deprovisioning this instance would make, from its ledger (the API's DELETE with
    /// `?dryRun=true`). Nothing is changed.
    #[pyo3(signature = (claims, tenant_id, instance_id, archive_data = true, reason = None))]
    fn plan_deprovisioning<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        instance_id: &str,
        archive_data: bool,
        reason: Option<String>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let (actor, tenant, id) = target(py, claims, tenant_id, instance_id)?;
        let options = deprovision_options(archive_data, reason)?;
        let plan = self.call(py, false, move |o| async move {
            o.instances
                .plan_deprovisioning(&actor, &tenant, &id, options)
                .await
        })?;
        convert::serialize(py, &PlanResponse::from(&plan))
    }

    /// Runs (or resumes) an accepted operation here with the engine, as `bbws serve` and the CLI
    /// do, and returns it as it ended: COMPLETED, `ROLLED_BACK` or FAILED (see `status` and
    /// `error`). This is the worker's side: it takes no claims, and the engine acts as itself.
    /// Raises when the run cannot take place: `OperationNotFoundError`, `ConflictError` (another
    /// operation superseded it), and on a cloud that only records plans (the local backends)
    /// `CloudUnavailableError` once the operation has been ended FAILED with that code; the
    /// exception's `operation` is the operation as it then is.
    fn run<'py>(&self, py: Python<'py>, operation_id: &str) -> Result<Bound<'py, PyAny>, Failure> {
        let id = self::operation_id(operation_id)?;
        let (outcome, after) = self.call(py, true, move |o| async move {
            if o.instance_store.get_operation(&id).await?.is_none() {
                return Err(Error::OperationNotFound {
                    operation_id: id.to_string(),
                });
            }
            let outcome = o.engine.run_or_refuse(&id).await;
            // The operation as the run left it, for the exception; the outcome matters more than
            // a failed re-read.
            let after = match &outcome {
                Ok(_) => None,
                Err(_) => o.instance_store.get_operation(&id).await.ok().flatten(),
            };
            Ok((outcome, after))
        })?;
        match outcome {
            Ok(op) => convert::serialize(py, &OperationResponse::from(&op)),
            Err(e) => Err(Failure::Python(run_error(py, &e, after.as_ref())?)),
        }
    }
}

/// The exception of a run that could not take place, with the operation attached. A refusal
/// by a plan-only cloud carries the operation's failure reason as its message.
fn run_error(py: Python<'_>, e: &Error, op: Option<&Operation>) -> Result<PyErr, Failure> {
    let Some(op) = op else {
        return Ok(errors::to_pyerr(py, e));
    };
    let operation = convert::serialize(py, &OperationResponse::from(op))?;
    match &op.error {
        Some(reason)
            if e.code() == ErrorCode::CloudUnavailable
                && reason.code == ErrorCode::CloudUnavailable =>
        {
            let details = json!({
                "operationId": op.id.to_string(),
                "instanceId": op.instance_id.to_string(),
                "tenantId": op.tenant_id.to_string(),
                "resources": reason.resources,
            });
            Ok(errors::operation_failure(
                py,
                reason.code,
                &reason.message,
                &details,
                &operation,
            ))
        }
        _ => {
            let err = errors::to_pyerr(py, e);
            err.value(py).setattr("operation", &operation)?;
            Ok(err)
        }
    }
}
