//! The access matrix of the organisation API: for every endpoint and every kind of caller, the
//! documented status. Roles come from the assignments stored through the API; a token that
//! merely claims a tenant role gets nothing. Callers outside the tenant get 404, as for tenants.
//!
//! [`run_access_matrix`] takes the function that builds the app, so the same table runs on
//! every backend.

use std::future::Future;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::org_support::{
    CLAIMS_ADMIN, OPERATOR, OUTSIDER, PLATFORM_ADMIN, TENANT_ADMIN, VIEWER, World, email_of,
    latest_token, plain, str_of, world,
};
use crate::support::{OrgApp, admin, embedded_org_app, token};

/// The callers, in the order of the expected statuses in [`ROWS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    PlatformAdmin,
    TenantAdmin,
    Operator,
    Viewer,
    /// Admin of another tenant.
    Outsider,
    /// Claims `{tenantId}-admins` in the token, but is not assigned.
    ClaimsOnly,
    Anonymous,
}

const WHO: [Who; 7] = [
    Who::PlatformAdmin,
    Who::TenantAdmin,
    Who::Operator,
    Who::Viewer,
    Who::Outsider,
    Who::ClaimsOnly,
    Who::Anonymous,
];

impl Who {
    fn sub(self) -> Option<&'static str> {
        match self {
            Self::PlatformAdmin => Some(PLATFORM_ADMIN),
            Self::TenantAdmin => Some(TENANT_ADMIN),
            Self::Operator => Some(OPERATOR),
            Self::Viewer => Some(VIEWER),
            Self::Outsider => Some(OUTSIDER),
            Self::ClaimsOnly => Some(CLAIMS_ADMIN),
            Self::Anonymous => None,
        }
    }

    fn token(self, w: &World) -> Option<String> {
        match self {
            Self::PlatformAdmin => Some(admin()),
            Self::ClaimsOnly => Some(crate::support::token_for(
                &w.sub(CLAIMS_ADMIN),
                &email_of(CLAIMS_ADMIN),
                &[&format!("{}-admins", w.tenant)],
                &[&w.tenant],
            )),
            Self::Anonymous => None,
            other => other.sub().map(|name| w.user_token(name)),
        }
    }
}

/// The endpoints (digest 2.5 §1.2 rows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ep {
    D1,
    D2,
    D3,
    D4,
    D5,
    G1,
    G2,
    G3,
    G4,
    G5,
    M1,
    M2,
    M3,
    M4,
    M5,
    M6,
    M7,
    M8,
    H1,
    H2,
    H3,
    H4,
    U1,
    U2,
    U3,
    U4,
    U5,
    /// `GET /users/{sub}/tenants` for the caller's own sub.
    U6Own,
    /// ... for another user's.
    U6Other,
    /// `GET /users/{sub}` for the caller's own sub.
    U7Own,
    U7Other,
    I1,
    I2,
    I3,
    I4,
    I5,
    I6,
    P1,
    /// Accept an invitation sent to the caller's own e-mail.
    P2Own,
    /// Accept an invitation sent to someone else.
    P2Other,
    P3,
}

const READ: [u16; 7] = [200, 200, 200, 200, 404, 404, 401];
const ADMIN_ONLY: fn(u16) -> [u16; 7] = |ok| [ok, ok, 403, 403, 404, 404, 401];
const OPERATOR_UP: fn(u16) -> [u16; 7] = |ok| [ok, ok, ok, 403, 404, 404, 401];
const ANY_SIGNED_IN: [u16; 7] = [200, 200, 200, 200, 200, 200, 401];
const SELF_OR_PLATFORM: [u16; 7] = [200, 403, 403, 403, 403, 403, 401];

/// Expected statuses per endpoint, in the order of [`WHO`].
fn expected(ep: Ep) -> [u16; 7] {
    use Ep::*;
    match ep {
        D1 | D3 | G1 | G3 | M1 | M3 | M6 | H1 => READ,
        D2 | G2 | M2 | H2 | U2 | I2 => ADMIN_ONLY(201),
        D4 | G4 | M4 | H3 | U5 | I1 | I3 | I4 | I5 | I6 => ADMIN_ONLY(200),
        D5 | G5 | M5 | H4 | U4 => ADMIN_ONLY(204),
        M7 => OPERATOR_UP(201),
        M8 => OPERATOR_UP(204),
        U1 | U3 => OPERATOR_UP(200),
        // Every caller may read its own tenants (the claims-only caller has none: an empty
        // list), and accept an invitation sent to its own e-mail, whatever its roles.
        U6Own | P2Own => ANY_SIGNED_IN,
        // A profile needs an assignment or a directory entry: the platform admin and the
        // claims-only caller have neither.
        U7Own => [404, 200, 200, 200, 200, 404, 401],
        U6Other | U7Other => SELF_OR_PLATFORM,
        P1 | P3 => [200; 7],
        P2Other => [403, 403, 403, 403, 403, 403, 401],
    }
}

const ALL: [Ep; 41] = {
    use Ep::*;
    [
        D1, D2, D3, D4, D5, G1, G2, G3, G4, G5, M1, M2, M3, M4, M5, M6, M7, M8, H1, H2, H3, H4, U1,
        U2, U3, U4, U5, U6Own, U6Other, U7Own, U7Other, I1, I2, I3, I4, I5, I6, P1, P2Own, P2Other,
        P3,
    ]
};

/// Prepares what the call needs (fresh resources for changes, so every caller meets the same
/// state) and returns the request.
async fn prepare(w: &World, ep: Ep, who: Who) -> (Method, String, Option<Value>) {
    use Ep::*;
    let base = w.base();
    let name = || json!({"name": format!("Renamed {}", w.next())});
    let n = w.next();
    match ep {
        D1 => (Method::GET, format!("{base}/divisions"), None),
        D2 => (
            Method::POST,
            format!("{base}/divisions"),
            Some(json!({"name": format!("New division {n}")})),
        ),
        D3 => (Method::GET, w.division_href(&w.division), None),
        D4 => (
            Method::PUT,
            w.division_href(&w.new_division().await),
            Some(name()),
        ),
        D5 => (
            Method::DELETE,
            w.division_href(&w.new_division().await),
            None,
        ),
        G1 => (
            Method::GET,
            format!("{}/groups", w.division_href(&w.division)),
            None,
        ),
        G2 => (
            Method::POST,
            format!("{}/groups", w.division_href(&w.division)),
            Some(json!({"name": format!("New group {n}")})),
        ),
        G3 => (Method::GET, w.group_href(&w.group), None),
        G4 => (
            Method::PUT,
            w.group_href(&w.new_group().await),
            Some(name()),
        ),
        G5 => (Method::DELETE, w.group_href(&w.new_group().await), None),
        M1 => (
            Method::GET,
            format!("{}/teams", w.group_href(&w.group)),
            None,
        ),
        M2 => (
            Method::POST,
            format!("{}/teams", w.group_href(&w.group)),
            Some(json!({"name": format!("New team {n}")})),
        ),
        M3 => (Method::GET, w.team_href(&w.team), None),
        M4 => (Method::PUT, w.team_href(&w.new_team().await), Some(name())),
        M5 => (Method::DELETE, w.team_href(&w.new_team().await), None),
        M6 => (Method::GET, format!("{}/users", w.team_href(&w.team)), None),
        M7 => {
            let user = w.new_user().await;
            (
                Method::POST,
                format!("{}/users", w.team_href(&w.team)),
                Some(json!({"userId": user})),
            )
        }
        M8 => {
            let user = w.new_member().await;
            (
                Method::DELETE,
                format!("{}/users/{user}", w.team_href(&w.team)),
                None,
            )
        }
        H1 => (Method::GET, format!("{base}/hierarchy"), None),
        H2 => (
            Method::POST,
            format!("{base}/hierarchy"),
            Some(json!({"division": format!("Path {n}"), "group": "Leaf"})),
        ),
        H3 => {
            let division = w.new_path().await;
            (
                Method::PUT,
                format!("{base}/hierarchy"),
                Some(json!({"division": division, "group": "Leaf", "newName": "Renamed leaf"})),
            )
        }
        H4 => {
            let division = w.new_path().await;
            (
                Method::DELETE,
                format!(
                    "{base}/hierarchy?division={}&group=Leaf",
                    division.replace(' ', "%20")
                ),
                None,
            )
        }
        U1 => (Method::GET, format!("{base}/users"), None),
        U2 => {
            let sub = format!("assignee-{n}");
            w.app.directory.register(&sub, &email_of(&sub)).await;
            (
                Method::POST,
                format!("{base}/users"),
                Some(json!({"email": email_of(&sub), "role": "Viewer"})),
            )
        }
        U3 => (Method::GET, format!("{base}/users/{}", w.sub(VIEWER)), None),
        U4 => (
            Method::DELETE,
            format!("{base}/users/{}", w.new_user().await),
            None,
        ),
        U5 => (
            Method::PUT,
            format!("{base}/users/{}", w.new_user().await),
            Some(json!({"role": "Operator"})),
        ),
        U6Own => (
            Method::GET,
            format!("/v1.0/users/{}/tenants", w.sub(who.sub().unwrap_or(VIEWER))),
            None,
        ),
        U6Other => (
            Method::GET,
            format!("/v1.0/users/{}/tenants", w.new_user().await),
            None,
        ),
        U7Own => (
            Method::GET,
            format!("/v1.0/users/{}", w.sub(who.sub().unwrap_or(VIEWER))),
            None,
        ),
        U7Other => (
            Method::GET,
            format!("/v1.0/users/{}", w.new_user().await),
            None,
        ),
        I1 => (Method::GET, format!("{base}/invitations"), None),
        I2 => (
            Method::POST,
            format!("{base}/invitations"),
            Some(json!({"email": format!("invitee-{n}@bbws.example"), "role": "VIEWER"})),
        ),
        I3 => (
            Method::GET,
            format!("{base}/invitations/{}", w.new_invitation().await.0),
            None,
        ),
        I4 => (
            Method::DELETE,
            format!("{base}/invitations/{}", w.new_invitation().await.0),
            None,
        ),
        I5 => (
            Method::POST,
            format!("{base}/invitations/{}/resend", w.new_invitation().await.0),
            None,
        ),
        I6 => (
            Method::POST,
            format!("{base}/invitations/{}/revoke", w.new_invitation().await.0),
            None,
        ),
        P1 => (
            Method::GET,
            format!("/v1.0/invitations/{}", w.new_invitation().await.1),
            None,
        ),
        P2Own => {
            // Into the tenant the caller is not a member of.
            let (tenant, email) = match who {
                Who::Outsider => (w.tenant.clone(), email_of(OUTSIDER)),
                Who::Anonymous => (w.other.clone(), format!("anon-{n}@bbws.example")),
                other => (w.other.clone(), email_of(other.sub().unwrap_or(VIEWER))),
            };
            let inv = w.invite_to(&tenant, &email).await;
            assert_eq!(inv["email"], email.as_str());
            (
                Method::POST,
                format!("/v1.0/invitations/{}/accept", latest_token(&w.app, &email)),
                None,
            )
        }
        P2Other => (
            Method::POST,
            format!("/v1.0/invitations/{}/accept", w.new_invitation().await.1),
            None,
        ),
        P3 => (
            Method::POST,
            format!("/v1.0/invitations/{}/decline", w.new_invitation().await.1),
            None,
        ),
    }
}

/// Whether a row needs a world of its own. Accepting an invitation (`P2Own`) makes the caller a
/// member of a tenant, which would change what every later row expects of it. Every other row
/// only reads, or changes resources its [`prepare`] created for that one call, so those rows
/// share one world (a world per row takes minutes on DynamoDB in moto).
fn needs_own_world(ep: Ep) -> bool {
    matches!(ep, Ep::P2Own)
}

/// Runs the whole matrix on apps built by `build` and reports every cell that differs from the
/// documented status.
pub async fn run_access_matrix<F, Fut>(build: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = OrgApp>,
{
    let mut wrong = Vec::new();
    let shared = world(&build).await;
    for ep in ALL {
        let own;
        let w = if needs_own_world(ep) {
            own = world(&build).await;
            &own
        } else {
            &shared
        };
        for (who, want) in WHO.into_iter().zip(expected(ep)) {
            let (method, uri, body) = prepare(w, ep, who).await;
            let token = who.token(w);
            let (status, headers, reply) = w
                .call(method.clone(), &uri, token.as_deref(), body.as_ref())
                .await;
            if status.as_u16() != want {
                wrong.push(format!(
                    "{ep:?} as {who:?}: {method} {uri} answered {status}, expected {want}: {reply}"
                ));
            } else if !status.is_success() {
                crate::support::assert_envelope(&headers, &reply);
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} cell(s) of the access matrix differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn the_access_matrix_holds_on_the_embedded_store() {
    run_access_matrix(embedded_org_app).await;
}

#[tokio::test]
async fn a_tenant_role_claimed_in_the_token_grants_nothing() {
    let w = world(&embedded_org_app).await;
    let claims = token(
        CLAIMS_ADMIN,
        &[&format!("{}-admins", w.tenant), "Viewers"],
        &[&w.tenant],
    );
    let (status, _, body) = w
        .call(
            Method::GET,
            &format!("{}/hierarchy", w.base()),
            Some(&claims),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "TENANT_NOT_FOUND");

    // Once assigned through the API, the same caller (no tenant claims at all) is a Viewer.
    crate::org_support::assign(&w.app, &w.tenant, CLAIMS_ADMIN, "Viewer").await;
    let (status, _, tree) = w
        .call(
            Method::GET,
            &format!("{}/hierarchy", w.base()),
            Some(&plain(CLAIMS_ADMIN)),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{tree}");
    assert_eq!(str_of(&tree, "tenantId"), w.tenant);
    let (status, _, _) = w
        .call(
            Method::POST,
            &format!("{}/divisions", w.base()),
            Some(&claims),
            Some(&json!({"name": "Not allowed"})),
        )
        .await;
    assert_eq!(
        status,
        StatusCode::FORBIDDEN,
        "the stored role (Viewer) wins over the claims"
    );
}
