"""Response bodies: a resource with its ``_links`` (HATEOAS), and the error envelope."""

from __future__ import annotations

from typing import Any, Optional

from aws_lambda_powertools.event_handler import Response, content_types

from .models import Tenant, TenantStatus, iso_ms, utc_now

BASE = "/v1.0/tenants"


def tenant_links(tenant_id: str, status: str) -> dict[str, Any]:
    base = f"{BASE}/{tenant_id}"
    links: dict[str, Any] = {
        "self": {"href": base},
        "users": {"href": f"{base}/users"},
        "lifecycle": {"href": f"{base}/lifecycle"},
    }
    if status == TenantStatus.ACTIVE.value:
        links["park"] = {"href": f"{base}/lifecycle/park", "method": "POST"}
        links["suspend"] = {"href": f"{base}/lifecycle/suspend", "method": "POST"}
    elif status == TenantStatus.PARKED.value:
        links["unpark"] = {"href": f"{base}/lifecycle/unpark", "method": "POST"}
    return links


def tenant_body(tenant: Tenant) -> dict[str, Any]:
    body = tenant.model_dump(by_alias=True, exclude_none=True)
    body["_links"] = tenant_links(tenant.tenant_id, tenant.status)
    return body


def json_response(status: int, body: dict[str, Any], headers: Optional[dict[str, str]] = None) -> Response:
    return Response(
        status_code=status, content_type=content_types.APPLICATION_JSON, body=body, headers=headers
    )


def error_response(status: int, code: str, message: str, details: Any, request_id: str) -> Response:
    return json_response(
        status,
        {
            "error": {"code": code, "message": message, "details": details or {}},
            "requestId": request_id,
            "timestamp": iso_ms(utc_now()),
        },
    )
