"""The persistent embedded store from Python: data survives the service, the file is locked while a
service has it open, and writes publish their events to the data directory's event log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import bbws
from conftest import ADMIN, new_body


def events(data_dir: Path) -> list[dict]:
    log = data_dir / "events.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def test_data_survives_the_service(tmp_path: Path) -> None:
    first = bbws.TenantService(backend="embedded", data_dir=tmp_path)
    t = first.create(ADMIN, new_body())
    first.set_status(ADMIN, t["tenantId"], "ACTIVE")
    first.park(ADMIN, t["tenantId"], "Closed for the winter season")
    first.close()

    with bbws.TenantService(backend="embedded", data_dir=str(tmp_path)) as second:
        assert repr(second) == f"TenantService(backend='embedded', data_dir={str(tmp_path)!r})"
        again = second.get(ADMIN, t["tenantId"])
        assert again["status"] == "PARKED"
        assert again["parkReason"] == "Closed for the winter season"
        assert again["version"] == 3
        assert [x["tenantId"] for x in second.list(ADMIN)["items"]] == [t["tenantId"]]
        # The name guard persisted too.
        with pytest.raises(bbws.ConflictError):
            second.create(ADMIN, new_body(organizationName=t["organizationName"]))
    assert second.closed


def test_the_store_is_locked_while_open(tmp_path: Path) -> None:
    with bbws.TenantService(backend="embedded", data_dir=tmp_path) as s:
        with pytest.raises(bbws.StorageError):
            bbws.TenantService(backend="embedded", data_dir=tmp_path)
        s.create(ADMIN, new_body())
    # Released by close (the context manager's exit): it opens again.
    with bbws.TenantService(backend="embedded", data_dir=tmp_path) as s:
        assert s.list(ADMIN)["count"] == 1


def test_deleting_the_last_reference_releases_the_store(tmp_path: Path) -> None:
    s = bbws.TenantService(backend="embedded", data_dir=tmp_path)
    s.create(ADMIN, new_body())
    del s
    with bbws.TenantService(backend="embedded", data_dir=tmp_path) as again:
        assert again.list(ADMIN)["count"] == 1


def test_writes_publish_their_events(tmp_path: Path) -> None:
    with bbws.TenantService(backend="embedded", data_dir=tmp_path) as s:
        t = s.create(ADMIN, new_body())
        assert [e["detail-type"] for e in events(tmp_path)] == ["TENANT_CREATED"]
        s.get(ADMIN, t["tenantId"])
        s.set_status(ADMIN, t["tenantId"], "ACTIVE")
        s.suspend(ADMIN, t["tenantId"], "Payment failed three times")
    published = events(tmp_path)
    assert [e["detail-type"] for e in published] == ["TENANT_CREATED", "TENANT_STATUS_CHANGED", "TENANT_SUSPENDED"]
    assert {e["source"] for e in published} == {"bbws.tenant-management"}
    assert published[2]["detail"]["reason"] == "Payment failed three times"
    assert published[2]["detail"]["tenantId"] == t["tenantId"]


def test_memory_backend_with_a_data_dir_publishes_there(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    with bbws.TenantService(data_dir=data_dir) as s:
        s.create(ADMIN, new_body())
    assert [e["detail-type"] for e in events(data_dir)] == ["TENANT_CREATED"]
    assert not (data_dir / "bbws.redb").exists(), "no store file for the memory backend"
    with bbws.TenantService(data_dir=data_dir) as s:
        assert s.list(ADMIN)["count"] == 0, "memory is memory"
