"""The caller, from the claims of the API Gateway Cognito authorizer, and LLD 2.5 §9.2's RBAC.

Groups: ``Admins`` (platform admin: every tenant), ``Operators`` / ``Viewers`` (that role on each
tenant in ``custom:tenantIds``), ``{tenantId}-admins|operators|viewers`` (that role on that
tenant). API Gateway flattens ``cognito:groups`` into a string (``"[Admins, x]"``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from .errors import ForbiddenError, UnauthorizedError

ADMIN, OPERATOR, VIEWER = "Admin", "Operator", "Viewer"
_RANK = {VIEWER: 1, OPERATOR: 2, ADMIN: 3}
_SUFFIX = {"-admins": ADMIN, "-operators": OPERATOR, "-viewers": VIEWER}


def _groups(raw: Any) -> list[str]:
    if isinstance(raw, list):
        return [str(g).strip() for g in raw if str(g).strip()]
    if not isinstance(raw, str):
        return []
    text = raw.strip().strip("[]")
    return [g for g in text.replace(",", " ").split() if g]


@dataclass
class Caller:
    sub: str
    email: Optional[str]
    platform_admin: bool = False
    global_role: Optional[str] = None
    roles: dict[str, str] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return self.email or self.sub

    @classmethod
    def from_claims(cls, claims: Optional[dict[str, Any]]) -> "Caller":
        if not claims or not str(claims.get("sub", "")).strip():
            raise UnauthorizedError("The request carries no authorizer claims")
        caller = cls(sub=str(claims["sub"]).strip(), email=(claims.get("email") or None))
        listed = [t.strip() for t in str(claims.get("custom:tenantIds", "")).split(",") if t.strip()]
        for g in _groups(claims.get("cognito:groups")):
            if g == "Admins":
                caller.platform_admin = True
            elif g in ("Operators", "Viewers"):
                role = OPERATOR if g == "Operators" else VIEWER
                for t in listed:
                    caller._grant(t, role)
            else:
                for suffix, role in _SUFFIX.items():
                    if g.endswith(suffix):
                        caller._grant(g[: -len(suffix)], role)
        return caller

    def _grant(self, tenant_id: str, role: str) -> None:
        if _RANK[role] > _RANK.get(self.roles.get(tenant_id, ""), 0):
            self.roles[tenant_id] = role

    def role_in(self, tenant_id: str) -> Optional[str]:
        return ADMIN if self.platform_admin else self.roles.get(tenant_id)

    def require_create(self) -> None:
        if not (self.platform_admin or any(_RANK[r] >= _RANK[OPERATOR] for r in self.roles.values())):
            raise ForbiddenError("Creating tenants needs the Admin or Operator role")

    def require(self, tenant_id: str, minimum: str) -> None:
        role = self.role_in(tenant_id)
        if role is None or _RANK[role] < _RANK[minimum]:
            raise ForbiddenError(f"This operation needs the {minimum} role on the tenant")

    def can_see(self, tenant_id: str) -> bool:
        return self.role_in(tenant_id) is not None
