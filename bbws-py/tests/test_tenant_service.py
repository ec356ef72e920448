"""TenantService on the in-memory store: every use case, in the API's camelCase shapes, with the
caller's claims deciding what they may do."""

from __future__ import annotations

import re
from typing import Any

import pytest

import bbws
from conftest import ADMIN, OPERATOR, OUTSIDER, new_body, tenant_admin_of, viewer_of

TENANT_ID = re.compile(r"^tenant-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

TENANT_KEYS = {
    "tenantId", "organizationName", "contactEmail", "environment", "status", "division", "group",
    "team", "metadata", "customerId", "createdAt", "createdBy", "updatedAt", "updatedBy",
    "parkedAt", "parkedBy", "parkReason", "unparkedAt", "unparkedBy", "suspendedAt",
    "suspendedBy", "suspendReason", "resumedAt", "resumedBy", "deprovisionedAt",
    "deprovisionedBy", "version", "_links",
}  # fmt: skip


def links(t: dict[str, Any]) -> set[str]:
    return set(t["_links"])


def test_create_returns_the_api_tenant_shape(svc: bbws.TenantService) -> None:
    body = new_body(division="Retail", metadata={"tier": "gold", "seats": 12})
    t = svc.create(ADMIN, body)

    assert set(t) == TENANT_KEYS
    assert TENANT_ID.match(t["tenantId"])
    assert t["organizationName"] == body["organizationName"]
    assert t["contactEmail"] == "admin@acme.example"
    assert t["environment"] == "dev"
    assert t["status"] == "PENDING"
    assert t["division"] == "Retail" and t["group"] is None and t["team"] is None
    assert t["metadata"] == {"tier": "gold", "seats": 12}
    assert t["version"] == 1
    assert t["createdBy"] == t["updatedBy"] == "ops@bbws.example"
    assert TIMESTAMP.match(t["createdAt"]) and t["createdAt"] == t["updatedAt"]
    href = f"/v1.0/tenants/{t['tenantId']}"
    assert t["_links"]["self"] == {"href": href}
    assert t["_links"]["update"] == {"href": href, "method": "PUT"}
    assert t["_links"]["status"] == {"href": f"{href}/status", "method": "PATCH"}
    # A PENDING tenant offers no lifecycle actions.
    assert not links(t) & {"park", "unpark", "suspend", "resume"}


def test_create_normalises_like_the_api(svc: bbws.TenantService) -> None:
    body = {"organisationName": "  Spaced   Out  Co ", "contactEmail": " a@spaced.example ", "environment": "prod"}
    t = svc.create(ADMIN, body)
    assert (t["organizationName"], t["contactEmail"]) == ("Spaced Out Co", "a@spaced.example")
    # Names are unique regardless of case and spacing.
    with pytest.raises(bbws.ConflictError):
        svc.create(ADMIN, body | {"organisationName": "spaced out CO"})


def test_get_returns_what_create_returned(svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
    assert svc.get(ADMIN, tenant["tenantId"]) == tenant


def test_lifecycle_round_trip(svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
    tid = tenant["tenantId"]

    active = svc.set_status(ADMIN, tid, "ACTIVE")
    assert active["status"] == "ACTIVE" and active["version"] == 2
    assert {"park", "suspend"} <= links(active)
    assert "message" not in active

    parked = svc.park(ADMIN, tid, "Customer asked to pause the site")
    assert parked["status"] == "PARKED"
    assert parked["parkReason"] == "Customer asked to pause the site"
    assert parked["parkedBy"] == "ops@bbws.example" and TIMESTAMP.match(parked["parkedAt"])
    assert parked["message"] == "Tenant parked successfully. Resources will be released within 5 minutes."
    assert links(parked) & {"park", "unpark", "suspend", "resume"} == {"unpark"}

    unparked = svc.unpark(ADMIN, tid)
    assert unparked["status"] == "ACTIVE"
    assert unparked["unparkedBy"] == "ops@bbws.example"
    assert unparked["message"].startswith("Tenant unpark initiated")
    assert unparked["warning"].startswith("Full functionality may not be available immediately")

    suspended = svc.suspend(ADMIN, tid, "Invoice 42 is 90 days overdue")
    assert suspended["status"] == "SUSPENDED"
    assert suspended["suspendReason"] == "Invoice 42 is 90 days overdue"
    assert suspended["message"] == "Tenant suspended"
    assert links(suspended) & {"park", "unpark", "suspend", "resume"} == {"resume"}

    resumed = svc.resume(ADMIN, tid)
    assert resumed["status"] == "ACTIVE" and resumed["message"] == "Tenant resumed"
    assert resumed["resumedBy"] == "ops@bbws.example"

    gone = svc.deprovision(ADMIN, tid)
    assert gone["status"] == "DEPROVISIONED" and gone["message"] == "Tenant deprovisioned"
    assert gone["deprovisionedBy"] == "ops@bbws.example"
    assert not links(gone) & {"update", "status", "delete"}
    assert gone["version"] == 7
    assert svc.get(ADMIN, tid)["status"] == "DEPROVISIONED"

    trail = svc.audit(ADMIN, tid)
    assert [e["eventType"] for e in trail["items"]] == [
        "TENANT_CREATED", "STATUS_CHANGED", "TENANT_PARKED", "TENANT_UNPARKED",
        "TENANT_SUSPENDED", "TENANT_RESUMED", "TENANT_DEPROVISIONED",
    ]  # fmt: skip
    assert trail["count"] == 7 and trail["moreAvailable"] is False and trail["nextToken"] is None
    assert trail["items"][2]["details"]["reason"] == "Customer asked to pause the site"


def test_set_status_routes_to_the_lifecycle_operations(svc: bbws.TenantService, active: dict[str, Any]) -> None:
    tid = active["tenantId"]
    parked = svc.set_status(ADMIN, tid, "PARKED", reason="Seasonal business, closed until May")
    assert parked["status"] == "PARKED" and parked["parkReason"] == "Seasonal business, closed until May"
    assert svc.set_status(ADMIN, tid, "ACTIVE")["unparkedBy"] == "ops@bbws.example"
    with pytest.raises(bbws.ValidationError) as e:
        svc.set_status(ADMIN, tid, "SUSPENDED")
    assert e.value.details["fields"] == [{"field": "reason", "message": "Suspension reason is required"}]


def test_update_changes_only_the_given_fields(svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
    tid = tenant["tenantId"]
    svc.update(ADMIN, tid, {"metadata": {"tier": "gold", "region": "eu"}, "team": "Platform"})
    t = svc.update(ADMIN, tid, {"contactEmail": "new@acme.example", "metadata": {"region": None}, "team": None})

    assert t["contactEmail"] == "new@acme.example"
    assert t["metadata"] == {"tier": "gold"}, "metadata merges key by key; null removes a key"
    assert t["team"] is None
    assert t["organizationName"] == tenant["organizationName"]
    assert t["version"] == 3
    assert t["updatedBy"] == "ops@bbws.example"
    changes = svc.audit(ADMIN, tid)["items"][-1]["details"]["changes"]
    assert {c["field"] for c in changes} >= {"contactEmail", "team"}


def test_update_with_if_match(svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
    tid = tenant["tenantId"]
    assert svc.update(ADMIN, tid, {"team": "Web Ops"}, if_match=1)["version"] == 2
    # The entity tag as the If-Match header carries it works too.
    assert svc.update(ADMIN, tid, {"team": "Web Ops 2"}, if_match='W/"2"')["version"] == 3
    with pytest.raises(bbws.VersionConflictError) as e:
        svc.update(ADMIN, tid, {"team": "Stale"}, if_match=2)
    assert e.value.code == "VERSION_CONFLICT" and e.value.http_status == 409
    assert e.value.details == {"expectedVersion": 2, "currentVersion": 3}
    with pytest.raises(bbws.ValidationError) as e:
        svc.update(ADMIN, tid, {"team": "X-Team", "version": 2}, if_match=3)
    assert e.value.details["fields"][0]["field"] == "version"
    assert svc.get(ADMIN, tid)["team"] == "Web Ops 2"


def test_list_filters_and_pages(svc: bbws.TenantService) -> None:
    made = [svc.create(ADMIN, new_body(organizationName=f"Pager {i} Co", environment="sit")) for i in range(5)]
    svc.set_status(ADMIN, made[0]["tenantId"], "ACTIVE")

    first = svc.list(ADMIN, environment="sit", organization_name="pager", limit=2)
    assert set(first) == {"items", "count", "nextToken", "moreAvailable"}
    assert first["count"] == 2 and first["moreAvailable"] is True and first["nextToken"]
    items = list(first["items"])
    token = first["nextToken"]
    while token:
        page = svc.list(ADMIN, environment="sit", organization_name="pager", limit=2, next_token=token)
        items += page["items"]
        token = page["nextToken"]
    # Each tenant once, newest first. Tenants created in the same millisecond share a createdAt
    # (the store orders those by id), so the order is checked on createdAt, not on creation order.
    seen = [t["tenantId"] for t in items]
    assert sorted(seen) == sorted(t["tenantId"] for t in made)
    created = [t["createdAt"] for t in items]
    assert created == sorted(created, reverse=True)

    active = svc.list(ADMIN, status="ACTIVE", organization_name="Pager")
    assert [t["tenantId"] for t in active["items"]] == [made[0]["tenantId"]]
    assert set(active["items"][0]) == TENANT_KEYS

    # A token belongs to its query: reused with another filter it is refused.
    with pytest.raises(bbws.ValidationError) as e:
        svc.list(ADMIN, environment="prod", organization_name="pager", limit=2, next_token=first["nextToken"])
    assert e.value.details["fields"][0]["field"] == "nextToken"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"status": "ASLEEP"}, "status"),
        ({"environment": "qa"}, "environment"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": -5}, "limit"),
        ({"organization_name": "x" * 101}, "organizationName"),
        ({"next_token": "not-a-token"}, "nextToken"),
    ],
)
def test_list_refuses_bad_parameters(svc: bbws.TenantService, kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(bbws.ValidationError) as e:
        svc.list(ADMIN, **kwargs)
    assert e.value.details["fields"][0]["field"] == field


def test_idempotency_key_replays_and_refuses_another_body(svc: bbws.TenantService) -> None:
    body = new_body()
    first = svc.create(ADMIN, body, idempotency_key="order-7")
    assert svc.create(ADMIN, dict(body), idempotency_key="order-7") == first
    assert svc.list(ADMIN, organization_name=body["organizationName"])["count"] == 1
    with pytest.raises(bbws.IdempotencyKeyReusedError) as e:
        svc.create(ADMIN, new_body(), idempotency_key="order-7")
    assert e.value.code == "IDEMPOTENCY_KEY_REUSED"
    with pytest.raises(bbws.ValidationError):
        svc.create(ADMIN, new_body(), idempotency_key="")


class TestAuthorization:
    def test_viewer_reads_but_may_not_update(self, svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
        viewer = viewer_of(tenant["tenantId"])
        assert svc.get(viewer, tenant["tenantId"]) == tenant
        assert [t["tenantId"] for t in svc.list(viewer)["items"]] == [tenant["tenantId"]]
        with pytest.raises(bbws.ForbiddenError) as e:
            svc.update(viewer, tenant["tenantId"], {"team": "Sneaky"})
        assert e.value.code == "FORBIDDEN" and e.value.http_status == 403
        with pytest.raises(bbws.ForbiddenError):
            svc.deprovision(viewer, tenant["tenantId"])
        with pytest.raises(bbws.ForbiddenError):
            svc.create(viewer, new_body())
        assert svc.get(ADMIN, tenant["tenantId"])["team"] is None

    def test_outsider_is_told_the_tenant_does_not_exist(self, svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
        tid = tenant["tenantId"]
        for call in (
            lambda: svc.get(OUTSIDER, tid),
            lambda: svc.update(OUTSIDER, tid, {"team": "Sneaky"}),
            lambda: svc.park(OUTSIDER, tid, "Because I can do this"),
            lambda: svc.deprovision(OUTSIDER, tid, force=True),
        ):
            with pytest.raises(bbws.TenantNotFoundError) as e:
                call()
            assert e.value.details == {"tenantId": tid}
        assert svc.list(OUTSIDER)["items"] == []

    def test_tenant_admin_group_grants_lifecycle(self, svc: bbws.TenantService, active: dict[str, Any]) -> None:
        tid = active["tenantId"]
        assert svc.park(tenant_admin_of(tid), tid, "Paused by the tenant's own admin")["status"] == "PARKED"
        assert svc.get(ADMIN, tid)["parkedBy"] == "tadmin@acme.example"

    def test_operators_may_create(self, svc: bbws.TenantService) -> None:
        t = svc.create(OPERATOR, new_body())
        assert t["createdBy"] == "operator@bbws.example"

    def test_claims_without_a_subject_are_unauthorized(self, svc: bbws.TenantService) -> None:
        with pytest.raises(bbws.UnauthorizedError) as e:
            svc.list({"email": "nobody@example.com", "cognito:groups": ["Admins"]})
        assert e.value.code == "UNAUTHORIZED" and e.value.http_status == 401
        with pytest.raises(bbws.UnauthorizedError):
            svc.list(["not", "a", "dict"])  # type: ignore[arg-type]


def test_tenant_ids_are_parsed(svc: bbws.TenantService) -> None:
    with pytest.raises(bbws.ValidationError) as e:
        svc.get(ADMIN, "tenant-nope")
    assert e.value.details["fields"] == [{"field": "tenantId", "message": "Invalid tenant ID format"}]


def test_a_deprovisioned_tenant_is_read_only(svc: bbws.TenantService, active: dict[str, Any]) -> None:
    assert svc.deprovision(ADMIN, active["tenantId"], force=True)["status"] == "DEPROVISIONED"
    with pytest.raises(bbws.TenantDeprovisionedError) as e:
        svc.update(ADMIN, active["tenantId"], {"team": "Ghosts"})
    assert e.value.http_status == 422


def test_closed_service_refuses_calls() -> None:
    s = bbws.TenantService()
    assert not s.closed and repr(s) == "TenantService(backend='memory')"
    s.close()
    assert s.closed and repr(s) == "TenantService(backend='memory', closed)"
    with pytest.raises(ValueError, match="closed"):
        s.list(ADMIN)
    s.close()  # closing twice is harmless


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"backend": "oracle"}, "backend"),
        ({"backend": "embedded"}, "data_dir"),
        ({"table": "bbws-tenants-dev"}, "table"),
        ({"endpoint_url": "http://127.0.0.1:5000"}, "endpoint_url"),
    ],
)
def test_backend_options_are_checked(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(bbws.ValidationError) as e:
        bbws.TenantService(**kwargs)
    assert e.value.details["fields"][0]["field"] == field
