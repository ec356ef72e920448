#!/usr/bin/env python3
"""Throughput of `bbws serve` on the embedded store, measured with wrk.

    serve_wrk.py --bbws target/release/bbws [--runs 3] [--duration 10] [--connections 64]
                 [--threads 2] [--backend embedded] [--out FILE]

Starts the release `bbws serve --addr 127.0.0.1:0` on a fresh data directory (the persistent
embedded store: a redb file, each commit fsynced), issues a platform admin token with
`bbws token issue`, creates one tenant to read, then runs wrk (Debian's package) against it,
GET and POST interleaved (GET, POST, GET, POST, ...), `--runs` of each:

- GET  /v1.0/tenants/{id}  with the bearer token (a static request: wrk builds it once);
- POST /v1.0/tenants       with a fresh organisation name per request (wrk/post.lua), so every
  request creates a tenant (201), none is a duplicate (409).

wrk's own summary (wrk/*.lua `done`) gives requests, errors and latency percentiles. A run with
any non-2xx response, socket error or timeout fails the script, so a refusal is never what is
counted. The server's peak RSS is `VmHWM` from /proc/PID/status, read after each run (it only
grows) and before the server is stopped. The server logs as it does by default (JSON lines, info
level, one line per request) to a file. With --quiet-get-runs N, N more GET runs on a second
server started with LOG_LEVEL=warn show what that log line costs. Writes JSON with every run and
the median of each figure.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def log(msg: str) -> None:
    print(f"serve_wrk: {msg}", file=sys.stderr, flush=True)


def vm(pid: int) -> dict[str, float]:
    out: dict[str, float] = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                out[key] = round(int(rest.split()[0]) / 1024, 2)
    return out


def start_server(
    bbws: str, data: Path, backend: str, log_path: Path, log_level: str | None
) -> tuple[subprocess.Popen[bytes], str]:
    drop = ("BBWS_BACKEND", "DYNAMODB_TABLE", "AWS_ENDPOINT_URL", "LOG_LEVEL", "RUST_LOG")
    env = {k: v for k, v in os.environ.items() if k not in drop}
    if log_level:
        env["LOG_LEVEL"] = log_level
    cmd = [bbws, "serve", "--addr", "127.0.0.1:0", "--data-dir", str(data), "--backend", backend]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log_path.open("wb"), stdin=subprocess.DEVNULL, env=env)
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if not line:
            break
        m = re.match(r"listening on (http://\S+)", line)
        if m:
            return proc, m.group(1)
    proc.kill()
    raise SystemExit(f"serve_wrk: bbws serve did not start; see {log_path}")


def request(method: str, url: str, token: str, body: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=10) as res:
        return res.status, json.loads(res.read())


def wrk(args: argparse.Namespace, url: str, script: str, extra: list[str], script_args: list[str]) -> dict[str, Any]:
    cmd = [
        args.wrk, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{args.duration}s",
        "--timeout", "5s", "-s", str(HERE / "wrk" / script), *extra, url,
    ]  # fmt: skip
    if script_args:
        cmd += ["--", *script_args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    m = re.search(r"^WRK_JSON (\{.*\})$", done.stdout, re.M)
    if done.returncode != 0 or not m:
        raise SystemExit(f"serve_wrk: wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    r = json.loads(m.group(1))
    bad = {k: v for k, v in r["errors"].items() if v}
    if bad:
        raise SystemExit(f"serve_wrk: wrk saw errors {bad}:\n{done.stdout}")
    r["requests_per_s"] = round(r["requests"] / (r["duration_us"] / 1e6), 1)
    return r


def session(
    args: argparse.Namespace, bbws: str, kinds: tuple[str, ...], count: int, log_level: str | None
) -> tuple[dict[str, list[dict[str, Any]]], float, int, str]:
    """One server on a fresh data directory: `count` rounds of wrk runs of each of `kinds`."""
    with tempfile.TemporaryDirectory(prefix="bbws-serve-wrk-") as tmp:
        data = Path(tmp) / "data"
        log_dir = args.log_dir or Path(tmp)
        log_dir.mkdir(parents=True, exist_ok=True)
        # The token first: it creates the data directory and its signing secret.
        token = subprocess.run(
            [bbws, "token", "issue", "--data-dir", str(data), "--sub", "bench", "--email", "bench@bbws.io",
             "--groups", "Admins", "--ttl", "2h"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        log_name = f"serve-{log_level or 'default'}.log"
        proc, base = start_server(bbws, data, args.backend, log_dir / log_name, log_level)
        runs: dict[str, list[dict[str, Any]]] = {k: [] for k in kinds}
        try:
            status, tenant = request(
                "POST", f"{base}/v1.0/tenants", token,
                {"organizationName": "Wrk Target", "contactEmail": "ops@wrk.example", "environment": "dev"},
            )  # fmt: skip
            assert status == 201, (status, tenant)
            tid = tenant["tenantId"]
            status, got = request("GET", f"{base}/v1.0/tenants/{tid}", token)
            assert status == 200 and got["tenantId"] == tid, (status, got)
            log(f"bbws serve ({args.backend}, LOG_LEVEL={log_level or 'default'}) at {base}, pid {proc.pid}; "
                f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s, {count} runs of {'/'.join(kinds)}")  # fmt: skip
            for i in range(count):
                tag = f"R{i + 1}x{os.getpid()}"
                for kind in kinds:
                    if kind == "get":
                        r = wrk(args, f"{base}/v1.0/tenants/{tid}", "get.lua", ["-H", f"Authorization: Bearer {token}"], [])
                    else:
                        r = wrk(args, base, "post.lua", [], [tag, token])
                    r.update({f"server_{k}_mib_after": v for k, v in vm(proc.pid).items()})
                    runs[kind].append(r)
                    log(f"{kind} run {i + 1}: {r['requests_per_s']:.0f} req/s, p50 {r['latency_us']['p50']} us, "
                        f"p99 {r['latency_us']['p99']} us, server VmHWM {r['server_VmHWM_mib_after']} MiB")  # fmt: skip
            peak = vm(proc.pid)["VmHWM"]
            status, _ = request("GET", f"{base}/v1.0/tenants?limit=1", token)
            assert status == 200
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        store_bytes = sum(f.stat().st_size for f in data.rglob("*") if f.is_file())
    return runs, peak, store_bytes, base


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--bbws", required=True, help="the release bbws binary")
    p.add_argument("--wrk", default="wrk")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--duration", type=int, default=10, help="seconds per wrk run")
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--backend", default="embedded", choices=["embedded", "memory"])
    p.add_argument("--quiet-get-runs", type=int, default=0,
                   help="also this many GET runs on a server with LOG_LEVEL=warn (no per-request log line)")
    p.add_argument("--log-dir", type=Path, default=None, help="keep the server logs here")
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    if args.runs < 1 or args.duration < 1:
        p.error("--runs and --duration must be positive")
    bbws = os.path.abspath(args.bbws)
    wrk_version = subprocess.run([args.wrk, "--version"], capture_output=True, text=True, check=False)
    wrk_version_line = (wrk_version.stdout or wrk_version.stderr).splitlines()[0].strip()

    runs, peak, store_bytes, base = session(args, bbws, ("get", "post"), args.runs, None)
    if args.quiet_get_runs:
        quiet, _, _, _ = session(args, bbws, ("get",), args.quiet_get_runs, "warn")
        runs["get_quiet"] = quiet["get"]

    def med(kind: str, key: str, sub: str | None = None) -> float:
        vals = [r[key][sub] if sub else r[key] for r in runs[kind]]
        return round(statistics.median(vals), 1)

    result: dict[str, Any] = {
        "backend": args.backend,
        "wrk": {"version": wrk_version_line, "threads": args.threads, "connections": args.connections,
                "duration_s": args.duration, "runs": args.runs},  # fmt: skip
        "server_peak_rss_mib": peak,
        "store_bytes_after": store_bytes,
    }
    for kind in runs:
        result[kind] = {
            "requests_per_s": {"median": med(kind, "requests_per_s"),
                               "min": min(r["requests_per_s"] for r in runs[kind]),
                               "max": max(r["requests_per_s"] for r in runs[kind])},  # fmt: skip
            "latency_us": {q: med(kind, "latency_us", q) for q in ("p50", "p90", "p99", "mean")},
            "server_peak_rss_mib_after": max(r["server_VmHWM_mib_after"] for r in runs[kind]),
            "runs": runs[kind],
        }
    result["get"]["command"] = (
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --timeout 5s -s benches/harness/wrk/get.lua "
        f"-H 'Authorization: Bearer $TOKEN' {base}/v1.0/tenants/$ID"
    )
    result["post"]["command"] = (
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s --timeout 5s -s benches/harness/wrk/post.lua "
        f"{base} -- $RUN_TAG $TOKEN"
    )
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
