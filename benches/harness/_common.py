"""What warm_python.py and ddb_requests.py share: the virtualenv, the events, the AWS environment,
seeding and sweeping the table, and statistics.

Everything here runs in the project virtualenv (``$BBWS_VENV``, default ``<repo>/.venv``), which
``benches/python-env`` prepares: moto, boto3, the baseline's pinned requirements and the ``bbws``
wheel.
"""

from __future__ import annotations

import json
import math
import os
import platform
import struct
import sys
import uuid
import warnings
from pathlib import Path
from typing import Any, Iterable, Optional

HARNESS = Path(__file__).resolve().parent
BENCHES = HARNESS.parent
REPO = BENCHES.parent
BASELINE = BENCHES / "python_baseline"
EVENTS = HARNESS / "events"

DEFAULT_EVENT_BUS = "bbws-events-dev"
BASE_TENANTS = 25
PARK_REASON = "Customer requested temporary suspension for cost reduction"


def venv_dir() -> Path:
    return Path(os.environ.get("BBWS_VENV") or REPO / ".venv").resolve()


def ensure_venv() -> None:
    """Re-executes this script with the virtualenv's interpreter unless it already runs there."""
    venv = venv_dir()
    python = venv / "bin" / "python"
    if Path(sys.prefix).resolve() == venv:
        return
    if not python.exists():
        sys.exit(f"{sys.argv[0]}: no virtualenv at {venv}; run benches/python-env first")
    os.execv(str(python), [str(python), sys.argv[0], *sys.argv[1:]])


def log(prog: str, msg: str) -> None:
    print(f"{prog}: {msg}", file=sys.stderr, flush=True)


# --- AWS environment -------------------------------------------------------------------------


def aws_env(endpoint: str, table: str, event_bus: str) -> dict[str, str]:
    """The variables both handlers read: one endpoint, one region, one table, one bus.

    boto3 reads ``AWS_DEFAULT_REGION``, the Rust SDK ``AWS_REGION`` (and falls back to another
    region than boto3 would): both are set to the same value, or moto would hold two tables.
    """
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID") or "testing",
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or "testing",
        "DYNAMODB_TABLE": table,
        "EVENT_BUS_NAME": event_bus,
        "ENVIRONMENT": "dev",
        "BBWS_BACKEND": "dynamodb",
        "LOG_LEVEL": "INFO",
        "POWERTOOLS_SERVICE_NAME": "tenant-management",
        # No X-Ray daemon here, and bbws does not trace to X-Ray either (outside Lambda Powertools
        # disables tracing by itself; this only makes it explicit).
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def apply_env(env: dict[str, str]) -> None:
    os.environ.update(env)
    # A shared AWS profile or config must not redirect either SDK.
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(k, None)


def ensure_event_bus(name: str) -> None:
    """Both handlers publish to this bus; moto refuses PutEvents to a bus that does not exist
    (bbws would then keep every event in its outbox and retry on every request)."""
    import boto3

    events = boto3.client("events")
    names = {b["Name"] for b in events.list_event_buses().get("EventBuses", [])}
    if name not in names:
        events.create_event_bus(Name=name)


# --- events ----------------------------------------------------------------------------------

_TEMPLATES: dict[str, str] = {}


def event(name: str, **subs: str) -> dict[str, Any]:
    """An API Gateway REST (payload 1.0) event from ``events/{name}.json`` with ``__KEY__``
    placeholders replaced (``tenant_id`` -> ``__TENANT_ID__``, ``org_name`` -> ``__ORG_NAME__``)."""
    text = _TEMPLATES.get(name)
    if text is None:
        text = _TEMPLATES[name] = (EVENTS / f"{name}.json").read_text(encoding="utf-8")
    for k, v in subs.items():
        text = text.replace(f"__{k.upper()}__", v)
    return json.loads(text)


def status_event(tenant_id: str, status: str) -> dict[str, Any]:
    """``PATCH /v1.0/tenants/{id}/status`` (bbws only: how the memory store gets ACTIVE tenants)."""
    ev = event("get", tenant_id=tenant_id)
    ev["httpMethod"] = ev["requestContext"]["httpMethod"] = "PATCH"
    ev["resource"] = ev["requestContext"]["resourcePath"] = "/v1.0/tenants/{tenantId}/status"
    ev["path"] = f"/v1.0/tenants/{tenant_id}/status"
    ev["requestContext"]["path"] = f"/prod/v1.0/tenants/{tenant_id}/status"
    ev["headers"]["Content-Type"] = "application/json"
    ev["multiValueHeaders"]["Content-Type"] = ["application/json"]
    ev["body"] = json.dumps({"status": status})
    return ev


class LambdaContext:
    """What the Lambda runtime passes as ``context`` (the attributes Powertools reads)."""

    function_name = "bbws-tenant-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bbws-tenant-bench"
    log_group_name = "/aws/lambda/bbws-tenant-bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 30_000


def import_handlers(pure_python: bool = True, pyo3: bool = True) -> dict[str, Any]:
    """The two entry points: ``app.handler`` (pure Python) and ``delegating.handler`` (PyO3)."""
    if str(BASELINE) not in sys.path:
        sys.path.insert(0, str(BASELINE))
    # Powertools warns on every flush without metrics (get, list): once is enough to know.
    warnings.filterwarnings("ignore", message="No application metrics to publish")
    out: dict[str, Any] = {}
    if pure_python:
        import app  # noqa: PLC0415

        out["python"] = app.handler
    if pyo3:
        import delegating  # noqa: PLC0415

        out["pyo3"] = delegating.handler
    return out


def body(response: dict[str, Any]) -> dict[str, Any]:
    return json.loads(response.get("body") or "{}")


def expect(response: dict[str, Any], status: int, what: str) -> dict[str, Any]:
    if response.get("statusCode") != status:
        raise SystemExit(
            f"{what}: expected {status}, got {response.get('statusCode')}: {str(response.get('body'))[:500]}"
        )
    return body(response)


# --- the table -------------------------------------------------------------------------------


class Table:
    """Seeds tenants in the layout bbws writes, and sweeps the table back to what it held."""

    def __init__(self, name: str) -> None:
        import boto3

        if str(BASELINE) not in sys.path:
            sys.path.insert(0, str(BASELINE))
        self.name = name
        self.client = boto3.client("dynamodb")
        self.resource_table = boto3.resource("dynamodb").Table(name)
        self.keep: set[tuple[str, str]] = set()

    def keys(self) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.name,
            "ProjectionExpression": "#pk, #sk",
            "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
        }
        while True:
            page = self.client.scan(**kwargs)
            out.extend((i["PK"]["S"], i["SK"]["S"]) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return out
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def remember(self) -> int:
        """Marks what the table holds now as the state to sweep back to."""
        self.keep = set(self.keys())
        return len(self.keep)

    def sweep(self) -> int:
        """Deletes every item written since ``remember``; returns how many."""
        extra = [k for k in self.keys() if k not in self.keep]
        self._delete(extra)
        return len(extra)

    def recreate(self) -> None:
        """Deletes the table and creates it again with the same definition (keys, indexes,
        billing, TTL), empty. Only for a table that was empty when the run started, on moto: moto
        keeps an entry for every partition key ever written, deleted items or not, and its Query
        and TransactWriteItems get slower with every one of them (a TransactWriteItems deep-copies
        the whole table per item), so a table that only had items deleted does not answer like a
        new one. Every created tenant is a new partition."""
        desc = self.client.describe_table(TableName=self.name)["Table"]
        ttl = self.client.describe_time_to_live(TableName=self.name).get("TimeToLiveDescription", {})
        spec: dict[str, Any] = {
            "TableName": self.name,
            "AttributeDefinitions": desc["AttributeDefinitions"],
            "KeySchema": desc["KeySchema"],
            "BillingMode": (desc.get("BillingModeSummary") or {}).get("BillingMode", "PAY_PER_REQUEST"),
        }
        if desc.get("GlobalSecondaryIndexes"):
            spec["GlobalSecondaryIndexes"] = [
                {"IndexName": i["IndexName"], "KeySchema": i["KeySchema"], "Projection": i["Projection"]}
                for i in desc["GlobalSecondaryIndexes"]
            ]
        if spec["BillingMode"] != "PAY_PER_REQUEST":
            t = desc["ProvisionedThroughput"]
            spec["ProvisionedThroughput"] = {k: t[k] for k in ("ReadCapacityUnits", "WriteCapacityUnits")}
            for i in spec.get("GlobalSecondaryIndexes", []):
                i["ProvisionedThroughput"] = spec["ProvisionedThroughput"]
        self.client.delete_table(TableName=self.name)
        self.client.get_waiter("table_not_exists").wait(TableName=self.name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
        self.client.create_table(**spec)
        self.client.get_waiter("table_exists").wait(TableName=self.name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and ttl.get("AttributeName"):
            self.client.update_time_to_live(
                TableName=self.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": ttl["AttributeName"]},
            )
        self.keep = set()

    def _delete(self, keys: Iterable[tuple[str, str]]) -> None:
        with self.resource_table.batch_writer() as batch:
            for pk, sk in keys:
                batch.delete_item(Key={"PK": pk, "SK": sk})

    def seed_active(self, count: int, label: str) -> list[str]:
        """``count`` ACTIVE tenants, written directly (BatchWriteItem) in the baseline's layout,
        which is the layout bbws writes; returns their ids."""
        from tenant_mgmt.dao import tenant_item  # noqa: PLC0415
        from tenant_mgmt.models import Tenant, utc_now  # noqa: PLC0415

        ids = []
        now = utc_now()
        with self.resource_table.batch_writer() as batch:
            for i in range(count):
                tid = f"tenant-{uuid.uuid4()}"
                t = Tenant(
                    tenant_id=tid,
                    organization_name=f"Seed {label} {uuid.uuid4().hex[:12]} {i}",
                    contact_email="ops@seed.example",
                    environment="dev",
                    status="ACTIVE",
                    created_at=now,
                    created_by="seed@bbws.io",
                    updated_at=now,
                    updated_by="seed@bbws.io",
                    version=2,
                )
                batch.put_item(Item=tenant_item(t))
                ids.append(tid)
        return ids

    def count_items(self) -> int:
        return len(self.keys())


# --- statistics ------------------------------------------------------------------------------


def percentile(sorted_values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return math.nan
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def summarize(samples_ns: list[int]) -> dict[str, Any]:
    us = sorted(s / 1000.0 for s in samples_ns)
    n = len(us)
    mean = sum(us) / n
    return {
        "p50_us": round(percentile(us, 0.50), 1),
        "p90_us": round(percentile(us, 0.90), 1),
        "p99_us": round(percentile(us, 0.99), 1),
        "mean_us": round(mean, 1),
        "min_us": round(us[0], 1),
        "max_us": round(us[-1], 1),
        "n": n,
    }


# --- what ran --------------------------------------------------------------------------------


def _elf_sections(path: Path) -> set[str]:
    """Section names of a 64-bit little-endian ELF file (enough to tell a stripped build)."""
    with open(path, "rb") as f:
        head = f.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2 or head[5] != 1:
            return set()
        shoff = struct.unpack_from("<Q", head, 0x28)[0]
        shentsize, shnum, shstrndx = struct.unpack_from("<HHH", head, 0x3A)
        f.seek(shoff)
        table = f.read(shentsize * shnum)
        str_off, str_size = struct.unpack_from("<QQ", table, shstrndx * shentsize + 0x18)
        f.seek(str_off)
        names = f.read(str_size)
    out = set()
    for i in range(shnum):
        name_off = struct.unpack_from("<I", table, i * shentsize)[0]
        out.add(names[name_off : names.index(b"\0", name_off)].decode(errors="replace"))
    return out


def bbws_build() -> dict[str, Any]:
    """Which ``bbws`` native module is installed, and whether it is an optimised build."""
    try:
        import bbws  # noqa: PLC0415
        from bbws import _bbws  # noqa: PLC0415
    except ImportError as e:
        return {"error": str(e)}
    so = Path(_bbws.__file__)
    sections = _elf_sections(so)
    debug = ".debug_info" in sections
    return {
        "version": getattr(bbws, "__version__", None),
        "module": str(so),
        "size_bytes": so.stat().st_size,
        # scripts/python-tests installs a debug wheel by default; `benches/python-env
        # --release-wheel` (or BBWS_WHEEL_PROFILE=release scripts/python-tests) an optimised one.
        "profile": "debug" if debug else "release",
    }


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = os.getloadavg()
    except OSError:
        load = (math.nan,) * 3
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def versions(*dists: str) -> dict[str, Optional[str]]:
    from importlib import metadata  # noqa: PLC0415

    out: dict[str, Optional[str]] = {}
    for d in dists:
        try:
            out[d] = metadata.version(d)
        except metadata.PackageNotFoundError:
            out[d] = None
    return out


def write_json(path: str, data: dict[str, Any]) -> None:
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_suffix(p.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    tmp.replace(p)
