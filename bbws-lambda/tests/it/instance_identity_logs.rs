//! C15 (`GET …/logs`), C18 (`GET …/identity`) and C19 (`PUT …/identity`) through the router:
//! the query and body rules (400 per field), the state rules (409 without a pool, 422 unless
//! ACTIVE), 404 outside the caller's scope, the plan recorder of `bbws serve` (503 for reads it
//! cannot answer; an accepted change refused at once with the instance left ACTIVE), and the
//! identity read from a real user pool on moto, whose client secret the answer never holds.

use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use axum::Router;
use axum::http::{Method, StatusCode};
use bbws_aws::cloud::cognito::AwsIdentity;
use bbws_core::ids::RandomIds;
use bbws_core::instance::ports::{AppClientSpec, DomainSpec, IdentityProvisioner, UserPoolSpec};
use bbws_core::instance::{
    CloudMode, EcsEventHandler, InstanceCloud, InstancePorts, InstanceService, LedgerDao,
    LedgerEntry, LedgerStatus, MfaConfiguration, PasswordPolicy, PlanRecorder, PlatformConfig,
    ProvisioningEngine, ResourceType, SyncOutcome, TokioTimer,
};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::{Environment, TenantPorts, TenantService};
use bbws_core::time::{Clock, SystemClock};
use bbws_lambda::AppState;
use bbws_lambda::api::auth::JwtAuthenticator;
use serde_json::{Value, json};

use crate::instance_lifecycle::failed_instance;
use crate::support::{
    Reply, SECRET, admin, call, header_str, link_names, request, send, viewer, with_header,
};

/// The API on `store` with `cloud` for the live reads and for running accepted operations.
fn app_on(store: &Arc<EmbeddedStore>, cloud: &InstanceCloud) -> Router {
    let config = PlatformConfig::defaults(Environment::Dev);
    bbws_lambda::router(AppState {
        tenants: TenantService::new(TenantPorts::from_backend(
            store,
            Arc::new(SystemClock),
            Arc::new(RandomIds),
        )),
        org: None,
        instances: Some(
            InstanceService::new(
                InstancePorts {
                    instances: store.clone(),
                    tenants: store.clone(),
                    clock: Arc::new(SystemClock),
                    ids: Arc::new(RandomIds),
                },
                config.clone(),
            )
            .with_cloud(cloud.clone()),
        ),
        engine: Some(ProvisioningEngine::new(
            store.clone(),
            cloud.clone(),
            config,
            Arc::new(SystemClock),
            Arc::new(TokioTimer),
            Arc::new(RandomIds),
        )),
        auth: Arc::new(JwtAuthenticator::new(SECRET)),
    })
}

fn planned() -> InstanceCloud {
    InstanceCloud::plan(&Arc::new(PlanRecorder::new()))
}

/// ECS reports the instance's service steady: FAILED -> ACTIVE.
async fn make_active(app: &Router, store: &Arc<EmbeddedStore>, t: &str, path: &str) -> Value {
    let (_, _, instance) = call(app, Method::GET, path, Some(&admin()), None).await;
    let key = instance["resourceKey"].as_str().expect("resourceKey");
    let event = json!({
        "version": "0", "id": format!("ev-{key}"), "detail-type": "ECS Service Action",
        "source": "aws.ecs", "time": "2026-12-04T10:00:00Z",
        "resources": [format!("arn:aws:ecs:eu-west-1:1:service/dev-cluster/tenant-{key}-wordpress")],
        "detail": {"eventName": "SERVICE_STEADY_STATE", "createdAt": "2026-12-04T10:00:00.000Z",
                   "tags": [{"key": "bbws:tenant-id", "value": t}, {"key": "bbws:environment", "value": "dev"}]}
    });
    let handler = EcsEventHandler::new(
        store.clone(),
        None,
        Environment::Dev,
        Arc::new(SystemClock),
        Arc::new(RandomIds),
    );
    assert!(matches!(
        handler.handle(&event).await.expect("handled"),
        SyncOutcome::Moved { .. }
    ));
    let (_, _, active) = call(app, Method::GET, path, Some(&admin()), None).await;
    assert_eq!(active["status"], "ACTIVE", "{active}");
    active
}

/// `PUT …/identity` with an `Idempotency-Key`.
async fn put_with_key(app: &Router, uri: &str, key: &str, body: &Value) -> Reply {
    let req = with_header(
        request(Method::PUT, uri, Some(&admin()), Some(body)),
        "idempotency-key",
        key,
    );
    send(app, req).await
}

fn fields(body: &Value) -> Vec<String> {
    body["error"]["details"]["fields"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|f| f["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_logs_query_is_checked_field_by_field_and_the_plan_recorder_has_no_logs() {
    let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
    let app = app_on(&store, &planned());
    let (t, _, path) = failed_instance(&app, "Logs Query Ltd").await;
    let get = |q: &str| format!("{path}/logs{q}");

    for (q, field) in [
        ("?limit=0", "limit"),
        ("?limit=1001", "limit"),
        ("?limit=ten", "limit"),
        ("?pageSize=5000", "limit"),
        ("?limit=5&pageSize=6", "limit"),
        ("?startTime=yesterday", "startTime"),
        ("?endTime=2026-13-01T00:00:00Z", "endTime"),
        (
            "?startTime=2026-01-05T12:00:00Z&endTime=2026-01-05T11:00:00Z",
            "endTime",
        ),
        ("?nextToken=not-a-token", "nextToken"),
        ("?nextToken=eyJrIjoieCJ9.AAAAAAAAAAAAAAAA", "nextToken"),
    ] {
        let (status, _, body) = call(&app, Method::GET, &get(q), Some(&admin()), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{q}: {body}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR", "{q}");
        assert_eq!(fields(&body), [field], "{q}: {body}");
    }
    // Several bad values: each named.
    let (status, _, body) = call(
        &app,
        Method::GET,
        &get("?startTime=x&limit=0"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(fields(&body), ["startTime", "limit"]);

    // A valid query for an instance whose service was never created (the plan recorder
    // refused its provisioning): it has run nothing, so it has no logs.
    let (status, _, body) = call(
        &app,
        Method::GET,
        &get("?limit=10"),
        Some(&viewer(&[&t])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["entries"], serde_json::json!([]), "{body}");
    assert!(
        body.get("nextToken").is_none_or(serde_json::Value::is_null),
        "{body}"
    );

    // 404 for an unknown instance and for a caller outside the tenant.
    let unknown =
        format!("/v1.0/tenants/{t}/instances/inst-00000000-0000-4000-8000-000000000000/logs");
    let (status, _, body) = call(&app, Method::GET, &unknown, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(body["error"]["code"], "INSTANCE_NOT_FOUND");
    let other = "tenant-00000000-0000-4000-8000-000000000000";
    let (status, _, _) = call(&app, Method::GET, &get(""), Some(&viewer(&[other])), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The instance links to its logs.
    let (_, _, instance) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(instance["_links"]["logs"]["href"], get("").as_str());
}

#[tokio::test]
async fn identity_needs_a_pool_to_read_and_an_active_instance_to_change() {
    let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
    let app = app_on(&store, &planned());
    let (t, inst, path) = failed_instance(&app, "Identity Rules Ltd").await;
    let identity = format!("{path}/identity");
    let stricter = json!({"passwordPolicy": {"minimumLength": 12, "requireSymbols": false},
                          "mfaConfiguration": "REQUIRED"});

    // FAILED with nothing created: no pool to read, no change accepted.
    let (status, _, body) = call(&app, Method::GET, &identity, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["details"]["currentStatus"], "FAILED");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("no Cognito user pool")),
        "{body}"
    );
    let (status, _, body) = call(
        &app,
        Method::PUT,
        &identity,
        Some(&admin()),
        Some(&stricter),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["code"], "INVALID_STATUS_TRANSITION");
    assert_eq!(body["error"]["details"]["currentStatus"], "FAILED");
    assert!(body["error"]["details"]["allowedTransitions"].is_array());

    // Bodies are strict and checked before the state.
    for (bad, field) in [
        (json!({}), "body"),
        (json!({"passwordPolicy": {}}), "passwordPolicy"),
        (
            json!({"passwordPolicy": {"minimumLength": 7}}),
            "passwordPolicy.minimumLength",
        ),
        (
            json!({"passwordPolicy": {"minimumLength": 100}}),
            "passwordPolicy.minimumLength",
        ),
        (json!({"mfaConfiguration": "ON"}), "mfaConfiguration"),
        (json!({"mfaConfiguration": "required"}), "mfaConfiguration"),
    ] {
        let (status, _, body) =
            call(&app, Method::PUT, &identity, Some(&admin()), Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(fields(&body), [field], "{bad}: {body}");
    }
    for bad in [
        json!({"mfaConfiguration": "OFF", "clientSecret": "x"}),
        json!({"passwordPolicy": {"minimumLength": 12, "historySize": 3}}),
        json!({"passwordPolicy": {"minimumLength": "12"}}),
    ] {
        let (status, _, body) =
            call(&app, Method::PUT, &identity, Some(&admin()), Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    }

    // ACTIVE: accepted as an operation; the plan recorder refuses to run it, and the instance
    // stays ACTIVE.
    let active = make_active(&app, &store, &t, &path).await;
    let links = link_names(&active);
    assert!(links.contains(&"configureIdentity".to_owned()), "{links:?}");
    assert_eq!(active["_links"]["configureIdentity"]["method"], "PUT");
    let (status, headers, body) = put_with_key(&app, &identity, "identity-1", &stricter).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["instanceId"], inst.as_str());
    assert_eq!(body["status"], "ACTIVE");
    assert_eq!(body["operation"]["type"], "CONFIGURE_IDENTITY");
    let steps: Vec<&str> = body["operation"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(steps, ["configure-password-policy", "configure-mfa"]);
    assert_eq!(body["operation"]["status"], "FAILED", "{body}");
    assert_eq!(body["operation"]["error"]["code"], "CLOUD_UNAVAILABLE");
    let op = body["operationId"]
        .as_str()
        .expect("operationId")
        .to_owned();
    assert_eq!(
        headers.get("location").and_then(|v| v.to_str().ok()),
        Some(format!("/v1.0/operations/{op}").as_str())
    );
    let (_, _, after) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(
        after["status"], "ACTIVE",
        "a refused identity change leaves the site up"
    );

    // The same key: the first answer again; another body under it: 409.
    let (status, headers, body) = put_with_key(&app, &identity, "identity-1", &stricter).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["operationId"], op.as_str());
    assert_eq!(header_str(&headers, "idempotent-replayed"), Some("true"));
    let other = json!({"mfaConfiguration": "OFF"});
    let (status, _, body) = put_with_key(&app, &identity, "identity-1", &other).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["error"]["code"], "IDEMPOTENCY_KEY_REUSED");

    // A viewer reads but does not change; outside the tenant, nothing is there.
    let (status, _, _) = call(
        &app,
        Method::PUT,
        &identity,
        Some(&viewer(&[&t])),
        Some(&other),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let outsider = viewer(&["tenant-00000000-0000-4000-8000-000000000000"]);
    for method in [Method::GET, Method::PUT] {
        let (status, _, _) = call(
            &app,
            method.clone(),
            &identity,
            Some(&outsider),
            Some(&other),
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
    }
}

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

#[tokio::test]
async fn the_identity_of_a_real_pool_never_holds_its_client_secret() {
    let store = Arc::new(EmbeddedStore::in_memory().expect("store"));
    let plan = app_on(&store, &planned());
    let (t, inst, path) = failed_instance(&plan, "Identity Secret Ltd").await;
    make_active(&plan, &store, &t, &path).await;

    // A pool, its domain and its app client in moto's Cognito, as provisioning creates them,
    // recorded in the instance's ledger.
    let cognito = AwsIdentity::new(aws_sdk_cognitoidentityprovider::Client::new(
        &sdk_config().await,
    ));
    let unique = format!("{}-{}", std::process::id(), &inst[5..13]);
    let tenant_id = t.parse().expect("tenant id");
    let pool = cognito
        .create_user_pool(&UserPoolSpec {
            name: format!("bbws-tenant-api{unique}-user-pool"),
            tenant_id,
            password_policy: PasswordPolicy::default(),
            mfa: MfaConfiguration::Optional,
            tags: [("bbws:tenant-id".to_owned(), t.clone())].into(),
        })
        .await
        .expect("pool");
    let prefix = format!("bbws-api{unique}-dev");
    cognito
        .create_domain(&DomainSpec {
            user_pool_id: pool.id.clone(),
            prefix: prefix.clone(),
        })
        .await
        .expect("domain");
    let client = cognito
        .create_app_client(&AppClientSpec {
            user_pool_id: pool.id.clone(),
            name: format!("bbws-tenant-api{unique}-client"),
            callback_urls: vec!["https://acme.example/wp-login.php".to_owned()],
            logout_urls: vec!["https://acme.example/".to_owned()],
        })
        .await
        .expect("client");
    let secret = client.client_secret.expose().to_owned();
    assert!(secret.len() > 8, "moto generated a secret");
    let instance_id = inst.parse().expect("instance id");
    for (seq, (rt, id, arn)) in [
        (ResourceType::CognitoPool, pool.id.clone(), pool.arn.clone()),
        (ResourceType::CognitoDomain, prefix.clone(), None),
        (ResourceType::CognitoClient, client.client_id.clone(), None),
    ]
    .into_iter()
    .enumerate()
    {
        store
            .write_ledger(LedgerEntry {
                tenant_id,
                instance_id,
                resource_type: rt,
                name: rt.as_str().to_owned(),
                id: Some(id),
                arn,
                status: LedgerStatus::Created,
                seq: u32::try_from(seq).expect("small") + 1,
                error: None,
                updated_at: SystemClock.now(),
            })
            .await
            .expect("ledger");
    }

    // On the plan recorder the pool cannot be read: 503.
    let (status, _, body) = call(
        &plan,
        Method::GET,
        &format!("{path}/identity"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "CLOUD_UNAVAILABLE");

    // With Cognito to ask: the pool as it is, and no secret anywhere in the answer.
    let mut live = planned();
    live.identity = Arc::new(cognito);
    live.mode = CloudMode::Live;
    let app = app_on(&store, &live);
    let (status, _, body) = call(
        &app,
        Method::GET,
        &format!("{path}/identity"),
        Some(&viewer(&[&t])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userPoolId"], pool.id.as_str());
    assert_eq!(body["userPoolArn"], json!(pool.arn));
    assert_eq!(body["clientId"], client.client_id.as_str());
    assert_eq!(body["domain"], prefix.as_str());
    assert_eq!(
        body["passwordPolicy"],
        json!({"minimumLength": 8, "requireUppercase": true, "requireLowercase": true,
               "requireNumbers": true, "requireSymbols": true})
    );
    assert_eq!(body["mfaConfiguration"], "OPTIONAL");
    assert_eq!(
        body["_links"]["self"]["href"],
        format!("{path}/identity").as_str()
    );
    assert_eq!(body["_links"]["configure"]["method"], "PUT");
    let text = body.to_string();
    assert!(
        !text.contains(&secret),
        "the client secret is never shown: {text}"
    );
    assert!(
        !text.to_lowercase().contains("secret"),
        "no secret field at all: {text}"
    );
}
