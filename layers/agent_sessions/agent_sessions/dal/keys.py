"""API keys, stored only as the SHA-256 of the key."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from agent_sessions.dal.codec import api_key_key, to_item
from agent_sessions.dal.table import TableAccess
from agent_sessions.domain.records import format_timestamp

if TYPE_CHECKING:
    pass


class DynamoApiKeys(TableAccess):
    """ApiKeyStore over the table."""

    def find_account_for_api_key(self, key_hash: str) -> str | None:
        """The account an API key (by hash) belongs to, read strongly consistently."""
        response = self._client.get_item(
            TableName=self._table,
            Key=api_key_key(key_hash),
            ConsistentRead=True,
            ProjectionExpression="account_id",
        )
        item = response.get("Item")
        return str(item["account_id"]["S"]) if item else None

    def put_api_key(self, key_hash: str, account_id: str, label: str, created_at: datetime) -> None:
        """Store a new API key's hash for an account; never overwrites."""
        self._client.put_item(
            TableName=self._table,
            Item=to_item(
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
