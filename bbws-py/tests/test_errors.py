"""The exception hierarchy of LLD 2.5 §11.1, and what each exception carries."""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import pytest

import bbws
from conftest import ADMIN, new_body

UNKNOWN = "tenant-11111111-1111-4111-8111-111111111111"


def test_business_exception_catches_tenant_not_found(svc: bbws.TenantService) -> None:
    try:
        svc.get(ADMIN, UNKNOWN)
    except bbws.BusinessException as e:
        caught = e
    else:
        pytest.fail("no exception")
    assert type(caught) is bbws.TenantNotFoundError
    assert isinstance(caught, bbws.TenantManagementError)
    assert not isinstance(caught, bbws.UnexpectedException)
    assert caught.code == "TENANT_NOT_FOUND"
    assert caught.message == str(caught) == f"Tenant {UNKNOWN} not found"
    assert caught.details == {"tenantId": UNKNOWN}
    assert caught.http_status == 404


def test_hierarchy_follows_the_error_code_table() -> None:
    codes = bbws.error_codes()
    assert len(codes) >= 20
    for code, row in codes.items():
        cls = getattr(bbws, row["exception"])
        parent = getattr(bbws, row["parent"])
        assert issubclass(cls, parent), code
        assert issubclass(parent, bbws.TenantManagementError)
        assert (row["parent"] == "BusinessException") == (row["httpStatus"] < 500), code
        if cls not in (bbws.UnexpectedException,):
            assert cls.code == code and cls.http_status == row["httpStatus"]
    assert issubclass(bbws.TenantManagementError, Exception)
    assert bbws.TenantNotFoundError.__module__ == "bbws"
    assert bbws.TenantNotFoundError.__qualname__ == "TenantNotFoundError"


def test_invalid_status_transition_carries_the_state_machine(svc: bbws.TenantService, tenant: dict[str, Any]) -> None:
    with pytest.raises(bbws.InvalidStatusTransitionError) as e:
        svc.park(ADMIN, tenant["tenantId"], "Nobody is using it right now")
    err = e.value
    assert isinstance(err, bbws.BusinessException)
    assert err.code == "INVALID_STATUS_TRANSITION" and err.http_status == 422
    assert err.current_status == "PENDING"
    assert err.allowed_transitions == ["ACTIVE", "FAILED"]
    assert err.details["currentStatus"] == "PENDING"
    assert err.details["requestedStatus"] == "PARKED"
    assert err.details["allowedTransitions"] == ["ACTIVE", "FAILED"]
    assert svc.get(ADMIN, tenant["tenantId"])["status"] == "PENDING"


def test_validation_error_lists_every_bad_field(svc: bbws.TenantService) -> None:
    with pytest.raises(bbws.ValidationError) as e:
        svc.create(ADMIN, {"organizationName": "A", "contactEmail": "not-an-email"})
    err = e.value
    assert err.code == "VALIDATION_ERROR" and err.http_status == 400
    assert err.message == "Request validation failed"
    assert err.details == {
        "fields": [
            {"field": "organizationName", "message": "Organization name must be between 2 and 100 characters"},
            {"field": "contactEmail", "message": "Invalid email format"},
            {"field": "environment", "message": "environment is required"},
        ]
    }


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (new_body(plan="gold"), "plan", "unknown field `plan`"),
        (new_body(metadata=["a"]), "metadata", "invalid type: sequence, expected a map"),
        (new_body(environment=3), "environment", "invalid type: integer `3`, expected a string"),
        (["not", "an", "object"], "body", "The request body must be a JSON object"),
        (new_body(metadata={"when": {1, 2}}), "body", "body is not JSON-serialisable"),
        (new_body(metadata={"ratio": float("nan")}), "body", "body is not JSON-serialisable"),
    ],
)
def test_bodies_are_validated_as_the_api_does(svc: bbws.TenantService, body: Any, field: str, message: str) -> None:
    with pytest.raises(bbws.ValidationError) as e:
        svc.create(ADMIN, body)
    [only] = e.value.details["fields"]
    assert only["field"] == field
    assert only["message"].startswith(message)


def test_oversized_bodies_are_refused(svc: bbws.TenantService) -> None:
    with pytest.raises(bbws.PayloadTooLargeError) as e:
        svc.create(ADMIN, new_body(metadata={"blob": "x" * 70_000}))
    assert e.value.http_status == 413


def test_duplicate_names_conflict(svc: bbws.TenantService) -> None:
    body = new_body()
    svc.create(ADMIN, body)
    with pytest.raises(bbws.ConflictError) as e:
        svc.create(ADMIN, body | {"organizationName": body["organizationName"].upper()})
    err = e.value
    assert isinstance(err, bbws.BusinessException)
    assert err.code == "CONFLICT" and err.http_status == 409
    assert err.details == {"organizationName": body["organizationName"].upper()}
    assert "already exists" in err.message
    # A rename onto a taken name conflicts as well.
    other = svc.create(ADMIN, new_body())
    with pytest.raises(bbws.ConflictError):
        svc.update(ADMIN, other["tenantId"], {"organizationName": body["organizationName"]})


def test_server_errors_hide_their_cause_and_log_it(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with bbws.TenantService(backend="embedded", data_dir=tmp_path):
        with caplog.at_level(logging.ERROR, logger="bbws"), pytest.raises(bbws.UnexpectedException) as e:
            bbws.TenantService(backend="embedded", data_dir=tmp_path)
    err = e.value
    assert type(err) is bbws.StorageError
    assert not isinstance(err, bbws.BusinessException)
    assert err.code == "STORAGE_ERROR" and err.http_status == 500
    assert err.message == "Internal server error" and err.details == {}
    assert "in use" in caplog.text and "STORAGE_ERROR" in caplog.text


def test_exceptions_survive_pickling(svc: bbws.TenantService) -> None:
    with pytest.raises(bbws.TenantNotFoundError) as e:
        svc.get(ADMIN, UNKNOWN)
    copy = pickle.loads(pickle.dumps(e.value))
    assert type(copy) is bbws.TenantNotFoundError
    assert (copy.code, copy.message, copy.details) == (e.value.code, e.value.message, e.value.details)


def test_python_code_may_raise_them_too() -> None:
    with pytest.raises(bbws.BusinessException) as e:
        raise bbws.ConflictError("taken")
    assert e.value.code == "CONFLICT" and e.value.http_status == 409
