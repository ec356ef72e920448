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
        _ => return None,
    })
}

/// The tenant id in a `/v1.0/tenants/{tenantId}/...` path, when it is a valid one.
pub fn tenant_in_path(path: &str) -> Option<TenantId> {
    let rest = path.strip_prefix("/v1.0/tenants/")?;
    rest.split('/').next()?.parse().ok()
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
        path = %path,
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
        assert_eq!(action(&Method::GET, "/v1.0/nope"), None);
        assert_eq!(action(&Method::POST, &t("")), None);
        assert_eq!(action(&Method::GET, "/tenants"), None);
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
