"""Payment intents: ZendFi's two-phase flow, paid from a session within its limits.

An intent is created for an amount; confirming it with a session pays it from that session in
the payment's one transaction: at once (`automatic`) or as a hold (`manual`) that a capture turns
into spend and a cancel releases. A manual intent's hold is a payment awaiting approval, so it
lapses as one does; the intent reads its status from that payment.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from agent_sessions.domain.records import Decision, PaymentRecord

IntentStatus = Literal["requires_payment", "processing", "succeeded", "canceled", "failed"]
CaptureMethod = Literal["automatic", "manual"]
DEFAULT_INTENT_SECONDS = 86_400  # the SDK's default expires_in_seconds
MAX_INTENT_SECONDS = 7 * 86_400

# What each status of the intent's payment makes of a confirmed intent.
_FROM_PAYMENT: dict[str, IntentStatus] = {
    "authorized": "succeeded",
    "pending_approval": "processing",
    "rejected": "canceled",
    "expired": "canceled",
    "declined": "failed",
}


@dataclass(frozen=True)
class IntentRecord:
    """A stored payment intent; its client secret only as a hash."""

    id: str
    account_id: str
    amount_cents: int
    currency: str
    description: str | None
    capture_method: CaptureMethod
    agent_id: str | None
    agent_name: str | None
    metadata: dict[str, Any]
    stored_status: IntentStatus
    client_secret_hash: str
    created_at: datetime
    expires_at: datetime
    request_fingerprint: str | None = None
    payment_id: str | None = None
    session_id: str | None = None
    settled_at: datetime | None = None  # confirmed, captured or canceled: its last change
    changed_ns: int | None = None  # its last write's time (ns): the timestamp of the event it causes

    def with_changes(self, **changes: Any) -> IntentRecord:
        return replace(self, **changes)

    def lapsed(self, now: datetime) -> bool:
        """Never confirmed before it expired."""
        return self.stored_status == "requires_payment" and now >= self.expires_at

    def status_at(
        self, now: datetime, payment: PaymentRecord | None, session_ended_at: datetime | None = None
    ) -> IntentStatus:
        """What a reader sees: unconfirmed past its expiry is canceled; confirmed follows its payment."""
        if self.lapsed(now):
            return "canceled"
        if self.stored_status == "processing" and payment is not None:
            return _FROM_PAYMENT[payment.status_at(now, session_ended_at)]
        return self.stored_status


def intent_expiry(created_at: datetime, expires_in_seconds: int) -> datetime:
    return created_at + timedelta(seconds=expires_in_seconds)


def status_after_confirm(payment: PaymentRecord) -> IntentStatus:
    """A confirmed intent's stored status: succeeded when its payment is authorized, else processing (held)."""
    return "succeeded" if payment.first_status == "authorized" else "processing"


def status_after_decision(decision: Decision) -> IntentStatus:
    """A held intent's stored status once its payment is decided: succeeded when captured, else canceled."""
    return "succeeded" if decision == "authorized" else "canceled"
