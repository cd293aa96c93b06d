"""The one data-access module: every DynamoDB key, expression and item shape lives here.

Single table, string partition key `pk`:
- `APIKEY#<sha256 of key>`: an API key's account.
- `SESS#<session id>`: a session, its limits and its per-window counters. GSI `by_owner`
  (`gsi1pk` = `ACCT#<account>#SESS`, `gsi1sk` = `<written at, ns>#<id>`) lists an account's sessions
  newest first.
- `PAY#<payment id>`: a payment, authorized, awaiting approval, decided, or declined. The same
  GSI (`gsi1pk` = `SESS#<session id>#PAY`) lists a session's payments newest first; declines
  carry no gsi1 attributes, so they stay in the ledger without being listed.

GSI `by_due` is sparse and sharded: a live session and a payment awaiting approval carry
`gsi2pk` = `DUE#<shard>` and `gsi2sk` = `<due epoch, 10 digits>#<pk>`, removed by the write that
ends them, so the expiry sweep reads only what is due.

A session's counters are maps keyed by window index (`d3` is day 3): `committed` (spent plus
held, what the limit conditions compare), `held` (the part awaiting approval) and `holds`
(payment id -> amount and time taken, for each payment awaiting approval).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from agent_sessions.domain.errors import ValidationFailed
from agent_sessions.domain.jsonio import encode_json
from agent_sessions.domain.payment_rules import WindowCheck
from agent_sessions.domain.records import (
    LIMIT_NAMES,
    MAX_PENDING_APPROVALS,
    Decline,
    Hold,
    LimitName,
    PaymentRecord,
    PaymentStatus,
    SessionRecord,
    StoredSessionStatus,
    WebhookRecord,
    format_timestamp,
    parse_timestamp,
)
from agent_sessions.domain.windows import WINDOW_KINDS, window_position

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

OWNER_INDEX = "by_owner"
DUE_INDEX = "by_due"
DUE_SHARDS = 16
MAX_CURSOR_CHARS = 1024
# Transactions cancelled only by contention (not by a condition) are retried this many times.
MAX_TRANSACTION_ATTEMPTS = 6
# The write that ends a session or a hold takes it off the due index.
_NOT_DUE = "REMOVE gsi2pk, gsi2sk"
# Every write to a session bumps its version (a missing one counts as 0).
_NEXT_VERSION = "version = if_not_exists(version, :zero_version) + :one"
_RETRYABLE_CANCELLATIONS = {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"}


@dataclass(frozen=True)
class SessionPage:
    """One page of an account's sessions, newest first."""

    sessions: list[SessionRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class SessionFilter:
    """What a listing keeps: by agent, by wallet, and only sessions still able to spend."""

    agent_id: str | None = None
    user_wallet: str | None = None
    active_only: bool = False


@dataclass(frozen=True)
class PaymentPage:
    """One page of a session's payments, newest first."""

    payments: list[PaymentRecord]
    next_cursor: str | None


@dataclass(frozen=True)
class PaymentCommitted:
    """The debit and the payment record were written together."""


@dataclass(frozen=True)
class PaymentAlreadyExists:
    """A payment with this id exists (a replayed Idempotency-Key); nothing was written."""

    payment: PaymentRecord


@dataclass(frozen=True)
class SessionRefused:
    """The session's conditions failed; `session` is how it stood then (None if it is gone)."""

    session: SessionRecord | None


CommitOutcome = PaymentCommitted | PaymentAlreadyExists | SessionRefused


@dataclass(frozen=True)
class DueItem:
    """Something the due index says has fallen due: a session to expire or a hold to lapse."""

    kind: str  # "session" or "payment"
    id: str
    due_at: datetime
    # For a payment: what releasing its hold needs, projected onto the index.
    session_id: str | None = None
    amount_cents: int = 0
    window_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class DuePage:
    """Due items from one shard, oldest first, and where to go on."""

    items: list[DueItem]
    next_cursor: dict[str, Any] | None


class TransactionContended(Exception):
    """A transaction kept being cancelled by contention or throttling after every retry."""


class SessionStore(Protocol):
    """What the service needs from storage."""

    def find_account_for_api_key(self, key_hash: str) -> str | None:
        """The account an API key (by hash) belongs to, read strongly consistently."""

    def put_api_key(self, key_hash: str, account_id: str, label: str, created_at: datetime) -> None:
        """Store a new API key's hash for an account."""

    def insert_session(self, session: SessionRecord) -> None:
        """Write a new session (one PutItem)."""

    def get_session(self, session_id: str) -> SessionRecord | None:
        """Read a session strongly consistently; None when there is none."""

    def list_sessions(
        self, account_id: str, limit: int, cursor: str | None, session_filter: SessionFilter, now: datetime
    ) -> SessionPage:
        """One Query over an account's sessions, newest first."""

    def revoke_session(self, session_id: str, account_id: str, now: datetime) -> SessionRecord | None:
        """Revoke an account's live session in one conditional write.

        Returns the session after the call: revoked now, or unchanged when it had already
        ended. None when there is no such session for that account.
        """

    def commit_payment(
        self,
        payment: PaymentRecord,
        checks: tuple[WindowCheck, ...],
        now: datetime,
        expected_version: int | None = None,
    ) -> CommitOutcome:
        """Debit the session and write the payment in one transaction, or say why not.

        With `expected_version`, only if the session is exactly that version.
        """

    def insert_declined_payment(self, payment: PaymentRecord) -> PaymentRecord | None:
        """Record a refused attempt; if its id exists already, write nothing and return that payment."""

    def get_payment(self, payment_id: str) -> PaymentRecord | None:
        """Read a payment strongly consistently; None when there is none."""

    def list_payments(self, session_id: str, limit: int, cursor: str | None) -> PaymentPage:
        """One Query over a session's payments, newest first (declines are not listed)."""

    def decide_payment(self, payment: PaymentRecord, approve: bool, now: datetime) -> bool:
        """Approve (hold becomes spend) or reject (hold released) a pending payment, atomically.

        False when it is no longer awaiting approval (decided, lapsed, or its session ended).
        """

    def release_lapsed_hold(self, session: SessionRecord, payment_id: str, hold: Hold) -> bool:
        """Mark a lapsed pending payment expired and release its hold, atomically; False if already done."""

    def due_items(self, shard: int, now: datetime, cursor: dict[str, Any] | None) -> DuePage:
        """One page of a due-index shard: everything due at or before `now`."""

    def expire_session(self, session_id: str, now: datetime) -> bool:
        """Mark a live session past its expiry as expired; False if it already ended."""

    def lapse_due_payment(self, item: DueItem) -> bool:
        """Mark a payment past its approval deadline expired and release its hold; False if decided."""

    def insert_webhook(self, webhook: WebhookRecord) -> None:
        """Write a new webhook endpoint."""

    def list_webhooks(self, account_id: str) -> list[WebhookRecord]:
        """Every webhook endpoint of an account, newest first."""

    def delete_webhook(self, webhook_id: str, account_id: str) -> bool:
        """Delete an account's webhook endpoint; False when it has none by that id."""

    def disable_webhook(self, webhook_id: str, now: datetime) -> None:
        """Stop delivering to an endpoint."""

    def was_delivered(self, event_id: str, webhook_id: str) -> bool:
        """Whether this event already reached this endpoint."""

    def record_delivery(self, event_id: str, webhook_id: str, now: datetime) -> None:
        """Remember that this event reached this endpoint."""


# ---- item <-> record --------------------------------------------------------------------


def _to_attribute(value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int | Decimal):
        return {"N": str(value)}
    if isinstance(value, list):
        return {"L": [_to_attribute(item) for item in value]}
    if isinstance(value, dict):
        return {"M": {str(k): _to_attribute(v) for k, v in value.items()}}
    if value is None:
        return {"NULL": True}
    raise TypeError(f"cannot store {type(value).__name__}")


def _from_attribute(attribute: Mapping[str, Any]) -> Any:
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        return int(value) if value.lstrip("-").isdigit() else Decimal(value)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "L":
        return [_from_attribute(item) for item in value]
    if kind == "M":
        return {k: _from_attribute(v) for k, v in value.items()}
    raise TypeError(f"unexpected attribute type {kind}")


def _to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _to_attribute(value) for name, value in values.items() if value is not None}


def _from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _from_attribute(attribute) for name, attribute in item.items()}


def _session_key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"SESS#{session_id}"}}


def _owner_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#SESS"


def _due_attributes(pk: str, due_at: datetime) -> dict[str, str]:
    """The due-index attributes of an item that falls due at `due_at` (its shard from its key)."""
    shard = int(hashlib.sha256(pk.encode()).hexdigest()[:8], 16) % DUE_SHARDS
    return {"gsi2pk": f"DUE#{shard}", "gsi2sk": f"{int(due_at.timestamp()):010d}#{pk}"}


def _newest_first_key(object_id: str) -> str:
    """A listing sort key: the write time in nanoseconds, so objects made in one second keep their order."""
    return f"{time.time_ns():020d}#{object_id}"


def _session_item(session: SessionRecord) -> dict[str, Any]:
    return _to_item(
        {
            "pk": f"SESS#{session.id}",
            "type": "session",
            "id": session.id,
            "account_id": session.account_id,
            "agent_id": session.agent_id,
            "agent_name": session.agent_name,
            "user_wallet": session.user_wallet,
            "limits": dict(session.limits_cents),
            "allowed_merchants": session.allowed_merchants,
            "status": session.stored_status,
            "created_at": format_timestamp(session.created_at),
            "expires_at": format_timestamp(session.expires_at),
            "expires_epoch": int(session.expires_at.timestamp()),
            "revoked_at": format_timestamp(session.revoked_at) if session.revoked_at else None,
            "token_hash": session.token_hash,
            "pkp_address": session.pkp_address,
            "metadata": encode_json(session.metadata),
            "committed": dict(session.committed_cents),
            "held": dict(session.held_cents),
            "holds": {
                payment_id: {"a": hold.amount_cents, "t": int(hold.taken_at.timestamp())}
                for payment_id, hold in session.holds.items()
            },
            "version": session.version,
            "attestation_signature": session.attestation_signature,
            "gsi1pk": _owner_partition(session.account_id),
            "gsi1sk": _newest_first_key(session.id),
            **(_due_attributes(f"SESS#{session.id}", session.expires_at) if session.stored_status == "active" else {}),
        }
    )


def _session_record(item: Mapping[str, Any]) -> SessionRecord:
    values = _from_item(item)
    limits = cast(dict[LimitName, int], {name: int(values["limits"][name]) for name in LIMIT_NAMES})
    return SessionRecord(
        id=values["id"],
        account_id=values["account_id"],
        agent_id=values["agent_id"],
        agent_name=values.get("agent_name"),
        user_wallet=values["user_wallet"],
        limits_cents=limits,
        allowed_merchants=values.get("allowed_merchants"),
        stored_status=cast(StoredSessionStatus, values["status"]),
        created_at=parse_timestamp(values["created_at"]),
        expires_at=parse_timestamp(values["expires_at"]),
        token_hash=values["token_hash"],
        revoked_at=parse_timestamp(values["revoked_at"]) if values.get("revoked_at") else None,
        pkp_address=values.get("pkp_address"),
        metadata=json.loads(values.get("metadata") or "{}", parse_float=Decimal),
        committed_cents={k: int(v) for k, v in values.get("committed", {}).items()},
        held_cents={k: int(v) for k, v in values.get("held", {}).items()},
        holds={
            payment_id: Hold(amount_cents=int(hold["a"]), taken_at=datetime.fromtimestamp(int(hold["t"]), UTC))
            for payment_id, hold in values.get("holds", {}).items()
        },
        version=int(values.get("version", 0)),
        attestation_signature=values.get("attestation_signature"),
    )


def _payment_key(payment_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PAY#{payment_id}"}}


def _payments_partition(session_id: str) -> str:
    return f"SESS#{session_id}#PAY"


def _payment_item(payment: PaymentRecord) -> dict[str, Any]:
    listed = payment.stored_status != "declined"
    decline = payment.decline
    return _to_item(
        {
            "pk": f"PAY#{payment.id}",
            "type": "payment",
            "id": payment.id,
            "session_id": payment.session_id,
            "account_id": payment.account_id,
            "amount": payment.amount_cents,
            "currency": payment.currency,
            "merchant_id": payment.merchant_id,
            "description": payment.description,
            "metadata": encode_json(payment.metadata) if payment.metadata else None,
            "status": payment.stored_status,
            "created_at": format_timestamp(payment.created_at),
            "fingerprint": payment.request_fingerprint,
            "windows": list(payment.window_keys) or None,
            "approval_expires_at": _timestamp_or_none(payment.approval_expires_at),
            "approval_expires_epoch": _epoch_or_none(payment.approval_expires_at),
            "decided_at": _timestamp_or_none(payment.decided_at),
            "decline": encode_json({"code": decline.code, "message": decline.message, "details": decline.details})
            if decline
            else None,
            "gsi1pk": _payments_partition(payment.session_id) if listed else None,
            "gsi1sk": _newest_first_key(payment.id) if listed else None,
            **(
                _due_attributes(f"PAY#{payment.id}", payment.approval_expires_at)
                if payment.stored_status == "pending_approval" and payment.approval_expires_at
                else {}
            ),
        }
    )


def _timestamp_or_none(moment: datetime | None) -> str | None:
    return format_timestamp(moment) if moment else None


def _epoch_or_none(moment: datetime | None) -> int | None:
    return int(moment.timestamp()) if moment else None


def _payment_record(item: Mapping[str, Any]) -> PaymentRecord:
    values = _from_item(item)
    decline = json.loads(values["decline"], parse_float=Decimal) if values.get("decline") else None
    return PaymentRecord(
        id=values["id"],
        session_id=values["session_id"],
        account_id=values["account_id"],
        amount_cents=int(values["amount"]),
        currency=values["currency"],
        merchant_id=values.get("merchant_id"),
        description=values.get("description"),
        metadata=json.loads(values["metadata"], parse_float=Decimal) if values.get("metadata") else {},
        stored_status=cast(PaymentStatus, values["status"]),
        created_at=parse_timestamp(values["created_at"]),
        request_fingerprint=values["fingerprint"],
        window_keys=tuple(values.get("windows") or ()),
        approval_expires_at=_parse_or_none(values.get("approval_expires_at")),
        decided_at=_parse_or_none(values.get("decided_at")),
        decline=Decline(code=decline["code"], message=decline["message"], details=decline["details"])
        if decline
        else None,
    )


def _parse_or_none(text: str | None) -> datetime | None:
    return parse_timestamp(text) if text else None


def _webhooks_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#WH"


def _webhook_item(webhook: WebhookRecord) -> dict[str, Any]:
    item = _to_item(
        {
            "pk": f"WH#{webhook.id}",
            "type": "webhook",
            "id": webhook.id,
            "account_id": webhook.account_id,
            "url": webhook.url,
            "events": list(webhook.events) if webhook.events is not None else None,
            "created_at": format_timestamp(webhook.created_at),
            "gsi1pk": _webhooks_partition(webhook.account_id),
            "gsi1sk": _newest_first_key(webhook.id),
        }
    )
    item["sealed_secret"] = {"B": webhook.sealed_secret}
    return item


def _webhook_record(item: Mapping[str, Any]) -> WebhookRecord:
    values = {name: _from_attribute(value) for name, value in item.items() if name != "sealed_secret"}
    return WebhookRecord(
        id=values["id"],
        account_id=values["account_id"],
        url=values["url"],
        events=tuple(values["events"]) if values.get("events") is not None else None,
        sealed_secret=bytes(item["sealed_secret"]["B"]),
        created_at=parse_timestamp(values["created_at"]),
        disabled_at=_parse_or_none(values.get("disabled_at")),
    )


def record_from_image(image: Mapping[str, Any] | None) -> SessionRecord | PaymentRecord | None:
    """A stream image (DynamoDB's attribute-value form) as the record it stores; None for others."""
    if not image:
        return None
    kind = image.get("type", {}).get("S")
    if kind == "session":
        return _session_record(image)
    if kind == "payment":
        return _payment_record(image)
    return None


def _encode_cursor(last_evaluated_key: Mapping[str, Any]) -> str:
    position = {"pk": last_evaluated_key["pk"]["S"], "sk": last_evaluated_key["gsi1sk"]["S"]}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, partition: str, pk_prefix: str) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for; its partition is always the one being listed."""
    invalid = ValidationFailed({"cursor": "is not a cursor this API returned"})
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        pk, sk = position["pk"], position["sk"]
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise invalid from exc
    if not (isinstance(pk, str) and isinstance(sk, str) and pk.startswith(pk_prefix)):
        raise invalid
    return {"pk": {"S": pk}, "gsi1pk": {"S": partition}, "gsi1sk": {"S": sk}}


# ---- the DynamoDB implementation --------------------------------------------------------


class DynamoSessionStore:
    """SessionStore over one DynamoDB table, with the low-level client (cheapest to start)."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    def find_account_for_api_key(self, key_hash: str) -> str | None:
        """The account an API key (by hash) belongs to, read strongly consistently."""
        response = self._client.get_item(
            TableName=self._table,
            Key={"pk": {"S": f"APIKEY#{key_hash}"}},
            ConsistentRead=True,
            ProjectionExpression="account_id",
        )
        item = response.get("Item")
        return str(item["account_id"]["S"]) if item else None

    def put_api_key(self, key_hash: str, account_id: str, label: str, created_at: datetime) -> None:
        """Store a new API key's hash for an account; never overwrites."""
        self._client.put_item(
            TableName=self._table,
            Item=_to_item(
                {
                    "pk": f"APIKEY#{key_hash}",
                    "type": "api_key",
                    "account_id": account_id,
                    "label": label,
                    "created_at": format_timestamp(created_at),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def insert_session(self, session: SessionRecord) -> None:
        """Write a new session (one PutItem); an id collision fails rather than overwrites."""
        self._client.put_item(
            TableName=self._table,
            Item=_session_item(session),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get_session(self, session_id: str) -> SessionRecord | None:
        """Read a session strongly consistently; None when there is none."""
        response = self._client.get_item(TableName=self._table, Key=_session_key(session_id), ConsistentRead=True)
        item = response.get("Item")
        return _session_record(item) if item else None

    def list_sessions(
        self, account_id: str, limit: int, cursor: str | None, session_filter: SessionFilter, now: datetime
    ) -> SessionPage:
        """One Query over the owner index, newest first.

        Filters apply after DynamoDB reads `limit` items, so a filtered page may hold fewer
        than `limit` sessions while `next_cursor` still points further.
        """
        names: dict[str, str] = {}
        values: dict[str, Any] = {":owner": {"S": _owner_partition(account_id)}}
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
        if cursor:
            request["ExclusiveStartKey"] = _decode_cursor(cursor, _owner_partition(account_id), "SESS#")
        response = self._client.query(**request)
        last_key = response.get("LastEvaluatedKey")
        return SessionPage(
            sessions=[_session_record(item) for item in response.get("Items", [])],
            next_cursor=_encode_cursor(last_key) if last_key else None,
        )

    def revoke_session(self, session_id: str, account_id: str, now: datetime) -> SessionRecord | None:
        """Revoke an account's live session in one conditional write (see SessionStore)."""
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=_session_key(session_id),
                UpdateExpression=f"SET #status = :revoked, revoked_at = :now, {_NEXT_VERSION} {_NOT_DUE}",
                ConditionExpression="account_id = :account AND #status = :active AND expires_epoch > :now_epoch",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":revoked": {"S": "revoked"},
                    ":active": {"S": "active"},
                    ":account": {"S": account_id},
                    ":now": {"S": format_timestamp(now)},
                    ":now_epoch": {"N": str(int(now.timestamp()))},
                    ":one": {"N": "1"},
                    ":zero_version": {"N": "0"},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as failure:
            old_item = failure.response.get("Item")
            # DynamoDB returns the item (ALL_OLD); an implementation that does not is read instead.
            session = _session_record(old_item) if old_item else self.get_session(session_id)
            if session is None or session.account_id != account_id:
                return None
            return session
        return _session_record(response["Attributes"])

    # ---- payments ------------------------------------------------------------------------

    def commit_payment(
        self,
        payment: PaymentRecord,
        checks: tuple[WindowCheck, ...],
        now: datetime,
        expected_version: int | None = None,
    ) -> CommitOutcome:
        """One TransactWriteItems: the session's conditional debit plus the payment's put.

        The session update checks, in its condition: active, not past expiry, amount within
        max_per_transaction, merchant allowed, and for each current window (by index, so a new
        window simply starts a new counter) that the committed amount leaves room. A payment
        awaiting approval also records its hold. The put is guarded by attribute_not_exists,
        which is what makes an Idempotency-Key (bound to the payment id) safe to replay.
        With `expected_version` the update also requires the session to be exactly that version,
        so a caller that knows that version knows the session after the write without reading it.
        """
        names: dict[str, str] = {"#status": "status"}
        values: dict[str, Any] = {
            ":active": {"S": "active"},
            ":now": {"N": str(int(now.timestamp()))},
            ":amount": {"N": str(payment.amount_cents)},
            ":zero": {"N": "0"},
            # "" is never a merchant id, so with no merchant_id an allow-list refuses.
            ":merchant": {"S": payment.merchant_id or ""},
            ":one": {"N": "1"},
            ":zero_version": {"N": "0"},
        }
        updates: list[str] = [_NEXT_VERSION]
        conditions = [
            "#status = :active",
            "expires_epoch > :now",
            "limits.max_per_transaction >= :amount",
            "(attribute_not_exists(allowed_merchants) OR contains(allowed_merchants, :merchant))",
        ]
        for check in checks:
            counter = f"#{check.kind}"
            names[counter] = check.counter_key
            values[f":room_{check.kind}"] = {"N": str(check.max_committed_before_cents)}
            updates.append(f"committed.{counter} = if_not_exists(committed.{counter}, :zero) + :amount")
            conditions.append(f"limits.{check.limit_name} >= :amount")
            conditions.append(
                f"(attribute_not_exists(committed.{counter}) OR committed.{counter} <= :room_{check.kind})"
            )
            if payment.approval_expires_at is not None:
                updates.append(f"held.{counter} = if_not_exists(held.{counter}, :zero) + :amount")
        if payment.approval_expires_at is not None:
            names["#payment"] = payment.id
            values[":hold"] = {
                "M": {"a": {"N": str(payment.amount_cents)}, "t": {"N": str(int(payment.created_at.timestamp()))}}
            }
            values[":max_pending"] = {"N": str(MAX_PENDING_APPROVALS)}
            updates.append("holds.#payment = :hold")
            conditions.append("size(holds) < :max_pending")
        if expected_version is not None:
            values[":version"] = {"N": str(expected_version)}
            conditions.append("version = :version")
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _session_key(payment.session_id),
                    "UpdateExpression": "SET " + ", ".join(updates),
                    "ConditionExpression": " AND ".join(conditions),
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": _payment_item(payment),
                    "ConditionExpression": "attribute_not_exists(pk)",
                    "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                }
            },
        ]
        reasons = self._transact(items)
        if reasons is None:
            return PaymentCommitted()
        session_reason, payment_reason = reasons
        if payment_reason.get("Code") == "ConditionalCheckFailed":
            return PaymentAlreadyExists(_payment_record(payment_reason["Item"]))
        old_session = session_reason.get("Item")
        return SessionRefused(_session_record(old_session) if old_session else None)

    def insert_declined_payment(self, payment: PaymentRecord) -> PaymentRecord | None:
        """Record a refused attempt; if its id exists already, write nothing and return that payment."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_payment_item(payment),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as failure:
            return _payment_record(failure.response["Item"])
        return None

    def get_payment(self, payment_id: str) -> PaymentRecord | None:
        """Read a payment strongly consistently; None when there is none."""
        response = self._client.get_item(TableName=self._table, Key=_payment_key(payment_id), ConsistentRead=True)
        item = response.get("Item")
        return _payment_record(item) if item else None

    def list_payments(self, session_id: str, limit: int, cursor: str | None) -> PaymentPage:
        """One Query over the session's payments on the owner index, newest first."""
        partition = _payments_partition(session_id)
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": {"S": partition}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            request["ExclusiveStartKey"] = _decode_cursor(cursor, partition, "PAY#")
        response = self._client.query(**request)
        last_key = response.get("LastEvaluatedKey")
        return PaymentPage(
            payments=[_payment_record(item) for item in response.get("Items", [])],
            next_cursor=_encode_cursor(last_key) if last_key else None,
        )

    def decide_payment(self, payment: PaymentRecord, approve: bool, now: datetime) -> bool:
        """Approve or reject a pending payment: its status and the session's hold change together."""
        now_epoch = {"N": str(int(now.timestamp()))}
        session_update = self._hold_release(
            payment.session_id,
            payment.id,
            payment.amount_cents,
            payment.window_keys,
            release_commitment=not approve,
            extra_condition="#status = :active AND expires_epoch > :now",
            extra_values={":active": {"S": "active"}, ":now": now_epoch},
        )
        payment_update = {
            "Update": {
                "TableName": self._table,
                "Key": _payment_key(payment.id),
                "UpdateExpression": f"SET #status = :decided, decided_at = :decided_at {_NOT_DUE}",
                "ConditionExpression": "#status = :pending AND approval_expires_epoch > :now",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":decided": {"S": "authorized" if approve else "rejected"},
                    ":decided_at": {"S": format_timestamp(now)},
                    ":pending": {"S": "pending_approval"},
                    ":now": now_epoch,
                },
            }
        }
        return self._transact([payment_update, session_update]) is None

    def release_lapsed_hold(self, session: SessionRecord, payment_id: str, hold: Hold) -> bool:
        """Mark a lapsed pending payment expired and release its hold, atomically; False if already done."""
        window_keys = tuple(
            window_position(kind, session.created_at, hold.taken_at).counter_key for kind in WINDOW_KINDS
        )
        return self._lapse(session.id, payment_id, hold.amount_cents, window_keys, session.hold_lapses_at(hold))

    # ---- the expiry sweep ------------------------------------------------------------------

    def due_items(self, shard: int, now: datetime, cursor: dict[str, Any] | None) -> DuePage:
        """One Query of a due-index shard: only items whose due time is at or before `now`."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": DUE_INDEX,
            "KeyConditionExpression": "gsi2pk = :shard AND gsi2sk <= :now",
            "ExpressionAttributeValues": {
                ":shard": {"S": f"DUE#{shard}"},
                ":now": {"S": f"{int(now.timestamp()):010d}#~"},  # "~" sorts after every pk
            },
            "Limit": 100,
        }
        if cursor:
            request["ExclusiveStartKey"] = cursor
        response = self._client.query(**request)
        items = []
        for raw in response.get("Items", []):
            values = _from_item(raw)
            due_at = datetime.fromtimestamp(int(values["gsi2sk"].split("#", 1)[0]), UTC)
            items.append(
                DueItem(
                    kind=values.get("type", ""),
                    id=values.get("id", ""),
                    due_at=due_at,
                    session_id=values.get("session_id"),
                    amount_cents=int(values.get("amount", 0)),
                    window_keys=tuple(values.get("windows") or ()),
                )
            )
        return DuePage(items=items, next_cursor=response.get("LastEvaluatedKey"))

    def expire_session(self, session_id: str, now: datetime) -> bool:
        """Mark a live session past its expiry as expired, in one conditional write."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_session_key(session_id),
                UpdateExpression=f"SET #status = :expired, {_NEXT_VERSION} {_NOT_DUE}",
                ConditionExpression="#status = :active AND expires_epoch <= :now",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":expired": {"S": "expired"},
                    ":active": {"S": "active"},
                    ":now": {"N": str(int(now.timestamp()))},
                    ":one": {"N": "1"},
                    ":zero_version": {"N": "0"},
                },
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def lapse_due_payment(self, item: DueItem) -> bool:
        """Mark a payment past its deadline expired and release its hold, in one transaction."""
        assert item.session_id is not None
        return self._lapse(item.session_id, item.id, item.amount_cents, item.window_keys, item.due_at)

    def _lapse(
        self, session_id: str, payment_id: str, amount_cents: int, window_keys: tuple[str, ...], lapsed_at: datetime
    ) -> bool:
        """The payment pending -> expired and the session's hold released, together; False if already decided."""
        payment_update = {
            "Update": {
                "TableName": self._table,
                "Key": _payment_key(payment_id),
                "UpdateExpression": f"SET #status = :expired, decided_at = :lapsed_at {_NOT_DUE}",
                "ConditionExpression": "#status = :pending",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": {
                    ":expired": {"S": "expired"},
                    ":pending": {"S": "pending_approval"},
                    ":lapsed_at": {"S": format_timestamp(lapsed_at)},
                },
            }
        }
        session_update = self._hold_release(session_id, payment_id, amount_cents, window_keys, release_commitment=True)
        return self._transact([payment_update, session_update]) is None

    def _hold_release(
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
        updates: list[str] = [_NEXT_VERSION]
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
                "Key": _session_key(session_id),
                "UpdateExpression": "SET " + ", ".join(updates) + " REMOVE holds.#payment",
                "ConditionExpression": condition,
                "ExpressionAttributeNames": names,
                "ExpressionAttributeValues": values,
            }
        }

    def _transact(self, items: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
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

    # ---- webhooks ----------------------------------------------------------------------------

    def insert_webhook(self, webhook: WebhookRecord) -> None:
        """Write a new webhook endpoint (one PutItem)."""
        self._client.put_item(
            TableName=self._table, Item=_webhook_item(webhook), ConditionExpression="attribute_not_exists(pk)"
        )

    def list_webhooks(self, account_id: str) -> list[WebhookRecord]:
        """Every webhook endpoint of an account, newest first (a handful: all pages are read)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": OWNER_INDEX,
            "KeyConditionExpression": "gsi1pk = :partition",
            "ExpressionAttributeValues": {":partition": {"S": _webhooks_partition(account_id)}},
            "ScanIndexForward": False,
        }
        webhooks: list[WebhookRecord] = []
        while True:
            response = self._client.query(**request)
            webhooks.extend(_webhook_record(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return webhooks
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def delete_webhook(self, webhook_id: str, account_id: str) -> bool:
        """Delete an account's webhook endpoint; False when it has none by that id."""
        try:
            self._client.delete_item(
                TableName=self._table,
                Key={"pk": {"S": f"WH#{webhook_id}"}},
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
                Key={"pk": {"S": f"WH#{webhook_id}"}},
                UpdateExpression="SET disabled_at = :now",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(disabled_at)",
                ExpressionAttributeValues={":now": {"S": format_timestamp(now)}},
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return

    def was_delivered(self, event_id: str, webhook_id: str) -> bool:
        """Whether this event already reached this endpoint (a retry skips it)."""
        response = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": f"DLV#{event_id}#{webhook_id}"}}, ConsistentRead=True
        )
        return "Item" in response

    def record_delivery(self, event_id: str, webhook_id: str, now: datetime) -> None:
        """Remember a delivery for a week (TTL), so retries of the event skip this endpoint."""
        self._client.put_item(
            TableName=self._table,
            Item=_to_item(
                {
                    "pk": f"DLV#{event_id}#{webhook_id}",
                    "type": "delivery",
                    "delivered_at": format_timestamp(now),
                    "ttl": int(now.timestamp()) + 7 * 24 * 3600,
                }
            ),
        )


@lru_cache(maxsize=1)
def default_store() -> DynamoSessionStore:
    """The store for this process, built on first use from the environment and then reused."""
    import boto3
    from botocore.config import Config

    from agent_sessions.infra.settings import load_settings

    settings = load_settings()
    client = boto3.client(
        "dynamodb",
        config=Config(
            retries={"mode": "standard", "max_attempts": 5},
            connect_timeout=2,
            read_timeout=settings.dynamodb_read_timeout_seconds,
        ),
    )
    return DynamoSessionStore(client, settings.table_name)
