"""Stream images (DynamoDB's attribute-value form) as the records they store: what the outbox reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agent_sessions.dal.codec import session_record
from agent_sessions.dal.intents import intent_record
from agent_sessions.dal.payment_codec import payment_record
from agent_sessions.domain.intents import IntentRecord
from agent_sessions.domain.records import PaymentRecord, SessionRecord


def record_from_image(image: Mapping[str, Any] | None) -> SessionRecord | PaymentRecord | IntentRecord | None:
    """A stream image (DynamoDB's attribute-value form) as the record it stores; None for others."""
    if not image:
        return None
    kind = image.get("type", {}).get("S")
    if kind == "session":
        return session_record(image)
    if kind == "payment":
        return payment_record(image)
    if kind == "intent":
        return intent_record(image)
    return None
