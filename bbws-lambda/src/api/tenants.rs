//! Tenant endpoints (digest 2.5 §1.2 A and B). Each handler parses, calls one service method,
//! renders.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bbws_core::Error;
use bbws_core::auth::Actor;
use bbws_core::ids::TenantId;
use bbws_core::pagination::{Cursor, Limit, Page, PageRequest};
use bbws_core::tenant::{Environment, Reason, Tenant, TenantStatus};

use super::AppState;
use super::dto::{
    AuditEventResponse, AuditListResponse, CreateTenantRequest, EmptyRequest, LifecycleResponse,
    Link, Links, ReasonRequest, StatusRequest, TenantListResponse, TenantResponse,
    UpdateTenantRequest, tenant_href,
};
use super::error::ApiError;
use super::extract::{
    Caller, IdempotencyHeader, IfMatch, JsonBody, OptionalJsonBody, QueryPairs, TenantPath,
    query_bool,
};

type ApiResult = Result<Response, ApiError>;

/// Authorization of the tenant endpoints (C23, C24): the stored assignments are the source of
/// truth for a caller's role in a tenant and for the tenants it may see; the claims still say who
/// is a platform admin (`Admins`) and who is a customer admin (`CustomerAdmins` with
/// `custom:customerId`). Tenant roles the token claims (`{tenantId}-admins`, `Viewers` with
/// `custom:tenantIds`, ...) count for nothing once the organisation service is there.
///
/// A router built without the organisation service (`AppState.org` is `None`) keeps taking the
/// tenant roles from the claims, as [`Actor::from_claims`] reads them.
impl AppState {
    /// The caller with its role on `tenant` read from the store. Platform admins are Admin on
    /// every tenant and need no read.
    pub async fn actor_on(&self, actor: Actor, tenant: &TenantId) -> Result<Actor, Error> {
        match &self.org {
            Some(org) if !actor.is_platform_admin() => org.resolve_actor(&actor, tenant).await,
            _ => Ok(actor),
        }
    }

    /// The caller with the tenants it may see read from the store: its active assignments, and
    /// for a customer admin every tenant of its customer.
    pub async fn actor_scope(&self, actor: Actor) -> Result<Actor, Error> {
        match &self.org {
            Some(org) if !actor.is_platform_admin() => org.resolve_scope(&actor).await,
            _ => Ok(actor),
        }
    }
}

/// The `message` of a park response (LLD §6.4).
pub const PARKED_MESSAGE: &str =
    "Tenant parked successfully. Resources will be released within 5 minutes.";
/// The `message` of an unpark response (LLD §6.4).
pub const UNPARKED_MESSAGE: &str =
    "Tenant unpark initiated. Resources will be reprovisioned within 15 minutes.";
/// The `warning` of an unpark response (BR-PARK-005).
pub const UNPARKED_WARNING: &str =
    "Full functionality may not be available immediately. Resource reprovisioning in progress.";
pub const SUSPENDED_MESSAGE: &str = "Tenant suspended";
pub const RESUMED_MESSAGE: &str = "Tenant resumed";
pub const DEPROVISIONED_MESSAGE: &str = "Tenant deprovisioned";

/// The version a change is based on: `If-Match`, or the body's `version`; both must agree.
pub fn expected_version(header: Option<u64>, body: Option<u64>) -> Result<Option<u64>, Error> {
    match (header, body) {
        (Some(h), Some(b)) if h != b => {
            Err(Error::field("version", "version disagrees with If-Match"))
        }
        (h, b) => Ok(h.or(b)),
    }
}

/// The `organizationName` list filter: a part of a name, at most 100 characters.
pub fn name_filter(name: Option<String>) -> Result<Option<String>, Error> {
    if name.as_ref().is_some_and(|n| n.chars().count() > 100) {
        return Err(Error::field(
            "organizationName",
            "organizationName must be at most 100 characters",
        ));
    }
    Ok(name)
}

pub fn etag(version: u64) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// A tenant representation with its `ETag`.
fn tenant_response(
    status: StatusCode,
    t: &Tenant,
    message: Option<&str>,
    warning: Option<&str>,
) -> Response {
    let mut body = TenantResponse::from(t);
    body.message = message.map(str::to_owned);
    body.warning = warning.map(str::to_owned);
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(t.version));
    res
}

/// Reads `limit`/`pageSize` and `nextToken`/`startAt` (decision C5).
pub fn page_request(q: &QueryPairs) -> Result<PageRequest, Error> {
    let parse = |key: &str| -> Result<Option<u32>, Error> {
        q.get(key)
            .map(|v| {
                v.parse::<u32>().map_err(|_| {
                    Error::field(key, format!("{key} must be an integer between 1 and 100"))
                })
            })
            .transpose()
    };
    let limit = match (parse("limit")?, parse("pageSize")?) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::field("limit", "limit and pageSize disagree"));
        }
        (Some(n), _) => Limit::new(n)?,
        (None, Some(n)) => Limit::new(n)
            .map_err(|_| Error::field("pageSize", "pageSize must be between 1 and 100"))?,
        (None, None) => Limit::default(),
    };
    let token = match (q.get("nextToken"), q.get("startAt")) {
        (Some(a), Some(b)) if a != b => {
            return Err(Error::field("nextToken", "nextToken and startAt disagree"));
        }
        (Some(t), _) | (None, Some(t)) => Some(t),
        (None, None) => None,
    };
    let cursor = token
        .filter(|t| !t.is_empty())
        .map(Cursor::parse)
        .transpose()?;
    Ok(PageRequest { limit, cursor })
}

/// `_links.self` (the request as made) and `_links.next`.
pub fn page_links<T>(
    uri: &axum::http::Uri,
    page: &Page<T>,
    keep: &[(&str, Option<&str>)],
) -> Links {
    let mut links = Links::new();
    links.insert(
        "self".into(),
        Link::get(uri.path_and_query().map_or(uri.path(), |p| p.as_str())),
    );
    if let Some(next) = &page.next {
        let mut query: Vec<String> = keep
            .iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(v))))
            .collect();
        query.push(format!("nextToken={}", next.as_str()));
        links.insert(
            "next".into(),
            Link::get(format!("{}?{}", uri.path(), query.join("&"))),
        );
    }
    links
}

fn encode(v: &str) -> String {
    use std::fmt::Write as _;
    v.bytes().fold(String::new(), |mut s, b| {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            s.push(b as char);
        } else {
            let _ = write!(s, "%{b:02X}");
        }
        s
    })
}

/// Create a tenant (T1). Starts in PENDING.
#[utoipa::path(
    post, path = "/v1.0/tenants", tag = "tenants",
    request_body = CreateTenantRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h; another body with the same key is 409")),
    responses((status = 201, description = "Created (or replayed)", body = TenantResponse,
        headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new tenant"))))
)]
pub async fn create_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<CreateTenantRequest>,
) -> ApiResult {
    let req = body.parse()?;
    let created = s.tenants.create(&actor, req, key.as_ref()).await?;
    let mut res = tenant_response(StatusCode::CREATED, &created.value, None, None);
    if let Ok(loc) = HeaderValue::from_str(&tenant_href(&created.value.id)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if created.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// List the tenants the caller may see, newest first (T2).
#[utoipa::path(
    get, path = "/v1.0/tenants", tag = "tenants",
    params(
        ("status" = Option<String>, Query, description = "PENDING, ACTIVE, SUSPENDED, PARKED, DEPROVISIONED or FAILED"),
        ("environment" = Option<String>, Query, description = "dev, sit or prod"),
        ("organizationName" = Option<String>, Query, description = "Case-insensitive part of the name"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Alias of limit"),
        ("nextToken" = Option<String>, Query, description = "From the previous page"),
        ("startAt" = Option<String>, Query, description = "Alias of nextToken"),
    ),
    responses((status = 200, description = "A page of tenants", body = TenantListResponse))
)]
pub async fn list_tenants(
    State(s): State<AppState>,
    Caller(actor): Caller,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> ApiResult {
    let status = q
        .get("status")
        .map(str::parse::<TenantStatus>)
        .transpose()?;
    let environment = q
        .get("environment")
        .map(str::parse::<Environment>)
        .transpose()?;
    let name = name_filter(
        q.get("organizationName")
            .or_else(|| q.get("organisationName"))
            .map(str::to_owned),
    )?;
    let page = page_request(&q)?;
    let limit = page.limit.get().to_string();
    let actor = s.actor_scope(actor).await?;
    let result = s
        .tenants
        .list(&actor, status, environment, name.clone(), &page)
        .await?;
    let links = page_links(
        &uri,
        &result,
        &[
            ("status", status.map(TenantStatus::as_str)),
            ("environment", environment.map(Environment::as_str)),
            ("organizationName", name.as_deref()),
            ("limit", Some(&limit)),
        ],
    );
    let items: Vec<TenantResponse> = result.items.iter().map(TenantResponse::from).collect();
    Ok(Json(TenantListResponse {
        count: items.len(),
        items,
        more_available: result.next.is_some(),
        next_token: result.next.map(|c| c.as_str().to_owned()),
        links,
    })
    .into_response())
}

/// Get a tenant (T3).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}", tag = "tenants",
    params(("tenantId" = String, Path, description = "tenant-{uuid}")),
    responses((status = 200, description = "The tenant", body = TenantResponse, headers(("ETag" = String))))
)]
pub async fn get_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
) -> ApiResult {
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.get(&actor, &id).await?;
    Ok(tenant_response(StatusCode::OK, &t, None, None))
}

/// Update a tenant: only the given fields change (T4, C33, C34).
#[utoipa::path(
    put, path = "/v1.0/tenants/{tenantId}", tag = "tenants",
    request_body = UpdateTenantRequest,
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; a stale one is 409 VERSION_CONFLICT")),
    responses((status = 200, description = "The updated tenant", body = TenantResponse, headers(("ETag" = String))))
)]
pub async fn update_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<UpdateTenantRequest>,
) -> ApiResult {
    let (patch, body_version) = body.parse()?;
    let expected = expected_version(if_match, body_version)?;
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.update(&actor, &id, patch, expected).await?;
    Ok(tenant_response(StatusCode::OK, &t, None, None))
}

/// Deprovision a tenant (soft delete, T5). Refused while it has active resources unless `force=true`.
#[utoipa::path(
    delete, path = "/v1.0/tenants/{tenantId}", tag = "tenants",
    params(("tenantId" = String, Path), ("force" = Option<bool>, Query, description = "Deprovision even with active resources"), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant, now DEPROVISIONED", body = TenantResponse))
)]
pub async fn delete_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    q: QueryPairs,
) -> ApiResult {
    let force = query_bool(&q, "force")?;
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.deprovision(&actor, &id, force, if_match).await?;
    Ok(tenant_response(
        StatusCode::OK,
        &t,
        Some(DEPROVISIONED_MESSAGE),
        None,
    ))
}

/// Change a tenant's status (L1, C21).
#[utoipa::path(
    patch, path = "/v1.0/tenants/{tenantId}/status", tag = "lifecycle",
    request_body = StatusRequest,
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant in its new status", body = TenantResponse))
)]
pub async fn set_status(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<StatusRequest>,
) -> ApiResult {
    let (status, reason) = body.parse()?;
    let actor = s.actor_on(actor, &id).await?;
    let t = s
        .tenants
        .set_status(&actor, &id, status, reason.as_deref(), if_match)
        .await?;
    Ok(tenant_response(StatusCode::OK, &t, None, None))
}

/// Where the tenant is in its lifecycle, and the transitions allowed from there.
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/lifecycle", tag = "lifecycle",
    params(("tenantId" = String, Path)),
    responses((status = 200, description = "Status and allowed transitions", body = LifecycleResponse))
)]
pub async fn get_lifecycle(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
) -> ApiResult {
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.get(&actor, &id).await?;
    let mut links = super::dto::tenant_links(&t);
    links.retain(|k, _| {
        matches!(
            k.as_str(),
            "park" | "unpark" | "suspend" | "resume" | "status" | "delete"
        )
    });
    links.insert(
        "self".into(),
        Link::get(format!("{}/lifecycle", tenant_href(&t.id))),
    );
    links.insert("tenant".into(), Link::get(tenant_href(&t.id)));
    Ok(Json(LifecycleResponse {
        tenant_id: t.id.to_string(),
        status: t.status.as_str().to_owned(),
        allowed_transitions: t
            .status
            .allowed_transitions()
            .iter()
            .map(|s| s.as_str().to_owned())
            .collect(),
        version: t.version,
        links,
    })
    .into_response())
}

/// Park an ACTIVE tenant: compute released, data kept (L2; also at the older `…/park`, L6).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/lifecycle/park", tag = "lifecycle",
    request_body = ReasonRequest,
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant, PARKED", body = TenantResponse))
)]
pub async fn park_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> ApiResult {
    let reason = Reason::parse(body.reason.as_deref(), "Park reason")?;
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.park(&actor, &id, &reason, if_match).await?;
    Ok(tenant_response(
        StatusCode::OK,
        &t,
        Some(PARKED_MESSAGE),
        None,
    ))
}

/// Unpark a PARKED tenant (L3; also at the older `…/unpark`, L7).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/lifecycle/unpark", tag = "lifecycle",
    request_body(content = Option<EmptyRequest>, description = "None, or an empty object"),
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant, ACTIVE again", body = TenantResponse))
)]
pub async fn unpark_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    OptionalJsonBody(_): OptionalJsonBody<EmptyRequest>,
) -> ApiResult {
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.unpark(&actor, &id, if_match).await?;
    Ok(tenant_response(
        StatusCode::OK,
        &t,
        Some(UNPARKED_MESSAGE),
        Some(UNPARKED_WARNING),
    ))
}

/// Suspend an ACTIVE tenant (L4).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/lifecycle/suspend", tag = "lifecycle",
    request_body = ReasonRequest,
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant, SUSPENDED", body = TenantResponse))
)]
pub async fn suspend_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<ReasonRequest>,
) -> ApiResult {
    let reason = Reason::parse(body.reason.as_deref(), "Suspension reason")?;
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.suspend(&actor, &id, &reason, if_match).await?;
    Ok(tenant_response(
        StatusCode::OK,
        &t,
        Some(SUSPENDED_MESSAGE),
        None,
    ))
}

/// Resume a SUSPENDED tenant (L5).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/lifecycle/resume", tag = "lifecycle",
    request_body(content = Option<EmptyRequest>, description = "None, or an empty object"),
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The tenant, ACTIVE again", body = TenantResponse))
)]
pub async fn resume_tenant(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    IfMatch(if_match): IfMatch,
    OptionalJsonBody(_): OptionalJsonBody<EmptyRequest>,
) -> ApiResult {
    let actor = s.actor_on(actor, &id).await?;
    let t = s.tenants.resume(&actor, &id, if_match).await?;
    Ok(tenant_response(
        StatusCode::OK,
        &t,
        Some(RESUMED_MESSAGE),
        None,
    ))
}

/// A tenant's audit trail, oldest first (Admin).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/audit", tag = "tenants",
    params(
        ("tenantId" = String, Path),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("nextToken" = Option<String>, Query),
        ("startAt" = Option<String>, Query),
    ),
    responses((status = 200, description = "A page of audit events", body = AuditListResponse))
)]
pub async fn list_audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    TenantPath(id): TenantPath,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> ApiResult {
    let page = page_request(&q)?;
    let limit = page.limit.get().to_string();
    let actor = s.actor_on(actor, &id).await?;
    let result = s.tenants.audit_trail(&actor, &id, &page).await?;
    let links = page_links(&uri, &result, &[("limit", Some(&limit))]);
    let items: Vec<AuditEventResponse> =
        result.items.iter().map(AuditEventResponse::from).collect();
    Ok(Json(AuditListResponse {
        count: items.len(),
        items,
        more_available: result.next.is_some(),
        next_token: result.next.map(|c| c.as_str().to_owned()),
        links,
    })
    .into_response())
}
