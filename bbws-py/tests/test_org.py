"""bbws.OrgService: a tenant's hierarchy, its users and roles, and invitations through the
embedded mailbox, with errors raised as their bbws exception classes."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import bbws
from conftest import ADMIN, OUTSIDER, new_body

PACKAGE = Path(bbws.__file__).parent


@pytest.fixture
def org() -> bbws.OrgService:
    with bbws.OrgService() as o:
        yield o


@pytest.fixture
def tenant_id(org: bbws.OrgService) -> str:
    """An ACTIVE tenant on the org service's backend."""
    tenants = org.tenant_service()
    t = tenants.create(ADMIN, new_body())
    tenants.set_status(ADMIN, t["tenantId"], "ACTIVE")
    return t["tenantId"]


def test_hierarchy_is_built_shown_and_deleted_only_with_cascade(org: bbws.OrgService, tenant_id: str) -> None:
    div = org.create_division(ADMIN, tenant_id, "Sales")
    assert div["kind"] == "DIVISION" and div["version"] == 1
    d = div["divisionId"]
    grp = org.create_group(ADMIN, tenant_id, d, "EMEA")
    g = grp["groupId"]
    team = org.create_team(ADMIN, tenant_id, d, g, "Alpha", idempotency_key="team-alpha")
    assert team["kind"] == "TEAM"
    # The same key replays the first result.
    assert org.create_team(ADMIN, tenant_id, d, g, "Alpha", idempotency_key="team-alpha")["teamId"] == team["teamId"]

    with pytest.raises(bbws.HierarchyExistsError):
        org.create_division(ADMIN, tenant_id, "SALES")

    assert [u["name"] for u in org.list_units(ADMIN, tenant_id)["items"]] == ["Sales"]
    assert [u["name"] for u in org.list_units(ADMIN, tenant_id, division_id=d)["items"]] == ["EMEA"]
    assert org.get_unit(ADMIN, tenant_id, d, g, team["teamId"])["name"] == "Alpha"

    renamed = org.rename_unit(ADMIN, tenant_id, "Sales EU", d, if_match=1)
    assert renamed["name"] == "Sales EU" and renamed["version"] == 2
    with pytest.raises(bbws.VersionConflictError):
        org.rename_unit(ADMIN, tenant_id, "Sales", d, if_match='"1"')

    tree = org.tree(ADMIN, tenant_id)
    assert tree["divisions"][0]["name"] == "Sales EU"
    assert tree["divisions"][0]["groups"][0]["teams"][0]["name"] == "Alpha"

    with pytest.raises(bbws.HierarchyNotEmptyError) as refused:
        org.delete_unit(ADMIN, tenant_id, d)
    assert refused.value.code == "HIERARCHY_NOT_EMPTY"
    assert len(org.tree(ADMIN, tenant_id)["divisions"]) == 1

    org.delete_unit(ADMIN, tenant_id, d, cascade=True)
    assert org.tree(ADMIN, tenant_id)["divisions"] == []
    with pytest.raises(bbws.TeamNotFoundError):
        org.get_unit(ADMIN, tenant_id, d, g, team["teamId"])


def test_paths_by_name(org: bbws.OrgService, tenant_id: str) -> None:
    nodes = org.ensure_path(ADMIN, tenant_id, "Ops", "Infra", "On-call")
    assert [n["kind"] for n in nodes] == ["DIVISION", "GROUP", "TEAM"]
    with pytest.raises(bbws.HierarchyExistsError):
        org.ensure_path(ADMIN, tenant_id, "Ops", "Infra", "On-call")
    renamed = org.rename_path(ADMIN, tenant_id, "Platform", "Ops", "Infra")
    assert renamed[-1]["name"] == "Platform"
    deleted = org.delete_path(ADMIN, tenant_id, "Ops", cascade=True)
    assert deleted["kind"] == "DIVISION"


def test_users_are_assigned_and_the_last_admin_stays(org: bbws.OrgService, tenant_id: str) -> None:
    ann = org.register_user("ann@acme.example", user_id="ann-1")
    assert ann == {"userId": "ann-1", "email": "ann@acme.example", "enabled": True}
    bea = org.register_user("bea@acme.example")["userId"]
    assert {u["userId"] for u in org.directory_users()} == {"ann-1", bea}

    a = org.assign_user(ADMIN, tenant_id, "ann@acme.example", "admin")
    assert a["userId"] == "ann-1" and a["role"] == "Admin"
    org.assign_user(ADMIN, tenant_id, "bea@acme.example", "Viewer")
    with pytest.raises(bbws.UserNotFoundError):
        org.assign_user(ADMIN, tenant_id, "nobody@acme.example", "viewer")
    with pytest.raises(bbws.UserAlreadyAssignedError):
        org.assign_user(ADMIN, tenant_id, "bea@acme.example", "viewer")

    assert org.list_users(ADMIN, tenant_id)["count"] == 2
    assert [u["userId"] for u in org.list_users(ADMIN, tenant_id, role="Viewer")["items"]] == [bea]

    assert org.change_role(ADMIN, tenant_id, bea, "operator")["role"] == "Operator"
    assert org.get_assignment(ADMIN, tenant_id, bea)["role"] == "Operator"

    with pytest.raises(bbws.LastAdminError) as last:
        org.change_role(ADMIN, tenant_id, "ann-1", "viewer")
    assert last.value.code == "LAST_ADMIN"
    with pytest.raises(bbws.LastAdminError):
        org.remove_user(ADMIN, tenant_id, "ann-1")

    # The tenant's own admin, by its assignment: with a second admin, the first may step down.
    ann_claims: dict[str, Any] = {"sub": "ann-1", "email": "ann@acme.example"}
    org.change_role(ann_claims, tenant_id, bea, "admin")
    assert org.change_role(ann_claims, tenant_id, "ann-1", "viewer")["role"] == "Viewer"

    d = org.create_division(ADMIN, tenant_id, "Eng")["divisionId"]
    g = org.create_group(ADMIN, tenant_id, d, "Web")["groupId"]
    t = org.create_team(ADMIN, tenant_id, d, g, "Front")["teamId"]
    member = org.add_member(ADMIN, tenant_id, d, g, t, bea)
    assert member["userId"] == bea
    assert org.list_members(ADMIN, tenant_id, d, g, t)["count"] == 1
    profile = org.get_user(ADMIN, "bea@acme.example")
    assert profile["userId"] == bea and len(profile["teams"]) == 1
    org.remove_member(ADMIN, tenant_id, d, g, t, bea)
    assert org.list_members(ADMIN, tenant_id, d, g, t)["count"] == 0

    org.remove_user(ADMIN, tenant_id, "ann-1")
    with pytest.raises(bbws.AssignmentNotFoundError):
        org.get_assignment(ADMIN, tenant_id, "ann-1")


def test_an_invitation_is_accepted_through_the_mailbox(org: bbws.OrgService, tenant_id: str) -> None:
    inv = org.create_invitation(ADMIN, tenant_id, "cat@acme.example", "operator")
    assert inv["status"] == "PENDING"
    with pytest.raises(bbws.DuplicateInvitationError):
        org.create_invitation(ADMIN, tenant_id, "cat@acme.example", "viewer")

    [mail] = org.mailbox()
    assert mail["to"] == "cat@acme.example"
    link = mail["link"]
    assert link and "/invitations/" in link and link in mail["text"]
    token = link.rsplit("/", 1)[1]

    view = org.view_invitation(token)
    assert view["isValid"] is True and view["role"] == "Operator"

    # A new link replaces the old one.
    assert org.resend_invitation(ADMIN, tenant_id, inv["invitationId"])["resendCount"] == 1
    mails = org.mailbox()
    assert len(mails) == 2 and org.mailbox(start=mails[1]["seq"]) == [mails[1]]
    # The old link leads nowhere any more.
    with pytest.raises(bbws.InvitationNotFoundError):
        org.view_invitation(token)
    link = mails[1]["link"]

    with pytest.raises(bbws.ForbiddenError):
        org.accept_invitation({"sub": "eve-1", "email": "eve@acme.example"}, link)
    accepted = org.accept_invitation({"sub": "cat-1", "email": "cat@acme.example"}, link)
    assert accepted["userId"] == "cat-1" and accepted["role"] == "Operator"

    mine = org.user_tenants({"sub": "cat-1", "email": "cat@acme.example"}, "cat-1")
    assert [t["tenantId"] for t in mine["items"]] == [tenant_id]
    assert org.get_invitation(ADMIN, tenant_id, inv["invitationId"])["status"] == "ACCEPTED"
    with pytest.raises(bbws.InvitationAlreadyUsedError):
        org.decline_invitation(link)

    other = org.create_invitation(ADMIN, tenant_id, "dan@acme.example", "viewer")
    assert org.revoke_invitation(ADMIN, tenant_id, other["invitationId"])["status"] == "CANCELLED"
    third = org.create_invitation(ADMIN, tenant_id, "eli@acme.example", "viewer")
    declined = org.decline_invitation(org.mailbox()[-1]["link"])
    assert declined["status"] == "DECLINED"
    fay = org.create_invitation(ADMIN, tenant_id, "fay@acme.example", "viewer")
    assert org.cancel_invitation(ADMIN, tenant_id, fay["invitationId"])["status"] == "CANCELLED"
    statuses = {i["email"]: i["status"] for i in org.list_invitations(ADMIN, tenant_id)["items"]}
    assert statuses == {
        "cat@acme.example": "ACCEPTED",
        "dan@acme.example": "CANCELLED",
        "eli@acme.example": "DECLINED",
        "fay@acme.example": "CANCELLED",
    }
    assert [i["invitationId"] for i in org.list_invitations(ADMIN, tenant_id, status="declined")["items"]] == [
        third["invitationId"]
    ]


def test_errors_map_to_their_classes(org: bbws.OrgService, tenant_id: str) -> None:
    with pytest.raises(bbws.ValidationError) as bad:
        org.create_division(ADMIN, "not-a-tenant", "Sales")
    assert bad.value.http_status == 400
    with pytest.raises(bbws.ValidationError):
        org.create_division(ADMIN, tenant_id, "   ")
    with pytest.raises(bbws.ValidationError):
        org.get_unit(ADMIN, tenant_id, "div-nope")
    with pytest.raises(bbws.ValidationError):
        org.assign_user(ADMIN, tenant_id, "x@acme.example", "boss")
    with pytest.raises(bbws.ValidationError):
        org.register_user("not-an-email")
    with pytest.raises(bbws.DivisionNotFoundError):
        org.get_unit(ADMIN, tenant_id, "div-11111111-1111-4111-8111-111111111111")
    with pytest.raises(bbws.InvitationNotFoundError):
        org.view_invitation("A" * 43)
    # A caller outside the tenant cannot tell it exists.
    with pytest.raises(bbws.TenantNotFoundError):
        org.tree(OUTSIDER, tenant_id)
    with pytest.raises(bbws.BusinessException):
        org.list_users({"sub": "stranger"}, tenant_id)


def test_embedded_backend_persists_and_closes(tmp_path: Path) -> None:
    with bbws.OrgService(backend="embedded", data_dir=tmp_path) as org:
        assert "embedded" in repr(org)
        tenants = org.tenant_service()
        t = tenants.create(ADMIN, new_body())
        tenants.set_status(ADMIN, t["tenantId"], "ACTIVE")
        org.create_division(ADMIN, t["tenantId"], "Kept")
        org.register_user("kim@acme.example", user_id="kim-1")
        tenants.close()
    assert org.closed
    with pytest.raises(ValueError):
        org.tree(ADMIN, t["tenantId"])
    with bbws.OrgService(backend="embedded", data_dir=tmp_path) as again:
        assert again.tree(ADMIN, t["tenantId"])["divisions"][0]["name"] == "Kept"
        assert [u["userId"] for u in again.directory_users()] == ["kim-1"]


def test_stub_methods_match_the_class() -> None:
    tree = ast.parse((PACKAGE / "_bbws.pyi").read_text())
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "OrgService"]
    stubbed = {n.name for n in cls.body if isinstance(n, ast.FunctionDef)}
    public = {n for n in dir(bbws.OrgService) if not n.startswith("_")}
    assert public <= stubbed
    assert stubbed - public <= {"__init__", "__enter__", "__exit__"}
    assert bbws.OrgService.__module__ == "bbws"
