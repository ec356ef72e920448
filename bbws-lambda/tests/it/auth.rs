//! Authentication (401) and authorization (403, and 404 outside the caller's scope).

use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::json;

use crate::org_support::{active_tenant, assign, plain};
use crate::support::{
    SECRET, admin, assert_error, call, create_named, embedded_org_app, new_tenant, now_secs, send,
    tenant_admin, token_with, viewer,
};

const MISSING: &str = "tenant-00000000-0000-4000-8000-000000000000";

#[tokio::test]
async fn viewers_read_their_tenants_but_cannot_change_them() {
    let org = embedded_org_app().await;
    let app = org.router.clone();
    let id = active_tenant(&org, "Viewed Org").await;
    create_named(&app, "Hidden Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    assign(&org, &id, "viewer", "Viewer").await;
    let v = plain("viewer");

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
    assert_eq!(after["version"], 2, "the refused writes changed nothing");
}

#[tokio::test]
async fn tenants_outside_the_callers_scope_look_like_missing_ones() {
    let org = embedded_org_app().await;
    let app = org.router.clone();
    let id = active_tenant(&org, "Scoped Org").await;
    let other = active_tenant(&org, "Other Org").await;
    assign(&org, &other, "outsider", "Viewer").await;
    let outsider = plain("outsider");

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
    assign(&org, &id, "tenant-admin", "Admin").await;
    let ta = plain("tenant-admin");
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

/// Roles in a tenant come from the stored assignments (C23, C24): a token that claims a role in a
/// tenant (`{tenantId}-admins`, `Viewers` with `custom:tenantIds`) gets nothing from the claim,
/// and an assignment gives exactly the stored role, whatever the token claims.
#[tokio::test]
async fn claimed_tenant_roles_count_for_nothing_the_stored_role_decides() {
    let org = embedded_org_app().await;
    let app = org.router.clone();
    let id = active_tenant(&org, "Claimed Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    let claims_admin = tenant_admin(&id);
    let claims_viewer = viewer(&[&id]);

    for token in [&claims_admin, &claims_viewer] {
        let reply = call(&app, Method::GET, &uri, Some(token), None).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
        let reply = call(
            &app,
            Method::PUT,
            &uri,
            Some(token),
            Some(&json!({"team": "Claimed Team"})),
        )
        .await;
        assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
        let (status, _, page) = call(&app, Method::GET, "/v1.0/tenants", Some(token), None).await;
        assert_eq!(
            (status, &page["count"]),
            (StatusCode::OK, &json!(0)),
            "{page}"
        );
    }

    // The token claiming Admin of the tenant is stored as a Viewer: a Viewer is what it gets.
    assign(&org, &id, "tenant-admin", "Viewer").await;
    let (status, _, t) = call(&app, Method::GET, &uri, Some(&claims_admin), None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&claims_admin),
        Some(&json!({"team": "Claimed Team"})),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    for path in ["audit", "lifecycle/park"] {
        let method = if path == "audit" {
            Method::GET
        } else {
            Method::POST
        };
        let body = (method == Method::POST).then(|| json!({"reason": "Claimed admin parks"}));
        let reply = call(
            &app,
            method,
            &format!("{uri}/{path}"),
            Some(&claims_admin),
            body.as_ref(),
        )
        .await;
        assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    }
    let (status, _, page) = call(
        &app,
        Method::GET,
        "/v1.0/tenants",
        Some(&claims_admin),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(page["items"][0]["tenantId"], id.as_str());

    // Raised to Admin in the store, the same token may change the tenant.
    let (status, _, body) = call(
        &app,
        Method::PUT,
        &format!("{uri}/users/tenant-admin"),
        Some(&admin()),
        Some(&json!({"role": "Admin"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _, t) = call(
        &app,
        Method::PUT,
        &uri,
        Some(&claims_admin),
        Some(&json!({"team": "Stored Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    assert_eq!(t["team"], "Stored Team");

    // Removed from the tenant, the token's claim does not bring it back.
    assign(&org, &id, "keeper", "Admin").await;
    let (status, _, body) = call(
        &app,
        Method::DELETE,
        &format!("{uri}/users/tenant-admin"),
        Some(&admin()),
        None,
    )
    .await;
    assert!(status.is_success(), "{status}: {body}");
    let reply = call(&app, Method::GET, &uri, Some(&claims_admin), None).await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
}

/// A customer admin (`CustomerAdmins` with `custom:customerId`, C23) is Admin on the tenants of
/// its customer and sees them listed, with no assignment; other customers' tenants stay hidden.
#[tokio::test]
async fn customer_admins_manage_their_customers_tenants() {
    let org = embedded_org_app().await;
    let app = org.router.clone();
    let creator = customer_token("creator", &["Admins"], "cust-1");
    let (status, _, own) = call(
        &app,
        Method::POST,
        "/v1.0/tenants",
        Some(&creator),
        Some(&new_tenant("Customer Org", "dev")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{own}");
    let own = own["tenantId"].as_str().expect("tenantId").to_owned();
    let foreign = create_named(&app, "Foreign Org").await;

    let ca = customer_token("cust-admin", &["CustomerAdmins"], "cust-1");
    let (status, _, page) = call(&app, Method::GET, "/v1.0/tenants", Some(&ca), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["count"], 1, "{page}");
    assert_eq!(page["items"][0]["tenantId"], own.as_str());
    let (status, _, t) = call(
        &app,
        Method::PUT,
        &format!("/v1.0/tenants/{own}"),
        Some(&ca),
        Some(&json!({"team": "Customer Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let reply = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{foreign}"),
        Some(&ca),
        None,
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");

    // Of another customer, the same group gives nothing.
    let other = customer_token("other-admin", &["CustomerAdmins"], "cust-2");
    let reply = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{own}"),
        Some(&other),
        None,
    )
    .await;
    assert_error(&reply, StatusCode::NOT_FOUND, "TENANT_NOT_FOUND");
    let (_, _, page) = call(&app, Method::GET, "/v1.0/tenants", Some(&other), None).await;
    assert_eq!(page["count"], 0, "{page}");
}

fn customer_token(sub: &str, groups: &[&str], customer: &str) -> String {
    let claims = bbws_core::auth::Claims {
        sub: sub.to_owned(),
        email: Some(format!("{sub}@bbws.example")),
        groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        tenant_ids: vec![],
        customer_id: Some(customer.to_owned()),
    };
    bbws_lambda::api::auth::issue_token(SECRET, &claims, Duration::from_hours(1), now_secs())
        .expect("a token can be signed")
}

/// A router built without the organisation service keeps reading tenant roles from the claims.
#[tokio::test]
async fn without_the_organisation_service_tenant_roles_come_from_the_claims() {
    use std::sync::Arc;

    use bbws_core::ids::RandomIds;
    use bbws_core::store::EmbeddedStore;
    use bbws_core::tenant::{TenantPorts, TenantService};
    use bbws_core::time::SystemClock;
    use bbws_lambda::AppState;
    use bbws_lambda::api::auth::JwtAuthenticator;

    let store = Arc::new(EmbeddedStore::in_memory().expect("an in-memory store opens"));
    let app = bbws_lambda::router(AppState {
        tenants: TenantService::new(TenantPorts::from_backend(
            &store,
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        )),
        org: None,
        instances: None,
        engine: None,
        auth: Arc::new(JwtAuthenticator::new(SECRET)),
    });
    let id = create_named(&app, "Claimed Org").await;
    let uri = format!("/v1.0/tenants/{id}");
    let (status, _, t) = call(&app, Method::GET, &uri, Some(&viewer(&[&id])), None).await;
    assert_eq!(status, StatusCode::OK, "{t}");
    let reply = call(
        &app,
        Method::PUT,
        &uri,
        Some(&viewer(&[&id])),
        Some(&json!({"team": "Viewer Team"})),
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
    let (status, _, t) = call(
        &app,
        Method::PUT,
        &uri,
        Some(&tenant_admin(&id)),
        Some(&json!({"team": "Admin Team"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{t}");
}
