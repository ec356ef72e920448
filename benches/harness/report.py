#!/usr/bin/env python3
"""Writes benches/RESULTS.md from the JSON files of one `benches/run`.

    report.py --results DIR [--out benches/RESULTS.md]

DIR holds what benches/run wrote: machine.json, commands.json, sizes.json, cold_start.json,
warm_rust_dynamodb.json, warm_rust_memory.json, warm_python.json, ddb_requests.json and
serve_wrk.json. A missing file shows as "not measured" (and its goals as not evaluated), never as
a made-up figure. Python stdlib only.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

OPS = ("create", "get", "list", "park")
MIB_PER_MB = 1e6 / 2**20  # 30 MB (10^6 bytes) = 28.6 MiB


def load(d: Path, name: str) -> dict[str, Any] | None:
    p = d / f"{name}.json"
    if not p.exists():
        return None
    return json.loads(p.read_text())


def ms(us: float) -> str:
    """A latency given in µs, in the unit that reads best."""
    if us >= 10_000:
        return f"{us / 1000:.1f} ms"
    if us >= 1000:
        return f"{us / 1000:.2f} ms"
    return f"{us:.1f} µs"


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "–"
    r = a / b
    return f"{r:.1f}×" if r >= 1.95 else f"{r:.2f}×"


def verdict(ok: bool | None) -> str:
    return {True: "**met**", False: "**missed**", None: "not evaluated"}[ok]


def table(head: list[str], rows: list[list[str]]) -> str:
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--results", required=True, type=Path)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "RESULTS.md")
    a = p.parse_args()
    d = a.results
    machine = load(d, "machine") or {}
    commands = load(d, "commands") or {}
    sizes = load(d, "sizes")
    cold = load(d, "cold_start")
    wr_ddb = load(d, "warm_rust_dynamodb")
    wr_mem = load(d, "warm_rust_memory")
    wp = load(d, "warm_python")
    ddb = load(d, "ddb_requests")
    serve = load(d, "serve_wrk")

    n_kept = ((wr_ddb or {}).get("meta") or (wp or {}).get("meta") or {}).get("n_kept", "?")
    goals: list[tuple[str, str, bool | None]] = []
    md: list[str] = []
    w = md.append

    w("# Measured performance: bbws side by side with the Python handlers it replaces\n")
    w(f"Written by `benches/run` on {machine.get('date', '?')} (commit `{machine.get('commit', '?')}`"
      f"{', with uncommitted changes' if machine.get('dirty') else ''}); "
      f"every figure below comes from the JSON files it wrote ({machine.get('results_dir', str(d))}/). "
      f"Figures are medians of repeated runs, or percentiles over {n_kept} invocations per operation "
      "and side, never single timings. What each figure is, and how it is measured, is in "
      "[benches/README.md](README.md#the-side-by-side-harness-benchesrun).\n")

    # --- cold start ------------------------------------------------------------------------
    sec: list[str] = []
    if cold:
        rows = []
        for name, label in (("rust", "Rust `bbws-tenant-api`"), ("python", "Python (Powertools, pydantic, boto3)"),
                            ("python_pyo3", "Python delegating to `bbws.handle_api_event` (PyO3)")):
            c = cold.get(name)
            if not c:
                continue
            rows.append([
                label,
                f"**{c['wall_ms']['median']:.1f} ms** ({c['wall_ms']['min']:.1f}–{c['wall_ms']['max']:.1f})",
                f"{c['init_ms']['median']:.1f} ms",
                f"{c['handle_ms']['median']:.1f} ms",
                f"**{c['peak_rss_mib']['median']:.1f} MiB** ({c['peak_rss_mib']['min']:.1f}–{c['peak_rss_mib']['max']:.1f})",
            ])
        sec.append(table(["Function", "Spawn → response (median, min–max)", "Spawn → first `next`",
                          "`next` → response", "Peak RSS (VmHWM; median, min–max)"], rows))
        r, py = cold["rust"], cold["python"]
        sec.append(f"\nPython / Rust: wall time **{ratio(py['wall_ms']['median'], r['wall_ms']['median'])}**, "
                   f"peak RSS **{ratio(py['peak_rss_mib']['median'], r['peak_rss_mib']['median'])}**"
                   + (f"; the PyO3 path / Rust: wall time {ratio(cold['python_pyo3']['wall_ms']['median'], r['wall_ms']['median'])}, "
                      f"peak RSS {ratio(cold['python_pyo3']['peak_rss_mib']['median'], r['peak_rss_mib']['median'])}"
                      if "python_pyo3" in cold else "") + ".")
        sec.append(f"\n{cold['runs']} runs of each ({cold['order']}), after one untimed run of each, through a "
                   "Lambda Runtime API emulator on loopback (`benches/harness/runtime_api.py`) holding one event: "
                   f"{cold['event']}, of a tenant seeded in the table on moto. The Python functions run under "
                   f"`awslambdaric` {cold.get('awslambdaric', '')} (`python -m awslambdaric app.handler`), the "
                   "runtime interface client of Lambda's Python base images. Every run answered 200 with the "
                   "tenant (checked). Peak RSS is the process's own (VmHWM), read just before it is killed.")
        goals.append(("Cold start + first request: Rust ≤ 1/10 of Python's wall time",
                      f"{r['wall_ms']['median']:.1f} ms vs {py['wall_ms']['median']:.1f} ms "
                      f"(1/{py['wall_ms']['median'] / r['wall_ms']['median']:.0f})",
                      r["wall_ms"]["median"] * 10 <= py["wall_ms"]["median"]))
        goals.append(("Cold start: Rust peak RSS under 30 MB",
                      f"{r['peak_rss_mib']['median']:.1f} MiB = {r['peak_rss_mib']['median'] / MIB_PER_MB:.1f} MB",
                      r["peak_rss_mib"]["median"] < 30 * MIB_PER_MB))
    else:
        sec.append("Not measured.")
        goals.append(("Cold start + first request: Rust ≤ 1/10 of Python's wall time", "not measured", None))
        goals.append(("Cold start: Rust peak RSS under 30 MB", "not measured", None))
    cold_md = "\n".join(sec)

    # --- warm ------------------------------------------------------------------------------
    sec = []
    if wr_ddb or wp:
        rows = []
        for op in OPS:
            rr = (wr_ddb or {}).get(op)
            pp = (wp or {}).get("python", {}).get(op)
            yy = (wp or {}).get("pyo3", {}).get(op)
            rows.append([
                f"`{op}`",
                f"**{ms(rr['p50_us'])}** / {ms(rr['p99_us'])}" if rr else "–",
                f"**{ms(pp['p50_us'])}** / {ms(pp['p99_us'])}" if pp else "–",
                f"{ms(yy['p50_us'])} / {ms(yy['p99_us'])}" if yy else "–",
                ratio(pp and pp["p50_us"], rr and rr["p50_us"]),
                ratio(pp and pp["p50_us"], yy and yy["p50_us"]),
            ])
            if rr and pp:
                goals.append((f"Warm on DynamoDB (moto), `{op}`: Rust p50 ≤ Python p50",
                              f"{ms(rr['p50_us'])} vs {ms(pp['p50_us'])}", rr["p50_us"] <= pp["p50_us"]))
            else:
                goals.append((f"Warm on DynamoDB (moto), `{op}`: Rust p50 ≤ Python p50", "not measured", None))
        sec.append(table(["Operation", "Rust Lambda handler p50 / p99", "Python p50 / p99",
                          "Python → PyO3 p50 / p99", "Python / Rust (p50)", "Python / PyO3 (p50)"], rows))
        m = (wr_ddb or {}).get("meta") or (wp or {}).get("meta") or {}
        sec.append(f"\n{m.get('n_kept', '?')} kept invocations per operation and side after "
                   f"{m.get('n_warmup_discarded', '?')} discarded, in blocks of {m.get('block', '?')}; "
                   f"{m.get('base_tenants', '?')} ACTIVE tenants seeded first; after every block of creates or "
                   "parks the table is swept back to its state before the block. The same events "
                   "(`benches/harness/events/`) on each side, and for each runner a fresh moto with the same "
                   "table and bus (a used moto is a slower one), started through `benches/harness/moto_server.py`, "
                   "which removes two moto costs real DynamoDB does not have (it keeps every object it creates; "
                   "TransactWriteItems copies the whole table once per item instead of once) without changing "
                   "any answer. Rust: `warm_rust` (`ApiFunction::invoke`, the "
                   "Lambda's own call). Python and PyO3: `warm_python.py`, alternating blocks in one process.")
        floor = (wp or {}).get("meta", {}).get("endpoint_floor_boto3_start")
        if floor:
            sec.append("\nWhat moto itself costs per request (boto3 straight to the endpoint, p50, before the "
                       "Python run): " + ", ".join(f"{k.replace('_', ' ')} {ms(v['p50_us'])}" for k, v in floor.items())
                       + ". moto (a Python server) is the floor under every request, so these figures are "
                       "dominated by how many requests each handler makes (next section) and by moto's cost per "
                       "request type, not by the handlers' own work, which the next section also shows.")
    else:
        sec.append("Not measured.")
    warm_ddb_md = "\n".join(sec)

    sec = []
    if wr_mem:
        rows = []
        for op in OPS:
            rr = wr_mem.get(op)
            yy = (wp or {}).get("pyo3_memory", {}).get(op)
            rows.append([
                f"`{op}`",
                f"**{ms(rr['p50_us'])}** / {ms(rr['p90_us'])} / {ms(rr['p99_us'])}" if rr else "–",
                f"{ms(yy['p50_us'])} / {ms(yy['p90_us'])} / {ms(yy['p99_us'])}" if yy else "–",
            ])
        sec.append(table(["Operation", "Rust Lambda handler p50 / p90 / p99", "Python → PyO3 p50 / p90 / p99"], rows))
        for op in OPS:
            if op in wr_mem:
                v = wr_mem[op]["p50_us"]
                goals.append((f"Warm, Rust handler on the in-memory store, `{op}`: p50 under 50 µs", ms(v), v < 50))
        parts = wr_mem.get("get-parts")
        if parts:
            sec.append("\nWhere a `get` goes (each part timed alone, p50 over the same event):\n")
            names = {
                "handle_event": "`handle_event`: the API Gateway adapter + router + render, no drain",
                "lambda_http_from_str": "inside it: lambda_http parsing the event text into a request",
                "drain": "`drain`: the outbox relay after the request (empty outbox)",
                "payload_to_raw": "the runtime's part (in the `get` figure): the payload text read into a `Box<RawValue>`",
            }
            sec.append(table(["Part", "p50", "p99"],
                             [[names.get(k, k), ms(v["p50_us"]), ms(v["p99_us"])] for k, v in parts.items()]))
        lvl = wr_mem.get("meta", {}).get("log_level", "info")
        sec.append(f"\nThe Rust figures include the Lambda's logging (JSON lines at `LOG_LEVEL={lvl}`, one per request, "
                   "written to /dev/null). The memory store's event log lives on /dev/shm on both sides.")
    else:
        sec.append("Not measured.")
        goals.append(("Warm, Rust handler on the in-memory store: p50 under 50 µs", "not measured", None))
    warm_mem_md = "\n".join(sec)

    # --- DynamoDB requests -----------------------------------------------------------------
    sec = []
    if ddb:
        rows = []
        for op in [o for o in ("create", "get", "list", "list_all", "park") if o in ddb.get("python", {})]:
            py_c, rs_c = ddb["python"][op], ddb["rust"][op]
            py_n = ddb["dynamodb_requests"]["python"][op]
            rs_n = ddb["dynamodb_requests"]["rust"][op]
            relay = sum(v for k, v in ddb.get("rust_outbox_relay", {}).get(op, {}).items() if k != "PutEvents")
            rows.append([f"`{op}`", f"**{py_n}**", f"**{rs_n}**", str(relay),
                         ", ".join(f"{k} {v}" for k, v in py_c.items()),
                         ", ".join(f"{k} {v}" for k, v in rs_c.items())])
            goals.append((f"DynamoDB requests, `{op}`: Rust ≤ Python", f"{rs_n} vs {py_n}", rs_n <= py_n))
        sec.append(table(["Operation", "Python: DynamoDB requests", "Rust: DynamoDB requests",
                          "of which the Rust outbox relay", "Python: all requests", "Rust: all requests"], rows))
        sec.append("\nCounted at the endpoint (a recording proxy in front of moto); the Rust side is "
                   "`ApiFunction::invoke`, the Rust Lambda's own code, reached through `bbws.handle_api_event`. "
                   "`PutEvents` (EventBridge) is not a DynamoDB request.")
        split = ddb.get("time_split")
        if split and "python" in split and "rust" in split:
            rows = []
            for op in [o for o in ("create", "get", "list", "list_all", "park") if o in split["python"]]:
                sp, sr = split["python"][op], split["rust"].get(op)
                if not sr:
                    continue
                key = "outside_endpoint_less_proxy_p50_us" if "outside_endpoint_less_proxy_p50_us" in sp else "outside_endpoint_p50_us"
                rows.append([f"`{op}`", ms(sp["total_p50_us"]), ms(sp["endpoint_p50_us"]), f"**{ms(sp[key])}**",
                             ms(sr["total_p50_us"]), ms(sr["endpoint_p50_us"]), f"**{ms(sr[key])}**",
                             ratio(sp[key], sr[key])])
            sec.append("\nWhere the time of one invocation goes, through the same proxy (medians over "
                       f"{ddb.get('meta', {}).get('repeat', '?')} runs): the time the endpoint held its requests, and "
                       "the rest, which is the handler's own work with its SDK client (less the proxy's own share):\n")
            sec.append(table(["Operation", "Python total", "Python at the endpoint", "Python outside it",
                              "Rust total", "Rust at the endpoint", "Rust outside it", "Python / Rust outside"], rows))
    else:
        sec.append("Not measured.")
    ddb_md = "\n".join(sec)

    # --- bbws serve ------------------------------------------------------------------------
    sec = []
    if serve:
        rows = []
        for kind, label in (("get", "`GET /v1.0/tenants/{id}`"), ("post", "`POST /v1.0/tenants`")):
            s = serve[kind]
            rps = s["requests_per_s"]
            rows.append([label, f"**{rps['median']:,.0f}** ({rps['min']:,.0f}–{rps['max']:,.0f})",
                         ms(s["latency_us"]["p50"]), ms(s["latency_us"]["p99"]),
                         f"{s['server_peak_rss_mib_after']:.1f} MiB"])
        sec.append(table(["Request", "Requests/s (median, min–max)", "Latency p50", "Latency p99",
                          "Server peak RSS after these runs"], rows))
        wv = serve["wrk"]
        sec.append(f"\n{wv['version'].split(' Copyright')[0]}, {wv['threads']} threads, {wv['connections']} "
                   f"connections, {wv['duration_s']} s per run, {wv['runs']} runs each, GET and POST interleaved, on "
                   f"the `{serve['backend']}` store (a redb file, every commit fsynced). wrk runs on the same 2 cores "
                   f"as the server. Server peak RSS over the whole run: **{serve['server_peak_rss_mib']:.1f} MiB**. "
                   "Every response was 2xx (a run with any other status, socket error or timeout fails).")
        q = serve.get("get_quiet")
        if q:
            sec.append(f"\nThe same GET runs with `LOG_LEVEL=warn` (no per-request log line): "
                       f"**{q['requests_per_s']['median']:,.0f}** requests/s "
                       f"({q['requests_per_s']['min']:,.0f}–{q['requests_per_s']['max']:,.0f}), "
                       f"p50 {ms(q['latency_us']['p50'])}, p99 {ms(q['latency_us']['p99'])}.")
        g = serve["get"]["requests_per_s"]["median"]
        goals.append(("`bbws serve`, embedded store: over 20,000 GET/s",
                      f"{g:,.0f} GET/s" + (f" ({q['requests_per_s']['median']:,.0f} with LOG_LEVEL=warn)" if q else ""),
                      g > 20_000))
    else:
        sec.append("Not measured.")
        goals.append(("`bbws serve`, embedded store: over 20,000 GET/s", "not measured", None))
    serve_md = "\n".join(sec)

    # --- sizes -----------------------------------------------------------------------------
    sec = []
    if sizes:
        rows = [[f"`{b['name']}`", f"{b['bytes'] / 2**20:.2f} MiB ({b['bytes']:,} bytes)",
                 "yes" if b["stripped"] else "**no**"] for b in sizes["binaries"]]
        sec.append(table(["Lambda binary (release)", "Size", "Stripped"], rows))
        if sizes.get("wheel_module"):
            m = sizes["wheel_module"]
            sec.append(f"\nFor comparison, the PyO3 module of the `bbws` wheel ({m['profile']} build): "
                       f"{m['size_bytes'] / 2**20:.2f} MiB.")
    else:
        sec.append("Not measured.")
    sizes_md = "\n".join(sec)

    # --- goals -----------------------------------------------------------------------------
    w("## Goals\n")
    w(table(["Goal", "Measured", "Verdict"], [[g, m, verdict(ok)] for g, m, ok in goals]))
    w("\nWhy a goal is missed, and what would change it: "
      "[benches/README.md](README.md#what-the-figures-show-and-the-goals-that-are-missed).")
    w("\n## Cold start plus first request (whole process, Lambda Runtime API emulator)\n")
    w(cold_md)
    w("\n## Warm handler latency on DynamoDB (moto), in-process\n")
    w(warm_ddb_md)
    w("\n## Warm handler latency on the in-memory store (the handler's own overhead)\n")
    w(warm_mem_md)
    w("\n## DynamoDB requests per API operation\n")
    w(ddb_md)
    w("\n## `bbws serve` throughput (wrk)\n")
    w(serve_md)
    w("\n## Release sizes\n")
    w(sizes_md)
    w("\n## Machine\n")
    w(table(["", ""], [[k, f"`{v}`" if v not in (None, "") else "?"] for k, v in (
        ("nproc", machine.get("nproc")), ("CPU (lscpu)", machine.get("cpu")), ("kernel", machine.get("kernel")),
        ("memory", machine.get("memory")), ("rustc", machine.get("rustc")), ("python", machine.get("python")),
        ("moto", machine.get("moto")), ("wrk", machine.get("wrk")),
        ("load average before / after", f"{machine.get('load_before', '?')} / {machine.get('load_after', '?')}"),
        ("date (UTC)", machine.get("date")), ("whole run", machine.get("duration")))]))
    w("\n## Commands\n")
    w("One command runs all of it: `benches/run`. What it ran, in order:\n")
    w("```sh")
    for c in commands.get("commands", []):
        w(c)
    w("```")
    a.out.write_text("\n".join(md) + "\n")
    print(f"report: wrote {a.out}")


if __name__ == "__main__":
    main()
