//! The router behind Amazon API Gateway: identity from the authorizer claims API Gateway puts in
//! the event, and the translation between API Gateway proxy events (REST API payload 1.0, HTTP
//! API payload 2.0) and HTTP requests and responses.
//!
//! Nothing here is tied to the Lambda runtime or holds global state: the `bbws-tenant-api`
//! binary serves events through [`ApiFunction`], and the Python module does the same from its own
//! runtime, so both return the same JSON for the same event.

use std::future::Future as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use axum::http::request::Parts;
use axum::http::uri::PathAndQuery;
use axum::http::{Extensions, Request, Response, StatusCode, Uri};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bbws_aws::Backend;
use bbws_core::Error;
use bbws_core::auth::{Actor, Claims};
use bbws_core::events::OutboxRelay;
use lambda_http::aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayV2httpResponse};
use lambda_http::request::RequestContext;
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tower::ServiceExt as _;
use tracing::Instrument as _;

use crate::api::auth::Authenticator;
use crate::api::error::{ErrorPayload, REQUEST_ID, envelope};
use crate::{AppState, router};

/// Reads the caller from the claims of the API Gateway authorizer (a Cognito user pool
/// authorizer on a REST API, a JWT authorizer on an HTTP API). API Gateway has verified the token
/// before the function runs; a request without claims is refused with 401.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiGatewayAuthenticator;

impl Authenticator for ApiGatewayAuthenticator {
    fn authenticate(&self, parts: &Parts) -> Result<Actor, Error> {
        let claims = authorizer_claims(&parts.extensions).ok_or_else(|| {
            Error::Unauthorized("The request carries no API Gateway authorizer claims".into())
        })?;
        Ok(Actor::from_claims(&Claims::from_json(&claims)?))
    }
}

/// The authorizer claims of a request made from an API Gateway event, as a JSON object:
/// `requestContext.authorizer.claims` (REST API) or `requestContext.authorizer.jwt.claims`
/// (HTTP API). `None` when there are none (no authorizer, IAM, or a Lambda authorizer).
pub fn authorizer_claims(extensions: &Extensions) -> Option<Value> {
    let claims = match extensions.get::<RequestContext>()? {
        RequestContext::ApiGatewayV1(ctx) => ctx.authorizer.fields.get("claims")?.clone(),
        RequestContext::ApiGatewayV2(ctx) => {
            let jwt = ctx.authorizer.as_ref()?.jwt.as_ref()?;
            Value::Object(
                jwt.claims
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect(),
            )
        }
        _ => return None,
    };
    claims
        .as_object()
        .is_some_and(|c| !c.is_empty())
        .then_some(claims)
}

/// The API Gateway payload format of an event, which is also the format of its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadVersion {
    /// REST API proxy integration (payload format 1.0).
    V1,
    /// HTTP API (payload format 2.0).
    V2,
}

impl PayloadVersion {
    /// Guesses the format of an event that could not be read: `"version": "2.0"` means V2.
    fn guess(event: &Value) -> Self {
        if event.get("version").and_then(Value::as_str) == Some("2.0") {
            Self::V2
        } else {
            Self::V1
        }
    }
}

/// Serves one API Gateway proxy event (REST API v1 or HTTP API v2) through `router` and returns
/// the API Gateway response of the same payload version.
///
/// The request id is the client's `x-request-id`, or else the event's `requestContext.requestId`.
/// A stage prefix API Gateway puts in the path (`/prod/v1.0/...`) is removed. An event that is not
/// an API Gateway proxy event gets a 400 response with the error envelope.
pub async fn handle_event(router: Router, event: Value) -> Value {
    match serde_json::to_string(&event) {
        Ok(text) => handle_event_text(router, &text).await,
        Err(_) => refuse(&event, &not_apigw()).await,
    }
}

/// [`handle_event`] on the event's JSON text, as the Lambda runtime receives it: the text is
/// read once, straight into the API Gateway request type, with no `Value` in between.
pub async fn handle_event_text(router: Router, event: &str) -> Value {
    let (version, request) = match to_request(event) {
        Ok(r) => r,
        Err(e) => {
            let event = serde_json::from_str(event).unwrap_or(Value::Null);
            return refuse(&event, &e).await;
        }
    };
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let span = tracing::info_span!("apigw", payload = ?version, request_id = %request_id);
    async move {
        let Ok(response) = router.oneshot(request).await;
        render(version, response).await
    }
    .instrument(span)
    .await
}

/// The error response to an event that could not be served, in the event's payload format.
async fn refuse(event: &Value, e: &Error) -> Value {
    let request_id = event
        .pointer("/requestContext/requestId")
        .and_then(Value::as_str)
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    tracing::warn!(request_id = %request_id, reason = %e, "event refused");
    render(PayloadVersion::guess(event), error_response(e, &request_id)).await
}

fn not_apigw() -> Error {
    Error::field(
        "event",
        "Expected an API Gateway REST API (payload 1.0) or HTTP API (payload 2.0) proxy event",
    )
}

/// The two fields of an event that must agree before `lambda_http` reads it.
#[derive(serde::Deserialize)]
struct BodyProbe<'a> {
    #[serde(rename = "isBase64Encoded", default)]
    is_base64_encoded: Option<bool>,
    #[serde(borrow, default)]
    body: Option<std::borrow::Cow<'a, str>>,
}

/// Turns an event's text into a request for the router; a validation error when it is not an
/// API Gateway proxy event.
fn to_request(event: &str) -> Result<(PayloadVersion, Request<Body>), Error> {
    // lambda_http panics on a body flagged base64 that is not, so check it first.
    let probe: BodyProbe<'_> = serde_json::from_str(event).map_err(|_| not_apigw())?;
    if probe.is_base64_encoded == Some(true)
        && let Some(body) = probe.body
        && BASE64.decode(body.as_bytes()).is_err()
    {
        return Err(Error::field(
            "body",
            "The body is flagged base64 but is not valid base64",
        ));
    }
    // lambda_http also unwraps a few parses (a Host header that is not a host, ...), hence
    // catch_unwind.
    let request = catch_unwind(AssertUnwindSafe(|| lambda_http::request::from_str(event)))
        .map_err(|_| not_apigw())?
        .map_err(|_| not_apigw())?;
    let (mut parts, body) = request.into_parts();
    let context = parts
        .extensions
        .get::<RequestContext>()
        .ok_or_else(not_apigw)?;
    let (version, stage, gateway_request_id) = match context {
        RequestContext::ApiGatewayV1(ctx) => (
            PayloadVersion::V1,
            ctx.stage.clone(),
            ctx.request_id.clone(),
        ),
        RequestContext::ApiGatewayV2(ctx) => (
            PayloadVersion::V2,
            ctx.stage.clone(),
            ctx.request_id.clone(),
        ),
        _ => return Err(not_apigw()),
    };
    if let Some(uri) = strip_stage(&parts.uri, stage.as_deref()) {
        parts.uri = uri;
    }
    if !parts.headers.contains_key(REQUEST_ID)
        && let Some(v) = gateway_request_id.and_then(|id| HeaderValue::from_str(&id).ok())
    {
        parts.headers.insert(REQUEST_ID, v);
    }
    Ok((
        version,
        Request::from_parts(parts, Body::from(body.to_vec())),
    ))
}

/// Removes the `/{stage}` prefix `lambda_http` adds to a REST API path (and an HTTP API puts in
/// `rawPath` for a named stage): the router's paths start at `/v1.0`.
fn strip_stage(uri: &Uri, stage: Option<&str>) -> Option<Uri> {
    let stage = stage.filter(|s| !s.is_empty() && *s != "$default")?;
    let rest = uri.path().strip_prefix('/')?.strip_prefix(stage)?;
    if !(rest.is_empty() || rest.starts_with('/')) {
        return None;
    }
    let path = if rest.is_empty() { "/" } else { rest };
    let pq = match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(pq).ok()?);
    Uri::from_parts(parts).ok()
}

/// A response carrying the error envelope, for failures outside the router.
fn error_response(e: &Error, request_id: &str) -> Response<Body> {
    let code = e.code();
    let payload = ErrorPayload {
        code,
        message: e.public_message(),
        details: if code.is_client_error() {
            e.details()
        } else {
            Value::Object(Map::new())
        },
    };
    let mut res = Response::new(Body::from(envelope(&payload, request_id).to_string()));
    *res.status_mut() =
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        res.headers_mut().insert(REQUEST_ID, v);
    }
    res
}

/// Renders a response as API Gateway expects it for `version`, as `lambda_http` does: REST API
/// responses put every header in `multiValueHeaders` (and leave `headers` empty, so API Gateway
/// does not merge duplicates); HTTP API responses put headers in `headers` (repeated ones joined
/// with commas) and `Set-Cookie` values in `cookies`. Text bodies are sent as they are, others
/// base64-encoded.
async fn render(version: PayloadVersion, response: Response<Body>) -> Value {
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => {
            let request_id = parts
                .headers
                .get(REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let e = Error::Internal(format!("cannot read the response body: {e}"));
            tracing::error!(error = %e, "response body failed");
            return Box::pin(render(version, error_response(&e, request_id))).await;
        }
    };
    let (body, is_base64_encoded) = encode_body(&parts.headers, bytes.to_vec());
    let status_code = i64::from(parts.status.as_u16());
    let rendered = match version {
        PayloadVersion::V1 => {
            let mut r = ApiGatewayProxyResponse::default();
            r.status_code = status_code;
            r.multi_value_headers = parts.headers;
            r.body = body;
            r.is_base64_encoded = is_base64_encoded;
            serde_json::to_value(r)
        }
        PayloadVersion::V2 => {
            let (headers, cookies) = v2_headers(&parts.headers);
            let mut r = ApiGatewayV2httpResponse::default();
            r.status_code = status_code;
            r.headers = headers;
            r.cookies = cookies;
            r.body = body;
            r.is_base64_encoded = is_base64_encoded;
            serde_json::to_value(r)
        }
    };
    // Header values are visible ASCII (HeaderValue::to_str) or the serializer refuses them; the
    // router only sets such values.
    rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot render the API Gateway response");
        serde_json::json!({ "statusCode": 500, "body": "", "isBase64Encoded": false })
    })
}

/// HTTP API response headers: one value per name (repeated values joined with `,`), and the
/// `Set-Cookie` values apart.
fn v2_headers(headers: &HeaderMap) -> (HeaderMap, Vec<String>) {
    let mut out = HeaderMap::new();
    let mut cookies = Vec::new();
    for name in headers.keys() {
        let values: Vec<&str> = headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if name == header::SET_COOKIE {
            cookies.extend(values.iter().map(|v| (*v).to_owned()));
        } else if let Ok(v) = HeaderValue::from_str(&values.join(",")) {
            out.insert(HeaderName::clone(name), v);
        }
    }
    (out, cookies)
}

/// The body as API Gateway takes it: `None` when empty, text for textual media types in UTF-8
/// (unless content-encoded), base64 otherwise.
fn encode_body(headers: &HeaderMap, bytes: Vec<u8>) -> (Option<lambda_http::Body>, bool) {
    if bytes.is_empty() {
        return (None, false);
    }
    let textual = !headers.contains_key(header::CONTENT_ENCODING)
        && headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_text_media_type);
    if textual {
        match String::from_utf8(bytes) {
            Ok(s) => (Some(lambda_http::Body::Text(s)), false),
            Err(e) => (Some(lambda_http::Body::Binary(e.into_bytes())), true),
        }
    } else {
        (Some(lambda_http::Body::Binary(bytes)), true)
    }
}

fn is_text_media_type(content_type: &str) -> bool {
    let m = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    m.starts_with("text/")
        || [
            "application/json",
            "application/javascript",
            "application/xml",
            "application/yaml",
        ]
        .contains(&m.as_str())
        || ["+json", "+xml", "+yaml"].iter().any(|s| m.ends_with(s))
}

/// A Lambda function serving the tenant API behind API Gateway: the router with
/// [`ApiGatewayAuthenticator`] on an open backend, and the relay that publishes what each event
/// wrote.
///
/// Publishing costs a read only when there may be someone else's events to find: after a write,
/// the function publishes the events it just committed, which the store hands over without a read
/// ([`bbws_core::ports::Outbox::take_written`]; on DynamoDB, one `PutEvents` and one delete). A
/// read-only event touches no outbox at all. Once at the first event and then at most every
/// [`SWEEP_EVERY`], alongside the request rather than after it, the function also sweeps the
/// outbox for events another process committed but did not publish (it died, or its publish
/// failed and the lease lapsed).
#[derive(Debug, Clone)]
pub struct ApiFunction {
    router: Router,
    relay: OutboxRelay,
    wake: Arc<Notify>,
    last_sweep: Arc<Mutex<Option<Instant>>>,
}

/// How often a warm function sweeps the outbox for events other processes left behind.
pub const SWEEP_EVERY: Duration = Duration::from_mins(1);

impl ApiFunction {
    /// The tenant API on `backend`.
    pub fn new(backend: &Backend) -> Self {
        Self {
            router: router(AppState {
                tenants: backend.tenant_service(),
                org: Some(backend.org_service()),
                instances: Some(backend.instance_service()),
                // Accepted operations are run by the instance worker, from the queue.
                engine: None,
                auth: Arc::new(ApiGatewayAuthenticator),
            }),
            relay: backend.relay(),
            wake: backend.wake.clone(),
            last_sweep: Arc::new(Mutex::new(None)),
        }
    }

    /// Serves one event ([`handle_event`]), then publishes what it wrote. A failed publish is
    /// logged and does not fail the request: the events stay in the outbox, and a later sweep
    /// (this function's or another's) publishes them once their lease lapses.
    pub async fn invoke(&self, event: Value) -> Value {
        match serde_json::to_string(&event) {
            Ok(text) => self.invoke_text(&text).await,
            Err(_) => refuse(&event, &not_apigw()).await,
        }
    }

    /// [`Self::invoke`] on the event's JSON text, as the Lambda runtime receives it.
    pub async fn invoke_text(&self, event: &str) -> Value {
        let response = if self.sweep_due() {
            let (response, ()) = tokio::join!(
                handle_event_text(self.router.clone(), event),
                drain(&self.relay)
            );
            response
        } else {
            handle_event_text(self.router.clone(), event).await
        };
        if take_permit(&self.wake) {
            publish_written(&self.relay).await;
        }
        response
    }

    /// The router, for callers that serve requests another way.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// True at the first call and then once every [`SWEEP_EVERY`].
    fn sweep_due(&self) -> bool {
        let mut last = self
            .last_sweep
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Instant::now();
        let due = last.is_none_or(|t| now.duration_since(t) >= SWEEP_EVERY);
        if due {
            *last = Some(now);
        }
        due
    }
}

/// Whether `wake` was notified since the last call (consumes the notification), without waiting.
fn take_permit(wake: &Notify) -> bool {
    let notified = std::pin::pin!(wake.notified());
    notified
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_ready()
}

/// Publishes everything in the outbox, logging (not returning) a failure.
pub async fn drain(relay: &OutboxRelay) {
    log_publish(relay.drain().await);
}

/// Publishes the events this process wrote, logging (not returning) a failure.
pub async fn publish_written(relay: &OutboxRelay) {
    log_publish(relay.drain_written().await);
}

fn log_publish(outcome: bbws_core::error::Result<usize>) {
    match outcome {
        Ok(0) => {}
        Ok(n) => tracing::debug!(published = n, "outbox drained"),
        Err(e) => tracing::warn!(
            error_code = e.code().as_str(),
            error = %e,
            "publishing the outbox failed; its events stay for the next drain"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_permit_is_taken_once_and_only_when_notified() {
        let wake = Notify::new();
        assert!(!take_permit(&wake), "nothing written yet");
        wake.notify_one();
        wake.notify_one();
        assert!(take_permit(&wake), "a write happened");
        assert!(!take_permit(&wake), "one permit for any number of writes");
    }

    #[test]
    fn stage_prefixes_are_removed() {
        let uri: Uri = "https://h.example/prod/v1.0/tenants?limit=2"
            .parse()
            .expect("uri");
        assert_eq!(
            strip_stage(&uri, Some("prod")).map(|u| u.to_string()),
            Some("https://h.example/v1.0/tenants?limit=2".to_owned())
        );
        assert!(strip_stage(&uri, Some("$default")).is_none());
        assert!(strip_stage(&uri, None).is_none());
        assert!(
            strip_stage(&uri, Some("pro")).is_none(),
            "only whole segments"
        );
        let root: Uri = "/prod".parse().expect("uri");
        assert_eq!(
            strip_stage(&root, Some("prod")).map(|u| u.to_string()),
            Some("/".to_owned())
        );
    }

    #[test]
    fn bodies_are_text_only_for_textual_media_types() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        assert!(
            matches!(encode_body(&h, b"{}".to_vec()), (Some(lambda_http::Body::Text(t)), false) if t == "{}")
        );
        assert_eq!(encode_body(&h, Vec::new()), (None, false));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
        assert!(matches!(
            encode_body(&h, vec![0x89, 0x50]),
            (Some(lambda_http::Body::Binary(_)), true)
        ));
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        assert!(
            encode_body(&h, b"x".to_vec()).1,
            "encoded bodies are binary"
        );
    }

    #[test]
    fn http_api_headers_join_repeats_and_move_cookies() {
        let mut h = HeaderMap::new();
        h.append(header::VARY, HeaderValue::from_static("origin"));
        h.append(header::VARY, HeaderValue::from_static("accept"));
        h.append(header::SET_COOKIE, HeaderValue::from_static("a=1"));
        h.append(header::SET_COOKIE, HeaderValue::from_static("b=2"));
        let (headers, cookies) = v2_headers(&h);
        assert_eq!(
            headers.get(header::VARY).map(HeaderValue::as_bytes),
            Some(&b"origin,accept"[..])
        );
        assert!(!headers.contains_key(header::SET_COOKIE));
        assert_eq!(cookies, ["a=1", "b=2"]);
    }
}

/// Where a Lambda keeps a local backend's data: `/tmp` is the only writable place there.
pub const LAMBDA_DATA_DIR: &str = "/tmp/bbws-data";

/// The backend configuration of a Lambda (Rust or Python, through `handle_api_event`): the LLD
/// environment variables (`BBWS_BACKEND`, `ENVIRONMENT`, `DYNAMODB_TABLE`, `EVENT_BUS_NAME`,
/// `AWS_ENDPOINT_URL`, `BBWS_DATA_DIR`), with the data directory under `/tmp` unless set.
pub fn lambda_backend_config(
    var: impl Fn(&str) -> Option<String>,
) -> Result<bbws_aws::BackendConfig, Error> {
    let mut config = bbws_aws::BackendConfig::from_env(&var)?;
    if var("BBWS_DATA_DIR").is_none_or(|v| v.trim().is_empty()) {
        config.data_dir = LAMBDA_DATA_DIR.into();
    }
    Ok(config)
}

#[cfg(test)]
mod config_tests {
    use std::path::Path;

    use bbws_aws::BackendKind;

    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_embedded_store_lives_in_tmp_unless_told_otherwise() {
        let c = lambda_backend_config(env(&[])).expect("valid");
        assert_eq!(c.kind, BackendKind::Embedded);
        assert_eq!(c.data_dir, Path::new("/tmp/bbws-data"));

        let c = lambda_backend_config(env(&[
            ("BBWS_BACKEND", "memory"),
            ("BBWS_DATA_DIR", "/x/y"),
        ]))
        .expect("valid");
        assert_eq!(c.kind, BackendKind::Memory);
        assert_eq!(c.data_dir, Path::new("/x/y"));

        let c = lambda_backend_config(env(&[("DYNAMODB_TABLE", "t1")])).expect("valid");
        assert_eq!(c.kind, BackendKind::DynamoDb);
        assert_eq!(c.table, "t1");

        assert!(lambda_backend_config(env(&[("BBWS_BACKEND", "sqlite")])).is_err());
    }
}
