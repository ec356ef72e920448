"""bbws.InstanceService.logs / identity / request_identity_configuration on the local backends,
whose cloud is the plan recorder: arguments are checked as the API checks them, the live reads
raise CloudUnavailableError, an instance without a user pool has no identity (ConflictError),
and only an ACTIVE instance accepts an identity change."""

from __future__ import annotations

from typing import Any

import pytest

import bbws
from conftest import ADMIN, OUTSIDER, new_body, viewer_of

UNKNOWN_INSTANCE = "inst-22222222-2222-4222-8222-222222222222"


@pytest.fixture
def inst() -> bbws.InstanceService:
    with bbws.InstanceService() as s:
        yield s


@pytest.fixture
def failed(inst: bbws.InstanceService) -> tuple[str, str]:
    """A tenant and its instance, FAILED because the plan recorder refused to provision it."""
    tenant_id = inst.tenant_service().create(ADMIN, new_body())["tenantId"]
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])
    return tenant_id, a["instanceId"]


def fields_of(err: bbws.TenantManagementError) -> list[str]:
    return [f["field"] for f in err.details["fields"]]


@pytest.mark.parametrize(
    ("kwargs", "fields"),
    [
        ({"limit": 0}, ["limit"]),
        ({"limit": 1001}, ["limit"]),
        ({"start_time": "yesterday"}, ["startTime"]),
        ({"start_time": "2026-01-05T12:00:00Z", "end_time": "2026-01-05T11:00:00Z"}, ["endTime"]),
        ({"next_token": "forged.token"}, ["nextToken"]),
        ({"start_time": "x", "limit": -1}, ["startTime", "limit"]),
    ],
)
def test_log_queries_are_checked_field_by_field(
    inst: bbws.InstanceService, failed: tuple[str, str], kwargs: dict[str, Any], fields: list[str]
) -> None:
    tenant_id, instance_id = failed
    with pytest.raises(bbws.ValidationError) as err:
        inst.logs(ADMIN, tenant_id, instance_id, **kwargs)
    assert fields_of(err.value) == fields


def test_an_instance_that_never_ran_has_no_logs_and_others_need_the_callers_tenant(
    inst: bbws.InstanceService, failed: tuple[str, str]
) -> None:
    tenant_id, instance_id = failed
    # The plan recorder refused its provisioning: no service, no task, no log line.
    page = inst.logs(viewer_of(tenant_id), tenant_id, instance_id, limit=10)
    assert page["entries"] == [] and page.get("nextToken") is None
    with pytest.raises(bbws.InstanceNotFoundError):
        inst.logs(ADMIN, tenant_id, UNKNOWN_INSTANCE)
    with pytest.raises(bbws.TenantNotFoundError):
        inst.logs(OUTSIDER, tenant_id, instance_id)
    links = inst.get(ADMIN, tenant_id, instance_id)["_links"]
    assert links["logs"]["href"] == f"/v1.0/tenants/{tenant_id}/instances/{instance_id}/logs"


def test_identity_needs_a_pool_and_its_change_an_active_instance(
    inst: bbws.InstanceService, failed: tuple[str, str]
) -> None:
    tenant_id, instance_id = failed
    with pytest.raises(bbws.ConflictError) as err:
        inst.identity(ADMIN, tenant_id, instance_id)
    assert err.value.http_status == 409
    assert err.value.details["currentStatus"] == "FAILED"
    assert "no Cognito user pool" in err.value.message
    with pytest.raises(bbws.TenantNotFoundError):
        inst.identity(OUTSIDER, tenant_id, instance_id)

    change = {"passwordPolicy": {"minimumLength": 12, "requireSymbols": False}, "mfaConfiguration": "REQUIRED"}
    with pytest.raises(bbws.InvalidStatusTransitionError) as refused:
        inst.request_identity_configuration(ADMIN, tenant_id, instance_id, change, idempotency_key="idc-1")
    assert refused.value.current_status == "FAILED"
    assert refused.value.http_status == 422
    with pytest.raises(bbws.ForbiddenError):
        inst.request_identity_configuration(viewer_of(tenant_id), tenant_id, instance_id, change)
    # Nothing was accepted: the instance still names its provisioning.
    instance = inst.get(ADMIN, tenant_id, instance_id)
    assert instance["status"] == "FAILED"
    assert inst.operation(ADMIN, instance["currentOperationId"])["type"] == "PROVISION"
    assert "configureIdentity" not in instance["_links"]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, ["body"]),
        ({"passwordPolicy": {}}, ["passwordPolicy"]),
        ({"passwordPolicy": {"minimumLength": 7}}, ["passwordPolicy.minimumLength"]),
        ({"mfaConfiguration": "ON"}, ["mfaConfiguration"]),
        (
            {"passwordPolicy": {"minimumLength": 100}, "mfaConfiguration": "SMS"},
            ["passwordPolicy.minimumLength", "mfaConfiguration"],
        ),
    ],
)
def test_identity_changes_are_validated_as_the_api_does(
    inst: bbws.InstanceService, failed: tuple[str, str], body: dict[str, Any], fields: list[str]
) -> None:
    tenant_id, instance_id = failed
    with pytest.raises(bbws.ValidationError) as err:
        inst.request_identity_configuration(ADMIN, tenant_id, instance_id, body)
    assert fields_of(err.value) == fields


def test_unknown_fields_are_refused(inst: bbws.InstanceService, failed: tuple[str, str]) -> None:
    tenant_id, instance_id = failed
    with pytest.raises(bbws.ValidationError):
        inst.request_identity_configuration(ADMIN, tenant_id, instance_id, {"mfaConfiguration": "OFF", "secret": "x"})
