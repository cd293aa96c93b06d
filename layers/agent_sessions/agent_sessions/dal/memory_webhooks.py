"""Webhook endpoints and their deliveries in memory (mixed into MemoryStore)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import datetime

from agent_sessions.domain.records import format_timestamp
from agent_sessions.domain.webhook_records import WebhookRecord


class MemoryWebhooks:
    """WebhookStore and DeliveryStore in memory."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._webhooks: dict[str, WebhookRecord] = {}
        self._deliveries: set[tuple[str, str]] = set()
        self._webhook_order: dict[str, int] = {}
        self._webhook_sequence = itertools.count(1)

    def insert_webhook(self, webhook: WebhookRecord) -> WebhookRecord | None:
        with self._lock:
            if webhook.id in self._webhooks:
                return self._webhooks[webhook.id]
            self._webhooks[webhook.id] = webhook
            self._webhook_order[webhook.id] = next(self._webhook_sequence)
            return None

    def list_webhooks(self, account_id: str) -> list[WebhookRecord]:
        with self._lock:
            mine = [w for w in self._webhooks.values() if w.account_id == account_id and w.deleted_at is None]
            return sorted(mine, key=lambda w: -self._webhook_order[w.id])

    def delete_webhook(self, webhook_id: str, account_id: str, now: datetime) -> bool:
        with self._lock:
            webhook = self._webhooks.get(webhook_id)
            if webhook is None or webhook.account_id != account_id or webhook.deleted_at is not None:
                return False
            self._webhooks[webhook_id] = replace(webhook, deleted_at=now)
            return True

    def disable_webhook(self, webhook_id: str, now: datetime) -> None:
        with self._lock:
            webhook = self._webhooks.get(webhook_id)
            if webhook is not None and webhook.disabled_at is None:
                self._webhooks[webhook_id] = replace(webhook, disabled_at=now)

    def was_delivered(self, event_id: str, webhook_id: str) -> bool:
        with self._lock:
            return (event_id, webhook_id) in self._deliveries

    def record_delivery(self, event_id: str, webhook_id: str, now: datetime) -> None:
        with self._lock:
            self._deliveries.add((event_id, webhook_id))

    def note_delivery(self, webhook_id: str, event_id: str, outcome: str, now: datetime) -> None:
        with self._lock:
            webhook = self._webhooks.get(webhook_id)
            if webhook is not None:
                last = {"at": format_timestamp(now), "event_id": event_id, "outcome": outcome}
                self._webhooks[webhook_id] = replace(webhook, last_delivery=last)
