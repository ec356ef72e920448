//! Shared helpers: the real router on a fresh in-memory store, token minting, one-shot calls and
//! envelope assertions.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use bbws_core::auth::Claims;
use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    InstanceCloud, InstancePorts, InstanceService, PlanRecorder, PlatformConfig,
    ProvisioningEngine, TokioTimer,
};
use bbws_core::org::{DirectoryUser, OrgPorts, OrgService, OrgServiceConfig, UserId};
use bbws_core::store::{EmbeddedMailbox, EmbeddedStore};
use bbws_core::tenant::{Email, Environment, TenantPorts, TenantService};
use bbws_core::time::{Clock, SystemClock, Timestamp};
use bbws_lambda::AppState;
use bbws_lambda::api::auth::{JwtAuthenticator, issue_token};
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// The signing secret of every test app.
pub const SECRET: &[u8] = b"bbws-lambda-integration-test-secret";

/// The e-mail of the platform admin minted by [`admin`]; it is what `createdBy` etc. record.
pub const ADMIN_EMAIL: &str = "root@bbws.example";

/// A response: status, headers and the body as JSON (`Value::Null` for an empty body).
pub type Reply = (StatusCode, HeaderMap, Value);

/// The whole API on a fresh in-memory store.
pub fn app() -> Router {
    embedded_app(Arc::new(SystemClock)).router
}

/// The portal the accept links of test invitations point to.
pub const PORTAL: &str = "https://portal.bbws.test";

/// A user of the identity provider the organisation API looks users up in.
#[async_trait::async_trait]
pub trait TestDirectory: Send + Sync {
    /// Registers (or replaces) an enabled user under `name`.
    async fn register(&self, name: &str, email: &str);

    /// The user id (the token's `sub`) of the user registered under `name`: the name itself
    /// where the directory takes the test's ids, the generated `sub` where it makes its own
    /// (Cognito). A name never registered is its own id.
    fn subject(&self, name: &str) -> String {
        name.to_owned()
    }
}

/// The mail the organisation API sent.
pub trait TestMailbox: Send + Sync {
    /// The text of every mail sent to `to`, oldest first.
    fn texts_to(&self, to: &str) -> Vec<String>;
}

/// The API on some backend, with the identity directory and mailbox it uses. The organisation
/// tests take a function that builds one, so they can run on every backend.
#[derive(Clone)]
pub struct OrgApp {
    pub router: Router,
    pub directory: Arc<dyn TestDirectory>,
    pub mailbox: Arc<dyn TestMailbox>,
}

#[derive(Debug)]
struct EmbeddedDirectory(Arc<EmbeddedStore>);

#[async_trait::async_trait]
impl TestDirectory for EmbeddedDirectory {
    async fn register(&self, sub: &str, email: &str) {
        self.0
            .register_user(&DirectoryUser {
                user_id: UserId::parse(sub).expect("a valid user id"),
                email: Email::parse(email).expect("a valid e-mail"),
                enabled: true,
            })
            .await
            .expect("the user is registered");
    }
}

impl TestMailbox for EmbeddedMailbox {
    fn texts_to(&self, to: &str) -> Vec<String> {
        self.list(0, 100_000)
            .expect("the mailbox can be read")
            .into_iter()
            .filter(|m| m.message.to.as_str().eq_ignore_ascii_case(to))
            .map(|m| m.message.text)
            .collect()
    }
}

/// The whole API on a fresh in-memory store, its local directory and mailbox; the organisation
/// service reads time from `org_clock` (a manual clock lets tests expire invitations).
pub fn embedded_app(org_clock: Arc<dyn Clock>) -> OrgApp {
    let store = Arc::new(EmbeddedStore::in_memory().expect("an in-memory store opens"));
    let tenants = TenantService::new(TenantPorts::from_backend(
        &store,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    ));
    let mailbox = EmbeddedMailbox::new((*store).clone(), org_clock.clone());
    let org = OrgService::new(OrgPorts {
        org: store.clone(),
        tenants: store.clone(),
        directory: store.clone(),
        mailer: Arc::new(mailbox.clone()),
        clock: org_clock,
        ids: Arc::new(RandomIds),
    })
    .with_config(OrgServiceConfig {
        portal_url: PORTAL.to_owned(),
        ..OrgServiceConfig::default()
    });
    OrgApp {
        router: bbws_lambda::router(AppState {
            tenants,
            org: Some(org),
            instances: Some(InstanceService::new(
                InstancePorts {
                    instances: store.clone(),
                    tenants: store.clone(),
                    clock: Arc::new(SystemClock),
                    ids: Arc::new(RandomIds),
                },
                PlatformConfig::defaults(Environment::Dev),
            )),
            engine: Some(ProvisioningEngine::new(
                store.clone(),
                InstanceCloud::plan(&Arc::new(PlanRecorder::new())),
                PlatformConfig::defaults(Environment::Dev),
                Arc::new(SystemClock),
                Arc::new(TokioTimer),
                Arc::new(RandomIds),
            )),
            auth: Arc::new(JwtAuthenticator::new(SECRET)),
        }),
        directory: Arc::new(EmbeddedDirectory(store)),
        mailbox: Arc::new(mailbox),
    }
}

/// [`embedded_app`] with the system clock.
pub async fn embedded_org_app() -> OrgApp {
    embedded_app(Arc::new(SystemClock))
}

pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// Mints a token signed with `secret`, issued at `iat` and valid for `ttl`.
pub fn token_with(
    secret: &[u8],
    sub: &str,
    groups: &[&str],
    tenant_ids: &[&str],
    iat: u64,
    ttl: Duration,
) -> String {
    let claims = Claims {
        sub: sub.to_owned(),
        email: Some(format!("{sub}@bbws.example")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        tenant_ids: tenant_ids.iter().map(|t| (*t).to_owned()).collect(),
        customer_id: None,
    };
    issue_token(secret, &claims, ttl, iat).expect("a token can be signed")
}

/// A valid token for `sub` with the e-mail `email`, these groups and `custom:tenantIds`.
pub fn token_for(sub: &str, email: &str, groups: &[&str], tenant_ids: &[&str]) -> String {
    let claims = Claims {
        sub: sub.to_owned(),
        email: Some(email.to_owned()),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        tenant_ids: tenant_ids.iter().map(|t| (*t).to_owned()).collect(),
        customer_id: None,
    };
    issue_token(SECRET, &claims, Duration::from_hours(1), now_secs())
        .expect("a token can be signed")
}

/// A valid token for `sub` with these groups and `custom:tenantIds`.
pub fn token(sub: &str, groups: &[&str], tenant_ids: &[&str]) -> String {
    token_with(
        SECRET,
        sub,
        groups,
        tenant_ids,
        now_secs(),
        Duration::from_hours(1),
    )
}

/// A platform admin (`Admins`).
pub fn admin() -> String {
    token("root", &["Admins"], &[])
}

/// A token claiming Viewer on the listed tenants (`Viewers` + `custom:tenantIds`). With the
/// organisation service the claim gives no role: only a router without it reads roles from claims.
pub fn viewer(tenant_ids: &[&str]) -> String {
    token("viewer", &["Viewers"], tenant_ids)
}

/// A token claiming Admin of one tenant (`{tenantId}-admins`); like [`viewer`], the claim counts
/// only on a router without the organisation service.
pub fn tenant_admin(tenant_id: &str) -> String {
    token("tenant-admin", &[&format!("{tenant_id}-admins")], &[])
}

/// Sends a request as built, returning the raw body.
pub async fn send_raw(app: &Router, req: Request<Body>) -> (StatusCode, HeaderMap, Vec<u8>) {
    let res = app
        .clone()
        .oneshot(req)
        .await
        .expect("the router is infallible");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = axum::body::to_bytes(res.into_body(), usize::MAX)
        .await
        .expect("the body can be read");
    (status, headers, bytes.to_vec())
}

/// Sends a request as built; the body must be JSON (or empty).
pub async fn send(app: &Router, req: Request<Body>) -> Reply {
    let (status, headers, bytes) = send_raw(app, req).await;
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "{status}: body is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    };
    (status, headers, body)
}

/// A request with an optional bearer token and an optional JSON body.
pub fn request(
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header(header::AUTHORIZATION, format!("Bearer {t}"));
    }
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    req.body(body).expect("a valid request")
}

/// One call through the router.
pub async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    send(app, request(method, uri, token, body)).await
}

/// A create body for `name` in `env`.
pub fn new_tenant(name: &str, env: &str) -> Value {
    json!({
        "organizationName": name,
        "contactEmail": "owner@tenant.example",
        "environment": env,
    })
}

/// Creates a tenant as platform admin; returns its representation.
pub async fn create(app: &Router, body: &Value) -> Value {
    let (status, _, tenant) = call(
        app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(body),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "create failed: {tenant}");
    tenant
}

/// Creates a tenant named `name` in `dev`; returns its id.
pub async fn create_named(app: &Router, name: &str) -> String {
    id_of(&create(app, &new_tenant(name, "dev")).await)
}

/// `PATCH …/status {"status":"ACTIVE"}` as platform admin.
pub async fn activate(app: &Router, id: &str) -> Value {
    let uri = format!("/v1.0/tenants/{id}/status");
    let (status, _, tenant) = call(
        app,
        Method::PATCH,
        &uri,
        Some(&admin()),
        Some(&json!({"status": "ACTIVE"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "activate failed: {tenant}");
    assert_eq!(tenant["status"], "ACTIVE");
    tenant
}

/// Parks an ACTIVE tenant as platform admin.
pub async fn park(app: &Router, id: &str) -> Value {
    let uri = format!("/v1.0/tenants/{id}/lifecycle/park");
    let (status, _, tenant) = call(
        app,
        Method::POST,
        &uri,
        Some(&admin()),
        Some(&json!({"reason": "Customer asked for a pause"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "park failed: {tenant}");
    tenant
}

pub fn id_of(tenant: &Value) -> String {
    tenant["tenantId"]
        .as_str()
        .expect("tenantId is a string")
        .to_owned()
}

/// `GET /v1.0/tenants` (as platform admin) → the number of tenants on one big page.
pub async fn tenant_count(app: &Router) -> u64 {
    let (status, _, page) = call(
        app,
        Method::GET,
        "/v1.0/tenants?limit=100",
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    page["count"].as_u64().expect("count is a number")
}

pub fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .map(|v| v.to_str().expect("header is ASCII"))
}

/// Asserts an RFC 3339 UTC timestamp with milliseconds and `Z`.
pub fn assert_timestamp(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp is not a string: {v}"));
    assert!(s.parse::<Timestamp>().is_ok(), "not RFC 3339: {s}");
    assert_eq!(
        s.len(),
        "2026-01-05T14:30:00.000Z".len(),
        "not millisecond precision: {s}"
    );
    assert!(
        s.ends_with('Z') && s.as_bytes()[19] == b'.',
        "not UTC with milliseconds: {s}"
    );
}

/// Asserts the error envelope: status, JSON content type, `error.code`, a message, a details
/// object, `requestId` equal to the `x-request-id` header, and a timestamp. Returns the details.
pub fn assert_error<'v>(reply: &'v Reply, status: StatusCode, code: &str) -> &'v Value {
    let (got, headers, body) = reply;
    assert_eq!(*got, status, "unexpected status; body: {body}");
    assert_envelope(headers, body);
    assert_eq!(body["error"]["code"], code, "unexpected code; body: {body}");
    &body["error"]["details"]
}

/// Asserts the shape of the error envelope, whatever the code.
pub fn assert_envelope(headers: &HeaderMap, body: &Value) {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    assert!(
        ct.starts_with("application/json"),
        "content-type {ct:?}; body: {body}"
    );
    let obj = body
        .as_object()
        .unwrap_or_else(|| panic!("envelope is not an object: {body}"));
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["error", "requestId", "timestamp"],
        "envelope keys; body: {body}"
    );
    let error = body["error"]
        .as_object()
        .unwrap_or_else(|| panic!("error is not an object: {body}"));
    let code = error
        .get("code")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
        "code {code:?}"
    );
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or_default();
    assert!(!message.is_empty(), "empty message: {body}");
    assert!(
        error.get("details").is_some_and(Value::is_object),
        "details is not an object: {body}"
    );
    let request_id = header_str(headers, "x-request-id").expect("x-request-id header");
    assert!(!request_id.is_empty());
    assert_eq!(
        body["requestId"], request_id,
        "requestId differs from the x-request-id header"
    );
    assert_timestamp(&body["timestamp"]);
}

/// The `field` names of a validation error's `details.fields`.
pub fn fields(details: &Value) -> Vec<String> {
    details["fields"]
        .as_array()
        .unwrap_or_else(|| panic!("details.fields is not an array: {details}"))
        .iter()
        .map(|f| f["field"].as_str().expect("field is a string").to_owned())
        .collect()
}

/// The names of a resource's `_links`.
pub fn link_names(resource: &Value) -> Vec<String> {
    resource["_links"]
        .as_object()
        .expect("_links is an object")
        .keys()
        .cloned()
        .collect()
}

/// Adds a header to a request.
pub fn with_header(mut req: Request<Body>, name: &'static str, value: &str) -> Request<Body> {
    req.headers_mut().insert(
        name,
        HeaderValue::from_str(value).expect("an ASCII header value"),
    );
    req
}

/// An ACTIVE tenant created straight on a backend's tenant service (for the Lambda functions
/// that are not the HTTP API).
pub async fn active_tenant_on(
    backend: &bbws_aws::Backend,
    admin: &bbws_core::auth::Actor,
    name: &str,
) -> bbws_core::tenant::Tenant {
    use bbws_core::tenant::{Email, Environment, NewTenant, OrganizationName, TenantStatus};
    let tenants = backend.tenant_service();
    let t = tenants
        .create(
            admin,
            NewTenant {
                organization_name: OrganizationName::parse(name).expect("valid name"),
                contact_email: Email::parse("ops@example.com").expect("valid e-mail"),
                environment: Environment::Dev,
                division: None,
                group: None,
                team: None,
                metadata: serde_json::Map::new(),
            },
            None,
        )
        .await
        .expect("tenant created")
        .value;
    tenants
        .set_status(admin, &t.id, TenantStatus::Active, None, None)
        .await
        .expect("tenant activated")
}
