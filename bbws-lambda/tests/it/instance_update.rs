//! C4 through the router: `PUT /v1.0/tenants/{tenantId}/instances/{instanceId}` accepts a
//! rolling update of an ACTIVE instance as an `UPDATE` operation (202, `Location`), honours
//! `If-Match` (a stale `ETag` is 409 `VERSION_CONFLICT`) and `Idempotency-Key`, refuses bad bodies
//! with 400 on the field, other states with 422 and the allowed transitions, a second update
//! while the first still runs with 409, answers `?dryRun=true` with the plan, and offers the
//! `update` link on an ACTIVE instance.

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use bbws_core::ids::InstanceId;
use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    EcsEventHandler, InstanceCloud, InstancePorts, InstanceService, LedgerDao, LedgerEntry,
    LedgerStatus, PlanRecorder, PlatformConfig, ProvisioningEngine, ResourceType, SyncOutcome,
    TokioTimer,
};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{Environment, TenantPorts, TenantService};
use bbws_core::time::SystemClock;
use bbws_lambda::AppState;
use bbws_lambda::api::auth::JwtAuthenticator;
use serde_json::{Value, json};

use crate::instance_lifecycle::failed_instance;
use crate::support::{
    SECRET, admin, assert_error, call, fields, header_str, link_names, request, send, viewer,
    with_header,
};

/// The API on an in-memory store. With `run_here` accepted operations run in the process on
/// the plan recorder (as `bbws serve` on the local backends), without it they are left to the
/// worker (as the Lambda does).
fn app(run_here: bool) -> World {
    let store = Arc::new(EmbeddedStore::in_memory().expect("an in-memory store opens"));
    let config = PlatformConfig::defaults(Environment::Dev);
    let cloud = InstanceCloud::plan(&Arc::new(PlanRecorder::new()));
    let engine = ProvisioningEngine::new(
        store.clone(),
        cloud.clone(),
        config.clone(),
        Arc::new(SystemClock),
        Arc::new(TokioTimer),
        Arc::new(RandomIds),
    );
    let router = bbws_lambda::router(AppState {
        tenants: TenantService::new(TenantPorts::from_backend(
            &store,
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        )),
        org: None,
        instances: Some(
            InstanceService::new(
                InstancePorts {
                    instances: store.clone(),
                    tenants: store.clone(),
                    clock: Arc::new(SystemClock),
                    ids: Arc::new(RandomIds),
                },
                config.clone(),
            )
            .with_cloud(cloud.clone()),
        ),
        engine: run_here.then(|| engine.clone()),
        auth: Arc::new(JwtAuthenticator::new(SECRET)),
    });
    World {
        app: router,
        store,
        engine,
    }
}

/// The router, its store, and an engine on the plan recorder.
struct World {
    app: Router,
    store: Arc<EmbeddedStore>,
    engine: ProvisioningEngine,
}

/// A tenant with a FAILED instance: the plan recorder refused its provisioning (here, or in
/// the test when the router leaves operations to the worker). `(tenant, path)`.
async fn failed(w: &World, name: &str) -> (String, String) {
    let (t, _, path) = failed_instance(&w.app, name).await;
    let (_, _, instance) = call(&w.app, Method::GET, &path, Some(&admin()), None).await;
    if instance["status"] == "PENDING_PROVISIONING" {
        let op = instance["currentOperationId"]
            .as_str()
            .expect("its operation")
            .parse()
            .expect("an operation id");
        w.engine
            .run_or_refuse(&op)
            .await
            .expect_err("the plan recorder refuses");
    }
    let (_, _, instance) = call(&w.app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(instance["status"], "FAILED", "{instance}");
    (t, path)
}

/// A tenant with an ACTIVE instance: its provisioning was refused by the plan recorder
/// (FAILED), then ECS reported the service steady (FAILED -> ACTIVE). `(tenant, path, body)`.
async fn active_instance(w: &World) -> (String, String, Value) {
    let (t, path) = failed(w, "Update Corp").await;
    let app = &w.app;
    let (_, _, failed) = call(app, Method::GET, &path, Some(&admin()), None).await;
    let handler = EcsEventHandler::new(
        w.store.clone(),
        None,
        Environment::Dev,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    );
    let event = json!({
        "version": "0", "id": "ev-update-1", "detail-type": "ECS Service Action",
        "source": "aws.ecs", "time": "2026-12-04T10:00:00Z",
        "resources": [format!("arn:aws:ecs:eu-west-1:1:service/dev-cluster/tenant-{}-wordpress",
                              failed["resourceKey"].as_str().unwrap_or_default())],
        "detail": {"eventName": "SERVICE_STEADY_STATE", "createdAt": "2026-12-04T10:00:00.000Z",
                   "tags": [{"key": "bbws:tenant-id", "value": t}, {"key": "bbws:environment", "value": "dev"}]}
    });
    assert!(matches!(
        handler.handle(&event).await.expect("handled"),
        SyncOutcome::Moved { .. }
    ));
    let (_, _, active) = call(app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(active["status"], "ACTIVE", "{active}");
    // What a provisioning would have recorded and an update builds on.
    let instance_id: InstanceId = active["instanceId"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .expect("an instance id");
    for (seq, rt, id) in [
        (
            1,
            ResourceType::DbSecret,
            "arn:aws:secretsmanager:eu-west-1:1:secret:db",
        ),
        (2, ResourceType::EfsAccessPoint, "fsap-0123456789abcdef0"),
        (
            3,
            ResourceType::TargetGroup,
            "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/tg/1",
        ),
        (
            4,
            ResourceType::TaskDefinition,
            "arn:aws:ecs:eu-west-1:1:task-definition/wp:1",
        ),
    ] {
        w.store
            .write_ledger(LedgerEntry {
                tenant_id: t.parse().expect("a tenant id"),
                instance_id,
                resource_type: rt,
                name: rt.as_str().to_owned(),
                id: Some(id.to_owned()),
                arn: Some(id.to_owned()),
                status: LedgerStatus::Created,
                seq,
                error: None,
                updated_at: "2026-12-04T10:00:00.000Z".parse().expect("a time"),
            })
            .await
            .expect("ledger written");
    }
    (t, path, active)
}

fn put(
    path: &str,
    body: &Value,
    if_match: Option<&str>,
    key: Option<&str>,
) -> axum::http::Request<axum::body::Body> {
    let mut req = request(Method::PUT, path, Some(&admin()), Some(body));
    if let Some(v) = if_match {
        req = with_header(req, "if-match", v);
    }
    if let Some(k) = key {
        req = with_header(req, "idempotency-key", k);
    }
    req
}

#[tokio::test]
async fn an_active_instance_is_updated_under_its_etag_and_the_operation_carries_the_change() {
    let w = app(false);
    let (_, path, active) = active_instance(&w).await;
    let app = w.app.clone();
    assert!(
        link_names(&active).contains(&"update".to_owned()),
        "{active}"
    );
    assert_eq!(active["_links"]["update"]["method"], "PUT");
    assert_eq!(active["_links"]["update"]["href"], path.as_str());
    assert_eq!(active["containerImage"], "dev-wordpress:latest");
    let (_, headers, _) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    let etag = header_str(&headers, "etag").expect("an ETag").to_owned();
    let body = json!({"wordpressVersion": "6.4.2", "tier": "PROFESSIONAL"});

    // A stale ETag: 409, nothing accepted.
    let reply = send(&app, put(&path, &body, Some("\"1\""), None)).await;
    let details = assert_error(&reply, StatusCode::CONFLICT, "VERSION_CONFLICT");
    assert_eq!(details["expectedVersion"], 1);

    // The dry run lists the calls and changes nothing.
    let (status, _, plan) =
        send(&app, put(&format!("{path}?dryRun=true"), &body, None, None)).await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    let actions: Vec<&str> = plan["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .filter_map(|c| c["action"].as_str())
        .collect();
    assert_eq!(actions.first(), Some(&"RegisterTaskDefinition"), "{plan}");
    assert!(actions.contains(&"UpdateService"), "{actions:?}");

    // The current ETag: 202 with the operation; the instance stays ACTIVE.
    let (status, headers, accepted) =
        send(&app, put(&path, &body, Some(&etag), Some("update-6-4-2"))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["status"], "ACTIVE");
    assert_eq!(accepted["message"], "Instance update accepted");
    assert_eq!(accepted["operation"]["type"], "UPDATE");
    assert_eq!(accepted["operation"]["status"], "PENDING");
    assert_eq!(
        accepted["operation"]["update"],
        json!({"wordpressVersion": "6.4.2", "tier": "PROFESSIONAL"})
    );
    let steps: Vec<&str> = accepted["operation"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        steps,
        [
            "register-task-definition-revision",
            "deploy-task-definition-revision",
            "wait-for-deployment"
        ]
    );
    let op_href = accepted["_links"]["operation"]["href"]
        .as_str()
        .expect("operation link")
        .to_owned();
    assert_eq!(header_str(&headers, "location"), Some(op_href.as_str()));
    let (_, _, op) = call(&app, Method::GET, &op_href, Some(&admin()), None).await;
    assert_eq!(op["update"]["wordpressVersion"], "6.4.2", "{op}");

    // The same key and body replay it; another body under the key is refused.
    let (status, headers, again) = send(&app, put(&path, &body, None, Some("update-6-4-2"))).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{again}");
    assert_eq!(again["operationId"], accepted["operationId"]);
    assert_eq!(header_str(&headers, "idempotent-replayed"), Some("true"));
    let reply = send(
        &app,
        put(
            &path,
            &json!({"wordpressVersion": "6.5"}),
            None,
            Some("update-6-4-2"),
        ),
    )
    .await;
    assert_error(&reply, StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");

    // While it is pending, a second update is 409 naming it.
    let reply = send(
        &app,
        put(&path, &json!({"wordpressVersion": "6.5"}), None, None),
    )
    .await;
    assert_error(&reply, StatusCode::CONFLICT, "CONFLICT");
    let op_id = accepted["operationId"].as_str().expect("an operation id");
    assert!(
        reply.2["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains(op_id)),
        "{}",
        reply.2
    );
    assert_eq!(
        bbws_lambda::api::logging::action(&Method::PUT, &path),
        Some("UPDATE_INSTANCE")
    );
}

#[tokio::test]
async fn a_request_that_changes_nothing_is_accepted_complete() {
    let w = app(true);
    let (_, path, _) = active_instance(&w).await;
    let app = w.app.clone();
    let (status, _, accepted) = send(
        &app,
        put(
            &path,
            &json!({"containerImage": "dev-wordpress:latest"}),
            None,
            None,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    assert_eq!(accepted["operation"]["status"], "COMPLETED", "{accepted}");
    assert!(
        accepted["operation"]["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .all(|s| s["status"] == "SKIPPED"),
        "{accepted}"
    );
    let (_, _, after) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(after["status"], "ACTIVE", "nothing was run: {after}");

    // A real change, run here on the plan recorder, is refused: the operation says why.
    let (status, _, refused) = send(
        &app,
        put(&path, &json!({"wordpressVersion": "6.4"}), None, None),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{refused}");
    assert_eq!(refused["operation"]["status"], "FAILED", "{refused}");
    assert_eq!(refused["operation"]["error"]["code"], "CLOUD_UNAVAILABLE");
    // Nothing was rolled out, so the instance runs as it did.
    let (_, _, after) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(after["status"], "ACTIVE", "{after}");
    assert_eq!(after["wordpressVersion"], "latest", "{after}");
}

#[tokio::test]
async fn bad_bodies_are_400_on_the_field_and_other_states_are_422() {
    let w = app(false);
    let (t, path) = failed(&w, "Refused Update Corp").await;
    let app = w.app.clone();
    for (bad, field) in [
        (json!({}), "body"),
        (json!({"containerImage": "Not An Image"}), "containerImage"),
        (
            json!({"containerImage": format!("wordpress@sha256:{}", "z".repeat(64))}),
            "containerImage",
        ),
        (json!({"wordpressVersion": "6.4-beta"}), "wordpressVersion"),
        (json!({"tier": "HUGE"}), "tier"),
    ] {
        let reply = send(&app, put(&path, &bad, None, None)).await;
        let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(fields(details), [field], "{bad}");
    }
    for bad in [
        json!({"wordpressVersion": "6.4", "cpu": 1024}),
        json!({"wordpressVersion": 6.4}),
        json!(["6.4"]),
    ] {
        let reply = send(&app, put(&path, &bad, None, None)).await;
        assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    }
    let reply = send(
        &app,
        put(
            &format!("{path}?dryRun=maybe"),
            &json!({"tier": "STANDARD"}),
            None,
            None,
        ),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let reply = send(
        &app,
        put(
            &path,
            &json!({"tier": "STANDARD"}),
            Some("not-an-etag"),
            None,
        ),
    )
    .await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");

    // FAILED is not updated: 422 with where it stands and where it may go.
    let reply = send(
        &app,
        put(&path, &json!({"wordpressVersion": "6.4"}), None, None),
    )
    .await;
    let details = assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(details["currentStatus"], "FAILED");
    assert!(details["allowedTransitions"].is_array(), "{details}");
    let (_, _, failed) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert!(
        !link_names(&failed).contains(&"update".to_owned()),
        "{failed}"
    );

    // A viewer of the tenant may not.
    let (status, _, reply) = call(
        &app,
        Method::PUT,
        &path,
        Some(&viewer(&[&t])),
        Some(&json!({"wordpressVersion": "6.4"})),
    )
    .await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status} {reply}"
    );
}
