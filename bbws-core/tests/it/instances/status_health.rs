//! The live reads of an instance (digest 2.7 C6, C17): the status shows the service as ECS
//! answers it, and the composite health looks at the service, its targets, the access point,
//! the database and the user pool as far as the instance's state has them. A part that cannot
//! be asked is UNKNOWN with its reason; the answer as a whole never fails for it.

use bbws_core::ErrorCode;
use bbws_core::instance::{
    ComponentStatus, HealthComponent, HealthStatus, Instance, InstanceHealth, LifecycleRequest,
    Names, ResourceType, ServiceView,
};
use bbws_core::tenant::{Environment, Reason};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};
use crate::support::{outsider, platform_admin, viewer};

fn service_name(i: &Instance) -> String {
    Names::new(&i.resource_key, Environment::Dev).ecs_service
}

async fn health(w: &World, i: &Instance) -> InstanceHealth {
    w.service
        .health(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("health answers")
}

fn component(h: &InstanceHealth, c: HealthComponent) -> ComponentStatus {
    h.components
        .get(&c)
        .expect("every component is answered")
        .status
}

#[tokio::test(start_paused = true)]
async fn the_status_of_an_active_instance_is_what_ecs_answers() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let s = w
        .service
        .status(&viewer(&[&w.tenant.id]), &w.tenant.id, &i.id)
        .await
        .expect("a viewer reads the status");
    assert_eq!(s.instance.state, bbws_core::instance::InstanceState::Active);
    let ServiceView::Found(svc) = s.service else {
        panic!("the service is found: {:?}", s.service);
    };
    assert_eq!(svc.desired_count, i.desired_count.get());
    assert_eq!(svc.running_count, i.desired_count.get());
    assert_eq!(
        svc.tasks.len(),
        usize::try_from(svc.running_count).expect("small")
    );
    assert_eq!(
        svc.primary().and_then(|d| d.rollout_state.as_deref()),
        Some("COMPLETED")
    );

    // Fewer tasks running: the status says so.
    w.fake.set_running(&service_name(&i), 1);
    let s = w
        .service
        .status(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("status");
    let ServiceView::Found(svc) = s.service else {
        panic!("found");
    };
    assert_eq!(
        (svc.running_count, svc.pending_count),
        (1, i.desired_count.get() - 1)
    );
}

#[tokio::test(start_paused = true)]
async fn a_running_instance_is_healthy_only_when_every_component_is() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let h = health(&w, &i).await;
    assert_eq!(h.status, HealthStatus::Healthy, "{h:?}");
    for c in HealthComponent::ALL {
        assert_eq!(component(&h, c), ComponentStatus::Healthy, "{c:?}: {h:?}");
    }

    // One task short: ECS and the targets are unhealthy, and so is the instance.
    w.fake.set_running(&service_name(&i), 1);
    let h = health(&w, &i).await;
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert_eq!(
        component(&h, HealthComponent::Ecs),
        ComponentStatus::Unhealthy
    );
    let ecs = &h.components[&HealthComponent::Ecs];
    assert!(
        ecs.reason.contains("1 of 2 tasks running"),
        "{}",
        ecs.reason
    );

    // All tasks running, one target failing its health checks.
    w.fake.set_running(&service_name(&i), 2);
    let tg = i.resources[&ResourceType::TargetGroup].clone();
    w.fake.set_targets(&tg, &["healthy", "unhealthy"]);
    let h = health(&w, &i).await;
    assert_eq!(h.status, HealthStatus::Unhealthy);
    assert_eq!(
        component(&h, HealthComponent::Ecs),
        ComponentStatus::Healthy
    );
    assert_eq!(
        component(&h, HealthComponent::Targets),
        ComponentStatus::Unhealthy
    );
}

#[tokio::test(start_paused = true)]
async fn a_component_that_cannot_be_asked_is_unknown_with_its_reason() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    w.fake.inject(Fault {
        kind: Kind::AccessPoint,
        op: Op::Check,
        nth: None,
        mode: FaultMode::Throttle,
    });
    let h = health(&w, &i).await;
    let efs = &h.components[&HealthComponent::Efs];
    assert_eq!(efs.status, ComponentStatus::Unknown);
    assert!(efs.reason.contains("ThrottlingException"), "{}", efs.reason);
    assert_eq!(
        h.status,
        HealthStatus::Unknown,
        "the rest is healthy: {h:?}"
    );

    // ECS failing to answer: the status carries the reason instead of failing.
    w.fake.inject(Fault {
        kind: Kind::Service,
        op: Op::Check,
        nth: None,
        mode: FaultMode::Fail,
    });
    let s = w
        .service
        .status(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("the status answers");
    assert!(
        matches!(&s.service, ServiceView::Unknown(why) if why.contains("injected failure")),
        "{:?}",
        s.service
    );

    // A database that is gone is unhealthy, not unknown.
    w.fake.clear_faults();
    let db = i.resources[&ResourceType::Database].clone();
    bbws_core::instance::ports::DatabaseProvisioner::drop_database(w.fake.as_ref(), &db, "u")
        .await
        .expect("dropped");
    let h = health(&w, &i).await;
    assert_eq!(
        component(&h, HealthComponent::Database),
        ComponentStatus::Unhealthy
    );
    assert_eq!(h.status, HealthStatus::Unhealthy);
}

#[tokio::test(start_paused = true)]
async fn a_suspended_instance_is_healthy_at_zero_tasks_and_a_deprovisioned_one_is_not_asked() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let accepted = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend {
                reason: Reason::parse(Some("unpaid invoice for March"), "reason").expect("ok"),
            },
            None,
        )
        .await
        .expect("accepted")
        .value;
    w.run(&accepted.operation.id).await;
    let h = health(&w, &i).await;
    assert_eq!(h.status, HealthStatus::Healthy, "{h:?}");
    assert_eq!(
        component(&h, HealthComponent::Ecs),
        ComponentStatus::Healthy
    );
    assert_eq!(
        component(&h, HealthComponent::Targets),
        ComponentStatus::NotApplicable
    );
    let s = w
        .service
        .status(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("status");
    let ServiceView::Found(svc) = s.service else {
        panic!("found");
    };
    assert_eq!((svc.desired_count, svc.running_count), (0, 0));

    // Tasks still running while SUSPENDED is not what the state promises.
    w.fake.set_running(&service_name(&i), 1);
    assert_eq!(health(&w, &i).await.status, HealthStatus::Unhealthy);

    w.deprovision(&i, false).await;
    let before = w.fake.log().len();
    let h = health(&w, &i).await;
    assert_eq!(h.status, HealthStatus::Unknown);
    for c in HealthComponent::ALL {
        assert_eq!(component(&h, c), ComponentStatus::NotApplicable, "{c:?}");
    }
    let s = w
        .service
        .status(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("status");
    assert_eq!(s.service, ServiceView::NotProvisioned);
    assert_eq!(w.fake.log().len(), before, "nothing was asked of the cloud");
}

#[tokio::test(start_paused = true)]
async fn a_failed_instance_is_unhealthy_and_outsiders_get_404() {
    let w = World::new().await;
    w.fake.inject(Fault {
        kind: Kind::Health,
        op: Op::Check,
        nth: None,
        mode: FaultMode::Fail,
    });
    let (i, _) = w.provision().await;
    assert_eq!(i.state, bbws_core::instance::InstanceState::Failed);
    let h = health(&w, &i).await;
    assert_eq!(h.status, HealthStatus::Unhealthy, "{h:?}");

    let err = w
        .service
        .health(&outsider(), &w.tenant.id, &i.id)
        .await
        .expect_err("outside the tenant");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
    let err = w
        .service
        .status(&outsider(), &w.tenant.id, &i.id)
        .await
        .expect_err("outside the tenant");
    assert_eq!(err.code(), ErrorCode::TenantNotFound);
}
