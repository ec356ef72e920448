"""``EventPublisher``: domain events to EventBridge (LLD 2.5 §7.5, §8.3), after the write.

Retries follow LLD §11.3 (3 retries, exponential from 200 ms) on top of boto3's own. When every
attempt fails the event is written as an outbox item in the bbws layout (``PK=OUTBOX``,
``SK={time}#{eventId}``) for bbws's relay to publish, instead of failing a request whose change is
already stored. The LLD leaves that case open; in the normal case (the bus accepts the event)
nothing beyond the LLD's one ``PutEvents`` happens.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import datetime
from typing import Any, Optional

import boto3
from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from .dao import TenantDao
from .models import iso_ms

SOURCE = "bbws.tenant-management"
RETRIES = 3
BACKOFF_S = 0.2

logger = Logger(child=True)


class EventPublisher:
    def __init__(self, dao: TenantDao, bus: Optional[str] = None) -> None:
        env = os.environ.get("ENVIRONMENT", "dev")
        self.bus = bus or os.environ.get("EVENT_BUS_NAME") or f"bbws-events-{env}"
        self.client = boto3.client("events")
        self.dao = dao

    def publish(self, event_type: str, tenant_id: str, detail: dict[str, Any], at: datetime) -> None:
        entry = {
            "Source": SOURCE,
            "DetailType": event_type,
            "Detail": json.dumps(detail, default=str),
            "EventBusName": self.bus,
            "Time": at,
        }
        error: str = ""
        for attempt in range(RETRIES + 1):
            if attempt:
                time.sleep(BACKOFF_S * 2 ** (attempt - 1))
            try:
                out = self.client.put_events(Entries=[entry])
            except (ClientError, BotoCoreError) as e:
                error = str(e)
                continue
            if not out.get("FailedEntryCount"):
                return
            error = json.dumps(out.get("Entries"), default=str)
        logger.warning("EventBridge refused the event; kept in the outbox", extra={"error": error})
        event_id = f"evt-{uuid.uuid4()}"
        ts = iso_ms(at)
        self.dao.put_item(
            {
                "PK": "OUTBOX",
                "SK": f"{ts}#{event_id}",
                "entityType": "OUTBOX",
                "id": event_id,
                "source": SOURCE,
                "detailType": event_type,
                "time": ts,
                "tenantId": tenant_id,
                "detail": detail,
            }
        )
