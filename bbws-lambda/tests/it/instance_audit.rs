//! The scheduled audit Lambda's function: a real EventBridge scheduled event
//! (`tests/fixtures/eventbridge/scheduled-event.json`) through [`AuditFunction`], on a memory
//! backend's store with a cloud that answers from fixed lists (the memory backend itself has
//! no cloud, and the function refuses it).

use std::sync::Arc;

use async_trait::async_trait;
use bbws_aws::{Backend, BackendConfig, BackendKind};
use bbws_core::ErrorCode;
use bbws_core::auth::Actor;
use bbws_core::instance::ports::{
    CloudError, CloudResource, CloudResult, DatabaseProvisioner, DatabaseSpec, Tags,
};
use bbws_core::instance::{
    AuditPorts, InstanceAudit, InstanceState, NewInstance, ResourceType, TAG_ENVIRONMENT,
    TAG_TENANT, TaggedInventory, TaggedResource,
};
use bbws_core::tenant::Environment;
use bbws_core::time::SystemClock;
use bbws_lambda::instance_audit::AuditFunction;
use serde_json::{Value, json};

fn scheduled_event() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/eventbridge/scheduled-event.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

/// A cloud holding what it is given: tagged objects and tenant databases.
#[derive(Debug)]
struct Listed {
    resources: Vec<TaggedResource>,
    databases: Vec<String>,
}

#[async_trait]
impl TaggedInventory for Listed {
    async fn tagged_resources(&self, environment: Environment) -> CloudResult<Vec<TaggedResource>> {
        Ok(self
            .resources
            .iter()
            .filter(|r| {
                r.tags.get(TAG_ENVIRONMENT).map(String::as_str) == Some(environment.as_str())
            })
            .cloned()
            .collect())
    }
    fn visible_types(&self) -> Vec<ResourceType> {
        vec![ResourceType::DbSecret, ResourceType::CognitoSecret]
    }
    fn describe(&self) -> String {
        "fixed lists".to_owned()
    }
}

fn not_audit(action: &str) -> CloudError {
    CloudError::permanent("test", action, "the audit only lists databases")
}

#[async_trait]
impl DatabaseProvisioner for Listed {
    async fn create_database(&self, _: &DatabaseSpec) -> CloudResult<CloudResource> {
        Err(not_audit("CREATE DATABASE"))
    }
    async fn find_database(&self, _: &str) -> CloudResult<Option<CloudResource>> {
        Err(not_audit("SHOW DATABASES LIKE"))
    }
    async fn drop_database(&self, _: &str, _: &str) -> CloudResult<()> {
        Err(not_audit("DROP DATABASE"))
    }
    async fn list_databases(&self) -> CloudResult<Vec<String>> {
        Ok(self.databases.clone())
    }
}

fn audit_on(backend: &Backend, cloud: Listed) -> AuditFunction {
    let cloud = Arc::new(cloud);
    AuditFunction::from_audit(InstanceAudit::new(
        AuditPorts {
            instances: backend.instances.clone(),
            tenants: backend.store.clone(),
            inventory: cloud.clone(),
            databases: cloud,
            clock: Arc::new(SystemClock),
        },
        Environment::Dev,
    ))
}

#[tokio::test]
async fn a_backend_without_a_cloud_cannot_start_the_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let err = AuditFunction::new(&backend).expect_err("refused");
    assert_eq!(err.code(), ErrorCode::CloudUnavailable);
    assert_eq!(err.code().lambda_error_type(), "CloudUnavailableError");
}

#[tokio::test]
async fn a_scheduled_event_runs_the_audit_and_answers_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let admin = Actor::local_admin("ops@bbws.example");
    let t = crate::support::active_tenant_on(&backend, &admin, "Audited Hosting").await;
    let accepted = backend
        .instance_service()
        .request_provisioning(&admin, &t.id, NewInstance::standard(), None)
        .await
        .expect("accepted")
        .value;
    // The plan recorder ends it FAILED with an empty ledger: the instance holds nothing yet
    // still claims its database's name.
    let _ = backend
        .provisioning_engine()
        .run_or_refuse(&accepted.operation.id)
        .await;
    let instance = backend
        .instance_service()
        .get(&admin, &t.id, &accepted.instance.id)
        .await
        .expect("instance");
    assert_eq!(instance.state, InstanceState::Failed);

    // Clean: nothing tagged, only the instance's own database.
    let own_db = format!("tenant_{}_db", instance.resource_key);
    let clean = audit_on(
        &backend,
        Listed {
            resources: Vec::new(),
            databases: vec![own_db.clone()],
        },
    );
    let answer = clean.invoke(&scheduled_event()).await.expect("audited");
    assert_eq!(answer["clean"], true, "{answer}");
    assert_eq!(answer["findings"], 0);
    assert_eq!(answer["environment"], "dev");
    assert_eq!(
        answer["counts"],
        json!({"tenants": 1, "instances": 1, "resources": 0, "databases": 1})
    );
    assert_eq!(answer["uncheckedTypes"].as_array().map(Vec::len), Some(7));

    // A secret of the tenant its ledger does not hold, and a database nobody claims.
    let mut tags = Tags::new();
    tags.insert(TAG_TENANT.to_owned(), t.id.to_string());
    tags.insert(TAG_ENVIRONMENT.to_owned(), "dev".to_owned());
    let arn = "arn:aws:secretsmanager:af-south-1:123456789012:secret:bbws/dev/tenant-x/db-AbCdEf";
    let dirty = audit_on(
        &backend,
        Listed {
            resources: vec![TaggedResource {
                arn: arn.to_owned(),
                kind: "secretsmanager:secret".to_owned(),
                tags,
            }],
            databases: vec![own_db, "tenant_stray_db".to_owned()],
        },
    );
    let answer = dirty.invoke(&scheduled_event()).await.expect("audited");
    assert_eq!(answer["clean"], false, "{answer}");
    assert_eq!(answer["findings"], 2);
    assert_eq!(
        answer["orphans"],
        json!([{
            "arn": arn,
            "kind": "secretsmanager:secret",
            "tenantId": t.id.to_string(),
            "reason": "NOT_IN_LEDGER",
            "detail": format!("not in the ledger of the tenant's instance {}", instance.id),
            "instanceId": instance.id.to_string(),
        }])
    );
    assert_eq!(
        answer["untrackedDatabases"],
        json!([{"name": "tenant_stray_db"}])
    );
    assert_eq!(answer["drift"], json!([]));
    let at = answer["at"].as_str().expect("at");
    assert!(at.ends_with('Z') && at.len() == 24, "{at}");
}

#[tokio::test]
async fn an_event_that_is_not_a_schedule_is_rejected_without_an_audit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backend = Backend::open(&BackendConfig::local(BackendKind::Memory, dir.path()))
        .await
        .expect("memory backend");
    let function = audit_on(
        &backend,
        Listed {
            resources: Vec::new(),
            databases: Vec::new(),
        },
    );
    let mut ecs = scheduled_event();
    ecs["source"] = json!("aws.ecs");
    ecs["detail-type"] = json!("ECS Service Action");
    for event in [ecs, json!({"hello": "world"})] {
        let answer = function.invoke(&event).await.expect("answered");
        assert_eq!(answer["outcome"], "REJECTED", "{answer}");
        assert!(answer.get("findings").is_none(), "{answer}");
    }
}
