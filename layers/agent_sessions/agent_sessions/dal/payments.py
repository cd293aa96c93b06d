"""Payments: the one-request debit, the ledger, decisions and lapsed holds."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import (
    ACCOUNT_INDEX,
    OWNER_INDEX,
    decode_cursor,
    encode_cursor,
    session_key,
    session_record,
)
from agent_sessions.dal.intents import intent_confirmation, intent_settlement
from agent_sessions.dal.payment_codec import (
    account_payments_partition,
    declines_partition,
    payment_item,
    payment_key,
    payment_record,
    payments_partition,
)
from agent_sessions.dal.payment_debit import payment_debit
from agent_sessions.dal.ports import (
    CommitOutcome,
    IntentNotPayable,
    PaymentAlreadyExists,
    PaymentCommitted,
    PaymentFilter,
    SessionRefused,
)
from agent_sessions.dal.table import NOT_DUE, TableAccess
from agent_sessions.domain.held_decisions import hold_window_keys
from agent_sessions.domain.pages import Page
from agent_sessions.domain.payment_rules import PaymentChecks, spent_by_decision
from agent_sessions.domain.records import (
    Decision,
    Hold,
    PaymentRecord,
    SessionRecord,
    format_timestamp,
)


class DynamoPayments(TableAccess):
    """PaymentStore over the table."""

    def commit_payment(
        self,
        payment: PaymentRecord,
        checks: PaymentChecks,
        now: datetime,
        expected_version: int | None = None,
    ) -> CommitOutcome:
        """One TransactWriteItems: the session's conditional debit plus the payment's put.

        The session update checks, in its condition: active, not past expiry, amount within
        max_per_transaction, merchant allowed, and for each current window (by index, so a new
        window simply starts a new counter) that the committed amount leaves room. A payment
        awaiting approval also records its hold. Each velocity limit counts the payment in its
        current window and requires that count to have room; the terms must still be the revision
        the checks were computed from. The put is guarded by attribute_not_exists, which is what
        makes an Idempotency-Key (bound to the payment id) safe to replay.
        With `expected_version` the update also requires the session to be exactly that version,
        so a caller that knows that version knows the session after the write without reading it.
        """
        debit = payment_debit(payment, checks, now, expected_version)
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": session_key(payment.session_id),
                    **debit.request(),
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": payment_item(payment),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        if payment.intent_id is not None:
            items.append(intent_confirmation(self._table, payment, now))
        reasons = self.transact(items)
        if reasons is None:
            return PaymentCommitted()
        session_reason, payment_reason = reasons[:2]
        if payment_reason.get("Code") == "ConditionalCheckFailed":
            return PaymentAlreadyExists(payment_record(payment_reason["Item"]))
        if len(reasons) > 2 and reasons[2].get("Code") == "ConditionalCheckFailed":
            return IntentNotPayable()
        old_session = session_reason.get("Item")
        return SessionRefused(session_record(old_session) if old_session else None)

    def insert_declined_payment(self, payment: PaymentRecord) -> PaymentRecord | None:
        """Record a refused attempt; if its id exists already, write nothing and return that payment."""
        existing = self.put_if_absent(payment_item(payment))
        return payment_record(existing) if existing else None

    def get_payment(self, payment_id: str) -> PaymentRecord | None:
        """Read a payment strongly consistently; None when there is none."""
        response = self._client.get_item(TableName=self._table, Key=payment_key(payment_id), ConsistentRead=True)
        item = response.get("Item")
        return payment_record(item) if item else None

    def get_payments(self, payment_ids: list[str]) -> dict[str, PaymentRecord]:
        """Read payments strongly consistently, 100 ids per BatchGetItem; those that exist, by id."""
        found: dict[str, PaymentRecord] = {}
        unique = list(dict.fromkeys(payment_ids))
        for start in range(0, len(unique), 100):
            request: dict[str, Any] = {
                self._table: {"Keys": [payment_key(pid) for pid in unique[start : start + 100]], "ConsistentRead": True}
            }
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self._table, []):
                    payment = payment_record(item)
                    found[payment.id] = payment
                request = response.get("UnprocessedKeys") or {}
        return found

    def list_payments(self, session_id: str, limit: int, cursor: str | None) -> Page[PaymentRecord]:
        """One Query over the session's payments on the owner index, newest first."""
        partition = payments_partition(session_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = decode_cursor(cursor, partition, "PAY#")
        response = self._client.query(**request)
        last_key = response.get("LastEvaluatedKey")
        return Page(
            items=[payment_record(item) for item in response.get("Items", [])],
            next_cursor=encode_cursor(last_key) if last_key else None,
        )

    def list_declined_payments(self, session_id: str, limit: int) -> list[PaymentRecord]:
        """A session's latest declined attempts, newest first (one Query; attempts made before they
        were listed are not on it)."""
        response = self._client.query(
            TableName=self._table,
            IndexName=OWNER_INDEX,
            KeyConditionExpression="gsi1pk = :partition",
            ExpressionAttributeValues={":partition": {"S": declines_partition(session_id)}},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [payment_record(item) for item in response.get("Items", [])]

    def list_account_payments(
        self, account_id: str, limit: int, cursor: str | None, payment_filter: PaymentFilter
    ) -> Page[PaymentRecord]:
        """One Query on the account index, newest first; filters in the Query (a page may come short)."""
        partition = account_payments_partition(account_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": ACCOUNT_INDEX,
            "ScanIndexForward": False,
            "Limit": limit,
            **account_listing_expressions(partition, payment_filter),
        }
        if cursor:
            start = decode_cursor(cursor, partition, "PAY#")
            request["ExclusiveStartKey"] = {"pk": start["pk"], "gsi3pk": start["gsi1pk"], "gsi3sk": start["gsi1sk"]}
        response = self._client.query(**request)
        last_key = response.get("LastEvaluatedKey")
        return Page(
            items=[payment_record(item) for item in response.get("Items", [])],
            next_cursor=str(last_key["gsi3sk"]["S"]) if last_key else None,
        )

    def get_payment_and_session(
        self, payment_id: str, session_id: str
    ) -> tuple[PaymentRecord | None, SessionRecord | None]:
        """One TransactGetItems: the payment and the session as they were at one moment."""
        response = self._client.transact_get_items(
            TransactItems=[
                {"Get": {"TableName": self._table, "Key": payment_key(payment_id)}},
                {"Get": {"TableName": self._table, "Key": session_key(session_id)}},
            ]
        )
        payment_item, session_item = (found.get("Item") for found in response["Responses"])
        return (
            payment_record(payment_item) if payment_item else None,
            session_record(session_item) if session_item else None,
        )

    def decide_payment(
        self,
        payment: PaymentRecord,
        decision: Decision,
        now: datetime,
        captured_cents: int | None = None,
        expected_version: int | None = None,
        decision_key: str | None = None,
    ) -> bool:
        """Approve or reject a pending payment: its status and the session's hold change together.

        Approving `captured_cents` of it (a manual intent's partial capture) spends that much and
        releases the rest. A payment that pays an intent settles the intent in the same transaction.
        With `expected_version` the session must also be exactly that version, so a caller that
        read it knows the session after the write without reading it again.
        """
        now_epoch = {"N": str(int(now.timestamp()))}
        approve = decision == "authorized"
        spent = spent_by_decision(payment.amount_cents, decision, captured_cents)
        session_condition = "#status = :active AND expires_epoch > :now"
        session_values = {":active": {"S": "active"}, ":now": now_epoch}
        if expected_version is not None:
            session_condition += " AND version = :version"
            session_values[":version"] = {"N": str(expected_version)}
        session_update = self.hold_release(
            payment.session_id,
            payment.id,
            payment.amount_cents,
            payment.window_keys,
            released_cents=payment.amount_cents - spent,
            payment_change="approved" if approve else "rejected",
            extra_condition=session_condition,
            extra_values=session_values,
        )
        values = {
            ":decided": {"S": decision},
            ":decided_at": {"S": format_timestamp(now)},
            ":pending": {"S": "pending_approval"},
            ":now": now_epoch,
        }
        also_set = ""
        if approve and spent != payment.amount_cents:
            also_set, values[":spent"] = ", amount = :spent", {"N": str(spent)}
        if decision_key is not None:
            also_set, values[":decision_key"] = f"{also_set}, decision_key = :decision_key", {"S": decision_key}
        payment_update = {
            "Update": {
                "TableName": self._table,
                "Key": payment_key(payment.id),
                "UpdateExpression": f"SET #status = :decided, decided_at = :decided_at{also_set} {NOT_DUE}",
                "ConditionExpression": "#status = :pending AND approval_expires_epoch > :now",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": values,
            }
        }
        items = [payment_update, session_update]
        if payment.intent_id is not None:
            items.append(intent_settlement(self._table, payment.intent_id, decision, now))
        return self.transact(items) is None

    def release_lapsed_hold(self, session: SessionRecord, payment_id: str, hold: Hold) -> bool:
        """Mark a lapsed pending payment expired and release its hold, atomically; False if already done."""
        window_keys = hold_window_keys(session.created_at, hold)
        return self.lapse_hold(session.id, payment_id, hold.amount_cents, window_keys, session.hold_lapses_at(hold))


def account_listing_expressions(partition: str, payment_filter: PaymentFilter) -> dict[str, Any]:
    """The key condition (the account, the time range) and the filter (session, agent, status)."""
    values: dict[str, Any] = {":partition": {"S": partition}}
    key = "gsi3pk = :partition"
    low = f"{payment_filter.after_ns or 0:020d}"
    high = f"{payment_filter.before_ns:020d}" if payment_filter.before_ns is not None else "99999999999999999999~"
    key += " AND gsi3sk BETWEEN :low AND :high"
    values.update({":low": {"S": low}, ":high": {"S": high}})
    names: dict[str, str] = {}
    filters = []
    for attribute, wanted in (
        ("session_id", payment_filter.session_id),
        ("agent_id", payment_filter.agent_id),
        ("status", payment_filter.status),
    ):
        if wanted is not None:
            names[f"#{attribute}"] = attribute
            values[f":{attribute}"] = {"S": wanted}
            filters.append(f"#{attribute} = :{attribute}")
    expressions: dict[str, Any] = {"KeyConditionExpression": key, "ExpressionAttributeValues": values}
    if filters:
        expressions.update({"FilterExpression": " AND ".join(filters), "ExpressionAttributeNames": names})
    return expressions
