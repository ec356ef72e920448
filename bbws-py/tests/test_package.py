"""The package as shipped: the wheel installs into a clean virtualenv and works there, and the
type stubs describe exactly what the module exports."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import bbws
from conftest import REPO

PACKAGE = Path(bbws.__file__).parent


def wheel() -> Path:
    """The wheel scripts/python-tests built (BBWS_WHEEL), else the one in target/wheels."""
    if os.environ.get("BBWS_WHEEL"):
        return Path(os.environ["BBWS_WHEEL"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    found = sorted((target / "wheels").glob(f"bbws-{bbws.__version__}-cp311-abi3-*.whl"), key=lambda p: p.stat().st_mtime)
    if not found:
        pytest.fail("no bbws wheel: build it with scripts/python-tests (or set BBWS_WHEEL)")
    return found[-1]


CLEAN_VENV_CHECK = textwrap.dedent(
    """
    import bbws
    svc = bbws.TenantService()
    admin = {"sub": "u-1", "cognito:groups": ["Admins"]}
    try:
        svc.get(admin, "tenant-11111111-1111-4111-8111-111111111111")
    except bbws.BusinessException as e:
        assert type(e) is bbws.TenantNotFoundError, type(e)
        assert e.code == "TENANT_NOT_FOUND", e.code
        print("caught", type(e).__name__, e.code, bbws.__file__)
    else:
        raise SystemExit("no exception")
    """
)


def test_wheel_installs_into_a_clean_virtualenv(tmp_path: Path) -> None:
    whl = wheel()
    assert "-cp311-abi3-" in whl.name, "one abi3 wheel for every CPython >= 3.11"
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [python, "-m", "pip", "install", "--no-index", "--disable-pip-version-check", str(whl)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    # Run from an empty directory, so nothing but the installed wheel can be imported.
    run = subprocess.run([python, "-c", CLEAN_VENV_CHECK], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.startswith("caught TenantNotFoundError TENANT_NOT_FOUND ")
    assert str(venv) in run.stdout, "imported from the clean virtualenv"
    files = {p.name for p in (venv / "lib").glob("python3*/site-packages/bbws/*")}
    assert {"__init__.py", "_bbws.pyi", "py.typed"} <= files
    assert any(f.startswith("_bbws.") and f.endswith(".so") for f in files)


def stub_names() -> tuple[set[str], set[str]]:
    """(names the stub declares, those that exist for type checkers only)."""
    tree = ast.parse((PACKAGE / "_bbws.pyi").read_text())
    declared: set[str] = set()
    typing_only: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            declared.add(node.name)
            bases = {ast.unparse(b) for b in getattr(node, "bases", [])}
            if "TypedDict" in bases:
                typing_only.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            declared.add(node.target.id)
        elif isinstance(node, ast.Assign):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    declared.add(t.id)
                    typing_only.add(t.id)
    return declared, typing_only


def test_stubs_match_the_module() -> None:
    declared, typing_only = stub_names()
    native = {n for n in dir(bbws._bbws) if not n.startswith("__") or n == "__version__"}
    assert declared - typing_only == native
    assert set(bbws.__all__) == native
    assert (PACKAGE / "py.typed").exists()


@pytest.mark.parametrize("name", ["TenantService", "OrgService", "InstanceService"])
def test_stub_methods_match_the_class(name: str) -> None:
    tree = ast.parse((PACKAGE / "_bbws.pyi").read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    stubbed = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    public = {n for n in dir(getattr(bbws, name)) if not n.startswith("_")}
    assert public <= stubbed
    assert stubbed - public <= {"__init__", "__enter__", "__exit__"}


def test_module_metadata() -> None:
    from importlib.metadata import version

    assert bbws.__version__ == version("bbws")
    assert bbws.TenantService.__module__ == "bbws"
    assert bbws.TenantService.create.__doc__
