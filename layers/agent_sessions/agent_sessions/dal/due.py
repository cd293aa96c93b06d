"""The expiry sweep: the sparse, sharded due index and the writes that end what it lists."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_sessions.dal.codec import DUE_INDEX, due_item, due_sort_key_bound, session_key
from agent_sessions.dal.ports import DueItem, DuePage
from agent_sessions.dal.table import NOT_DUE, TableAccess, session_write_marks

if TYPE_CHECKING:
    pass


class DynamoDue(TableAccess):
    """DueStore over the table."""

    def due_items(self, shard: int, now: datetime, cursor: dict[str, Any] | None) -> DuePage:
        """One Query of a due-index shard: only items whose due time is at or before `now`."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "gsi2pk = :shard AND gsi2sk <= :now",
            "ExpressionAttributeValues": {
                ":shard": {"S": f"DUE#{shard}"},
                ":now": {"S": due_sort_key_bound(now)},
            },
            "Limit": 100,
        }
        if cursor:
            request["ExclusiveStartKey"] = cursor
        response = self._client.query(**request)
        return DuePage(
            items=[due_item(raw) for raw in response.get("Items", [])], next_cursor=response.get("LastEvaluatedKey")
        )

    def expire_session(self, session_id: str, now: datetime) -> bool:
        """Mark a live session past its expiry (or a consent-bound one past its deadline) expired, in one write."""
        marks, mark_values = session_write_marks()
        try:
            self._client.update_item(
                TableName=self._table,
                Key=session_key(session_id),
                UpdateExpression=f"SET #status = :expired, {marks} {NOT_DUE}",
                ConditionExpression=(
                    "(#status = :active AND expires_epoch <= :now) OR (#status = :pending AND "
                    "(consent_deadline_epoch <= :now OR expires_epoch <= :now))"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expired": {"S": "expired"},
                    ":active": {"S": "active"},
                    ":pending": {"S": "pending_consent"},
                    ":now": {"N": str(int(now.timestamp()))},
                    **mark_values,
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def lapse_due_payment(self, item: DueItem) -> bool:
        """Mark a payment past its deadline expired and release its hold, in one transaction."""
        assert item.session_id is not None
        return self.lapse_hold(item.session_id, item.id, item.amount_cents, item.window_keys, item.due_at)
