//! The plan recorder: the calls a run would make, with names and tags; nothing created.

use std::sync::Arc;

use bbws_core::ErrorCode;
use bbws_core::instance::{
    DeprovisionOptions, InstanceCloud, InstanceDao, NewInstance, PlanRecorder, ProvisioningEngine,
    TokioTimer,
};

use super::World;
use crate::support::platform_admin;

#[tokio::test(start_paused = true)]
async fn a_provisioning_plan_lists_every_call_with_names_and_tags() {
    let w = World::new().await;
    let plan = w
        .service
        .plan_provisioning(&platform_admin(), &w.tenant.id, NewInstance::standard())
        .await
        .expect("planned");
    assert!(plan.source.contains("plan recorder"), "{}", plan.source);
    let key = bbws_core::instance::ResourceKey::derive(&w.tenant.id);
    let actions: Vec<String> = plan
        .calls
        .iter()
        .map(|c| format!("{}:{}", c.service, c.action))
        .collect();
    for expected in [
        "cognito-idp:CreateUserPool",
        "cognito-idp:SetUserPoolMfaConfig",
        "cognito-idp:CreateUserPoolDomain",
        "cognito-idp:CreateUserPoolClient",
        "cognito-idp:CreateGroup",
        "secretsmanager:CreateSecret",
        "elasticfilesystem:CreateAccessPoint",
        "elasticloadbalancing:CreateTargetGroup",
        "elasticloadbalancing:CreateRule",
        "ecs:RegisterTaskDefinition",
        "ecs:CreateService",
        "application-autoscaling:RegisterScalableTarget",
        "application-autoscaling:PutScalingPolicy",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} missing: {actions:?}"
        );
    }
    let call = |action: &str| {
        plan.calls
            .iter()
            .find(|c| c.action == action)
            .unwrap_or_else(|| panic!("{action} not planned"))
    };
    assert_eq!(
        call("CreateService").resource,
        format!("tenant-{key}-wordpress")
    );
    assert_eq!(
        call("CreateUserPool").resource,
        format!("bbws-tenant-{key}-user-pool")
    );
    assert_eq!(call("CreateTargetGroup").resource, format!("bbws-{key}-tg"));
    let tags = &call("CreateService").tags;
    assert_eq!(tags.get("bbws:tenant-id"), Some(&w.tenant.id.to_string()));
    assert_eq!(
        tags.get("bbws:component").map(String::as_str),
        Some("wordpress")
    );
    assert_eq!(
        call("CreateAccessPoint")
            .tags
            .get("bbws:component")
            .map(String::as_str),
        Some("efs")
    );
    // The service is planned after the rule it needs; secrets never show their values.
    let pos = |a: &str| {
        actions
            .iter()
            .position(|x| x.ends_with(a))
            .expect("planned")
    };
    assert!(pos(":CreateRule") < pos(":CreateService"));
    for c in plan.calls.iter().filter(|c| c.action == "CreateSecret") {
        let keys: Vec<&String> = c.params.as_object().expect("params").keys().collect();
        assert_eq!(
            keys,
            ["ClientRequestToken"],
            "a secret value leaked into the plan"
        );
    }
    let rendered = plan.render();
    assert!(!rendered.contains("client_secret"), "{rendered}");
    assert!(rendered.contains("CreateService"));

    // Planning stored nothing and created nothing.
    assert!(
        w.tenants
            .store
            .list_instances(&w.tenant.id)
            .await
            .expect("listable")
            .is_empty()
    );
    assert!(w.fake.objects().is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_deprovisioning_plan_archives_then_deletes_what_the_ledger_holds() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let plan = w
        .service
        .plan_deprovisioning(
            &platform_admin(),
            &w.tenant.id,
            &instance.id,
            DeprovisionOptions {
                archive_data: true,
                reason: None,
            },
        )
        .await
        .expect("planned");
    let actions: Vec<&str> = plan.calls.iter().map(|c| c.action.as_str()).collect();
    let first_delete = actions
        .iter()
        .position(|a| a.starts_with("Delete") || a.starts_with("DROP"))
        .expect("deletes planned");
    let last_archive = actions
        .iter()
        .rposition(|a| a.starts_with("RunTask (mysqldump") || a.starts_with("RunTask (tar"))
        .expect("archives planned");
    assert!(last_archive < first_delete, "{actions:?}");
    assert!(actions.contains(&"DeleteUserPool"));
    assert!(actions.contains(&"DeleteService"));
    // Deletes name the real ids from the ledger.
    let service_arn = instance
        .resources
        .get(&bbws_core::instance::ResourceType::TargetGroup)
        .expect("tg arn");
    assert!(
        plan.calls
            .iter()
            .any(|c| c.action == "DeleteTargetGroup" && &c.resource == service_arn)
    );
    // The real instance is untouched.
    assert_eq!(w.instance(&instance).await, instance);
    assert!(!w.fake.live().is_empty());
}

#[tokio::test(start_paused = true)]
async fn the_engine_refuses_to_run_operations_on_a_plan_only_cloud() {
    let w = World::new().await;
    let accepted = w.request().await;
    let recorder = Arc::new(PlanRecorder::new());
    let cloud = InstanceCloud::plan(&recorder);
    assert!(cloud.describe().contains("creates nothing"));
    let engine = ProvisioningEngine::new(
        w.tenants.store.clone(),
        cloud,
        w.engine.config().clone(),
        w.tenants.clock.clone(),
        Arc::new(TokioTimer),
        Arc::new(bbws_core::ids::RandomIds),
    );
    let err = engine
        .run(&accepted.operation.id)
        .await
        .expect_err("plan-only cloud");
    assert_eq!(err.code(), ErrorCode::CloudUnavailable);
    assert!(recorder.calls().is_empty());
}
