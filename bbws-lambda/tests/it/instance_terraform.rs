//! C21 through the router: the tenant's Terraform as `{files}` with links, for callers who may
//! provision; 4xx for the rest.

use axum::http::{Method, StatusCode};
use serde_json::json;

use crate::support::{admin, app, call, create_named, link_names, viewer};

#[tokio::test]
async fn the_terraform_of_an_instance_is_served_to_those_who_may_provision() {
    let app = app();
    let t = create_named(&app, "Terraform Corp").await;
    let (status, _, accepted) = call(
        &app,
        Method::POST,
        &format!("/v1.0/tenants/{t}/instances"),
        Some(&admin()),
        Some(&json!({"tier": "ENTERPRISE", "resourceKey": "tfcorp"})),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{accepted}");
    let inst = accepted["instanceId"].as_str().expect("instanceId");
    let path = format!("/v1.0/tenants/{t}/instances/{inst}/terraform");

    let (status, _, body) = call(&app, Method::GET, &path, Some(&admin()), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["resourceKey"], "tfcorp");
    assert_eq!(body["instanceId"], inst);
    let files = body["files"].as_object().expect("files");
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            ".github/workflows/deploy-tenant-tfcorp.yml",
            "tenants/tfcorp/backend.tf",
            "tenants/tfcorp/dev.tfvars",
            "tenants/tfcorp/main.tf",
            "tenants/tfcorp/outputs.tf",
            "tenants/tfcorp/providers.tf",
            "tenants/tfcorp/variables.tf",
        ]
    );
    let tfvars = files["tenants/tfcorp/dev.tfvars"].as_str().expect("text");
    assert!(
        tfvars.contains("task_cpu                         = 2048"),
        "{tfvars}"
    );
    assert!(
        files["tenants/tfcorp/backend.tf"]
            .as_str()
            .is_some_and(|b| b.contains("\"tenants/tfcorp/terraform.tfstate\"")),
        "{body}"
    );
    assert_eq!(link_names(&body), ["instance", "self"]);
    assert_eq!(body["_links"]["self"]["href"], path.as_str());

    // A member who may only read gets 403; a bad or unknown instance id is a 4xx.
    let (status, _, refused) = call(&app, Method::GET, &path, Some(&viewer(&[&t])), None).await;
    assert!(
        matches!(status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND),
        "{status} {refused}"
    );
    let (status, _, bad) = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{t}/instances/inst-nope/terraform"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
    let (status, _, missing) = call(
        &app,
        Method::GET,
        &format!("/v1.0/tenants/{t}/instances/inst-00000000-0000-4000-8000-000000000000/terraform"),
        Some(&admin()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{missing}");
    assert_eq!(missing["error"]["code"], "INSTANCE_NOT_FOUND");
}
