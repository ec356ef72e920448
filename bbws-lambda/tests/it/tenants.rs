//! Create, read, update and delete a tenant; state-dependent links; uniqueness; optimistic locking.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{
    activate, admin, assert_error, assert_timestamp, call, create, create_named, fields,
    header_str, id_of, link_names, new_tenant, park, request, send, tenant_count, token,
    with_header,
};

fn action(tenant: &Value, name: &str) -> (String, String) {
    let link = &tenant["_links"][name];
    let href = link["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} link: {tenant}"));
    let method = link["method"]
        .as_str()
        .unwrap_or_else(|| panic!("{name} link has no method: {tenant}"));
    (method.to_owned(), href.to_owned())
}

#[tokio::test]
async fn create_answers_201_with_a_pending_tenant_its_etag_location_and_links() {
    let app = crate::support::app();
    let body = json!({
        "organizationName": "  Acme   Corp ",
        "contactEmail": "admin@acme.example",
        "environment": "dev",
        "division": "Retail",
        "metadata": {"tier": "gold"},
    });
    let (status, headers, t) = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&body),
    )
    .await;

    assert_eq!(status, StatusCode::CREATED, "{t}");
    let id = id_of(&t);
    let uuid = id.strip_prefix("tenant-").expect("ids are tenant-{uuid}");
    assert_eq!(uuid.len(), 36, "{id}");
    assert_eq!(t["status"], "PENDING");
    assert_eq!(t["version"], 1);
    assert_eq!(t["organizationName"], "Acme Corp", "the name is normalised");
    assert_eq!(t["contactEmail"], "admin@acme.example");
    assert_eq!(t["environment"], "dev");
    assert_eq!(t["division"], "Retail");
    assert_eq!(t["group"], Value::Null);
    assert_eq!(t["metadata"], json!({"tier": "gold"}));
    assert_eq!(t["createdBy"], crate::support::ADMIN_EMAIL);
    assert_timestamp(&t["createdAt"]);
    assert_eq!(t["createdAt"], t["updatedAt"]);
    assert!(
        t.get("message").is_none() && t.get("warning").is_none(),
        "{t}"
    );

    assert_eq!(header_str(&headers, "etag"), Some("\"1\""));
    let location = format!("/v1.0/tenants/{id}");
    assert_eq!(header_str(&headers, "location"), Some(location.as_str()));
    assert!(
        header_str(&headers, "x-request-id").is_some_and(|v| !v.is_empty()),
        "x-request-id missing"
    );
    assert!(
        header_str(&headers, "content-type").is_some_and(|v| v.starts_with("application/json"))
    );

    assert_eq!(t["_links"]["self"]["href"], location);
    assert_eq!(t["_links"]["users"]["href"], format!("{location}/users"));
    assert_eq!(
        action(&t, "delete"),
        ("DELETE".to_owned(), location.clone())
    );
    let names = link_names(&t);
    for absent in ["park", "unpark", "suspend", "resume"] {
        assert!(
            !names.iter().any(|n| n == absent),
            "PENDING offers {absent}: {names:?}"
        );
    }

    // The Location is where the tenant lives.
    let (status, headers, got) = call(&app, Method::GET, &location, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(header_str(&headers, "etag"), Some("\"1\""));
    assert_eq!(got, t);
}

#[tokio::test]
async fn action_links_follow_the_tenant_status() {
    let app = crate::support::app();
    let id = create_named(&app, "Linked Org").await;
    let base = format!("/v1.0/tenants/{id}");

    let active = activate(&app, &id).await;
    assert_eq!(
        action(&active, "park"),
        ("POST".to_owned(), format!("{base}/lifecycle/park"))
    );
    assert_eq!(
        action(&active, "suspend"),
        ("POST".to_owned(), format!("{base}/lifecycle/suspend"))
    );
    assert_eq!(
        action(&active, "delete"),
        ("DELETE".to_owned(), base.clone())
    );
    assert!(
        !link_names(&active).contains(&"unpark".to_owned()),
        "{active}"
    );

    let parked = park(&app, &id).await;
    assert_eq!(parked["status"], "PARKED");
    assert_eq!(
        action(&parked, "unpark"),
        ("POST".to_owned(), format!("{base}/lifecycle/unpark"))
    );
    let names = link_names(&parked);
    assert!(
        !names.contains(&"park".to_owned()) && !names.contains(&"suspend".to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&"delete".to_owned()), "{names:?}");

    let (status, _, gone) = call(&app, Method::DELETE, &base, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK, "{gone}");
    assert_eq!(gone["status"], "DEPROVISIONED");
    let links = gone["_links"].as_object().expect("links");
    let actions: Vec<&String> = links
        .iter()
        .filter(|(_, l)| l.get("method").is_some())
        .map(|(n, _)| n)
        .collect();
    assert!(
        actions.is_empty(),
        "a DEPROVISIONED tenant offers actions: {actions:?}"
    );
    assert_eq!(
        gone["_links"]["self"]["href"], base,
        "navigation links stay"
    );
}

#[tokio::test]
async fn a_name_differing_only_in_letter_case_is_a_conflict() {
    let app = crate::support::app();
    create(&app, &new_tenant("Acme Corp", "dev")).await;

    let reply = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&admin()),
        Some(&new_tenant("aCME cORP", "prod")),
    )
    .await;
    let details = assert_error(&reply, StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(details["organizationName"], "aCME cORP");
    assert_eq!(tenant_count(&app).await, 1, "nothing was created");

    // A request id the client sends is kept: echoed in the header and in the envelope.
    let req = with_header(
        request(
            Method::POST,
            "/v1.0/tenants",
            Some(&admin()),
            Some(&new_tenant("ACME CORP", "dev")),
        ),
        "x-request-id",
        "client-chosen-id-42",
    );
    let reply = send(&app, req).await;
    assert_error(&reply, StatusCode::CONFLICT, "CONFLICT");
    assert_eq!(reply.2["requestId"], "client-chosen-id-42");

    // A different name is fine.
    create(&app, &new_tenant("Acme Corporation", "dev")).await;
    assert_eq!(tenant_count(&app).await, 2);
}

#[tokio::test]
async fn put_is_guarded_by_if_match_and_answers_a_new_etag() {
    let app = crate::support::app();
    let id = create_named(&app, "Locked Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    let change = json!({"contactEmail": "new@locked.example"});

    let stale = with_header(
        request(Method::PUT, &uri, Some(&admin()), Some(&change)),
        "if-match",
        "\"7\"",
    );
    let reply = send(&app, stale).await;
    let details = assert_error(&reply, StatusCode::CONFLICT, "VERSION_CONFLICT");
    assert_eq!(details["currentVersion"], 1);
    assert_eq!(details["expectedVersion"], 7);

    let fresh = with_header(
        request(Method::PUT, &uri, Some(&admin()), Some(&change)),
        "if-match",
        "\"1\"",
    );
    let (status, headers, t) = send(&app, fresh).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(header_str(&headers, "etag"), Some("\"2\""));
    assert_eq!(t["version"], 2);
    assert_eq!(t["contactEmail"], "new@locked.example");

    // The ETag it had before is now stale too.
    let again = with_header(
        request(Method::PUT, &uri, Some(&admin()), Some(&change)),
        "if-match",
        "\"1\"",
    );
    let reply = send(&app, again).await;
    assert_eq!(
        assert_error(&reply, StatusCode::CONFLICT, "VERSION_CONFLICT")["currentVersion"],
        2
    );

    // `version` in the body works like If-Match.
    let body = json!({"team": "Blue Team", "version": 1});
    let reply = call(&app, Method::PUT, &uri, Some(&admin()), Some(&body)).await;
    assert_error(&reply, StatusCode::CONFLICT, "VERSION_CONFLICT");
    let (status, _, t) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (t["version"].as_u64(), &t["team"]),
        (Some(2), &Value::Null),
        "refused writes changed nothing"
    );
}

#[tokio::test]
async fn put_merges_metadata_removes_null_keys_and_clears_null_labels() {
    let app = crate::support::app();
    let mut body = new_tenant("Merge Org", "sit");
    body["metadata"] = json!({"tier": "gold", "region": "eu", "nested": {"a": 1}});
    body["team"] = json!("Ops Team");
    let id = id_of(&create(&app, &body).await);
    let uri = format!("/v1.0/tenants/{id}");

    let patch =
        json!({"metadata": {"region": null, "plan": "pro", "nested": {"b": 2}}, "team": null});
    let (status, _, t) = call(&app, Method::PUT, &uri, Some(&admin()), Some(&patch)).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        t["metadata"],
        json!({"tier": "gold", "plan": "pro", "nested": {"b": 2}})
    );
    assert_eq!(t["team"], Value::Null);
    assert_eq!(
        t["organizationName"], "Merge Org",
        "fields not named are kept"
    );
    assert_eq!(t["environment"], "sit");

    let (_, _, read) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(read["metadata"], t["metadata"], "the merge was stored");
}

#[tokio::test]
async fn put_refuses_changes_to_immutable_fields_and_empty_patches() {
    let app = crate::support::app();
    let id = create_named(&app, "Immutable Org").await;
    let other = create_named(&app, "Other Org").await;
    let uri = format!("/v1.0/tenants/{id}");

    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"tenantId": other, "team": "Red Team"})),
    )
    .await;
    let details = assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");
    assert_eq!(fields(details), ["tenantId"]);

    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"environment": "prod", "team": "Red Team"})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["environment"]
    );

    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"status": "ACTIVE", "team": "Red Team"})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["status"]
    );

    // Only an immutable field, changed: the field is named.
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"environment": "prod"})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["environment"]
    );

    // Only an immutable field, unchanged: nothing to update.
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"environment": "dev"})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["body"]
    );

    let reply = call(&app, Method::PUT, &uri, Some(&admin()), Some(&json!({}))).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "VALIDATION_ERROR");

    // Naming the current value is accepted.
    let (status, _, t) = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"tenantId": id, "team": "Red Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        (t["team"].as_str(), t["version"].as_u64()),
        (Some("Red Team"), Some(2))
    );
}

#[tokio::test]
async fn renaming_onto_another_tenants_name_is_a_conflict_and_frees_the_old_name() {
    let app = crate::support::app();
    let a = create_named(&app, "First Org").await;
    create_named(&app, "Second Org").await;

    let uri = format!("/v1.0/tenants/{a}");
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"organizationName": "SECOND org"})),
    )
    .await;
    assert_error(&reply, StatusCode::CONFLICT, "CONFLICT");

    let (status, _, t) = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"organizationName": "Renamed Org"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    // The old name is free again.
    create(&app, &new_tenant("first org", "dev")).await;
}

#[tokio::test]
async fn delete_deprovisions_once_then_refuses() {
    let app = crate::support::app();
    let id = create_named(&app, "Doomed Org").await;
    let uri = format!("/v1.0/tenants/{id}");

    let (status, headers, t) = call(&app, Method::DELETE, &uri, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "DEPROVISIONED");
    assert_eq!(t["version"], 2);
    assert_eq!(header_str(&headers, "etag"), Some("\"2\""));
    assert_eq!(t["deprovisionedBy"], crate::support::ADMIN_EMAIL);
    assert_timestamp(&t["deprovisionedAt"]);

    let reply = call(&app, Method::DELETE, &uri, Some(&admin()), None).await;
    let details = assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(details["currentStatus"], "DEPROVISIONED");
    assert_eq!(details["allowedTransitions"], json!([]));

    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&admin()),
        Some(&json!({"team": "Late Team"})),
    )
    .await;
    assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "TENANT_DEPROVISIONED",
    );

    // Still readable, and the soft delete kept it in listings.
    let (status, _, t) = call(&app, Method::GET, &uri, Some(&admin()), None).await;
    assert_eq!(
        (status, t["status"].as_str()),
        (StatusCode::OK, Some("DEPROVISIONED"))
    );
}

/// An Operator assigned to a tenant reads it but neither parks nor edits it (park and PUT need
/// Admin); the moves an Operator may make (PENDING → ACTIVE/FAILED, FAILED → PENDING) are on
/// tenants that cannot hold assignments yet (users are assigned to ACTIVE tenants only), so
/// through the API those are the platform admin's.
#[tokio::test]
async fn operators_read_their_tenants_but_may_not_park_them() {
    let org = crate::support::embedded_org_app().await;
    let app = org.router.clone();
    let id = crate::org_support::active_tenant(&org, "Operated Org").await;
    crate::org_support::assign(&org, &id, "operator", "Operator").await;
    let uri = format!("/v1.0/tenants/{id}/status");
    let op = crate::org_support::plain("operator");

    let (status, headers, t) = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{id}"),
        Some(&op),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "ACTIVE");
    assert_eq!(header_str(&headers, "etag"), Some("\"2\""));

    let park = json!({"status": "PARKED", "reason": "Operator wants to park this"});
    let reply = call(&app, Method::PATCH, &uri, Some(&op), Some(&park)).await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    let reply = call(
        &app,
        Method::PUT,
        &format!("/v1.0/tenants/{id}"),
        Some(&op),
        Some(&json!({"team": "Operator Team"})),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");

    // An operator of other tenants does not see this one at all, whatever its token claims.
    let stranger = token("stranger", &["Operators"], &[&id]);
    let reply = call(
        &app,
        Method::PATCH,
        &uri,
        Some(&stranger),
        Some(&json!({"status": "SUSPENDED", "reason": "Stranger suspends"})),
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");

    // The platform admin may park through PATCH; the tenant only moved when allowed.
    let (status, _, t) = call(&app, Method::PATCH, &uri, Some(&admin()), Some(&park)).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(
        (t["status"].as_str(), t["version"].as_u64()),
        (Some("PARKED"), Some(3))
    );
}

#[tokio::test]
async fn patch_status_keeps_to_the_transition_table() {
    let app = crate::support::app();
    let id = create_named(&app, "Table Org").await;
    let uri = format!("/v1.0/tenants/{id}/status");

    let reply = call(
        &app,
        Method::PATCH,
        &uri,
        Some(&admin()),
        Some(&json!({"status": "PENDING"})),
    )
    .await;
    let details = assert_error(
        &reply,
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_STATUS_TRANSITION",
    );
    assert_eq!(details["currentStatus"], "PENDING");
    assert_eq!(details["allowedTransitions"], json!(["ACTIVE", "FAILED"]));

    let reply = call(
        &app,
        Method::PATCH,
        &uri,
        Some(&admin()),
        Some(&json!({"status": "active"})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["status"]
    );

    let reply = call(
        &app,
        Method::PATCH,
        &uri,
        Some(&admin()),
        Some(&json!({"status": "SUSPENDED"})),
    )
    .await;
    assert_eq!(
        fields(assert_error(
            &reply,
            StatusCode::BAD_REQUEST,
            "VALIDATION_ERROR"
        )),
        ["reason"]
    );

    let (status, _, t) = call(
        &app,
        Method::PATCH,
        &uri,
        Some(&admin()),
        Some(&json!({"status": "FAILED"})),
    )
    .await;
    assert_eq!(
        (status, t["status"].as_str()),
        (StatusCode::OK, Some("FAILED"))
    );
}
