//! Park, unpark, suspend, resume (and their older alias paths), and the lifecycle resource.

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    ADMIN_EMAIL, Reply, activate, admin, assert_error, assert_timestamp, call, create_named,
    fields, header_str, link_names, request, send, with_header,
};

const REASON: &str = "Customer asked to pause the site";

async fn post(app: &Router, uri: &str, body: Option<&Value>) -> Reply {
    call(app, Method::POST, uri, Some(&admin()), body).await
}

/// The 422 every refused park of a PARKED tenant carries.
fn assert_parked_refusal(reply: &Reply) {
    let details = assert_error(
        reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(
        *details,
        json!({
            "currentStatus": "PARKED",
            "targetStatus": "PARKED",
            "requestedStatus": "PARKED",
            "allowedTransitions": ["ACTIVE", "DEPROVISIONED"],
        })
    );
}

async fn park_unpark_cycle(app: &Router, park_path: &str, unpark_path: &str) {
    let id = create_named(app, "Cycle Org").await;
    activate(app, &id).await;
    let base = format!("/v1.0/tenants/{id}");

    let (status, headers, t) = post(
        app,
        &format!("{base}{park_path}"),
        Some(&json!({"reason": REASON})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "PARKED");
    assert_eq!(t["version"], 3);
    assert_eq!(header_str(&headers, "etag"), Some("\"3\""));
    assert!(
        t["message"].as_str().is_some_and(|m| m.contains("parked")),
        "{t}"
    );
    assert_eq!(t["parkReason"], REASON);
    assert_eq!(t["parkedBy"], ADMIN_EMAIL);
    assert_timestamp(&t["parkedAt"]);
    assert_eq!(
        t["_links"]["unpark"],
        json!({"href": format!("{base}/lifecycle/unpark"), "method": "POST"})
    );
    assert!(t.get("warning").is_none(), "{t}");

    let again = post(
        app,
        &format!("{base}{park_path}"),
        Some(&json!({"reason": REASON})),
    )
    .await;
    assert_parked_refusal(&again);

    let (status, _, t) = post(app, &format!("{base}{unpark_path}"), None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "ACTIVE");
    assert_eq!(t["version"], 4);
    assert!(
        t["warning"].as_str().is_some_and(|w| !w.is_empty()),
        "unpark warns: {t}"
    );
    assert!(t["message"].as_str().is_some_and(|m| !m.is_empty()), "{t}");
    assert_timestamp(&t["unparkedAt"]);
    assert_eq!(t["parkReason"], REASON, "the park stamp is kept");
    assert!(link_names(&t).contains(&"park".to_owned()));

    let reply = post(app, &format!("{base}{unpark_path}"), Some(&json!({}))).await;
    let details = assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(details["currentStatus"], "ACTIVE");
    assert_eq!(
        details["allowedTransitions"],
        json!(["SUSPENDED", "PARKED", "DEPROVISIONED"])
    );
}

#[tokio::test]
async fn park_then_park_again_then_unpark() {
    park_unpark_cycle(
        &crate::support::app(),
        "/lifecycle/park",
        "/lifecycle/unpark",
    )
    .await;
}

#[tokio::test]
async fn the_alias_paths_behave_the_same() {
    park_unpark_cycle(&crate::support::app(), "/park", "/unpark").await;
}

#[tokio::test]
async fn a_tenant_parked_on_one_path_is_refused_on_the_other() {
    let app = crate::support::app();
    let id = create_named(&app, "Crossed Org").await;
    activate(&app, &id).await;
    let base = format!("/v1.0/tenants/{id}");
    let (status, _, _) = post(
        &app,
        &format!("{base}/park"),
        Some(&json!({"reason": REASON})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_parked_refusal(
        &post(
            &app,
            &format!("{base}/lifecycle/park"),
            Some(&json!({"reason": REASON})),
        )
        .await,
    );
    let (status, _, t) = post(&app, &format!("{base}/lifecycle/unpark"), None).await;
    assert_eq!(
        (status, t["status"].as_str()),
        (StatusCode::OK, Some("ACTIVE"))
    );
}

#[tokio::test]
async fn park_needs_a_reason_of_ten_characters_and_an_active_tenant() {
    let app = crate::support::app();
    let id = create_named(&app, "Reasoned Org").await;
    let uri = format!("/v1.0/tenants/{id}/lifecycle/park");

    // PENDING cannot be parked.
    let reply = post(&app, &uri, Some(&json!({"reason": REASON}))).await;
    let details = assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(details["currentStatus"], "PENDING");
    assert_eq!(details["allowedTransitions"], json!(["ACTIVE", "FAILED"]));

    activate(&app, &id).await;
    for body in [
        json!({"reason": "too short"}),
        json!({"reason": "   "}),
        json!({}),
    ] {
        let reply = post(&app, &uri, Some(&body)).await;
        assert_eq!(
            fields(assert_error(
                &reply,
                StatusCode::BAD_REQUEST,
                "VALIDATION_ERROR"
            )),
            ["reason"],
            "{body}"
        );
    }
    let reply = post(&app, &uri, None).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");

    let (status, _, t) = post(&app, &uri, Some(&json!({"reason": "ten chars!"}))).await;
    assert_eq!(
        (status, t["status"].as_str()),
        (StatusCode::OK, Some("PARKED")),
        "{t}"
    );
}

#[tokio::test]
async fn suspend_and_resume() {
    let app = crate::support::app();
    let id = create_named(&app, "Suspended Org").await;
    activate(&app, &id).await;
    let base = format!("/v1.0/tenants/{id}");

    let (status, _, t) = post(
        &app,
        &format!("{base}/lifecycle/suspend"),
        Some(&json!({"reason": "Invoices unpaid for 90 days"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "SUSPENDED");
    assert_eq!(t["suspendReason"], "Invoices unpaid for 90 days");
    assert_eq!(t["_links"]["resume"]["method"], "POST");
    assert!(!link_names(&t).contains(&"park".to_owned()));

    // SUSPENDED → PARKED is not a transition (C20).
    let reply = post(
        &app,
        &format!("{base}/lifecycle/park"),
        Some(&json!({"reason": REASON})),
    )
    .await;
    let details = assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(details["currentStatus"], "SUSPENDED");
    assert_eq!(details["targetStatus"], "PARKED");

    let (status, _, t) = post(&app, &format!("{base}/lifecycle/resume"), None).await;
    assert_eq!(
        (status, t["status"].as_str()),
        (StatusCode::OK, Some("ACTIVE")),
        "{t}"
    );
    assert_timestamp(&t["resumedAt"]);
}

#[tokio::test]
async fn lifecycle_shows_the_allowed_transitions() {
    let app = crate::support::app();
    let id = create_named(&app, "Lifecycle Org").await;
    let uri = format!("/v1.0/tenants/{id}/lifecycle");

    let (status, _, l) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK, "{l}");
    assert_eq!(l["tenantId"], id.as_str());
    assert_eq!(l["status"], "PENDING");
    assert_eq!(l["version"], 1);
    assert_eq!(l["allowedTransitions"], json!(["ACTIVE", "FAILED"]));
    assert_eq!(l["_links"]["self"]["href"], uri);
    assert_eq!(l["_links"]["tenant"]["href"], format!("/v1.0/tenants/{id}"));

    activate(&app, &id).await;
    let (_, _, l) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(
        l["allowedTransitions"],
        json!(["SUSPENDED", "PARKED", "DEPROVISIONED"])
    );
    assert_eq!(l["_links"]["park"]["method"], "POST");
    assert_eq!(l["_links"]["suspend"]["method"], "POST");

    crate::support::park(&app, &id).await;
    let (_, _, l) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(l["status"], "PARKED");
    assert_eq!(l["allowedTransitions"], json!(["ACTIVE", "DEPROVISIONED"]));
    assert_eq!(l["_links"]["unpark"]["method"], "POST");
    assert!(l["_links"].get("park").is_none(), "{l}");
}

#[tokio::test]
async fn a_stale_if_match_refuses_a_park() {
    let app = crate::support::app();
    let id = create_named(&app, "Raced Org").await;
    activate(&app, &id).await;
    let uri = format!("/v1.0/tenants/{id}/lifecycle/park");

    let req = with_header(
        request(
            Method::POST,
            &uri,
            Some(&admin()),
            Some(&json!({"reason": REASON})),
        ),
        "if-match",
        "\"1\"",
    );
    let reply = send(&app, req).await;
    assert_eq!(
        assert_error(&reply, StatusCode::CONFLICT, "VERSION_CONFLICT")["currentVersion"],
        2
    );

    let req = with_header(
        request(
            Method::POST,
            &uri,
            Some(&admin()),
            Some(&json!({"reason": REASON})),
        ),
        "if-match",
        "W/\"2\"",
    );
    let (status, _, t) = send(&app, req).await;
    assert_eq!(
        (status, t["status"].as_str()),
        (StatusCode::OK, Some("PARKED")),
        "{t}"
    );
}
