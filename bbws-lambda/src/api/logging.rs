//! Request logging: every request runs in a span carrying its request id, the LLD action name
//! (`CREATE_TENANT`, `PARK_TENANT`, ...) and the tenant id of its path, and ends with one
//! structured line (digest §6.4: `action`, `status` SUCCESS/FAILURE, `errorCode`, duration).
//! Neither headers nor bodies are logged, so credentials and personal data stay out of the logs.

use std::time::Instant;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use bbws_core::ids::TenantId;

use super::error::{ErrorPayload, REQUEST_ID};

/// The LLD action name of a request (digest C40), from its method and path; `None` for paths the
/// API does not have.
pub fn action(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("/v1.0/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let m = method.as_str();
    Some(match (m, segments.as_slice()) {
        ("GET", ["health"]) => "HEALTH_CHECK",
        ("GET", ["openapi.json"]) => "GET_OPENAPI",
        ("POST", ["tenants"]) => "CREATE_TENANT",
        ("GET", ["tenants"]) => "LIST_TENANTS",
        ("GET", ["tenants", _]) => "GET_TENANT",
        ("PUT", ["tenants", _]) => "UPDATE_TENANT",
        ("DELETE", ["tenants", _]) => "DEPROVISION_TENANT",
        ("PATCH", ["tenants", _, "status"]) => "UPDATE_TENANT_STATUS",
        ("GET", ["tenants", _, "lifecycle"]) => "GET_TENANT_LIFECYCLE",
        ("GET", ["tenants", _, "audit"]) => "LIST_TENANT_AUDIT",
        ("POST", ["tenants", _, "park"] | ["tenants", _, "lifecycle", "park"]) => "PARK_TENANT",
        ("POST", ["tenants", _, "unpark"] | ["tenants", _, "lifecycle", "unpark"]) => {
            "UNPARK_TENANT"
        }
        ("POST", ["tenants", _, "lifecycle", "suspend"]) => "SUSPEND_TENANT",
        ("POST", ["tenants", _, "lifecycle", "resume"]) => "RESUME_TENANT",
        // Instances (digest 2.7 C1–C3, C5, C20).
        ("GET", ["tenants", _, "instances"]) => "LIST_INSTANCES",
        ("POST", ["tenants", _, "instances"]) => "PROVISION_INSTANCE",
        ("GET", ["tenants", _, "instances", _]) => "GET_INSTANCE",
        ("PUT", ["tenants", _, "instances", _]) => "UPDATE_INSTANCE",
        ("DELETE", ["tenants", _, "instances", _]) => "DEPROVISION_INSTANCE",
        ("POST", ["tenants", _, "instances", _, "retry"]) => "RETRY_INSTANCE_PROVISIONING",
        ("GET", ["operations", _]) => "GET_OPERATION",
        // Hierarchy (D, G, M, H).
        ("GET", ["tenants", _, "hierarchy"]) => "GET_HIERARCHY",
        ("POST", ["tenants", _, "hierarchy"]) => "CREATE_HIERARCHY",
        ("PUT", ["tenants", _, "hierarchy"]) => "UPDATE_HIERARCHY",
        ("DELETE", ["tenants", _, "hierarchy"]) => "DELETE_HIERARCHY",
        ("GET", ["tenants", _, "divisions"]) => "LIST_DIVISIONS",
        ("POST", ["tenants", _, "divisions"]) => "CREATE_DIVISION",
        ("GET", ["tenants", _, "divisions", _]) => "GET_DIVISION",
        ("PUT", ["tenants", _, "divisions", _]) => "UPDATE_DIVISION",
        ("DELETE", ["tenants", _, "divisions", _]) => "DELETE_DIVISION",
        ("GET", ["tenants", _, "divisions", _, "groups"]) => "LIST_GROUPS",
        ("POST", ["tenants", _, "divisions", _, "groups"]) => "CREATE_GROUP",
        ("GET", ["tenants", _, "divisions", _, "groups", _]) => "GET_GROUP",
        ("PUT", ["tenants", _, "divisions", _, "groups", _]) => "UPDATE_GROUP",
        ("DELETE", ["tenants", _, "divisions", _, "groups", _]) => "DELETE_GROUP",
        ("GET", ["tenants", _, "divisions", _, "groups", _, "teams"]) => "LIST_TEAMS",
        ("POST", ["tenants", _, "divisions", _, "groups", _, "teams"]) => "CREATE_TEAM",
        ("GET", ["tenants", _, "divisions", _, "groups", _, "teams", _]) => "GET_TEAM",
        ("PUT", ["tenants", _, "divisions", _, "groups", _, "teams", _]) => "UPDATE_TEAM",
        ("DELETE", ["tenants", _, "divisions", _, "groups", _, "teams", _]) => "DELETE_TEAM",
        (
            "GET",
            [
                "tenants",
                _,
                "divisions",
                _,
                "groups",
                _,
                "teams",
                _,
                "users",
            ],
        ) => "LIST_TEAM_USERS",
        (
            "POST",
            [
                "tenants",
                _,
                "divisions",
                _,
                "groups",
                _,
                "teams",
                _,
                "users",
            ],
        ) => "ADD_TEAM_USER",
        (
            "DELETE",
            [
                "tenants",
                _,
                "divisions",
                _,
                "groups",
                _,
                "teams",
                _,
                "users",
                _,
            ],
        ) => "REMOVE_TEAM_USER",
        // Users (U).
        ("GET", ["tenants", _, "users"]) => "LIST_USERS",
        ("POST", ["tenants", _, "users"]) => "ASSIGN_USER",
        ("GET", ["tenants", _, "users", _]) => "GET_TENANT_USER",
        ("PUT", ["tenants", _, "users", _]) => "UPDATE_USER_ROLE",
        ("DELETE", ["tenants", _, "users", _]) => "REMOVE_USER",
        ("GET", ["users", _]) => "GET_USER",
        ("GET", ["users", _, "tenants"]) => "GET_USER_TENANTS",
        // Invitations (I, P).
        ("GET", ["tenants", _, "invitations"]) => "LIST_INVITATIONS",
        ("POST", ["tenants", _, "invitations"]) => "CREATE_INVITATION",
        ("GET", ["tenants", _, "invitations", _]) => "GET_INVITATION",
        ("DELETE", ["tenants", _, "invitations", _]) => "CANCEL_INVITATION",
        ("POST", ["tenants", _, "invitations", _, "resend"]) => "RESEND_INVITATION",
        ("POST", ["tenants", _, "invitations", _, "revoke"]) => "REVOKE_INVITATION",
        ("GET", ["invitations", _]) => "VIEW_INVITATION",
        ("POST", ["invitations", _, "accept"]) => "ACCEPT_INVITATION",
        ("POST", ["invitations", _, "decline"]) => "DECLINE_INVITATION",
        _ => return None,
    })
}

/// The tenant id in a `/v1.0/tenants/{tenantId}/...` path, when it is a valid one.
pub fn tenant_in_path(path: &str) -> Option<TenantId> {
    let rest = path.strip_prefix("/v1.0/tenants/")?;
    rest.split('/').next()?.parse().ok()
}

/// The path as logged: an invitation token is a credential, so it is replaced by `[token]`.
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/v1.0/invitations/") {
        Some(rest) => {
            let tail = rest.find('/').map_or("", |i| &rest[i..]);
            std::borrow::Cow::Owned(format!("/v1.0/invitations/[token]{tail}"))
        }
        None => std::borrow::Cow::Borrowed(path),
    }
}

/// The span every request runs in; `action` and `tenant_id` are left out when the path has none.
/// Every field is given at creation: recording one later makes the JSON formatter parse and
/// rewrite the span's stored fields.
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let path = req.uri().path();
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %loggable_path(path),
        request_id = %request_id,
        action = action(req.method(), path),
        tenant_id = tenant_in_path(path).map(tracing::field::display),
    )
}

/// Logs one line per request when it completes: SUCCESS or FAILURE, the HTTP status, the error
/// code of a failure, and the duration. Sits inside [`super::error::render_errors`] so the error
/// payload is still on the response.
pub async fn log_completion(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let res = next.run(req).await;
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let http_status = res.status().as_u16();
    let error_code = res
        .extensions()
        .get::<ErrorPayload>()
        .map(|p| p.code.as_str());
    let outcome = if res.status().is_client_error() || res.status().is_server_error() {
        "FAILURE"
    } else {
        "SUCCESS"
    };
    tracing::info!(
        status = outcome,
        http_status,
        error_code,
        duration_ms,
        "request completed"
    );
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_follow_the_routes() {
        let id = "tenant-3f8a2b1c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
        let t = |p: &str| format!("/v1.0/tenants/{id}{p}");
        assert_eq!(
            action(&Method::POST, "/v1.0/tenants"),
            Some("CREATE_TENANT")
        );
        assert_eq!(action(&Method::GET, "/v1.0/tenants"), Some("LIST_TENANTS"));
        assert_eq!(action(&Method::GET, &t("")), Some("GET_TENANT"));
        assert_eq!(action(&Method::DELETE, &t("")), Some("DEPROVISION_TENANT"));
        assert_eq!(action(&Method::POST, &t("/park")), Some("PARK_TENANT"));
        assert_eq!(
            action(&Method::POST, &t("/lifecycle/park")),
            Some("PARK_TENANT")
        );
        assert_eq!(
            action(&Method::POST, &t("/lifecycle/resume")),
            Some("RESUME_TENANT")
        );
        assert_eq!(
            action(&Method::PATCH, &t("/status")),
            Some("UPDATE_TENANT_STATUS")
        );
        let team = t("/divisions/d/groups/g/teams/m");
        assert_eq!(
            action(&Method::GET, &t("/hierarchy")),
            Some("GET_HIERARCHY")
        );
        assert_eq!(
            action(&Method::POST, &t("/divisions")),
            Some("CREATE_DIVISION")
        );
        assert_eq!(action(&Method::PUT, &team), Some("UPDATE_TEAM"));
        assert_eq!(
            action(&Method::DELETE, &format!("{team}/users/u")),
            Some("REMOVE_TEAM_USER")
        );
        assert_eq!(
            action(&Method::PUT, &t("/users/u")),
            Some("UPDATE_USER_ROLE")
        );
        assert_eq!(
            action(&Method::GET, "/v1.0/users/u/tenants"),
            Some("GET_USER_TENANTS")
        );
        assert_eq!(
            action(&Method::POST, &t("/invitations/i/resend")),
            Some("RESEND_INVITATION")
        );
        assert_eq!(
            action(&Method::POST, "/v1.0/invitations/x/accept"),
            Some("ACCEPT_INVITATION")
        );
        assert_eq!(action(&Method::GET, "/v1.0/nope"), None);
        assert_eq!(action(&Method::POST, &t("")), None);
        assert_eq!(action(&Method::GET, "/tenants"), None);
    }

    #[test]
    fn invitation_tokens_are_not_logged() {
        assert_eq!(
            loggable_path("/v1.0/invitations/secret-token/accept"),
            "/v1.0/invitations/[token]/accept"
        );
        assert_eq!(
            loggable_path("/v1.0/invitations/secret-token"),
            "/v1.0/invitations/[token]"
        );
        assert_eq!(loggable_path("/v1.0/tenants"), "/v1.0/tenants");
    }

    #[test]
    fn tenant_ids_come_from_valid_paths_only() {
        let id = "tenant-3f8a2b1c-4d5e-4f60-8a7b-9c0d1e2f3a4b";
        assert_eq!(
            tenant_in_path(&format!("/v1.0/tenants/{id}/audit")).map(|t| t.to_string()),
            Some(id.to_owned())
        );
        assert_eq!(tenant_in_path("/v1.0/tenants"), None);
        assert_eq!(tenant_in_path("/v1.0/tenants/not-an-id"), None);
    }
}
