//! The orphan and drift audit on the in-memory store, over the fake cloud: what a provisioning
//! made is held, what is planted or removed behind the engine's back is found, a deprovisioning
//! leaves nothing to report, and a tenant mid-operation is not judged.

use bbws_core::instance::{
    AuditPorts, AuditReport, Component, InstanceAudit, InstanceState, OrphanReason, ResourceType,
    tags,
};
use bbws_core::tenant::Environment;

use super::World;
use super::fake_cloud::Kind;

fn audit(w: &World) -> InstanceAudit {
    InstanceAudit::new(
        AuditPorts {
            instances: w.tenants.store.clone(),
            tenants: w.tenants.store.clone(),
            inventory: w.fake.clone(),
            databases: w.fake.clone(),
            clock: w.tenants.clock.clone(),
        },
        Environment::Dev,
    )
}

async fn run(w: &World) -> AuditReport {
    audit(w).run().await.expect("the audit runs")
}

#[tokio::test]
async fn what_a_provisioning_made_is_all_held() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    assert_eq!(w.instance(&instance).await.state, InstanceState::Active);

    let r = run(&w).await;
    assert!(r.is_clean(), "{r:#?}");
    assert_eq!((r.tenants, r.instances, r.databases), (1, 1, 1));
    // Every tagged object the engine made was listed and held.
    assert_eq!(r.resources, 9, "{r:#?}");
    assert!(r.unchecked_types.is_empty());
    assert!(r.in_progress.is_empty());
}

#[tokio::test]
async fn planted_objects_and_databases_are_found_with_their_reasons() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let other = w.tenants.create_active("Other Hosting").await;

    // A target group carrying the provisioned tenant's tags that its ledger does not hold.
    let stray_tg = w.fake.plant(
        Kind::TargetGroup,
        "bbws-copy-tg",
        tags(&instance, Component::Alb),
    );
    // A secret of a tenant that has no instance at all.
    let mut other_tags = tags(&instance, Component::Secrets);
    other_tags.insert("bbws:tenant-id".to_owned(), other.id.to_string());
    let stray_secret = w
        .fake
        .plant(Kind::Secret, "bbws/dev/tenant-other/db", other_tags);
    // Another environment's object is not this audit's business.
    let mut sit_tags = tags(&instance, Component::Secrets);
    sit_tags.insert("bbws:environment".to_owned(), "sit".to_owned());
    w.fake.plant(Kind::Secret, "bbws/sit/tenant-x/db", sit_tags);
    // A database named like a tenant's that no instance uses.
    w.fake.plant(
        Kind::Database,
        "tenant_nobody_db",
        bbws_core::instance::ports::Tags::new(),
    );

    let r = run(&w).await;
    assert_eq!(r.findings(), 3, "{r:#?}");
    let tg = r
        .orphans
        .iter()
        .find(|o| o.arn == stray_tg)
        .expect("the planted target group is an orphan");
    assert_eq!(
        tg.reason,
        OrphanReason::NotInLedger {
            instance_id: instance.id
        }
    );
    assert_eq!(tg.kind, "elasticloadbalancing:targetgroup");
    assert_eq!(tg.tenant, instance.tenant_id.to_string());
    let secret = r
        .orphans
        .iter()
        .find(|o| o.arn == stray_secret)
        .expect("the planted secret is an orphan");
    assert_eq!(secret.reason, OrphanReason::NoLiveInstance);
    assert_eq!(secret.tenant, other.id.to_string());
    assert_eq!(r.untracked_databases.len(), 1);
    assert_eq!(r.untracked_databases[0].name, "tenant_nobody_db");
    assert_eq!(r.untracked_databases[0].deprovisioned, None);
    assert!(r.drift.is_empty(), "{r:#?}");
}

#[tokio::test]
async fn objects_removed_behind_the_engines_back_are_drift() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let key = instance.resource_key.as_str();
    assert!(
        w.fake
            .remove(Kind::AccessPoint, &format!("tenant-{key}-wp-content"))
    );
    assert!(w.fake.remove(Kind::Database, &format!("tenant_{key}_db")));

    let r = run(&w).await;
    let drift: Vec<ResourceType> = r.drift.iter().map(|d| d.resource_type).collect();
    assert_eq!(
        drift,
        // In the ledger's (creation) order.
        vec![ResourceType::EfsAccessPoint, ResourceType::Database],
        "{r:#?}"
    );
    assert!(r.drift.iter().all(|d| d.instance_id == instance.id
        && d.tenant_id == instance.tenant_id
        && d.state == InstanceState::Active));
    assert!(
        r.orphans.is_empty() && r.untracked_databases.is_empty(),
        "{r:#?}"
    );
}

#[tokio::test]
async fn after_a_deprovisioning_nothing_is_left_to_report_and_a_leftover_is_found() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let op = w.deprovision(&instance, true).await;
    assert_eq!(
        w.instance(&instance).await.state,
        InstanceState::Deprovisioned,
        "{op:#?}"
    );

    let r = run(&w).await;
    assert!(r.is_clean(), "{r:#?}");
    assert_eq!(
        r.resources, 0,
        "archives are not listed and nothing else is left"
    );

    // The tenant's service is made again by hand, and its database too.
    let key = instance.resource_key.as_str();
    let svc = w.fake.plant(
        Kind::Service,
        &format!("tenant-{key}-wordpress"),
        tags(&instance, Component::Wordpress),
    );
    w.fake.plant(
        Kind::Database,
        &format!("tenant_{key}_db"),
        bbws_core::instance::ports::Tags::new(),
    );
    let r = run(&w).await;
    assert_eq!(r.orphans.len(), 1, "{r:#?}");
    assert_eq!(r.orphans[0].arn, svc);
    // A new object, not the one the ledger deleted (that one had another id).
    assert_eq!(r.orphans[0].reason, OrphanReason::NoLiveInstance, "{r:#?}");
    assert_eq!(r.untracked_databases.len(), 1);
    assert_eq!(
        r.untracked_databases[0].deprovisioned,
        Some((instance.tenant_id, instance.id))
    );
}

#[tokio::test]
async fn a_tenant_whose_instance_is_being_provisioned_is_listed_not_judged() {
    let w = World::new().await;
    let accepted = w.request().await;
    let instance = accepted.instance;
    // An object of the tenant appears before the engine has recorded it.
    w.fake.plant(
        Kind::Secret,
        "bbws/dev/tenant-early/db",
        tags(&instance, Component::Secrets),
    );
    let r = run(&w).await;
    assert!(r.is_clean(), "{r:#?}");
    assert_eq!(r.in_progress.len(), 1, "{r:#?}");
    assert_eq!(r.in_progress[0].instance_id, instance.id);
    assert_eq!(r.in_progress[0].state, InstanceState::PendingProvisioning);
}
