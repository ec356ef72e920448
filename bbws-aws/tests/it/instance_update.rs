//! The rolling update (C4) on AWS: the real engine and adapters against moto and MariaDB. An
//! instance provisioned to ACTIVE is updated to another WordPress version and then another
//! tier; after each run ECS's `DescribeServices` shows the service on the new task definition
//! revision, with the rolling deployment configuration (minimum healthy 100 %, maximum 200 %,
//! circuit breaker with rollback), and `DescribeTaskDefinition` shows that revision's image and
//! size. The health wait runs through the test's probe as in `instances.rs` (moto never runs
//! tasks); nothing else is bridged.

use aws_sdk_dynamodb::types::AttributeValue;
use aws_sdk_ecs::types::DeploymentConfiguration;
use bbws_core::instance::{
    InstanceDao, InstanceState, InstanceUpdate, LedgerDao, OperationStatus, ResourceType, StepName,
};

use crate::instances::{provisioned, world};
use crate::support::admin;

/// The service as ECS describes it: `(taskDefinition, minimumHealthyPercent, maximumPercent,
/// circuit breaker (enable, rollback))`.
async fn service_view(
    w: &crate::instances::World,
    service: &str,
) -> (String, Option<i32>, Option<i32>, Option<(bool, bool)>) {
    let out = w
        .clients
        .ecs
        .describe_services()
        .cluster(&w.platform.cluster)
        .services(service)
        .send()
        .await
        .expect("DescribeServices");
    let s = &out.services()[0];
    let config = s.deployment_configuration();
    (
        s.task_definition().unwrap_or_default().to_owned(),
        config.and_then(DeploymentConfiguration::minimum_healthy_percent),
        config.and_then(DeploymentConfiguration::maximum_percent),
        config
            .and_then(|c| c.deployment_circuit_breaker())
            .map(|b| (b.enable(), b.rollback())),
    )
}

/// `(image, cpu, memory)` of a task definition revision.
async fn revision_view(w: &crate::instances::World, arn: &str) -> (String, String, String) {
    let out = w
        .clients
        .ecs
        .describe_task_definition()
        .task_definition(arn)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let td = out.task_definition().expect("a task definition");
    (
        td.container_definitions()[0]
            .image()
            .unwrap_or_default()
            .to_owned(),
        td.cpu().unwrap_or_default().to_owned(),
        td.memory().unwrap_or_default().to_owned(),
    )
}

#[tokio::test]
async fn an_update_on_moto_moves_the_service_onto_a_new_revision_with_the_new_image() {
    let w = world().await;
    let (t, instance) = provisioned(&w, "Update Hosting").await;
    let service = format!("tenant-{}-wordpress", instance.resource_key);
    let first = instance.resources[&ResourceType::TaskDefinition].clone();
    assert_eq!(
        revision_view(&w, &first).await,
        (
            "wordpress:latest".to_owned(),
            "512".to_owned(),
            "1024".to_owned()
        )
    );
    assert_eq!(
        instance.container_image.as_deref(),
        Some("wordpress:latest")
    );

    let run = |update: InstanceUpdate| {
        let w = &w;
        let t = &t;
        let instance = &instance;
        async move {
            let accepted = w
                .service
                .request_update(&admin(), &t.id, &instance.id, update, None, None)
                .await
                .expect("the update is accepted")
                .value;
            assert_eq!(accepted.instance.state, InstanceState::Active);
            let op = w
                .engine
                .run(&accepted.operation.id)
                .await
                .expect("the run ends");
            assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
            let revision = op
                .step(StepName::RegisterRevision)
                .and_then(|s| s.resource_id.clone())
                .expect("the registered revision");
            let now = w
                .store
                .get_instance(&t.id, &instance.id)
                .await
                .expect("read")
                .expect("instance");
            (revision, now)
        }
    };

    // A new WordPress version: the platform image of that version, same size.
    let (revision, now) =
        run(InstanceUpdate::parse(None, Some("6.4.2"), None).expect("valid")).await;
    assert_ne!(revision, first);
    assert!(
        revision.ends_with(":2"),
        "the family's second revision: {revision}"
    );
    let (running, min, max, breaker) = service_view(&w, &service).await;
    assert_eq!(running, revision, "the service runs the new revision");
    assert_eq!(min, Some(100));
    assert_eq!(max, Some(200));
    assert_eq!(breaker, Some((true, true)));
    assert_eq!(
        revision_view(&w, &revision).await,
        (
            "wordpress:6.4.2".to_owned(),
            "512".to_owned(),
            "1024".to_owned()
        )
    );
    assert_eq!(now.state, InstanceState::Active);
    assert_eq!(now.wordpress_version, "6.4.2");
    assert_eq!(now.container_image.as_deref(), Some("wordpress:6.4.2"));
    assert_eq!(
        now.resources.get(&ResourceType::TaskDefinition),
        Some(&revision)
    );
    let ledger = w.store.ledger(&instance.id).await.expect("ledger");
    let entry = ledger
        .iter()
        .find(|e| e.resource_type == ResourceType::TaskDefinition)
        .expect("the task definition entry");
    assert_eq!(entry.arn.as_deref(), Some(revision.as_str()));

    // A new tier: its CPU and memory, the image kept.
    let (revision, now) =
        run(InstanceUpdate::parse(None, None, Some("PROFESSIONAL")).expect("valid")).await;
    assert_eq!(service_view(&w, &service).await.0, revision);
    assert_eq!(
        revision_view(&w, &revision).await,
        (
            "wordpress:6.4.2".to_owned(),
            "1024".to_owned(),
            "2048".to_owned()
        )
    );
    assert_eq!((now.task_size.cpu(), now.task_size.memory()), (1024, 2048));

    // An item written before instances recorded their image still reads, and runs the
    // platform image of its version.
    let (dynamodb, table, _) = w.subject.dynamo.clone().expect("dynamodb");
    dynamodb
        .update_item()
        .table_name(&table)
        .key("PK", AttributeValue::S(format!("TENANT#{}", t.id)))
        .key("SK", AttributeValue::S(format!("INSTANCE#{}", instance.id)))
        .update_expression("REMOVE containerImage")
        .condition_expression("attribute_exists(containerImage)")
        .send()
        .await
        .expect("the attribute is removed");
    let old = w
        .store
        .get_instance(&t.id, &instance.id)
        .await
        .expect("an old item parses")
        .expect("instance");
    assert_eq!(old.container_image, None);
    assert_eq!(old.image("wordpress"), "wordpress:6.4.2");
}
