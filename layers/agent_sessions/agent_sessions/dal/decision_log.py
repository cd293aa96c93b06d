"""The decision log's items: `LOGHEAD#<session>` (seq and hash), `LOG#<session>#<seq>` (an entry, listed
through the owner index in seq order) and `LOGSRC#<session>#<source>` (what was appended already)."""

from __future__ import annotations

import json
from contextlib import suppress
from typing import Any

from agent_sessions.dal.table import TableAccess, source_mark
from agent_sessions.domain.decision_log import canonical


class DynamoDecisionLog(TableAccess):
    """DecisionLogStore over the table."""

    def log_head(self, session_id: str) -> tuple[int, str] | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": f"LOGHEAD#{session_id}"}}, ConsistentRead=True
        ).get("Item")
        return (int(item["seq"]["N"]), item["hash"]["S"]) if item else None

    def append_entry(self, session_id: str, source: str, entry: dict[str, Any], after_seq: int) -> str:
        """One transaction: the entry, the head moved from `after_seq`, the source marked."""
        seq = int(entry["seq"])
        head_condition = "attribute_not_exists(pk)" if after_seq == 0 else "seq = :after"
        head_values = {":after": {"N": str(after_seq)}} if after_seq else {}
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": f"LOG#{session_id}#{seq:010d}"},
                        "type": {"S": "log_entry"},
                        "entry": {"S": canonical(entry).decode()},
                        "gsi1pk": {"S": f"LOG#{session_id}"},
                        "gsi1sk": {"S": f"{seq:010d}"},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        "pk": {"S": f"LOGHEAD#{session_id}"},
                        "type": {"S": "log_head"},
                        "seq": {"N": str(seq)},
                        "hash": {"S": str(entry["hash"])},
                    },
                    "ConditionExpression": head_condition,
                    **({"ExpressionAttributeValues": head_values} if head_values else {}),
                }
            },
            source_mark(self._table, f"LOGSRC#{session_id}#{source}"),
        ]
        reasons = self.transact(items)
        if reasons is None:
            return "appended"
        return "duplicate" if reasons[2].get("Code") == "ConditionalCheckFailed" else "moved"

    def log_entries(self, session_id: str) -> list[dict[str, Any]]:
        items = self.owner_partition_items(f"LOG#{session_id}", newest_first=False)
        return [json.loads(item["entry"]["S"]) for item in items]

    def record_anchor(self, session_id: str, receipt: dict[str, Any]) -> None:
        """Keep the receipt of the highest head anchored (a redelivery or an older head changes nothing)."""
        seq = int(receipt["statement"]["seq"])
        with suppress(self._client.exceptions.ConditionalCheckFailedException):
            self._client.put_item(
                TableName=self._table,
                Item={
                    "pk": {"S": f"ANCHOR#{session_id}"},
                    "type": {"S": "log_anchor"},
                    "seq": {"N": str(seq)},
                    "receipt": {"S": canonical(receipt).decode()},
                },
                ConditionExpression="attribute_not_exists(pk) OR seq < :seq",
                ExpressionAttributeValues={":seq": {"N": str(seq)}},
            )

    def anchor_receipt(self, session_id: str) -> dict[str, Any] | None:
        item = self._client.get_item(
            TableName=self._table, Key={"pk": {"S": f"ANCHOR#{session_id}"}}, ConsistentRead=True
        ).get("Item")
        return dict(json.loads(item["receipt"]["S"])) if item else None
