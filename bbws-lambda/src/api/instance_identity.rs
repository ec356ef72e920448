//! C18 and C19: the tenant's Cognito user pool (digest 2.7 §1.3 `ConfigureIdentityRequest`,
//! §1.4 `IdentityConfig`, §6 "Identity get / configure").
//!
//! `GET …/identity` reads the pool live: ids, hosted-UI domain, password policy and MFA
//! (`OFF | OPTIONAL | REQUIRED`). The app client is named by its id; its secret is never read
//! or shown. An instance with no pool is 409; without a live cloud it is 503.
//! `PUT …/identity` accepts a change of the password policy (the rules given; the others kept)
//! and/or MFA as a `CONFIGURE_IDENTITY` operation (202, `Location: /v1.0/operations/{id}`),
//! from an ACTIVE instance only (else 422 with `allowedTransitions`); the instance stays ACTIVE.
//!
//! Who may call: reading, any member of the tenant; changing, the platform operators and the
//! tenant's Operators and Admins (`Provisioning`).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use bbws_core::error::{Error, FieldError};
use bbws_core::instance::{
    IdentityChange, IdentityConfig, InstanceState, MfaConfiguration, PasswordPolicyChange,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::dto::{Link, Links};
use super::error::ApiError;
use super::extract::{Caller, IdempotencyHeader, JsonBody, PathParams};
use super::instance_dto::{AcceptedResponse, instance_href};
use super::instances::{InstancesState, accepted_and_run, instance_id};

type ApiResult = Result<Response, ApiError>;

/// The `message` of an accepted identity configuration.
pub const IDENTITY_ACCEPTED: &str = "Instance CONFIGURE_IDENTITY accepted";

/// The pool's password policy.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(clippy::struct_excessive_bools)]
pub struct PasswordPolicyResponse {
    #[schema(minimum = 6, maximum = 99, example = 8)]
    pub minimum_length: u8,
    pub require_uppercase: bool,
    pub require_lowercase: bool,
    pub require_numbers: bool,
    pub require_symbols: bool,
}

/// The instance's identity configuration (C18). Never holds the app client's secret.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IdentityResponse {
    pub tenant_id: String,
    pub instance_id: String,
    #[schema(example = "eu-west-1_AbCdEf123")]
    pub user_pool_id: String,
    pub user_pool_arn: Option<String>,
    /// The WordPress app client's id.
    pub client_id: Option<String>,
    /// The hosted UI's domain prefix (`bbws-{key}-{env}`).
    pub domain: Option<String>,
    pub password_policy: PasswordPolicyResponse,
    #[schema(pattern = "^(OFF|OPTIONAL|REQUIRED)$", example = "OPTIONAL")]
    pub mfa_configuration: String,
    /// When Cognito was asked.
    pub checked_at: String,
    /// `self`, `instance`, and `configure` (PUT) while the instance is ACTIVE.
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&IdentityConfig> for IdentityResponse {
    fn from(c: &IdentityConfig) -> Self {
        let instance = instance_href(&c.instance.tenant_id, &c.instance.id);
        let href = format!("{instance}/identity");
        let mut links = Links::from([
            ("self".to_owned(), Link::get(&href)),
            ("instance".to_owned(), Link::get(instance)),
        ]);
        if c.instance.state == InstanceState::Active {
            links.insert("configure".to_owned(), Link::action("PUT", href));
        }
        let p = &c.password_policy;
        Self {
            tenant_id: c.instance.tenant_id.to_string(),
            instance_id: c.instance.id.to_string(),
            user_pool_id: c.user_pool_id.clone(),
            user_pool_arn: c.user_pool_arn.clone(),
            client_id: c.client_id.clone(),
            domain: c.domain.clone(),
            password_policy: PasswordPolicyResponse {
                minimum_length: p.minimum_length,
                require_uppercase: p.require_uppercase,
                require_lowercase: p.require_lowercase,
                require_numbers: p.require_numbers,
                require_symbols: p.require_symbols,
            },
            mfa_configuration: c.mfa.api_name().to_owned(),
            checked_at: c.checked_at.to_string(),
            links,
        }
    }
}

/// `passwordPolicy` of C19: the rules given are set, the others kept.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordPolicyRequest {
    #[schema(minimum = 8, maximum = 99, example = 12)]
    pub minimum_length: Option<i64>,
    pub require_uppercase: Option<bool>,
    pub require_lowercase: Option<bool>,
    pub require_numbers: Option<bool>,
    pub require_symbols: Option<bool>,
}

/// Body of `PUT …/identity` (C19): at least one of the two.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigureIdentityRequest {
    pub password_policy: Option<PasswordPolicyRequest>,
    /// `REQUIRED` is Cognito's `ON`; every MFA is a TOTP app.
    #[schema(pattern = "^(OFF|OPTIONAL|REQUIRED)$", example = "REQUIRED")]
    pub mfa_configuration: Option<String>,
}

impl ConfigureIdentityRequest {
    /// Parses into an [`IdentityChange`]; every bad field is named.
    pub fn parse(self) -> Result<IdentityChange, Error> {
        let mut fields: Vec<FieldError> = Vec::new();
        let mut keep = |e: Error| match e {
            Error::Validation { fields: f, .. } => fields.extend(f),
            other => fields.push(FieldError::new("body", other.to_string())),
        };
        let password = match self.password_policy.map(|p| {
            PasswordPolicyChange::new(
                p.minimum_length,
                p.require_uppercase,
                p.require_lowercase,
                p.require_numbers,
                p.require_symbols,
            )
        }) {
            None => None,
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                keep(e);
                None
            }
        };
        let mfa = match self
            .mfa_configuration
            .map(|m| MfaConfiguration::parse_api(&m, "mfaConfiguration"))
        {
            None => None,
            Some(Ok(m)) => Some(m),
            Some(Err(e)) => {
                keep(e);
                None
            }
        };
        if !fields.is_empty() {
            return Err(Error::fields(fields));
        }
        IdentityChange::new(password, mfa)
    }
}

/// The instance's Cognito pool, read live (C18).
#[utoipa::path(
    get, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/identity", tag = "instances",
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
    ),
    responses(
        (status = 200, description = "The pool's configuration (never the client secret)", body = IdentityResponse),
        (status = 503, description = "CLOUD_UNAVAILABLE: no live cloud to read the pool from, or Cognito did not answer", body = super::dto::ErrorResponse),
    )
)]
pub async fn get_identity(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let config = s.instances.identity(&actor, &tenant, &id).await?;
    Ok(Json(IdentityResponse::from(&config)).into_response())
}

/// Change the pool's password policy and/or MFA (C19): 202 with a `CONFIGURE_IDENTITY`
/// operation. Only an ACTIVE instance; it stays ACTIVE.
#[utoipa::path(
    put, path = "/v1.0/tenants/{tenantId}/instances/{instanceId}/identity", tag = "instances",
    request_body = ConfigureIdentityRequest,
    params(
        ("tenantId" = String, Path, pattern = "^tenant-[0-9a-f-]{36}$"),
        ("instanceId" = String, Path, pattern = "^inst-[0-9a-f-]{36}$"),
        ("Idempotency-Key" = Option<String>, Header, description = "Replays the first response for the same body within 24 h; another body with the same key is 409"),
    ),
    responses((status = 202, description = "Accepted: the operation does the work", body = AcceptedResponse,
        headers(("Location" = String, description = "The operation"))))
)]
pub async fn configure_identity(
    State(s): State<InstancesState>,
    Caller(actor): Caller,
    p: PathParams,
    IdempotencyHeader(key): IdempotencyHeader,
    JsonBody(body): JsonBody<ConfigureIdentityRequest>,
) -> ApiResult {
    let tenant = p.tenant()?;
    let id = instance_id(&p)?;
    let change = body.parse()?;
    let created = s
        .instances
        .request_identity_configuration(&actor, &tenant, &id, change, key.as_ref())
        .await?;
    Ok(accepted_and_run(&s, &actor, created, IDENTITY_ACCEPTED).await)
}
