//! The examples do what they print.

use bbws_core::ports::{Outbox as _, TenantDao as _};
use bbws_core::store::EmbeddedStore;
use bbws_core::tenant::TenantStatus;
use bbws_examples::{EVENT_LOG_FILE, tenant_lifecycle};
use serde_json::Value;

#[tokio::test]
async fn tenant_lifecycle_creates_activates_and_parks_one_tenant() {
    let dir = tempfile::tempdir().expect("temp dir");
    let report = tenant_lifecycle(dir.path()).await.expect("example runs");

    assert_eq!(report.status, TenantStatus::Parked);
    assert_eq!(report.version, 3, "create, activate, park");
    assert_eq!(
        report.audit_types(),
        ["TENANT_CREATED", "STATUS_CHANGED", "TENANT_PARKED"]
    );
    assert!(
        report
            .audit
            .iter()
            .all(|e| e.actor == "ops@example.com" && e.tenant_id == report.tenant_id)
    );
    assert_eq!(report.audit[1].details["newStatus"], "ACTIVE");
    assert_eq!(report.audit[1].details["reason"], "provisioning complete");
    assert_eq!(report.audit[2].details["newStatus"], "PARKED");

    // Every change's event reached the log, in order.
    assert_eq!(report.events_published, 3);
    assert_eq!(report.event_log, dir.path().join(EVENT_LOG_FILE));
    let log = std::fs::read_to_string(&report.event_log).expect("event log");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 3);
    let types: Vec<&str> = lines
        .iter()
        .filter_map(|e| e["detail-type"].as_str())
        .collect();
    assert_eq!(
        types,
        ["TENANT_CREATED", "TENANT_STATUS_CHANGED", "TENANT_PARKED"]
    );
    assert!(
        lines
            .iter()
            .all(|e| e["detail"]["tenantId"] == report.tenant_id.to_string())
    );

    // The store is persistent: reopened, it holds the parked tenant and an empty outbox.
    let store = EmbeddedStore::open_dir(dir.path()).expect("reopen");
    let stored = store
        .get_tenant(&report.tenant_id)
        .await
        .expect("read")
        .expect("tenant persisted");
    assert_eq!((stored.status, stored.version), (TenantStatus::Parked, 3));
    assert!(store.pending(10).await.expect("outbox").is_empty());
}

#[tokio::test]
async fn tenant_lifecycle_twice_on_one_directory_is_a_name_conflict() {
    let dir = tempfile::tempdir().expect("temp dir");
    tenant_lifecycle(dir.path()).await.expect("first run");
    let err = tenant_lifecycle(dir.path())
        .await
        .expect_err("the name is taken");
    assert_eq!(err.code().as_str(), "CONFLICT");
}
