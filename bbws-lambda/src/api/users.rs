//! User endpoints (digest 2.5 §1.2 E): a tenant's users and their roles (U1–U5), a user's
//! tenants (U6) and profile (U7). The service authorizes from the stored assignments.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bbws_core::auth::Role;
use bbws_core::org::Assignment;

use super::OrgState;
use super::dto::{Link, Links};
use super::error::ApiError;
use super::extract::{Caller, IdempotencyHeader, IfMatch, JsonBody, PathParams, QueryPairs};
use super::org_dto::{
    AssignUserRequest, ChangeRoleRequest, UserAssignmentListResponse, UserAssignmentResponse,
    UserProfileResponse, UserTenantListResponse, UserTenantResponse, assignment_href, user_href,
};
use super::tenants::{etag, expected_version, page_links, page_request};

type ApiResult = Result<Response, ApiError>;

fn assignment_response(status: StatusCode, a: &Assignment, warnings: Vec<String>) -> Response {
    let mut body = UserAssignmentResponse::from(a);
    body.warnings = warnings;
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(a.version));
    res
}

/// List the tenant's users, optionally of one role (U1; tenant Admin or Operator).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/users", tag = "users",
    params(
        ("tenantId" = String, Path),
        ("role" = Option<String>, Query, description = "Admin, Operator or Viewer"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("nextToken" = Option<String>, Query),
        ("startAt" = Option<String>, Query),
    ),
    responses((status = 200, description = "A page of assignments", body = UserAssignmentListResponse))
)]
pub async fn list_users(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> ApiResult {
    let tenant = p.tenant()?;
    let role = q.get("role").map(Role::parse).transpose()?;
    let page = page_request(&q)?;
    let limit = page.limit.get().to_string();
    let result = s.org.list_users(&actor, &tenant, role, &page).await?;
    let links = page_links(
        &uri,
        &result,
        &[("role", role.map(Role::as_str)), ("limit", Some(&limit))],
    );
    let items: Vec<UserAssignmentResponse> = result
        .items
        .iter()
        .map(UserAssignmentResponse::from)
        .collect();
    Ok(Json(UserAssignmentListResponse {
        count: items.len(),
        items,
        more_available: result.next.is_some(),
        next_token: result.next.map(|c| c.as_str().to_owned()),
        links,
    })
    .into_response())
}

/// Assign a user of the identity provider to the tenant with a role (U2; tenant Admin). The
/// tenant must be ACTIVE.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/users", tag = "users",
    request_body = AssignUserRequest,
    params(("tenantId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h")),
    responses((status = 201, description = "The assignment (warnings when the user is in other tenants too)", body = UserAssignmentResponse,
        headers(("ETag" = String), ("Location" = String))))
)]
pub async fn assign_user(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<AssignUserRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let (email, role, user) = body.parse()?;
    let created = s
        .org
        .assign_user(&actor, &tenant, &email, role, user.as_ref(), key.as_ref())
        .await?;
    let a = &created.value.assignment;
    let mut res = assignment_response(StatusCode::CREATED, a, created.value.warnings.clone());
    if let Ok(loc) = HeaderValue::from_str(&assignment_href(&tenant, &a.user_id)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if created.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// One user's assignment (U3; tenant Admin or Operator).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/users/{userId}", tag = "users",
    params(("tenantId" = String, Path), ("userId" = String, Path, description = "The user's sub")),
    responses((status = 200, description = "The assignment", body = UserAssignmentResponse, headers(("ETag" = String))))
)]
pub async fn get_tenant_user(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let user = p.user()?;
    let a = s.org.get_assignment(&actor, &tenant, &user).await?;
    Ok(assignment_response(StatusCode::OK, &a, vec![]))
}

/// Change a user's role (U5; tenant Admin). Demoting the last Admin is 422 `LAST_ADMIN`.
#[utoipa::path(
    put, path = "/v1.0/tenants/{tenantId}/users/{userId}", tag = "users",
    request_body = ChangeRoleRequest,
    params(("tenantId" = String, Path), ("userId" = String, Path), ("If-Match" = Option<String>, Header)),
    responses((status = 200, description = "The assignment with its new role", body = UserAssignmentResponse, headers(("ETag" = String))))
)]
pub async fn change_role(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<ChangeRoleRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let user = p.user()?;
    let (role, version) = body.parse()?;
    let expected = expected_version(if_match, version)?;
    let a = s
        .org
        .change_role(&actor, &tenant, &user, role, expected)
        .await?;
    Ok(assignment_response(StatusCode::OK, &a, vec![]))
}

/// Remove a user from the tenant and its teams (U4; tenant Admin). Removing the last Admin is
/// 422 `LAST_ADMIN`.
#[utoipa::path(
    delete, path = "/v1.0/tenants/{tenantId}/users/{userId}", tag = "users",
    params(("tenantId" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "Removed"))
)]
pub async fn remove_user(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let user = p.user()?;
    s.org.remove_user(&actor, &tenant, &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The tenants a user belongs to (U6; the user themselves or a platform admin).
#[utoipa::path(
    get, path = "/v1.0/users/{userId}/tenants", tag = "users",
    params(("userId" = String, Path, description = "The user's sub")),
    responses((status = 200, description = "The user's tenants", body = UserTenantListResponse))
)]
pub async fn user_tenants(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let user = p.user()?;
    let tenants = s.org.user_tenants(&actor, &user).await?;
    let items: Vec<UserTenantResponse> = tenants.iter().map(UserTenantResponse::from).collect();
    let mut links = Links::new();
    links.insert(
        "self".into(),
        Link::get(format!("{}/tenants", user_href(&user))),
    );
    links.insert("user".into(), Link::get(user_href(&user)));
    Ok(Json(UserTenantListResponse {
        user_id: user.as_str().to_owned(),
        count: items.len(),
        items,
        links,
    })
    .into_response())
}

/// A user's profile with tenants and teams, by sub or e-mail (U7, C15; the user themselves or a
/// platform admin).
#[utoipa::path(
    get, path = "/v1.0/users/{userId}", tag = "users",
    params(("userId" = String, Path, description = "The user's sub, or e-mail (URL-encoded)")),
    responses((status = 200, description = "The profile", body = UserProfileResponse))
)]
pub async fn get_user(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let raw = p.raw("userId")?;
    let profile = s.org.get_user(&actor, raw).await?;
    Ok(Json(UserProfileResponse::from(&profile)).into_response())
}
