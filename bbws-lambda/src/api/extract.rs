//! Extractors that parse requests at the edge and refuse bad input with a 4xx envelope.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRef, FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::http::request::Parts;
use bbws_core::auth::Actor;
use bbws_core::error::FieldError;
use bbws_core::idempotency::IdempotencyKey;
use bbws_core::ids::TenantId;
use bbws_core::{Error, ErrorCode};
use serde::de::DeserializeOwned;

use super::auth::Authenticator;
use super::error::ApiError;
use std::sync::Arc;

/// The authenticated caller. Put it first among a handler's arguments: a request without valid
/// credentials is refused (401) before anything else is looked at.
#[derive(Debug, Clone)]
pub struct Caller(pub Actor);

impl<S> FromRequestParts<S> for Caller
where
    Arc<dyn Authenticator>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let auth = Arc::<dyn Authenticator>::from_ref(state);
        Ok(Self(auth.authenticate(parts)?))
    }
}

/// A `{tenantId}` path parameter, parsed (BR-TEN-004).
#[derive(Debug, Clone, Copy)]
pub struct TenantPath(pub TenantId);

impl<S: Send + Sync> FromRequestParts<S> for TenantPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::field("tenantId", "Invalid tenant ID format"))?;
        let id = raw
            .parse::<TenantId>()
            .map_err(|_| Error::field("tenantId", "Invalid tenant ID format"))?;
        Ok(Self(id))
    }
}

/// The query string as ordered pairs (the last of repeated keys wins).
#[derive(Debug, Clone, Default)]
pub struct QueryPairs(pub Vec<(String, String)>);

impl QueryPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Query(pairs) =
            axum::extract::Query::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|_| Error::field("query", "Malformed query string"))?;
        Ok(Self(pairs))
    }
}

/// Parses an optional boolean query parameter (`true` / `false`).
pub fn query_bool(q: &QueryPairs, key: &str) -> Result<bool, Error> {
    match q.get(key) {
        Some("true") => Ok(true),
        None | Some("false") => Ok(false),
        Some(_) => Err(Error::field(key, format!("{key} must be true or false"))),
    }
}

/// `If-Match: "3"` (also `W/"3"` and `3`); `*` matches any version.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(pub Option<u64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get(header::IF_MATCH) else {
            return Ok(Self(None));
        };
        let bad = || Error::field("If-Match", "If-Match must be an entity tag such as \"3\"");
        let s = v.to_str().map_err(|_| bad())?.trim();
        if s == "*" {
            return Ok(Self(None));
        }
        let s = s.strip_prefix("W/").unwrap_or(s).trim_matches('"');
        s.parse::<u64>()
            .map(|n| Self(Some(n)))
            .map_err(|_| bad().into())
    }
}

/// The `Idempotency-Key` header, if present.
#[derive(Debug, Clone, Default)]
pub struct IdempotencyHeader(pub Option<IdempotencyKey>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyHeader {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(v) = parts.headers.get("idempotency-key") else {
            return Ok(Self(None));
        };
        let s = v.to_str().map_err(|_| {
            Error::field("Idempotency-Key", "Idempotency-Key must be printable ASCII")
        })?;
        Ok(Self(Some(IdempotencyKey::parse(s)?)))
    }
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|m| m.trim().to_ascii_lowercase())
        .is_some_and(|m| {
            m == "application/json" || (m.starts_with("application/") && m.ends_with("+json"))
        })
}

async fn read_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(HeaderMap, Bytes), ApiError> {
    let headers = req.headers().clone();
    let bytes = Bytes::from_request(req, state)
        .await
        .map_err(|e: BytesRejection| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                Error::business(ErrorCode::PayloadTooLarge, "Request body is too large")
            } else {
                Error::field("body", "Could not read the request body")
            }
        })?;
    Ok((headers, bytes))
}

/// Parses a JSON object body into `T` with the path of the offending field on failure.
///
/// The whole body must be one JSON document (nothing may trail it), and an object: serde would
/// otherwise also fill a struct from a JSON array of its fields in declaration order, which no
/// client means and the schema does not allow.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
        return Err(Error::field("body", format!("Malformed JSON: {e}")));
    }
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(Error::field(
            "body",
            "The request body must be a JSON object",
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = match inner.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                return Error::field("body", format!("Malformed JSON: {inner}"));
            }
            _ => inner.to_string(),
        };
        // serde reports a field's own problem at the field's path; its line/column suffix is noise.
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_owned();
        let field = if path == "." { "body".to_owned() } else { path };
        Error::fields(vec![FieldError::new(field, message)])
    })
}

/// A required JSON body (`Content-Type: application/json`).
#[derive(Debug, Clone)]
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (headers, bytes) = read_body(req, state).await?;
        if bytes.is_empty() {
            return Err(Error::field("body", "A JSON request body is required").into());
        }
        if !is_json(&headers) {
            return Err(Error::business(
                ErrorCode::UnsupportedMediaType,
                "Content-Type must be application/json",
            )
            .into());
        }
        Ok(Self(parse_json(&bytes)?))
    }
}

/// An optional JSON body: absent or empty → `None`.
#[derive(Debug, Clone)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let (headers, bytes) = read_body(req, state).await?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(Self(None));
        }
        if !is_json(&headers) {
            return Err(Error::business(
                ErrorCode::UnsupportedMediaType,
                "Content-Type must be application/json",
            )
            .into());
        }
        Ok(Self(Some(parse_json(&bytes)?)))
    }
}

/// Every path parameter of a route, percent-decoded; each is parsed when a handler asks for it,
/// and a malformed one is a 400 naming the parameter.
#[derive(Debug, Clone, Default)]
pub struct PathParams(pub std::collections::HashMap<String, String>);

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let axum::extract::Path(map) = axum::extract::Path::<
            std::collections::HashMap<String, String>,
        >::from_request_parts(parts, state)
        .await
        .map_err(|_| Error::field("path", "Malformed path parameter"))?;
        Ok(Self(map))
    }
}

impl PathParams {
    /// The raw value of a parameter the route has.
    pub fn raw(&self, key: &str) -> Result<&str, Error> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| Error::Internal(format!("the route has no {key} parameter")))
    }

    /// A parameter parsed into an id type, if the route has it.
    pub fn id<T: std::str::FromStr<Err = Error>>(&self, key: &str) -> Result<Option<T>, Error> {
        self.0.get(key).map(|v| v.parse::<T>()).transpose()
    }

    /// `{tenantId}` (BR-TEN-004).
    pub fn tenant(&self) -> Result<TenantId, Error> {
        self.raw("tenantId")?
            .parse::<TenantId>()
            .map_err(|_| Error::field("tenantId", "Invalid tenant ID format"))
    }

    /// The parent the route's ids name: the tenant, a division or a group.
    pub fn parent(&self) -> Result<bbws_core::org::Parent, Error> {
        use bbws_core::ids::{DivisionId, GroupId};
        use bbws_core::org::Parent;
        let d = self.id::<DivisionId>("divisionId")?;
        let g = self.id::<GroupId>("groupId")?;
        Ok(match (d, g) {
            (Some(d), Some(g)) => Parent::Group(d, g),
            (Some(d), None) => Parent::Division(d),
            _ => Parent::Tenant,
        })
    }

    /// The hierarchy node the route's ids name.
    pub fn unit(&self) -> Result<bbws_core::org::UnitPath, Error> {
        use bbws_core::ids::{DivisionId, GroupId, TeamId};
        use bbws_core::org::UnitPath;
        let d = self.id::<DivisionId>("divisionId")?;
        let g = self.id::<GroupId>("groupId")?;
        let t = self.id::<TeamId>("teamId")?;
        match (d, g, t) {
            (Some(d), Some(g), Some(t)) => Ok(UnitPath::Team(d, g, t)),
            (Some(d), Some(g), None) => Ok(UnitPath::Group(d, g)),
            (Some(d), None, None) => Ok(UnitPath::Division(d)),
            _ => Err(Error::Internal("the route names no hierarchy node".into())),
        }
    }

    /// `{userId}`.
    pub fn user(&self) -> Result<bbws_core::org::UserId, Error> {
        bbws_core::org::UserId::parse(self.raw("userId")?)
    }
}
