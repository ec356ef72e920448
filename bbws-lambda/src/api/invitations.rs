//! Invitation endpoints: a tenant admin's (I1–I6) and the invitee's by token (P1–P3, C38).
//! P1 and P3 need no credentials (the token is one); P2 needs a bearer token whose `email` is
//! the invitation's.

use axum::Json;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bbws_core::org::{Invitation, InvitationStatus};

use super::OrgState;
use super::dto::EmptyRequest;
use super::error::ApiError;
use super::extract::{
    Caller, IdempotencyHeader, JsonBody, OptionalJsonBody, PathParams, QueryPairs,
};
use super::org_dto::{
    AcceptInvitationResponse, CreateInvitationRequest, InvitationListResponse, InvitationResponse,
    PublicInvitationResponse, encode_segment, invitation_href,
};
use super::tenants::{etag, page_links, page_request};

type ApiResult = Result<Response, ApiError>;

/// The `message` of a resend.
pub const RESENT_MESSAGE: &str = "Invitation resent successfully";
/// The `message` of a decline.
pub const DECLINED_MESSAGE: &str = "Invitation declined";

fn invitation_response(
    s: &OrgState,
    status: StatusCode,
    i: &Invitation,
    message: Option<&str>,
) -> Response {
    let mut body = InvitationResponse::new(i, s.org.config().max_resends);
    body.message = message.map(str::to_owned);
    let mut res = (status, Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(i.version));
    res
}

fn invitation_id(p: &PathParams) -> Result<bbws_core::ids::InvitationId, bbws_core::Error> {
    p.raw("invitationId")?.parse()
}

/// List the tenant's invitations, optionally of one status (I1; tenant Admin).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/invitations", tag = "invitations",
    params(
        ("tenantId" = String, Path),
        ("status" = Option<String>, Query, description = "PENDING, ACCEPTED, DECLINED, EXPIRED or CANCELLED"),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("pageSize" = Option<u32>, Query, minimum = 1, maximum = 100),
        ("nextToken" = Option<String>, Query),
        ("startAt" = Option<String>, Query),
    ),
    responses((status = 200, description = "A page of invitations", body = InvitationListResponse))
)]
pub async fn list_invitations(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    OriginalUri(uri): OriginalUri,
    q: QueryPairs,
) -> ApiResult {
    let tenant = p.tenant()?;
    let status = q
        .get("status")
        .map(str::parse::<InvitationStatus>)
        .transpose()?;
    let page = page_request(&q)?;
    let limit = page.limit.get().to_string();
    let result = s
        .org
        .list_invitations(&actor, &tenant, status, &page)
        .await?;
    let links = page_links(
        &uri,
        &result,
        &[
            ("status", status.map(InvitationStatus::as_str)),
            ("limit", Some(&limit)),
        ],
    );
    let max = s.org.config().max_resends;
    let items: Vec<InvitationResponse> = result
        .items
        .iter()
        .map(|i| InvitationResponse::new(i, max))
        .collect();
    Ok(Json(InvitationListResponse {
        count: items.len(),
        items,
        more_available: result.next.is_some(),
        next_token: result.next.map(|c| c.as_str().to_owned()),
        links,
    })
    .into_response())
}

/// Invite an e-mail to the tenant with a role, optionally into a team, and mail the accept link
/// (I2; tenant Admin). The tenant must be ACTIVE; the link expires after 7 days.
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/invitations", tag = "invitations",
    request_body = CreateInvitationRequest,
    params(("tenantId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h")),
    responses((status = 201, description = "The invitation (the token is only in the mail)", body = InvitationResponse,
        headers(("ETag" = String), ("Location" = String))))
)]
pub async fn create_invitation(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<CreateInvitationRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let (email, role, team) = body.parse()?;
    let created = s
        .org
        .create_invitation(&actor, &tenant, &email, role, team, key.as_ref())
        .await?;
    let mut res = invitation_response(&s, StatusCode::CREATED, &created.value, None);
    if let Ok(loc) = HeaderValue::from_str(&invitation_href(&created.value)) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    if created.replayed {
        res.headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(res)
}

/// One invitation (I3; tenant Admin).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/invitations/{invitationId}", tag = "invitations",
    params(("tenantId" = String, Path), ("invitationId" = String, Path, description = "inv-{uuid}")),
    responses((status = 200, description = "The invitation", body = InvitationResponse, headers(("ETag" = String))))
)]
pub async fn get_invitation(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = invitation_id(&p)?;
    let i = s.org.get_invitation(&actor, &tenant, id).await?;
    Ok(invitation_response(&s, StatusCode::OK, &i, None))
}

/// Cancel a PENDING invitation; its link stops working (I4, C11; tenant Admin). Not PENDING →
/// 400 `INVALID_STATE`.
#[utoipa::path(
    delete, path = "/v1.0/tenants/{tenantId}/invitations/{invitationId}", tag = "invitations",
    params(("tenantId" = String, Path), ("invitationId" = String, Path)),
    responses((status = 200, description = "The invitation, CANCELLED", body = InvitationResponse))
)]
pub async fn cancel_invitation(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = invitation_id(&p)?;
    let i = s.org.cancel_invitation(&actor, &tenant, id).await?;
    Ok(invitation_response(&s, StatusCode::OK, &i, None))
}

/// Revoke a PENDING invitation: the same as cancelling it (I6, C11; tenant Admin).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/invitations/{invitationId}/revoke", tag = "invitations",
    request_body(content = Option<EmptyRequest>, description = "None, or an empty object"),
    params(("tenantId" = String, Path), ("invitationId" = String, Path)),
    responses((status = 200, description = "The invitation, CANCELLED", body = InvitationResponse))
)]
pub async fn revoke_invitation(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    OptionalJsonBody(_): OptionalJsonBody<EmptyRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = invitation_id(&p)?;
    let i = s.org.revoke_invitation(&actor, &tenant, id).await?;
    Ok(invitation_response(&s, StatusCode::OK, &i, None))
}

/// Mail a new link (I5, C14; tenant Admin): the old link stops working and the expiry restarts.
/// PENDING or EXPIRED only (400 `INVALID_STATE`); at most 3 times (400 `RESEND_LIMIT_EXCEEDED`).
#[utoipa::path(
    post, path = "/v1.0/tenants/{tenantId}/invitations/{invitationId}/resend", tag = "invitations",
    request_body(content = Option<EmptyRequest>, description = "None, or an empty object"),
    params(("tenantId" = String, Path), ("invitationId" = String, Path)),
    responses((status = 200, description = "The invitation with its new expiry", body = InvitationResponse))
)]
pub async fn resend_invitation(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    OptionalJsonBody(_): OptionalJsonBody<EmptyRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = invitation_id(&p)?;
    let i = s.org.resend_invitation(&actor, &tenant, id).await?;
    Ok(invitation_response(
        &s,
        StatusCode::OK,
        &i,
        Some(RESENT_MESSAGE),
    ))
}

fn public_href(token: &str) -> String {
    format!("/v1.0/invitations/{}", encode_segment(token))
}

/// What an invitation link shows (P1; no credentials: the token is one). An unknown, rotated or
/// cancelled token is 404 `INVITATION_NOT_FOUND`.
#[utoipa::path(
    get, path = "/v1.0/invitations/{token}", tag = "invitations",
    params(("token" = String, Path, description = "The token from the invitation link")),
    responses((status = 200, description = "The invitation; isValid says whether it can be answered", body = PublicInvitationResponse))
)]
pub async fn view_invitation(State(s): State<OrgState>, p: PathParams) -> ApiResult {
    let token = p.raw("token")?;
    let view = s.org.view_invitation(token).await?;
    Ok(Json(PublicInvitationResponse::new(&view, &public_href(token))).into_response())
}

/// Accept an invitation (P2, C38): the caller, whose token's `email` must be the invitation's,
/// joins the tenant with the invited role. Used: 400 `INVITATION_ALREADY_USED`; expired: 400
/// `INVITATION_EXPIRED`; another e-mail: 403.
#[utoipa::path(
    post, path = "/v1.0/invitations/{token}/accept", tag = "invitations",
    request_body(content = Option<EmptyRequest>, description = "None, or an empty object"),
    params(("token" = String, Path)),
    responses((status = 200, description = "Accepted: the new assignment", body = AcceptInvitationResponse))
)]
pub async fn accept_invitation(
    State(s): State<OrgState>,
    Caller(actor): Caller,
    p: PathParams,
    OptionalJsonBody(_): OptionalJsonBody<EmptyRequest>,
) -> ApiResult {
    let token = p.raw("token")?;
    let a = s.org.accept_invitation(&actor, token).await?;
    Ok(Json(AcceptInvitationResponse::from(&a)).into_response())
}

/// Decline an invitation (P3; no credentials: the token is one). The tenant's contact is told.
#[utoipa::path(
    post, path = "/v1.0/invitations/{token}/decline", tag = "invitations",
    request_body(content = Option<EmptyRequest>, description = "None, or an empty object"),
    params(("token" = String, Path)),
    responses((status = 200, description = "The invitation, DECLINED", body = PublicInvitationResponse))
)]
pub async fn decline_invitation(
    State(s): State<OrgState>,
    p: PathParams,
    OptionalJsonBody(_): OptionalJsonBody<EmptyRequest>,
) -> ApiResult {
    let token = p.raw("token")?;
    let view = s.org.decline_invitation(token).await?;
    let mut body = PublicInvitationResponse::new(&view, &public_href(token));
    body.message = Some(DECLINED_MESSAGE.to_owned());
    Ok(Json(body).into_response())
}
