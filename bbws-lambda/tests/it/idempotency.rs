//! `Idempotency-Key` on `POST /v1.0/tenants`.

use axum::Router;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    Reply, activate, admin, assert_error, header_str, id_of, new_tenant, request, send,
    tenant_count, token, with_header,
};

async fn post_with_key(app: &Router, token: &str, key: &str, body: &Value) -> Reply {
    let req = with_header(
        request(Method::POST, "/v1.0/tenants", Some(token), Some(body)),
        "idempotency-key",
        key,
    );
    send(app, req).await
}

#[tokio::test]
async fn a_replayed_create_answers_the_first_response_and_creates_nothing() {
    let app = crate::support::app();
    let body = json!({
        "organizationName": "Replay Org",
        "contactEmail": "ops@replay.example",
        "environment": "prod",
        "metadata": {"tier": "gold", "seats": 5},
    });
    let (status, headers, first) = post_with_key(&app, &admin(), "create-replay-1", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(header_str(&headers, "idempotent-replayed"), None);

    let (status, replay_headers, replay) =
        post_with_key(&app, &admin(), "create-replay-1", &body).await;
    assert_eq!(status, StatusCode::CREATED, "{replay}");
    assert_eq!(
        header_str(&replay_headers, "idempotent-replayed"),
        Some("true")
    );
    assert_eq!(replay["tenantId"], first["tenantId"]);
    assert_eq!(replay, first, "the whole first response is replayed");
    assert_eq!(
        header_str(&replay_headers, "etag"),
        header_str(&headers, "etag")
    );
    assert_eq!(
        header_str(&replay_headers, "location"),
        header_str(&headers, "location")
    );
    assert_eq!(tenant_count(&app).await, 1, "the replay created nothing");

    // The same body in another key order and spacing is the same request.
    let reordered = json!({
        "metadata": {"seats": 5, "tier": "gold"},
        "environment": "prod",
        "contactEmail": "ops@replay.example",
        "organizationName": "  Replay   Org ",
    });
    let (status, headers, again) =
        post_with_key(&app, &admin(), "create-replay-1", &reordered).await;
    assert_eq!(
        (status, header_str(&headers, "idempotent-replayed")),
        (StatusCode::CREATED, Some("true")),
        "{again}"
    );
    assert_eq!(again["tenantId"], first["tenantId"]);

    // The first response is replayed even after the tenant moved on.
    activate(&app, &id_of(&first)).await;
    let (status, _, later) = post_with_key(&app, &admin(), "create-replay-1", &body).await;
    assert_eq!(
        (status, later["status"].as_str()),
        (StatusCode::CREATED, Some("PENDING"))
    );
    assert_eq!(tenant_count(&app).await, 1);
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused() {
    let app = crate::support::app();
    let body = new_tenant("Keyed Org", "dev");
    let (status, _, _) = post_with_key(&app, &admin(), "key-2", &body).await;
    assert_eq!(status, StatusCode::CREATED);

    let mut other = body.clone();
    other["contactEmail"] = json!("someone.else@keyed.example");
    let reply = post_with_key(&app, &admin(), "key-2", &other).await;
    assert_error(&reply, StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");

    let reply = post_with_key(
        &app,
        &admin(),
        "key-2",
        &new_tenant("Entirely New Org", "dev"),
    )
    .await;
    assert_error(&reply, StatusCode::CONFLICT, "IDEMPOTENCY_KEY_REUSED");
    assert_eq!(tenant_count(&app).await, 1, "a refused key creates nothing");

    // Without the key, or with another key, the same body is an ordinary name conflict.
    let reply = post_with_key(&app, &admin(), "key-3", &body).await;
    assert_error(&reply, StatusCode::CONFLICT, "CONFLICT");
}

#[tokio::test]
async fn keys_belong_to_one_caller() {
    let app = crate::support::app();
    let body = new_tenant("Shared Key Org", "dev");
    let (status, _, _) = post_with_key(&app, &admin(), "shared", &body).await;
    assert_eq!(status, StatusCode::CREATED);

    // Another admin using the same key and body is not answered with the first caller's tenant.
    let other_admin = token("second-admin", &["Admins"], &[]);
    let reply = post_with_key(&app, &other_admin, "shared", &body).await;
    assert_error(&reply, StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(header_str(&reply.1, "idempotent-replayed"), None);
}

#[tokio::test]
async fn a_malformed_key_is_a_400() {
    let app = crate::support::app();
    let long = "k".repeat(256);
    for key in [long.as_str(), "has space"] {
        let reply = post_with_key(&app, &admin(), key, &new_tenant("Bad Key Org", "dev")).await;
        let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
        assert_eq!(crate::support::fields(details), ["Idempotency-Key"]);
    }
    assert_eq!(tenant_count(&app).await, 0);
}
