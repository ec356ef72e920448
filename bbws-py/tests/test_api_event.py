"""bbws.handle_api_event: real API Gateway events (the fixtures of bbws-lambda) through the API's
router, from Python; and the same events answered identically by the Rust Lambda binary."""

from __future__ import annotations

import base64
import copy
import json
import os
import queue
import re
import subprocess
import sys
import textwrap
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

import bbws
from conftest import FIXTURES, REPO, new_body
from test_tenant_service import TENANT_KEYS


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def body_of(response: dict[str, Any]) -> Any:
    raw = response["body"]
    if response.get("isBase64Encoded"):
        raw = base64.b64decode(raw).decode()
    return json.loads(raw)


def rest_create(name: str) -> dict[str, Any]:
    event = fixture("rest-v1-create-tenant")
    event["body"] = json.dumps({"organizationName": name, "contactEmail": "ops@acme.example", "environment": "dev"})
    for h in ("headers", "multiValueHeaders"):
        event[h].pop("Idempotency-Key")
    return event


def http_get_as_viewer(tenant_id: str) -> dict[str, Any]:
    event = fixture("http-v2-get-tenant-viewer")
    text = json.dumps(event).replace(event["pathParameters"]["tenantId"], tenant_id)
    return json.loads(text)


def test_rest_api_create_then_http_api_get() -> None:
    created = bbws.handle_api_event(rest_create(new_body()["organizationName"]), None)
    assert created["statusCode"] == 201
    tenant = body_of(created)
    assert set(tenant) == TENANT_KEYS
    assert tenant["createdBy"] == "alice@bbws.io"
    headers = {k.lower(): v for k, v in created["multiValueHeaders"].items()}
    assert headers["location"] == [f"/v1.0/tenants/{tenant['tenantId']}"]
    assert headers["etag"] == ['"1"']
    assert headers["x-request-id"] == ["c6af9ac6-7b61-11e6-9a41-93e8deadbeef"]

    # Roles in a tenant come from the stored assignments (C23): a token that only claims the
    # Viewer group of the tenant has no role there, and the tenant does not exist for it. The
    # HTTP API (payload 2.0) response carries the error envelope and the gateway's request id.
    got = bbws.handle_api_event(http_get_as_viewer(tenant["tenantId"]))
    assert got["statusCode"] == 404
    assert got["headers"]["x-request-id"] == "Jx3kQhNyoAMEbXw="
    assert body_of(got)["error"]["code"] == "TENANT_NOT_FOUND"


def test_responses_match_tenant_service_shapes(svc: bbws.TenantService) -> None:
    from conftest import ADMIN

    via_api = body_of(bbws.handle_api_event(rest_create(new_body()["organizationName"])))
    direct = svc.create(ADMIN, new_body())
    assert set(via_api) == set(direct)
    assert via_api["_links"].keys() == direct["_links"].keys()


def rest_event(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The REST API fixture (a platform admin's claims) with another method, path and body."""
    event = fixture("rest-v1-create-tenant")
    for h in ("headers", "multiValueHeaders"):
        event[h].pop("Idempotency-Key")
    event["httpMethod"] = event["requestContext"]["httpMethod"] = method
    event["path"] = event["resource"] = event["requestContext"]["resourcePath"] = path
    event["requestContext"]["path"] = f"/prod{path}"
    event["body"] = json.dumps(body) if body is not None else None
    return event


def test_lifecycle_responses_match_tenant_service(svc: bbws.TenantService) -> None:
    from conftest import ADMIN

    tid = body_of(bbws.handle_api_event(rest_create(new_body()["organizationName"])))["tenantId"]
    direct_id = svc.create(ADMIN, new_body())["tenantId"]
    base = f"/v1.0/tenants/{tid}"
    reason = "Customer asked to pause the site"
    steps = [
        (("PATCH", f"{base}/status", {"status": "ACTIVE"}), lambda: svc.set_status(ADMIN, direct_id, "ACTIVE")),
        (("POST", f"{base}/lifecycle/park", {"reason": reason}), lambda: svc.park(ADMIN, direct_id, reason)),
        (("POST", f"{base}/lifecycle/unpark", None), lambda: svc.unpark(ADMIN, direct_id)),
        (("POST", f"{base}/lifecycle/suspend", {"reason": reason}), lambda: svc.suspend(ADMIN, direct_id, reason)),
        (("POST", f"{base}/lifecycle/resume", None), lambda: svc.resume(ADMIN, direct_id)),
        (("PUT", base, {"team": "Platform"}), lambda: svc.update(ADMIN, direct_id, {"team": "Platform"})),
        (("DELETE", base, None), lambda: svc.deprovision(ADMIN, direct_id)),
    ]
    for (method, path, body), call in steps:
        response = bbws.handle_api_event(rest_event(method, path, body))
        assert response["statusCode"] == 200, body_of(response)
        via_api, direct = body_of(response), call()
        assert set(via_api) == set(direct), path
        for key in ("status", "version", "message", "warning", "parkReason", "suspendReason", "team"):
            assert via_api.get(key) == direct.get(key), (method, path, key)
        assert via_api["_links"].keys() == direct["_links"].keys()


def test_refusals_are_api_gateway_responses_with_the_envelope() -> None:
    denied = bbws.handle_api_event(fixture("http-v2-no-authorizer"))
    assert denied["statusCode"] == 401
    assert body_of(denied)["error"]["code"] == "UNAUTHORIZED"

    outsider = bbws.handle_api_event(http_get_as_viewer(f"tenant-{uuid.uuid4()}"))
    assert outsider["statusCode"] == 404
    assert body_of(outsider)["error"]["code"] == "TENANT_NOT_FOUND"

    junk = bbws.handle_api_event({"hello": "world"})
    assert junk["statusCode"] == 400
    assert body_of(junk)["error"]["code"] == "VALIDATION_ERROR"


def test_events_must_be_json() -> None:
    with pytest.raises(bbws.ValidationError):
        bbws.handle_api_event({"body": object()})


# ------------------------------------------------------------------ parity with the Rust Lambda

# The events, in order: a public route, a create through each API flavour, reads, refusals.
def parity_events() -> list[dict[str, Any]]:
    health = fixture("http-v2-no-authorizer")
    health["rawPath"] = health["requestContext"]["http"]["path"] = "/v1.0/health"
    health["routeKey"] = health["requestContext"]["routeKey"] = "GET /v1.0/health"
    health["requestContext"]["http"]["method"] = "GET"
    health.pop("body", None)
    health["requestContext"]["requestId"] = "parity-health"
    missing = http_get_as_viewer("tenant-5f0c8a52-9c1e-4d6b-8f3a-2b7e1c9d4a60")
    return [
        health,
        fixture("rest-v1-create-tenant"),
        fixture("rest-v1-create-tenant"),  # the same Idempotency-Key and body: a replay
        fixture("http-v2-create-tenant-base64"),
        fixture("http-v2-no-authorizer"),
        fixture("rest-v1-lambda-authorizer-no-claims"),
        missing,
    ]


PYTHON_HANDLER = textwrap.dedent(
    """
    import json, sys
    import bbws

    def handler(event, context):
        return bbws.handle_api_event(event, context)

    events = json.load(open(sys.argv[1]))
    print(json.dumps([handler(e, None) for e in events]))
    """
)

GENERATED = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"), "<timestamp>"),
]


def normalise(responses: list[dict[str, Any]], fixed_ids: set[str]) -> list[dict[str, Any]]:
    """Replaces what each run generates (tenant ids, timestamps) by stable placeholders, in order of
    appearance, so two runs compare equal exactly when they agree on everything else."""
    text = json.dumps(responses, sort_keys=True)
    ids: dict[str, str] = {}
    for tid in re.findall(r"tenant-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", text):
        if tid not in fixed_ids:
            ids.setdefault(tid, f"<tenant-{len(ids) + 1}>")
    for tid, placeholder in ids.items():
        text = text.replace(tid, placeholder)
    for pattern, placeholder in GENERATED:
        text = pattern.sub(placeholder, text)
    out = json.loads(text)
    for r in out:  # bodies are JSON text inside the response: normalise their key order too
        if r.get("body") and not r.get("isBase64Encoded"):
            r["body"] = json.loads(r["body"])
    return out


class FakeLambdaRuntime(ThreadingHTTPServer):
    """The Lambda Runtime API (the part a function uses), on a loopback port: hands out queued
    events to `GET …/invocation/next` and collects what the function posts back."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeHandler)
        self.events: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.results: queue.Queue[tuple[str, str, Any]] = queue.Queue()
        self.stopping = threading.Event()

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def invoke(self, event: dict[str, Any], timeout: float = 60) -> Any:
        request_id = str(uuid.uuid4())
        self.events.put((request_id, event))
        rid, kind, payload = self.results.get(timeout=timeout)
        assert (rid, kind) == (request_id, "response"), payload
        return payload


class _RuntimeHandler(BaseHTTPRequestHandler):
    server: FakeLambdaRuntime

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.endswith("/runtime/invocation/next"):
            self.send_error(404)
            return
        while True:
            try:
                request_id, event = self.server.events.get(timeout=0.5)
                break
            except queue.Empty:
                if self.server.stopping.is_set():
                    return
        body = json.dumps(event).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
        self.send_header("Lambda-Runtime-Deadline-Ms", "32503680000000")
        self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:eu-west-1:123456789012:function:bbws-tenant-api")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length).decode()
        m = re.search(r"/runtime/invocation/([^/]+)/(response|error)$", self.path)
        if m:
            self.server.results.put((m.group(1), m.group(2), json.loads(payload) if payload else None))
        else:  # /runtime/init/error
            self.server.results.put(("init", "error", payload))
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


def lambda_binary() -> Path:
    if os.environ.get("BBWS_LAMBDA_BIN"):
        return Path(os.environ["BBWS_LAMBDA_BIN"])
    path = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target")) / "debug" / "bbws-tenant-api"
    if not path.exists():
        pytest.fail(f"{path} not found: build it with `cargo build -p bbws-lambda --bin bbws-tenant-api`")
    return path


def run_rust_lambda(events: list[dict[str, Any]], data_dir: Path) -> list[dict[str, Any]]:
    runtime = FakeLambdaRuntime()
    threading.Thread(target=runtime.serve_forever, daemon=True).start()
    env = os.environ | {
        "AWS_LAMBDA_RUNTIME_API": runtime.address,
        "AWS_LAMBDA_FUNCTION_NAME": "bbws-tenant-api",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "BBWS_BACKEND": "memory",
        "BBWS_DATA_DIR": str(data_dir),
        "LOG_LEVEL": "warn",
    }
    log = (data_dir / "lambda.log").open("w")
    proc = subprocess.Popen([lambda_binary()], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        return [runtime.invoke(e) for e in events]
    except queue.Empty:
        raise AssertionError(f"the Rust Lambda did not answer; its log:\n{(data_dir / 'lambda.log').read_text()}") from None
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        runtime.stopping.set()
        runtime.shutdown()
        runtime.server_close()
        log.close()


def run_python_handler(events: list[dict[str, Any]], data_dir: Path) -> list[dict[str, Any]]:
    events_file = data_dir / "events-in.json"
    events_file.write_text(json.dumps(events))
    env = os.environ | {"BBWS_BACKEND": "memory", "BBWS_DATA_DIR": str(data_dir)}
    done = subprocess.run(
        [sys.executable, "-c", PYTHON_HANDLER, str(events_file)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_python_handler_and_rust_lambda_answer_alike(tmp_path: Path) -> None:
    events = parity_events()
    (tmp_path / "rust").mkdir()
    (tmp_path / "python").mkdir()
    rust = run_rust_lambda(copy.deepcopy(events), tmp_path / "rust")
    python = run_python_handler(copy.deepcopy(events), tmp_path / "python")

    assert [r["statusCode"] for r in python] == [200, 201, 201, 201, 401, 401, 404]
    # The public route generates nothing: byte-for-byte the same.
    assert python[0] == rust[0]
    fixed = set(re.findall(r"tenant-[0-9a-f-]{36}", json.dumps(events)))
    assert normalise(python, fixed) == normalise(rust, fixed)
    # Both published the same events to their own event log.
    types = [
        [json.loads(line)["detail-type"] for line in (tmp_path / side / "events.jsonl").read_text().splitlines()]
        for side in ("rust", "python")
    ]
    assert types[0] == types[1] == ["TENANT_CREATED", "TENANT_CREATED"]
