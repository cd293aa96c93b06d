"""Webhook endpoints and the log of deliveries already made."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from agent_sessions.dal.codec import to_item
from agent_sessions.dal.table import TableAccess
from agent_sessions.dal.webhook_codec import (
    delivery_key,
    webhook_item,
    webhook_key,
    webhook_record,
    webhooks_partition,
)
from agent_sessions.domain.records import format_timestamp
from agent_sessions.domain.webhook_records import WebhookRecord

if TYPE_CHECKING:
    pass


# How long a deleted endpoint's record outlives it: at least the 24 hours an Idempotency-Key is kept.
TOMBSTONE_SECONDS = 25 * 3600


class DynamoWebhooks(TableAccess):
    """WebhookStore and DeliveryStore over the table."""

    # ---- webhooks ----------------------------------------------------------------------------

    def insert_webhook(self, webhook: WebhookRecord) -> WebhookRecord | None:
        """Write a new webhook endpoint (one PutItem); None, or the endpoint already under that id."""
        existing = self.put_if_absent(webhook_item(webhook))
        return webhook_record(existing) if existing else None

    def list_webhooks(self, account_id: str) -> list[WebhookRecord]:
        """Every webhook endpoint of an account, newest first (a handful: all pages are read)."""
        items = self.owner_partition_items(webhooks_partition(account_id), newest_first=True)
        return [webhook_record(item) for item in items]

    def delete_webhook(self, webhook_id: str, account_id: str, now: datetime) -> bool:
        """Delete an account's webhook endpoint; False when it has none by that id.

        The item stays a day as a tombstone (off the listing index, so never listed or delivered
        to, then removed by TTL): a late replay of its creating request finds it.
        """
        try:
            self._client.update_item(
                TableName=self._table,
                Key=webhook_key(webhook_id),
                UpdateExpression="SET deleted_at = :now, #ttl = :ttl REMOVE gsi1pk, gsi1sk",
                ConditionExpression="account_id = :account AND attribute_not_exists(deleted_at)",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":account": {"S": account_id},
                    ":now": {"S": format_timestamp(now)},
                    ":ttl": {"N": str(int(now.timestamp()) + TOMBSTONE_SECONDS)},
                },
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

    def note_delivery(self, webhook_id: str, event_id: str, outcome: str, now: datetime) -> None:
        """Keep an endpoint's last delivery attempt on it (what the console shows); nothing if it is gone."""
        last = {"at": {"S": format_timestamp(now)}, "event_id": {"S": event_id}, "outcome": {"S": outcome[:200]}}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=webhook_key(webhook_id),
                UpdateExpression="SET last_delivery = :last",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":last": {"M": last}},
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
