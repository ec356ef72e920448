//! The live reads of an instance (C6 status, C17 health) through the router, on the plan
//! recorder `bbws serve` uses without AWS: the answers say what is true for the instance's
//! state (a FAILED instance whose provisioning was refused has no service, and is unhealthy),
//! links follow the state, and the usual 400/404 rules hold.

use axum::http::{Method, StatusCode};

use crate::instance_lifecycle::{app_with_store, failed_instance};
use crate::support::{admin, call, link_names, viewer};

#[tokio::test]
async fn status_and_health_of_an_instance_without_a_service_say_so() {
    let (app, _) = app_with_store();
    let (t, inst, path) = failed_instance(&app, "Live Reads Ltd").await;

    let (status, _, body) = call(
        &app,
        Method::GET,
        &format!("{path}/status"),
        Some(&viewer(&[&t])),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["instanceId"], inst.as_str());
    assert_eq!(body["tenantId"], t.as_str());
    assert_eq!(body["provisioningState"], "FAILED");
    assert_eq!(body["serviceStatus"], "NOT_PROVISIONED");
    assert!(body["runningCount"].is_null(), "{body}");
    assert_eq!(body["tasks"], serde_json::json!([]));
    let links = link_names(&body);
    assert!(links.contains(&"instance".to_owned()), "{links:?}");
    assert!(links.contains(&"health".to_owned()), "{links:?}");
    assert!(
        !links.contains(&"suspend".to_owned()) && !links.contains(&"scale".to_owned()),
        "a FAILED instance offers no suspend or scale: {links:?}"
    );
    assert_eq!(body["_links"]["instance"]["href"], path.as_str());

    let (status, _, body) = call(
        &app,
        Method::GET,
        &format!("{path}/health"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["healthStatus"], "UNHEALTHY", "{body}");
    for c in [
        "ecs",
        "targetGroup",
        "efsAccessPoint",
        "database",
        "cognitoUserPool",
    ] {
        assert_eq!(
            body["components"][c]["status"], "NOT_APPLICABLE",
            "{c}: nothing was created: {body}"
        );
    }

    // The instance links to both reads.
    let (_, _, inst_body) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    let links = link_names(&inst_body);
    assert!(links.contains(&"status".to_owned()) && links.contains(&"health".to_owned()));
}

#[tokio::test]
async fn live_reads_refuse_bad_ids_and_hide_other_tenants() {
    let (app, _) = app_with_store();
    let (t, _, path) = failed_instance(&app, "Hidden Reads Ltd").await;
    for read in ["status", "health"] {
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("/v1.0/tenants/{t}/instances/not-an-id/{read}"),
            Some(&admin()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{read}: {body}");
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!(
                "/v1.0/tenants/{t}/instances/inst-00000000-0000-4000-8000-000000000000/{read}"
            ),
            Some(&admin()),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{read}: {body}");
        assert_eq!(body["error"]["code"], "INSTANCE_NOT_FOUND");
        let other = "tenant-00000000-0000-4000-8000-000000000000";
        let (status, _, body) = call(
            &app,
            Method::GET,
            &format!("{path}/{read}"),
            Some(&viewer(&[other])),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{read}: {body}");
    }
}
