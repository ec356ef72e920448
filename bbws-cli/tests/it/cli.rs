use serde_json::Value;

use crate::support::{bbws, stdout};

fn json(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

#[test]
fn tenant_commands_work_on_the_data_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let created = bbws(&[
        "tenant",
        "create",
        "--data-dir",
        d,
        "-o",
        "json",
        "--name",
        "Cli Corp",
        "--email",
        "ops@cli.test",
        "--environment",
        "prod",
        "--metadata",
        r#"{"tier":"gold"}"#,
    ]);
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let t = json(&created);
    let id = t["tenantId"].as_str().expect("id").to_owned();
    assert_eq!(t["status"], "PENDING");
    assert_eq!(t["createdBy"], "operator@localhost.localdomain");

    assert!(
        bbws(&["tenant", "status", &id, "active", "--data-dir", d])
            .status
            .success()
    );
    let parked = bbws(&[
        "tenant",
        "park",
        &id,
        "--reason",
        "Quiet season for this shop",
        "--data-dir",
        d,
        "-o",
        "json",
    ]);
    assert_eq!(json(&parked)["status"], "PARKED");

    let listed = json(&bbws(&[
        "tenant",
        "list",
        "--data-dir",
        d,
        "-o",
        "json",
        "--status",
        "PARKED",
    ]));
    assert_eq!(listed["count"], 1);

    let table = stdout(&bbws(&["tenant", "get", &id, "--data-dir", d]));
    assert!(
        table.contains("PARKED") && table.contains("Cli Corp"),
        "{table}"
    );

    let audit = json(&bbws(&[
        "tenant",
        "audit",
        &id,
        "--data-dir",
        d,
        "-o",
        "json",
    ]));
    let types: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["eventType"].as_str().expect("t"))
        .collect();
    assert_eq!(types, ["TENANT_CREATED", "STATUS_CHANGED", "TENANT_PARKED"]);

    // Every command published its events.
    let events = std::fs::read_to_string(dir.path().join("events.jsonl")).expect("event log");
    assert_eq!(events.lines().count(), 3);
}

#[test]
fn each_error_class_has_its_exit_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let d = dir.path().to_str().expect("utf-8 path");
    let create = |name: &str| {
        bbws(&[
            "tenant",
            "create",
            "--data-dir",
            d,
            "--name",
            name,
            "--email",
            "ops@x.test",
            "--environment",
            "dev",
            "-o",
            "json",
        ])
    };
    let id = json(&create("Exit Codes"))
        .get("tenantId")
        .and_then(Value::as_str)
        .expect("id")
        .to_owned();

    let code = |o: std::process::Output| o.status.code().expect("exit code");
    assert_eq!(code(create("EXIT codes")), 6, "conflict");
    assert_eq!(code(create("<bad>")), 3, "validation");
    assert_eq!(
        code(bbws(&[
            "tenant",
            "get",
            "tenant-00000000-0000-4000-8000-000000000000",
            "--data-dir",
            d
        ])),
        5,
        "not found"
    );
    assert_eq!(
        code(bbws(&["tenant", "get", "nope", "--data-dir", d])),
        3,
        "bad id"
    );
    assert_eq!(
        code(bbws(&[
            "tenant",
            "park",
            &id,
            "--reason",
            "Not active yet, so no",
            "--data-dir",
            d
        ])),
        7,
        "invalid state"
    );
    assert_eq!(code(bbws(&["tenant", "bogus"])), 2, "usage");

    let err = bbws(&[
        "tenant",
        "park",
        &id,
        "--reason",
        "Not active yet, so no",
        "--data-dir",
        d,
    ]);
    let stderr = String::from_utf8_lossy(&err.stderr);
    assert!(
        stderr.contains("INVALID_STATUS_TRANSITION") && stderr.contains("allowedTransitions"),
        "{stderr}"
    );
}

#[test]
fn a_busy_data_directory_is_reported_clearly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _server = crate::support::Server::start(dir.path());
    let o = bbws(&[
        "tenant",
        "list",
        "--data-dir",
        dir.path().to_str().expect("utf-8"),
    ]);
    assert_eq!(o.status.code(), Some(10));
    assert!(String::from_utf8_lossy(&o.stderr).contains("in use by another process"));
}
