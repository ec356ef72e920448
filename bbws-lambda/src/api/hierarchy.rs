//! Hierarchy endpoints (digest 2.5 §1.2 C and D): divisions, groups, teams, team members, the
//! tree, and the compatibility `/hierarchy` operations of C8. Each handler parses, calls one
//! service method, renders; the service authorizes from the stored assignments.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bbws_core::Error;
use bbws_core::org::OrgUnit;

use super::OrgState;
use super::error::ApiError;
use super::extract::{
    Caller, IdempotencyHeader, IfMatch, JsonBody, PathParams, QueryPairs, query_bool,
};
use super::org_dto::{
    AddMemberRequest, HierarchyPathResponse, HierarchyRequest, HierarchyTreeResponse,
    OrgUnitListResponse, OrgUnitResponse, TeamMemberListResponse, TeamMemberResponse,
    UnitNameRequest, named_path, unit_href,
};
use super::tenants::{etag, expected_version, page_links, page_request};

type ApiResult = Result<Response, ApiError>;

/// A node with its `ETag`.
pub fn unit_response(status: StatusCode, u: &OrgUnit) -> Response {
    let mut res = (status, Json(OrgUnitResponse::from(u))).into_response();
    res.headers_mut().insert(header::ETAG, etag(u.version));
    res
}

async fn list_at(
    s: &OrgState,
    actor: &bbws_core::auth::Actor,
    p: &PathParams,
    uri: &axum::http::Uri,
    q: &QueryPairs,
) -> ApiResult {
    let tenant = p.tenant()?;
    let parent = p.parent()?;
    let page = page_request(q)?;
    let limit = page.limit.get().to_string();
    let result = s.org.list_units(actor, &tenant, parent, &page).await?;
    let links = page_links(uri, &result, &[("limit", Some(&limit))]);
    let items: Vec<OrgUnitResponse> = result.items.iter().map(OrgUnitResponse::from).collect();
    Ok(Json(OrgUnitListResponse {
        count: items.len(),
        items,
        more_available: result.next.is_some(),
        next_token: result.next.map(|c| c.as_str().to_owned()),
        links,
    })
    .into_response())
}

async fn create_at(
    s: &OrgState,
    actor: &bbws_core::auth::Actor,
    p: &PathParams,
    key: Option<&bbws_core::idempotency::IdempotencyKey>,
    body: UnitNameRequest,
) -> ApiResult {
    let tenant = p.tenant()?;
    let parent = p.parent()?;
    let (name, version) = body.parse()?;
    if version.is_some() {
        return Err(Error::field("version", "version is only for PUT").into());
    }
    let created = s.org.create_unit(actor, &tenant, parent, name, key).await?;
    let mut res = unit_response(StatusCode::CREATED, &created.value);
    if let Ok(loc) = HeaderValue::from_str(&unit_href(&tenant, created.value.path)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if created.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

async fn get_at(s: &OrgState, actor: &bbws_core::auth::Actor, p: &PathParams) -> ApiResult {
    let tenant = p.tenant()?;
    let path = p.unit()?;
    let u = s.org.get_unit(actor, &tenant, path).await?;
    Ok(unit_response(StatusCode::OK, &u))
}

async fn rename_at(
    s: &OrgState,
    actor: &bbws_core::auth::Actor,
    p: &PathParams,
    if_match: Option<u64>,
    body: UnitNameRequest,
) -> ApiResult {
    let tenant = p.tenant()?;
    let path = p.unit()?;
    let (name, version) = body.parse()?;
    let expected = expected_version(if_match, version)?;
    let u = s
        .org
        .rename_unit(actor, &tenant, path, name, expected)
        .await?;
    Ok(unit_response(StatusCode::OK, &u))
}

async fn delete_at(
    s: &OrgState,
    actor: &bbws_core::auth::Actor,
    p: &PathParams,
    if_match: Option<u64>,
    q: &QueryPairs,
) -> ApiResult {
    let tenant = p.tenant()?;
    let path = p.unit()?;
    let cascade = query_bool(q, "cascade")?;
    s.org
        .delete_unit(actor, &tenant, path, cascade, if_match)
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

macro_rules! unit_routes {
    (
        docs: [$dl:literal, $dc:literal, $dg:literal, $dr:literal, $dd:literal],
        list: $list:ident, create: $create:ident, get: $get:ident, rename: $rename:ident,
        delete: $delete:ident,
        collection: $collection:literal, item: $item:literal,
        params: [$(($p:literal, $pd:literal)),*]
    ) => {
        #[doc = $dl]
        #[utoipa::path(
            get, path = $collection, tag = "hierarchy",
            params(
                ("tenantId" = String, Path, description = "tenant-{uuid}"),
                $(($p = String, Path, description = $pd),)*
                ("limit" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Page size (default 20)"),
                ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100, description = "Alias of limit"),
                ("nextToken" = Option<String>, Query, description = "From the previous page"),
                ("startAt" = Option<String>, Query, description = "Alias of nextToken"),
            ),
            responses((status = 200, description = "A page of nodes", body = OrgUnitListResponse))
        )]
        pub async fn $list(
            State(s): State<OrgState>,
            Caller(actor): Caller,
            p: PathParams,
            OriginalUri(uri): OriginalUri,
            q: QueryPairs,
        ) -> ApiResult {
            list_at(&s, &actor, &p, &uri, &q).await
        }

        #[doc = $dc]
        #[utoipa::path(
            post, path = $collection, tag = "hierarchy",
            request_body = UnitNameRequest,
            params(
                ("tenantId" = String, Path, description = "tenant-{uuid}"),
                $(($p = String, Path, description = $pd),)*
                ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h; another body with the same key is 409"),
            ),
            responses((status = 201, description = "Created (or replayed)", body = OrgUnitResponse,
                headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new node"))))
        )]
        pub async fn $create(
            State(s): State<OrgState>,
            Caller(actor): Caller,
            p: PathParams,
            IdempotencyHeader(key): IdempotencyHeader,
            JsonBody(body): JsonBody<UnitNameRequest>,
        ) -> ApiResult {
            create_at(&s, &actor, &p, key.as_ref(), body).await
        }

        #[doc = $dg]
        #[utoipa::path(
            get, path = $item, tag = "hierarchy",
            params(
                ("tenantId" = String, Path, description = "tenant-{uuid}"),
                $(($p = String, Path, description = $pd),)*
            ),
            responses((status = 200, description = "The node", body = OrgUnitResponse, headers(("ETag" = String))))
        )]
        pub async fn $get(State(s): State<OrgState>, Caller(actor): Caller, p: PathParams) -> ApiResult {
            get_at(&s, &actor, &p).await
        }

        #[doc = $dr]
        #[utoipa::path(
            put, path = $item, tag = "hierarchy",
            request_body = UnitNameRequest,
            params(
                ("tenantId" = String, Path, description = "tenant-{uuid}"),
                $(($p = String, Path, description = $pd),)*
                ("If-Match" = Option<String>, Header, description = "The ETag the change is based on; a stale one is 409 VERSION_CONFLICT"),
            ),
            responses((status = 200, description = "The renamed node", body = OrgUnitResponse, headers(("ETag" = String))))
        )]
        pub async fn $rename(
            State(s): State<OrgState>,
            Caller(actor): Caller,
            p: PathParams,
            IfMatch(if_match): IfMatch,
            JsonBody(body): JsonBody<UnitNameRequest>,
        ) -> ApiResult {
            rename_at(&s, &actor, &p, if_match, body).await
        }

        #[doc = $dd]
        #[utoipa::path(
            delete, path = $item, tag = "hierarchy",
            params(
                ("tenantId" = String, Path, description = "tenant-{uuid}"),
                $(($p = String, Path, description = $pd),)*
                ("cascade" = Option<bool>, Query, description = "Also delete everything below"),
                ("If-Match" = Option<String>, Header, description = "The ETag the change is based on"),
            ),
            responses((status = 204, description = "Deleted"))
        )]
        pub async fn $delete(
            State(s): State<OrgState>,
            Caller(actor): Caller,
            p: PathParams,
            IfMatch(if_match): IfMatch,
            q: QueryPairs,
        ) -> ApiResult {
            delete_at(&s, &actor, &p, if_match, &q).await
        }
    };
}

unit_routes!(
    docs: [
        "List the active divisions under the parent, by name (D1).",
        "Create a division (D2, tenant Admin). The tenant must be ACTIVE.",
        "Get a division (D3).",
        "Rename a division (D4, tenant Admin).",
        "Soft-delete a division (D5, tenant Admin): 422 `HIERARCHY_NOT_EMPTY` while it has active children or members, unless `cascade=true`."
    ],
    list: list_divisions, create: create_division, get: get_division, rename: update_division,
    delete: delete_division,
    collection: "/v1.0/tenants/{tenantId}/divisions",
    item: "/v1.0/tenants/{tenantId}/divisions/{divisionId}",
    params: [("divisionId", "div-{uuid}")]
);

unit_routes!(
    docs: [
        "List the active groups under the parent, by name (G1).",
        "Create a group (G2, tenant Admin). The tenant must be ACTIVE.",
        "Get a group (G3).",
        "Rename a group (G4, tenant Admin).",
        "Soft-delete a group (G5, tenant Admin): 422 `HIERARCHY_NOT_EMPTY` while it has active children or members, unless `cascade=true`."
    ],
    list: list_groups, create: create_group, get: get_group, rename: update_group,
    delete: delete_group,
    collection: "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups",
    item: "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}",
    params: [("divisionId", "div-{uuid}"), ("groupId", "grp-{uuid}")]
);

unit_routes!(
    docs: [
        "List the active teams under the parent, by name (M1).",
        "Create a team (M2, tenant Admin). The tenant must be ACTIVE.",
        "Get a team (M3).",
        "Rename a team (M4, tenant Admin).",
        "Soft-delete a team (M5, tenant Admin): 422 `HIERARCHY_NOT_EMPTY` while it has active children or members, unless `cascade=true`."
    ],
    list: list_teams, create: create_team, get: get_team, rename: update_team,
    delete: delete_team,
    collection: "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams",
    item: "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}",
    params: [("divisionId", "div-{uuid}"), ("groupId", "grp-{uuid}"), ("teamId", "team-{uuid}")]
);

/// List a team's members (M6).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}/users", tag = "hierarchy",
    params(
        ("tenantId" = String, Path), ("divisionId" = String, Path), ("groupId" = String, Path), ("teamId" = String, Path),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("nextToken" = Option<String>, Query),
        ("startAt" = Option<String>, Query),
    ),
    responses((status = 200, description = "A page of team members", body = TeamMemberListResponse))
)]
pub async fn list_team_users(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> ApiResult {
    let tenant = p.tenant()?;
    let team = p.unit()?;
    let page = page_request(&q)?;
    let limit = page.limit.get().to_string();
    let result = s.org.list_members(&actor, &tenant, team, &page).await?;
    let links = page_links(&uri, &result, &[("limit", Some(&limit))]);
    let items: Vec<TeamMemberResponse> =
        result.items.iter().map(TeamMemberResponse::from).collect();
    Ok(Json(TeamMemberListResponse {
        count: items.len(),
        items,
        more_available: result.next.is_some(),
        next_token: result.next.map(|c| c.as_str().to_owned()),
        links,
    })
    .into_response())
}

/// Add a user assigned to the tenant to a team (M7, tenant Admin or Operator).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}/users", tag = "hierarchy",
    request_body = AddMemberRequest,
    params(("tenantId" = String, Path), ("divisionId" = String, Path), ("groupId" = String, Path), ("teamId" = String, Path)),
    responses((status = 201, description = "The new member", body = TeamMemberResponse))
)]
pub async fn add_team_user(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    JsonBody(body): JsonBody<AddMemberRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let team = p.unit()?;
    let user = body.parse()?;
    let m = s.org.add_member(&actor, &tenant, team, &user).await?;
    Ok((StatusCode::CREATED, Json(TeamMemberResponse::from(&m))).into_response())
}

/// Remove a user from a team (M8, tenant Admin or Operator).
#[utoipa::path(
    delete, path = "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}/users/{userId}", tag = "hierarchy",
    params(("tenantId" = String, Path), ("divisionId" = String, Path), ("groupId" = String, Path), ("teamId" = String, Path), ("userId" = String, Path)),
    responses((status = 204, description = "Removed"))
)]
pub async fn remove_team_user(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let team = p.unit()?;
    let user = p.user()?;
    s.org.remove_member(&actor, &tenant, team, &user).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The tenant's whole active hierarchy with team members (H1).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/hierarchy", tag = "hierarchy",
    params(("tenantId" = String, Path)),
    responses((status = 200, description = "The tree", body = HierarchyTreeResponse))
)]
pub async fn get_hierarchy(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let tree = s.org.tree(&actor, &tenant).await?;
    Ok(Json(HierarchyTreeResponse::new(&tenant, &tree)).into_response())
}

fn path_response(status: StatusCode, nodes: &[OrgUnit]) -> ApiResult {
    let body = HierarchyPathResponse::new(nodes)
        .ok_or_else(|| Error::Internal("a hierarchy path without nodes".into()))?;
    let version = body.version;
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(version));
    Ok(res)
}

/// Get or create the path Division → Group → Team by names (H2, C8; tenant Admin). 409
/// `HIERARCHY_EXISTS` when every level already exists.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/hierarchy", tag = "hierarchy",
    request_body = HierarchyRequest,
    params(("tenantId" = String, Path)),
    responses((status = 201, description = "The path, with what was created", body = HierarchyPathResponse))
)]
pub async fn create_hierarchy(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    JsonBody(body): JsonBody<HierarchyRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let path = body.parse_create()?;
    let nodes = s
        .org
        .ensure_path(&actor, &tenant, path.division, path.group, path.team)
        .await?;
    path_response(StatusCode::CREATED, &nodes)
}

/// Rename the deepest named level of a path to `newName` (H3, C8; tenant Admin).
#[utoipa::path(
    put, path = "/v1.0/tenants/{tenantId}/hierarchy", tag = "hierarchy",
    request_body = HierarchyRequest,
    params(("tenantId" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag of the level renamed")),
    responses((status = 200, description = "The path after the rename", body = HierarchyPathResponse))
)]
pub async fn update_hierarchy(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    IfMatch(if_match): IfMatch,
    JsonBody(body): JsonBody<HierarchyRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let (path, name, version) = body.parse_rename()?;
    let expected = expected_version(if_match, version)?;
    let nodes = s
        .org
        .rename_path(
            &actor,
            &tenant,
            &path.division,
            path.group.as_ref(),
            path.team.as_ref(),
            name,
            expected,
        )
        .await?;
    path_response(StatusCode::OK, &nodes)
}

/// Delete the deepest named level of a path (H4, C8; tenant Admin): 422 `HIERARCHY_NOT_EMPTY`
/// unless it is empty or `cascade=true`.
#[utoipa::path(
    delete, path = "/v1.0/tenants/{tenantId}/hierarchy", tag = "hierarchy",
    params(
        ("tenantId" = String, Path),
        ("division" = String, Query, description = "The division's name"),
        ("group" = Option<String>, Query, description = "The group's name"),
        ("team" = Option<String>, Query, description = "The team's name (needs group)"),
        ("cascade" = Option<bool>, Query, description = "Also delete everything below"),
    ),
    responses((status = 204, description = "Deleted"))
)]
pub async fn delete_hierarchy(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    q: QueryPairs,
) -> ApiResult {
    let tenant = p.tenant()?;
    let cascade = query_bool(&q, "cascade")?;
    let path = named_path(q.get("division"), q.get("group"), q.get("team"))?;
    s.org
        .delete_path(
            &actor,
            &tenant,
            &path.division,
            path.group.as_ref(),
            path.team.as_ref(),
            cascade,
        )
        .await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
