//! The tenant's Cognito pool (digest 2.7 C18, C19): read live, and changed by a
//! `CONFIGURE_IDENTITY` operation that an ACTIVE instance accepts, that holds the change until a
//! runner applies it, and that leaves the instance ACTIVE whatever happens.

use std::sync::Arc;

use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::RandomIds;
use bbws_core::instance::{
    Accepted, IdentityChange, Instance, InstanceCloud, InstanceState, LedgerStatus,
    LifecycleRequest, MfaConfiguration, Names, OperationDao, OperationMessage, OperationStatus,
    OperationType, PasswordPolicy, PasswordPolicyChange, PlanRecorder, PlatformConfig,
    ProvisioningEngine, Queue, QueueKind, ResourceType, StepName, StepStatus, TokioTimer,
};
use bbws_core::tenant::{Environment, Reason};
use bbws_core::{Error, ErrorCode, Result};

use super::World;
use super::fake_cloud::{Fault, FaultMode, Kind, Op};
use crate::support::{operator, outsider, platform_admin, viewer};

fn stricter() -> IdentityChange {
    IdentityChange::new(
        Some(
            PasswordPolicyChange::new(Some(12), None, None, None, Some(false))
                .expect("valid rules"),
        ),
        Some(MfaConfiguration::On),
    )
    .expect("a change")
}

async fn request(
    w: &World,
    i: &Instance,
    change: IdentityChange,
    key: Option<&str>,
) -> Result<bbws_core::tenant::Created<Accepted>> {
    let key = key.map(|k| IdempotencyKey::parse(k).expect("valid key"));
    w.service
        .request_identity_configuration(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            change,
            key.as_ref(),
        )
        .await
}

async fn pool_id(w: &World, i: &Instance) -> String {
    w.ledger(i)
        .await
        .into_iter()
        .find(|e| e.resource_type == ResourceType::CognitoPool && e.status == LedgerStatus::Created)
        .and_then(|e| e.id)
        .expect("a created pool")
}

#[tokio::test(start_paused = true)]
async fn an_active_instances_identity_is_its_pool_as_cognito_answers() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let pool = pool_id(&w, &i).await;
    let c = w
        .service
        .identity(&viewer(&[&w.tenant.id]), &w.tenant.id, &i.id)
        .await
        .expect("a viewer reads the identity");
    assert_eq!(c.user_pool_id, pool);
    assert_eq!(
        c.user_pool_arn.as_deref(),
        Some(format!("arn:fake:userpool/{pool}").as_str())
    );
    assert_eq!(
        c.client_id,
        i.resources.get(&ResourceType::CognitoClient).cloned()
    );
    assert!(c.client_id.is_some());
    assert_eq!(
        c.domain.as_deref(),
        Some(
            Names::new(&i.resource_key, Environment::Dev)
                .cognito_domain
                .as_str()
        )
    );
    assert_eq!(
        c.password_policy,
        PasswordPolicy::default(),
        "as the pool was created"
    );
    assert_eq!(c.mfa, MfaConfiguration::Optional);
    assert_eq!(c.instance.id, i.id);
}

#[tokio::test(start_paused = true)]
async fn a_change_is_accepted_as_an_operation_that_holds_it_and_a_run_applies_it() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let pool = pool_id(&w, &i).await;
    let accepted = request(&w, &i, stricter(), None)
        .await
        .expect("accepted")
        .value;
    let op = &accepted.operation;
    assert_eq!(op.op_type, OperationType::ConfigureIdentity);
    assert_eq!(op.status, OperationStatus::Pending);
    assert_eq!(
        op.steps.iter().map(|s| s.name).collect::<Vec<_>>(),
        [StepName::ConfigurePasswordPolicy, StepName::ConfigureMfa]
    );
    assert_eq!(
        accepted.instance.state,
        InstanceState::Active,
        "it stays ACTIVE"
    );
    assert_eq!(accepted.instance.current_operation, Some(op.id));
    // Nothing is applied until a runner runs it; the stored operation holds the change.
    assert_eq!(
        w.fake.pool_settings(&pool).expect("pool").0,
        PasswordPolicy::default()
    );
    let stored = w
        .tenants
        .store
        .get_operation(&op.id)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(
        stored.identity,
        Some(stricter()),
        "the worker reads what to apply"
    );
    let queued: Vec<_> = w
        .tenants
        .pending()
        .await
        .into_iter()
        .filter(|m| m.detail_type == "INSTANCE_LIFECYCLE_REQUESTED")
        .collect();
    assert_eq!(queued.len(), 1);
    let message = OperationMessage::from_value(queued[0].detail.clone()).expect("a queue message");
    assert_eq!(message.kind, QueueKind::ConfigureIdentity);
    assert_eq!(message.kind.queue(), Queue::Lifecycle);
    assert_eq!(message.operation_id, op.id);
    assert!(
        w.tenants
            .audit_types(&w.tenant.id)
            .await
            .contains(&"INSTANCE_CONFIGURE_IDENTITY_REQUESTED".to_owned())
    );

    let done = w.run(&op.id).await;
    assert_eq!(done.status, OperationStatus::Completed, "{done:?}");
    assert!(
        done.steps.iter().all(|s| s.status == StepStatus::Done),
        "{done:?}"
    );
    assert_eq!(done.progress, 100);
    let after = w.instance(&i).await;
    assert_eq!(after.state, InstanceState::Active);
    assert_eq!(after.last_error, None);
    let c = w
        .service
        .identity(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("identity");
    assert_eq!(c.mfa, MfaConfiguration::On);
    assert_eq!(
        c.password_policy,
        PasswordPolicy {
            minimum_length: 12,
            require_symbols: false,
            ..PasswordPolicy::default()
        },
        "only the rules given changed"
    );
    assert!(
        w.tenants
            .audit_types(&w.tenant.id)
            .await
            .contains(&"INSTANCE_IDENTITY_CONFIGURED".to_owned())
    );

    // MFA alone: one step, the policy kept.
    let mfa_only = IdentityChange::new(None, Some(MfaConfiguration::Off)).expect("a change");
    let accepted = request(&w, &i, mfa_only, None)
        .await
        .expect("accepted")
        .value;
    assert_eq!(
        accepted
            .operation
            .steps
            .iter()
            .map(|s| s.name)
            .collect::<Vec<_>>(),
        [StepName::ConfigureMfa]
    );
    assert_eq!(
        w.run(&accepted.operation.id).await.status,
        OperationStatus::Completed
    );
    let (policy, mfa) = w.fake.pool_settings(&pool).expect("pool");
    assert_eq!((policy.minimum_length, mfa), (12, MfaConfiguration::Off));
}

#[tokio::test(start_paused = true)]
async fn only_an_active_instance_with_a_pool_and_the_right_caller() {
    let w = World::new().await;
    // Not provisioned yet: no pool to read, no change accepted.
    let pending = w.request().await.instance;
    let e = w
        .service
        .identity(&platform_admin(), &w.tenant.id, &pending.id)
        .await
        .expect_err("no pool yet");
    assert_eq!(e.code(), ErrorCode::Conflict);
    assert!(e.to_string().contains("PENDING_PROVISIONING"), "{e}");
    match request(&w, &pending, stricter(), None).await {
        Err(Error::InstanceTransition { current, .. }) => {
            assert_eq!(current, InstanceState::PendingProvisioning);
        }
        other => panic!("422 for a pending instance, not {other:?}"),
    }
    let i = {
        let op = pending.current_operation.expect("its provisioning");
        w.run(&op).await;
        w.instance(&pending).await
    };
    assert_eq!(i.state, InstanceState::Active);

    // Suspended: the pool can be read, not changed.
    let reason = Reason::parse(Some("customer asked for a pause"), "reason").expect("reason");
    let suspend = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Suspend { reason },
            None,
        )
        .await
        .expect("suspend")
        .value;
    w.run(&suspend.operation.id).await;
    w.service
        .identity(&platform_admin(), &w.tenant.id, &i.id)
        .await
        .expect("a suspended instance's pool is readable");
    match request(&w, &i, stricter(), None).await {
        Err(Error::InstanceTransition {
            current, allowed, ..
        }) => {
            assert_eq!(current, InstanceState::Suspended);
            assert!(allowed.contains(&InstanceState::Resuming), "{allowed:?}");
        }
        other => panic!("422 for a suspended instance, not {other:?}"),
    }
    let resume = w
        .service
        .request_lifecycle(
            &platform_admin(),
            &w.tenant.id,
            &i.id,
            LifecycleRequest::Resume,
            None,
        )
        .await
        .expect("resume")
        .value;
    w.run(&resume.operation.id).await;

    // Roles: a viewer reads but may not change; an operator of the tenant may; an outsider
    // sees nothing.
    let e = w
        .service
        .request_identity_configuration(
            &viewer(&[&w.tenant.id]),
            &w.tenant.id,
            &i.id,
            stricter(),
            None,
        )
        .await
        .expect_err("a viewer may not");
    assert_eq!(e.code(), ErrorCode::Forbidden);
    w.service
        .request_identity_configuration(
            &operator(&[&w.tenant.id]),
            &w.tenant.id,
            &i.id,
            stricter(),
            None,
        )
        .await
        .expect("an operator may");
    for e in [
        w.service
            .identity(&outsider(), &w.tenant.id, &i.id)
            .await
            .expect_err("outsider"),
        w.service
            .request_identity_configuration(&outsider(), &w.tenant.id, &i.id, stricter(), None)
            .await
            .expect_err("outsider"),
    ] {
        assert_eq!(e.code(), ErrorCode::TenantNotFound);
    }
}

#[tokio::test(start_paused = true)]
async fn the_same_key_replays_and_another_change_under_it_is_refused() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let first = request(&w, &i, stricter(), Some("identity-1"))
        .await
        .expect("first");
    assert!(!first.replayed);
    let again = request(&w, &i, stricter(), Some("identity-1"))
        .await
        .expect("replay");
    assert!(again.replayed);
    assert_eq!(again.value.operation.id, first.value.operation.id);
    let other = IdentityChange::new(None, Some(MfaConfiguration::Off)).expect("a change");
    let e = request(&w, &i, other, Some("identity-1"))
        .await
        .expect_err("another change under the same key");
    assert_eq!(e.code(), ErrorCode::IdempotencyKeyReused);
}

#[tokio::test(start_paused = true)]
async fn a_failed_step_fails_the_operation_and_leaves_the_instance_active() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let pool = pool_id(&w, &i).await;
    // The policy is set (one throttled try, retried); then MFA fails for good.
    w.fake.inject(Fault {
        kind: Kind::PoolSettings,
        op: Op::Create,
        nth: Some(1),
        mode: FaultMode::Throttle,
    });
    w.fake.inject(Fault {
        kind: Kind::PoolSettings,
        op: Op::Create,
        nth: Some(3),
        mode: FaultMode::Fail,
    });
    let accepted = request(&w, &i, stricter(), None)
        .await
        .expect("accepted")
        .value;
    let op = w.run(&accepted.operation.id).await;
    assert_eq!(op.status, OperationStatus::Failed, "{op:?}");
    let error = op.error.clone().expect("the reason");
    assert_eq!(error.code, ErrorCode::ProvCognito);
    assert!(error.message.contains("configure-mfa"), "{}", error.message);
    let steps: Vec<(StepName, StepStatus, u32)> = op
        .steps
        .iter()
        .map(|s| (s.name, s.status, s.attempts))
        .collect();
    assert_eq!(
        steps,
        [
            (StepName::ConfigurePasswordPolicy, StepStatus::Done, 2),
            (StepName::ConfigureMfa, StepStatus::Failed, 1),
        ]
    );
    let after = w.instance(&i).await;
    assert_eq!(after.state, InstanceState::Active, "the site keeps serving");
    assert_eq!(after.last_error, None);
    let (policy, mfa) = w.fake.pool_settings(&pool).expect("pool");
    assert_eq!(
        policy.minimum_length, 12,
        "what was set before the failure stays set"
    );
    assert_eq!(mfa, MfaConfiguration::Optional);
    assert!(
        w.tenants
            .audit_types(&w.tenant.id)
            .await
            .contains(&"INSTANCE_IDENTITY_CONFIGURATION_FAILED".to_owned())
    );
    // A new request applies the whole change again (each call is idempotent).
    let retry = request(&w, &i, stricter(), None)
        .await
        .expect("accepted")
        .value;
    assert_eq!(
        w.run(&retry.operation.id).await.status,
        OperationStatus::Completed
    );
    assert_eq!(
        w.fake.pool_settings(&pool).expect("pool").1,
        MfaConfiguration::On
    );
}

#[tokio::test(start_paused = true)]
async fn on_the_plan_recorder_the_change_is_refused_and_the_instance_stays_active() {
    let w = World::new().await;
    let (i, _) = w.provision().await;
    let accepted = request(&w, &i, stricter(), None)
        .await
        .expect("accepted")
        .value;
    let plan = ProvisioningEngine::new(
        w.tenants.store.clone(),
        InstanceCloud::plan(&Arc::new(PlanRecorder::new())),
        PlatformConfig::defaults(Environment::Dev),
        w.tenants.clock.clone(),
        Arc::new(TokioTimer),
        Arc::new(RandomIds),
    );
    let e = plan
        .run_or_refuse(&accepted.operation.id)
        .await
        .expect_err("refused");
    assert_eq!(e.code(), ErrorCode::CloudUnavailable);
    let op = w
        .service
        .operation(&platform_admin(), &accepted.operation.id)
        .await
        .expect("operation");
    assert_eq!(op.status, OperationStatus::Failed);
    assert_eq!(op.error.map(|e| e.code), Some(ErrorCode::CloudUnavailable));
    assert!(op.completed_at.is_some());
    assert_eq!(w.instance(&i).await.state, InstanceState::Active);
}
