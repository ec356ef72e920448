#!/usr/bin/env python3
"""Warm in-process handler latency: the pure-Python LLD handler against the PyO3 path.

    benches/harness/warm_python.py --endpoint URL --table T --out FILE
        [--n 1000] [--warmup 50] [--block 25] [--ops get,list,create,park]
        [--event-bus bbws-events-dev] [--no-memory]

Assumes moto (or DynamoDB) answers at URL and table T exists with the bbws key design
(`bbws table create --service tenants`). Runs in the project virtualenv (re-executes itself with
``$BBWS_VENV/bin/python``, default ``<repo>/.venv``; prepare it with ``benches/python-env``).

Measured, each in the process that a Lambda would be, timing only the handler call
(``time.perf_counter_ns`` around ``handler(event, context)``):

- ``python``: ``benches/python_baseline/app.py`` ``handler`` (Powertools, pydantic, boto3);
- ``pyo3``: ``benches/python_baseline/delegating.py`` ``handler`` (``bbws.handle_api_event``,
  ``BBWS_BACKEND=dynamodb``) on the same endpoint and table;
- ``pyo3_memory``: the same delegating handler with ``BBWS_BACKEND=memory`` in a process of its
  own: no network, so what is left is bbws's own work plus the Python binding.

``python`` and ``pyo3`` run in one process, alternating in blocks of ``--block`` invocations
(python first in even blocks, pyo3 first in odd ones), so both see the same table, the same moto
and the same machine load. The first ``--warmup`` invocations of each operation and side are
discarded; ``--n`` are kept. After every block of creates or parks the table is swept back to
its state before the block (not timed), so every block starts on the same table: moto evaluates a
Query by scanning every item of the table, so its latency grows with the table. Events are the
API Gateway REST (payload 1.0) events in ``events/``; each response's status code is checked,
and the first block's bodies too, so an error is never what gets timed.

Output: JSON ``{"python": {"create": {"p50_us", "p90_us", "p99_us", "mean_us", "min_us",
"max_us", "n"}, ...}, "pyo3": {...}, "pyo3_memory": {...}, "meta": {...}}`` where percentiles
interpolate linearly between the closest of all kept samples.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as c  # noqa: E402

PROG = "warm_python"
# Reads first: moto slows down as it runs (see the README), most after many transactions.
OPS = ("get", "list", "create", "park")
EXPECTED = {"create": 201, "get": 200, "list": 200, "list_all": 200, "park": 200}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="warm_python.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", required=True, help="DynamoDB/EventBridge endpoint (moto)")
    p.add_argument("--table", required=True, help="the tenants table (bbws key design)")
    p.add_argument("--out", required=True, help="where to write the JSON results")
    p.add_argument("--n", type=int, default=1000, help="kept invocations per operation and handler")
    p.add_argument("--warmup", type=int, default=50, help="discarded invocations first")
    p.add_argument("--block", type=int, default=25, help="invocations per alternation block")
    p.add_argument("--ops", default=",".join(OPS), help="operations (create,get,list,park,list_all)")
    p.add_argument("--event-bus", default=c.DEFAULT_EVENT_BUS, help="EventBridge bus (created if missing)")
    p.add_argument("--no-memory", action="store_true", help="skip the BBWS_BACKEND=memory run")
    p.add_argument("--worker", choices=["dynamodb", "memory"], help=argparse.SUPPRESS)
    p.add_argument("--result", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.ops = [o.strip() for o in args.ops.split(",") if o.strip()]
    for o in args.ops:
        if o not in EXPECTED:
            p.error(f"unknown operation {o!r}")
    if args.n < 1 or args.warmup < 0 or args.block < 1:
        p.error("--n and --block must be positive, --warmup not negative")
    return args


# --- the worker: one process, the handlers imported once, invoked warm -----------------------


class Bench:
    def __init__(self, args: argparse.Namespace, handlers: dict[str, Callable[..., dict[str, Any]]]) -> None:
        self.args = args
        self.handlers = handlers
        self.ctx = c.LambdaContext()
        self.nonce = uuid.uuid4().hex[:10]
        self.table: c.Table | None = None
        self.recreate = False
        self.base: list[str] = []

    def reset_table(self) -> None:
        """Back to the table as it was at the start (without the base tenants)."""
        assert self.table is not None
        if self.recreate:
            self.table.recreate()
        else:
            self.table.sweep()

    def call(self, side: str, ev: dict[str, Any]) -> dict[str, Any]:
        return self.handlers[side](ev, self.ctx)

    # Tenants to park, ACTIVE. On DynamoDB they are written directly (one BatchWriteItem per 25);
    # on the memory store through the API (create, then PATCH status ACTIVE).
    def active_tenants(self, side: str, count: int, label: str) -> list[str]:
        if self.table is not None:
            return self.table.seed_active(count, label)
        ids = []
        for i in range(count):
            ev = c.event("create", org_name=f"Seed {label} {self.nonce} {i}")
            tid = c.expect(self.call(side, ev), 201, "seed create")["tenantId"]
            c.expect(self.call(side, c.status_event(tid, "ACTIVE")), 200, "seed activate")
            ids.append(tid)
        return ids

    def events(self, op: str, side: str, block: int, count: int) -> list[dict[str, Any]]:
        if op == "create":
            return [c.event("create", org_name=f"Bench {self.nonce} {side} {block} {i}") for i in range(count)]
        if op == "get":
            return [c.event("get", tenant_id=self.base[(block * count + i) % len(self.base)]) for i in range(count)]
        if op in ("list", "list_all"):
            return [c.event(op) for _ in range(count)]
        if op == "park":
            ids = self.active_tenants(side, count, f"park {side} {block}")
            return [c.event("park", tenant_id=t) for t in ids]
        raise ValueError(op)

    def check(self, op: str, side: str, response: dict[str, Any], ev: dict[str, Any]) -> None:
        """The first block's bodies: what is timed is the operation, not a refusal."""
        b = c.body(response)
        ok = {
            "create": lambda: b.get("status") == "PENDING" and b.get("tenantId", "").startswith("tenant-"),
            "get": lambda: b.get("tenantId") == ev["pathParameters"]["tenantId"],
            "list": lambda: len(b.get("items", [])) == 20
            and all(i.get("status") == "ACTIVE" for i in b["items"]),
            "list_all": lambda: len(b.get("items", [])) == 20,
            "park": lambda: b.get("status") == "PARKED",
        }[op]()
        if not ok:
            raise SystemExit(f"{PROG}: {side} {op}: unexpected body: {json.dumps(b)[:500]}")

    def run_op(self, op: str, sides: list[str]) -> dict[str, list[int]]:
        args = self.args
        warm_blocks = math.ceil(args.warmup / args.block)
        kept_blocks = math.ceil(args.n / args.block)
        samples: dict[str, list[int]] = {s: [] for s in sides}
        started = time.monotonic()
        for b in range(warm_blocks + kept_blocks):
            order = sides if b % 2 == 0 else list(reversed(sides))
            for side in order:
                events = self.events(op, side, b, args.block)
                handler = self.handlers[side]
                ctx = self.ctx
                expected = EXPECTED[op]
                times = []
                for ev in events:
                    t0 = time.perf_counter_ns()
                    r = handler(ev, ctx)
                    t1 = time.perf_counter_ns()
                    if r.get("statusCode") != expected:
                        raise SystemExit(
                            f"{PROG}: {side} {op}: expected {expected}, got {r.get('statusCode')}: "
                            f"{str(r.get('body'))[:500]}"
                        )
                    if b == 0:
                        self.check(op, side, r, ev)
                    times.append(t1 - t0)
                if b >= warm_blocks:
                    samples[side].extend(times)
                if self.table is not None and op in ("create", "park"):
                    self.reset_table()
        for s in sides:
            del samples[s][args.n :]
        c.log(PROG, f"  {op}: {', '.join(f'{s} n={len(v)}' for s, v in samples.items())} "
              f"({time.monotonic() - started:.1f} s)")
        return samples


def endpoint_floor(table: c.Table, tenant_id: str, n: int = 50) -> dict[str, Any]:
    """Single requests straight to the endpoint with a boto3 client, on the table as measured:
    the floor under the handlers' requests. moto's cost differs by request type (it scans the
    whole table for a Query, and deep-copies the table once per item of a TransactWriteItems)."""
    client, name = table.client, table.name
    pk = lambda i: {"S": f"BENCHFLOOR#{i}"}  # noqa: E731
    requests = {
        "GetItem": lambda i: client.get_item(
            TableName=name, Key={"PK": {"S": f"TENANT#{tenant_id}"}, "SK": {"S": "METADATA"}}
        ),
        "Query_GSI2_20_items": lambda i: client.query(
            TableName=name, IndexName="GSI2", KeyConditionExpression="GSI2PK = :p",
            ExpressionAttributeValues={":p": {"S": "STATUS#ACTIVE"}}, Limit=20, ScanIndexForward=False,
        ),
        "PutItem": lambda i: client.put_item(TableName=name, Item={"PK": pk(i), "SK": {"S": "P"}}),
        "TransactWriteItems_4_puts": lambda i: client.transact_write_items(
            TransactItems=[{"Put": {"TableName": name, "Item": {"PK": pk(i), "SK": {"S": f"T{j}"}}}} for j in range(4)]
        ),
    }  # fmt: skip
    out = {}
    for what, call in requests.items():
        for i in range(5):
            call(-1 - i)
        times = []
        for i in range(n):
            t0 = time.perf_counter_ns()
            call(i)
            times.append(time.perf_counter_ns() - t0)
        out[what] = c.summarize(times)
        table.sweep()
    return out


def worker(args: argparse.Namespace) -> None:
    out: dict[str, Any] = {}
    if args.worker == "dynamodb":
        c.apply_env(c.aws_env(args.endpoint, args.table, args.event_bus))
        c.ensure_event_bus(args.event_bus)
        table = c.Table(args.table)
        initial = table.remember()
        initial_keys = set(table.keep)
        bench = Bench(args, c.import_handlers())
        bench.table = table
        # An empty table (benches/run makes a new one) is created again after every block of
        # writes rather than swept: see Table.recreate. A table that holds anything is only swept.
        bench.recreate = initial == 0

        def base(wanted: bool) -> None:
            """The 25 ACTIVE tenants get and list read are in the table only while those run:
            creates and parks run on the table as it was (moto's cost grows with the table)."""
            if wanted and not bench.base:
                bench.base = table.seed_active(c.BASE_TENANTS, "base")
                table.remember()
            elif not wanted and bench.base:
                table.keep = set(initial_keys)
                bench.reset_table()
                bench.base = []

        try:
            base(True)
            for side in ("python", "pyo3"):  # first use: clients, the bbws function, connections
                c.expect(bench.call(side, c.event("get", tenant_id=bench.base[0])), 200, f"{side} first get")
            out["endpoint_floor_start"] = endpoint_floor(table, bench.base[0])
            out["table_items_at_start"] = initial
            out["table_reset"] = "recreated after each block of writes" if bench.recreate else "swept"
            for op in args.ops:
                base(op in ("get", "list", "list_all"))
                samples = bench.run_op(op, ["python", "pyo3"])
                for side, v in samples.items():
                    out.setdefault(side, {})[op] = c.summarize(v)
            base(True)
            out["endpoint_floor_end"] = endpoint_floor(table, bench.base[0])
        finally:
            table.keep = initial_keys
            bench.reset_table()
    else:
        bench = Bench(args, c.import_handlers(pure_python=False))
        side = "pyo3"
        bench.base = bench.active_tenants(side, c.BASE_TENANTS, "base")
        c.expect(bench.call(side, c.event("get", tenant_id=bench.base[0])), 200, "first get")
        for op in args.ops:
            samples = bench.run_op(op, [side])
            out.setdefault("pyo3_memory", {})[op] = c.summarize(samples[side])
    Path(args.result).write_text(json.dumps(out), encoding="utf-8")


# --- the orchestrator ------------------------------------------------------------------------


def spawn(args: argparse.Namespace, kind: str, env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="warm_python-") as tmp:
        result = Path(tmp) / "result.json"
        cmd = [
            sys.executable, str(Path(__file__).resolve()), "--worker", kind,
            "--endpoint", args.endpoint, "--table", args.table, "--out", args.out,
            "--n", str(args.n), "--warmup", str(args.warmup), "--block", str(args.block),
            "--ops", ",".join(args.ops), "--event-bus", args.event_bus, "--result", str(result),
        ]  # fmt: skip
        # The handlers log to stdout (Powertools' JSON logs and EMF metrics, as in Lambda): it goes
        # to /dev/null so that the terminal is not what is measured.
        rc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, check=False).returncode
        if rc != 0:
            sys.exit(f"{PROG}: the {kind} worker failed (exit {rc})")
        return json.loads(result.read_text(encoding="utf-8"))


def main() -> None:
    c.ensure_venv()
    args = parse_args()
    if args.worker:
        worker(args)
        return
    started = time.time()
    machine = c.machine()
    c.log(PROG, f"python and pyo3 (dynamodb) on {args.endpoint}, table {args.table}: "
          f"{args.n} kept + {args.warmup} warm-up invocations per operation, blocks of {args.block}")
    env = {**os.environ, **c.aws_env(args.endpoint, args.table, args.event_bus)}
    results = spawn(args, "dynamodb", env)
    if not args.no_memory:
        # The memory backend's event log is fsynced per publish: keep it on tmpfs, so the figure is
        # bbws's work and not the disk's.
        shm = Path("/dev/shm")
        with tempfile.TemporaryDirectory(prefix="bbws-bench-", dir=shm if shm.is_dir() else None) as data:
            c.log(PROG, f"pyo3 on BBWS_BACKEND=memory (data dir {data})")
            menv = {**env, "BBWS_BACKEND": "memory", "BBWS_DATA_DIR": data}
            results.update(spawn(args, "memory", menv))
            memory_dir = data
    finished = time.time()
    out = {
        "python": results["python"],
        "pyo3": results["pyo3"],
        **({"pyo3_memory": results["pyo3_memory"]} if "pyo3_memory" in results else {}),
        "meta": {
            "what": "warm in-process handler latency, microseconds per invocation",
            "endpoint": args.endpoint,
            "table": args.table,
            "event_bus": args.event_bus,
            "ops": args.ops,
            "n_kept": args.n,
            "n_warmup_discarded": args.warmup,
            "block": args.block,
            "events": {op: f"benches/harness/events/{op}.json" for op in args.ops},
            "base_tenants": c.BASE_TENANTS,
            "table_items_at_start": results.get("table_items_at_start"),
            "table_between_write_blocks": results.get("table_reset"),
            "endpoint_floor_boto3_start": results.get("endpoint_floor_start"),
            "endpoint_floor_boto3_end": results.get("endpoint_floor_end"),
            "memory_data_dir": memory_dir if not args.no_memory else None,
            "bbws": c.bbws_build(),
            "packages": c.versions("aws-lambda-powertools", "pydantic", "boto3", "botocore", "moto"),
            "machine": {**machine, "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
            "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
            "duration_s": round(finished - started, 1),
            "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        },
    }
    c.write_json(args.out, out)
    c.log(PROG, f"wrote {args.out} in {finished - started:.0f} s")
    for when in ("start", "end"):
        floor = results.get(f"endpoint_floor_{when}") or {}
        c.log(PROG, f"endpoint floor at the {when} (boto3, p50 us): "
              + ", ".join(f"{k} {v['p50_us']:.0f}" for k, v in floor.items()))
    for op in args.ops:
        row = [f"{op:9}"]
        for side in ("python", "pyo3", "pyo3_memory"):
            if side in out and op in out[side]:
                r = out[side][op]
                row.append(f"{side} p50 {r['p50_us']:>9.1f} p99 {r['p99_us']:>9.1f}")
        c.log(PROG, "  ".join(row))


if __name__ == "__main__":
    main()
