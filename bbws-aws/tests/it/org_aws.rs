//! The organisation domain on AWS end to end, against moto: `OrgService` on a DynamoDB table
//! with Cognito as the directory and SES as the mailer. Each side effect is read back through the
//! AWS APIs (Cognito groups and their members) or moto's own record of sent mail.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_cognitoidentityprovider::operation::list_users_in_group::ListUsersInGroupError;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use bbws_aws::{CognitoDirectory, DynamoStore, SesMailer, UserPoolId};
use bbws_core::ErrorCode;
use bbws_core::auth::{Actor, Claims, Role};
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::org::{
    IdentityDirectory, MailMessage, Mailer, OrgPorts, OrgService, OrgServiceConfig, TenantGroup,
    UserId,
};
use bbws_core::tenant::{Email, Environment, TenantStatus};
use serde_json::{Value, json};

use crate::org_contract::{PORTAL, token_in};
use crate::support::{Subject, admin, new_tenant, sdk_config};

static NAMES: AtomicUsize = AtomicUsize::new(0);

/// A name no other test of this binary uses (moto is shared).
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}{}x{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::SeqCst)
    )
}

fn email(s: &str) -> Email {
    Email::parse(s).expect("valid e-mail")
}

fn member(sub: &str, mail: &str) -> Actor {
    Actor::from_claims(&Claims::from_json(&json!({"sub": sub, "email": mail})).expect("claims"))
}

async fn cognito() -> aws_sdk_cognitoidentityprovider::Client {
    aws_sdk_cognitoidentityprovider::Client::new(&sdk_config().await)
}

async fn ses() -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(&sdk_config().await)
}

async fn user_pool(client: &aws_sdk_cognitoidentityprovider::Client) -> UserPoolId {
    let out = client
        .create_user_pool()
        .pool_name(unique("pool"))
        .send()
        .await
        .expect("user pool is created");
    let id = out
        .user_pool
        .and_then(|p| p.id)
        .expect("the new pool has an id");
    UserPoolId::parse(&id).expect("moto's pool id is a pool id")
}

/// Creates a Cognito user with a user name other than its `sub`; returns the `sub`.
async fn cognito_user(
    client: &aws_sdk_cognitoidentityprovider::Client,
    pool: &UserPoolId,
    username: &str,
    mail: &str,
) -> UserId {
    let out = client
        .admin_create_user()
        .user_pool_id(pool.as_str())
        .username(username)
        .user_attributes(
            AttributeType::builder()
                .name("email")
                .value(mail)
                .build()
                .expect("attribute"),
        )
        .send()
        .await
        .expect("user is created");
    let sub = out
        .user
        .expect("the created user")
        .attributes()
        .iter()
        .find(|a| a.name() == "sub")
        .and_then(|a| a.value().map(str::to_owned))
        .expect("a sub");
    assert_ne!(sub, username);
    UserId::parse(&sub).expect("sub is a user id")
}

async fn members_of(
    client: &aws_sdk_cognitoidentityprovider::Client,
    pool: &UserPoolId,
    group: &str,
) -> Option<Vec<String>> {
    match client
        .list_users_in_group()
        .user_pool_id(pool.as_str())
        .group_name(group)
        .send()
        .await
    {
        Ok(out) => Some(
            out.users()
                .iter()
                .filter_map(|u| u.username().map(str::to_owned))
                .collect(),
        ),
        Err(e)
            if e.as_service_error()
                .is_some_and(ListUsersInGroupError::is_resource_not_found_exception) =>
        {
            None
        }
        Err(e) => panic!("ListUsersInGroup: {e:?}"),
    }
}

async fn groups_of(
    client: &aws_sdk_cognitoidentityprovider::Client,
    pool: &UserPoolId,
    username: &str,
) -> Vec<String> {
    let mut groups: Vec<String> = client
        .admin_list_groups_for_user()
        .user_pool_id(pool.as_str())
        .username(username)
        .send()
        .await
        .expect("AdminListGroupsForUser")
        .groups()
        .iter()
        .filter_map(|g| g.group_name().map(str::to_owned))
        .collect();
    groups.sort();
    groups
}

/// A verified SES sender.
async fn sender(client: &aws_sdk_sesv2::Client) -> Email {
    let from = format!("{}@bbws.test", unique("no-reply"));
    client
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .expect("identity is created");
    email(&from)
}

/// The mails moto's SES accepted for `to`: (source, subject, body).
fn sent_to(to: &str) -> Vec<(String, String, String)> {
    let endpoint = crate::moto::endpoint();
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).expect("moto is listening");
    write!(
        stream,
        "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n"
    )
    .expect("request is sent");
    let mut raw = String::new();
    stream.read_to_string(&mut raw).expect("response is read");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .expect("an HTTP response");
    let data: Value = serde_json::from_str(body).expect("moto's model data is JSON");
    data["ses"]["Message"]
        .as_array()
        .expect("moto lists SES messages")
        .iter()
        .filter(|m| {
            m["destinations"]["ToAddresses"]
                .as_array()
                .is_some_and(|a| a.iter().any(|v| v.as_str() == Some(to)))
        })
        .map(|m| {
            let s = |k: &str| m[k].as_str().unwrap_or_default().to_owned();
            (s("source"), s("subject"), s("body"))
        })
        .collect()
}

#[tokio::test]
async fn ses_sends_from_the_configured_sender() {
    let client = ses().await;
    let from = sender(&client).await;
    let to = format!("{}@acme.example", unique("ann"));
    let mailer = SesMailer::new(client.clone(), from.clone());
    mailer
        .send(&MailMessage {
            to: email(&to),
            subject: "Hello".into(),
            text: "Accept: https://portal.bbws.test/invitations/abc\n".into(),
        })
        .await
        .expect("SES accepts the mail");
    assert_eq!(
        sent_to(&to),
        [(
            from.as_str().to_owned(),
            "Hello".to_owned(),
            "Accept: https://portal.bbws.test/invitations/abc\n".to_owned()
        )]
    );

    let unverified = SesMailer::new(client, email("nobody@unverified.example"));
    let err = unverified
        .send(&MailMessage {
            to: email(&to),
            subject: "Hello".into(),
            text: "x".into(),
        })
        .await
        .expect_err("an unverified sender is refused");
    assert_eq!(err.code(), ErrorCode::InternalError);
    assert!(err.to_string().contains("SendEmail"), "{err}");
}

#[tokio::test]
async fn cognito_finds_users_by_email_in_any_case_and_keeps_groups() {
    let client = cognito().await;
    let pool = user_pool(&client).await;
    let dir = CognitoDirectory::new(client.clone(), pool.clone());
    let sub = cognito_user(&client, &pool, "ann", "ann@acme.example").await;

    let found = dir
        .find_by_email(&email("Ann@ACME.example"))
        .await
        .expect("lookup")
        .expect("found in another case");
    assert_eq!(found.user_id, sub);
    assert_eq!(found.email.as_str(), "ann@acme.example");
    assert!(found.enabled);
    assert_eq!(
        dir.find_by_email(&email("bob@acme.example"))
            .await
            .expect("lookup"),
        None
    );

    let tenant: TenantId = "tenant-00000000-0000-4000-8000-000000000001"
        .parse()
        .expect("id");
    let group = TenantGroup {
        tenant_id: tenant,
        role: Role::Admin,
    };
    assert_eq!(members_of(&client, &pool, &group.name()).await, None);
    dir.add_to_group(&sub, group)
        .await
        .expect("the missing group is created and the user added");
    assert_eq!(
        members_of(&client, &pool, &group.name()).await,
        Some(vec!["ann".to_owned()])
    );
    assert_eq!(groups_of(&client, &pool, "ann").await, [group.name()]);
    dir.add_to_group(&sub, group).await.expect("twice is fine");

    dir.remove_from_group(&sub, group).await.expect("removed");
    assert_eq!(
        members_of(&client, &pool, &group.name()).await,
        Some(vec![])
    );
    dir.remove_from_group(&sub, group)
        .await
        .expect("not in it is no error");
    let never = TenantGroup {
        tenant_id: tenant,
        role: Role::Viewer,
    };
    dir.remove_from_group(&sub, never)
        .await
        .expect("a missing group is no error");
    dir.remove_from_group(&UserId::parse("no-such-user").expect("id"), group)
        .await
        .expect("a missing user is in no group");
    let err = dir
        .add_to_group(&UserId::parse("no-such-user").expect("id"), group)
        .await
        .expect_err("unknown user");
    assert_eq!(err.code(), ErrorCode::UserNotFound);
}

/// `OrgService` wired as `Backend::open` wires it for DynamoDB.
async fn aws_service() -> (
    Subject,
    Arc<OrgService>,
    aws_sdk_cognitoidentityprovider::Client,
    UserPoolId,
) {
    let base = Subject::dynamodb().await;
    let crate::support::Resources::Dynamo(store) = &base.resources else {
        panic!("a DynamoDB subject")
    };
    let store: Arc<DynamoStore> = store.clone();
    let idp = cognito().await;
    let pool = user_pool(&idp).await;
    let mail = ses().await;
    let from = sender(&mail).await;
    let org = OrgService::new(OrgPorts {
        org: store,
        tenants: base.backend.clone(),
        directory: Arc::new(CognitoDirectory::new(idp.clone(), pool.clone())),
        mailer: Arc::new(SesMailer::new(mail, from)),
        clock: base.clock.clone(),
        ids: Arc::new(RandomIds),
    })
    .with_config(OrgServiceConfig {
        portal_url: PORTAL.to_owned(),
        ..OrgServiceConfig::default()
    });
    (base, Arc::new(org), idp, pool)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn assignments_and_invitations_reach_cognito_and_ses() {
    let (base, org, idp, pool) = aws_service().await;
    let t = base
        .service
        .create(&admin(), new_tenant("Acme Corp", Environment::Dev), None)
        .await
        .expect("tenant")
        .value;
    base.service
        .set_status(&admin(), &t.id, TenantStatus::Active, None, None)
        .await
        .expect("active");
    let admins = TenantGroup {
        tenant_id: t.id,
        role: Role::Admin,
    }
    .name();
    let operators = TenantGroup {
        tenant_id: t.id,
        role: Role::Operator,
    }
    .name();

    // Assign: found in Cognito by e-mail, put into the role group (created on first use).
    let ann_mail = format!("{}@acme.example", unique("ann"));
    let ann = cognito_user(&idp, &pool, "ann-user", &ann_mail).await;
    let assigned = org
        .assign_user(
            &admin(),
            &t.id,
            &email(&ann_mail.to_uppercase()),
            Role::Admin,
            None,
            None,
        )
        .await
        .expect("assigned")
        .value;
    assert_eq!(assigned.assignment.user_id, ann);
    assert_eq!(groups_of(&idp, &pool, "ann-user").await, [admins.as_str()]);
    let err = org
        .assign_user(
            &admin(),
            &t.id,
            &email("nobody@acme.example"),
            Role::Viewer,
            None,
            None,
        )
        .await
        .expect_err("not in the user pool");
    assert_eq!(err.code(), ErrorCode::UserNotFound);

    // Invite: SES carries the accept link; accepting joins the group.
    let bob_mail = format!("{}@acme.example", unique("bob"));
    let bob = cognito_user(&idp, &pool, "bob-user", &bob_mail).await;
    org.create_invitation(
        &admin(),
        &t.id,
        &email(&bob_mail),
        Role::Operator,
        None,
        None,
    )
    .await
    .expect("invited");
    let mails = sent_to(&bob_mail);
    assert_eq!(mails.len(), 1, "one invitation mail");
    let (_, subject, body) = &mails[0];
    assert_eq!(subject, "You've been invited to join Acme Corp on BBWS");
    assert!(body.contains(&format!("{PORTAL}/invitations/")), "{body}");
    let token = token_in(body);
    org.accept_invitation(&member(bob.as_str(), &bob_mail), &token)
        .await
        .expect("accepted with the mailed link");
    assert_eq!(
        members_of(&idp, &pool, &operators).await,
        Some(vec!["bob-user".to_owned()])
    );
    let tenants = org
        .user_tenants(&member(bob.as_str(), &bob_mail), &bob)
        .await
        .expect("bob's tenants");
    assert_eq!(tenants.len(), 1);
    assert_eq!(tenants[0].assignment.role, Role::Operator);

    // A role change moves the user between groups; removal takes it out.
    org.change_role(&admin(), &t.id, &bob, Role::Admin, None)
        .await
        .expect("promoted");
    assert_eq!(groups_of(&idp, &pool, "bob-user").await, [admins.as_str()]);
    org.remove_user(&admin(), &t.id, &ann)
        .await
        .expect("another Admin stays");
    assert!(groups_of(&idp, &pool, "ann-user").await.is_empty());
    assert_eq!(
        members_of(&idp, &pool, &admins).await,
        Some(vec!["bob-user".to_owned()])
    );
}
