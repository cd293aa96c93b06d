"""How webhook endpoints and their deliveries are keyed and stored in the one table."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_sessions.dal.codec import (
    from_attribute,
    newest_first_key,
    parse_or_none,
    to_item,
)
from agent_sessions.domain.records import format_timestamp, parse_timestamp
from agent_sessions.domain.webhook_records import WebhookRecord


def webhooks_partition(account_id: str) -> str:
    return f"ACCT#{account_id}#WH"


def webhook_item(webhook: WebhookRecord) -> dict[str, Any]:
    item = to_item(
        {
            "pk": f"WH#{webhook.id}",
            "type": "webhook",
            "id": webhook.id,
            "account_id": webhook.account_id,
            "url": webhook.url,
            "events": list(webhook.events) if webhook.events is not None else None,
            "created_at": format_timestamp(webhook.created_at),
            "fingerprint": webhook.request_fingerprint,
            "gsi1pk": webhooks_partition(webhook.account_id),
            "gsi1sk": newest_first_key(webhook.id),
        }
    )
    item["sealed_secret"] = {"B": webhook.sealed_secret}
    return item


def webhook_record(item: Mapping[str, Any]) -> WebhookRecord:
    values = {name: from_attribute(value) for name, value in item.items() if name != "sealed_secret"}
    return WebhookRecord(
        id=values["id"],
        account_id=values["account_id"],
        url=values["url"],
        events=tuple(values["events"]) if values.get("events") is not None else None,
        sealed_secret=bytes(item["sealed_secret"]["B"]),
        created_at=parse_timestamp(values["created_at"]),
        disabled_at=parse_or_none(values.get("disabled_at")),
        request_fingerprint=values.get("fingerprint"),
        deleted_at=parse_or_none(values.get("deleted_at")),
        last_delivery=values.get("last_delivery"),
    )


def webhook_key(webhook_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"WH#{webhook_id}"}}


def delivery_key(event_id: str, webhook_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"DLV#{event_id}#{webhook_id}"}}
