"""Window alerts: the session's record of warnings and resumptions, and the resumption tasks on the due index."""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from agent_sessions.dal.codec import due_attributes, session_key, to_item
from agent_sessions.dal.table import TableAccess, session_write_marks

# A resumption task lives at most this long past its due time (DynamoDB's TTL then removes it).
RESUME_TASK_TTL = timedelta(days=8)


def resume_task_key(session_id: str, counter_key: str) -> str:
    return f"RESUME#{session_id}#{counter_key}"


class DynamoWindowAlerts(TableAccess):
    """WindowAlertStore over the table."""

    def mark_window(self, session_id: str, record: str, counter_key: str, at: datetime) -> bool:
        """Record on the session that `counter_key` was warned about or resumed (`record`: warned|resumed).

        One conditional write, once per window: False when it was already recorded. The write is
        what the outbox announces (agent.session.limit_warning / agent.session.resumed).
        """
        marks, mark_values = session_write_marks()
        names = {"#record": record, "#key": counter_key}
        values = {":at": {"N": str(int(at.timestamp()))}, **mark_values}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=session_key(session_id),
                UpdateExpression=f"SET #record.#key = :at, {marks}",
                ConditionExpression=(
                    "attribute_exists(pk) AND attribute_exists(#record) AND attribute_not_exists(#record.#key)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return self._mark_first_window(session_id, record, counter_key, at)
        return True

    def _mark_first_window(self, session_id: str, record: str, counter_key: str, at: datetime) -> bool:
        """A session stored before these records existed has no map yet: write it with this one entry."""
        marks, mark_values = session_write_marks()
        try:
            self._client.update_item(
                TableName=self._table,
                Key=session_key(session_id),
                UpdateExpression=f"SET #record = :first, {marks}",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#record)",
                ExpressionAttributeNames={"#record": record},
                ExpressionAttributeValues={
                    ":first": {"M": {counter_key: {"N": str(int(at.timestamp()))}}},
                    **mark_values,
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def schedule_resume(self, session_id: str, counter_key: str, due_at: datetime) -> None:
        """Put the task that checks, once `due_at` has come, whether the session can spend again (once)."""
        pk = resume_task_key(session_id, counter_key)
        item: dict[str, Any] = {
            "pk": pk,
            "type": "resume",
            "id": counter_key,
            "session_id": session_id,
            "ttl": int((due_at + RESUME_TASK_TTL).timestamp()),
            **due_attributes(pk, due_at),
        }
        with suppress(self._client.exceptions.ConditionalCheckFailedException):  # already scheduled: a redelivery
            self._client.put_item(
                TableName=self._table, Item=to_item(item), ConditionExpression="attribute_not_exists(pk)"
            )

    def reschedule_resume(self, session_id: str, counter_key: str, due_at: datetime) -> None:
        """Move a resumption task to a later time (another window still has nothing left)."""
        pk = resume_task_key(session_id, counter_key)
        with suppress(self._client.exceptions.ConditionalCheckFailedException):  # done meanwhile by another sweep
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": pk}},
                UpdateExpression="SET gsi2sk = :due, #ttl = :ttl",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#ttl": "ttl"},
                ExpressionAttributeValues={
                    ":due": {"S": due_attributes(pk, due_at)["gsi2sk"]},
                    ":ttl": {"N": str(int((due_at + RESUME_TASK_TTL).timestamp()))},
                },
            )

    def drop_resume(self, session_id: str, counter_key: str) -> None:
        """Remove a resumption task that is done or no longer needed."""
        self._client.delete_item(TableName=self._table, Key={"pk": {"S": resume_task_key(session_id, counter_key)}})
