"""TenantService and InstanceService on DynamoDB (a local moto server from the project's
virtualenv): the same use cases, and tenants and instances shared with the `bbws` CLI on the same
table."""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bbws
from conftest import ADMIN, REPO, new_body, viewer_of

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """A moto server on a free loopback port (scripts/moto-server: requests handled one at a time;
    with --exit-with-stdin it exits when its stdin closes, so it never outlives this process)."""
    try:
        import moto as _  # noqa: F401
    except ImportError:
        pytest.fail("moto is not installed in the virtualenv: run scripts/python-env")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "moto-server"), "--exit-with-stdin", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:  # readiness of an external process: its port accepts connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(f"moto exited with {proc.returncode} before listening")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail("moto did not listen within 30 s")
            time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(timeout=10)


def bbws_cli() -> Path:
    path = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "bbws"
    if not path.exists():
        pytest.fail(f"{path} not found: build it with `cargo build -p bbws-cli`")
    return path


@pytest.fixture
def table(moto: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh tenants table, and the event bus its events go to."""
    for k, v in CREDENTIALS.items():
        monkeypatch.setenv(k, v)
    for k in ("DYNAMODB_TABLE", "EVENT_BUS_NAME", "ENVIRONMENT", "BBWS_BACKEND", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(k, raising=False)
    name = f"bbws-tenants-{uuid.uuid4().hex[:12]}"
    cli(moto, "table", "create", "--service", "tenants", "--table", name)
    import boto3

    events = boto3.client("events", endpoint_url=moto, **_boto_credentials())
    if "bbws-events-dev" not in {b["Name"] for b in events.list_event_buses()["EventBuses"]}:
        events.create_event_bus(Name="bbws-events-dev")
    return name


def _boto_credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": CREDENTIALS["AWS_REGION"],
    }


def cli(moto: str, *args: str) -> Any:
    env = os.environ | CREDENTIALS | {"AWS_ENDPOINT_URL": moto}
    done = subprocess.run([bbws_cli(), *args], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "-o" in args else done.stdout


def test_use_cases_on_dynamodb(moto: str, table: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bbws"), bbws.TenantService(
        backend="dynamodb", table=table, endpoint_url=moto
    ) as svc:
        assert repr(svc) == f"TenantService(backend='dynamodb', table={table!r})"
        t = svc.create(ADMIN, new_body(metadata={"tier": "gold"}))
        tid = t["tenantId"]
        assert svc.get(ADMIN, tid) == t
        svc.set_status(ADMIN, tid, "ACTIVE")
        parked = svc.park(ADMIN, tid, "Customer asked to pause the site")
        assert parked["status"] == "PARKED" and parked["version"] == 3
        updated = svc.update(ADMIN, tid, {"team": "Platform"}, if_match=3)
        assert updated["team"] == "Platform" and updated["version"] == 4
        with pytest.raises(bbws.VersionConflictError):
            svc.update(ADMIN, tid, {"team": "Stale"}, if_match=3)
        with pytest.raises(bbws.ConflictError):
            svc.create(ADMIN, new_body(organizationName=t["organizationName"].lower()))
        with pytest.raises(bbws.ForbiddenError):
            svc.unpark(viewer_of(tid), tid)
        with pytest.raises(bbws.TenantNotFoundError):
            svc.get(ADMIN, f"tenant-{uuid.uuid4()}")
        page = svc.list(ADMIN, status="PARKED")
        assert [x["tenantId"] for x in page["items"]] == [tid]
        assert [e["eventType"] for e in svc.audit(ADMIN, tid)["items"]] == [
            "TENANT_CREATED", "STATUS_CHANGED", "TENANT_PARKED", "TENANT_UPDATED",
        ]  # fmt: skip
    # Every write's events reached EventBridge (a failed publish would log a warning).
    assert "not yet published" not in caplog.text


def test_python_and_the_cli_share_the_table(moto: str, table: str) -> None:
    with bbws.TenantService(backend="dynamodb", table=table, endpoint_url=moto) as svc:
        from_python = svc.create(ADMIN, new_body())
        seen = cli(moto, "tenant", "get", from_python["tenantId"], "--table", table, "-o", "json")
        assert seen["tenantId"] == from_python["tenantId"]
        assert seen["organizationName"] == from_python["organizationName"]

        cli(moto, "tenant", "create", "--name", "Cli Made Co", "--email", "ops@cli.example",
            "--environment", "sit", "--table", table)  # fmt: skip
        [from_cli] = svc.list(ADMIN, organization_name="Cli Made Co")["items"]
        assert from_cli["environment"] == "sit"
        assert from_cli["createdBy"] == "operator@localhost.localdomain"
        svc.set_status(ADMIN, from_cli["tenantId"], "ACTIVE")
    again = cli(moto, "tenant", "get", from_cli["tenantId"], "--table", table, "-o", "json")
    assert again["status"] == "ACTIVE"


def test_table_and_endpoint_come_from_the_environment(
    moto: str, table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DYNAMODB_TABLE", table)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto)
    with bbws.TenantService(backend="dynamodb") as svc:
        t = svc.create(ADMIN, new_body())
    with bbws.TenantService(backend="dynamodb", table=table, endpoint_url=moto) as svc:
        assert svc.get(ADMIN, t["tenantId"])["tenantId"] == t["tenantId"]


# The instance-cloud variables: with none set, a DynamoDB backend only plans (as the local ones).
CLOUD_VARIABLES = (
    "VPC_ID", "PRIVATE_SUBNET_IDS", "ECS_TASK_SG_ID", "EFS_FILE_SYSTEM_ID", "ALB_LISTENER_ARN",
    "ECS_EXECUTION_ROLE_ARN", "ECS_TASK_ROLE_ARN", "WORDPRESS_IMAGE_REPO", "EFS_ADMIN_TASK_DEF",
)  # fmt: skip


def test_instances_on_dynamodb_are_shared_with_the_cli(moto: str, table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for k in CLOUD_VARIABLES:
        monkeypatch.delenv(k, raising=False)
    with bbws.InstanceService(backend="dynamodb", table=table, endpoint_url=moto) as inst:
        assert repr(inst) == f"InstanceService(backend='dynamodb', table={table!r})"
        assert inst.cloud.startswith("plan recorder")
        tid = inst.tenant_service().create(ADMIN, new_body())["tenantId"]
        names = {c["resource"] for c in inst.plan_provisioning(ADMIN, tid, {"resourceKey": "dyn1"})["calls"]}
        assert {"bbws-dyn1-tg", "bbws/dev/tenant-dyn1/db"} <= names
        a = inst.request_provisioning(ADMIN, tid, {"resourceKey": "dyn1"}, idempotency_key="dyn-1")
        again = inst.request_provisioning(ADMIN, tid, {"resourceKey": "dyn1"}, idempotency_key="dyn-1")
        assert again["operationId"] == a["operationId"]
        with pytest.raises(bbws.ConflictError):
            inst.request_provisioning(ADMIN, tid)
        with pytest.raises(bbws.CloudUnavailableError) as e:
            inst.run(a["operationId"])
        assert e.value.operation["status"] == "FAILED"

        seen = cli(moto, "instance", "get", tid, a["instanceId"], "--table", table, "-o", "json")
        assert seen["status"] == "FAILED" and seen["lastError"]["code"] == "CLOUD_UNAVAILABLE"
        op = cli(moto, "instance", "operation", a["operationId"], "--table", table, "-o", "json")
        assert op["status"] == "FAILED" and op["operationId"] == a["operationId"]

        d = inst.request_deprovisioning(ADMIN, tid, a["instanceId"], archive_data=False)
        assert d["status"] == "PENDING_DEPROVISIONING"
        [listed] = inst.list(ADMIN, tid)["instances"]
        assert listed["currentOperationId"] == d["operationId"]
