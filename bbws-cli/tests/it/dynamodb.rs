//! The binary on DynamoDB (a moto server): `bbws table create`, the tenant commands and
//! `bbws serve --backend dynamodb` on one table, each seeing what the others wrote.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{BIN, Server, stdout, token};

/// Test credentials and region for the child processes only (moto accepts any); moto's
/// `default` bus exists, so published events have somewhere to go.
pub const AWS_ENV: [(&str, &str); 4] = [
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "us-east-1"),
    ("EVENT_BUS_NAME", "default"),
];

static TABLES: AtomicUsize = AtomicUsize::new(0);

pub fn table_name() -> String {
    format!(
        "bbws-cli-test-{}-{}",
        std::process::id(),
        TABLES.fetch_add(1, Ordering::SeqCst)
    )
}

fn bbws_aws(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .envs(AWS_ENV)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("DYNAMODB_TABLE")
        .env_remove("BBWS_BACKEND")
        .output()
        .expect("run bbws")
}

/// Creates a tenants table on the moto endpoint through the CLI.
pub fn create_table(table: &str, endpoint: &str) {
    ok(&bbws_aws(&[
        "table",
        "create",
        "--service",
        "tenants",
        "--table",
        table,
        "--endpoint-url",
        endpoint,
    ]));
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "bbws failed ({}): {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    stdout(o)
}

#[test]
fn table_create_is_harmless_when_repeated() {
    let endpoint = crate::moto::endpoint();
    let table = table_name();
    let args = [
        "table",
        "create",
        "--service",
        "tenants",
        "--table",
        &table,
        "--endpoint-url",
        endpoint,
    ];
    assert_eq!(
        ok(&bbws_aws(&args)),
        format!("created table {table} (GSI1-GSI4, on demand, TTL on ttl)")
    );
    assert_eq!(
        ok(&bbws_aws(&args)),
        format!("table {table} already exists")
    );

    // Without --table, the name comes from the environment: bbws-tenants-{env}.
    let o = Command::new(BIN)
        .args([
            "table",
            "create",
            "--service",
            "tenants",
            "--endpoint-url",
            endpoint,
        ])
        .args(["--environment", "sit"])
        .envs(AWS_ENV)
        .env_remove("DYNAMODB_TABLE")
        .output()
        .expect("run bbws");
    assert_eq!(
        ok(&o),
        "created table bbws-tenants-sit (GSI1-GSI4, on demand, TTL on ttl)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_and_the_server_share_one_table() {
    let endpoint = crate::moto::endpoint();
    let table = table_name();
    ok(&bbws_aws(&[
        "table",
        "create",
        "--service",
        "tenants",
        "--table",
        &table,
        "--endpoint-url",
        endpoint,
    ]));
    let dir = tempfile::tempdir().expect("tempdir");
    let on_table = ["--table", table.as_str(), "--endpoint-url", endpoint];

    // Written by the CLI ...
    let mut args = vec![
        "tenant",
        "create",
        "--name",
        "Acme Corp",
        "--email",
        "ops@acme.example",
    ];
    args.extend(["--environment", "dev", "-o", "json", "--data-dir"]);
    let dir_arg = dir.path().to_str().expect("utf-8 path");
    args.push(dir_arg);
    args.extend(on_table);
    let created: Value = serde_json::from_str(&ok(&bbws_aws(&args))).expect("json");
    let acme = created["tenantId"].as_str().expect("id").to_owned();
    assert!(
        !dir.path().join("bbws.redb").exists(),
        "nothing went to the embedded store"
    );

    // ... read, refused and added to by the server ...
    let admin = token(dir.path(), "admin", "Admins", "");
    let server = Server::start_with(
        dir.path(),
        &[&["--backend", "dynamodb"][..], &on_table[..]].concat(),
        &AWS_ENV,
    );
    let http = reqwest::Client::new();
    let api = format!("{}/v1.0", server.url);
    let res = http
        .get(format!("{api}/tenants/{acme}"))
        .bearer_auth(&admin)
        .send()
        .await
        .expect("get");
    assert_eq!(res.status(), StatusCode::OK);
    let body: Value = res.json().await.expect("json");
    assert_eq!(body["organizationName"], "Acme Corp");

    let res = http
        .post(format!("{api}/tenants"))
        .bearer_auth(&admin)
        .json(&json!({"organizationName": "ACME CORP", "contactEmail": "ops@acme.example", "environment": "prod"}))
        .send()
        .await
        .expect("post");
    assert_eq!(
        res.status(),
        StatusCode::CONFLICT,
        "the name guard is shared"
    );
    let res = http
        .post(format!("{api}/tenants"))
        .bearer_auth(&admin)
        .json(&json!({"organizationName": "Beta Ltd", "contactEmail": "ops@beta.example", "environment": "prod"}))
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), StatusCode::CREATED);
    server.terminate();

    // ... and the CLI lists both.
    let mut args = vec!["tenant", "list", "-o", "json", "--data-dir", dir_arg];
    args.extend(on_table);
    let listed: Value = serde_json::from_str(&ok(&bbws_aws(&args))).expect("json");
    let mut names: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|t| t["organizationName"].as_str().expect("name"))
        .collect();
    names.sort_unstable();
    assert_eq!(names, ["Acme Corp", "Beta Ltd"]);
}
