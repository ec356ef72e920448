#!/usr/bin/env python3
"""Cold start plus first request, whole process, through a Lambda Runtime API emulator.

    runtime_api.py --tenant-id ID --rust-bin PATH --python PY --python-dir DIR
                   [--python-handler app.handler] [--pyo3-handler delegating.handler]
                   [--env K=V ...] [--runs 10] [--out FILE]

Each run starts a fresh emulator on a free loopback port holding ONE event (an API Gateway REST API
payload 1.0 GET of tenant ID with Cognito authorizer claims: the bbws-lambda fixture
`rest-v1-get-tenant.json` with ID in its path), spawns the function process with
`AWS_LAMBDA_RUNTIME_API` pointing at it, and measures:

- wall time from just before the spawn to the moment the function's `POST .../response` has been
  read completely (also: spawn -> first `GET .../invocation/next`, the init part);
- the process's peak RSS: `VmHWM` from /proc/PID/status, read after the response arrived and just
  before the process is killed (the Lambda runtime loop is then blocked on its next
  `GET .../invocation/next`, which the emulator holds). Not `ru_maxrss` from `wait4`: Linux keeps
  the high-water mark of the pre-exec address space in it, so a child forked from this Python
  harness reports at least the harness's own RSS (about 24 MiB), whatever the binary uses.

Functions:
- `rust`: the `bbws-tenant-api` binary (lambda_runtime reads `AWS_LAMBDA_RUNTIME_API`);
- `python`: `PY -m awslambdaric app.handler` in DIR: the AWS Lambda Runtime Interface Client from
  PyPI, the same client Lambda's Python base images run, importing the handler module and
  talking to the emulator;
- `python_pyo3` (with --pyo3-handler): the same, with the handler delegating to
  `bbws.handle_api_event`.

Runs are interleaved (the order rotates every round) after one untimed run of each, which fills the
page cache and Python's bytecode caches: this is a process cold start on a warm machine, as on a
Lambda host that has the function's image cached. Every run must answer 200 with the tenant, or the
script fails. Writes JSON with the median, min and max of each figure, and every sample.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GET_FIXTURE = REPO / "bbws-lambda" / "tests" / "fixtures" / "apigw" / "rest-v1-get-tenant.json"
RUNTIME_PREFIX = "/2018-06-01/runtime"
FUNCTION_ARN = "arn:aws:lambda:af-south-1:123456789012:function:bbws-tenant-api"


class RuntimeApi(ThreadingHTTPServer):
    """The Lambda Runtime API on 127.0.0.1:<free port>, serving one event.

    The first `GET /2018-06-01/runtime/invocation/next` gets the event; later ones are held until
    the server stops (a function waiting for its next event, as Lambda freezes it). `POST
    .../invocation/{id}/response`, `.../invocation/{id}/error` and `.../init/error` are recorded
    with the time they were read (time.perf_counter())."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, event: dict[str, Any]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.event = json.dumps(event).encode()
        self.request_id = str(uuid.uuid4())
        self.lock = threading.Lock()
        self.served = False
        self.next_at: float | None = None
        self.done_at: float | None = None
        self.outcome: str | None = None  # "response", "error" or "init_error"
        self.payload: bytes = b""
        self.done = threading.Event()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.server_address[:2]
        return f"{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A function killed while it waits for its next event resets its connection: expected.
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()

    def record(self, outcome: str, payload: bytes) -> None:
        now = time.perf_counter()
        with self.lock:
            if self.outcome is None:
                self.done_at, self.outcome, self.payload = now, outcome, payload
        self.done.set()


class _Handler(BaseHTTPRequestHandler):
    server: RuntimeApi
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path != f"{RUNTIME_PREFIX}/invocation/next":
            self._reply(404)
            return
        with self.server.lock:
            first = not self.server.served
            self.server.served = True
            if first:
                self.server.next_at = time.perf_counter()
        if not first:
            # The function waits for its next event; it is killed before one comes.
            self.server.stopping.wait()
            self.close_connection = True
            return
        deadline_ms = int(time.time() * 1000) + 900_000
        self._reply(
            200,
            self.server.event,
            {
                "Content-Type": "application/json",
                "Lambda-Runtime-Aws-Request-Id": self.server.request_id,
                "Lambda-Runtime-Deadline-Ms": str(deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
                "Lambda-Runtime-Trace-Id": "Root=1-5e0b1e1a-0123456789abcdef01234567;Parent=0123456789abcdef;Sampled=0",
            },
        )

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        rid = self.server.request_id
        if self.path == f"{RUNTIME_PREFIX}/invocation/{rid}/response":
            self.server.record("response", payload)
        elif self.path == f"{RUNTIME_PREFIX}/invocation/{rid}/error":
            self.server.record("error", payload)
        elif self.path == f"{RUNTIME_PREFIX}/init/error":
            self.server.record("init_error", payload)
        else:
            self._reply(404)
            return
        self._reply(202, b'{"status":"OK"}', {"Content-Type": "application/json"})


def get_event(tenant_id: str) -> dict[str, Any]:
    """The REST API GET fixture (a platform admin's Cognito claims) for `tenant_id`."""
    event = json.loads(GET_FIXTURE.read_text())
    fixed = event["pathParameters"]["tenantId"]
    return json.loads(json.dumps(event).replace(fixed, tenant_id))


def proc_status(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS of a process, in KiB."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = int(rest.split()[0])
    return out


def one_run(
    name: str, argv: list[str], cwd: Path, env: dict[str, str], event: dict[str, Any], tenant_id: str,
    log_dir: Path, index: int, timeout: float,
) -> dict[str, Any]:
    api = RuntimeApi(event)
    run_env = env | {"AWS_LAMBDA_RUNTIME_API": api.address}
    log_path = log_dir / f"{name}-{index}.log"
    with log_path.open("wb") as log:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=run_env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            if not api.done.wait(timeout):
                raise RuntimeError(f"{name}: no response within {timeout}s")
            status = proc_status(proc.pid)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            api.stop()
    if api.outcome != "response":
        raise RuntimeError(f"{name}: {api.outcome}: {api.payload[:2000]!r}; log {log_path}")
    response = json.loads(api.payload)
    if response.get("statusCode") != 200 or tenant_id not in str(response.get("body")):
        raise RuntimeError(f"{name}: unexpected response {json.dumps(response)[:2000]}; log {log_path}")
    assert api.done_at is not None and api.next_at is not None
    return {
        "wall_ms": round((api.done_at - started) * 1000, 2),
        "init_ms": round((api.next_at - started) * 1000, 2),
        "handle_ms": round((api.done_at - api.next_at) * 1000, 2),
        "peak_rss_mib": round(status["VmHWM"] / 1024, 2),
        "rss_at_response_mib": round(status["VmRSS"] / 1024, 2),
    }


def stats(values: list[float]) -> dict[str, float]:
    return {"median": round(statistics.median(values), 2), "min": min(values), "max": max(values)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tenant-id", required=True, help="an existing tenant in the table")
    p.add_argument("--rust-bin", required=True, type=Path, help="the release bbws-tenant-api binary")
    p.add_argument("--python", required=True, help="the interpreter with awslambdaric and the baseline's requirements")
    p.add_argument("--python-dir", required=True, type=Path, help="the directory of the handler modules")
    p.add_argument("--python-handler", default="app.handler")
    p.add_argument("--pyo3-handler", help="also measure this handler (delegating to bbws.handle_api_event)")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="function environment (repeatable)")
    p.add_argument("--runs", type=int, default=10)
    p.add_argument("--timeout", type=float, default=60)
    p.add_argument("--log-dir", type=Path, default=Path("/tmp"))
    p.add_argument("--out", type=Path)
    a = p.parse_args()
    if a.runs < 1:
        p.error("--runs must be positive")

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "AWS_LAMBDA_FUNCTION_NAME": "bbws-tenant-api",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/bbws-tenant-api",
        "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
    }
    if "/" in a.python:  # the venv's interpreter is a symlink: absolute, not resolved
        a.python = os.path.abspath(a.python)
    for kv in a.env:
        k, sep, v = kv.partition("=")
        if not sep:
            p.error(f"--env {kv}: want K=V")
        env[k] = v
    functions: dict[str, tuple[list[str], Path, dict[str, str]]] = {
        "rust": ([str(a.rust_bin.resolve())], REPO, env | {"LAMBDA_TASK_ROOT": str(a.rust_bin.resolve().parent)}),
        "python": (
            [a.python, "-m", "awslambdaric", a.python_handler],
            a.python_dir.resolve(),
            env | {"LAMBDA_TASK_ROOT": str(a.python_dir.resolve()), "_HANDLER": a.python_handler},
        ),
    }
    if a.pyo3_handler:
        functions["python_pyo3"] = (
            [a.python, "-m", "awslambdaric", a.pyo3_handler],
            a.python_dir.resolve(),
            env | {"LAMBDA_TASK_ROOT": str(a.python_dir.resolve()), "_HANDLER": a.pyo3_handler},
        )
    event = get_event(a.tenant_id)
    a.log_dir.mkdir(parents=True, exist_ok=True)
    names = list(functions)

    def run(name: str, i: int) -> dict[str, Any]:
        argv, cwd, fenv = functions[name]
        return one_run(name, argv, cwd, fenv, event, a.tenant_id, a.log_dir, i, a.timeout)

    for name in names:  # untimed: page cache, bytecode caches
        run(name, 0)
    samples: dict[str, list[dict[str, Any]]] = {n: [] for n in names}
    for i in range(a.runs):
        order = names[i % len(names):] + names[: i % len(names)]
        for name in order:
            s = run(name, i + 1)
            samples[name].append(s)
            print(f"cold start {name} #{i + 1}: {s['wall_ms']} ms, peak RSS {s['peak_rss_mib']} MiB", file=sys.stderr)

    ric = subprocess.run(
        [a.python, "-c", "from importlib.metadata import version; print(version('awslambdaric'))"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()
    result: dict[str, Any] = {
        "event": "GET /v1.0/tenants/{id}: API Gateway REST API (payload 1.0) with Cognito authorizer claims",
        "awslambdaric": ric,
        "runs": a.runs,
        "untimed_runs_first": 1,
        "order": "interleaved, the order rotating each round",
    }
    for name in names:
        argv, cwd, _ = functions[name]
        ss = samples[name]
        result[name] = {
            "command": " ".join(argv),
            "cwd": str(cwd),
            **{k: stats([s[k] for s in ss]) for k in ss[0]},
            "samples": ss,
        }
    text = json.dumps(result, indent=2)
    if a.out:
        a.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
