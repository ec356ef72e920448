//! The organisation API on AWS: the same router and the same tests as on the embedded store, on a
//! `bbws_aws::Backend` opened on DynamoDB with Cognito as the directory and SES as the mailer, all
//! served by a local moto server. Users are registered in moto's Cognito (their ids are the `sub`
//! Cognito gives them, which the test tokens carry); mail is read back from moto's record of what
//! SES sent (`/moto-api/data.json`).

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use aws_config::{Region, SdkConfig};
use aws_sdk_cognitoidentityprovider::operation::admin_create_user::AdminCreateUserError;
use aws_sdk_cognitoidentityprovider::types::AttributeType;
use aws_sdk_dynamodb::config::Credentials;
use bbws_aws::{Backend, BackendConfig};
use bbws_lambda::AppState;
use bbws_lambda::api::auth::JwtAuthenticator;
use serde_json::Value;

use crate::support::{OrgApp, PORTAL, SECRET, TestDirectory, TestMailbox};

static NAMES: AtomicUsize = AtomicUsize::new(0);

/// A name no other app of this binary uses (moto is shared by the whole binary).
fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NAMES.fetch_add(1, Ordering::SeqCst)
    )
}

/// SDK configuration for moto: static test credentials and a region on this config only.
async fn sdk_config() -> SdkConfig {
    bbws_aws::sdk::loader(Some(crate::moto::endpoint()))
        .credentials_provider(Credentials::new(
            "testing",
            "testing",
            None,
            None,
            "bbws-tests",
        ))
        .region(Region::new("us-east-1"))
        .load()
        .await
}

/// Users registered in a moto Cognito user pool under a user name of the test's choosing; their
/// ids are the `sub`s Cognito generated.
struct CognitoTestDirectory {
    client: aws_sdk_cognitoidentityprovider::Client,
    pool: String,
    subs: Mutex<HashMap<String, String>>,
}

#[async_trait::async_trait]
impl TestDirectory for CognitoTestDirectory {
    async fn register(&self, name: &str, email: &str) {
        let created = self
            .client
            .admin_create_user()
            .user_pool_id(&self.pool)
            .username(name)
            .user_attributes(
                AttributeType::builder()
                    .name("email")
                    .value(email)
                    .build()
                    .expect("an attribute"),
            )
            .send()
            .await;
        let attributes = match created {
            Ok(out) => out.user.expect("the created user").attributes,
            // Registered before in this pool: read it back.
            Err(e)
                if e.as_service_error()
                    .is_some_and(AdminCreateUserError::is_username_exists_exception) =>
            {
                self.client
                    .admin_get_user()
                    .user_pool_id(&self.pool)
                    .username(name)
                    .send()
                    .await
                    .expect("AdminGetUser")
                    .user_attributes
            }
            Err(e) => panic!("AdminCreateUser {name}: {e:?}"),
        };
        let sub = attributes
            .unwrap_or_default()
            .into_iter()
            .find(|a| a.name() == "sub")
            .and_then(|a| a.value)
            .expect("Cognito gives the user a sub");
        assert_ne!(sub, name, "the sub is Cognito's, not the user name");
        self.subs
            .lock()
            .expect("the map is not poisoned")
            .insert(name.to_owned(), sub);
    }

    fn subject(&self, name: &str) -> String {
        self.subs
            .lock()
            .expect("the map is not poisoned")
            .get(name)
            .cloned()
            .unwrap_or_else(|| name.to_owned())
    }
}

/// The mail moto's SES accepted from one sender (each app has its own verified sender).
struct MotoMailbox {
    from: String,
}

impl TestMailbox for MotoMailbox {
    fn texts_to(&self, to: &str) -> Vec<String> {
        let endpoint = crate::moto::endpoint();
        let host = endpoint.trim_start_matches("http://");
        let mut stream = TcpStream::connect(host).expect("moto is listening");
        write!(
            stream,
            "GET /moto-api/data.json HTTP/1.0\r\nHost: {host}\r\n\r\n"
        )
        .expect("the request is sent");
        let mut raw = String::new();
        stream
            .read_to_string(&mut raw)
            .expect("the response is read");
        let (_, body) = raw.split_once("\r\n\r\n").expect("an HTTP response");
        let data: Value = serde_json::from_str(body).expect("moto's model data is JSON");
        data["ses"]["Message"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
            .iter()
            .filter(|m| m["source"].as_str() == Some(self.from.as_str()))
            .filter(|m| {
                m["destinations"]["ToAddresses"]
                    .as_array()
                    .is_some_and(|a| {
                        a.iter()
                            .any(|v| v.as_str().is_some_and(|v| v.eq_ignore_ascii_case(to)))
                    })
            })
            .map(|m| m["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

/// The whole API on a fresh DynamoDB table with a fresh Cognito user pool and SES sender, all in
/// moto, opened through `Backend` from the variables a Lambda reads.
pub async fn moto_org_app() -> OrgApp {
    let sdk = sdk_config().await;
    let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
    let table = unique("bbws-org");
    assert!(
        bbws_aws::create_table(&dynamo, &table)
            .await
            .expect("the table is created"),
        "the table is new"
    );
    let cognito = aws_sdk_cognitoidentityprovider::Client::new(&sdk);
    let pool = cognito
        .create_user_pool()
        .pool_name(unique("pool"))
        .send()
        .await
        .expect("the user pool is created")
        .user_pool
        .and_then(|p| p.id)
        .expect("the pool has an id");
    let from = format!("{}@bbws.test", unique("no-reply"));
    aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .expect("the sender identity is created");

    let vars = HashMap::from([
        ("DYNAMODB_TABLE", table),
        ("AWS_ENDPOINT_URL", crate::moto::endpoint().to_owned()),
        ("COGNITO_USER_POOL_ID", pool.clone()),
        ("MAIL_FROM", from.clone()),
        ("PORTAL_URL", PORTAL.to_owned()),
    ]);
    let config = BackendConfig::from_env(|k| vars.get(k).cloned()).expect("valid settings");
    let backend = Backend::open_with_sdk(&config, Some(sdk))
        .await
        .expect("the DynamoDB backend opens");
    OrgApp {
        router: bbws_lambda::router(AppState {
            tenants: backend.tenant_service(),
            org: Some(backend.org_service()),
            instances: None,
            engine: None,
            auth: Arc::new(JwtAuthenticator::new(SECRET)),
        }),
        directory: Arc::new(CognitoTestDirectory {
            client: cognito,
            pool,
            subs: Mutex::new(HashMap::new()),
        }),
        mailbox: Arc::new(MotoMailbox { from }),
    }
}

/// The whole access matrix (every row, every caller) on DynamoDB, Cognito and SES. The rows share
/// one world except those that change tenant membership (see `run_access_matrix`), which keeps
/// the run to about a minute on moto rather than several.
#[tokio::test]
async fn the_access_matrix_holds_on_dynamodb() {
    crate::org_access::run_access_matrix(moto_org_app).await;
}

/// The invitation lifecycle, read from the mail SES sent.
#[tokio::test]
async fn the_invitation_lifecycle_on_dynamodb() {
    crate::org_flows::run_invitation_lifecycle(moto_org_app().await).await;
}
