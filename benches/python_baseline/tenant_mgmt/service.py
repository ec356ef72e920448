"""``TenantService``: create, get, list and park, in the order LLD 2.5 designs them (§4.1, §4.2,
§7.5): each DynamoDB write is its own request, the audit item and the event follow the change.

- create: query GSI1 for the organisation name (409 when taken), put the tenant (PENDING), put the
  audit item, publish ``TENANT_CREATED``;
- get: one ``GetItem``;
- list: a status filter queries GSI2 ``STATUS#``; an environment filter queries GSI3 ``ENV#`` (the
  LLD's GSI2 ``ENV#`` cannot coexist with ``STATUS#`` on one item, digest C7); no filter scans
  (the LLD has no index of all tenants, digest C30);
- park: read the tenant, check the transition, conditional ``UpdateItem`` (status still ACTIVE),
  put the audit item, publish ``TENANT_PARKED``.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any, Optional

from aws_lambda_powertools import Logger

from .audit_logger import AuditLogger
from .dao import TenantDao, decode_token, encode_token
from .errors import ConflictError, InvalidStatusTransitionError, TenantNotFoundError
from .event_publisher import EventPublisher
from .identity import ADMIN, VIEWER, Caller
from .models import (
    STATUS_TRANSITIONS,
    CreateTenantRequest,
    ListTenantsQuery,
    Tenant,
    TenantStatus,
    TenantSummary,
    iso_ms,
    utc_now,
)

logger = Logger(child=True)


def _dynamo_numbers(value: Any) -> Any:
    """boto3 stores numbers only as Decimal: convert the floats of free-form metadata."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _dynamo_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dynamo_numbers(v) for v in value]
    return value


class TenantService:
    def __init__(self) -> None:
        self.dao = TenantDao()
        self.audit_logger = AuditLogger(self.dao)
        self.event_publisher = EventPublisher(self.dao)

    def create_tenant(self, request: CreateTenantRequest, caller: Caller) -> Tenant:
        caller.require_create()
        if self.dao.get_by_org_name(request.organization_name):
            raise ConflictError(
                f"Organization '{request.organization_name}' already exists",
                {"organizationName": request.organization_name},
            )
        now = utc_now()
        tenant = Tenant(
            tenant_id=f"tenant-{uuid.uuid4()}",
            organization_name=request.organization_name,
            contact_email=request.contact_email,
            environment=request.environment,
            status=TenantStatus.PENDING,
            division=request.division,
            group=request.group,
            team=request.team,
            metadata=_dynamo_numbers(request.metadata or {}),
            customer_id=None,
            created_at=now,
            created_by=caller.label,
            updated_at=now,
            updated_by=caller.label,
            version=1,
        )
        self.dao.create(tenant)
        self.audit_logger.log_event(
            tenant.tenant_id,
            "TENANT_CREATED",
            {"organizationName": tenant.organization_name, "environment": tenant.environment},
            caller.label,
            now,
        )
        self.event_publisher.publish(
            "TENANT_CREATED",
            tenant.tenant_id,
            {
                "tenantId": tenant.tenant_id,
                "status": tenant.status,
                "organizationName": tenant.organization_name,
                "environment": tenant.environment,
                "createdBy": caller.label,
            },
            now,
        )
        logger.info("Created tenant", extra={"tenant_id": tenant.tenant_id, "action": "CREATE_TENANT"})
        return tenant

    def get_tenant(self, tenant_id: str, caller: Caller) -> Tenant:
        caller.require(tenant_id, VIEWER)
        tenant = self.dao.get_by_id(tenant_id)
        if tenant is None:
            raise TenantNotFoundError(tenant_id)
        return tenant

    def list_tenants(
        self, query: ListTenantsQuery, caller: Caller
    ) -> tuple[list[TenantSummary], Optional[str]]:
        start = decode_token(query.next_token) if query.next_token else None
        if query.status:
            items, last = self.dao.query_index("GSI2", f"STATUS#{query.status}", query.limit, start)
        elif query.environment:
            items, last = self.dao.query_index("GSI3", f"ENV#{query.environment}", query.limit, start)
        else:
            items, last = self.dao.scan_tenants(query.limit, start)
        summaries = [
            TenantSummary.model_validate(item)
            for item in items
            if caller.can_see(item["tenantId"])
            and (query.environment is None or item.get("environment") == query.environment)
        ]
        return summaries, encode_token(last) if last else None

    def park_tenant(self, tenant_id: str, reason: str, caller: Caller) -> Tenant:
        caller.require(tenant_id, ADMIN)
        tenant = self.dao.get_by_id(tenant_id)
        if tenant is None:
            raise TenantNotFoundError(tenant_id)
        self._validate_status_transition(tenant.status, TenantStatus.PARKED)
        now = utc_now()
        stamp = iso_ms(now)
        moved = self.dao.update_status(
            tenant_id,
            TenantStatus.PARKED.value,
            expected_status=TenantStatus.ACTIVE.value,
            updated_at=stamp,
            fields={
                "parkedAt": stamp,
                "parkedBy": caller.label,
                "parkReason": reason,
                "updatedAt": stamp,
                "updatedBy": caller.label,
            },
        )
        if not moved:
            # Changed between the read and the write: answer from what is stored now.
            current = self.dao.get_by_id(tenant_id)
            if current is None:
                raise TenantNotFoundError(tenant_id)
            self._validate_status_transition(current.status, TenantStatus.PARKED)
            raise ConflictError("The tenant was changed by another request; try again")
        self.audit_logger.log_event(
            tenant_id,
            "TENANT_PARKED",
            {"previousStatus": tenant.status, "newStatus": "PARKED", "reason": reason},
            caller.label,
            now,
        )
        self.event_publisher.publish(
            "TENANT_PARKED",
            tenant_id,
            {"tenantId": tenant_id, "reason": reason, "parkedBy": caller.label, "timestamp": stamp},
            now,
        )
        tenant.status = TenantStatus.PARKED.value
        tenant.parked_at = now
        tenant.parked_by = caller.label
        tenant.park_reason = reason
        tenant.updated_at = now
        tenant.updated_by = caller.label
        tenant.version += 1
        logger.info("Parked tenant", extra={"tenant_id": tenant_id, "action": "PARK_TENANT"})
        return tenant

    @staticmethod
    def _validate_status_transition(current: str, target: TenantStatus) -> None:
        allowed = STATUS_TRANSITIONS.get(TenantStatus(current), [])
        if target not in allowed:
            raise InvalidStatusTransitionError(current, target.value, [s.value for s in allowed])
