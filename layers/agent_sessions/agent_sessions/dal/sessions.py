"""Sessions: insert, read, list an account's, revoke."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import (
    OWNER_INDEX,
    decode_cursor,
    encode_cursor,
    owner_partition,
    session_item,
    session_key,
    session_record,
)
from agent_sessions.dal.ports import SessionFilter
from agent_sessions.dal.table import NOT_DUE, TableAccess, session_write_marks
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import SessionRecord, format_timestamp

# A filtered listing reads on until its page is full, at most this many queries per page.
MAX_LISTING_READS = 10


class DynamoSessions(TableAccess):
    """SessionStore over the table."""

    def insert_session(self, session: SessionRecord) -> SessionRecord | None:
        """Write a new session (one PutItem); None, or the session already under that id, untouched."""
        item = session_item(session)
        item["changed_ns"] = {"N": str(time.time_ns())}  # when: the created event's timestamp
        existing = self.put_if_absent(item)
        return session_record(existing) if existing else None

    def get_session(self, session_id: str) -> SessionRecord | None:
        """Read a session strongly consistently; None when there is none."""
        response = self._client.get_item(TableName=self._table, Key=session_key(session_id), ConsistentRead=True)
        item = response.get("Item")
        return session_record(item) if item else None

    def list_sessions(
        self, account_id: str, limit: int, cursor: str | None, session_filter: SessionFilter, now: datetime
    ) -> Page[SessionRecord]:
        """Queries over the owner index, newest first, until `limit` sessions pass the filters.

        DynamoDB filters after it reads, so one Query may return fewer matches than asked; the
        page is filled by reading on, at most MAX_LISTING_READS queries (then the page is short
        and `next_cursor` says where to go on). Without filters, one Query.
        """
        request = self._listing_request(account_id, limit, session_filter, now)
        start = decode_cursor(cursor, owner_partition(account_id), "SESS#") if cursor else None
        found, start = self._read_until_full(request, start, limit)
        if len(found) > limit or (len(found) == limit and start):
            found, start = found[:limit], found[limit - 1]  # the page ends at its last session
        return Page(
            items=[session_record(item) for item in found],
            next_cursor=encode_cursor(start) if start else None,
        )

    def _read_until_full(
        self, request: dict[str, Any], start: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """At least `limit` items from `start` on (or all there are, or what MAX_LISTING_READS reads)."""
        found: list[dict[str, Any]] = []
        for _ in range(MAX_LISTING_READS):
            if start:
                request["ExclusiveStartKey"] = start
            response = self._client.query(**request)
            found.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if len(found) >= limit or not start:
                break
        return found, start

    def _listing_request(
        self, account_id: str, limit: int, session_filter: SessionFilter, now: datetime
    ) -> dict[str, Any]:
        names: dict[str, str] = {}
        values: dict[str, Any] = {":owner": {"S": owner_partition(account_id)}}
        conditions: list[str] = []
        if session_filter.agent_id is not None:
            conditions.append("agent_id = :agent_id")
            values[":agent_id"] = {"S": session_filter.agent_id}
        if session_filter.user_wallet is not None:
            conditions.append("user_wallet = :user_wallet")
            values[":user_wallet"] = {"S": session_filter.user_wallet}
        if session_filter.active_only:
            conditions.append("#status = :active AND expires_epoch > :now")
            names["#status"] = "status"
            values[":active"] = {"S": "active"}
            values[":now"] = {"N": str(int(now.timestamp()))}
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :owner",
            "ExpressionAttributeValues": values,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if conditions:
            request["FilterExpression"] = " AND ".join(conditions)
        if names:
            request["ExpressionAttributeNames"] = names
        return request

    def revoke_session(self, session_id: str, account_id: str, now: datetime) -> SessionRecord | None:
        """Revoke an account's live session in one conditional write (see SessionStore)."""
        marks, mark_values = session_write_marks()
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(session_id),
                UpdateExpression=f"SET #status = :revoked, revoked_at = :now, {marks} {NOT_DUE}",
                ConditionExpression=(
                    "account_id = :account AND #status IN (:active, :pending) AND expires_epoch > :now_epoch"
                ),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":revoked": {"S": "revoked"},
                    ":active": {"S": "active"},
                    ":pending": {"S": "pending_consent"},
                    ":account": {"S": account_id},
                    ":now": {"S": format_timestamp(now)},
                    ":now_epoch": {"N": str(int(now.timestamp()))},
                    **mark_values,
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as failure:
            old_item = failure.response.get("Item")
            # DynamoDB returns the item (ALL_OLD); an implementation that does not is read instead.
            session = session_record(old_item) if old_item else self.get_session(session_id)
            if session is None or session.account_id != account_id:
                return None
            return session
        return session_record(response["Attributes"])
