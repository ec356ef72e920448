//! Lifecycle endpoints (C8–C12, C16) through the router, the way `bbws serve` runs them: on the
//! local backends' plan recorder an accepted change is refused at once (the operation FAILED
//! with `CLOUD_UNAVAILABLE`, the instance FAILED); wrong states are 422 with the allowed
//! transitions; bad bodies are 400; out-of-bounds counts are 422 `SCALE_LIMIT_EXCEEDED`.

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode};
use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    EcsEventHandler, InstanceCloud, InstancePorts, InstanceService, PlanRecorder, PlatformConfig,
    ProvisioningEngine, SyncOutcome, TokioTimer,
};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{Environment, TenantPorts, TenantService};
use bbws_core::time::SystemClock;
use bbws_lambda::AppState;
use bbws_lambda::api::auth::JwtAuthenticator;
use serde_json::{Value, json};

use crate::support::{SECRET, admin, call, create_named, link_names, viewer};

/// The API on an in-memory store, and the store (to play ECS events on it).
pub(crate) fn app_with_store() -> (Router, Arc<EmbeddedStore>) {
    let store = Arc::new(EmbeddedStore::in_memory().expect("an in-memory store opens"));
    let config = PlatformConfig::defaults(Environment::Dev);
    let cloud = InstanceCloud::plan(&Arc::new(PlanRecorder::new()));
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
        engine: Some(ProvisioningEngine::new(
            store.clone(),
            cloud,
            config,
            Arc::new(SystemClock),
            Arc::new(TokioTimer),
            Arc::new(RandomIds),
        )),
        auth: Arc::new(JwtAuthenticator::new(SECRET)),
    });
    (router, store)
}

/// A tenant with a FAILED instance (the plan recorder refused its provisioning): `(tenant,
/// instance path)`.
pub(crate) async fn failed_instance(app: &Router, name: &str) -> (String, String, String) {
    let t = create_named(app, name).await;
    let (status, _, body) = call(
        app,
        Method::POST,
        &format!("/v1.0/tenants/{t}/instances"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let inst = body["instanceId"].as_str().expect("instanceId").to_owned();
    let path = format!("/v1.0/tenants/{t}/instances/{inst}");
    (t, inst, path)
}

/// ECS reports the instance's service steady: FAILED -> ACTIVE.
pub(crate) async fn activate(app: &Router, store: &Arc<EmbeddedStore>, t: &str, path: &str) {
    let handler = EcsEventHandler::new(
        store.clone(),
        None,
        Environment::Dev,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    );
    let (_, _, instance) = call(app, Method::GET, path, Some(&admin()), None).await;
    let event = json!({
        "version": "0", "id": format!("ev-activate-{t}"), "detail-type": "ECS Service Action",
        "source": "aws.ecs", "time": "2026-12-04T10:00:00Z",
        "resources": [format!("arn:aws:ecs:eu-west-1:1:service/dev-cluster/tenant-{}-wordpress",
                              instance["resourceKey"].as_str().unwrap_or_default())],
        "detail": {"eventName": "SERVICE_STEADY_STATE", "createdAt": "2026-12-04T10:00:00.000Z",
                   "tags": [{"key": "bbws:tenant-id", "value": t}, {"key": "bbws:environment", "value": "dev"}]}
    });
    assert!(matches!(
        handler.handle(&event).await.expect("handled"),
        SyncOutcome::Moved { .. }
    ));
}

#[tokio::test]
async fn wrong_states_bad_bodies_and_bounds_are_refused_before_anything_is_accepted() {
    let (app, _) = app_with_store();
    let (t, _, path) = failed_instance(&app, "Refusal Corp").await;

    // FAILED cannot be suspended: 422 with where it stands and where it may go.
    let (status, _, body) = call(
        &app,
        Method::POST,
        &format!("{path}/suspend"),
        Some(&admin()),
        Some(&json!({"reason": "customer asked for a pause"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_STATUS_TRANSITION");
    assert_eq!(body["error"]["details"]["currentStatus"], "FAILED");
    assert!(
        body["error"]["details"]["allowedTransitions"].is_array(),
        "{body}"
    );
    for action in ["resume", "unpark", "restart", "park"] {
        let body = (action == "park").then(|| json!({"reason": "billing review pending"}));
        let (status, _, reply) = call(
            &app,
            Method::POST,
            &format!("{path}/{action}"),
            Some(&admin()),
            body.as_ref(),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{action}: {reply}"
        );
    }

    // A reason is required (10-500 characters); unknown fields and bad JSON are 400.
    for bad in [
        json!({}),
        json!({"reason": "short"}),
        json!({"reason": "long enough reason", "force": true}),
    ] {
        let (status, _, reply) = call(
            &app,
            Method::POST,
            &format!("{path}/suspend"),
            Some(&admin()),
            Some(&bad),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {reply}");
    }
    // Counts outside the platform's bounds.
    for n in [0, 11, -3, 500] {
        let (status, _, reply) = call(
            &app,
            Method::PUT,
            &format!("{path}/size"),
            Some(&admin()),
            Some(&json!({"desiredCount": n})),
        )
        .await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{n}: {reply}");
        assert_eq!(reply["error"]["code"], "SCALE_LIMIT_EXCEEDED", "{reply}");
    }
    // A viewer of the tenant may not.
    let (status, _, reply) = call(
        &app,
        Method::POST,
        &format!("{path}/resume"),
        Some(&viewer(&[&t])),
        None,
    )
    .await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status} {reply}"
    );
}

#[tokio::test]
async fn an_active_instance_offers_its_actions_and_a_suspend_is_accepted_and_refused_by_the_plan_recorder()
 {
    let (app, store) = app_with_store();
    let (t, inst, path) = failed_instance(&app, "Lifecycle Corp").await;
    activate(&app, &store, &t, &path).await;
    let (_, _, active) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(active["status"], "ACTIVE", "{active}");
    let links = link_names(&active);
    for action in ["suspend", "park", "restart", "scale"] {
        assert!(links.contains(&action.to_owned()), "{action} in {links:?}");
    }
    assert!(!links.contains(&"resume".to_owned()));
    assert_eq!(active["_links"]["scale"]["method"], "PUT");

    let (status, headers, body) = call(
        &app,
        Method::POST,
        &format!("{path}/suspend"),
        Some(&admin()),
        Some(&json!({"reason": "customer asked for a pause"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["instanceId"], inst.as_str());
    assert_eq!(body["operation"]["type"], "SUSPEND");
    let op_path = body["_links"]["operation"]["href"]
        .as_str()
        .expect("operation link")
        .to_owned();
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(op_path.as_str())
    );
    // The plan recorder cannot carry it out: the operation says so, and the instance is FAILED.
    assert_eq!(body["operation"]["status"], "FAILED", "{body}");
    assert_eq!(body["operation"]["error"]["code"], "CLOUD_UNAVAILABLE");
    let steps: Vec<&str> = body["operation"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(
        steps,
        ["suspend-autoscaling", "update-service", "wait-for-drain"]
    );
    let (_, _, after): (StatusCode, _, Value) =
        call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(after["status"], "FAILED", "{after}");
}
