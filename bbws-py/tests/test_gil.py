"""bbws releases the GIL while Rust works.

The check is deterministic, with no timing in it. A `create` on the memory backend with a data
directory commits the tenant, then publishes its event by opening `<data_dir>/events.jsonl` for
writing. Here that file is a FIFO, so the open blocks inside the Rust call until a reader opens
the other end. The only reader is Python code that first waits until it can *see* the committed
tenant (which happens inside that same Rust call) and then opens the FIFO. So the create can
finish only if Python code ran while it was in flight:

- GIL released: the reader sees the tenant, opens the FIFO, the create returns;
- GIL held: the reader never runs again and the create never returns: a deadlock, which the
  subprocess timeout turns into a failure (instead of hanging the suite).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

PROBE = textwrap.dedent(
    """
    import json, os, sys, threading
    import bbws

    data_dir = sys.argv[1]
    fifo = os.path.join(data_dir, "events.jsonl")
    os.mkfifo(fifo)
    svc = bbws.TenantService(data_dir=data_dir)
    admin = {"sub": "gil-probe", "email": "probe@bbws.example", "cognito:groups": ["Admins"]}
    created = {}

    def create():
        created["tenant"] = svc.create(
            admin, {"organizationName": "Gil Probe", "contactEmail": "p@probe.example", "environment": "dev"}
        )

    writer = threading.Thread(target=create)
    writer.start()
    # Runs only while the create is inside Rust: wait until its write is visible ...
    polls = 0
    while not svc.list(admin, organization_name="Gil Probe")["items"]:
        polls += 1
    # ... then open the reading end the create's event publication is blocked on.
    with open(fifo, "rb") as f:
        line = f.readline()
    writer.join()
    print(json.dumps({"event": json.loads(line)["detail-type"], "tenant": created["tenant"]["tenantId"],
                      "visible": svc.list(admin)["count"]}))
    """
)


def test_python_threads_run_while_a_rust_call_is_in_flight(tmp_path: Path) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", PROBE, str(tmp_path)],
            capture_output=True,
            text=True,
            timeout=120,
        )
    except subprocess.TimeoutExpired as e:
        raise AssertionError(
            "deadlock: a Python thread could not run while TenantService.create was in Rust "
            f"(the GIL was not released)\nstderr: {e.stderr!r}"
        ) from None
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["event"] == "TENANT_CREATED"
    assert out["tenant"].startswith("tenant-")
    assert out["visible"] == 1
