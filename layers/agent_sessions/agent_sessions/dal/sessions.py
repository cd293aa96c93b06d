"""Sessions: insert, read, list an account's, revoke."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import (
    OWNER_INDEX,
    decode_cursor,
    due_attributes,
    encode_cursor,
    owner_partition,
    session_item,
    session_key,
    session_record,
    to_attribute,
)
from agent_sessions.dal.ports import SessionFilter
from agent_sessions.dal.table import NOT_DUE, TableAccess, session_write_marks, terms_rev_condition
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
        try:
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as failure:
            old_item = failure.response.get("Item")
            # DynamoDB returns the item (ALL_OLD); an implementation that does not is read instead.
            existing = session_record(old_item) if old_item else self.get_session(session.id)
            assert existing is not None  # the put failed because it exists; sessions are never deleted
            return existing
        return None

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

    def record_consent(self, consented: SessionRecord, now: datetime) -> SessionRecord | None:
        """pending_consent -> active with the owner's signature (and an identity, if minted), in one write.

        Only while it waits for consent and its deadline has not passed; None otherwise.
        """
        marks, mark_values = session_write_marks()
        identity = {"pkp_address": consented.pkp_address, "attestation_signature": consented.attestation_signature}
        written = {
            "consent_signature": consented.consent_signature,
            "gsi2sk": due_attributes(f"SESS#{consented.id}", consented.expires_at)["gsi2sk"],
            **{name: value for name, value in identity.items() if value is not None},
        }
        names = {"#status": "status", **{f"#w{position}": name for position, name in enumerate(written)}}
        values = {f":w{position}": to_attribute(value) for position, value in enumerate(written.values())}
        clauses = ", ".join(f"#w{position} = :w{position}" for position in range(len(written)))
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(consented.id),
                UpdateExpression=f"SET #status = :active, {clauses}, {marks}",
                ConditionExpression="account_id = :account AND #status = :pending AND consent_deadline_epoch > :now",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues={
                    **values,
                    **mark_values,
                    ":active": {"S": "active"},
                    ":pending": {"S": "pending_consent"},
                    ":account": {"S": consented.account_id},
                    ":now": {"N": str(int(now.timestamp()))},
                },
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return session_record(response["Attributes"])

    def change_terms(self, changed: SessionRecord, expected_rev: int, now: datetime) -> SessionRecord | None:
        """Write a live session's new terms in one conditional write, if they are still revision `expected_rev`.

        Only the terms are written (limits, velocity, merchants, expiry and its due-index entry),
        so payments committed meanwhile are kept. The parameters the identity signed at creation
        are kept the first time they change. Returns the session after the write, or None when
        the condition failed (the caller reads it to say why).
        """
        request = _terms_update(changed, expected_rev)
        request["ExpressionAttributeValues"].update(
            {
                ":account": {"S": changed.account_id},
                ":active": {"S": "active"},
                ":now": {"N": str(int(now.timestamp()))},
            }
        )
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=session_key(changed.id),
                ConditionExpression="account_id = :account AND #status = :active AND expires_epoch > :now AND "
                + terms_rev_condition(expected_rev, request["ExpressionAttributeValues"]),
                ReturnValues="ALL_NEW",
                **request,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return session_record(response["Attributes"])


def _terms_update(changed: SessionRecord, expected_rev: int) -> dict[str, Any]:
    """The UpdateExpression (with its names and values) that writes a session's new terms, and only those."""
    marks, mark_values = session_write_marks()
    written, removed = _new_terms(changed, expected_rev)
    names = {f"#set{position}": name for position, name in enumerate(written)}
    names.update({f"#drop{position}": name for position, name in enumerate(removed)})
    names["#status"] = "status"
    values = {f":set{position}": to_attribute(value) for position, value in enumerate(written.values())}
    values.update({**mark_values, ":attested": to_attribute(changed.attestation_parameters()), ":no_counts": {"M": {}}})
    clauses = [f"#set{position} = :set{position}" for position in range(len(written))]
    clauses += [
        "attested = if_not_exists(attested, :attested)",
        "payment_counts = if_not_exists(payment_counts, :no_counts)",
        marks,
    ]
    removals = [f"#drop{position}" for position in range(len(removed))]
    return {
        "UpdateExpression": "SET " + ", ".join(clauses) + (" REMOVE " + ", ".join(removals) if removals else ""),
        "ExpressionAttributeNames": names,
        "ExpressionAttributeValues": values,
    }


def _new_terms(changed: SessionRecord, expected_rev: int) -> tuple[dict[str, Any], list[str]]:
    """The attributes a change of terms writes, and those it removes (no velocity, no merchant list)."""
    terms: dict[str, Any] = {
        "limits": dict(changed.limits_cents),
        "expires_at": format_timestamp(changed.expires_at),
        "expires_epoch": int(changed.expires_at.timestamp()),
        "terms_rev": expected_rev + 1,
        "gsi2sk": due_attributes(f"SESS#{changed.id}", changed.expires_at)["gsi2sk"],
        "velocity": dict(changed.velocity) or None,
        "allowed_merchants": changed.allowed_merchants,
    }
    written = {name: value for name, value in terms.items() if value is not None}
    return written, [name for name in terms if name not in written]
