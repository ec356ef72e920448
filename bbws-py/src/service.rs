//! `bbws.TenantService`: the tenant use cases for Python, taking the caller's claims (so
//! authorization applies exactly as in the API) and plain dicts in the API's camelCase shapes.
//!
//! Each method parses its arguments through the API's own DTOs and parsers, calls one
//! [`TenantService`] method with the GIL released, and renders the API's response shape. A write
//! then publishes its outbox events (when the backend has an event sink); a failed publish leaves
//! them in the outbox for the next write, and is logged on the `bbws` logger.

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use bbws_aws::{Backend, BackendConfig, BackendKind};
use bbws_core::Error;
use bbws_core::auth::{Actor, Claims};
use bbws_core::events::OutboxRelay;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::TenantId;
use bbws_core::instance::{InstanceBackend, InstanceService, ProvisioningEngine};
use bbws_core::org::OrgService;
use bbws_core::pagination::{Cursor, Limit, Page, PageRequest};
use bbws_core::store::{EmbeddedMailbox, EmbeddedStore};
use bbws_core::tenant::{Environment, Reason, Tenant, TenantService, TenantStatus};
use bbws_lambda::api::dto::{
    AuditEventResponse, CreateTenantRequest, StatusRequest, TenantResponse, UpdateTenantRequest,
};
use bbws_lambda::api::extract::parse_json;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyInt, PyString};
use serde::Serialize;

use crate::convert::{self, Failure};
use crate::errors;
use crate::runtime;

use bbws_lambda::api::tenants::{
    DEPROVISIONED_MESSAGE, PARKED_MESSAGE, RESUMED_MESSAGE, SUSPENDED_MESSAGE, UNPARKED_MESSAGE,
    UNPARKED_WARNING, expected_version, name_filter,
};

/// The constructor's arguments, before they are checked.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub backend: String,
    pub table: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub endpoint_url: Option<String>,
}

/// A checked backend choice: what to open, and whether its events have somewhere to go.
#[derive(Debug, Clone)]
pub struct Opening {
    pub config: BackendConfig,
    /// False only for `memory` without a `data_dir`: its events stay in the in-memory outbox and
    /// go with the process, like the rest of its data.
    pub publish: bool,
}

/// The one place where Python arguments become a [`BackendConfig`]. `dynamodb` starts from the
/// environment the Rust Lambda reads ([`BackendConfig::from_env`]: `DYNAMODB_TABLE`,
/// `EVENT_BUS_NAME`, `ENVIRONMENT`, `AWS_ENDPOINT_URL`), and `table` / `endpoint_url` override it.
pub fn config(o: Options, env: impl Fn(&str) -> Option<String>) -> Result<Opening, Error> {
    let kind = BackendKind::parse(&o.backend)?;
    let only = |field: &str, backends: &str| {
        Error::field(
            field,
            format!("{field} applies to the {backends} backend only"),
        )
    };
    if kind != BackendKind::DynamoDb {
        if o.table.is_some() {
            return Err(only("table", "dynamodb"));
        }
        if o.endpoint_url.is_some() {
            return Err(only("endpoint_url", "dynamodb"));
        }
    }
    match kind {
        BackendKind::Memory => Ok(Opening {
            publish: o.data_dir.is_some(),
            config: BackendConfig::local(kind, o.data_dir.unwrap_or_default()),
        }),
        BackendKind::Embedded => {
            let data_dir = o.data_dir.ok_or_else(|| {
                Error::field("data_dir", "data_dir is required for the embedded backend")
            })?;
            Ok(Opening {
                publish: true,
                config: BackendConfig::local(kind, data_dir),
            })
        }
        BackendKind::DynamoDb => {
            if o.data_dir.is_some() {
                return Err(only("data_dir", "memory and embedded"));
            }
            let mut config = BackendConfig::from_env(env)?;
            config.kind = kind;
            if let Some(table) = o.table {
                config.table = table;
            }
            if let Some(url) = o.endpoint_url {
                config.endpoint_url = Some(url);
            }
            Ok(Opening {
                publish: true,
                config,
            })
        }
    }
}

/// An open backend and the service on it.
#[derive(Debug)]
pub struct Open {
    pub service: TenantService,
    /// The organisation service on the same backend.
    pub org: OrgService,
    /// The embedded mailbox of a local backend.
    pub mailbox: Option<EmbeddedMailbox>,
    /// The embedded store of a local backend (its local user directory).
    pub embedded: Option<EmbeddedStore>,
    /// The instance service on the same backend.
    pub instances: InstanceService,
    /// The engine that runs instance operations on the backend's cloud (the plan recorder on
    /// the local backends, which refuses to run them).
    pub engine: ProvisioningEngine,
    /// The instance store itself, for reading an operation as the engine left it.
    pub instance_store: Arc<dyn InstanceBackend>,
    relay: Option<OutboxRelay>,
    /// One drain at a time: the embedded outbox hands the same pending events to every caller.
    publishing: tokio::sync::Mutex<()>,
}

impl Open {
    /// Opens the backend (call on the runtime).
    pub async fn open(opening: Opening) -> Result<Self, Error> {
        let backend = Backend::open(&opening.config).await?;
        Ok(Self {
            service: backend.tenant_service(),
            org: backend.org_service(),
            mailbox: backend.mailbox.clone(),
            embedded: backend.embedded.clone(),
            instances: backend.instance_service(),
            engine: backend.provisioning_engine(),
            instance_store: backend.instances.clone(),
            relay: opening.publish.then(|| backend.relay()),
            publishing: tokio::sync::Mutex::new(()),
        })
    }

    /// Publishes the outbox; on failure the events stay there and the cause is returned.
    pub async fn publish(&self) -> Option<String> {
        let relay = self.relay.as_ref()?;
        let _one_at_a_time = self.publishing.lock().await;
        relay.drain().await.err().map(|e| e.to_string())
    }
}

/// The tenant service on one backend (see the module docs).
#[pyclass(module = "bbws", name = "TenantService", frozen)]
#[derive(Debug)]
pub struct PyTenantService {
    open: RwLock<Option<Arc<Open>>>,
    describe: String,
}

impl PyTenantService {
    /// A tenant service on a backend that is open already.
    pub fn from_open(open: Arc<Open>, describe: String) -> Self {
        Self {
            open: RwLock::new(Some(open)),
            describe,
        }
    }

    /// Opens a backend from the constructor's arguments (shared with `OrgService`).
    pub fn open_with(
        py: Python<'_>,
        backend: &str,
        table: Option<String>,
        data_dir: Option<PathBuf>,
        endpoint_url: Option<String>,
    ) -> Result<Self, Failure> {
        let opening = config(
            Options {
                backend: backend.to_owned(),
                table,
                data_dir,
                endpoint_url,
            },
            |k| std::env::var(k).ok(),
        )?;
        let c = &opening.config;
        let quoted = |s: &str| PyString::new(py, s).repr().map(|r| r.to_string());
        let describe = match c.kind {
            BackendKind::Memory => "backend='memory'".to_owned(),
            BackendKind::Embedded => format!(
                "backend='embedded', data_dir={}",
                quoted(&c.data_dir.display().to_string())?
            ),
            BackendKind::DynamoDb => format!("backend='dynamodb', table={}", quoted(&c.table)?),
        };
        let open = runtime::block_on(py, Open::open(opening))??;
        Ok(Self {
            open: RwLock::new(Some(Arc::new(open))),
            describe,
        })
    }

    /// The backend's description, as `repr` shows it.
    pub fn describe(&self) -> &str {
        &self.describe
    }

    /// Releases the backend (see `close`).
    pub fn shut(&self) {
        let taken = self
            .open
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(taken);
    }

    pub fn is_closed(&self) -> bool {
        self.open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }

    pub(crate) fn current(&self) -> PyResult<Arc<Open>> {
        // The lock only guards the slot (no call runs under it), so a poisoned one is still sound.
        self.open
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| PyValueError::new_err("TenantService is closed"))
    }

    /// Runs one service call with the GIL released; after a successful write, publishes.
    pub(crate) fn run<T, F, Fut>(&self, py: Python<'_>, write: bool, f: F) -> Result<T, Failure>
    where
        F: FnOnce(Arc<Open>) -> Fut + Send,
        Fut: Future<Output = Result<T, Error>> + Send,
        T: Send,
    {
        let open = self.current()?;
        let (result, unpublished) = runtime::block_on(py, async move {
            let result = f(open.clone()).await;
            let unpublished = if write && result.is_ok() {
                open.publish().await
            } else {
                None
            };
            (result, unpublished)
        })?;
        if let Some(cause) = unpublished {
            errors::log(
                py,
                "warning",
                &format!("events not yet published (kept in the outbox): {cause}"),
            );
        }
        Ok(result?)
    }
}

/// The caller, from API Gateway authorizer-style claims.
pub fn actor(py: Python<'_>, claims: &Bound<'_, PyAny>) -> Result<Actor, Failure> {
    let v = convert::to_value(py, claims, "claims")?;
    Ok(Actor::from_claims(&Claims::from_json(&v)?))
}

pub(crate) fn tenant_id(raw: &str) -> Result<TenantId, Error> {
    raw.parse::<TenantId>()
        .map_err(|_| Error::field("tenantId", "Invalid tenant ID format"))
}

/// `if_match`: a version (`3`) or an entity tag as the `If-Match` header carries it (`"3"`,
/// `W/"3"`, `*` for any version).
pub(crate) fn if_match(v: Option<&Bound<'_, PyAny>>) -> Result<Option<u64>, Failure> {
    let bad = || {
        Error::field(
            "If-Match",
            "If-Match must be a version or an entity tag such as \"3\"",
        )
    };
    let Some(v) = v.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    if v.is_instance_of::<pyo3::types::PyBool>() {
        return Err(bad().into());
    }
    if v.is_instance_of::<PyInt>() {
        return Ok(Some(v.extract::<u64>().map_err(|_| bad())?));
    }
    if let Ok(s) = v.cast::<PyString>() {
        let s = s.to_cow()?;
        let s = s.trim();
        if s == "*" {
            return Ok(None);
        }
        let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
        return Ok(Some(s.parse::<u64>().map_err(|_| bad())?));
    }
    Err(Failure::Python(PyTypeError::new_err(
        "if_match must be an int or a str",
    )))
}

fn render<'py>(
    py: Python<'py>,
    t: &Tenant,
    message: Option<&str>,
    warning: Option<&str>,
) -> Result<Bound<'py, PyAny>, Failure> {
    let mut body = TenantResponse::from(t);
    body.message = message.map(str::to_owned);
    body.warning = warning.map(str::to_owned);
    convert::serialize(py, &body)
}

/// A page as the API lists it, less `_links` (they name request URLs; a Python call has none).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PageBody<T> {
    items: Vec<T>,
    count: usize,
    next_token: Option<String>,
    more_available: bool,
}

impl<T> PageBody<T> {
    pub(crate) fn new<U>(page: Page<U>, render: impl Fn(&U) -> T) -> Self {
        let items: Vec<T> = page.items.iter().map(render).collect();
        Self {
            count: items.len(),
            items,
            more_available: page.next.is_some(),
            next_token: page.next.map(|c| c.as_str().to_owned()),
        }
    }
}

pub(crate) fn page(limit: i64, next_token: Option<&str>) -> Result<PageRequest, Error> {
    let limit = u32::try_from(limit.clamp(0, i64::from(u32::MAX))).unwrap_or(0);
    Ok(PageRequest {
        limit: Limit::new(limit)?,
        cursor: next_token
            .filter(|t| !t.is_empty())
            .map(Cursor::parse)
            .transpose()?,
    })
}

#[pymethods]
impl PyTenantService {
    /// Opens a backend: `memory` (default; with `data_dir`, its events are appended to
    /// `data_dir/events.jsonl`), `embedded` (the persistent store in `data_dir`, locked while
    /// open: `close()` it, or use it as a context manager) or `dynamodb` (the table and event bus
    /// the environment names, as for the Rust Lambda; `table` and `endpoint_url` override them).
    #[new]
    #[pyo3(signature = (backend = "memory", table = None, data_dir = None, endpoint_url = None))]
    fn new(
        py: Python<'_>,
        backend: &str,
        table: Option<String>,
        data_dir: Option<PathBuf>,
        endpoint_url: Option<String>,
    ) -> Result<Self, Failure> {
        Self::open_with(py, backend, table, data_dir, endpoint_url)
    }

    /// Releases the backend (the embedded store's file lock). Later calls raise `ValueError`.
    /// A call still running in another thread finishes first.
    fn close(&self) {
        self.shut();
    }

    #[getter]
    fn closed(&self) -> bool {
        self.is_closed()
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
        format!("TenantService({}{state})", self.describe)
    }

    /// Creates a tenant (POST /v1.0/tenants): returns the tenant, PENDING. With an
    /// `idempotency_key`, the same body again returns the first result.
    #[pyo3(signature = (claims, body, idempotency_key = None))]
    fn create<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        body: &Bound<'py, PyAny>,
        idempotency_key: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let key = idempotency_key.map(IdempotencyKey::parse).transpose()?;
        let req = parse_json::<CreateTenantRequest>(&convert::body_bytes(py, body)?)?.parse()?;
        let created = self.run(py, true, move |o| async move {
            o.service.create(&actor, req, key.as_ref()).await
        })?;
        render(py, &created.value, None, None)
    }

    /// A tenant (GET /v1.0/tenants/{tenantId}).
    fn get<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let t = self.run(py, false, move |o| async move {
            o.service.get(&actor, &id).await
        })?;
        render(py, &t, None, None)
    }

    /// The tenants the caller may see, newest first (GET /v1.0/tenants):
    /// `{items, count, nextToken, moreAvailable}`.
    #[pyo3(signature = (claims, status = None, environment = None, organization_name = None, limit = 20, next_token = None))]
    #[allow(clippy::too_many_arguments)]
    fn list<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        status: Option<&str>,
        environment: Option<&str>,
        organization_name: Option<String>,
        limit: i64,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let status = status.map(str::parse::<TenantStatus>).transpose()?;
        let environment = environment.map(str::parse::<Environment>).transpose()?;
        let organization_name = name_filter(organization_name)?;
        let page = page(limit, next_token)?;
        let result = self.run(py, false, move |o| async move {
            o.service
                .list(&actor, status, environment, organization_name, &page)
                .await
        })?;
        convert::serialize(py, &PageBody::new(result, |t| TenantResponse::from(t)))
    }

    /// Updates the given fields (PUT /v1.0/tenants/{tenantId}); `if_match` (or the body's
    /// `version`) pins the version the change is based on.
    #[pyo3(signature = (claims, tenant_id, body, if_match = None))]
    fn update<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        body: &Bound<'py, PyAny>,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let header = self::if_match(if_match)?;
        let (patch, body_version) =
            parse_json::<UpdateTenantRequest>(&convert::body_bytes(py, body)?)?.parse()?;
        let expected = expected_version(header, body_version)?;
        let t = self.run(py, true, move |o| async move {
            o.service.update(&actor, &id, patch, expected).await
        })?;
        render(py, &t, None, None)
    }

    /// ACTIVE → PARKED (POST …/lifecycle/park); `reason` is 10–500 characters.
    #[pyo3(signature = (claims, tenant_id, reason, if_match = None))]
    fn park<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        reason: Option<&str>,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let expected = self::if_match(if_match)?;
        let reason = Reason::parse(reason, "Park reason")?;
        let t = self.run(py, true, move |o| async move {
            o.service.park(&actor, &id, &reason, expected).await
        })?;
        render(py, &t, Some(PARKED_MESSAGE), None)
    }

    /// PARKED → ACTIVE (POST …/lifecycle/unpark).
    #[pyo3(signature = (claims, tenant_id, if_match = None))]
    fn unpark<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let expected = self::if_match(if_match)?;
        let t = self.run(py, true, move |o| async move {
            o.service.unpark(&actor, &id, expected).await
        })?;
        render(py, &t, Some(UNPARKED_MESSAGE), Some(UNPARKED_WARNING))
    }

    /// ACTIVE → SUSPENDED (POST …/lifecycle/suspend); `reason` is 10–500 characters.
    #[pyo3(signature = (claims, tenant_id, reason, if_match = None))]
    fn suspend<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        reason: Option<&str>,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let expected = self::if_match(if_match)?;
        let reason = Reason::parse(reason, "Suspension reason")?;
        let t = self.run(py, true, move |o| async move {
            o.service.suspend(&actor, &id, &reason, expected).await
        })?;
        render(py, &t, Some(SUSPENDED_MESSAGE), None)
    }

    /// SUSPENDED → ACTIVE (POST …/lifecycle/resume).
    #[pyo3(signature = (claims, tenant_id, if_match = None))]
    fn resume<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let expected = self::if_match(if_match)?;
        let t = self.run(py, true, move |o| async move {
            o.service.resume(&actor, &id, expected).await
        })?;
        render(py, &t, Some(RESUMED_MESSAGE), None)
    }

    /// Any status change the transition table allows (PATCH …/status); PARKED and SUSPENDED
    /// need a `reason`.
    #[pyo3(signature = (claims, tenant_id, status, reason = None, if_match = None))]
    fn set_status<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        status: Option<String>,
        reason: Option<String>,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let expected = self::if_match(if_match)?;
        let (status, reason) = StatusRequest { status, reason }.parse()?;
        let t = self.run(py, true, move |o| async move {
            o.service
                .set_status(&actor, &id, status, reason.as_deref(), expected)
                .await
        })?;
        render(py, &t, None, None)
    }

    /// Soft delete (DELETE /v1.0/tenants/{tenantId}); refused while the tenant has active
    /// resources unless `force`.
    #[pyo3(signature = (claims, tenant_id, force = false, if_match = None))]
    fn deprovision<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        force: bool,
        if_match: Option<&Bound<'py, PyAny>>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let expected = self::if_match(if_match)?;
        let t = self.run(py, true, move |o| async move {
            o.service.deprovision(&actor, &id, force, expected).await
        })?;
        render(py, &t, Some(DEPROVISIONED_MESSAGE), None)
    }

    /// A tenant's audit trail, oldest first (GET …/audit, Admin):
    /// `{items, count, nextToken, moreAvailable}`.
    #[pyo3(signature = (claims, tenant_id, limit = 20, next_token = None))]
    fn audit<'py>(
        &self,
        py: Python<'py>,
        claims: &Bound<'py, PyAny>,
        tenant_id: &str,
        limit: i64,
        next_token: Option<&str>,
    ) -> Result<Bound<'py, PyAny>, Failure> {
        let actor = actor(py, claims)?;
        let id = self::tenant_id(tenant_id)?;
        let page = page(limit, next_token)?;
        let result = self.run(py, false, move |o| async move {
            o.service.audit_trail(&actor, &id, &page).await
        })?;
        convert::serialize(py, &PageBody::new(result, |e| AuditEventResponse::from(e)))
    }
}
