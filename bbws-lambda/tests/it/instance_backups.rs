//! Backup, list backups and restore (C13, C22, C14) through the router, the way `bbws serve`
//! runs them: on the plan recorder a backup is accepted and then fails with
//! `CLOUD_UNAVAILABLE` without failing the instance; bad bodies are 400; unknown, foreign and
//! unfinished backups are 404 / 422.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::instance_lifecycle::{activate, app_with_store, failed_instance};
use crate::support::{admin, call, link_names, viewer};

#[tokio::test]
async fn a_backup_is_accepted_listed_and_on_the_plan_recorder_fails_without_failing_the_instance() {
    let (app, store) = app_with_store();
    let (t, inst, path) = failed_instance(&app, "Backup Corp").await;
    activate(&app, &store, &t, &path).await;
    let (_, _, active) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    let links = link_names(&active);
    for name in ["backup", "restore", "backups"] {
        assert!(links.contains(&name.to_owned()), "{name} in {links:?}");
    }

    let (status, headers, body) = call(
        &app,
        Method::POST,
        &format!("{path}/backup"),
        Some(&admin()),
        Some(&json!({"description": "before the theme change"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let backup_id = body["backupId"].as_str().expect("backupId").to_owned();
    assert!(backup_id.starts_with("backup-"), "{body}");
    assert_eq!(body["instanceId"], inst.as_str());
    assert_eq!(body["operation"]["type"], "BACKUP");
    assert_eq!(body["operation"]["backupId"], backup_id.as_str());
    assert_eq!(body["operation"]["status"], "FAILED", "{body}");
    assert_eq!(body["operation"]["error"]["code"], "CLOUD_UNAVAILABLE");
    assert_eq!(
        body["status"], "ACTIVE",
        "a refused backup leaves the instance as it was"
    );
    let location = headers
        .get("location")
        .and_then(|v| v.to_str().ok())
        .expect("Location");
    assert_eq!(
        location,
        format!(
            "/v1.0/operations/{}",
            body["operationId"].as_str().expect("id")
        )
    );

    // A viewer of the tenant sees the list; the backup is there, FAILED with the reason.
    let (status, _, list) = call(
        &app,
        Method::GET,
        &format!("{path}/backups"),
        Some(&viewer(&[&t])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["count"], 1);
    let b = &list["backups"][0];
    assert_eq!(b["backupId"], backup_id.as_str());
    assert_eq!(b["status"], "FAILED");
    assert_eq!(b["reason"], "manual");
    assert_eq!(b["description"], "before the theme change");
    assert!(b["error"].as_str().is_some_and(|e| !e.is_empty()), "{b}");
    assert!(
        b["_links"].get("restore").is_none(),
        "a FAILED backup offers no restore"
    );

    // It cannot be restored; an unknown one is 404; a viewer may not back up.
    let (status, _, reply) = call(
        &app,
        Method::POST,
        &format!("{path}/restore"),
        Some(&admin()),
        Some(&json!({"backupId": backup_id})),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["error"]["code"], "BACKUP_NOT_RESTORABLE");
    let (status, _, reply) = call(
        &app,
        Method::POST,
        &format!("{path}/restore"),
        Some(&admin()),
        Some(&json!({"backupId": "backup-123e4567-e89b-12d3-a456-426614174000"})),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{reply}");
    assert_eq!(reply["error"]["code"], "BACKUP_NOT_FOUND");
    let (status, _, reply) = call(
        &app,
        Method::POST,
        &format!("{path}/backup"),
        Some(&viewer(&[&t])),
        None,
    )
    .await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status} {reply}"
    );
}

#[tokio::test]
async fn bad_backup_and_restore_bodies_are_400_and_wrong_states_422() {
    let (app, _) = app_with_store();
    let (_, _, path) = failed_instance(&app, "Bad Backup Corp").await;
    for (action, bad) in [
        ("backup", json!({"description": "x".repeat(501)})),
        ("backup", json!({"note": "unknown field"})),
        ("restore", json!({})),
        ("restore", json!({"backupId": "not-a-backup"})),
        ("restore", json!({"backupId": "backup-1", "force": true})),
    ] {
        let (status, _, reply) = call(
            &app,
            Method::POST,
            &format!("{path}/{action}"),
            Some(&admin()),
            Some(&bad),
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{action} {bad}: {reply}");
        assert_eq!(reply["error"]["code"], "VALIDATION_ERROR", "{reply}");
    }
    // The instance is FAILED (the plan recorder refused its provisioning): no backup.
    let (status, _, reply) = call(
        &app,
        Method::POST,
        &format!("{path}/backup"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{reply}");
    assert_eq!(reply["error"]["details"]["currentStatus"], "FAILED");
    let (status, _, list) = call(
        &app,
        Method::GET,
        &format!("{path}/backups"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["count"], 0);
    assert_eq!(list["backups"], json!([]));
}
