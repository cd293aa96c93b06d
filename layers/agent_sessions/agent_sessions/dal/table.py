"""What every per-aggregate DynamoDB class shares: the client, the table, and transactions.

The transaction helpers that end a hold live here because both a decision (payments) and the
expiry sweep (due items) end holds with the same two writes.
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_sessions.dal.codec import OWNER_INDEX, session_key
from agent_sessions.dal.payment_codec import payment_key
from agent_sessions.dal.ports import TransactionContended
from agent_sessions.domain.credentials import short_payment_id
from agent_sessions.domain.records import format_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Transactions cancelled only by contention (not by a condition) are retried this many times.
MAX_TRANSACTION_ATTEMPTS = 6
# The write that ends a session or a hold takes it off the due index.
NOT_DUE = "REMOVE gsi2pk, gsi2sk"


def session_write_marks(payment_id: str | None = None, payment_change: str | None = None) -> tuple[str, dict[str, Any]]:
    """The SET clauses every write to a session carries, and their values.

    It bumps the version (a missing one counts as 0), stamps the write's time in nanoseconds
    (`changed_ns`: the events it causes carry it as their timestamp, and a redelivered stream
    record carries the same), and, when the write changes a payment, names it and the change
    (`last_payment`): the outbox announces the payment from this record, whose new image is the
    session exactly as that payment's write left it.
    """
    clauses = ["version = if_not_exists(version, :zero_version) + :one", "changed_ns = :changed_ns"]
    values: dict[str, Any] = {
        ":one": {"N": "1"},
        ":zero_version": {"N": "0"},
        ":changed_ns": {"N": str(time.time_ns())},
    }
    if payment_id is not None and payment_change is not None:
        clauses.append("last_payment = :last_payment")  # "<change> <payment id, short>" (codec._payment_change)
        values[":last_payment"] = {"S": f"{payment_change} {short_payment_id(payment_id)}"}
    return ", ".join(clauses), values


def terms_rev_condition(terms_rev: int, values: dict[str, Any]) -> str:
    """The session's terms are still revision `terms_rev` (0: never changed, so not stored); adds its value."""
    if terms_rev == 0:
        return "attribute_not_exists(terms_rev)"
    values[":terms_rev"] = {"N": str(terms_rev)}
    return "terms_rev = :terms_rev"


# How long a stream consumer keeps the mark that it handled a record (the stream redelivers for 24 h).
SOURCE_MARK_SECONDS = 3 * 24 * 3600


def source_mark(table: str, pk: str) -> dict[str, Any]:
    """The transaction item that marks `pk` as handled, once: it cancels the transaction if already there."""
    return {
        "Put": {
            "TableName": table,
            "Item": {
                "pk": {"S": pk},
                "type": {"S": "source_mark"},
                "ttl": {"N": str(int(time.time()) + SOURCE_MARK_SECONDS)},
            },
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


_RETRYABLE_CANCELLATIONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


class TableAccess:
    """One DynamoDB table through the low-level client (cheapest to start)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def put_if_absent(self, item: dict[str, Any]) -> dict[str, Any] | None:
        """One conditional PutItem of a new item: None when written, else the item already under its key.

        DynamoDB returns that item with the refusal (ALL_OLD); an implementation that does not has it
        read instead. One that is gone meanwhile (deleted, expired) has nothing to answer for, so the
        put is tried again.
        """
        while True:
            try:
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(pk)",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return None
            except self._client.exceptions.ConditionalCheckFailedException as failure:
                existing = failure.response.get("Item") or self._client.get_item(
                    TableName=self._table, Key={"pk": item["pk"]}, ConsistentRead=True
                ).get("Item")
            if existing is not None:
                return existing

    def owner_partition_items(self, partition: str, newest_first: bool) -> list[dict[str, Any]]:
        """Every item of one partition of the owner index, all pages read (for partitions of a handful)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": {"S": partition}},
            "ScanIndexForward": not newest_first,
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self._client.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def lapse_hold(
        self, session_id: str, payment_id: str, amount_cents: int, window_keys: tuple[str, ...], lapsed_at: datetime
    ) -> bool:
        """The payment pending -> expired and the session's hold released, together; False if already decided."""
        payment_update = {
            "Update": {
                "TableName": self._table,
                "Key": payment_key(payment_id),
                "UpdateExpression": f"SET #status = :expired, decided_at = :lapsed_at {NOT_DUE}",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":expired": {"S": "expired"},
                    ":pending": {"S": "pending_approval"},
                    ":lapsed_at": {"S": format_timestamp(lapsed_at)},
                },
            }
        }
        session_update = self.hold_release(
            session_id, payment_id, amount_cents, window_keys, released_cents=amount_cents, payment_change="expired"
        )
        return self.transact([payment_update, session_update]) is None

    def hold_release(
        self,
        session_id: str,
        payment_id: str,
        amount_cents: int,
        window_keys: tuple[str, ...],
        released_cents: int,
        payment_change: str | None,
        extra_condition: str | None = None,
        extra_values: dict[str, Any] | None = None,
        settling: bool = False,
    ) -> dict[str, Any]:
        """The session side of ending a hold: held goes down by its amount, committed by `released_cents`.

        Approving releases nothing (the hold becomes spend), rejecting or lapsing releases it all, and
        capturing part of a manual intent's hold releases the rest. The hold must be undecided, or,
        `settling` a decision its session's write made (held_decisions), decided; a settlement
        changes no payment the events announce (`payment_change` None).
        """
        names: dict[str, str] = {"#payment": payment_id}
        if extra_condition:
            names["#status"] = "status"
        marks, mark_values = session_write_marks(payment_id, payment_change)
        values: dict[str, Any] = {":amount": {"N": str(amount_cents)}, **mark_values, **(extra_values or {})}
        if released_cents:
            values[":released"] = {"N": str(released_cents)}
        updates: list[str] = [marks]
        for position, key in enumerate(window_keys):
            counter = f"#w{position}"
            names[counter] = key
            updates.append(f"held.{counter} = held.{counter} - :amount")
            if released_cents:
                updates.append(f"committed.{counter} = committed.{counter} - :released")
        if settling:
            condition = "attribute_exists(holds.#payment.d)"
        else:
            condition = "attribute_exists(holds.#payment) AND attribute_not_exists(holds.#payment.d)"
        if extra_condition:
            condition += f" AND {extra_condition}"
        return {
            "Update": {
                "TableName": self._table,
                "Key": session_key(session_id),
                "UpdateExpression": "SET " + ", ".join(updates) + " REMOVE holds.#payment",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
        """TransactWriteItems; None when it committed, else the cancellation reasons.

        Cancellations caused only by contention or throttling are retried with jittered
        backoff (botocore already retries throttled requests and lost connections).
        """
        for attempt in range(MAX_TRANSACTION_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
                return None
            except self._client.exceptions.TransactionCanceledException as cancelled:
                reasons = list(cancelled.response.get("CancellationReasons", []))
            codes = {reason.get("Code") for reason in reasons} - {"None", None}
            if not codes or not codes <= _RETRYABLE_CANCELLATIONS:
                return reasons
            time.sleep(random.uniform(0, 0.02 * 2**attempt))  # noqa: S311 - jitter, not a secret
        raise TransactionContended()
