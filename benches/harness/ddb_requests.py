#!/usr/bin/env python3
"""DynamoDB (and EventBridge) requests per API operation, counted at the endpoint.

    benches/harness/ddb_requests.py --moto-endpoint URL --table T --out FILE
        [--ops create,get,list,list_all,park] [--event-bus bbws-events-dev] [--repeat 20]

A small HTTP proxy in front of moto records every request's ``X-Amz-Target`` (and, from its JSON
body, which table, index and key it touches) and forwards it unchanged. Both handlers are pointed
at the proxy (``AWS_ENDPOINT_URL``) and each operation runs on the same events as
warm_python.py, through:

- ``python``: the pure-Python LLD handler (benches/python_baseline/app.py);
- ``rust``: ``bbws.handle_api_event`` (BBWS_BACKEND=dynamodb), which is the Rust Lambda's own code
  (``ApiFunction::invoke``: the API router, then the outbox relay's drain).

Before counting, each handler serves one GET (not counted), so client set-up is not counted. Each
operation runs ``--repeat`` times per handler; the counts are the first run's, and any later run
that counts differently is listed under ``count_variations`` (empty when the counts are stable).
After every create or park the table is swept back to its state before it, so each starts on the
same table. Runs in the project virtualenv (re-executes itself with ``$BBWS_VENV/bin/python``).

The same runs give a rough split of where each invocation's time goes (``time_split``): the time
the proxy held the handler's requests (forwarding to moto and back) and the rest, less the proxy's
own per-request overhead measured with bare HTTP requests: the handler's own work plus its SDK
client, which is what would remain in front of a faster endpoint.

Output JSON: ``{"python": {"create": {"Query": 1, "PutItem": 2, "PutEvents": 1}, ...},
"rust": {...}, "dynamodb_requests": {"python": {"create": 3}, "rust": {...}},
"rust_outbox_relay": {...}, "requests": {"python": {"create": ["Query GSI1 ORG#", ...]}},
"count_variations": {}, "time_split": {...}, "meta"}``.
Counts in ``python``/``rust`` are by operation name (the part of ``X-Amz-Target`` after the dot):
DynamoDB operations and EventBridge's ``PutEvents``. ``rust_outbox_relay`` is the part of the Rust
counts that the relay's drain after the request made (requests on the ``OUTBOX`` partition).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

PROG = "ddb_requests"
OPS = ("create", "get", "list", "list_all", "park")
EXPECTED = {"create": 201, "get": 200, "list": 200, "list_all": 200, "park": 200}
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}


# --- the counting proxy ----------------------------------------------------------------------


def _prefix(value: Any) -> str:
    """``TENANT#tenant-…`` -> ``TENANT#``; ``OUTBOX`` stays."""
    if isinstance(value, dict):
        value = value.get("S", "")
    text = str(value)
    return text.split("#", 1)[0] + "#" if "#" in text else text


def _key_kind(key: dict[str, Any]) -> str:
    pk, sk = _prefix(key.get("PK", "")), str((key.get("SK") or {}).get("S", ""))
    if pk == "TENANT#" and sk.startswith("EVENT#"):
        return "EVENT#"
    return pk


def describe(target: str, body: dict[str, Any]) -> tuple[str, bool]:
    """A short description of one request, and whether it is the outbox relay's."""
    op = target.split(".", 1)[-1]
    if op == "PutEvents":
        types = ",".join(e.get("DetailType", "?") for e in body.get("Entries", []))
        return f"PutEvents {types}", False
    if op == "Query":
        values = body.get("ExpressionAttributeValues") or {}
        pk = next((_prefix(v) for k, v in values.items() if k in (":pk", ":v0", ":partition")), "")
        if not pk and values:
            pk = _prefix(next(iter(values.values())))
        return f"Query {body.get('IndexName') or 'table'} {pk}", pk == "OUTBOX"
    if op == "Scan":
        return f"Scan {body.get('IndexName') or 'table'} Limit={body.get('Limit')}", False
    if op in ("GetItem", "UpdateItem", "DeleteItem"):
        kind = _key_kind(body.get("Key") or {})
        return f"{op} {kind}", kind == "OUTBOX"
    if op == "PutItem":
        kind = _key_kind(body.get("Item") or {})
        return f"{op} {kind}", kind == "OUTBOX"
    if op == "TransactWriteItems":
        parts = []
        for item in body.get("TransactItems", []):
            (verb, spec), = item.items()
            parts.append(f"{verb} {_key_kind(spec.get('Item') or spec.get('Key') or {})}")
        return f"TransactWriteItems [{', '.join(parts)}]", False
    if op == "BatchWriteItem":
        parts, outbox = [], True
        for reqs in (body.get("RequestItems") or {}).values():
            for r in reqs:
                (verb, spec), = r.items()
                kind = _key_kind(spec.get("Item") or spec.get("Key") or {})
                outbox = outbox and kind == "OUTBOX"
                parts.append(f"{verb.replace('Request', '')} {kind}")
        return f"BatchWriteItem [{', '.join(parts)}]", outbox and bool(parts)
    return op, False


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.log: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.log.append(entry)

    def take(self) -> list[dict[str, Any]]:
        with self.lock:
            out, self.log = self.log, []
        return out


def start_proxy(upstream: str, recorder: Recorder) -> tuple[ThreadingHTTPServer, str]:
    up = urlsplit(upstream)
    up_host, up_port = up.hostname or "127.0.0.1", up.port or (443 if up.scheme == "https" else 80)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: without TCP_NODELAY, Nagle's algorithm and the
        # client's delayed ACK would add ~40 ms to every response.
        disable_nagle_algorithm = True

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _forward(self) -> None:
            t0 = time.perf_counter_ns()
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length) if length else b""
            target = self.headers.get("X-Amz-Target") or f"{self.command} {self.path}"
            try:
                body = json.loads(data) if data else {}
            except ValueError:
                body = {}
            what, outbox = describe(target, body if isinstance(body, dict) else {})
            entry = {"target": target, "op": target.split(".", 1)[-1], "what": what, "outbox": outbox}
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            conn = http.client.HTTPConnection(up_host, up_port, timeout=60)
            try:
                conn.request(self.command, self.path, body=data, headers=headers)
                resp = conn.getresponse()
                payload = resp.read()
                # Recorded before the response leaves: once it has, the handler may go on and
                # take the log.
                entry["held_ns"] = time.perf_counter_ns() - t0
                recorder.add(entry)
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP and k.lower() != "content-length":
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            finally:
                conn.close()

        do_POST = do_GET = do_PUT = do_DELETE = do_HEAD = _forward  # noqa: N815

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def proxy_overhead(proxy: str, recorder: Recorder, table: str, n: int = 100) -> dict[str, Any]:
    """What the proxy adds outside the time it holds a request (reading and parsing it before its
    clock starts, loopback), measured with bare keep-alive HTTP requests (a GetItem of a missing
    key): subtract it once per request from the time outside the endpoint."""
    u = urlsplit(proxy)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80, timeout=60)
    body = json.dumps({"TableName": table, "Key": {"PK": {"S": "TENANT#probe"}, "SK": {"S": "METADATA"}}})
    headers = {
        "X-Amz-Target": "DynamoDB_20120810.GetItem",
        "Content-Type": "application/x-amz-json-1.0",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, "
        "SignedHeaders=host, Signature=0",
    }
    outside = []
    for i in range(n + 10):
        recorder.take()
        t0 = time.perf_counter_ns()
        conn.request("POST", "/", body, headers)
        conn.getresponse().read()
        total = time.perf_counter_ns() - t0
        held = sum(e["held_ns"] for e in recorder.take())
        if i >= 10:
            outside.append((total - held) / 1000)
    conn.close()
    return {"p50_us": round(c.percentile(sorted(outside), 0.5), 1), "n": n}


def time_split(runs: list[tuple[int, int]]) -> dict[str, Any]:
    totals = sorted(t / 1000 for t, _ in runs)
    held = sorted(h / 1000 for _, h in runs)
    rest = sorted((t - h) / 1000 for t, h in runs)
    med = lambda v: round(c.percentile(v, 0.5), 1)  # noqa: E731
    return {"total_p50_us": med(totals), "endpoint_p50_us": med(held), "outside_endpoint_p50_us": med(rest), "n": len(runs)}


# --- counting --------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="ddb_requests.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--moto-endpoint", required=True, help="the moto (DynamoDB, EventBridge) endpoint")
    p.add_argument("--table", required=True, help="the tenants table (bbws key design)")
    p.add_argument("--out", required=True, help="where to write the JSON results")
    p.add_argument("--ops", default=",".join(OPS), help="operations (create,get,list,list_all,park)")
    p.add_argument("--event-bus", default=c.DEFAULT_EVENT_BUS, help="EventBridge bus (created if missing)")
    p.add_argument("--repeat", type=int, default=20,
                   help="runs of each operation for the time split (the counts are the first run's)")
    args = p.parse_args()
    if args.repeat < 1:
        p.error("--repeat must be positive")
    args.ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    for o in args.ops:
        if o not in EXPECTED:
            p.error(f"unknown operation {o!r}")
    return args


def main() -> None:
    c.ensure_venv()
    args = parse_args()
    started = time.time()
    recorder = Recorder()
    server, proxy = start_proxy(args.moto_endpoint, recorder)
    # Set-up and sweeping go straight to moto; only the handlers talk through the proxy.
    c.apply_env(c.aws_env(args.moto_endpoint, args.table, args.event_bus))
    c.ensure_event_bus(args.event_bus)
    table = c.Table(args.table)
    initial = table.remember()
    initial_keys = set(table.keep)
    c.apply_env({"AWS_ENDPOINT_URL": proxy})
    # The Python handler logs (Powertools JSON, EMF metrics) to stdout, as in Lambda: not here.
    sys.stdout = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115
    handlers = {"python": c.import_handlers(pyo3=False)["python"], "rust": c.import_handlers(pure_python=False)["pyo3"]}
    ctx = c.LambdaContext()
    nonce = uuid.uuid4().hex[:10]
    counts: dict[str, dict[str, dict[str, int]]] = {"python": {}, "rust": {}}
    relay: dict[str, dict[str, int]] = {}
    seen: dict[str, dict[str, list[str]]] = {"python": {}, "rust": {}}
    varied: dict[str, dict[str, list[dict[str, int]]]] = {}
    split: dict[str, dict[str, dict[str, Any]]] = {}
    try:
        base = table.seed_active(c.BASE_TENANTS, "base")
        table.remember()
        calibration = proxy_overhead(proxy, recorder, args.table)
        for side, h in handlers.items():
            c.expect(h(c.event("get", tenant_id=base[0]), ctx), 200, f"{side} first get")
        recorder.take()
        for op in args.ops:
            for side, h in handlers.items():
                runs: list[tuple[int, int]] = []
                for rep in range(args.repeat):
                    if op == "park":
                        ev = c.event("park", tenant_id=table.seed_active(1, f"park {side}")[0])
                    elif op == "create":
                        ev = c.event("create", org_name=f"Count {nonce} {side} {rep}")
                    elif op == "get":
                        ev = c.event("get", tenant_id=base[rep % len(base)])
                    else:
                        ev = c.event(op)
                    recorder.take()
                    t0 = time.perf_counter_ns()
                    r = h(ev, ctx)
                    total = time.perf_counter_ns() - t0
                    c.expect(r, EXPECTED[op], f"{side} {op}")
                    log = recorder.take()
                    count = dict(Counter(e["op"] for e in log))
                    if rep == 0:
                        counts[side][op] = count
                        seen[side][op] = [e["what"] for e in log]
                        if side == "rust":
                            relay[op] = dict(Counter(e["op"] for e in log if e["outbox"]))
                    elif count != counts[side][op]:
                        varied.setdefault(side, {}).setdefault(op, []).append(count)
                    runs.append((total, sum(e["held_ns"] for e in log)))
                    if op in ("create", "park"):
                        table.sweep()
                split.setdefault(side, {})[op] = time_split(runs)
    finally:
        server.shutdown()
        c.apply_env({"AWS_ENDPOINT_URL": args.moto_endpoint})
        table.keep = initial_keys
        table.sweep()

    def dynamodb(side: str) -> dict[str, int]:
        return {op: sum(n for k, n in cnt.items() if k != "PutEvents") for op, cnt in counts[side].items()}

    # The handler's own time outside the endpoint, less the proxy's share of each request.
    for side, ops in split.items():
        for op, sp in ops.items():
            requests = sum(counts[side][op].values())
            sp["requests"] = requests
            sp["outside_endpoint_less_proxy_p50_us"] = round(
                sp["outside_endpoint_p50_us"] - requests * calibration["p50_us"], 1
            )

    out = {
        "python": counts["python"],
        "rust": counts["rust"],
        "dynamodb_requests": {"python": dynamodb("python"), "rust": dynamodb("rust")},
        "rust_outbox_relay": relay,
        "requests": seen,
        "count_variations": varied,
        "time_split": split,
        "meta": {
            "what": "requests per API operation counted at the endpoint (the first of --repeat runs)",
            "repeat": args.repeat,
            "proxy_overhead_per_request": calibration,
            "time_split": "per invocation, through the counting proxy: total handler time, the time the "
            "proxy held its requests (forwarding to moto and back), and the rest (the handler's own "
            "work, its SDK client, loopback); medians over --repeat runs, in microseconds",
            "moto_endpoint": args.moto_endpoint,
            "table": args.table,
            "event_bus": args.event_bus,
            "events": {op: f"benches/harness/events/{op}.json" for op in args.ops},
            "table_items_at_start": initial,
            "base_tenants": c.BASE_TENANTS,
            "rust_path": "bbws.handle_api_event (PyO3) = bbws_lambda::apigw::ApiFunction::invoke",
            "bbws": c.bbws_build(),
            "packages": c.versions("aws-lambda-powertools", "pydantic", "boto3", "moto"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(time.time() - started, 1),
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        },
    }
    c.write_json(args.out, out)
    c.log(PROG, f"wrote {args.out}")
    width = max(len(o) for o in args.ops)
    for op in args.ops:
        py, rs = out["dynamodb_requests"]["python"][op], out["dynamodb_requests"]["rust"][op]
        rel = sum(relay.get(op, {}).values())
        sp, sr = split["python"][op], split["rust"][op]
        c.log(PROG, f"  {op:{width}}  python {py} DynamoDB  rust {rs} DynamoDB ({rel} of them the outbox relay)"
              f"   outside the endpoint, less the proxy (p50): "
              f"python {sp['outside_endpoint_less_proxy_p50_us'] / 1000:.2f} ms, "
              f"rust {sr['outside_endpoint_less_proxy_p50_us'] / 1000:.2f} ms")
    if varied:
        c.log(PROG, f"warning: counts differed between runs: {json.dumps(varied)}")


if __name__ == "__main__":
    main()
