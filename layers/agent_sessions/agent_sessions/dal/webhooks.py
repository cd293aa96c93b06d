"""Webhook endpoints and the log of deliveries already made."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_sessions.dal.codec import (
    OWNER_INDEX,
    delivery_key,
    to_item,
    webhook_item,
    webhook_key,
    webhook_record,
    webhooks_partition,
)
from agent_sessions.dal.table import TableAccess
from agent_sessions.domain.records import WebhookRecord, format_timestamp

if TYPE_CHECKING:
    pass


class DynamoWebhooks(TableAccess):
    """WebhookStore and DeliveryStore over the table."""

    # ---- webhooks ----------------------------------------------------------------------------

    def insert_webhook(self, webhook: WebhookRecord) -> None:
        """Write a new webhook endpoint (one PutItem)."""
        self._client.put_item(
            TableName=self._table, Item=webhook_item(webhook), ConditionExpression="attribute_not_exists(pk)"
        )

    def list_webhooks(self, account_id: str) -> list[WebhookRecord]:
        """Every webhook endpoint of an account, newest first (a handful: all pages are read)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": {"S": webhooks_partition(account_id)}},
            "ScanIndexForward": False,
        }
        webhooks: list[WebhookRecord] = []
        while True:
            response = self._client.query(**request)
            webhooks.extend(webhook_record(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return webhooks
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def delete_webhook(self, webhook_id: str, account_id: str) -> bool:
        """Delete an account's webhook endpoint; False when it has none by that id."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=webhook_key(webhook_id),
                ConditionExpression="account_id = :account",
                ExpressionAttributeValues={":account": {"S": account_id}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def disable_webhook(self, webhook_id: str, now: datetime) -> None:
        """Stop delivering to an endpoint (it answered 410 Gone)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=webhook_key(webhook_id),
                UpdateExpression="SET disabled_at = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(disabled_at)",
                ExpressionAttributeValues={":now": {"S": format_timestamp(now)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return

    def was_delivered(self, event_id: str, webhook_id: str) -> bool:
        """Whether this event already reached this endpoint (a retry skips it)."""
        response = self._client.get_item(
            TableName=self._table, Key=delivery_key(event_id, webhook_id), ConsistentRead=True
        )
        return "Item" in response

    def record_delivery(self, event_id: str, webhook_id: str, now: datetime) -> None:
        """Remember a delivery for a week (TTL), so retries of the event skip this endpoint."""
        self._client.put_item(
            TableName=self._table,
            Item=to_item(
                {
                    "pk": f"DLV#{event_id}#{webhook_id}",
                    "type": "delivery",
                    "delivered_at": format_timestamp(now),
                    "ttl": int(now.timestamp()) + 7 * 24 * 3600,
                }
            ),
        )
