//! Wire shapes of the tenant API (digest 2.5 §1.3), their OpenAPI schemas, and their
//! conversion to and from domain types. Request bodies are strict: unknown fields are refused.

use std::collections::BTreeMap;

use bbws_core::audit::AuditEvent;
use bbws_core::error::{Error, FieldError};
use bbws_core::tenant::{
    Email, NewTenant, OrganizationName, Patch, Tenant, TenantPatch, TenantStatus, UnitLabel,
};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;

/// A hypermedia link; action links carry their HTTP `method`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Link {
    pub href: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

impl Link {
    pub fn get(href: impl Into<String>) -> Self {
        Self {
            href: href.into(),
            method: None,
        }
    }

    pub fn action(method: &str, href: impl Into<String>) -> Self {
        Self {
            href: href.into(),
            method: Some(method.to_owned()),
        }
    }
}

/// `_links`: name → link.
pub type Links = BTreeMap<String, Link>;

/// The base path of a tenant.
pub fn tenant_href(id: &impl std::fmt::Display) -> String {
    format!("/v1.0/tenants/{id}")
}

/// The links of a tenant in its current status (decision C29): navigation, plus the actions the
/// status allows.
pub fn tenant_links(t: &Tenant) -> Links {
    let base = tenant_href(&t.id);
    let mut l = Links::new();
    l.insert("self".into(), Link::get(&base));
    l.insert("users".into(), Link::get(format!("{base}/users")));
    l.insert("audit".into(), Link::get(format!("{base}/audit")));
    l.insert("lifecycle".into(), Link::get(format!("{base}/lifecycle")));
    match t.status {
        TenantStatus::Active => {
            l.insert(
                "park".into(),
                Link::action("POST", format!("{base}/lifecycle/park")),
            );
            l.insert(
                "suspend".into(),
                Link::action("POST", format!("{base}/lifecycle/suspend")),
            );
        }
        TenantStatus::Parked => {
            l.insert(
                "unpark".into(),
                Link::action("POST", format!("{base}/lifecycle/unpark")),
            );
        }
        TenantStatus::Suspended => {
            l.insert(
                "resume".into(),
                Link::action("POST", format!("{base}/lifecycle/resume")),
            );
        }
        TenantStatus::Pending | TenantStatus::Failed | TenantStatus::Deprovisioned => {}
    }
    if t.status != TenantStatus::Deprovisioned {
        l.insert("update".into(), Link::action("PUT", &base));
        l.insert(
            "status".into(),
            Link::action("PATCH", format!("{base}/status")),
        );
        l.insert("delete".into(), Link::action("DELETE", &base));
    }
    l
}

/// A tenant (`TenantResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantResponse {
    #[schema(example = "tenant-123e4567-e89b-12d3-a456-426614174000")]
    pub tenant_id: String,
    pub organization_name: String,
    pub contact_email: String,
    #[schema(example = "dev")]
    pub environment: String,
    #[schema(example = "PENDING")]
    pub status: String,
    pub division: Option<String>,
    pub group: Option<String>,
    pub team: Option<String>,
    #[schema(value_type = Object)]
    pub metadata: Map<String, Value>,
    pub customer_id: Option<String>,
    pub created_at: String,
    pub created_by: String,
    pub updated_at: String,
    pub updated_by: String,
    pub parked_at: Option<String>,
    pub parked_by: Option<String>,
    pub park_reason: Option<String>,
    pub unparked_at: Option<String>,
    pub unparked_by: Option<String>,
    pub suspended_at: Option<String>,
    pub suspended_by: Option<String>,
    pub suspend_reason: Option<String>,
    pub resumed_at: Option<String>,
    pub resumed_by: Option<String>,
    pub deprovisioned_at: Option<String>,
    pub deprovisioned_by: Option<String>,
    pub version: u64,
    /// Set on lifecycle responses (park, unpark, suspend, resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Set on unpark: resources take time to come back (BR-PARK-005).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

impl From<&Tenant> for TenantResponse {
    fn from(t: &Tenant) -> Self {
        let s = |v: Option<&UnitLabel>| v.map(|l| l.as_str().to_owned());
        Self {
            tenant_id: t.id.to_string(),
            organization_name: t.organization_name.as_str().to_owned(),
            contact_email: t.contact_email.as_str().to_owned(),
            environment: t.environment.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            division: s(t.division.as_ref()),
            group: s(t.group.as_ref()),
            team: s(t.team.as_ref()),
            metadata: t.metadata.clone(),
            customer_id: t.customer_id.clone(),
            created_at: t.created.at.to_string(),
            created_by: t.created.by.clone(),
            updated_at: t.updated.at.to_string(),
            updated_by: t.updated.by.clone(),
            parked_at: t.parked.as_ref().map(|p| p.at.to_string()),
            parked_by: t.parked.as_ref().map(|p| p.by.clone()),
            park_reason: t.parked.as_ref().map(|p| p.reason.clone()),
            unparked_at: t.unparked.as_ref().map(|p| p.at.to_string()),
            unparked_by: t.unparked.as_ref().map(|p| p.by.clone()),
            suspended_at: t.suspended.as_ref().map(|p| p.at.to_string()),
            suspended_by: t.suspended.as_ref().map(|p| p.by.clone()),
            suspend_reason: t.suspended.as_ref().map(|p| p.reason.clone()),
            resumed_at: t.resumed.as_ref().map(|p| p.at.to_string()),
            resumed_by: t.resumed.as_ref().map(|p| p.by.clone()),
            deprovisioned_at: t.deprovisioned.as_ref().map(|p| p.at.to_string()),
            deprovisioned_by: t.deprovisioned.as_ref().map(|p| p.by.clone()),
            version: t.version,
            message: None,
            warning: None,
            links: tenant_links(t),
        }
    }
}

/// A page of tenants.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TenantListResponse {
    pub items: Vec<TenantResponse>,
    pub count: usize,
    /// Pass back as `nextToken` for the next page; `null` on the last page.
    pub next_token: Option<String>,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// One audit event.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditEventResponse {
    pub event_id: String,
    pub tenant_id: String,
    pub event_type: String,
    pub timestamp: String,
    pub actor: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

impl From<&AuditEvent> for AuditEventResponse {
    fn from(e: &AuditEvent) -> Self {
        Self {
            event_id: e.event_id.to_string(),
            tenant_id: e.tenant_id.to_string(),
            event_type: e.event_type.clone(),
            timestamp: e.timestamp.to_string(),
            actor: e.actor.clone(),
            details: e.details.clone(),
        }
    }
}

/// A page of audit events, oldest first.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditListResponse {
    pub items: Vec<AuditEventResponse>,
    pub count: usize,
    pub next_token: Option<String>,
    pub more_available: bool,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// Where a tenant is in its lifecycle and where it may go.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleResponse {
    pub tenant_id: String,
    pub status: String,
    pub allowed_transitions: Vec<String>,
    pub version: u64,
    #[serde(rename = "_links")]
    #[schema(value_type = std::collections::HashMap<String, Link>)]
    pub links: Links,
}

/// The error envelope.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ErrorResponse {
    pub error: ErrorBody,
    pub request_id: String,
    pub timestamp: String,
}

/// The error itself.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    #[schema(example = "TENANT_NOT_FOUND")]
    pub code: String,
    pub message: String,
    #[schema(value_type = Object)]
    pub details: Value,
}

/// Liveness.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HealthResponse {
    pub status: String,
    pub version: String,
}

// ---------------------------------------------------------------- requests

/// Body of `POST /v1.0/tenants`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateTenantRequest {
    /// 2–100 characters: letters, digits, spaces, hyphens, apostrophes; unique regardless of case.
    /// `organisationName` is accepted as an alias.
    #[serde(alias = "organisationName")]
    #[schema(
        required = true,
        nullable = false,
        min_length = 2,
        max_length = 100,
        example = "Acme Corp"
    )]
    pub organization_name: Option<String>,
    #[schema(
        required = true,
        nullable = false,
        format = "email",
        example = "admin@acme.example"
    )]
    pub contact_email: Option<String>,
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(dev|sit|prod)$",
        example = "dev"
    )]
    pub environment: Option<String>,
    #[schema(
        min_length = 2,
        max_length = 50,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    pub division: Option<String>,
    #[schema(
        min_length = 2,
        max_length = 50,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    pub group: Option<String>,
    #[schema(
        min_length = 2,
        max_length = 50,
        pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$"
    )]
    pub team: Option<String>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
}

/// Collects field errors while parsing a request.
#[derive(Debug, Default)]
struct Fields(Vec<FieldError>);

impl Fields {
    fn take<T>(&mut self, r: Result<T, Error>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(Error::Validation { fields, .. }) => {
                self.0.extend(fields);
                None
            }
            Err(other) => {
                self.0.push(FieldError::new("body", other.to_string()));
                None
            }
        }
    }

    fn required<T>(&mut self, v: Option<T>, field: &str) -> Option<T> {
        if v.is_none() {
            self.0
                .push(FieldError::new(field, format!("{field} is required")));
        }
        v
    }

    fn finish<T>(self, v: Option<T>) -> Result<T, Error> {
        match v {
            Some(v) if self.0.is_empty() => Ok(v),
            _ => Err(Error::fields(self.0)),
        }
    }
}

#[allow(clippy::option_option)] // None = invalid (error recorded), Some(None) = not given
fn label(f: &mut Fields, v: Option<&String>, field: &str) -> Option<Option<UnitLabel>> {
    match v {
        None => Some(None),
        Some(s) => f.take(UnitLabel::parse(s, field)).map(Some),
    }
}

impl CreateTenantRequest {
    pub fn parse(self) -> Result<NewTenant, Error> {
        let mut f = Fields::default();
        let name = f.required(self.organization_name, "organizationName");
        let name = name.and_then(|n| f.take(OrganizationName::parse(&n)));
        let email = f.required(self.contact_email, "contactEmail");
        let email = email.and_then(|e| f.take(Email::parse_field(&e, "contactEmail")));
        let env = f.required(self.environment, "environment");
        let env = env.and_then(|e| f.take(e.parse()));
        let division = label(&mut f, self.division.as_ref(), "division");
        let group = label(&mut f, self.group.as_ref(), "group");
        let team = label(&mut f, self.team.as_ref(), "team");
        let parsed = (|| {
            Some(NewTenant {
                organization_name: name?,
                contact_email: email?,
                environment: env?,
                division: division?,
                group: group?,
                team: team?,
                metadata: self.metadata.unwrap_or_default(),
            })
        })();
        f.finish(parsed)
    }
}

/// Distinguishes an absent field (`None`) from an explicit `null` (`Some(None)`).
#[allow(clippy::option_option)] // absent vs explicit null
fn double_option<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// Body of `PUT /v1.0/tenants/{tenantId}`: every field optional; only the given ones change
/// (decision C34). `metadata` is merged key by key; a key set to `null` is removed. `division`,
/// `group` or `team` set to `null` is cleared.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[allow(clippy::option_option)] // absent vs explicit null
pub struct UpdateTenantRequest {
    #[serde(alias = "organisationName")]
    #[schema(
        nullable = false,
        min_length = 2,
        max_length = 100,
        pattern = r"^[A-Za-z0-9][A-Za-z0-9 \x27-]*[A-Za-z0-9\x27]$"
    )]
    pub organization_name: Option<String>,
    #[schema(
        nullable = false,
        max_length = 254,
        pattern = r"^[A-Za-z0-9_%+-]+(\.[A-Za-z0-9_%+-]+)*@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}$"
    )]
    pub contact_email: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 2, max_length = 50, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$")]
    pub division: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 2, max_length = 50, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$")]
    pub group: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 2, max_length = 50, pattern = r"^[^\s\x00-\x1f\x7f-\x9f]([^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f])?$")]
    pub team: Option<Option<String>>,
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<Map<String, Value>>,
    /// Alternative to `If-Match`: the version the change is based on.
    #[schema(nullable = false, minimum = 1)]
    pub version: Option<u64>,
    /// Immutable: accepted only if equal to the current value.
    #[schema(nullable = false)]
    pub tenant_id: Option<String>,
    /// Immutable: accepted only if equal to the current value.
    #[schema(nullable = false)]
    pub environment: Option<String>,
    /// Immutable here: use the lifecycle operations.
    #[schema(nullable = false)]
    pub status: Option<String>,
    /// Immutable.
    #[schema(nullable = false)]
    pub created_at: Option<String>,
    /// Immutable.
    #[schema(nullable = false)]
    pub created_by: Option<String>,
}

#[allow(clippy::option_option)] // absent vs explicit null
fn label_patch(f: &mut Fields, v: Option<Option<String>>, field: &str) -> Option<Patch<UnitLabel>> {
    match v {
        None => Some(Patch::Keep),
        Some(None) => Some(Patch::Clear),
        Some(Some(s)) => f.take(UnitLabel::parse(&s, field)).map(Patch::Set),
    }
}

impl UpdateTenantRequest {
    /// The patch, and the version it was based on (if the body named one).
    pub fn parse(self) -> Result<(TenantPatch, Option<u64>), Error> {
        let mut f = Fields::default();
        let organization_name = match self.organization_name {
            None => Some(None),
            Some(n) => f.take(OrganizationName::parse(&n)).map(Some),
        };
        let contact_email = match self.contact_email {
            None => Some(None),
            Some(e) => f.take(Email::parse_field(&e, "contactEmail")).map(Some),
        };
        let division = label_patch(&mut f, self.division, "division");
        let group = label_patch(&mut f, self.group, "group");
        let team = label_patch(&mut f, self.team, "team");
        let mut immutable = Vec::new();
        for (field, v) in [
            ("tenantId", self.tenant_id),
            ("environment", self.environment),
            ("status", self.status),
            ("createdAt", self.created_at),
            ("createdBy", self.created_by),
        ] {
            if let Some(v) = v {
                immutable.push((field, v));
            }
        }
        let parsed = (|| {
            Some(TenantPatch {
                organization_name: organization_name?,
                contact_email: contact_email?,
                division: division?,
                group: group?,
                team: team?,
                metadata: self.metadata,
                immutable,
            })
        })();
        f.finish(parsed).map(|p| (p, self.version))
    }
}

/// Body of `POST …/lifecycle/park` and `…/lifecycle/suspend`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRequest {
    /// 10–500 characters.
    #[schema(
        required = true,
        nullable = false,
        min_length = 10,
        max_length = 500,
        example = "Customer asked to pause the site"
    )]
    pub reason: Option<String>,
}

/// Body of `PATCH /v1.0/tenants/{tenantId}/status`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    #[schema(
        required = true,
        nullable = false,
        pattern = "^(PENDING|ACTIVE|SUSPENDED|PARKED|DEPROVISIONED|FAILED)$",
        example = "ACTIVE"
    )]
    pub status: Option<String>,
    /// Required (10–500 characters) for PARKED and SUSPENDED; recorded in the audit trail.
    #[schema(max_length = 500)]
    pub reason: Option<String>,
}

impl StatusRequest {
    pub fn parse(self) -> Result<(TenantStatus, Option<String>), Error> {
        let mut f = Fields::default();
        let status = f
            .required(self.status, "status")
            .and_then(|s| f.take(s.parse::<TenantStatus>()));
        f.finish(status).map(|s| (s, self.reason))
    }
}

/// The body of unpark and resume: none, or an empty object.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmptyRequest {}
