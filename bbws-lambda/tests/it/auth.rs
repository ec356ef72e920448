//! Authentication (401) and authorization (403, and 404 outside the caller's scope).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::support::{
    SECRET, admin, assert_error, call, create_named, new_tenant, now_secs, send, tenant_admin,
    token_with, viewer,
};

const MISSING: &str = "tenant-00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn viewers_read_their_tenants_but_cannot_change_them() {
    let app = crate::support::app();
    let id = create_named(&app, "Viewed Org").await;
    create_named(&app, "Hidden Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    let v = viewer(&[&id]);

    let (status, _, t) = call(&app, Method::GET, &uri, Some(&v), None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["organizationName"], "Viewed Org");

    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&v),
        Some(&json!({"team": "Sneaky Team"})),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    let reply = call(&app, Method::DELETE, &uri, Some(&v), None).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&v),
        Some(&new_tenant("Viewer Made", "dev")),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");

    // The listing holds only the viewer's tenant.
    let (status, _, page) = call(&app, Method::GET, "/v1.0/tenants", Some(&v), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 1);
    assert_eq!(page["items"][0]["tenantId"], id.as_str());

    let (_, _, after) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(after["version"], 1, "the refused writes changed nothing");
}

#[tokio::test]
async fn tenants_outside_the_callers_scope_look_like_missing_ones() {
    let app = crate::support::app();
    let id = create_named(&app, "Scoped Org").await;
    let other = create_named(&app, "Other Org").await;
    let outsider = viewer(&[&other]);

    let hidden = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{id}"),
        Some(&outsider),
        None,
    )
    .await;
    let details = assert_error(&hidden, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
    assert_eq!(details["tenantId"], id.as_str());

    let missing = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{MISSING}"),
        Some(&admin()),
        None,
    )
    .await;
    assert_error(&missing, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
    assert_eq!(
        hidden.2["error"]["message"]
            .as_str()
            .map(|m| m.replace(&id, "X")),
        missing.2["error"]["message"]
            .as_str()
            .map(|m| m.replace(MISSING, "X")),
        "hidden and missing read alike"
    );

    let reply = call(
        &app,
        Method::PUT,
        &format!("/v1.0/tenants/{id}"),
        Some(&outsider),
        Some(&json!({"team": "Other Team"})),
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");

    // A tenant admin is admin of that tenant only.
    let ta = tenant_admin(&id);
    let (status, _, t) = call(
        &app,
        Method::PUT,
        &format!("/v1.0/tenants/{id}"),
        Some(&ta),
        Some(&json!({"team": "Own Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let reply = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{other}"),
        Some(&ta),
        None,
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
}

fn with_authorization(uri: &str, value: Option<&str>) -> Request<Body> {
    let mut req = Request::builder().method(Method::GET).uri(uri);
    if let Some(v) = value {
        req = req.header(header::AUTHORIZATION, v);
    }
    req.body(Body::empty()).expect("a valid request")
}

#[tokio::test]
async fn missing_forged_expired_or_non_bearer_credentials_are_401() {
    let app = crate::support::app();
    let id = create_named(&app, "Guarded Org").await;
    let forged = token_with(
        b"some-other-secret",
        "root",
        &["Admins"],
        &[],
        now_secs(),
        Duration::from_hours(1),
    );
    let expired = token_with(
        SECRET,
        "root",
        &["Admins"],
        &[],
        now_secs() - 3600,
        Duration::from_mins(1),
    );
    let valid = admin();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no token", None),
        ("bad signature", Some(format!("Bearer {forged}"))),
        ("expired", Some(format!("Bearer {expired}"))),
        ("basic", Some("Basic x".to_owned())),
        ("empty bearer", Some("Bearer ".to_owned())),
        ("not a JWT", Some("Bearer not.a.jwt".to_owned())),
        ("raw token", Some(valid.clone())),
    ];
    for uri in [
        "/v1.0/tenants".to_owned(),
        format!("/v1.0/tenants/{id}"),
        format!("/v1.0/tenants/{id}/audit"),
    ] {
        for (what, value) in &cases {
            let reply = send(&app, with_authorization(&uri, value.as_deref())).await;
            assert_error(&reply, StatusCode::UNAUTHORIZED, "UNAUTHORIZED");
            assert!(
                reply.2["error"]["details"]
                    .as_object()
                    .is_some_and(serde_json::Map::is_empty),
                "{what}: {}",
                reply.2
            );
        }
    }

    // Credentials are checked before the body: a bad body without a token is still 401.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/v1.0/tenants")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .expect("a valid request");
    assert_error(
        &send(&app, req).await,
        StatusCode::UNAUTHORIZED,
        "UNAUTHORIZED",
    );

    // The same request with the valid token gets through.
    let (status, _, _) = send(
        &app,
        with_authorization(
            &format!("/v1.0/tenants/{id}"),
            Some(&format!("Bearer {valid}")),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
