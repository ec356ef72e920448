use std::os::unix::fs::PermissionsExt as _;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::support::{Server, token};

async fn send(req: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let res = req.send().await.expect("request");
    let status = res.status();
    (status, res.json().await.expect("json body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = token(dir.path(), "admin", "Admins", "");
    let http = reqwest::Client::new();

    let server = Server::start(dir.path());
    let mut acknowledged: Vec<(String, u64)> = Vec::new();
    for i in 0..8 {
        let (status, body) = send(
            http.post(format!("{}/v1.0/tenants", server.url))
                .bearer_auth(&admin)
                .json(&json!({"organizationName": format!("Crash Test {i}"), "contactEmail": "ops@crash.test", "environment": "dev"})),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        acknowledged.push((body["tenantId"].as_str().expect("id").to_owned(), 1));
    }
    // Take the first one through two more writes.
    let first = acknowledged[0].0.clone();
    let (status, _) = send(
        http.patch(format!("{}/v1.0/tenants/{first}/status", server.url))
            .bearer_auth(&admin)
            .json(&json!({"status": "ACTIVE"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = send(
        http.post(format!(
            "{}/v1.0/tenants/{first}/lifecycle/park",
            server.url
        ))
        .bearer_auth(&admin)
        .json(&json!({"reason": "Customer asked for a pause"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    acknowledged[0].1 = 3;
    server.kill9();

    let server = Server::start(dir.path());
    for (id, version) in &acknowledged {
        let (status, body) = send(
            http.get(format!("{}/v1.0/tenants/{id}", server.url))
                .bearer_auth(&admin),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{id} lost after kill -9");
        assert_eq!(body["version"], json!(version), "{id}");
    }
    let (status, audit) = send(
        http.get(format!("{}/v1.0/tenants/{first}/audit", server.url))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let types: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|e| e["eventType"].as_str().expect("type"))
        .collect();
    assert_eq!(types, ["TENANT_CREATED", "STATUS_CHANGED", "TENANT_PARKED"]);
    let (_, list) = send(
        http.get(format!("{}/v1.0/tenants?limit=100", server.url))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(list["count"], json!(8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_verified_and_the_secret_is_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = Server::start(dir.path());
    let mode = std::fs::metadata(dir.path().join("jwt-secret"))
        .expect("secret")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);

    let http = reqwest::Client::new();
    let url = format!("{}/v1.0/tenants", server.url);
    let (status, body) = send(http.get(&url)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "UNAUTHORIZED");

    // A token from another data directory's secret is refused.
    let other = tempfile::tempdir().expect("tempdir");
    let foreign = token(other.path(), "admin", "Admins", "");
    assert_eq!(
        send(http.get(&url).bearer_auth(foreign)).await.0,
        StatusCode::UNAUTHORIZED
    );

    let ok = token(dir.path(), "admin", "Admins", "");
    assert_eq!(send(http.get(&url).bearer_auth(ok)).await.0, StatusCode::OK);

    // The document and health are public.
    let (status, doc) = send(http.get(format!("{}/v1.0/openapi.json", server.url))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(doc["paths"]["/v1.0/tenants"].is_object());
}

async fn create_one(server: &Server, admin: &str, name: &str) {
    let (status, body) = send(
        reqwest::Client::new()
            .post(format!("{}/v1.0/tenants", server.url))
            .bearer_auth(admin)
            .json(&json!({"organizationName": name, "contactEmail": "ops@ev.test", "environment": "sit"})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

fn event_log(dir: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_of_acknowledged_changes_survive_kill_9() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = token(dir.path(), "admin", "Admins", "");
    let server = Server::start(dir.path());
    create_one(&server, &admin, "Evented").await;
    // Killed right after the acknowledgement, perhaps before the relay ran, perhaps in the middle.
    server.kill9();
    // The next start publishes what is pending; a graceful stop waits for that first drain.
    Server::start(dir.path()).terminate();
    let lines = event_log(dir.path());
    assert!(
        !lines.is_empty(),
        "the acknowledged change's event was lost"
    );
    // A crash between publishing and forgetting may deliver the same event again (at least
    // once), never another one.
    assert!(
        lines
            .iter()
            .all(|l| l["id"] == lines[0]["id"] && l["detail-type"] == "TENANT_CREATED"),
        "{lines:?}"
    );
    assert_eq!(lines[0]["source"], "bbws.tenant-management");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_published_once_in_normal_operation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let admin = token(dir.path(), "admin", "Admins", "");
    let server = Server::start(dir.path());
    create_one(&server, &admin, "Once One").await;
    create_one(&server, &admin, "Once Two").await;
    server.terminate();
    Server::start(dir.path()).terminate();
    let lines = event_log(dir.path());
    let names: Vec<&str> = lines
        .iter()
        .map(|l| l["detail"]["organizationName"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Once One", "Once Two"]);
}
