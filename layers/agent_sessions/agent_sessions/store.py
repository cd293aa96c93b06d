"""The one data-access module: every DynamoDB key, expression and item shape lives here.

Single table, string partition key `pk`:
- `APIKEY#<sha256 of key>`: an API key's account.
- `SESS#<session id>`: a session, its limits and its per-window counters. GSI `by_owner`
  (`gsi1pk` = `ACCT#<account>#SESS`, `gsi1sk` = `<created ms>#<id>`) lists an account's sessions
  newest first.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Protocol, cast

from agent_sessions.errors import ValidationFailed
from agent_sessions.jsonio import encode_json
from agent_sessions.records import (
    LIMIT_NAMES,
    LimitName,
    SessionRecord,
    StoredSessionStatus,
    format_timestamp,
    parse_timestamp,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

OWNER_INDEX = "by_owner"
MAX_CURSOR_CHARS = 1024


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
            "spent": dict(session.spent_cents),
            "held": dict(session.held_cents),
            "gsi1pk": _owner_partition(session.account_id),
            "gsi1sk": f"{int(session.created_at.timestamp() * 1000):013d}#{session.id}",
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
        spent_cents={k: int(v) for k, v in values.get("spent", {}).items()},
        held_cents={k: int(v) for k, v in values.get("held", {}).items()},
    )


def _encode_cursor(last_evaluated_key: Mapping[str, Any]) -> str:
    position = {"pk": last_evaluated_key["pk"]["S"], "sk": last_evaluated_key["gsi1sk"]["S"]}
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, account_id: str) -> dict[str, Any]:
    """The ExclusiveStartKey a cursor stands for; its partition is always the caller's own."""
    invalid = ValidationFailed({"cursor": "is not a cursor this API returned"})
    if len(cursor) > MAX_CURSOR_CHARS:
        raise invalid
    try:
        position = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        pk, sk = position["pk"], position["sk"]
    except (ValueError, binascii.Error, KeyError, TypeError) as exc:
        raise invalid from exc
    if not (isinstance(pk, str) and isinstance(sk, str) and pk.startswith("SESS#")):
        raise invalid
    return {"pk": {"S": pk}, "gsi1pk": {"S": _owner_partition(account_id)}, "gsi1sk": {"S": sk}}


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
            request["ExclusiveStartKey"] = _decode_cursor(cursor, account_id)
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
                UpdateExpression="SET #status = :revoked, revoked_at = :now",
                ConditionExpression="account_id = :account AND #status = :active AND expires_epoch > :now_epoch",
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":revoked": {"S": "revoked"},
                    ":active": {"S": "active"},
                    ":account": {"S": account_id},
                    ":now": {"S": format_timestamp(now)},
                    ":now_epoch": {"N": str(int(now.timestamp()))},
                },
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self._client.exceptions.ConditionalCheckFailedException as failure:
            old_item = failure.response.get("Item")
            if not old_item or old_item.get("account_id", {}).get("S") != account_id:
                return None
            return _session_record(old_item)
        return _session_record(response["Attributes"])


@lru_cache(maxsize=1)
def default_store() -> DynamoSessionStore:
    """The store for this process, built on first use from the environment and then reused."""
    import boto3
    from botocore.config import Config

    from agent_sessions.settings import load_settings

    settings = load_settings()
    client = boto3.client(
        "dynamodb",
        config=Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=2, read_timeout=5),
    )
    return DynamoSessionStore(client, settings.table_name)
