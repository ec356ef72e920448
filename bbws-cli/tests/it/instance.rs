//! `bbws instance ...` driving the real binary on an embedded data directory, whose cloud is the
//! plan recorder.

use serde_json::Value;

use crate::support::{bbws, stdout};

pub(crate) fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

fn tenant(d: &str) -> String {
    let created = bbws(&[
        "tenant",
        "create",
        "--data-dir",
        d,
        "-o",
        "json",
        "--name",
        "Instance Corp",
        "--email",
        "ops@instance.test",
        "--environment",
        "dev",
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    json(&created)["tenantId"]
        .as_str()
        .expect("tenant id")
        .to_owned()
}

#[test]
fn plan_prints_the_aws_calls_and_names_of_a_tenant() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let t = tenant(d);
    let out = bbws(&[
        "instance",
        "plan",
        &t,
        "--data-dir",
        d,
        "--resource-key",
        "acme",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = stdout(&out);
    assert!(text.contains("cognito-idp:CreateUserPool"), "{text}");
    assert!(text.contains("ecs:CreateService"), "{text}");
    assert!(text.contains("acme"), "{text}");
    // Planning created nothing.
    let listed = json(&bbws(&[
        "instance",
        "list",
        &t,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    assert_eq!(listed.as_array().map(Vec::len), Some(0), "{listed}");
}

#[test]
fn provision_on_the_embedded_backend_is_refused_clearly_and_recorded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let t = tenant(d);
    let out = bbws(&["instance", "provision", &t, "--data-dir", d, "-o", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(
        stderr.contains("The plan recorder cannot run operations"),
        "{stderr}"
    );
    assert!(stderr.contains("error[CLOUD_UNAVAILABLE]"), "{stderr}");
    let op = json(&out);
    assert_eq!(op["status"], "FAILED", "{op}");
    assert_eq!(op["error"]["code"], "CLOUD_UNAVAILABLE");
    let op_id = op["operationId"].as_str().expect("operation id").to_owned();
    let inst_id = op["instanceId"].as_str().expect("instance id").to_owned();

    let listed = json(&bbws(&[
        "instance",
        "list",
        &t,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    assert_eq!(listed[0]["instanceId"], inst_id.as_str(), "{listed}");
    assert_eq!(listed[0]["status"], "FAILED");

    let got = json(&bbws(&[
        "instance",
        "get",
        &t,
        &inst_id,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    assert_eq!(got["currentOperationId"], op_id.as_str(), "{got}");
    assert_eq!(got["lastError"]["code"], "CLOUD_UNAVAILABLE");

    let shown = bbws(&["instance", "operation", &op_id, "--data-dir", d]);
    assert!(shown.status.success());
    let text = stdout(&shown);
    assert!(text.contains("PROVISION FAILED"), "{text}");
    assert!(text.contains("create-cognito-pool"), "{text}");
}

/// A tenant with a FAILED instance (the plan recorder refused its provisioning).
pub(crate) fn failed_instance(d: &str) -> (String, String) {
    let t = tenant(d);
    let out = bbws(&[
        "instance",
        "provision",
        &t,
        "--data-dir",
        d,
        "-o",
        "json",
        "--resource-key",
        "lifecorp",
    ]);
    assert_eq!(out.status.code(), Some(10));
    let inst = json(&out)["instanceId"]
        .as_str()
        .expect("instance id")
        .to_owned();
    (t, inst)
}

#[test]
fn lifecycle_commands_refuse_the_wrong_state_and_bad_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    let suspend = bbws(&[
        "instance",
        "suspend",
        &t,
        &i,
        "--reason",
        "customer asked for a pause",
        "--data-dir",
        d,
    ]);
    let stderr = String::from_utf8_lossy(&suspend.stderr).into_owned();
    assert_eq!(suspend.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("INVALID_STATUS_TRANSITION"), "{stderr}");
    let short = bbws(&[
        "instance",
        "park",
        &t,
        &i,
        "--reason",
        "short",
        "--data-dir",
        d,
    ]);
    let stderr = String::from_utf8_lossy(&short.stderr).into_owned();
    assert_eq!(short.status.code(), Some(3), "{stderr}");
    let scale = bbws(&["instance", "scale", &t, &i, "50", "--data-dir", d]);
    let stderr = String::from_utf8_lossy(&scale.stderr).into_owned();
    assert!(!scale.status.success(), "{stderr}");
    assert!(stderr.contains("SCALE_LIMIT_EXCEEDED"), "{stderr}");
    // Nothing was accepted: the instance still names the refused provisioning.
    let got = json(&bbws(&[
        "instance",
        "get",
        &t,
        &i,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    assert_eq!(got["status"], "FAILED", "{got}");
}

#[test]
fn status_and_health_answer_what_is_true_for_the_state() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    let status = bbws(&["instance", "status", &t, &i, "--data-dir", d, "-o", "json"]);
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let status = json(&status);
    assert_eq!(status["provisioningState"], "FAILED", "{status}");
    assert_eq!(status["serviceStatus"], "NOT_PROVISIONED", "{status}");
    let health = bbws(&["instance", "health", &t, &i, "--data-dir", d, "-o", "json"]);
    assert!(
        health.status.success(),
        "{}",
        String::from_utf8_lossy(&health.stderr)
    );
    let health = json(&health);
    assert_eq!(health["healthStatus"], "UNHEALTHY", "{health}");
    assert_eq!(health["components"]["ecs"]["status"], "NOT_APPLICABLE");
    let table = bbws(&["instance", "health", &t, &i, "--data-dir", d]);
    let text = stdout(&table);
    assert!(
        text.contains("UNHEALTHY") && text.contains("cognitoUserPool"),
        "{text}"
    );
    let missing = bbws(&[
        "instance",
        "status",
        &t,
        "inst-00000000-0000-4000-8000-000000000000",
        "--data-dir",
        d,
    ]);
    let stderr = String::from_utf8_lossy(&missing.stderr).into_owned();
    assert!(!missing.status.success(), "{stderr}");
    assert!(stderr.contains("INSTANCE_NOT_FOUND"), "{stderr}");
}

#[test]
fn terraform_writes_the_repository_layout() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    let repo = tempfile::tempdir().expect("tempdir");
    let out = bbws(&[
        "instance",
        "terraform",
        &t,
        &i,
        "--data-dir",
        d,
        "--out",
        repo.path().to_str().expect("utf-8 path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tfvars = std::fs::read_to_string(repo.path().join("tenants/lifecorp/dev.tfvars"))
        .expect("the tfvars were written");
    assert!(tfvars.contains("tenant_name"), "{tfvars}");
    assert!(
        repo.path()
            .join(".github/workflows/deploy-tenant-lifecorp.yml")
            .exists()
    );
    assert!(
        stdout(&out).contains("tenants/lifecorp/main.tf"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn audit_without_a_live_cloud_is_refused_and_its_help_names_the_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    tenant(d);
    let out = bbws(&["instance", "audit", "--data-dir", d]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(10), "{stderr}");
    assert!(stderr.contains("error[CLOUD_UNAVAILABLE]"), "{stderr}");
    assert!(stderr.contains("no cloud to look at"), "{stderr}");
    assert!(stdout(&out).is_empty(), "nothing pretends to be a report");

    let help = bbws(&["instance", "audit", "--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    assert!(
        text.contains("Exit status: 0 clean; 1 orphans, untracked databases or drift found"),
        "{text}"
    );
    let listed = stdout(&bbws(&["instance", "--help"]));
    assert!(listed.contains("audit"), "{listed}");
}

#[test]
fn backup_commands_refuse_a_failed_instance_and_unknown_backups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let (t, i) = failed_instance(d);
    let backup = bbws(&["instance", "backup", &t, &i, "--data-dir", d]);
    let stderr = String::from_utf8_lossy(&backup.stderr).into_owned();
    assert_eq!(backup.status.code(), Some(7), "{stderr}");
    assert!(stderr.contains("INVALID_STATUS_TRANSITION"), "{stderr}");
    let restore = bbws(&[
        "instance",
        "restore",
        &t,
        &i,
        "backup-123e4567-e89b-12d3-a456-426614174000",
        "--data-dir",
        d,
    ]);
    let stderr = String::from_utf8_lossy(&restore.stderr).into_owned();
    assert_eq!(restore.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("BACKUP_NOT_FOUND"), "{stderr}");
    let bad = bbws(&["instance", "restore", &t, &i, "nightly", "--data-dir", d]);
    assert_eq!(
        bad.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let list = bbws(&["instance", "backups", &t, &i, "--data-dir", d, "-o", "json"]);
    assert!(
        list.status.success(),
        "{}",
        String::from_utf8_lossy(&list.stderr)
    );
    assert_eq!(json(&list), serde_json::json!([]));
}
