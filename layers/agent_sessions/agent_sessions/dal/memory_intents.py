"""Payment intents in memory (mixed into MemoryStore), with the confirm and settle steps its payments take."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime

from agent_sessions.dal.memory_listing import newest_first_page
from agent_sessions.domain.intents import IntentRecord, IntentStatus, status_after_confirm, status_after_decision
from agent_sessions.domain.pages import Page
from agent_sessions.domain.records import Decision, PaymentRecord


class MemoryIntents:
    """IntentStore in memory; MemoryStore's payments confirm and settle intents through the hooks below."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.RLock()
        self._intents: dict[str, IntentRecord] = {}
        self._intent_order: dict[str, int] = {}
        self._intent_sequence = itertools.count(1)

    def insert_intent(self, intent: IntentRecord) -> IntentRecord | None:
        with self._lock:
            if intent.id in self._intents:
                return self._intents[intent.id]
            self._intents[intent.id] = intent
            self._intent_order[intent.id] = next(self._intent_sequence)
            return None

    def get_intent(self, intent_id: str) -> IntentRecord | None:
        with self._lock:
            return self._intents.get(intent_id)

    def list_intents(
        self, account_id: str, status: IntentStatus | None, limit: int, cursor: str | None
    ) -> Page[IntentRecord]:
        with self._lock:
            ordered = sorted(
                (
                    (self._intent_order[intent.id], intent)
                    for intent in self._intents.values()
                    if intent.account_id == account_id and status in (None, intent.stored_status)
                ),
                key=lambda entry: -entry[0],
            )
        items, next_cursor = newest_first_page(ordered, limit, cursor, "INTENT#")
        return Page(items, next_cursor)

    def cancel_unconfirmed_intent(self, intent_id: str, account_id: str, now: datetime) -> bool:
        with self._lock:
            intent = self._intents.get(intent_id)
            if intent is None or intent.account_id != account_id or intent.stored_status != "requires_payment":
                return False
            self._intents[intent_id] = intent.with_changes(stored_status="canceled", settled_at=now)
            return True

    def _intent_payable(self, payment: PaymentRecord, now: datetime) -> bool:
        """Whether the intent `payment` pays (if any) still awaits payment, as the DynamoDB condition checks."""
        if payment.intent_id is None:
            return True
        intent = self._intents.get(payment.intent_id)
        return (
            intent is not None
            and intent.stored_status == "requires_payment"
            and int(intent.expires_at.timestamp()) > int(now.timestamp())
            and intent.account_id == payment.account_id
        )

    def _confirm_intent(self, payment: PaymentRecord, now: datetime) -> None:
        if payment.intent_id is not None:
            self._intents[payment.intent_id] = self._intents[payment.intent_id].with_changes(
                stored_status=status_after_confirm(payment),
                payment_id=payment.id,
                session_id=payment.session_id,
                settled_at=now,
            )

    def _intent_settleable(self, payment: PaymentRecord) -> bool:
        intent = self._intents.get(payment.intent_id) if payment.intent_id else None
        return payment.intent_id is None or (intent is not None and intent.stored_status == "processing")

    def _settle_intent(self, payment: PaymentRecord, decision: Decision, now: datetime) -> None:
        if payment.intent_id is not None:
            self._intents[payment.intent_id] = self._intents[payment.intent_id].with_changes(
                stored_status=status_after_decision(decision), settled_at=now
            )
