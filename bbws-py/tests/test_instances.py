"""bbws.InstanceService: a tenant's WordPress instances, accepted as operations, planned call by
call, and run here on the local backends' plan recorder, which refuses to create anything."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import bbws
from conftest import ADMIN, OPERATOR, OUTSIDER, new_body, viewer_of

UNKNOWN_TENANT = "tenant-11111111-1111-4111-8111-111111111111"
UNKNOWN_INSTANCE = "inst-22222222-2222-4222-8222-222222222222"
UNKNOWN_OPERATION = "op-33333333-3333-4333-8333-333333333333"


@pytest.fixture
def events_dir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def inst(events_dir: Path) -> bbws.InstanceService:
    """The instance service on a memory backend whose events go to events_dir/events.jsonl."""
    with bbws.InstanceService(data_dir=events_dir) as s:
        yield s


@pytest.fixture
def tenant_id(inst: bbws.InstanceService) -> str:
    """A tenant (environment dev) on the instance service's backend."""
    return inst.tenant_service().create(ADMIN, new_body())["tenantId"]


def published(events_dir: Path) -> list[dict[str, Any]]:
    path = events_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def fields_of(err: bbws.TenantManagementError) -> list[str]:
    return [f["field"] for f in err.details["fields"]]


def test_a_provisioning_is_accepted_as_a_pending_operation_and_announced(
    inst: bbws.InstanceService, tenant_id: str, events_dir: Path
) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"tier": "STANDARD", "resourceKey": "acme"})
    op_id, instance_id = a["operationId"], a["instanceId"]
    assert op_id.startswith("op-") and instance_id.startswith("inst-")
    assert a["tenantId"] == tenant_id
    assert a["status"] == "PENDING_PROVISIONING"
    assert a["message"] == "Instance provisioning accepted"
    assert a["_links"]["operation"] == {"href": f"/v1.0/operations/{op_id}"}
    assert a["_links"]["instance"]["href"] == f"/v1.0/tenants/{tenant_id}/instances/{instance_id}"
    assert a["operation"]["type"] == "PROVISION" and a["operation"]["status"] == "PENDING"
    assert a["operation"]["steps"][0] == {
        "name": "create-cognito-pool",
        "status": "PENDING",
        "startedAt": None,
        "completedAt": None,
        "attempts": 0,
        "resourceId": None,
        "error": None,
    }
    assert a["estimatedCompletionMinutes"] > 0

    # Nothing ran: accepting and running are separate.
    assert inst.operation(ADMIN, op_id)["status"] == "PENDING"
    got = inst.get(ADMIN, tenant_id, instance_id)
    assert got["status"] == "PENDING_PROVISIONING"
    assert got["resourceKey"] == "acme" and got["domain"] == "acme.wpdev.kimmyai.io"
    assert got["currentOperationId"] == op_id and got["createdBy"] == ADMIN["email"]
    assert got["_links"]["operation"]["href"] == f"/v1.0/operations/{op_id}"
    listed = inst.list(ADMIN, tenant_id)
    assert listed["count"] == 1 and [i["instanceId"] for i in listed["instances"]] == [instance_id]
    assert listed["_links"]["self"]["href"] == f"/v1.0/tenants/{tenant_id}/instances"
    assert inst.ledger(ADMIN, tenant_id, instance_id) == []

    # The write published its event for the worker.
    events = published(events_dir)
    assert [e["detail-type"] for e in events] == ["TENANT_CREATED", "INSTANCE_PROVISIONING_REQUESTED"]
    detail = events[-1]["detail"]
    assert (detail["operationId"], detail["instanceId"], detail["tenantId"]) == (op_id, instance_id, tenant_id)
    assert events[-1]["source"] == "bbws.instance-management"


def test_a_tenant_has_one_instance_at_a_time(inst: bbws.InstanceService, tenant_id: str) -> None:
    first = inst.request_provisioning(ADMIN, tenant_id)
    with pytest.raises(bbws.ConflictError) as e:
        inst.request_provisioning(ADMIN, tenant_id, {"tier": "PROFESSIONAL"})
    err = e.value
    assert isinstance(err, bbws.BusinessException) and err.http_status == 409
    assert err.details == {"instanceId": first["instanceId"], "currentStatus": "PENDING_PROVISIONING"}
    assert inst.list(ADMIN, tenant_id)["count"] == 1


def test_the_same_idempotency_key_replays_the_same_operation(inst: bbws.InstanceService, tenant_id: str) -> None:
    body = {"tier": "PROFESSIONAL", "desiredCount": 3}
    first = inst.request_provisioning(ADMIN, tenant_id, body, idempotency_key="provision-acme-1")
    again = inst.request_provisioning(ADMIN, tenant_id, dict(body), idempotency_key="provision-acme-1")
    assert again["operationId"] == first["operationId"]
    assert again["instanceId"] == first["instanceId"]
    assert inst.list(ADMIN, tenant_id)["count"] == 1
    with pytest.raises(bbws.IdempotencyKeyReusedError):
        inst.request_provisioning(ADMIN, tenant_id, {"tier": "ENTERPRISE"}, idempotency_key="provision-acme-1")
    # Without the key, a repeat is a second request, refused while the instance exists.
    with pytest.raises(bbws.ConflictError):
        inst.request_provisioning(ADMIN, tenant_id, body)


def test_the_plan_lists_the_exact_calls_and_names_and_stores_nothing(
    inst: bbws.InstanceService, tenant_id: str
) -> None:
    plan = inst.plan_provisioning(ADMIN, tenant_id, {"resourceKey": "acme", "opportunityId": "opp-42"})
    assert plan["dryRun"] is True
    assert plan["source"].startswith("plan recorder")
    calls = [(c["service"], c["action"], c["resource"]) for c in plan["calls"]]
    assert calls[0] == ("cognito-idp", "CreateUserPool", "bbws-tenant-acme-user-pool")
    for expected in [
        ("secretsmanager", "CreateSecret", "bbws/dev/tenant-acme/cognito"),
        ("elasticloadbalancing", "CreateTargetGroup", "bbws-acme-tg"),
        ("elasticfilesystem", "CreateAccessPoint", "tenant-acme-wp-content"),
        ("secretsmanager", "CreateSecret", "bbws/dev/tenant-acme/db"),
        ("ecs", "RegisterTaskDefinition", "tenant-acme-wordpress"),
        ("ecs", "CreateService", "tenant-acme-wordpress"),
        ("application-autoscaling", "PutScalingPolicy", "acme-cpu-scaling"),
    ]:
        assert expected in calls, expected
    # The database secret is created before the database that uses it, the service last but the waits.
    assert calls.index(("secretsmanager", "CreateSecret", "bbws/dev/tenant-acme/db")) < next(
        i for i, c in enumerate(calls) if c[0] == "mysql"
    )
    tg = next(c for c in plan["calls"] if c["action"] == "CreateTargetGroup")
    assert tg["tags"]["bbws:tenant-id"] == tenant_id
    assert tg["tags"]["bbws:opportunity"] == "opp-42"
    assert tg["params"]["VpcId"] == "dev-vpc"
    service = next(c for c in plan["calls"] if c["action"] == "CreateService")
    assert service["params"]["desiredCount"] == 2
    assert "  9. elasticloadbalancing:CreateTargetGroup bbws-acme-tg" in plan["rendered"]
    # A plan is not a request: no instance exists afterwards.
    assert inst.list(ADMIN, tenant_id)["count"] == 0


def test_without_a_resource_key_names_come_from_the_tenant_id(inst: bbws.InstanceService, tenant_id: str) -> None:
    key = tenant_id.removeprefix("tenant-").replace("-", "")[:12]
    resources = {c["resource"] for c in inst.plan_provisioning(ADMIN, tenant_id)["calls"]}
    assert {f"bbws-{key}-tg", f"bbws/dev/tenant-{key}/db", f"tenant-{key}-wordpress"} <= resources


def test_running_on_the_plan_recorder_fails_the_operation_with_cloud_unavailable(
    inst: bbws.InstanceService, tenant_id: str
) -> None:
    assert inst.cloud.startswith("plan recorder")
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    with pytest.raises(bbws.CloudUnavailableError) as e:
        inst.run(a["operationId"])
    err = e.value
    assert isinstance(err, bbws.UnexpectedException) and not isinstance(err, bbws.BusinessException)
    assert err.code == "CLOUD_UNAVAILABLE" and err.http_status == 503
    assert "creates nothing" in err.message
    assert err.details["operationId"] == a["operationId"]
    assert err.operation["status"] == "FAILED"
    assert err.operation["error"]["code"] == "CLOUD_UNAVAILABLE"

    op = inst.operation(ADMIN, a["operationId"])
    assert op["status"] == "FAILED" and op["completedAt"] is not None
    assert op["error"]["message"] == err.message
    instance = inst.get(ADMIN, tenant_id, a["instanceId"])
    assert instance["status"] == "FAILED"
    assert instance["lastError"]["code"] == "CLOUD_UNAVAILABLE"
    assert {"retry", "deprovision"} <= set(instance["_links"])
    assert inst.ledger(ADMIN, tenant_id, a["instanceId"]) == []

    # Running the finished operation again changes nothing (the engine may answer it as it
    # ended, or refuse again).
    try:
        again = inst.run(a["operationId"])
    except bbws.CloudUnavailableError as refused:
        again = refused.operation
    assert (again["status"], again["version"]) == ("FAILED", op["version"])
    assert inst.operation(ADMIN, a["operationId"])["version"] == op["version"]


def test_status_and_health_say_what_is_true_for_the_state(inst: bbws.InstanceService, tenant_id: str) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])
    status = inst.status(viewer_of(tenant_id), tenant_id, a["instanceId"])
    assert status["provisioningState"] == "FAILED"
    assert status["serviceStatus"] == "NOT_PROVISIONED"
    assert status["runningCount"] is None and status["tasks"] == []
    assert status["_links"]["instance"]["href"] == f"/v1.0/tenants/{tenant_id}/instances/{a['instanceId']}"
    health = inst.health(ADMIN, tenant_id, a["instanceId"])
    assert health["healthStatus"] == "UNHEALTHY"
    assert set(health["components"]) == {"ecs", "targetGroup", "efsAccessPoint", "database", "cognitoUserPool"}
    assert {c["status"] for c in health["components"].values()} == {"NOT_APPLICABLE"}
    with pytest.raises(bbws.InstanceNotFoundError):
        inst.health(ADMIN, tenant_id, UNKNOWN_INSTANCE)
    with pytest.raises(bbws.TenantNotFoundError):
        inst.status(OUTSIDER, tenant_id, a["instanceId"])


def test_deprovisioning_and_retry_as_far_as_the_plan_recorder_goes(
    inst: bbws.InstanceService, tenant_id: str, events_dir: Path
) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    iid = a["instanceId"]
    # A provisioning still pending cannot be deprovisioned.
    with pytest.raises(bbws.InvalidStatusTransitionError) as refused:
        inst.request_deprovisioning(ADMIN, tenant_id, iid)
    assert refused.value.current_status == "PENDING_PROVISIONING"
    assert "PENDING_DEPROVISIONING" not in refused.value.allowed_transitions
    assert refused.value.http_status == 422

    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])

    # FAILED: deprovisioning is planned from the (empty) ledger and accepted.
    plan = inst.plan_deprovisioning(ADMIN, tenant_id, iid, archive_data=False)
    assert plan["dryRun"] is True and plan["calls"] == []
    with pytest.raises(bbws.ValidationError) as too_long:
        inst.request_deprovisioning(ADMIN, tenant_id, iid, reason="x" * 501)
    assert fields_of(too_long.value) == ["reason"]
    d = inst.request_deprovisioning(
        ADMIN, tenant_id, iid, archive_data=False, reason="The customer closed the shop", idempotency_key="dep-1"
    )
    assert d["status"] == "PENDING_DEPROVISIONING"
    assert d["message"] == "Instance deprovisioning accepted"
    assert d["operation"]["type"] == "DEPROVISION" and d["operationId"] != a["operationId"]
    replay = inst.request_deprovisioning(
        ADMIN, tenant_id, iid, archive_data=False, reason="The customer closed the shop", idempotency_key="dep-1"
    )
    assert replay["operationId"] == d["operationId"]
    with pytest.raises(bbws.IdempotencyKeyReusedError):
        inst.request_deprovisioning(ADMIN, tenant_id, iid, archive_data=True, idempotency_key="dep-1")
    event = published(events_dir)[-1]
    assert event["detail-type"] == "INSTANCE_DEPROVISIONING_REQUESTED"
    assert event["detail"]["archiveData"] is False
    assert event["detail"]["reason"] == "The customer closed the shop"

    # The plan recorder deletes nothing either: the deprovisioning ends FAILED too.
    with pytest.raises(bbws.CloudUnavailableError) as e:
        inst.run(d["operationId"])
    assert e.value.operation["type"] == "DEPROVISION" and e.value.operation["status"] == "FAILED"
    assert inst.get(ADMIN, tenant_id, iid)["status"] == "FAILED"

    # A failed instance can be retried: a new provisioning operation on the same instance.
    r = inst.retry_provisioning(ADMIN, tenant_id, iid)
    assert r["status"] == "PENDING_PROVISIONING" and r["instanceId"] == iid
    assert r["operationId"] not in (a["operationId"], d["operationId"])
    assert inst.get(ADMIN, tenant_id, iid)["currentOperationId"] == r["operationId"]
    with pytest.raises(bbws.InvalidStatusTransitionError):
        inst.retry_provisioning(ADMIN, tenant_id, iid)

    audit = [e["eventType"] for e in inst.tenant_service().audit(ADMIN, tenant_id, limit=100)["items"]]
    assert audit == [
        "TENANT_CREATED",
        "INSTANCE_PROVISIONING_REQUESTED",
        "INSTANCE_DEPROVISIONING_REQUESTED",
        "INSTANCE_PROVISIONING_RETRIED",
    ]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda s, t: s.get(ADMIN, "tenant-nope", UNKNOWN_INSTANCE), "tenantId"),
        (lambda s, t: s.get(ADMIN, t, "inst-123"), "instanceId"),
        (lambda s, t: s.list(ADMIN, "acme"), "tenantId"),
        (lambda s, t: s.ledger(ADMIN, t, "tenant-11111111-1111-4111-8111-111111111111"), "instanceId"),
        (lambda s, t: s.operation(ADMIN, "op-1"), "operationId"),
        (lambda s, t: s.run("not-an-operation"), "operationId"),
        (lambda s, t: s.request_provisioning(ADMIN, "", None), "tenantId"),
        (lambda s, t: s.request_deprovisioning(ADMIN, t, "inst-../../etc"), "instanceId"),
        (lambda s, t: s.retry_provisioning(ADMIN, t, UNKNOWN_OPERATION), "instanceId"),
        (lambda s, t: s.plan_deprovisioning(ADMIN, t, "x"), "instanceId"),
        (lambda s, t: s.request_provisioning(ADMIN, t, None, idempotency_key=""), "Idempotency-Key"),
    ],
)
def test_bad_ids_are_validation_errors(inst: bbws.InstanceService, tenant_id: str, call: Any, field: str) -> None:
    with pytest.raises(bbws.ValidationError) as e:
        call(inst, tenant_id)
    assert e.value.http_status == 400
    assert fields_of(e.value) == [field]


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"tier": "GOLD"}, ["tier"]),
        ({"colour": "red"}, ["colour"]),
        ({"desiredCount": 11}, ["desiredCount"]),
        ({"cpu": 256}, ["cpu"]),
        ({"cpu": 256, "memory": 8192}, ["memory"]),
        ({"resourceKey": "Acme Corp"}, ["resourceKey"]),
        ({"desiredCount": 3, "configuration": {"desiredCount": 4}}, ["desiredCount"]),
        (["not", "an", "object"], ["body"]),
    ],
)
def test_bodies_are_validated_as_the_api_does(
    inst: bbws.InstanceService, tenant_id: str, body: Any, fields: list[str]
) -> None:
    for call in (inst.request_provisioning, inst.plan_provisioning):
        with pytest.raises(bbws.ValidationError) as e:
            call(ADMIN, tenant_id, body)
        assert [f.split(".")[0] for f in fields_of(e.value)] == fields, e.value.details
    assert inst.list(ADMIN, tenant_id)["count"] == 0


def test_unknown_ids_are_not_found(inst: bbws.InstanceService, tenant_id: str) -> None:
    with pytest.raises(bbws.InstanceNotFoundError) as e:
        inst.get(ADMIN, tenant_id, UNKNOWN_INSTANCE)
    assert e.value.details == {"tenantId": tenant_id, "instanceId": UNKNOWN_INSTANCE}
    with pytest.raises(bbws.OperationNotFoundError):
        inst.operation(ADMIN, UNKNOWN_OPERATION)
    with pytest.raises(bbws.OperationNotFoundError) as run:
        inst.run(UNKNOWN_OPERATION)
    assert run.value.details == {"operationId": UNKNOWN_OPERATION}
    with pytest.raises(bbws.TenantNotFoundError):
        inst.request_provisioning(ADMIN, UNKNOWN_TENANT)
    with pytest.raises(bbws.TenantNotFoundError):
        inst.plan_provisioning(ADMIN, UNKNOWN_TENANT)


def test_a_caller_outside_the_tenant_sees_nothing_of_it(inst: bbws.InstanceService, tenant_id: str) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    iid, op = a["instanceId"], a["operationId"]
    for call in (
        lambda: inst.get(OUTSIDER, tenant_id, iid),
        lambda: inst.list(OUTSIDER, tenant_id),
        lambda: inst.ledger(OUTSIDER, tenant_id, iid),
        lambda: inst.plan_provisioning(OUTSIDER, tenant_id),
        lambda: inst.request_deprovisioning(OUTSIDER, tenant_id, iid),
        lambda: inst.retry_provisioning(OUTSIDER, tenant_id, iid),
    ):
        with pytest.raises(bbws.TenantNotFoundError):
            call()
    with pytest.raises(bbws.OperationNotFoundError):
        inst.operation(OUTSIDER, op)
    assert inst.get(ADMIN, tenant_id, iid)["status"] == "PENDING_PROVISIONING"


def test_roles_decide_who_may_provision_and_deprovision(inst: bbws.InstanceService, tenant_id: str) -> None:
    viewer = viewer_of(tenant_id)
    with pytest.raises(bbws.ForbiddenError):
        inst.request_provisioning(viewer, tenant_id)
    with pytest.raises(bbws.ForbiddenError):
        inst.plan_provisioning(viewer, tenant_id)
    # An Operator of the tenant provisions (and sees the operation); deprovisioning needs an Admin.
    operator = OPERATOR | {"custom:tenantIds": tenant_id}
    a = inst.request_provisioning(operator, tenant_id, {"resourceKey": "acme"})
    assert a["operation"]["requestedBy"] == OPERATOR["email"]
    assert inst.get(viewer, tenant_id, a["instanceId"])["instanceId"] == a["instanceId"]
    assert inst.operation(viewer, a["operationId"])["operationId"] == a["operationId"]
    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])
    with pytest.raises(bbws.ForbiddenError):
        inst.request_deprovisioning(operator, tenant_id, a["instanceId"])
    assert inst.request_deprovisioning(ADMIN, tenant_id, a["instanceId"])["status"] == "PENDING_DEPROVISIONING"


def test_lifecycle_changes_check_the_state_the_reason_and_the_bounds(
    inst: bbws.InstanceService, tenant_id: str
) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])
    # The refused provisioning left the instance FAILED: nothing to suspend or resume.
    with pytest.raises(bbws.InvalidStatusTransitionError) as err:
        inst.request_lifecycle(ADMIN, tenant_id, a["instanceId"], "suspend", reason="customer asked for a pause")
    assert err.value.details["currentStatus"] == "FAILED"
    with pytest.raises(bbws.InvalidStatusTransitionError):
        inst.request_lifecycle(ADMIN, tenant_id, a["instanceId"], "restart")
    with pytest.raises(bbws.ValidationError) as err:
        inst.request_lifecycle(ADMIN, tenant_id, a["instanceId"], "park", reason="short")
    assert fields_of(err.value) == ["reason"]
    with pytest.raises(bbws.ValidationError) as err:
        inst.request_lifecycle(ADMIN, tenant_id, a["instanceId"], "explode")
    assert fields_of(err.value) == ["action"]
    with pytest.raises(bbws.ScaleLimitExceededError):
        inst.request_lifecycle(ADMIN, tenant_id, a["instanceId"], "scale", desired_count=50)
    with pytest.raises(bbws.ForbiddenError):
        inst.request_lifecycle(viewer_of(tenant_id), tenant_id, a["instanceId"], "resume")
    assert inst.get(ADMIN, tenant_id, a["instanceId"])["status"] == "FAILED"


def test_an_update_checks_the_values_the_version_and_the_state_before_accepting(
    inst: bbws.InstanceService, tenant_id: str
) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    iid = a["instanceId"]
    assert inst.get(ADMIN, tenant_id, iid)["containerImage"] == "dev-wordpress:latest"
    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])
    # Every bad value is named; nothing at all is a bad body.
    with pytest.raises(bbws.ValidationError) as err:
        inst.update(ADMIN, tenant_id, iid, container_image="Not An Image", wordpress_version="six", tier="HUGE")
    assert fields_of(err.value) == ["containerImage", "wordpressVersion", "tier"]
    with pytest.raises(bbws.ValidationError) as err:
        inst.update(ADMIN, tenant_id, iid)
    assert fields_of(err.value) == ["body"]
    # The version the change is based on must be the current one.
    current = inst.get(ADMIN, tenant_id, iid)["version"]
    with pytest.raises(bbws.VersionConflictError):
        inst.update(ADMIN, tenant_id, iid, wordpress_version="6.4", if_match=current - 1)
    # The refused provisioning left the instance FAILED: only an ACTIVE one is updated.
    with pytest.raises(bbws.InvalidStatusTransitionError) as err:
        inst.update(ADMIN, tenant_id, iid, wordpress_version="6.4", if_match=current)
    assert err.value.details["currentStatus"] == "FAILED"
    with pytest.raises(bbws.ForbiddenError):
        inst.update(viewer_of(tenant_id), tenant_id, iid, tier="ENTERPRISE")
    with pytest.raises(bbws.TenantNotFoundError):
        inst.update(OUTSIDER, tenant_id, iid, tier="ENTERPRISE")
    after = inst.get(ADMIN, tenant_id, iid)
    assert after["version"] == current and after["status"] == "FAILED"
    assert inst.operation(ADMIN, after["currentOperationId"])["type"] == "PROVISION"


def test_backups_check_the_state_the_backup_and_the_caller(inst: bbws.InstanceService, tenant_id: str) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"resourceKey": "acme"})
    with pytest.raises(bbws.CloudUnavailableError):
        inst.run(a["operationId"])
    iid = a["instanceId"]
    # A FAILED instance has nothing to back up or restore into.
    with pytest.raises(bbws.InvalidStatusTransitionError) as err:
        inst.request_backup(ADMIN, tenant_id, iid, description="before the upgrade")
    assert err.value.details["currentStatus"] == "FAILED"
    with pytest.raises(bbws.ValidationError) as err:
        inst.request_backup(ADMIN, tenant_id, iid, description="x" * 501)
    assert fields_of(err.value) == ["description"]
    with pytest.raises(bbws.BackupNotFoundError) as missing:
        inst.request_restore(ADMIN, tenant_id, iid, "backup-123e4567-e89b-12d3-a456-426614174000")
    assert missing.value.code == "BACKUP_NOT_FOUND" and missing.value.http_status == 404
    with pytest.raises(bbws.ValidationError) as err:
        inst.request_restore(ADMIN, tenant_id, iid, "nightly")
    assert fields_of(err.value) == ["backupId"]
    with pytest.raises(bbws.ForbiddenError):
        inst.request_backup(viewer_of(tenant_id), tenant_id, iid)
    assert inst.backups(viewer_of(tenant_id), tenant_id, iid) == []
    with pytest.raises(bbws.InstanceNotFoundError):
        inst.backups(ADMIN, tenant_id, UNKNOWN_INSTANCE)


def test_the_terraform_of_an_instance_names_what_the_engine_names(inst: bbws.InstanceService, tenant_id: str) -> None:
    a = inst.request_provisioning(ADMIN, tenant_id, {"tier": "PROFESSIONAL", "resourceKey": "acme"})
    files = inst.terraform(ADMIN, tenant_id, a["instanceId"])
    assert sorted(files) == [
        ".github/workflows/deploy-tenant-acme.yml",
        "tenants/acme/backend.tf",
        "tenants/acme/dev.tfvars",
        "tenants/acme/main.tf",
        "tenants/acme/outputs.tf",
        "tenants/acme/providers.tf",
        "tenants/acme/variables.tf",
    ]
    tfvars = files["tenants/acme/dev.tfvars"]
    assert 'tenant_name                      = "acme"' in tfvars
    assert "task_cpu                         = 1024" in tfvars
    # main.tf derives the names with the engine's patterns.
    assert 'target_group_name   = "bbws-${var.tenant_name}-tg"' in files["tenants/acme/main.tf"]
    with pytest.raises(bbws.ForbiddenError):
        inst.terraform(viewer_of(tenant_id), tenant_id, a["instanceId"])
    with pytest.raises(bbws.InstanceNotFoundError):
        inst.terraform(ADMIN, tenant_id, UNKNOWN_INSTANCE)


def test_instances_persist_on_the_embedded_store(tmp_path: Path) -> None:
    with bbws.InstanceService(backend="embedded", data_dir=tmp_path) as inst:
        tid = inst.tenant_service().create(ADMIN, new_body())["tenantId"]
        a = inst.request_provisioning(ADMIN, tid, {"resourceKey": "acme"})
        with pytest.raises(bbws.CloudUnavailableError):
            inst.run(a["operationId"])
    assert "closed" in repr(inst)
    with pytest.raises(ValueError):
        inst.list(ADMIN, tid)
    with bbws.InstanceService(backend="embedded", data_dir=tmp_path) as again:
        assert again.get(ADMIN, tid, a["instanceId"])["status"] == "FAILED"
        assert again.operation(ADMIN, a["operationId"])["error"]["code"] == "CLOUD_UNAVAILABLE"
        # The resource key stays claimed by the tenant's instance.
        other = again.tenant_service().create(ADMIN, new_body())["tenantId"]
        with pytest.raises(bbws.ConflictError):
            again.request_provisioning(ADMIN, other, {"resourceKey": "acme"})


def test_every_instance_error_code_has_its_exception_class() -> None:
    codes = bbws.error_codes()
    instance_codes = {
        "INSTANCE_NOT_FOUND": ("InstanceNotFoundError", bbws.BusinessException),
        "OPERATION_NOT_FOUND": ("OperationNotFoundError", bbws.BusinessException),
        "SCALE_LIMIT_EXCEEDED": ("ScaleLimitExceededError", bbws.BusinessException),
        "CLOUD_UNAVAILABLE": ("CloudUnavailableError", bbws.UnexpectedException),
        "ARCHIVE_FAILED": ("ArchiveFailedError", bbws.UnexpectedException),
        "BACKUP_NOT_FOUND": ("BackupNotFoundError", bbws.BusinessException),
        "BACKUP_NOT_RESTORABLE": ("BackupNotRestorableError", bbws.BusinessException),
        "PROV-001": ("EfsProvisioningError", bbws.UnexpectedException),
        "PROV-002": ("DatabaseProvisioningError", bbws.UnexpectedException),
        "PROV-003": ("EcsProvisioningError", bbws.UnexpectedException),
        "PROV-004": ("AlbProvisioningError", bbws.UnexpectedException),
        "PROV-005": ("CognitoProvisioningError", bbws.UnexpectedException),
        "PROV-006": ("RollbackFailedError", bbws.UnexpectedException),
    }
    for code, (name, parent) in instance_codes.items():
        assert codes[code]["exception"] == name, code
        cls = getattr(bbws, name)
        assert issubclass(cls, parent) and cls.code == code, code
