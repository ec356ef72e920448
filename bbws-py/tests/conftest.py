"""Shared fixtures of the bbws Python suite.

The suite tests the *installed* package (scripts/python-tests builds the wheel and installs it
into the project's virtualenv first), so it sees exactly what a user's `pip install` gives.
"""

from __future__ import annotations

import atexit
import itertools
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "bbws-lambda" / "tests" / "fixtures" / "apigw"

# handle_api_event builds its function once per process from the environment, on the first
# event: point it at an in-memory store before any test runs.
os.environ["BBWS_BACKEND"] = "memory"
os.environ["BBWS_DATA_DIR"] = tempfile.mkdtemp(prefix="bbws-pytest-")
atexit.register(shutil.rmtree, os.environ["BBWS_DATA_DIR"], ignore_errors=True)

import bbws  # noqa: E402  (after the environment is set)

ADMIN: dict[str, Any] = {
    "sub": "0b6c3a8e-admin",
    "email": "ops@bbws.example",
    "cognito:groups": ["Admins"],
}
OPERATOR: dict[str, Any] = {
    "sub": "0b6c3a8e-operator",
    "email": "operator@bbws.example",
    # As API Gateway flattens the groups of a REST API authorizer.
    "cognito:groups": "[Operators]",
}


def viewer_of(tenant_id: str) -> dict[str, Any]:
    return {
        "sub": "0b6c3a8e-viewer",
        "email": "viewer@acme.example",
        "cognito:groups": "Viewers",
        "custom:tenantIds": tenant_id,
    }


def tenant_admin_of(tenant_id: str) -> dict[str, Any]:
    return {"sub": "0b6c3a8e-tadmin", "email": "tadmin@acme.example", "cognito:groups": [f"{tenant_id}-admins"]}


OUTSIDER: dict[str, Any] = {
    "sub": "0b6c3a8e-outsider",
    "email": "someone@elsewhere.example",
    "cognito:groups": ["Viewers"],
    "custom:tenantIds": "tenant-00000000-0000-4000-8000-000000000000",
}

_names = itertools.count(1)


def new_body(**overrides: Any) -> dict[str, Any]:
    """A valid create body with an organisation name no other test uses."""
    body: dict[str, Any] = {
        "organizationName": f"Acme {next(_names)} Ltd",
        "contactEmail": "admin@acme.example",
        "environment": "dev",
    }
    body.update(overrides)
    return body


@pytest.fixture
def svc() -> bbws.TenantService:
    with bbws.TenantService() as s:
        yield s


@pytest.fixture
def tenant(svc: bbws.TenantService) -> dict[str, Any]:
    """A PENDING tenant."""
    return svc.create(ADMIN, new_body())


@pytest.fixture
def active(svc: bbws.TenantService, tenant: dict[str, Any]) -> dict[str, Any]:
    """An ACTIVE tenant."""
    return svc.set_status(ADMIN, tenant["tenantId"], "ACTIVE")
