"""What every per-aggregate DynamoDB class shares: the client, the table, and transactions.

The transaction helpers that end a hold live here because both a decision (payments) and the
expiry sweep (due items) end holds with the same two writes.
"""

from __future__ import annotations

import random
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agent_sessions.dal.codec import payment_key, session_key
from agent_sessions.dal.ports import TransactionContended
from agent_sessions.domain.records import format_timestamp

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

# Transactions cancelled only by contention (not by a condition) are retried this many times.
MAX_TRANSACTION_ATTEMPTS = 6
# The write that ends a session or a hold takes it off the due index.
NOT_DUE = "REMOVE gsi2pk, gsi2sk"
# Every write to a session bumps its version (a missing one counts as 0).
NEXT_VERSION = "version = if_not_exists(version, :zero_version) + :one"
VERSION_VALUES = {":one": {"N": "1"}, ":zero_version": {"N": "0"}}
_RETRYABLE_CANCELLATIONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


class TableAccess:
    """One DynamoDB table through the low-level client (cheapest to start)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

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
        session_update = self.hold_release(session_id, payment_id, amount_cents, window_keys, release_commitment=True)
        return self.transact([payment_update, session_update]) is None

    def hold_release(
        self,
        session_id: str,
        payment_id: str,
        amount_cents: int,
        window_keys: tuple[str, ...],
        release_commitment: bool,
        extra_condition: str | None = None,
        extra_values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The session side of ending a hold: held (and, unless approved, committed) go down by its amount."""
        names: dict[str, str] = {"#payment": payment_id}
        if extra_condition:
            names["#status"] = "status"
        values: dict[str, Any] = {
            ":amount": {"N": str(amount_cents)},
            ":one": {"N": "1"},
            ":zero_version": {"N": "0"},
            **(extra_values or {}),
        }
        updates: list[str] = [NEXT_VERSION]
        for position, key in enumerate(window_keys):
            counter = f"#w{position}"
            names[counter] = key
            updates.append(f"held.{counter} = held.{counter} - :amount")
            if release_commitment:
                updates.append(f"committed.{counter} = committed.{counter} - :amount")
        condition = "attribute_exists(holds.#payment)"
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
