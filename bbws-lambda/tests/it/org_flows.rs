//! The organisation API end to end: the invitation lifecycle read from the mailbox, the
//! last-Admin rule, concurrent accepts, and the audit trail of organisation changes.

use std::sync::Arc;
use std::time::Duration;

use axum::http::{Method, StatusCode};
use bbws_core::time::{Clock, ManualClock, SystemClock};
use serde_json::{Value, json};

use crate::org_support::{
    TENANT_ADMIN, active_tenant, assign, email_of, latest_token, plain, post_ok, str_of, user_token,
};
use crate::support::{ADMIN_EMAIL, OrgApp, admin, assert_error, call, embedded_app, request, send};

/// A fresh app whose organisation service reads a manual clock, and that clock.
fn app_with_clock() -> (OrgApp, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(SystemClock.now()));
    (embedded_app(clock.clone()), clock)
}

/// The tenants of the user registered as `name` (a name never registered is its own id).
async fn tenants_of(app: &OrgApp, name: &str) -> Vec<String> {
    let (status, _, body) = call(
        &app.router,
        Method::GET,
        &format!("/v1.0/users/{}/tenants", app.directory.subject(name)),
        Some(&user_token(app, name)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| str_of(t, "tenantId"))
        .collect()
}

async fn invite(app: &OrgApp, tenant: &str, email: &str) -> Value {
    post_ok(
        app,
        &format!("/v1.0/tenants/{tenant}/invitations"),
        &json!({"email": email, "role": "OPERATOR"}),
        StatusCode::CREATED,
    )
    .await
}

/// Accepts as the user registered as `as_name` (a name never registered is its own id).
async fn accept(app: &OrgApp, token: &str, as_name: &str) -> crate::support::Reply {
    call(
        &app.router,
        Method::POST,
        &format!("/v1.0/invitations/{token}/accept"),
        Some(&user_token(app, as_name)),
        None,
    )
    .await
}

async fn view(app: &OrgApp, token: &str) -> crate::support::Reply {
    call(
        &app.router,
        Method::GET,
        &format!("/v1.0/invitations/{token}"),
        None,
        None,
    )
    .await
}

#[tokio::test]
async fn an_invitee_accepts_the_mailed_link_and_finds_the_tenant() {
    run_invitation_lifecycle(app_with_clock().0).await;
}

/// An invitation from the mail to the stored role: the invitee (a user of the directory) views
/// the mailed link, another account cannot take it, the invitee accepts once and then holds the
/// invited role. Runs on whatever backend built `app`.
pub async fn run_invitation_lifecycle(app: OrgApp) {
    let tenant = active_tenant(&app, "Invite Org").await;
    let invitee = "new-hire";
    let email = email_of(invitee);
    app.directory.register(invitee, &email).await;
    app.directory
        .register("someone-else", &email_of("someone-else"))
        .await;
    let inv = invite(&app, &tenant, &email).await;
    assert_eq!(inv["status"], "PENDING");
    assert_eq!(inv["role"], "Operator");
    assert!(
        inv.get("token").is_none(),
        "the token is only in the mail: {inv}"
    );
    let mail = app.mailbox.texts_to(&email);
    assert_eq!(mail.len(), 1);
    assert!(
        mail[0].contains(&format!("{}/invitations/", crate::support::PORTAL)),
        "{}",
        mail[0]
    );
    let token = latest_token(&app, &email);

    let (status, _, shown) = view(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["organisationName"], "Invite Org");
    assert_eq!(shown["isValid"], true);
    assert_eq!(shown["_links"]["accept"]["method"], "POST");

    // Another account cannot take it.
    let reply = accept(&app, &token, "someone-else").await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");

    let (status, _, accepted) = accept(&app, &token, invitee).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["tenantId"], tenant.as_str());
    assert_eq!(accepted["role"], "Operator");
    assert_eq!(tenants_of(&app, invitee).await, vec![tenant.clone()]);

    // The stored role now works: an Operator may list the tenant's users.
    let (status, _, users) = call(
        &app.router,
        Method::GET,
        &format!("/v1.0/tenants/{tenant}/users"),
        Some(&user_token(&app, invitee)),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{users}");

    // Single use.
    let reply = accept(&app, &token, invitee).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "INVITATION_ALREADY_USED");
    let (status, _, shown) = view(&app, &token).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["status"], "ACCEPTED");
    assert_eq!(shown["isValid"], false);
}

#[tokio::test]
async fn a_resend_rotates_the_token_and_the_fourth_is_refused() {
    let (app, _) = app_with_clock();
    let tenant = active_tenant(&app, "Resend Org").await;
    let email = email_of("resent");
    let inv = invite(&app, &tenant, &email).await;
    let resend = format!(
        "/v1.0/tenants/{tenant}/invitations/{}/resend",
        str_of(&inv, "invitationId")
    );
    let mut old = latest_token(&app, &email);
    for n in 1..=3 {
        let body = post_ok(&app, &resend, &json!({}), StatusCode::OK).await;
        assert_eq!(body["resendCount"], n);
        assert_eq!(body["status"], "PENDING");
        let new = latest_token(&app, &email);
        assert_ne!(new, old, "resend {n} mails a new token");
        let reply = view(&app, &old).await;
        assert_error(&reply, StatusCode::NOT_FOUND, "INVITATION_NOT_FOUND");
        let (status, _, _) = view(&app, &new).await;
        assert_eq!(status, StatusCode::OK);
        old = new;
    }
    assert_eq!(app.mailbox.texts_to(&email).len(), 4);
    let reply = call(&app.router, Method::POST, &resend, Some(&admin()), None).await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "RESEND_LIMIT_EXCEEDED");
    assert_eq!(app.mailbox.texts_to(&email).len(), 4, "no fifth mail");

    // The last token still works.
    let (status, _, body) = accept(&app, &old, "resent").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_expired_token_is_refused_and_a_resend_revives_it() {
    let (app, clock) = app_with_clock();
    let tenant = active_tenant(&app, "Expiry Org").await;
    let email = email_of("late");
    let inv = invite(&app, &tenant, &email).await;
    let token = latest_token(&app, &email);

    clock.advance(Duration::from_hours(24 * 7 + 1));
    let (status, _, shown) = view(&app, &token).await;
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["status"], "EXPIRED");
    assert_eq!(shown["isValid"], false);
    assert!(shown["_links"].get("accept").is_none(), "{shown}");
    let reply = accept(&app, &token, "late").await;
    assert_error(&reply, StatusCode::BAD_REQUEST, "INVITATION_EXPIRED");
    let decline = call(
        &app.router,
        Method::POST,
        &format!("/v1.0/invitations/{token}/decline"),
        None,
        None,
    )
    .await;
    assert_error(&decline, StatusCode::BAD_REQUEST, "INVITATION_EXPIRED");

    let id = str_of(&inv, "invitationId");
    let (status, _, got) = call(
        &app.router,
        Method::GET,
        &format!("/v1.0/tenants/{tenant}/invitations/{id}"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["status"], "EXPIRED");
    assert!(got["_links"].get("resend").is_some(), "{got}");

    post_ok(
        &app,
        &format!("/v1.0/tenants/{tenant}/invitations/{id}/resend"),
        &json!({}),
        StatusCode::OK,
    )
    .await;
    let fresh = latest_token(&app, &email);
    let (status, _, body) = accept(&app, &fresh, "late").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn a_cancelled_invitation_s_token_stops_working() {
    let (app, _) = app_with_clock();
    let tenant = active_tenant(&app, "Cancel Org").await;
    let email = email_of("cancelled");
    let inv = invite(&app, &tenant, &email).await;
    let token = latest_token(&app, &email);
    let uri = format!(
        "/v1.0/tenants/{tenant}/invitations/{}",
        str_of(&inv, "invitationId")
    );
    let (status, _, cancelled) =
        call(&app.router, Method::DELETE, &uri, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["status"], "CANCELLED");
    assert_eq!(cancelled["cancelledBy"], ADMIN_EMAIL);
    assert!(cancelled["_links"].get("cancel").is_none());

    assert_error(
        &view(&app, &token).await,
        StatusCode::NOT_FOUND,
        "INVITATION_NOT_FOUND",
    );
    assert_error(
        &accept(&app, &token, "cancelled").await,
        StatusCode::NOT_FOUND,
        "INVITATION_NOT_FOUND",
    );
    let again = call(&app.router, Method::DELETE, &uri, Some(&admin()), None).await;
    assert_error(&again, StatusCode::BAD_REQUEST, "INVALID_STATE");
    assert!(tenants_of(&app, "cancelled").await.is_empty());
}

#[tokio::test]
async fn the_last_admin_can_be_neither_removed_nor_demoted() {
    let (app, _) = app_with_clock();
    let tenant = active_tenant(&app, "Admin Org").await;
    assign(&app, &tenant, TENANT_ADMIN, "Admin").await;
    let me = plain(TENANT_ADMIN);
    let mine = format!("/v1.0/tenants/{tenant}/users/{TENANT_ADMIN}");

    let reply = call(&app.router, Method::DELETE, &mine, Some(&me), None).await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "LAST_ADMIN");
    let reply = call(
        &app.router,
        Method::PUT,
        &mine,
        Some(&me),
        Some(&json!({"role": "Viewer"})),
    )
    .await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "LAST_ADMIN");

    // With a second Admin, the first may step down, and the second is then the last.
    assign(&app, &tenant, "second-admin", "Admin").await;
    let (status, headers, demoted) = call(
        &app.router,
        Method::PUT,
        &mine,
        Some(&me),
        Some(&json!({"role": "viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{demoted}");
    assert_eq!(demoted["role"], "Viewer");
    assert_eq!(
        crate::support::header_str(&headers, "etag"),
        Some(format!("\"{}\"", demoted["version"]).as_str())
    );
    let reply = call(
        &app.router,
        Method::DELETE,
        &format!("/v1.0/tenants/{tenant}/users/second-admin"),
        Some(&admin()),
        None,
    )
    .await;
    assert_error(&reply, StatusCode::UNPROCESSABLE_ENTITY, "LAST_ADMIN");
    // The demoted user is a Viewer now: no more user management.
    let reply = call(
        &app.router,
        Method::DELETE,
        &format!("/v1.0/tenants/{tenant}/users/second-admin"),
        Some(&me),
        None,
    )
    .await;
    assert_error(&reply, StatusCode::FORBIDDEN, "FORBIDDEN");
}

#[tokio::test]
async fn a_stale_if_match_is_a_version_conflict() {
    let (app, _) = app_with_clock();
    let tenant = active_tenant(&app, "Etag Org").await;
    let div = post_ok(
        &app,
        &format!("/v1.0/tenants/{tenant}/divisions"),
        &json!({"name": "Sales"}),
        StatusCode::CREATED,
    )
    .await;
    let uri = format!(
        "/v1.0/tenants/{tenant}/divisions/{}",
        str_of(&div, "divisionId")
    );
    let put = |name: &str, etag: &str| {
        crate::support::with_header(
            request(
                Method::PUT,
                &uri,
                Some(&admin()),
                Some(&json!({"name": name})),
            ),
            "if-match",
            etag,
        )
    };
    let (status, headers, renamed) = send(&app.router, put("Revenue", "\"1\"")).await;
    assert_eq!(status, StatusCode::OK, "{renamed}");
    assert_eq!(crate::support::header_str(&headers, "etag"), Some("\"2\""));
    let reply = send(&app.router, put("Income", "\"1\"")).await;
    assert_error(&reply, StatusCode::CONFLICT, "VERSION_CONFLICT");
}

/// Two accounts with the invited e-mail accept the same link at once: exactly one joins.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn of_two_concurrent_accepts_exactly_one_succeeds() {
    let (app, _) = app_with_clock();
    let tenant = active_tenant(&app, "Race Org").await;
    for round in 0..8 {
        let email = format!("racer-{round}@bbws.example");
        invite(&app, &tenant, &email).await;
        let token = latest_token(&app, &email);
        let tasks: Vec<_> = ["a", "b"]
            .into_iter()
            .map(|who| {
                let router = app.router.clone();
                let bearer = bearer_with_email(&format!("racer-{round}-{who}"), &email);
                let uri = format!("/v1.0/invitations/{token}/accept");
                tokio::spawn(async move {
                    send(&router, request(Method::POST, &uri, Some(&bearer), None)).await
                })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            let reply = t.await.expect("the task completes");
            if reply.0 == StatusCode::OK {
                won += 1;
            } else {
                assert_error(&reply, StatusCode::BAD_REQUEST, "INVITATION_ALREADY_USED");
            }
        }
        assert_eq!(won, 1, "round {round}: exactly one accept succeeds");
        let (status, _, users) = call(
            &app.router,
            Method::GET,
            &format!("/v1.0/tenants/{tenant}/users?limit=100"),
            Some(&admin()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        let joined = users["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter(|u| u["email"] == email.as_str())
            .count();
        assert_eq!(joined, 1, "round {round}: one assignment for {email}");
    }
}

/// A token for `sub` whose `email` claim is `email`.
fn bearer_with_email(sub: &str, email: &str) -> String {
    let claims = bbws_core::auth::Claims {
        sub: sub.to_owned(),
        email: Some(email.to_owned()),
        ..Default::default()
    };
    bbws_lambda::api::auth::issue_token(
        crate::support::SECRET,
        &claims,
        Duration::from_hours(1),
        crate::support::now_secs(),
    )
    .expect("a token can be signed")
}

#[tokio::test]
async fn organisation_changes_show_in_the_tenant_audit_trail() {
    let (app, _) = app_with_clock();
    let tenant = active_tenant(&app, "Audit Org").await;
    assign(&app, &tenant, TENANT_ADMIN, "Admin").await;
    let me = plain(TENANT_ADMIN);
    let base = format!("/v1.0/tenants/{tenant}");
    let (status, _, div) = call(
        &app.router,
        Method::POST,
        &format!("{base}/divisions"),
        Some(&me),
        Some(&json!({"name": "Sales"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{div}");
    let div_uri = format!("{base}/divisions/{}", str_of(&div, "divisionId"));
    let (status, _, _) = call(
        &app.router,
        Method::PUT,
        &div_uri,
        Some(&me),
        Some(&json!({"name": "Revenue"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app.router, Method::DELETE, &div_uri, Some(&me), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assign(&app, &tenant, "helper", "Viewer").await;
    let helper = format!("{base}/users/helper");
    let (status, _, _) = call(
        &app.router,
        Method::PUT,
        &helper,
        Some(&me),
        Some(&json!({"role": "Operator"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = call(&app.router, Method::DELETE, &helper, Some(&me), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _, _) = call(
        &app.router,
        Method::POST,
        &format!("{base}/invitations"),
        Some(&me),
        Some(&json!({"email": "guest@bbws.example", "role": "Viewer"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, _, page) = call(
        &app.router,
        Method::GET,
        &format!("{base}/audit?limit=100"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let events: Vec<(String, String)> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| (str_of(e, "eventType"), str_of(e, "actor")))
        .collect();
    let by_me = email_of(TENANT_ADMIN);
    for (event, actor) in [
        ("USER_ASSIGNED", ADMIN_EMAIL),
        ("HIERARCHY_CREATED", by_me.as_str()),
        ("HIERARCHY_UPDATED", by_me.as_str()),
        ("HIERARCHY_DELETED", by_me.as_str()),
        ("USER_ROLE_CHANGED", by_me.as_str()),
        ("USER_REMOVED", by_me.as_str()),
        ("INVITATION_CREATED", by_me.as_str()),
    ] {
        assert!(
            events.iter().any(|(e, a)| e == event && a == actor),
            "no {event} by {actor} in {events:?}"
        );
    }
}
