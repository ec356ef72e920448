//! The instance API (digest 2.7 C1–C3, C5, C20) on the in-memory store with the plan recorder
//! as the cloud, and the router running accepted operations in process (as `bbws serve` does):
//! requests are accepted (202), and the run is refused with `CLOUD_UNAVAILABLE`.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    admin, app, assert_error, call, create_named, header_str, link_names, request, send, viewer,
    with_header,
};

fn instances(tenant: &str) -> String {
    format!("/v1.0/tenants/{tenant}/instances")
}

#[tokio::test]
async fn dry_run_answers_the_plan_and_creates_nothing() {
    let app = app();
    let t = create_named(&app, "Plan Corp").await;
    let (status, _, plan) = call(
        &app,
        Method::POST,
        &format!("{}?dryRun=true", instances(&t)),
        Some(&admin()),
        Some(&json!({"tier": "STANDARD"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{plan}");
    assert_eq!(plan["dryRun"], true);
    let calls = plan["calls"].as_array().expect("calls");
    assert!(
        calls.iter().any(|c| c["action"] == "CreateUserPool"),
        "{plan}"
    );
    let rendered = plan["rendered"].as_str().expect("rendered");
    assert!(rendered.contains("ecs:CreateService"), "{rendered}");
    let (_, _, list) = call(&app, Method::GET, &instances(&t), Some(&admin()), None).await;
    assert_eq!(list["count"], 0, "{list}");
}

#[tokio::test]
async fn provisioning_is_accepted_and_the_plan_recorder_refuses_to_run_it() {
    let app = app();
    let t = create_named(&app, "Accept Corp").await;
    let (status, headers, body) = call(
        &app,
        Method::POST,
        &instances(&t),
        Some(&admin()),
        Some(&json!({"tier": "PROFESSIONAL", "desiredCount": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let op = body["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    let inst = body["instanceId"].as_str().expect("instanceId").to_owned();
    assert_eq!(
        header_str(&headers, "location"),
        Some(format!("/v1.0/operations/{op}").as_str())
    );
    assert_eq!(body["operation"]["status"], "FAILED", "{body}");
    assert_eq!(body["operation"]["error"]["code"], "CLOUD_UNAVAILABLE");
    assert!(
        body["message"]
            .as_str()
            .is_some_and(|m| m.contains("CLOUD_UNAVAILABLE")),
        "{body}"
    );

    let (status, _, oper) = call(
        &app,
        Method::GET,
        &format!("/v1.0/operations/{op}"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{oper}");
    assert_eq!(oper["type"], "PROVISION");
    assert_eq!(oper["status"], "FAILED");
    assert_eq!(oper["steps"].as_array().map(Vec::len), Some(10));
    assert!(link_names(&oper).contains(&"instance".to_owned()));

    let (status, headers, inst_body) = call(
        &app,
        Method::GET,
        &format!("{}/{inst}", instances(&t)),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{inst_body}");
    assert!(header_str(&headers, "etag").is_some());
    assert_eq!(inst_body["status"], "FAILED");
    assert_eq!(inst_body["tier"], "PROFESSIONAL");
    assert_eq!(inst_body["desiredCount"], 3);
    assert_eq!(inst_body["lastError"]["code"], "CLOUD_UNAVAILABLE");
    let links = link_names(&inst_body);
    assert!(links.contains(&"deprovision".to_owned()), "{inst_body}");
    assert!(links.contains(&"retry".to_owned()), "{inst_body}");

    let (_, _, listed) = call(&app, Method::GET, &instances(&t), Some(&admin()), None).await;
    assert_eq!(listed["count"], 1, "{listed}");
    assert_eq!(listed["instances"][0]["instanceId"], inst.as_str());

    // A second provisioning while the instance exists is a 409 naming it.
    let (status, _, conflict) =
        call(&app, Method::POST, &instances(&t), Some(&admin()), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{conflict}");

    // The failed instance is deprovisioned (accepted, then refused the same way).
    let (status, _, gone) = call(
        &app,
        Method::DELETE,
        &format!("{}/{inst}?archiveData=false&reason=test", instances(&t)),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{gone}");
    assert_eq!(gone["operation"]["type"], "DEPROVISION");
    assert_eq!(gone["operation"]["error"]["code"], "CLOUD_UNAVAILABLE");
}

#[tokio::test]
async fn the_same_idempotency_key_replays_and_another_body_is_refused() {
    let app = app();
    let t = create_named(&app, "Idem Corp").await;
    let post = |body: Value| {
        with_header(
            request(Method::POST, &instances(&t), Some(&admin()), Some(&body)),
            "idempotency-key",
            "prov-1",
        )
    };
    let (s1, _, b1) = send(&app, post(json!({"tier": "STANDARD"}))).await;
    assert_eq!(s1, StatusCode::ACCEPTED, "{b1}");
    let (s2, h2, b2) = send(&app, post(json!({"tier": "STANDARD"}))).await;
    assert_eq!(s2, StatusCode::ACCEPTED, "{b2}");
    assert_eq!(b1["operationId"], b2["operationId"]);
    assert_eq!(header_str(&h2, "idempotent-replayed"), Some("true"));
    let (s3, _, b3) = send(&app, post(json!({"tier": "ENTERPRISE"}))).await;
    assert_eq!(s3, StatusCode::CONFLICT, "{b3}");
}

#[tokio::test]
async fn caller_mistakes_are_4xx_with_stable_codes() {
    let app = app();
    let t = create_named(&app, "Bad Corp").await;
    let r = call(
        &app,
        Method::POST,
        &instances(&t),
        Some(&admin()),
        Some(&json!({"tier": "HUGE", "desiredCount": 99})),
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let r = call(
        &app,
        Method::POST,
        &instances(&t),
        Some(&admin()),
        Some(&json!({"unknown": 1})),
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let r = call(
        &app,
        Method::GET,
        &format!("{}/not-an-id", instances(&t)),
        Some(&admin()),
        None,
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let r = call(
        &app,
        Method::GET,
        &format!(
            "{}/inst-00000000-0000-4000-8000-000000000000",
            instances(&t)
        ),
        Some(&admin()),
        None,
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "INSTANCE_NOT_FOUND");
    let r = call(
        &app,
        Method::GET,
        "/v1.0/operations/op-00000000-0000-4000-8000-000000000000",
        Some(&admin()),
        None,
    )
    .await;
    assert_error(&r, StatusCode::NOT_FOUND, "OPERATION_NOT_FOUND");
    let r = call(
        &app,
        Method::GET,
        "/v1.0/operations/nope",
        Some(&admin()),
        None,
    )
    .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    let r = call(&app, Method::GET, &instances(&t), None, None).await;
    assert_eq!(r.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_viewer_reads_but_cannot_provision() {
    let app = app();
    let t = create_named(&app, "View Corp").await;
    let v = viewer(&[&t]);
    let (status, _, _) = call(&app, Method::GET, &instances(&t), Some(&v), None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = call(&app, Method::POST, &instances(&t), Some(&v), None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
