//! The error model: one enum for the whole domain, each variant with a stable code.
//!
//! A code maps once to an HTTP status, a CLI exit code, a Lambda error type and a Python
//! exception class named as in LLD 2.5 §11.1 (see [`ErrorCode`]). Frontends never invent codes.

use std::fmt;

use serde_json::{Map, Value, json};

use crate::instance::InstanceState;
use crate::tenant::TenantStatus;

/// Stable, documented error codes (digest 2.5 §5.2, plus the proposed codes of that section).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorCode {
    ValidationError,
    Unauthorized,
    Forbidden,
    NotFound,
    TenantNotFound,
    Conflict,
    VersionConflict,
    IdempotencyKeyReused,
    InvalidStatusTransition,
    TenantDeprovisioned,
    TenantNotActive,
    ActiveResourcesExist,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    InternalError,
    DynamodbError,
    EventbridgeError,
    StorageError,
    UserNotFound,
    AssignmentNotFound,
    UserAlreadyAssigned,
    LastAdmin,
    HierarchyExists,
    HierarchyNotEmpty,
    HierarchyLimitExceeded,
    DivisionNotFound,
    GroupNotFound,
    TeamNotFound,
    InvitationNotFound,
    InvitationExpired,
    InvitationAlreadyUsed,
    DuplicateInvitation,
    UserAlreadyMember,
    ResendLimitExceeded,
    InvalidState,
    InstanceNotFound,
    OperationNotFound,
    ScaleLimitExceeded,
    CloudUnavailable,
    ArchiveFailed,
    /// `BACKUP_NOT_FOUND`: no backup with that id for the tenant.
    BackupNotFound,
    /// `BACKUP_NOT_RESTORABLE`: the backup belongs to another instance, is not complete, or has
    /// expired.
    BackupNotRestorable,
    /// `PROV-001`: the EFS access point could not be provisioned.
    ProvEfs,
    /// `PROV-002`: the database, its user or its secret could not be provisioned.
    ProvDatabase,
    /// `PROV-003`: the ECS task definition, service or autoscaling failed, or the service did
    /// not become healthy in time.
    ProvEcs,
    /// `PROV-004`: the ALB target group or listener rule could not be provisioned.
    ProvAlb,
    /// `PROV-005`: the Cognito user pool, domain, client, groups or secret.
    ProvCognito,
    /// `PROV-006`: rolling back failed; resources are left and need manual intervention.
    ProvRollbackFailed,
}

/// The exit-code classes of the `bbws` CLI: one per kind of failure a script may branch on.
pub mod exit {
    pub const VALIDATION: u8 = 3;
    pub const AUTH: u8 = 4;
    pub const NOT_FOUND: u8 = 5;
    pub const CONFLICT: u8 = 6;
    pub const INVALID_STATE: u8 = 7;
    pub const RATE_LIMITED: u8 = 8;
    pub const INTERNAL: u8 = 10;
}

impl ErrorCode {
    /// Every code, for documentation and exhaustive tests.
    pub const ALL: [ErrorCode; 50] = [
        Self::ValidationError,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::TenantNotFound,
        Self::Conflict,
        Self::VersionConflict,
        Self::IdempotencyKeyReused,
        Self::InvalidStatusTransition,
        Self::TenantDeprovisioned,
        Self::TenantNotActive,
        Self::ActiveResourcesExist,
        Self::MethodNotAllowed,
        Self::PayloadTooLarge,
        Self::UnsupportedMediaType,
        Self::RateLimited,
        Self::InternalError,
        Self::DynamodbError,
        Self::EventbridgeError,
        Self::StorageError,
        Self::UserNotFound,
        Self::AssignmentNotFound,
        Self::UserAlreadyAssigned,
        Self::LastAdmin,
        Self::HierarchyExists,
        Self::HierarchyNotEmpty,
        Self::HierarchyLimitExceeded,
        Self::DivisionNotFound,
        Self::GroupNotFound,
        Self::TeamNotFound,
        Self::InvitationNotFound,
        Self::InvitationExpired,
        Self::InvitationAlreadyUsed,
        Self::DuplicateInvitation,
        Self::UserAlreadyMember,
        Self::ResendLimitExceeded,
        Self::InvalidState,
        Self::InstanceNotFound,
        Self::OperationNotFound,
        Self::ScaleLimitExceeded,
        Self::CloudUnavailable,
        Self::ArchiveFailed,
        Self::BackupNotFound,
        Self::BackupNotRestorable,
        Self::ProvEfs,
        Self::ProvDatabase,
        Self::ProvEcs,
        Self::ProvAlb,
        Self::ProvCognito,
        Self::ProvRollbackFailed,
    ];

    /// The codes of the instance domain (digest 2.7 §1.5 and the operational `PROV-*` codes of
    /// LLD §15.1), also in [`Self::ALL`].
    pub const INSTANCE: [ErrorCode; 13] = [
        Self::InstanceNotFound,
        Self::OperationNotFound,
        Self::ScaleLimitExceeded,
        Self::CloudUnavailable,
        Self::ArchiveFailed,
        Self::BackupNotFound,
        Self::BackupNotRestorable,
        Self::ProvEfs,
        Self::ProvDatabase,
        Self::ProvEcs,
        Self::ProvAlb,
        Self::ProvCognito,
        Self::ProvRollbackFailed,
    ];

    /// Every code of every domain.
    pub fn every() -> impl Iterator<Item = ErrorCode> {
        Self::ALL.into_iter()
    }

    /// The wire code, e.g. `TENANT_NOT_FOUND`.
    pub const fn as_str(self) -> &'static str {
        self.row().0
    }

    /// The HTTP status this code is answered with.
    pub const fn http_status(self) -> u16 {
        self.row().1
    }

    /// The `bbws` CLI exit code (see [`exit`]).
    pub const fn exit_code(self) -> u8 {
        self.row().2
    }

    /// The Python exception class (LLD 2.5 §11.1 names where the LLD has one).
    pub const fn python_class(self) -> &'static str {
        self.row().3
    }

    /// The parent of [`Self::python_class`]: `BusinessException` for 4xx, `UnexpectedException`
    /// for 5xx; both derive from `TenantManagementError`.
    pub const fn python_parent(self) -> &'static str {
        if self.is_client_error() {
            "BusinessException"
        } else {
            "UnexpectedException"
        }
    }

    /// The Lambda error type reported for a failed invocation (`errorType`).
    pub const fn lambda_error_type(self) -> &'static str {
        self.python_class()
    }

    /// A 4xx: the caller's mistake, never worth retrying unchanged (except `RATE_LIMITED`).
    pub const fn is_client_error(self) -> bool {
        self.http_status() < 500
    }

    /// Parses a wire code.
    pub fn parse(s: &str) -> Option<Self> {
        Self::every().find(|c| c.as_str() == s)
    }

    // (code, http, exit, python class)
    const fn row(self) -> (&'static str, u16, u8, &'static str) {
        match self {
            Self::ValidationError => ("VALIDATION_ERROR", 400, exit::VALIDATION, "ValidationError"),
            Self::Unauthorized => ("UNAUTHORIZED", 401, exit::AUTH, "UnauthorizedError"),
            Self::Forbidden => ("FORBIDDEN", 403, exit::AUTH, "ForbiddenError"),
            Self::NotFound => ("NOT_FOUND", 404, exit::NOT_FOUND, "NotFoundError"),
            Self::TenantNotFound => (
                "TENANT_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "TenantNotFoundError",
            ),
            Self::Conflict => ("CONFLICT", 409, exit::CONFLICT, "ConflictError"),
            Self::VersionConflict => (
                "VERSION_CONFLICT",
                409,
                exit::CONFLICT,
                "VersionConflictError",
            ),
            Self::IdempotencyKeyReused => (
                "IDEMPOTENCY_KEY_REUSED",
                409,
                exit::CONFLICT,
                "IdempotencyKeyReusedError",
            ),
            Self::InvalidStatusTransition => (
                "INVALID_STATUS_TRANSITION",
                422,
                exit::INVALID_STATE,
                "InvalidStatusTransitionError",
            ),
            Self::TenantDeprovisioned => (
                "TENANT_DEPROVISIONED",
                422,
                exit::INVALID_STATE,
                "TenantDeprovisionedError",
            ),
            Self::TenantNotActive => (
                "TENANT_NOT_ACTIVE",
                422,
                exit::INVALID_STATE,
                "TenantNotActiveError",
            ),
            Self::ActiveResourcesExist => (
                "ACTIVE_RESOURCES_EXIST",
                422,
                exit::INVALID_STATE,
                "ActiveResourcesExistError",
            ),
            Self::MethodNotAllowed => (
                "METHOD_NOT_ALLOWED",
                405,
                exit::VALIDATION,
                "MethodNotAllowedError",
            ),
            Self::PayloadTooLarge => (
                "PAYLOAD_TOO_LARGE",
                413,
                exit::VALIDATION,
                "PayloadTooLargeError",
            ),
            Self::UnsupportedMediaType => (
                "UNSUPPORTED_MEDIA_TYPE",
                415,
                exit::VALIDATION,
                "UnsupportedMediaTypeError",
            ),
            Self::RateLimited => ("RATE_LIMITED", 429, exit::RATE_LIMITED, "RateLimitedError"),
            Self::InternalError => ("INTERNAL_ERROR", 500, exit::INTERNAL, "UnexpectedException"),
            Self::DynamodbError => ("DYNAMODB_ERROR", 500, exit::INTERNAL, "DynamoDbError"),
            Self::EventbridgeError => {
                ("EVENTBRIDGE_ERROR", 500, exit::INTERNAL, "EventBridgeError")
            }
            Self::StorageError => ("STORAGE_ERROR", 500, exit::INTERNAL, "StorageError"),
            Self::UserNotFound => ("USER_NOT_FOUND", 404, exit::NOT_FOUND, "UserNotFoundError"),
            Self::AssignmentNotFound => (
                "ASSIGNMENT_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "AssignmentNotFoundError",
            ),
            Self::UserAlreadyAssigned => (
                "USER_ALREADY_ASSIGNED",
                409,
                exit::CONFLICT,
                "UserAlreadyAssignedError",
            ),
            Self::LastAdmin => ("LAST_ADMIN", 422, exit::INVALID_STATE, "LastAdminError"),
            Self::HierarchyExists => (
                "HIERARCHY_EXISTS",
                409,
                exit::CONFLICT,
                "HierarchyExistsError",
            ),
            Self::HierarchyNotEmpty => (
                "HIERARCHY_NOT_EMPTY",
                422,
                exit::INVALID_STATE,
                "HierarchyNotEmptyError",
            ),
            Self::HierarchyLimitExceeded => (
                "HIERARCHY_LIMIT_EXCEEDED",
                422,
                exit::INVALID_STATE,
                "HierarchyLimitExceededError",
            ),
            Self::DivisionNotFound => (
                "DIVISION_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "DivisionNotFoundError",
            ),
            Self::GroupNotFound => (
                "GROUP_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "GroupNotFoundError",
            ),
            Self::TeamNotFound => ("TEAM_NOT_FOUND", 404, exit::NOT_FOUND, "TeamNotFoundError"),
            Self::InvitationNotFound => (
                "INVITATION_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "InvitationNotFoundError",
            ),
            Self::InvitationExpired => (
                "INVITATION_EXPIRED",
                400,
                exit::INVALID_STATE,
                "InvitationExpiredError",
            ),
            Self::InvitationAlreadyUsed => (
                "INVITATION_ALREADY_USED",
                400,
                exit::INVALID_STATE,
                "InvitationAlreadyUsedError",
            ),
            Self::DuplicateInvitation => (
                "DUPLICATE_INVITATION",
                409,
                exit::CONFLICT,
                "DuplicateInvitationError",
            ),
            Self::UserAlreadyMember => (
                "USER_ALREADY_MEMBER",
                409,
                exit::CONFLICT,
                "UserAlreadyMemberError",
            ),
            Self::ResendLimitExceeded => (
                "RESEND_LIMIT_EXCEEDED",
                400,
                exit::INVALID_STATE,
                "ResendLimitExceededError",
            ),
            Self::InvalidState => (
                "INVALID_STATE",
                400,
                exit::INVALID_STATE,
                "InvalidStateError",
            ),
            Self::InstanceNotFound => (
                "INSTANCE_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "InstanceNotFoundError",
            ),
            Self::OperationNotFound => (
                "OPERATION_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "OperationNotFoundError",
            ),
            Self::ScaleLimitExceeded => (
                "SCALE_LIMIT_EXCEEDED",
                422,
                exit::INVALID_STATE,
                "ScaleLimitExceededError",
            ),
            Self::CloudUnavailable => (
                "CLOUD_UNAVAILABLE",
                503,
                exit::INTERNAL,
                "CloudUnavailableError",
            ),
            Self::ArchiveFailed => ("ARCHIVE_FAILED", 500, exit::INTERNAL, "ArchiveFailedError"),
            Self::BackupNotFound => (
                "BACKUP_NOT_FOUND",
                404,
                exit::NOT_FOUND,
                "BackupNotFoundError",
            ),
            Self::BackupNotRestorable => (
                "BACKUP_NOT_RESTORABLE",
                422,
                exit::INVALID_STATE,
                "BackupNotRestorableError",
            ),
            Self::ProvEfs => ("PROV-001", 500, exit::INTERNAL, "EfsProvisioningError"),
            Self::ProvDatabase => ("PROV-002", 500, exit::INTERNAL, "DatabaseProvisioningError"),
            Self::ProvEcs => ("PROV-003", 500, exit::INTERNAL, "EcsProvisioningError"),
            Self::ProvAlb => ("PROV-004", 500, exit::INTERNAL, "AlbProvisioningError"),
            Self::ProvCognito => ("PROV-005", 500, exit::INTERNAL, "CognitoProvisioningError"),
            Self::ProvRollbackFailed => ("PROV-006", 500, exit::INTERNAL, "RollbackFailedError"),
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field of a request: where (`field`, a JSON path such as `metadata.tier`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// The domain error. Each variant carries what its `details` need; [`Error::code`] is stable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("{message}")]
    Validation {
        message: String,
        fields: Vec<FieldError>,
    },

    #[error("{0}")]
    Unauthorized(String),

    #[error("{0}")]
    Forbidden(String),

    /// A route or resource other than a tenant does not exist.
    #[error("{0}")]
    NotFound(String),

    #[error("Tenant {tenant_id} not found")]
    TenantNotFound { tenant_id: String },

    #[error("{message}")]
    Conflict {
        message: String,
        details: Map<String, Value>,
    },

    #[error("Version conflict: expected version {expected}, current version is {current}")]
    VersionConflict { expected: u64, current: u64 },

    #[error("Idempotency-Key was already used with a different request")]
    IdempotencyKeyReused,

    #[error("{message}")]
    InvalidStatusTransition {
        message: String,
        current: TenantStatus,
        target: TenantStatus,
        allowed: Vec<TenantStatus>,
    },

    #[error("Cannot modify deprovisioned tenant")]
    TenantDeprovisioned { tenant_id: String },

    #[error("Tenant has active resources; deprovision them first or use force=true")]
    ActiveResourcesExist { resources: Vec<String> },

    /// A refused instance state change (digest 2.7 §7.2).
    #[error("{message}")]
    InstanceTransition {
        message: String,
        current: InstanceState,
        target: InstanceState,
        allowed: Vec<InstanceState>,
    },

    #[error("Instance {instance_id} of tenant {tenant_id} not found")]
    InstanceNotFound {
        tenant_id: String,
        instance_id: String,
    },

    #[error("Operation {operation_id} not found")]
    OperationNotFound { operation_id: String },

    /// A provisioning, rollback or deprovisioning failure with its operational code
    /// (`PROV-001` … `PROV-006`, `ARCHIVE_FAILED`) and the resources it concerns.
    #[error("{message}")]
    Provisioning {
        code: ErrorCode,
        message: String,
        resources: Vec<String>,
    },

    /// Any other business error with a stable code (for frontends: 405, 413, 415, 429).
    #[error("{message}")]
    Business { code: ErrorCode, message: String },

    /// A storage engine failed (a bug or an I/O problem; never the caller's fault).
    #[error("storage failure: {0}")]
    Storage(String),

    /// Anything else that is our fault. The message is logged, never shown to callers.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation error on one field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let fe = FieldError::new(field, message);
        Self::Validation {
            message: fe.message.clone(),
            fields: vec![fe],
        }
    }

    /// A validation error over several fields.
    pub fn fields(fields: Vec<FieldError>) -> Self {
        let message = match fields.as_slice() {
            [one] => one.message.clone(),
            _ => "Request validation failed".to_owned(),
        };
        Self::Validation { message, fields }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        Self::Conflict {
            message: message.into(),
            details: Map::new(),
        }
    }

    pub fn business(code: ErrorCode, message: impl Into<String>) -> Self {
        Self::Business {
            code,
            message: message.into(),
        }
    }

    pub fn tenant_not_found(tenant_id: impl fmt::Display) -> Self {
        Self::TenantNotFound {
            tenant_id: tenant_id.to_string(),
        }
    }

    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Validation { .. } => ErrorCode::ValidationError,
            Self::Unauthorized(_) => ErrorCode::Unauthorized,
            Self::Forbidden(_) => ErrorCode::Forbidden,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::TenantNotFound { .. } => ErrorCode::TenantNotFound,
            Self::Conflict { .. } => ErrorCode::Conflict,
            Self::VersionConflict { .. } => ErrorCode::VersionConflict,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::InvalidStatusTransition { .. } | Self::InstanceTransition { .. } => {
                ErrorCode::InvalidStatusTransition
            }
            Self::TenantDeprovisioned { .. } => ErrorCode::TenantDeprovisioned,
            Self::ActiveResourcesExist { .. } => ErrorCode::ActiveResourcesExist,
            Self::InstanceNotFound { .. } => ErrorCode::InstanceNotFound,
            Self::OperationNotFound { .. } => ErrorCode::OperationNotFound,
            Self::Business { code, .. } | Self::Provisioning { code, .. } => *code,
            Self::Storage(_) => ErrorCode::StorageError,
            Self::Internal(_) => ErrorCode::InternalError,
        }
    }

    /// The message a caller may see. Server-side failures never show their cause.
    pub fn public_message(&self) -> String {
        if self.code().is_client_error() {
            self.to_string()
        } else {
            "Internal server error".to_owned()
        }
    }

    /// The `details` object of the error envelope.
    pub fn details(&self) -> Value {
        match self {
            Self::Validation { fields, .. } => json!({
                "fields": fields
                    .iter()
                    .map(|f| json!({"field": f.field, "message": f.message}))
                    .collect::<Vec<_>>()
            }),
            Self::TenantNotFound { tenant_id } | Self::TenantDeprovisioned { tenant_id } => {
                json!({ "tenantId": tenant_id })
            }
            Self::Conflict { details, .. } => Value::Object(details.clone()),
            Self::VersionConflict { expected, current } => {
                json!({ "expectedVersion": expected, "currentVersion": current })
            }
            Self::InvalidStatusTransition {
                current,
                target,
                allowed,
                ..
            } => json!({
                "currentStatus": current.as_str(),
                "targetStatus": target.as_str(),
                "requestedStatus": target.as_str(),
                "allowedTransitions": allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }),
            Self::ActiveResourcesExist { resources } | Self::Provisioning { resources, .. } => {
                json!({ "resources": resources })
            }
            Self::InstanceTransition {
                current,
                target,
                allowed,
                ..
            } => json!({
                "currentStatus": current.as_str(),
                "targetStatus": target.as_str(),
                "requestedStatus": target.as_str(),
                "allowedTransitions": allowed.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
            }),
            Self::InstanceNotFound {
                tenant_id,
                instance_id,
            } => json!({ "tenantId": tenant_id, "instanceId": instance_id }),
            Self::OperationNotFound { operation_id } => json!({ "operationId": operation_id }),
            _ => json!({}),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::every() {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
    }

    #[test]
    fn server_errors_hide_their_cause() {
        let e = Error::Internal("redb: disk full at /var/secret".into());
        assert_eq!(e.code().http_status(), 500);
        assert_eq!(e.public_message(), "Internal server error");
        assert_eq!(e.code().python_parent(), "UnexpectedException");
    }

    #[test]
    fn transition_details_carry_both_key_spellings() {
        let e = Error::InvalidStatusTransition {
            message: "Cannot park a tenant that is not ACTIVE".into(),
            current: TenantStatus::Suspended,
            target: TenantStatus::Parked,
            allowed: vec![TenantStatus::Active, TenantStatus::Deprovisioned],
        };
        assert_eq!(
            e.details(),
            json!({"currentStatus":"SUSPENDED","targetStatus":"PARKED","requestedStatus":"PARKED",
                   "allowedTransitions":["ACTIVE","DEPROVISIONED"]})
        );
        assert_eq!(e.code().python_class(), "InvalidStatusTransitionError");
    }
}
