//! The exception hierarchy of LLD 2.5 §11.1, and the one mapping from [`bbws_core::Error`] to it.
//!
//! ```text
//! TenantManagementError(Exception)
//! ├── BusinessException          every 4xx code: TenantNotFoundError, ConflictError, ...
//! └── UnexpectedException        every 5xx code: StorageError, DynamoDbError, ... (and INTERNAL_ERROR itself)
//! ```
//!
//! Which class an error becomes is decided by [`ErrorCode::python_class`] and
//! [`ErrorCode::python_parent`]; nothing here invents a code. Every instance carries `code`,
//! `message`, `details` (a dict, the `details` of the API's error envelope) and `http_status`;
//! `InvalidStatusTransitionError` also `current_status` and `allowed_transitions`, and an error
//! raised by `InstanceService.run` for an operation that ended failed also `operation`.

use bbws_core::{Error, ErrorCode};
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use pyo3::{create_exception, intern};

use crate::convert;

create_exception!(
    bbws,
    TenantManagementError,
    PyException,
    "The root of every bbws error: `code`, `message`, `details` (dict) and `http_status`."
);
create_exception!(
    bbws,
    BusinessException,
    TenantManagementError,
    "A 4xx: the request was refused (not found, conflict, validation, state machine, ...)."
);
create_exception!(
    bbws,
    UnexpectedException,
    TenantManagementError,
    "A 5xx: bbws failed. The message never shows the cause (it is logged on the `bbws` logger)."
);

/// Declares one exception class per code, the lookup by class name, and the registration.
macro_rules! code_exceptions {
    ($($name:ident($base:ident): $doc:literal;)*) => {
        $(create_exception!(bbws, $name, $base, $doc);)*

        /// The class named `name` (one of [`ErrorCode::python_class`] or a base class).
        fn class_named<'py>(py: Python<'py>, name: &str) -> Option<Bound<'py, PyType>> {
            match name {
                "TenantManagementError" => Some(py.get_type::<TenantManagementError>()),
                "BusinessException" => Some(py.get_type::<BusinessException>()),
                "UnexpectedException" => Some(py.get_type::<UnexpectedException>()),
                $(stringify!($name) => Some(py.get_type::<$name>()),)*
                _ => None,
            }
        }

        /// Adds every exception class to the module.
        pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
            let py = m.py();
            m.add("TenantManagementError", py.get_type::<TenantManagementError>())?;
            m.add("BusinessException", py.get_type::<BusinessException>())?;
            m.add("UnexpectedException", py.get_type::<UnexpectedException>())?;
            $(m.add(stringify!($name), py.get_type::<$name>())?;)*
            // Class-level `code` / `http_status`, so `except ConflictError as e: e.code` also
            // works on an instance raised by Python code.
            for code in ErrorCode::ALL {
                if let Some(class) = class_named(py, code.python_class()) {
                    class.setattr(intern!(py, "code"), code.as_str())?;
                    class.setattr(intern!(py, "http_status"), code.http_status())?;
                }
            }
            Ok(())
        }
    };
}

code_exceptions! {
    ValidationError(BusinessException): "400 VALIDATION_ERROR: `details['fields']` lists `{field, message}`.";
    UnauthorizedError(BusinessException): "401 UNAUTHORIZED: the claims name no subject.";
    ForbiddenError(BusinessException): "403 FORBIDDEN: the caller's role on the tenant is too low.";
    NotFoundError(BusinessException): "404 NOT_FOUND.";
    TenantNotFoundError(BusinessException): "404 TENANT_NOT_FOUND (also for tenants outside the caller's scope).";
    ConflictError(BusinessException): "409 CONFLICT, e.g. the organisation name is taken.";
    VersionConflictError(BusinessException): "409 VERSION_CONFLICT: `if_match` is stale.";
    IdempotencyKeyReusedError(BusinessException): "409 IDEMPOTENCY_KEY_REUSED: same key, another body.";
    InvalidStatusTransitionError(BusinessException): "422 INVALID_STATUS_TRANSITION (a tenant's or an instance's): see `current_status` and `allowed_transitions`.";
    TenantDeprovisionedError(BusinessException): "422 TENANT_DEPROVISIONED.";
    TenantNotActiveError(BusinessException): "422 TENANT_NOT_ACTIVE.";
    ActiveResourcesExistError(BusinessException): "422 ACTIVE_RESOURCES_EXIST: deprovision with force=True.";
    MethodNotAllowedError(BusinessException): "405 METHOD_NOT_ALLOWED.";
    PayloadTooLargeError(BusinessException): "413 PAYLOAD_TOO_LARGE.";
    UnsupportedMediaTypeError(BusinessException): "415 UNSUPPORTED_MEDIA_TYPE.";
    RateLimitedError(BusinessException): "429 RATE_LIMITED.";
    UserNotFoundError(BusinessException): "404 USER_NOT_FOUND: no user with that id or e-mail in the directory.";
    AssignmentNotFoundError(BusinessException): "404 ASSIGNMENT_NOT_FOUND: the user has no role in the tenant.";
    UserAlreadyAssignedError(BusinessException): "409 USER_ALREADY_ASSIGNED.";
    LastAdminError(BusinessException): "422 LAST_ADMIN: a tenant keeps at least one Admin.";
    HierarchyExistsError(BusinessException): "409 HIERARCHY_EXISTS: the whole path already exists.";
    HierarchyNotEmptyError(BusinessException): "422 HIERARCHY_NOT_EMPTY: delete with cascade=True.";
    HierarchyLimitExceededError(BusinessException): "422 HIERARCHY_LIMIT_EXCEEDED: at most 100 children per parent.";
    DivisionNotFoundError(BusinessException): "404 DIVISION_NOT_FOUND.";
    GroupNotFoundError(BusinessException): "404 GROUP_NOT_FOUND.";
    TeamNotFoundError(BusinessException): "404 TEAM_NOT_FOUND.";
    InvitationNotFoundError(BusinessException): "404 INVITATION_NOT_FOUND.";
    InvitationExpiredError(BusinessException): "400 INVITATION_EXPIRED.";
    InvitationAlreadyUsedError(BusinessException): "400 INVITATION_ALREADY_USED: the token was used, rotated or cancelled.";
    DuplicateInvitationError(BusinessException): "409 DUPLICATE_INVITATION: a pending invitation exists for that e-mail.";
    UserAlreadyMemberError(BusinessException): "409 USER_ALREADY_MEMBER.";
    ResendLimitExceededError(BusinessException): "400 RESEND_LIMIT_EXCEEDED: at most 3 resends.";
    InvalidStateError(BusinessException): "400 INVALID_STATE.";
    InstanceNotFoundError(BusinessException): "404 INSTANCE_NOT_FOUND.";
    OperationNotFoundError(BusinessException): "404 OPERATION_NOT_FOUND.";
    ScaleLimitExceededError(BusinessException): "422 SCALE_LIMIT_EXCEEDED: desired count out of 2-10 (1-10 in DEV).";
    BackupNotFoundError(BusinessException): "404 BACKUP_NOT_FOUND.";
    BackupNotRestorableError(BusinessException): "422 BACKUP_NOT_RESTORABLE: another instance's, unfinished or expired backup.";
    DynamoDbError(UnexpectedException): "500 DYNAMODB_ERROR.";
    EventBridgeError(UnexpectedException): "500 EVENTBRIDGE_ERROR.";
    StorageError(UnexpectedException): "500 STORAGE_ERROR.";
    CloudUnavailableError(UnexpectedException): "503 CLOUD_UNAVAILABLE: no cloud to run the operation on (the local backends only plan); from `InstanceService.run`, with the FAILED operation as `operation`.";
    ArchiveFailedError(UnexpectedException): "500 ARCHIVE_FAILED: the archive before deprovisioning failed; nothing was deleted.";
    EfsProvisioningError(UnexpectedException): "500 PROV-001: the EFS access point.";
    DatabaseProvisioningError(UnexpectedException): "500 PROV-002: the database, its user or its secret.";
    EcsProvisioningError(UnexpectedException): "500 PROV-003: the ECS task definition, service, autoscaling or health.";
    AlbProvisioningError(UnexpectedException): "500 PROV-004: the ALB target group or listener rule.";
    CognitoProvisioningError(UnexpectedException): "500 PROV-005: the Cognito user pool, domain, client or groups.";
    RollbackFailedError(UnexpectedException): "500 PROV-006: rolling back failed; the ledger names what is left.";
}

/// The class an error code is raised as. A code added to bbws-core before its class is declared
/// here still lands under the right parent (and the pytest suite fails until it is declared).
fn class_for(py: Python<'_>, code: ErrorCode) -> Bound<'_, PyType> {
    class_named(py, code.python_class())
        .or_else(|| class_named(py, code.python_parent()))
        .unwrap_or_else(|| py.get_type::<TenantManagementError>())
}

/// Turns a bbws error into the Python exception of its code.
pub fn to_pyerr(py: Python<'_>, e: &Error) -> PyErr {
    let code = e.code();
    if !code.is_client_error() {
        // The caller sees "Internal server error"; the cause goes to the `bbws` logger.
        log(py, "error", &format!("{code}: {e}"));
    }
    build(py, code, &e.public_message(), &e.details()).unwrap_or_else(|failed| failed)
}

/// The exception of an operation that ended with `code`, carrying the operation's own failure
/// message (which the operation resource shows every reader, so it hides nothing even for a 5xx
/// code), `details` and the operation itself as `operation`.
pub fn operation_failure(
    py: Python<'_>,
    code: ErrorCode,
    message: &str,
    details: &serde_json::Value,
    operation: &Bound<'_, PyAny>,
) -> PyErr {
    build(py, code, message, details)
        .and_then(|err| {
            err.value(py).setattr(intern!(py, "operation"), operation)?;
            Ok(err)
        })
        .unwrap_or_else(|failed| failed)
}

fn build(
    py: Python<'_>,
    code: ErrorCode,
    message: &str,
    details: &serde_json::Value,
) -> PyResult<PyErr> {
    let class = class_for(py, code);
    let exc = class.call1((message,))?;
    exc.setattr(intern!(py, "code"), code.as_str())?;
    exc.setattr(intern!(py, "message"), message)?;
    exc.setattr(intern!(py, "http_status"), code.http_status())?;
    let details_obj = convert::to_python(py, details)?;
    exc.setattr(intern!(py, "details"), &details_obj)?;
    if code == ErrorCode::InvalidStatusTransition {
        let d = details_obj.cast::<PyDict>()?;
        let current = d.get_item("currentStatus")?;
        let allowed = d.get_item("allowedTransitions")?;
        exc.setattr(intern!(py, "current_status"), current)?;
        exc.setattr(intern!(py, "allowed_transitions"), allowed)?;
    }
    Ok(PyErr::from_value(exc))
}

/// Writes `message` to the `bbws` logger of Python's `logging` at `level` (`error`, `warning`, ...).
pub fn log(py: Python<'_>, level: &str, message: &str) {
    let logged = py
        .import(intern!(py, "logging"))
        .and_then(|logging| logging.call_method1(intern!(py, "getLogger"), ("bbws",)))
        .and_then(|logger| logger.call_method1(level, ("%s", message)));
    if let Err(e) = logged {
        // Logging itself failed (e.g. during interpreter shutdown): nothing better to do.
        e.print(py);
    }
}
