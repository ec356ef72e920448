"""``TenantDao``: the tenants table through the boto3 DynamoDB resource API (LLD 2.5 §3.2).

Items are written in the layout bbws writes (``bbws-aws/src/dynamo``), so the Rust handlers read
what this writes and the other way round:

- tenant: ``PK=TENANT#{id}``, ``SK=METADATA``, ``entityType=TENANT``, the camelCase record,
  ``GSI1PK=ORG#{organizationName}`` / ``GSI1SK=TENANT#{id}``,
  ``GSI2PK=STATUS#{status}`` / ``GSI2SK={updatedAt}#{id}``,
  ``GSI3PK=ENV#{environment}`` / ``GSI3SK={createdAt}#{id}``,
  ``GSI4PK=TENANTS`` / ``GSI4SK={createdAt}#{id}``; absent optional attributes are left out;
- audit event: ``PK=TENANT#{id}``, ``SK=EVENT#{timestamp}#{eventId}`` (``audit_logger``);
- outbox event: ``PK=OUTBOX``, ``SK={time}#{eventId}`` (only when EventBridge refuses, see
  ``event_publisher``).

What it does not write: the ``ORGNAME#`` guard item. The LLD checks the organisation name with a
GSI1 query before the put (§4.1), and that is the design measured here.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any, Optional

import boto3
from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from .errors import ConflictError, UnexpectedException, ValidationFailed
from .models import Tenant, iso_ms

PK, SK, METADATA = "PK", "SK", "METADATA"


def tenant_pk(tenant_id: str) -> str:
    return f"TENANT#{tenant_id}"


def tenant_item(t: Tenant) -> dict[str, Any]:
    item = t.model_dump(by_alias=True, exclude_none=True)
    created = f"{item['createdAt']}#{t.tenant_id}"
    item.update(
        {
            PK: tenant_pk(t.tenant_id),
            SK: METADATA,
            "entityType": "TENANT",
            "GSI1PK": f"ORG#{t.organization_name}",
            "GSI1SK": f"TENANT#{t.tenant_id}",
            "GSI2PK": f"STATUS#{t.status}",
            "GSI2SK": f"{item['updatedAt']}#{t.tenant_id}",
            "GSI3PK": f"ENV#{t.environment}",
            "GSI3SK": created,
            "GSI4PK": "TENANTS",
            "GSI4SK": created,
        }
    )
    return item


def encode_token(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as e:
        raise ValidationFailed("Invalid pagination token", {"nextToken": "Invalid pagination token"}) from e
    if not isinstance(key, dict) or not all(isinstance(v, str) for v in key.values()):
        raise ValidationFailed("Invalid pagination token", {"nextToken": "Invalid pagination token"})
    return key


def _failed(op: str, e: ClientError) -> UnexpectedException:
    code = e.response.get("Error", {}).get("Code", "Unknown")
    return UnexpectedException(f"DynamoDB {op} failed: {code}", e)


class TenantDao:
    def __init__(self, table_name: Optional[str] = None) -> None:
        name = table_name or os.environ.get("DYNAMODB_TABLE") or "bbws-tenants-dev"
        self.table = boto3.resource("dynamodb").Table(name)

    def get_by_id(self, tenant_id: str) -> Optional[Tenant]:
        try:
            out = self.table.get_item(Key={PK: tenant_pk(tenant_id), SK: METADATA})
        except ClientError as e:
            raise _failed("GetItem", e) from e
        item = out.get("Item")
        return Tenant.model_validate(item) if item else None

    def get_by_org_name(self, organization_name: str) -> Optional[dict[str, Any]]:
        try:
            out = self.table.query(
                IndexName="GSI1",
                KeyConditionExpression=Key("GSI1PK").eq(f"ORG#{organization_name}"),
                Limit=1,
            )
        except ClientError as e:
            raise _failed("Query", e) from e
        items = out.get("Items") or []
        return items[0] if items else None

    def create(self, tenant: Tenant) -> None:
        try:
            self.table.put_item(Item=tenant_item(tenant), ConditionExpression=Attr(PK).not_exists())
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                raise ConflictError(f"Tenant {tenant.tenant_id} already exists") from e
            raise _failed("PutItem", e) from e

    def update_status(
        self,
        tenant_id: str,
        status: str,
        expected_status: str,
        updated_at: str,
        fields: dict[str, Any],
    ) -> bool:
        """Moves the tenant to ``status`` if it is still in ``expected_status`` (with ``fields``
        set and the version bumped); ``False`` when the condition failed."""
        names = {"#status": "status", "#gsi2pk": "GSI2PK", "#gsi2sk": "GSI2SK", "#version": "version"}
        values: dict[str, Any] = {
            ":status": status,
            ":expected": expected_status,
            ":gsi2pk": f"STATUS#{status}",
            ":gsi2sk": f"{updated_at}#{tenant_id}",
            ":one": 1,
        }
        sets = ["#status = :status", "#gsi2pk = :gsi2pk", "#gsi2sk = :gsi2sk"]
        for i, (k, v) in enumerate(fields.items()):
            names[f"#f{i}"] = k
            values[f":f{i}"] = v
            sets.append(f"#f{i} = :f{i}")
        try:
            self.table.update_item(
                Key={PK: tenant_pk(tenant_id), SK: METADATA},
                UpdateExpression="SET " + ", ".join(sets) + " ADD #version :one",
                ConditionExpression="attribute_exists(PK) AND #status = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except ClientError as e:
            if e.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise _failed("UpdateItem", e) from e
        return True

    def query_index(
        self, index: str, partition: str, limit: int, start: Optional[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
        """One page of an index, newest first."""
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": Key(f"{index}PK").eq(partition),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if start:
            kwargs["ExclusiveStartKey"] = start
        try:
            out = self.table.query(**kwargs)
        except ClientError as e:
            raise _failed("Query", e) from e
        return out.get("Items") or [], out.get("LastEvaluatedKey")

    def scan_tenants(
        self, limit: int, start: Optional[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], Optional[dict[str, Any]]]:
        """Up to ``limit`` tenant items in table order, scanning page after page (the LLD has no
        index of all tenants, and its IAM policy grants ``dynamodb:Scan``)."""
        found: list[dict[str, Any]] = []
        while True:
            kwargs: dict[str, Any] = {"FilterExpression": Attr(SK).eq(METADATA), "Limit": limit}
            if start:
                kwargs["ExclusiveStartKey"] = start
            try:
                out = self.table.scan(**kwargs)
            except ClientError as e:
                raise _failed("Scan", e) from e
            for item in out.get("Items") or []:
                found.append(item)
                if len(found) == limit:
                    return found, {PK: item[PK], SK: item[SK]}
            start = out.get("LastEvaluatedKey")
            if not start:
                return found, None

    def put_item(self, item: dict[str, Any]) -> None:
        try:
            self.table.put_item(Item=item)
        except ClientError as e:
            raise _failed("PutItem", e) from e


__all__ = ["TenantDao", "tenant_item", "encode_token", "decode_token", "iso_ms"]
