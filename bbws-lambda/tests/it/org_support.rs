//! Set-up for the organisation tests: tenants, users assigned through the API (so roles come
//! from the stored assignments, not from token claims), hierarchy nodes, invitations, and the
//! tokens of the accept links read from the mailbox.

use std::future::Future;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::support::{OrgApp, Reply, activate, admin, call, create_named, token};

/// The subjects of the callers; each token's e-mail is `{sub}@bbws.example`.
pub const TENANT_ADMIN: &str = "t-admin";
pub const OPERATOR: &str = "t-operator";
pub const VIEWER: &str = "t-viewer";
/// Admin of another tenant only.
pub const OUTSIDER: &str = "outsider";
/// Claims `{tenantId}-admins` in its token, but has no stored assignment.
pub const CLAIMS_ADMIN: &str = "claims-admin";
/// The platform admin's subject (see [`crate::support::admin`]).
pub const PLATFORM_ADMIN: &str = "root";

pub fn email_of(sub: &str) -> String {
    format!("{sub}@bbws.example")
}

/// A token with no groups: whatever role the caller has comes from the store. `sub` is the user
/// id (see [`crate::support::TestDirectory::subject`]).
pub fn plain(sub: &str) -> String {
    token(sub, &[], &[])
}

/// The token of the user registered in `app`'s directory as `name`: its id as `sub`, its e-mail
/// ([`email_of`]), no groups.
pub fn user_token(app: &OrgApp, name: &str) -> String {
    crate::support::token_for(&app.directory.subject(name), &email_of(name), &[], &[])
}

/// A tenant, a second one, the callers assigned through the API, and a division → group → team.
pub struct World {
    pub app: OrgApp,
    pub tenant: String,
    pub other: String,
    pub division: String,
    pub group: String,
    pub team: String,
    seq: AtomicU32,
}

/// Builds [`World`]s on whatever backend `build` opens.
pub async fn world<F, Fut>(build: &F) -> World
where
    F: Fn() -> Fut,
    Fut: Future<Output = OrgApp>,
{
    let app = build().await;
    let tenant = active_tenant(&app, "Matrix Org").await;
    let other = active_tenant(&app, "Other Org").await;
    for (sub, role, t) in [
        (TENANT_ADMIN, "Admin", &tenant),
        (OPERATOR, "Operator", &tenant),
        (VIEWER, "Viewer", &tenant),
        (OUTSIDER, "Admin", &other),
    ] {
        assign(&app, t, sub, role).await;
    }
    let mut w = World {
        app,
        tenant,
        other,
        division: String::new(),
        group: String::new(),
        team: String::new(),
        seq: AtomicU32::new(0),
    };
    w.division = w.new_division().await;
    w.group = w.new_group().await;
    w.team = w.new_team().await;
    w
}

/// Creates and activates a tenant as platform admin.
pub async fn active_tenant(app: &OrgApp, name: &str) -> String {
    let id = create_named(&app.router, name).await;
    activate(&app.router, &id).await;
    id
}

/// Registers `sub` in the directory and assigns it to `tenant` with `role`, as platform admin.
pub async fn assign(app: &OrgApp, tenant: &str, sub: &str, role: &str) -> Value {
    app.directory.register(sub, &email_of(sub)).await;
    let (status, _, body) = call(
        &app.router,
        Method::POST,
        &format!("/v1.0/tenants/{tenant}/users"),
        Some(&admin()),
        Some(&json!({"email": email_of(sub), "role": role})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "assign {sub}: {body}");
    body
}

/// A POST as platform admin that must answer `expected`; returns the body.
pub async fn post_ok(app: &OrgApp, uri: &str, body: &Value, expected: StatusCode) -> Value {
    let (status, _, out) = call(&app.router, Method::POST, uri, Some(&admin()), Some(body)).await;
    assert_eq!(status, expected, "POST {uri}: {out}");
    out
}

pub fn str_of(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} is not a string in {v}"))
        .to_owned()
}

/// The token of the newest accept link mailed to `to`.
pub fn latest_token(app: &OrgApp, to: &str) -> String {
    let texts = app.mailbox.texts_to(to);
    let text = texts
        .last()
        .unwrap_or_else(|| panic!("no mail was sent to {to}"));
    token_in(text).unwrap_or_else(|| panic!("no accept link in the mail: {text}"))
}

/// The token of the accept link in a mail's text (`…/invitations/{token}`).
pub fn token_in(text: &str) -> Option<String> {
    let (_, rest) = text.split_once("/invitations/")?;
    let token: String = rest
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (!token.is_empty()).then_some(token)
}

impl World {
    pub fn next(&self) -> u32 {
        self.seq.fetch_add(1, Ordering::Relaxed)
    }

    pub fn base(&self) -> String {
        format!("/v1.0/tenants/{}", self.tenant)
    }

    pub fn division_href(&self, d: &str) -> String {
        format!("{}/divisions/{d}", self.base())
    }

    pub fn group_href(&self, g: &str) -> String {
        format!("{}/groups/{g}", self.division_href(&self.division))
    }

    pub fn team_href(&self, t: &str) -> String {
        format!("{}/teams/{t}", self.group_href(&self.group))
    }

    async fn create_unit(&self, collection: &str, prefix: &str) -> String {
        let name = format!("{prefix} {}", self.next());
        let body = post_ok(
            &self.app,
            collection,
            &json!({"name": name}),
            StatusCode::CREATED,
        )
        .await;
        let key = match prefix {
            "Division" => "divisionId",
            "Group" => "groupId",
            _ => "teamId",
        };
        str_of(&body, key)
    }

    pub async fn new_division(&self) -> String {
        self.create_unit(&format!("{}/divisions", self.base()), "Division")
            .await
    }

    pub async fn new_group(&self) -> String {
        self.create_unit(
            &format!("{}/groups", self.division_href(&self.division)),
            "Group",
        )
        .await
    }

    pub async fn new_team(&self) -> String {
        self.create_unit(&format!("{}/teams", self.group_href(&self.group)), "Team")
            .await
    }

    /// A fresh user assigned to the tenant as Viewer; returns its id (sub).
    pub async fn new_user(&self) -> String {
        let name = format!("extra-{}", self.next());
        assign(&self.app, &self.tenant, &name, "Viewer").await;
        self.app.directory.subject(&name)
    }

    /// The id (sub) of the user registered as `name`.
    pub fn sub(&self, name: &str) -> String {
        self.app.directory.subject(name)
    }

    /// The token of the user registered as `name`, with no groups (see [`user_token`]).
    pub fn user_token(&self, name: &str) -> String {
        user_token(&self.app, name)
    }

    /// A fresh user, assigned and added to the world's team; returns its sub.
    pub async fn new_member(&self) -> String {
        let sub = self.new_user().await;
        post_ok(
            &self.app,
            &format!("{}/users", self.team_href(&self.team)),
            &json!({"userId": sub}),
            StatusCode::CREATED,
        )
        .await;
        sub
    }

    /// A fresh PENDING invitation to `tenant` for `email`; returns its representation.
    pub async fn invite_to(&self, tenant: &str, email: &str) -> Value {
        post_ok(
            &self.app,
            &format!("/v1.0/tenants/{tenant}/invitations"),
            &json!({"email": email, "role": "Viewer"}),
            StatusCode::CREATED,
        )
        .await
    }

    /// A fresh invitation to the world's tenant for a new address; returns (invitationId, token).
    pub async fn new_invitation(&self) -> (String, String) {
        let email = format!("invitee-{}@bbws.example", self.next());
        let inv = self.invite_to(&self.tenant, &email).await;
        (
            str_of(&inv, "invitationId"),
            latest_token(&self.app, &email),
        )
    }

    /// A path of names created through `POST /hierarchy`; returns the division's name.
    pub async fn new_path(&self) -> String {
        let division = format!("Path {}", self.next());
        post_ok(
            &self.app,
            &format!("{}/hierarchy", self.base()),
            &json!({"division": division, "group": "Leaf"}),
            StatusCode::CREATED,
        )
        .await;
        division
    }

    pub async fn call(
        &self,
        method: Method,
        uri: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        call(&self.app.router, method, uri, token, body).await
    }
}
