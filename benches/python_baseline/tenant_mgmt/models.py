"""The pydantic v2 models of LLD 2.5 §5.8 and the status transitions of §7.5.

Attributes are camelCase on the wire and in DynamoDB (aliases), snake_case in Python.
Timestamps are ``datetime`` in Python and RFC 3339 UTC with milliseconds and ``Z`` when written,
the format bbws writes and parses.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any, Optional

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_serializer, field_validator
from pydantic.alias_generators import to_camel


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def iso_ms(dt: datetime) -> str:
    """``2026-01-05T14:30:00.123Z``."""
    dt = dt.astimezone(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


class TenantStatus(str, Enum):
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"
    PARKED = "PARKED"
    DEPROVISIONED = "DEPROVISIONED"
    FAILED = "FAILED"


class Environment(str, Enum):
    DEV = "dev"
    SIT = "sit"
    PROD = "prod"


STATUS_TRANSITIONS: dict[TenantStatus, list[TenantStatus]] = {
    TenantStatus.PENDING: [TenantStatus.ACTIVE, TenantStatus.FAILED],
    TenantStatus.ACTIVE: [TenantStatus.SUSPENDED, TenantStatus.PARKED, TenantStatus.DEPROVISIONED],
    TenantStatus.SUSPENDED: [TenantStatus.ACTIVE, TenantStatus.DEPROVISIONED],
    TenantStatus.PARKED: [TenantStatus.ACTIVE, TenantStatus.DEPROVISIONED],
    TenantStatus.FAILED: [TenantStatus.PENDING],
    TenantStatus.DEPROVISIONED: [],
}


class CamelModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, use_enum_values=True)


class Tenant(CamelModel):
    """A stored tenant (``PK=TENANT#{tenantId}``, ``SK=METADATA``)."""

    tenant_id: str
    organization_name: str = Field(min_length=2, max_length=100)
    contact_email: EmailStr
    environment: Environment
    status: TenantStatus
    division: Optional[str] = None
    group: Optional[str] = None
    team: Optional[str] = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    customer_id: Optional[str] = None
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str
    parked_at: Optional[datetime] = None
    parked_by: Optional[str] = None
    park_reason: Optional[str] = None
    version: int = 1

    @field_serializer("created_at", "updated_at", "parked_at")
    def _stamp(self, v: Optional[datetime]) -> Optional[str]:
        return None if v is None else iso_ms(v)


class CreateTenantRequest(CamelModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, use_enum_values=True, extra="forbid"
    )

    organization_name: str = Field(min_length=2, max_length=100)
    contact_email: EmailStr
    environment: Environment
    division: Optional[str] = Field(default=None, min_length=2, max_length=50)
    group: Optional[str] = Field(default=None, min_length=2, max_length=50)
    team: Optional[str] = Field(default=None, min_length=2, max_length=50)
    metadata: Optional[dict[str, Any]] = None

    @field_validator("organization_name", mode="before")
    @classmethod
    def _trim(cls, v: Any) -> Any:
        return v.strip() if isinstance(v, str) else v

    @field_validator("organization_name")
    @classmethod
    def _characters(cls, v: str) -> str:
        # BR-TEN-003: letters, digits, spaces, hyphens and apostrophes only.
        if not all(c.isalnum() or c in " -'\u2019" for c in v):
            raise ValueError("Organization name contains invalid characters")
        return v


class ParkTenantRequest(CamelModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=10, max_length=500)


class ListTenantsQuery(CamelModel):
    status: Optional[TenantStatus] = None
    environment: Optional[Environment] = None
    limit: int = Field(default=20, ge=1, le=100)
    next_token: Optional[str] = None


class TenantSummary(CamelModel):
    """An item of ``GET /v1.0/tenants`` (LLD §6.4)."""

    tenant_id: str
    organization_name: str
    status: TenantStatus
    environment: Environment
    created_at: datetime

    @field_serializer("created_at")
    def _stamp(self, v: datetime) -> str:
        return iso_ms(v)
