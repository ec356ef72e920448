//! Authentication: who is calling. The router asks an [`Authenticator`]; `bbws serve` verifies
//! bearer JWTs itself ([`JwtAuthenticator`], HS256), the Lambda reads the API Gateway authorizer.

use std::time::Duration;

use axum::http::header;
use axum::http::request::Parts;
use bbws_core::Error;
use bbws_core::auth::{Actor, Claims};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

/// Turns a request's credentials into an [`Actor`], or refuses with 401.
pub trait Authenticator: Send + Sync + std::fmt::Debug {
    fn authenticate(&self, parts: &Parts) -> Result<Actor, Error>;
}

/// The issuer `bbws token issue` writes and `bbws serve` expects.
pub const LOCAL_ISSUER: &str = "bbws-local";

/// Verifies `Authorization: Bearer <JWT>` signed with HS256 under a shared secret.
pub struct JwtAuthenticator {
    key: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for JwtAuthenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthenticator").finish_non_exhaustive()
    }
}

impl JwtAuthenticator {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[LOCAL_ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 0;
        Self {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Verifies a token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, Error> {
        let data =
            jsonwebtoken::decode::<Value>(token, &self.key, &self.validation).map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                let why = match e.kind() {
                    ErrorKind::ExpiredSignature => "Token has expired",
                    ErrorKind::InvalidSignature => "Token signature is invalid",
                    _ => "Token is invalid",
                };
                Error::Unauthorized(why.into())
            })?;
        Claims::from_json(&data.claims)
    }
}

impl Authenticator for JwtAuthenticator {
    fn authenticate(&self, parts: &Parts) -> Result<Actor, Error> {
        let value = parts
            .headers
            .get(header::AUTHORIZATION)
            .ok_or_else(|| Error::Unauthorized("Missing bearer token".into()))?;
        let token = value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::Unauthorized("Authorization must be 'Bearer <token>'".into()))?;
        Ok(Actor::from_claims(&self.verify(token)?))
    }
}

/// Mints a token `JwtAuthenticator::new(secret)` accepts, valid for `ttl`.
pub fn issue_token(
    secret: &[u8],
    claims: &Claims,
    ttl: Duration,
    now_epoch_secs: u64,
) -> Result<String, Error> {
    let mut body = json!({
        "iss": LOCAL_ISSUER,
        "sub": claims.sub,
        "iat": now_epoch_secs,
        "exp": now_epoch_secs.saturating_add(ttl.as_secs()),
        "cognito:groups": claims.groups,
        "custom:tenantIds": claims.tenant_ids.join(","),
    });
    if let Some(email) = &claims.email {
        body["email"] = json!(email);
    }
    if let Some(c) = &claims.customer_id {
        body["custom:customerId"] = json!(c);
    }
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &body,
        &EncodingKey::from_secret(secret),
    )
    .map_err(|e| Error::Internal(format!("cannot sign token: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        Claims {
            sub: "u1".into(),
            email: Some("a@b.co".into()),
            groups: vec!["Admins".into()],
            tenant_ids: vec![],
            customer_id: None,
        }
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    #[test]
    fn issued_tokens_verify_and_others_do_not() {
        let auth = JwtAuthenticator::new(b"secret-one");
        let token =
            issue_token(b"secret-one", &claims(), Duration::from_mins(1), now()).expect("sign");
        assert_eq!(auth.verify(&token).expect("valid").sub, "u1");

        let forged =
            issue_token(b"secret-two", &claims(), Duration::from_mins(1), now()).expect("sign");
        assert!(
            matches!(auth.verify(&forged), Err(Error::Unauthorized(m)) if m.contains("signature"))
        );

        let expired = issue_token(
            b"secret-one",
            &claims(),
            Duration::from_mins(1),
            now() - 3600,
        )
        .expect("sign");
        assert!(
            matches!(auth.verify(&expired), Err(Error::Unauthorized(m)) if m.contains("expired"))
        );

        assert!(auth.verify("not.a.jwt").is_err());
    }
}
