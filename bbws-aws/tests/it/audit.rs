//! The orphan and drift audit on moto and MariaDB: an instance provisioned by the real engine on
//! the real adapters ([`crate::instances`]), then an object and a database planted behind its
//! back, then one of its objects removed. The audit reads the tags through `tag:GetResources`
//! ([`AwsTaggedInventory`]) and the databases with `SHOW DATABASES` on MariaDB.
//!
//! moto and MariaDB are shared by every test of this binary, which provision their own tenants
//! concurrently (each on its own table): the audit sees their objects and databases too, as
//! tenants it does not know. The assertions therefore look at what concerns this test's tenant
//! and names exactly, and at the whole report for anything naming this instance's objects.
//!
//! moto's `GetResources` lists secrets, target groups, access points, ECS services and task
//! definitions, but no Cognito pools, listener rules or scalable targets, so the inventory is
//! told so ([`AwsTaggedInventory::with_visible_types`]) and drift is judged for what it lists.

use std::sync::Arc;

use aws_sdk_secretsmanager::types::Tag;
use bbws_aws::cloud::inventory::AwsTaggedInventory;
use bbws_core::ids::{RandomIds, TenantId};
use bbws_core::instance::{
    AuditPorts, AuditReport, InstanceAudit, LedgerDao, OrphanReason, ResourceKey, ResourceType,
};
use bbws_core::tenant::Environment;
use mysql_async::prelude::Queryable;

use crate::instances::{World, provisioned, world};

/// The types moto's `GetResources` lists.
const MOTO_LISTS: [ResourceType; 6] = [
    ResourceType::CognitoSecret,
    ResourceType::DbSecret,
    ResourceType::EfsAccessPoint,
    ResourceType::TargetGroup,
    ResourceType::TaskDefinition,
    ResourceType::EcsService,
];

fn audit(w: &World) -> InstanceAudit {
    InstanceAudit::new(
        AuditPorts {
            instances: w.store.clone(),
            tenants: w.store.clone(),
            inventory: Arc::new(
                AwsTaggedInventory::new(w.clients.tagging.clone()).with_visible_types(MOTO_LISTS),
            ),
            databases: w.engine.cloud().database.clone(),
            clock: w.subject.clock.clone(),
        },
        Environment::Dev,
    )
}

async fn mariadb_root(endpoint: &str) -> mysql_async::Conn {
    let (host, port) = endpoint.split_once(':').expect("host:port");
    mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname(host)
            .tcp_port(port.parse().expect("port"))
            .user(Some("root"))
            .prefer_socket(false),
    )
    .await
    .expect("root connects")
}

/// `(arn, reason)` of the orphans tagged with `tenant`.
fn orphans_of(r: &AuditReport, tenant: &str) -> Vec<(String, OrphanReason)> {
    r.orphans
        .iter()
        .filter(|o| o.tenant == tenant)
        .map(|o| (o.arn.clone(), o.reason.clone()))
        .collect()
}

#[tokio::test]
async fn the_audit_finds_a_planted_secret_and_database_and_a_removed_access_point() {
    let w = world().await;
    let (t, instance) = provisioned(&w, "Audited Hosting").await;
    let tenant = t.id.to_string();
    let ledger = w.store.ledger(&instance.id).await.expect("ledger");
    let own: Vec<String> = ledger
        .iter()
        .flat_map(|e| [e.id.clone(), e.arn.clone()])
        .flatten()
        .collect();
    let own_db = format!("tenant_{}_db", instance.resource_key);

    // Before anything is planted: the instance's own objects are all held.
    let r = audit(&w).run().await.expect("the audit runs");
    assert!(orphans_of(&r, &tenant).is_empty(), "{r:#?}");
    assert!(!r.drift.iter().any(|d| d.tenant_id == t.id), "{r:#?}");
    assert!(
        !r.untracked_databases.iter().any(|d| d.name == own_db),
        "{r:#?}"
    );
    assert!(
        r.resources >= 6,
        "two secrets, the access point, the target group, the task definition and the service: {r:#?}"
    );
    assert_eq!(
        r.unchecked_types,
        vec![
            ResourceType::CognitoPool,
            ResourceType::ListenerRule,
            ResourceType::ScalableTarget
        ]
    );

    // A secret with the tenant's tags that no ledger holds.
    let planted = w
        .clients
        .secrets
        .create_secret()
        .name(format!("bbws/dev/tenant-{}/copy", instance.resource_key))
        .secret_string("{}")
        .tags(Tag::builder().key("bbws:tenant-id").value(&tenant).build())
        .tags(Tag::builder().key("bbws:environment").value("dev").build())
        .tags(
            Tag::builder()
                .key("bbws:component")
                .value("secrets")
                .build(),
        )
        .send()
        .await
        .expect("CreateSecret")
        .arn()
        .expect("an ARN")
        .to_owned();
    // A database named like a tenant's that no instance uses.
    let nobody = ResourceKey::derive(&TenantId::generate(&RandomIds));
    let stray_db = format!("tenant_{nobody}_db");
    let mut root = mariadb_root(&w.db_endpoint).await;
    root.query_drop(format!("CREATE DATABASE `{stray_db}`"))
        .await
        .expect("CREATE DATABASE");
    root.disconnect().await.expect("disconnect");

    let r = audit(&w).run().await.expect("the audit runs");
    assert_eq!(
        orphans_of(&r, &tenant),
        vec![(
            planted.clone(),
            OrphanReason::NotInLedger {
                instance_id: instance.id
            }
        )],
        "{r:#?}"
    );
    let mine: Vec<&str> = r
        .untracked_databases
        .iter()
        .map(|d| d.name.as_str())
        .filter(|n| *n == stray_db || *n == own_db)
        .collect();
    assert_eq!(mine, vec![stray_db.as_str()], "{r:#?}");
    assert!(
        !r.orphans.iter().any(|o| own.contains(&o.arn)),
        "the instance's own objects are not orphans: {r:#?}"
    );
    assert!(!r.drift.iter().any(|d| d.tenant_id == t.id), "{r:#?}");

    // The access point is deleted behind the engine's back: drift.
    let ap = ledger
        .iter()
        .find(|e| e.resource_type == ResourceType::EfsAccessPoint)
        .and_then(|e| e.id.clone())
        .expect("the access point's id");
    w.clients
        .efs
        .delete_access_point()
        .access_point_id(&ap)
        .send()
        .await
        .expect("DeleteAccessPoint");
    let r = audit(&w).run().await.expect("the audit runs");
    let drift: Vec<(ResourceType, Option<String>)> = r
        .drift
        .iter()
        .filter(|d| d.tenant_id == t.id)
        .map(|d| (d.resource_type, d.id.clone()))
        .collect();
    assert_eq!(drift.len(), 1, "{r:#?}");
    assert_eq!(drift[0].0, ResourceType::EfsAccessPoint);
    assert!(
        drift[0].1.as_deref().is_some_and(|id| id.contains(&ap)),
        "{r:#?}"
    );
    assert_eq!(orphans_of(&r, &tenant).len(), 1, "{r:#?}");
    assert!(!r.is_clean());
}
