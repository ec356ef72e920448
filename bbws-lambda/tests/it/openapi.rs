//! The OpenAPI document and the wire shapes, pinned by insta snapshots.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{activate, admin, call, create, header_str, id_of, new_tenant, park};

/// Every path the router serves.
const PATHS: [&str; 51] = [
    "/v1.0/health",
    "/v1.0/openapi.json",
    "/v1.0/tenants",
    "/v1.0/tenants/{tenantId}",
    "/v1.0/tenants/{tenantId}/audit",
    "/v1.0/tenants/{tenantId}/lifecycle",
    "/v1.0/tenants/{tenantId}/lifecycle/park",
    "/v1.0/tenants/{tenantId}/lifecycle/resume",
    "/v1.0/tenants/{tenantId}/lifecycle/suspend",
    "/v1.0/tenants/{tenantId}/lifecycle/unpark",
    "/v1.0/tenants/{tenantId}/park",
    "/v1.0/tenants/{tenantId}/status",
    "/v1.0/tenants/{tenantId}/unpark",
    "/v1.0/tenants/{tenantId}/hierarchy",
    "/v1.0/tenants/{tenantId}/divisions",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}/users",
    "/v1.0/tenants/{tenantId}/divisions/{divisionId}/groups/{groupId}/teams/{teamId}/users/{userId}",
    "/v1.0/tenants/{tenantId}/users",
    "/v1.0/tenants/{tenantId}/users/{userId}",
    "/v1.0/users/{userId}",
    "/v1.0/users/{userId}/tenants",
    "/v1.0/tenants/{tenantId}/invitations",
    "/v1.0/tenants/{tenantId}/invitations/{invitationId}",
    "/v1.0/tenants/{tenantId}/invitations/{invitationId}/resend",
    "/v1.0/tenants/{tenantId}/invitations/{invitationId}/revoke",
    "/v1.0/invitations/{token}",
    "/v1.0/invitations/{token}/accept",
    "/v1.0/invitations/{token}/decline",
    "/v1.0/tenants/{tenantId}/instances",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/status",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/health",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/logs",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/identity",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/retry",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/terraform",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/suspend",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/resume",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/park",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/unpark",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/size",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/restart",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/backup",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/backups",
    "/v1.0/tenants/{tenantId}/instances/{instanceId}/restore",
    "/v1.0/operations/{operationId}",
];

#[tokio::test]
async fn the_openapi_document_is_public_and_pinned() {
    let app = crate::support::app();
    let (status, headers, doc) = call(&app, Method::GET, "/v1.0/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK, "{doc}");
    assert!(
        header_str(&headers, "content-type").is_some_and(|c| c.starts_with("application/json"))
    );
    assert!(
        doc["openapi"]
            .as_str()
            .is_some_and(|v| v.starts_with("3.1")),
        "{}",
        doc["openapi"]
    );

    let paths = doc["paths"].as_object().expect("paths");
    let documented: Vec<&str> = paths.keys().map(String::as_str).collect();
    let mut expected = PATHS.to_vec();
    expected.sort_unstable();
    let mut got = documented.clone();
    got.sort_unstable();
    assert_eq!(
        got, expected,
        "every served path is documented, and only those"
    );

    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"],
        json!({"type": "http", "scheme": "bearer", "bearerFormat": "JWT"})
    );
    for (path, item) in paths {
        let public = path == "/v1.0/health" || path == "/v1.0/openapi.json";
        for (method, op) in item.as_object().expect("a path item") {
            let responses = op["responses"].as_object().expect("responses");
            let what = format!("{method} {path}");
            assert!(responses.contains_key("500"), "{what} documents 500");
            if public {
                assert!(op.get("security").is_none(), "{what} is public");
                continue;
            }
            // The token in the path is the credential of viewing and declining an invitation.
            let by_token = (path == "/v1.0/invitations/{token}" && method == "get")
                || path == "/v1.0/invitations/{token}/decline";
            if by_token {
                assert!(op.get("security").is_none(), "{what} is public");
                assert!(
                    !responses.contains_key("401"),
                    "{what} needs no credentials"
                );
                for code in ["400", "404"] {
                    assert!(responses.contains_key(code), "{what} documents {code}");
                }
                continue;
            }
            assert_eq!(op["security"], json!([{"bearerAuth": []}]), "{what}");
            for code in ["400", "401", "403", "404", "409", "422"] {
                assert_eq!(
                    responses[code]["$ref"],
                    format!("#/components/responses/Error{code}"),
                    "{what} documents {code} in the envelope"
                );
            }
            assert!(
                responses.keys().any(|c| c.starts_with('2')),
                "{what} documents its success"
            );
        }
    }

    insta::assert_json_snapshot!("openapi", doc);
}

#[tokio::test]
async fn the_served_document_equals_the_generated_one() {
    use utoipa::OpenApi as _;
    let app = crate::support::app();
    let (_, _, served) = call(&app, Method::GET, "/v1.0/openapi.json", None, None).await;
    let generated = serde_json::to_value(bbws_lambda::api::openapi::ApiDoc::openapi())
        .expect("the document serialises");
    assert_eq!(served, generated);
}

#[tokio::test]
async fn health_needs_no_token() {
    let app = crate::support::app();
    let (status, _, body) = call(&app, Method::GET, "/v1.0/health", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn a_parked_tenant_response_is_pinned() {
    let app = crate::support::app();
    let mut body = new_tenant("Snapshot Org", "prod");
    body["division"] = json!("Retail");
    body["metadata"] = json!({"tier": "gold", "seats": 12});
    let id = id_of(&create(&app, &body).await);
    activate(&app, &id).await;
    let parked = park(&app, &id).await;

    let id_in_href = move |value: insta::internals::Content,
                           _path: insta::internals::ContentPath<'_>| {
        value.as_str().map_or_else(
            || "[not a string]".to_owned(),
            |s| s.replace(&id, "[tenantId]"),
        )
    };
    insta::assert_json_snapshot!("tenant_parked", parked, {
        ".tenantId" => "[tenantId]",
        ".createdAt" => "[timestamp]",
        ".updatedAt" => "[timestamp]",
        ".parkedAt" => "[timestamp]",
        "._links.*.href" => insta::dynamic_redaction(id_in_href),
    });
}

#[tokio::test]
async fn an_error_envelope_is_pinned() {
    let app = crate::support::app();
    let id = id_of(&create(&app, &new_tenant("Envelope Org", "dev")).await);
    let (status, _, error) = call(
        &app,
        Method::POST,
        &format!("/v1.0/tenants/{id}/lifecycle/park"),
        Some(&admin()),
        Some(&json!({"reason": "Customer asked for a pause"})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    insta::assert_json_snapshot!("error_invalid_transition", error, {
        ".requestId" => "[requestId]",
        ".timestamp" => "[timestamp]",
    });
}
