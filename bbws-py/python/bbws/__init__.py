"""bbws for Python: the tenant, organisation and instance use cases of the bbws control plane, in Rust.

Several ways in, all with the same rules, validation and JSON shapes as the HTTP API:

- ``TenantService``: call the use cases directly, with the caller's claims and plain dicts::

      svc = bbws.TenantService()                     # or backend="embedded", data_dir=...
      admin = {"sub": "u-1", "email": "ops@example.com", "cognito:groups": ["Admins"]}
      t = svc.create(admin, {"organizationName": "Acme", "contactEmail": "a@acme.example",
                             "environment": "dev"})
      svc.get(admin, t["tenantId"])

- ``OrgService``: a tenant's organisation (divisions, groups, teams, users and roles,
  invitations), opened the same way; ``tenant_service()`` gives a TenantService on the same
  backend, and local backends offer ``register_user`` and ``mailbox``::

      org = bbws.OrgService()
      t = org.tenant_service().create(admin, {...})
      org.create_division(admin, t["tenantId"], "Sales")

- ``InstanceService``: a tenant's WordPress instances, opened the same way: provisioning and
  deprovisioning are accepted as operations (the API's 202 body), ``plan_provisioning`` shows
  the exact AWS calls, and ``run(operation_id)`` runs an operation here (on the local backends
  the cloud only plans: CloudUnavailableError, the operation FAILED)::

      inst = bbws.InstanceService()
      t = inst.tenant_service().create(admin, {...})
      accepted = inst.request_provisioning(admin, t["tenantId"], {"resourceKey": "acme"})
      inst.operation(admin, accepted["operationId"])

- ``handle_api_event``: serve an API Gateway event through the API's router::

      def handler(event, context):
          return bbws.handle_api_event(event, context)

Errors are raised as ``TenantManagementError`` subclasses: ``BusinessException`` for the
caller's mistakes (``TenantNotFoundError``, ``ConflictError``, ``ValidationError``, ...) and
``UnexpectedException`` for bbws failures; each has ``code``, ``message``, ``details`` and
``http_status``.
"""

from ._bbws import (
    ActiveResourcesExistError,
    AlbProvisioningError,
    ArchiveFailedError,
    AssignmentNotFoundError,
    BusinessException,
    CloudUnavailableError,
    CognitoProvisioningError,
    ConflictError,
    DatabaseProvisioningError,
    DivisionNotFoundError,
    DuplicateInvitationError,
    DynamoDbError,
    EcsProvisioningError,
    EfsProvisioningError,
    EventBridgeError,
    ForbiddenError,
    GroupNotFoundError,
    HierarchyExistsError,
    HierarchyLimitExceededError,
    HierarchyNotEmptyError,
    IdempotencyKeyReusedError,
    InstanceNotFoundError,
    InstanceService,
    InvalidStateError,
    InvalidStatusTransitionError,
    InvitationAlreadyUsedError,
    InvitationExpiredError,
    InvitationNotFoundError,
    LastAdminError,
    MethodNotAllowedError,
    NotFoundError,
    OperationNotFoundError,
    OrgService,
    PayloadTooLargeError,
    RateLimitedError,
    ResendLimitExceededError,
    RollbackFailedError,
    ScaleLimitExceededError,
    BackupNotFoundError,
    BackupNotRestorableError,
    StorageError,
    TeamNotFoundError,
    TenantDeprovisionedError,
    TenantManagementError,
    TenantNotActiveError,
    TenantNotFoundError,
    TenantService,
    UnauthorizedError,
    UnexpectedException,
    UnsupportedMediaTypeError,
    UserAlreadyAssignedError,
    UserAlreadyMemberError,
    UserNotFoundError,
    ValidationError,
    VersionConflictError,
    __version__,
    error_codes,
    handle_api_event,
)

__all__ = [
    "ActiveResourcesExistError",
    "AlbProvisioningError",
    "ArchiveFailedError",
    "AssignmentNotFoundError",
    "BusinessException",
    "CloudUnavailableError",
    "CognitoProvisioningError",
    "ConflictError",
    "DatabaseProvisioningError",
    "DivisionNotFoundError",
    "DuplicateInvitationError",
    "DynamoDbError",
    "EcsProvisioningError",
    "EfsProvisioningError",
    "EventBridgeError",
    "ForbiddenError",
    "GroupNotFoundError",
    "HierarchyExistsError",
    "HierarchyLimitExceededError",
    "HierarchyNotEmptyError",
    "IdempotencyKeyReusedError",
    "InstanceNotFoundError",
    "InstanceService",
    "InvalidStateError",
    "InvalidStatusTransitionError",
    "InvitationAlreadyUsedError",
    "InvitationExpiredError",
    "InvitationNotFoundError",
    "LastAdminError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OperationNotFoundError",
    "OrgService",
    "PayloadTooLargeError",
    "RateLimitedError",
    "ResendLimitExceededError",
    "RollbackFailedError",
    "ScaleLimitExceededError",
    "BackupNotFoundError",
    "BackupNotRestorableError",
    "StorageError",
    "TeamNotFoundError",
    "TenantDeprovisionedError",
    "TenantManagementError",
    "TenantNotActiveError",
    "TenantNotFoundError",
    "TenantService",
    "UnauthorizedError",
    "UnexpectedException",
    "UnsupportedMediaTypeError",
    "UserAlreadyAssignedError",
    "UserAlreadyMemberError",
    "UserNotFoundError",
    "ValidationError",
    "VersionConflictError",
    "__version__",
    "error_codes",
    "handle_api_event",
]
