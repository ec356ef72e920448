//! The Lambda adapter: real API Gateway proxy events (`tests/fixtures/apigw/`, see its README)
//! served through [`ApiFunction`] / [`handle_event`] on a memory backend, asserting the API
//! Gateway response JSON a client of API Gateway would get.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bbws_aws::{Backend, BackendConfig, BackendKind};
use bbws_core::auth::{Actor, Role};
use bbws_core::ids::TenantId;
use bbws_core::org::{DirectoryUser, UserId};
use bbws_core::tenant::{Email, TenantStatus};
use bbws_lambda::apigw::{ApiFunction, handle_event};
use serde_json::{Value, json};

use crate::support::{assert_timestamp, link_names};

/// The tenant id the fixtures name; tests swap in the id of a tenant they created.
const FIXTURE_TENANT: &str = "tenant-5f0c8a52-9c1e-4d6b-8f3a-2b7e1c9d4a60";

/// The operation id of `rest-v1-get-operation.json`, swapped likewise.
const FIXTURE_OPERATION: &str = "op-5f0c8a52-9c1e-4d6b-8f3a-2b7e1c9d4a60";

/// The keys of a REST API (payload 1.0) response, and of an HTTP API (payload 2.0) one.
const V1_KEYS: [&str; 5] = [
    "body",
    "headers",
    "isBase64Encoded",
    "multiValueHeaders",
    "statusCode",
];
const V2_KEYS: [&str; 6] = [
    "body",
    "cookies",
    "headers",
    "isBase64Encoded",
    "multiValueHeaders",
    "statusCode",
];

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/apigw")
        .join(name)
}

/// A fixture event, with the fixtures' tenant id replaced by `tenant` when given.
fn event(name: &str, tenant: Option<&str>) -> Value {
    let mut text = std::fs::read_to_string(fixture_path(name))
        .unwrap_or_else(|e| panic!("cannot read fixture {name}: {e}"));
    if let Some(id) = tenant {
        text = text.replace(FIXTURE_TENANT, id);
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

fn request_id_of(event: &Value) -> &str {
    event["requestContext"]["requestId"]
        .as_str()
        .expect("the event has a requestId")
}

/// The function on a fresh memory backend; its event log is in the returned directory.
async fn function() -> (ApiFunction, tempfile::TempDir) {
    let (f, _, dir) = function_on_backend().await;
    (f, dir)
}

/// [`function`] and the backend it serves.
async fn function_on_backend() -> (ApiFunction, Backend, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("a memory backend opens");
    (ApiFunction::new(&backend), backend, dir)
}

/// Activates `tenant` and assigns the user `sub` (registered with `email` in the backend's
/// directory) to it with `role`, as a platform admin: roles come from the stored assignments.
async fn assign_on(backend: &Backend, tenant: &str, sub: &str, email: &str, role: Role) {
    let admin = Actor::local_admin("root@bbws.example");
    let tenant: TenantId = tenant.parse().expect("a tenant id");
    backend
        .tenant_service()
        .set_status(&admin, &tenant, TenantStatus::Active, None, None)
        .await
        .expect("the tenant activates");
    let email = Email::parse(email).expect("an e-mail");
    let user = UserId::parse(sub).expect("a user id");
    backend
        .embedded
        .as_ref()
        .expect("a memory backend has an embedded store")
        .register_user(&DirectoryUser {
            user_id: user.clone(),
            email: email.clone(),
            enabled: true,
        })
        .await
        .expect("the user registers");
    backend
        .org_service()
        .assign_user(&admin, &tenant, &email, role, Some(&user), None)
        .await
        .expect("the user is assigned");
}

fn keys(v: &Value) -> BTreeSet<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn status(res: &Value) -> u64 {
    res["statusCode"].as_u64().expect("statusCode is a number")
}

/// The response body as JSON (decoding base64 when flagged).
fn body(res: &Value) -> Value {
    let text = res["body"].as_str().expect("body is a string");
    let bytes = if res["isBase64Encoded"] == true {
        BASE64.decode(text).expect("the body is base64")
    } else {
        text.as_bytes().to_vec()
    };
    serde_json::from_slice(&bytes).expect("the body is JSON")
}

/// Asserts a REST API response: every header in `multiValueHeaders` (lower-case names), `headers`
/// empty, no `cookies`, a text body.
fn assert_v1(res: &Value) {
    assert_eq!(keys(res), V1_KEYS.into_iter().collect(), "v1 shape: {res}");
    assert_eq!(
        res["headers"],
        json!({}),
        "v1 headers go to multiValueHeaders"
    );
    assert_eq!(res["isBase64Encoded"], false);
    let mv = res["multiValueHeaders"].as_object().expect("an object");
    for (name, values) in mv {
        assert_eq!(name, &name.to_ascii_lowercase());
        assert!(values.is_array(), "{name}: {values}");
    }
}

/// Asserts an HTTP API response: headers in `headers`, `cookies` present, `multiValueHeaders`
/// empty, a text body.
fn assert_v2(res: &Value) {
    assert_eq!(keys(res), V2_KEYS.into_iter().collect(), "v2 shape: {res}");
    assert_eq!(res["multiValueHeaders"], json!({}));
    assert_eq!(res["cookies"], json!([]));
    assert_eq!(res["isBase64Encoded"], false);
}

/// A response header of either shape (a v1 header must have exactly one value).
fn header(res: &Value, name: &str) -> Option<String> {
    if let Some(values) = res["multiValueHeaders"][name].as_array() {
        assert_eq!(values.len(), 1, "{name}: {values:?}");
        return values[0].as_str().map(str::to_owned);
    }
    res["headers"][name].as_str().map(str::to_owned)
}

/// Asserts the error envelope in a response body: code, request id, timestamp.
fn assert_envelope(body: &Value, code: &str, request_id: &str) {
    assert_eq!(
        keys(body),
        BTreeSet::from(["error", "requestId", "timestamp"])
    );
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
    assert!(body["error"]["details"].is_object());
    assert_eq!(body["requestId"], request_id);
    assert_timestamp(&body["timestamp"]);
}

/// Creates the REST fixture's tenant (Acme Corp) and returns its id.
async fn create_acme(f: &ApiFunction) -> String {
    let res = f.invoke(event("rest-v1-create-tenant.json", None)).await;
    assert_eq!(status(&res), 201, "{res}");
    body(&res)["tenantId"]
        .as_str()
        .expect("tenantId")
        .to_owned()
}

#[tokio::test]
async fn rest_v1_create_answers_201_in_the_v1_shape_and_publishes_the_event() {
    let (f, dir) = function().await;
    let ev = event("rest-v1-create-tenant.json", None);
    let res = f.invoke(ev.clone()).await;

    assert_eq!(status(&res), 201, "{res}");
    assert_v1(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(header(&res, "etag").as_deref(), Some("\"1\""));
    let t = body(&res);
    let id = t["tenantId"].as_str().expect("tenantId");
    assert!(id.starts_with("tenant-"), "{id}");
    assert_eq!(
        header(&res, "location"),
        Some(format!("/v1.0/tenants/{id}"))
    );
    assert_eq!(t["organizationName"], "Acme Corp");
    assert_eq!(t["status"], "PENDING");
    // The caller is the Cognito user of the authorizer claims ("cognito:groups": "[Admins]").
    assert_eq!(t["createdBy"], "alice@bbws.io");
    assert_eq!(t["_links"]["self"]["href"], format!("/v1.0/tenants/{id}"));
    assert_eq!(
        link_names(&t),
        [
            "audit",
            "delete",
            "lifecycle",
            "self",
            "status",
            "update",
            "users"
        ]
    );

    // The outbox was drained before the invocation returned.
    let log = std::fs::read_to_string(dir.path().join("events.jsonl")).expect("the event log");
    let published: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(published.len(), 1, "{log}");
    assert_eq!(published[0]["detail-type"], "TENANT_CREATED");

    // The fixture carries an Idempotency-Key: the same event again replays the first response.
    let again = f.invoke(ev).await;
    assert_eq!(status(&again), 201, "{again}");
    assert_eq!(body(&again)["tenantId"], id);
}

#[tokio::test]
async fn rest_v1_get_reads_the_tenant_through_the_stage_path() {
    let (f, _dir) = function().await;
    let id = create_acme(&f).await;

    // requestContext.stage is "prod": the router still sees /v1.0/tenants/{id}.
    let ev = event("rest-v1-get-tenant.json", Some(&id));
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 200, "{res}");
    assert_v1(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    let t = body(&res);
    assert_eq!(t["tenantId"], id.as_str());
    assert_eq!(t["_links"]["self"]["href"], format!("/v1.0/tenants/{id}"));
    assert_eq!(t["_links"]["status"]["method"], "PATCH");

    // A tenant that does not exist: the envelope, with the event's request id.
    let ev = event("rest-v1-get-tenant.json", None);
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 404, "{res}");
    assert_v1(&res);
    assert_envelope(&body(&res), "TENANT_NOT_FOUND", request_id_of(&ev));
}

/// The published events' `detail-type`s, oldest first.
fn published_types(dir: &Path) -> Vec<String> {
    let log = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
    log.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("a JSON line");
            v["detail-type"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

#[tokio::test]
async fn instance_fixtures_plan_accept_and_show_the_operation() {
    let (f, dir) = function().await;
    let tenant = create_acme(&f).await;

    // REST API: ?dryRun=true answers the plan and creates nothing.
    let ev = event("rest-v1-plan-instance.json", Some(&tenant));
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 200, "{res}");
    assert_v1(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    let plan = body(&res);
    assert_eq!(plan["dryRun"], true);
    let resources: Vec<&str> = plan["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["resource"].as_str())
        .collect();
    assert_eq!(resources.first(), Some(&"bbws-tenant-acme-user-pool"));
    for name in [
        "bbws-acme-tg",
        "bbws/dev/tenant-acme/db",
        "tenant-acme-wordpress",
    ] {
        assert!(resources.contains(&name), "{name} not in {resources:?}");
    }
    assert_eq!(published_types(dir.path()), ["TENANT_CREATED"]);

    // HTTP API: 202 with the operation; the function runs nothing, the worker will.
    let ev = event("http-v2-provision-instance.json", Some(&tenant));
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 202, "{res}");
    assert_v2(&res);
    let accepted = body(&res);
    let op = accepted["operationId"].as_str().expect("operationId");
    let href = format!("/v1.0/operations/{op}");
    assert_eq!(header(&res, "location").as_deref(), Some(href.as_str()));
    assert_eq!(accepted["_links"]["operation"]["href"], href.as_str());
    assert_eq!(accepted["status"], "PENDING_PROVISIONING");
    assert_eq!(accepted["operation"]["status"], "PENDING");
    assert_eq!(accepted["operation"]["requestedBy"], "alice@bbws.io");
    assert_eq!(
        published_types(dir.path()),
        ["TENANT_CREATED", "INSTANCE_PROVISIONING_REQUESTED"]
    );
    // Its Idempotency-Key replays the answer.
    let again = f.invoke(ev).await;
    assert_eq!(status(&again), 202, "{again}");
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(body(&again)["operationId"], op);
    assert_eq!(published_types(dir.path()).len(), 2);

    // Following _links.operation: still PENDING.
    let text = std::fs::read_to_string(fixture_path("rest-v1-get-operation.json"))
        .expect("the fixture")
        .replace(FIXTURE_OPERATION, op);
    let ev: Value = serde_json::from_str(&text).expect("JSON");
    let res = f.invoke(ev).await;
    assert_eq!(status(&res), 200, "{res}");
    assert_v1(&res);
    let o = body(&res);
    assert_eq!(o["operationId"], op);
    assert_eq!(o["status"], "PENDING");
    assert_eq!(header(&res, "etag").as_deref(), Some("\"1\""));
}

#[tokio::test]
async fn http_v2_viewer_reads_their_tenant_and_nothing_else() {
    let (f, backend, _dir) = function_on_backend().await;
    let id = create_acme(&f).await;

    // JWT authorizer claims: "cognito:groups": "[Viewers]", "custom:tenantIds": the tenant. The
    // claims alone give no role in the tenant: the stored assignments do.
    let ev = event("http-v2-get-tenant-viewer.json", Some(&id));
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 404, "{res}");
    assert_envelope(&body(&res), "TENANT_NOT_FOUND", request_id_of(&ev));
    let claims = &ev["requestContext"]["authorizer"]["jwt"]["claims"];
    let (sub, email) = (
        claims["sub"].as_str().expect("sub"),
        claims["email"].as_str().expect("email"),
    );
    assign_on(&backend, &id, sub, email, Role::Viewer).await;

    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 200, "{res}");
    assert_v2(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    assert_eq!(
        header(&res, "content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(header(&res, "etag").as_deref(), Some("\"2\""));
    let t = body(&res);
    assert_eq!(t["tenantId"], id.as_str());
    assert_eq!(t["organizationName"], "Acme Corp");
    assert_eq!(t["_links"]["self"]["href"], format!("/v1.0/tenants/{id}"));

    // Viewers read but do not change their tenant.
    let mut park = ev.clone();
    let path = format!("/v1.0/tenants/{id}/lifecycle/park");
    park["rawPath"] = json!(path);
    park["requestContext"]["http"]["method"] = json!("POST");
    park["requestContext"]["http"]["path"] = json!(path);
    park["headers"]["content-type"] = json!("application/json");
    park["body"] = json!(r#"{"reason":"Viewers may not park tenants"}"#);
    let res = f.invoke(park).await;
    assert_eq!(status(&res), 403, "{res}");
    assert_v2(&res);
    assert_envelope(&body(&res), "FORBIDDEN", request_id_of(&ev));

    // Another tenant, which exists, does not exist for them: ids cannot be probed.
    let created = f
        .invoke(event("http-v2-create-tenant-base64.json", None))
        .await;
    assert_eq!(status(&created), 201, "{created}");
    let globex = body(&created)["tenantId"]
        .as_str()
        .expect("tenantId")
        .to_owned();
    let mut other = event("http-v2-get-tenant-viewer.json", Some(&globex));
    other["requestContext"]["authorizer"]["jwt"]["claims"]["custom:tenantIds"] = json!(id);
    let res = f.invoke(other).await;
    assert_eq!(status(&res), 404, "{res}");
    assert_envelope(&body(&res), "TENANT_NOT_FOUND", request_id_of(&ev));
}

#[tokio::test]
async fn http_v2_base64_bodies_are_decoded() {
    let (f, _dir) = function().await;
    let ev = event("http-v2-create-tenant-base64.json", None);
    assert_eq!(ev["isBase64Encoded"], true);
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 201, "{res}");
    assert_v2(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    let t = body(&res);
    assert_eq!(t["organizationName"], "Globex");
    assert_eq!(t["environment"], "prod");
    assert_eq!(t["createdBy"], "alice@bbws.io");
}

#[tokio::test]
async fn events_without_authorizer_claims_are_401_in_their_own_shape() {
    let (f, _dir) = function().await;

    // REST API with a Lambda (custom) authorizer context, as in the AWS sample: no claims.
    let ev = event("rest-v1-lambda-authorizer-no-claims.json", None);
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 401, "{res}");
    assert_v1(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    assert_envelope(&body(&res), "UNAUTHORIZED", request_id_of(&ev));

    // HTTP API route without an authorizer; a bearer token in the headers changes nothing.
    let mut ev = event("http-v2-no-authorizer.json", None);
    ev["headers"]["authorization"] = json!("Bearer eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl");
    let res = f.invoke(ev.clone()).await;
    assert_eq!(status(&res), 401, "{res}");
    assert_v2(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some(request_id_of(&ev))
    );
    assert_envelope(&body(&res), "UNAUTHORIZED", request_id_of(&ev));

    // Public routes stay public behind API Gateway.
    let mut health = event("http-v2-no-authorizer.json", None);
    health["rawPath"] = json!("/v1.0/health");
    let res = f.invoke(health).await;
    assert_eq!(status(&res), 200, "{res}");
    assert_v2(&res);
}

#[tokio::test]
async fn a_client_request_id_wins_over_the_gateway_one() {
    let (f, _dir) = function().await;
    let mut ev = event("http-v2-no-authorizer.json", None);
    ev["headers"]["x-request-id"] = json!("client-chosen-id-42");
    let res = f.invoke(ev).await;
    assert_v2(&res);
    assert_eq!(
        header(&res, "x-request-id").as_deref(),
        Some("client-chosen-id-42")
    );
    assert_envelope(&body(&res), "UNAUTHORIZED", "client-chosen-id-42");
}

#[tokio::test]
async fn events_that_are_not_api_gateway_proxy_events_are_400() {
    let (f, _dir) = function().await;
    let router = f.router().clone();

    // A scheduled event, say: the v1 shape, a generated request id.
    let res = handle_event(
        router.clone(),
        json!({"source": "aws.events", "detail": {}}),
    )
    .await;
    assert_eq!(status(&res), 400, "{res}");
    assert_v1(&res);
    let b = body(&res);
    assert_envelope(
        &b,
        "VALIDATION_ERROR",
        &header(&res, "x-request-id").expect("an id"),
    );

    // Something claiming payload 2.0: the v2 shape, and its request id when it has one.
    let res = handle_event(
        router.clone(),
        json!({"version": "2.0", "requestContext": {"requestId": "abc"}}),
    )
    .await;
    assert_eq!(status(&res), 400, "{res}");
    assert_v2(&res);
    assert_envelope(&body(&res), "VALIDATION_ERROR", "abc");

    // A body flagged base64 that is not, and a Host header that is not a host: refused, no panic.
    let mut ev = event("http-v2-create-tenant-base64.json", None);
    ev["body"] = json!("%%% not base64 %%%");
    let res = handle_event(router.clone(), ev).await;
    assert_eq!(status(&res), 400, "{res}");
    assert_eq!(body(&res)["error"]["details"]["fields"][0]["field"], "body");

    let mut ev = event("rest-v1-get-tenant.json", None);
    ev["headers"]["Host"] = json!("not a host");
    ev["multiValueHeaders"]["Host"] = json!(["not a host"]);
    let res = handle_event(router, ev).await;
    assert_eq!(status(&res), 400, "{res}");
    assert_v1(&res);
}

#[tokio::test]
async fn every_fixture_is_an_api_gateway_event_answered_in_its_own_version() {
    let (f, _dir) = function().await;
    let dir = fixture_path("");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("the fixtures directory") {
        let path = entry.expect("an entry").path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name");
        let ev = event(name, None);
        let res = handle_event(f.router().clone(), ev.clone()).await;
        assert_ne!(
            status(&res),
            400,
            "{name} was not read as an API Gateway event: {res}"
        );
        if ev["version"] == "2.0" {
            assert_v2(&res);
        } else {
            assert_v1(&res);
        }
        seen += 1;
    }
    assert!(seen >= 6, "only {seen} fixtures in {}", dir.display());
}
