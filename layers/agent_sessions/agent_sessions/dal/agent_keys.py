"""Agent keys in the table: one item each (`AGENTKEY#<id>`), listed per account on the owner index.

The item also holds the key's request count for the current hour (`rl_hour`, `rl_count`), so one
conditional update both meters a request and finds the key still live: a revoked key is refused
by that update even while the authorizer's cached answer still names it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from agent_sessions.dal.codec import from_attribute, newest_first_key, parse_or_none, to_item
from agent_sessions.dal.ports import MeteredRequest
from agent_sessions.dal.table import TableAccess
from agent_sessions.domain.agent_keys import AgentKeyRecord
from agent_sessions.domain.jsonio import encode_json, parse_json_object_body
from agent_sessions.domain.records import format_timestamp, parse_timestamp

_LIVE = "attribute_exists(pk) AND attribute_not_exists(revoked_at)"
_METER_ATTEMPTS = 3


def agent_key_key(key_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"AGENTKEY#{key_id}"}}


def agent_keys_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#KEY"


def agent_key_item(key: AgentKeyRecord) -> dict[str, Any]:
    return to_item(
        {
            "pk": f"AGENTKEY#{key.id}",
            "type": "agent_key",
            "id": key.id,
            "account_id": key.account_id,
            "name": key.name,
            "agent_id": key.agent_id,
            "agent_name": key.agent_name,
            "scopes": list(key.scopes),
            "rate_limit": key.rate_limit_per_hour,
            "metadata": encode_json(key.metadata),
            "key_prefix": key.key_prefix,
            "key_hash": key.key_hash,
            "created_at": format_timestamp(key.created_at),
            "revoked_at": format_timestamp(key.revoked_at) if key.revoked_at else None,
            "fingerprint": key.request_fingerprint,
            "gsi1pk": agent_keys_partition(key.account_id),
            "gsi1sk": newest_first_key(key.id),
        }
    )


def agent_key_record(item: Mapping[str, Any]) -> AgentKeyRecord:
    values = {name: from_attribute(value) for name, value in item.items()}
    return AgentKeyRecord(
        id=values["id"],
        account_id=values["account_id"],
        name=values["name"],
        agent_id=values["agent_id"],
        agent_name=values.get("agent_name"),
        scopes=tuple(values["scopes"]),
        rate_limit_per_hour=int(values["rate_limit"]),
        metadata=parse_json_object_body(values.get("metadata") or "{}"),
        key_prefix=values["key_prefix"],
        key_hash=values["key_hash"],
        created_at=parse_timestamp(values["created_at"]),
        revoked_at=parse_or_none(values.get("revoked_at")),
        request_fingerprint=values.get("fingerprint"),
    )


class DynamoAgentKeys(TableAccess):
    """AgentKeyStore over the table."""

    def insert_agent_key(self, key: AgentKeyRecord) -> AgentKeyRecord | None:
        existing = self.put_if_absent(agent_key_item(key))
        return agent_key_record(existing) if existing else None

    def get_agent_key(self, key_id: str) -> AgentKeyRecord | None:
        item = self._read(key_id)
        return agent_key_record(item) if item else None

    def _read(self, key_id: str) -> dict[str, Any] | None:
        response = self._client.get_item(TableName=self._table, Key=agent_key_key(key_id), ConsistentRead=True)
        return response.get("Item")

    def list_agent_keys(self, account_id: str) -> list[AgentKeyRecord]:
        """Every agent key of an account, newest first (a handful: all pages are read)."""
        items = self.owner_partition_items(agent_keys_partition(account_id), newest_first=True)
        return [agent_key_record(item) for item in items]

    def revoke_agent_key(self, key_id: str, account_id: str, now: datetime) -> AgentKeyRecord | None:
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=agent_key_key(key_id),
                UpdateExpression="SET revoked_at = if_not_exists(revoked_at, :now)",
                ConditionExpression="account_id = :account",
                ExpressionAttributeValues={":now": {"S": format_timestamp(now)}, ":account": {"S": account_id}},
                ReturnValues="ALL_NEW",
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return None
        return agent_key_record(response["Attributes"])

    def meter_agent_key(self, key_id: str, hour: int) -> MeteredRequest | None:
        """One UpdateItem on the success path (two on a key's first request of an hour)."""
        values = {":one": {"N": "1"}, ":hour": {"N": str(hour)}}
        for _ in range(_METER_ATTEMPTS):
            try:
                response = self._client.update_item(
                    TableName=self._table,
                    Key=agent_key_key(key_id),
                    UpdateExpression="SET rl_count = rl_count + :one",
                    ConditionExpression=f"{_LIVE} AND rl_hour = :hour AND rl_count < rate_limit",
                    ExpressionAttributeValues=values,
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )
                return _metered(response["Attributes"])
            except self._client.exceptions.ConditionalCheckFailedException as failure:
                old_item = failure.response.get("Item") or self._read(key_id)
            if old_item is None or "revoked_at" in old_item:
                return None
            counted_hour = int(old_item.get("rl_hour", {}).get("N", "-1"))
            if counted_hour > hour:  # another instance's clock is past the hour already: count in its hour
                hour, values[":hour"] = counted_hour, {"N": str(counted_hour)}
                continue
            if counted_hour == hour:
                limit = int(old_item["rate_limit"]["N"])
                return MeteredRequest(count=int(old_item["rl_count"]["N"]), limit=limit, over=True)
            if self._start_hour(key_id, hour, values):
                return MeteredRequest(count=1, limit=int(old_item["rate_limit"]["N"]))
        return None

    def _start_hour(self, key_id: str, hour: int, values: dict[str, Any]) -> bool:
        """The key's first request of `hour`: its count starts at 1 (False if another request started it first)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=agent_key_key(key_id),
                UpdateExpression="SET rl_hour = :hour, rl_count = :one",
                ConditionExpression=f"{_LIVE} AND (attribute_not_exists(rl_hour) OR rl_hour < :hour)",
                ExpressionAttributeValues=values,
            )
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _metered(item: Mapping[str, Any]) -> MeteredRequest:
    return MeteredRequest(count=int(item["rl_count"]["N"]), limit=int(item["rate_limit"]["N"]))
