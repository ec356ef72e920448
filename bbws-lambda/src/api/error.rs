//! The error envelope (`{"error":{"code","message","details"},"requestId","timestamp"}`).
//!
//! Handlers and extractors return [`ApiError`]; its response carries the error as an extension
//! and no body. The [`render_errors`] middleware, which knows the request id, writes the
//! envelope. So every error path, including 404/405 fallbacks and caught panics, has one shape.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bbws_core::time::{Clock, SystemClock};
use bbws_core::{Error, ErrorCode};
use serde_json::{Value, json};

/// The request id header, set on every request and response.
pub const REQUEST_ID: &str = "x-request-id";

/// An error on its way to the caller.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

/// What [`render_errors`] needs to write the envelope.
#[derive(Debug, Clone)]
pub struct ErrorPayload {
    pub code: ErrorCode,
    pub message: String,
    pub details: Value,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = self.0.code();
        if code.is_client_error() {
            tracing::info!(error_code = code.as_str(), reason = %self.0, "request refused");
        } else {
            tracing::error!(error_code = code.as_str(), error = %self.0, "request failed");
        }
        let details = if code.is_client_error() {
            self.0.details()
        } else {
            json!({})
        };
        let payload = ErrorPayload {
            code,
            message: self.0.public_message(),
            details,
        };
        let status =
            StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut res = status.into_response();
        res.extensions_mut().insert(payload);
        res
    }
}

/// The JSON body of an error response.
pub fn envelope(p: &ErrorPayload, request_id: &str) -> Value {
    json!({
        "error": { "code": p.code.as_str(), "message": p.message, "details": p.details },
        "requestId": request_id,
        "timestamp": SystemClock.now().to_string(),
    })
}

/// Writes the envelope of any error response produced further in.
pub async fn render_errors(req: Request, next: Next) -> Response {
    let request_id = req
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let mut res = next.run(req).await;
    if let Some(p) = res.extensions_mut().remove::<ErrorPayload>() {
        let body = envelope(&p, &request_id).to_string();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res.headers_mut().remove(header::CONTENT_LENGTH);
        *res.body_mut() = Body::from(body);
    }
    res
}

/// Turns a panic into a 500 envelope (the panic message is logged, not shown).
#[allow(clippy::needless_pass_by_value)] // the signature CatchPanicLayer requires
pub fn panic_response(err: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = err
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| err.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default();
    ApiError(Error::Internal(format!("handler panicked: {what}"))).into_response()
}

/// 404 for unknown paths.
pub async fn not_found() -> ApiError {
    ApiError(Error::NotFound("No such resource".into()))
}

/// 405 for known paths with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError(Error::business(
        ErrorCode::MethodNotAllowed,
        "Method not allowed on this resource",
    ))
}
