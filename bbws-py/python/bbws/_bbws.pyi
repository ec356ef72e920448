# Type stubs of the native module `bbws._bbws` (bbws-py/src). The TypedDicts and aliases below
# exist for type checkers only (use them under `if TYPE_CHECKING:`); every other name here is
# importable at run time, and tests/test_package.py keeps the two lists equal.

from collections.abc import Mapping
from os import PathLike
from types import TracebackType
from typing import Any, Literal, NotRequired, TypedDict, final

__version__: str

Status = Literal["PENDING", "ACTIVE", "SUSPENDED", "PARKED", "DEPROVISIONED", "FAILED"]
EnvironmentName = Literal["dev", "sit", "prod"]
Backend = Literal["memory", "embedded", "dynamodb"]

Claims = Mapping[str, Any]
"""API Gateway authorizer claims: `sub` (required), `email`, `cognito:groups` (list or the
string API Gateway flattens it to), `custom:tenantIds` (comma list or list), `custom:customerId`."""

class Link(TypedDict):
    href: str
    method: NotRequired[str]

class Tenant(TypedDict):
    """`TenantResponse` of the API."""

    tenantId: str
    organizationName: str
    contactEmail: str
    environment: EnvironmentName
    status: Status
    division: str | None
    group: str | None
    team: str | None
    metadata: dict[str, Any]
    customerId: str | None
    createdAt: str
    createdBy: str
    updatedAt: str
    updatedBy: str
    parkedAt: str | None
    parkedBy: str | None
    parkReason: str | None
    unparkedAt: str | None
    unparkedBy: str | None
    suspendedAt: str | None
    suspendedBy: str | None
    suspendReason: str | None
    resumedAt: str | None
    resumedBy: str | None
    deprovisionedAt: str | None
    deprovisionedBy: str | None
    version: int
    message: NotRequired[str]
    warning: NotRequired[str]
    _links: dict[str, Link]

class TenantPage(TypedDict):
    items: list[Tenant]
    count: int
    nextToken: str | None
    moreAvailable: bool

class AuditEvent(TypedDict):
    eventId: str
    tenantId: str
    eventType: str
    timestamp: str
    actor: str
    details: dict[str, Any]

class AuditPage(TypedDict):
    items: list[AuditEvent]
    count: int
    nextToken: str | None
    moreAvailable: bool

class CreateTenantBody(TypedDict, total=False):
    organizationName: str
    contactEmail: str
    environment: EnvironmentName
    division: str
    group: str
    team: str
    metadata: dict[str, Any]

IfMatch = int | str | None
"""A version (`3`) or an entity tag as the If-Match header carries it (`'"3"'`, `'W/"3"'`,
`'*'` for any version)."""

@final
class TenantService:
    """The tenant use cases on one backend. Every method takes the caller's claims (authorization
    applies as in the API: a tenant outside the caller's scope is TenantNotFoundError) and returns
    the API's camelCase dicts. Calls release the GIL."""

    def __init__(
        self,
        backend: Backend = "memory",
        table: str | None = None,
        data_dir: str | PathLike[str] | None = None,
        endpoint_url: str | None = None,
    ) -> None: ...
    def close(self) -> None:
        """Releases the backend (the embedded store's lock). Later calls raise ValueError."""
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> TenantService: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def create(
        self, claims: Claims, body: CreateTenantBody | Mapping[str, Any], idempotency_key: str | None = None
    ) -> Tenant: ...
    def get(self, claims: Claims, tenant_id: str) -> Tenant: ...
    def list(
        self,
        claims: Claims,
        status: Status | None = None,
        environment: EnvironmentName | None = None,
        organization_name: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
    ) -> TenantPage: ...
    def update(self, claims: Claims, tenant_id: str, body: Mapping[str, Any], if_match: IfMatch = None) -> Tenant: ...
    def park(self, claims: Claims, tenant_id: str, reason: str | None, if_match: IfMatch = None) -> Tenant: ...
    def unpark(self, claims: Claims, tenant_id: str, if_match: IfMatch = None) -> Tenant: ...
    def suspend(self, claims: Claims, tenant_id: str, reason: str | None, if_match: IfMatch = None) -> Tenant: ...
    def resume(self, claims: Claims, tenant_id: str, if_match: IfMatch = None) -> Tenant: ...
    def set_status(
        self,
        claims: Claims,
        tenant_id: str,
        status: Status | str | None,
        reason: str | None = None,
        if_match: IfMatch = None,
    ) -> Tenant: ...
    def deprovision(self, claims: Claims, tenant_id: str, force: bool = False, if_match: IfMatch = None) -> Tenant: ...
    def audit(self, claims: Claims, tenant_id: str, limit: int = 20, next_token: str | None = None) -> AuditPage: ...

Role = Literal["Admin", "Operator", "Viewer", "admin", "operator", "viewer"]

class OrgUnit(TypedDict):
    """`OrgUnitResponse` of the API: a division, group or team."""

    kind: Literal["DIVISION", "GROUP", "TEAM"]
    tenantId: str
    divisionId: str
    groupId: NotRequired[str]
    teamId: NotRequired[str]
    name: str
    createdAt: str
    createdBy: str
    updatedAt: str
    updatedBy: str
    version: int
    _links: dict[str, Link]

class Assignment(TypedDict):
    """`UserAssignmentResponse` of the API: a user's membership of a tenant."""

    tenantId: str
    userId: str
    email: str
    role: Literal["Admin", "Operator", "Viewer"]
    active: bool
    assignedAt: str
    assignedBy: str
    updatedAt: str
    updatedBy: str
    version: int
    warnings: NotRequired[list[str]]
    _links: dict[str, Link]

class Invitation(TypedDict, total=False):
    """`InvitationResponse` of the API (the token is only ever in the mail)."""

    invitationId: str
    tenantId: str
    email: str
    role: str
    teamId: str | None
    status: Literal["PENDING", "ACCEPTED", "DECLINED", "EXPIRED", "CANCELLED"]
    active: bool
    expiresAt: str
    resendCount: int
    version: int
    _links: dict[str, Link]

class PublicInvitation(TypedDict):
    email: str
    organisationName: str
    role: str
    status: str
    expiresAt: str
    isValid: bool

class DirectoryUser(TypedDict):
    userId: str
    email: str
    enabled: bool

class Mail(TypedDict):
    seq: int
    to: str
    subject: str
    text: str
    sentAt: str
    link: str | None

@final
class OrgService:
    """The organisation use cases (hierarchy, users and roles, invitations) on one backend,
    opened as TenantService is. Methods take the caller's claims and return the API's camelCase
    dicts; calls release the GIL. Pages are `{items, count, nextToken, moreAvailable}`."""

    def __init__(
        self,
        backend: Backend = "memory",
        table: str | None = None,
        data_dir: str | PathLike[str] | None = None,
        endpoint_url: str | None = None,
    ) -> None: ...
    def tenant_service(self) -> TenantService:
        """A TenantService on this same backend."""
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> OrgService: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def create_division(
        self, claims: Claims, tenant_id: str, name: str, idempotency_key: str | None = None
    ) -> OrgUnit: ...
    def create_group(
        self, claims: Claims, tenant_id: str, division_id: str, name: str, idempotency_key: str | None = None
    ) -> OrgUnit: ...
    def create_team(
        self,
        claims: Claims,
        tenant_id: str,
        division_id: str,
        group_id: str,
        name: str,
        idempotency_key: str | None = None,
    ) -> OrgUnit: ...
    def create_unit(
        self,
        claims: Claims,
        tenant_id: str,
        name: str,
        division_id: str | None = None,
        group_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> OrgUnit: ...
    def get_unit(
        self, claims: Claims, tenant_id: str, division_id: str, group_id: str | None = None, team_id: str | None = None
    ) -> OrgUnit: ...
    def list_units(
        self,
        claims: Claims,
        tenant_id: str,
        division_id: str | None = None,
        group_id: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
    ) -> dict[str, Any]: ...
    def rename_unit(
        self,
        claims: Claims,
        tenant_id: str,
        name: str,
        division_id: str,
        group_id: str | None = None,
        team_id: str | None = None,
        if_match: IfMatch = None,
    ) -> OrgUnit: ...
    def delete_unit(
        self,
        claims: Claims,
        tenant_id: str,
        division_id: str,
        group_id: str | None = None,
        team_id: str | None = None,
        cascade: bool = False,
        if_match: IfMatch = None,
    ) -> OrgUnit: ...
    def tree(self, claims: Claims, tenant_id: str) -> dict[str, Any]: ...
    def ensure_path(
        self, claims: Claims, tenant_id: str, division: str, group: str | None = None, team: str | None = None
    ) -> list[OrgUnit]: ...
    def rename_path(
        self,
        claims: Claims,
        tenant_id: str,
        name: str,
        division: str,
        group: str | None = None,
        team: str | None = None,
        if_match: IfMatch = None,
    ) -> list[OrgUnit]: ...
    def delete_path(
        self,
        claims: Claims,
        tenant_id: str,
        division: str,
        group: str | None = None,
        team: str | None = None,
        cascade: bool = False,
    ) -> OrgUnit: ...
    def add_member(
        self, claims: Claims, tenant_id: str, division_id: str, group_id: str, team_id: str, user_id: str
    ) -> dict[str, Any]: ...
    def list_members(
        self,
        claims: Claims,
        tenant_id: str,
        division_id: str,
        group_id: str,
        team_id: str,
        limit: int = 20,
        next_token: str | None = None,
    ) -> dict[str, Any]: ...
    def remove_member(
        self, claims: Claims, tenant_id: str, division_id: str, group_id: str, team_id: str, user_id: str
    ) -> None: ...
    def assign_user(
        self,
        claims: Claims,
        tenant_id: str,
        email: str,
        role: Role | str,
        user_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Assignment: ...
    def list_users(
        self,
        claims: Claims,
        tenant_id: str,
        role: Role | str | None = None,
        limit: int = 20,
        next_token: str | None = None,
    ) -> dict[str, Any]: ...
    def get_assignment(self, claims: Claims, tenant_id: str, user_id: str) -> Assignment: ...
    def change_role(
        self, claims: Claims, tenant_id: str, user_id: str, role: Role | str, if_match: IfMatch = None
    ) -> Assignment: ...
    def remove_user(self, claims: Claims, tenant_id: str, user_id: str) -> None: ...
    def user_tenants(self, claims: Claims, user_id: str) -> dict[str, Any]: ...
    def get_user(self, claims: Claims, user_id_or_email: str) -> dict[str, Any]: ...
    def create_invitation(
        self,
        claims: Claims,
        tenant_id: str,
        email: str,
        role: Role | str,
        team_id: str | None = None,
        idempotency_key: str | None = None,
    ) -> Invitation: ...
    def list_invitations(
        self,
        claims: Claims,
        tenant_id: str,
        status: str | None = None,
        limit: int = 20,
        next_token: str | None = None,
    ) -> dict[str, Any]: ...
    def get_invitation(self, claims: Claims, tenant_id: str, invitation_id: str) -> Invitation: ...
    def cancel_invitation(self, claims: Claims, tenant_id: str, invitation_id: str) -> Invitation: ...
    def revoke_invitation(self, claims: Claims, tenant_id: str, invitation_id: str) -> Invitation: ...
    def resend_invitation(self, claims: Claims, tenant_id: str, invitation_id: str) -> Invitation: ...
    def view_invitation(self, token: str) -> PublicInvitation: ...
    def accept_invitation(self, claims: Claims, token: str) -> Assignment: ...
    def decline_invitation(self, token: str) -> PublicInvitation: ...
    def register_user(self, email: str, user_id: str | None = None) -> DirectoryUser:
        """Adds a user to the local directory (memory and embedded backends)."""
    def directory_users(self) -> list[DirectoryUser]: ...
    def mailbox(self, start: int = 0, limit: int = 100) -> list[Mail]:
        """The embedded mailbox (memory and embedded backends), oldest first."""

InstanceState = Literal[
    "PENDING_PROVISIONING",
    "COMMITTING",
    "WORKFLOW_QUEUED",
    "WORKFLOW_RUNNING",
    "PROVISIONING",
    "ACTIVE",
    "SCALING",
    "SUSPENDING",
    "SUSPENDED",
    "RESUMING",
    "PARKING",
    "PARKED",
    "UNPARKING",
    "PENDING_DEPROVISIONING",
    "DEPROVISIONING",
    "DEPROVISIONED",
    "FAILED",
    "WORKFLOW_FAILED",
]
OperationStatus = Literal["PENDING", "IN_PROGRESS", "COMPLETED", "FAILED", "ROLLED_BACK"]
Tier = Literal["STARTER", "STANDARD", "PROFESSIONAL", "ENTERPRISE"]

class FailureReason(TypedDict):
    code: str
    message: str
    resources: list[str]

class Instance(TypedDict):
    """`InstanceResponse` of the API."""

    instanceId: str
    tenantId: str
    status: InstanceState
    provisioningState: InstanceState
    resourceKey: str
    environment: EnvironmentName
    tier: Tier
    cpu: int
    memory: int
    desiredCount: int
    wordpressVersion: str
    containerImage: str | None
    opportunityId: str | None
    domain: str
    endpoint: str
    resources: dict[str, str]
    lastError: FailureReason | None
    currentOperationId: str | None
    createdAt: str
    createdBy: str
    updatedAt: str
    updatedBy: str
    provisionedAt: str | None
    deprovisionedAt: str | None
    version: int
    _links: dict[str, Link]

class InstanceList(TypedDict):
    instances: list[Instance]
    count: int
    moreAvailable: bool
    _links: dict[str, Link]

class InstanceDeployment(TypedDict):
    id: str
    status: str
    rolloutState: str | None
    rolloutStateReason: str | None
    taskDefinition: str
    desiredCount: int
    runningCount: int
    pendingCount: int

class InstanceTask(TypedDict):
    taskId: str
    lastStatus: str
    healthStatus: str | None
    startedAt: str | None
    cpu: str | None
    memory: str | None
    taskDefinition: str | None

class InstanceStatus(TypedDict):
    """`InstanceStatusResponse` of the API: the live running status."""

    instanceId: str
    tenantId: str
    status: InstanceState
    provisioningState: InstanceState
    serviceStatus: Literal["FOUND", "NOT_FOUND", "NOT_PROVISIONED", "UNKNOWN"]
    reason: str | None
    serviceArn: str | None
    taskDefinition: str | None
    desiredCount: int | None
    runningCount: int | None
    pendingCount: int | None
    deploymentStatus: str | None
    deployments: list[InstanceDeployment]
    tasks: list[InstanceTask]
    lastUpdated: str
    checkedAt: str
    _links: dict[str, Link]

class ComponentHealth(TypedDict):
    status: Literal["HEALTHY", "UNHEALTHY", "UNKNOWN", "NOT_APPLICABLE"]
    reason: str
    resource: str | None

class InstanceHealth(TypedDict):
    """`InstanceHealthResponse` of the API: the composite health."""

    instanceId: str
    tenantId: str
    provisioningState: InstanceState
    healthStatus: Literal["HEALTHY", "UNHEALTHY", "UNKNOWN"]
    components: dict[str, ComponentHealth]
    checkedAt: str
    _links: dict[str, Link]

class OperationStep(TypedDict):
    name: str
    status: Literal["PENDING", "RUNNING", "DONE", "FAILED", "ROLLED_BACK", "SKIPPED"]
    startedAt: str | None
    completedAt: str | None
    attempts: int
    resourceId: str | None
    error: str | None

class Operation(TypedDict):
    """`OperationResponse` of the API (GET /v1.0/operations/{operationId})."""

    operationId: str
    tenantId: str
    instanceId: str
    type: str
    status: OperationStatus
    phase: Literal["FORWARD", "ROLLING_BACK"]
    progress: int
    currentStep: str | None
    message: str
    error: FailureReason | None
    estimatedCompletionAt: str | None
    steps: list[OperationStep]
    createdAt: str
    updatedAt: str
    completedAt: str | None
    requestedBy: str
    correlationId: str
    update: NotRequired[InstanceUpdate]
    version: int
    _links: dict[str, Link]

class InstanceUpdate(TypedDict, total=False):
    """The change an `UPDATE` operation carries (the API's `UpdateInstanceRequest`)."""

    containerImage: str
    wordpressVersion: str
    tier: Tier

class Accepted(TypedDict):
    """The API's 202 body of an accepted provisioning, deprovisioning or retry."""

    operationId: str
    instanceId: str
    tenantId: str
    status: InstanceState
    message: str
    estimatedCompletionMinutes: int
    operation: Operation
    _links: dict[str, Link]

class PlannedCall(TypedDict):
    service: str
    action: str
    resource: str
    tags: dict[str, str]
    params: dict[str, Any]

class Plan(TypedDict):
    """The API's `?dryRun=true` answer: the AWS calls an operation would make, in order."""

    dryRun: bool
    source: str
    calls: list[PlannedCall]
    rendered: str

class LedgerEntry(TypedDict):
    tenantId: str
    instanceId: str
    seq: int
    resourceType: str
    step: str
    name: str
    id: str | None
    arn: str | None
    status: Literal["creating", "active", "deleting", "deleted", "failed"]
    error: str | None
    updatedAt: str

class LogEntry(TypedDict):
    timestamp: str
    message: str
    logStream: str
    """`{resourceKey}/wordpress/{taskId}`."""

class InstanceLogs(TypedDict):
    """`InstanceLogsResponse` of the API: one page of the containers' logs, oldest first."""

    tenantId: str
    instanceId: str
    entries: list[LogEntry]
    count: int
    startTime: str
    endTime: str
    limit: int
    nextToken: NotRequired[str]
    moreAvailable: bool
    _links: dict[str, Link]

Mfa = Literal["OFF", "OPTIONAL", "REQUIRED"]

class PasswordPolicy(TypedDict):
    minimumLength: int
    requireUppercase: bool
    requireLowercase: bool
    requireNumbers: bool
    requireSymbols: bool

class IdentityConfig(TypedDict):
    """`IdentityResponse` of the API: the tenant's Cognito pool, never the client secret."""

    tenantId: str
    instanceId: str
    userPoolId: str
    userPoolArn: str | None
    clientId: str | None
    domain: str | None
    passwordPolicy: PasswordPolicy
    mfaConfiguration: Mfa
    checkedAt: str
    _links: dict[str, Link]

class PasswordPolicyChange(TypedDict, total=False):
    minimumLength: int
    requireUppercase: bool
    requireLowercase: bool
    requireNumbers: bool
    requireSymbols: bool

class ConfigureIdentityBody(TypedDict, total=False):
    """The API's `PUT …/identity` body: at least one of the two."""

    passwordPolicy: PasswordPolicyChange
    mfaConfiguration: Mfa

class CreateInstanceBody(TypedDict, total=False):
    tier: Tier
    plan: Tier
    cpu: int
    memory: int
    desiredCount: int
    wordpressVersion: str
    opportunityId: str
    resourceKey: str
    configuration: dict[str, Any]
    organizationName: str
    contactEmail: str

@final
class InstanceService:
    """A tenant's WordPress instances on one backend, opened as TenantService is. Methods take
    the caller's claims (a tenant outside the caller's scope is TenantNotFoundError, an operation
    of one OperationNotFoundError) and return the API's camelCase dicts; calls release the GIL.
    Accepting work and running it are separate: `request_*` and `retry_provisioning` return the
    API's 202 body with a PENDING operation, `run(operation_id)` runs it here."""

    def __init__(
        self,
        backend: Backend = "memory",
        table: str | None = None,
        data_dir: str | PathLike[str] | None = None,
        endpoint_url: str | None = None,
    ) -> None: ...
    def tenant_service(self) -> TenantService:
        """A TenantService on this same backend."""
    @property
    def cloud(self) -> str:
        """What operations run on: `plan recorder: ...` (creates nothing) or the live AWS cloud."""
    def close(self) -> None: ...
    @property
    def closed(self) -> bool: ...
    def __enter__(self) -> InstanceService: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool: ...
    def request_provisioning(
        self,
        claims: Claims,
        tenant_id: str,
        body: CreateInstanceBody | Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Accepted: ...
    def retry_provisioning(self, claims: Claims, tenant_id: str, instance_id: str) -> Accepted: ...
    def request_deprovisioning(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        archive_data: bool = True,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Accepted: ...
    def request_lifecycle(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        action: Literal["suspend", "resume", "park", "unpark", "scale", "restart"],
        reason: str | None = None,
        desired_count: int | None = None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        """Accepts a lifecycle change (202 body); run it with run(operationId)."""
    def update(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        container_image: str | None = None,
        wordpress_version: str | None = None,
        tier: Tier | None = None,
        if_match: int | None = None,
        idempotency_key: str | None = None,
    ) -> Accepted:
        """Accepts a rolling update of an ACTIVE instance (202 body, an UPDATE operation; already
        COMPLETED when nothing changes); run it with run(operationId)."""
    def request_backup(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Accepts a backup (202 body with backupId); run it with run(operationId)."""
    def backups(self, claims: Claims, tenant_id: str, instance_id: str) -> list[dict[str, Any]]:
        """The instance's backups, newest first."""
    def request_restore(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        backup_id: str,
        idempotency_key: str | None = None,
    ) -> Accepted:
        """Accepts a restore from a COMPLETED backup (202 body); run it with run(operationId)."""
    def get(self, claims: Claims, tenant_id: str, instance_id: str) -> Instance: ...
    def status(self, claims: Claims, tenant_id: str, instance_id: str) -> InstanceStatus: ...
    def health(self, claims: Claims, tenant_id: str, instance_id: str) -> InstanceHealth: ...
    def logs(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        start_time: str | None = None,
        end_time: str | None = None,
        limit: int | None = None,
        next_token: str | None = None,
    ) -> InstanceLogs:
        """One page of the containers' logs (RFC 3339 window, default the last hour; limit
        1-1000); empty for an instance that never ran; CloudUnavailableError without a live
        cloud."""
    def identity(self, claims: Claims, tenant_id: str, instance_id: str) -> IdentityConfig:
        """The Cognito pool read live; ConflictError without a pool, CloudUnavailableError
        without a live cloud."""
    def request_identity_configuration(
        self,
        claims: Claims,
        tenant_id: str,
        instance_id: str,
        body: ConfigureIdentityBody | Mapping[str, Any],
        idempotency_key: str | None = None,
    ) -> Accepted:
        """Accepts a password policy and/or MFA change of an ACTIVE instance (202 body); run it
        with run(operationId)."""
    def list(self, claims: Claims, tenant_id: str) -> InstanceList: ...
    def operation(self, claims: Claims, operation_id: str) -> Operation: ...
    def ledger(self, claims: Claims, tenant_id: str, instance_id: str) -> list[LedgerEntry]: ...
    def terraform(self, claims: Claims, tenant_id: str, instance_id: str) -> dict[str, str]:
        """The tenant's Terraform (GitOps variant): file contents by path. Needs the right to provision."""
    def plan_provisioning(
        self, claims: Claims, tenant_id: str, body: CreateInstanceBody | Mapping[str, Any] | None = None
    ) -> Plan: ...
    def plan_deprovisioning(
        self, claims: Claims, tenant_id: str, instance_id: str, archive_data: bool = True, reason: str | None = None
    ) -> Plan: ...
    def run(self, operation_id: str) -> Operation:
        """Runs the operation here with the engine and returns it as it ended (no claims: the
        worker's side). On the plan recorder: CloudUnavailableError, the operation FAILED."""

def handle_api_event(event: Mapping[str, Any], context: object | None = None) -> dict[str, Any]:
    """Serves an API Gateway proxy event (REST API 1.0 or HTTP API 2.0) through the API's router
    and returns the API Gateway response dict. Configured from BBWS_BACKEND / BBWS_DATA_DIR."""

class _ErrorCodeRow(TypedDict):
    httpStatus: int
    exception: str
    parent: Literal["BusinessException", "UnexpectedException"]
    exitCode: int

def error_codes() -> dict[str, _ErrorCodeRow]: ...

class TenantManagementError(Exception):
    code: str
    message: str
    details: dict[str, Any]
    http_status: int

class BusinessException(TenantManagementError): ...
class UnexpectedException(TenantManagementError): ...
class ValidationError(BusinessException): ...
class UnauthorizedError(BusinessException): ...
class ForbiddenError(BusinessException): ...
class NotFoundError(BusinessException): ...
class TenantNotFoundError(BusinessException): ...
class ConflictError(BusinessException): ...
class VersionConflictError(BusinessException): ...
class IdempotencyKeyReusedError(BusinessException): ...

class InvalidStatusTransitionError(BusinessException):
    current_status: Status | InstanceState
    allowed_transitions: list[Status | InstanceState]

class TenantDeprovisionedError(BusinessException): ...
class TenantNotActiveError(BusinessException): ...
class ActiveResourcesExistError(BusinessException): ...
class MethodNotAllowedError(BusinessException): ...
class PayloadTooLargeError(BusinessException): ...
class UnsupportedMediaTypeError(BusinessException): ...
class RateLimitedError(BusinessException): ...
class UserNotFoundError(BusinessException): ...
class AssignmentNotFoundError(BusinessException): ...
class UserAlreadyAssignedError(BusinessException): ...
class LastAdminError(BusinessException): ...
class HierarchyExistsError(BusinessException): ...
class HierarchyNotEmptyError(BusinessException): ...
class HierarchyLimitExceededError(BusinessException): ...
class DivisionNotFoundError(BusinessException): ...
class GroupNotFoundError(BusinessException): ...
class TeamNotFoundError(BusinessException): ...
class InvitationNotFoundError(BusinessException): ...
class InvitationExpiredError(BusinessException): ...
class InvitationAlreadyUsedError(BusinessException): ...
class DuplicateInvitationError(BusinessException): ...
class UserAlreadyMemberError(BusinessException): ...
class ResendLimitExceededError(BusinessException): ...
class InvalidStateError(BusinessException): ...
class InstanceNotFoundError(BusinessException): ...
class OperationNotFoundError(BusinessException): ...
class ScaleLimitExceededError(BusinessException): ...
class BackupNotFoundError(BusinessException): ...
class BackupNotRestorableError(BusinessException): ...
class DynamoDbError(UnexpectedException): ...
class EventBridgeError(UnexpectedException): ...
class StorageError(UnexpectedException): ...
class CloudUnavailableError(UnexpectedException):
    operation: Operation
    """From InstanceService.run: the operation, ended FAILED with CLOUD_UNAVAILABLE."""

class ArchiveFailedError(UnexpectedException): ...
class EfsProvisioningError(UnexpectedException): ...
class DatabaseProvisioningError(UnexpectedException): ...
class EcsProvisioningError(UnexpectedException): ...
class AlbProvisioningError(UnexpectedException): ...
class CognitoProvisioningError(UnexpectedException): ...
class RollbackFailedError(UnexpectedException): ...
