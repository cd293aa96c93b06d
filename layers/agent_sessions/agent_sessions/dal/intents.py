"""Payment intents in the table: one item each (`INTENT#<id>`), listed per account on the owner index.

Confirming, capturing and cancelling a confirmed intent change it inside the payment's own
transaction (dal.payments), through the two updates built here; creating it and cancelling one
never confirmed are single writes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

from agent_sessions.dal.codec import (
    OWNER_INDEX,
    decode_cursor,
    from_attribute,
    newest_first_key,
    parse_or_none,
    timestamp_or_none,
    to_item,
)
from agent_sessions.dal.table import TableAccess
from agent_sessions.domain.intents import (
    CaptureMethod,
    IntentRecord,
    IntentStatus,
    status_after_confirm,
    status_after_decision,
)
from agent_sessions.domain.jsonio import encode_json, parse_json_object_body
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import Decision, PaymentRecord, format_timestamp, parse_timestamp


def intent_key(intent_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"INTENT#{intent_id}"}}


def intents_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#INTENT"


def intent_item(intent: IntentRecord) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"INTENT#{intent.id}",
            "type": "intent",
            "id": intent.id,
            "account_id": intent.account_id,
            "amount": intent.amount_cents,
            "currency": intent.currency,
            "description": intent.description,
            "capture_method": intent.capture_method,
            "agent_id": intent.agent_id,
            "agent_name": intent.agent_name,
            "metadata": encode_json(intent.metadata),
            "status": intent.stored_status,
            "secret_hash": intent.client_secret_hash,
            "created_at": format_timestamp(intent.created_at),
            "expires_at": format_timestamp(intent.expires_at),
            "expires_epoch": int(intent.expires_at.timestamp()),
            "fingerprint": intent.request_fingerprint,
            "payment_id": intent.payment_id,
            "session_id": intent.session_id,
            "settled_at": timestamp_or_none(intent.settled_at),
            "changed_ns": intent.changed_ns or time.time_ns(),
            "gsi1pk": intents_partition(intent.account_id),
            "gsi1sk": newest_first_key(intent.id),
        }
    )


def intent_record(item: Mapping[str, Any]) -> IntentRecord:
    values = {name: from_attribute(value) for name, value in item.items()}
    return IntentRecord(
        id=values["id"],
        account_id=values["account_id"],
        amount_cents=int(values["amount"]),
        currency=values["currency"],
        description=values.get("description"),
        capture_method=cast(CaptureMethod, values["capture_method"]),
        agent_id=values.get("agent_id"),
        agent_name=values.get("agent_name"),
        metadata=parse_json_object_body(values.get("metadata") or "{}"),
        stored_status=cast(IntentStatus, values["status"]),
        client_secret_hash=values["secret_hash"],
        created_at=parse_timestamp(values["created_at"]),
        expires_at=parse_timestamp(values["expires_at"]),
        request_fingerprint=values.get("fingerprint"),
        payment_id=values.get("payment_id"),
        session_id=values.get("session_id"),
        settled_at=parse_or_none(values.get("settled_at")),
        changed_ns=values.get("changed_ns"),
    )


def intent_confirmation(table: str, payment: PaymentRecord, now: datetime) -> dict[str, Any]:
    """The transaction item that confirms the intent `payment` pays: only while it awaits payment, unexpired."""
    assert payment.intent_id is not None
    return {
        "Update": {
            "TableName": table,
            "Key": intent_key(payment.intent_id),
            "UpdateExpression": (
                "SET #status = :new, payment_id = :payment, session_id = :session, settled_at = :now, changed_ns = :ns"
            ),
            "ConditionExpression": "#status = :awaiting AND expires_epoch > :epoch AND account_id = :account",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":new": {"S": status_after_confirm(payment)},
                ":payment": {"S": payment.id},
                ":session": {"S": payment.session_id},
                ":now": {"S": format_timestamp(now)},
                ":awaiting": {"S": "requires_payment"},
                ":epoch": {"N": str(int(now.timestamp()))},
                ":account": {"S": payment.account_id},
                ":ns": {"N": str(time.time_ns())},
            },
        }
    }


def intent_settlement(table: str, intent_id: str, decision: Decision, now: datetime) -> dict[str, Any]:
    """The transaction item that ends a confirmed intent's hold: succeeded when captured, else canceled."""
    return {
        "Update": {
            "TableName": table,
            "Key": intent_key(intent_id),
            "UpdateExpression": "SET #status = :new, settled_at = :now, changed_ns = :ns",
            "ConditionExpression": "#status = :processing",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":new": {"S": status_after_decision(decision)},
                ":now": {"S": format_timestamp(now)},
                ":processing": {"S": "processing"},
                ":ns": {"N": str(time.time_ns())},
            },
        }
    }


class DynamoIntents(TableAccess):
    """IntentStore over the table."""

    def insert_intent(self, intent: IntentRecord) -> IntentRecord | None:
        existing = self.put_if_absent(intent_item(intent))
        return intent_record(existing) if existing else None

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        item = self._read_intent(intent_id)
        return intent_record(item) if item else None

    def _read_intent(self, intent_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self._table, Key=intent_key(intent_id), ConsistentRead=True)
        return response.get("Item")

    def list_intents(
        self, account_id: str, status: IntentStatus | None, limit: int, cursor: str | None
    ) -> Page[IntentRecord]:
        """One Query on the owner index, newest first; a status filter inside the Query (a page may come short)."""
        partition = intents_partition(account_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if status is not None:
            request["FilterExpression"] = "#status = :status"
            request["ExpressionAttributeNames"] = {"#status": "status"}
            request["ExpressionAttributeValues"][":status"] = {"S": status}
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, partition, "INTENT#")
        response = self._client.query(**request)
        last_key = response.get("LastEvaluatedKey")
        return Page(
            items=[intent_record(item) for item in response.get("Items", [])],
            next_cursor=str(last_key["gsi1sk"]["S"]) if last_key else None,
        )

    def cancel_unconfirmed_intent(self, intent_id: str, account_id: str, now: datetime) -> bool:
        """requires_payment -> canceled (one conditional update); False if it is not the account's or not awaiting."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=intent_key(intent_id),
                UpdateExpression="SET #status = :canceled, settled_at = :now, changed_ns = :ns",
                ConditionExpression="#status = :awaiting AND account_id = :account",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":canceled": {"S": "canceled"},
                    ":now": {"S": format_timestamp(now)},
                    ":awaiting": {"S": "requires_payment"},
                    ":account": {"S": account_id},
                    ":ns": {"N": str(time.time_ns())},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True
