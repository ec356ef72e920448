//! The tenant's Terraform (C21): byte-stable files with the direct path's names, the reserved
//! listener priority, and the right to provision required to read them.

use bbws_core::ErrorCode;
use bbws_core::ids::{InstanceId, TenantId};
use bbws_core::instance::terraform::{NAME_PATTERNS, direct_name, render};
use bbws_core::instance::{
    DesiredCount, Instance, LedgerEntry, LedgerStatus, Names, NewInstance, OpportunityId,
    PlatformConfig, ResourceKey, ResourceType, SizeTier,
};
use bbws_core::tenant::Environment;
use uuid::Uuid;

use super::World;
use crate::support::{operator, platform_admin, ts, viewer};

fn fixed_instance(env: Environment) -> Instance {
    let tenant = TenantId::from_uuid(Uuid::from_u128(0x5f0c_8a52_9c1e_4d6b_8f3a_2b7e_1c9d_4a60));
    let mut req = NewInstance::standard();
    req.tier = SizeTier::Professional;
    req.desired_count = DesiredCount::parse(3, 2).expect("valid count");
    req.resource_key = Some(ResourceKey::parse("acme").expect("valid key"));
    req.opportunity = Some(OpportunityId::parse("OPP-1042").expect("valid opportunity"));
    Instance::new(
        InstanceId::from_uuid(Uuid::from_u128(0x6a1e_4b1c_2f0d_4a8b_9c3e_7d5f_1e2a_3b4c)),
        tenant,
        env,
        req,
        &PlatformConfig::defaults(env).domain_suffix,
        "ops@bbws.io",
        ts("2026-01-05T12:00:00.000Z"),
    )
}

fn priority_entry(i: &Instance, priority: u32) -> LedgerEntry {
    LedgerEntry {
        tenant_id: i.tenant_id,
        instance_id: i.id,
        resource_type: ResourceType::AlbPriority,
        name: i.domain.clone(),
        id: Some(priority.to_string()),
        arn: None,
        status: LedgerStatus::Created,
        seq: 10,
        error: None,
        updated_at: ts("2026-01-05T12:00:01.000Z"),
    }
}

#[test]
fn the_rendered_files_are_stable() {
    let i = fixed_instance(Environment::Prod);
    let files = render(
        &i,
        &[priority_entry(&i, 1040)],
        &PlatformConfig::defaults(Environment::Prod),
    );
    let paths: Vec<&str> = files.files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            ".github/workflows/deploy-tenant-acme.yml",
            "tenants/acme/backend.tf",
            "tenants/acme/main.tf",
            "tenants/acme/outputs.tf",
            "tenants/acme/prod.tfvars",
            "tenants/acme/providers.tf",
            "tenants/acme/variables.tf",
        ]
    );
    for (path, content) in &files.files {
        insta::assert_snapshot!(path.replace('/', "__"), content);
    }
    // The same inputs give the same bytes.
    assert_eq!(
        files,
        render(
            &i,
            &[priority_entry(&i, 1040)],
            &PlatformConfig::defaults(Environment::Prod)
        )
    );
}

#[test]
fn main_tf_derives_exactly_the_names_the_engine_uses() {
    for env in [Environment::Dev, Environment::Sit, Environment::Prod] {
        for key in ["acme", "t0b0c6a558f4e", "k9"] {
            let names = Names::new(&ResourceKey::parse(key).expect("key"), env);
            for (local, pattern) in NAME_PATTERNS {
                let evaluated = pattern
                    .replace("${var.tenant_name}", key)
                    .replace("${var.environment}", env.as_str());
                assert_eq!(
                    Some(evaluated.as_str()),
                    direct_name(&names, local),
                    "{local} in {env:?} for {key}"
                );
            }
        }
    }
    let i = fixed_instance(Environment::Dev);
    let main =
        &render(&i, &[], &PlatformConfig::defaults(Environment::Dev)).files["tenants/acme/main.tf"];
    for (local, pattern) in NAME_PATTERNS {
        assert!(
            main.lines().any(|l| {
                let l = l.trim();
                l.starts_with(local) && l.ends_with(&format!("= \"{pattern}\""))
            }),
            "{local} missing from main.tf:\n{main}"
        );
    }
}

#[test]
fn before_provisioning_the_priority_is_left_to_the_load_balancer() {
    let i = fixed_instance(Environment::Dev);
    let files = render(&i, &[], &PlatformConfig::defaults(Environment::Dev));
    let tfvars = &files.files["tenants/acme/dev.tfvars"];
    assert!(
        tfvars
            .lines()
            .any(|l| l.starts_with("alb_priority") && l.ends_with("= null")),
        "{tfvars}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_provisioned_instance_renders_its_reserved_priority_for_those_who_may_provision() {
    let w = World::new().await;
    let (instance, _) = w.provision().await;
    let reserved = w
        .ledger(&instance)
        .await
        .into_iter()
        .find(|e| e.resource_type == ResourceType::AlbPriority)
        .and_then(|e| e.id)
        .expect("a reserved priority");
    let key = instance.resource_key.as_str().to_owned();

    let files = w
        .service
        .terraform(&operator(&[&w.tenant.id]), &w.tenant.id, &instance.id)
        .await
        .expect("an operator may read the tenant's Terraform");
    let tfvars = &files.files[&format!("tenants/{key}/dev.tfvars")];
    assert!(
        tfvars
            .lines()
            .any(|l| l.starts_with("alb_priority") && l.ends_with(&format!("= {reserved}"))),
        "{tfvars}"
    );
    assert!(
        tfvars
            .lines()
            .any(|l| l.trim().starts_with("\"bbws:tenant-id\"")
                && l.ends_with(&format!("= \"{}\"", w.tenant.id))),
        "{tfvars}"
    );
    assert_eq!(
        files,
        w.service
            .terraform(&platform_admin(), &w.tenant.id, &instance.id)
            .await
            .expect("the platform admin too")
    );

    let err = w
        .service
        .terraform(&viewer(&[&w.tenant.id]), &w.tenant.id, &instance.id)
        .await
        .expect_err("a viewer may not");
    assert_eq!(err.code(), ErrorCode::Forbidden, "{err}");
    let err = w
        .service
        .terraform(
            &platform_admin(),
            &w.tenant.id,
            &InstanceId::from_uuid(Uuid::nil()),
        )
        .await
        .expect_err("no such instance");
    assert_eq!(err.code(), ErrorCode::InstanceNotFound, "{err}");
}
