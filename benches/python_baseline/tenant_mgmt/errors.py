"""The exception hierarchy of LLD 2.5 §11.1, with the HTTP status each code answers (§11.2)."""

from __future__ import annotations

from typing import Any


class TenantManagementError(Exception):
    """Base of every tenant management error."""


class BusinessException(TenantManagementError):
    """A rule the caller broke: a 4xx answer with a stable code."""

    http_status = 400

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


class ValidationFailed(BusinessException):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__("VALIDATION_ERROR", message, details)


class UnauthorizedError(BusinessException):
    http_status = 401

    def __init__(self, message: str = "Missing or invalid identity") -> None:
        super().__init__("UNAUTHORIZED", message)


class ForbiddenError(BusinessException):
    http_status = 403

    def __init__(self, message: str = "Insufficient permissions") -> None:
        super().__init__("FORBIDDEN", message)


class TenantNotFoundError(BusinessException):
    http_status = 404

    def __init__(self, tenant_id: str) -> None:
        super().__init__("TENANT_NOT_FOUND", f"Tenant {tenant_id} not found", {"tenantId": tenant_id})


class ConflictError(BusinessException):
    http_status = 409

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__("CONFLICT", message, details)


class InvalidStatusTransitionError(BusinessException):
    http_status = 422

    def __init__(self, current_status: str, target_status: str, allowed: list[str]) -> None:
        super().__init__(
            "INVALID_STATUS_TRANSITION",
            f"Cannot transition from {current_status} to {target_status}",
            {
                "currentStatus": current_status,
                "requestedStatus": target_status,
                "allowedTransitions": allowed,
            },
        )
        self.current_status = current_status
        self.allowed_transitions = allowed


class UnexpectedException(TenantManagementError):
    """A failure of ours or of AWS: a 500 that never shows its cause to the caller."""

    def __init__(self, message: str, cause: Exception | None = None) -> None:
        super().__init__(message)
        self.cause = cause
