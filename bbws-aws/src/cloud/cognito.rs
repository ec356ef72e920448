//! [`IdentityProvisioner`] on Cognito (digest §4.4 A1): the tenant's user pool (tagged through
//! `UserPoolTags`), TOTP MFA, hosted-UI domain, app client and groups.
//!
//! Pool and client names are not unique in Cognito, so every create looks the name up first
//! (`ListUserPools` / `ListUserPoolClients`); a pool of that name that carries another tenant's
//! `bbws:tenant-id` tag is not ours and is skipped.

use async_trait::async_trait;
use aws_sdk_cognitoidentityprovider::Client;
use aws_sdk_cognitoidentityprovider::types::{
    AccountRecoverySettingType, AttributeDataType, ExplicitAuthFlowsType, OAuthFlowType,
    PasswordPolicyType, RecoveryOptionNameType, RecoveryOptionType, SchemaAttributeType,
    SoftwareTokenMfaConfigType, StringAttributeConstraintsType, UserPoolMfaType,
    UserPoolPolicyType, UsernameAttributeType, UsernameConfigurationType, VerifiedAttributeType,
};
use bbws_core::instance::ports::{
    AppClient, AppClientSpec, CloudError, CloudErrorKind, CloudResource, CloudResult, DomainSpec,
    GroupSpec, IdentityProvisioner, MfaConfiguration, SecretValue, UserPoolSpec,
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

impl AwsIdentity {
    pub fn new(client: Client) -> Self {
        Self { client }
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
