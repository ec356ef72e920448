"""``AuditLogger``: one audit item per change (LLD 2.5 §5.6), written after the change itself."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from .dao import TenantDao, tenant_pk
from .models import iso_ms

# The LLD's audit items carry a `ttl`; their retention is unstated there (digest C25), the
# proposal is one year.
RETENTION = timedelta(days=365)


class AuditLogger:
    def __init__(self, dao: TenantDao) -> None:
        self.dao = dao

    def log_event(
        self, tenant_id: str, event_type: str, details: dict[str, Any], actor: str, at: datetime
    ) -> str:
        event_id = f"evt-{uuid.uuid4()}"
        ts = iso_ms(at)
        self.dao.put_item(
            {
                "PK": tenant_pk(tenant_id),
                "SK": f"EVENT#{ts}#{event_id}",
                "entityType": "AUDIT",
                "eventId": event_id,
                "tenantId": tenant_id,
                "eventType": event_type,
                "timestamp": ts,
                "actor": actor,
                "details": details,
                "ttl": int((at + RETENTION).timestamp()),
            }
        )
        return event_id
