//! `GET /v1.0/tenants/{id}/audit`: every change, oldest first, for admins only.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::org_support::{active_tenant, assign, plain};
use crate::support::{
    ADMIN_EMAIL, activate, admin, assert_error, assert_timestamp, call, create_named, park,
};

fn event_types(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items is an array")
        .iter()
        .map(|e| {
            e["eventType"]
                .as_str()
                .expect("eventType is a string")
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn the_audit_trail_lists_every_change_oldest_first() {
    let app = crate::support::app();
    let id = create_named(&app, "Audited Org").await;
    let base = format!("/v1.0/tenants/{id}");
    activate(&app, &id).await;
    park(&app, &id).await;
    let (status, _, _) = call(
        &app,
        Method::POST,
        &format!("{base}/lifecycle/unpark"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(
        &app,
        Method::PUT,
        &base,
        Some(&admin()),
        Some(&json!({"team": "Audit Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app, Method::DELETE, &base, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK);

    let (status, _, page) = call(
        &app,
        Method::GET,
        &format!("{base}/audit"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let expected = [
        "TENANT_CREATED",
        "STATUS_CHANGED",
        "TENANT_PARKED",
        "TENANT_UNPARKED",
        "TENANT_UPDATED",
        "TENANT_DEPROVISIONED",
    ];
    assert_eq!(event_types(&page), expected);
    assert_eq!(page["count"], 6);
    assert_eq!(page["moreAvailable"], false);
    assert_eq!(page["nextToken"], Value::Null);

    let items = page["items"].as_array().expect("items");
    let mut previous = String::new();
    for e in items {
        assert_eq!(e["tenantId"], id.as_str());
        assert_eq!(e["actor"], ADMIN_EMAIL);
        assert!(e["eventId"].as_str().is_some_and(|s| !s.is_empty()), "{e}");
        assert_timestamp(&e["timestamp"]);
        let at = e["timestamp"].as_str().expect("timestamp").to_owned();
        assert!(
            at > previous,
            "events are strictly ordered by time: {previous} then {at}"
        );
        previous = at;
    }
    assert_eq!(items[1]["details"]["previousStatus"], "PENDING");
    assert_eq!(items[1]["details"]["newStatus"], "ACTIVE");
    assert_eq!(items[2]["details"]["reason"], "Customer asked for a pause");
    assert_eq!(
        items[4]["details"]["changes"],
        json!([{"field": "team", "before": null, "after": "Audit Team"}])
    );

    // Paged two at a time, the same events in the same order.
    let mut seen = Vec::new();
    let mut uri = format!("{base}/audit?limit=2");
    loop {
        let (status, _, page) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert!(page["count"].as_u64().is_some_and(|c| c <= 2));
        seen.extend(event_types(&page));
        match page["_links"]["next"]["href"].as_str() {
            Some(next) => next.clone_into(&mut uri),
            None => break,
        }
        assert!(
            seen.len() <= expected.len(),
            "paging does not end: {seen:?}"
        );
    }
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn the_audit_trail_is_for_admins() {
    let org = crate::support::embedded_org_app().await;
    let app = org.router.clone();
    let id = active_tenant(&org, "Private Org").await;
    let uri = format!("/v1.0/tenants/{id}/audit");
    assign(&org, &id, "viewer", "Viewer").await;
    assign(&org, &id, "tenant-admin", "Admin").await;

    let reply = call(&app, Method::GET, &uri, Some(&plain("viewer")), None).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");

    let (status, _, page) = call(&app, Method::GET, &uri, Some(&plain("tenant-admin")), None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(
        event_types(&page)[..2],
        ["TENANT_CREATED", "STATUS_CHANGED"]
    );

    let missing = "/v1.0/tenants/tenant-00000000-0000-4000-8000-000000000000/audit";
    let reply = call(&app, Method::GET, missing, Some(&admin()), None).await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
}
