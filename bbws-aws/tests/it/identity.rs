//! The tenant's Cognito pool on moto (digest 2.7 C18, C19): read live, then changed by a
//! `CONFIGURE_IDENTITY` operation stored in DynamoDB and run by the engine on the real adapter.
//!
//! moto's `UpdateUserPool` replaces the pool's whole configuration with what it is given, as
//! Cognito resets what an update omits, so a setting the read-modify-write failed to carry over
//! would be gone afterwards. One moto gap is left out of the comparison: moto also drops
//! `UsernameAttributes` and `UsernameConfiguration` on any update, which Cognito keeps (they
//! cannot be updated at all).

use aws_sdk_cognitoidentityprovider::types::{
    AdminCreateUserConfigType, DefaultEmailOptionType, LambdaConfigType, MessageTemplateType,
    UserPoolType, VerificationMessageTemplateType,
};
use bbws_aws::cloud::cognito::update_request;
use bbws_core::instance::{
    IdentityChange, InstanceState, LedgerDao, LedgerStatus, MfaConfiguration, OperationDao,
    OperationStatus, OperationType, PasswordPolicy, PasswordPolicyChange, ResourceType,
};

use crate::instances::{World, provisioned, world};
use crate::support::admin;

async fn describe(w: &World, pool: &str) -> UserPoolType {
    w.clients
        .cognito
        .describe_user_pool()
        .user_pool_id(pool)
        .send()
        .await
        .expect("described")
        .user_pool
        .expect("a pool")
}

#[tokio::test]
async fn configuring_identity_on_moto_changes_the_policy_and_mfa_and_keeps_every_other_setting() {
    let w = world().await;
    let (t, i) = provisioned(&w, "Identity On Moto").await;
    let ledger = w.store.ledger(&i.id).await.expect("ledger");
    let created = |rt: ResourceType| {
        ledger
            .iter()
            .find(|e| e.resource_type == rt && e.status == LedgerStatus::Created)
            .and_then(|e| e.id.clone())
            .expect("created")
    };
    let pool = created(ResourceType::CognitoPool);
    let client_id = created(ResourceType::CognitoClient);
    let cognito = &w.clients.cognito;

    // Settings an operator could have given the pool beyond what provisioning sets.
    update_request(
        cognito,
        &pool,
        &describe(&w, &pool).await,
        &PasswordPolicyChange::default(),
    )
    .admin_create_user_config(
        AdminCreateUserConfigType::builder()
            .allow_admin_create_user_only(true)
            .invite_message_template(
                MessageTemplateType::builder()
                    .email_subject("Welcome to Acme")
                    .email_message("Your user name is {username}, password {####}")
                    .build(),
            )
            .build(),
    )
    .lambda_config(
        LambdaConfigType::builder()
            .pre_sign_up("arn:aws:lambda:us-east-1:123456789012:function:pre-sign-up")
            .build(),
    )
    .verification_message_template(
        VerificationMessageTemplateType::builder()
            .email_subject("Confirm your Acme account")
            .email_message("Your Acme code is {####}")
            .default_email_option(DefaultEmailOptionType::ConfirmWithCode)
            .build(),
    )
    .sms_authentication_message("Your Acme sign-in code is {####}")
    .send()
    .await
    .expect("the pool is given more settings");
    let before = describe(&w, &pool).await;

    // C18: read live; the app client by its id, and its secret nowhere.
    let secret = cognito
        .describe_user_pool_client()
        .user_pool_id(&pool)
        .client_id(&client_id)
        .send()
        .await
        .expect("client")
        .user_pool_client
        .and_then(|c| c.client_secret)
        .expect("the client has a secret");
    let config = w
        .service
        .identity(&admin(), &t.id, &i.id)
        .await
        .expect("the identity is read");
    assert_eq!(config.user_pool_id, pool);
    assert_eq!(config.user_pool_arn, before.arn);
    assert_eq!(config.client_id.as_deref(), Some(client_id.as_str()));
    assert_eq!(config.domain, before.domain, "the hosted UI's prefix");
    assert!(config.domain.is_some());
    assert_eq!(config.password_policy, PasswordPolicy::default());
    assert_eq!(
        config.mfa,
        MfaConfiguration::Optional,
        "as provisioning set it"
    );
    assert!(
        !format!("{config:?}").contains(&secret),
        "no secret is read"
    );

    // C19: accepted, stored with the change in DynamoDB, run by the engine.
    let change = IdentityChange::new(
        Some(
            PasswordPolicyChange::new(Some(14), Some(false), None, None, Some(false))
                .expect("valid rules"),
        ),
        Some(MfaConfiguration::On),
    )
    .expect("a change");
    let accepted = w
        .service
        .request_identity_configuration(&admin(), &t.id, &i.id, change.clone(), None)
        .await
        .expect("accepted")
        .value;
    assert_eq!(accepted.operation.op_type, OperationType::ConfigureIdentity);
    let stored = w
        .store
        .get_operation(&accepted.operation.id)
        .await
        .expect("readable")
        .expect("stored");
    assert_eq!(stored.identity, Some(change), "DynamoDB keeps the change");
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("the run ends");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    assert_eq!(
        w.service
            .get(&admin(), &t.id, &i.id)
            .await
            .expect("instance")
            .state,
        InstanceState::Active
    );

    let config = w
        .service
        .identity(&admin(), &t.id, &i.id)
        .await
        .expect("the identity is read");
    assert_eq!(
        config.password_policy,
        PasswordPolicy {
            minimum_length: 14,
            require_uppercase: false,
            require_symbols: false,
            ..PasswordPolicy::default()
        }
    );
    assert_eq!(config.mfa, MfaConfiguration::On);

    // Every other setting is as it was.
    let after = describe(&w, &pool).await;
    let policy = |p: &UserPoolType| {
        p.policies
            .as_ref()
            .and_then(|p| p.password_policy.clone())
            .expect("a policy")
    };
    let (old, new) = (policy(&before), policy(&after));
    assert_eq!(new.minimum_length, Some(14));
    assert!(!new.require_uppercase && !new.require_symbols);
    assert_eq!(
        (new.require_lowercase, new.require_numbers),
        (old.require_lowercase, old.require_numbers)
    );
    assert_eq!(
        new.temporary_password_validity_days,
        old.temporary_password_validity_days
    );
    assert_eq!(
        after.auto_verified_attributes,
        before.auto_verified_attributes
    );
    assert_eq!(
        after.auto_verified_attributes.as_deref().map(<[_]>::len),
        Some(1),
        "email stays auto-verified"
    );
    assert_eq!(after.user_pool_tags, before.user_pool_tags);
    assert!(
        after
            .user_pool_tags
            .as_ref()
            .is_some_and(|tags| tags.get("bbws:tenant-id") == Some(&t.id.to_string())),
        "the tenant tags stay"
    );
    let admin_config = |p: &UserPoolType| {
        let given = p.admin_create_user_config.clone().expect("admin config");
        (
            given.allow_admin_create_user_only,
            given.invite_message_template,
        )
    };
    assert_eq!(admin_config(&after), admin_config(&before));
    assert!(admin_config(&after).0, "AllowAdminCreateUserOnly stays on");
    assert_eq!(after.lambda_config, before.lambda_config);
    assert!(
        after
            .lambda_config
            .as_ref()
            .is_some_and(|l| l.pre_sign_up.is_some())
    );
    assert_eq!(
        after.verification_message_template,
        before.verification_message_template
    );
    assert_eq!(
        after.sms_authentication_message,
        before.sms_authentication_message
    );
    assert_eq!(after.email_configuration, before.email_configuration);
    assert_eq!(
        after.account_recovery_setting,
        before.account_recovery_setting
    );
    assert_eq!(after.schema_attributes, before.schema_attributes);
    assert_eq!(after.domain, before.domain);
    assert_eq!(after.name, before.name);

    // MFA alone, back to OFF: the policy just set is kept.
    let off = IdentityChange::new(None, Some(MfaConfiguration::Off)).expect("a change");
    let accepted = w
        .service
        .request_identity_configuration(&admin(), &t.id, &i.id, off, None)
        .await
        .expect("accepted")
        .value;
    let op = w
        .engine
        .run(&accepted.operation.id)
        .await
        .expect("the run ends");
    assert_eq!(op.status, OperationStatus::Completed, "{op:#?}");
    let config = w
        .service
        .identity(&admin(), &t.id, &i.id)
        .await
        .expect("the identity is read");
    assert_eq!(config.mfa, MfaConfiguration::Off);
    assert_eq!(config.password_policy.minimum_length, 14);
}
