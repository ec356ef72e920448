//! [`IdentityProvisioner`] on Cognito (digest §4.4 A1): the tenant's user pool (tagged through
//! `UserPoolTags`), TOTP MFA, hosted-UI domain, app client and groups.
//!
//! Pool and client names are not unique in Cognito, so every create looks the name up first
//! (`ListUserPools` / `ListUserPoolClients`); a pool of that name that carries another tenant's
//! `bbws:tenant-id` tag is not ours and is skipped.
//!
//! Configuring a pool (C19): `UpdateUserPool` resets what it is not given (auto-verified
//! attributes, templates, e-mail configuration, tags, ...), so the password policy is changed by
//! a read-modify-write ([`update_request`]): everything `DescribeUserPool` answered is sent back
//! with only the policy's rules changed. Two exceptions, both as Cognito behaves: MFA is left out
//! (`UpdateUserPool` keeps it when omitted, refuses to turn it `ON`, and `SetUserPoolMfaConfig`
//! owns it), and the deprecated `UnusedAccountValidityDays` is sent as 0 (Cognito refuses it
//! beside `TemporaryPasswordValidityDays`; 0 means "not set").

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::operation::update_user_pool::builders::UpdateUserPoolFluentBuilder;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AttributeDataType, ExplicitAuthFlowsType, OAuthFlowType,
    PasswordPolicyType, RecoveryOptionNameType, RecoveryOptionType, SchemaAttributeType,
    SoftwareTokenMfaConfigType, StringAttributeConstraintsType, UserPoolMfaType,
    UserPoolPolicyType, UserPoolType, UsernameAttributeType, UsernameConfigurationType,
    VerifiedAttributeType,
};
use bbws_core::instance::ports::{
    AppClient, AppClientSpec, CloudError, CloudErrorKind, CloudResource, CloudResult, DomainSpec,
    GroupSpec, IdentityProvisioner, MfaConfiguration, PasswordPolicy, PasswordPolicyChange,
    SecretValue, UserPoolSettings, UserPoolSpec,
};

use super::{build_failed, classify, code_of};

const SERVICE: &str = "cognito-idp";
const TENANT_TAG: &str = "bbws:tenant-id";

/// The Cognito adapter.
#[derive(Debug, Clone)]
pub struct AwsIdentity {
    client: Client,
}

fn mfa(m: MfaConfiguration) -> UserPoolMfaType {
    match m {
        MfaConfiguration::Off => UserPoolMfaType::Off,
        MfaConfiguration::Optional => UserPoolMfaType::Optional,
        MfaConfiguration::On => UserPoolMfaType::On,
    }
}

fn gone(code: Option<&str>) -> bool {
    code == Some("ResourceNotFoundException")
}

/// The pool's password policy in the domain's terms (Cognito's defaults where it says nothing).
fn password_policy(pool: &UserPoolType) -> PasswordPolicy {
    let defaults = PasswordPolicy::default();
    let Some(p) = pool
        .policies()
        .and_then(UserPoolPolicyType::password_policy)
    else {
        return defaults;
    };
    PasswordPolicy {
        minimum_length: p
            .minimum_length()
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(defaults.minimum_length),
        require_uppercase: p.require_uppercase(),
        require_lowercase: p.require_lowercase(),
        require_numbers: p.require_numbers(),
        require_symbols: p.require_symbols(),
        temporary_password_validity_days: u8::try_from(p.temporary_password_validity_days())
            .unwrap_or(defaults.temporary_password_validity_days),
    }
}

/// The `UpdateUserPool` of a read-modify-write: every settable attribute of `pool` as described,
/// the password policy's rules in `change` set (the rest of the policy, and the sign-in policy,
/// as they are). See the module docs for the two attributes that are not carried.
pub fn update_request(
    client: &Client,
    pool_id: &str,
    pool: &UserPoolType,
    change: &PasswordPolicyChange,
) -> UpdateUserPoolFluentBuilder {
    let mut policies = pool
        .policies
        .clone()
        .unwrap_or_else(|| UserPoolPolicyType::builder().build());
    let mut password = policies
        .password_policy
        .clone()
        .unwrap_or_else(|| PasswordPolicyType::builder().build());
    if let Some(n) = change.minimum_length {
        password.minimum_length = Some(i32::from(n));
    }
    for (rule, to) in [
        (&mut password.require_uppercase, change.require_uppercase),
        (&mut password.require_lowercase, change.require_lowercase),
        (&mut password.require_numbers, change.require_numbers),
        (&mut password.require_symbols, change.require_symbols),
    ] {
        if let Some(to) = to {
            *rule = to;
        }
    }
    policies.password_policy = Some(password);
    let admin = pool.admin_create_user_config.clone().map(|mut a| {
        a.unused_account_validity_days = 0;
        a
    });
    client
        .update_user_pool()
        .user_pool_id(pool_id)
        .policies(policies)
        .set_pool_name(pool.name.clone())
        .set_deletion_protection(pool.deletion_protection.clone())
        .set_lambda_config(pool.lambda_config.clone())
        .set_auto_verified_attributes(pool.auto_verified_attributes.clone())
        // The template supersedes EmailVerificationMessage/Subject and SmsVerificationMessage,
        // which Cognito derives from it.
        .set_verification_message_template(pool.verification_message_template.clone())
        .set_sms_authentication_message(pool.sms_authentication_message.clone())
        .set_user_attribute_update_settings(pool.user_attribute_update_settings.clone())
        .set_device_configuration(pool.device_configuration.clone())
        .set_email_configuration(pool.email_configuration.clone())
        .set_sms_configuration(pool.sms_configuration.clone())
        .set_user_pool_tags(pool.user_pool_tags.clone())
        .set_admin_create_user_config(admin)
        .set_user_pool_add_ons(pool.user_pool_add_ons.clone())
        .set_account_recovery_setting(pool.account_recovery_setting.clone())
        .set_user_pool_tier(pool.user_pool_tier.clone())
        .set_key_configuration(pool.key_configuration.clone())
        .set_issuer_configuration(pool.issuer_configuration.clone())
        .set_acr_configuration(pool.acr_configuration.clone())
}

impl AwsIdentity {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    /// `DescribeUserPool`: the pool, or `None` when it does not exist.
    async fn described(&self, id: &str) -> CloudResult<Option<UserPoolType>> {
        match self
            .client
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
        {
            Ok(d) => Ok(d.user_pool),
            Err(e) if gone(code_of(&e)) => Ok(None),
            Err(e) => Err(classify(SERVICE, "DescribeUserPool", &e)),
        }
    }

    /// Pools named `name`: `(id, tenant tag)`.
    async fn pools_named(&self, name: &str) -> CloudResult<Vec<(String, Option<String>)>> {
        let mut ids = Vec::new();
        let mut token = None;
        loop {
            let page = self
                .client
                .list_user_pools()
                .max_results(60)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| classify(SERVICE, "ListUserPools", &e))?;
            ids.extend(
                page.user_pools()
                    .iter()
                    .filter(|p| p.name() == Some(name))
                    .filter_map(|p| p.id().map(str::to_owned)),
            );
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        let mut out = Vec::new();
        for id in ids {
            match self
                .client
                .describe_user_pool()
                .user_pool_id(&id)
                .send()
                .await
            {
                Ok(d) => {
                    let tag = d
                        .user_pool()
                        .and_then(|p| p.user_pool_tags())
                        .and_then(|t| t.get(TENANT_TAG))
                        .cloned();
                    out.push((id, tag));
                }
                Err(e) if gone(code_of(&e)) => {}
                Err(e) => return Err(classify(SERVICE, "DescribeUserPool", &e)),
            }
        }
        Ok(out)
    }

    async fn pool_resource(&self, id: &str) -> CloudResult<CloudResource> {
        let d = self
            .client
            .describe_user_pool()
            .user_pool_id(id)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "DescribeUserPool", &e))?;
        let r = CloudResource::new(id);
        Ok(match d.user_pool().and_then(|p| p.arn()) {
            Some(arn) => r.with_arn(arn),
            None => r,
        })
    }

    async fn set_mfa(&self, id: &str, m: MfaConfiguration) -> CloudResult<()> {
        self.client
            .set_user_pool_mfa_config()
            .user_pool_id(id)
            .software_token_mfa_configuration(
                SoftwareTokenMfaConfigType::builder().enabled(true).build(),
            )
            .mfa_configuration(mfa(m))
            .send()
            .await
            .map_err(|e| classify(SERVICE, "SetUserPoolMfaConfig", &e))?;
        Ok(())
    }

    async fn client_named(&self, pool: &str, name: &str) -> CloudResult<Option<String>> {
        let mut token = None;
        loop {
            let page = match self
                .client
                .list_user_pool_clients()
                .user_pool_id(pool)
                .max_results(60)
                .set_next_token(token)
                .send()
                .await
            {
                Ok(p) => p,
                Err(e) if gone(code_of(&e)) => return Ok(None),
                Err(e) => return Err(classify(SERVICE, "ListUserPoolClients", &e)),
            };
            if let Some(id) = page
                .user_pool_clients()
                .iter()
                .find(|c| c.client_name() == Some(name))
                .and_then(|c| c.client_id())
            {
                return Ok(Some(id.to_owned()));
            }
            match page.next_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Ok(None),
            }
        }
    }

    async fn describe_client(&self, pool: &str, id: &str) -> CloudResult<Option<AppClient>> {
        match self
            .client
            .describe_user_pool_client()
            .user_pool_id(pool)
            .client_id(id)
            .send()
            .await
        {
            Ok(d) => Ok(d.user_pool_client().map(|c| AppClient {
                client_id: id.to_owned(),
                client_secret: SecretValue::new(c.client_secret().unwrap_or_default()),
            })),
            Err(e) if gone(code_of(&e)) => Ok(None),
            Err(e) => Err(classify(SERVICE, "DescribeUserPoolClient", &e)),
        }
    }
}

#[async_trait]
impl IdentityProvisioner for AwsIdentity {
    async fn create_user_pool(&self, spec: &UserPoolSpec) -> CloudResult<CloudResource> {
        let tenant = spec.tenant_id.to_string();
        let mine = self
            .pools_named(&spec.name)
            .await?
            .into_iter()
            .find(|(_, tag)| tag.as_deref().is_none_or(|t| t == tenant));
        if let Some((id, _)) = mine {
            self.set_mfa(&id, spec.mfa).await?;
            return self.pool_resource(&id).await;
        }
        let a = "CreateUserPool";
        let p = &spec.password_policy;
        let out = self
            .client
            .create_user_pool()
            .pool_name(&spec.name)
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(i32::from(p.minimum_length))
                            .require_uppercase(p.require_uppercase)
                            .require_lowercase(p.require_lowercase)
                            .require_numbers(p.require_numbers)
                            .require_symbols(p.require_symbols)
                            .temporary_password_validity_days(i32::from(
                                p.temporary_password_validity_days,
                            ))
                            .build(),
                    )
                    .build(),
            )
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .username_attributes(UsernameAttributeType::Email)
            .username_configuration(
                UsernameConfigurationType::builder()
                    .case_sensitive(false)
                    .build()
                    .map_err(|e| build_failed(SERVICE, a, &e))?,
            )
            // MFA is switched on by SetUserPoolMfaConfig with TOTP (no SMS configuration).
            .mfa_configuration(UserPoolMfaType::Off)
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .name(RecoveryOptionNameType::VerifiedEmail)
                            .priority(1)
                            .build()
                            .map_err(|e| build_failed(SERVICE, a, &e))?,
                    )
                    .build(),
            )
            .schema(
                SchemaAttributeType::builder()
                    .name("email")
                    .attribute_data_type(AttributeDataType::String)
                    .required(true)
                    .mutable(true)
                    .build(),
            )
            .schema(
                SchemaAttributeType::builder()
                    .name("name")
                    .attribute_data_type(AttributeDataType::String)
                    .required(false)
                    .mutable(true)
                    .build(),
            )
            .schema(
                SchemaAttributeType::builder()
                    .name("tenant_id")
                    .attribute_data_type(AttributeDataType::String)
                    .mutable(false)
                    .string_attribute_constraints(
                        StringAttributeConstraintsType::builder()
                            .min_length("1")
                            .max_length("256")
                            .build(),
                    )
                    .build(),
            )
            .set_user_pool_tags(Some(spec.tags.clone().into_iter().collect()))
            .send()
            .await
            .map_err(|e| classify(SERVICE, a, &e))?;
        let pool = out
            .user_pool()
            .ok_or_else(|| build_failed(SERVICE, a, &"no pool in the answer"))?;
        let id = pool
            .id()
            .ok_or_else(|| build_failed(SERVICE, a, &"no pool id in the answer"))?
            .to_owned();
        self.set_mfa(&id, spec.mfa).await?;
        let r = CloudResource::new(id);
        Ok(match pool.arn() {
            Some(arn) => r.with_arn(arn),
            None => r,
        })
    }

    async fn find_user_pool(&self, name: &str) -> CloudResult<Option<CloudResource>> {
        match self.pools_named(name).await?.into_iter().next() {
            Some((id, _)) => Ok(Some(self.pool_resource(&id).await?)),
            None => Ok(None),
        }
    }

    async fn delete_user_pool(&self, user_pool_id: &str) -> CloudResult<()> {
        match self
            .client
            .delete_user_pool()
            .user_pool_id(user_pool_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if gone(code_of(&e)) => Ok(()),
            Err(e) => Err(classify(SERVICE, "DeleteUserPool", &e)),
        }
    }

    async fn create_domain(&self, spec: &DomainSpec) -> CloudResult<CloudResource> {
        match self.domain_owner(&spec.prefix).await? {
            Some(owner) if owner == spec.user_pool_id => {
                return Ok(CloudResource::new(spec.prefix.clone()));
            }
            Some(owner) => {
                return Err(CloudError::new(
                    CloudErrorKind::Conflict,
                    SERVICE,
                    "CreateUserPoolDomain",
                    format!(
                        "DomainAlreadyExists: {} belongs to pool {owner}",
                        spec.prefix
                    ),
                ));
            }
            None => {}
        }
        self.client
            .create_user_pool_domain()
            .domain(&spec.prefix)
            .user_pool_id(&spec.user_pool_id)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "CreateUserPoolDomain", &e))?;
        Ok(CloudResource::new(spec.prefix.clone()))
    }

    async fn find_domain(&self, prefix: &str) -> CloudResult<Option<CloudResource>> {
        Ok(self
            .domain_owner(prefix)
            .await?
            .map(|_| CloudResource::new(prefix)))
    }

    async fn delete_domain(&self, user_pool_id: &str, prefix: &str) -> CloudResult<()> {
        match self.domain_owner(prefix).await? {
            None => return Ok(()),
            Some(owner) if owner != user_pool_id && !user_pool_id.is_empty() => {
                return Err(CloudError::new(
                    CloudErrorKind::Conflict,
                    SERVICE,
                    "DeleteUserPoolDomain",
                    format!("domain {prefix} belongs to pool {owner}, not {user_pool_id}"),
                ));
            }
            Some(owner) => {
                match self
                    .client
                    .delete_user_pool_domain()
                    .domain(prefix)
                    .user_pool_id(owner)
                    .send()
                    .await
                {
                    Ok(_) => Ok(()),
                    Err(e) if gone(code_of(&e)) => Ok(()),
                    Err(e) => Err(classify(SERVICE, "DeleteUserPoolDomain", &e)),
                }
            }
        }
    }

    async fn create_app_client(&self, spec: &AppClientSpec) -> CloudResult<AppClient> {
        if let Some(found) = self.find_app_client(&spec.user_pool_id, &spec.name).await? {
            return Ok(found);
        }
        let a = "CreateUserPoolClient";
        let out = self
            .client
            .create_user_pool_client()
            .user_pool_id(&spec.user_pool_id)
            .client_name(&spec.name)
            .generate_secret(true)
            .allowed_o_auth_flows_user_pool_client(true)
            .allowed_o_auth_flows(OAuthFlowType::Code)
            .allowed_o_auth_scopes("openid")
            .allowed_o_auth_scopes("email")
            .allowed_o_auth_scopes("profile")
            .supported_identity_providers("COGNITO")
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowUserSrpAuth)
            .explicit_auth_flows(ExplicitAuthFlowsType::AllowRefreshTokenAuth)
            .set_callback_urls(Some(spec.callback_urls.clone()))
            .set_logout_urls(Some(spec.logout_urls.clone()))
            .send()
            .await
            .map_err(|e| classify(SERVICE, a, &e))?;
        let c = out
            .user_pool_client()
            .ok_or_else(|| build_failed(SERVICE, a, &"no client in the answer"))?;
        Ok(AppClient {
            client_id: c
                .client_id()
                .ok_or_else(|| build_failed(SERVICE, a, &"no client id in the answer"))?
                .to_owned(),
            client_secret: SecretValue::new(c.client_secret().unwrap_or_default()),
        })
    }

    async fn find_app_client(
        &self,
        user_pool_id: &str,
        name: &str,
    ) -> CloudResult<Option<AppClient>> {
        match self.client_named(user_pool_id, name).await? {
            Some(id) => self.describe_client(user_pool_id, &id).await,
            None => Ok(None),
        }
    }

    async fn delete_app_client(&self, user_pool_id: &str, client_id: &str) -> CloudResult<()> {
        match self
            .client
            .delete_user_pool_client()
            .user_pool_id(user_pool_id)
            .client_id(client_id)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if gone(code_of(&e)) => Ok(()),
            Err(e) => Err(classify(SERVICE, "DeleteUserPoolClient", &e)),
        }
    }

    async fn create_groups(&self, user_pool_id: &str, groups: &[GroupSpec]) -> CloudResult<()> {
        for g in groups {
            match self
                .client
                .create_group()
                .user_pool_id(user_pool_id)
                .group_name(&g.name)
                .precedence(i32::from(g.precedence))
                .description(&g.description)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if code_of(&e) == Some("GroupExistsException") => {}
                Err(e) => return Err(classify(SERVICE, "CreateGroup", &e)),
            }
        }
        Ok(())
    }

    async fn describe_user_pool(
        &self,
        user_pool_id: &str,
    ) -> CloudResult<Option<UserPoolSettings>> {
        let Some(pool) = self.described(user_pool_id).await? else {
            return Ok(None);
        };
        // MFA from its own call: it is what SetUserPoolMfaConfig set.
        let mfa = match self
            .client
            .get_user_pool_mfa_config()
            .user_pool_id(user_pool_id)
            .send()
            .await
        {
            Ok(out) => out.mfa_configuration().cloned(),
            Err(e) if gone(code_of(&e)) => return Ok(None),
            Err(e) => return Err(classify(SERVICE, "GetUserPoolMfaConfig", &e)),
        };
        let mfa = mfa
            .or_else(|| pool.mfa_configuration.clone())
            .map_or(Some(MfaConfiguration::Off), |m| {
                MfaConfiguration::parse_aws(m.as_str())
            })
            .ok_or_else(|| {
                CloudError::permanent(SERVICE, "GetUserPoolMfaConfig", "unknown MfaConfiguration")
            })?;
        Ok(Some(UserPoolSettings {
            id: pool.id.clone().unwrap_or_else(|| user_pool_id.to_owned()),
            arn: pool.arn.clone(),
            name: pool.name.clone().unwrap_or_default(),
            domain: pool.domain.clone().filter(|d| !d.is_empty()),
            password_policy: password_policy(&pool),
            mfa,
        }))
    }

    async fn update_password_policy(
        &self,
        user_pool_id: &str,
        change: &PasswordPolicyChange,
    ) -> CloudResult<()> {
        let Some(pool) = self.described(user_pool_id).await? else {
            return Err(CloudError::permanent(
                SERVICE,
                "DescribeUserPool",
                format!("ResourceNotFoundException: user pool {user_pool_id} does not exist"),
            ));
        };
        update_request(&self.client, user_pool_id, &pool, change)
            .send()
            .await
            .map_err(|e| classify(SERVICE, "UpdateUserPool", &e))?;
        Ok(())
    }

    async fn set_mfa_configuration(
        &self,
        user_pool_id: &str,
        m: MfaConfiguration,
    ) -> CloudResult<()> {
        // A full replace: ON and OPTIONAL name their factor (the pools use TOTP only); OFF
        // names none, as Cognito refuses OFF beside an enabled factor.
        let call = self
            .client
            .set_user_pool_mfa_config()
            .user_pool_id(user_pool_id)
            .mfa_configuration(mfa(m));
        let call = if m == MfaConfiguration::Off {
            call
        } else {
            call.software_token_mfa_configuration(
                SoftwareTokenMfaConfigType::builder().enabled(true).build(),
            )
        };
        call.send()
            .await
            .map_err(|e| classify(SERVICE, "SetUserPoolMfaConfig", &e))?;
        Ok(())
    }

    async fn delete_groups(&self, user_pool_id: &str, names: &[String]) -> CloudResult<()> {
        for name in names {
            match self
                .client
                .delete_group()
                .user_pool_id(user_pool_id)
                .group_name(name)
                .send()
                .await
            {
                Ok(_) => {}
                Err(e) if gone(code_of(&e)) => {}
                Err(e) => return Err(classify(SERVICE, "DeleteGroup", &e)),
            }
        }
        Ok(())
    }
}

impl AwsIdentity {
    /// The pool a domain prefix belongs to (`DescribeUserPoolDomain`), if any.
    async fn domain_owner(&self, prefix: &str) -> CloudResult<Option<String>> {
        match self
            .client
            .describe_user_pool_domain()
            .domain(prefix)
            .send()
            .await
        {
            Ok(out) => Ok(out
                .domain_description()
                .and_then(|d| d.user_pool_id())
                .filter(|id| !id.is_empty())
                .map(str::to_owned)),
            Err(e) if gone(code_of(&e)) => Ok(None),
            Err(e) => Err(classify(SERVICE, "DescribeUserPoolDomain", &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cognitoidentityprovider::config::{BehaviorVersion, Region};
    use aws_sdk_cognitoidentityprovider::types::{
        AdminCreateUserConfigType, AuthFactorType, DefaultEmailOptionType, DeletionProtectionType,
        DeviceConfigurationType, EmailConfigurationType, EmailSendingAccountType, LambdaConfigType,
        MessageTemplateType, SignInPolicyType, UserAttributeUpdateSettingsType, UserPoolTierType,
        VerificationMessageTemplateType,
    };

    /// A client that is never sent anything: the request is only built.
    fn client() -> Client {
        Client::from_conf(
            aws_sdk_cognitoidentityprovider::Config::builder()
                .behavior_version(BehaviorVersion::latest())
                .region(Region::new("us-east-1"))
                .build(),
        )
    }

    /// A pool with a setting in every attribute an update would reset.
    fn pool() -> UserPoolType {
        UserPoolType::builder()
            .id("us-east-1_pool")
            .name("bbws-tenant-acme-user-pool")
            .policies(
                UserPoolPolicyType::builder()
                    .password_policy(
                        PasswordPolicyType::builder()
                            .minimum_length(8)
                            .require_uppercase(true)
                            .require_lowercase(true)
                            .require_numbers(true)
                            .require_symbols(true)
                            .password_history_size(5)
                            .temporary_password_validity_days(3)
                            .build(),
                    )
                    .sign_in_policy(
                        SignInPolicyType::builder()
                            .allowed_first_auth_factors(AuthFactorType::Password)
                            .build(),
                    )
                    .build(),
            )
            .deletion_protection(DeletionProtectionType::Active)
            .lambda_config(
                LambdaConfigType::builder()
                    .pre_sign_up("arn:aws:lambda:us-east-1:1:function:pre")
                    .build(),
            )
            .auto_verified_attributes(VerifiedAttributeType::Email)
            .username_attributes(UsernameAttributeType::Email)
            .email_verification_message("Your code is {####}")
            .verification_message_template(
                VerificationMessageTemplateType::builder()
                    .email_message("Your code is {####}")
                    .email_subject("Your code")
                    .default_email_option(DefaultEmailOptionType::ConfirmWithCode)
                    .build(),
            )
            .sms_authentication_message("Code {####}")
            .user_attribute_update_settings(
                UserAttributeUpdateSettingsType::builder()
                    .attributes_require_verification_before_update(VerifiedAttributeType::Email)
                    .build(),
            )
            .mfa_configuration(UserPoolMfaType::On)
            .device_configuration(
                DeviceConfigurationType::builder()
                    .challenge_required_on_new_device(true)
                    .build(),
            )
            .email_configuration(
                EmailConfigurationType::builder()
                    .email_sending_account(EmailSendingAccountType::CognitoDefault)
                    .build(),
            )
            .user_pool_tags("bbws:tenant-id", "tenant-1")
            .user_pool_tags("bbws:component", "cognito")
            .admin_create_user_config(
                AdminCreateUserConfigType::builder()
                    .allow_admin_create_user_only(true)
                    .unused_account_validity_days(7)
                    .invite_message_template(
                        MessageTemplateType::builder()
                            .email_subject("Welcome")
                            .build(),
                    )
                    .build(),
            )
            .account_recovery_setting(
                AccountRecoverySettingType::builder()
                    .recovery_mechanisms(
                        RecoveryOptionType::builder()
                            .name(RecoveryOptionNameType::VerifiedEmail)
                            .priority(1)
                            .build()
                            .expect("valid"),
                    )
                    .build(),
            )
            .user_pool_tier(UserPoolTierType::Essentials)
            .build()
    }

    #[test]
    fn the_update_sets_the_rules_given_and_sends_back_everything_else() {
        let pool = pool();
        let change = PasswordPolicyChange {
            minimum_length: Some(12),
            require_symbols: Some(false),
            ..PasswordPolicyChange::default()
        };
        let req = update_request(&client(), "us-east-1_pool", &pool, &change);
        let sent = req.as_input();
        assert_eq!(sent.get_user_pool_id().as_deref(), Some("us-east-1_pool"));

        let policies = sent.get_policies().clone().expect("policies sent");
        let p = policies.password_policy.expect("password policy sent");
        assert_eq!(p.minimum_length, Some(12));
        assert!(!p.require_symbols);
        assert!(p.require_uppercase && p.require_lowercase && p.require_numbers);
        assert_eq!(
            p.password_history_size,
            Some(5),
            "the rest of the policy is kept"
        );
        assert_eq!(p.temporary_password_validity_days, 3);
        assert_eq!(
            policies.sign_in_policy,
            pool.policies
                .as_ref()
                .and_then(|p| p.sign_in_policy.clone())
        );

        // Every other settable attribute, as described.
        assert_eq!(sent.get_pool_name(), &pool.name);
        assert_eq!(sent.get_deletion_protection(), &pool.deletion_protection);
        assert_eq!(sent.get_lambda_config(), &pool.lambda_config);
        assert_eq!(
            sent.get_auto_verified_attributes(),
            &pool.auto_verified_attributes
        );
        assert_eq!(
            sent.get_verification_message_template(),
            &pool.verification_message_template
        );
        assert_eq!(
            sent.get_sms_authentication_message(),
            &pool.sms_authentication_message
        );
        assert_eq!(
            sent.get_user_attribute_update_settings(),
            &pool.user_attribute_update_settings
        );
        assert_eq!(sent.get_device_configuration(), &pool.device_configuration);
        assert_eq!(sent.get_email_configuration(), &pool.email_configuration);
        assert_eq!(sent.get_sms_configuration(), &pool.sms_configuration);
        assert_eq!(sent.get_user_pool_tags(), &pool.user_pool_tags);
        assert_eq!(sent.get_user_pool_add_ons(), &pool.user_pool_add_ons);
        assert_eq!(
            sent.get_account_recovery_setting(),
            &pool.account_recovery_setting
        );
        assert_eq!(sent.get_user_pool_tier(), &pool.user_pool_tier);
        let admin = sent
            .get_admin_create_user_config()
            .clone()
            .expect("admin-create-user config sent");
        assert!(admin.allow_admin_create_user_only);
        assert_eq!(
            admin.invite_message_template,
            pool.admin_create_user_config
                .as_ref()
                .and_then(|a| a.invite_message_template.clone())
        );
        assert_eq!(
            admin.unused_account_validity_days, 0,
            "the deprecated field is not set beside TemporaryPasswordValidityDays"
        );
        // MFA is SetUserPoolMfaConfig's: UpdateUserPool refuses to turn it ON.
        assert_eq!(sent.get_mfa_configuration(), &None);
        // The superseded message fields are derived from the template by Cognito.
        assert_eq!(sent.get_email_verification_message(), &None);
    }

    #[test]
    fn the_domain_policy_reads_cognitos_with_its_defaults() {
        let p = password_policy(&pool());
        assert_eq!(
            (p.minimum_length, p.temporary_password_validity_days),
            (8, 3)
        );
        assert!(p.require_symbols);
        let bare = UserPoolType::builder().id("x").build();
        assert_eq!(password_policy(&bare), PasswordPolicy::default());
    }
}
